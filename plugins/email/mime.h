/*
 * mime: a raw RFC 5322 message (as an MTA delivers it) read with GMime 3
 * into what omniroute needs: who wrote, about what, in which thread, the
 * text a person reads (the best text body, decoded to UTF-8; HTML made
 * readable; quoted history and signature cut from the visible text, the
 * full text kept), the attachments (with their decoded bytes for storage),
 * and whether it is an automatic message or a bounce of ours.
 *
 * Ownership: em_parse fills *m with malloc'ed/JSON-owned fields; release
 * with em_msg_free. No I/O.
 */
#ifndef OMR_EMAIL_MIME_H
#define OMR_EMAIL_MIME_H

#include <stddef.h>

#include <jansson.h>

struct em_limits {
	size_t text_max;          /* bytes of visible and full text kept */
	size_t attachment_max;    /* bytes: larger attachments keep metadata only */
	size_t attachments_max;   /* count */
};

struct em_part {
	unsigned char *data;      /* decoded bytes (NULL when over attachment_max) */
	size_t size;
};

struct em_msg {
	char *message_id;         /* "<...>", or NULL */
	char *in_reply_to;        /* "<...>", or NULL */
	json_t *references;       /* ["<...>", ...], oldest first */
	char *from_addr;          /* lower case; NULL when there is no usable From */
	char *from_name;          /* decoded display name, or NULL */
	char *to_addr;            /* the first To address, lower case, or NULL */
	json_t *cc;               /* the Cc addresses a reply may name
	                             (omr_mail_addr_ok), lower case, at most
	                             OMR_MAIL_CC_MAX, or NULL when none */
	char *return_path;        /* the Return-Path an MTA wrote ("" for <>), or NULL */
	char *subject;            /* decoded, or "" */
	char *text;               /* the visible text */
	char *full_text;          /* the whole best text body */
	int from_html;            /* the text was made from HTML */
	int text_cut;             /* the text was longer than em_limits.text_max */
	json_t *attachments;      /* [{name, type, size, inline, content_id?, sha256}] */
	struct em_part *parts;    /* the bytes of attachments[i] */
	size_t nparts;
	const char *auto_reason;  /* automatic mail (not a new contact): why; NULL */
	int bounce;               /* a delivery status notification */
	char *bounce_message_id;  /* the Message-ID of the mail that bounced */
	char *bounce_status;      /* "5.1.1" */
	char *bounce_diagnostic;  /* "smtp; 550 5.1.1 user unknown" */
	long long date_ms;        /* the Date header, 0 when none */
};

/* 0, or -1 with *err_r (malloc'ed) when the data is no message at all (then
 * *m holds nothing to free). */
int em_parse(const char *data, size_t len, const struct em_limits *lim, struct em_msg *m,
	     char **err_r);
void em_msg_free(struct em_msg *m);

/* Once per process, before em_parse (GMime's own initialisation). */
void em_mime_init(void);

#endif
