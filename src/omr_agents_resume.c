/*
 * omr_agents_resume: console sessions (omr_agents_int.h,
 * docs/agent-protocol.md "Sessions").
 *
 * Every log-in by a credential (password, token, directory) gets a session
 * token: 32 random bytes in base64url, sent once to that connection in a
 * `session` frame. Redis keeps only its SHA-256 (console_session.lua), with
 * the agent, a fingerprint (SHA-256) of the credential it came from, the
 * client's address and when it ends: `sessions.ttl` after the log-in, not
 * extended by use, so a stolen token is good for a bounded time.
 *
 * A console that reloads or reconnects logs in with {"type": "auth",
 * "session": TOKEN}: the address's rate gate and the shared throttle
 * (login_guard.lua, by address, as for tokens) first, then one script that
 * reads the session; no password check. A session whose agent left the
 * directory, or whose credential changed since, is refused like an ended
 * one ("session_expired"), and counted as a failure by the throttle.
 *
 * {"type": "logout"} ends the connection's session and closes it; an
 * admin's revoke (omr_supervise "logout") ends every session of an agent
 * and closes their consoles on every node (a "logout" message on the bus).
 *
 * Everything runs on the main thread; callbacks find their connection
 * again by id (struct omr_areq), as the rest of the gateway does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_bus.h"
#include "omr_config.h"
#include "omr_log.h"
#include "omr_password.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"

/* what omr_token_generate makes: OMR_TOKEN_RANDOM bytes in unpadded base64url */
#define OMR_SESSION_TOKEN_LEN ((OMR_TOKEN_RANDOM * 4 + 2) / 3)

/* SHA-256 of s as 64 hex digits (and a NUL); 0 or -1 */
static int omr_resume_sha256(const char *s, char out[65])
{
	unsigned char d[32];
	if (!EVP_Digest(s, strlen(s), d, NULL, EVP_sha256(), NULL))
		return -1;
	omr_hex(d, sizeof(d), out);
	return 0;
}

/* 1 if token has the shape of one we issue (length, base64url) */
static int omr_resume_token_ok(const char *token)
{
	size_t n = 0;
	if (!token)
		return 0;
	for (; token[n]; n++) {
		char c = token[n];
		if (n >= OMR_SESSION_TOKEN_LEN ||
		    !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return n == OMR_SESSION_TOKEN_LEN;
}

static void omr_resume_script(struct omr_agents *a, const char *mode, const char *id,
			      const char *agent, omr_redis_cb cb, void *arg)
{
	struct omr_lua_console_session_args cs = { .mode = mode, .id = id, .agent = agent };
	omr_lua_console_session(a->env.store, &cs, cb, arg);
}

/* ---- issued at a log-in ---- */

static void omr_resume_issued(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg; /* text: the token, extra: its id */
	struct omr_agents *a = q->a;
	struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, q->conn);
	struct omr_lua_console_session_reply r;

	if (err || omr_lua_console_session_reply(reply, &r) < 4 || !r.tag ||
	    strcmp(r.tag, "ok") != 0) {
		omr_log_warn("agent %s: session token not stored: %s", q->agent,
			     err ? err : "bad reply");
	} else if (s && s->agent && strcmp(s->agent, q->agent) == 0) {
		free(s->session_id);
		s->session_id = omr_strdup(q->extra);
		omr_agents_send_new(a, s->conn,
				    json_pack("{s:s,s:s,s:I}", "type", "session", "session", q->text,
					      "expires_in_ms", (json_int_t)r.left_ms));
	}
	OPENSSL_cleanse(q->text, strlen(q->text));
	omr_areq_free(q);
}

void omr_agents_session_issue(struct omr_agents *a, struct omr_asess *s)
{
	long long ttl = omr_env_cfg(&a->env)->routing->sessions.ttl;
	char id[65], cred[65];
	char *token;

	if (ttl <= 0 || s->session_id || !s->agent)
		return;
	/* a directory log-in's credential is the directory itself (its DN is
	 * not known where the session may be resumed): omr_resume_cred */
	const char *c = s->cred ? s->cred : "";
	if (strncmp(c, OMR_AUTH_DIRECTORY_CRED, strlen(OMR_AUTH_DIRECTORY_CRED)) == 0)
		c = OMR_AUTH_DIRECTORY_CRED;
	token = omr_token_generate(NULL);
	if (!token || omr_resume_sha256(token, id) < 0 || omr_resume_sha256(c, cred) < 0) {
		omr_log_warn("agent %s: no session token (no random bytes)", s->agent);
		free(token);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->text = token;
	q->extra = omr_strdup(id);
	struct omr_lua_console_session_args cs = {
		.mode = "create", .id = id, .agent = s->agent, .cred = cred, .address = s->ip,
		.ttl = ttl,
	};
	omr_lua_console_session(a->env.store, &cs, omr_resume_issued, q);
}

/* ---- a log-in with a session token ---- */

/* The credential of the directory's entry for agent that the session came
 * from (its fingerprint), or NULL: the entry or its credential changed. */
static const char *omr_resume_cred(const struct omr_agents *a, const char *agent, const char *fp)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, agent);
	const char *creds[2] = { ac ? ac->password : NULL, ac ? ac->token : NULL };
	char h[65];
	if (strlen(fp) != 64)
		return NULL;
	/* a directory user: the directory vouched at the log-in, and only it
	 * knows the password; the session's TTL, a logout or a revoke end it.
	 * Only a session the directory vouched for: one from a local password
	 * of an id that became a directory user since is not theirs. */
	if (ac && omr_env_cfg(&a->env)->agents->directory && omr_agent_from_directory(ac))
		return omr_resume_sha256(OMR_AUTH_DIRECTORY_CRED, h) == 0 &&
				       CRYPTO_memcmp(h, fp, 64) == 0 ?
			       OMR_AUTH_DIRECTORY_CRED :
			       NULL;
	for (size_t i = 0; i < OMR_ARRAY_LEN(creds); i++) {
		if (creds[i] && omr_resume_sha256(creds[i], h) == 0 && CRYPTO_memcmp(h, fp, 64) == 0)
			return creds[i];
	}
	return NULL;
}

