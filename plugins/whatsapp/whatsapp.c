/*
 * whatsapp: the WhatsApp Business channel on Meta's Cloud API.
 *
 * In: the webhook /webhooks/whatsapp (the core verifies Meta's GET
 * handshake and the X-Hub-Signature-256 of every POST, and answers only
 * after everything is stored); this file maps the payload:
 * entry[].changes[].value.messages[] become messages (text, media,
 * location, contacts, interactive replies, reactions; anything else is
 * kept as "unsupported"), contacts[] give the customer's name, statuses[]
 * move our messages to sent/delivered/read/failed.
 *
 * Out: POST {api_base}/{phone_number_id}/messages with the access token;
 * the returned wamid is kept for the statuses. Free-form text only within
 * 24 hours of the customer's last message (the core enforces the window
 * and offers the configured templates after it). Sends are retried on 429
 * and 5xx and paced per sending number (core: http_send).
 *
 * Protocol and set-up: docs/channels/whatsapp.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

#include "../common/form.h"
#include "../common/provider.h"
#include "templates.h"

#define WA_TEXT_MAX 4096      /* characters of a text message (Cloud API) */

struct wa_config {
	char *app_secret;
	char *verify_token;
	char *access_token;
	char *phone_number_id;
	char *api_base;
	char *path;
	long long reply_window;
	json_t *templates;
	long long rate_per_second;
	long long send_attempts;
	long long timeout;
};

#define WOFF(f) offsetof(struct wa_config, f)
static const struct omr_conf_key wa_keys[] = {
	{ "app_secret", OMR_CONF_SECRET, WOFF(app_secret), 1, NULL, 0, 0,
	  "the Meta app secret: key of X-Hub-Signature-256" },
	{ "verify_token", OMR_CONF_SECRET, WOFF(verify_token), 1, NULL, 0, 0,
	  "the token you give Meta for the webhook's verification GET" },
	{ "access_token", OMR_CONF_SECRET, WOFF(access_token), 1, NULL, 0, 0,
	  "a system user access token with whatsapp_business_messaging" },
	{ "phone_number_id", OMR_CONF_STRING, WOFF(phone_number_id), 1, NULL, 0, 0,
	  "the id of the business phone number that sends (not the number itself)" },
	{ "api_base", OMR_CONF_STRING, WOFF(api_base), 0, "https://graph.facebook.com/v21.0", 0, 0,
	  "the Graph API base URL (tests point it at a local fake)" },
	{ "path", OMR_CONF_STRING, WOFF(path), 0, "/webhooks/whatsapp", 0, 0,
	  "the webhook path on the webhook listener" },
	{ "reply_window", OMR_CONF_MS, WOFF(reply_window), 0, "24h", 1000, 604800000,
	  "free-form replies only this long after the customer's last message" },
	{ "templates", OMR_CONF_JSON, WOFF(templates), 0, "[]", 0, 0,
	  "approved message templates agents may send after the window: [{name, language, text, "
	  "header?, footer?, buttons?}] with {{1}} or {{name}} variables (docs/channels/whatsapp.md)" },
	{ "rate_per_second", OMR_CONF_INT, WOFF(rate_per_second), 0, "20", 1, 1000,
	  "messages per second from the sending number" },
	{ "send_attempts", OMR_CONF_INT, WOFF(send_attempts), 0, "5", 1, 20,
	  "tries of a send on 429, 5xx and network errors" },
	{ "timeout", OMR_CONF_MS, WOFF(timeout), 0, "10s", 500, 120000, "of one API request" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

struct wa_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct wa_config *cfg;
	char url[512];
	json_t *templates;        /* owned: the configured ones with their variables */
	unsigned long long other_numbers;  /* messages for a number not ours, skipped */
};

/* 131050: the user stopped marketing messages from the business (Cloud API
 * error codes): the core puts the number on the opt-out list */
static const struct provider_reply_map wa_reply = { { "messages", "#0", "id", NULL },
						    { 131050, 0 } };

/* ---- in ---- */

static const char *const wa_media[] = { "image", "video", "audio", "document", "sticker", NULL };

static int wa_is_media(const char *type)
{
	for (int i = 0; wa_media[i]; i++)
		if (strcmp(type, wa_media[i]) == 0)
			return 1;
	return 0;
}

/* The text a person reads for a message of this type, and what the
 * message carries besides (meta, attachments). Returns the text (owned by
 * *buf_r or by msg), or NULL to skip the message. */
/* A media id as the Cloud API gives them (digits; letters, - and _ for
 * safety's sake): nothing that could step out of the URL path. */
static int wa_media_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '_' || id[i] == '-'))
			return 0;
	return 1;
}

