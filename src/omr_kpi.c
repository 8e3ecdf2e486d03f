/*
 * omr_kpi: see omr_kpi.h. This file: what this node saw happen.
 *
 * State: counters, a handle-time histogram per queue (made when a queue
 * first has an observation; configured queues are shown from the start),
 * and the conversations accepted on this node with the time of the accept
 * (monotonic), until their wrap-up. A conversation accepted here and
 * wrapped up on another node (the agent's console moved) is observed by
 * neither; its entry here is forgotten after a day.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_config.h"
#include "omr_hub.h"
#include "omr_kpi.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

#define OMR_KPI_HELD_MAX_MS (24LL * 3600 * 1000) /* an accept older than this is forgotten */
#define OMR_KPI_SWEEP_MIN 4096                    /* held accepts before the first sweep */
#define OMR_KPI_QUEUES_MAX 1024                   /* histograms at most (label values) */

/* the values of the outcome and result labels, in the order of the counters */
static const char *const omr_kpi_outcomes[] = { "accepted", "rejected", "missed", "withdrawn" };
static const char *const omr_kpi_results[] = { "contained", "handoff" };
/* seconds: half a minute to two hours, what a chat or a mail takes */
static const double omr_kpi_bounds[] = { 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700,
					 3600, 5400, 7200 };
#define OMR_KPI_NBOUNDS OMR_ARRAY_LEN(omr_kpi_bounds)

struct omr_kpi_hist {
	uint64_t counts[OMR_KPI_NBOUNDS]; /* observations <= bound, per bucket (not cumulative) */
	uint64_t count;
	double sum;
};

struct omr_kpi_held {
	int64_t at;   /* omr_mono_ms() of the accept */
	char *queue;  /* the queue it waited in, or NULL */
};

struct omr_kpi {
	struct omr_env env;
	uint64_t offers[OMR_ARRAY_LEN(omr_kpi_outcomes)];
	uint64_t bots[OMR_ARRAY_LEN(omr_kpi_results)];
	struct omr_map *hists; /* queue -> struct omr_kpi_hist */
	struct omr_map *held;  /* conversation -> struct omr_kpi_held */
	size_t sweep_at;       /* held entries at which old ones are looked for */
};

static void omr_kpi_held_free(void *p)
{
	struct omr_kpi_held *h = p;
	if (h)
		free(h->queue);
	free(h);
}

static int omr_kpi_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ---- the handle time ---- */

struct omr_kpi_sweep {
	int64_t before;
	char **old;
	size_t n, cap;
};

static int omr_kpi_sweep_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_kpi_sweep *s = arg;
	const struct omr_kpi_held *h = value;
	if (h->at >= s->before)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->old = omr_realloc(s->old, s->cap * sizeof(*s->old));
	}
	s->old[s->n++] = omr_strndup(key, klen);
	return 0;
}

/* Forget accepts of conversations whose wrap-up this node will not see. */
static void omr_kpi_sweep(struct omr_kpi *k, int64_t now)
{
	struct omr_kpi_sweep s = { .before = now - OMR_KPI_HELD_MAX_MS };
	omr_map_foreach(k->held, omr_kpi_sweep_one, &s);
	for (size_t i = 0; i < s.n; i++) {
		omr_kpi_held_free(omr_map_dels(k->held, s.old[i]));
		free(s.old[i]);
	}
	free(s.old);
	k->sweep_at = omr_map_count(k->held) * 2;
	if (k->sweep_at < OMR_KPI_SWEEP_MIN)
		k->sweep_at = OMR_KPI_SWEEP_MIN;
}

static void omr_kpi_accepted(struct omr_kpi *k, const char *conv, const char *queue)
{
	struct omr_kpi_held *h = omr_calloc(1, sizeof(*h));
	int64_t now = omr_mono_ms();
	h->at = now;
	h->queue = queue && *queue ? omr_strdup(queue) : NULL;
	omr_kpi_held_free(omr_map_puts(k->held, conv, h));
	if (omr_map_count(k->held) >= k->sweep_at)
		omr_kpi_sweep(k, now);
}

static void omr_kpi_observe(struct omr_kpi *k, const char *queue, double secs)
{
	struct omr_kpi_hist *hist = omr_map_gets(k->hists, queue);
	if (!hist) {
		if (omr_map_count(k->hists) >= OMR_KPI_QUEUES_MAX)
			return;
		hist = omr_calloc(1, sizeof(*hist));
		omr_map_puts(k->hists, queue, hist);
	}
	for (size_t i = 0; i < OMR_KPI_NBOUNDS; i++)
		if (secs <= omr_kpi_bounds[i]) {
			hist->counts[i]++;
			break;
		}
	hist->count++;
	hist->sum += secs;
}

static void omr_kpi_wrapped_up(struct omr_kpi *k, const char *conv, const char *queue)
{
	struct omr_kpi_held *h = omr_map_dels(k->held, conv);
	if (!h)
		return; /* accepted on another node, or before a restart */
	if (!queue || !*queue)
		queue = h->queue;
	if (queue)
		omr_kpi_observe(k, queue, (double)(omr_mono_ms() - h->at) / 1000.0);
	omr_kpi_held_free(h);
}

/* ---- hub events ---- */

