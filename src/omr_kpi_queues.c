/*
 * omr_kpi_queues: see omr_kpi.h. This file: the site's queues and agents
 * on GET /metrics, read from Redis when the page is asked for.
 *
 * Which agents count for a queue is what GET /api/v1/queues counts: every
 * agent with the queue's skills, on any channel (omr_route_candidates). The
 * scrape copies what it needs of the configuration (queue names, which
 * have a service level, who counts where) before it asks Redis, so that a
 * reload meanwhile changes nothing under the callback.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_http.h"
#include "omr_kpi.h"
#include "omr_log.h"
#include "omr_redis.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_KPI_CONTENT_TYPE "text/plain; version=0.0.4"

/* kpi_state.lua's agent states, in the order of its numbers */
static const char *const omr_kpi_states[] = { "offline", "away", "available", "busy" };
#define OMR_KPI_NSTATES OMR_ARRAY_LEN(omr_kpi_states)

struct omr_kpi_queue {
	char *name;
	long long sla_target;    /* percent, 0: no service level */
	size_t first, n;         /* its agents: members[first .. first + n) */
};

struct omr_kpi_scrape {
	omr_http_reply *reply;   /* answered exactly once */
	struct omr_buf out;
	struct omr_kpi_queue *queues;
	size_t nqueues;
	size_t *members;         /* positions in the script's agent list */
	size_t nagents;          /* agents asked about */
};

static void omr_kpi_scrape_free(struct omr_kpi_scrape *s)
{
	for (size_t i = 0; i < s->nqueues; i++)
		free(s->queues[i].name);
	free(s->queues);
	free(s->members);
	omr_buf_free(&s->out);
	free(s);
}

static void omr_kpi_send(struct omr_kpi_scrape *s)
{
	omr_http_reply_send(s->reply, 200, OMR_KPI_CONTENT_TYPE, s->out.data, s->out.len);
	omr_kpi_scrape_free(s);
}

/* one sample: NAME{queue="Q"[,state="S"]} */
static void omr_kpi_sample(struct omr_buf *b, const char *name, const char *queue,
			   const char *state)
{
	omr_buf_printf(b, "omniroute_%s{queue=\"", name);
	omr_kpi_label(b, queue);
	if (state)
		omr_buf_printf(b, "\",state=\"%s", state);
	omr_buf_puts(b, "\"} ");
}

static void omr_kpi_family(struct omr_buf *b, const char *name, const char *help)
{
	omr_buf_printf(b, "# HELP omniroute_%s %s\n# TYPE omniroute_%s gauge\n", name, help, name);
}

static void omr_kpi_write(struct omr_kpi_scrape *s, long long now, const redisReply *queues,
			  const redisReply *agents)
{
	struct omr_buf *b = &s->out;

	omr_kpi_family(b, "queue_waiting", "conversations waiting in the queue (the site's)");
	for (size_t i = 0; i < s->nqueues; i++) {
		omr_kpi_sample(b, "queue_waiting", s->queues[i].name, NULL);
		omr_buf_printf(b, "%lld\n",
			       omr_reply_int(omr_reply_elem(queues->element[i], 0), 0));
	}
	omr_kpi_family(b, "queue_oldest_wait_seconds",
		       "how long the longest waiting conversation of the queue has waited "
		       "(0: none)");
	for (size_t i = 0; i < s->nqueues; i++) {
		long long oldest = omr_reply_int(omr_reply_elem(queues->element[i], 1), 0);
		long long ms = oldest > 0 && now > oldest ? now - oldest : 0;
		omr_kpi_sample(b, "queue_oldest_wait_seconds", s->queues[i].name, NULL);
		omr_buf_printf(b, "%.3f\n", (double)ms / 1000.0);
	}
	omr_kpi_family(b, "queue_agents",
		       "agents with the queue's skills by state: available (no conversation), busy "
		       "(available, with conversations), away, offline (or not connected)");
	for (size_t i = 0; i < s->nqueues; i++) {
		long long n[OMR_KPI_NSTATES] = { 0 };
		for (size_t m = 0; m < s->queues[i].n; m++) {
			size_t at = s->members[s->queues[i].first + m];
			long long st = omr_reply_int(agents->element[at], 0);
			if (st >= 0 && st < (long long)OMR_KPI_NSTATES)
				n[st]++;
		}
		for (size_t st = 0; st < OMR_KPI_NSTATES; st++) {
			omr_kpi_sample(b, "queue_agents", s->queues[i].name, omr_kpi_states[st]);
			omr_buf_printf(b, "%lld\n", n[st]);
		}
	}
	omr_kpi_family(b, "queue_sla_target_ratio",
		       "the queue's service level target (sla.target), queues with one");
	for (size_t i = 0; i < s->nqueues; i++)
		if (s->queues[i].sla_target) {
			omr_kpi_sample(b, "queue_sla_target_ratio", s->queues[i].name, NULL);
			omr_buf_printf(b, "%.2f\n", (double)s->queues[i].sla_target / 100.0);
		}
	omr_kpi_family(b, "queue_sla_attainment_ratio",
		       "today's (UTC) answers within the service level, of all answers; queues "
		       "with a service level that answered today");
	for (size_t i = 0; i < s->nqueues; i++) {
		long long answered = omr_reply_int(omr_reply_elem(queues->element[i], 2), 0);
		long long in_sla = omr_reply_int(omr_reply_elem(queues->element[i], 3), 0);
		if (!s->queues[i].sla_target || answered <= 0)
			continue;
		omr_kpi_sample(b, "queue_sla_attainment_ratio", s->queues[i].name, NULL);
		omr_buf_printf(b, "%.6g\n", (double)in_sla / (double)answered);
	}
}