/* The core fetches the file before the message is stored: GET
 * {api_base}/{media-id} answers {"url"}, which is fetched with the same
 * token (include/omniroute/plugin.h, attachments' "fetch"). */
static void wa_media_fetch(const struct wa_state *st, json_t *a, const char *id)
{
	char url[600];
	snprintf(url, sizeof(url), "%s/%s", st->cfg->api_base, id);
	json_object_set_new(a, "fetch", json_pack("{s:s,s:s,s:b}", "url", url, "bearer",
						  st->cfg->access_token, "lookup", 1));
}

static const char *wa_text(const struct wa_state *st, const char *type, json_t *m, json_t *meta,
			   json_t *attachments, char **buf_r)
{
	json_t *body = json_object_get(m, type);
	*buf_r = NULL;
	if (strcmp(type, "text") == 0)
		return json_string_value(json_object_get(body, "body"));
	if (wa_is_media(type)) {
		const char *mime = json_string_value(json_object_get(body, "mime_type"));
		const char *name = json_string_value(json_object_get(body, "filename"));
		json_t *a = json_pack("{s:s,s:s,s:s?}", "type", mime ? mime : "application/octet-stream",
				      "kind", type, "name", name);
		const char *id = json_string_value(json_object_get(body, "id"));
		if (id && wa_media_id_ok(id)) {
			json_object_set_new(a, "media_id", json_string(id));
			wa_media_fetch(st, a, id);
		}
		json_array_append_new(attachments, a);
		const char *cap = json_string_value(json_object_get(body, "caption"));
		return cap ? cap : "";
	}
	if (strcmp(type, "location") == 0) {
		json_object_set(meta, "location", body);
		*buf_r = NULL;
		const char *name = json_string_value(json_object_get(body, "name"));
		const char *addr = json_string_value(json_object_get(body, "address"));
		double lat = json_number_value(json_object_get(body, "latitude"));
		double lon = json_number_value(json_object_get(body, "longitude"));
		size_t n = 64 + (name ? strlen(name) : 0) + (addr ? strlen(addr) : 0);
		*buf_r = omr_plugin_calloc(1, n);
		snprintf(*buf_r, n, "Location: %s%s%s (%.6f, %.6f)", name ? name : "",
			 name && addr ? ", " : "", addr ? addr : "", lat, lon);
		return *buf_r;
	}
	if (strcmp(type, "contacts") == 0) {
		json_t *c = json_array_get(json_object_get(m, "contacts"), 0);
		const char *fn = json_string_value(json_object_get(json_object_get(c, "name"),
								   "formatted_name"));
		const char *ph = json_string_value(json_object_get(
			json_array_get(json_object_get(c, "phones"), 0), "phone"));
		json_object_set(meta, "contacts", json_object_get(m, "contacts"));
		size_t n = 32 + (fn ? strlen(fn) : 0) + (ph ? strlen(ph) : 0);
		*buf_r = omr_plugin_calloc(1, n);
		snprintf(*buf_r, n, "Contact: %s%s%s", fn ? fn : "(no name)", ph ? " " : "",
			 ph ? ph : "");
		return *buf_r;
	}
	if (strcmp(type, "interactive") == 0) {
		json_t *r = json_object_get(body, "button_reply");
		if (!r)
			r = json_object_get(body, "list_reply");
		json_object_set(meta, "interactive", body);
		return json_string_value(json_object_get(r, "title"));
	}
	if (strcmp(type, "button") == 0) {
		json_object_set(meta, "button", body);
		return json_string_value(json_object_get(body, "text"));
	}
	if (strcmp(type, "reaction") == 0) {
		const char *emoji = json_string_value(json_object_get(body, "emoji"));
		if (!emoji || !*emoji)
			return NULL; /* a reaction taken back */
		json_object_set(meta, "reaction", body);
		return emoji;
	}
	if (strcmp(type, "system") == 0) {
		json_object_set(meta, "system", body);
		return json_string_value(json_object_get(body, "body"));
	}
	/* unsupported, or a type newer than this plugin: kept, marked */
	json_object_set_new(meta, "unsupported", json_string(type));
	size_t n = 48 + strlen(type);
	*buf_r = omr_plugin_calloc(1, n);
	snprintf(*buf_r, n, "[%s message: not shown here; see the phone]", type);
	return *buf_r;
}

