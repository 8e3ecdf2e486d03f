/*
 * omr_privacy: erasure, retention and the deletion of attachment files
 * (see omr_privacy.h). Three small machines on the loop:
 *
 *   - an erasure job calls cust_erase.lua until it answers 'done', adding
 *     up what each call removed (each call is atomic and bounded);
 *   - the retention timer calls retention.lua every retention.every, and
 *     again after OMR_PRIVACY_PAUSE_MS while a call says there is more;
 *   - the file sweeper reads purge:files from this node's place (the hash
 *     purge:files:read, field node id) and deletes its own copies; it runs
 *     every OMR_PRIVACY_FILES_MS and right after a purge here.
 */
#include "config.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "omr_config.h"
#include "omr_files.h"
#include "omr_log.h"
#include "omr_privacy.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_PRIVACY_ERASE_BUDGET 500   /* messages per erasure call */
#define OMR_PRIVACY_RETAIN_BUDGET 1000 /* messages per retention call */
#define OMR_PRIVACY_PAUSE_MS 100       /* between two retention calls of a round */
#define OMR_PRIVACY_FILES_MS 5000      /* the file sweeper looks this often */
#define OMR_PRIVACY_FILES_BATCH 200    /* purge:files entries per read */
#define OMR_PRIVACY_BUS_BATCH 500      /* bus entries looked at per scrub call */

struct omr_privacy {
	struct omr_env env;
	struct omr_files *files;   /* borrowed */
	struct event *retain_ev;
	struct event *files_ev;
	int running;
	int retaining, sweeping;   /* a call is under way */
	int trimming;              /* search_trim.lua steps left in this round (0: none running) */
	int sweep_again;           /* asked for while one was under way */
	char last[48];             /* this node's place in purge:files ("" unknown) */
	unsigned long long erased, erase_refused;
	unsigned long long r_convs, r_msgs, r_custs, r_rounds, r_errors;
	unsigned long long files_deleted, files_failed;
};

/* ---- the file sweeper ---- */

static void omr_privacy_sweep(struct omr_privacy *p);

static void omr_privacy_sweep_soon(struct omr_privacy *p)
{
	if (p->sweeping)
		p->sweep_again = 1;
	else if (p->running)
		event_active(p->files_ev, EV_TIMEOUT, 0);
}

static void omr_privacy_sweep_end(struct omr_privacy *p, int more)
{
	p->sweeping = 0;
	if (more || p->sweep_again) {
		p->sweep_again = 0;
		omr_privacy_sweep_soon(p);
	}
}

static void omr_privacy_saved(void *arg, const redisReply *reply, const char *err)
{
	(void)arg;
	(void)reply;
	if (err)
		omr_log_warn("attachment files: cannot keep this node's place in purge:files: %s",
			     err);
}

/* one entry: fields channel, sha256 */
static void omr_privacy_file(struct omr_privacy *p, const redisReply *fields)
{
	const char *channel = NULL, *sha = NULL;
	for (size_t i = 0; fields && i + 1 < fields->elements; i += 2) {
		const char *k = omr_reply_str(fields->element[i]);
		if (k && strcmp(k, "channel") == 0)
			channel = omr_reply_str(fields->element[i + 1]);
		else if (k && strcmp(k, "sha256") == 0)
			sha = omr_reply_str(fields->element[i + 1]);
	}
	if (!channel || !sha)
		return;
	switch (omr_files_remove(p->files, channel, sha)) {
	case 1:
		p->files_deleted++;
		break;
	case -1:
		p->files_failed++;
		omr_log_warn("attachment files: cannot delete %s file %.16s…", channel, sha);
		break;
	default:
		break;
	}
}

static void omr_privacy_read(void *arg, const redisReply *reply, const char *err)
{
	struct omr_privacy *p = arg;
	size_t n = reply && reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
	char *key;

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		if (err)
			omr_log_warn("attachment files: cannot read purge:files: %s", err);
		omr_privacy_sweep_end(p, 0);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const redisReply *e = reply->element[i];
		const char *id = omr_reply_str(omr_reply_elem(e, 0));
		if (!id || strlen(id) >= sizeof(p->last))
			continue;
		omr_privacy_file(p, omr_reply_elem(e, 1));
		snprintf(p->last, sizeof(p->last), "%s", id);
	}
	if (n > 0) {
		key = omr_store_key(p->env.store, "purge:files:read");
		omr_redis_cmd(omr_store_redis(p->env.store), omr_privacy_saved, NULL, "HSET %s %s %s",
			      key, p->env.node_id, p->last);
		free(key);
	}
	omr_privacy_sweep_end(p, n == OMR_PRIVACY_FILES_BATCH);
}

