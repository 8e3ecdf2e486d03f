/*
 * omr_host: see omr_host.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_admission.h"
#include "omr_bots.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_curl.h"
#include "omr_edge.h"
#include "omr_host.h"
#include "omr_http.h"
#include "omr_hub.h"
#include "omr_ingest.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_retry.h"
#include "omr_routing_conf.h"
#include "omr_store.h"
#include "omr_util.h"
#include "omr_webhook.h"
#include "omr_worker.h"

struct omr_metrics {
	struct omr_buf *b;
	const char *plugin;
};

static int omr_host_metric_name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static void omr_host_metric(omr_metrics *m, const char *name, const char *type, const char *help,
			    unsigned long long value)
{
	char full[256], prefix[100];
	size_t n = 0;
	for (const char *c = m->plugin; *c && n + 1 < sizeof(prefix); c++) /* "my-chat" -> my_chat */
		prefix[n++] = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a')
			      : ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')) ? *c : '_';
	prefix[n] = '\0';
	if (!omr_host_metric_name_ok(name) ||
	    (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0) || !help ||
	    strpbrk(help, "\r\n\\")) {
		omr_log_warn("plugin '%s': metric '%s' refused (name [a-z0-9_], type counter|gauge, "
			     "one-line help)", m->plugin, name ? name : "");
		return;
	}
	snprintf(full, sizeof(full), "omniroute_%s_%s", prefix, name);
	omr_buf_printf(m->b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", full, help, full, type, full,
		       value);
}

void omr_host_plugin_metrics(struct omr_plugin *const *plugins, size_t n, struct omr_buf *b)
{
	for (size_t i = 0; i < n; i++) {
		struct omr_plugin *p = plugins[i];
		if (!p->initialised || !p->desc->metrics)
			continue;
		struct omr_metrics m = { b, p->name };
		p->desc->metrics(p->state, &m);
	}
}

static long long omr_host_limit(omr_host *h, const char *name)
{
	const struct omr_config *cfg = omr_env_cfg(&h->env->env);
	if (strcmp(name, "text_max") == 0)
		return cfg->limits.text_max;
	if (strcmp(name, "attachments_max") == 0)
		return cfg->limits.attachments_max;
	return 0;
}

struct omr_timer {
	struct event *ev;
	void (*cb)(void *arg);
	void *arg;
	int repeat;
	struct timeval tv;
};

