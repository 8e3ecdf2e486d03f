/*
 * text: see text.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <omniroute/plugin.h>

#include "buf.h"
#include "text.h"

/* ---- a growing string ---- */

static void em_sb_str(struct em_buf *b, const char *s)
{
	em_buf_add(b, s, strlen(s));
}

static char *em_sb_take(struct em_buf *b)
{
	if (!b->s)
		return omr_plugin_strdup("");
	return b->s;
}

static void em_sb_utf8(struct em_buf *b, unsigned long cp)
{
	char u[4];
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		em_buf_add(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		em_buf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		em_buf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		em_buf_add(b, u, 4);
	}
}

/* ---- HTML ---- */

static const struct {
	const char *name;
	unsigned long cp;
} em_entities[] = {
	{ "amp", '&' },     { "lt", '<' },        { "gt", '>' },       { "quot", '"' },
	{ "apos", '\'' },   { "nbsp", ' ' },      { "euro", 0x20ac },  { "copy", 0xa9 },
	{ "reg", 0xae },    { "trade", 0x2122 },  { "hellip", 0x2026 }, { "mdash", 0x2014 },
	{ "ndash", 0x2013 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201c },
	{ "rdquo", 0x201d }, { "bull", 0x2022 },  { "middot", 0xb7 },  { "eacute", 0xe9 },
	{ "egrave", 0xe8 }, { "euml", 0xeb },     { "auml", 0xe4 },    { "ouml", 0xf6 },
	{ "uuml", 0xfc },   { "Auml", 0xc4 },     { "Ouml", 0xd6 },    { "Uuml", 0xdc },
	{ "szlig", 0xdf },  { "ccedil", 0xe7 },   { "aacute", 0xe1 },  { "iacute", 0xed },
	{ "oacute", 0xf3 }, { "uacute", 0xfa },   { "ntilde", 0xf1 },  { "agrave", 0xe0 },
	{ "iuml", 0xef },   { "pound", 0xa3 },    { "yen", 0xa5 },     { "cent", 0xa2 },
	{ "deg", 0xb0 },    { "times", 0xd7 },    { "shy", 0 },        { "zwnj", 0 },
};

/* An entity at s (after '&'); returns the bytes used, 0 if none. */
static size_t em_entity(const char *s, size_t left, struct em_buf *b)
{
	size_t n = 0;
	while (n < left && n < 12 && (isalnum((unsigned char)s[n]) || s[n] == '#'))
		n++;
	if (n == 0 || n >= left || s[n] != ';')
		return 0;
	if (s[0] == '#') {
		char *end;
		unsigned long cp = s[1] == 'x' || s[1] == 'X' ? strtoul(s + 2, &end, 16)
							    : strtoul(s + 1, &end, 10);
		if (end != s + n)
			return 0;
		em_sb_utf8(b, cp == 0xa0 ? ' ' : cp);
		return n + 1;
	}
	for (size_t i = 0; i < sizeof(em_entities) / sizeof(em_entities[0]); i++)
		if (strlen(em_entities[i].name) == n && strncmp(em_entities[i].name, s, n) == 0) {
			if (em_entities[i].cp)
				em_sb_utf8(b, em_entities[i].cp);
			return n + 1;
		}
	return 0;
}

static int em_tag_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static int em_block_tag(const char *name, size_t n)
{
	static const char *const blocks[] = { "p", "div", "br", "tr", "table", "h1", "h2", "h3",
					      "h4", "h5", "h6", "ul", "ol", "blockquote", "pre",
					      "hr", "section", "article", "header", "footer", "title",
					      "address", "dl", "dt", "dd", NULL };
	for (int i = 0; blocks[i]; i++)
		if (em_tag_is(name, n, blocks[i]))
			return 1;
	return 0;
}

/* The value of attribute attr in a tag's text (between < and >), malloc'ed. */
static char *em_attr(const char *tag, size_t len, const char *attr)
{
	size_t al = strlen(attr);
	for (size_t i = 0; i + al + 1 < len; i++) {
		if (strncasecmp(tag + i, attr, al) != 0 || (i && !isspace((unsigned char)tag[i - 1])))
			continue;
		size_t j = i + al;
		while (j < len && isspace((unsigned char)tag[j]))
			j++;
		if (j >= len || tag[j] != '=')
			continue;
		j++;
		while (j < len && isspace((unsigned char)tag[j]))
			j++;
		char q = j < len && (tag[j] == '"' || tag[j] == '\'') ? tag[j++] : 0;
		size_t k = j;
		while (k < len && (q ? tag[k] != q : !isspace((unsigned char)tag[k]) && tag[k] != '>'))
			k++;
		char *v = omr_plugin_calloc(1, k - j + 1);
		memcpy(v, tag + j, k - j);
		return v;
	}
	return NULL;
}