static void omr_kpi_hub(void *arg, const struct omr_hub_event *ev)
{
	struct omr_kpi *k = arg;
	int i;

	switch (ev->type) {
	case OMR_HUB_OFFER_ENDED:
		i = omr_kpi_index(omr_kpi_outcomes, OMR_ARRAY_LEN(omr_kpi_outcomes), ev->reason);
		if (i >= 0)
			k->offers[i]++;
		if (i == 0 /* accepted */ && ev->conversation)
			omr_kpi_accepted(k, ev->conversation, ev->queue);
		break;
	case OMR_HUB_WRAPPED_UP:
		if (ev->conversation)
			omr_kpi_wrapped_up(k, ev->conversation, ev->queue);
		break;
	case OMR_HUB_BOT_ENDED:
		i = omr_kpi_index(omr_kpi_results, OMR_ARRAY_LEN(omr_kpi_results), ev->reason);
		if (i >= 0)
			k->bots[i]++;
		break;
	default:
		break;
	}
}

struct omr_kpi *omr_kpi_new(const struct omr_env *env)
{
	static const enum omr_hub_type heard[] = {
		OMR_HUB_OFFER_ENDED, OMR_HUB_WRAPPED_UP, OMR_HUB_BOT_ENDED,
	};
	struct omr_kpi *k = omr_calloc(1, sizeof(*k));
	k->env = *env;
	k->hists = omr_map_new();
	k->held = omr_map_new();
	k->sweep_at = OMR_KPI_SWEEP_MIN;
	for (size_t i = 0; i < OMR_ARRAY_LEN(heard); i++)
		omr_hub_on(env->hub, heard[i], omr_kpi_hub, k);
	return k;
}

void omr_kpi_free(struct omr_kpi *k)
{
	if (!k)
		return;
	omr_hub_off(k->env.hub, k);
	omr_map_free(k->hists, free);
	omr_map_free(k->held, omr_kpi_held_free);
	free(k);
}

/* ---- the text ---- */

void omr_kpi_label(struct omr_buf *b, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			omr_buf_puts(b, "\\\\");
		else if (*p == '"')
			omr_buf_puts(b, "\\\"");
		else if (*p == '\n')
			omr_buf_puts(b, "\\n");
		else
			omr_buf_append(b, p, 1);
	}
}

static void omr_kpi_hist_write(struct omr_buf *b, const char *queue, const struct omr_kpi_hist *h)
{
	uint64_t cum = 0;
	for (size_t i = 0; i < OMR_KPI_NBOUNDS; i++) {
		cum += h->counts[i];
		omr_buf_puts(b, "omniroute_handle_seconds_bucket{queue=\"");
		omr_kpi_label(b, queue);
		omr_buf_printf(b, "\",le=\"%g\"} %llu\n", omr_kpi_bounds[i],
			       (unsigned long long)cum);
	}
	omr_buf_puts(b, "omniroute_handle_seconds_bucket{queue=\"");
	omr_kpi_label(b, queue);
	omr_buf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)h->count);
	omr_buf_puts(b, "omniroute_handle_seconds_sum{queue=\"");
	omr_kpi_label(b, queue);
	omr_buf_printf(b, "\"} %.3f\n", h->sum);
	omr_buf_puts(b, "omniroute_handle_seconds_count{queue=\"");
	omr_kpi_label(b, queue);
	omr_buf_printf(b, "\"} %llu\n", (unsigned long long)h->count);
}

struct omr_kpi_rest {
	struct omr_buf *b;
	const struct omr_routing_conf *rc;
};

/* a histogram of a queue the configuration no longer has */
static int omr_kpi_hist_rest(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_kpi_rest *r = arg;
	char *queue = omr_strndup(key, klen);
	if (!omr_routing_queue(r->rc, queue))
		omr_kpi_hist_write(r->b, queue, value);
	free(queue);
	return 0;
}

void omr_kpi_metrics(const struct omr_kpi *k, struct omr_buf *b)
{
	const struct omr_config *cfg = k->env.cfg ? omr_env_cfg(&k->env) : NULL;
	const struct omr_routing_conf *rc = cfg ? cfg->routing : NULL;
	static const struct omr_kpi_hist none;

	omr_buf_puts(b, "# HELP omniroute_offers_total offers that ended on this node, by outcome\n"
			"# TYPE omniroute_offers_total counter\n");
	for (size_t i = 0; i < OMR_ARRAY_LEN(omr_kpi_outcomes); i++)
		omr_buf_printf(b, "omniroute_offers_total{outcome=\"%s\"} %llu\n",
			       omr_kpi_outcomes[i], (unsigned long long)k->offers[i]);
	omr_buf_puts(b, "# HELP omniroute_bot_conversations_total conversations the bot tier "
			"finished on this node: contained (resolved, or left by the customer) or "
			"handed to people\n# TYPE omniroute_bot_conversations_total counter\n");
	for (size_t i = 0; i < OMR_ARRAY_LEN(omr_kpi_results); i++)
		omr_buf_printf(b, "omniroute_bot_conversations_total{result=\"%s\"} %llu\n",
			       omr_kpi_results[i], (unsigned long long)k->bots[i]);
	omr_buf_puts(b, "# HELP omniroute_handle_seconds handle time (accept to wrap-up) of "
			"conversations accepted and wrapped up on this node\n"
			"# TYPE omniroute_handle_seconds histogram\n");
	for (size_t i = 0; rc && i < rc->nqueues; i++) {
		const struct omr_kpi_hist *h = omr_map_gets(k->hists, rc->queues[i].name);
		omr_kpi_hist_write(b, rc->queues[i].name, h ? h : &none);
	}
	struct omr_kpi_rest rest = { b, rc };
	omr_map_foreach(k->hists, omr_kpi_hist_rest, &rest);
}