static void omr_host_log(omr_host *h, enum omr_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void omr_host_log(omr_host *h, enum omr_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	omr_logv(level, h->plugin->name, fmt, ap);
	va_end(ap);
}

static struct event_base *omr_host_event_base(omr_host *h)
{
	return h->env->env.base;
}

/* A plugin's callback on its way back: dropped once the plugin is closed
 * (a Redis reply that comes during shutdown, after the plugin's code is
 * gone). */
struct omr_host_submit {
	struct omr_plugin *p;
	omr_submit_cb cb;
	void *arg;
};

static void omr_host_submitted(void *arg, const struct omr_submit_result *res)
{
	struct omr_host_submit *hs = arg;
	if (!hs->p->closed)
		hs->cb(hs->arg, res);
	free(hs);
}

static int omr_host_submit(omr_host *h, const struct omr_inbound *ev, omr_submit_cb cb, void *arg)
{
	if (!cb)
		return OMR_ERROR;
	struct omr_host_submit *hs = omr_malloc(sizeof(*hs));
	hs->p = h->plugin;
	hs->cb = cb;
	hs->arg = arg;
	omr_ingest_submit(h->env->ingest, h->plugin->name, ev, omr_host_submitted, hs);
	return OMR_OK;
}

static void omr_host_send_result(omr_host *h, const char *message, const char *status,
				 const char *channel_msg_id, const char *error)
{
	if (!message || !status)
		return;
	omr_channels_status(h->env->channels, h->plugin->name, message, channel_msg_id, status,
			    error, NULL, NULL);
}

static void omr_host_delivery_status(omr_host *h, const char *channel_msg_id, const char *status,
				     const char *error)
{
	if (!channel_msg_id || !status || !omr_model_key_ok(channel_msg_id, 256))
		return;
	omr_channels_status(h->env->channels, h->plugin->name, NULL, channel_msg_id, status, error,
			    NULL, NULL);
}

static int omr_host_ws_register(omr_host *h, const struct omr_ws_endpoint *ep, char **err_r)
{
	if (!h->in_init)
		return omr_err(err_r, "ws_register is only allowed in init");
	return omr_edge_add_endpoint(h->env->edge, ep, 0, err_r);
}

static int omr_host_ws_send(omr_host *h, uint64_t conn, const char *data, size_t len)
{
	return omr_edge_send(h->env->edge, conn, data, len);
}

static void omr_host_ws_close(omr_host *h, uint64_t conn, int code, const char *reason)
{
	omr_edge_close(h->env->edge, conn, code, reason);
}

static void omr_host_ws_trust(omr_host *h, uint64_t conn)
{
	omr_edge_trust(h->env->edge, conn);
}

static int omr_host_static_mount(omr_host *h, const char *prefix, const char *dir, char **err_r)
{
	if (!h->in_init)
		return omr_err(err_r, "static_mount is only allowed in init");
	return omr_edge_add_mount(h->env->edge, prefix, dir, err_r);
}

static int omr_host_http_route(omr_host *h, const char *path, omr_http_handler fn, void *arg,
			       char **err_r)
{
	if (!h->in_init)
		return omr_err(err_r, "http_route is only allowed in init");
	return omr_http_route(h->env->webhook_http, path, 0, fn, arg, err_r);
}

static void omr_host_http_reply(omr_http_reply *reply, int code, const char *content_type,
				const void *body, size_t len)
{
	omr_http_reply_send(reply, code, content_type, body, len);
}

struct omr_host_history {
	struct omr_plugin *p;
	void (*cb)(void *arg, int status, json_t *json);
	void *arg;
};

static void omr_host_history_done(void *arg, int status, json_t *json, const char *err)
{
	struct omr_host_history *hh = arg;
	(void)err;
	if (!hh->p->closed)
		hh->cb(hh->arg, status, json);
	free(hh);
}

/* history_of: a conversation of another channel is none */
static void omr_host_history_of_done(void *arg, int status, json_t *json, const char *err)
{
	struct omr_host_history *hh = arg;
	const char *ch = json_string_value(
		json_object_get(json_object_get(json, "conversation"), "channel"));
	omr_host_history_done(arg, status, ch && strcmp(ch, hh->p->name) == 0 ? json : NULL, err);
}

/* the messages a history call gives at most, newest last */
#define OMR_HOST_HISTORY_MSGS 200

/* a history call's context; the store's callback frees it */
static struct omr_host_history *omr_host_history_new(omr_host *h,
						    void (*cb)(void *arg, int status,
							       json_t *json),
						    void *arg)
{
	struct omr_host_history *hh = omr_malloc(sizeof(*hh));
	hh->p = h->plugin;
	hh->cb = cb;
	hh->arg = arg;
	return hh;
}

static int omr_host_history_of(omr_host *h, const char *conversation,
			       void (*cb)(void *arg, int status, json_t *json), void *arg)
{
	if (!cb || !conversation || !omr_model_key_ok(conversation, 64))
		return OMR_ERROR;
	omr_store_conv_history(h->env->env.store, conversation, OMR_HOST_HISTORY_MSGS,
			       omr_host_history_of_done, omr_host_history_new(h, cb, arg));
	return OMR_OK;
}

static int omr_host_history_get(omr_host *h, const char *address, const char *thread,
				void (*cb)(void *arg, int status, json_t *json), void *arg)
{
	const char *t = thread ? thread : address;
	if (!cb || !omr_model_key_ok(t, 512))
		return OMR_ERROR;
	omr_store_history(h->env->env.store, h->plugin->name, t, OMR_HOST_HISTORY_MSGS,
			  omr_host_history_done, omr_host_history_new(h, cb, arg));
	return OMR_OK;
}

/* ---- the customer left (conv_leave.lua) ---- */

struct omr_host_leave {
	struct omr_plugin *p;
	struct omr_hub *hub;
	void (*cb)(void *arg, int status);
	void *arg;
};

static void omr_host_left_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_host_leave *hl = arg;
	struct omr_lua_conv_leave_reply l;
	int status = OMR_AGAIN;

	if (!err && omr_lua_conv_leave_reply(reply, &l) > 0 && l.tag) {
		status = OMR_OK;
		if (strcmp(l.tag, "ok") == 0 && l.conversation) {
			omr_log_info("conversation %s (%s): the customer left (it was %s)",
				     l.conversation, hl->p->name, l.status ? l.status : "?");
			if (l.offer && *l.offer && l.agent && *l.agent) {
				struct omr_hub_event ev = {
					.type = OMR_HUB_REVOKED, .agent = l.agent, .offer = l.offer,
					.conversation = l.conversation, .reason = "customer_left",
				};
				omr_hub_emit(hl->hub, &ev);
				omr_hub_ended(hl->hub, OMR_HUB_OFFER_ENDED, l.agent, l.conversation,
					      l.queue, "withdrawn");
			}
			if (l.status && strcmp(l.status, "bot") == 0)
				omr_hub_ended(hl->hub, OMR_HUB_BOT_ENDED, NULL, l.conversation, NULL,
					      "contained");
			omr_hub_route(hl->hub); /* an agent may have room again */
		}
	}
	if (hl->cb && !hl->p->closed)
		hl->cb(hl->arg, status);
	free(hl);
}

