/*
 * omr_agents_auth: agents log in (omr_agents_int.h).
 *
 * A log-in passes, in order:
 * 1. the address's rate (admission.login, a gate on this node): past it
 *    the answer is "rate_limited" at once, no check is made;
 * 2. the shared throttle in Redis (login_guard.lua): a locked account,
 *    account and address pair, or address is refused at once;
 * 3. the password check (PBKDF2) on the login pool, one at a time per
 *    thread, from a bounded queue of admission.login_queue checks; past it
 *    the answer is "busy, retry". Checks for an account and an address
 *    without recent failures go first, and take the place of a suspect one
 *    when the queue is full; a clean check goes ahead of, and any check
 *    may take the place of the newest of, an account or address that
 *    holds more of the queue than its own would (a flood of one account from many clean addresses, before its
 *    failures mark it suspect), so that a flood of wrong passwords does
 *    not keep real agents waiting. An unknown agent costs no check: it is answered
 *    after about as long as a check takes, so that timing does not tell
 *    which agents exist.
 * A failure is recorded in the shared throttle; a success clears the pair.
 * Tokens (single sign-on) are compared by their SHA-256 at once; they are
 * throttled by address only.
 * With a directory (agents.yaml directory:), a user without a password in
 * the file is checked there instead of by PBKDF2, through the same steps
 * and queue, on a lane of its own of the login pool (so that a directory
 * that hangs until its timeout never holds a local user's check;
 * omr_agents_dir.c decides what they become).
 * Console session tokens (omr_agents_resume.c), which every accepted
 * log-in gets, are throttled by address only too.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "omr_admission.h"
#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_edge.h"
#include "omr_ldap.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_password.h"
#include "omr_store.h"
#include "omr_util.h"
#include "omr_worker.h"

/* A check waiting for, or on, the login pool. */
struct omr_auth_job {
	struct omr_agents *a;
	struct omr_auth_job *next;
	uint64_t conn;
	char *agent;
	char *ip;
	char *ipkey;        /* what the address is counted under (IPv6: its /64) */
	char *hash;         /* NULL: unknown agent, no check (a timer instead) */
	char *password;
	int suspect;        /* the address failed recently: after the others */
	int ok;
	int64_t started_ms;
	int64_t took_ms;
	struct event *delay;
	struct omr_ldap_conf *ldap;  /* set: a directory check (a copy, owned) */
	struct omr_ldap_result res;  /* its answer */
};

static void omr_auth_job_free(struct omr_auth_job *j)
{
	if (j->password) {
		OPENSSL_cleanse(j->password, strlen(j->password));
		free(j->password);
	}
	if (j->delay)
		event_free(j->delay);
	free(j->hash);
	free(j->agent);
	free(j->ip);
	free(j->ipkey);
	omr_ldap_conf_free(j->ldap);
	omr_ldap_result_release(&j->res);
	free(j);
}

/* ---- outcomes ---- */

static void omr_auth_guard_done(void *arg, const redisReply *reply, const char *err)
{
	if (err)
		omr_log_warn("login throttle not updated: %s", err);
}

