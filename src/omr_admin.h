/*
 * omr_admin: the admin HTTP API (docs/admin-api.md). Loopback by default,
 * bearer token on everything but /healthz.
 *
 * What only the core knows (its state, every module's figures, how to
 * reload) comes through struct omr_admin_ops.
 */
#ifndef OMR_ADMIN_H
#define OMR_ADMIN_H

#include "omr_env.h"
#include "omr_privacy.h"
#include "omr_supervise.h"

struct omr_buf;
struct omr_http_server;
struct omr_admin;
struct omr_outreach;

struct omr_admin_health {
	const char *status;   /* "ok", "starting", "stopping", "degraded" */
	char reason[128];     /* why not "ok", or "" */
	const char *redis;    /* "up", "slow", "down" */
	int running;          /* requests that need Redis may be served */
	long long uptime_s;
};

struct omr_admin_ops {
	void (*health)(void *arg, struct omr_admin_health *h);
	/* every figure, in Prometheus' text format */
	void (*metrics)(void *arg, struct omr_buf *b);
	/* 0, or -1 with every error in *err_r (malloc'ed) */
	int (*reload)(void *arg, char **err_r);
	/* an operator's drain: /healthz answers 503 while on (the node serves on) */
	void (*drain)(void *arg, int on);
	/* close, transfer, presence for a supervisor or admin (omr_agents_supervise) */
	void (*supervise)(void *arg, const struct omr_supervise *s, omr_supervise_cb cb,
			  void *cbarg);
	/* a customer's data, their erasure (omr_privacy) */
	void (*export_customer)(void *arg, const char *customer, omr_privacy_cb cb, void *cbarg);
	void (*erase_customer)(void *arg, const char *customer, int force, omr_privacy_cb cb,
			       void *cbarg);
	void *arg;
	/* conversations started by us (borrowed; omr_outreach.h) */
	struct omr_outreach *outreach;
};

struct omr_admin *omr_admin_new(const struct omr_env *env, struct omr_http_server *http,
				const struct omr_admin_ops *ops, char **err_r);
void omr_admin_free(struct omr_admin *a);
void omr_admin_metrics_write(const struct omr_admin *a, struct omr_buf *b);

#endif
