/*
 * omr_agents: see omr_agents.h; the gateway's files are listed in
 * omr_agents_int.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_audit.h"
#include "omr_bus.h"
#include "omr_config.h"
#include "omr_edge.h"
#include "omr_files.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_areq *omr_areq_new(struct omr_agents *a, const struct omr_asess *s)
{
	struct omr_areq *q = omr_calloc(1, sizeof(*q));
	q->a = a;
	q->conn = s ? s->conn : 0;
	q->agent = s ? omr_strdup(s->agent) : NULL;
	return q;
}

void omr_areq_free(struct omr_areq *q)
{
	free(q->agent);
	free(q->conversation);
	free(q->offer);
	free(q->client_msg_id);
	free(q->text);
	free(q->extra);
	json_decref(q->data);
	json_decref(q->files);
	free(q->by);
	omr_strv_free(q->queues);
	free(q);
}

struct omr_asess *omr_agents_sess(struct omr_agents *a, uint64_t conn)
{
	return omr_map_get(a->sessions, &conn, sizeof(conn));
}

/* ---- sending ---- */

/* Every frame to a console passes here: the files this node keeps get
 * their links (omr_files) now, on the node the agent's browser talks to. */
void omr_agents_send(struct omr_agents *a, uint64_t conn, const json_t *frame)
{
	json_t *out = omr_files_decorate(a->files, frame, (int64_t)time(NULL));
	char *s = json_dumps(out ? out : frame, JSON_COMPACT); /* no memory: no links */
	if (s) {
		omr_edge_send(a->edge, conn, s, strlen(s));
		free(s);
	}
	json_decref(out);
}

void omr_agents_send_new(struct omr_agents *a, uint64_t conn, json_t *frame)
{
	omr_agents_send(a, conn, frame);
	json_decref(frame);
}

void omr_agents_error(struct omr_agents *a, uint64_t conn, const char *code, const char *message,
		      const char *about_key, const char *about)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
	if (about_key && about)
		json_object_set_new(j, about_key, json_string(about));
	omr_agents_send_new(a, conn, j);
}

void omr_agents_error_q(struct omr_areq *q, const char *code, const char *message)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
	if (q->conversation)
		json_object_set_new(j, "conversation", json_string(q->conversation));
	if (q->offer)
		json_object_set_new(j, "offer", json_string(q->offer));
	if (q->client_msg_id)
		json_object_set_new(j, "client_msg_id", json_string(q->client_msg_id));
	omr_agents_send_new(q->a, q->conn, j);
}

void omr_agents_deliver(struct omr_agents *a, const char *agent, const json_t *frame)
{
	struct omr_alocal *l = agent ? omr_map_gets(a->locals, agent) : NULL;
	if (!json_is_object(frame))
		return;
	for (struct omr_asess *s = l ? l->sessions : NULL; s; s = s->next)
		omr_agents_send(a, s->conn, frame);
}

/* to the agent's consoles on other nodes (the bus skips Redis when there
 * are none) */
static void omr_agents_publish(struct omr_agents *a, const char *agent, const json_t *frame)
{
	if (!omr_bus_needed(a->bus))
		return;
	json_t *msg = json_pack("{s:s,s:s,s:O}", "t", "agent", "a", agent, "f", frame);
	if (msg)
		omr_bus_publish(a->bus, msg);
	json_decref(msg);
}

/* Local delivery first: this node's consoles of the agent at once, the
 * other nodes' through the bus. */
static void omr_agents_json_free(void *v)
{
	json_decref(v);
}

void omr_agents_push_plain(struct omr_agents *a, const char *agent, const json_t *frame)
{
	omr_agents_deliver(a, agent, frame);
	omr_agents_publish(a, agent, frame);
}

void omr_agents_push(struct omr_agents *a, const char *agent, const json_t *frame)
{
	omr_agents_push_plain(a, agent, frame);
	omr_agents_monitor_frame(a, agent, frame);
}

