/*
 * omr_privacy_export: one customer's data as one JSON document
 * (omr_privacy.h), read from Redis a batch at a time (cust_export.lua:
 * OMR_EXPORT_BUDGET messages per call), so that a customer with a long
 * history never holds Redis for long; the document grows in memory and is
 * answered whole.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_files.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_privacy.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_EXPORT_BUDGET 500 /* messages (and conversations) per call */

struct omr_export_job {
	const struct omr_env *env;  /* borrowed */
	struct omr_files *files;    /* borrowed */
	char customer[OMR_ID_MAX + 1];
	json_t *doc;                /* owned: the document so far */
	char *conv, *score;         /* where the next call goes on: the conversation */
	long long from;             /* and its first message not yet read */
	omr_privacy_cb cb;
	void *arg;
};

static void omr_export_step(struct omr_export_job *j);

static void omr_export_end(struct omr_export_job *j, int status, json_t *body, const char *err)
{
	j->cb(j->arg, status, body, err);
	json_decref(j->doc);
	free(j->conv);
	free(j->score);
	free(j);
}

/* the first call's customer, addresses and engagement history */
static void omr_export_customer(struct omr_export_job *j,
				const struct omr_lua_cust_export_reply *r)
{
	json_t *cust = omr_model_from_hash(OMR_MODEL_CUSTOMER, r->customer);
	json_t *addrs = json_array(), *eng = json_array();
	if (!cust)
		cust = json_object();
	for (size_t i = 0; r->addrs && i < r->addrs->elements; i++) {
		const char *s = omr_reply_str(r->addrs->element[i]);
		if (s)
			json_array_append_new(addrs, json_string(s));
	}
	for (size_t i = 0; r->engagement && i < r->engagement->elements; i++) {
		const char *s = omr_reply_str(r->engagement->element[i]);
		json_t *e = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
		if (e)
			json_array_append_new(eng, e);
	}
	json_object_set_new(cust, "addresses", addrs);
	json_object_set_new(cust, "engagement", eng);
	json_object_set_new(j->doc, "customer", cust);
}

/* one element of convs: {HGETALL of the conversation or empty, {messages}} */
static void omr_export_conv(struct omr_export_job *j, const redisReply *e)
{
	json_t *convs = json_object_get(j->doc, "conversations"), *conv, *msgs;
	const redisReply *h = omr_reply_elem(e, 0), *ms = omr_reply_elem(e, 1);
	size_t n = json_array_size(convs);

	if (h && h->type == REDIS_REPLY_ARRAY && h->elements > 0) {
		conv = omr_model_from_hash(OMR_MODEL_CONVERSATION, h);
		if (!conv)
			return;
		json_object_set_new(conv, "messages", json_array());
		json_array_append_new(convs, conv);
	} else if (n == 0) {
		return; /* the rest of a conversation whose start is not here */
	} else {
		conv = json_array_get(convs, n - 1);
	}
	msgs = json_object_get(conv, "messages");
	for (size_t i = 0; ms && ms->type == REDIS_REPLY_ARRAY && i < ms->elements; i++) {
		json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, ms->element[i]);
		if (m && json_object_size(m) > 0)
			json_array_append_new(msgs, m);
		else
			json_decref(m);
	}
}

/* the document is whole: links to the files this node has, then answered */
static void omr_export_done(struct omr_export_job *j)
{
	int64_t now = omr_now_ms();
	json_t *out;
	json_object_set_new(j->doc, "exported_at", json_integer((json_int_t)now));
	json_object_set_new(j->doc, "node", json_string(j->env->node_id));
	out = omr_files_decorate(j->files, j->doc, now / 1000);
	if (!out) {
		omr_export_end(j, 503, NULL, "out of memory");
		return;
	}
	omr_export_end(j, 200, out, NULL);
	json_decref(out);
}

static void omr_export_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_export_job *j = arg;
	struct omr_lua_cust_export_reply r;

	if (err || omr_lua_cust_export_reply(reply, &r) < 9 || !r.tag) {
		omr_export_end(j, 503, NULL, err ? err : "bad reply");
		return;
	}
	if (strcmp(r.tag, "none") == 0) {
		omr_export_end(j, 404, NULL, NULL);
		return;
	}
	if (!*j->conv && j->from == 0)
		omr_export_customer(j, &r);
	for (size_t i = 0; r.convs && r.convs->type == REDIS_REPLY_ARRAY && i < r.convs->elements; i++)
		omr_export_conv(j, r.convs->element[i]);
	if (r.done || !r.next_conv || !*r.next_conv) {
		omr_export_done(j);
		return;
	}
	free(j->conv);
	free(j->score);
	j->conv = omr_strdup(r.next_conv);
	j->score = omr_strdup(r.next_score ? r.next_score : "0");
	j->from = r.next_from;
	omr_export_step(j);
}

static void omr_export_step(struct omr_export_job *j)
{
	struct omr_lua_cust_export_args a = {
		.customer = j->customer, .conv = j->conv, .score = j->score, .from = j->from,
		.budget = OMR_EXPORT_BUDGET,
	};
	omr_lua_cust_export(j->env->store, &a, omr_export_cb, j);
}

void omr_privacy_export_run(const struct omr_env *env, struct omr_files *files,
			    const char *customer, omr_privacy_cb cb, void *arg)
{
	struct omr_export_job *j = omr_calloc(1, sizeof(*j));
	j->env = env;
	j->files = files;
	snprintf(j->customer, sizeof(j->customer), "%s", customer);
	j->doc = json_pack("{s:[]}", "conversations");
	j->conv = omr_strdup("");
	j->score = omr_strdup("0");
	j->cb = cb;
	j->arg = arg;
	omr_log_debug("export of customer %s begins", customer);
	omr_export_step(j);
}
