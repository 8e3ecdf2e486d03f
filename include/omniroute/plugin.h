/*
 * omniroute plugin ABI.
 *
 * This is the only header a plugin includes. A plugin is a shared object
 * that exports exactly one symbol, `omr_plugin` (see OMR_PLUGIN_SYMBOL), a
 * struct omr_plugin_descriptor. The daemon hands the plugin a table of host
 * services (struct omr_host_api); the plugin never links against daemon
 * internals.
 *
 * Threads: every hook and every callback runs on the daemon's main thread
 * (the libevent loop). Plugins never see threads and must not block.
 *
 * Ownership: strings and JSON handed to a hook or callback are borrowed
 * for the duration of that call; copy what you keep. Strings a plugin hands
 * to the host are copied by the host before the call returns.
 *
 * Versioning: OMR_PLUGIN_ABI_VERSION is bumped on any change of layout or
 * meaning in this file. The loader refuses a plugin built for another ABI
 * version and names both versions. It is not the release version.
 */
#ifndef OMNIROUTE_PLUGIN_H
#define OMNIROUTE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OMR_PLUGIN_ABI_VERSION 3u
#define OMR_PLUGIN_SYMBOL "omr_plugin"

/* Return codes used throughout the ABI. */
#define OMR_OK 0
#define OMR_ERROR (-1)
#define OMR_AGAIN (-2) /* temporary failure: retry later */

enum omr_log_level {
	OMR_LOG_ERROR = 0,
	OMR_LOG_WARN = 1,
	OMR_LOG_INFO = 2,
	OMR_LOG_DEBUG = 3,
};

enum omr_plugin_kind {
	OMR_PLUGIN_CHANNEL = 1,
	OMR_PLUGIN_BOT = 2,
};

/* Descriptor flags. */
/* Customers of this channel are connected to one node (a websocket): an
 * outbound message is handed to send() on every node sharing the Redis,
 * and the node that has the customer delivers it. Without this flag send()
 * runs on one node only (API channels: never send twice). */
#define OMR_PLUGIN_CONNECTED 0x1u
/* The channel can show a waiting customer their place in the queue
 * (outbound kind "status", data {position, eta_s}) without it being a
 * message in the conversation. */
#define OMR_PLUGIN_STATUS 0x2u
/* The channel shows the customer that the agent is typing, and that the
 * agent has seen a message (outbound kinds "typing" and "seen", `message`
 * naming the customer's message; no text, nothing stored). */
#define OMR_PLUGIN_TYPING 0x4u
/* The channel sends agents' files: an outbound message's data may hold
 * "attachments": [{name, type, size, sha256, path, url}] (path: the file
 * on this node's disk, to read; url: a signed link on the edge, relative,
 * that a customer's browser may open for a day); text may then be "". */
#define OMR_PLUGIN_FILES 0x8u
/* The channel is mail: an agent's reply may name Cc recipients, an
 * outbound message's data then holds "cc": ["addr", ...] (each checked by
 * omr_mail_addr_ok, at most OMR_MAIL_CC_MAX), sent as a Cc header and
 * RCPT TO. */
#define OMR_PLUGIN_CC 0x10u

/* ------------------------------------------------------------------ */
/* Configuration schema: a plugin declares its keys as data; the host  */
/* validates the YAML under `plugins[].config` against it, reporting   */
/* file:line for every error, and fills the plugin's config struct.    */
/* ------------------------------------------------------------------ */

enum omr_conf_type {
	OMR_CONF_END = 0,
	OMR_CONF_STRING, /* char *, owned by the host, freed with the config */
	OMR_CONF_SECRET, /* char *, value may be {env: NAME} or {file: PATH} */
	OMR_CONF_INT,    /* long long, checked against [min, max] */
	OMR_CONF_BOOL,   /* int, 0 or 1 */
	OMR_CONF_MS,     /* long long milliseconds; "250ms", "5s", "2m", "1h" */
	OMR_CONF_PATH,   /* char *, relative paths resolved against the file */
	OMR_CONF_JSON,   /* json_t *, any YAML subtree converted to JSON */
	OMR_CONF_ENUM,   /* int: index of the value in `choices` */
	OMR_CONF_STRLIST,/* char **, NULL-terminated; a scalar is a list of one */
	OMR_CONF_SECTION,/* a nested mapping described by `sub`, stored inline
	                    at `offset` (a struct inside your struct) */
};

