/*
 * email: the e-mail channel.
 *
 * In: an MTA delivers by LMTP (lmtp.c) to the listener this plugin opens;
 * each message is read with GMime (mime.c), threaded, its attachments
 * written to the state directory, and submitted; the MTA gets 250 for a
 * recipient only once the message is durable in Redis (451 when it could
 * not be stored now: the MTA tries again, and ingest recognises the
 * Message-ID; 552 over the size limit; 550 for what is no mail).
 *
 * Threading: a mail joins its conversation by In-Reply-To/References (our
 * own Message-IDs name the thread; a customer's are remembered in the
 * plugin's key-value store), else by the token [#t_...] in the subject,
 * else it starts a thread. A customer who writes again in a thread whose
 * conversation closed less than reopen_within ago reopens it (core).
 *
 * Noise: auto-replies and list mail (Auto-Submitted, X-Autoreply,
 * Precedence, List-Id, the null sender) are stored but not routed;
 * delivery status notifications for our mail mark it failed.
 *
 * Out: an agent's reply becomes a text/plain mail (optionally with HTML)
 * with Message-ID <omr.THREAD.MESSAGE@domain>, In-Reply-To and References
 * of the customer's last mail and the token in the subject, sent by SMTP
 * through libcurl (STARTTLS, auth), retried with backoff on transient
 * failures; the outcome is the message's status.
 *
 * Set-up (Postfix transport, DNS, TLS): docs/channels/email.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <gmime/gmime.h>
#include <netinet/in.h>
#include <omniroute/plugin.h>

#include "imap.h"
#include "lmtp.h"
#include "mime.h"

#define EM_THREAD_PREFIX "t_"
#define EM_MID_TTL_MS (180LL * 86400 * 1000)   /* how long a Message-ID finds its thread */
#define EM_REFS_MAX 20                         /* References kept in a reply */
#define EM_LOOKUPS_MAX 10                      /* Message-IDs looked up per mail */

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

