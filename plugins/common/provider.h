/*
 * provider.h: what the channel plugins for provider APIs (WhatsApp Cloud
 * API, Messenger and Instagram on Meta's Graph API, X) have in common on
 * their side of the host API: sending one JSON request with retries and
 * reporting the outcome of one outbound message. Webhooks, signatures,
 * retries and pacing themselves are the core's (host API webhook_register,
 * http_send); this is only the glue every such plugin would otherwise
 * repeat. Static inline: each plugin compiles its own copy of nothing but
 * these few functions.
 */
#ifndef OMR_PLUGINS_PROVIDER_H
#define OMR_PLUGINS_PROVIDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <omniroute/plugin.h>

/* An api_base the channel's token may be sent to (omr_url_token_ok): for
 * the plugin's check; OMR_OK, else OMR_ERROR with *err_r set. */
static inline int provider_base_check(const char *url, char **err_r)
{
	if (!omr_url_token_ok(url))
		return omr_plugin_error(err_r, "api_base must start with https:// (plain http:// only "
					       "to this host: localhost, 127.x.x.x, [::1]; the access "
					       "token goes with every request)");
	return OMR_OK;
}

/* How to read a provider's answer to a send. */
struct provider_reply_map {
	/* JSON path (up to 3 keys; an index is written as "#0") to the id the
	 * provider gave the message, e.g. {"messages", "#0", "id"} */
	const char *id_path[4];
	/* the provider's error codes that mean "the recipient opted out"
	 * (WhatsApp 131050: stopped receiving marketing messages); 0: none.
	 * Such a failure is reported as "opted_out: ..." (plugin.h) */
	long long optout_codes[2];
};

/* A companion request that goes out only once the message it goes with
 * was taken by the provider (the public note of a private reply): never
 * for a message that failed, so that nobody reads "we sent you a
 * message" about one that never arrived. Its own outcome is only logged. */
struct provider_then {
	char *url;
	char *auth;                    /* "Authorization: ..." or NULL (retry.authorize) */
	char *data;                    /* JSON text */
	long timeout_ms;
	struct omr_http_retry retry;   /* copied; authorize_arg must outlive it */
	const struct provider_reply_map *map;
};

/* One outbound message on its way. */
struct provider_send {
	const struct omr_host_api *api;
	omr_host *host;
	char *message;                 /* our message id, for send_result */
	const struct provider_reply_map *map;
	struct provider_then *then;    /* owned; NULL: none */
};

/* "Authorization: Bearer <token>" (malloc'ed) */
static inline char *provider_bearer(const char *token)
{
	size_t n = strlen(token) + 32;
	char *auth = omr_plugin_calloc(1, n);
	snprintf(auth, n, "Authorization: Bearer %s", token);
	return auth;
}

static inline void provider_then_free(struct provider_then *t)
{
	if (!t)
		return;
	free(t->url);
	free(t->auth);
	free(t->data);
	free(t);
}

/* The companion of a send: POST body (a JSON object, consumed) to url,
 * with auth (a header line, copied; NULL: retry->authorize signs each
 * try). NULL when body is NULL. */
static inline struct provider_then *provider_then_new(const char *url, const char *auth,
						      json_t *body, long timeout_ms,
						      const struct omr_http_retry *retry,
						      const struct provider_reply_map *map)
{
	if (!body)
		return NULL;
	struct provider_then *t = omr_plugin_calloc(1, sizeof(*t));
	t->url = omr_plugin_strdup(url);
	t->auth = auth ? omr_plugin_strdup(auth) : NULL;
	t->data = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	t->timeout_ms = timeout_ms;
	t->retry = *retry;
	t->map = map;
	if (!t->data) {
		provider_then_free(t);
		return NULL;
	}
	return t;
}

static inline const json_t *provider_path(const json_t *j, const char *const *path)
{
	for (int i = 0; j && i < 4 && path[i]; i++) {
		if (path[i][0] == '#')
			j = json_array_get(j, (size_t)atoi(path[i] + 1));
		else
			j = json_object_get(j, path[i]);
	}
	return j;
}

/* The provider's error in words: Graph {"error": {"code", "message"}}, X
 * {"title", "detail"} or {"errors": [{"message"}]}, else the status. */
