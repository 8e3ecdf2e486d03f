/*
 * omr_agents_monitor: which supervisors follow which conversation, and the
 * copies of the agents' frames they get (docs/agent-protocol.md,
 * "Supervisors"; the frames that start and stop it are in
 * omr_agents_supervisor.c).
 *
 * Every node keeps the whole site's monitors in memory (a->monitors), told
 * through the bus; the node that pushes a frame about a monitored
 * conversation to its agent (omr_agents_push) pushes a monitor_frame copy
 * to each supervisor who follows it, once. A node that starts later does
 * not know the monitors of the others: the supervisor's console asks again
 * after a reconnect.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_bus.h"
#include "omr_config.h"
#include "omr_util.h"

/* ---- the monitors of this node's view of the site ----
 *
 * a->monitors: conversation id -> {"queue": the queue it was last seen in
 * (or null), "who": [{"s": supervisor, "n": the node of the console that
 * asked}, ...]}. Keyed by node too, so that a supervisor's last console
 * closing on one node ends only what that console asked for. */

static json_t *omr_sup_entry(struct omr_agents *a, const char *conv, int create)
{
	json_t *e = omr_map_gets(a->monitors, conv);
	if (!e && create) {
		e = json_pack("{s:n,s:[]}", "queue", "who");
		omr_map_puts(a->monitors, conv, e);
	}
	return e;
}

/* index of (sup, node) in the entry's list (node NULL: any), or -1 */
static long omr_sup_find(const json_t *e, const char *sup, const char *node)
{
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(e, "who"), i, w)
		if (strcmp(json_string_value(json_object_get(w, "s")), sup) == 0 &&
		    (!node || strcmp(json_string_value(json_object_get(w, "n")), node) == 0))
			return (long)i;
	return -1;
}

static void omr_sup_entry_gc(struct omr_agents *a, const char *conv, json_t *e)
{
	if (json_array_size(json_object_get(e, "who")) == 0)
		json_decref(omr_map_dels(a->monitors, conv));
}

/* 1 when (sup, node) was there and is gone; node NULL: every node's */
int omr_agents_mon_unset(struct omr_agents *a, const char *conv, const char *sup, const char *node)
{
	json_t *e = omr_sup_entry(a, conv, 0);
	int gone = 0;
	long i;
	while (e && (i = omr_sup_find(e, sup, node)) >= 0) {
		json_array_remove(json_object_get(e, "who"), (size_t)i);
		gone = 1;
	}
	if (e)
		omr_sup_entry_gc(a, conv, e);
	return gone;
}

void omr_agents_mon_set(struct omr_agents *a, const char *conv, const char *sup, const char *node,
			const char *queue)
{
	json_t *e = omr_sup_entry(a, conv, 1);
	if (queue)
		json_object_set_new(e, "queue", json_string(queue));
	if (omr_sup_find(e, sup, node) < 0)
		json_array_append_new(json_object_get(e, "who"), json_pack("{s:s,s:s}", "s", sup, "n",
									    node));
}

struct omr_sup_drop {
	struct omr_agents *a;
	const char *sup, *node;
	json_t *convs; /* where sup was */
};

static int omr_sup_drop_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_sup_drop *d = arg;
	if (omr_sup_find(value, d->sup, d->node) >= 0)
		json_array_append_new(d->convs, json_stringn(key, klen));
	return 0;
}

/* (sup, node) follows nothing any more on this node's map */
static void omr_sup_drop(struct omr_agents *a, const char *sup, const char *node)
{
	struct omr_sup_drop d = { a, sup, node, json_array() };
	size_t i;
	json_t *v;
	omr_map_foreach(a->monitors, omr_sup_drop_one, &d);
	json_array_foreach(d.convs, i, v)
		omr_agents_mon_unset(a, json_string_value(v), sup, node);
	json_decref(d.convs);
}

/* tell the other nodes: (sup, node) monitors conv (on) or not; conv NULL:
 * nothing any more; sup NULL: nobody monitors conv any more (it ended) */
void omr_agents_mon_tell(struct omr_agents *a, const char *conv, const char *sup,
			 const char *node, const char *queue, int on)
{
	if (!omr_bus_needed(a->bus))
		return;
	json_t *m = json_pack("{s:s,s:s?,s:s?,s:s?,s:s?,s:b}", "t", "mon", "c", conv, "s", sup, "n",
			      node, "q", queue, "on", on);
	omr_bus_publish(a->bus, m);
	json_decref(m);
}


void omr_agents_monitor_bus(struct omr_agents *a, const json_t *msg)
{
	const char *conv = json_string_value(json_object_get(msg, "c"));
	const char *sup = json_string_value(json_object_get(msg, "s"));
	const char *node = json_string_value(json_object_get(msg, "n"));
	int on = json_is_true(json_object_get(msg, "on"));
	json_t *e = conv ? omr_sup_entry(a, conv, 0) : NULL;
	if (conv && json_is_true(json_object_get(msg, "move"))) {
		/* the node that moved it ended whom it had to (and told us) */
		if (e && json_is_string(json_object_get(msg, "q")))
			json_object_set(e, "queue", json_object_get(msg, "q"));
	} else if (conv && !sup && !on)
		json_decref(omr_map_dels(a->monitors, conv));
	else if (!sup || !node)
		return;
	else if (conv && on)
		omr_agents_mon_set(a, conv, sup, node, json_string_value(json_object_get(msg, "q")));
	else if (conv)
		omr_agents_mon_unset(a, conv, sup, node);
	else
		omr_sup_drop(a, sup, node);
}

