/*
 * webchat: the web chat channel. Visitors connect to /chat (subprotocol
 * omniroute.chat.v1) from a page on the customer's web site; see
 * docs/channels/webchat.md for the protocol.
 *
 * A visitor is identified by a visitor id and a token (HMAC of the id with
 * the configured secret), handed out in `welcome` and kept by the page, so
 * that a reloaded page continues the same conversation and nobody can
 * read another visitor's messages by guessing an id.
 *
 * Everything runs on the main thread (plugin rule). Connections are kept
 * in a hash by connection id (struct wc_conn); visitors in a hash by
 * visitor id (struct wc_visitor), each with the list of its connections (a
 * visitor may have several tabs open) and its rate limit, which is per
 * visitor, not per tab. A visitor without connections is forgotten after
 * a while (sweep timer).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "webchat_int.h"
#include "signals.h"

static const struct omr_conf_key wc_keys[] = {
	{ "path", OMR_CONF_STRING, offsetof(struct wc_config, path), 0, "/chat", 0, 0,
	  "websocket path", NULL, NULL },
	{ "visitor_secret", OMR_CONF_SECRET, offsetof(struct wc_config, visitor_secret), 0, NULL, 0,
	  0, "key for visitor tokens (16+ characters); unset: random at every start", NULL, NULL },
	{ "max_message", OMR_CONF_INT, offsetof(struct wc_config, max_message), 0, "65536", 256,
	  1048576, "largest websocket message from a visitor, bytes", NULL, NULL },
	{ "rate_per_min", OMR_CONF_INT, offsetof(struct wc_config, rate_per_min), 0, "30", 1, 600000,
	  "messages a visitor may send per minute (sustained)", NULL, NULL },
	{ "burst", OMR_CONF_INT, offsetof(struct wc_config, burst), 0, "10", 1, 1000,
	  "messages a visitor may send at once", NULL, NULL },
	{ "visitor_idle", OMR_CONF_MS, offsetof(struct wc_config, visitor_idle), 0, "2m", 10000,
	  86400000, "a visitor without an open tab is forgotten by this node after this long (the "
	  "conversation stays; the token brings it back)", NULL, NULL },
	{ "max_visitors", OMR_CONF_INT, offsetof(struct wc_config, max_visitors), 0, "100000", 100,
	  10000000, "visitors this node keeps at most; past it a new visitor is asked to come back "
	  "later", NULL, NULL },
	{ "demo", OMR_CONF_BOOL, offsetof(struct wc_config, demo), 0, "false", 0, 0,
	  "serve the demo chat page at /chat-demo/", NULL, NULL },
	{ "demo_dir", OMR_CONF_PATH, offsetof(struct wc_config, demo_dir), 0, NULL, 0, 0,
	  "demo page files (default: DATA_DIR/webchat)", NULL, NULL },
	{ "identity_secret", OMR_CONF_SECRET, offsetof(struct wc_config, identity_secret), 0, NULL,
	  0, 0, "key (32+ characters) the web site signs its logged-in users' identity with "
	  "(HS256); unset: identities are refused", NULL, NULL },
	{ "widget", OMR_CONF_BOOL, offsetof(struct wc_config, widget), 0, "true", 0, 0,
	  "serve the embeddable chat widget at /widget/chat.js", NULL, NULL },
	{ "upload_max", OMR_CONF_INT, offsetof(struct wc_config, upload_max), 0, "0", 0, 67108864,
	  "largest file a visitor may send, bytes (0: none; a file also fits in max_message, "
	  "as base64)", NULL, NULL },
	{ "upload_types", OMR_CONF_STRLIST, offsetof(struct wc_config, upload_types), 0,
	  "[image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain]", 0, 0,
	  "the types of file a visitor may send", NULL, NULL },
	{ "widget_dir", OMR_CONF_PATH, offsetof(struct wc_config, widget_dir), 0, NULL, 0, 0,
	  "widget files (default: DATA_DIR/webchat/widget)", NULL, NULL },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL, NULL, NULL },
};

/* ---- small helpers ---- */