static int omr_host_customer_left(omr_host *h, const char *address, const char *thread,
				  void (*cb)(void *arg, int status), void *arg)
{
	const struct omr_routing_conf *rc = omr_env_cfg(&h->env->env)->routing;
	const char *t = thread ? thread : address;
	if (!omr_model_key_ok(address, 320) || !omr_model_key_ok(t, 512))
		return OMR_ERROR;
	/* each queue's service level: an abandon after it counts against it */
	json_t *sla = json_object();
	for (size_t i = 0; i < rc->nqueues; i++)
		json_object_set_new(sla, rc->queues[i].name,
				    json_integer(rc->queues[i].sla.target ? rc->queues[i].sla.within
									   : -1));
	char *sj = json_dumps(sla, JSON_COMPACT);
	json_decref(sla);
	struct omr_host_leave *hl = omr_calloc(1, sizeof(*hl));
	hl->p = h->plugin;
	hl->hub = h->env->env.hub;
	hl->cb = cb;
	hl->arg = arg;
	struct omr_lua_conv_leave_args a = {
		.channel = h->plugin->name, .thread = t, .sla = sj,
		.left = omr_engagement_points(rc, "abandoned"),
		.min = rc->engagement.min, .max = rc->engagement.max,
	};
	omr_lua_conv_leave(h->env->env.store, &a, omr_host_left_done, hl);
	free(sj);
	return OMR_OK;
}

/* ---- is anybody there (agents_avail.lua) ---- */

struct omr_host_avail {
	struct omr_plugin *p;
	void (*cb)(void *arg, int status, int available);
	void *arg;
};

static void omr_host_avail_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_host_avail *ha = arg;
	struct omr_lua_agents_avail_reply r;
	int ok = !err && omr_lua_agents_avail_reply(reply, &r) > 0;

	if (!ha->p->closed)
		ha->cb(ha->arg, ok ? OMR_OK : OMR_AGAIN, ok && r.n > 0);
	free(ha);
}