/* Record the outcome in the shared throttle. */
static void omr_auth_record(struct omr_agents *a, const char *mode, const char *agent,
			    const char *ip, omr_redis_cb cb, void *arg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	char key[64];
	/* a directory matches names whatever their case: so does the account's
	 * count of failures ("Dave" and "dave" are one account to it) */
	char *account = omr_strdup(agent ? agent : "");
	if (cfg->agents->directory)
		for (char *c = account; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	struct omr_lua_login_guard_args g = {
		.mode = mode, .account = account, .address = omr_gate_peer_key(ip, key, sizeof(key)),
		.window = cfg->admission.login_window, .lockout = cfg->admission.login_lockout,
		.max = cfg->admission.login_failures,
	};
	omr_lua_login_guard(a->env.store, &g, cb ? cb : omr_auth_guard_done, arg);
	free(account);
}

/* Log-ins take turns: at most OMR_AUTH_STORING at once hold one, from an
 * accepted credential (or the start of a session resume, whose checks are
 * Redis calls too) until the session is stored (agent_session.lua), and
 * the others wait in order. Thousands of consoles logging in again
 * together (after a restart) would otherwise fill Redis' queue of commands
 * and be refused as "overloaded", with the node's own heartbeat. One waits
 * per connection at most (auth_pending). */
#define OMR_AUTH_STORING 64

struct omr_auth_wait {
	struct omr_auth_wait *next;
	uint64_t conn;
	char *agent;   /* an accepted credential: agent and cred */
	char *cred;
	char *session; /* or a session resume: its token */
};

static void omr_auth_wait_free(struct omr_auth_wait *w)
{
	free(w->agent);
	free(w->cred);
	free(w->session);
	free(w);
}

static void omr_auth_wait(struct omr_agents *a, struct omr_asess *s, struct omr_auth_wait *w)
{
	w->conn = s->conn;
	*a->login_wait_tail = w;
	a->login_wait_tail = &w->next;
	a->logins_waiting++;
	a->logins_waited++;
	s->auth_pending = 1;
}

static int omr_auth_cred_ok(const struct omr_agents *a, const char *agent, const char *cred)
{
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, agent);
	if (!ac || !cred)
		return 0;
	if (strncmp(cred, OMR_AUTH_DIRECTORY_CRED, strlen(OMR_AUTH_DIRECTORY_CRED)) == 0)
		return omr_env_cfg(&a->env)->agents->directory && omr_agent_from_directory(ac);
	return (ac->password && strcmp(ac->password, cred) == 0) ||
	       (ac->token && strcmp(ac->token, cred) == 0);
}

/* have_turn: the caller holds a turn already (a session resume) */
static void omr_auth_accepted(struct omr_agents *a, struct omr_asess *s, const char *agent,
			      const char *cred, int have_turn)
{
	if (!have_turn && a->logins_storing >= OMR_AUTH_STORING) {
		struct omr_auth_wait *w = omr_calloc(1, sizeof(*w));
		w->agent = omr_strdup(agent);
		w->cred = omr_strdup(cred);
		omr_auth_wait(a, s, w);
		return;
	}
	if (!have_turn)
		a->logins_storing++;
	a->logins++;
	free(s->cred);
	s->cred = omr_strdup(cred);
	omr_edge_trust(a->edge, s->conn); /* more than the edge's few frames before a log-in */
	omr_auth_record(a, "ok", agent, s->ip, NULL, NULL);
	omr_agents_login(a, s, agent);
	omr_agents_session_issue(a, s);
}

/* A session resume with a turn of its own, now: the turn is given back
 * by omr_agents_auth_stored once it is answered, or here when it was
 * answered at once. */
static void omr_auth_resume_now(struct omr_agents *a, struct omr_asess *s, const char *session)
{
	a->logins_storing++;
	if (!omr_agents_resume(a, s, session))
		a->logins_storing--;
}

/* The turn of the waiting log-in w (s its connection, still there). */
static void omr_auth_turn(struct omr_agents *a, struct omr_asess *s, struct omr_auth_wait *w)
{
	s->auth_pending = 0;
	if (w->session) {
		omr_auth_resume_now(a, s, w->session);
		return;
	}
	/* a reload meanwhile may have changed or removed the credential: not
	 * a failure of the agent's (the throttle does not count it) */
	if (omr_auth_cred_ok(a, w->agent, w->cred))
		omr_auth_accepted(a, s, w->agent, w->cred, 0);
	else
		omr_agents_error(a, s->conn, "auth_failed", "your account was changed; log in again",
				 NULL, NULL);
}

void omr_agents_auth_stored(struct omr_agents *a)
{
	if (a->logins_storing)
		a->logins_storing--;
	while (a->login_wait && a->logins_storing < OMR_AUTH_STORING) {
		struct omr_auth_wait *w = a->login_wait;
		a->login_wait = w->next;
		if (!a->login_wait)
			a->login_wait_tail = &a->login_wait;
		a->logins_waiting--;
		struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, w->conn);
		if (s && !s->agent)
			omr_auth_turn(a, s, w);
		omr_auth_wait_free(w);
	}
}

