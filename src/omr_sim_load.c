/*
 * omr_sim_load: the recording a simulation replays, read from Redis with a
 * blocking hiredis connection of its own (the daemon is not involved), and
 * only with read commands (omr_sim_cmd refuses any other): the conversations
 * of the window from the index `convs` (ZRANGEBYSCORE), each one's hash, its
 * first message and its customer (pipelined), and agents:history (XRANGE,
 * in pages). The parsers of what comes back are pure (fuzz_sim).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_redis.h"
#include "omr_sim_int.h"
#include "omr_util.h"

#define OMR_SIM_BATCH 256     /* conversations per pipeline */
#define OMR_SIM_PAGE "10000"  /* history entries per XRANGE */
#define OMR_SIM_TIMEOUT 30    /* s a reply may take */

/* ---- parsers ---- */

static int omr_sim_int(const char *s, long long *v_r)
{
	return s && *s && omr_parse_ll(s, v_r) == 0 && *v_r >= 0 ? 0 : -1;
}

int omr_sim_parse_when(const char *s, int end, long long *ms_r)
{
	struct tm tm;
	char *rest;

	if (!s || !*s)
		return -1;
	if (strspn(s, "0123456789") == strlen(s))
		return omr_sim_int(s, ms_r);
	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%d", &tm);
	if (!rest || strlen(s) < 10 || tm.tm_year < 70 || tm.tm_year > 1100)
		return -1;
	if (*rest == '\0') {
		*ms_r = ((long long)timegm(&tm) + (end ? 86400 : 0)) * 1000;
		return 0;
	}
	rest = strptime(rest, "T%H:%M", &tm);
	if (rest && *rest == ':')
		rest = strptime(rest, ":%S", &tm);
	if (!rest || strcmp(rest, "Z") != 0)
		return -1;
	*ms_r = (long long)timegm(&tm) * 1000;
	return 0;
}

static const char *omr_sim_get(const char *const *kv, size_t n, const char *field)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		if (kv[i] && strcmp(kv[i], field) == 0)
			return kv[i + 1] ? kv[i + 1] : "";
	return NULL;
}

/* an optional time field: absent or '' is 0 */
static int omr_sim_time(const char *const *kv, size_t n, const char *field, long long *v_r,
			char **err_r)
{
	const char *s = omr_sim_get(kv, n, field);
	*v_r = 0;
	if (!s || !*s)
		return 0;
	if (omr_sim_int(s, v_r) == 0)
		return 0;
	*err_r = omr_asprintf("%s: not a time in ms", field);
	return -1;
}

static json_t *omr_sim_json(const char *const *kv, size_t n, const char *field)
{
	const char *s = omr_sim_get(kv, n, field);
	return s && *s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
}

static const char *omr_sim_str(const json_t *o, const char *field)
{
	const char *s = json_string_value(json_object_get(o, field));
	return s ? s : "";
}

static int omr_sim_conv_times(const char *const *kv, size_t n, struct omr_sim_conv *c,
			      char **err_r)
{
	long long assigned, handoff, ended;
	if (omr_sim_time(kv, n, "created_at", &c->created_at, err_r) < 0 ||
	    omr_sim_time(kv, n, "queued_at", &c->queued_at, err_r) < 0 ||
	    omr_sim_time(kv, n, "answered_at", &c->answered_at, err_r) < 0 ||
	    omr_sim_time(kv, n, "assigned_at", &assigned, err_r) < 0 ||
	    omr_sim_time(kv, n, "ended_at", &ended, err_r) < 0 ||
	    omr_sim_time(kv, n, "closed_at", &c->closed_at, err_r) < 0 ||
	    omr_sim_time(kv, n, "bot_at", &c->bot_at, err_r) < 0 ||
	    omr_sim_time(kv, n, "handoff_at", &handoff, err_r) < 0)
		return -1;
	if (!c->created_at) {
		*err_r = omr_strdup("created_at: missing");
		return -1;
	}
	/* recorded before answered_at existed: the last accept */
	if (!c->answered_at)
		c->answered_at = assigned;
	/* with the bot first: it reached people at the hand-off, if ever */
	if (c->bot_at)
		c->queued_at = handoff;
	c->ended_at = ended ? ended : c->closed_at;
	if (c->answered_at && c->ended_at < c->answered_at)
		c->ended_at = 0; /* still with an agent */
	return 0;
}