static int omr_host_agents_available(omr_host *h, void (*cb)(void *arg, int status, int available),
				     void *arg)
{
	struct omr_host_avail *ha;
	if (!cb)
		return OMR_ERROR;
	ha = omr_calloc(1, sizeof(*ha));
	ha->p = h->plugin;
	ha->cb = cb;
	ha->arg = arg;
	struct omr_lua_agents_avail_args a = { 0 };
	omr_lua_agents_avail(h->env->env.store, &a, omr_host_avail_done, ha);
	return OMR_OK;
}

static void omr_timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct omr_timer *t = arg;
	t->cb(t->arg);
}

static omr_timer *omr_host_timer_new(omr_host *h, void (*cb)(void *arg), void *arg)
{
	struct omr_timer *t = omr_calloc(1, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->ev = event_new(h->env->env.base, -1, 0, omr_timer_fire, t);
	return t;
}

static void omr_host_timer_start(omr_timer *t, uint64_t ms, int repeat)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	event_del(t->ev);
	event_assign(t->ev, event_get_base(t->ev), -1, repeat ? EV_PERSIST : 0, omr_timer_fire, t);
	event_add(t->ev, &tv);
}

static void omr_host_timer_stop(omr_timer *t)
{
	event_del(t->ev);
}

static void omr_host_timer_free(omr_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}

static const char *omr_host_data_path(omr_host *h, const char *rel, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", omr_env_cfg(&h->env->env)->paths.data_dir, rel);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

static const char *omr_host_state_path(omr_host *h, const char *rel, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", omr_env_cfg(&h->env->env)->paths.state_dir, rel);
	return n < 0 || (size_t)n >= len ? NULL : buf;
}

/* ---- the plugins' key-value store ---- */

#define OMR_KV_VALUE_MAX 65536

struct omr_host_kv {
	struct omr_plugin *p;
	void (*get_cb)(void *arg, int status, const char *value, size_t len);
	void (*set_cb)(void *arg, int status);
	void *arg;
};

static int omr_host_kv_key_ok(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n == 0 || n > 200)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
			return 0;
	return 1;
}

static void omr_host_kv_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_host_kv *k = arg;
	int st = err || (reply && reply->type == REDIS_REPLY_ERROR) ? OMR_AGAIN : OMR_OK;
	if (k->p->closed) {
		/* the plugin is gone */
	} else if (k->get_cb) {
		int has = st == OMR_OK && reply && reply->type == REDIS_REPLY_STRING;
		k->get_cb(k->arg, st, has ? reply->str : NULL, has ? reply->len : 0);
	} else if (k->set_cb) {
		k->set_cb(k->arg, st);
	}
	free(k);
}

static int omr_host_kv_get(omr_host *h, const char *key,
			   void (*cb)(void *arg, int status, const char *value, size_t len), void *arg)
{
	if (!cb || !omr_host_kv_key_ok(key))
		return OMR_ERROR;
	struct omr_host_kv *k = omr_calloc(1, sizeof(*k));
	k->p = h->plugin;
	k->get_cb = cb;
	k->arg = arg;
	char *full = omr_store_key(h->env->env.store, "kv:%s:%s", h->plugin->name, key);
	omr_redis_cmd(omr_store_redis(h->env->env.store), omr_host_kv_done, k, "GET %s", full);
	free(full);
	return OMR_OK;
}

static int omr_host_kv_set(omr_host *h, const char *key, const void *value, size_t len,
			   long long ttl_ms, void (*cb)(void *arg, int status), void *arg)
{
	if (!omr_host_kv_key_ok(key) || (!value && len) || len > OMR_KV_VALUE_MAX || ttl_ms < 0)
		return OMR_ERROR;
	struct omr_host_kv *k = omr_calloc(1, sizeof(*k));
	k->p = h->plugin;
	k->set_cb = cb;
	k->arg = arg;
	char *full = omr_store_key(h->env->env.store, "kv:%s:%s", h->plugin->name, key);
	if (ttl_ms > 0)
		omr_redis_cmd(omr_store_redis(h->env->env.store), omr_host_kv_done, k, "SET %s %b PX %lld",
			      full, value ? value : "", len, ttl_ms);
	else
		omr_redis_cmd(omr_store_redis(h->env->env.store), omr_host_kv_done, k, "SET %s %b", full,
			      value ? value : "", len);
	free(full);
	return OMR_OK;
}

