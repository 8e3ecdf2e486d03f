/*
 * omr_ingest: see omr_ingest.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_core.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_plugin.h"
#include "omr_model.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_ingest {
	struct omr_core *core;
	size_t inflight;
};

struct omr_ingest_job {
	struct omr_ingest *in;
	omr_submit_cb cb;
	void *arg;
	char *channel;
	char *channel_msg_id;
	int status;        /* for early failures */
	char *error;
};

struct omr_ingest *omr_ingest_new(struct omr_core *core)
{
	struct omr_ingest *in = omr_calloc(1, sizeof(*in));
	in->core = core;
	return in;
}

void omr_ingest_free(struct omr_ingest *in)
{
	free(in);
}

size_t omr_ingest_inflight(const struct omr_ingest *in)
{
	return in->inflight;
}

static void omr_ingest_job_free(struct omr_ingest_job *j)
{
	free(j->channel);
	free(j->channel_msg_id);
	free(j->error);
	free(j);
}

static void omr_ingest_early(evutil_socket_t fd, short what, void *arg)
{
	struct omr_ingest_job *j = arg;
	struct omr_submit_result res = { .status = j->status, .error = j->error };
	j->in->inflight--;
	j->cb(j->arg, &res);
	omr_ingest_job_free(j);
}

static void omr_ingest_fail_later(struct omr_ingest_job *j, int status, const char *error)
{
	static const struct timeval zero = { 0, 0 };
	j->status = status;
	j->error = omr_strdup(error);
	if (event_base_once(j->in->core->base, -1, EV_TIMEOUT, omr_ingest_early, j, &zero) < 0)
		abort();
}

static void omr_ingest_stored(void *arg, const struct omr_ingest_result *r)
{
	struct omr_ingest_job *j = arg;
	struct omr_core *core = j->in->core;
	struct omr_submit_result res = {
		.status = r->status,
		.duplicate = r->duplicate,
		.conversation = r->conversation,
		.message = r->message,
		.customer = r->customer,
		.error = r->error,
	};

	j->in->inflight--;
	if (r->status != OMR_OK) {
		core->stats.ingest_failed++;
		omr_log_warn("ingest: %s message %s not stored: %s", j->channel, j->channel_msg_id,
			     r->error);
		res.error = "temporarily unable to store the message";
	} else if (r->duplicate) {
		core->stats.ingest_duplicates++;
		omr_log_debug("%s message %s is a duplicate of %s", j->channel, j->channel_msg_id,
			      r->message);
	} else {
		core->stats.ingest_accepted++;
		omr_log_debug("stored %s message %s as %s in %s%s", j->channel, j->channel_msg_id,
			      r->message, r->conversation, r->is_new ? " (new)" : "");
	}
	j->cb(j->arg, &res);
	omr_ingest_job_free(j);
}

void omr_ingest_submit(struct omr_ingest *in, const char *channel, const struct omr_inbound *ev,
		       omr_submit_cb cb, void *arg)
{
	struct omr_ingest_job *j = omr_calloc(1, sizeof(*j));
	struct omr_core *core = in->core;
	struct omr_inbound_norm norm;
	struct omr_model_limits lim = {
		.text_max = (size_t)core->cfg->limits.text_max,
		.attachments_max = (size_t)core->cfg->limits.attachments_max,
	};
	char *err = NULL;

	j->in = in;
	j->cb = cb;
	j->arg = arg;
	j->channel = omr_strdup(channel);
	j->channel_msg_id = omr_strdup(ev->channel_msg_id ? ev->channel_msg_id : "");
	in->inflight++;
	if (core->state != OMR_CORE_RUNNING) {
		core->stats.ingest_failed++;
		omr_ingest_fail_later(j, OMR_AGAIN, core->state == OMR_CORE_STOPPING
							  ? "the server is shutting down"
							  : "the server is starting");
		return;
	}
	if (omr_inbound_normalise(ev, &lim, &norm, &err) < 0) {
		core->stats.ingest_rejected++;
		omr_log_info("ingest: %s message refused: %s", channel, err);
		omr_ingest_fail_later(j, OMR_ERROR, err);
		free(err);
		return;
	}
	struct omr_plugin *p = omr_core_channel(core, channel);
	norm.reopen_ms = p ? p->reopen_ms : 0;
	omr_store_ingest(core->store, channel, ev, &norm, omr_ingest_stored, j);
	omr_inbound_norm_free(&norm);
}
