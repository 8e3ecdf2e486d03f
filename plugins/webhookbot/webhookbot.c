/*
 * webhookbot: a bot that lives elsewhere, reached over HTTP. Each turn is
 * POSTed (JSON, signed with HMAC-SHA256) to the configured URL; the answer
 * comes in the response, or later as a signed callback to
 * /webhooks/<plugin name> on the webhook listener. A timeout, an error or
 * a malformed answer hands the conversation to a person: the customer is
 * never left in silence. Protocol: docs/bots.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omniroute/plugin.h>

#define WB_MAX_PENDING 10000

struct wb_config {
	char *url;
	char *secret;
	long long timeout;
	int callback;
	long long callback_window;
};

static const struct omr_conf_key wb_keys[] = {
	{ "url", OMR_CONF_STRING, offsetof(struct wb_config, url), 1, NULL, 0, 0,
	  "where turns are POSTed (http:// or https://)" },
	{ "secret", OMR_CONF_SECRET, offsetof(struct wb_config, secret), 1, NULL, 0, 0,
	  "key of the HMAC-SHA256 signatures, both ways (16+ characters)" },
	{ "timeout", OMR_CONF_MS, offsetof(struct wb_config, timeout), 0, "5s", 200, 120000,
	  "how long to wait for the bot's HTTP answer" },
	{ "callback", OMR_CONF_BOOL, offsetof(struct wb_config, callback), 0, "false", 0, 0,
	  "accept answers later at /webhooks/<name> (the response may be 202)" },
	{ "callback_window", OMR_CONF_MS, offsetof(struct wb_config, callback_window), 0, "10m",
	  1000, 86400000, "how long a callback for a turn is still accepted (then: 404)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

struct wb_pending {
	char *turn;
	time_t since;
	struct wb_pending *next;
};

struct wb_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct wb_config *cfg;
	char route[64];
	struct wb_pending *pending;   /* turns sent, not answered yet */
	size_t npending;
};

struct wb_call {
	struct wb_state *st;
	char *turn;
};

static int wb_take(struct wb_state *st, const char *turn)
{
	for (struct wb_pending **pp = &st->pending; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->turn, turn) == 0) {
			struct wb_pending *p = *pp;
			*pp = p->next;
			free(p->turn);
			free(p);
			st->npending--;
			return 1;
		}
	}
	return 0;
}

/* Forget turns whose callback window has passed (the core handed them to
 * a person long ago): the list stays bounded however many never come. */
static void wb_prune(struct wb_state *st)
{
	time_t limit = time(NULL) - (time_t)(st->cfg->callback_window / 1000);
	for (struct wb_pending **pp = &st->pending; *pp;) {
		struct wb_pending *p = *pp;
		if (p->since < limit) {
			*pp = p->next;
			free(p->turn);
			free(p);
			st->npending--;
		} else {
			pp = &p->next;
		}
	}
}

static void wb_remember(struct wb_state *st, const char *turn)
{
	struct wb_pending *p = omr_plugin_calloc(1, sizeof(*p));
	p->turn = omr_plugin_strdup(turn);
	p->since = time(NULL);
	p->next = st->pending;
	st->pending = p;
	st->npending++;
}

static void wb_handoff(struct wb_state *st, const char *turn, const char *why)
{
	struct omr_bot_answer a = { .turn = turn, .action = "handoff", .reason = why };
	st->api->log(st->host, OMR_LOG_WARN, "turn %s: %s; handing over to a person", turn, why);
	st->api->bot_answer(st->host, &a);
}

/* The bot's answer (from a response or a callback) as an omr_bot_answer. */
static int wb_deliver(struct wb_state *st, const char *turn, const json_t *j)
{
	const char *action = json_string_value(json_object_get(j, "action"));
	if (!json_is_object(j) || !action)
		return -1;
	struct omr_bot_answer a = {
		.turn = turn,
		.messages = json_object_get(j, "messages"),
		.action = action,
		.reason = json_string_value(json_object_get(j, "reason")),
		.intent = json_string_value(json_object_get(j, "intent")),
		.slots = json_object_get(j, "slots"),
		.queue = json_string_value(json_object_get(j, "queue")),
		.skills = json_object_get(j, "skills"),
		.misunderstood = json_is_true(json_object_get(j, "misunderstood")),
	};
	st->api->bot_answer(st->host, &a);
	return 0;
}

static void wb_response(void *arg, const struct omr_http_response *res)
{
	struct wb_call *c = arg;
	struct wb_state *st = c->st;
	char why[160];

	if (!wb_take(st, c->turn)) {
		/* answered by a callback already */
	} else if (!res->ok) {
		snprintf(why, sizeof(why), "the bot service did not answer (%s)",
			 res->error ? res->error : "error");
		wb_handoff(st, c->turn, why);
	} else if (res->status == 202 && st->cfg->callback) {
		/* the answer comes as a callback: wait for it (the core's bot
		 * timeout guards us) */
		wb_remember(st, c->turn);
	} else if (res->status < 200 || res->status > 299) {
		snprintf(why, sizeof(why), "the bot service answered HTTP %ld", res->status);
		wb_handoff(st, c->turn, why);
	} else {
		json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
		if (wb_deliver(st, c->turn, j) < 0)
			wb_handoff(st, c->turn, "the bot service sent an answer we cannot read");
		json_decref(j);
	}
	free(c->turn);
	free(c);
}

