/*
 * omr_agents: see omr_agents.h.
 *
 * Sessions: `sessions` maps a websocket connection id to a struct
 * omr_asess; an authenticated session is also on its agent's list in
 * `locals` (agent id -> struct omr_alocal), which holds the grace timer
 * that runs after the agent's last session on this node closed.
 *
 * Every request is answered after its Redis script returned; callbacks find
 * their session again by connection id, so a session that closed in the
 * meantime is simply not answered (never touched after free).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_bus.h"
#include "omr_core.h"
#include "omr_edge.h"
#include "omr_files.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_password.h"
#include "omr_router.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"
#include "omr_worker.h"

#define OMR_AGENT_SUBPROTOCOL "omniroute.agent.v1"
#define OMR_AGENT_MAX_AUTH_FAILURES 5
#define OMR_AGENT_RATE 20.0     /* frames per second, sustained */
#define OMR_AGENT_BURST 60.0
#define OMR_AGENT_HISTORY 500   /* messages sent with a conversation */
#define OMR_AGENT_EARLIER 20    /* earlier conversations of the customer */
#define OMR_NODE_TTL 15000
#define OMR_NODE_BEAT 5000

struct omr_alocal;

struct omr_asess {
	uint64_t conn;
	char *agent;              /* NULL until authenticated */
	int auth_pending;
	int auth_failures;
	double tokens;
	struct timespec last;
	struct omr_asess *next;   /* on the agent's list */
};

struct omr_alocal {
	struct omr_agents *owner;
	char *id;
	struct omr_asess *sessions;
	struct event *grace;
};

struct omr_agents {
	struct omr_core *core;
	struct omr_map *sessions;   /* conn id -> omr_asess */
	struct omr_map *locals;     /* agent id -> omr_alocal */
	struct omr_worker *worker;
	struct event *beat;
	int started;
	int stopping;
};

/* A pending request: finds its session again by connection id. */
struct omr_areq {
	struct omr_agents *a;
	uint64_t conn;
	char *agent;
	char *conversation;
	char *offer;
	char *client_msg_id;
	char *text;
	char *extra;
	json_t *data;
};

static struct omr_areq *omr_areq_new(struct omr_agents *a, const struct omr_asess *s)
{
	struct omr_areq *q = omr_calloc(1, sizeof(*q));
	q->a = a;
	q->conn = s ? s->conn : 0;
	q->agent = s ? omr_strdup(s->agent) : NULL;
	return q;
}

static void omr_areq_free(struct omr_areq *q)
{
	free(q->agent);
	free(q->conversation);
	free(q->offer);
	free(q->client_msg_id);
	free(q->text);
	free(q->extra);
	json_decref(q->data);
	free(q);
}

static struct omr_asess *omr_agents_sess(struct omr_agents *a, uint64_t conn)
{
	return omr_map_get(a->sessions, &conn, sizeof(conn));
}

/* ---- sending ---- */

/* Every frame to a console passes here: the files this node keeps get
 * their links (omr_files) now, on the node the agent's browser talks to. */
static void omr_agents_send(struct omr_agents *a, uint64_t conn, const json_t *frame)
{
	json_t *out = omr_files_decorate(a->core->files, frame, (int64_t)time(NULL));
	char *s = json_dumps(out ? out : frame, JSON_COMPACT); /* no memory: no links */
	if (s) {
		omr_edge_send(a->core->edge, conn, s, strlen(s));
		free(s);
	}
	json_decref(out);
}

static void omr_agents_send_new(struct omr_agents *a, uint64_t conn, json_t *frame)
{
	omr_agents_send(a, conn, frame);
	json_decref(frame);
}

static void omr_agents_error(struct omr_agents *a, uint64_t conn, const char *code,
			     const char *message, const char *about_key, const char *about)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
	if (about_key && about)
		json_object_set_new(j, about_key, json_string(about));
	omr_agents_send_new(a, conn, j);
}

/* An error about a pending request names what it is about. */
static void omr_agents_error_q(struct omr_areq *q, const char *code, const char *message)
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

void omr_agents_push(struct omr_agents *a, const char *agent, const json_t *frame)
{
	json_t *msg = json_pack("{s:s,s:s,s:O}", "t", "agent", "a", agent, "f", frame);
	if (msg)
		omr_bus_publish(a->core->bus, msg);
	json_decref(msg);
}

static void omr_agents_push_new(struct omr_agents *a, const char *agent, json_t *frame)
{
	omr_agents_push(a, agent, frame);
	json_decref(frame);
}

/* ---- views ---- */

static const char *omr_conf_reason_ok(char *const *list, const char *v)
{
	for (size_t i = 0; list && v && list[i]; i++)
		if (strcmp(list[i], v) == 0)
			return list[i];
	return NULL;
}

/* OFFER of the protocol from a conversation view and its offer hash. */
static json_t *omr_agents_offer_frame(const json_t *conv, const json_t *offer)
{
	json_t *msgs = json_object_get(conv, "messages"), *m, *cust = json_object_get(conv, "customer");
	const char *preview = "";
	size_t i;
	long long expires = json_integer_value(json_object_get(offer, "expires_at"));
	long long left = expires - omr_now_ms();

	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		if (dir && strcmp(dir, "in") == 0) {
			preview = json_string_value(json_object_get(m, "text"));
			break;
		}
	}
	char *cut = omr_strndup(preview ? preview : "", 0);
	if (preview) {
		/* at most 200 bytes, cut at a character boundary */
		size_t n = strlen(preview);
		if (n > 200) {
			n = 200;
			while (n > 0 && ((unsigned char)preview[n] & 0xc0) == 0x80)
				n--;
		}
		free(cut);
		cut = omr_strndup(preview, n);
	}
	json_t *zero = json_integer(0);
	json_t *summary = json_pack(
		"{s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:{s:O,s:O}}", "id", json_object_get(conv, "id"),
		"channel", json_object_get(conv, "channel"), "queue",
		json_object_get(conv, "queue") ? json_object_get(conv, "queue") : json_null(),
		"language", json_object_get(conv, "language") ? json_object_get(conv, "language") : json_null(),
		"priority", json_object_get(conv, "priority") ? json_object_get(conv, "priority") : zero,
		"waiting_since", json_object_get(conv, "queued_at") ? json_object_get(conv, "queued_at") : json_null(),
		"preview", cut, "customer", "id",
		json_object_get(cust, "id") ? json_object_get(cust, "id") : json_null(), "name",
		json_object_get(cust, "name") ? json_object_get(cust, "name") : json_null());
	free(cut);
	json_decref(zero);
	if (!summary)
		return NULL;
	/* handed over by the bot: why, and what the customer wants */
	json_t *handoff = json_object_get(json_object_get(conv, "routing"), "handoff");
	if (json_is_object(handoff))
		json_object_set_new(summary, "routing", json_pack("{s:O}", "handoff", handoff));
	if (json_is_string(json_object_get(conv, "intent")))
		json_object_set(summary, "intent", json_object_get(conv, "intent"));
	if (json_is_object(handoff) && json_object_size(json_object_get(conv, "bot_slots")))
		json_object_set(summary, "bot_slots", json_object_get(conv, "bot_slots"));
	return json_pack("{s:s,s:O,s:I,s:o}", "type", "offer", "offer", json_object_get(offer, "id"),
			 "expires_in_ms", (json_int_t)(left > 0 ? left : 0), "conversation", summary);
}