void omr_agents_push_text(struct omr_agents *a, const char *agent, json_t *frame,
			  const char *earlier)
{
	struct omr_alocal *l = omr_map_gets(a->locals, agent);
	int here = l && l->sessions, spliced = 0;
	if (here) {
		json_t *out = omr_files_decorate(a->files, frame, (int64_t)time(NULL));
		char *t = omr_model_dumps_splice(out ? out : frame, a->mark, earlier);
		json_decref(out);
		for (struct omr_asess *s = t ? l->sessions : NULL; s; s = s->next)
			omr_edge_send(a->edge, s->conn, t, strlen(t));
		spliced = t != NULL;
		free(t);
	}
	if ((!here || spliced) && !omr_bus_needed(a->bus) && !omr_map_count(a->monitors))
		return;
	/* the bus, and this node's consoles should the splice fail (no
	 * memory), get the frame whole */
	json_t *prev = json_loads(earlier, 0, NULL);
	json_t *cust = json_object_get(json_object_get(frame, "conversation"), "customer");
	if (!json_is_array(prev)) {
		json_decref(prev);
		prev = json_array();
	}
	json_object_set_new(cust, "previous", prev);
	if (here && !spliced) {
		omr_agents_push(a, agent, frame);
	} else {
		omr_agents_publish(a, agent, frame);
		omr_agents_monitor_frame(a, agent, frame);
	}
}

void omr_agents_push_new(struct omr_agents *a, const char *agent, json_t *frame)
{
	omr_agents_push(a, agent, frame);
	json_decref(frame);
}

/* ---- websocket ---- */

static int omr_agents_rate_ok(struct omr_agents *a, struct omr_asess *s)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	double rate = (double)cfg->admission.agent_rate, burst = (double)cfg->admission.agent_burst;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double dt = (double)(now.tv_sec - s->last.tv_sec) + (double)(now.tv_nsec - s->last.tv_nsec) / 1e9;
	s->last = now;
	s->tokens += dt * rate;
	if (s->tokens > burst)
		s->tokens = burst;
	if (s->tokens < 1.0)
		return 0;
	s->tokens -= 1.0;
	return 1;
}

static void omr_agents_on_open(void *arg, uint64_t conn, const struct omr_ws_peer *peer)
{
	struct omr_agents *a = arg;
	struct omr_asess *s = omr_calloc(1, sizeof(*s));
	s->conn = conn;
	s->ip = omr_strdup(peer->ip);
	s->tokens = (double)omr_env_cfg(&a->env)->admission.agent_burst;
	clock_gettime(CLOCK_MONOTONIC, &s->last);
	omr_map_put(a->sessions, &s->conn, sizeof(s->conn), s);
	omr_log_debug("agent connection %llu from %s", (unsigned long long)conn, peer->ip);
}

