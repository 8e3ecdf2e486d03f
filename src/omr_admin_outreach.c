/*
 * omr_admin_outreach: proactive contact through the admin API
 * (docs/admin-api.md#proactive-contact, docs/proactive.md):
 *   POST /api/v1/conversations   start one (scope act; Idempotency-Key)
 *   POST /api/v1/signals         a business signal meets the signals: rules (act)
 *   GET  /api/v1/optouts?channel=C&address=A | ?customer=U[&channel=C]  (read)
 *   POST /api/v1/optouts         {customer | channel+address, opted_out} (act)
 * Every start and opt-out change is audited (ids, never texts).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_admin_int.h"
#include "omr_agents_conf.h"
#include "omr_model.h"
#include "omr_outreach.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

/* ---- POST /api/v1/conversations ---- */

static void omr_admin_outreach_conv(void *arg, int status, json_t *conv, const char *err)
{
	struct omr_admin_call *c = arg;
	json_t *out;
	(void)err;
	if (status != OMR_OK || !conv)
		out = json_pack("{s:{s:s}}", "conversation", "id", c->target);
	else
		out = json_pack("{s:O}", "conversation", conv);
	if (json_is_true(json_object_get(c->detail, "replayed")))
		omr_http_reply_header(c->reply, "Idempotent-Replayed", "true");
	omr_http_reply_json(c->reply, 201, out);
	json_decref(out);
	omr_admin_call_free(c);
}

static void omr_admin_outreach_done(void *arg, const struct omr_outreach_res *res)
{
	struct omr_admin_call *c = arg;
	if (res->status >= 400) {
		omr_admin_audit(c->a, c->who, c->action, res->conversation, res->code, c->detail);
		if (res->conversation)
			omr_http_reply_error(c->reply, res->status, res->code, "%s (conversation %s)",
					     res->message, res->conversation);
		else
			omr_http_reply_error(c->reply, res->status, res->code, "%s", res->message);
		omr_admin_call_free(c);
		return;
	}
	json_object_set_new(c->detail, "channel", json_string(res->channel ? res->channel : ""));
	if (res->status == 200)
		json_object_set_new(c->detail, "replayed", json_true());
	c->target = omr_strdup(res->conversation);
	omr_admin_audit(c->a, c->who, c->action, c->target, "ok", c->detail);
	omr_store_conv_get(c->a->env.store, res->conversation, 20, 0, omr_admin_outreach_conv, c);
}

/* the Idempotency-Key header: NULL (none), or 1-128 printable characters;
 * -1 with the 400 sent */
static int omr_admin_idem(const struct omr_http_request *req, omr_http_reply *reply,
			  const char **key_r)
{
	*key_r = req->header(req, "Idempotency-Key");
	if (*key_r && !omr_model_key_ok(*key_r, 128)) {
		omr_http_reply_error(reply, 400, "bad_parameter",
				     "Idempotency-Key: 1-128 printable characters");
		return -1;
	}
	return 0;
}

void omr_admin_outreach(struct omr_admin *a, const struct omr_http_request *req,
			omr_http_reply *reply, const struct omr_admin_who *who)
{
	struct omr_outreach_req r;
	const char *code, *idem;
	char *err = NULL;
	json_t *body;

	if (omr_admin_limited(a, who, req, reply,
			      "a conversation started by us may reach any customer; this token is "
			      "limited to some queues") ||
	    omr_admin_idem(req, reply, &idem) < 0 || !(body = omr_admin_body(req, reply)))
		return;
	if (omr_outreach_parse(body, &r, &code, &err) < 0) {
		omr_http_reply_error(reply, 400, code, "%s", err);
		free(err);
		json_decref(body);
		return;
	}
	struct omr_admin_call *c = omr_admin_call_new(a, reply, who);
	c->action = omr_strdup("conversation.start");
	c->detail = json_pack("{s:s,s:s?}", "target", r.target, "channel", r.channel);
	/* the API's keys apart from the console's ("agent:<id>:<client_msg_id>") */
	char *key = idem ? omr_asprintf("api:%s", idem) : NULL;
	r.idem = key;
	r.by = c->who;
	r.author = "system";
	omr_outreach_start(a->ops.outreach, &r, omr_admin_outreach_done, c);
	free(key);
	json_decref(body);
}

/* ---- POST /api/v1/signals ---- */

static void omr_admin_signal_done(void *arg, const struct omr_signal_res *res)
{
	struct omr_admin_call *c = arg;
	if (res->status != 202) {
		omr_http_reply_error(c->reply, 503, "unavailable", "storage unavailable: %s",
				     res->reason ? res->reason : "");
		omr_admin_call_free(c);
		return;
	}
	json_t *out = json_pack("{s:s,s:s?,s:s?,s:s?}", "decision", res->decision, "conversation",
				res->conversation, "rule", res->rule, "reason", res->reason);
	json_object_set_new(c->detail, "decision", json_string(res->decision));
	if (res->rule)
		json_object_set_new(c->detail, "rule", json_string(res->rule));
	omr_admin_audit(c->a, c->who, c->action, res->conversation, "ok", c->detail);
	omr_http_reply_json(c->reply, 202, out);
	json_decref(out);
	omr_admin_call_free(c);
}