/* What the agent may send on the conversation's channel: the end of its
 * reply window and the templates for after it (WhatsApp). */
static json_t *omr_agents_decorate(struct omr_agents *a, json_t *conv)
{
	const char *ch = json_string_value(json_object_get(conv, "channel"));
	const struct omr_plugin *p = ch ? omr_core_channel(a->core, ch) : NULL;
	if (!conv || !p || !p->reply_window_ms || json_is_true(json_object_get(conv, "public")))
		return conv; /* no window, or a public thread (answered any time) */
	long long last = json_integer_value(json_object_get(conv, "last_inbound_at"));
	json_object_set_new(conv, "reply_window",
			    json_pack("{s:I,s:I,s:o}", "closes_at", (json_int_t)(last + p->reply_window_ms),
				      "window_ms", (json_int_t)p->reply_window_ms, "templates",
				      p->templates ? json_incref(p->templates) : json_array()));
	return conv;
}

/* ---- welcome: gathers conversations and offers, then sends ---- */

struct omr_welcome {
	struct omr_agents *a;
	uint64_t conn;
	char *agent;
	json_t *frame;
	int pending;
};

static void omr_welcome_finish(struct omr_welcome *w)
{
	if (--w->pending > 0)
		return;
	if (omr_agents_sess(w->a, w->conn))
		omr_agents_send(w->a, w->conn, w->frame);
	json_decref(w->frame);
	free(w->agent);
	free(w);
}

static void omr_welcome_conv_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_welcome *w = arg;
	json_t *conv, *offer;
	if (!err && omr_store_view_parse(reply, &conv, &offer) == 1) {
		const char *st = json_string_value(json_object_get(conv, "status"));
		if (offer) {
			json_t *f = omr_agents_offer_frame(conv, offer);
			if (f) {
				json_object_del(f, "type");
				json_array_append_new(json_object_get(w->frame, "offers"), f);
			}
			json_decref(offer);
			json_decref(conv);
		} else if (st && (strcmp(st, "assigned") == 0 || strcmp(st, "wrapup") == 0)) {
			json_array_append_new(json_object_get(w->frame, "conversations"),
					      omr_agents_decorate(w->a, conv));
		} else {
			json_decref(conv);
		}
	}
	omr_welcome_finish(w);
}

static void omr_welcome_view(struct omr_welcome *w, const char *conv)
{
	char max[16], earlier[16];
	snprintf(max, sizeof(max), "%d", OMR_AGENT_HISTORY);
	snprintf(earlier, sizeof(earlier), "%d", OMR_AGENT_EARLIER);
	const char *argv[] = { conv, w->agent, max, earlier };
	w->pending++;
	omr_store_run(w->a->core->store, OMR_SCRIPT_AGENT_VIEW, omr_welcome_conv_cb, w, 4, argv);
}

static void omr_welcome_offer_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_welcome *w = arg;
	const char *conv = omr_reply_str(reply);
	if (!err && conv)
		omr_welcome_view(w, conv);
	omr_welcome_finish(w);
}

static json_t *omr_agents_agent_info(const struct omr_agent_conf *ac)
{
	json_t *skills = json_object(), *cap = json_object(), *langs = json_array();
	for (size_t i = 0; i < ac->nskills; i++)
		json_object_set_new(skills, ac->skills[i].skill, json_integer(ac->skills[i].level));
	for (size_t i = 0; i < ac->ncapacity; i++)
		json_object_set_new(cap, ac->capacity[i].channel, json_integer(ac->capacity[i].max));
	for (size_t i = 0; ac->languages && ac->languages[i]; i++)
		json_array_append_new(langs, json_string(ac->languages[i]));
	return json_pack("{s:s,s:s,s:s?,s:o,s:o,s:o}", "id", ac->id, "name",
			 ac->name ? ac->name : ac->id, "team", ac->team, "skills", skills,
			 "languages", langs, "capacity", cap);
}

static json_t *omr_agents_directory(const struct omr_config *cfg, const char *except)
{
	json_t *arr = json_array();
	for (size_t i = 0; cfg->agents && i < cfg->agents->nagents; i++) {
		const struct omr_agent_conf *ac = &cfg->agents->agents[i];
		if (except && strcmp(ac->id, except) == 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:s}", "id", ac->id, "name",
						     ac->name ? ac->name : ac->id));
	}
	return arr;
}

static json_t *omr_strlist_json(char *const *list)
{
	json_t *arr = json_array();
	for (size_t i = 0; list && list[i]; i++)
		json_array_append_new(arr, json_string(list[i]));
	return arr;
}

