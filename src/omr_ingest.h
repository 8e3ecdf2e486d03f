/*
 * omr_ingest: the way in. A channel plugin submits a normalised inbound
 * event; it is validated, stored atomically in Redis (omr_store_ingest:
 * message, conversation, customer and a stream event in one script) and
 * only then is the plugin called back, so that it acknowledges to the
 * sender only what is durable.
 */
#ifndef OMR_INGEST_H
#define OMR_INGEST_H

#include <stddef.h>
#include <omniroute/plugin.h>

struct omr_core;
struct omr_ingest;

struct omr_ingest *omr_ingest_new(struct omr_core *core);
void omr_ingest_free(struct omr_ingest *in);
/* The callback always runs exactly once, never inside this call. */
void omr_ingest_submit(struct omr_ingest *in, const char *channel, const struct omr_inbound *ev,
		       omr_submit_cb cb, void *arg);
/* Submissions not yet answered (shutdown waits for these). */
size_t omr_ingest_inflight(const struct omr_ingest *in);

#endif
