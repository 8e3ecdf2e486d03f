/*
 * omr_ingest: the way in. A channel plugin submits a normalised inbound
 * event; it is validated, stored atomically in Redis (omr_store_ingest:
 * message, conversation, customer and a stream event in one script) and
 * only then is the plugin called back, so that it acknowledges to the
 * sender only what is durable.
 *
 * Back-pressure: at most admission.ingest_inflight messages are being
 * stored at once; past it, and while Redis has not answered anything for
 * OMR_INGEST_STALL_MS, a submission is answered OMR_AGAIN at once ("retry")
 * instead of joining a queue that grows. A submission still unanswered
 * after OMR_INGEST_DEADLINE_MS is answered OMR_AGAIN too: the sender
 * retries, and a message that was stored meanwhile is recognised then by
 * its channel message id.
 */
#ifndef OMR_INGEST_H
#define OMR_INGEST_H

#include <stddef.h>
#include <omniroute/plugin.h>

#include "omr_env.h"

#define OMR_INGEST_STALL_MS 1000
#define OMR_INGEST_DEADLINE_MS 3000

struct omr_buf;
struct omr_channels;
struct omr_ingest;

struct omr_ingest *omr_ingest_new(const struct omr_env *env, struct omr_channels *channels);
void omr_ingest_free(struct omr_ingest *in);
/* Submissions are taken between start (Redis reachable) and stop. */
void omr_ingest_start(struct omr_ingest *in);
void omr_ingest_stop(struct omr_ingest *in);
/* admission.ingest_inflight may have changed. */
void omr_ingest_reload(struct omr_ingest *in);
/* The callback always runs exactly once, never inside this call. */
void omr_ingest_submit(struct omr_ingest *in, const char *channel, const struct omr_inbound *ev,
		       omr_submit_cb cb, void *arg);
/* Submissions not yet answered (shutdown waits for these). */
size_t omr_ingest_inflight(const struct omr_ingest *in);
void omr_ingest_metrics(const struct omr_ingest *in, struct omr_buf *b);

#endif