static void omr_agents_welcome(struct omr_agents *a, struct omr_asess *s, const redisReply *reply)
{
	const struct omr_config *cfg = a->core->cfg;
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, s->agent);
	const redisReply *convs = omr_reply_elem(reply, 2), *offers = omr_reply_elem(reply, 3);
	struct omr_welcome *w;
	json_t *queues = json_array();

	if (!ac)
		return;
	for (size_t i = 0; i < cfg->routing->nqueues; i++) {
		const struct omr_queue_conf *q = &cfg->routing->queues[i];
		json_array_append_new(queues, json_pack("{s:s,s:s?}", "name", q->name, "description",
							 q->description));
	}
	w = omr_calloc(1, sizeof(*w));
	w->a = a;
	w->conn = s->conn;
	w->agent = omr_strdup(s->agent);
	w->frame = json_pack("{s:s,s:o,s:{s:s,s:s},s:o,s:o,s:o,s:o,s:[],s:[]}", "type", "welcome",
			     "agent", omr_agents_agent_info(ac), "presence", "status",
			     omr_reply_str(omr_reply_elem(reply, 0)) ? omr_reply_str(omr_reply_elem(reply, 0)) : "away",
			     "reason",
			     omr_reply_str(omr_reply_elem(reply, 1)) ? omr_reply_str(omr_reply_elem(reply, 1)) : "",
			     "reasons", omr_strlist_json(cfg->routing->reasons), "outcomes",
			     omr_strlist_json(cfg->routing->outcomes), "queues", queues, "agents",
			     omr_agents_directory(cfg, s->agent), "conversations", "offers");
	w->pending = 1;
	for (size_t i = 0; convs && convs->type == REDIS_REPLY_ARRAY && i < convs->elements; i++)
		if (omr_reply_str(convs->element[i]))
			omr_welcome_view(w, convs->element[i]->str);
	for (size_t i = 0; offers && offers->type == REDIS_REPLY_ARRAY && i < offers->elements; i++) {
		/* the offer's conversation, then its view (which carries the offer) */
		const char *oid = omr_reply_str(offers->element[i]);
		char *key;
		if (!oid)
			continue;
		key = omr_store_key(a->core->store, "offer:%s", oid);
		w->pending++;
		omr_redis_cmd(omr_store_redis(a->core->store), omr_welcome_offer_cb, w,
			      "HGET %s conversation", key);
		free(key);
	}
	omr_welcome_finish(w);
}

/* ---- sessions ---- */

static struct omr_alocal *omr_agents_local(struct omr_agents *a, const char *agent, int create);

static void omr_agents_grace_fired(evutil_socket_t fd, short what, void *arg)
{
	struct omr_alocal *l = arg;
	omr_log_info("agent %s: no connection for the grace period; going offline", l->id);
	omr_agents_offline(l->owner, l->id, "disconnected", 1);
}

static struct omr_alocal *omr_agents_local(struct omr_agents *a, const char *agent, int create)
{
	struct omr_alocal *l = omr_map_gets(a->locals, agent);
	if (l || !create)
		return l;
	l = omr_calloc(1, sizeof(*l));
	l->owner = a;
	l->id = omr_strdup(agent);
	l->grace = evtimer_new(a->core->base, omr_agents_grace_fired, l);
	omr_map_puts(a->locals, agent, l);
	return l;
}

static void omr_alocal_free(void *p)
{
	struct omr_alocal *l = p;
	event_free(l->grace);
	free(l->id);
	free(l);
}

static void omr_agents_start_grace(struct omr_agents *a, const char *agent)
{
	struct omr_alocal *l = omr_agents_local(a, agent, 1);
	long long ms = a->core->cfg->routing->sessions.grace;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (!l->sessions)
		evtimer_add(l->grace, &tv);
}

static void omr_agents_session_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_asess *s = omr_agents_sess(a, q->conn);

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 4) {
		omr_log_warn("agent %s: cannot record the login: %s", q->agent, err ? err : "bad reply");
		if (s) {
			omr_agents_error(a, q->conn, "unavailable", "storage unavailable, log in again",
					 NULL, NULL);
			omr_edge_close(a->core->edge, q->conn, 1011, "storage unavailable");
		}
		omr_areq_free(q);
		return;
	}
	if (s && s->agent)
		omr_agents_welcome(a, s, reply);
	omr_areq_free(q);
	omr_router_kick(a->core->router);
}

struct omr_auth_job {
	struct omr_agents *a;
	uint64_t conn;
	char *agent;
	char *hash;
	char *password;
	int ok;
};

static void omr_auth_work(void *arg)
{
	struct omr_auth_job *j = arg;
	j->ok = omr_password_verify(j->hash, j->password, NULL) == 1;
}

static void omr_auth_accepted(struct omr_agents *a, struct omr_asess *s, const char *agent)
{
	const struct omr_agent_conf *ac = omr_agents_find(a->core->cfg->agents, agent);
	struct omr_alocal *l = omr_agents_local(a, agent, 1);
	struct omr_areq *q;
	char now[24];

	s->agent = omr_strdup(agent);
	omr_edge_trust(a->core->edge, s->conn);
	s->next = l->sessions;
	l->sessions = s;
	evtimer_del(l->grace);
	omr_log_info("agent %s logged in (connection %llu)", agent, (unsigned long long)s->conn);
	q = omr_areq_new(a, s);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { agent, a->core->node_id, now, "1",
			       ac && ac->name ? ac->name : agent };
	omr_store_run(a->core->store, OMR_SCRIPT_AGENT_SESSION, omr_agents_session_cb, q, 5, argv);
}

static void omr_auth_refused(struct omr_agents *a, struct omr_asess *s, const char *who)
{
	s->auth_failures++;
	omr_log_info("agent login refused for '%s' (connection %llu, failure %d)", who,
		     (unsigned long long)s->conn, s->auth_failures);
	omr_agents_error(a, s->conn, "auth_failed", "wrong agent, password or token", NULL, NULL);
	if (s->auth_failures >= OMR_AGENT_MAX_AUTH_FAILURES)
		omr_edge_close(a->core->edge, s->conn, 1008, "too many failed logins");
}

static void omr_auth_job_free(struct omr_auth_job *j)
{
	OPENSSL_cleanse(j->password, strlen(j->password));
	free(j->password);
	free(j->hash);
	free(j->agent);
	free(j);
}

