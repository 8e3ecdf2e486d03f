/*
 * omr_hub: see omr_hub.h.
 */
#include "config.h"

#include <stdlib.h>

#include "omr_hub.h"
#include "omr_util.h"

struct omr_hub_sub {
	struct omr_hub_sub *next;
	omr_hub_fn fn;
	void *arg;
};

struct omr_hub {
	struct omr_hub_sub *subs[OMR_HUB_NTYPES];
	int emitting;
};

static const char *const omr_hub_names[OMR_HUB_NTYPES] = {
	[OMR_HUB_ROUTE] = "route",
	[OMR_HUB_OFFERED] = "offered",
	[OMR_HUB_REVOKED] = "revoked",
	[OMR_HUB_PRESENCE] = "presence",
	[OMR_HUB_AGENT_RESUME] = "agent_resume",
	[OMR_HUB_NODE_REJOINED] = "node_rejoined",
	[OMR_HUB_NODE_DEAD] = "node_dead",
	[OMR_HUB_REDIS_BACK] = "redis_back",
	[OMR_HUB_TO_AGENT] = "to_agent",
	[OMR_HUB_PEERS] = "peers",
	[OMR_HUB_OFFER_ENDED] = "offer_ended",
	[OMR_HUB_WRAPPED_UP] = "wrapped_up",
	[OMR_HUB_BOT_ENDED] = "bot_ended",
	[OMR_HUB_UNPARKED] = "unparked",
};

const char *omr_hub_type_name(enum omr_hub_type type)
{
	return type < OMR_HUB_NTYPES ? omr_hub_names[type] : "?";
}

struct omr_hub *omr_hub_new(void)
{
	return omr_calloc(1, sizeof(struct omr_hub));
}

void omr_hub_free(struct omr_hub *h)
{
	if (!h)
		return;
	for (int t = 0; t < OMR_HUB_NTYPES; t++) {
		struct omr_hub_sub *s = h->subs[t];
		while (s) {
			struct omr_hub_sub *next = s->next;
			free(s);
			s = next;
		}
	}
	free(h);
}

void omr_hub_on(struct omr_hub *h, enum omr_hub_type type, omr_hub_fn fn, void *arg)
{
	struct omr_hub_sub *s = omr_calloc(1, sizeof(*s)), **tail;
	if (type >= OMR_HUB_NTYPES || h->emitting)
		abort(); /* a programming error, found by the first test run */
	s->fn = fn;
	s->arg = arg;
	for (tail = &h->subs[type]; *tail; tail = &(*tail)->next)
		;
	*tail = s;
}

void omr_hub_off(struct omr_hub *h, void *arg)
{
	if (!h)
		return;
	if (h->emitting)
		abort();
	for (int t = 0; t < OMR_HUB_NTYPES; t++) {
		struct omr_hub_sub **ps = &h->subs[t];
		while (*ps) {
			struct omr_hub_sub *s = *ps;
			if (s->arg == arg) {
				*ps = s->next;
				free(s);
			} else {
				ps = &s->next;
			}
		}
	}
}

void omr_hub_emit(struct omr_hub *h, const struct omr_hub_event *ev)
{
	if (!h || ev->type >= OMR_HUB_NTYPES)
		return;
	h->emitting++;
	for (struct omr_hub_sub *s = h->subs[ev->type]; s; s = s->next)
		s->fn(s->arg, ev);
	h->emitting--;
}

void omr_hub_route(struct omr_hub *h)
{
	struct omr_hub_event ev = { .type = OMR_HUB_ROUTE };
	omr_hub_emit(h, &ev);
}

void omr_hub_to_agent(struct omr_hub *h, const char *agent, const json_t *frame)
{
	struct omr_hub_event ev = { .type = OMR_HUB_TO_AGENT, .agent = agent, .frame = frame };
	omr_hub_emit(h, &ev);
}

void omr_hub_ended(struct omr_hub *h, enum omr_hub_type type, const char *agent,
		   const char *conversation, const char *queue, const char *reason)
{
	struct omr_hub_event ev = { .type = type, .agent = agent, .conversation = conversation,
				    .queue = queue, .reason = reason };
	omr_hub_emit(h, &ev);
}