int wc_word_ok(const char *s, size_t max)
{
	size_t n = 0;
	if (!s || !*s)
		return 0;
	for (; *s; s++, n++)
		if (n >= max || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				  (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

struct wc_conn *wc_conn_get(struct wc_state *st, uint64_t id)
{
	for (struct wc_conn *c = st->buckets[id % WC_BUCKETS]; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static size_t wc_hash(const char *s)
{
	size_t h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % WC_BUCKETS;
}

static struct wc_visitor *wc_visitor_get(struct wc_state *st, const char *id, int create)
{
	size_t b = wc_hash(id);
	struct wc_visitor *v;
	for (v = st->visitors[b]; v; v = v->next)
		if (strcmp(v->id, id) == 0)
			return v;
	if (!create)
		return NULL;
	v = omr_plugin_calloc(1, sizeof(*v));
	st->nvisitors++;
	snprintf(v->id, sizeof(v->id), "%s", id);
	v->tokens = (double)st->cfg->burst;
	clock_gettime(CLOCK_MONOTONIC, &v->last);
	v->next = st->visitors[b];
	st->visitors[b] = v;
	return v;
}

/* Who is on the site now, for the core's outbound conversations (only to
 * a visitor online now: docs/proactive.md): kv "online:<visitor>" while a
 * tab is open, renewed by the sweep, gone soon after the last tab closed. */
#define WC_ONLINE_TTL_MS 35000
static void wc_online(struct wc_state *st, const struct wc_visitor *v, int on)
{
	char key[WC_ID_MAX + 8];
	snprintf(key, sizeof(key), "online:%s", v->id);
	st->api->kv_set(st->host, key, "1", 1, on ? WC_ONLINE_TTL_MS : 1, NULL, NULL);
}

static void wc_visitor_detach(struct wc_state *st, struct wc_conn *c)
{
	struct wc_visitor *v = c->visitor;
	if (!v)
		return;
	for (struct wc_conn **pc = &v->conns; *pc; pc = &(*pc)->next_of_visitor) {
		if (*pc == c) {
			*pc = c->next_of_visitor;
			break;
		}
	}
	c->visitor = NULL;
	clock_gettime(CLOCK_MONOTONIC, &v->last);
	if (!v->conns)
		wc_online(st, v, 0);
}

/* Forget visitors that have had no connection for a while. */
static void wc_sweep(void *arg)
{
	struct wc_state *st = arg;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (size_t b = 0; b < WC_BUCKETS; b++) {
		for (struct wc_visitor **pv = &st->visitors[b]; *pv;) {
			struct wc_visitor *v = *pv;
			if (v->conns)
				wc_online(st, v, 1);
			if (!v->conns && (now.tv_sec - v->last.tv_sec) * 1000 > st->cfg->visitor_idle) {
				*pv = v->next;
				st->nvisitors--;
				free(v);
			} else {
				pv = &v->next;
			}
		}
	}
}

/* ---- sending ---- */

void wc_send_json(struct wc_state *st, uint64_t conn, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		st->api->ws_send(st->host, conn, s, strlen(s));
		free(s);
	}
	json_decref(j);
}

void wc_send_error(struct wc_state *st, uint64_t conn, const char *code, const char *msg,
			  const char *client_msg_id)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", msg);
	if (client_msg_id)
		json_object_set_new(j, "client_msg_id", json_string(client_msg_id));
	wc_send_json(st, conn, j);
}

/* ---- visitor identity ---- */

static void wc_token(const struct wc_state *st, const char *visitor, char out[65])
{
	unsigned char md[32];
	unsigned int len = sizeof(md);
	static const char hex[] = "0123456789abcdef";
	HMAC(EVP_sha256(), st->secret, (int)st->secret_len, (const unsigned char *)visitor,
	     strlen(visitor), md, &len);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* "v_" and 24 base32 characters of 120 bits (random, or for a signed
 * identity derived from the site's customer id). */
void wc_visitor_id(const unsigned char rnd[15], char out[WC_ID_MAX + 1])
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
	memcpy(out, "v_", 2);
	for (int i = 0; i < 24; i++) {
		int bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)rnd[byte] << 8 | (byte + 1 < 15 ? rnd[byte + 1] : 0);
		out[2 + i] = b32[(v >> (11 - shift)) & 31];
	}
	out[26] = '\0';
}

static void wc_new_visitor(char out[WC_ID_MAX + 1])
{
	unsigned char rnd[15];
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		abort();
	wc_visitor_id(rnd, out);
}

/* ---- rate limit: a token bucket per visitor (all tabs together) ---- */

int wc_rate_ok(struct wc_state *st, struct wc_visitor *v)
{
	struct timespec now;
	double dt;
	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - v->last.tv_sec) + (double)(now.tv_nsec - v->last.tv_nsec) / 1e9;
	v->last = now;
	v->tokens += dt * (double)st->cfg->rate_per_min / 60.0;
	if (v->tokens > (double)st->cfg->burst)
		v->tokens = (double)st->cfg->burst;
	if (v->tokens < 1.0)
		return 0;
	v->tokens -= 1.0;
	return 1;
}

/* ---- hello ---- */

struct wc_hello {
	struct wc_state *st;
	uint64_t conn;
	char visitor[WC_ID_MAX + 1];
};

static json_t *wc_history_messages(json_t *msgs)
{
	json_t *out = json_array(), *m;
	size_t i;
	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		const char *author = json_string_value(json_object_get(m, "author"));
		const char *kind = json_string_value(json_object_get(m, "kind"));
		if ((kind && strcmp(kind, "note") == 0) || (dir && strcmp(dir, "note") == 0))
			continue; /* internal notes (and whispers) never reach the customer */
		json_t *o = json_pack("{s:O,s:s,s:O,s:O}", "id", json_object_get(m, "id"), "from",
				      dir && strcmp(dir, "in") == 0 ? "visitor" : author ? author : "agent",
				      "text", json_object_get(m, "text"), "ts",
				      json_object_get(m, "created_at"));
		if (!o)
			continue;
		json_t *name = json_object_get(m, "author_name");
		if (json_is_string(name) && dir && strcmp(dir, "out") == 0)
			json_object_set(o, "name", name);
		json_t *cmid = json_object_get(json_object_get(m, "meta"), "client_msg_id");
		if (json_is_string(cmid))
			json_object_set(o, "client_msg_id", cmid);
		json_t *att = json_object_get(m, "attachments");
		if (json_is_array(att) && json_array_size(att))
			json_object_set_new(o, "attachments", wc_history_files(att));
		json_array_append_new(out, o);
	}
	return out;
}

static void wc_hello_history(void *arg, int status, json_t *json)
{
	struct wc_hello *h = arg;
	struct wc_state *st = h->st;
	struct wc_conn *c = wc_conn_get(st, h->conn);
	char token[65];

	if (c && c->visitor && strcmp(c->visitor->id, h->visitor) == 0) {
		json_t *j;
		wc_token(st, h->visitor, token);
		j = json_pack("{s:s,s:s,s:s}", "type", "welcome", "visitor", h->visitor, "token", token);
		if (status == OMR_OK && json) {
			json_t *conv = json_object_get(json, "conversation");
			json_object_set(j, "conversation", json_object_get(conv, "id"));
			json_object_set_new(j, "history",
					    wc_history_messages(json_object_get(json, "messages")));
		} else {
			json_object_set_new(j, "history", json_array());
		}
		if (c->verified)
			json_object_set_new(j, "identified", json_true());
		json_t *up = wc_upload_offer(st);
		if (up)
			json_object_set_new(j, "upload", up);
		wc_send_json(st, h->conn, j);
		wc_availability(st, c);
	}
	free(h);
}

static void wc_hello(struct wc_state *st, struct wc_conn *c, json_t *msg)
{
	const char *visitor = json_string_value(json_object_get(msg, "visitor"));
	const char *token = json_string_value(json_object_get(msg, "token"));
	const char *name = json_string_value(json_object_get(msg, "name"));
	const char *email = json_string_value(json_object_get(msg, "email"));
	char expect[65], id[WC_ID_MAX + 1] = "";
	struct wc_hello *h;
	struct wc_visitor *v;

	if (c->visitor) {
		wc_send_error(st, c->id, "already_hello", "hello was already sent", NULL);
		return;
	}
	if (email && !*email)
		email = NULL;
	if ((name && strlen(name) > 200) || (email && !wc_identity_email_ok(email))) {
		wc_send_error(st, c->id, "bad_profile", "name or email is not valid", NULL);
		return;
	}
	/* a signed identity (a logged-in user of the site) names its own
	 * visitor; a bad one is refused and the chat goes on anonymous */
	free(c->site_customer);
	c->site_customer = NULL;
	c->verified = 0;
	if (json_object_get(msg, "identity") && !json_is_string(json_object_get(msg, "identity")))
		wc_send_error(st, c->id, "bad_identity", "identity must be a string (a token)", NULL);
	else if (json_is_string(json_object_get(msg, "identity")))
		wc_identify(st, c, json_string_value(json_object_get(msg, "identity")), id);
	if (!id[0] && visitor && token && wc_word_ok(visitor, WC_ID_MAX)) {
		wc_token(st, visitor, expect);
		if (strlen(token) == 64 && CRYPTO_memcmp(expect, token, 64) == 0)
			snprintf(id, sizeof(id), "%s", visitor);
	}
	if (!id[0] || !wc_visitor_get(st, id, 0)) {
		/* a visitor this node does not hold yet: admission first, so
		 * that nobody mints visitors (each with a fresh message burst)
		 * without bound */
		if (st->nvisitors >= (size_t)st->cfg->max_visitors) {
			wc_send_error(st, c->id, "busy", "too many visitors now, come back later", NULL);
			return;
		}
		if (st->api->admit(st->host, "chat", c->ip) != OMR_OK) {
			wc_send_error(st, c->id, "rate_limited",
				      "too many new visitors from your address, come back later", NULL);
			return;
		}
	}
	if (!id[0]) /* new visitor, or a token we did not issue */
		wc_new_visitor(id);
	/* a valid hello: the edge stops counting this connection's frames */
	st->api->ws_trust(st->host, c->id);
	v = wc_visitor_get(st, id, 1);
	c->visitor = v;
	c->next_of_visitor = v->conns;
	v->conns = c;
	wc_online(st, v, 1);
	if (!c->verified) {
		free(c->name);
		free(c->email);
		c->name = omr_plugin_strdup(name);
		c->email = omr_plugin_strdup(email);
	} else if (!c->name && name) {
		c->name = omr_plugin_strdup(name); /* the token had no name */
	}

	h = omr_plugin_calloc(1, sizeof(*h));
	h->st = st;
	h->conn = c->id;
	snprintf(h->visitor, sizeof(h->visitor), "%s", v->id);
	if (st->api->history(st->host, v->id, NULL, wc_hello_history, h) != OMR_OK)
		wc_hello_history(h, OMR_ERROR, NULL);
}

/* ---- message ---- */

static void wc_stored(void *arg, const struct omr_submit_result *res)
{
	struct wc_pending *p = arg;
	struct wc_state *st = p->st;

	if (!wc_conn_get(st, p->conn)) {
		/* The visitor left before the write finished. The message is
		 * stored (or not) all the same; a retry is deduplicated. */
		free(p);
		return;
	}
	if (res->status == OMR_OK) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:b}", "type", "ack", "client_msg_id",
				      p->client_msg_id, "conversation", res->conversation, "message",
				      res->message, "duplicate", res->duplicate);
		wc_send_json(st, p->conn, j);
	} else if (res->status == OMR_AGAIN) {
		wc_send_error(st, p->conn, "retry", "temporarily unavailable, send again",
			      p->client_msg_id);
	} else {
		wc_send_error(st, p->conn, "rejected", res->error ? res->error : "refused",
			      p->client_msg_id);
	}
	free(p);
}