static void omr_privacy_read_from(struct omr_privacy *p)
{
	char *key = omr_store_key(p->env.store, "purge:files"), start[64];
	snprintf(start, sizeof(start), "(%s", p->last);
	omr_redis_cmd(omr_store_redis(p->env.store), omr_privacy_read, p, "XRANGE %s %s + COUNT %d",
		      key, p->last[0] ? start : "-", OMR_PRIVACY_FILES_BATCH);
	free(key);
}

/* this node's place, kept in Redis across restarts; none: from the start */
static void omr_privacy_place(void *arg, const redisReply *reply, const char *err)
{
	struct omr_privacy *p = arg;
	const char *s = omr_reply_str(reply);
	if (err) {
		omr_log_warn("attachment files: cannot read this node's place in purge:files: %s", err);
		omr_privacy_sweep_end(p, 0);
		return;
	}
	snprintf(p->last, sizeof(p->last), "%s", s && strlen(s) < sizeof(p->last) ? s : "0-0");
	omr_privacy_read_from(p);
}

static void omr_privacy_sweep(struct omr_privacy *p)
{
	char *key;
	if (!p->running || p->sweeping || !p->files)
		return;
	p->sweeping = 1;
	if (p->last[0]) {
		omr_privacy_read_from(p);
		return;
	}
	key = omr_store_key(p->env.store, "purge:files:read");
	omr_redis_cmd(omr_store_redis(p->env.store), omr_privacy_place, p, "HGET %s %s", key,
		      p->env.node_id);
	free(key);
}

static void omr_privacy_files_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_privacy *p = arg;
	struct timeval tv = { OMR_PRIVACY_FILES_MS / 1000, 0 };
	(void)fd;
	(void)what;
	if (!p->running)
		return;
	evtimer_add(p->files_ev, &tv);
	omr_privacy_sweep(p);
}

/* ---- retention ---- */

static void omr_privacy_retain_in(struct omr_privacy *p, long long ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	if (p->running)
		evtimer_add(p->retain_ev, &tv);
}

static void omr_privacy_retained(void *arg, const redisReply *reply, const char *err)
{
	struct omr_privacy *p = arg;
	const struct omr_config *cfg = omr_env_cfg(&p->env);
	struct omr_lua_retention_reply r;

	p->retaining = 0;
	if (err || omr_lua_retention_reply(reply, &r) < 5) {
		p->r_errors++;
		omr_log_warn("retention: a step failed: %s", err ? err : "bad reply");
		omr_privacy_retain_in(p, cfg->retention.every);
		return;
	}
	p->r_convs += (unsigned long long)r.conversations;
	p->r_msgs += (unsigned long long)r.messages;
	p->r_custs += (unsigned long long)r.customers;
	if (r.conversations || r.customers)
		omr_log_info("retention: purged %lld conversations (%lld messages, %lld files) and "
			     "%lld customers", r.conversations, r.messages, r.files, r.customers);
	if (r.files > 0)
		omr_privacy_sweep_soon(p);
	if (!r.more)
		p->r_rounds++;
	omr_privacy_retain_in(p, r.more ? OMR_PRIVACY_PAUSE_MS : cfg->retention.every);
}

/* The search index's old words (docs/search.md) go with the retention
 * timer, retention on or off: a few bounded steps per round. */
#define OMR_PRIVACY_TRIM_TERMS 500 /* terms looked at per step */
#define OMR_PRIVACY_TRIM_STEPS 20  /* steps per round at most */
static void omr_privacy_trim(struct omr_privacy *p);

static void omr_privacy_trimmed(void *arg, const redisReply *reply, const char *err)
{
	struct omr_privacy *p = arg;
	struct omr_lua_search_trim_reply r;
	if (err || omr_lua_search_trim_reply(reply, &r) < 2) {
		omr_log_warn("search: trimming old words failed: %s", err ? err : "bad reply");
		p->trimming = 0;
		return;
	}
	if (r.more && --p->trimming > 0)
		omr_privacy_trim(p);
	else
		p->trimming = 0;
}

static void omr_privacy_trim(struct omr_privacy *p)
{
	struct omr_lua_search_trim_args t = {
		.days = omr_env_cfg(&p->env)->search.days, .max = OMR_PRIVACY_TRIM_TERMS,
	};
	if (!p->running) {
		p->trimming = 0;
		return;
	}
	omr_lua_search_trim(p->env.store, &t, omr_privacy_trimmed, p);
}