struct omr_conf_key {
	const char *name;
	enum omr_conf_type type;
	size_t offset;       /* offsetof(your_config, field) */
	int required;        /* 1: missing key is an error */
	const char *def;     /* default as text (parsed like YAML), or NULL */
	long long min, max;  /* bounds for INT and MS (min == max == 0: none) */
	const char *doc;     /* one line, for the configuration reference */
	const char *const *choices;     /* ENUM: NULL-terminated values */
	const struct omr_conf_key *sub; /* SECTION: its keys */
};

/* ------------------------------------------------------------------ */
/* Normalised inbound event: what a channel submits to the core.       */
/* ------------------------------------------------------------------ */

struct omr_inbound {
	const char *channel_msg_id; /* required: unique per channel; idempotency key */
	const char *address;        /* required: customer address on this channel */
	const char *thread;         /* conversation thread key; NULL: one per address */
	const char *name;           /* customer display name, optional */
	const char *email;          /* customer email, optional */
	int email_verified;         /* 1: the channel vouches for the address
	                               (mail From, a signed-in web user); only
	                               then does it link to an existing customer */
	const char *text;           /* message text (UTF-8), may be "" with attachments */
	json_t *attachments;        /* array of {name,type,size,url?}, optional.
	                               Through webhook_message, an attachment may
	                               instead carry "fetch": {"url", "bearer"?,
	                               "lookup"?: true}: the core downloads the
	                               file into the attachment store first
	                               (docs/media.md); "fetch" is never stored */
	json_t *attrs;              /* object: conversation attributes (language,
	                               intent, subject, ...), optional */
	json_t *meta;               /* object: stored on the message, optional */
	int is_public;              /* 1: a public post (social) */
	int64_t ts_ms;              /* sender's timestamp; 0: now */
	const char *kind;           /* "message" (default) or "auto" (an
	                               auto-reply: stored, not routed) */
};

struct omr_submit_result {
	int status;                 /* OMR_OK, OMR_ERROR, OMR_AGAIN */
	int duplicate;              /* 1: channel_msg_id was seen before */
	const char *conversation;   /* conversation id (OMR_OK) */
	const char *message;        /* message id (OMR_OK) */
	const char *customer;       /* customer id (OMR_OK) */
	const char *error;          /* reason (not OMR_OK) */
};

typedef void (*omr_submit_cb)(void *arg, const struct omr_submit_result *res);

/* ------------------------------------------------------------------ */
/* Outbound: the core asks a channel to deliver a message.             */
/* ------------------------------------------------------------------ */

struct omr_outbound {
	const char *conversation;
	const char *message;        /* message id; use it in send_result */
	const char *kind;           /* "message" or "status" (queue position) */
	const char *address;        /* customer address on this channel */
	const char *thread;         /* conversation thread key */
	const char *author;         /* "agent", "bot" or "system" */
	const char *author_name;    /* display name, may be NULL */
	const char *text;
	json_t *data;               /* kind-specific extras (status: position, eta_s;
	                               message: buttons of a bot, template {name,
	                               language} outside the reply window,
	                               unsubscribe {url?, mailto?} for the
	                               e-mail channel: docs/proactive.md) */
};

/* ------------------------------------------------------------------ */
/* Websocket endpoints served by the edge thread on behalf of a plugin.*/
/* All callbacks arrive on the main thread; `conn` ids are unique for  */
/* the life of the process.                                            */
/* ------------------------------------------------------------------ */

struct omr_ws_peer {
	const char *ip;          /* remote address */
	const char *origin;      /* Origin header or "" */
	const char *user_agent;  /* or "" */
};

struct omr_ws_endpoint {
	const char *path;         /* e.g. "/chat" */
	const char *subprotocol;  /* e.g. "omniroute.chat.v1" */
	size_t max_message;       /* bytes; bigger frames close with 1009 */
	void (*on_open)(void *arg, uint64_t conn, const struct omr_ws_peer *peer);
	void (*on_message)(void *arg, uint64_t conn, const char *data, size_t len);
	void (*on_close)(void *arg, uint64_t conn);
	void *arg;
};

/* ------------------------------------------------------------------ */
/* HTTP routes on the webhook listener (evhttp, main thread).          */
/* ------------------------------------------------------------------ */

struct omr_http_request {
	const char *method;    /* "GET", "POST", ... */
	const char *path;      /* decoded path, no query */
	const char *query;     /* raw query string or "" */
	const unsigned char *body;
	size_t body_len;
	const char *(*header)(const struct omr_http_request *req, const char *name);
	void *impl;            /* host private */
};