/* Store ev; the ack (or error) for cmid goes to c once it is durable. */
void wc_submit(struct wc_state *st, struct wc_conn *c, const struct omr_inbound *ev,
	       const char *cmid)
{
	struct wc_pending *p = omr_plugin_calloc(1, sizeof(*p));
	p->st = st;
	p->conn = c->id;
	snprintf(p->client_msg_id, sizeof(p->client_msg_id), "%s", cmid);
	if (st->api->submit(st->host, ev, wc_stored, p) != OMR_OK) {
		wc_send_error(st, c->id, "retry", "temporarily unavailable, send again", cmid);
		free(p);
	}
}

void wc_submit_chat(struct wc_state *st, struct wc_conn *c, const char *cmid, const char *text,
		    json_t *attachments)
{
	char chmsgid[2 * WC_ID_MAX + 2];
	snprintf(chmsgid, sizeof(chmsgid), "%s:%s", c->visitor->id, cmid);
	json_t *meta = json_pack("{s:s}", "client_msg_id", cmid);
	json_t *attrs = wc_conn_attrs(c);
	struct omr_inbound ev = {
		.channel_msg_id = chmsgid,
		.address = c->visitor->id,
		.name = c->name,
		.email = c->email,
		.email_verified = c->verified,
		.text = text,
		.attachments = attachments,
		.attrs = attrs,
		.meta = meta,
	};
	wc_submit(st, c, &ev, cmid);
	json_decref(meta);
	json_decref(attrs);
}