static void omr_auth_done(void *arg, int status)
{
	struct omr_auth_job *j = arg;
	struct omr_asess *s = j->a->stopping ? NULL : omr_agents_sess(j->a, j->conn);
	if (s) {
		s->auth_pending = 0;
		if (status != OMR_OK)
			omr_agents_error(j->a, s->conn, "busy", "the server is busy, try again", NULL,
					 NULL);
		else if (j->ok)
			omr_auth_accepted(j->a, s, j->agent);
		else
			omr_auth_refused(j->a, s, j->agent);
	}
	omr_auth_job_free(j);
}

static void omr_agents_auth(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_agents_conf *dir = a->core->cfg->agents;
	const char *agent = json_string_value(json_object_get(msg, "agent"));
	const char *password = json_string_value(json_object_get(msg, "password"));
	const char *token = json_string_value(json_object_get(msg, "token"));

	if (s->agent) {
		omr_agents_error(a, s->conn, "bad_request", "already logged in", NULL, NULL);
		return;
	}
	if (s->auth_pending)
		return; /* one check at a time per connection */
	if (token) {
		for (size_t i = 0; dir && i < dir->nagents; i++) {
			const char *t = dir->agents[i].token;
			if (t && omr_ct_equal(t, strlen(t), token, strlen(token))) {
				omr_auth_accepted(a, s, dir->agents[i].id);
				return;
			}
		}
		omr_auth_refused(a, s, "(token)");
		return;
	}
	if (!agent || !password || strlen(password) > 1024) {
		omr_agents_error(a, s->conn, "bad_request", "auth needs agent and password, or token",
				 NULL, NULL);
		return;
	}
	const struct omr_agent_conf *ac = omr_agents_find(dir, agent);
	struct omr_auth_job *j = omr_calloc(1, sizeof(*j));
	j->a = a;
	j->conn = s->conn;
	j->agent = omr_strdup(agent);
	j->password = omr_strdup(password);
	/* An unknown agent is checked against a fixed hash so that the answer
	 * takes as long as for a known one. */
	j->hash = omr_strdup(ac && ac->password ? ac->password
				: "$pbkdf2-sha256$210000$AAAAAAAAAAAAAAAAAAAAAA$"
				  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	if (omr_worker_submit(a->worker, omr_auth_work, omr_auth_done, j) != OMR_OK) {
		omr_agents_error(a, s->conn, "busy", "the server is busy, try again", NULL, NULL);
		omr_auth_job_free(j);
		return;
	}
	s->auth_pending = 1;
}

/* ---- presence ---- */

static void omr_agents_offline_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	const redisReply *withdrawn = omr_reply_elem(reply, 1), *requeued = omr_reply_elem(reply, 2);

	if (err || !tag) {
		omr_log_warn("agent %s: presence not stored: %s", q->agent, err ? err : "bad reply");
		if (q->conn)
			omr_agents_error(a, q->conn, "unavailable", "storage unavailable, try again",
					 NULL, NULL);
		omr_areq_free(q);
		return;
	}
	if (strcmp(tag, "ok") == 0) {
		omr_log_info("agent %s is %s%s%s", q->agent, q->text, q->extra[0] ? ": " : "",
			     q->extra);
		omr_agents_push_new(a, q->agent, json_pack("{s:s,s:s,s:s}", "type", "presence",
							   "status", q->text, "reason", q->extra));
		for (size_t i = 0; withdrawn && i < withdrawn->elements; i++)
			if (omr_reply_str(withdrawn->element[i]))
				omr_agents_revoked(a, q->agent, withdrawn->element[i]->str, "withdrawn");
		for (size_t i = 0; requeued && i < requeued->elements; i++)
			if (omr_reply_str(requeued->element[i]))
				omr_agents_push_new(a, q->agent,
						    json_pack("{s:s,s:s,s:s}", "type", "unassigned",
							      "conversation", requeued->element[i]->str,
							      "reason", "requeued"));
		omr_router_kick(a->core->router);
	}
	omr_areq_free(q);
}

static void omr_agents_set_presence(struct omr_agents *a, const char *agent, uint64_t conn,
				    const char *status, const char *reason, int only_if_gone)
{
	struct omr_areq *q = omr_areq_new(a, NULL);
	char now[24], prefer[24];
	q->conn = conn;
	q->agent = omr_strdup(agent);
	q->text = omr_strdup(status);
	q->extra = omr_strdup(reason ? reason : "");
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	/* a requeued conversation waits for its agent for one more grace period */
	snprintf(prefer, sizeof(prefer), "%lld", a->core->cfg->routing->sessions.grace);
	const char *argv[] = { agent, status, q->extra, now, only_if_gone ? "1" : "0", prefer };
	omr_store_run(a->core->store, OMR_SCRIPT_AGENT_PRESENCE, omr_agents_offline_cb, q, 6, argv);
}

void omr_agents_offline(struct omr_agents *a, const char *agent, const char *reason,
			int only_if_disconnected)
{
	omr_agents_set_presence(a, agent, 0, "offline", reason, only_if_disconnected);
}

void omr_agents_presence_changed(struct omr_agents *a, const char *agent, const char *status,
				 const char *reason)
{
	omr_agents_push_new(a, agent, json_pack("{s:s,s:s,s:s}", "type", "presence", "status",
						status, "reason", reason ? reason : ""));
}

static void omr_agents_presence(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *status = json_string_value(json_object_get(msg, "status"));
	const char *reason = json_string_value(json_object_get(msg, "reason"));
	if (!status || (strcmp(status, "available") && strcmp(status, "away") &&
			strcmp(status, "offline"))) {
		omr_agents_error(a, s->conn, "bad_request", "status: available, away or offline", NULL,
				 NULL);
		return;
	}
	if (reason && strlen(reason) > 200) {
		omr_agents_error(a, s->conn, "bad_request", "reason: at most 200 bytes", NULL, NULL);
		return;
	}
	omr_agents_set_presence(a, s->agent, s->conn, status, reason, 0);
}

/* ---- offers ---- */

void omr_agents_revoked(struct omr_agents *a, const char *agent, const char *offer,
			const char *reason)
{
	omr_agents_push_new(a, agent, json_pack("{s:s,s:s,s:s}", "type", "revoked", "offer", offer,
						"reason", reason));
}