/* Reply exactly once, synchronously or later (e.g. after a durable write). */
typedef struct omr_http_reply omr_http_reply;
typedef void (*omr_http_handler)(void *arg, const struct omr_http_request *req,
				 omr_http_reply *reply);

/* ------------------------------------------------------------------ */
/* The host API table handed to init().                                */
/* ------------------------------------------------------------------ */

typedef struct omr_host omr_host; /* opaque, one per loaded plugin */
typedef struct omr_timer omr_timer;
typedef struct omr_metrics omr_metrics; /* a /metrics answer being written */

/* Result of an http_request (borrowed for the callback). */
struct omr_http_response {
	int ok;                  /* 1: a response came (any status) */
	long status;             /* HTTP status, 0 when none came */
	const char *body;        /* NUL-terminated, may be "" */
	size_t body_len;
	const char *error;       /* transport error when !ok */
	const char *retry_after; /* Retry-After header, or NULL */
	int attempts;            /* http_send: tries it took (http_request: 1) */
	int cancelled;           /* 1: not tried to the end because the daemon is
	                            stopping; leave the outcome open (a message is
	                            sent again after the restart) */
};
typedef void (*omr_http_done)(void *arg, const struct omr_http_response *res);

/* http_send: how a provider API call is retried and paced. Retried are
 * transport errors, 429 and 5xx (not 501), after Retry-After when the
 * provider sends one, else after a delay that doubles (with jitter). */
struct omr_http_retry {
	int attempts;            /* tries in all (0: 5; 1: no retry) */
	long first_delay_ms;     /* 0: 1000 */
	long max_delay_ms;       /* 0: 60000; also caps Retry-After */
	const char *lane;        /* rate lane (e.g. the sending phone number id); NULL: none */
	double per_second;       /* requests per second on the lane (0: unlimited) */
	/* Optional: each try's own Authorization (a signature with a fresh
	 * nonce and timestamp: OAuth 1.0a), as a malloc'ed header line
	 * ("Authorization: ...") that the host adds and frees; NULL: none.
	 * authorize_arg must stay valid until the done callback has run. */
	char *(*authorize)(void *authorize_arg, const char *method, const char *url);
	void *authorize_arg;
};

/* ------------------------------------------------------------------ */
/* Provider webhooks (WhatsApp, Messenger, Instagram, X): the core     */
/* verifies, limits and acknowledges; the plugin only maps the payload.*/
/* ------------------------------------------------------------------ */

typedef struct omr_webhook_batch omr_webhook_batch;

enum omr_signature_encoding {
	OMR_SIGNATURE_HEX = 0,     /* "sha256=<hex>" (Meta: X-Hub-Signature-256) */
	OMR_SIGNATURE_BASE64 = 1,  /* "sha256=<base64>" (X: x-twitter-webhooks-signature) */
};

struct omr_webhook_spec {
	const char *path;              /* "/webhooks/whatsapp" */
	const char *signature_header;  /* header of the HMAC-SHA256 of the raw body; required */
	int signature_encoding;        /* enum omr_signature_encoding */
	const char *secret;            /* the HMAC key (app secret, consumer secret) */
	const char *verify_token;      /* Meta: GET ?hub.mode=subscribe&hub.verify_token=T&
	                                  hub.challenge=C echoes C; NULL: no such handshake */
	int crc;                       /* X: GET ?crc_token=T answers {"response_token":
	                                  "sha256=" base64(HMAC(secret, T))}, only for a T
	                                  of [A-Za-z0-9+/=_-] (the answer is the signature
	                                  of a body T: it must not be a payload) */
	size_t max_body;               /* 0: webhooks.max_body */
	/* The verified body (NUL-terminated): map it, calling
	 * api->webhook_message() and api->webhook_status() for each item.
	 * OMR_ERROR with *err_r: malformed (400, nothing is stored). */
	int (*parse)(void *arg, const char *body, size_t len, omr_webhook_batch *batch,
		     char **err_r);
	void *arg;
};

/* ------------------------------------------------------------------ */
/* What a channel allows (set once in init with api->channel_policy).  */
/* ------------------------------------------------------------------ */