static void wc_message(struct wc_state *st, struct wc_conn *c, json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "text"));
	const char *cmid = json_string_value(json_object_get(msg, "client_msg_id"));

	if (!c->visitor) {
		wc_send_error(st, c->id, "hello_first", "send hello before messages", cmid);
		return;
	}
	if (!cmid || !wc_word_ok(cmid, WC_ID_MAX)) {
		wc_send_error(st, c->id, "bad_client_msg_id",
			      "client_msg_id: 1-64 of letters, digits, - _ .", NULL);
		return;
	}
	json_t *file = json_object_get(msg, "file");
	if (file ? json_object_get(msg, "text") && !text : !text || !*text) {
		wc_send_error(st, c->id, "bad_text", "text must be a non-empty string", cmid);
		return;
	}
	if (!wc_rate_ok(st, c->visitor)) {
		wc_send_error(st, c->id, "rate_limited", "too many messages, slow down", cmid);
		return;
	}
	if (file) {
		wc_upload(st, c, file, text ? text : "", cmid);
		return;
	}
	wc_submit_chat(st, c, cmid, text, NULL);
}

/* ---- websocket callbacks ---- */

static void wc_on_open(void *arg, uint64_t conn, const struct omr_ws_peer *peer)
{
	struct wc_state *st = arg;
	struct wc_conn *c;
	if (st->nconns >= WC_MAX_CONNS) {
		st->api->ws_close(st->host, conn, 1013, "too many visitors");
		return;
	}
	c = omr_plugin_calloc(1, sizeof(*c));
	c->id = conn;
	snprintf(c->ip, sizeof(c->ip), "%s", peer->ip ? peer->ip : "");
	c->next = st->buckets[conn % WC_BUCKETS];
	st->buckets[conn % WC_BUCKETS] = c;
	st->nconns++;
	st->api->log(st->host, OMR_LOG_DEBUG, "visitor connection %llu from %s",
		     (unsigned long long)conn, peer->ip);
}

