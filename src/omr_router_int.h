/*
 * omr_router_int: the router's state, shared by its files and nobody else.
 *
 *   omr_router.c           lifecycle, the event handler, service level and
 *                          engagement, the hub subscriptions
 *   omr_router_classify.c  a new conversation: rules, value matrix, queue
 *                          (or the bot, or an automatic answer); decided
 *                          again after a reload
 *   omr_router_dispatch.c  dispatch passes: waiting conversations offered to
 *                          eligible agents, escalation and max wait
 *   omr_router_status.c    waiting customers told their position
 *   omr_router_clock.c     offers that expire
 *   omr_router_park.c      parked conversations that come back
 *   omr_router_callback.c  the callback action: promised, picked, due
 *
 * Everything runs on the main thread.
 */
#ifndef OMR_ROUTER_INT_H
#define OMR_ROUTER_INT_H

#include <event2/event.h>
#include <jansson.h>

#include "omr_env.h"
#include "omr_redis.h"

struct omr_bots;
struct omr_channels;
struct omr_event;

struct omr_router {
	struct omr_env env;
	struct omr_channels *channels;
	struct omr_bots *bots;
	int running;
	struct event *kick_ev;
	struct event *tick_ev;
	struct event *pass_ev;
	struct event *status_ev;
	struct event *status_soon_ev;  /* the pass after new customers queued */
	int passing;       /* a dispatch pass is under way */
	int indexed;       /* queue_index.lua found nothing left to index */
	int again;         /* a kick arrived during the pass */
	int expiring;
	unsigned ticks;      /* of omr_router_tick: every 4th looks for recovered complaints */
	int recovering;      /* complaints_due.lua under way */
	int unparking;       /* parked_due.lua under way (omr_router_park.c) */
	int statusing;
	int status_again;  /* a pass was due while one was under way */
	struct omr_map *status_waiting;  /* queue names where somebody waited at the last pass */
	/* the pass in progress */
	size_t qidx;
	size_t *order;     /* queues by priority */
	size_t norder;
	json_t *batch;     /* queue_peek result being offered */
	long long front;   /* how many to read from the front of a queue */
	unsigned long batch_no;  /* batches so far (omr_pool.listed) */
	struct omr_router_try *tries;  /* the conversations of the batch sent to offer.lua */
	size_t ntries;
	long long miss_at;       /* Redis' clock when a conversation of the pass
				  * first found nobody; 0: none has */
	int restart;             /* offer.lua found the pass out of date */
	long long peek_now;      /* Redis' clock at the last queue read */
	json_t *skip;      /* classes nobody can take now, for the rest of the pass */
	/* omr_router_pools.c: kind of conversation -> struct omr_pool */
	struct omr_map *pools;
	const struct omr_config *pools_cfg;  /* the configuration they are of */
	unsigned long pools_gen;  /* and its directory users (omr_agents_generation) */
	unsigned long long events, offers, expired;
	int calling_back;    /* callbacks_due.lua under way */
	long long callback_counts[5]; /* scheduled, due, done, missed, cancelled (Redis) */
};

/* omr_router.c */
void omr_router_noop_cb(void *arg, const redisReply *reply, const char *err);
void omr_router_engage(struct omr_router *r, const char *customer, const char *event,
		       const char *conversation);

/* omr_router_classify.c */
void omr_router_classify(struct omr_router *r, struct omr_event *e, const char *conversation);
void omr_router_redecide(struct omr_router *r);
/* Whether the bot tier can take conversations. */
int omr_router_bots(struct omr_router *r);

/* omr_router_dispatch.c */
#define OMR_ROUTER_NO_MISS (1LL << 62)  /* offer.lua's pass while nothing was missed */
struct omr_router_try {
	size_t item;             /* its index in batch */
	char *skip;              /* its class's skip key (NULL: none) */
	struct omr_pool *pool;   /* the pool it is offered from */
};
void omr_router_dispatch(evutil_socket_t fd, short what, void *arg);
void omr_router_pass_free(struct omr_router *r);

/* omr_router_pools.c */
#define OMR_POOL_ID_LEN 40
struct omr_pool {
	char id[OMR_POOL_ID_LEN + 1];
	int n;          /* agents who fit (0: nobody; no offer is tried) */
	int built;      /* Redis had it at the last offer */
	int retried;    /* offers answered 'build' in a row */
	unsigned long listed;  /* the batch whose offers carry its list */
};
struct omr_escalation;
struct omr_queue_conf;
struct omr_cands;
/* what decides who fits a conversation */
struct omr_pool_kind {
	const struct omr_queue_conf *queue;
	const char *channel, *skills, *language, *prefer, *strategy;
	const char *team;       /* only agents of this team (agents.yaml), or NULL */
	const struct omr_escalation *esc;
};
/* The pool of a kind of conversation (borrowed, until the next
 * omr_router_pools_check); when it is not known to be built and the list
 * has not gone with an offer of this batch yet, *cands is the list to build
 * it with (free with omr_cands_free), else empty. */
struct omr_pool *omr_router_pool(struct omr_router *r, const struct omr_pool_kind *k,
				 unsigned long batch, struct omr_cands *cands);
/* At the start of a pass: forget the pools when the configuration changed
 * (or too many kinds were seen). */
void omr_router_pools_check(struct omr_router *r);
void omr_router_pools_free(struct omr_router *r);

/* omr_router_status.c */
#define OMR_ROUTER_STATUS_SOON_MS 100
void omr_router_status(evutil_socket_t fd, short what, void *arg);
/* a pass within OMR_ROUTER_STATUS_SOON_MS (one for every new customer
 * meanwhile) */
void omr_router_status_soon(struct omr_router *r);

/* omr_router_clock.c */
void omr_router_tick(evutil_socket_t fd, short what, void *arg);

/* omr_router_park.c: parked conversations whose time came, every other
 * tick; one brought back (why: "time", "answer") */
void omr_router_park_tick(struct omr_router *r);
void omr_router_unpark(struct omr_router *r, const char *conversation, const char *why);
/* omr_router_callback.c: the callback action (docs/routing.md#callbacks) */
struct omr_buf;
/* Promise conversation conv, waiting in queue, a callback, as the queue's
 * out_of_hours (1) or on_max_wait (0) action says; the customer is told. */
void omr_router_callback(struct omr_router *r, const char *conv, const char *channel,
			 const char *language, const char *queue, int out_of_hours);
/* The customer of a parked callback wrote (text): a slot picked, or the
 * callback cancelled and the conversation classified again; e is done
 * either way. */
void omr_router_callback_answer(struct omr_router *r, struct omr_event *e, const char *conv,
				const char *text, const char *language);
/* From the tick: due callbacks offered, missed ones counted. */
void omr_router_callbacks_due(struct omr_router *r);
void omr_router_callback_metrics(const struct omr_router *r, struct omr_buf *b);

#endif
