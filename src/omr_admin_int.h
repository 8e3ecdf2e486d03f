/*
 * omr_admin_int.h: what the admin API's files share (omr_admin.c: the
 * server, authentication, health, reload, drain, audit, reports;
 * omr_admin_floor.c: conversations, agents, queues; omr_admin_customers.c:
 * a customer's export, erasure, restriction).
 */
#ifndef OMR_ADMIN_INT_H
#define OMR_ADMIN_INT_H

#include <jansson.h>

#include "omr_admin.h"
#include "omr_http.h"

struct omr_admin {
	struct omr_env env;
	struct omr_http_server *http;
	struct omr_admin_ops ops;
	struct omr_gate *auth_failures; /* a token bucket per address, spent by failures */
	struct omr_gate *refusals;      /* 403s audited, per user (omr_audit_refusal_gate) */
	unsigned long long auth_failed, auth_throttled, forbidden;
};

/* Who sent a request, and what they may do. Borrowed from the
 * configuration: valid while the handler runs, copied (omr_admin_call)
 * for what is answered later. */
struct omr_admin_who {
	const char *who;        /* "sam/wallboard" (user/token), or "admin.token" */
	unsigned scopes;        /* OMR_SCOPE_* */
	char *const *queues;    /* a supervisor's queues; NULL: all */
};

/* A request answered later: who asked (copied: a reload may free the
 * configuration meanwhile) and what to audit. */
struct omr_admin_call {
	struct omr_admin *a;
	omr_http_reply *reply;
	char *who;
	char **queues;          /* NULL: all */
	char *action;           /* for the audit; NULL: not audited */
	char *target;
	json_t *detail;
};

/* 1: the request's token holds `scope` (who_r says whose it is); 0: the
 * answer (401, 403, 429) has been sent. */
int omr_admin_authorised(struct omr_admin *a, const struct omr_http_request *req,
			 omr_http_reply *reply, unsigned scope, struct omr_admin_who *who_r);
/* 1 (the 403 sent, the refusal audited) when who is limited to some
 * queues and the request spans every queue (why says so); else 0 */
int omr_admin_limited(struct omr_admin *a, const struct omr_admin_who *who,
		      const struct omr_http_request *req, omr_http_reply *reply, const char *why);
/* 1 if the method is `allowed` (GET also allows HEAD), else 405 sent */
int omr_admin_method(const struct omr_http_request *req, omr_http_reply *reply,
		     const char *allowed);
/* 1 if requests that need Redis may be served, else 503 sent */
int omr_admin_running(struct omr_admin *a, omr_http_reply *reply);
void omr_admin_audit(struct omr_admin *a, const char *who, const char *action,
		     const char *target, const char *result, const json_t *detail);
/* a 403 for who: audited within the refusal gate's limits */
void omr_admin_audit_refusal(struct omr_admin *a, const char *who, const char *action,
			     const char *target);
struct omr_admin_call *omr_admin_call_new(struct omr_admin *a, omr_http_reply *reply,
					  const struct omr_admin_who *who);
void omr_admin_call_free(struct omr_admin_call *c);
/* Query parameters: 0 (absent: *out unchanged / NULL) or -1 with the 400 sent. */
int omr_admin_param_word(const struct omr_http_request *req, omr_http_reply *reply,
			 const char *name, const char **out_r);
int omr_admin_param_int(const struct omr_http_request *req, omr_http_reply *reply,
			const char *name, long long min, long long max, long long *v_r);
int omr_admin_param_cursor(const struct omr_http_request *req, omr_http_reply *reply,
			   const char **out_r);
/* The request's JSON object body (new reference; empty: {}), or NULL with
 * the 400 sent; a string member of it: 0, or -1 with the 400 sent. */
json_t *omr_admin_body(const struct omr_http_request *req, omr_http_reply *reply);
int omr_admin_body_str(const json_t *body, omr_http_reply *reply, const char *name,
		       const char **out_r);

/* omr_admin_floor.c: the handlers of /api/v1/conversations, agents, queues */
void omr_admin_conversations(void *arg, const struct omr_http_request *req,
			     omr_http_reply *reply);
void omr_admin_agents(void *arg, const struct omr_http_request *req, omr_http_reply *reply);
void omr_admin_queues(void *arg, const struct omr_http_request *req, omr_http_reply *reply);
/* omr_admin_customers.c: /api/v1/customers/{id} (export, erasure, restriction) */
void omr_admin_customers(void *arg, const struct omr_http_request *req, omr_http_reply *reply);

/* omr_admin_search.c: GET /api/v1/search (docs/search.md) */
void omr_admin_search(void *arg, const struct omr_http_request *req, omr_http_reply *reply);

/* omr_admin_owner.c: /api/v1/customers/{id}/owner (omr_admin_customers hands it over) */
void omr_admin_customer_owner(void *arg, const struct omr_http_request *req,
			      omr_http_reply *reply);
/* omr_admin_outreach.c: POST /api/v1/conversations (the caller checked
 * the 'act' scope), POST /api/v1/signals, /api/v1/optouts */
void omr_admin_outreach(struct omr_admin *a, const struct omr_http_request *req,
			omr_http_reply *reply, const struct omr_admin_who *who);
void omr_admin_signals(void *arg, const struct omr_http_request *req, omr_http_reply *reply);
void omr_admin_optouts(void *arg, const struct omr_http_request *req, omr_http_reply *reply);
/* whether a path is /api/v1/customers/{...}/owner */
int omr_admin_is_owner_path(const char *path);

#endif
