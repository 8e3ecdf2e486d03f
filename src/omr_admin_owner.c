/*
 * omr_admin_owner: a customer's contact person through the admin API
 * (docs/admin-api.md, docs/routing.md#contact-person):
 *   PUT    /api/v1/customers/{id}/owner  {"agent": "alice", "deputy": "bob"}
 *   DELETE /api/v1/customers/{id}/owner
 * with the 'act' scope, audited as customer.owner.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_admin_int.h"
#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_model.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

static void omr_admin_owner_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *c = arg;
	struct omr_lua_cust_owner_reply o;
	json_t *out;

	if (err || omr_lua_cust_owner_reply(reply, &o) < 5 || !o.tag) {
		omr_admin_audit(c->a, c->who, c->action, c->target, "unavailable", c->detail);
		omr_http_reply_error(c->reply, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
		omr_admin_call_free(c);
		return;
	}
	if (strcmp(o.tag, "ok") != 0) {
		omr_admin_audit(c->a, c->who, c->action, c->target, "not_found", c->detail);
		omr_http_reply_error(c->reply, 404, "not_found", "no such customer");
		omr_admin_call_free(c);
		return;
	}
	if (o.was && *o.was)
		json_object_set_new(c->detail, "was", json_string(o.was));
	omr_admin_audit(c->a, c->who, c->action, c->target, "ok", c->detail);
	out = json_pack("{s:s,s:s?,s:s?}", "customer", c->target, "owner",
			o.owner && *o.owner ? o.owner : NULL, "deputy",
			o.deputy && *o.deputy ? o.deputy : NULL);
	omr_http_reply_json(c->reply, 200, out);
	json_decref(out);
	omr_admin_call_free(c);
}

/* the body of a PUT: 0 with *owner_r and *deputy_r (NULL: none) set, or
 * -1 with the 400 sent */
static int omr_admin_owner_body(struct omr_admin *a, json_t *body, omr_http_reply *reply,
				const char **owner_r, const char **deputy_r)
{
	const char *k, *why;
	json_t *v;

	json_object_foreach(body, k, v) {
		if (strcmp(k, "agent") != 0 && strcmp(k, "deputy") != 0) {
			omr_http_reply_error(reply, 400, "bad_parameter",
					     "unknown member (expected agent, deputy)");
			return -1;
		}
	}
	if (omr_admin_body_str(body, reply, "agent", owner_r) < 0 ||
	    omr_admin_body_str(body, reply, "deputy", deputy_r) < 0)
		return -1;
	if (*deputy_r && !**deputy_r)
		*deputy_r = NULL;
	why = omr_agents_owner_check(omr_env_cfg(&a->env)->agents, *owner_r, *deputy_r);
	if (why) {
		omr_http_reply_error(reply, 400, strstr(why, "not an agent") ? "unknown_agent"
									    : "bad_parameter", "%s", why);
		return -1;
	}
	return 0;
}

static void omr_admin_owner(struct omr_admin *a, const struct omr_http_request *req,
			    omr_http_reply *reply, const struct omr_admin_who *who, const char *id)
{
	int put = strcmp(req->method, "PUT") == 0;
	const char *owner = NULL, *deputy = NULL;
	json_t *body = NULL;

	if (put) {
		body = omr_admin_body(req, reply);
		if (!body)
			return;
		if (omr_admin_owner_body(a, body, reply, &owner, &deputy) < 0) {
			omr_admin_audit(a, who->who, "customer.owner", id, "bad_request", NULL);
			json_decref(body);
			return;
		}
	}
	struct omr_admin_call *c = omr_admin_call_new(a, reply, who);
	c->action = omr_strdup("customer.owner");
	c->target = omr_strdup(id);
	c->detail = json_pack("{s:s,s:s?,s:s?}", "do", put ? "set" : "clear", "agent", owner,
			      "deputy", deputy);
	struct omr_lua_cust_owner_args args = {
		.customer = id, .conversation = "", .action = put ? "set" : "clear",
		.owner = owner, .deputy = deputy, .by = who->who,
	};
	omr_lua_cust_owner(a->env.store, &args, omr_admin_owner_done, c);
	json_decref(body);
}

void omr_admin_customer_owner(void *arg, const struct omr_http_request *req,
			      omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	static const char base[] = "/api/v1/customers/";
	static const char tail[] = "/owner";
	struct omr_admin_who who;
	char id[OMR_ID_MAX + 1];
	size_t n = strlen(req->path);

	if (strncmp(req->path, base, sizeof(base) - 1) != 0 || n < sizeof(base) + sizeof(tail) - 1 ||
	    strcmp(req->path + n - (sizeof(tail) - 1), tail) != 0) {
		omr_http_reply_error(reply, 404, "not_found", "no such endpoint");
		return;
	}
	n -= sizeof(base) - 1 + sizeof(tail) - 1;
	if (strcmp(req->method, "PUT") != 0 && strcmp(req->method, "DELETE") != 0) {
		omr_http_reply_error(reply, 405, "method_not_allowed", "use PUT or DELETE");
		return;
	}
	if (!omr_admin_authorised(a, req, reply, OMR_SCOPE_ACT, &who) || !omr_admin_running(a, reply))
		return;
	/* a contact person steers the customer's conversations in every queue */
	if (omr_admin_limited(a, &who, req, reply,
			      "a customer's contact person spans every queue; this token is limited "
			      "to some"))
		return;
	if (n >= sizeof(id) ||
	    (memcpy(id, req->path + sizeof(base) - 1, n), id[n] = '\0', !omr_model_id_ok(id, "u_"))) {
		omr_http_reply_error(reply, 404, "not_found", "no such customer");
		return;
	}
	omr_admin_owner(a, req, reply, &who, id);
}

int omr_admin_is_owner_path(const char *path)
{
	static const char tail[] = "/owner";
	size_t n = strlen(path);
	return n >= sizeof(tail) - 1 && strcmp(path + n - (sizeof(tail) - 1), tail) == 0;
}