struct omr_channel_policy {
	long long reply_window_ms;  /* free-form replies only this long after the
	                               customer's last message (0: always allowed) */
	const json_t *templates;    /* [{name, language, text, variables?: [{name, part,
	                               type}]}]: what an agent may send outside the
	                               window, listed to agents with the variables
	                               each needs (copied); NULL: none */
	size_t text_max;            /* longest reply the channel takes (0: limits.text_max) */
	long long reopen_ms;        /* a customer who writes again in a thread whose
	                               conversation closed this recently reopens it
	                               (e-mail); 0: a new conversation */
	size_t public_text_max;     /* longest answer posted publicly on a public
	                               thread (a reply tweet, a comment); 0: text_max */
};

/* ------------------------------------------------------------------ */
/* Bots (kind OMR_PLUGIN_BOT): a conversation routing gives to the bot  */
/* tier arrives turn by turn: one turn per customer message.           */
/* ------------------------------------------------------------------ */

struct omr_bot_turn {
	const char *turn;          /* id of this turn: put it in the answer */
	const char *conversation;
	const char *channel;
	const char *language;      /* "" when unknown */
	const char *text;          /* the customer's message */
	json_t *context;           /* {customer: {id, name, balance, ...},
	                              attrs, intent, slots: {...} (from earlier
	                              answers), misunderstood: N, turns: N,
	                              history: [{from, text}, ...]} */
};

struct omr_bot_answer {
	const char *turn;          /* from the turn */
	json_t *messages;          /* [{text, buttons: ["..", ..]?}, ...] to the customer; may be NULL */
	const char *action;        /* "continue", "handoff" or "resolve" */
	const char *reason;        /* handoff: why (shown to the agent); resolve: the contact reason */
	const char *intent;        /* what the customer wants, if known */
	json_t *slots;             /* what the bot collected (object), merged into earlier slots */
	const char *queue;         /* handoff: suggested queue (NULL: routing's) */
	json_t *skills;            /* handoff: suggested skills {skill: min} */
	int misunderstood;         /* 1: the bot did not understand this message */
};

struct omr_host_api {
	uint32_t abi_version;
	uint32_t struct_size;