static inline void provider_error_text(long status, const char *body, size_t len, char *out,
				       size_t outlen)
{
	json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
	const json_t *e = json_object_get(j, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));
	json_int_t code = json_integer_value(json_object_get(e, "code"));
	if (!msg)
		msg = json_string_value(json_object_get(j, "detail"));
	if (!msg)
		msg = json_string_value(
			json_object_get(json_array_get(json_object_get(j, "errors"), 0), "message"));
	if (msg && code)
		snprintf(out, outlen, "HTTP %ld: %lld: %.200s", status, (long long)code, msg);
	else if (msg)
		snprintf(out, outlen, "HTTP %ld: %.200s", status, msg);
	else
		snprintf(out, outlen, "HTTP %ld", status);
	json_decref(j);
}

/* "opted_out: " before the error text when the provider's code says the
 * recipient opted out (the core then adds them to the opt-out list) */
static inline void provider_optout_mark(const struct provider_reply_map *map, const char *body,
					size_t len, char *why, size_t whylen)
{
	json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
	json_int_t code = json_integer_value(json_object_get(json_object_get(j, "error"), "code"));
	json_decref(j);
	for (int i = 0; code && i < 2; i++) {
		if (map->optout_codes[i] == code) {
			size_t n = strlen(why);
			if (n + 12 > whylen)
				n = whylen - 12; /* the end of the text gives way */
			memmove(why + 11, why, n);
			memcpy(why, "opted_out: ", 11);
			why[n + 11] = '\0';
			return;
		}
	}
}

/* The outcome of a send: the message's status; a companion call (no
 * message: the public note of a private reply) is only logged. */
static inline void provider_result(struct provider_send *s, const char *status, const char *id,
				   const char *why)
{
	if (s->message)
		s->api->send_result(s->host, s->message, status, id, why);
	else if (why)
		s->api->log(s->host, OMR_LOG_WARN, "a public note was not posted: %s", why);
}

static inline int provider_post_then(const struct omr_host_api *api, omr_host *host,
				     const char *url, const char *auth, const char *data,
				     long timeout_ms, const struct omr_http_retry *retry,
				     const char *message, const struct provider_reply_map *map,
				     struct provider_then *then);

/* Did the provider refuse a call (not cancelled)? 1 with the reason in
 * why (the provider's error in words, opted_out marked, the tries it
 * took), 0 when it took it. */
static inline int provider_failed(const struct omr_http_response *res,
				  const struct provider_reply_map *map, char *why, size_t whylen)
{
	if (!res->ok) {
		snprintf(why, whylen, "%s (after %d tries)", res->error ? res->error : "no answer",
			 res->attempts);
		return 1;
	}
	if (res->status >= 200 && res->status <= 299)
		return 0;
	provider_error_text(res->status, res->body, res->body_len, why, whylen);
	provider_optout_mark(map, res->body, res->body_len, why, whylen);
	size_t n = strlen(why);
	if (res->attempts > 1)
		snprintf(why + n, whylen - n, " (after %d tries)", res->attempts);
	return 1;
}

static inline void provider_sent(void *arg, const struct omr_http_response *res)
{
	struct provider_send *s = arg;
	char why[300];
	if (res->cancelled) {
		/* the daemon is stopping: the message stays queued and the
		 * outbox sends it again after the restart */
	} else if (provider_failed(res, s->map, why, sizeof(why))) {
		provider_result(s, "failed", NULL, why);
	} else {
		json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
		const char *id = json_string_value(provider_path(j, s->map->id_path));
		provider_result(s, "sent", id, NULL);
		json_decref(j);
		struct provider_then *t = s->then;
		s->then = NULL;
		if (t && provider_post_then(s->api, s->host, t->url, t->auth, t->data, t->timeout_ms,
					    &t->retry, NULL, t->map, NULL) != OMR_OK)
			s->api->log(s->host, OMR_LOG_WARN, "a public note was not posted");
		provider_then_free(t);
	}
	provider_then_free(s->then);
	free(s->message);
	free(s);
}