/* The session of agent with credential fingerprint fp is resumed, or
 * refused (cred NULL); q is freed. */
static void omr_resume_finish(struct omr_areq *q, const char *agent, const char *cred)
{
	struct omr_agents *a = q->a;
	struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, q->conn);
	int accepted = 0;
	if (s) {
		s->auth_pending = 0;
		if (!cred) {
			omr_agents_auth_refuse(a, s, "(session)", NULL, "session_expired",
					       "your session has ended; log in again");
		} else {
			free(s->session_id);
			s->session_id = omr_strdup(q->extra);
			omr_log_info("agent %s: session resumed from %s (connection %llu)", agent,
				     s->ip, (unsigned long long)s->conn);
			/* the turn goes on with the log-in (until its session is stored) */
			omr_agents_auth_resumed(a, s, agent, cred);
			accepted = 1;
		}
	}
	omr_areq_free(q);
	if (!accepted)
		omr_agents_auth_stored(a); /* the turn back */
}

/* A directory user this node has not met: as Redis keeps them (the node
 * they logged in on shared them: omr_agents_dir.c). q->agent: whose,
 * q->text: the session's credential fingerprint. */
static void omr_resume_dir_user(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_dir_users_reply r;
	json_t *e = NULL;
	if (!err && omr_lua_dir_users_reply(reply, &r) >= 2 && r.tag && strcmp(r.tag, "ok") == 0 &&
	    r.users && r.users->type == REDIS_REPLY_ARRAY && r.users->elements == 2) {
		const char *text = omr_reply_str(r.users->element[1]);
		e = text ? json_loads(text, 0, NULL) : NULL;
	}
	if (e && !q->a->stopping)
		omr_agents_dir_learn(q->a, q->agent, e);
	json_decref(e);
	char *agent = omr_strdup(q->agent);
	omr_resume_finish(q, agent, omr_resume_cred(q->a, agent, q->text));
	free(agent);
}

static void omr_resume_looked_up(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg; /* extra: the session's id */
	struct omr_agents *a = q->a;
	struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, q->conn);
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	struct omr_lua_console_session_reply r;
	int n = err ? -1 : omr_lua_console_session_reply(reply, &r);
	int found = n >= 3 && r.tag && r.agent && r.cred && strcmp(r.tag, "ok") == 0;

	if (!s || n < 1) {
		if (s) {
			s->auth_pending = 0;
			omr_agents_error(a, s->conn, "unavailable", "storage unavailable, try again",
					 NULL, NULL);
		}
		omr_areq_free(q);
		omr_agents_auth_stored(a); /* the turn back */
		return;
	}
	if (!found) {
		omr_resume_finish(q, "", NULL);
		return;
	}
	if (!omr_agents_find(dir, r.agent) && dir->directory && omr_agents_id_ok(r.agent)) {
		free(q->agent);
		q->agent = omr_strdup(r.agent);
		free(q->text);
		q->text = omr_strdup(r.cred);
		struct omr_lua_dir_users_args d = { .action = "get", .id = r.agent, .entry = "" };
		omr_lua_dir_users(a->env.store, &d, omr_resume_dir_user, q);
		return;
	}
	omr_resume_finish(q, r.agent, omr_resume_cred(a, r.agent, r.cred));
}

/* The shared throttle answered: looked up unless the address is locked. */
static void omr_resume_guarded(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, q->conn);
	struct omr_lua_login_guard_reply g;
	int n = err ? -1 : omr_lua_login_guard_reply(reply, &g);

	if (!s || n < 1) {
		if (s) {
			s->auth_pending = 0;
			omr_agents_error(a, s->conn, "unavailable", "storage unavailable, try again",
					 NULL, NULL);
		}
		omr_areq_free(q);
		omr_agents_auth_stored(a); /* the turn back */
		return;
	}
	if (g.locked_ms > 0) {
		omr_agents_auth_locked(a, s, g.locked_ms);
		omr_areq_free(q);
		omr_agents_auth_stored(a); /* the turn back */
		return;
	}
	omr_resume_script(a, "check", q->extra, "", omr_resume_looked_up, q);
}