static void omr_kpi_scraped(void *arg, const redisReply *reply, const char *err)
{
	struct omr_kpi_scrape *s = arg;
	struct omr_lua_kpi_state_reply st;

	if (err || omr_lua_kpi_state_reply(reply, &st) < 3 || !st.queues || !st.agents ||
	    st.queues->type != REDIS_REPLY_ARRAY || st.queues->elements != s->nqueues ||
	    st.agents->type != REDIS_REPLY_ARRAY || st.agents->elements != s->nagents)
		omr_log_debug("metrics: queue figures left out: %s", err ? err : "bad reply");
	else
		omr_kpi_write(s, st.now, st.queues, st.agents);
	omr_kpi_send(s);
}

/* The agents of every queue, as positions in one list of agent ids (an
 * agent in several queues is asked about once): s->members, ids_r. */
static void omr_kpi_members(struct omr_kpi_scrape *s, const struct omr_config *cfg,
			    const char ***ids_r)
{
	const struct omr_routing_conf *rc = cfg->routing;
	const struct omr_agents_conf *dir = cfg->agents;
	size_t nagents = omr_agents_count(dir); /* with the directory users met here */
	size_t *pos = omr_calloc(nagents + 1, sizeof(*pos)); /* directory index -> position + 1 */
	const char **ids = omr_calloc(nagents + 1, sizeof(*ids));
	size_t nmembers = 0;

	for (size_t i = 0; i < rc->nqueues; i++) {
		const struct omr_queue_conf *q = &rc->queues[i];
		struct omr_cands c;
		json_t *skills = json_object();
		for (size_t k = 0; k < q->nskills; k++)
			json_object_set_new(skills, q->skills[k].skill,
					    json_integer(q->skills[k].min));
		omr_route_candidates(dir, NULL, skills, NULL, NULL, NULL, NULL, 0, &c);
		json_decref(skills);
		s->members = omr_realloc(s->members,
					 (nmembers + (size_t)c.n + 1) * sizeof(*s->members));
		s->queues[i].first = nmembers;
		/* candidates come in the directory's order */
		for (size_t a = 0, k = 0; a < nagents && k < (size_t)c.n; a++) {
			if (omr_agents_at(dir, a)->id != c.argv[k * 3])
				continue;
			if (!pos[a]) {
				ids[s->nagents] = omr_agents_at(dir, a)->id;
				pos[a] = ++s->nagents;
			}
			s->members[nmembers++] = pos[a] - 1;
			k++;
		}
		s->queues[i].n = nmembers - s->queues[i].first;
		omr_cands_free(&c);
	}
	free(pos);
	*ids_r = ids;
}

void omr_kpi_scrape(const struct omr_env *env, omr_http_reply *reply, struct omr_buf *b)
{
	const struct omr_config *cfg = omr_env_cfg(env);
	const struct omr_routing_conf *rc = cfg->routing;
	struct omr_kpi_scrape *s = omr_calloc(1, sizeof(*s));
	const char **ids, **names;

	s->reply = reply;
	s->out = *b;
	omr_buf_init(b);
	if (!rc || !rc->nqueues || !omr_redis_ready(omr_store_redis(env->store))) {
		omr_kpi_send(s); /* Redis down: omniroute_up says so */
		return;
	}
	s->nqueues = rc->nqueues;
	s->queues = omr_calloc(rc->nqueues, sizeof(*s->queues));
	for (size_t i = 0; i < rc->nqueues; i++) {
		s->queues[i].name = omr_strdup(rc->queues[i].name);
		s->queues[i].sla_target = rc->queues[i].sla.target;
	}
	omr_kpi_members(s, cfg, &ids);
	names = omr_calloc(s->nqueues + s->nagents + 1, sizeof(*names));
	for (size_t i = 0; i < s->nqueues; i++)
		names[i] = s->queues[i].name;
	memcpy(names + s->nqueues, ids, s->nagents * sizeof(*ids));
	struct omr_lua_kpi_state_args a = {
		.nqueues = (long long)s->nqueues,
		.names = names, .nnames = s->nqueues + s->nagents,
	};
	omr_lua_kpi_state(env->store, &a, omr_kpi_scraped, s);
	free(names);
	free(ids);
}