static void omr_agents_offer_view_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	json_t *conv, *offer;
	if (!err && omr_store_view_parse(reply, &conv, &offer) == 1) {
		if (offer) {
			json_t *f = omr_agents_offer_frame(conv, offer);
			if (f)
				omr_agents_push_new(q->a, q->agent, f);
			json_decref(offer);
		}
		json_decref(conv);
	}
	omr_areq_free(q);
}

static void omr_agents_view(struct omr_agents *a, struct omr_areq *q, const char *conv,
			    const char *agent, omr_redis_cb cb)
{
	char max[16], earlier[16];
	snprintf(max, sizeof(max), "%d", OMR_AGENT_HISTORY);
	snprintf(earlier, sizeof(earlier), "%d", OMR_AGENT_EARLIER);
	const char *argv[] = { conv, agent ? agent : "", max, earlier };
	omr_store_run(a->core->store, OMR_SCRIPT_AGENT_VIEW, cb, q, 4, argv);
}

void omr_agents_send_offer(struct omr_agents *a, const char *agent, const char *offer,
			   const char *conversation)
{
	struct omr_areq *q = omr_areq_new(a, NULL);
	q->agent = omr_strdup(agent);
	q->offer = omr_strdup(offer);
	omr_agents_view(a, q, conversation, agent, omr_agents_offer_view_cb);
}

static void omr_agents_assigned_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	json_t *conv;
	if (!err && omr_store_view_parse(reply, &conv, NULL) == 1)
		omr_agents_push_new(q->a, q->agent,
				    json_pack("{s:s,s:o}", "type", "assigned", "conversation",
					      omr_agents_decorate(q->a, conv)));
	else
		omr_log_warn("agent %s: conversation %s accepted but not loaded: %s", q->agent,
			     q->conversation, err ? err : "not found");
	omr_areq_free(q);
}

static void omr_agents_offer_end_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	const char *how = q->text;

	if (err || !tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (strcmp(tag, "gone") == 0) {
		omr_agents_error_q(q, "gone", "the offer expired or was withdrawn");
		omr_agents_revoked(a, q->agent, q->offer, "expired");
	} else if (strcmp(tag, "not_yours") == 0) {
		omr_agents_error_q(q, "not_yours", "this offer is not yours");
	} else if (strcmp(how, "accept") == 0 && reply->elements >= 5) {
		q->conversation = omr_strdup(omr_reply_str(reply->element[1]));
		omr_log_info("agent %s accepted conversation %s", q->agent, q->conversation);
		omr_router_answered(a->core->router, omr_reply_str(reply->element[2]),
				    omr_reply_int(reply->element[3], 0),
				    omr_reply_str(reply->element[4]), q->conversation);
		omr_agents_view(a, q, q->conversation, q->agent, omr_agents_assigned_cb);
		omr_router_kick(a->core->router);
		return;
	} else if (strcmp(how, "accept") == 0) {
		/* it expired just before the accept arrived */
		omr_agents_error_q(q, "gone", "the offer expired");
		omr_agents_revoked(a, q->agent, q->offer, "expired");
		omr_router_kick(a->core->router);
	} else {
		omr_log_info("agent %s declined offer %s", q->agent, q->offer);
		omr_agents_revoked(a, q->agent, q->offer, "rejected");
		omr_router_kick(a->core->router);
	}
	omr_areq_free(q);
}

static void omr_agents_offer_end(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
				 const char *how)
{
	const char *offer = json_string_value(json_object_get(msg, "offer"));
	const struct omr_routing_conf *r = a->core->cfg->routing;
	char now[24], cooldown[24], missed[24];
	struct omr_areq *q;

	if (!offer || !omr_model_key_ok(offer, 64)) {
		omr_agents_error(a, s->conn, "bad_request", "offer: an offer id", NULL, NULL);
		return;
	}
	q = omr_areq_new(a, s);
	q->offer = omr_strdup(offer);
	q->text = omr_strdup(how);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(cooldown, sizeof(cooldown), "%lld", r->offers.reject_cooldown);
	snprintf(missed, sizeof(missed), "%lld", r->offers.max_missed);
	const char *argv[] = { how, offer, s->agent, now, cooldown, missed };
	omr_store_run(a->core->store, OMR_SCRIPT_OFFER_END, omr_agents_offer_end_cb, q, 6, argv);
}

/* ---- conversations ---- */

static const char *omr_agents_conv_arg(struct omr_agents *a, struct omr_asess *s,
				       const json_t *msg)
{
	const char *conv = json_string_value(json_object_get(msg, "conversation"));
	if (!conv || !omr_model_key_ok(conv, 64)) {
		omr_agents_error(a, s->conn, "bad_request", "conversation: a conversation id", NULL,
				 NULL);
		return NULL;
	}
	return conv;
}

static int omr_agents_refused(struct omr_agents *a, struct omr_areq *q, const redisReply *reply,
			      const char *err)
{
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (err || !tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
		return 1;
	}
	if (strcmp(tag, "not_yours") == 0) {
		omr_agents_error_q(q, "not_yours", "this conversation is not assigned to you");
		return 1;
	}
	if (strcmp(tag, "bad_state") == 0) {
		char *m = omr_asprintf("not possible while the conversation is %s",
				       omr_reply_str(omr_reply_elem(reply, 1)) ?
					       omr_reply_str(omr_reply_elem(reply, 1)) : "gone");
		omr_agents_error_q(q, "bad_state", m);
		free(m);
		return 1;
	}
	return 0;
}

static void omr_agents_reply_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));

	if (omr_agents_refused(a, q, reply, err) || reply->elements < 6) {
		omr_areq_free(q);
		return;
	}
	const char *mid = omr_reply_str(reply->element[1]);
	const char *channel = omr_reply_str(reply->element[2]);
	const char *address = omr_reply_str(reply->element[3]);
	const char *thread = omr_reply_str(reply->element[4]);
	const struct omr_agent_conf *ac = omr_agents_find(a->core->cfg->agents, q->agent);
	/* the stored message, so that a resent reply gets the same ack */
	json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, reply->element[5]);
	if (!m)
		m = json_object();
	omr_agents_push_new(a, q->agent, json_pack("{s:s,s:s,s:s,s:o}", "type", "ack",
						   "client_msg_id", q->client_msg_id,
						   "conversation", q->conversation, "message", m));
	if (strcmp(tag, "ok") == 0 && channel && address) {
		struct omr_outbound out = {
			.conversation = q->conversation,
			.message = mid,
			.kind = "message",
			.address = address,
			.thread = thread,
			.author = "agent",
			.author_name = ac && ac->name ? ac->name : q->agent,
			.text = q->text,
			.data = q->data, /* {template: {name, language}} or NULL */
		};
		omr_core_deliver(a->core, channel, &out);
	}
	omr_areq_free(q);
}

