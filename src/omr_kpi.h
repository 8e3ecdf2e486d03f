/*
 * omr_kpi: the contact center's figures on GET /metrics (docs/admin-api.md),
 * what a wallboard or an alert reads, next to the daemon's own.
 *
 * Two kinds, kept apart because they come from two places:
 *   - what this node saw happen, counted from hub events (omr_hub.h) as it
 *     happens: offers by outcome, bot conversations by result, and the
 *     handle time (accept to wrap-up) of conversations accepted and wrapped
 *     up here. Counters: Prometheus adds up the nodes.
 *   - the site's queues and agents as Redis has them, read when /metrics is
 *     scraped, in one script call (kpi_state.lua) whatever the number of
 *     queues: waiting, oldest wait, agents by state, today's service
 *     level. Gauges, the same on every node of a site. Left out when Redis
 *     does not answer; the rest of the page is still served.
 *
 * Main thread only.
 */
#ifndef OMR_KPI_H
#define OMR_KPI_H

#include <omniroute/plugin.h>

#include "omr_env.h"

struct omr_buf;
struct omr_kpi;

/* Subscribes to env->hub until omr_kpi_free(). */
struct omr_kpi *omr_kpi_new(const struct omr_env *env);
void omr_kpi_free(struct omr_kpi *k);
/* The counters and the handle-time histogram, Prometheus' text format. */
void omr_kpi_metrics(const struct omr_kpi *k, struct omr_buf *b);

/* Answer a GET /metrics: what b holds (every module's figures; taken, b is
 * left empty), then the queue and agent gauges from Redis, now or once
 * Redis answered. Only the configuration and the store of env are used. */
void omr_kpi_scrape(const struct omr_env *env, omr_http_reply *reply, struct omr_buf *b);

/* A label value in the text format: \ " and newline escaped. */
void omr_kpi_label(struct omr_buf *b, const char *value);

#endif