static int wb_turn(void *state, const struct omr_bot_turn *t)
{
	struct wb_state *st = state;
	char sig[65], hdr_sig[96], hdr_turn[96];
	json_t *body = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:O}", "turn", t->turn, "conversation",
				 t->conversation, "channel", t->channel, "language", t->language,
				 "text", t->text ? t->text : "", "context", t->context);
	char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!data)
		return OMR_ERROR;
	st->api->hmac_sha256_hex(st->cfg->secret, strlen(st->cfg->secret), data, strlen(data), sig);
	snprintf(hdr_sig, sizeof(hdr_sig), "X-Omniroute-Signature: sha256=%s", sig);
	snprintf(hdr_turn, sizeof(hdr_turn), "X-Omniroute-Turn: %s", t->turn);
	const char *headers[] = { "Content-Type: application/json", hdr_sig, hdr_turn, NULL };
	struct wb_call *c = omr_plugin_calloc(1, sizeof(*c));
	c->st = st;
	c->turn = omr_plugin_strdup(t->turn);
	/* pending from now: a callback may arrive before the response */
	wb_prune(st);
	if (st->npending >= WB_MAX_PENDING) {
		st->api->log(st->host, OMR_LOG_WARN, "%zu turns wait for the bot service; refusing more",
			     st->npending);
		free(c->turn);
		free(c);
		free(data);
		return OMR_ERROR;
	}
	wb_remember(st, t->turn);
	int rc = st->api->http_request(st->host, "POST", st->cfg->url, headers, data, strlen(data),
				       (long)st->cfg->timeout, wb_response, c);
	free(data);
	if (rc != OMR_OK) {
		wb_take(st, t->turn);
		free(c->turn);
		free(c);
		return OMR_ERROR;
	}
	return OMR_OK;
}

static void wb_reply(struct wb_state *st, omr_http_reply *reply, int code, const char *json)
{
	st->api->http_reply(reply, code, "application/json", json, strlen(json));
}

/* POST /webhooks/<name>: a signed answer that comes later. */
static void wb_callback(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct wb_state *st = arg;
	const char *sig = req->header(req, "X-Omniroute-Signature");
	json_t *j;
	const char *turn;

	if (strcmp(req->method, "POST") != 0) {
		wb_reply(st, reply, 405, "{\"error\":\"POST only\"}");
		return;
	}
	if (!st->api->signature_ok(sig, st->cfg->secret, strlen(st->cfg->secret), req->body,
				   req->body_len)) {
		st->api->log(st->host, OMR_LOG_WARN, "callback with a bad signature refused");
		wb_reply(st, reply, 401, "{\"error\":\"bad signature\"}");
		return;
	}
	j = json_loadb((const char *)req->body, req->body_len, 0, NULL);
	turn = json_string_value(json_object_get(j, "turn"));
	if (!turn || !json_string_value(json_object_get(j, "action"))) {
		wb_reply(st, reply, 400, "{\"error\":\"expected {turn, action, ...}\"}");
	} else if (!wb_take(st, turn)) {
		wb_reply(st, reply, 404, "{\"error\":\"unknown turn\"}");
	} else {
		wb_deliver(st, turn, j);
		wb_reply(st, reply, 200, "{\"ok\":true}");
	}
	json_decref(j);
}

static int wb_check(const void *config, char **err_r)
{
	const struct wb_config *cfg = config;
	if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0)
		return omr_plugin_error(err_r, "url must start with http:// or https://");
	if (strlen(cfg->secret) < 16)
		return omr_plugin_error(err_r, "secret must be at least 16 characters");
	return OMR_OK;
}

static int wb_init(const struct omr_host_api *api, omr_host *host, const void *config,
		   void **state_r, char **err_r)
{
	struct wb_state *st;
	if (wb_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = config;
	snprintf(st->route, sizeof(st->route), "/webhooks/webhookbot");
	if (st->cfg->callback && api->http_route(host, st->route, wb_callback, st, err_r) != OMR_OK) {
		free(st);
		return OMR_ERROR;
	}
	*state_r = st;
	return OMR_OK;
}

static void wb_free_pending(struct wb_state *st)
{
	while (st->pending)
		wb_take(st, st->pending->turn);
}

static void wb_free(void *state)
{
	if (state)
		wb_free_pending(state);
	free(state);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "webhookbot",
	.version = "1.0",
	.description = "a bot behind an HTTP endpoint (signed JSON turns)",
	.kind = OMR_PLUGIN_BOT,
	.config_keys = wb_keys,
	.config_size = sizeof(struct wb_config),
	.check = wb_check,
	.init = wb_init,
	.free = wb_free,
	.bot_turn = wb_turn,
};