	/* Logging; lines are prefixed with the plugin name. */
	void (*log)(omr_host *h, enum omr_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* Main event loop, for plugins that need sockets of their own. */
	struct event_base *(*event_base)(omr_host *h);

	/* Submit an inbound event. The callback runs once, after the event is
	 * durable in Redis (status OMR_OK) or could not be stored (OMR_AGAIN:
	 * tell the sender to retry). Only then acknowledge to the sender. */
	int (*submit)(omr_host *h, const struct omr_inbound *ev,
		      omr_submit_cb cb, void *arg);

	/* Report the delivery outcome of an omr_outbound (see send()).
	 * status: "sent", "delivered", "read", "failed". A "failed" whose
	 * error starts with "opted_out:" means the recipient refuses messages
	 * from us (WhatsApp 131050): the core puts the address on the
	 * channel's opt-out list (docs/proactive.md#opt-outs). */
	void (*send_result)(omr_host *h, const char *message, const char *status,
			    const char *channel_msg_id, const char *error);

	/* Update delivery status by the channel's own message id (providers'
	 * status callbacks); unknown ids are ignored. */
	void (*delivery_status)(omr_host *h, const char *channel_msg_id,
				const char *status, const char *error);

	/* Websockets (only during init). */
	int (*ws_register)(omr_host *h, const struct omr_ws_endpoint *ep, char **err_r);
	int (*ws_send)(omr_host *h, uint64_t conn, const char *data, size_t len);
	void (*ws_close)(omr_host *h, uint64_t conn, int code, const char *reason);

	/* Serve a directory of static files under a URL prefix on the edge
	 * listener, e.g. ("/chat-demo/", "/usr/share/omniroute/webchat"). */
	int (*static_mount)(omr_host *h, const char *prefix, const char *dir, char **err_r);

	/* HTTP routes on the webhook listener (only during init). */
	int (*http_route)(omr_host *h, const char *path, omr_http_handler fn,
			  void *arg, char **err_r);
	void (*http_reply)(omr_http_reply *reply, int code, const char *content_type,
			   const void *body, size_t len);

	/* Fetch the open conversation for (address, thread) with its recent
	 * messages as JSON {conversation, messages: [...]}; json is NULL when
	 * there is none. Borrowed for the callback. */
	int (*history)(omr_host *h, const char *address, const char *thread,
		       void (*cb)(void *arg, int status, json_t *json), void *arg);

	/* One-shot or repeating timers on the main loop. */
	omr_timer *(*timer_new)(omr_host *h, void (*cb)(void *arg), void *arg);
	void (*timer_start)(omr_timer *t, uint64_t ms, int repeat);
	void (*timer_stop)(omr_timer *t);
	void (*timer_free)(omr_timer *t);

	/* Path of a file in the daemon's data directory (console, demo pages),
	 * written to buf; returns buf or NULL when it does not fit. */
	const char *(*data_path)(omr_host *h, const char *rel, char *buf, size_t len);

	/* Outbound transfers on the daemon's libcurl multi handle, driven by
	 * the main loop (never block). transfer: any easy handle you set up
	 * (SMTP, IMAP, ...); done runs once, after it is finished; the handle
	 * stays yours. http_request: a whole HTTP exchange in memory; headers
	 * NULL-terminated "Name: value"; the result is borrowed for the
	 * callback. Both return OMR_OK, or OMR_ERROR (no callback). */
	int (*transfer)(omr_host *h, void *curl_easy,
			void (*done)(void *arg, int curl_code, long status), void *arg);
	int (*http_request)(omr_host *h, const char *method, const char *url,
			    const char *const *headers, const void *body, size_t body_len,
			    long timeout_ms, omr_http_done cb, void *arg);

	/* Bots: the answer to a turn (see struct omr_bot_turn). Exactly once
	 * per turn, now or later; a turn not answered within the bot timeout
	 * is handed to a person. */
	void (*bot_answer)(omr_host *h, const struct omr_bot_answer *answer);

	/* HMAC-SHA256 of data with key, as lower-case hex (65 bytes with the
	 * NUL) in out; and a constant-time check of a received signature
	 * ("sha256=<hex>" or bare hex) against the one computed here. */
	void (*hmac_sha256_hex)(const void *key, size_t key_len, const void *data, size_t len,
				char out[65]);
	int (*signature_ok)(const char *received, const void *key, size_t key_len,
			    const void *data, size_t len);

	/* Provider webhooks (only during init): GET handshakes, signature,
	 * size limit, then spec->parse; the request is answered 200 once
	 * every message and status the batch holds is durable in Redis, 503
	 * when one could not be stored now (the provider retries; resent
	 * messages are recognised by channel_msg_id), 400 for a malformed
	 * body, 401 without a signature, 403 with a wrong one. */
	int (*webhook_register)(omr_host *h, const struct omr_webhook_spec *spec, char **err_r);
	/* In parse: one inbound message (copied at once; see submit). */
	void (*webhook_message)(omr_webhook_batch *b, const struct omr_inbound *ev);
	/* In parse: a delivery status of one of our messages, by the
	 * provider's id ("sent", "delivered", "read", "failed"). */
	void (*webhook_status)(omr_webhook_batch *b, const char *channel_msg_id, const char *status,
			       const char *error);

	/* http_request, retried and paced as `retry` says; cb runs once,
	 * with the last response (or transport error). */
	int (*http_send)(omr_host *h, const char *method, const char *url,
			 const char *const *headers, const void *body, size_t body_len,
			 long timeout_ms, const struct omr_http_retry *retry, omr_http_done cb,
			 void *arg);

	/* A channel's rules for agents' replies (only during init). */
	int (*channel_policy)(omr_host *h, const struct omr_channel_policy *policy, char **err_r);

	/* A small durable key-value store of the plugin's own, in Redis
	 * (indexes like "which thread has this Message-ID", polling
	 * positions). Keys: 1-200 printable ASCII characters; values up to
	 * 64 KiB. cb runs once, never inside the call: status OMR_OK (value
	 * NULL when there is none; borrowed for the callback) or OMR_AGAIN
	 * (Redis unavailable). ttl_ms 0: kept for ever. Both return OMR_ERROR
	 * (no callback) for a bad key or value. */
	int (*kv_get)(omr_host *h, const char *key,
		      void (*cb)(void *arg, int status, const char *value, size_t len), void *arg);
	int (*kv_set)(omr_host *h, const char *key, const void *value, size_t len,
		      long long ttl_ms, void (*cb)(void *arg, int status), void *arg);
	/* Path of a file in the node's state directory (paths.state_dir), for
	 * what a plugin keeps on disk (e-mail attachments); NULL when it does
	 * not fit. */
	const char *(*state_path)(omr_host *h, const char *rel, char *buf, size_t len);

	/* In the descriptor's metrics hook: one figure of the plugin, shown
	 * as omniroute_<plugin name>_<name> (name: [a-z0-9_]; type "counter"
	 * or "gauge"; help: one line). */
	void (*metric)(omr_metrics *m, const char *name, const char *type, const char *help,
		       unsigned long long value);

	/* A limit of the daemon's configuration (limits.*) that submitted
	 * messages must keep to, so that a channel can cut rather than have
	 * them refused: "text_max" (bytes), "attachments_max"; 0 for an
	 * unknown name. */
	long long (*limit)(omr_host *h, const char *name);

	/* In a webhook's parse: a read receipt by time (Messenger's
	 * watermark): our messages in the open conversation of (address,
	 * thread; NULL thread: one per address) sent at or before
	 * watermark_ms are read. */
	void (*webhook_read_until)(omr_webhook_batch *b, const char *address, const char *thread,
				   long long watermark_ms);

	/* Work that would hold the loop (parsing a large message, hashing,
	 * fsync): work(arg) runs on one of the daemon's worker threads, then
	 * done(arg, status) on the main loop: status OMR_OK after work ran,
	 * OMR_AGAIN when it never ran (the daemon is stopping). work must
	 * touch nothing but arg: no host calls, no state shared with the
	 * loop. Returns OMR_OK (done will run exactly once, never inside this
	 * call), or OMR_AGAIN when the queue is full or the daemon stops
	 * (nothing runs: tell the sender to try again later). Jobs still
	 * queued at shutdown are cancelled before stop()'s counterpart free()
	 * runs, and running ones are waited for. */
	int (*work)(omr_host *h, void (*work)(void *arg), void (*done)(void *arg, int status),
		    void *arg);

	/* Admission (docs/operations.md#admission-and-back-pressure): may the client at `ip`
	 * come through `door` now? Doors are the daemon's, configured under
	 * admission: ("chat": a new web chat visitor). OMR_OK, or OMR_AGAIN
	 * (refused: tell the client to come back later); an unknown door is
	 * OMR_OK. Refusals are counted and logged by the host. */
	int (*admit)(omr_host *h, const char *door, const char *ip);

	/* The websocket connection has shown who it is (a valid hello, a
	 * log-in). Until then the edge allows it only a few frames a second
	 * (admission.edge_unauth_rate; faster, it is closed with 1008), so
	 * that anyone can connect but only a known peer can send much. */
	void (*ws_trust)(omr_host *h, uint64_t conn);

	/* The customer left (a web chat visitor ended the chat): the open
	 * conversation of (address, thread; NULL thread: one per address) is
	 * closed if no agent has accepted it yet (counted as abandoned when it
	 * waited in a queue, its offer withdrawn), or if it is with the bot;
	 * one an agent has is left to the agent. cb (may be NULL) runs once,
	 * never inside the call: OMR_OK (done, or nothing to do) or OMR_AGAIN
	 * (Redis unavailable: ask again later). Returns OMR_OK, or OMR_ERROR
	 * (no callback) for a bad address. This took the place of a reserved
	 * slot: the layout is the same, and a daemon older than it has NULL
	 * here. */
	int (*customer_left)(omr_host *h, const char *address, const char *thread,
			     void (*cb)(void *arg, int status), void *arg);

	/* Is an agent there: logged in and available (any channel)? cb runs
	 * once, never inside the call: status OMR_OK with available 1 or 0,
	 * or OMR_AGAIN (Redis unavailable). Returns OMR_OK, or OMR_ERROR (no
	 * callback) without a cb. Added at the end of the table: a plugin
	 * checks struct_size before it calls it (an older daemon's table is
	 * shorter). */
	int (*agents_available)(omr_host *h, void (*cb)(void *arg, int status, int available),
				void *arg);
	/* What the customer's page tells without a message, for the agent of
	 * the open conversation of (address, thread; NULL thread: one per
	 * address): signal "typing" (the agent's console shows it; the
	 * channel throttles it, the host passes each one on), or "seen" with
	 * `message`, the id of an agent's message of that conversation the
	 * customer has in view (it becomes "read"; an id of anything else is
	 * ignored). Nothing is answered. Returns OMR_OK, or OMR_ERROR for a
	 * bad address, signal or id. Added after customer_left: a daemon
	 * older than it has a struct_size that ends before it (check
	 * struct_size before calling). */
	int (*customer_signal)(omr_host *h, const char *address, const char *thread,
			       const char *signal, const char *message);

	/* Like history, for one conversation of this plugin's channel named by
	 * its id (an outbound message's `conversation`), whatever its status:
	 * a message sent after the conversation closed (the satisfaction
	 * question and its thanks, after the wrap-up) still knows the thread
	 * it answers. json is NULL when there is none, or it is another
	 * channel's. OMR_ERROR at once, and cb is never called, for no cb or
	 * an id that cannot be one (empty, over 64 bytes, a space or a
	 * control character). Added after customer_signal (check
	 * struct_size). */
	int (*history_of)(omr_host *h, const char *conversation,
			  void (*cb)(void *arg, int status, json_t *json), void *arg);
};

/* ------------------------------------------------------------------ */
/* The descriptor a plugin exports as `omr_plugin`.                    */
/* ------------------------------------------------------------------ */

struct omr_plugin_descriptor {
	uint32_t abi_version;        /* OMR_PLUGIN_ABI_VERSION */
	uint32_t struct_size;        /* sizeof(struct omr_plugin_descriptor) */
	const char *name;            /* also the channel name for channel plugins */
	const char *version;
	const char *description;
	enum omr_plugin_kind kind;
	uint32_t flags;              /* OMR_PLUGIN_* */