static void omr_agents_reply_error(struct omr_agents *a, struct omr_asess *s, const char *msg,
				   const char *conv, const char *cmid)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "code", "bad_request", "message",
			      msg, "conversation", conv);
	if (cmid && omr_model_key_ok(cmid, 64))
		json_object_set_new(j, "client_msg_id", json_string(cmid));
	omr_agents_send_new(a, s->conn, j);
}

static const json_t *omr_agents_template(const struct omr_plugin *p, const char *name)
{
	size_t i;
	json_t *t;
	json_array_foreach(p ? p->templates : NULL, i, t)
		if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
			return t;
	return NULL;
}

static void omr_agents_reply_store(struct omr_areq *q, const char *cmid)
{
	struct omr_agents *a = q->a;
	const struct omr_agent_conf *ac = omr_agents_find(a->core->cfg->agents, q->agent);
	char mid[OMR_ID_MAX], now[24], ttl[24];
	char *tmpl = q->data ? json_dumps(json_object_get(q->data, "template"), JSON_COMPACT) : NULL;
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	snprintf(ttl, sizeof(ttl), "%lld", a->core->cfg->limits.dedup_ttl);
	const char *argv[] = { q->conversation, q->agent, ac && ac->name ? ac->name : q->agent,
			       q->text, cmid, omr_id_new(mid, "m_"), now, ttl, "agent",
			       tmpl ? tmpl : "" };
	omr_store_run(a->core->store, OMR_SCRIPT_REPLY, omr_agents_reply_cb, q, 10, argv);
	free(tmpl);
}

/* The channel's rules, checked before the reply is stored: a template
 * outside the reply window (WhatsApp: 24 hours), the channel's length. */
static void omr_agents_reply_checked(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	const char *channel = omr_reply_str(omr_reply_elem(reply, 0));
	long long last = omr_reply_int(omr_reply_elem(reply, 1), 0);
	const char *pub = omr_reply_str(omr_reply_elem(reply, 2));
	const struct omr_plugin *p = channel ? omr_core_channel(a->core, channel) : NULL;
	/* the window is for private messages; a public comment is answered any time */
	int windowed = p && p->reply_window_ms && !(pub && strcmp(pub, "1") == 0);
	const char *tname = q->extra;

	if (err) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
		goto done;
	}
	if (tname) {
		const json_t *t = omr_agents_template(p, tname);
		if (!t) {
			omr_agents_error_q(q, "bad_request", "this channel has no such template");
			goto done;
		}
		free(q->text);
		q->text = omr_strdup(json_string_value(json_object_get(t, "text")));
		q->data = json_pack("{s:{s:O,s:O}}", "template", "name", json_object_get(t, "name"),
				    "language", json_object_get(t, "language"));
	} else if (windowed && last + p->reply_window_ms < omr_now_ms()) {
		char span[48];
		omr_format_duration(p->reply_window_ms, span, sizeof(span));
		char *m = omr_asprintf("%s takes free-form replies only within %s of the "
				       "customer's last message; send a template", channel, span);
		json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "type", "error", "code",
				      "window_closed", "message", m, "conversation", q->conversation,
				      "client_msg_id", q->client_msg_id, "closed_at",
				      (json_int_t)(last + p->reply_window_ms), "templates",
				      p->templates ? json_incref(p->templates) : json_array());
		omr_agents_send_new(a, q->conn, e);
		free(m);
		goto done;
	}
	if (p && p->text_max && omr_utf8_chars(q->text) > p->text_max) {
		char *m = omr_asprintf("%s takes at most %zu characters", channel, p->text_max);
		omr_agents_error_q(q, "text_too_long", m);
		free(m);
		goto done;
	}
	omr_agents_reply_store(q, q->client_msg_id);
	return;
done:
	omr_areq_free(q);
}

static void omr_agents_reply(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *text = json_string_value(json_object_get(msg, "text"));
	const char *tmpl = json_string_value(json_object_get(msg, "template"));
	const char *cmid = json_string_value(json_object_get(msg, "client_msg_id"));
	struct omr_areq *q;

	if (!conv)
		return;
	if (!cmid || !omr_model_key_ok(cmid, 64) || strchr(cmid, ':')) {
		omr_agents_reply_error(a, s, "client_msg_id: 1-64 printable characters", conv, NULL);
		return;
	}
	if (json_object_get(msg, "template") && (!tmpl || !omr_model_key_ok(tmpl, 64))) {
		omr_agents_reply_error(a, s, "template: a template name", conv, cmid);
		return;
	}
	if (!tmpl && (!text || !*text)) {
		omr_agents_reply_error(a, s, "text: a non-empty string", conv, cmid);
		return;
	}
	if (text && (long long)strlen(text) > a->core->cfg->limits.text_max) {
		omr_agents_reply_error(a, s, "text is too long", conv, cmid);
		return;
	}
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->client_msg_id = omr_strdup(cmid);
	q->text = omr_strdup(text ? text : "");
	q->extra = tmpl ? omr_strdup(tmpl) : NULL;
	char *key = omr_store_key(a->core->store, "conv:%s", conv);
	omr_redis_cmd(omr_store_redis(a->core->store), omr_agents_reply_checked, q,
		      "HMGET %s channel last_inbound_at public", key);
	free(key);
}