static const struct {
	const char *type;
	void (*fn)(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
} omr_agent_commands[] = {
	{ "presence", omr_agents_presence },
	{ "reply", omr_agents_reply },
	{ "upload", omr_agents_upload },
	{ "upload_chunk", omr_agents_upload_chunk },
	{ "transfer", omr_agents_transfer },
	{ "close", omr_agents_close },
	{ "wrapup", omr_agents_wrapup },
	{ "open", omr_agents_open },
	{ "own", omr_agents_own },
	{ "search", omr_agents_search },
	{ "link", omr_agents_link },
	{ "unlink", omr_agents_unlink },
	{ "note", omr_agents_note },
	{ "typing", omr_agents_typing },
	{ "seen", omr_agents_seen },
	{ "canned", omr_agents_canned },
	{ "canned_save", omr_agents_canned_save },
	{ "canned_delete", omr_agents_canned_delete },
	{ "park", omr_agents_park },
	{ "unpark", omr_agents_unpark },
	{ "parked", omr_agents_parked },
	{ "start", omr_agents_begin },
	{ "take", omr_agents_take },
	{ "agents", omr_agents_directory_page },
	{ "logout", omr_agents_logout },
	/* supervisors (omr_agents_supervisor.c checks the role) */
	{ "monitor", omr_agents_sup_monitor },
	{ "unmonitor", omr_agents_sup_unmonitor },
	{ "whisper", omr_agents_sup_whisper },
	{ "barge", omr_agents_sup_barge },
	{ "reassign", omr_agents_sup_reassign },
	{ "pull", omr_agents_sup_pull },
	{ "agent_presence", omr_agents_sup_presence },
	{ "wallboard", omr_agents_sup_wallboard },
	{ "report", omr_agents_sup_report },
};

static void omr_agents_command(struct omr_agents *a, struct omr_asess *s, const char *type,
			       const json_t *msg)
{
	if (strcmp(type, "ping") == 0) {
		omr_agents_send_new(a, s->conn, json_pack("{s:s}", "type", "pong"));
	} else if (strcmp(type, "auth") == 0) {
		omr_agents_auth(a, s, msg);
	} else if (!s->agent) {
		omr_agents_error(a, s->conn, "auth_required", "log in first", NULL, NULL);
	} else if (strcmp(type, "accept") == 0 || strcmp(type, "reject") == 0) {
		omr_agents_offer_end(a, s, msg, type);
	} else {
		for (size_t i = 0; i < OMR_ARRAY_LEN(omr_agent_commands); i++) {
			if (strcmp(type, omr_agent_commands[i].type) == 0) {
				omr_agent_commands[i].fn(a, s, msg);
				return;
			}
		}
		omr_agents_error(a, s->conn, "unknown_type", "unknown message type", NULL, NULL);
	}
}

static void omr_agents_on_message(void *arg, uint64_t conn, const char *data, size_t len)
{
	struct omr_agents *a = arg;
	struct omr_asess *s = omr_agents_sess(a, conn);
	json_t *msg;
	const char *type;

	if (!s)
		return;
	msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	if (!omr_agents_upload_chunk_free(s, msg) && !omr_agents_rate_ok(a, s)) {
		omr_agents_error(a, conn, "rate_limited", "too many requests, slow down", NULL, NULL);
		json_decref(msg);
		return;
	}
	if (!json_is_object(msg)) {
		omr_agents_error(a, conn, "bad_json", "expected a JSON object", NULL, NULL);
		json_decref(msg);
		return;
	}
	type = json_string_value(json_object_get(msg, "type"));
	if (!type)
		omr_agents_error(a, conn, "bad_type", "missing 'type'", NULL, NULL);
	else
		omr_agents_command(a, s, type, msg);
	json_decref(msg);
}

static void omr_asess_free(void *p)
{
	struct omr_asess *s = p;
	free(s->agent);
	free(s->ip);
	free(s->cred);
	free(s->session_id);
	free(s->wb_last);
	free(s->qi_last);
	omr_upload_free(s->upload);
	json_decref(s->uploads);
	free(s);
}

static void omr_agents_on_close(void *arg, uint64_t conn)
{
	struct omr_agents *a = arg;
	struct omr_asess *s = omr_map_del(a->sessions, &conn, sizeof(conn));
	if (!s)
		return;
	if (s->agent)
		omr_agents_session_closed(a, s);
	omr_asess_free(s);
}

/* ---- after a reload: who may stay ---- */

struct omr_agents_revoke {
	struct omr_agents *a;
	uint64_t *conns;
	size_t n;
};

static int omr_agents_revoke_one(void *arg, const void *key, size_t klen, void *value)
{
	struct omr_agents_revoke *r = arg;
	struct omr_asess *s = value;
	if (s->agent && !omr_agents_auth_valid(r->a, s))
		r->conns[r->n++] = s->conn;
	return 0;
}

/* Sessions of agents that are no longer in the directory (removed or
 * disabled), or whose password or token changed, are closed and the agent
 * is taken offline at once (no grace period): their conversations are
 * requeued. */
void omr_agents_reload(struct omr_agents *a)
{
	struct omr_agents_revoke r = { .a = a };
	omr_agents_auth_reload(a);
	omr_agents_queue_info_reload(a);
	r.conns = omr_calloc(omr_map_count(a->sessions) + 1, sizeof(*r.conns));
	omr_map_foreach(a->sessions, omr_agents_revoke_one, &r);
	for (size_t i = 0; i < r.n; i++) {
		omr_log_warn("agent %s: removed, disabled or credentials changed; logging out "
			     "connection %llu", omr_agents_sess(a, r.conns[i])->agent,
			     (unsigned long long)r.conns[i]);
		omr_agents_kick(a, r.conns[i],
				json_pack("{s:s,s:s,s:s}", "type", "error", "code", "revoked",
					  "message", "your account was changed; log in again"),
				4001, "account revoked", 0);
	}
	free(r.conns);
}

void omr_agents_kick(struct omr_agents *a, uint64_t conn, json_t *frame, int close_code,
		     const char *why, int only_if_gone)
{
	struct omr_asess *s = omr_agents_sess(a, conn);
	if (!s || !s->agent) {
		json_decref(frame);
		return;
	}
	char *agent = omr_strdup(s->agent);
	if (frame)
		omr_agents_send_new(a, conn, frame);
	omr_edge_close(a->edge, conn, close_code, why);
	/* forget the session now: it may not act while it closes */
	omr_map_del(a->sessions, &conn, sizeof(conn));
	omr_agents_session_closed(a, s);
	omr_asess_free(s);
	struct omr_alocal *l = omr_agents_local(a, agent, 0);
	if (!l || !l->sessions)
		omr_agents_offline(a, agent, why, only_if_gone);
	free(agent);
}

/* ---- what the hub brings ---- */

static void omr_agents_hub(void *arg, const struct omr_hub_event *ev)
{
	struct omr_agents *a = arg;
	struct omr_alocal *l;

	if (!a->stopping && ev->type == OMR_HUB_NODE_REJOINED)
		omr_agents_recount(a);
	if (!a->stopping && ev->type == OMR_HUB_REDIS_BACK)
		omr_agents_sync(a);
	if (a->stopping || !ev->agent)
		return;
	switch (ev->type) {
	case OMR_HUB_OFFERED:
		omr_agents_send_offer(a, ev->agent, ev->offer, ev->conversation, ev->frame, ev->at);
		break;
	case OMR_HUB_REVOKED:
		omr_agents_revoked(a, ev->agent, ev->offer, ev->reason);
		break;
	case OMR_HUB_PRESENCE:
		omr_agents_push_new(a, ev->agent,
				    json_pack("{s:s,s:s,s:s}", "type", "presence", "status", ev->status,
					      "reason", ev->reason ? ev->reason : ""));
		break;
	case OMR_HUB_AGENT_RESUME:
		l = omr_agents_local(a, ev->agent, 0);
		if (!l || !l->sessions)
			omr_agents_start_grace(a, ev->agent);
		break;
	case OMR_HUB_TO_AGENT:
		if (ev->frame)
			omr_agents_push(a, ev->agent, ev->frame);
		break;
	case OMR_HUB_UNPARKED:
		if (ev->conversation)
			omr_agents_unparked(a, ev->agent, ev->conversation, ev->reason);
		break;
	default:
		break;
	}
}

/* ---- lifecycle ---- */

static void omr_agents_sync_again(evutil_socket_t fd, short what, void *arg)
{
	omr_agents_sync(arg);
}

struct omr_agents *omr_agents_new(const struct omr_env *env, const struct omr_agents_deps *deps,
				  char **err_r)
{
	static const enum omr_hub_type heard[] = {
		OMR_HUB_OFFERED, OMR_HUB_REVOKED,     OMR_HUB_PRESENCE,
		OMR_HUB_NODE_REJOINED, OMR_HUB_AGENT_RESUME, OMR_HUB_TO_AGENT, OMR_HUB_REDIS_BACK,
		OMR_HUB_UNPARKED,
	};
	struct omr_agents *a = omr_calloc(1, sizeof(*a));
	unsigned char nonce[16];
	a->env = *env;
	if (omr_random_bytes(nonce, sizeof(nonce)) != 0)
		memset(nonce, 0x5a, sizeof(nonce)); /* getrandom failed: still no client's */
	memcpy(a->mark, "omr-text-", 9);
	omr_hex(nonce, sizeof(nonce), a->mark + 9);
	a->edge = deps->edge;
	a->files = deps->files;
	a->media = deps->media;
	a->bus = deps->bus;
	a->channels = deps->channels;
	a->outreach = deps->outreach;
	a->login = deps->login;
	a->sessions = omr_map_new();
	a->locals = omr_map_new();
	a->monitors = omr_map_new();
	a->sup_refusals = omr_audit_refusal_gate("console refusals audited");
	a->sync_ev = evtimer_new(env->base, omr_agents_sync_again, a);
	struct omr_ws_endpoint ep = {
		.path = "/agent",
		.subprotocol = OMR_AGENT_SUBPROTOCOL,
		.max_message = 0, /* edge.max_message */
		.on_open = omr_agents_on_open,
		.on_message = omr_agents_on_message,
		.on_close = omr_agents_on_close,
		.arg = a,
	};
	omr_agents_auth_init(a);
	if (omr_edge_add_endpoint(a->edge, &ep, OMR_EDGE_SAME_ORIGIN, err_r) < 0) {
		omr_agents_free(a);
		return NULL;
	}
	for (size_t i = 0; i < OMR_ARRAY_LEN(heard); i++)
		omr_hub_on(env->hub, heard[i], omr_agents_hub, a);
	return a;
}

void omr_agents_start(struct omr_agents *a)
{
	a->running = 1;
	omr_agents_dir_start(a);
}

void omr_agents_stop(struct omr_agents *a)
{
	a->running = 0;
	a->stopping = 1;
	evtimer_del(a->sync_ev);
	omr_agents_auth_stop(a);
}

void omr_agents_metrics(const struct omr_agents *a, struct omr_buf *b)
{
	omr_metric(b, "agent_sessions", "gauge", "agent console connections on this node",
		   omr_map_count(a->sessions));
	omr_metric(b, "agent_logins_total", "counter", "agent log-ins accepted", a->logins);
	omr_metric(b, "agent_login_failures_total", "counter", "agent log-ins refused",
		   a->login_failures);
	omr_metric(b, "agent_login_busy_total", "counter",
		   "agent log-ins answered 'busy' (password checks queue full)", a->login_busy);
	omr_metric(b, "agent_logins_waited_total", "counter",
		   "accepted log-ins that waited their turn to store their session (at most 64 "
		   "store at once)", a->logins_waited);
	omr_metric(b, "agent_logins_waiting", "gauge",
		   "accepted log-ins waiting their turn now", (unsigned long long)a->logins_waiting);
}

void omr_agents_free(struct omr_agents *a)
{
	if (!a)
		return;
	omr_hub_off(a->env.hub, a);
	omr_agents_auth_free(a);
	omr_map_free(a->sessions, omr_asess_free);
	omr_map_free(a->locals, omr_alocal_free);
	omr_map_free(a->monitors, omr_agents_json_free);
	omr_gate_free(a->sup_refusals);
	event_free(a->sync_ev);
	if (a->wb_ev)
		event_free(a->wb_ev);
	omr_agents_queue_info_free(a);
	json_decref(a->wb_totals);
	free(a);
}
