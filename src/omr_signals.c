/*
 * omr_signals: a business signal about a customer (POST /api/v1/signals,
 * docs/proactive.md) meets the `signals:` rules of routing.yaml: the first
 * rule whose type matches and whose condition holds decides, to reach out
 * (omr_outreach_start), to open a task for an agent, or to do nothing. The
 * throttle is kept by outreach.lua, atomically with the contact.
 *
 * Main thread only; what a call needs is copied into struct omr_sigcall.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_config.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_outreach.h"
#include "omr_redis.h"
#include "omr_routing_conf.h"
#include "omr_rules.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_sigcall {
	struct omr_outreach *o;
	json_t *signal;            /* the request body (owned) */
	char *rule;                /* the rule that decided */
	int kind;                  /* enum omr_signal_kind */
	omr_signal_cb cb;
	void *arg;
};

static void omr_sigcall_free(struct omr_sigcall *c)
{
	json_decref(c->signal);
	free(c->rule);
	free(c);
}

int omr_signal_parse(const json_t *body, const char **code_r, char **err_r)
{
	const char *k;
	const json_t *v, *to = json_object_get(body, "to");
	const char *type = json_string_value(json_object_get(body, "type"));
	const char *cust = json_string_value(json_object_get(body, "customer"));
	*err_r = NULL;
	*code_r = "bad_parameter";
	if (!json_is_object(body)) {
		*code_r = "bad_request";
		*err_r = omr_strdup("the body must be a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "type") != 0 && strcmp(k, "customer") != 0 && strcmp(k, "to") != 0 &&
		    strcmp(k, "attributes") != 0) {
			*err_r = omr_asprintf("unknown member '%.64s' (expected type, customer, to, "
					      "attributes)", k);
			return -1;
		}
	}
	if (!type || !omr_model_key_ok(type, 64) || strchr(type, '*'))
		*err_r = omr_strdup("type: a signal type such as payment.failed (1-64 printable)");
	else if (!cust == !to)
		*err_r = omr_strdup("either customer (an id) or to {channel, address}");
	else if (json_object_get(body, "customer") && (!cust || !omr_model_id_ok(cust, "u_")))
		*err_r = omr_strdup("customer: a customer id (u_...)");
	else if (to && (!json_is_object(to) || json_object_size(to) != 2 ||
			!omr_model_key_ok(json_string_value(json_object_get(to, "channel")), 32) ||
			!omr_model_key_ok(json_string_value(json_object_get(to, "address")), 320)))
		*err_r = omr_strdup("to: {channel, address}");
	else if (json_object_get(body, "attributes") &&
		 (!json_is_object(json_object_get(body, "attributes")) ||
		  json_object_size(json_object_get(body, "attributes")) > 64))
		*err_r = omr_strdup("attributes: an object of at most 64 members");
	return *err_r ? -1 : 0;
}

static void omr_signal_answer(struct omr_sigcall *c, int status, const char *decision,
			      const char *conversation, const char *reason)
{
	struct omr_signal_res r = { .status = status, .decision = decision,
				    .conversation = conversation, .rule = c->rule,
				    .reason = reason };
	c->cb(c->arg, &r);
	omr_sigcall_free(c);
}

static void omr_signal_contacted(void *arg, const struct omr_outreach_res *res)
{
	struct omr_sigcall *c = arg;
	const char *d = c->kind == OMR_SIGNAL_TASK ? "task" : "contacted";
	if (res->status == 201 || res->status == 200)
		omr_signal_answer(c, 202, d, res->conversation, NULL);
	else if (res->status == 429)
		omr_signal_answer(c, 202, "throttled", NULL, res->code);
	else if (res->status == 503)
		omr_signal_answer(c, 503, NULL, NULL, res->message);
	else /* opted out, restricted, no address: nobody is contacted */
		omr_signal_answer(c, 202, "none", NULL, res->code);
}

/* the attributes as template variables: texts, numbers, booleans */
static json_t *omr_signal_vars(const json_t *attrs)
{
	json_t *vars = json_object(), *v;
	const char *k;
	json_object_foreach((json_t *)attrs, k, v) {
		char buf[64];
		if (!omr_model_key_ok(k, 64) || json_object_size(vars) >= 32)
			continue;
		if (json_is_string(v) && json_string_length(v) <= 1024)
			json_object_set(vars, k, v);
		else if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v)),
				json_object_set_new(vars, k, json_string(buf));
		else if (json_is_real(v))
			snprintf(buf, sizeof(buf), "%.2f", json_real_value(v)),
				json_object_set_new(vars, k, json_string(buf));
		else if (json_is_boolean(v))
			json_object_set_new(vars, k, json_string(json_is_true(v) ? "true" : "false"));
	}
	return vars;
}

