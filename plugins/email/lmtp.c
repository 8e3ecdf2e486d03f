/*
 * lmtp: see lmtp.h.
 *
 * Bounds: a command line is buffered up to LMTP_LINE_MAX bytes, the rest of
 * a longer one is skipped to its end (500). Message data is not read line
 * by line but streamed into the message as it comes, so a data line may be
 * of any length: only the message is bounded, by max_size; past it the
 * data is dropped as it arrives (nothing is kept until the final dot) and
 * the transaction is answered 552 for every recipient. The buffers of a
 * session thus hold at most max_size + LMTP_LINE_MAX + the output of one
 * feed.
 */
#define _GNU_SOURCE /* strcasestr */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <omniroute/plugin.h>

#include "buf.h"
#include "lmtp.h"

#define LMTP_LINE_MAX 2048      /* a command line (RFC 5321: 512; be lenient) */

enum lmtp_state {
	LMTP_ST_START,   /* before LHLO */
	LMTP_ST_READY,   /* after LHLO: MAIL expected */
	LMTP_ST_MAIL,    /* after MAIL: RCPT expected */
	LMTP_ST_DATA,    /* reading the message */
	LMTP_ST_BUSY,    /* the message is being stored */
	LMTP_ST_CLOSED,
};

struct lmtp {
	struct lmtp_limits lim;
	char *hostname;
	enum lmtp_state st;
	struct em_buf line;    /* the command line being read */
	int line_overflow;       /* the line is too long: skip to its end */
	struct em_buf data;    /* the message */
	int too_big;             /* over max_size: the data is being dropped */
	int data_bol;            /* nothing of the current data line seen yet */
	int data_dot;            /* the line began with a dot (not in the data) */
	int data_cr;             /* what we have of the line ends in a CR (held back) */
	size_t data_line;        /* bytes of the line in the data so far */
	size_t refused;          /* messages refused for their size (lmtp_take_refused) */
	char *sender;
	char **rcpt;
	size_t nrcpt;
	size_t errors;
	struct em_buf out;
};

static void lmtp_say(struct lmtp *l, const char *line)
{
	em_buf_add(&l->out, line, strlen(line));
	em_buf_add(&l->out, "\r\n", 2);
}

struct lmtp *lmtp_new(const struct lmtp_limits *lim, const char *hostname)
{
	struct lmtp *l = omr_plugin_calloc(1, sizeof(*l));
	l->lim = *lim;
	l->hostname = omr_plugin_strdup(hostname);
	return l;
}

static void lmtp_data_drop(struct lmtp *l)
{
	free(l->data.s);
	memset(&l->data, 0, sizeof(l->data));
}

static void lmtp_reset(struct lmtp *l)
{
	free(l->sender);
	l->sender = NULL;
	for (size_t i = 0; i < l->nrcpt; i++)
		free(l->rcpt[i]);
	free(l->rcpt);
	l->rcpt = NULL;
	l->nrcpt = 0;
	l->data.len = 0;
	if (l->data.s)
		l->data.s[0] = '\0';
	/* a big message's buffer is not kept for the next one */
	if (l->data.cap > 1 << 20)
		lmtp_data_drop(l);
	l->too_big = 0;
}

void lmtp_free(struct lmtp *l)
{
	if (!l)
		return;
	lmtp_reset(l);
	free(l->data.s);
	free(l->line.s);
	free(l->out.s);
	free(l->hostname);
	free(l);
}

void lmtp_greet(struct lmtp *l)
{
	char b[300];
	snprintf(b, sizeof(b), "220 %.200s LMTP omniroute ready", l->hostname);
	lmtp_say(l, b);
}

const char *lmtp_sender(const struct lmtp *l)
{
	return l->sender ? l->sender : "";
}

size_t lmtp_recipients(const struct lmtp *l)
{
	return l->nrcpt;
}

const char *lmtp_recipient(const struct lmtp *l, size_t i)
{
	return i < l->nrcpt ? l->rcpt[i] : NULL;
}

char *lmtp_take_data(struct lmtp *l, size_t *len)
{
	char *d = l->data.s ? l->data.s : omr_plugin_calloc(1, 1);
	*len = l->data.len;
	memset(&l->data, 0, sizeof(l->data));
	return d;
}

int lmtp_busy(const struct lmtp *l)
{
	return l->st == LMTP_ST_BUSY;
}

size_t lmtp_take_refused(struct lmtp *l)
{
	size_t n = l->refused;
	l->refused = 0;
	return n;
}

size_t lmtp_buffered(const struct lmtp *l)
{
	return l->line.cap + l->data.cap + l->out.cap;
}

const char *lmtp_out(const struct lmtp *l, size_t *len)
{
	*len = l->out.len;
	return l->out.s ? l->out.s : "";
}

void lmtp_out_clear(struct lmtp *l)
{
	l->out.len = 0;
}

void lmtp_done(struct lmtp *l, const char *const *replies)
{
	if (l->st != LMTP_ST_BUSY)
		return;
	for (size_t i = 0; i < l->nrcpt; i++)
		lmtp_say(l, replies[i]);
	lmtp_reset(l);
	l->st = LMTP_ST_READY;
}