#define EOFF(f) offsetof(struct em_config, f)
static const struct omr_conf_key em_keys[] = {
	{ "address", OMR_CONF_STRING, EOFF(address), 1, NULL, 0, 0,
	  "the contact center's address: From of replies (support@example.com)" },
	{ "from_name", OMR_CONF_STRING, EOFF(from_name), 0, "Customer Service", 0, 0,
	  "display name of replies (\"Alice via <from_name>\")" },
	{ "domain", OMR_CONF_STRING, EOFF(domain), 0, NULL, 0, 0,
	  "domain of our Message-IDs (default: the domain of address)" },
	{ "lmtp_address", OMR_CONF_STRING, EOFF(lmtp_address), 0, "127.0.0.1", 0, 0,
	  "where the LMTP listener binds (IPv4)" },
	{ "lmtp_port", OMR_CONF_INT, EOFF(lmtp_port), 0, "2424", 0, 65535,
	  "LMTP port for the MTA (0: no LMTP)" },
	{ "max_size", OMR_CONF_INT, EOFF(max_size), 0, "26214400", 1024, 268435456,
	  "largest message in bytes (larger: 552)" },
	{ "attachment_max", OMR_CONF_INT, EOFF(attachment_max), 0, "10485760", 0, 268435456,
	  "largest attachment stored, bytes (larger ones: name, type and size only)" },
	{ "max_recipients", OMR_CONF_INT, EOFF(max_recipients), 0, "50", 1, 1000,
	  "recipients of one LMTP transaction" },
	{ "max_connections", OMR_CONF_INT, EOFF(max_connections), 0, "64", 1, 10000,
	  "LMTP connections at once" },
	{ "lmtp_timeout", OMR_CONF_MS, EOFF(lmtp_timeout), 0, "5m", 1000, 3600000,
	  "an idle LMTP connection is closed after this" },
	{ "smtp_url", OMR_CONF_STRING, EOFF(smtp_url), 0, "smtp://127.0.0.1:25", 0, 0,
	  "the smarthost for replies: smtp://host:port (STARTTLS) or smtps://host:port" },
	{ "smtp_user", OMR_CONF_STRING, EOFF(smtp_user), 0, NULL, 0, 0, "SMTP AUTH user" },
	{ "smtp_password", OMR_CONF_SECRET, EOFF(smtp_password), 0, NULL, 0, 0,
	  "SMTP AUTH password" },
	{ "smtp_starttls", OMR_CONF_BOOL, EOFF(smtp_starttls), 0, "true", 0, 0,
	  "require STARTTLS on smtp:// (false: plain, for a smarthost on localhost)" },
	{ "send_attempts", OMR_CONF_INT, EOFF(send_attempts), 0, "5", 1, 20,
	  "tries of a reply on transient failures (connection, 4xx)" },
	{ "send_timeout", OMR_CONF_MS, EOFF(send_timeout), 0, "60s", 1000, 600000,
	  "of one SMTP delivery" },
	{ "html", OMR_CONF_BOOL, EOFF(html), 0, "false", 0, 0,
	  "replies carry an HTML alternative as well as text/plain" },
	{ "reopen_within", OMR_CONF_MS, EOFF(reopen_within), 0, "7d", 0, 31536000000LL,
	  "a customer writing again in a thread closed this recently reopens it (0: never)" },
	{ "trust_from", OMR_CONF_BOOL, EOFF(trust_from), 0, "false", 0, 0,
	  "the MTA verifies senders (SPF/DKIM/DMARC): the From address is stored as the "
	  "customer's verified e-mail (else as claimed_email)" },
	{ "sender_rate_max", OMR_CONF_INT, EOFF(sender_rate_max), 0, "30", 0, 1000000,
	  "mails from one address per sender_rate_window that may start contacts; more are "
	  "stored as automatic, not routed (a mail loop; 0: no limit)" },
	{ "sender_rate_window", OMR_CONF_MS, EOFF(sender_rate_window), 0, "1h", 1000, 86400000,
	  "the window of sender_rate_max" },
	{ "imap_url", OMR_CONF_STRING, EOFF(imap_url), 0, NULL, 0, 0,
	  "a mailbox to poll: imaps://host/INBOX or imap://host:143/INBOX (none: no polling)" },
	{ "imap_user", OMR_CONF_STRING, EOFF(imap_user), 0, NULL, 0, 0, "IMAP login" },
	{ "imap_password", OMR_CONF_SECRET, EOFF(imap_password), 0, NULL, 0, 0,
	  "IMAP password" },
	{ "imap_starttls", OMR_CONF_BOOL, EOFF(imap_starttls), 0, "true", 0, 0,
	  "require STARTTLS on imap:// (false: plain, for a server on localhost)" },
	{ "imap_interval", OMR_CONF_MS, EOFF(imap_interval), 0, "60s", 1000, 86400000,
	  "between two polls of the mailbox" },
	{ "imap_batch", OMR_CONF_INT, EOFF(imap_batch), 0, "50", 1, 10000,
	  "messages fetched per poll (the rest next time)" },
	{ "imap_from_start", OMR_CONF_BOOL, EOFF(imap_from_start), 0, "false", 0, 0,
	  "the first poll of a mailbox reads the mail already in it (false: only what comes after)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

struct em_state;

struct em_conn {
	struct em_state *st;
	struct bufferevent *bev;
	struct lmtp *lmtp;
	struct em_job *job;     /* the message being stored */
	int closing;            /* close once the output is written */
	struct em_conn *next, *prev;
};

struct em_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct em_config *cfg;
	char domain[256];
	char attach_dir[4096];
	struct evconnlistener *listener;
	struct em_conn *conns;
	size_t nconns;
	struct em_send *sends;  /* replies being sent or waiting to retry */
	struct em_imap *imap;   /* the polled mailbox, or NULL */
	struct em_job *jobs;    /* mails being stored */
	int stopping;
	unsigned long long stored, bounces, refused, sent, send_failed, send_retries, rate_limited;
	GHashTable *senders;    /* address -> struct em_rate, this node's count */
};

/* ---- small helpers ---- */

static void em_sha256_hex(const void *data, size_t len, char out[65])
{
	gchar *s = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
	snprintf(out, 65, "%s", s);
	g_free(s);
}

/* "<omr.t_xxxxxxxxxxxx.m_...@domain>" -> the thread and message of ours */
static int em_ours(const char *id, char *thread, size_t tlen, char *msg, size_t mlen)
{
	const char *p, *dot, *at;
	if (!id || strncmp(id, "<omr.", 5) != 0)
		return 0;
	p = id + 5;
	dot = strchr(p, '.');
	at = dot ? strchr(dot, '@') : NULL;
	if (!dot || !at || (size_t)(dot - p) >= tlen || (size_t)(at - dot - 1) >= mlen ||
	    strncmp(p, EM_THREAD_PREFIX, 2) != 0)
		return 0;
	memcpy(thread, p, (size_t)(dot - p));
	thread[dot - p] = '\0';
	memcpy(msg, dot + 1, (size_t)(at - dot - 1));
	msg[at - dot - 1] = '\0';
	for (const char *c = thread; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return 0;
	return 1;
}

/* The token "[#t_xxxxxxxxxxxx]" in a subject. */
static int em_subject_token(const char *subject, char *thread, size_t tlen)
{
	const char *p = subject ? strstr(subject, "[#" EM_THREAD_PREFIX) : NULL;
	if (!p)
		return 0;
	p += 2;
	size_t n = 0;
	while (p[n] && p[n] != ']' && n < tlen - 1) {
		if (!((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_'))
			return 0;
		n++;
	}
	if (p[n] != ']' || n < 4)
		return 0;
	memcpy(thread, p, n);
	thread[n] = '\0';
	return 1;
}

static void em_new_thread(char *thread, size_t len)
{
	static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
	unsigned char rnd[12];
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
		for (size_t i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(g_random_int() & 0xff);
	}
	if (f)
		fclose(f);
	size_t o = (size_t)snprintf(thread, len, EM_THREAD_PREFIX);
	for (size_t i = 0; i < sizeof(rnd) && o + 1 < len; i++)
		thread[o++] = alphabet[rnd[i] & 31];
	thread[o] = '\0';
}

/* ---- the rate of one sender ---- */

struct em_rate {
	long long since;   /* monotonic ms: the window began */
	long long count;
};

#define EM_SENDERS_MAX 100000 /* addresses tracked; expired ones go first */

static gboolean em_rate_expired(gpointer key, gpointer value, gpointer data)
{
	(void)key;
	const long long *cut = data;
	return ((struct em_rate *)value)->since < *cut;
}

/* The count of a sender in the current window (created when count). */
static struct em_rate *em_rate_of(struct em_state *st, const char *addr, int create)
{
	long long now = g_get_monotonic_time() / 1000, window = st->cfg->sender_rate_window;
	if (g_hash_table_size(st->senders) >= EM_SENDERS_MAX) {
		long long cut = now - window;
		g_hash_table_foreach_remove(st->senders, em_rate_expired, &cut);
		if (g_hash_table_size(st->senders) >= EM_SENDERS_MAX)
			g_hash_table_remove_all(st->senders);
	}
	struct em_rate *r = g_hash_table_lookup(st->senders, addr);
	if (!r && create) {
		r = g_new0(struct em_rate, 1);
		g_hash_table_insert(st->senders, g_strdup(addr), r);
	}
	if (r && now - r->since >= window) {
		r->since = now;
		r->count = 0;
	}
	return r;
}

/* 1 when a mail from addr now would be one too many (a mail loop, a
 * flood): it is kept, but as an automatic mail. */
static int em_rate_exceeded(struct em_state *st, const char *addr)
{
	struct em_rate *r = st->cfg->sender_rate_max ? em_rate_of(st, addr, 0) : NULL;
	return r && r->count >= st->cfg->sender_rate_max;
}

/* A mail of addr was stored (redeliveries and refusals do not count). */
static void em_rate_count(struct em_state *st, const char *addr)
{
	if (st->cfg->sender_rate_max && addr)
		em_rate_of(st, addr, 1)->count++;
}

/* ---- inbound: one message ---- */

/* The answer to whoever delivered a message (an LMTP session, the IMAP
 * poller): an LMTP reply line, "250 ..." once it is durable. */
typedef void (*em_job_done)(void *arg, const char *reply);

struct em_job {
	struct em_state *st;
	em_job_done done;           /* NULL once the deliverer is gone */
	void *done_arg;
	struct em_msg m;
	char *sender;               /* MAIL FROM ("" for <>) */
	char *mailbox;              /* the first recipient */
	char *raw_hash;             /* sha256 of the data, for mail without Message-ID */
	json_t *candidates;         /* Message-IDs to look the thread up by */
	size_t next;
	char thread[64];
	struct em_job *prev_job, *next_job; /* st->jobs: freed by em_free if still here */
};

static void em_job_free(struct em_job *j)
{
	if (j->prev_job)
		j->prev_job->next_job = j->next_job;
	else
		j->st->jobs = j->next_job;
	if (j->next_job)
		j->next_job->prev_job = j->prev_job;
	em_msg_free(&j->m);
	free(j->sender);
	free(j->mailbox);
	free(j->raw_hash);
	json_decref(j->candidates);
	free(j);
}

static void em_conn_flush(struct em_conn *c);

static void em_job_reply(struct em_job *j, const char *reply)
{
	if (j->done)
		j->done(j->done_arg, reply);
	em_job_free(j);
}

/* Every recipient gets the same answer: the message is one conversation. */
static void em_conn_job_done(void *arg, const char *reply)
{
	struct em_conn *c = arg;
	size_t n = lmtp_recipients(c->lmtp);
	const char **r = omr_plugin_calloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r[i] = reply;
	lmtp_done(c->lmtp, r);
	free(r);
	c->job = NULL;
	em_conn_flush(c);
}

/* Attachments are written once, named by their SHA-256, and synced before
 * the message is acknowledged. */
static int em_store_attachment(struct em_state *st, const char *sha, const unsigned char *data,
			       size_t len)
{
	char path[4200], tmp[4300];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", st->attach_dir, sha);
	if (stat(path, &sb) == 0 && (size_t)sb.st_size == len)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	int dfd = open(st->attach_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static void em_remembered(void *arg, int status)
{
	(void)arg;
	(void)status; /* an index entry: losing one only costs threading by subject */
}

static void em_submitted(void *arg, const struct omr_submit_result *res)
{
	struct em_job *j = arg;
	struct em_state *st = j->st;
	char reply[300];
	if (res->status == OMR_OK) {
		st->stored++;
		if (!res->duplicate)
			em_rate_count(st, j->m.from_addr);
		/* a redelivery keeps the first one's thread (this one's may be a
		 * fresh guess: the index must not point elsewhere) */
		if (j->m.message_id && !res->duplicate) {
			char h[65], key[80];
			em_sha256_hex(j->m.message_id, strlen(j->m.message_id), h);
			snprintf(key, sizeof(key), "mid:%.40s", h);
			st->api->kv_set(st->host, key, j->thread, strlen(j->thread), EM_MID_TTL_MS,
					em_remembered, NULL);
		}
		snprintf(reply, sizeof(reply), "250 2.0.0 stored as %.64s%s", res->message,
			 res->duplicate ? " (seen before)" : "");
	} else if (res->status == OMR_AGAIN) {
		snprintf(reply, sizeof(reply), "451 4.3.0 cannot store it now; try again later");
	} else {
		st->refused++;
		snprintf(reply, sizeof(reply), "550 5.6.0 refused: %.200s",
			 res->error ? res->error : "invalid message");
	}
	em_job_reply(j, reply);
}

static void em_job_submit(struct em_job *j)
{
	struct em_state *st = j->st;
	struct em_msg *m = &j->m;
	size_t i;
	json_t *a;

	json_array_foreach(m->attachments, i, a) {
		if (i >= m->nparts || !m->parts[i].data)
			continue;
		if (em_store_attachment(st, json_string_value(json_object_get(a, "sha256")),
					m->parts[i].data, m->parts[i].size) < 0) {
			st->api->log(st->host, OMR_LOG_ERROR, "cannot write an attachment in %s: %s",
				     st->attach_dir, strerror(errno));
			em_job_reply(j, "451 4.3.0 cannot store attachments now; try again later");
			return;
		}
	}
	json_t *attrs = json_pack("{s:s}", "subject", m->subject);
	if (j->mailbox)
		json_object_set_new(attrs, "mailbox", json_string(j->mailbox));
	if (m->auto_reason)
		json_object_set_new(attrs, "auto", json_string(m->auto_reason));
	json_t *meta = json_pack("{s:s?,s:s?,s:O,s:s,s:b}", "message_id", m->message_id,
				 "in_reply_to", m->in_reply_to, "references", m->references,
				 "subject", m->subject, "from_html", m->from_html);
	if (strcmp(m->full_text, m->text) != 0)
		json_object_set_new(meta, "full_text", json_string(m->full_text));
	if (m->text_cut)
		json_object_set_new(meta, "text_cut", json_true());
	char cmid[80];
	snprintf(cmid, sizeof(cmid), "sha256:%s", j->raw_hash);
	int automatic = m->auto_reason || m->bounce || (j->sender && !*j->sender);
	/* a mail with nothing but a subject still says something */
	const char *text = m->text;
	if (!*text && !json_array_size(m->attachments))
		text = *m->subject ? m->subject : "(no text)";
	struct omr_inbound ev = {
		.channel_msg_id = m->message_id && strlen(m->message_id) <= 250 ? m->message_id : cmid,
		.address = m->from_addr,
		.thread = j->thread,
		.name = m->from_name,
		.email = m->from_addr,
		.email_verified = st->cfg->trust_from,
		.text = text,
		.attachments = json_array_size(m->attachments) ? m->attachments : NULL,
		.attrs = attrs,
		.meta = meta,
		.ts_ms = m->date_ms,
		.kind = automatic ? "auto" : "message",
	};
	int rc = st->api->submit(st->host, &ev, em_submitted, j);
	json_decref(attrs);
	json_decref(meta);
	if (rc != OMR_OK)
		em_job_reply(j, "451 4.3.0 cannot store it now; try again later");
}

static void em_job_lookup(struct em_job *j);

static void em_looked_up(void *arg, int status, const char *value, size_t len)
{
	struct em_job *j = arg;
	if (status == OMR_OK && value && len > 2 && len < sizeof(j->thread)) {
		memcpy(j->thread, value, len);
		j->thread[len] = '\0';
		em_job_submit(j);
		return;
	}
	em_job_lookup(j);
}

/* The thread: by the Message-IDs the mail answers, then the subject's
 * token, else a new one. */
static void em_job_lookup(struct em_job *j)
{
	struct em_state *st = j->st;
	char msg[128];
	while (j->next < json_array_size(j->candidates) && j->next < EM_LOOKUPS_MAX) {
		const char *id = json_string_value(json_array_get(j->candidates, j->next++));
		if (em_ours(id, j->thread, sizeof(j->thread), msg, sizeof(msg))) {
			em_job_submit(j);
			return;
		}
		char h[65], key[80];
		em_sha256_hex(id, strlen(id), h);
		snprintf(key, sizeof(key), "mid:%.40s", h);
		if (st->api->kv_get(st->host, key, em_looked_up, j) == OMR_OK)
			return;
	}
	if (!em_subject_token(j->m.subject, j->thread, sizeof(j->thread)))
		em_new_thread(j->thread, sizeof(j->thread));
	em_job_submit(j);
}

/* A message from the envelope sender ("" for <>; NULL when unknown, as
 * over IMAP) to mailbox; done runs once, with the answer, possibly inside
 * em_job_run (keep the job's address before running it). */
static struct em_job *em_job_new(struct em_state *st, const char *sender, const char *mailbox,
				 em_job_done done, void *done_arg)
{
	struct em_job *j = omr_plugin_calloc(1, sizeof(*j));
	j->st = st;
	j->done = done;
	j->done_arg = done_arg;
	j->sender = sender ? omr_plugin_strdup(sender) : NULL;
	j->mailbox = mailbox ? omr_plugin_strdup(mailbox) : NULL;
	j->next_job = st->jobs;
	if (st->jobs)
		st->jobs->prev_job = j;
	st->jobs = j;
	return j;
}

/* Read, thread and store the message (whole; cut at max_size when
 * too_big, then only refused). */
static void em_job_run(struct em_job *j, const char *data, size_t len, int too_big)
{
	struct em_state *st = j->st;
	char h[65], *err = NULL;
	em_sha256_hex(data, len, h);
	j->raw_hash = omr_plugin_strdup(h);

	if (too_big) {
		st->refused++;
		char r[120];
		snprintf(r, sizeof(r), "552 5.3.4 message larger than %lld bytes", st->cfg->max_size);
		em_job_reply(j, r);
		return;
	}
	/* within what the core takes: a long mail is cut, not refused */
	long long text_max = st->api->limit(st->host, "text_max");
	long long att_max = st->api->limit(st->host, "attachments_max");
	struct em_limits lim = {
		.text_max = text_max > 0 && text_max < 65536 ? (size_t)text_max : 65536,
		.attachment_max = (size_t)st->cfg->attachment_max,
		.attachments_max = att_max > 0 && att_max < 50 ? (size_t)att_max : 50,
	};
	if (em_parse(data, len, &lim, &j->m, &err) < 0) {
		st->refused++;
		char r[300];
		snprintf(r, sizeof(r), "550 5.6.0 %.200s", err ? err : "not a mail message");
		free(err);
		em_job_reply(j, r);
		return;
	}
	/* a bounce of one of our mails: the reply failed; nothing to store */
	char thread[64], mid[128];
	if (j->m.bounce && em_ours(j->m.bounce_message_id, thread, sizeof(thread), mid, sizeof(mid))) {
		char why[400];
		snprintf(why, sizeof(why), "bounced: %.20s %.300s",
			 j->m.bounce_status ? j->m.bounce_status : "",
			 j->m.bounce_diagnostic ? j->m.bounce_diagnostic : "");
		st->bounces++;
		st->api->log(st->host, OMR_LOG_WARN, "reply %s %s", mid, why);
		st->api->delivery_status(st->host, j->m.bounce_message_id, "failed", why);
		em_job_reply(j, "250 2.0.0 delivery failure recorded");
		return;
	}
	if (!j->sender && j->m.return_path)
		j->sender = omr_plugin_strdup(j->m.return_path); /* read from a mailbox */
	if (!j->m.from_addr) {
		st->refused++;
		em_job_reply(j, "550 5.1.7 no usable From address");
		return;
	}
	if (!j->m.auto_reason && !j->m.bounce && em_rate_exceeded(st, j->m.from_addr)) {
		st->rate_limited++;
		if (st->rate_limited == 1 || st->rate_limited % 100 == 0)
			st->api->log(st->host, OMR_LOG_WARN,
				     "more than %lld mails from %s in %lld ms: stored as automatic, "
				     "not routed (%llu so far)", st->cfg->sender_rate_max,
				     j->m.from_addr, st->cfg->sender_rate_window, st->rate_limited);
		j->m.auto_reason = "rate";
	}
	j->candidates = json_array();
	if (j->m.in_reply_to)
		json_array_append_new(j->candidates, json_string(j->m.in_reply_to));
	for (size_t i = json_array_size(j->m.references); i > 0; i--)
		json_array_append(j->candidates, json_array_get(j->m.references, i - 1));
	em_job_lookup(j);
}

/* ---- IMAP: messages the poller fetched ---- */

static void em_imap_message(void *arg, const char *data, size_t len, int too_big,
			    em_imap_done done, void *darg)
{
	struct em_state *st = arg;
	/* no envelope: the Return-Path the delivering MTA wrote stands for it;
	 * the job answers the poller directly (the same kind of callback) */
	em_job_run(em_job_new(st, NULL, st->cfg->address, done, darg), data, len, too_big);
}

/* ---- LMTP connections ---- */

static void em_conn_close(struct em_conn *c)
{
	struct em_state *st = c->st;
	if (c->job)
		c->job->done = NULL; /* its answer has nowhere to go; the MTA retries */
	if (c->prev)
		c->prev->next = c->next;
	else
		st->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	st->nconns--;
	bufferevent_free(c->bev);
	lmtp_free(c->lmtp);
	free(c);
}

static void em_conn_read(struct bufferevent *bev, void *arg);

/* Send what the session wants to say; go on reading what the MTA sent. */
static void em_conn_flush(struct em_conn *c)
{
	size_t len;
	const char *out = lmtp_out(c->lmtp, &len);
	if (len) {
		bufferevent_write(c->bev, out, len);
		lmtp_out_clear(c->lmtp);
	}
	if (!c->closing && !lmtp_busy(c->lmtp)) {
		bufferevent_enable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(c->bev)))
			em_conn_read(c->bev, c);
	}
}

static void em_conn_message(struct em_conn *c)
{
	size_t len;
	const char *data = lmtp_data(c->lmtp, &len);
	const char *rcpt = lmtp_recipients(c->lmtp) ? lmtp_recipient(c->lmtp, 0) : NULL;
	struct em_job *j = em_job_new(c->st, lmtp_sender(c->lmtp), rcpt, em_conn_job_done, c);
	c->job = j;
	em_job_run(j, data, len, lmtp_too_big(c->lmtp));
}

static void em_conn_read(struct bufferevent *bev, void *arg)
{
	struct em_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (!c->closing && !lmtp_busy(c->lmtp) && evbuffer_get_length(in)) {
		size_t len = evbuffer_get_length(in), used = 0;
		const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
		enum lmtp_result r = lmtp_feed(c->lmtp, data, len, &used);
		evbuffer_drain(in, used);
		size_t olen;
		const char *out = lmtp_out(c->lmtp, &olen);
		if (olen) {
			bufferevent_write(bev, out, olen);
			lmtp_out_clear(c->lmtp);
		}
		if (r == LMTP_CLOSE) {
			c->closing = 1;
			bufferevent_disable(bev, EV_READ);
			if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
				em_conn_close(c);
			return;
		}
		if (r == LMTP_MESSAGE) {
			bufferevent_disable(bev, EV_READ); /* one message at a time */
			em_conn_message(c);
			return; /* only em_conn_close frees c */
		}
		if (used == 0)
			break;
	}
}

static void em_conn_write(struct bufferevent *bev, void *arg)
{
	struct em_conn *c = arg;
	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		em_conn_close(c);
}

static void em_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct em_conn *c = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		em_conn_close(c);
}

static void em_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct em_state *st = arg;
	struct event_base *base = evconnlistener_get_base(lst);
	if (st->stopping || st->nconns >= (size_t)st->cfg->max_connections) {
		static const char busy[] = "421 4.3.2 too many connections, try again later\r\n";
		ssize_t w = write(fd, busy, sizeof(busy) - 1);
		(void)w;
		evutil_closesocket(fd);
		return;
	}
	struct em_conn *c = omr_plugin_calloc(1, sizeof(*c));
	struct lmtp_limits lim = {
		.max_size = (size_t)st->cfg->max_size,
		.max_rcpt = (size_t)st->cfg->max_recipients,
		.max_errors = 20,
	};
	c->st = st;
	c->lmtp = lmtp_new(&lim, st->domain);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		lmtp_free(c->lmtp);
		free(c);
		return;
	}
	struct timeval tv = { st->cfg->lmtp_timeout / 1000, (st->cfg->lmtp_timeout % 1000) * 1000 };
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setcb(c->bev, em_conn_read, em_conn_write, em_conn_event, c);
	c->next = st->conns;
	if (st->conns)
		st->conns->prev = c;
	st->conns = c;
	st->nconns++;
	lmtp_greet(c->lmtp);
	em_conn_flush(c);
}

/* ---- outbound: replies by SMTP ---- */

struct em_send {
	struct em_state *st;
	char *message;        /* our message id */
	char *message_id;     /* "<omr.THREAD.MESSAGE@domain>" */
	char *rcpt;
	char *data;           /* the whole mail, CRLF */
	size_t len, off;
	int attempt;
	int lookups;          /* reads of the thread that failed */
	omr_timer *lookup_timer;
	CURL *easy;
	struct curl_slist *rcpts;
	char errbuf[CURL_ERROR_SIZE];
	omr_timer *timer;
	struct em_send *next, *prev;
	/* what the composition needs, until the history arrives */
	char *thread, *text, *author_name, *conversation;
};

static void em_send_unlink(struct em_send *s)
{
	struct em_state *st = s->st;
	if (s->prev)
		s->prev->next = s->next;
	else if (st->sends == s)
		st->sends = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

static void em_send_free(struct em_send *s)
{
	em_send_unlink(s);
	if (s->easy)
		curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->rcpts);
	if (s->timer)
		s->st->api->timer_free(s->timer);
	if (s->lookup_timer)
		s->st->api->timer_free(s->lookup_timer);
	free(s->message);
	free(s->message_id);
	free(s->rcpt);
	free(s->data);
	free(s->thread);
	free(s->text);
	free(s->author_name);
	free(s->conversation);
	free(s);
}

static size_t em_send_read(char *buf, size_t size, size_t n, void *arg)
{
	struct em_send *s = arg;
	size_t want = size * n, left = s->len - s->off;
	if (want > left)
		want = left;
	memcpy(buf, s->data + s->off, want);
	s->off += want;
	return want;
}

static void em_send_try(struct em_send *s);

static void em_send_retry(void *arg)
{
	em_send_try(arg);
}

static int em_send_transient(int code, long status)
{
	if (status >= 400 && status < 500)
		return 1;
	if (status >= 500)
		return 0;
	return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
	       code == CURLE_OPERATION_TIMEDOUT || code == CURLE_SEND_ERROR ||
	       code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING || code == CURLE_SSL_CONNECT_ERROR;
}

static void em_sent(void *arg, int code, long status)
{
	struct em_send *s = arg;
	struct em_state *st = s->st;
	char why[CURL_ERROR_SIZE + 80];
	if (code == CURLE_OK) {
		st->sent++;
		st->api->send_result(st->host, s->message, "sent", s->message_id, NULL);
		em_send_free(s);
		return;
	}
	if (code == CURLE_ABORTED_BY_CALLBACK || st->stopping) {
		em_send_free(s); /* stopping: stays queued, sent again after the restart */
		return;
	}
	snprintf(why, sizeof(why), "SMTP%s%.0ld: %s", status ? " " : "", status,
		 s->errbuf[0] ? s->errbuf : curl_easy_strerror((CURLcode)code));
	if (em_send_transient(code, status) && s->attempt < st->cfg->send_attempts) {
		long ms = 1000L << (s->attempt - 1 < 8 ? s->attempt - 1 : 8);
		if (ms > 60000)
			ms = 60000;
		st->send_retries++;
		st->api->log(st->host, OMR_LOG_INFO, "reply %s: %s; try %d of %lld in %ld ms",
			     s->message, why, s->attempt + 1, st->cfg->send_attempts, ms);
		if (!s->timer)
			s->timer = st->api->timer_new(st->host, em_send_retry, s);
		st->api->timer_start(s->timer, (uint64_t)ms, 0);
		return;
	}
	if (s->attempt > 1) {
		size_t n = strlen(why);
		snprintf(why + n, sizeof(why) - n, " (after %d tries)", s->attempt);
	}
	st->send_failed++;
	st->api->send_result(st->host, s->message, "failed", NULL, why);
	em_send_free(s);
}

static void em_send_try(struct em_send *s)
{
	struct em_state *st = s->st;
	const struct em_config *cfg = st->cfg;
	char from[600];
	if (s->easy)
		curl_easy_cleanup(s->easy);
	s->easy = curl_easy_init();
	if (!s->easy) {
		em_sent(s, CURLE_FAILED_INIT, 0);
		return;
	}
	s->attempt++;
	s->off = 0;
	s->errbuf[0] = '\0';
	snprintf(from, sizeof(from), "<%s>", cfg->address);
	if (!s->rcpts) {
		char to[600];
		snprintf(to, sizeof(to), "<%s>", s->rcpt);
		s->rcpts = curl_slist_append(NULL, to);
	}
	curl_easy_setopt(s->easy, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(s->easy, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, s->rcpts);
	curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, em_send_read);
	curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->len);
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)cfg->send_timeout);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	if (strncmp(cfg->smtp_url, "smtp://", 7) == 0)
		curl_easy_setopt(s->easy, CURLOPT_USE_SSL,
				 (long)(cfg->smtp_starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	if (cfg->smtp_user && *cfg->smtp_user) {
		curl_easy_setopt(s->easy, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(s->easy, CURLOPT_PASSWORD, cfg->smtp_password ? cfg->smtp_password : "");
	}
	if (st->api->transfer(st->host, s->easy, em_sent, s) != OMR_OK)
		em_sent(s, CURLE_FAILED_INIT, 0);
}

/* "Re: <subject without Re:/Fwd: and our token> [#thread]" */
static char *em_reply_subject(const char *subject, const char *thread)
{
	const char *s = subject ? subject : "";
	for (;;) {
		while (*s == ' ')
			s++;
		if (g_ascii_strncasecmp(s, "re:", 3) == 0 || g_ascii_strncasecmp(s, "aw:", 3) == 0)
			s += 3;
		else if (g_ascii_strncasecmp(s, "fwd:", 4) == 0)
			s += 4;
		else if (g_ascii_strncasecmp(s, "fw:", 3) == 0)
			s += 3;
		else
			break;
	}
	GString *g = g_string_new("Re: ");
	const char *tok = strstr(s, "[#" EM_THREAD_PREFIX);
	g_string_append_len(g, s, tok ? (gssize)(tok - s) : (gssize)strlen(s));
	while (g->len && g->str[g->len - 1] == ' ')
		g_string_truncate(g, g->len - 1);
	if (g->len == 4)
		g_string_append(g, "Your message");
	g_string_append_printf(g, " [#%s]", thread);
	char *r = omr_plugin_strdup(g->str);
	g_string_free(g, TRUE);
	return r;
}

static char *em_html_of(const char *text)
{
	GString *g = g_string_new("<!DOCTYPE html><html><body><div style=\"white-space:pre-wrap\">");
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '<': g_string_append(g, "&lt;"); break;
		case '>': g_string_append(g, "&gt;"); break;
		case '&': g_string_append(g, "&amp;"); break;
		case '"': g_string_append(g, "&quot;"); break;
		default: g_string_append_c(g, *p);
		}
	}
	g_string_append(g, "</div></body></html>\n");
	char *r = omr_plugin_strdup(g->str);
	g_string_free(g, TRUE);
	return r;
}