static void wc_on_message(void *arg, uint64_t conn, const char *data, size_t len)
{
	struct wc_state *st = arg;
	struct wc_conn *c = wc_conn_get(st, conn);
	json_error_t jerr;
	json_t *msg;
	const char *type;

	if (!c)
		return;
	msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg || !json_is_object(msg)) {
		wc_send_error(st, conn, "bad_json", "expected a JSON object", NULL);
		json_decref(msg);
		return;
	}
	type = json_string_value(json_object_get(msg, "type"));
	if (!type)
		wc_send_error(st, conn, "bad_type", "missing 'type'", NULL);
	else if (strcmp(type, "hello") == 0)
		wc_hello(st, c, msg);
	else if (strcmp(type, "message") == 0)
		wc_message(st, c, msg);
	else if (strcmp(type, "ping") == 0)
		wc_send_json(st, conn, json_pack("{s:s}", "type", "pong"));
	else if (strcmp(type, "leave") == 0)
		wc_leave(st, c);
	else if (strcmp(type, "availability") == 0)
		wc_availability(st, c);
	else if (strcmp(type, "offline_message") == 0)
		wc_offline_message(st, c, msg);
	else if (strcmp(type, "typing") == 0 || strcmp(type, "seen") == 0)
		wc_signal(st, c, type, msg);
	else
		wc_send_error(st, conn, "unknown_type", "unknown message type", NULL);
	json_decref(msg);
}

