/*
 * omr_agents_convs: what an agent does with a conversation they have
 * (omr_agents_int.h): reply (within the channel's rules), close, wrap up
 * with the contact reason, transfer, and open one to read it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_audit.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_files.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_routing_conf.h"
#include "omr_search.h"
#include "omr_store.h"
#include "omr_util.h"

const char *omr_agents_conv_arg(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = json_string_value(json_object_get(msg, "conversation"));
	if (!conv || !omr_model_id_ok(conv, "c_")) {
		omr_agents_error(a, s->conn, "bad_request", "conversation: a conversation id", NULL,
				 NULL);
		return NULL;
	}
	return conv;
}

int omr_agents_text_args(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
			 const char *conv, size_t max, const char **text_r, const char **cmid_r)
{
	const json_t *jt = json_object_get(msg, "text");
	const char *text = json_string_value(jt);
	const char *cmid = json_string_value(json_object_get(msg, "client_msg_id"));
	if (!cmid || !omr_model_key_ok(cmid, 64) || strchr(cmid, ':')) {
		omr_agents_error(a, s->conn, "bad_request",
				 "client_msg_id: 1-64 printable characters, no ':'", "conversation",
				 conv);
		return -1;
	}
	if (!text || !*text || json_string_length(jt) != strlen(text) || strlen(text) > max) {
		char *m = omr_asprintf("text: 1 to %zu bytes", max);
		json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "error", "code",
				      "bad_request", "message", m, "conversation", conv,
				      "client_msg_id", cmid);
		omr_agents_send_new(a, s->conn, e);
		free(m);
		return -1;
	}
	*text_r = text;
	*cmid_r = cmid;
	return 0;
}

int omr_agents_refused(struct omr_agents *a, struct omr_areq *q, const redisReply *reply,
		       const char *err)
{
	const char *tag = omr_reply_str(omr_reply_elem(reply, 0));
	if (err || !tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
		return 1;
	}
	if (strcmp(tag, "not_yours") == 0) {
		omr_agents_error_q(q, "not_yours", "this conversation is not assigned to you");
		return 1;
	}
	if (strcmp(tag, "bad_state") == 0) {
		char *m = omr_asprintf("not possible while the conversation is %s",
				       omr_reply_str(omr_reply_elem(reply, 1)) ?
					       omr_reply_str(omr_reply_elem(reply, 1)) : "gone");
		omr_agents_error_q(q, "bad_state", m);
		free(m);
		return 1;
	}
	return 0;
}

static void omr_agents_reply_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_lua_reply_reply r;

	if (omr_agents_refused(a, q, reply, err) || omr_lua_reply_reply(reply, &r) < 6) {
		omr_areq_free(q);
		return;
	}
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, q->agent);
	/* the stored message, so that a resent reply gets the same ack */
	json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, r.hash);
	if (!m)
		m = json_object();
	omr_agents_push_new(a, q->agent, json_pack("{s:s,s:s,s:s,s:o}", "type", "ack",
						   "client_msg_id", q->client_msg_id,
						   "conversation", q->conversation, "message", m));
	if (strcmp(r.tag, "ok") == 0 && r.channel && r.address) {
		json_t *files = omr_files_outbound(a->files, r.channel, q->files, omr_now_ms() / 1000);
		if (files) {
			if (!q->data)
				q->data = json_object();
			json_object_set_new(q->data, "attachments", files);
		}
		struct omr_outbound out = {
			.conversation = q->conversation,
			.message = r.message,
			.kind = "message",
			.address = r.address,
			.thread = r.thread,
			.author = "agent",
			.author_name = ac && ac->name ? ac->name : q->agent,
			.text = q->text,
			.data = q->data, /* {template: {name, language}}, {attachments} or NULL */
		};
		omr_channels_deliver(a->channels, r.channel, &out);
	}
	omr_areq_free(q);
}

static void omr_agents_reply_error(struct omr_agents *a, struct omr_asess *s, const char *msg,
				   const char *conv, const char *cmid)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s}", "type", "error", "code", "bad_request", "message",
			      msg, "conversation", conv);
	if (cmid && omr_model_key_ok(cmid, 64))
		json_object_set_new(j, "client_msg_id", json_string(cmid));
	omr_agents_send_new(a, s->conn, j);
}

