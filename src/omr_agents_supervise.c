/*
 * omr_agents_supervise: what a supervisor or an admin does to a
 * conversation or an agent (omr_supervise.h), carried out by the agents
 * module so that the agent's console hears of it as if the agent had done
 * it, with who did it ("by").
 *
 * A supervisor limited to some queues acts on a conversation only while it
 * is in one of them, transfers only into them, and sets the presence only
 * of agents who serve one of them.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

static struct omr_areq *omr_supervise_req(struct omr_agents *a, const struct omr_supervise *s,
					  omr_supervise_cb cb, void *arg)
{
	struct omr_areq *q = omr_areq_new(a, NULL);
	q->done = cb;
	q->done_arg = arg;
	q->by = omr_strdup(s->by);
	q->queues = omr_strv_dup(s->queues);
	q->text = omr_strdup(s->action);
	return q;
}

static void omr_supervise_fail(struct omr_areq *q, int status, const char *code, const char *msg,
			       const char *queue)
{
	q->done(q->done_arg, status, code, msg, queue);
	omr_areq_free(q);
}

/* ---- presence ---- */

static void omr_supervise_presence(struct omr_agents *a, const struct omr_supervise *s,
				   omr_supervise_cb cb, void *arg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, s->agent);
	const char *p = s->presence;

	if (!ac || !(ac->roles & OMR_ROLE_AGENT)) {
		cb(arg, 404, "not_found", "no such agent", NULL);
		return;
	}
	if (!p || (strcmp(p, "available") && strcmp(p, "away") && strcmp(p, "offline"))) {
		cb(arg, 400, "bad_parameter", "presence: available, away or offline", NULL);
		return;
	}
	if (s->reason && strlen(s->reason) > 200) {
		cb(arg, 400, "bad_parameter", "reason: at most 200 bytes", NULL);
		return;
	}
	if (!omr_route_oversees(s->queues, cfg->routing, ac)) {
		cb(arg, 403, "forbidden", "this agent serves none of your queues", NULL);
		return;
	}
	struct omr_areq *q = omr_supervise_req(a, s, cb, arg);
	q->agent = omr_strdup(s->agent);
	char *by = omr_asprintf("supervisor:%s", s->by ? s->by : "");
	omr_agents_presence_for(a, q, p, s->reason, by);
	free(by); /* the script's arguments are copied when it is sent */
}

/* ---- close, transfer: on behalf of the agent who has the conversation ---- */

static void omr_supervise_acted(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	const char *queue = q->extra;

	if (err || !tag) {
		omr_supervise_fail(q, 503, "unavailable", "storage unavailable, try again", queue);
		return;
	}
	if (strcmp(tag, "ok") != 0) {
		/* the agent closed, wrapped up or transferred it meanwhile */
		char *m = omr_asprintf("the conversation changed meanwhile (%s); look again",
				       omr_reply_str(omr_reply_elem(reply, 1)) ?
					       omr_reply_str(omr_reply_elem(reply, 1)) : tag);
		omr_supervise_fail(q, 409, "conflict", m, queue);
		free(m);
		return;
	}
	omr_agents_acted(q->a, q, reply);
	q->done(q->done_arg, 200, NULL, NULL, queue);
	omr_areq_free(q);
}

struct omr_supervise_conv {
	struct omr_areq *q;
	char *queue, *agent, *note; /* transfer's target */
};

static void omr_supervise_conv_free(struct omr_supervise_conv *c)
{
	free(c->queue);
	free(c->agent);
	free(c->note);
	free(c);
}

