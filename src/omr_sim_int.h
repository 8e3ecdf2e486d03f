/*
 * omr_sim_int: what the simulation's modules share. omr_sim_load reads the
 * recording from Redis (read-only) into struct omr_sim_data; omr_sim_run
 * replays it under one routing configuration into struct omr_sim_result;
 * omr_sim_report prints the results. The parsers of recorded hashes are
 * pure (tests/fuzz/fuzz_sim.c).
 */
#ifndef OMR_SIM_INT_H
#define OMR_SIM_INT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct omr_agents_conf;
struct omr_config;
struct omr_routing_conf;

/* One recorded conversation: what routing saw and what happened. Times are
 * ms (Redis' clock); 0 when it never happened. */
struct omr_sim_conv {
	char *id;
	char *channel;
	json_t *conv;           /* as omr_route_facts reads it (channel, address,
				   public, attrs, id, messages, customer_profile); owned */
	char *customer;         /* its id, '' none */
	char *queue;            /* the queue it was routed to ('' none) */
	long long created_at;
	long long queued_at;    /* it entered a queue for people (after a bot: the hand-off) */
	long long answered_at;  /* an agent first accepted it */
	long long ended_at;     /* the agents were done with it (ended or closed) */
	long long closed_at;
	long long bot_at;       /* given to the bot tier */
	long long balance;      /* the customer's balance when it was routed */
	int repeat;             /* a repeat contact when it was routed (-1: not recorded) */
	int automatic;          /* answered automatically by a rule or the value matrix */
	int left;               /* the customer left before an agent accepted */
	json_t *routing;        /* the recorded explanation (may be NULL); owned */
};

enum omr_sim_presence { OMR_SIM_OFFLINE = 0, OMR_SIM_AWAY = 1, OMR_SIM_AVAILABLE = 2 };

/* One entry of agents:history. */
struct omr_sim_change {
	long long at;
	int agent;              /* index in the agents file */
	int presence;           /* enum omr_sim_presence */
};

struct omr_sim_data {
	struct omr_sim_conv *convs;   /* by created_at, then id */
	size_t nconvs;
	struct omr_sim_change *changes; /* by time, as recorded */
	size_t nchanges;
	size_t unknown_agents;        /* changes of agents no longer in the file */
	long long from, to;
};

/* Fill c from a conversation hash (HGETALL: n strings, field then value);
 * the first inbound text and the customer are added by the caller
 * (omr_sim_conv_set_text, omr_sim_conv_set_customer). 0, or -1 with
 * *err_r (malloc'ed) when it is not a conversation that can be replayed. */
int omr_sim_conv_parse(const char *const *kv, const size_t *lens, size_t n,
		       struct omr_sim_conv *c, char **err_r);
void omr_sim_conv_set_text(struct omr_sim_conv *c, const char *text);
/* kv: the customer's hash; the balance and repeat flag are the recorded ones */
void omr_sim_conv_set_customer(struct omr_sim_conv *c, const char *const *kv, size_t n);
void omr_sim_conv_release(struct omr_sim_conv *c);

/* An entry of agents:history (n strings, field then value): 0, 1 when it
 * names an agent that is not in dir (skipped), -1 with *err_r when it is
 * malformed. */
int omr_sim_change_parse(const char *const *kv, size_t n, const struct omr_agents_conf *dir,
			 struct omr_sim_change *ch, char **err_r);

/* "YYYY-MM-DD" (end: the day's end), "YYYY-MM-DDTHH:MM[:SS]Z" or ms: 0, -1. */
int omr_sim_parse_when(const char *s, int end, long long *ms_r);

/* Read the recording from Redis, read-only. 0, or -1 with *err_r. */
int omr_sim_load(const struct omr_config *cfg, long long from, long long to,
		 struct omr_sim_data *d, char **err_r);
void omr_sim_data_release(struct omr_sim_data *d);

/* What happened to one conversation, recorded or simulated. */
struct omr_sim_outcome {
	const char *queue;      /* borrowed (configuration or data); NULL: none */
	int tier;               /* 0 a person, 1 the bot first, 2 answered automatically */
	int contained;          /* the bot finished it */
	int handoff;            /* the bot handed it to people */
	int offered;            /* it entered a queue for people */
	int answered;
	int abandoned;
	long long wait;         /* ms from entering the queue to the answer or leaving */
	int quadrant;           /* -1 not valued */
	json_t *explain;        /* the routing's explanation, owned (NULL: recorded) */
};

struct omr_sim_result {
	struct omr_sim_outcome *out;  /* one per conversation, as data->convs */
	size_t n;
	json_t *rules;          /* {rule: times it matched}, owned */
	long long events;       /* events the virtual clock went through */
};

/* Replay d under rc (and the agents file). 0, -1 with *err_r. */
int omr_sim_run(const struct omr_sim_data *d, const struct omr_routing_conf *rc,
		const struct omr_agents_conf *dir, struct omr_sim_result *r, char **err_r);
/* The recorded outcomes, in the same form. */
void omr_sim_recorded(const struct omr_sim_data *d, const struct omr_routing_conf *rc,
		      struct omr_sim_result *r);
void omr_sim_result_release(struct omr_sim_result *r);

/* A deterministic draw in [0, n) for a conversation: FNV-1a of its id and
 * a salt. */
size_t omr_sim_draw(const char *id, const char *salt, size_t n);

/* Print the three results (recorded, current, proposed). */
int omr_sim_report(const struct omr_sim_data *d, const struct omr_routing_conf *cur,
		   const struct omr_routing_conf *prop, const struct omr_sim_result *rec,
		   const struct omr_sim_result *c, const struct omr_sim_result *p, int json,
		   FILE *out);

#endif