/* The mail of a reply, CRLF, malloc'ed. history: {conversation, messages}. */
static char *em_compose(struct em_send *s, const json_t *history, size_t *len_r)
{
	struct em_state *st = s->st;
	const json_t *msgs = json_object_get(history, "messages"), *m, *last_in = NULL;
	const json_t *conv = json_object_get(history, "conversation");
	size_t i;
	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		if (dir && strcmp(dir, "in") == 0)
			last_in = m;
	}
	const json_t *meta = json_object_get(last_in, "meta");
	const char *subject = json_string_value(json_object_get(meta, "subject"));
	if (!subject)
		subject = json_string_value(json_object_get(json_object_get(conv, "attrs"), "subject"));
	const char *irt = json_string_value(json_object_get(meta, "message_id"));

	GMimeMessage *msg = g_mime_message_new(TRUE);
	char name[400];
	if (s->author_name && *s->author_name)
		snprintf(name, sizeof(name), "%.150s via %.200s", s->author_name, st->cfg->from_name);
	else
		snprintf(name, sizeof(name), "%.200s", st->cfg->from_name);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, name, st->cfg->address);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, s->rcpt);
	char *subj = em_reply_subject(subject, s->thread);
	g_mime_message_set_subject(msg, subj, "utf-8");
	free(subj);
	GDateTime *now = g_date_time_new_now_local();
	g_mime_message_set_date(msg, now);
	g_date_time_unref(now);
	/* the Message-ID without its brackets */
	char *bare = omr_plugin_strdup(s->message_id + 1);
	bare[strlen(bare) - 1] = '\0';
	g_mime_message_set_message_id(msg, bare);
	free(bare);
	if (irt) {
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", irt, NULL);
		/* References: the customer's mail's, then the mail itself, capped */
		GString *refs = g_string_new(NULL);
		const json_t *r = json_object_get(meta, "references");
		size_t n = json_array_size(r), from = n + 1 > EM_REFS_MAX ? n + 1 - EM_REFS_MAX : 0;
		for (i = from; i < n; i++) {
			if (refs->len)
				g_string_append(refs, " ");
			g_string_append(refs, json_string_value(json_array_get(r, i)));
		}
		if (refs->len)
			g_string_append(refs, " ");
		g_string_append(refs, irt);
		g_mime_object_set_header(GMIME_OBJECT(msg), "References", refs->str, NULL);
		g_string_free(refs, TRUE);
	}
	g_mime_object_set_header(GMIME_OBJECT(msg), "X-Omniroute-Conversation",
				 s->conversation ? s->conversation : "", NULL);

	GMimeTextPart *plain = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_text(plain, s->text);
	g_mime_part_set_content_encoding(GMIME_PART(plain), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	if (st->cfg->html) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		GMimeTextPart *html = g_mime_text_part_new_with_subtype("html");
		char *h = em_html_of(s->text);
		g_mime_text_part_set_text(html, h);
		free(h);
		g_mime_part_set_content_encoding(GMIME_PART(html), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
		g_mime_multipart_add(alt, GMIME_OBJECT(plain));
		g_mime_multipart_add(alt, GMIME_OBJECT(html));
		g_object_unref(plain);
		g_object_unref(html);
		g_mime_message_set_mime_part(msg, GMIME_OBJECT(alt));
		g_object_unref(alt);
	} else {
		g_mime_message_set_mime_part(msg, GMIME_OBJECT(plain));
		g_object_unref(plain);
	}
	GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	char *out = g_mime_object_to_string(GMIME_OBJECT(msg), fo);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	char *r = omr_plugin_strdup(out ? out : "");
	g_free(out);
	*len_r = strlen(r);
	return r;
}

