/*
 * omr_agents_wallboard: the supervisors' live view. A console of a
 * supervisor or admin sends {"type": "wallboard", "on": true}; while any
 * console of this node watches, wallboard.lua runs once a second (one call
 * for the whole site, never two at once) and each watching console gets a
 * `wallboard` frame, cut to the user's queues, only when it differs from
 * the last one it got. The frame carries times (queued_at, since) and
 * Redis' clock, not ages, so that an unchanged floor sends nothing: the
 * page counts the seconds itself.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_log.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_WALLBOARD_MS 1000
#define OMR_WALLBOARD_LIST 20 /* waiting conversations shown per queue */
/* today's service level and bot results read every day's bucket: once in
 * this long, for a new watcher, and after the floor changed (an answer,
 * a conversation that arrived or ended); the ticks between reuse them */
#define OMR_WALLBOARD_TOTALS_MS 30000

static const char *omr_wb_state(const redisReply *row)
{
	const char *presence = omr_reply_str(omr_reply_elem(row, 1));
	long long sessions = omr_reply_int(omr_reply_elem(row, 2), 0);
	const redisReply *convs = omr_reply_elem(row, 5);
	if (!presence || sessions <= 0 || strcmp(presence, "offline") == 0)
		return "offline";
	if (strcmp(presence, "away") == 0)
		return "away";
	return convs && convs->type == REDIS_REPLY_ARRAY && convs->elements ? "busy" : "available";
}

static json_t *omr_wb_agent(const struct omr_agent_conf *ac, const redisReply *row,
			    const struct omr_routing_conf *rc)
{
	const redisReply *convs = omr_reply_elem(row, 5), *load = omr_reply_elem(row, 6);
	json_t *c = json_array(), *l = json_object(), *serves = json_array();
	for (size_t i = 0; convs && convs->type == REDIS_REPLY_ARRAY && i < convs->elements; i++)
		if (omr_reply_str(convs->element[i]))
			json_array_append_new(c, json_string(convs->element[i]->str));
	for (size_t i = 0; load && load->type == REDIS_REPLY_ARRAY && i + 1 < load->elements; i += 2) {
		const char *k = omr_reply_str(load->element[i]);
		long long n = 0;
		if (k && strlen(k) > 5 && omr_parse_ll(omr_reply_str(load->element[i + 1]), &n) == 0)
			json_object_set_new(l, k + 5, json_integer(n));
	}
	for (size_t q = 0; q < rc->nqueues; q++)
		if (omr_route_agent_serves(ac, &rc->queues[q]))
			json_array_append_new(serves, json_string(rc->queues[q].name));
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:o}", "id", ac->id, "name",
			 ac->name ? ac->name : ac->id, "state", omr_wb_state(row), "since",
			 (json_int_t)omr_reply_int(omr_reply_elem(row, 3), 0), "missed",
			 (json_int_t)omr_reply_int(omr_reply_elem(row, 4), 0), "conversations", c,
			 "load", l, "queues", serves);
}

static json_t *omr_wb_waiting(const char *queue, const redisReply *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++) {
		const redisReply *w = list->element[i];
		const char *id = omr_reply_str(omr_reply_elem(w, 0));
		const char *routing = omr_reply_str(omr_reply_elem(w, 5));
		const char *cust = omr_reply_str(omr_reply_elem(w, 4));
		json_t *r = routing && *routing ? json_loads(routing, 0, NULL) : NULL;
		if (!id)
			continue;
		json_array_append_new(arr, json_pack(
			"{s:s,s:s,s:s,s:I,s:I,s:s?,s:o}", "conversation", id, "queue", queue, "channel",
			omr_reply_str(omr_reply_elem(w, 1)) ? omr_reply_str(omr_reply_elem(w, 1)) : "",
			"queued_at", (json_int_t)omr_reply_int(omr_reply_elem(w, 2), 0), "priority",
			(json_int_t)omr_reply_int(omr_reply_elem(w, 3), 0), "customer",
			cust && *cust ? cust : NULL, "routing", r ? r : json_null()));
	}
	return arr;
}

static json_t *omr_wb_queue(const struct omr_queue_conf *q, const redisReply *row,
			    const json_t *agents, const json_t *totals)
{
	long long answered = json_integer_value(json_array_get(totals, 0));
	long long within = json_integer_value(json_array_get(totals, 1));
	long long contained = json_integer_value(json_array_get(totals, 2));
	long long handoffs = json_integer_value(json_array_get(totals, 3));
	json_t *counts = json_pack("{s:i,s:i,s:i,s:i}", "available", 0, "busy", 0, "away", 0,
				   "offline", 0);
	size_t i;
	json_t *ag;

	json_array_foreach(agents, i, ag) {
		size_t k;
		json_t *qn;
		json_array_foreach(json_object_get(ag, "queues"), k, qn)
			if (strcmp(json_string_value(qn), q->name) == 0) {
				const char *st = json_string_value(json_object_get(ag, "state"));
				json_object_set_new(counts, st,
						    json_integer(json_integer_value(
								 json_object_get(counts, st)) + 1));
			}
	}
	return json_pack(
		"{s:s,s:s?,s:I,s:I,s:I,s:o,s:{s:I,s:I,s:o},s:o}", "name", q->name, "description",
		q->description, "waiting", (json_int_t)omr_reply_int(omr_reply_elem(row, 1), 0),
		"oldest_queued_at", (json_int_t)omr_reply_int(omr_reply_elem(row, 2), 0),
		"answered_today", (json_int_t)answered, "sla",
		q->sla.target ? json_pack("{s:I,s:I,s:I,s:o}", "target", (json_int_t)q->sla.target,
					  "within_s", (json_int_t)(q->sla.within / 1000), "within",
					  (json_int_t)within, "attainment",
					  answered ? json_real(100.0 * (double)within / (double)answered)
						   : json_null())
			      : json_null(),
		"bot", "contained", (json_int_t)contained, "handoffs", (json_int_t)handoffs,
		"containment",
		contained + handoffs ? json_real(100.0 * (double)contained / (double)(contained + handoffs))
				     : json_null(),
		"agents", counts);
}

