/*
 * imap: a mailbox polled over IMAP through libcurl, on the daemon's multi
 * handle (never blocking). Every interval: STATUS for UIDVALIDITY and
 * UIDNEXT; when there is something new, UID SEARCH for the UIDs after the
 * last one taken, then each message by UID FETCH (which sets \Seen),
 * handed to deliver. The poller moves past a UID only once deliver says
 * the message is durable ("250 ...") or refused for good ("5xx ..."); a
 * "4xx ..." answer ends the round and the same UID comes again next time.
 * The position (UIDVALIDITY and the last UID) is kept in the plugin's
 * key-value store, so nothing is fetched twice across restarts; a new
 * UIDVALIDITY starts over (the store recognises mail it already has by
 * Message-ID). The very first poll starts after the mail already there,
 * unless from_start. A message whose FETCH fails three rounds in a row is
 * skipped (logged). Mail is never deleted or moved.
 *
 * Ownership: em_imap_new copies what it needs of the configuration.
 * Stop before free; a transfer still running when the daemon stops ends
 * through the host (its done callback), before free.
 */
#ifndef OMR_EMAIL_IMAP_H
#define OMR_EMAIL_IMAP_H

#include <stddef.h>

#include <omniroute/plugin.h>

struct em_imap;

struct em_imap_config {
	const char *url;          /* imap://host[:port]/MAILBOX or imaps://... */
	const char *user;
	const char *password;
	int starttls;             /* imap://: require STARTTLS */
	long long interval_ms;    /* between polls */
	long long batch;          /* messages fetched per poll */
	long long max_size;       /* bytes; a larger message is handed on cut, too_big */
	long long timeout_ms;     /* of one IMAP command */
	int from_start;           /* first poll: read the mail already there (else skip it) */
};

/* The answer to a delivered message: an LMTP-style reply line. */
typedef void (*em_imap_done)(void *darg, const char *reply);
/* A message fetched, as data (malloc'ed: GLib's allocator is the system's),
 * which is the callee's now; answer through done exactly once (maybe at
 * once). */
typedef void (*em_imap_deliver)(void *arg, char *data, size_t len, int too_big,
				em_imap_done done, void *darg);

/* NULL with *err_r (malloc'ed) for an unusable URL. */
struct em_imap *em_imap_new(const struct omr_host_api *api, omr_host *host,
			    const struct em_imap_config *cfg, em_imap_deliver deliver, void *arg,
			    char **err_r);
void em_imap_start(struct em_imap *im);
/* No new command after this; a message being delivered is still answered. */
void em_imap_stop(struct em_imap *im);
void em_imap_free(struct em_imap *im);
/* Messages fetched so far; whether the last round failed. */
void em_imap_stats(const struct em_imap *im, unsigned long long *fetched, int *failing);

/* 0 when url is imap[s]://host[:port]/MAILBOX, else -1 with *err_r. */
int em_imap_url_check(const char *url, char **err_r);

/* Parsers of untagged responses (pure; for tests and fuzzing).
 * "* STATUS box (UIDNEXT n UIDVALIDITY v)": 0 when both were found. */
int em_imap_parse_status(const char *resp, size_t len, unsigned long long *validity,
			 unsigned long long *uidnext);
/* "* SEARCH 4 7 9": the UIDs greater than after, ascending and without
 * repeats, at most max of the smallest; returns how many. */
size_t em_imap_parse_search(const char *resp, size_t len, unsigned long long after,
			    unsigned long long *uids, size_t max);

#endif