void omr_agents_auth_resumed(struct omr_agents *a, struct omr_asess *s, const char *agent,
			     const char *cred)
{
	omr_auth_accepted(a, s, agent, cred, 1);
}

/* A session resume: started now with a turn of its own, or waits. */
static void omr_auth_resume(struct omr_agents *a, struct omr_asess *s, const char *session)
{
	if (a->logins_storing >= OMR_AUTH_STORING) {
		struct omr_auth_wait *w = omr_calloc(1, sizeof(*w));
		w->session = omr_strdup(session);
		omr_auth_wait(a, s, w);
		return;
	}
	omr_auth_resume_now(a, s, session);
}

void omr_agents_auth_locked(struct omr_agents *a, struct omr_asess *s, long long locked_ms)
{
	char *m = omr_asprintf("too many failed log-ins; try again in %lld s",
			       (locked_ms + 999) / 1000);
	s->auth_pending = 0;
	a->login_failures++;
	omr_agents_error(a, s->conn, "locked", m, NULL, NULL);
	free(m);
}

void omr_agents_auth_guard(struct omr_agents *a, const char *mode, const char *agent,
			   const char *ip, omr_redis_cb cb, void *arg)
{
	omr_auth_record(a, mode, agent, ip, cb, arg);
}

static void omr_auth_refused(struct omr_agents *a, struct omr_asess *s, const char *who,
			     const char *agent)
{
	omr_agents_auth_refuse(a, s, who, agent, "auth_failed", "wrong agent, password or token");
}

void omr_agents_auth_refuse(struct omr_agents *a, struct omr_asess *s, const char *who,
			    const char *agent, const char *code, const char *message)
{
	a->login_failures++;
	s->auth_failures++;
	omr_log_info("agent login refused for '%s' from %s (connection %llu, failure %d)", who,
		     s->ip, (unsigned long long)s->conn, s->auth_failures);
	omr_auth_record(a, "fail", agent, s->ip, NULL, NULL);
	omr_agents_error(a, s->conn, code, message, NULL, NULL);
	if (s->auth_failures >= OMR_AGENT_MAX_AUTH_FAILURES)
		omr_edge_close(a->edge, s->conn, 1008, "too many failed logins");
}

/* ---- the password checks ---- */

static void omr_auth_dispatch(struct omr_agents *a);

static void omr_auth_work(void *arg)
{
	struct omr_auth_job *j = arg;
	int64_t t0 = omr_mono_ms();
	if (j->ldap) {
		omr_ldap_login(j->ldap, j->agent, j->password, &j->res);
		return; /* took_ms 0: a directory's time says nothing of PBKDF2's */
	}
	j->ok = omr_password_verify(j->hash, j->password, NULL) == 1;
	j->took_ms = omr_mono_ms() - t0;
}

/* A directory's answer: the user as who they log in, or refused, or the
 * directory could not answer. */
static void omr_auth_dir_finish(struct omr_agents *a, struct omr_asess *s, struct omr_auth_job *j)
{
	const char *why = NULL;
	const struct omr_agent_conf *ac;
	if (j->res.status == OMR_LDAP_UNAVAILABLE) {
		omr_log_warn("directory login for '%s' from %s failed: directory unavailable: %s",
			     j->agent, s->ip, j->res.error ? j->res.error : "");
		omr_agents_error(a, s->conn, "directory_unavailable",
				 "the directory cannot be reached; try again later", NULL, NULL);
		return;
	}
	ac = omr_agents_dir_user(a, j->agent, &j->res, &why);
	if (!ac) {
		omr_log_info("directory login for '%s' from %s refused: %s", j->agent, s->ip, why);
		omr_auth_refused(a, s, j->agent, j->agent);
		return;
	}
	char *cred = omr_asprintf("%s%s", OMR_AUTH_DIRECTORY_CRED, j->res.dn);
	if (strcmp(ac->id, j->agent) != 0) /* as the directory spells it */
		omr_auth_record(a, "ok", j->agent, s->ip, NULL, NULL);
	omr_auth_accepted(a, s, ac->id, cred, 0);
	free(cred);
}