static void em_history_cb(void *arg, int status, json_t *json);

/* The customer's last mails (for In-Reply-To and References), then the
 * composition and the first SMTP try. */
static void em_send_compose(void *arg)
{
	struct em_send *s = arg;
	struct em_state *st = s->st;
	if (st->api->history(st->host, s->rcpt, s->thread, em_history_cb, s) != OMR_OK) {
		st->send_failed++;
		st->api->send_result(st->host, s->message, "failed", NULL, "cannot read the thread");
		em_send_free(s);
	}
}

static void em_history_cb(void *arg, int status, json_t *json)
{
	struct em_send *s = arg;
	struct em_state *st = s->st;
	if (status != OMR_OK) {
		/* Redis is away for a moment: read the thread again shortly, so
		 * that the reply does not wait for the outbox's resend */
		if (st->stopping) {
			em_send_free(s); /* stays queued; sent after the restart */
			return;
		}
		if (++s->lookups >= st->cfg->send_attempts) {
			st->send_failed++;
			st->api->send_result(st->host, s->message, "failed", NULL,
					     "the conversation could not be read (storage unavailable)");
			em_send_free(s);
			return;
		}
		if (!s->lookup_timer)
			s->lookup_timer = st->api->timer_new(st->host, em_send_compose, s);
		st->api->timer_start(s->lookup_timer, (uint64_t)(1000L << (s->lookups - 1)), 0);
		return;
	}
	s->data = em_compose(s, json, &s->len);
	em_send_try(s);
}