static void omr_agents_reply_store(struct omr_areq *q, const char *cmid)
{
	struct omr_agents *a = q->a;
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, q->agent);
	char mid[OMR_ID_MAX];
	const json_t *t = json_object_get(q->data, "template");
	char *tmpl = t ? json_dumps(t, JSON_COMPACT) : NULL;
	char *files = q->files ? json_dumps(q->files, JSON_COMPACT) : NULL;
	const json_t *cc = json_object_get(q->data, "cc");
	char *ccs = cc ? json_dumps(cc, JSON_COMPACT) : NULL;
	struct omr_lua_reply_args r = {
		.conversation = q->conversation, .agent = q->agent,
		.name = ac && ac->name ? ac->name : q->agent, .text = q->text, .client_msg_id = cmid,
		.message = omr_id_new(mid, "m_"), .dedup_ttl = omr_env_cfg(&a->env)->limits.dedup_ttl,
		.author = "agent", .template = tmpl,
		.public_note = json_string_value(json_object_get(q->data, "public_note")),
		.attachments = files, .cc = ccs,
	};
	/* the answer is found by the search too (docs/search.md) */
	char *words = q->text ? omr_search_terms(q->text, strlen(q->text), 1, OMR_SEARCH_TERMS_MAX)
			      : NULL;
	r.words = words;
	omr_lua_reply(a->env.store, &r, omr_agents_reply_cb, q);
	free(words);
	free(tmpl);
	free(files);
	free(ccs);
}

int omr_agents_text_ok(struct omr_agents *a, struct omr_areq *q, const char *channel,
		       long long last_inbound, const char *pub)
{
	const struct omr_plugin *p = channel ? omr_channels_get(a->channels, channel) : NULL;
	/* the window is for private messages; a public comment is answered any time */
	int windowed = p && p->reply_window_ms && !(pub && strcmp(pub, "1") == 0);

	if (windowed && last_inbound + p->reply_window_ms < omr_now_ms()) {
		char span[48];
		omr_format_duration(p->reply_window_ms, span, sizeof(span));
		char *m = omr_asprintf("%s takes free-form replies only within %s of the "
				       "customer's last message; send a template", channel, span);
		json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "type", "error", "code",
				      "window_closed", "message", m, "conversation", q->conversation,
				      "client_msg_id", q->client_msg_id, "closed_at",
				      (json_int_t)(last_inbound + p->reply_window_ms), "templates",
				      p->templates ? json_incref(p->templates) : json_array());
		omr_agents_send_new(a, q->conn, e);
		free(m);
		return 0;
	}
	/* posted publicly (not a private answer, which carries its note) */
	int in_public = pub && strcmp(pub, "1") == 0 && !json_object_get(q->data, "public_note");
	size_t max = p ? p->text_max : 0;
	if (in_public && p && p->public_text_max)
		max = p->public_text_max;
	if (max && omr_utf8_chars(q->text) > max) {
		char *m = in_public ? omr_asprintf("a public answer on %s takes at most %zu "
						   "characters; answer privately for more",
						   channel, max)
				    : omr_asprintf("%s takes at most %zu characters", channel, max);
		omr_agents_error_q(q, "text_too_long", m);
		free(m);
		return 0;
	}
	return 1;
}

/* The channel's rules, checked before the reply is stored: a template
 * outside the reply window (WhatsApp: 24 hours), the channel's length;
 * but first whose it is, so that nothing about a colleague's conversation
 * (when its window closes) is told. reply.lua checks ownership again,
 * atomically with the store. */