static int omr_host_transfer(omr_host *h, void *easy,
			     void (*done)(void *arg, int curl_code, long status), void *arg)
{
	if (!easy || !done || !h->env->curl || h->env->stopping)
		return OMR_ERROR;
	return omr_curl_start(h->env->curl, easy, (omr_curl_done)done, arg) == 0 ? OMR_OK
										 : OMR_ERROR;
}

static int omr_host_http_request(omr_host *h, const char *method, const char *url,
				 const char *const *headers, const void *body, size_t body_len,
				 long timeout_ms, omr_http_done cb, void *arg)
{
	if (!url || !cb || !h->env->curl || h->env->stopping)
		return OMR_ERROR;
	return omr_curl_http(h->env->curl, method ? method : "GET", url, headers, body, body_len,
			     timeout_ms > 0 ? timeout_ms : 30000, cb, arg) == 0 ? OMR_OK : OMR_ERROR;
}

static void omr_host_bot_answer(omr_host *h, const struct omr_bot_answer *answer)
{
	if (h->plugin->desc->kind != OMR_PLUGIN_BOT || h->env->stopping)
		return;
	omr_bots_answer(h->env->bots, h->plugin, answer);
}

static void omr_host_hmac_hex(const void *key, size_t key_len, const void *data, size_t len,
			      char out[65])
{
	omr_hmac_sha256_hex(key, key_len, data, len, out);
}

static int omr_host_signature_ok(const char *received, const void *key, size_t key_len,
				 const void *data, size_t len)
{
	return omr_signature_ok(received, key, key_len, data, len);
}


static int omr_host_webhook_register(omr_host *h, const struct omr_webhook_spec *spec,
				     char **err_r)
{
	if (!h->in_init)
		return omr_err(err_r, "webhook_register is only allowed in init");
	return omr_webhooks_add(h->env->webhooks, h->plugin, spec, err_r);
}

static int omr_host_http_send(omr_host *h, const char *method, const char *url,
			      const char *const *headers, const void *body, size_t body_len,
			      long timeout_ms, const struct omr_http_retry *retry, omr_http_done cb,
			      void *arg)
{
	return omr_retry_send(h->env->retry, method, url, headers, body, body_len, timeout_ms,
			      retry, cb, arg);
}

/* A channel's templates: [{name, language, text}], names unique. */
static int omr_host_templates_ok(const json_t *t, char **err_r)
{
	size_t i, k;
	json_t *e;
	if (!json_is_array(t))
		return omr_err(err_r, "templates: a list");
	json_array_foreach(t, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *text = json_string_value(json_object_get(e, "text"));
		if (!name || !omr_model_key_ok(name, 64) || !text || !*text ||
		    !json_is_string(json_object_get(e, "language")))
			return omr_err(err_r, "template %zu: needs name, language and text", i + 1);
		for (k = 0; k < i; k++)
			if (strcmp(name, json_string_value(json_object_get(json_array_get(t, k), "name"))) == 0)
				return omr_err(err_r, "template '%s' is listed twice", name);
	}
	return OMR_OK;
}

static int omr_host_channel_policy(omr_host *h, const struct omr_channel_policy *policy,
				   char **err_r)
{
	struct omr_plugin *p = h->plugin;
	if (!h->in_init)
		return omr_err(err_r, "channel_policy is only allowed in init");
	if (!policy || policy->reply_window_ms < 0)
		return omr_err(err_r, "channel_policy: a policy with a window of 0 or more");
	if (policy->templates && omr_host_templates_ok(policy->templates, err_r) != OMR_OK)
		return OMR_ERROR;
	p->reply_window_ms = policy->reply_window_ms;
	json_decref(p->templates);
	p->templates = policy->templates ? json_deep_copy(policy->templates) : NULL;
	p->text_max = policy->text_max;
	p->public_text_max = policy->public_text_max;
	p->reopen_ms = policy->reopen_ms > 0 ? policy->reopen_ms : 0;
	return OMR_OK;
}