/* ---- commands ---- */

/* The address in "FROM:<a@b> params" / "TO:<a@b>"; NULL when malformed. */
static char *lmtp_path(const char *arg, const char *prefix, const char **rest_r)
{
	size_t n = strlen(prefix);
	if (strncasecmp(arg, prefix, n) != 0)
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++;
	if (*arg != '<')
		return NULL;
	const char *end = strchr(arg, '>');
	if (!end || end - arg > 320)
		return NULL;
	for (const char *p = arg + 1; p < end; p++)
		if ((unsigned char)*p <= 0x20 || *p == '<')
			return NULL;
	char *a = omr_plugin_calloc(1, (size_t)(end - arg));
	memcpy(a, arg + 1, (size_t)(end - arg - 1));
	if (rest_r)
		*rest_r = end + 1;
	return a;
}

static int lmtp_error(struct lmtp *l, const char *reply)
{
	lmtp_say(l, reply);
	if (++l->errors >= l->lim.max_errors) {
		lmtp_say(l, "421 4.7.0 too many errors, closing");
		l->st = LMTP_ST_CLOSED;
		return LMTP_CLOSE;
	}
	return LMTP_MORE;
}

static enum lmtp_result lmtp_command(struct lmtp *l, char *line)
{
	char verb[8];
	size_t n = 0;
	char b[300];
	while (line[n] && line[n] != ' ' && n < sizeof(verb) - 1) {
		verb[n] = (char)toupper((unsigned char)line[n]);
		n++;
	}
	verb[n] = '\0';
	const char *arg = line + n;
	while (*arg == ' ')
		arg++;

	if (strcmp(verb, "LHLO") == 0) {
		if (!*arg)
			return lmtp_error(l, "501 5.5.4 LHLO needs a host name");
		lmtp_reset(l);
		snprintf(b, sizeof(b), "250-%.200s", l->hostname);
		lmtp_say(l, b);
		lmtp_say(l, "250-PIPELINING");
		lmtp_say(l, "250-ENHANCEDSTATUSCODES");
		lmtp_say(l, "250-8BITMIME");
		snprintf(b, sizeof(b), "250 SIZE %zu", l->lim.max_size);
		lmtp_say(l, b);
		l->st = LMTP_ST_READY;
	} else if (strcmp(verb, "HELO") == 0 || strcmp(verb, "EHLO") == 0) {
		return lmtp_error(l, "500 5.5.1 this is LMTP: say LHLO");
	} else if (strcmp(verb, "MAIL") == 0) {
		const char *rest = NULL;
		if (l->st == LMTP_ST_START)
			return lmtp_error(l, "503 5.5.1 LHLO first");
		if (l->st != LMTP_ST_READY)
			return lmtp_error(l, "503 5.5.1 a transaction is already open");
		char *from = lmtp_path(arg, "FROM:", &rest);
		if (!from)
			return lmtp_error(l, "501 5.5.4 syntax: MAIL FROM:<address>");
		const char *size = rest ? strcasestr(rest, "SIZE=") : NULL;
		if (size && strtoull(size + 5, NULL, 10) > l->lim.max_size) {
			free(from);
			snprintf(b, sizeof(b), "552 5.3.4 message larger than %zu bytes", l->lim.max_size);
			lmtp_say(l, b);
			return LMTP_MORE;
		}
		l->sender = from;
		l->st = LMTP_ST_MAIL;
		lmtp_say(l, "250 2.1.0 sender ok");
	} else if (strcmp(verb, "RCPT") == 0) {
		if (l->st != LMTP_ST_MAIL)
			return lmtp_error(l, "503 5.5.1 MAIL first");
		char *to = lmtp_path(arg, "TO:", NULL);
		if (!to || !*to || !strchr(to, '@')) {
			free(to);
			return lmtp_error(l, "501 5.5.4 syntax: RCPT TO:<address>");
		}
		if (l->nrcpt >= l->lim.max_rcpt) {
			free(to);
			lmtp_say(l, "452 4.5.3 too many recipients");
			return LMTP_MORE;
		}
		l->rcpt = realloc(l->rcpt, (l->nrcpt + 1) * sizeof(char *));
		if (!l->rcpt)
			abort();
		l->rcpt[l->nrcpt++] = to;
		lmtp_say(l, "250 2.1.5 recipient ok");
	} else if (strcmp(verb, "DATA") == 0) {
		if (l->st != LMTP_ST_MAIL || l->nrcpt == 0)
			return lmtp_error(l, "503 5.5.1 RCPT first");
		l->st = LMTP_ST_DATA;
		l->data_bol = 1;
		l->data_dot = l->data_cr = 0;
		l->data_line = 0;
		lmtp_say(l, "354 2.0.0 go ahead; end with <CRLF>.<CRLF>");
	} else if (strcmp(verb, "RSET") == 0) {
		lmtp_reset(l);
		if (l->st != LMTP_ST_START)
			l->st = LMTP_ST_READY;
		lmtp_say(l, "250 2.0.0 ok");
	} else if (strcmp(verb, "NOOP") == 0) {
		lmtp_say(l, "250 2.0.0 ok");
	} else if (strcmp(verb, "VRFY") == 0) {
		lmtp_say(l, "252 2.5.2 cannot verify; send the mail");
	} else if (strcmp(verb, "QUIT") == 0) {
		lmtp_say(l, "221 2.0.0 bye");
		l->st = LMTP_ST_CLOSED;
		return LMTP_CLOSE;
	} else {
		return lmtp_error(l, "500 5.5.2 unknown command");
	}
	return LMTP_MORE;
}