char *em_html_to_text(const char *html, size_t len)
{
	struct em_buf b = { 0 };
	size_t i = 0;
	int skip = 0;          /* inside <script>, <style>, <head> */
	char *href = NULL;     /* the link being written */
	size_t href_at = 0;
	int space = 1;         /* the last thing written was a space or a line */

	while (i < len) {
		char c = html[i];
		if (c == '<') {
			size_t end = i + 1;
			if (len - i >= 4 && strncmp(html + i, "<!--", 4) == 0) {
				const char *e = NULL;
				for (size_t k = i + 4; k + 2 < len; k++)
					if (html[k] == '-' && html[k + 1] == '-' && html[k + 2] == '>') {
						e = html + k;
						break;
					}
				i = e ? (size_t)(e - html) + 3 : len;
				continue;
			}
			while (end < len && html[end] != '>')
				end++;
			const char *t = html + i + 1;
			size_t tl = end - i - 1;
			int closing = tl && t[0] == '/';
			const char *name = t + closing;
			size_t nl = 0;
			while (nl < tl - closing && (isalnum((unsigned char)name[nl])))
				nl++;
			if (em_tag_is(name, nl, "script") || em_tag_is(name, nl, "style") ||
			    em_tag_is(name, nl, "head"))
				skip = closing ? 0 : 1;
			else if (!skip && em_tag_is(name, nl, "li") && !closing) {
				em_sb_str(&b, "\n- ");
				space = 1;
			} else if (!skip && em_block_tag(name, nl)) {
				em_sb_str(&b, "\n");
				space = 1;
			} else if (!skip && em_tag_is(name, nl, "td") && closing) {
				em_sb_str(&b, " ");
				space = 1;
			} else if (!skip && em_tag_is(name, nl, "a")) {
				if (!closing) {
					free(href);
					href = em_attr(t, tl, "href");
					href_at = b.len;
				} else if (href) {
					/* keep a link's address when its text does not show it */
					if (strncasecmp(href, "mailto:", 7) != 0 && *href &&
					    (b.len == href_at || !strstr(b.s + href_at, href))) {
						em_sb_str(&b, " <");
						em_sb_str(&b, href);
						em_sb_str(&b, ">");
					}
					free(href);
					href = NULL;
				}
			}
			i = end < len ? end + 1 : len;
			continue;
		}
		if (skip) {
			i++;
			continue;
		}
		if (c == '&') {
			size_t n = em_entity(html + i + 1, len - i - 1, &b);
			if (n) {
				i += n + 1;
				space = 0;
				continue;
			}
		}
		if (isspace((unsigned char)c)) {
			if (!space)
				em_sb_str(&b, " ");
			space = 1;
			i++;
			continue;
		}
		em_buf_add(&b, &c, 1);
		space = 0;
		i++;
	}
	free(href);
	char *out = em_sb_take(&b);
	/* spaces at line ends and starts */
	char *w = out;
	for (char *r = out; *r; r++) {
		if (*r == ' ' && (r[1] == '\n' || w == out || w[-1] == '\n'))
			continue;
		*w++ = *r;
	}
	*w = '\0';
	em_tidy(out);
	return out;
}

/* ---- format=flowed (RFC 3676) ---- */

/* One physical line of flowed text: its quote depth, where its content
 * starts (after the quote marks and the space stuffing) and ends. */
struct em_fline {
	size_t depth;
	const char *text;
	size_t len;
	int soft;      /* ends in a space: continued on the next line */
};

static struct em_fline em_fline(const char *s, size_t n)
{
	struct em_fline l = { 0, s, n, 0 };
	if (l.len && l.text[l.len - 1] == '\r')
		l.len--;
	while (l.len && *l.text == '>') {
		l.depth++;
		l.text++;
		l.len--;
	}
	if (l.len && *l.text == ' ') { /* space stuffing */
		l.text++;
		l.len--;
	}
	int sig = l.len == 3 && memcmp(l.text, "-- ", 3) == 0;
	l.soft = !sig && l.len && l.text[l.len - 1] == ' ';
	return l;
}

char *em_unflow(const char *text, int delsp)
{
	struct em_buf b = { 0 };
	const char *p = text;
	int open = 0;              /* a paragraph continues on this line */
	size_t depth = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		struct em_fline l = em_fline(p, n);
		if (open && l.depth != depth)
			em_sb_str(&b, "\n"); /* a quote level change ends the paragraph */
		if (!open || l.depth != depth) {
			for (size_t i = 0; i < l.depth; i++)
				em_sb_str(&b, ">");
			if (l.depth)
				em_sb_str(&b, " ");
		}
		size_t keep = l.soft && delsp ? l.len - 1 : l.len;
		em_buf_add(&b, l.text, keep);
		open = l.soft;
		depth = l.depth;
		if (!open)
			em_sb_str(&b, "\n");
		if (!nl)
			break;
		p = nl + 1;
	}
	if (open)
		em_sb_str(&b, "\n");
	return em_sb_take(&b);
}