static const char *wa_profile_name(const json_t *contacts, const char *wa_id)
{
	size_t i;
	json_t *c;
	json_array_foreach(contacts, i, c)
		if (json_is_string(json_object_get(c, "wa_id")) &&
		    strcmp(json_string_value(json_object_get(c, "wa_id")), wa_id) == 0)
			return json_string_value(json_object_get(json_object_get(c, "profile"), "name"));
	return NULL;
}

static void wa_message(struct wa_state *st, omr_webhook_batch *b, const json_t *value,
		       json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "id"));
	const char *from = json_string_value(json_object_get(m, "from"));
	const char *type = json_string_value(json_object_get(m, "type"));
	char *buf;
	if (!id || !from || !type)
		return; /* nothing to key it by: the core would refuse it too */
	json_t *meta = json_object(), *atts = json_array();
	const char *text = wa_text(st, type, m, meta, atts, &buf);
	if (text) {
		json_t *ctx = json_object_get(m, "context");
		if (json_is_object(ctx))
			json_object_set(meta, "reply_to", ctx);
		json_t *attrs = json_pack("{s:s}", "whatsapp_type", type);
		struct omr_inbound ev = {
			.channel_msg_id = id,
			.address = from,
			.name = wa_profile_name(json_object_get(value, "contacts"), from),
			.text = text,
			.attachments = json_array_size(atts) ? atts : NULL,
			.attrs = attrs,
			.meta = meta,
			.ts_ms = provider_ts_ms(json_object_get(m, "timestamp")),
		};
		st->api->webhook_message(b, &ev);
		json_decref(attrs);
	}
	free(buf);
	json_decref(meta);
	json_decref(atts);
}

static void wa_status(struct wa_state *st, omr_webhook_batch *b, const json_t *s)
{
	const char *id = json_string_value(json_object_get(s, "id"));
	const char *status = json_string_value(json_object_get(s, "status"));
	char why[300] = "";
	const json_t *e = json_array_get(json_object_get(s, "errors"), 0);
	if (e) {
		const char *title = json_string_value(json_object_get(e, "title"));
		const char *details = json_string_value(
			json_object_get(json_object_get(e, "error_data"), "details"));
		snprintf(why, sizeof(why), "%lld: %.120s%s%.120s",
			 (long long)json_integer_value(json_object_get(e, "code")),
			 title ? title : "error", details ? ": " : "", details ? details : "");
	}
	/* sent, delivered, read, failed; anything else ("deleted", newer
	 * ones) says nothing about delivery */
	static const char *const known[] = { "sent", "delivered", "read", "failed", NULL };
	for (int i = 0; id && status && known[i]; i++)
		if (strcmp(status, known[i]) == 0)
			st->api->webhook_status(b, id, status, *why ? why : NULL);
}