static void omr_privacy_retain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct omr_privacy *p = arg;
	const struct omr_config *cfg = omr_env_cfg(&p->env);
	const long long day = 86400000LL;
	(void)fd;
	(void)what;
	if (!p->running || p->retaining)
		return;
	if (!p->trimming) {
		p->trimming = OMR_PRIVACY_TRIM_STEPS;
		omr_privacy_trim(p);
	}
	if (!cfg->retention.closed_days && !cfg->retention.customer_days) {
		omr_privacy_retain_in(p, cfg->retention.every); /* off; a reload may turn it on */
		return;
	}
	struct omr_lua_retention_args a = {
		.closed_ms = cfg->retention.closed_days * day,
		.customer_ms = cfg->retention.customer_days * day,
		.max_convs = cfg->retention.batch,
		.budget = OMR_PRIVACY_RETAIN_BUDGET,
	};
	p->retaining = 1;
	omr_lua_retention(p->env.store, &a, omr_privacy_retained, p);
}

/* ---- erasure ---- */

struct omr_erase_job {
	struct omr_privacy *p;
	char customer[OMR_ID_MAX + 1];
	int force, first;
	long long convs, msgs, files, addrs;
	char **ids;               /* owned: the conversations removed (for the bus) */
	size_t nids, capids;
	char after[48];           /* the bus entry the scrub goes on after */
	long long scrubbed;
	omr_privacy_cb cb;
	void *arg;
};

static void omr_erase_step(struct omr_erase_job *j);

static void omr_erase_end(struct omr_erase_job *j, int status, json_t *body, const char *err)
{
	j->cb(j->arg, status, body, err);
	for (size_t i = 0; i < j->nids; i++)
		free(j->ids[i]);
	free(j->ids);
	free(j);
}

static void omr_erase_keep_ids(struct omr_erase_job *j, const redisReply *ids)
{
	for (size_t i = 0; ids && ids->type == REDIS_REPLY_ARRAY && i < ids->elements; i++) {
		const char *s = omr_reply_str(ids->element[i]);
		if (!s)
			continue;
		if (j->nids == j->capids) {
			j->capids = j->capids ? 2 * j->capids : 16;
			j->ids = omr_realloc(j->ids, j->capids * sizeof(*j->ids));
		}
		j->ids[j->nids++] = omr_strdup(s);
	}
}

static void omr_erase_done(struct omr_erase_job *j)
{
	json_t *body;
	j->p->erased++;
	if (j->files > 0)
		omr_privacy_sweep_soon(j->p);
	omr_log_info("customer %s erased: %lld conversations, %lld messages, %lld files, "
		     "%lld addresses, %lld frames on the node bus", j->customer, j->convs, j->msgs,
		     j->files, j->addrs, j->scrubbed);
	body = json_pack("{s:s,s:{s:I,s:I,s:I,s:I}}", "customer", j->customer, "erased",
			 "conversations", (json_int_t)j->convs, "messages", (json_int_t)j->msgs,
			 "attachments", (json_int_t)j->files, "addresses", (json_int_t)j->addrs);
	omr_erase_end(j, 200, body, NULL);
	json_decref(body);
}

static void omr_erase_scrub(struct omr_erase_job *j);

/* frames between nodes that name an erased conversation go too */
static void omr_erase_scrubbed(void *arg, const redisReply *reply, const char *err)
{
	struct omr_erase_job *j = arg;
	struct omr_lua_bus_scrub_reply r;
	if (err || omr_lua_bus_scrub_reply(reply, &r) < 2 || !r.next) {
		omr_erase_end(j, 503, NULL, err ? err : "bad reply");
		return;
	}
	j->scrubbed += r.deleted;
	if (!*r.next || strlen(r.next) >= sizeof(j->after)) {
		omr_erase_done(j);
		return;
	}
	snprintf(j->after, sizeof(j->after), "%s", r.next);
	omr_erase_scrub(j);
}

static void omr_erase_scrub(struct omr_erase_job *j)
{
	struct omr_lua_bus_scrub_args a = {
		.after = j->after, .count = OMR_PRIVACY_BUS_BATCH,
		.conversations = (const char *const *)j->ids, .nconversations = j->nids,
	};
	if (j->nids == 0) {
		omr_erase_done(j);
		return;
	}
	omr_lua_bus_scrub(j->p->env.store, &a, omr_erase_scrubbed, j);
}

