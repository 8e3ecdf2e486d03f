/*
 * omr_agents_search: searching past conversations and linking identities
 * from the console (docs/search.md, docs/agent-protocol.md "Search"):
 *
 *   search   {q, offset, limit}       -> search_results
 *   link     {conversation, other}    -> linked   (audited customer.link)
 *   unlink   {conversation, other}    -> linked   (audited customer.unlink)
 *
 * What a user may find: a supervisor or admin every queue (or the queues
 * the users file gives them), an agent the queues they serve (the queue's
 * skills) and their own conversations. The same queues let `open` read a
 * closed search result (omr_agents_open).
 *
 * Main thread only; requests find their session again by connection id
 * (struct omr_areq).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_audit.h"
#include "omr_config.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_scripts.h"
#include "omr_search.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_SEARCH_PAGE 20      /* results per page by default */
#define OMR_SEARCH_PAGE_MAX 50
#define OMR_SEARCH_OFFSET_MAX 500

char *omr_agents_search_queues(struct omr_agents *a, const char *agent)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, agent);
	struct omr_buf b;

	if (!ac)
		return omr_strdup("");
	if (omr_agent_supervises(ac) && !ac->queues)
		return omr_strdup("*");
	omr_buf_init(&b);
	for (size_t i = 0; i < cfg->routing->nqueues; i++) {
		const struct omr_queue_conf *q = &cfg->routing->queues[i];
		int sees = omr_agent_supervises(ac) ? omr_strv_has(ac->queues, q->name)
						    : omr_route_agent_serves(ac, q);
		if (!sees)
			continue;
		if (b.len)
			omr_buf_puts(&b, ",");
		omr_buf_puts(&b, q->name);
	}
	return omr_buf_steal(&b, NULL);
}

/* ---- search ---- */

static void omr_agents_searched(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_search_reply r;
	json_t *res = NULL;

	if (!err && omr_lua_search_reply(reply, &r) >= 1 && r.json)
		res = json_loads(r.json, 0, NULL);
	if (!json_is_object(res)) {
		omr_log_warn("search: the index answered %s", err ? err : "no JSON");
		omr_agents_error(q->a, q->conn, "unavailable", "search unavailable, try again", NULL,
				 NULL);
	} else {
		json_object_set_new(res, "type", json_string("search_results"));
		json_object_set_new(res, "q", json_string(q->text));
		json_object_set_new(res, "offset", json_integer(json_integer_value(
							   json_object_get(q->data, "offset"))));
		omr_agents_send(q->a, q->conn, res);
	}
	json_decref(res);
	omr_areq_free(q);
}

/* offset and limit of a frame: 0 and -1 when absent, -2 when malformed */
static long long omr_agents_search_int(const json_t *msg, const char *key, long long dflt,
				       long long max)
{
	const json_t *v = json_object_get(msg, key);
	if (!v)
		return dflt;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return -2;
	return json_integer_value(v);
}