static int em_send(void *state, const struct omr_outbound *out)
{
	struct em_state *st = state;
	char mid[600];
	if (strcmp(out->kind, "message") != 0)
		return OMR_OK; /* queue positions are not mailed */
	if (!out->address || !strchr(out->address, '@') || strlen(out->address) > 254 ||
	    strpbrk(out->address, "<>\r\n \t,;"))
		return OMR_ERROR;
	if (!out->thread || strlen(out->thread) > 60)
		return OMR_ERROR;
	struct em_send *s = omr_plugin_calloc(1, sizeof(*s));
	s->st = st;
	s->message = omr_plugin_strdup(out->message);
	snprintf(mid, sizeof(mid), "<omr.%s.%s@%s>", out->thread, out->message, st->domain);
	s->message_id = omr_plugin_strdup(mid);
	s->rcpt = omr_plugin_strdup(out->address);
	s->thread = omr_plugin_strdup(out->thread);
	s->text = omr_plugin_strdup(out->text ? out->text : "");
	s->author_name = out->author_name && strcmp(out->author ? out->author : "", "agent") == 0
				 ? omr_plugin_strdup(out->author_name) : NULL;
	s->conversation = omr_plugin_strdup(out->conversation ? out->conversation : "");
	s->next = st->sends;
	if (st->sends)
		st->sends->prev = s;
	st->sends = s;
	if (st->api->history(st->host, s->rcpt, s->thread, em_history_cb, s) != OMR_OK) {
		em_send_free(s);
		return OMR_ERROR;
	}
	return OMR_OK;
}