static void omr_auth_finish(struct omr_auth_job *j, int status)
{
	struct omr_agents *a = j->a;
	struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, j->conn);
	if (s) {
		s->auth_pending = 0;
		if (status != OMR_OK) {
			a->login_busy++;
			omr_agents_error(a, s->conn, "busy", "the server is busy, try again", NULL,
					 NULL);
		} else if (j->ldap) {
			omr_auth_dir_finish(a, s, j);
		} else if (j->ok) {
			const struct omr_agent_conf *ac =
				omr_agents_find(omr_env_cfg(&a->env)->agents, j->agent);
			/* the directory may have changed meanwhile (a reload) */
			if (ac && ac->password && strcmp(ac->password, j->hash) == 0)
				omr_auth_accepted(a, s, j->agent, ac->password, 0);
			else
				omr_auth_refused(a, s, j->agent, j->agent);
		} else {
			omr_auth_refused(a, s, j->agent, j->agent);
		}
	}
	omr_auth_job_free(j);
}

static void omr_auth_done(void *arg, int status)
{
	struct omr_auth_job *j = arg;
	struct omr_agents *a = j->a;
	a->auth_running[j->ldap != NULL]--;
	if (status == OMR_OK && j->took_ms > 0) /* what a check costs, for unknown agents */
		a->auth_cost_ms = (a->auth_cost_ms * 7 + j->took_ms) / 8;
	omr_auth_finish(j, status);
	omr_auth_dispatch(a);
}

/* An unknown agent: answered when a check would have been. */
static void omr_auth_delayed(evutil_socket_t fd, short what, void *arg)
{
	struct omr_auth_job *j = arg;
	for (struct omr_auth_job **pj = &j->a->auth_delayed; *pj; pj = &(*pj)->next) {
		if (*pj == j) {
			*pj = j->next;
			break;
		}
	}
	omr_auth_finish(j, OMR_OK);
}

/* Start checks while their lane of the pool has a free thread:
 * unsuspected first, in order within each lane. */
static void omr_auth_dispatch(struct omr_agents *a)
{
	struct omr_auth_job **lists[] = { &a->auth_hi, &a->auth_lo };
	for (size_t l = 0; l < 2; l++) {
		struct omr_auth_job **pj = lists[l];
		while (*pj) {
			struct omr_auth_job *j = *pj;
			int lane = j->ldap != NULL;
			if (a->auth_running[0] >= a->auth_threads[0] &&
			    a->auth_running[1] >= a->auth_threads[1])
				return;
			if (a->auth_running[lane] >= a->auth_threads[lane]) {
				pj = &j->next; /* its lane is full: the other's may go */
				continue;
			}
			*pj = j->next;
			a->auth_queued--;
			if (omr_worker_submit(a->login, omr_auth_work, omr_auth_done, j) != OMR_OK) {
				omr_auth_finish(j, OMR_AGAIN);
				continue;
			}
			a->auth_running[lane]++;
		}
	}
}

/* A queued check: where it is linked from, its place in the queue, in
 * the suspect list or not, and its share: how many queued checks are of
 * its account, or from its address, the larger. */
struct omr_auth_slot {
	struct omr_auth_job **link;
	size_t order;
	size_t share;
	int suspect;
};

static const char *omr_auth_key(const struct omr_auth_job *j, size_t k)
{
	return k ? j->ipkey : j->agent;
}

static int omr_auth_by_order(const void *x, const void *y)
{
	const struct omr_auth_slot *p = x, *q = y;
	return (p->order > q->order) - (p->order < q->order);
}

/* by key k (omr_auth_key), compared as the shares are counted, then by
 * place in the queue */
static int omr_auth_by_key(const void *x, const void *y, size_t k)
{
	const struct omr_auth_slot *p = x, *q = y;
	int c = strcasecmp(omr_auth_key(*p->link, k), omr_auth_key(*q->link, k));
	return c ? c : omr_auth_by_order(x, y);
}