/* The site's floor, as every watcher's frame is cut from it. */
struct omr_wb_floor {
	json_t *queues;   /* per queue, in the config's order */
	json_t *agents;   /* every agent */
	json_t *waiting;  /* per queue name: its list */
	long long now;
};

static void omr_wb_send_one(struct omr_agents *a, struct omr_asess *s,
			    const struct omr_wb_floor *f)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, s->agent);
	json_t *queues = json_array(), *agents = json_array(), *waiting = json_array();
	size_t i;
	json_t *v;
	char *text;

	if (!omr_agent_supervises(ac)) {
		s->wallboard = 0; /* a reload took the role away */
		return;
	}
	json_array_foreach(f->queues, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		if (ac->queues && !omr_strv_has(ac->queues, name))
			continue;
		json_array_append(queues, v);
		json_array_extend(waiting, json_object_get(f->waiting, name));
	}
	json_array_foreach(f->agents, i, v) {
		size_t k;
		json_t *qn;
		int mine = !ac->queues;
		json_array_foreach(json_object_get(v, "queues"), k, qn)
			mine = mine || omr_strv_has(ac->queues, json_string_value(qn));
		if (mine)
			json_array_append(agents, v);
	}
	json_t *frame = json_pack("{s:s,s:o,s:o,s:o}", "type", "wallboard", "queues", queues,
				  "agents", agents, "waiting", waiting);
	text = json_dumps(frame, JSON_COMPACT);
	if (text && (!s->wb_last || strcmp(text, s->wb_last) != 0)) {
		free(s->wb_last);
		s->wb_last = text;
		text = NULL;
		json_object_set_new(frame, "now", json_integer(f->now));
		omr_agents_send(a, s->conn, frame);
	}
	free(text);
	json_decref(frame);
}

struct omr_wb_each {
	struct omr_agents *a;
	const struct omr_wb_floor *f;
};

static int omr_wb_send_each(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_wb_each *e = arg;
	struct omr_asess *s = value;
	(void)key, (void)klen;
	if (s->wallboard && s->agent)
		omr_wb_send_one(e->a, s, e->f);
	return 0;
}

static void omr_wb_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_agents *a = arg;
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_routing_conf *rc = cfg->routing;
	struct omr_lua_wallboard_reply r;
	struct omr_wb_floor f = { 0 };

	a->wb_pending = 0;
	if (err || omr_lua_wallboard_reply(reply, &r) < 3 || !r.queues || !r.agents ||
	    r.queues->type != REDIS_REPLY_ARRAY || r.agents->type != REDIS_REPLY_ARRAY) {
		/* once per failing streak: it retries every second */
		if (!a->wb_failing)
			omr_log_warn("wallboard: not refreshed: %s", err ? err : "bad reply");
		a->wb_failing = 1;
		a->wb_totals_at = 0; /* today's figures were not read: next time */
		return;
	}
	if (a->wb_failing)
		omr_log_info("wallboard: refreshed again");
	a->wb_failing = 0;
	f.now = r.now;
	f.queues = json_array();
	f.agents = json_array();
	f.waiting = json_object();
	/* the config may have been reloaded since the call: rows are
	 * matched by name, what the config no longer has is left out */
	for (size_t i = 0; i < r.agents->elements; i++) {
		const redisReply *row = r.agents->element[i];
		const struct omr_agent_conf *ac =
			omr_agents_find(cfg->agents, omr_reply_str(omr_reply_elem(row, 0)));
		if (ac && (ac->roles & OMR_ROLE_AGENT))
			json_array_append_new(f.agents, omr_wb_agent(ac, row, rc));
	}
	for (size_t i = 0; i < r.queues->elements; i++) {
		const redisReply *row = r.queues->element[i];
		const struct omr_queue_conf *q =
			omr_routing_queue(rc, omr_reply_str(omr_reply_elem(row, 0)));
		if (!q)
			continue;
		if (!a->wb_with_totals && !json_object_get(a->wb_totals, q->name))
			a->wb_totals_at = 0; /* a queue new since (a reload): read them next */
		if (a->wb_with_totals)
			json_object_set_new(a->wb_totals, q->name,
					    json_pack("[IIII]",
						      (json_int_t)omr_reply_int(omr_reply_elem(row, 3), 0),
						      (json_int_t)omr_reply_int(omr_reply_elem(row, 4), 0),
						      (json_int_t)omr_reply_int(omr_reply_elem(row, 5), 0),
						      (json_int_t)omr_reply_int(omr_reply_elem(row, 6), 0)));
		json_array_append_new(f.queues, omr_wb_queue(q, row, f.agents,
							     json_object_get(a->wb_totals, q->name)));
		json_object_set_new(f.waiting, q->name, omr_wb_waiting(q->name, omr_reply_elem(row, 7)));
	}
	/* a conversation taken or ended moves today's figures: read them at
	 * the next tick rather than at the end of the 30 s */
	long long sig = 0;
	size_t i;
	json_t *v;
	json_array_foreach(f.agents, i, v)
		sig = sig * 31 + (long long)json_array_size(json_object_get(v, "conversations"));
	json_array_foreach(f.queues, i, v)
		sig = sig * 31 + json_integer_value(json_object_get(v, "waiting"));
	if (sig != a->wb_sig)
		a->wb_totals_at = 0;
	a->wb_sig = sig;
	struct omr_wb_each e = { a, &f };
	omr_map_foreach(a->sessions, omr_wb_send_each, &e);
	json_decref(f.queues);
	json_decref(f.agents);
	json_decref(f.waiting);
}