/* ---- life ---- */

static int em_check(const void *config, char **err_r)
{
	const struct em_config *cfg = config;
	const char *at = strchr(cfg->address, '@');
	if (!at || at == cfg->address || !at[1] || strpbrk(cfg->address, "<> \t\r\n,;\"") ||
	    strlen(cfg->address) > 254)
		return omr_plugin_error(err_r, "address: an e-mail address like support@example.com");
	if (cfg->domain && (!*cfg->domain || strpbrk(cfg->domain, "<>@ \t\r\n") ||
			    strlen(cfg->domain) > 200))
		return omr_plugin_error(err_r, "domain: a domain name");
	if (strncmp(cfg->smtp_url, "smtp://", 7) != 0 && strncmp(cfg->smtp_url, "smtps://", 8) != 0)
		return omr_plugin_error(err_r, "smtp_url: smtp://host:port or smtps://host:port");
	if (strpbrk(cfg->from_name, "\r\n") || strlen(cfg->from_name) > 200)
		return omr_plugin_error(err_r, "from_name: one line of at most 200 characters");
	struct in_addr a;
	if (inet_pton(AF_INET, cfg->lmtp_address, &a) != 1)
		return omr_plugin_error(err_r, "lmtp_address: an IPv4 address");
	if (cfg->imap_url && em_imap_url_check(cfg->imap_url, err_r) < 0)
		return OMR_ERROR;
	if (!cfg->lmtp_port && !cfg->imap_url)
		return omr_plugin_error(err_r, "no way in: set lmtp_port or imap_url");
	return OMR_OK;
}

