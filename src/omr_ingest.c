/*
 * omr_ingest: see omr_ingest.h.
 *
 * Every submission is a job on a list in submission order, so that a
 * single timer finds the ones past their deadline. A job is answered once
 * (early failure, deadline, or the store's answer, whichever comes first)
 * and freed when the store's callback has run (or at once for an early
 * failure: it never reached the store).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_admission.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_unsub.h"
#include "omr_util.h"

#define OMR_INGEST_SWEEP_MS 250

struct omr_ingest_job {
	struct omr_ingest *in;
	struct omr_dlink link; /* on in->jobs while in the store */
	omr_submit_cb cb;
	void *arg;
	char *channel;
	char *channel_msg_id;
	int64_t started_ms;
	int answered;
	int status;        /* for early failures */
	char *error;
};

struct omr_ingest {
	struct omr_env env;
	struct omr_channels *channels;
	int running;
	int stopped;
	struct omr_budget budget;
	struct omr_dlist jobs; /* in the store, oldest first */
	size_t inflight;                    /* jobs not yet answered */
	struct event *sweep;
	unsigned long long accepted, duplicates, rejected, failed, busy, late;
};

struct omr_ingest *omr_ingest_new(const struct omr_env *env, struct omr_channels *channels)
{
	struct omr_ingest *in = omr_calloc(1, sizeof(*in));
	in->env = *env;
	in->channels = channels;
	omr_budget_init(&in->budget, "ingest", (size_t)omr_env_cfg(env)->admission.ingest_inflight);
	in->sweep = event_new(env->base, -1, EV_PERSIST, NULL, NULL);
	return in;
}

static void omr_ingest_job_free(struct omr_ingest_job *j)
{
	free(j->channel);
	free(j->channel_msg_id);
	free(j->error);
	free(j);
}

static void omr_ingest_unlink(struct omr_ingest_job *j)
{
	omr_dlist_remove(&j->in->jobs, &j->link);
}

static void omr_ingest_answer(struct omr_ingest_job *j, const struct omr_submit_result *res)
{
	if (j->answered)
		return;
	j->answered = 1;
	j->in->inflight--;
	j->cb(j->arg, res);
}

/* Answer the jobs past their deadline: "retry" (see omr_ingest.h). */
static void omr_ingest_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct omr_ingest *in = arg;
	int64_t now = omr_mono_ms();
	struct omr_submit_result res = {
		.status = OMR_AGAIN,
		.error = "storage is slow to answer; try again",
	};
	for (struct omr_dlink *l = in->jobs.head; l; l = l->next) {
		struct omr_ingest_job *j = OMR_DLIST_ITEM(l, struct omr_ingest_job, link);
		if (now - j->started_ms < OMR_INGEST_DEADLINE_MS)
			break;
		if (j->answered)
			continue;
		in->late++;
		omr_log_warn("ingest: %s message %s not stored within %d ms; the sender is told to "
			     "retry", j->channel, j->channel_msg_id, OMR_INGEST_DEADLINE_MS);
		omr_ingest_answer(j, &res);
	}
}

void omr_ingest_start(struct omr_ingest *in)
{
	struct timeval tv = { 0, OMR_INGEST_SWEEP_MS * 1000 };
	if (in->stopped)
		return;
	in->running = 1;
	event_assign(in->sweep, in->env.base, -1, EV_PERSIST, omr_ingest_sweep, in);
	event_add(in->sweep, &tv);
}

void omr_ingest_stop(struct omr_ingest *in)
{
	in->running = 0;
	in->stopped = 1;
}

void omr_ingest_reload(struct omr_ingest *in)
{
	in->budget.max = (size_t)omr_env_cfg(&in->env)->admission.ingest_inflight;
}

void omr_ingest_free(struct omr_ingest *in)
{
	if (!in)
		return;
	/* the store has answered every job by now (its connection is closed
	 * before modules are freed) */
	event_free(in->sweep);
	free(in);
}

size_t omr_ingest_inflight(const struct omr_ingest *in)
{
	return in->inflight;
}

static void omr_ingest_early(evutil_socket_t fd, short what, void *arg)
{
	struct omr_ingest_job *j = arg;
	struct omr_submit_result res = { .status = j->status, .error = j->error };
	omr_ingest_answer(j, &res);
	omr_ingest_job_free(j);
}

static void omr_ingest_fail_later(struct omr_ingest_job *j, int status, const char *error)
{
	static const struct timeval zero = { 0, 0 };
	j->status = status;
	j->error = omr_strdup(error);
	if (event_base_once(j->in->env.base, -1, EV_TIMEOUT, omr_ingest_early, j, &zero) < 0)
		abort();
}