static int omr_auth_by_agent(const void *x, const void *y)
{
	return omr_auth_by_key(x, y, 0);
}

static int omr_auth_by_ip(const void *x, const void *y)
{
	return omr_auth_by_key(x, y, 1);
}

/* The queue as slots in its order (clean ones first), each with its
 * share (malloc'ed, *n_r of them). n log n: the queue may be configured
 * long. */
static struct omr_auth_slot *omr_auth_slots(struct omr_agents *a, size_t *n_r)
{
	struct omr_auth_job **const lists[] = { &a->auth_hi, &a->auth_lo };
	int (*const by[])(const void *, const void *) = { omr_auth_by_agent, omr_auth_by_ip };
	struct omr_auth_slot *v = omr_calloc(a->auth_queued + 1, sizeof(*v));
	size_t n = 0;

	for (size_t l = 0; l < 2; l++) {
		for (struct omr_auth_job **pj = lists[l]; *pj && n <= a->auth_queued;
		     pj = &(*pj)->next) {
			v[n] = (struct omr_auth_slot){ .link = pj, .order = n, .suspect = l == 1 };
			n++;
		}
	}
	for (size_t k = 0; k < 2; k++) {
		qsort(v, n, sizeof(*v), by[k]);
		for (size_t i = 0, e; i < n; i = e + 1) {
			for (e = i; e + 1 < n && strcasecmp(omr_auth_key(*v[e + 1].link, k),
							     omr_auth_key(*v[i].link, k)) == 0; e++)
				;
			for (size_t m = i; m <= e; m++)
				if (v[m].share < e - i + 1)
					v[m].share = e - i + 1;
		}
	}
	qsort(v, n, sizeof(*v), omr_auth_by_order);
	*n_r = n;
	return v;
}

/* j's share were it queued. */
static size_t omr_auth_mine(const struct omr_agents *a, const struct omr_auth_job *j)
{
	const struct omr_auth_job *const lists[] = { a->auth_hi, a->auth_lo };
	size_t account = 1, address = 1;
	for (size_t l = 0; l < 2; l++) {
		for (const struct omr_auth_job *q = lists[l]; q; q = q->next) {
			account += strcasecmp(q->agent, j->agent) == 0;
			address += strcasecmp(q->ipkey, j->ipkey) == 0;
		}
	}
	return account > address ? account : address;
}

/* The queue is full and j comes: a clean check pushes out the newest
 * suspect one; else j pushes out the newest check of the largest share,
 * if that share is larger than j's would be (a suspect j only a suspect
 * one), so that one account or address that floods cannot keep the
 * queue from the others. The one pushed out is answered "busy". 1 if one
 * was. */
static int omr_auth_evict(struct omr_agents *a, const struct omr_auth_job *j)
{
	struct omr_auth_job **pj = &a->auth_lo, **last = NULL;
	if (!j->suspect) {
		for (; *pj; pj = &(*pj)->next)
			last = pj;
	}
	if (!last) {
		size_t n, most = omr_auth_mine(a, j);
		struct omr_auth_slot *v = omr_auth_slots(a, &n);
		for (size_t i = 0; i < n; i++) {
			if ((!j->suspect || v[i].suspect) && v[i].share >= most &&
			    (v[i].share > most || last)) {
				most = v[i].share;
				last = v[i].link; /* the later of equals: the newer */
			}
		}
		free(v);
	}
	if (!last)
		return 0;
	struct omr_auth_job *out = *last;
	*last = out->next;
	a->auth_queued--;
	omr_auth_finish(out, OMR_AGAIN);
	return 1;
}

/* A clean check goes after the other clean ones, but before any of an
 * account or address that holds more of the queue than its own would; a
 * suspect one last. */
static void omr_auth_enqueue(struct omr_agents *a, struct omr_auth_job *j)
{
	struct omr_auth_job **tail = j->suspect ? &a->auth_lo : &a->auth_hi;
	struct omr_auth_slot *v = NULL;
	size_t n = 0, mine = 0;
	int ahead = 0;
	if (!j->suspect && a->auth_hi) {
		mine = omr_auth_mine(a, j);
		v = omr_auth_slots(a, &n);
	}
	for (size_t i = 0; i < n && !v[i].suspect && !ahead; i++) {
		if (v[i].share > mine) {
			tail = v[i].link;
			ahead = 1;
		}
	}
	free(v);
	while (!ahead && *tail)
		tail = &(*tail)->next;
	j->next = *tail;
	*tail = j;
	a->auth_queued++;
	omr_auth_dispatch(a);
}