static int em_init(const struct omr_host_api *api, omr_host *host, const void *config,
		   void **state_r, char **err_r)
{
	const struct em_config *cfg = config;
	if (em_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	em_mime_init();
	struct em_state *st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	snprintf(st->domain, sizeof(st->domain), "%s",
		 cfg->domain ? cfg->domain : strchr(cfg->address, '@') + 1);
	if (!api->state_path(host, "attachments/email", st->attach_dir, sizeof(st->attach_dir)) ||
	    g_mkdir_with_parents(st->attach_dir, 0750) < 0) {
		int e = errno;
		free(st);
		return omr_plugin_error(err_r, "cannot create the attachment directory: %s",
					strerror(e));
	}
	struct omr_channel_policy policy = { .reopen_ms = cfg->reopen_within };
	if (api->channel_policy(host, &policy, err_r) != OMR_OK) {
		free(st);
		return OMR_ERROR;
	}
	if (cfg->imap_url) {
		struct em_imap_config ic = {
			.url = cfg->imap_url,
			.user = cfg->imap_user,
			.password = cfg->imap_password,
			.starttls = cfg->imap_starttls,
			.interval_ms = cfg->imap_interval,
			.batch = cfg->imap_batch,
			.max_size = cfg->max_size,
			.timeout_ms = cfg->send_timeout,
			.from_start = cfg->imap_from_start,
		};
		st->imap = em_imap_new(api, host, &ic, em_imap_message, st, err_r);
		if (!st->imap) {
			free(st);
			return OMR_ERROR;
		}
	}
	st->senders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	*state_r = st;
	return OMR_OK;
}

static int em_start(void *state, char **err_r)
{
	struct em_state *st = state;
	struct sockaddr_in sin;
	if (st->imap)
		em_imap_start(st->imap);
	if (!st->cfg->lmtp_port)
		return OMR_OK;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)st->cfg->lmtp_port);
	inet_pton(AF_INET, st->cfg->lmtp_address, &sin.sin_addr);
	st->listener = evconnlistener_new_bind(st->api->event_base(st->host), em_accept, st,
					       LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
						       LEV_OPT_CLOSE_ON_EXEC,
					       64, (struct sockaddr *)&sin, sizeof(sin));
	if (!st->listener)
		return omr_plugin_error(err_r, "cannot listen for LMTP on %s:%lld: %s",
					st->cfg->lmtp_address, st->cfg->lmtp_port, strerror(errno));
	st->api->log(st->host, OMR_LOG_INFO, "LMTP listening on %s:%lld", st->cfg->lmtp_address,
		     st->cfg->lmtp_port);
	return OMR_OK;
}