static void omr_agents_act_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	const char *act = q->text;

	if (omr_agents_refused(a, q, reply, err)) {
		omr_areq_free(q);
		return;
	}
	if (strcmp(act, "close") == 0) {
		omr_log_info("agent %s closed conversation %s", q->agent, q->conversation);
		omr_agents_push_new(a, q->agent, json_pack("{s:s,s:s,s:s}", "type", "status",
							   "conversation", q->conversation,
							   "status", "wrapup"));
	} else {
		omr_log_info("agent %s: conversation %s %s", q->agent, q->conversation,
			     strcmp(act, "wrapup") == 0 ? "wrapped up" : "transferred");
		if (strcmp(act, "wrapup") == 0 && q->extra)
			omr_router_engage(a->core->router, omr_reply_str(omr_reply_elem(reply, 3)),
					  q->extra, q->conversation);
		omr_agents_push_new(a, q->agent,
				    json_pack("{s:s,s:s,s:s}", "type", "unassigned", "conversation",
					      q->conversation, "reason",
					      strcmp(act, "wrapup") == 0 ? "wrapped_up" : "transferred"));
		omr_router_kick(a->core->router);
	}
	omr_areq_free(q);
}

static void omr_agents_close(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	char now[24];
	struct omr_areq *q;
	if (!conv)
		return;
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup("close");
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { "close", conv, s->agent, now };
	omr_store_run(a->core->store, OMR_SCRIPT_CONV_ACT, omr_agents_act_cb, q, 4, argv);
}

static void omr_agents_wrapup(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_routing_conf *r = a->core->cfg->routing;
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *reason = omr_conf_reason_ok(r->reasons, json_string_value(json_object_get(msg, "reason")));
	const char *outcome = omr_conf_reason_ok(r->outcomes, json_string_value(json_object_get(msg, "outcome")));
	const char *notes = json_string_value(json_object_get(msg, "notes"));
	char now[24], day[16];
	struct omr_areq *q;
	time_t t = time(NULL);
	struct tm tm;

	if (!conv)
		return;
	if (!reason) {
		omr_agents_error(a, s->conn, "bad_reason", "reason: one of the configured contact reasons",
				 "conversation", conv);
		return;
	}
	if (!outcome) {
		omr_agents_error(a, s->conn, "bad_outcome", "outcome: one of the configured outcomes",
				 "conversation", conv);
		return;
	}
	if (notes && strlen(notes) > 4000) {
		omr_agents_error(a, s->conn, "bad_request", "notes: at most 4000 bytes", "conversation",
				 conv);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	json_t *w = json_pack("{s:s,s:s,s:s,s:s,s:I}", "reason", reason, "outcome", outcome, "notes",
			      notes ? notes : "", "agent", s->agent, "at", (json_int_t)omr_now_ms());
	char *wjson = json_dumps(w, JSON_COMPACT);
	json_decref(w);
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup("wrapup");
	q->extra = omr_strdup(outcome);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { "wrapup", conv, s->agent, now, wjson, reason, outcome, day };
	omr_store_run(a->core->store, OMR_SCRIPT_CONV_ACT, omr_agents_act_cb, q, 8, argv);
	free(wjson);
}

static void omr_agents_transfer(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_config *cfg = a->core->cfg;
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *queue = json_string_value(json_object_get(msg, "queue"));
	const char *agent = json_string_value(json_object_get(msg, "agent"));
	const char *note = json_string_value(json_object_get(msg, "note"));
	const struct omr_agent_conf *me = omr_agents_find(cfg->agents, s->agent);
	char now[24], prefer[24], score[32], nid[OMR_ID_MAX];
	struct omr_areq *q;

	if (!conv)
		return;
	if ((queue && agent) || (!queue && !agent)) {
		omr_agents_error(a, s->conn, "bad_request", "transfer to a queue or to an agent",
				 "conversation", conv);
		return;
	}
	if (queue && !omr_routing_queue(cfg->routing, queue)) {
		omr_agents_error(a, s->conn, "unknown_queue", "no such queue", "conversation", conv);
		return;
	}
	if (agent && (!omr_agents_find(cfg->agents, agent) || strcmp(agent, s->agent) == 0)) {
		omr_agents_error(a, s->conn, "unknown_agent", "no such agent (or yourself)",
				 "conversation", conv);
		return;
	}
	if (note && strlen(note) > 4000) {
		omr_agents_error(a, s->conn, "bad_request", "note: at most 4000 bytes", "conversation",
				 conv);
		return;
	}
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup("transfer");
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	/* a transfer to a named agent waits for that agent this long */
	snprintf(prefer, sizeof(prefer), "%lld", cfg->routing->offers.timeout * 6);
	/* a transferred conversation goes to the front of its new queue */
	snprintf(score, sizeof(score), "%lld", (long long)omr_now_ms() - 86400000LL * 365);
	const char *argv[] = { "transfer", conv, s->agent, now, queue ? "queue" : "agent",
			       queue ? queue : agent, omr_id_new(nid, "m_"), note ? note : "",
			       me && me->name ? me->name : s->agent, prefer, score };
	omr_store_run(a->core->store, OMR_SCRIPT_CONV_ACT, omr_agents_act_cb, q, 11, argv);
}

static void omr_agents_open_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	json_t *conv;
	int rc = err ? -2 : omr_store_view_parse(reply, &conv, NULL);
	if (rc == 1)
		omr_agents_send_new(q->a, q->conn,
				    json_pack("{s:s,s:o}", "type", "history", "conversation",
					      omr_agents_decorate(q->a, conv)));
	else if (rc == -1 || rc == 0)
		omr_agents_error(q->a, q->conn, "not_yours",
				 "not one of your conversations or of your customers",
				 "conversation", q->conversation);
	else
		omr_agents_error(q->a, q->conn, "unavailable", "storage unavailable, try again",
				 "conversation", q->conversation);
	omr_areq_free(q);
}

static void omr_agents_open(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	struct omr_areq *q;
	if (!conv)
		return;
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	omr_agents_view(a, q, conv, s->agent, omr_agents_open_cb);
}

/* ---- websocket ---- */

static int omr_agents_rate_ok(struct omr_asess *s)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double dt = (double)(now.tv_sec - s->last.tv_sec) + (double)(now.tv_nsec - s->last.tv_nsec) / 1e9;
	s->last = now;
	s->tokens += dt * OMR_AGENT_RATE;
	if (s->tokens > OMR_AGENT_BURST)
		s->tokens = OMR_AGENT_BURST;
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
	s->tokens = OMR_AGENT_BURST;
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
	{ "transfer", omr_agents_transfer },
	{ "close", omr_agents_close },
	{ "wrapup", omr_agents_wrapup },
	{ "open", omr_agents_open },
};

