/*
 * text: what a person reads of a mail body. HTML becomes readable text
 * (blocks become lines, lists get bullets, links keep their address,
 * scripts and styles vanish, entities are decoded); quoted history and
 * signatures are cut from the visible text where they can be recognised.
 * Pure functions on UTF-8 strings; every result is malloc'ed.
 */
#ifndef OMR_EMAIL_TEXT_H
#define OMR_EMAIL_TEXT_H

#include <stddef.h>

/* Readable text of an HTML document or fragment (len bytes). */
char *em_html_to_text(const char *html, size_t len);

/* The new part of a reply: the text up to the first recognised quote
 * header ("On ... wrote:", "Op ... schreef:", "-----Original Message-----",
 * an Outlook "From:/Sent:" block), trailing "> " quoted lines and the
 * signature (after a "-- " line) removed, surrounding blank lines trimmed.
 * When nothing would be left, the whole text is kept. */
char *em_visible_text(const char *text);

/* RFC 3676 format=flowed text made into plain lines: soft line breaks
 * (a line ending in a space) joined, space stuffing removed; with delsp
 * the space before a soft break goes too. Quote marks are kept. */
char *em_unflow(const char *text, int delsp);

/* Collapse runs of blank lines to one and trim the ends (in place). */
void em_tidy(char *text);

#endif