static int wa_parse(void *arg, const char *body, size_t len, omr_webhook_batch *b, char **err_r)
{
	struct wa_state *st = arg;
	json_error_t jerr;
	json_t *j = json_loadb(body, len, 0, &jerr);
	size_t i, k, n;
	json_t *entry, *change, *item;

	if (!json_is_object(j)) {
		json_decref(j);
		return omr_plugin_error(err_r, "not a JSON object");
	}
	const char *object = json_string_value(json_object_get(j, "object"));
	if (!object || strcmp(object, "whatsapp_business_account") != 0 ||
	    !json_is_array(json_object_get(j, "entry"))) {
		json_decref(j);
		return omr_plugin_error(err_r, "expected object \"whatsapp_business_account\" with entry[]");
	}
	json_array_foreach(json_object_get(j, "entry"), i, entry) {
		json_array_foreach(json_object_get(entry, "changes"), k, change) {
			const json_t *value = json_object_get(change, "value");
			const char *field = json_string_value(json_object_get(change, "field"));
			const char *pid = json_string_value(
				json_object_get(json_object_get(value, "metadata"), "phone_number_id"));
			if (!field || strcmp(field, "messages") != 0 || !json_is_object(value))
				continue; /* account updates, template reviews, ... */
			if (pid && strcmp(pid, st->cfg->phone_number_id) != 0) {
				st->other_numbers++;
				st->api->log(st->host, OMR_LOG_WARN,
					     "messages for phone number id %s, not ours (%s): skipped",
					     pid, st->cfg->phone_number_id);
				continue;
			}
			json_array_foreach(json_object_get(value, "messages"), n, item)
				wa_message(st, b, value, item);
			json_array_foreach(json_object_get(value, "statuses"), n, item)
				wa_status(st, b, item);
		}
	}
	json_decref(j);
	return OMR_OK;
}

/* ---- out: an agent's file (docs/media.md) ---- */

/* A media message on its way: the file is read on a worker, uploaded
 * (POST /{phone-number-id}/media, multipart), then sent by its id. */
struct wa_media {
	struct wa_state *st;
	char *message, *to, *caption, *name, *type, *path;
	char *body;   /* the multipart upload, made on the worker */
	size_t len;
	int read_ok;
};

static void wa_media_free(struct wa_media *w)
{
	free(w->message);
	free(w->to);
	free(w->caption);
	free(w->name);
	free(w->type);
	free(w->path);
	free(w->body);
	free(w);
}

/* On a worker: the file into a multipart/form-data body. */
static void wa_media_read(void *arg)
{
	struct wa_media *w = arg;
	const char *const fields[] = { "messaging_product", "whatsapp", "type", w->type, NULL };
	w->body = provider_form_file(fields, "file", "file", w->type, w->path, &w->len);
	w->read_ok = w->body != NULL;
}

/* The Cloud API's message type for a file's media type. */
static const char *wa_media_kind(const char *type)
{
	if (strncmp(type, "image/", 6) == 0 && strcmp(type, "image/gif") != 0)
		return "image";
	if (strncmp(type, "audio/", 6) == 0)
		return "audio";
	if (strcmp(type, "video/mp4") == 0)
		return "video";
	return "document";
}

static void wa_media_uploaded(void *arg, const struct omr_http_response *res)
{
	struct wa_media *w = arg;
	struct wa_state *st = w->st;
	json_t *j = res->ok ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(j, "id"));
	char why[300];

	if (res->cancelled) {
		/* stopping: the outbox sends it again after the restart */
	} else if (!res->ok || res->status < 200 || res->status > 299 || !id) {
		if (!res->ok)
			snprintf(why, sizeof(why), "media upload: %s", res->error ? res->error : "no answer");
		else
			provider_error_text(res->status, res->body, res->body_len, why, sizeof(why));
		st->api->send_result(st->host, w->message, "failed", NULL, why);
	} else {
		const char *kind = wa_media_kind(w->type);
		json_t *media = json_pack("{s:s}", "id", id);
		if (strcmp(kind, "audio") != 0 && w->caption && *w->caption)
			json_object_set_new(media, "caption", json_string(w->caption));
		if (strcmp(kind, "document") == 0)
			json_object_set_new(media, "filename", json_string(w->name));
		json_t *body = json_pack("{s:s,s:s,s:s,s:s,s:o}", "messaging_product", "whatsapp",
					 "recipient_type", "individual", "to", w->to, "type", kind,
					 kind, media);
		struct omr_http_retry retry = {
			.attempts = (int)st->cfg->send_attempts,
			.lane = st->cfg->phone_number_id,
			.per_second = (double)st->cfg->rate_per_second,
		};
		if (provider_post(st->api, st->host, st->url, st->cfg->access_token, body,
				  (long)st->cfg->timeout, &retry, w->message, &wa_reply) != OMR_OK)
			st->api->send_result(st->host, w->message, "failed", NULL,
					     "the media message could not be sent");
	}
	json_decref(j);
	wa_media_free(w);
}