	const struct omr_conf_key *config_keys; /* terminated by OMR_CONF_END */
	size_t config_size;                     /* sizeof(your config struct) */

	/* check: validate the parsed config beyond what the key table can say
	 * (cross-field rules, lengths). Optional; runs for `omniroute -t`, for
	 * reloads and at start, before init. OMR_ERROR with a malloc'ed
	 * message in *err_r. */
	int (*check)(const void *config, char **err_r);
	/* init: api and host stay valid until free(). Return OMR_OK and set
	 * *state_r, or OMR_ERROR with a malloc'ed message in *err_r. */
	int (*init)(const struct omr_host_api *api, omr_host *host,
		    const void *config, void **state_r, char **err_r);
	/* start: the loop runs and Redis is reachable; open sockets here. */
	int (*start)(void *state, char **err_r);
	/* send: deliver an outbound message; answer through api->send_result
	 * (now or later). OMR_ERROR here is a permanent failure. */
	int (*send)(void *state, const struct omr_outbound *msg);
	/* stop: stop taking new input; close sockets. */
	void (*stop)(void *state);
	/* free: release everything; no callbacks after this returns (those of
	 * host calls still under way are dropped by the host: free their
	 * contexts here). */
	void (*free)(void *state);

	/* Bots: a turn to answer with api->bot_answer (now or later).
	 * OMR_ERROR: the bot cannot take it (the conversation goes to a
	 * person). */
	int (*bot_turn)(void *state, const struct omr_bot_turn *turn);

