/*
 * inbound: one mail, from its bytes (an LMTP transaction's data, a message
 * fetched by IMAP) to a durable message and the answer for its deliverer.
 * A job answers once: "250 ..." only once the message is durable in Redis,
 * "451 ..." when it could not be stored now, "5xx ..." when it never will
 * be.
 *
 * Two halves, so that nothing heavy holds the loop. On one of the
 * daemon's worker threads (api->work), em_job_work reads the mail (mime.c),
 * hashes it and writes and syncs its attachments (omr_mediafile_store); it touches
 * nothing but the job's struct em_work, which holds copies of what it
 * needs (limits, the attachment directory). Back on the loop, em_job_worked
 * finds the thread (thread.c), submits the message and answers. A full
 * worker queue is answered 451 4.3.2 at once; so is a job the daemon's
 * stop cancelled or finished during the stop (the MTA delivers it again).
 *
 * Ownership: the plugin owns its jobs (st->jobs); a job frees itself when
 * it has answered. A deliverer that goes away first detaches (its answer
 * then goes nowhere); em_job_free_all ends the jobs still waiting for the
 * host when the plugin is freed. No job is on a worker then: the host
 * cancels or waits for them all before free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

#include "email.h"
#include "mime.h"
#include "omr_mediafile.h"

/* The worker's half of a job: what it reads and what it fills. While the
 * job is on the worker, the loop touches none of it. */
struct em_work {
	char *data;                 /* the mail (owned; freed once read) */
	size_t len;
	struct em_limits lim;
	char *attach_dir;           /* a copy: the worker reads no configuration */
	int parsed;                 /* 1: m is the mail; 0: err says why not */
	char *err;
	struct em_msg m;
	char raw_hash[65];          /* sha256 of the data, for mail without Message-ID */
	int store_errno;            /* an attachment could not be written */
};

struct em_job {
	struct em_state *st;
	em_job_done done;           /* NULL once the deliverer is gone */
	void *done_arg;
	struct em_work w;
	char *sender;               /* MAIL FROM ("" for <>) */
	char *mailbox;              /* the first recipient */
	struct em_thread_query tq;  /* the thread, looked up by the mail's Message-IDs */
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
	free(j->w.data);
	free(j->w.attach_dir);
	free(j->w.err);
	em_msg_free(&j->w.m);
	free(j->sender);
	free(j->mailbox);
	em_thread_query_clear(&j->tq);
	free(j);
}

static void em_job_reply(struct em_job *j, const char *reply)
{
	if (j->done)
		j->done(j->done_arg, reply);
	em_job_free(j);
}

void em_job_detach(struct em_job *j)
{
	j->done = NULL;
}

void em_job_free_all(struct em_state *st)
{
	while (st->jobs) {
		st->jobs->done = NULL;
		em_job_free(st->jobs);
	}
}