int omr_sim_conv_parse(const char *const *kv, const size_t *lens, size_t n,
		       struct omr_sim_conv *c, char **err_r)
{
	const char *id = omr_sim_get(kv, n, "id"), *chan = omr_sim_get(kv, n, "channel");
	const char *status = omr_sim_get(kv, n, "status");

	memset(c, 0, sizeof(*c));
	c->repeat = -1;
	for (size_t i = 0; lens && i < n; i++)
		if (kv[i] && strlen(kv[i]) != lens[i]) {
			*err_r = omr_strdup("a field holds a NUL byte");
			return -1;
		}
	if (!id || !*id || !chan || !*chan) {
		*err_r = omr_strdup("no id or channel");
		return -1;
	}
	if (!status || strcmp(status, "new") == 0) {
		*err_r = omr_strdup("not routed");
		return -1;
	}
	if (omr_sim_conv_times(kv, n, c, err_r) < 0)
		return -1;
	c->id = omr_strdup(id);
	c->channel = omr_strdup(chan);
	c->queue = omr_strdup(omr_sim_get(kv, n, "queue") ? omr_sim_get(kv, n, "queue") : "");
	c->customer = omr_strdup(omr_sim_get(kv, n, "customer") ? omr_sim_get(kv, n, "customer")
								 : "");
	c->routing = omr_sim_json(kv, n, "routing");
	if (!json_is_object(c->routing)) {
		json_decref(c->routing);
		c->routing = NULL;
	}
	c->balance = json_integer_value(json_object_get(c->routing, "balance"));
	json_t *rep = json_object_get(c->routing, "repeat");
	if (json_is_boolean(rep))
		c->repeat = json_is_true(rep);
	c->automatic = strncmp(omr_sim_str(c->routing, "treatment"), "answered automatically",
			       22) == 0;
	json_t *wrapup = omr_sim_json(kv, n, "wrapup");
	c->left = json_is_true(json_object_get(wrapup, "left")) && !c->answered_at;
	json_decref(wrapup);
	json_t *attrs = omr_sim_json(kv, n, "attrs");
	const char *address = omr_sim_get(kv, n, "address"), *pub = omr_sim_get(kv, n, "public");
	c->conv = json_pack("{s:s,s:s,s:s,s:b,s:o,s:[]}", "id", c->id, "channel", c->channel,
			    "address", address ? address : "", "public", pub && strcmp(pub, "1") == 0,
			    "attrs", json_is_object(attrs) ? json_incref(attrs) : json_object(),
			    "messages");
	json_decref(attrs);
	if (!c->conv) {
		omr_sim_conv_release(c);
		*err_r = omr_strdup("not UTF-8");
		return -1;
	}
	return 0;
}

void omr_sim_conv_set_text(struct omr_sim_conv *c, const char *text)
{
	json_t *m = json_pack("{s:s,s:s}", "direction", "in", "text", text ? text : "");
	if (m)
		json_array_append_new(json_object_get(c->conv, "messages"), m);
}