static void wc_conn_free(struct wc_conn *c)
{
	free(c->name);
	free(c->email);
	free(c->site_customer);
	free(c);
}

static void wc_on_close(void *arg, uint64_t conn)
{
	struct wc_state *st = arg;
	for (struct wc_conn **pc = &st->buckets[conn % WC_BUCKETS]; *pc; pc = &(*pc)->next) {
		if ((*pc)->id == conn) {
			struct wc_conn *c = *pc;
			*pc = c->next;
			wc_visitor_detach(st, c);
			st->nconns--;
			wc_conn_free(c);
			return;
		}
	}
}

/* ---- plugin hooks ---- */

/* the frame type of a conversation event; anything else is a status */
static const char *wc_event_type(const char *ev)
{
	static const char *const known[] = { "offered", "joined", "ended", NULL };
	for (int i = 0; ev && known[i]; i++)
		if (strcmp(ev, known[i]) == 0)
			return known[i];
	return "status";
}

static int wc_send(void *state, const struct omr_outbound *out)
{
	struct wc_state *st = state;
	struct wc_visitor *v = wc_visitor_get(st, out->address, 0);
	int pushed = 0;
	json_t *j;

	if (strcmp(out->kind, "status") == 0) {
		/* status fields at the top level: {type, position, eta_s}; what
		 * happened to the conversation is a frame of its own:
		 * {type: offered | joined (name) | ended} */
		const char *ev = json_string_value(json_object_get(out->data, "event"));
		j = json_pack("{s:s}", "type", "status");
		if (json_is_object(out->data))
			json_object_update(j, out->data);
		json_object_del(j, "event");
		json_object_set_new(j, "type", json_string(wc_event_type(ev)));
	} else if ((j = wc_signal_out(out)) != NULL) {
		/* typing, seen: nothing to report back */
	} else {
		j = json_pack("{s:s,s:s,s:s,s:s,s:s?}", "type", "message", "id", out->message, "from",
			      out->author ? out->author : "agent", "text", out->text ? out->text : "",
			      "name", out->author_name);
		/* a bot's quick replies (checked by the core) */
		json_t *buttons = json_object_get(out->data, "buttons");
		if (j && json_is_array(buttons))
			json_object_set(j, "buttons", buttons);
		if (j)
			wc_attachments(j, json_object_get(out->data, "attachments"));
	}
	if (!j)
		return OMR_ERROR;
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return OMR_ERROR;
	for (struct wc_conn *c = v ? v->conns : NULL; c; c = c->next_of_visitor)
		if (st->api->ws_send(st->host, c->id, s, strlen(s)) == OMR_OK)
			pushed++;
	free(s);
	/* A visitor who is away gets the message from history when back.
	 * Every node is asked (OMR_PLUGIN_CONNECTED); the one that has the
	 * visitor says "delivered", the others say nothing. */
	if (strcmp(out->kind, "message") == 0 && pushed && out->message)
		st->api->send_result(st->host, out->message, "delivered", NULL, NULL);
	return OMR_OK;
}

