/*
 * omr_router: see omr_router.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_core.h"
#include "omr_events.h"
#include "omr_log.h"
#include "omr_routing_conf.h"
#include "omr_router.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_router {
	struct omr_core *core;
};

struct omr_router *omr_router_new(struct omr_core *core)
{
	struct omr_router *r = omr_calloc(1, sizeof(*r));
	r->core = core;
	return r;
}

void omr_router_free(struct omr_router *r)
{
	free(r);
}

static void omr_router_enqueued(void *arg, const redisReply *reply, const char *err)
{
	struct omr_event *e = arg;
	if (err) {
		/* Not acknowledged: the entry is read again after a reconnect
		 * or claimed later, and enqueue is idempotent. */
		omr_log_warn("router: cannot queue conversation %s: %s",
			     omr_event_get(e, "conversation"), err);
		omr_event_done(e, OMR_EVENT_RETRY);
		return;
	}
	if (omr_reply_int(reply, 0) == 1)
		omr_log_info("conversation %s (%s) queued", omr_event_get(e, "conversation"),
			     omr_event_get(e, "channel"));
	omr_event_done(e, OMR_EVENT_ACKED);
}

void omr_router_on_event(void *arg, struct omr_event *e)
{
	struct omr_router *r = arg;
	struct omr_core *core = r->core;
	const char *type = omr_event_get(e, "type");
	const char *conv = omr_event_get(e, "conversation");
	const char *kind = omr_event_get(e, "kind");
	const char *isnew = omr_event_get(e, "new");

	core->stats.events_processed++;
	if (!type || strcmp(type, "message.in") != 0 || !conv) {
		omr_event_done(e, OMR_EVENT_ACK);
		return;
	}
	/* Auto-replies (out-of-office mail) are stored but never routed as
	 * new contacts. */
	if (!isnew || strcmp(isnew, "1") != 0 || (kind && strcmp(kind, "auto") == 0)) {
		omr_event_done(e, OMR_EVENT_ACK);
		return;
	}
	omr_store_enqueue(core->store, e->id, OMR_EVENTS_GROUP, conv,
			  core->cfg->routing->default_queue, omr_router_enqueued, e);
}