/* A plugin's job on the worker pool; done is dropped for a closed plugin
 * (the pool is stopped before plugins are unloaded, so this is a guard). */
struct omr_host_job {
	struct omr_plugin *p;
	void (*work)(void *arg);
	void (*done)(void *arg, int status);
	void *arg;
};

static void omr_host_job_work(void *arg)
{
	struct omr_host_job *j = arg;
	j->work(j->arg);
}

static void omr_host_job_done(void *arg, int status)
{
	struct omr_host_job *j = arg;
	if (!j->p->closed)
		j->done(j->arg, status);
	free(j);
}

static int omr_host_work(omr_host *h, void (*work)(void *arg), void (*done)(void *arg, int status),
			 void *arg)
{
	if (!work || !done || !h->env->jobs || h->env->stopping)
		return OMR_AGAIN;
	struct omr_host_job *j = omr_malloc(sizeof(*j));
	j->p = h->plugin;
	j->work = work;
	j->done = done;
	j->arg = arg;
	if (omr_worker_submit(h->env->jobs, omr_host_job_work, omr_host_job_done, j) != OMR_OK) {
		free(j);
		return OMR_AGAIN;
	}
	return OMR_OK;
}

static int omr_host_admit(omr_host *h, const char *door, const char *ip)
{
	struct omr_gate *g = NULL;
	if (door && strcmp(door, "chat") == 0)
		g = h->env->chat;
	if (!g || !ip)
		return OMR_OK;
	return omr_gate_take(g, ip, omr_mono_ms()) == OMR_GATE_OK ? OMR_OK : OMR_AGAIN;
}

static const struct omr_host_api omr_host_api = {
	.abi_version = OMR_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct omr_host_api),
	.log = omr_host_log,
	.event_base = omr_host_event_base,
	.submit = omr_host_submit,
	.send_result = omr_host_send_result,
	.delivery_status = omr_host_delivery_status,
	.ws_register = omr_host_ws_register,
	.ws_send = omr_host_ws_send,
	.ws_close = omr_host_ws_close,
	.ws_trust = omr_host_ws_trust,
	.static_mount = omr_host_static_mount,
	.http_route = omr_host_http_route,
	.http_reply = omr_host_http_reply,
	.history = omr_host_history_get,
	.timer_new = omr_host_timer_new,
	.timer_start = omr_host_timer_start,
	.timer_stop = omr_host_timer_stop,
	.timer_free = omr_host_timer_free,
	.data_path = omr_host_data_path,
	.transfer = omr_host_transfer,
	.http_request = omr_host_http_request,
	.bot_answer = omr_host_bot_answer,
	.hmac_sha256_hex = omr_host_hmac_hex,
	.signature_ok = omr_host_signature_ok,
	.webhook_register = omr_host_webhook_register,
	.webhook_message = omr_webhook_message,
	.webhook_status = omr_webhook_status,
	.http_send = omr_host_http_send,
	.channel_policy = omr_host_channel_policy,
	.kv_get = omr_host_kv_get,
	.kv_set = omr_host_kv_set,
	.state_path = omr_host_state_path,
	.metric = omr_host_metric,
	.limit = omr_host_limit,
	.webhook_read_until = omr_webhook_read_until,
	.work = omr_host_work,
	.admit = omr_host_admit,
	.customer_left = omr_host_customer_left,
	.agents_available = omr_host_agents_available,
	.customer_signal = omr_host_customer_signal,
	.history_of = omr_host_history_of,
};

const struct omr_host_api *omr_host_api_table(void)
{
	return &omr_host_api;
}
