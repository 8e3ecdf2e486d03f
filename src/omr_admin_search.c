/*
 * omr_admin_search: GET /api/v1/search?q=…[&offset=&limit=]
 * (docs/admin-api.md#get-apiv1search): the console's search
 * (docs/search.md) for a token with the read scope; a supervisor's token
 * limited to some queues finds the conversations of those queues only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_admin_int.h"
#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_scripts.h"
#include "omr_search.h"
#include "omr_store.h"
#include "omr_util.h"

static void omr_admin_searched(void *arg, const redisReply *reply, const char *err)
{
	omr_http_reply *r = arg;
	struct omr_lua_search_reply s;
	json_t *res = NULL;
	if (!err && omr_lua_search_reply(reply, &s) >= 1 && s.json)
		res = json_loads(s.json, 0, NULL);
	if (json_is_object(res))
		omr_http_reply_json(r, 200, res);
	else
		omr_http_reply_error(r, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
	json_decref(res);
}

void omr_admin_search(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;
	struct omr_search_query sq;
	long long off = 0, lim = 20;
	char *err = NULL;

	if (!omr_admin_method(req, reply, "GET") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_READ, &who) ||
	    !omr_admin_running(a, reply) ||
	    omr_admin_param_int(req, reply, "offset", 0, 500, &off) < 0 ||
	    omr_admin_param_int(req, reply, "limit", 1, 50, &lim) < 0)
		return;
	const char *q = omr_http_query_param(req, "q");
	if (!q) {
		omr_http_reply_error(reply, 400, "bad_parameter", "q: the text to search for");
		return;
	}
	if (omr_search_parse(q, strlen(q), &sq, &err) < 0) {
		omr_http_reply_error(reply, 400, "bad_query", "q: %s", err);
		free(err);
		return;
	}
	struct omr_buf qs;
	omr_buf_init(&qs);
	for (size_t i = 0; who.queues && who.queues[i]; i++) {
		if (i)
			omr_buf_puts(&qs, ",");
		omr_buf_puts(&qs, who.queues[i]);
	}
	char *queues = who.queues ? omr_buf_steal(&qs, NULL) : omr_strdup("*");
	omr_buf_free(&qs);
	struct omr_lua_search_args sa = {
		.id = sq.id, .addr = sq.addr, .phone = sq.phone, .names = sq.names, .words = sq.words,
		.days = omr_env_cfg(&a->env)->search.days, .queues = queues, .agent = "",
		.offset = off, .limit = lim,
	};
	omr_lua_search(a->env.store, &sa, omr_admin_searched, reply);
	free(queues);
	omr_search_query_free(&sq);
}