static void em_submitted(void *arg, const struct omr_submit_result *res)
{
	struct em_job *j = arg;
	struct em_state *st = j->st;
	char reply[300];
	if (res->status == OMR_OK) {
		st->stored++;
		if (!res->duplicate)
			em_rate_count(st, j->w.m.from_addr);
		/* a redelivery keeps the first one's thread (this one's may be a
		 * fresh guess: the index must not point elsewhere) */
		if (j->w.m.message_id && !res->duplicate)
			em_thread_remember(st, j->w.m.message_id, j->tq.thread);
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

/* meta.cc: the mail's Cc but our own address and the sender's, for the
 * agent's reply-all (the console offers them as the reply's Cc) */
static void em_meta_cc(const struct em_state *st, const struct em_msg *m, json_t *meta)
{
	json_t *cc = json_array();
	const json_t *v;
	size_t i;
	json_array_foreach(m->cc, i, v) {
		const char *a = json_string_value(v);
		if (g_ascii_strcasecmp(a, st->cfg->address) != 0 &&
		    (!m->from_addr || strcmp(a, m->from_addr) != 0))
			json_array_append(cc, (json_t *)v);
	}
	if (json_array_size(cc))
		json_object_set(meta, "cc", cc);
	json_decref(cc);
}

static void em_job_submit(struct em_job *j)
{
	struct em_state *st = j->st;
	struct em_msg *m = &j->w.m;
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
	em_meta_cc(st, m, meta);
	char cmid[80];
	snprintf(cmid, sizeof(cmid), "sha256:%s", j->w.raw_hash);
	int automatic = m->auto_reason || m->bounce || (j->sender && !*j->sender);
	/* a mail with nothing but a subject still says something */
	const char *text = m->text;
	if (!*text && !json_array_size(m->attachments))
		text = *m->subject ? m->subject : "(no text)";
	struct omr_inbound ev = {
		.channel_msg_id = m->message_id && strlen(m->message_id) <= 250 ? m->message_id : cmid,
		.address = m->from_addr,
		.thread = j->tq.thread,
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

static void em_job_threaded(struct em_thread_query *q)
{
	struct em_job *j = (struct em_job *)((char *)q - offsetof(struct em_job, tq));
	em_job_submit(j);
}

struct em_job *em_job_new(struct em_state *st, const char *sender, const char *mailbox,
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

/* A bounce of one of our replies (its Message-ID in mid): recorded, not
 * stored. */
static int em_bounce_of_ours(const struct em_msg *m, char mid[128])
{
	char thread[64];
	return m->bounce && em_ours(m->bounce_message_id, thread, sizeof(thread), mid, 128);
}

/* On the worker: the attachments of a mail that will be stored, written
 * and synced; their bytes are not needed after that. */
static void em_work_store(struct em_work *w)
{
	struct em_msg *m = &w->m;
	size_t i;
	json_t *a;
	json_array_foreach(m->attachments, i, a) {
		if (i >= m->nparts || !m->parts[i].data)
			continue;
		if (omr_mediafile_store(w->attach_dir, json_string_value(json_object_get(a, "sha256")),
				    m->parts[i].data, m->parts[i].size) < 0) {
			w->store_errno = errno;
			return;
		}
		free(m->parts[i].data);
		m->parts[i].data = NULL;
	}
}

/* On a worker thread: only j->w. */
static void em_job_work(void *arg)
{
	struct em_work *w = &((struct em_job *)arg)->w;
	char mid[128];
	em_sha256_hex(w->data, w->len, w->raw_hash);
	w->parsed = em_parse(w->data, w->len, &w->lim, &w->m, &w->err) == 0;
	free(w->data);
	w->data = NULL;
	if (w->parsed && w->m.from_addr && !em_bounce_of_ours(&w->m, mid))
		em_work_store(w);
}

/* Back on the loop: answer what cannot be stored, else thread and submit. */
static void em_job_worked(void *arg, int status)
{
	struct em_job *j = arg;
	struct em_state *st = j->st;
	struct em_msg *m = &j->w.m;
	char mid[128];

	st->working--;
	if (status == OMR_OK)
		st->parse_jobs++;
	if (status != OMR_OK || st->stopping) {
		/* nothing new is stored while the daemon stops */
		st->api->log(st->host, OMR_LOG_INFO, "a mail being read when the daemon stopped is "
			     "not stored (451: it is delivered again)");
		em_job_reply(j, "451 4.3.2 shutting down; try again later");
		return;
	}
	if (!j->w.parsed) {
		st->refused++;
		char r[300];
		snprintf(r, sizeof(r), "550 5.6.0 %.200s", j->w.err ? j->w.err : "not a mail message");
		em_job_reply(j, r);
		return;
	}
	/* a bounce of one of our mails: the reply failed; nothing to store */
	if (em_bounce_of_ours(m, mid)) {
		char why[400];
		snprintf(why, sizeof(why), "bounced: %.20s %.300s",
			 m->bounce_status ? m->bounce_status : "",
			 m->bounce_diagnostic ? m->bounce_diagnostic : "");
		st->bounces++;
		/* the diagnostic may quote the recipient's address: debug only */
		const char *code = m->bounce_status && *m->bounce_status &&
						   strspn(m->bounce_status, "0123456789.") ==
							   strlen(m->bounce_status) ?
					   m->bounce_status : "no status";
		st->api->log(st->host, OMR_LOG_WARN, "reply %s bounced: %.20s", mid, code);
		st->api->log(st->host, OMR_LOG_DEBUG, "reply %s %s", mid, why);
		st->api->delivery_status(st->host, m->bounce_message_id, "failed", why);
		em_job_reply(j, "250 2.0.0 delivery failure recorded");
		return;
	}
	if (!j->sender && m->return_path)
		j->sender = omr_plugin_strdup(m->return_path); /* read from a mailbox */
	if (!m->from_addr) {
		st->refused++;
		em_job_reply(j, "550 5.1.7 no usable From address");
		return;
	}
	if (j->w.store_errno) {
		st->api->log(st->host, OMR_LOG_ERROR, "cannot write an attachment in %s: %s",
			     st->attach_dir, strerror(j->w.store_errno));
		em_job_reply(j, "451 4.3.0 cannot store attachments now; try again later");
		return;
	}
	if (!m->auto_reason && !m->bounce && em_rate_exceeded(st, m->from_addr)) {
		st->rate_limited++;
		if (st->rate_limited == 1 || st->rate_limited % 100 == 0)
			st->api->log(st->host, OMR_LOG_WARN,
				     "more than %lld mails from one sender in %lld ms: stored as "
				     "automatic, not routed (%llu so far)", st->cfg->sender_rate_max,
				     st->cfg->sender_rate_window, st->rate_limited);
		m->auto_reason = "rate";
	}
	json_t *ids = json_array();
	if (m->in_reply_to)
		json_array_append_new(ids, json_string(m->in_reply_to));
	for (size_t i = json_array_size(m->references); i > 0; i--)
		json_array_append(ids, json_array_get(m->references, i - 1));
	j->tq = (struct em_thread_query){
		.st = st, .ids = ids, .subject = m->subject, .found = em_job_threaded,
	};
	em_thread_find(&j->tq);
}

/* What a mail may keep: within what the core takes (a long mail is cut,
 * not refused) and the plugin's own attachment_max. */
static struct em_limits em_job_limits(struct em_state *st)
{
	long long text_max = st->api->limit(st->host, "text_max");
	long long att_max = st->api->limit(st->host, "attachments_max");
	struct em_limits lim = {
		.text_max = text_max > 0 && text_max < 65536 ? (size_t)text_max : 65536,
		.attachment_max = (size_t)st->cfg->attachment_max,
		.attachments_max = att_max > 0 && att_max < 50 ? (size_t)att_max : 50,
	};
	return lim;
}

void em_job_run(struct em_job *j, char *data, size_t len, int too_big)
{
	struct em_state *st = j->st;
	if (too_big) {
		free(data);
		st->refused++;
		char r[120];
		snprintf(r, sizeof(r), "552 5.3.4 message larger than %lld bytes", st->cfg->max_size);
		em_job_reply(j, r);
		return;
	}
	j->w.data = data;
	j->w.len = len;
	j->w.lim = em_job_limits(st);
	j->w.attach_dir = omr_plugin_strdup(st->attach_dir);
	if (st->api->work(st->host, em_job_work, em_job_worked, j) != OMR_OK) {
		/* the worker queue is full (or the daemon stops): push back */
		st->busy++;
		em_job_reply(j, "451 4.3.2 too busy to read it now; try again later");
		return;
	}
	st->working++;
}