static void omr_supervise_conv_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_supervise_conv *c = arg;
	struct omr_areq *q = c->q;
	struct omr_agents *a = q->a;
	const char *status = omr_reply_str(omr_reply_elem(reply, 0));
	const char *agent = omr_reply_str(omr_reply_elem(reply, 1));
	const char *queue = omr_reply_str(omr_reply_elem(reply, 2));

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_supervise_fail(q, 503, "unavailable", "storage unavailable, try again", NULL);
	} else if (!status) {
		omr_supervise_fail(q, 404, "not_found", "no such conversation", NULL);
	} else if (q->queues && !omr_strv_has(q->queues, queue)) {
		char *m = omr_asprintf("the conversation is %s%s, outside your queues",
				       queue ? "in queue " : "not in a queue", queue ? queue : "");
		omr_supervise_fail(q, 403, "forbidden", m, queue);
		free(m);
	} else if (strcmp(status, "assigned") != 0 || !agent || !*agent) {
		char *m = omr_asprintf("the conversation is %s: only an assigned conversation can "
				       "be %s", status, strcmp(q->text, "close") == 0 ?
				       "closed" : "transferred");
		omr_supervise_fail(q, 409, "conflict", m, queue);
		free(m);
	} else if (c->agent && strcmp(c->agent, agent) == 0) {
		omr_supervise_fail(q, 409, "conflict", "the conversation is with that agent already",
				   queue);
	} else {
		q->agent = omr_strdup(agent);
		q->extra = omr_strdup(queue ? queue : "");
		if (strcmp(q->text, "close") == 0) {
			struct omr_lua_conv_act_args ca = { .action = "close",
							    .conversation = q->conversation,
							    .agent = agent,
							    .csat = omr_agents_csat_window(a) };
			omr_lua_conv_act(a->env.store, &ca, omr_supervise_acted, q);
		} else {
			omr_agents_transfer_run(a, q, c->queue, c->agent, c->note, q->by,
						omr_supervise_acted);
		}
	}
	omr_supervise_conv_free(c);
}

static int omr_supervise_transfer_ok(struct omr_agents *a, const struct omr_supervise *s,
				     omr_supervise_cb cb, void *arg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *to = s->agent ? omr_agents_find(cfg->agents, s->agent) : NULL;

	if ((s->queue && s->agent) || (!s->queue && !s->agent)) {
		cb(arg, 400, "bad_parameter", "transfer to a queue or to an agent (one of them)", NULL);
		return 0;
	}
	if (s->queue && !omr_routing_queue(cfg->routing, s->queue)) {
		cb(arg, 400, "bad_parameter", "queue: no such queue", NULL);
		return 0;
	}
	if (s->agent && (!to || !(to->roles & OMR_ROLE_AGENT))) {
		cb(arg, 400, "bad_parameter", "agent: no such agent", NULL);
		return 0;
	}
	if (s->note && strlen(s->note) > 4000) {
		cb(arg, 400, "bad_parameter", "note: at most 4000 bytes", NULL);
		return 0;
	}
	if (s->queue && s->queues && !omr_strv_has(s->queues, s->queue)) {
		cb(arg, 403, "forbidden", "queue: not one of your queues", NULL);
		return 0;
	}
	if (to && !omr_route_oversees(s->queues, cfg->routing, to)) {
		cb(arg, 403, "forbidden", "agent: serves none of your queues", NULL);
		return 0;
	}
	return 1;
}

static void omr_supervise_conv(struct omr_agents *a, const struct omr_supervise *s,
			       omr_supervise_cb cb, void *arg)
{
	struct omr_supervise_conv *c;
	char *key;

	if (!s->conversation || !omr_model_id_ok(s->conversation, "c_")) {
		cb(arg, 404, "not_found", "no such conversation", NULL);
		return;
	}
	if (strcmp(s->action, "transfer") == 0 && !omr_supervise_transfer_ok(a, s, cb, arg))
		return;
	c = omr_calloc(1, sizeof(*c));
	c->q = omr_supervise_req(a, s, cb, arg);
	c->q->conversation = omr_strdup(s->conversation);
	c->queue = s->queue ? omr_strdup(s->queue) : NULL;
	c->agent = s->agent ? omr_strdup(s->agent) : NULL;
	c->note = s->note ? omr_strdup(s->note) : NULL;
	key = omr_store_key(a->env.store, "conv:%s", s->conversation);
	omr_redis_cmd(omr_store_redis(a->env.store), omr_supervise_conv_cb, c,
		      "HMGET %s status agent queue", key);
	free(key);
}

void omr_agents_supervise(struct omr_agents *a, const struct omr_supervise *s, omr_supervise_cb cb,
			  void *arg)
{
	if (strcmp(s->action, "presence") == 0)
		omr_supervise_presence(a, s, cb, arg);
	else if (strcmp(s->action, "close") == 0 || strcmp(s->action, "transfer") == 0)
		omr_supervise_conv(a, s, cb, arg);
	else if (strcmp(s->action, "logout") == 0)
		omr_agents_revoke_sessions(a, s, cb, arg);
	else
		cb(arg, 400, "bad_parameter", "unknown action", NULL);
}