static void omr_erase_open(struct omr_erase_job *j, const redisReply *ids)
{
	json_t *list = json_array(), *body;
	for (size_t i = 0; ids && i < ids->elements; i++) {
		const char *s = omr_reply_str(ids->element[i]);
		if (s)
			json_array_append_new(list, json_string(s));
	}
	body = json_pack("{s:o}", "conversations", list);
	j->p->erase_refused++;
	omr_erase_end(j, 409, body, NULL);
	json_decref(body);
}

static void omr_erase_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_erase_job *j = arg;
	struct omr_lua_cust_erase_reply r;

	if (err || omr_lua_cust_erase_reply(reply, &r) < 6 || !r.tag) {
		omr_erase_end(j, 503, NULL, err ? err : "bad reply");
		return;
	}
	if (strcmp(r.tag, "none") == 0) {
		omr_erase_end(j, 404, NULL, NULL);
		return;
	}
	if (strcmp(r.tag, "open") == 0) {
		omr_erase_open(j, r.ids);
		return;
	}
	j->convs += r.conversations;
	j->msgs += r.messages;
	j->files += r.files;
	j->first = 0;
	omr_erase_keep_ids(j, r.ids);
	if (strcmp(r.tag, "more") == 0) {
		omr_erase_step(j);
		return;
	}
	j->addrs = r.addresses;
	omr_erase_scrub(j);
}

static void omr_erase_step(struct omr_erase_job *j)
{
	struct omr_lua_cust_erase_args a = {
		.customer = j->customer, .first = j->first, .force = j->force,
		.budget = OMR_PRIVACY_ERASE_BUDGET,
	};
	omr_lua_cust_erase(j->p->env.store, &a, omr_erase_cb, j);
}

void omr_privacy_erase(struct omr_privacy *p, const char *customer, int force,
		       omr_privacy_cb cb, void *arg)
{
	struct omr_erase_job *j = omr_calloc(1, sizeof(*j));
	j->p = p;
	snprintf(j->customer, sizeof(j->customer), "%s", customer);
	j->force = force;
	j->first = 1;
	j->cb = cb;
	j->arg = arg;
	omr_erase_step(j);
}

void omr_privacy_export(struct omr_privacy *p, const char *customer, omr_privacy_cb cb,
			void *arg)
{
	omr_privacy_export_run(&p->env, p->files, customer, cb, arg);
}

/* ---- the module ---- */

struct omr_privacy *omr_privacy_new(const struct omr_env *env, struct omr_files *files)
{
	struct omr_privacy *p = omr_calloc(1, sizeof(*p));
	p->env = *env;
	p->files = files;
	p->retain_ev = evtimer_new(env->base, omr_privacy_retain_tick, p);
	p->files_ev = evtimer_new(env->base, omr_privacy_files_tick, p);
	return p;
}

void omr_privacy_start(struct omr_privacy *p)
{
	p->running = 1;
	omr_privacy_retain_in(p, 1000); /* a first look soon after the start */
	event_active(p->files_ev, EV_TIMEOUT, 0);
}

void omr_privacy_stop(struct omr_privacy *p)
{
	p->running = 0;
	evtimer_del(p->retain_ev);
	evtimer_del(p->files_ev);
}

void omr_privacy_free(struct omr_privacy *p)
{
	if (!p)
		return;
	event_free(p->retain_ev);
	event_free(p->files_ev);
	free(p);
}

void omr_privacy_metrics(const struct omr_privacy *p, struct omr_buf *b)
{
	omr_metric(b, "customers_erased_total", "counter",
		   "customers erased on request (DELETE /api/v1/customers/{id}) by this node",
		   p->erased);
	omr_metric(b, "customer_erasures_refused_total", "counter",
		   "erasures refused because a conversation was not closed (409)", p->erase_refused);
	omr_metric(b, "retention_conversations_purged_total", "counter",
		   "closed conversations purged by retention.closed_days (this node's steps)",
		   p->r_convs);
	omr_metric(b, "retention_messages_purged_total", "counter",
		   "messages of those conversations", p->r_msgs);
	omr_metric(b, "retention_customers_purged_total", "counter",
		   "customers without conversations purged by retention.customer_days", p->r_custs);
	omr_metric(b, "retention_rounds_total", "counter",
		   "rounds of the retention sweep this node finished", p->r_rounds);
	omr_metric(b, "retention_errors_total", "counter",
		   "retention steps that failed (Redis)", p->r_errors);
	omr_metric(b, "attachment_files_deleted_total", "counter",
		   "attachment files this node deleted from its disk after an erasure or retention",
		   p->files_deleted);
	omr_metric(b, "attachment_files_delete_failed_total", "counter",
		   "attachment files this node could not delete (see the log)", p->files_failed);
}
