/*
 * email.h: what the e-mail plugin's files share (private; not installed).
 *
 * The plugin is one struct em_state, made in init and freed in free; every
 * file reaches the host and the configuration through it. Files by job:
 *
 *   email.c      the plugin: descriptor, init/start/stop/free, metrics
 *   config.c     configuration keys and their check
 *   lmtpd.c      the LMTP listener: connections, accept, reading, answers
 *   imap_glue.c  the polled mailbox (imap.c) feeding inbound mail
 *   inbound.c    one mail from its bytes to a durable message and an answer
 *   thread.c     the thread index: Message-IDs and subject tokens
 *   rate.c       the per-sender rate limit (mail loops)
 *   (the attachment store on disk is the daemon's src/omr_mediafile.c,
 *   built into this plugin too)
 *   smtp.c       replies by SMTP
 *
 * and the pure parts, with headers of their own: lmtp.c (the protocol),
 * mime.c and text.c (reading a mail), imap.c (the IMAP poller).
 *
 * Threads: everything here runs on the daemon's main thread, except the
 * worker half of an inbound job (inbound.c), which touches only its job.
 */
#ifndef OMR_EMAIL_EMAIL_H
#define OMR_EMAIL_EMAIL_H

#include <stddef.h>

#include <glib.h>
#include <jansson.h>
#include <omniroute/dlist.h>
#include <omniroute/plugin.h>

#define EM_THREAD_PREFIX "t_"

struct em_config {
	char *address;
	char *from_name;
	char *domain;
	char *lmtp_address;
	long long lmtp_port;
	long long max_size;
	long long attachment_max;
	long long max_recipients;
	long long max_connections;
	long long lmtp_timeout;
	char *smtp_url;
	char *smtp_user;
	char *smtp_password;
	int smtp_starttls;
	long long send_attempts;
	long long send_timeout;
	int html;
	long long reopen_within;
	int trust_from;
	char *imap_url;
	char *imap_user;
	char *imap_password;
	int imap_starttls;
	long long imap_interval;
	long long imap_batch;
	int imap_from_start;
	long long sender_rate_max;
	long long sender_rate_window;
};

struct em_conn;
struct em_send;
struct em_job;
struct em_imap;
struct evconnlistener;

struct em_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct em_config *cfg;
	char domain[256];
	char attach_dir[4096];
	struct evconnlistener *listener;
	struct omr_dlist conns; /* struct em_conn, newest first */
	size_t nconns;
	struct omr_dlist sends; /* struct em_send: replies being sent or waiting to retry */
	struct em_imap *imap;   /* the polled mailbox, or NULL */
	struct em_job *jobs;    /* mails being stored */
	int stopping;
	unsigned long long stored, bounces, refused, sent, send_failed, send_retries, rate_limited;
	unsigned long long parse_jobs;  /* mails read on the worker pool */
	unsigned long long busy;        /* mails answered 451: the worker queue was full */
	size_t working;                 /* jobs on the worker pool now */
	GHashTable *senders;    /* address -> struct em_rate, this node's count */
};

/* ---- config.c ---- */

extern const struct omr_conf_key em_keys[];
int em_check(const void *config, char **err_r);

/* ---- lmtpd.c ---- */

/* Listen on lmtp_address:lmtp_port (when lmtp_port is not 0). */
int em_lmtpd_start(struct em_state *st, char **err_r);
/* No new connections; idle ones close, those with a mail being stored
 * finish it. */
void em_lmtpd_stop(struct em_state *st);
/* Close every connection (their mails' answers go nowhere). */
void em_lmtpd_free(struct em_state *st);

/* ---- imap_glue.c ---- */

/* The poller of imap_url (st->imap), or OMR_ERROR with *err_r. */
int em_imap_glue_new(struct em_state *st, char **err_r);

/* ---- inbound.c ---- */

/* The answer to whoever delivered a message (an LMTP session, the IMAP
 * poller): an LMTP reply line, "250 ..." once it is durable. */
typedef void (*em_job_done)(void *arg, const char *reply);

/* A message from the envelope sender ("" for <>; NULL when unknown, as
 * over IMAP) to mailbox; done runs once, with the answer, possibly inside
 * em_job_run (keep the job's address before running it), else later on
 * the loop. */
struct em_job *em_job_new(struct em_state *st, const char *sender, const char *mailbox,
			  em_job_done done, void *done_arg);
/* Read (on a worker thread), thread and store the message: data is the
 * whole message, malloc'ed, now the job's (cut at max_size when too_big,
 * then only refused). */
void em_job_run(struct em_job *j, char *data, size_t len, int too_big);
/* The deliverer is gone: the answer goes nowhere (the MTA retries). */
void em_job_detach(struct em_job *j);
/* In free: the jobs still waiting for the host (their callbacks are
 * dropped once the plugin is gone). */
void em_job_free_all(struct em_state *st);

/* ---- thread.c ---- */

/* Which thread a mail belongs to: by the Message-IDs it answers (ours
 * name their thread; a customer's are in the plugin's key-value store),
 * then the subject's token [#t_...], else a new thread. Fill st, ids
 * (owned: the Message-IDs, nearest first), subject (borrowed) and found;
 * em_thread_find calls found once, possibly inside, with q->thread set. */
struct em_thread_query {
	struct em_state *st;
	json_t *ids;
	size_t next;
	const char *subject;
	char thread[64];
	void (*found)(struct em_thread_query *q);
};

void em_thread_find(struct em_thread_query *q);
void em_thread_query_clear(struct em_thread_query *q);
/* Remember that message_id (a customer's) is in thread. */
void em_thread_remember(struct em_state *st, const char *message_id, const char *thread);
/* A thread's name (t_... ours, c_... a conversation we started); where a
 * subject's thread token begins, or NULL. */
int em_thread_named(const char *p);
const char *em_token_at(const char *subject);
/* 1 when id is one of our Message-IDs ("<omr.t_xxx.m_yyy@domain>"): its
 * thread and message in the buffers. */
int em_ours(const char *id, char *thread, size_t tlen, char *msg, size_t mlen);
void em_sha256_hex(const void *data, size_t len, char out[65]);

/* ---- rate.c ---- */

void em_rate_init(struct em_state *st);
void em_rate_deinit(struct em_state *st);
/* 1 when a mail from addr now would be one too many. */
int em_rate_exceeded(struct em_state *st, const char *addr);
/* A mail of addr was stored (redeliveries and refusals do not count). */
void em_rate_count(struct em_state *st, const char *addr);

/* ---- smtp.c ---- */

/* The descriptor's send hook: an agent's reply as mail. */
int em_smtp_send(void *state, const struct omr_outbound *out);
/* In free: replies still being sent (queued again after a restart). */
void em_smtp_free_all(struct em_state *st);

#endif