static void wa_media_ready(void *arg, int status)
{
	struct wa_media *w = arg;
	struct wa_state *st = w->st;
	char url[600], auth[600];
	if (status != OMR_OK) {
		wa_media_free(w); /* stopping: sent again after the restart */
		return;
	}
	if (!w->read_ok) {
		st->api->send_result(st->host, w->message, "failed", NULL,
				     "the file could not be read on this node");
		wa_media_free(w);
		return;
	}
	snprintf(url, sizeof(url), "%s/%s/media", st->cfg->api_base, st->cfg->phone_number_id);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", st->cfg->access_token);
	const char *headers[] = { auth, PROVIDER_FORM_CONTENT_TYPE, NULL };
	struct omr_http_retry retry = {
		.attempts = (int)st->cfg->send_attempts,
		.lane = st->cfg->phone_number_id,
		.per_second = (double)st->cfg->rate_per_second,
	};
	if (st->api->http_send(st->host, "POST", url, headers, w->body, w->len,
			       (long)st->cfg->timeout, &retry, wa_media_uploaded, w) != OMR_OK) {
		st->api->send_result(st->host, w->message, "failed", NULL, "the upload could not start");
		wa_media_free(w);
	}
}

/* The first of an agent's files, with the text as its caption (the Cloud
 * API takes one file per message). */
static int wa_send_media(struct wa_state *st, const struct omr_outbound *out, const json_t *file)
{
	const char *path = json_string_value(json_object_get(file, "path"));
	const char *type = json_string_value(json_object_get(file, "type"));
	const char *name = json_string_value(json_object_get(file, "name"));
	if (!path || !type || !name || strpbrk(type, "\"\r\n"))
		return OMR_ERROR;
	struct wa_media *w = omr_plugin_calloc(1, sizeof(*w));
	w->st = st;
	w->message = omr_plugin_strdup(out->message);
	w->to = omr_plugin_strdup(out->address);
	w->caption = omr_plugin_strdup(out->text ? out->text : "");
	w->name = omr_plugin_strdup(name);
	w->type = omr_plugin_strdup(type);
	w->path = omr_plugin_strdup(path);
	if (st->api->work(st->host, wa_media_read, wa_media_ready, w) != OMR_OK) {
		wa_media_free(w);
		return OMR_ERROR;
	}
	return OMR_OK;
}

/* ---- out ---- */

static int wa_send(void *state, const struct omr_outbound *out)
{
	struct wa_state *st = state;
	const json_t *tmpl = json_object_get(out->data, "template");
	json_t *body;

	if (strcmp(out->kind, "message") != 0)
		return OMR_OK; /* queue positions are not sent on WhatsApp */
	const json_t *files = json_object_get(out->data, "attachments");
	if (json_array_size(files) && !json_is_object(tmpl))
		return wa_send_media(st, out, json_array_get(files, 0));
	if (json_is_object(tmpl) && json_is_string(json_object_get(tmpl, "language")))
		/* stored before templates had variables: {name, language} */
		body = json_pack("{s:s,s:s,s:s,s:{s:O,s:{s:O}}}", "messaging_product", "whatsapp",
				 "to", out->address, "type", "template", "template", "name",
				 json_object_get(tmpl, "name"), "language", "code",
				 json_object_get(tmpl, "language"));
	else if (json_is_object(tmpl)) /* as wa_template_render made it */
		body = json_pack("{s:s,s:s,s:s,s:O}", "messaging_product", "whatsapp", "to",
				 out->address, "type", "template", "template", tmpl);
	else
		body = json_pack("{s:s,s:s,s:s,s:s,s:{s:b,s:s}}", "messaging_product", "whatsapp",
				 "recipient_type", "individual", "to", out->address, "type", "text",
				 "text", "preview_url", 0, "body", out->text ? out->text : "");
	if (!body)
		return OMR_ERROR;
	struct omr_http_retry retry = {
		.attempts = (int)st->cfg->send_attempts,
		.lane = st->cfg->phone_number_id,
		.per_second = (double)st->cfg->rate_per_second,
	};
	return provider_post(st->api, st->host, st->url, st->cfg->access_token, body,
			     (long)st->cfg->timeout, &retry, out->message, &wa_reply);
}