/* ---- data ---- */

/* Bytes of the message; past max_size the message is dropped, and so is
 * everything after it. */
static void lmtp_data_add(struct lmtp *l, const char *s, size_t n)
{
	if (l->too_big || !n)
		return;
	if (n > l->lim.max_size - l->data.len) {
		l->too_big = 1;
		lmtp_data_drop(l);
		return;
	}
	if (l->data.len + n + 1 > l->data.cap) {
		/* double, but never past what max_size can need */
		size_t cap = l->data.cap ? l->data.cap * 2 : 4096;
		if (cap < l->data.len + n + 1)
			cap = l->data.len + n + 1;
		if (cap > l->lim.max_size + 1)
			cap = l->lim.max_size + 1;
		em_buf_reserve(&l->data, cap);
	}
	em_buf_add(&l->data, s, n);
}

/* Message data as it comes: every line end made CRLF, the dot-stuffing
 * undone. Returns the bytes used; *end: the final "." line was read. */
static size_t lmtp_data_feed(struct lmtp *l, const char *in, size_t len, int *end)
{
	size_t i = 0;
	*end = 0;
	while (i < len) {
		const char *nl = memchr(in + i, '\n', len - i);
		size_t stop = nl ? (size_t)(nl - in) : len;
		const char *s = in + i;
		size_t n = stop - i;
		if (n && l->data_bol) {
			l->data_bol = 0;
			if (*s == '.') {
				l->data_dot = 1;
				s++;
				n--;
			}
		}
		if (n) {
			if (l->data_cr) {
				lmtp_data_add(l, "\r", 1); /* a CR inside the line */
				l->data_cr = 0;
				l->data_line++;
			}
			if (s[n - 1] == '\r') {
				l->data_cr = 1; /* perhaps the line's end: wait and see */
				n--;
			}
			lmtp_data_add(l, s, n);
			l->data_line += n;
		}
		if (!nl)
			return len;
		i = stop + 1;
		if (l->data_dot && l->data_line == 0) {
			*end = 1;
			return i;
		}
		lmtp_data_add(l, "\r\n", 2);
		l->data_bol = 1;
		l->data_dot = l->data_cr = 0;
		l->data_line = 0;
	}
	return i;
}

/* The final dot: a message to deliver, or one too big, refused here. */
static enum lmtp_result lmtp_data_end(struct lmtp *l)
{
	char b[120];
	if (!l->too_big) {
		l->st = LMTP_ST_BUSY;
		return LMTP_MESSAGE;
	}
	snprintf(b, sizeof(b), "552 5.3.4 message larger than %zu bytes", l->lim.max_size);
	for (size_t i = 0; i < l->nrcpt; i++)
		lmtp_say(l, b);
	l->refused++;
	lmtp_reset(l);
	l->st = LMTP_ST_READY;
	return LMTP_MORE;
}

enum lmtp_result lmtp_feed(struct lmtp *l, const char *in, size_t len, size_t *used)
{
	size_t i = 0;
	*used = 0;
	while (i < len) {
		if (l->st == LMTP_ST_BUSY || l->st == LMTP_ST_CLOSED)
			break;
		if (l->st == LMTP_ST_DATA) {
			int end;
			i += lmtp_data_feed(l, in + i, len - i, &end);
			if (end && lmtp_data_end(l) == LMTP_MESSAGE) {
				*used = i;
				return LMTP_MESSAGE;
			}
			continue;
		}
		const char *nl = memchr(in + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (in + i)) : len - i;
		/* the part of a command line we have */
		if (!l->line_overflow) {
			if (l->line.len + take > LMTP_LINE_MAX) {
				l->line_overflow = 1;
				l->line.len = 0;
			} else {
				em_buf_add(&l->line, in + i, take);
			}
		}
		i += take;
		if (!nl)
			break; /* the rest of the line comes later */
		i++;       /* the newline */
		char *line = l->line.s ? l->line.s : (char *)"";
		size_t ll = l->line.len;
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (l->line.s)
			l->line.s[ll] = '\0';
		if (l->line_overflow) {
			l->line_overflow = 0;
			l->line.len = 0;
			if (lmtp_error(l, "500 5.5.2 line too long") == LMTP_CLOSE) {
				*used = i;
				return LMTP_CLOSE;
			}
			continue;
		}
		enum lmtp_result r = lmtp_command(l, line);
		l->line.len = 0;
		if (r == LMTP_CLOSE) {
			*used = i;
			return LMTP_CLOSE;
		}
	}
	*used = i;
	return l->st == LMTP_ST_CLOSED ? LMTP_CLOSE : LMTP_MORE;
}