	/* metrics: the plugin's figures for GET /metrics, through
	 * api->metric (optional; runs on the main loop, must not block). */
	void (*metrics)(void *state, omr_metrics *m);

	/* template_render: channels with message templates (those that give
	 * channel_policy a templates list; optional, in a former reserved
	 * slot, so older plugins leave it NULL). Render template `name` with
	 * `variables` (an object of strings, NULL: none): OMR_OK with
	 * *data_r what send() will find in omr_outbound.data (a new
	 * reference, e.g. {"template": {...}} as the provider takes it) and
	 * *text_r the text as the customer reads it (malloc'ed, kept in the
	 * transcript); OMR_ERROR with a malloc'ed *err_r naming what is
	 * missing or wrong ("template 'x' needs variable '1' (body text)").
	 * The core calls it through omr_plugin_template_render(). */
	int (*template_render)(void *state, const char *name, const json_t *variables,
			       json_t **data_r, char **text_r, char **err_r);

	void *reserved[5];
};

#define OMR_PLUGIN_DESCRIPTOR_INIT .abi_version = OMR_PLUGIN_ABI_VERSION, \
	.struct_size = sizeof(struct omr_plugin_descriptor)

/* ------------------------------------------------------------------ */
/* Helpers every plugin needs (inline: usable in check(), before any  */
/* host API exists).                                                   */
/* ------------------------------------------------------------------ */

/* Allocation that cannot fail (out of memory aborts, as in the core). */
static inline void *omr_plugin_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

/* strdup that cannot fail; NULL stays NULL. */
static inline char *omr_plugin_strdup(const char *s)
{
	char *p;
	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		abort();
	return p;
}

/* Set *err_r to a malloc'ed message (for check/init/start) and return
 * OMR_ERROR: `return omr_plugin_error(err_r, "url: %s", why);` */
static inline int omr_plugin_error(char **err_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int omr_plugin_error(char **err_r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*err_r = omr_plugin_strdup(buf);
	return OMR_ERROR;
}

/* Cc addresses of an e-mail reply, at most (docs/agent-protocol.md): what
 * the core takes with a reply, and what the e-mail plugin keeps of a
 * mail's Cc for the agent's reply-all */
#define OMR_MAIL_CC_MAX 20

/* Whether s is a plain mail address as a reply's Cc may name it: at most
 * 254 bytes, the local part 1..64 of ASCII letters, digits, . and
 * !#$%&'*+/=?^_`{|}~- (no dot first, last or twice), the domain labels of
 * ASCII letters, digits and - (not first or last). Nothing that could end
 * a header or an SMTP command (CR, LF, space, <>, comma) passes; NULL does
 * not. The one rule for the core's check of an agent's Cc and the e-mail
 * plugin's choice of what it keeps of a mail's Cc. No locale. */
static inline int omr_mail_addr_ok(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL, *p;
	if (!at || at == s || at - s > 64 || strlen(s) > 254 || at[1] == '\0')
		return 0;
	for (p = s; p < at; p++) {
		char ch = *p;
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9');
		if (ch == '.' ? p == s || p + 1 == at || p[1] == '.'
			      : !alnum && !strchr("!#$%&'*+/=?^_`{|}~-", ch))
			return 0;
	}
	for (p = at + 1; *p; p++) {
		char ch = *p;
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9');
		int edge = p == at + 1 || p[-1] == '.' || p[1] == '\0' || p[1] == '.';
		if (ch == '.' ? edge : !alnum && (ch != '-' || edge))
			return 0;
	}
	return 1;
}

/* Whether a credential (a channel's access token) may go with a request
 * to url: 1 over https://, or over plain http:// to this host only (a
 * local gateway, the tests' fakes): localhost, a dotted quad in
 * 127.0.0.0/8 (four decimal numbers, no leading zeros) or [::1], then a
 * port or nothing, with no user info (http://127.0.0.1@elsewhere/ and
 * http://localhost:x@elsewhere/ go elsewhere); 0 for anything else, NULL
 * included. Strict on purpose: the authority ends at the first '/', '?'
 * or '#' as every URL parser agrees, and any '@' in it, or any other
 * spelling of this host (127.1, 2130706433, [::ffff:127.0.0.1]), is
 * refused. The one rule for the core's fetches with a channel's token
 * (media) and a provider plugin's api_base. ASCII only, no locale. */
static inline int omr_url_token_ok(const char *url)
{
	size_t auth, n, i;

	if (!url)
		return 0;
	if (strncmp(url, "https://", 8) == 0)
		return 1;
	if (strncmp(url, "http://", 7) != 0)
		return 0;
	url += 7;
	auth = strcspn(url, "/?#");
	if (memchr(url, '@', auth))
		return 0;
	n = strncmp(url, "[::1]", 5) == 0 ? 5 : strcspn(url, ":/?#");
	/* what follows the host is a port, or nothing */
	if (n < auth && (url[n] != ':' || strspn(url + n + 1, "0123456789") != auth - n - 1))
		return 0;
	if (n == 5 && strncmp(url, "[::1]", 5) == 0)
		return 1;
	if (n == 9) {
		for (i = 0; i < 9 && (url[i] | 0x20) == "localhost"[i]; i++)
			;
		if (i == 9)
			return 1;
	}
	/* 127.d.d.d: three more parts, each 0-255 in decimal, no leading zero */
	if (strncmp(url, "127.", 4) != 0)
		return 0;
	const char *p = url + 4, *end = url + n;
	for (int part = 0; part < 3; part++) {
		const char *start = p;
		unsigned v = 0;
		while (p < end && *p >= '0' && *p <= '9' && p - start < 3)
			v = v * 10 + (unsigned)(*p++ - '0');
		if (p == start || v > 255 || (*start == '0' && p - start > 1))
			return 0;
		if (part < 2 && (p == end || *p++ != '.'))
			return 0;
	}
	return p == end;
}

#ifdef __cplusplus
}
#endif
#endif /* OMNIROUTE_PLUGIN_H */