/* The shared throttle answered for a password log-in. */
static void omr_auth_guarded(void *arg, const redisReply *reply, const char *err)
{
	struct omr_auth_job *j = arg;
	struct omr_agents *a = j->a;
	struct omr_asess *s = a->stopping ? NULL : omr_agents_sess(a, j->conn);
	struct omr_lua_login_guard_reply g;
	int n = err ? -1 : omr_lua_login_guard_reply(reply, &g);

	if (!s) {
		omr_auth_job_free(j);
		return;
	}
	if (n < 1) {
		s->auth_pending = 0;
		omr_agents_error(a, s->conn, "unavailable", "storage unavailable, try again", NULL,
				 NULL);
		omr_auth_job_free(j);
		return;
	}
	if (g.locked_ms > 0) {
		omr_log_info("agent login for '%s' from %s refused: locked (%s)", j->agent, s->ip,
			     g.what ? g.what : "");
		omr_agents_auth_locked(a, s, g.locked_ms);
		omr_auth_job_free(j);
		return;
	}
	j->suspect = g.address_failures + g.account_failures > 0;
	if (!j->hash && !j->ldap) {
		struct timeval tv;
		long long ms = a->auth_cost_ms + (long long)(omr_mono_ms() % 16);
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		j->delay = evtimer_new(a->env.base, omr_auth_delayed, j);
		evtimer_add(j->delay, &tv);
		j->next = a->auth_delayed;
		a->auth_delayed = j;
		return;
	}
	if (a->auth_queued >= (size_t)omr_env_cfg(&a->env)->admission.login_queue &&
	    !omr_auth_evict(a, j)) {
		omr_auth_finish(j, OMR_AGAIN);
		return;
	}
	omr_auth_enqueue(a, j);
}

/* ---- the auth frame ---- */

static int omr_auth_rate_ok(struct omr_agents *a, struct omr_asess *s)
{
	if (omr_gate_take(a->login_gate, s->ip, omr_mono_ms()) == OMR_GATE_OK)
		return 1;
	a->login_failures++;
	omr_agents_error(a, s->conn, "rate_limited", "too many log-in attempts; wait a moment", NULL,
			 NULL);
	return 0;
}

static void omr_auth_token(struct omr_agents *a, struct omr_asess *s, const char *token)
{
	const struct omr_agent_conf *ac = omr_agents_find_token(omr_env_cfg(&a->env)->agents, token);
	if (ac)
		omr_auth_accepted(a, s, ac->id, ac->token, 0);
	else
		omr_auth_refused(a, s, "(token)", NULL);
}

