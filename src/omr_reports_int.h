/*
 * omr_reports_int: what the files of the reports module share: one
 * report being made (struct omr_rep), from the request to the answer.
 * Everything in it is owned by it (copied from the configuration and the
 * request), except store and reply.
 */
#ifndef OMR_REPORTS_INT_H
#define OMR_REPORTS_INT_H

#include <jansson.h>

#include "omr_reports.h"

enum omr_rep_kind { OMR_REP_QUEUES, OMR_REP_AGENTS, OMR_REP_REASONS };

struct omr_rep_queue {
	char *name;
	long long sla_target;    /* percent; 0: no service level */
	long long sla_within;    /* ms */
};

struct omr_rep_agent {
	char *id;
	char *name;
};

/* a configured contact reason, as the report needs it */
struct omr_rep_reason {
	char *name;
	int avoidable;
	int treatment;               /* configured (omr_quadrant_names); -1: none */
	int automatic;               /* an automatic answer counts under it */
};

struct omr_rep {
	struct omr_store *store;     /* borrowed: outlives the requests */
	omr_http_reply *reply;       /* answered exactly once; or, NULL: */
	omr_reports_cb cb;           /* told exactly once (omr_reports_run) */
	void *cb_arg;
	enum omr_rep_kind kind;
	struct omr_reports_query q;
	char **allowed;              /* the caller's queues; NULL: all */
	struct omr_rep_queue *queues;  /* configured (and allowed) */
	size_t nqueues;
	struct omr_rep_agent *agents;  /* configured (and overseen) */
	size_t nagents;
	struct omr_rep_reason *reasons;  /* configured */
	size_t nreasons;
	long long low;               /* engagement.low: below it a customer is at risk */
	long long prev_from, prev_to;  /* contact reasons: the period before */
	long long *days;             /* to read, in order */
	size_t ndays, next;          /* the next to ask for */
	size_t asked;                /* how many the call under way asked for */
	long long now;               /* Redis' clock of the last answer (ms) */
	/* what was read: field -> count */
	json_t *total;               /* in the period */
	json_t *prev;                /* in the period before (contact reasons) */
	json_t *weeks;               /* ISO week -> {field -> count} (contact reasons) */
	json_t *series;              /* step start (ms, as text) -> {field -> count} */
	long long at_risk;
	json_t *lowest;              /* [{customer, name, balance}] */
};

/* The answer, from what was read (omr_reports_render.c). */
void omr_rep_render(struct omr_rep *r);

/* What the contact-reason rows are made of: {reason: n} of the period
 * and of the one before, {week: {reason: n}}, {channel|queue: {reason: n}}. */
struct omr_rep_reason_in {
	const json_t *counts, *prev, *weeks, *bych, *byq;
};

/* omr_reports_reasons.c: "reasons" (one row per reason) and "avoidable"
 * (their sum, and the avoidable ones ranked by hours per month) into out */
void omr_rep_reason_rows(const struct omr_rep *r, const struct omr_rep_reason_in *in,
			 json_t *out);
const struct omr_rep_reason *omr_rep_reason_of(const struct omr_rep *r, const char *name);

/* Whether the caller may see queue (its name; "" : a conversation that
 * never was in one). */
int omr_rep_queue_allowed(const struct omr_rep *r, const char *queue);

/* omr_reports.c: the answer, through HTTP or the callback */
void omr_rep_error(struct omr_rep *r, int status, const char *code, const char *message);
void omr_rep_send(struct omr_rep *r, const char *content_type, const char *disposition,
		  const char *body, size_t len);

#endif