/* ---- replies ---- */

void em_tidy(char *text)
{
	char *w = text;
	int nl = 0;
	const char *r = text;
	while (*r == '\n' || *r == '\r' || *r == ' ' || *r == '\t')
		r++;
	for (; *r; r++) {
		if (*r == '\r')
			continue;
		if (*r == '\n') {
			/* trailing blanks of the line */
			while (w > text && (w[-1] == ' ' || w[-1] == '\t'))
				w--;
			if (++nl > 2)
				continue;
		} else {
			nl = 0;
		}
		*w++ = *r;
	}
	while (w > text && (w[-1] == '\n' || w[-1] == ' ' || w[-1] == '\t'))
		w--;
	*w = '\0';
}

static int em_starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && strncasecmp(line, prefix, n) == 0;
}

static int em_ends_with_colon(const char *line, size_t len)
{
	while (len && isspace((unsigned char)line[len - 1]))
		len--;
	return len && line[len - 1] == ':';
}

/* "On Mon, ... wrote:" (possibly over two lines), and its translations */
static int em_attribution(const char *line, size_t len, const char *next, size_t nlen)
{
	static const char *const starts[] = { "On ", "Op ", "Am ", "Le ", "El ", "Il ", NULL };
	static const char *const verbs[] = { "wrote", "schreef", "schrieb", "a écrit", "escribió",
					     "ha scritto", NULL };
	int start = 0;
	for (int i = 0; starts[i]; i++)
		start |= em_starts(line, len, starts[i]);
	if (!start)
		return 0;
	char buf[1024];
	size_t n = len < 500 ? len : 500;
	memcpy(buf, line, n);
	buf[n] = '\0';
	if (!em_ends_with_colon(line, len) && next && nlen < 400) {
		/* the attribution folded over two lines */
		if (!em_ends_with_colon(next, nlen))
			return 0;
		buf[n++] = ' ';
		memcpy(buf + n, next, nlen);
		buf[n + nlen] = '\0';
	} else if (!em_ends_with_colon(line, len)) {
		return 0;
	}
	for (int i = 0; verbs[i]; i++)
		if (strstr(buf, verbs[i]))
			return 1;
	return 0;
}

static size_t em_line_len(const char *s)
{
	const char *e = strchr(s, '\n');
	return e ? (size_t)(e - s) : strlen(s);
}

char *em_visible_text(const char *text)
{
	size_t total = strlen(text);
	size_t cut = total;        /* where the new part ends */
	const char *p = text;

	while (*p) {
		size_t len = em_line_len(p);
		size_t l = len && p[len - 1] == '\r' ? len - 1 : len;
		const char *next = p[len] ? p + len + 1 : NULL;
		size_t nlen = next ? em_line_len(next) : 0;
		if (nlen && next[nlen - 1] == '\r')
			nlen--;
		int stop = 0;
		if ((l == 3 && strncmp(p, "-- ", 3) == 0) || (l == 2 && strncmp(p, "--", 2) == 0))
			stop = 1; /* the signature delimiter */
		else if (em_starts(p, l, "-----Original Message-----") ||
			 em_starts(p, l, "----- Original Message -----") ||
			 em_starts(p, l, "-----Oorspronkelijk bericht-----") ||
			 em_starts(p, l, "-----Ursprüngliche Nachricht-----") ||
			 em_starts(p, l, "________________________________"))
			stop = 1;
		else if (em_starts(p, l, "From: ") || em_starts(p, l, "Van: ") ||
			 em_starts(p, l, "Von: ")) {
			/* an Outlook header block: From, then Sent/Date within 3 lines */
			const char *q = next;
			for (int k = 0; q && k < 3; k++) {
				size_t ql = em_line_len(q);
				if (em_starts(q, ql, "Sent: ") || em_starts(q, ql, "Date: ") ||
				    em_starts(q, ql, "Verzonden: ") || em_starts(q, ql, "Gesendet: ")) {
					stop = 1;
					break;
				}
				q = q[ql] ? q + ql + 1 : NULL;
			}
		} else if (em_attribution(p, l, next, nlen)) {
			stop = 1;
		}
		if (stop) {
			cut = (size_t)(p - text);
			break;
		}
		p = next ? next : p + len;
	}
	char *out = omr_plugin_calloc(1, cut + 1);
	memcpy(out, text, cut);
	/* trailing quoted lines ("> ...") and blank lines */
	for (;;) {
		em_tidy(out);
		char *last = strrchr(out, '\n');
		char *line = last ? last + 1 : out;
		if (*line != '>' || line == out)
			break;
		*line = '\0';
	}
	if (!*out) {
		/* all of it looked quoted: better the whole than nothing */
		free(out);
		out = omr_plugin_strdup(text);
		em_tidy(out);
	}
	return out;
}