void omr_admin_signals(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;
	const char *code;
	char *err = NULL;
	json_t *body;

	if (!omr_admin_method(req, reply, "POST") ||
	    !omr_admin_authorised(a, req, reply, OMR_SCOPE_ACT, &who) ||
	    !omr_admin_running(a, reply) ||
	    omr_admin_limited(a, &who, req, reply, "a signal may reach any customer; this token "
			      "is limited to some queues") ||
	    !(body = omr_admin_body(req, reply)))
		return;
	if (omr_signal_parse(body, &code, &err) < 0) {
		omr_http_reply_error(reply, 400, code, "%s", err);
		free(err);
		json_decref(body);
		return;
	}
	struct omr_admin_call *c = omr_admin_call_new(a, reply, &who);
	c->action = omr_strdup("signal");
	c->detail = json_pack("{s:O}", "type", json_object_get(body, "type"));
	omr_signal_handle(a->ops.outreach, body, omr_admin_signal_done, c);
	json_decref(body);
}

/* ---- /api/v1/optouts ---- */

static void omr_admin_optout_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_admin_call *c = arg;
	struct omr_lua_optout_reply r;
	json_t *list;
	if (err || omr_lua_optout_reply(reply, &r) < 2 || !r.tag) {
		omr_http_reply_error(c->reply, 503, "unavailable", "storage unavailable: %s",
				     err ? err : "bad reply");
	} else if (strcmp(r.tag, "ok") != 0) {
		omr_http_reply_error(c->reply, 404, strcmp(r.tag, "no_customer") == 0 ?
				     "unknown_customer" : "no_address", "%s",
				     strcmp(r.tag, "no_customer") == 0 ? "no such customer" :
				     "the customer has no address on that channel");
	} else if ((list = json_loads(r.list, 0, NULL)) != NULL) {
		json_t *out = json_pack("{s:o}", "optouts", list);
		if (c->action)
			omr_admin_audit(c->a, c->who, c->action, c->target, "ok", c->detail);
		omr_http_reply_json(c->reply, 200, out);
		json_decref(out);
	} else {
		omr_http_reply_error(c->reply, 503, "unavailable", "bad reply");
	}
	omr_admin_call_free(c);
}

/* who: a customer, or a channel and an address; 0, or -1 with the 400 sent */
static int omr_admin_optout_who(omr_http_reply *reply, const char *customer, const char *channel,
				const char *address)
{
	if (customer ? !omr_model_id_ok(customer, "u_") || address :
		       !channel || !address || !omr_model_key_ok(address, 320)) {
		omr_http_reply_error(reply, 400, "bad_parameter", "customer (with an optional "
				     "channel), or channel and address");
		return -1;
	}
	if (channel && !omr_model_key_ok(channel, 32)) {
		omr_http_reply_error(reply, 400, "bad_parameter", "channel: a channel name");
		return -1;
	}
	return 0;
}

static void omr_admin_optout_set(struct omr_admin *a, const struct omr_http_request *req,
				 omr_http_reply *reply, const struct omr_admin_who *who)
{
	const char *customer, *channel, *address, *k;
	json_t *body = omr_admin_body(req, reply), *v;
	if (!body)
		return;
	json_object_foreach(body, k, v) {
		if (strcmp(k, "customer") && strcmp(k, "channel") && strcmp(k, "address") &&
		    strcmp(k, "opted_out")) {
			omr_http_reply_error(reply, 400, "bad_parameter", "unknown member (expected "
					     "customer, channel, address, opted_out)");
			json_decref(body);
			return;
		}
	}
	const json_t *on = json_object_get(body, "opted_out");
	if (omr_admin_body_str(body, reply, "customer", &customer) < 0 ||
	    omr_admin_body_str(body, reply, "channel", &channel) < 0 ||
	    omr_admin_body_str(body, reply, "address", &address) < 0 ||
	    omr_admin_optout_who(reply, customer, channel, address) < 0) {
		json_decref(body);
		return;
	}
	if (!json_is_boolean(on)) {
		omr_http_reply_error(reply, 400, "bad_parameter", "opted_out: true or false");
		json_decref(body);
		return;
	}
	struct omr_admin_call *c = omr_admin_call_new(a, reply, who);
	c->action = omr_strdup(json_is_true(on) ? "optout.set" : "optout.clear");
	c->target = omr_strdup(customer ? customer : channel);
	c->detail = json_pack("{s:s?}", "channel", channel);
	struct omr_lua_optout_args args = {
		.customer = customer, .channel = channel, .address = address,
		.action = json_is_true(on) ? "set" : "clear", .by = who->who, .via = "admin",
	};
	omr_lua_optout(a->env.store, &args, omr_admin_optout_done, c);
	json_decref(body);
}

void omr_admin_optouts(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_admin *a = arg;
	struct omr_admin_who who;
	int post = strcmp(req->method, "POST") == 0;

	if (strcmp(req->path, "/api/v1/optouts") != 0) {
		omr_http_reply_error(reply, 404, "not_found", "no such endpoint");
		return;
	}
	if (!post && !omr_admin_method(req, reply, "GET"))
		return;
	if (!omr_admin_authorised(a, req, reply, post ? OMR_SCOPE_ACT : OMR_SCOPE_READ, &who) ||
	    !omr_admin_running(a, reply) ||
	    omr_admin_limited(a, &who, req, reply, "opt-outs span every queue"))
		return;
	if (post) {
		omr_admin_optout_set(a, req, reply, &who);
		return;
	}
	const char *customer = omr_http_query_param(req, "customer");
	const char *channel = omr_http_query_param(req, "channel");
	const char *address = omr_http_query_param(req, "address");
	if (omr_admin_optout_who(reply, customer, channel, address) < 0)
		return;
	struct omr_admin_call *c = omr_admin_call_new(a, reply, &who);
	struct omr_lua_optout_args args = { .customer = customer, .channel = channel,
					    .address = address, .action = "get",
					    .by = "", .via = "" };
	omr_lua_optout(a->env.store, &args, omr_admin_optout_done, c);
}