void omr_agents_search(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const json_t *qv = json_object_get(msg, "q");
	struct omr_search_query sq;
	char *err = NULL;
	long long off = omr_agents_search_int(msg, "offset", 0, OMR_SEARCH_OFFSET_MAX);
	long long lim = omr_agents_search_int(msg, "limit", OMR_SEARCH_PAGE, OMR_SEARCH_PAGE_MAX);

	if (!json_is_string(qv)) {
		omr_agents_error(a, s->conn, "bad_request", "q: the text to search for", NULL, NULL);
		return;
	}
	if (off < 0 || lim <= 0) {
		omr_agents_error(a, s->conn, "bad_request",
				 "offset: 0..500, limit: 1..50 (whole numbers)", NULL, NULL);
		return;
	}
	if (omr_search_parse(json_string_value(qv), json_string_length(qv), &sq, &err) < 0) {
		omr_agents_error(a, s->conn, "bad_query", err, NULL, NULL);
		free(err);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	/* q is at most OMR_SEARCH_QUERY_MAX bytes of valid UTF-8 without NUL */
	q->text = omr_strdup(json_string_value(qv));
	q->data = json_pack("{s:I}", "offset", off);
	char *queues = omr_agents_search_queues(a, s->agent);
	struct omr_lua_search_args sa = {
		.id = sq.id, .addr = sq.addr, .phone = sq.phone, .names = sq.names, .words = sq.words,
		.days = omr_env_cfg(&a->env)->search.days, .queues = queues, .agent = s->agent,
		.offset = off, .limit = lim,
	};
	omr_lua_search(a->env.store, &sa, omr_agents_searched, q);
	free(queues);
	omr_search_query_free(&sq);
}

/* ---- link, unlink ---- */

static void omr_agents_linked(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_cust_link_reply r;
	int link = strcmp(q->extra, "link") == 0;
	const char *tag = NULL;

	if (!err && omr_lua_cust_link_reply(reply, &r) >= 2)
		tag = r.tag;
	const char *result = tag ? (strcmp(tag, "same") == 0 ? "ok" : tag) : "unavailable";
	json_t *detail = json_pack("{s:s,s:s,s:b}", "other", q->offer, "conversation",
				   q->conversation ? q->conversation : "", "changed",
				   tag && strcmp(tag, "ok") == 0);
	struct omr_audit_entry e = { .who = q->agent, .via = "console",
				     .action = link ? "customer.link" : "customer.unlink",
				     .target = q->client_msg_id, .result = result,
				     .detail = detail };
	omr_audit_write(q->a->env.store, q->a->env.node_id, &e);
	json_decref(detail);

	if (!tag) {
		omr_agents_error(q->a, q->conn, "unavailable", "storage unavailable, try again", "customer", q->client_msg_id);
	} else if (strcmp(tag, "ok") == 0 || strcmp(tag, "same") == 0) {
		json_t *group = json_array();
		for (size_t i = 0; r.group->type == REDIS_REPLY_ARRAY && i < r.group->elements; i++)
			if (r.group->element[i]->type == REDIS_REPLY_STRING)
				json_array_append_new(group, json_string(r.group->element[i]->str));
		omr_agents_send_new(q->a, q->conn,
				    json_pack("{s:s,s:s?,s:s,s:s,s:o,s:b}", "type", "linked",
					      "conversation", q->conversation, "customer",
					      q->client_msg_id, "other", q->offer, "linked", group,
					      "changed", strcmp(tag, "ok") == 0));
	} else if (strcmp(tag, "none") == 0) {
		omr_agents_error(q->a, q->conn, "unknown_customer", "no such customer", "customer", q->client_msg_id);
	} else if (strcmp(tag, "too_many") == 0) {
		omr_agents_error(q->a, q->conn, "too_many", "the customer has as many linked identities as allowed", "customer", q->client_msg_id);
	} else if (strcmp(tag, "bad_request") == 0) {
		omr_agents_error(q->a, q->conn, "bad_request", "a customer is not linked with itself", "customer", q->client_msg_id);
	} else {
		omr_agents_error_q(q, "not_yours",
				   "not your conversation, or a customer you cannot find");
	}
	omr_areq_free(q);
}

/* customer (the one of the agent's conversation, which the script checks;
 * a supervisor may name no conversation) is linked with other. */
static void omr_agents_link_run(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
				const char *how)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, s->agent);
	const char *conv = json_string_value(json_object_get(msg, "conversation"));
	const char *cust = json_string_value(json_object_get(msg, "customer"));
	const char *other = json_string_value(json_object_get(msg, "other"));
	char gid[OMR_ID_MAX];

	if (!cust || !omr_model_id_ok(cust, "u_") || !other || !omr_model_id_ok(other, "u_")) {
		omr_agents_error(a, s->conn, "bad_request", "customer, other: customer ids", NULL,
				 NULL);
		return;
	}
	if (conv ? !omr_model_id_ok(conv, "c_") : !omr_agent_supervises(ac)) {
		omr_agents_error(a, s->conn, "bad_request",
				 "conversation: your conversation with the customer", NULL, NULL);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = conv ? omr_strdup(conv) : NULL;
	q->client_msg_id = omr_strdup(cust); /* the customer */
	q->offer = omr_strdup(other);        /* the other customer */
	q->extra = omr_strdup(how);
	char *queues = omr_agents_search_queues(a, s->agent);
	struct omr_lua_cust_link_args la = {
		.customer = cust, .other = other, .link = strcmp(how, "link") == 0,
		.group = omr_id_new(gid, "g_"), .conversation = conv ? conv : "", .agent = s->agent,
		.queues = queues, .max = cfg->search.group_max,
	};
	omr_lua_cust_link(a->env.store, &la, omr_agents_linked, q);
	free(queues);
}

void omr_agents_link(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	omr_agents_link_run(a, s, msg, "link");
}

void omr_agents_unlink(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	omr_agents_link_run(a, s, msg, "unlink");
}