static void em_stop(void *state)
{
	struct em_state *st = state;
	st->stopping = 1;
	if (st->imap)
		em_imap_stop(st->imap);
	if (st->listener) {
		evconnlistener_free(st->listener);
		st->listener = NULL;
	}
	/* connections with a message being stored finish it; idle ones go */
	for (struct em_conn *c = st->conns, *next; c; c = next) {
		next = c->next;
		if (!c->job)
			em_conn_close(c);
	}
}

static void em_metrics(void *state, omr_metrics *m)
{
	struct em_state *st = state;
	const struct omr_host_api *api = st->api;
	unsigned long long fetched = 0;
	int failing = 0;
	api->metric(m, "stored_total", "counter", "mails stored (LMTP and IMAP)", st->stored);
	api->metric(m, "refused_total", "counter",
		    "mails refused for good (too large, no message, no From)", st->refused);
	api->metric(m, "bounces_total", "counter", "bounces that marked a reply failed",
		    st->bounces);
	api->metric(m, "rate_limited_total", "counter",
		    "mails over sender_rate_max, stored as automatic", st->rate_limited);
	api->metric(m, "lmtp_connections", "gauge", "LMTP connections open", st->nconns);
	api->metric(m, "sent_total", "counter", "replies the smarthost accepted", st->sent);
	api->metric(m, "send_failed_total", "counter", "replies that failed for good",
		    st->send_failed);
	api->metric(m, "send_retries_total", "counter", "SMTP tries repeated after a transient failure",
		    st->send_retries);
	if (st->imap) {
		em_imap_stats(st->imap, &fetched, &failing);
		api->metric(m, "imap_fetched_total", "counter", "messages fetched by IMAP polling",
			    fetched);
		api->metric(m, "imap_failing", "gauge",
			    "1 while the IMAP server cannot be polled", (unsigned long long)failing);
	}
}

static void em_free(void *state)
{
	struct em_state *st = state;
	if (!st)
		return;
	while (st->conns)
		em_conn_close(st->conns);
	/* mails still being stored (Redis did not answer in time): the host
	 * drops their callbacks once we are gone, so they end here */
	while (st->jobs) {
		st->jobs->done = NULL;
		em_job_free(st->jobs);
	}
	em_imap_free(st->imap);
	g_hash_table_destroy(st->senders);
	while (st->sends)
		em_send_free(st->sends);
	free(st);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "email",
	.version = "1.0",
	.description = "e-mail: LMTP in (GMime), SMTP out, threading, loop protection",
	.kind = OMR_PLUGIN_CHANNEL,
	.config_keys = em_keys,
	.config_size = sizeof(struct em_config),
	.check = em_check,
	.init = em_init,
	.start = em_start,
	.stop = em_stop,
	.free = em_free,
	.send = em_send,
	.metrics = em_metrics,
};