static void omr_wb_refresh(struct omr_agents *a)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_routing_conf *rc = cfg->routing;
	size_t n = rc->nqueues + omr_agents_count(cfg->agents);
	const char **names;
	struct omr_buf chans;
	size_t k = 0;

	if (a->wb_pending)
		return; /* the running one's answer goes to every watcher */
	names = omr_calloc(n + 1, sizeof(*names));
	omr_buf_init(&chans);
	omr_buf_puts(&chans, "webchat");
	for (size_t i = 0; i < rc->nqueues; i++)
		names[k++] = rc->queues[i].name;
	for (size_t i = 0; i < omr_agents_count(cfg->agents); i++) {
		const struct omr_agent_conf *ac = omr_agents_at(cfg->agents, i);
		if (!(ac->roles & OMR_ROLE_AGENT))
			continue;
		names[k++] = ac->id;
		/* the channels anyone serves: where today's bot figures are */
		for (size_t c = 0; c < ac->ncapacity; c++) {
			const char *ch = ac->capacity[c].channel;
			char *have = omr_asprintf(",%s,", chans.data);
			char *want = omr_asprintf(",%s,", ch);
			if (!strstr(have, want)) {
				omr_buf_puts(&chans, ",");
				omr_buf_puts(&chans, ch);
			}
			free(have);
			free(want);
		}
	}
	int64_t now = omr_mono_ms();
	a->wb_with_totals = !a->wb_totals || now - a->wb_totals_at >= OMR_WALLBOARD_TOTALS_MS;
	if (a->wb_with_totals) {
		json_decref(a->wb_totals);
		a->wb_totals = json_object();
		a->wb_totals_at = now;
	}
	struct omr_lua_wallboard_args w = {
		.nqueues = (long long)rc->nqueues, .list = OMR_WALLBOARD_LIST,
		.channels = chans.data, .totals = a->wb_with_totals, .names = names, .nnames = k,
	};
	a->wb_pending = 1;
	omr_lua_wallboard(a->env.store, &w, omr_wb_cb, a);
	omr_buf_free(&chans);
	free(names);
}

static int omr_wb_find(void *arg, const void *key, size_t klen, void *value)
{
	int *found = arg;
	(void)key, (void)klen;
	*found = ((const struct omr_asess *)value)->wallboard;
	return *found;
}

static void omr_wb_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_agents *a = arg;
	struct timeval tv = { OMR_WALLBOARD_MS / 1000, (OMR_WALLBOARD_MS % 1000) * 1000 };
	int found = 0;
	(void)fd, (void)what;
	omr_map_foreach(a->sessions, omr_wb_find, &found);
	if (!found || a->stopping)
		return; /* nobody watches: the timer rests until somebody does */
	omr_wb_refresh(a);
	evtimer_add(a->wb_ev, &tv);
}

void omr_agents_sup_wallboard(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, s->agent);
	if (!omr_agent_supervises(ac)) {
		omr_agents_error(a, s->conn, "forbidden", "only a supervisor or admin may do this",
				 NULL, NULL);
		return;
	}
	s->wallboard = !json_is_false(json_object_get(msg, "on"));
	free(s->wb_last);
	s->wb_last = NULL; /* the next refresh sends this console a whole frame */
	a->wb_totals_at = 0;  /* with today's figures read afresh */
	if (s->wallboard) {
		if (!a->wb_ev)
			a->wb_ev = evtimer_new(a->env.base, omr_wb_tick, a);
		if (!evtimer_pending(a->wb_ev, NULL))
			omr_wb_tick(-1, 0, a);
		else
			omr_wb_refresh(a);
	}
}