static void omr_ingest_stored(void *arg, const struct omr_ingest_result *r)
{
	struct omr_ingest_job *j = arg;
	struct omr_ingest *in = j->in;
	struct omr_submit_result res = {
		.status = r->status,
		.duplicate = r->duplicate,
		.conversation = r->conversation,
		.message = r->message,
		.customer = r->customer,
		.error = r->error,
	};

	omr_ingest_unlink(j);
	omr_budget_give(&in->budget);
	if (r->status != OMR_OK) {
		in->failed++;
		omr_log_warn("ingest: %s message %s not stored: %s", j->channel, j->channel_msg_id,
			     r->error);
		res.error = "temporarily unable to store the message";
	} else if (r->duplicate) {
		in->duplicates++;
		omr_log_debug("%s message %s is a duplicate of %s", j->channel, j->channel_msg_id,
			      r->message);
	} else {
		in->accepted++;
		omr_log_debug("stored %s message %s as %s in %s%s", j->channel, j->channel_msg_id,
			      r->message, r->conversation,
			      r->csat ? " (a satisfaction answer)" : r->is_new ? " (new)" : "");
		if (r->csat)
			omr_channels_survey(in->channels, r->conversation,
					    omr_env_cfg(&in->env)->routing->csat.thanks, NULL);
	}
	omr_ingest_answer(j, &res);
	omr_ingest_job_free(j);
}

/* Why a submission cannot be taken now, or NULL. */
static const char *omr_ingest_refusal(struct omr_ingest *in)
{
	struct omr_redis *redis = omr_store_ingest_redis(in->env.store);
	if (in->stopped)
		return "the server is shutting down";
	if (!in->running)
		return "the server is starting";
	if (!omr_redis_ready(redis))
		return "storage unavailable";
	if (omr_redis_oldest_ms(redis) >= OMR_INGEST_STALL_MS)
		return "storage is slow to answer";
	if (!omr_budget_take(&in->budget, omr_mono_ms()))
		return "too many messages being stored";
	return NULL;
}

void omr_ingest_submit(struct omr_ingest *in, const char *channel, const struct omr_inbound *ev,
		       omr_submit_cb cb, void *arg)
{
	struct omr_ingest_job *j = omr_calloc(1, sizeof(*j));
	const struct omr_config *cfg = omr_env_cfg(&in->env);
	struct omr_inbound_norm norm;
	struct omr_model_limits lim = {
		.text_max = (size_t)cfg->limits.text_max,
		.attachments_max = (size_t)cfg->limits.attachments_max,
	};
	char *err = NULL;
	const char *refused;

	j->in = in;
	j->cb = cb;
	j->arg = arg;
	j->channel = omr_strdup(channel);
	j->channel_msg_id = omr_strdup(ev->channel_msg_id ? ev->channel_msg_id : "");
	in->inflight++;
	if (omr_inbound_normalise(ev, &lim, &norm, &err) < 0) {
		in->rejected++;
		omr_log_info("ingest: %s message refused: %s", channel, err);
		omr_ingest_fail_later(j, OMR_ERROR, err);
		free(err);
		return;
	}
	if ((refused = omr_ingest_refusal(in))) {
		if (in->running)
			in->busy++;
		omr_ingest_fail_later(j, OMR_AGAIN, refused);
		omr_inbound_norm_free(&norm);
		return;
	}
	struct omr_plugin *p = omr_channels_get(in->channels, channel);
	norm.reopen_ms = p ? p->reopen_ms : 0;
	norm.ended = p && (p->desc->flags & OMR_PLUGIN_STATUS); /* the web chat says "ended" */
	norm.engage = norm.rating ? cfg->routing->engagement.rating_json : NULL;
	norm.optout = ev->is_public ? NULL : omr_routing_optout_word(cfg->routing, channel, ev->text);
	struct omr_unsub_ref unsub;
	if (!ev->is_public &&
	    omr_unsub_subject(cfg, channel, json_string_value(json_object_get(ev->attrs, "subject")),
			      omr_now_ms() / 1000, &unsub)) {
		/* the mailto: link of a mail of ours (docs/proactive.md#e-mail-unsubscribe):
		 * the token names who leaves, whoever sent it */
		norm.optout = "stop";
		norm.optout_address = unsub.address;
		norm.optout_via = "unsubscribe";
		omr_log_info("ingest: a %s message is an unsubscribe (its token checked)", channel);
	}
	if (norm.optout) /* recorded, not a contact: opens no conversation for an agent */
		norm.kind = "auto";
	j->started_ms = omr_mono_ms();
	omr_dlist_push_tail(&in->jobs, &j->link);
	omr_store_ingest(in->env.store, channel, ev, &norm, omr_ingest_stored, j);
	omr_inbound_norm_free(&norm);
}

void omr_ingest_metrics(const struct omr_ingest *in, struct omr_buf *b)
{
	omr_metric(b, "ingest_accepted_total", "counter", "inbound messages stored", in->accepted);
	omr_metric(b, "ingest_duplicates_total", "counter",
		   "inbound messages recognised as duplicates", in->duplicates);
	omr_metric(b, "ingest_rejected_total", "counter", "inbound messages refused as invalid",
		   in->rejected);
	omr_metric(b, "ingest_failed_total", "counter",
		   "inbound messages not stored (Redis unavailable); senders retry", in->failed);
	omr_metric(b, "ingest_busy_total", "counter",
		   "inbound messages answered 'retry' at once (too many in flight, storage slow or "
		   "away)", in->busy);
	omr_metric(b, "ingest_late_total", "counter",
		   "inbound messages answered 'retry' because storage had not answered in time",
		   in->late);
	omr_metric(b, "ingest_inflight", "gauge", "inbound messages being stored", in->inflight);
}