/* ---- life ---- */

static int wa_check(const void *config, char **err_r)
{
	const struct wa_config *cfg = config;
	if (provider_base_check(cfg->api_base, err_r) != OMR_OK)
		return OMR_ERROR;
	if (strlen(cfg->api_base) + strlen(cfg->phone_number_id) > 400)
		return omr_plugin_error(err_r, "api_base and phone_number_id are too long");
	for (const char *p = cfg->phone_number_id; *p; p++)
		if (*p < '0' || *p > '9')
			return omr_plugin_error(err_r, "phone_number_id: the id Meta shows (digits), not the phone number");
	if (strlen(cfg->app_secret) < 8)
		return omr_plugin_error(err_r, "app_secret: at least 8 characters");
	if (cfg->path[0] != '/')
		return omr_plugin_error(err_r, "path must start with /");
	char *why = NULL;
	json_t *list = wa_templates_load(cfg->templates, &why);
	if (!list) {
		omr_plugin_error(err_r, "templates: %s", why ? why : "malformed");
		free(why);
		return OMR_ERROR;
	}
	json_decref(list);
	return OMR_OK;
}

static int wa_render(void *state, const char *name, const json_t *variables, json_t **data_r,
		     char **text_r, char **err_r)
{
	struct wa_state *st = state;
	return wa_template_render(st->templates, name, variables, data_r, text_r, err_r) < 0 ?
	       OMR_ERROR : OMR_OK;
}

static void wa_free(void *state)
{
	struct wa_state *st = state;
	if (st)
		json_decref(st->templates);
	provider_free(state);
}

static int wa_init(const struct omr_host_api *api, omr_host *host, const void *config,
		   void **state_r, char **err_r)
{
	const struct wa_config *cfg = config;
	if (wa_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	struct wa_state *st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	snprintf(st->url, sizeof(st->url), "%s/%s/messages", cfg->api_base, cfg->phone_number_id);
	st->templates = wa_templates_load(cfg->templates, NULL);
	struct omr_webhook_spec spec = {
		.path = cfg->path,
		.signature_header = "X-Hub-Signature-256",
		.signature_encoding = OMR_SIGNATURE_HEX,
		.secret = cfg->app_secret,
		.verify_token = cfg->verify_token,
		.parse = wa_parse,
		.arg = st,
	};
	struct omr_channel_policy policy = {
		.reply_window_ms = cfg->reply_window,
		.templates = st->templates,
		.text_max = WA_TEXT_MAX,
	};
	json_t *templates = st->templates;
	if (provider_start(api, host, &spec, &policy, st, state_r, err_r) != OMR_OK) {
		json_decref(templates); /* st is freed */
		return OMR_ERROR;
	}
	return OMR_OK;
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "whatsapp",
	.version = "1.0",
	.description = "WhatsApp Business (Cloud API): webhook in, Graph API out",
	.kind = OMR_PLUGIN_CHANNEL,
	.flags = OMR_PLUGIN_FILES, /* uploaded to the Cloud API, sent by id */
	.config_keys = wa_keys,
	.config_size = sizeof(struct wa_config),
	.check = wa_check,
	.init = wa_init,
	.free = wa_free,
	.send = wa_send,
	.template_render = wa_render,
};