static void omr_agents_reply_checked(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	const char *channel = omr_reply_str(omr_reply_elem(reply, 0));
	long long last = omr_reply_int(omr_reply_elem(reply, 1), 0);
	const char *pub = omr_reply_str(omr_reply_elem(reply, 2));
	const char *owner = omr_reply_str(omr_reply_elem(reply, 3));
	const char *language = omr_reply_str(omr_reply_elem(reply, 4));
	const struct omr_plugin *p = channel ? omr_channels_get(a->channels, channel) : NULL;
	const char *tname = q->extra;
	int private = json_is_true(json_object_get(q->data, "private"));
	json_t *vars = json_incref(json_object_get(q->data, "variables"));
	json_t *cc = json_incref(json_object_get(q->data, "cc"));

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
		goto done;
	}
	if (!owner || strcmp(owner, q->agent) != 0) {
		omr_agents_error_q(q, "not_yours", "this conversation is not assigned to you");
		goto done;
	}
	json_decref(q->data);
	q->data = NULL;
	if (private && !(pub && strcmp(pub, "1") == 0)) {
		omr_agents_error_q(q, "bad_request", "private: only on a public conversation");
		goto done;
	}
	if (cc && !(p && (p->desc->flags & OMR_PLUGIN_CC))) {
		omr_agents_error_q(q, "bad_request", "cc: only on an e-mail conversation");
		goto done;
	}
	if (private) /* to the customer alone; the thread gets the short note */
		q->data = json_pack("{s:s}", "public_note",
				    omr_routing_note(omr_env_cfg(&a->env)->routing, language));
	if (tname) {
		/* every variable the template needs, checked by its channel */
		char *why = NULL, *text = NULL;
		if (omr_plugin_template_render(p, tname, vars, &q->data, &text, &why) != OMR_OK) {
			omr_agents_error_q(q, "bad_request", why);
			free(why);
			goto done;
		}
		free(q->text);
		q->text = text;
	} else if (!omr_agents_text_ok(a, q, channel, last, pub)) {
		goto done;
	}
	if (cc) {
		if (!q->data)
			q->data = json_object();
		json_object_set(q->data, "cc", cc);
	}
	json_decref(vars);
	json_decref(cc);
	omr_agents_reply_store(q, q->client_msg_id);
	return;
done:
	json_decref(vars);
	json_decref(cc);
	omr_areq_free(q);
}

/* cc of a reply: a list of at most OMR_MAIL_CC_MAX mail addresses; NULL, or
 * the refusal (malloc'ed) */
static char *omr_agents_cc_why(const json_t *cc)
{
	const json_t *v;
	size_t i;
	if (!json_is_array(cc))
		return omr_strdup("cc: a list of mail addresses");
	if (json_array_size(cc) > OMR_MAIL_CC_MAX)
		return omr_asprintf("cc: at most %d addresses", OMR_MAIL_CC_MAX);
	json_array_foreach(cc, i, v) {
		const char *addr = json_string_value(v);
		if (!addr)
			return omr_asprintf("cc[%zu]: not a string", i);
		if (json_string_length(v) != strlen(addr) || !omr_mail_addr_ok(addr))
			return omr_asprintf("cc[%zu]: not a mail address (name@example.com)", i);
	}
	return NULL;
}

void omr_agents_reply(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *text = json_string_value(json_object_get(msg, "text"));
	const char *tmpl = json_string_value(json_object_get(msg, "template"));
	const char *cmid = json_string_value(json_object_get(msg, "client_msg_id"));
	struct omr_areq *q;

	if (!conv)
		return;
	if (!cmid || !omr_model_key_ok(cmid, 64) || strchr(cmid, ':')) {
		omr_agents_reply_error(a, s, "client_msg_id: 1-64 printable characters", conv, NULL);
		return;
	}
	if (json_object_get(msg, "template") && (!tmpl || !omr_model_key_ok(tmpl, 64))) {
		omr_agents_reply_error(a, s, "template: a template name", conv, cmid);
		return;
	}
	if (json_object_get(msg, "variables") &&
	    (!tmpl || !json_is_object(json_object_get(msg, "variables")))) {
		omr_agents_reply_error(a, s, "variables: an object, with a template", conv, cmid);
		return;
	}
	const json_t *priv = json_object_get(msg, "private");
	if (priv && (!json_is_boolean(priv) || (tmpl && json_is_true(priv)))) {
		omr_agents_reply_error(a, s, "private: true or false, not with a template", conv, cmid);
		return;
	}
	const json_t *cc = json_object_get(msg, "cc");
	char *ccwhy = cc ? omr_agents_cc_why(cc) : NULL;
	if (ccwhy || (cc && tmpl)) {
		omr_agents_reply_error(a, s, ccwhy ? ccwhy : "cc: not with a template", conv, cmid);
		free(ccwhy);
		return;
	}
	const json_t *ids = json_object_get(msg, "attachments");
	json_t *files = NULL;
	if (ids) {
		const char *why;
		if (tmpl || json_is_true(priv)) {
			omr_agents_reply_error(a, s, "attachments: not with a template or a private "
					       "answer", conv, cmid);
			return;
		}
		files = omr_agents_upload_take(a, s, conv, ids, &why);
		if (!files) {
			omr_agents_reply_error(a, s, why, conv, cmid);
			return;
		}
	}
	if (!tmpl && !files && (!text || !*text)) {
		omr_agents_reply_error(a, s, "text: a non-empty string", conv, cmid);
		return;
	}
	if (text && (long long)strlen(text) > omr_env_cfg(&a->env)->limits.text_max) {
		omr_agents_reply_error(a, s, "text is too long", conv, cmid);
		json_decref(files);
		return;
	}
	q = omr_areq_new(a, s);
	q->files = files;
	q->conversation = omr_strdup(conv);
	q->client_msg_id = omr_strdup(cmid);
	q->text = omr_strdup(text ? text : "");
	q->extra = tmpl ? omr_strdup(tmpl) : NULL;
	q->data = json_is_true(priv) ? json_pack("{s:b}", "private", 1) : NULL;
	if (tmpl && json_is_object(json_object_get(msg, "variables")))
		q->data = json_pack("{s:O}", "variables", json_object_get(msg, "variables"));
	if (json_array_size(cc)) {
		if (!q->data)
			q->data = json_object();
		json_object_set_new(q->data, "cc", json_deep_copy(cc));
	}
	char *key = omr_store_key(a->env.store, "conv:%s", conv);
	omr_redis_cmd(omr_store_redis(a->env.store), omr_agents_reply_checked, q,
		      "HMGET %s channel last_inbound_at public agent language", key);
	free(key);
}