static void omr_agents_on_message(void *arg, uint64_t conn, const char *data, size_t len)
{
	struct omr_agents *a = arg;
	struct omr_asess *s = omr_agents_sess(a, conn);
	json_t *msg;
	const char *type;

	if (!s)
		return;
	if (!omr_agents_rate_ok(s)) {
		omr_agents_error(a, conn, "rate_limited", "too many requests, slow down", NULL, NULL);
		return;
	}
	msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(msg)) {
		omr_agents_error(a, conn, "bad_json", "expected a JSON object", NULL, NULL);
		json_decref(msg);
		return;
	}
	type = json_string_value(json_object_get(msg, "type"));
	if (!type) {
		omr_agents_error(a, conn, "bad_type", "missing 'type'", NULL, NULL);
	} else if (strcmp(type, "ping") == 0) {
		omr_agents_send_new(a, conn, json_pack("{s:s}", "type", "pong"));
	} else if (strcmp(type, "auth") == 0) {
		omr_agents_auth(a, s, msg);
	} else if (!s->agent) {
		omr_agents_error(a, conn, "auth_required", "log in first", NULL, NULL);
	} else if (strcmp(type, "accept") == 0 || strcmp(type, "reject") == 0) {
		omr_agents_offer_end(a, s, msg, type);
	} else {
		size_t i;
		for (i = 0; i < OMR_ARRAY_LEN(omr_agent_commands); i++) {
			if (strcmp(type, omr_agent_commands[i].type) == 0) {
				omr_agent_commands[i].fn(a, s, msg);
				break;
			}
		}
		if (i == OMR_ARRAY_LEN(omr_agent_commands))
			omr_agents_error(a, conn, "unknown_type", "unknown message type", NULL, NULL);
	}
	json_decref(msg);
}

static void omr_agents_gone_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	if (err)
		omr_log_warn("agent %s: disconnect not recorded: %s", q->agent, err);
	else if (omr_reply_int(omr_reply_elem(reply, 0), 1) == 0)
		omr_agents_start_grace(q->a, q->agent);
	omr_areq_free(q);
}

static void omr_agents_on_close(void *arg, uint64_t conn)
{
	struct omr_agents *a = arg;
	struct omr_asess *s = omr_map_del(a->sessions, &conn, sizeof(conn));
	if (!s)
		return;
	if (s->agent) {
		struct omr_alocal *l = omr_agents_local(a, s->agent, 0);
		for (struct omr_asess **ps = l ? &l->sessions : NULL; ps && *ps; ps = &(*ps)->next) {
			if (*ps == s) {
				*ps = s->next;
				break;
			}
		}
		omr_log_info("agent %s disconnected (connection %llu)", s->agent,
			     (unsigned long long)conn);
		if (a->core->state != OMR_CORE_STOPPING) {
			struct omr_areq *q = omr_areq_new(a, s);
			char now[24];
			snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
			const char *argv[] = { s->agent, a->core->node_id, now, "-1", "" };
			omr_store_run(a->core->store, OMR_SCRIPT_AGENT_SESSION, omr_agents_gone_cb, q, 5,
				      argv);
		}
	}
	free(s->agent);
	free(s);
}

/* ---- node heartbeat ---- */

static void omr_agents_beat_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_agents *a = arg;
	if (err) {
		omr_log_warn("node heartbeat not stored: %s", err);
		return;
	}
	/* at start: agents this node served before; they get their grace */
	for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
		const char *agent = omr_reply_str(reply->element[i]);
		struct omr_alocal *l = agent ? omr_agents_local(a, agent, 0) : NULL;
		if (agent && (!l || !l->sessions))
			omr_agents_start_grace(a, agent);
	}
}

static void omr_agents_beat(struct omr_agents *a, int start)
{
	char ttl[24], now[24];
	snprintf(ttl, sizeof(ttl), "%d", OMR_NODE_TTL);
	snprintf(now, sizeof(now), "%lld", (long long)omr_now_ms());
	const char *argv[] = { a->core->node_id, ttl, start ? "1" : "0", now };
	omr_store_run(a->core->store, OMR_SCRIPT_NODE_ALIVE, omr_agents_beat_cb, a, 4, argv);
}

static void omr_agents_beat_timer(evutil_socket_t fd, short what, void *arg)
{
	omr_agents_beat(arg, 0);
}

void omr_agents_online(struct omr_agents *a)
{
	struct timeval tv = { OMR_NODE_BEAT / 1000, 0 };
	if (a->started)
		return;
	a->started = 1;
	omr_agents_beat(a, 1);
	event_add(a->beat, &tv);
}

struct omr_agents *omr_agents_new(struct omr_core *core, char **err_r)
{
	struct omr_agents *a = omr_calloc(1, sizeof(*a));
	a->core = core;
	a->sessions = omr_map_new();
	a->locals = omr_map_new();
	struct omr_worker_opts wo = { .name = "login", .threads = 1, .max_queued = 32 };
	a->worker = omr_worker_new(core->base, &wo);
	a->beat = event_new(core->base, -1, EV_PERSIST, omr_agents_beat_timer, a);
	struct omr_ws_endpoint ep = {
		.path = "/agent",
		.subprotocol = OMR_AGENT_SUBPROTOCOL,
		.max_message = 0, /* edge.max_message */
		.on_open = omr_agents_on_open,
		.on_message = omr_agents_on_message,
		.on_close = omr_agents_on_close,
		.arg = a,
	};
	if (omr_edge_add_endpoint(core->edge, &ep, OMR_EDGE_SAME_ORIGIN, err_r) < 0) {
		omr_agents_free(a);
		return NULL;
	}
	return a;
}

static void omr_asess_free(void *p)
{
	struct omr_asess *s = p;
	free(s->agent);
	free(s);
}

void omr_agents_free(struct omr_agents *a)
{
	if (!a)
		return;
	a->stopping = 1;
	omr_worker_free(a->worker);
	event_free(a->beat);
	omr_map_free(a->sessions, omr_asess_free);
	omr_map_free(a->locals, omr_alocal_free);
	free(a);
}