void omr_agents_monitor_gone(struct omr_agents *a, const char *sup)
{
	if (!omr_map_count(a->monitors))
		return;
	omr_sup_drop(a, sup, a->env.node_id);
	omr_agents_mon_tell(a, NULL, sup, a->env.node_id, NULL, 0);
}

/* May sup still follow a conversation of queue (NULL: not known)? Roles
 * and queues are read again at every frame: a reload that takes them
 * away, or a transfer out of the supervisor's queues, ends it. */
static int omr_sup_may(struct omr_agents *a, const char *sup, const char *queue)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, sup);
	if (!omr_agent_supervises(ac))
		return 0;
	return !ac->queues || !queue || omr_strv_has(ac->queues, queue);
}

static void omr_sup_end(struct omr_agents *a, const char *conv, const char *sup, const char *why)
{
	json_t *f = json_pack("{s:s,s:s,s:s}", "type", "monitor_end", "conversation", conv, "reason",
			      why);
	omr_agents_push_plain(a, sup, f);
	json_decref(f);
}

/* conv is in queue now: the supervisors who may no longer follow it stop
 * (those of the nodes that hear of it at a later frame, or from the bus) */
static void omr_sup_requeue(struct omr_agents *a, const char *conv, const char *queue)
{
	json_t *e = omr_sup_entry(a, conv, 0), *who, *w;
	size_t i;
	if (!e)
		return;
	json_object_set_new(e, "queue", json_string(queue));
	who = json_deep_copy(json_object_get(e, "who"));
	json_array_foreach(who, i, w) {
		const char *sup = json_string_value(json_object_get(w, "s"));
		if (omr_sup_find(omr_sup_entry(a, conv, 0), sup, NULL) < 0 || omr_sup_may(a, sup, queue))
			continue;
		omr_agents_mon_unset(a, conv, sup, NULL);
		omr_agents_mon_tell(a, conv, sup, json_string_value(json_object_get(w, "n")), NULL, 0);
		omr_sup_end(a, conv, sup, "outside your queues");
	}
	json_decref(who);
}

void omr_agents_monitor_queue(struct omr_agents *a, const char *conv, const char *queue)
{
	if (!conv || !queue || !*queue || !omr_map_count(a->monitors))
		return;
	omr_sup_requeue(a, conv, queue);
	if (omr_bus_needed(a->bus)) {
		json_t *m = json_pack("{s:s,s:s,s:s,s:b}", "t", "mon", "c", conv, "q", queue, "move", 1);
		omr_bus_publish(a->bus, m);
		json_decref(m);
	}
}

void omr_agents_monitor_frame(struct omr_agents *a, const char *agent, const json_t *frame)
{
	const json_t *c = json_object_get(frame, "conversation");
	const char *conv = json_is_object(c) ? json_string_value(json_object_get(c, "id"))
					     : json_string_value(c);
	const char *type = json_string_value(json_object_get(frame, "type"));
	json_t *e = conv && omr_map_count(a->monitors) ? omr_sup_entry(a, conv, 0) : NULL;
	json_t *who, *sent, *w;
	size_t i;

	if (!e || !type || strcmp(type, "monitor_frame") == 0)
		return;
	e = json_incref(e); /* kept while the entry may go */
	if (json_is_string(json_object_get(c, "queue")))
		json_object_set(e, "queue", json_object_get(c, "queue"));
	const char *queue = json_string_value(json_object_get(e, "queue"));
	json_t *wrap = json_pack("{s:s,s:s,s:s,s:O}", "type", "monitor_frame", "conversation", conv,
				 "agent", agent, "frame", frame);
	who = json_deep_copy(json_object_get(e, "who"));
	sent = json_array();
	json_array_foreach(who, i, w) {
		const char *sup = json_string_value(json_object_get(w, "s"));
		size_t k;
		json_t *x;
		int dup = strcmp(sup, agent) == 0;
		json_array_foreach(sent, k, x)
			dup = dup || strcmp(json_string_value(x), sup) == 0;
		if (dup)
			continue;
		json_array_append_new(sent, json_string(sup));
		if (!omr_sup_may(a, sup, queue)) {
			omr_agents_mon_unset(a, conv, sup, NULL);
			omr_agents_mon_tell(a, conv, sup, json_string_value(json_object_get(w, "n")), NULL, 0);
			omr_sup_end(a, conv, sup, "outside your queues");
			continue;
		}
		omr_agents_push_plain(a, sup, wrap);
	}
	/* wrapped up: the conversation is over, and so is monitoring it */
	if (strcmp(type, "unassigned") == 0 &&
	    strcmp(json_string_value(json_object_get(frame, "reason")) ?: "", "wrapped_up") == 0) {
		json_array_foreach(sent, i, w)
			omr_sup_end(a, conv, json_string_value(w), "wrapped up");
		json_decref(omr_map_dels(a->monitors, conv));
		omr_agents_mon_tell(a, conv, NULL, NULL, NULL, 0);
	}
	json_decref(sent);
	json_decref(who);
	json_decref(wrap);
	json_decref(e);
}