/* the satisfaction question, with buttons for a channel that shows them */
static void omr_agents_ask_csat(struct omr_agents *a, const char *conv)
{
	const struct omr_csat_conf *cs = &omr_env_cfg(&a->env)->routing->csat;
	json_t *data = json_pack("{s:[sssss]}", "buttons", "1", "2", "3", "4", "5");
	omr_channels_survey(a->channels, conv, cs->question, data);
	json_decref(data);
}

void omr_agents_acted(struct omr_agents *a, struct omr_areq *q, const redisReply *reply)
{
	const char *act = q->text;
	struct omr_lua_conv_act_reply r = { 0 };

	omr_lua_conv_act_reply(reply, &r);
	if (strcmp(act, "close") == 0) {
		if (r.asked == 1)
			omr_agents_ask_csat(a, q->conversation);
		omr_log_info("agent %s closed conversation %s%s%s%s", q->agent, q->conversation,
			     q->by ? " (by " : "", q->by ? q->by : "", q->by ? ")" : "");
		omr_agents_push_new(a, q->agent, json_pack("{s:s,s:s,s:s,s:s?}", "type", "status",
							   "conversation", q->conversation,
							   "status", "wrapup", "by", q->by));
		json_t *said = json_pack("{s:s}", "event", "ended"); /* the customer hears it */
		omr_channels_notice(a->channels, q->conversation, NULL, NULL, NULL, said);
		json_decref(said);
	} else {
		if (strcmp(act, "transfer") == 0)
			omr_agents_monitor_queue(a, q->conversation, r.queue);
		omr_log_info("agent %s: conversation %s %s%s%s%s", q->agent, q->conversation,
			     strcmp(act, "wrapup") == 0 ? "wrapped up" : "transferred",
			     q->by ? " (by " : "", q->by ? q->by : "", q->by ? ")" : "");
		omr_agents_push_new(a, q->agent,
				    json_pack("{s:s,s:s,s:s,s:s?}", "type", "unassigned", "conversation",
					      q->conversation, "reason",
					      strcmp(act, "wrapup") == 0 ? "wrapped_up" : "transferred",
					      "by", q->by));
		omr_hub_route(a->env.hub);
	}
}

/* ---- own: "make me their contact person" ---- */

