/*
 * lmtp: the server side of LMTP (RFC 2033) as a state machine over bytes,
 * with no I/O: feed it what the MTA sent, send what it wants to answer.
 * One transaction at a time: when a message is complete, lmtp_feed stops
 * (LMTP_MESSAGE), the caller stores it and calls lmtp_done with one reply
 * per recipient, then feeds the rest. Limits: a command line of 2048
 * bytes (longer: 500), recipients, the message's size (over max_size the
 * data is dropped as it comes, however long its lines, and every
 * recipient gets 552 after the final dot: the session answers that
 * itself). A session holds at most max_size + 2048 bytes of input.
 *
 * Ownership: the session owns everything it returns but lmtp_take_data's;
 * pointers stay valid until the next lmtp_feed/lmtp_done.
 */
#ifndef OMR_EMAIL_LMTP_H
#define OMR_EMAIL_LMTP_H

#include <stddef.h>

enum lmtp_result {
	LMTP_MORE = 0,      /* all input used; wait for more */
	LMTP_MESSAGE = 1,   /* a message is complete: deliver it, then lmtp_done */
	LMTP_CLOSE = 2,     /* QUIT, or too many errors: send the output, then close */
};

struct lmtp_limits {
	size_t max_size;    /* bytes of a message */
	size_t max_rcpt;    /* recipients of a transaction */
	size_t max_errors;  /* bad commands before the connection is closed */
};

struct lmtp;

struct lmtp *lmtp_new(const struct lmtp_limits *lim, const char *hostname);
void lmtp_free(struct lmtp *l);
/* The greeting ("220 ... LMTP ready"), queued as output. */
void lmtp_greet(struct lmtp *l);
/* Consume input; *used: bytes consumed (the rest is for after lmtp_done). */
enum lmtp_result lmtp_feed(struct lmtp *l, const char *in, size_t len, size_t *used);
/* The message of LMTP_MESSAGE. */
const char *lmtp_sender(const struct lmtp *l);         /* "" for the null sender <> */
size_t lmtp_recipients(const struct lmtp *l);
const char *lmtp_recipient(const struct lmtp *l, size_t i);
/* The message's data (at most max_size), malloc'ed: the caller's now. */
char *lmtp_take_data(struct lmtp *l, size_t *len);
/* One reply line per recipient ("250 2.0.0 ...", "451 4.3.0 ..."), in order. */
void lmtp_done(struct lmtp *l, const char *const *replies);
/* Output to send; lmtp_out_clear after sending it. */
const char *lmtp_out(const struct lmtp *l, size_t *len);
void lmtp_out_clear(struct lmtp *l);
int lmtp_busy(const struct lmtp *l);                   /* a message awaits lmtp_done */
/* Messages refused for their size (552) since the last call. */
size_t lmtp_take_refused(struct lmtp *l);
/* Bytes the session holds in its buffers (line, data, output). */
size_t lmtp_buffered(const struct lmtp *l);

#endif