void omr_sim_conv_set_customer(struct omr_sim_conv *c, const char *const *kv, size_t n)
{
	static const char *const fields[] = { "id", "name", "email", "claimed_email", "last_agent",
					      NULL };
	json_t *cust = json_object();
	long long last = 0;
	for (int k = 0; fields[k]; k++) {
		const char *v = omr_sim_get(kv, n, fields[k]);
		json_t *s = v ? json_string(v) : NULL;
		if (s)
			json_object_set_new(cust, fields[k], s);
	}
	/* as it was when routed: the balance the routing recorded, and a
	 * repeat contact if it recorded one (older recordings: the customer's
	 * last close, if it came before) */
	json_object_set_new(cust, "balance", json_integer(c->balance));
	if (c->repeat >= 0)
		last = c->repeat ? c->created_at - 1 : 0;
	else {
		char *why = NULL;
		if (omr_sim_time(kv, n, "last_closed_at", &last, &why) < 0 || last >= c->created_at)
			last = 0;
		free(why);
	}
	json_object_set_new(cust, "last_closed_at", json_integer(last));
	json_object_set_new(c->conv, "customer_profile", cust);
}

void omr_sim_conv_release(struct omr_sim_conv *c)
{
	free(c->id);
	free(c->channel);
	free(c->queue);
	free(c->customer);
	json_decref(c->conv);
	json_decref(c->routing);
	memset(c, 0, sizeof(*c));
}

int omr_sim_change_parse(const char *const *kv, size_t n, const struct omr_agents_conf *dir,
			 struct omr_sim_change *ch, char **err_r)
{
	static const char *const names[] = { "offline", "away", "available" };
	const char *agent = omr_sim_get(kv, n, "agent"), *p = omr_sim_get(kv, n, "presence");
	const struct omr_agent_conf *a;

	memset(ch, 0, sizeof(*ch));
	if (omr_sim_int(omr_sim_get(kv, n, "at"), &ch->at) < 0 || !agent || !p) {
		*err_r = omr_strdup("not an entry of the history (at, agent, presence)");
		return -1;
	}
	ch->presence = -1;
	for (int k = 0; k < 3; k++)
		if (strcmp(p, names[k]) == 0)
			ch->presence = k;
	if (ch->presence < 0) {
		*err_r = omr_strdup("presence: offline, away or available");
		return -1;
	}
	a = dir ? omr_agents_find(dir, agent) : NULL;
	if (!a)
		return 1;
	ch->agent = (int)(a - dir->agents);
	return 0;
}

/* ---- reading Redis ---- */

struct omr_sim_conn {
	redisContext *c;
	char *prefix;   /* "omr:{main}:" */
	size_t sent;    /* commands appended, not yet read */
};

/* Only these: the simulation never writes (a test checks the keyspace). */
static int omr_sim_readonly(const char *cmd)
{
	static const char *const ok[] = { "AUTH", "SELECT", "ZRANGEBYSCORE", "HGETALL", "HMGET",
					  "LRANGE", "XRANGE", NULL };
	for (int k = 0; ok[k]; k++)
		if (strcasecmp(cmd, ok[k]) == 0)
			return 1;
	return 0;
}

static int omr_sim_append(struct omr_sim_conn *s, int argc, const char **argv, char **err_r)
{
	if (!omr_sim_readonly(argv[0])) {
		*err_r = omr_asprintf("refusing %s: the simulation only reads", argv[0]);
		return -1;
	}
	if (redisAppendCommandArgv(s->c, argc, argv, NULL) != REDIS_OK) {
		*err_r = omr_asprintf("redis: %s", s->c->errstr);
		return -1;
	}
	s->sent++;
	return 0;
}