/* POST body (a JSON object, consumed) to url with a bearer token, retried
 * and paced as retry says; the outcome becomes the message's status; then
 * (owned; NULL: none) goes out once it succeeded. */
static inline int provider_post_bearer(const struct omr_host_api *api, omr_host *host,
				       const char *url, const char *token, json_t *body,
				       long timeout_ms, const struct omr_http_retry *retry,
				       const char *message, const struct provider_reply_map *map,
				       struct provider_then *then)
{
	char *data = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!data) {
		provider_then_free(then);
		return OMR_ERROR;
	}
	char *auth = provider_bearer(token);
	int rc = provider_post_then(api, host, url, auth, data, timeout_ms, retry, message, map,
				    then);
	free(auth);
	free(data);
	return rc;
}

static inline int provider_post(const struct omr_host_api *api, omr_host *host, const char *url,
				const char *token, json_t *body, long timeout_ms,
				const struct omr_http_retry *retry, const char *message,
				const struct provider_reply_map *map)
{
	return provider_post_bearer(api, host, url, token, body, timeout_ms, retry, message, map,
				    NULL);
}

/* The same with the Authorization header given ("Authorization: ...", or
 * NULL when retry->authorize makes one per try), data a JSON text (not
 * consumed); then (owned, freed in every case; NULL: none) is sent once
 * this one succeeded. */
static inline int provider_post_then(const struct omr_host_api *api, omr_host *host,
				     const char *url, const char *auth, const char *data,
				     long timeout_ms, const struct omr_http_retry *retry,
				     const char *message, const struct provider_reply_map *map,
				     struct provider_then *then)
{
	const char *headers[3] = { NULL, NULL, NULL };
	size_t nh = 0;
	if (auth) /* NULL: retry->authorize signs each try */
		headers[nh++] = auth;
	headers[nh] = "Content-Type: application/json";
	struct provider_send *s = omr_plugin_calloc(1, sizeof(*s));
	s->api = api;
	s->host = host;
	s->message = omr_plugin_strdup(message);
	s->map = map;
	s->then = then;
	int rc = api->http_send(host, "POST", url, headers, data, strlen(data), timeout_ms, retry,
				provider_sent, s);
	if (rc != OMR_OK) {
		provider_then_free(s->then);
		free(s->message);
		free(s);
	}
	return rc;
}

/* A media type for a provider's word for an attachment ("image",
 * "photo", "video", "audio", "file", ...), so that every channel's
 * attachments carry a MIME type (a wildcard when the provider names no
 * exact one). */
static inline const char *provider_mime_of(const char *kind)
{
	static const struct {
		const char *kind, *mime;
	} map[] = { { "image", "image/*" }, { "photo", "image/*" }, { "sticker", "image/*" },
		    { "video", "video/*" }, { "animated_gif", "video/*" }, { "audio", "audio/*" },
		    { "ig_reel", "video/*" }, { "reel", "video/*" } };
	for (size_t i = 0; kind && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(kind, map[i].kind) == 0)
			return map[i].mime;
	return "application/octet-stream";
}

/* The end of a provider plugin's init: its webhook and its channel policy
 * registered, the state handed over; on failure the state (a plain
 * allocation) is freed. */
static inline int provider_start(const struct omr_host_api *api, omr_host *host,
				 const struct omr_webhook_spec *spec,
				 const struct omr_channel_policy *policy, void *st, void **state_r,
				 char **err_r)
{
	if (api->webhook_register(host, spec, err_r) != OMR_OK ||
	    api->channel_policy(host, policy, err_r) != OMR_OK) {
		free(st);
		return OMR_ERROR;
	}
	*state_r = st;
	return OMR_OK;
}

/* The state of a provider plugin is one allocation. */
static inline void provider_free(void *state)
{
	free(state);
}

/* "1669233778" (seconds) -> ms; 0 when absent or not a number. */
static inline long long provider_ts_ms(const json_t *v)
{
	const char *s = json_string_value(v);
	char *end;
	long long t;
	if (json_is_integer(v))
		return (long long)json_integer_value(v) * 1000;
	if (!s || !*s)
		return 0;
	t = strtoll(s, &end, 10);
	return *end || t < 0 || t > 99999999999LL ? 0 : t * 1000;
}

#endif