static void omr_agents_own_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_lua_cust_owner_reply o;

	if (err || omr_lua_cust_owner_reply(reply, &o) < 5 || !o.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (strcmp(o.tag, "ok") != 0) {
		omr_agents_error_q(q, strcmp(o.tag, "not_yours") == 0 ? "not_yours" : "gone",
				   strcmp(o.tag, "not_yours") == 0 ?
					   "this conversation is not assigned to you" :
					   "the conversation or its customer is gone");
	} else {
		json_t *d = json_pack("{s:s,s:s?}", "conversation", q->conversation, "was",
				      o.was && *o.was ? o.was : NULL);
		struct omr_audit_entry e = { .who = q->agent, .via = "console",
					     .action = "customer.owner", .target = o.customer,
					     .result = "ok", .detail = d };
		omr_audit_write(a->env.store, a->env.node_id, &e);
		json_decref(d);
		omr_log_info("agent %s is now the contact person of customer %s", q->agent, o.customer);
		omr_agents_push_new(a, q->agent,
				    json_pack("{s:s,s:s,s:s,s:s,s:s?}", "type", "owner", "conversation",
					      q->conversation, "customer", o.customer, "owner", o.owner,
					      "deputy", o.deputy && *o.deputy ? o.deputy : NULL));
	}
	omr_areq_free(q);
}

void omr_agents_own(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	struct omr_areq *q;
	if (!conv)
		return;
	if (omr_agents_owner_check(omr_env_cfg(&a->env)->agents, s->agent, NULL)) {
		omr_agents_error(a, s->conn, "forbidden", "only an agent who takes conversations can "
				 "be a contact person", "conversation", conv);
		return;
	}
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	struct omr_lua_cust_owner_args c = { .customer = "", .conversation = conv,
					     .action = "claim", .owner = s->agent, .by = s->agent };
	omr_lua_cust_owner(a->env.store, &c, omr_agents_own_cb, q);
}

long long omr_agents_csat_window(struct omr_agents *a)
{
	const struct omr_csat_conf *cs = &omr_env_cfg(&a->env)->routing->csat;
	return cs->enabled ? cs->window : 0;
}

static void omr_agents_act_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;

	if (!omr_agents_refused(a, q, reply, err)) {
		omr_agents_acted(a, q, reply);
		if (strcmp(q->text, "wrapup") == 0) /* conv_act.lua answers the queue third */
			omr_hub_ended(a->env.hub, OMR_HUB_WRAPPED_UP, q->agent, q->conversation,
				      omr_reply_str(omr_reply_elem(reply, 2)), NULL);
	}
	omr_areq_free(q);
}

void omr_agents_close(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	struct omr_areq *q;
	if (!conv)
		return;
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup("close");
	struct omr_lua_conv_act_args c = { .action = "close", .conversation = conv, .agent = s->agent,
					   .csat = omr_agents_csat_window(a) };
	omr_lua_conv_act(a->env.store, &c, omr_agents_act_cb, q);
}