static void omr_signal_act(struct omr_sigcall *c, const struct omr_routing_conf *rc,
			   const struct omr_signal_rule *s)
{
	const json_t *to = json_object_get(c->signal, "to");
	const char *type = json_string_value(json_object_get(c->signal, "type"));
	json_t *vars = omr_signal_vars(json_object_get(c->signal, "attributes"));
	json_t *tmpl = s->tmpl.name ? json_pack("{s:s,s:s?,s:O}", "name", s->tmpl.name, "language",
						s->tmpl.language, "variables", vars) : NULL;
	char *text = s->text ? omr_outreach_fill(s->text, vars) : NULL;
	char *subject = s->subject ? omr_outreach_fill(s->subject, vars) : NULL;
	for (char *p = subject; p && *p; p++) /* one line */
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	char *by = omr_asprintf("signal:%s", type);
	int task = s->kind == OMR_SIGNAL_TASK;
	int to_queue = s->queue && strcmp(s->queue, "none") != 0;
	struct omr_outreach_req req = {
		.channel = to ? json_string_value(json_object_get(to, "channel")) :
			   strcmp(s->channel, "preferred") == 0 ? NULL : s->channel,
		.to = to ? json_string_value(json_object_get(to, "address")) : NULL,
		.customer = json_string_value(json_object_get(c->signal, "customer")),
		.text = task ? NULL : text, .subject = subject, .tmpl = task ? NULL : tmpl,
		.target = task ? "task" : s->agent ? "agent" : to_queue ? "queue" : "none",
		.queue = to_queue ? s->queue : NULL, .agent = s->agent, .by = by,
		.author = "system", .signal = type,
		.throttle_ms = s->throttle >= 0 ? s->throttle : rc->signals.throttle,
	};
	omr_outreach_start(c->o, &req, omr_signal_contacted, c);
	free(by);
	free(text);
	free(subject);
	json_decref(tmpl);
	json_decref(vars);
}

/* facts for the conditions: {type, attributes, signal: {type, attributes},
 * customer: {known, id, name, balance, at_risk, loyal, open_conversations,
 * last_contact_at, days_since_contact, last_proactive_at, owner}} */
static json_t *omr_signal_facts(const struct omr_routing_conf *rc, const json_t *signal,
				int found, const char *cust_json)
{
	json_t *cust = found ? json_loads(cust_json, 0, NULL) : NULL;
	json_t *attrs = json_object_get(signal, "attributes");
	if (!json_is_object(cust))
		cust = json_pack("{s:s,s:i,s:i,s:i}", "id", "", "balance", 0, "open_conversations",
				 0, "last_contact_at", 0);
	long long now = json_integer_value(json_object_get(cust, "now"));
	long long bal = json_integer_value(json_object_get(cust, "balance"));
	long long last = json_integer_value(json_object_get(cust, "last_contact_at"));
	json_object_del(cust, "now");
	json_object_set_new(cust, "known", json_boolean(found));
	json_object_set_new(cust, "at_risk", json_boolean(bal < rc->engagement.low));
	json_object_set_new(cust, "loyal", json_boolean(bal >= rc->engagement.high));
	json_object_set_new(cust, "days_since_contact",
			    json_integer(last > 0 && now > last ? (now - last) / 86400000 : -1));
	json_t *sig = json_pack("{s:O,s:o}", "type", json_object_get(signal, "type"), "attributes",
				attrs ? json_incref(attrs) : json_object());
	json_t *f = json_pack("{s:O,s:O,s:o,s:o}", "type", json_object_get(signal, "type"),
			      "attributes", json_object_get(sig, "attributes"), "signal", sig,
			      "customer", cust);
	return f ? f : json_object();
}

static void omr_signal_facts_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_sigcall *c = arg;
	const struct omr_routing_conf *rc = omr_env_cfg(omr_outreach_env(c->o))->routing;
	struct omr_lua_signal_facts_reply r;
	const char *type = json_string_value(json_object_get(c->signal, "type"));
	if (err || omr_lua_signal_facts_reply(reply, &r) < 2) {
		omr_signal_answer(c, 503, NULL, NULL, err ? err : "bad reply");
		return;
	}
	json_t *facts = omr_signal_facts(rc, c->signal, r.found == 1, r.facts);
	for (size_t i = 0; i < rc->signals.nrules; i++) {
		const struct omr_signal_rule *s = &rc->signals.rules[i];
		char *why = NULL;
		if (!omr_signal_type_matches(s->type, type))
			continue;
		int hit = s->cond < 0 ? 1 : omr_rules_eval(rc->engine, s->cond, facts, &why);
		if (hit < 0) {
			omr_log_warn("signal %s: rule '%s': %s", type, s->name, why);
			free(why);
			continue;
		}
		if (!hit)
			continue;
		c->rule = omr_strdup(s->name);
		c->kind = s->kind;
		json_decref(facts);
		if (s->kind == OMR_SIGNAL_NONE)
			omr_signal_answer(c, 202, "none", NULL, NULL);
		else
			omr_signal_act(c, rc, s);
		return;
	}
	json_decref(facts);
	omr_signal_answer(c, 202, "none", NULL, "no_rule");
}

void omr_signal_handle(struct omr_outreach *o, const json_t *signal, omr_signal_cb cb, void *arg)
{
	struct omr_sigcall *c = omr_calloc(1, sizeof(*c));
	const json_t *to = json_object_get(signal, "to");
	c->o = o;
	c->signal = json_deep_copy(signal);
	c->cb = cb;
	c->arg = arg;
	struct omr_lua_signal_facts_args a = {
		.customer = json_string_value(json_object_get(signal, "customer")),
		.channel = json_string_value(json_object_get(to, "channel")),
		.address = json_string_value(json_object_get(to, "address")),
	};
	omr_lua_signal_facts(omr_outreach_env(o)->store, &a, omr_signal_facts_cb, c);
}
