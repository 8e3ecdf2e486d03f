/*
 * omr_admin_customers: a customer's rights over their data
 * (docs/admin-api.md#customers-personal-data): export, erasure and restriction of
 * processing. Admin scope only (a customer's history spans every queue),
 * audited with ids and counts, never the personal data itself.
 *
 *   GET    /api/v1/customers/{id}/export
 *   DELETE /api/v1/customers/{id}[?force=1]
 *   POST   /api/v1/customers/{id}/restrict    body {"restricted": true|false} (default true)
 *   DELETE /api/v1/customers/{id}/restrict
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_admin_int.h"
#include "omr_agents_conf.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

static void omr_admin_cust_failed(struct omr_admin_call *c, int status, const char *err)
{
	if (status == 404)
		omr_http_reply_error(c->reply, 404, "not_found", "no such customer");
	else
		omr_http_reply_error(c->reply, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "");
}

static void omr_admin_exported(void *arg, int status, json_t *body, const char *err)
{
	struct omr_admin_call *c = arg;
	json_t *detail = NULL;
	if (status == 200) {
		size_t i, msgs = 0;
		json_t *conv;
		json_array_foreach(json_object_get(body, "conversations"), i, conv)
			msgs += json_array_size(json_object_get(conv, "messages"));
		detail = json_pack("{s:I,s:I}", "conversations",
				   (json_int_t)json_array_size(json_object_get(body, "conversations")),
				   "messages", (json_int_t)msgs);
		omr_http_reply_json(c->reply, 200, body);
	} else {
		omr_admin_cust_failed(c, status, err);
	}
	omr_admin_audit(c->a, c->who, "customer.export", c->target,
			status == 200 ? "ok" : status == 404 ? "not_found" : "unavailable", detail);
	json_decref(detail);
	omr_admin_call_free(c);
}

static void omr_admin_erased(void *arg, int status, json_t *body, const char *err)
{
	struct omr_admin_call *c = arg;
	json_t *detail = NULL, *out;
	const char *result = "unavailable";

	if (status == 200) {
		result = "ok";
		/* the counts only: ids and numbers, no personal data */
		detail = json_deep_copy(json_object_get(body, "erased"));
		omr_http_reply_json(c->reply, 200, body);
	} else if (status == 409) {
		result = "conversations_open";
		out = json_pack("{s:{s:s,s:s},s:O}", "error", "code", "conversations_open", "message",
				"the customer has conversations that are not closed: close them "
				"first, or erase with ?force=1 (omnictl customer erase --force)",
				"conversations", json_object_get(body, "conversations"));
		detail = json_pack("{s:I}", "open",
				   (json_int_t)json_array_size(json_object_get(body, "conversations")));
		omr_http_reply_json(c->reply, 409, out);
		json_decref(out);
	} else {
		result = status == 404 ? "not_found" : "unavailable";
		omr_admin_cust_failed(c, status, err);
	}
	if (detail && json_is_true(json_object_get(c->detail, "force")))
		json_object_set_new(detail, "force", json_true());
	omr_admin_audit(c->a, c->who, "customer.erase", c->target, result, detail);
	json_decref(detail);
	omr_admin_call_free(c);
}

static void omr_admin_restricted(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *c = arg;
	struct omr_lua_cust_restrict_reply r;
	int on = json_is_true(json_object_get(c->detail, "restricted"));
	const char *result = "ok";
	json_t *out;

	if (err || omr_lua_cust_restrict_reply(reply, &r) < 2 || !r.tag) {
		result = "unavailable";
		omr_admin_cust_failed(c, 503, err ? err : "bad reply");
	} else if (strcmp(r.tag, "none") == 0) {
		result = "not_found";
		omr_admin_cust_failed(c, 404, NULL);
	} else {
		out = json_pack("{s:s,s:b}", "customer", c->target, "restricted", on);
		if (on)
			json_object_set_new(out, "restricted_at", json_integer((json_int_t)r.since));
		omr_http_reply_json(c->reply, 200, out);
		json_decref(out);
	}
	omr_admin_audit(c->a, c->who, on ? "customer.restrict" : "customer.unrestrict", c->target,
			result, NULL);
	omr_admin_call_free(c);
}