int omr_agents_resume(struct omr_agents *a, struct omr_asess *s, const char *token)
{
	char id[65];
	if (!omr_resume_token_ok(token)) {
		/* not one we issue: no lookup, but a failure for the throttle */
		omr_agents_auth_refuse(a, s, "(session)", NULL, "session_invalid",
				       "session: not a session token; log in again");
		return 0;
	}
	if (omr_resume_sha256(token, id) < 0) {
		omr_agents_error(a, s->conn, "unavailable", "try again", NULL, NULL);
		return 0;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->extra = omr_strdup(id);
	s->auth_pending = 1;
	omr_agents_auth_guard(a, "check", NULL, s->ip, omr_resume_guarded, q);
	return 1;
}

/* ---- logout ---- */

/* The connection logs out: told, closed; its agent goes offline when
 * that was their last console anywhere. */
static void omr_resume_logged_out(struct omr_agents *a, uint64_t conn)
{
	struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, conn);
	if (!s || !s->agent)
		return;
	omr_log_info("agent %s logged out (connection %llu)", s->agent, (unsigned long long)conn);
	omr_agents_kick(a, conn, json_pack("{s:s}", "type", "logged_out"), 1000, "logged out", 1);
}

/* The token is gone (or Redis failed: it ends with its ttl): only now is
 * the console told, so that "logged_out" means the token no longer works. */
static void omr_resume_dropped(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	if (err)
		omr_log_warn("agent %s: session token not removed at logout: %s", q->agent, err);
	omr_resume_logged_out(q->a, q->conn);
	omr_areq_free(q);
}

void omr_agents_logout(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	if (!s->session_id) {
		omr_resume_logged_out(a, s->conn);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	omr_resume_script(a, "drop", s->session_id, "", omr_resume_dropped, q);
}

/* ---- an admin's revoke ---- */

/* This node's consoles of agent are closed (those of a revoke made here:
 * the agent goes offline at once; from the bus: when none is left). */
static void omr_resume_kick_all(struct omr_agents *a, const char *agent, const char *by,
				int here)
{
	struct omr_alocal *l = omr_agents_local(a, agent, 0);
	size_t n = 0, i = 0;
	for (const struct omr_asess *s = l ? l->sessions : NULL; s; s = s->next)
		n++;
	if (!n)
		return;
	uint64_t *conns = omr_calloc(n, sizeof(*conns));
	for (const struct omr_asess *s = l->sessions; s; s = s->next)
		conns[i++] = s->conn;
	for (i = 0; i < n; i++) {
		char *m = omr_asprintf("you were signed out by %s", by && *by ? by : "an admin");
		omr_agents_kick(a, conns[i],
				json_pack("{s:s,s:s,s:s}", "type", "error", "code", "session_revoked",
					  "message", m),
				4001, "signed out by an admin", !here);
		free(m);
	}
	omr_log_info("agent %s: %zu console(s) on this node signed out by %s", agent, n,
		     by && *by ? by : "an admin");
	free(conns);
}

void omr_agents_logout_bus(struct omr_agents *a, const json_t *msg)
{
	const char *agent = json_string_value(json_object_get(msg, "a"));
	if (agent && !a->stopping)
		omr_resume_kick_all(a, agent, json_string_value(json_object_get(msg, "by")), 0);
}

static void omr_resume_revoked(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg; /* agent, by */
	struct omr_agents *a = q->a;
	struct omr_lua_console_session_reply r;

	if (err || omr_lua_console_session_reply(reply, &r) < 5) {
		q->done(q->done_arg, 503, "unavailable", "storage unavailable, try again", NULL);
		omr_areq_free(q);
		return;
	}
	if (omr_bus_needed(a->bus)) {
		json_t *m = json_pack("{s:s,s:s,s:s}", "t", "logout", "a", q->agent, "by", q->by);
		omr_bus_publish(a->bus, m);
		json_decref(m);
	}
	if (!a->stopping)
		omr_resume_kick_all(a, q->agent, q->by, 1);
	omr_log_info("agent %s: %lld session token(s) revoked by %s", q->agent, r.count, q->by);
	q->done(q->done_arg, 200, NULL, NULL, NULL);
	omr_areq_free(q);
}

void omr_agents_revoke_sessions(struct omr_agents *a, const struct omr_supervise *sv,
				omr_supervise_cb cb, void *arg)
{
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	/* a directory user may never have logged in on this node (or since a
	 * restart): their tokens are in Redis all the same, and must go */
	if (!sv->agent || (!omr_agents_find(dir, sv->agent) &&
			   !(dir->directory && omr_agents_id_ok(sv->agent)))) {
		cb(arg, 404, "not_found", "no such agent", NULL);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, NULL);
	q->agent = omr_strdup(sv->agent);
	q->by = omr_strdup(sv->by ? sv->by : "");
	q->done = cb;
	q->done_arg = arg;
	omr_resume_script(a, "revoke", "", sv->agent, omr_resume_revoked, q);
}