/* the next reply (owned by the caller), or NULL with *err_r */
static redisReply *omr_sim_reply(struct omr_sim_conn *s, char **err_r)
{
	void *r = NULL;
	s->sent--;
	if (redisGetReply(s->c, &r) != REDIS_OK || !r) {
		*err_r = omr_asprintf("redis: %s", s->c->errstr[0] ? s->c->errstr : "no reply");
		return NULL;
	}
	if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
		*err_r = omr_asprintf("redis: %s", ((redisReply *)r)->str);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* what a failed pipeline left unread (nothing is read after a failure) */
static void omr_sim_drain(struct omr_sim_conn *s)
{
	while (s->sent) {
		char *why = NULL;
		redisReply *r = omr_sim_reply(s, &why);
		free(why);
		if (!r && s->c->err)
			break;
		freeReplyObject(r);
	}
}

static redisReply *omr_sim_cmd(struct omr_sim_conn *s, int argc, const char **argv,
			       char **err_r)
{
	return omr_sim_append(s, argc, argv, err_r) < 0 ? NULL : omr_sim_reply(s, err_r);
}

static int omr_sim_connect(const struct omr_config *cfg, struct omr_sim_conn *s, char **err_r)
{
	struct omr_redis_target t = { 0 };
	struct timeval tv = { OMR_SIM_TIMEOUT, 0 };
	char *sock = NULL, db[16];

	if (cfg->redis.sentinels || cfg->redis.cluster) {
		*err_r = omr_strdup("--simulate reads a Redis named by redis.url or the embedded "
				    "one; with Sentinel or Cluster, point redis.url of a copy of "
				    "the file at a replica");
		return -1;
	}
	if (cfg->redis.embedded) {
		sock = omr_asprintf("%s/redis.sock", cfg->paths.state_dir);
		s->c = redisConnectUnixWithTimeout(sock, tv);
	} else if (omr_redis_target_parse(cfg->redis.url, &t, err_r) < 0) {
		return -1;
	} else {
		s->c = t.host ? redisConnectWithTimeout(t.host, t.port, tv)
			      : redisConnectUnixWithTimeout(t.path, tv);
	}
	free(sock);
	if (!s->c || s->c->err) {
		*err_r = omr_asprintf("cannot connect to Redis: %s",
				      s->c ? s->c->errstr : "out of memory");
		omr_redis_target_free(&t);
		return -1;
	}
	redisSetTimeout(s->c, tv);
	const char *pw = t.password ? t.password : cfg->redis.password;
	redisReply *r = NULL;
	int ok = 1;
	if (pw) {
		const char *argv[] = { "AUTH", pw };
		ok = (r = omr_sim_cmd(s, 2, argv, err_r)) != NULL;
		freeReplyObject(r);
	}
	snprintf(db, sizeof(db), "%d", t.db);
	if (ok && t.db) {
		const char *argv[] = { "SELECT", db };
		ok = (r = omr_sim_cmd(s, 2, argv, err_r)) != NULL;
		freeReplyObject(r);
	}
	omr_redis_target_free(&t);
	s->prefix = omr_asprintf("%s:{%s}:", cfg->redis.prefix, cfg->redis.site);
	return ok ? 0 : -1;
}

/* field/value strings of a flat array reply (borrowed from it) */
static const char **omr_sim_kv(const redisReply *r, size_t **lens_r, size_t *n_r)
{
	size_t n = r && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
	const char **kv = omr_calloc(n + 1, sizeof(*kv));
	size_t *lens = omr_calloc(n + 1, sizeof(*lens));
	for (size_t i = 0; i < n; i++) {
		kv[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
		lens[i] = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->len : 0;
	}
	*n_r = n;
	if (lens_r)
		*lens_r = lens;
	else
		free(lens);
	return kv;
}

/* Phase 2 of a batch: each conversation's first message and customer. */
static int omr_sim_details(struct omr_sim_conn *s, struct omr_sim_conv *cs, size_t n,
			   const redisReply **firsts, char **err_r)
{
	for (size_t i = 0; i < n; i++) {
		const char *mid = firsts[i] && firsts[i]->elements ? firsts[i]->element[0]->str : "";
		char *mkey = omr_asprintf("%smsg:%s", s->prefix, mid ? mid : "");
		char *ckey = omr_asprintf("%scust:%s", s->prefix, cs[i].customer);
		const char *hm[] = { "HMGET", mkey, "direction", "text" }, *hg[] = { "HGETALL", ckey };
		int rc = omr_sim_append(s, 4, hm, err_r) < 0 || omr_sim_append(s, 2, hg, err_r) < 0;
		free(mkey);
		free(ckey);
		if (rc)
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *m = omr_sim_reply(s, err_r), *cu = m ? omr_sim_reply(s, err_r) : NULL;
		if (!cu) {
			freeReplyObject(m);
			return -1;
		}
		const char *dir = m->elements == 2 ? m->element[0]->str : NULL;
		omr_sim_conv_set_text(&cs[i], dir && strcmp(dir, "in") == 0 ? m->element[1]->str : "");
		size_t nkv;
		const char **kv = omr_sim_kv(cu, NULL, &nkv);
		omr_sim_conv_set_customer(&cs[i], kv, nkv);
		free(kv);
		freeReplyObject(m);
		freeReplyObject(cu);
	}
	return 0;
}

/* One pipeline: the hashes and first message ids of the conversations
 * of a ZRANGEBYSCORE ... WITHSCORES reply, elements 2 * at, 2 * (at + 1), ... */
static int omr_sim_batch(struct omr_sim_conn *s, const redisReply *ids, size_t at, size_t n,
			 struct omr_sim_data *d, char **err_r)
{
	redisReply **hs = omr_calloc(n, sizeof(*hs)), **ms = omr_calloc(n, sizeof(*ms));
	struct omr_sim_conv *cs = omr_calloc(n, sizeof(*cs));
	size_t ok = 0;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		char *k = omr_asprintf("%sconv:%s", s->prefix, ids->element[2 * (at + i)]->str);
		char *l = omr_asprintf("%s:msgs", k);
		const char *hg[] = { "HGETALL", k }, *lr[] = { "LRANGE", l, "0", "0" };
		int bad = omr_sim_append(s, 2, hg, err_r) < 0 || omr_sim_append(s, 4, lr, err_r) < 0;
		free(k);
		free(l);
		if (bad)
			goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!(hs[i] = omr_sim_reply(s, err_r)) || !(ms[i] = omr_sim_reply(s, err_r)))
			goto out;
	const redisReply **firsts = omr_calloc(n, sizeof(*firsts));
	for (size_t i = 0; i < n; i++) {
		size_t nkv, *lens;
		char *why = NULL;
		const char **kv = omr_sim_kv(hs[i], &lens, &nkv);
		if (omr_sim_conv_parse(kv, lens, nkv, &cs[ok], &why) == 0)
			firsts[ok++] = ms[i];
		free(why); /* not replayable (not routed yet, damaged): left out */
		free(kv);
		free(lens);
	}
	rc = omr_sim_details(s, cs, ok, firsts, err_r);
	free(firsts);
	if (rc == 0) {
		d->convs = omr_realloc(d->convs, (d->nconvs + ok) * sizeof(*d->convs));
		memcpy(d->convs + d->nconvs, cs, ok * sizeof(*cs));
		d->nconvs += ok;
		ok = 0;
	}
out:
	omr_sim_drain(s);
	for (size_t i = 0; i < ok; i++)
		omr_sim_conv_release(&cs[i]);
	for (size_t i = 0; i < n; i++) {
		freeReplyObject(hs[i]);
		freeReplyObject(ms[i]);
	}
	free(cs);
	free(hs);
	free(ms);
	return rc;
}

static int omr_sim_conv_cmp(const void *a, const void *b)
{
	const struct omr_sim_conv *x = a, *y = b;
	if (x->created_at != y->created_at)
		return x->created_at < y->created_at ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The window's conversations from the index, a page at a time by score:
 * a page starts at the last score of the previous one, skipping the ids of
 * that score already read (LIMIT's offset stays small). */
static int omr_sim_load_convs(struct omr_sim_conn *s, struct omr_sim_data *d, char **err_r)
{
	char *key = omr_asprintf("%sconvs", s->prefix), lo[24], hi[24], skip[24];
	long long score = d->from, skipped = 0;
	int rc = 0, more = 1;

	snprintf(hi, sizeof(hi), "(%lld", d->to);
	while (rc == 0 && more) {
		snprintf(lo, sizeof(lo), "%lld", score);
		snprintf(skip, sizeof(skip), "%lld", skipped);
		const char *argv[] = { "ZRANGEBYSCORE", key, lo, hi, "WITHSCORES", "LIMIT", skip,
				       OMR_SIM_PAGE };
		redisReply *ids = omr_sim_cmd(s, 8, argv, err_r);
		if (!ids) {
			rc = -1;
			break;
		}
		size_t n = ids->type == REDIS_REPLY_ARRAY ? ids->elements / 2 : 0;
		for (size_t at = 0; rc == 0 && at < n; at += OMR_SIM_BATCH)
			rc = omr_sim_batch(s, ids, at, n - at < OMR_SIM_BATCH ? n - at : OMR_SIM_BATCH,
					   d, err_r);
		more = n == (size_t)atoi(OMR_SIM_PAGE);
		if (more) { /* the next page: from the last score, past its ids read */
			long long last = 0;
			size_t same = 0;
			omr_parse_ll(ids->element[2 * n - 1]->str, &last);
			while (same < n && strcmp(ids->element[2 * (n - 1 - same) + 1]->str,
						  ids->element[2 * n - 1]->str) == 0)
				same++;
			skipped = last == score ? skipped + (long long)same : (long long)same;
			score = last;
		}
		freeReplyObject(ids);
	}
	free(key);
	if (d->nconvs)
		qsort(d->convs, d->nconvs, sizeof(*d->convs), omr_sim_conv_cmp);
	return rc;
}

/* agents:history up to the window's end, in pages */
static int omr_sim_load_history(struct omr_sim_conn *s, const struct omr_agents_conf *dir,
				struct omr_sim_data *d, char **err_r)
{
	char *key = omr_asprintf("%sagents:history", s->prefix), start[64] = "-";
	size_t cap = 0;
	int done = 0;

	while (!done) {
		const char *argv[] = { "XRANGE", key, start, "+", "COUNT", OMR_SIM_PAGE };
		redisReply *r = omr_sim_cmd(s, 6, argv, err_r);
		if (!r || r->type != REDIS_REPLY_ARRAY) {
			free(key);
			freeReplyObject(r);
			return -1;
		}
		done = r->elements == 0;
		for (size_t i = 0; i < r->elements && !done; i++) {
			const redisReply *e = r->element[i];
			if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
				continue;
			snprintf(start, sizeof(start), "(%s", e->element[0]->str);
			size_t nkv;
			char *why = NULL;
			const char **kv = omr_sim_kv(e->element[1], NULL, &nkv);
			struct omr_sim_change ch;
			int rc = omr_sim_change_parse(kv, nkv, dir, &ch, &why);
			free(kv);
			free(why);
			if (rc == 0 && ch.at >= d->to)
				done = 1;
			else if (rc == 0) {
				if (d->nchanges == cap)
					d->changes = omr_realloc(d->changes,
								 (cap = cap * 2 + 64) * sizeof(ch));
				d->changes[d->nchanges++] = ch;
			} else if (rc == 1)
				d->unknown_agents++;
		}
		freeReplyObject(r);
	}
	free(key);
	return 0;
}

int omr_sim_load(const struct omr_config *cfg, long long from, long long to,
		 struct omr_sim_data *d, char **err_r)
{
	struct omr_sim_conn s = { 0 };
	int rc;

	memset(d, 0, sizeof(*d));
	d->from = from;
	d->to = to;
	rc = omr_sim_connect(cfg, &s, err_r);
	if (rc == 0)
		rc = omr_sim_load_convs(&s, d, err_r);
	if (rc == 0)
		rc = omr_sim_load_history(&s, cfg->agents, d, err_r);
	if (s.c)
		redisFree(s.c);
	free(s.prefix);
	return rc;
}

void omr_sim_data_release(struct omr_sim_data *d)
{
	for (size_t i = 0; i < d->nconvs; i++)
		omr_sim_conv_release(&d->convs[i]);
	free(d->convs);
	free(d->changes);
	memset(d, 0, sizeof(*d));
}