void omr_agents_auth(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_agents_conf *dir = omr_env_cfg(&a->env)->agents;
	const char *agent = json_string_value(json_object_get(msg, "agent"));
	const char *password = json_string_value(json_object_get(msg, "password"));
	const char *token = json_string_value(json_object_get(msg, "token"));
	const json_t *session = json_object_get(msg, "session");

	if (s->agent) {
		omr_agents_error(a, s->conn, "bad_request", "already logged in", NULL, NULL);
		return;
	}
	if (s->auth_pending)
		return; /* one check at a time per connection */
	if (!a->running) {
		omr_agents_error(a, s->conn, "unavailable", "the server is starting or stopping",
				 NULL, NULL);
		return;
	}
	if (!token && !session && (!agent || !password || strlen(password) > 1024 ||
		       !omr_model_key_ok(agent, 64) || strchr(agent, ':'))) {
		omr_agents_error(a, s->conn, "bad_request",
				 "auth needs agent and password, token, or session", NULL, NULL);
		return;
	}
	if (!omr_auth_rate_ok(a, s))
		return;
	if (session && !token) {
		omr_auth_resume(a, s, json_string_value(session));
		return;
	}
	if (token) {
		omr_auth_token(a, s, token);
		return;
	}
	const struct omr_agent_conf *ac = omr_agents_find(dir, agent);
	struct omr_auth_job *j = omr_calloc(1, sizeof(*j));
	j->a = a;
	j->conn = s->conn;
	j->agent = omr_strdup(agent);
	j->ip = omr_strdup(s->ip);
	char key[64];
	j->ipkey = omr_strdup(omr_gate_peer_key(s->ip, key, sizeof(key)));
	j->password = omr_strdup(password);
	j->hash = ac && ac->password ? omr_strdup(ac->password) : NULL;
	/* local users first; a disabled one is nobody, also to the directory */
	if (dir->directory && (!ac || omr_agent_from_directory(ac)) &&
	    !omr_agents_disabled(dir, agent))
		j->ldap = omr_ldap_conf_dup(dir->directory);
	j->started_ms = omr_mono_ms();
	s->auth_pending = 1;
	omr_auth_record(a, "check", agent, s->ip, omr_auth_guarded, j);
}

int omr_agents_auth_valid(const struct omr_agents *a, const struct omr_asess *s)
{
	return s->agent && omr_auth_cred_ok(a, s->agent, s->cred);
}

/* ---- lifecycle ---- */

void omr_agents_auth_init(struct omr_agents *a)
{
	const struct omr_gate_conf *g = &omr_env_cfg(&a->env)->admission.login;
	struct omr_gate_limits l = {
		.rate_per_ip = (double)g->rate_per_ip,
		.burst_per_ip = (double)g->burst_per_ip,
	};
	a->login_gate = omr_gate_new("agent log-ins", &l);
	a->login_wait_tail = &a->login_wait;
	a->dir_users = omr_dir_users_new();
	omr_env_cfg(&a->env)->agents->users = a->dir_users;
	/* the login pool has a thread for each (omr_core_modules.c) */
	a->auth_threads[0] = 1;
	a->auth_threads[1] = OMR_AUTH_DIRECTORY_THREADS;
	a->auth_cost_ms = 100;
}

void omr_agents_auth_reload(struct omr_agents *a)
{
	const struct omr_gate_conf *g = &omr_env_cfg(&a->env)->admission.login;
	struct omr_gate_limits l = {
		.rate_per_ip = (double)g->rate_per_ip,
		.burst_per_ip = (double)g->burst_per_ip,
	};
	omr_gate_set_limits(a->login_gate, &l);
	omr_env_cfg(&a->env)->agents->users = a->dir_users; /* the new file's */
	omr_dir_users_refresh(omr_env_cfg(&a->env)->agents);
}

/* The daemon stops: waiting checks are dropped unanswered (their
 * connections are closing with the edge); the pool itself is stopped by
 * the core, and a running check's answer finds no session. */
void omr_agents_auth_stop(struct omr_agents *a)
{
	struct omr_auth_job *lists[] = { a->auth_hi, a->auth_lo, a->auth_delayed };
	a->auth_hi = a->auth_lo = a->auth_delayed = NULL;
	a->auth_queued = 0;
	while (a->login_wait) {
		struct omr_auth_wait *w = a->login_wait;
		a->login_wait = w->next;
		omr_auth_wait_free(w);
	}
	a->login_wait_tail = &a->login_wait;
	a->logins_waiting = 0;
	for (size_t i = 0; i < OMR_ARRAY_LEN(lists); i++) {
		struct omr_auth_job *j = lists[i];
		while (j) {
			struct omr_auth_job *next = j->next;
			omr_auth_job_free(j); /* a->stopping: nobody is answered */
			j = next;
		}
	}
}

void omr_agents_auth_free(struct omr_agents *a)
{
	omr_agents_auth_stop(a);
	omr_gate_free(a->login_gate);
	if (omr_env_cfg(&a->env)->agents->users == a->dir_users)
		omr_env_cfg(&a->env)->agents->users = NULL;
	omr_dir_users_free(a->dir_users);
}