static void omr_admin_restrict(struct omr_admin *a, const struct omr_http_request *req,
			       omr_http_reply *reply, const struct omr_admin_who *who,
			       const char *id)
{
	int on = 1;
	if (strcmp(req->method, "POST") == 0) {
		json_t *body = omr_admin_body(req, reply);
		const json_t *v;
		if (!body)
			return;
		v = json_object_get(body, "restricted");
		if (v && !json_is_boolean(v)) {
			omr_http_reply_error(reply, 400, "bad_parameter", "restricted: true or false");
			json_decref(body);
			return;
		}
		on = !v || json_is_true(v);
		json_decref(body);
	} else if (strcmp(req->method, "DELETE") == 0) {
		on = 0;
	} else {
		omr_http_reply_error(reply, 405, "method_not_allowed", "use POST or DELETE");
		return;
	}
	struct omr_admin_call *c = omr_admin_call_new(a, reply, who);
	c->target = omr_strdup(id);
	c->detail = json_pack("{s:b}", "restricted", on);
	struct omr_lua_cust_restrict_args args = { .customer = id, .on = on };
	omr_lua_cust_restrict(a->env.store, &args, omr_admin_restricted, c);
}

static void omr_admin_erase(struct omr_admin *a, const struct omr_http_request *req,
			    omr_http_reply *reply, const struct omr_admin_who *who, const char *id)
{
	long long force = 0;
	struct omr_admin_call *c;
	if (omr_admin_param_int(req, reply, "force", 0, 1, &force) < 0)
		return;
	c = omr_admin_call_new(a, reply, who);
	c->target = omr_strdup(id);
	c->detail = json_pack("{s:b}", "force", (int)force);
	a->ops.erase_customer(a->ops.arg, id, (int)force, omr_admin_erased, c);
}

/* /api/v1/customers/{id}[/verb]: the id (checked) and the verb ("" none);
 * 0, or -1 with the answer sent */
static int omr_admin_cust_path(const char *path, omr_http_reply *reply, char id[OMR_ID_MAX + 1],
			       const char **verb_r)
{
	static const char base[] = "/api/v1/customers/";
	const char *p = path + sizeof(base) - 1, *slash;
	size_t n;

	if (strncmp(path, base, sizeof(base) - 1) != 0 || !*p) {
		omr_http_reply_error(reply, 404, "not_found", "no such endpoint");
		return -1;
	}
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	*verb_r = slash ? slash + 1 : "";
	if (**verb_r && strcmp(*verb_r, "export") != 0 && strcmp(*verb_r, "restrict") != 0) {
		omr_http_reply_error(reply, 404, "not_found", "no such endpoint");
		return -1;
	}
	if (n > OMR_ID_MAX || (memcpy(id, p, n), id[n] = '\0', !omr_model_id_ok(id, "u_"))) {
		omr_http_reply_error(reply, 400, "bad_id",
				     "not a customer id (u_ and 12 to 40 of 0-9 a-z)");
		return -1;
	}
	return 0;
}

void omr_admin_customers(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;
	char id[OMR_ID_MAX + 1];
	const char *verb;
	struct omr_admin_call *c;

	if (omr_admin_is_owner_path(req->path)) { /* its own scope: act */
		omr_admin_customer_owner(arg, req, reply);
		return;
	}
	if (!omr_admin_authorised(a, req, reply, OMR_SCOPE_ADMIN, &who) ||
	    !omr_admin_running(a, reply))
		return;
	if (omr_admin_limited(a, &who, req, reply,
			      "a customer's data spans every queue; this token is limited to some") ||
	    omr_admin_cust_path(req->path, reply, id, &verb) < 0)
		return;
	if (strcmp(verb, "restrict") == 0) {
		omr_admin_restrict(a, req, reply, &who, id);
	} else if (strcmp(verb, "export") == 0) {
		if (!omr_admin_method(req, reply, "GET"))
			return;
		c = omr_admin_call_new(a, reply, &who);
		c->target = omr_strdup(id);
		a->ops.export_customer(a->ops.arg, id, omr_admin_exported, c);
	} else if (omr_admin_method(req, reply, "DELETE")) {
		omr_admin_erase(a, req, reply, &who, id);
	}
}
