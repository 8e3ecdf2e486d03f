/*
 * omr_outreach: conversations started by us (docs/proactive.md). One
 * function, omr_outreach_start(), serves the admin API (POST
 * /api/v1/conversations), the signals (POST /api/v1/signals) and the agent
 * console ("Start conversation"): it checks the channel's rules, creates
 * the conversation with its first message in one script (outreach.lua:
 * idempotent by key, opt-outs and restrictions honoured), hands the
 * message to the channel's normal outbound path (outbox, retries,
 * delivery statuses) and puts the conversation where it was asked to go
 * (a queue, an agent, the bot, nobody).
 *
 * Main thread only. The module borrows the channels from the core.
 */
#ifndef OMR_OUTREACH_H
#define OMR_OUTREACH_H

#include <jansson.h>

#include "omr_env.h"

struct omr_channels;
struct omr_outreach;

/* What to start. Strings borrowed for the call. */
struct omr_outreach_req {
	const char *channel;      /* NULL: the customer's preferred channel */
	const char *to;           /* an address on channel, or NULL */
	const char *customer;     /* a customer id (u_...), or NULL */
	const char *text;         /* or NULL with a template (or a task) */
	const char *subject;      /* e-mail */
	const json_t *tmpl;       /* {name, language, variables} or NULL */
	const char *target;       /* "queue", "agent", "bot", "none", "task" */
	const char *queue;        /* queue, agent, task: the queue (NULL: default_queue) */
	const char *agent;        /* agent: offered to them first */
	const char *idem;         /* Idempotency-Key or NULL */
	const char *by;           /* who (the audit's who, an agent, "signal:TYPE") */
	const char *author;       /* "system" or "agent" */
	const char *author_name;  /* NULL: none */
	const char *signal;       /* the signal's type, or NULL */
	long long throttle_ms;    /* refuse if contacted proactively this recently */
};

/* The outcome. status: 201 (created), 200 (the same key again), 4xx/503;
 * code and message for an error. Borrowed for the callback. */
struct omr_outreach_res {
	int status;
	const char *code;
	const char *message;
	const char *conversation; /* created or found (also for 409 open) */
	const char *channel;
	const char *customer;
};
typedef void (*omr_outreach_cb)(void *arg, const struct omr_outreach_res *res);

struct omr_outreach *omr_outreach_new(const struct omr_env *env, struct omr_channels *channels);
void omr_outreach_free(struct omr_outreach *o);

/* Start one; cb runs exactly once, never inside the call. */
void omr_outreach_start(struct omr_outreach *o, const struct omr_outreach_req *req,
			omr_outreach_cb cb, void *arg);

/* The request body of POST /api/v1/conversations (a JSON object) read into
 * req (pointing into body, which must outlive it): 0, or -1 with a stable
 * code and a message (malloc'ed) for the 4xx. No I/O: fuzzed. */
int omr_outreach_parse(const json_t *body, struct omr_outreach_req *req, const char **code_r,
		       char **err_r);

struct omr_buf;
void omr_outreach_metrics(const struct omr_outreach *o, struct omr_buf *b);
/* the env the module was made with (borrowed) */
const struct omr_env *omr_outreach_env(const struct omr_outreach *o);
/* text with each "{{name}}" replaced by the variable's value (malloc'ed) */
char *omr_outreach_fill(const char *text, const json_t *vars);

/* ---- omr_signals.c: POST /api/v1/signals ---- */

/* What the rules decided. status: 202, or 503; decision: "contacted",
 * "task", "throttled", "none"; reason: why nobody was contacted (a
 * refusal's code, "no_rule") or NULL. Borrowed for the callback. */
struct omr_signal_res {
	int status;
	const char *decision;
	const char *conversation;
	const char *rule;
	const char *reason;
};
typedef void (*omr_signal_cb)(void *arg, const struct omr_signal_res *res);
/* the body {type, customer | to: {channel, address}, attributes}: 0, or -1
 * with a code and a message (malloc'ed). No I/O: fuzzed. */
int omr_signal_parse(const json_t *body, const char **code_r, char **err_r);
/* a parsed signal (copied); cb runs once, never inside the call */
void omr_signal_handle(struct omr_outreach *o, const json_t *signal, omr_signal_cb cb, void *arg);

#endif