static int wc_check(const void *config, char **err_r)
{
	const struct wc_config *cfg = config;
	if (cfg->visitor_secret && strlen(cfg->visitor_secret) < 16)
		return omr_plugin_error(err_r, "visitor_secret must be at least 16 characters");
	if (cfg->path[0] != '/')
		return omr_plugin_error(err_r, "path must start with /");
	if (cfg->demo && !cfg->widget)
		return omr_plugin_error(err_r, "demo: true needs widget: true (the demo page embeds "
					       "the widget)");
	if (cfg->identity_secret && strlen(cfg->identity_secret) < 32)
		return omr_plugin_error(err_r, "identity_secret must be at least 32 characters");
	if (cfg->identity_secret && cfg->visitor_secret &&
	    strcmp(cfg->identity_secret, cfg->visitor_secret) == 0)
		return omr_plugin_error(err_r, "identity_secret must not be the visitor_secret");
	return OMR_OK;
}

static int wc_init(const struct omr_host_api *api, omr_host *host, const void *config,
		   void **state_r, char **err_r)
{
	const struct wc_config *cfg = config;
	struct wc_state *st;
	char dir[4096];

	if (wc_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	if (cfg->visitor_secret) {
		st->secret_len = strlen(cfg->visitor_secret) < sizeof(st->secret)
					 ? strlen(cfg->visitor_secret)
					 : sizeof(st->secret);
		memcpy(st->secret, cfg->visitor_secret, st->secret_len);
	} else {
		st->secret_len = 32;
		if (RAND_bytes(st->secret, 32) != 1)
			abort();
		api->log(host, OMR_LOG_WARN, "no visitor_secret set: visitors cannot continue "
					     "their conversation after a restart");
	}
	struct omr_ws_endpoint ep = {
		.path = cfg->path,
		.subprotocol = WC_SUBPROTOCOL,
		.max_message = (size_t)cfg->max_message,
		.on_open = wc_on_open,
		.on_message = wc_on_message,
		.on_close = wc_on_close,
		.arg = st,
	};
	if (api->ws_register(host, &ep, err_r) != OMR_OK)
		goto fail;
	if (cfg->demo) {
		const char *d = cfg->demo_dir ? cfg->demo_dir : api->data_path(host, "webchat", dir, sizeof(dir));
		if (!d || api->static_mount(host, "/chat-demo/", d, err_r) != OMR_OK)
			goto fail;
	}
	if (wc_upload_init(st, err_r) != OMR_OK)
		goto fail;
	if (cfg->widget) {
		const char *d = cfg->widget_dir ? cfg->widget_dir
						: api->data_path(host, "webchat/widget", dir, sizeof(dir));
		if (!d || api->static_mount(host, "/widget/", d, err_r) != OMR_OK)
			goto fail;
	}
	st->sweep = api->timer_new(host, wc_sweep, st);
	api->timer_start(st->sweep, 10000, 1);
	*state_r = st;
	return OMR_OK;
fail:
	OPENSSL_cleanse(st->secret, sizeof(st->secret));
	free(st);
	return OMR_ERROR;
}

static void wc_free_visitors(struct wc_state *st)
{
	for (size_t b = 0; b < WC_BUCKETS; b++) {
		struct wc_conn *c = st->buckets[b];
		while (c) {
			struct wc_conn *next = c->next;
			wc_conn_free(c);
			c = next;
		}
		st->buckets[b] = NULL;
		struct wc_visitor *v = st->visitors[b];
		while (v) {
			struct wc_visitor *next = v->next;
			free(v);
			v = next;
		}
		st->visitors[b] = NULL;
		st->nvisitors = 0;
	}
}

static void wc_free(void *state)
{
	struct wc_state *st = state;
	if (!st)
		return;
	wc_free_visitors(st);
	if (st->sweep)
		st->api->timer_free(st->sweep);
	free(st->avail_wait);
	OPENSSL_cleanse(st->secret, sizeof(st->secret));
	free(st);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "webchat",
	.version = "1.0",
	.description = "web chat for visitors of a web site (websocket /chat)",
	.kind = OMR_PLUGIN_CHANNEL,
	.flags = OMR_PLUGIN_CONNECTED | OMR_PLUGIN_STATUS | OMR_PLUGIN_TYPING | OMR_PLUGIN_FILES,
	.config_keys = wc_keys,
	.config_size = sizeof(struct wc_config),
	.check = wc_check,
	.init = wc_init,
	.send = wc_send,
	.free = wc_free,
};