void omr_agents_wrapup(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_routing_conf *r = omr_env_cfg(&a->env)->routing;
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *reason = omr_conf_reason_ok(r->reasons, json_string_value(json_object_get(msg, "reason")));
	const char *outcome = omr_conf_reason_ok(r->outcomes, json_string_value(json_object_get(msg, "outcome")));
	const char *notes = json_string_value(json_object_get(msg, "notes"));
	char day[16];
	struct omr_areq *q;
	time_t t = time(NULL);
	struct tm tm;

	if (!conv)
		return;
	if (!reason) {
		omr_agents_error(a, s->conn, "bad_reason", "reason: one of the configured contact reasons",
				 "conversation", conv);
		return;
	}
	if (!outcome) {
		omr_agents_error(a, s->conn, "bad_outcome", "outcome: one of the configured outcomes",
				 "conversation", conv);
		return;
	}
	if (notes && strlen(notes) > 4000) {
		omr_agents_error(a, s->conn, "bad_request", "notes: at most 4000 bytes", "conversation",
				 conv);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	json_t *w = json_pack("{s:s,s:s,s:s,s:s,s:I}", "reason", reason, "outcome", outcome, "notes",
			      notes ? notes : "", "agent", s->agent, "at", (json_int_t)omr_now_ms());
	char *wjson = json_dumps(w, JSON_COMPACT);
	json_decref(w);
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup("wrapup");
	struct omr_lua_conv_act_args c = {
		.action = "wrapup", .conversation = conv, .agent = s->agent, .wrapup = wjson,
		.reason = reason, .outcome = outcome, .day = day,
		/* the outcome moves the customer's balance in the same step */
		.points = outcome ? omr_engagement_points(r, outcome) : 0,
		.fcr = omr_engagement_points(r, "first_contact_resolution"),
		/* the agent may say the customer complained (the console's box) */
		.complained = json_is_true(json_object_get(msg, "complaint")),
		.cpoints = omr_engagement_points(r, "complaint"),
		.proactive = omr_engagement_points(r, "proactive_resolved"),
		.rpoints = omr_engagement_points(r, "repeat_reason"),
		.repeat_ms = r->engagement.repeat_days * 86400000LL,
		.recover = r->engagement.recovery_window,
		.min = r->engagement.min, .max = r->engagement.max,
	};
	omr_lua_conv_act(a->env.store, &c, omr_agents_act_cb, q);
	free(wjson);
}

void omr_agents_transfer(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *queue = json_string_value(json_object_get(msg, "queue"));
	const char *agent = json_string_value(json_object_get(msg, "agent"));
	const char *note = json_string_value(json_object_get(msg, "note"));
	const struct omr_agent_conf *me = omr_agents_find(cfg->agents, s->agent);
	struct omr_areq *q;

	if (!conv)
		return;
	if ((queue && agent) || (!queue && !agent)) {
		omr_agents_error(a, s->conn, "bad_request", "transfer to a queue or to an agent",
				 "conversation", conv);
		return;
	}
	if (queue && !omr_routing_queue(cfg->routing, queue)) {
		omr_agents_error(a, s->conn, "unknown_queue", "no such queue", "conversation", conv);
		return;
	}
	const struct omr_agent_conf *to = agent ? omr_agents_find(cfg->agents, agent) : NULL;
	if (agent && (!to || !(to->roles & OMR_ROLE_AGENT) || strcmp(agent, s->agent) == 0)) {
		omr_agents_error(a, s->conn, "unknown_agent", "no such agent (or yourself)",
				 "conversation", conv);
		return;
	}
	if (note && strlen(note) > 4000) {
		omr_agents_error(a, s->conn, "bad_request", "note: at most 4000 bytes", "conversation",
				 conv);
		return;
	}
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->text = omr_strdup("transfer");
	omr_agents_transfer_run(a, q, queue, agent, note, me && me->name ? me->name : s->agent,
				omr_agents_act_cb);
}

void omr_agents_transfer_run(struct omr_agents *a, struct omr_areq *q, const char *queue,
			     const char *agent, const char *note, const char *name,
			     omr_redis_cb cb)
{
	char nid[OMR_ID_MAX];
	const struct omr_routing_conf *rc = omr_env_cfg(&a->env)->routing;
	struct omr_lua_conv_act_args c = {
		.action = "transfer", .conversation = q->conversation, .agent = q->agent,
		.to = queue ? "queue" : "agent", .target = queue ? queue : agent,
		.note_id = omr_id_new(nid, "m_"), .note = note, .name = name,
		/* a transfer to a named agent waits for that agent this long */
		.prefer = rc->offers.timeout * 6,
		.moved = omr_engagement_points(rc, "transfer"),
		.min = rc->engagement.min, .max = rc->engagement.max,
	};
	omr_lua_conv_act(a->env.store, &c, cb, q);
}

static void omr_agents_open_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	json_t *conv;
	int rc = err ? -2 : omr_store_view_parse(reply, omr_agents_low(q->a), &conv, NULL);
	if (rc == 1)
		omr_agents_send_new(q->a, q->conn,
				    json_pack("{s:s,s:o}", "type", "history", "conversation",
					      omr_agents_decorate(q->a, conv)));
	else if (rc == -1 || rc == 0)
		omr_agents_error(q->a, q->conn, "not_yours",
				 "not one of your conversations or of your customers",
				 "conversation", q->conversation);
	else
		omr_agents_error(q->a, q->conn, "unavailable", "storage unavailable, try again",
				 "conversation", q->conversation);
	omr_areq_free(q);
}

void omr_agents_open(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	struct omr_areq *q;
	if (!conv)
		return;
	q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	/* a closed conversation of the queues the agent may search is theirs
	 * to read too (a search result, docs/search.md) */
	char *queues = omr_agents_search_queues(a, s->agent);
	struct omr_lua_agent_view_args v = {
		.conversation = conv, .agent = s->agent, .max = OMR_AGENT_HISTORY,
		.earlier = OMR_AGENT_EARLIER, .queues = queues,
	};
	omr_lua_agent_view(a->env.store, &v, omr_agents_open_cb, q);
	free(queues);
}

