/*
 * webchat_more: the web chat's signed identity (a logged-in user of the
 * site), whether an agent is there, and the offline form
 * (docs/channels/webchat.md). Main thread, as all of the plugin.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "webchat_int.h"
#include "signals.h"

#define WC_AVAIL_CACHE_MS 5000   /* one question to Redis per this long, for all visitors */
#define WC_AVAIL_WAIT_MAX 10000  /* connections waiting for one answer */
#define WC_OFFLINE_SUBJECT "Offline message from the web chat"

/* ---- signed identity ---- */

void wc_identify(struct wc_state *st, struct wc_conn *c, const char *token,
		 char id[WC_ID_MAX + 1])
{
	const char *key = st->cfg->identity_secret;
	struct wc_identity idn;
	enum wc_identity_result r;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	char data[WC_IDENTITY_SUB_MAX + 32];

	if (!key) {
		wc_send_error(st, c->id, "bad_identity", "this chat takes no signed identities",
			      NULL);
		return;
	}
	r = wc_identity_verify(token, strlen(token), key, strlen(key), (long long)time(NULL), &idn);
	if (r != WC_IDENTITY_OK) {
		/* the reason only: a token is a credential, its claims personal */
		st->api->log(st->host, OMR_LOG_INFO, "visitor connection %llu: %s",
			     (unsigned long long)c->id, wc_identity_why(r));
		wc_send_error(st, c->id, "bad_identity", wc_identity_why(r), NULL);
		return;
	}
	/* the identified visitor: the same for every chat of this customer of
	 * the site, from any browser, so that its address joins one record */
	snprintf(data, sizeof(data), "webchat-visitor\n%s", idn.sub);
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, strlen(data), md,
	     &mdlen);
	wc_visitor_id(md, id);
	c->verified = 1;
	c->site_customer = omr_plugin_strdup(idn.sub);
	free(c->email);
	free(c->name);
	c->email = omr_plugin_strdup(idn.email);
	c->name = idn.name[0] ? omr_plugin_strdup(idn.name) : NULL;
	OPENSSL_cleanse(&idn, sizeof(idn));
	OPENSSL_cleanse(data, sizeof(data));
}

json_t *wc_conn_attrs(const struct wc_conn *c)
{
	return c->site_customer ? json_pack("{s:s}", "site_customer", c->site_customer) : NULL;
}

/* ---- is an agent there? ---- */

static long long wc_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wc_can_ask(const struct wc_state *st)
{
	const struct omr_host_api *a = st->api;
	return a->struct_size >= offsetof(struct omr_host_api, agents_available) +
					 sizeof(a->agents_available) &&
	       a->agents_available;
}

static void wc_avail_send(struct wc_state *st, uint64_t conn)
{
	wc_send_json(st, conn, json_pack("{s:s,s:b}", "type", "availability", "agents", st->avail));
}

static void wc_avail_answer(void *arg, int status, int available)
{
	struct wc_state *st = arg;
	st->avail_asking = 0;
	if (status == OMR_OK) {
		st->avail = available;
		st->avail_at = wc_mono_ms();
	}
	/* without an answer nobody is told "offline": the chat stays open */
	for (size_t i = 0; i < st->navail_wait; i++)
		if (status == OMR_OK && wc_conn_get(st, st->avail_wait[i]))
			wc_avail_send(st, st->avail_wait[i]);
	st->navail_wait = 0;
}

void wc_availability(struct wc_state *st, struct wc_conn *c)
{
	if (!c->visitor) {
		wc_send_error(st, c->id, "hello_first", "send hello first", NULL);
		return;
	}
	if (!wc_can_ask(st))
		return; /* an older daemon: nothing to tell */
	if (st->avail_at && wc_mono_ms() - st->avail_at < WC_AVAIL_CACHE_MS) {
		wc_avail_send(st, c->id);
		return;
	}
	if (st->navail_wait >= WC_AVAIL_WAIT_MAX)
		return;
	if (st->navail_wait == st->avail_cap) {
		st->avail_cap = st->avail_cap ? st->avail_cap * 2 : 16;
		st->avail_wait = realloc(st->avail_wait, st->avail_cap * sizeof(*st->avail_wait));
		if (!st->avail_wait)
			abort();
	}
	st->avail_wait[st->navail_wait++] = c->id;
	if (!st->avail_asking) {
		st->avail_asking = 1;
		if (st->api->agents_available(st->host, wc_avail_answer, st) != OMR_OK)
			wc_avail_answer(st, OMR_AGAIN, 0);
	}
}

/* ---- the offline form: an e-mail-like conversation in the queue ---- */

static int wc_offline_fields(struct wc_state *st, struct wc_conn *c, json_t *msg,
			     const char **cmid, const char **text, const char **email,
			     const char **name)
{
	*cmid = json_string_value(json_object_get(msg, "client_msg_id"));
	*text = json_string_value(json_object_get(msg, "text"));
	*email = json_string_value(json_object_get(msg, "email"));
	*name = json_string_value(json_object_get(msg, "name"));
	if (!c->visitor) {
		wc_send_error(st, c->id, "hello_first", "send hello before messages", *cmid);
		return 0;
	}
	if (!*cmid || !wc_word_ok(*cmid, WC_ID_MAX)) {
		wc_send_error(st, c->id, "bad_client_msg_id",
			      "client_msg_id: 1-64 of letters, digits, - _ .", NULL);
		return 0;
	}
	if (c->verified && (!*email || !**email))
		*email = c->email; /* the signed-in user's */
	if (!wc_identity_email_ok(*email) || (*name && strlen(*name) > 200) ||
	    (json_object_get(msg, "name") && !*name)) {
		wc_send_error(st, c->id, "bad_profile",
			      "an e-mail address is needed to answer you (and a name of at most "
			      "200 bytes)", *cmid);
		return 0;
	}
	if (!*text || !**text) {
		wc_send_error(st, c->id, "bad_text", "text must be a non-empty string", *cmid);
		return 0;
	}
	if (!wc_rate_ok(st, c->visitor)) {
		wc_send_error(st, c->id, "rate_limited", "too many messages, slow down", *cmid);
		return 0;
	}
	return 1;
}

void wc_offline_message(struct wc_state *st, struct wc_conn *c, json_t *msg)
{
	const char *cmid, *text, *email, *name;
	char chmsgid[2 * WC_ID_MAX + 2], thread[3 * WC_ID_MAX + 16];

	if (!wc_offline_fields(st, c, msg, &cmid, &text, &email, &name))
		return;
	/* a thread of its own: not the visitor's chat, one conversation per form */
	snprintf(chmsgid, sizeof(chmsgid), "%s:%s", c->visitor->id, cmid);
	snprintf(thread, sizeof(thread), "offline:%s:%s", c->visitor->id, cmid);
	int verified = c->verified && c->email && strcmp(email, c->email) == 0;
	json_t *meta = json_pack("{s:s,s:s,s:s,s:b}", "client_msg_id", cmid, "subject",
				 WC_OFFLINE_SUBJECT, "reply_to", email, "offline_form", 1);
	json_t *attrs = wc_conn_attrs(c);
	if (!attrs)
		attrs = json_object();
	json_object_set_new(attrs, "subject", json_string(WC_OFFLINE_SUBJECT));
	json_object_set_new(attrs, "reply_to", json_string(email));
	json_object_set_new(attrs, "offline_form", json_true());
	struct omr_inbound ev = {
		.channel_msg_id = chmsgid,
		.address = c->visitor->id,
		.thread = thread,
		.name = name && *name ? name : c->name,
		.email = email,
		.email_verified = verified,
		.text = text,
		.attrs = attrs,
		.meta = meta,
	};
	wc_submit(st, c, &ev, cmid);
	json_decref(meta);
	json_decref(attrs);
}

/* ---- leave: the visitor ended the chat ---- */

static void wc_left(void *arg, int status)
{
	struct wc_pending *p = arg;
	if (wc_conn_get(p->st, p->conn)) {
		if (status == OMR_OK)
			wc_send_json(p->st, p->conn, json_pack("{s:s}", "type", "left"));
		else
			wc_send_error(p->st, p->conn, "retry", "temporarily unavailable, send again",
				      NULL);
	}
	free(p);
}

/* A conversation that no agent has taken yet is closed (abandoned, for
 * the reports); one an agent has stays theirs. Either way the page gets
 * `left` and the next message opens a new conversation if this one closed. */
void wc_leave(struct wc_state *st, struct wc_conn *c)
{
	struct wc_pending *p;
	if (!c->visitor) {
		wc_send_error(st, c->id, "hello_first", "send hello before leave", NULL);
		return;
	}
	if (!wc_rate_ok(st, c->visitor)) {
		wc_send_error(st, c->id, "rate_limited", "too many messages, slow down", NULL);
		return;
	}
	if (!st->api->customer_left) { /* a daemon without it: nothing to end */
		wc_send_json(st, c->id, json_pack("{s:s}", "type", "left"));
		return;
	}
	p = omr_plugin_calloc(1, sizeof(*p));
	p->st = st;
	p->conn = c->id;
	if (st->api->customer_left(st->host, c->visitor->id, NULL, wc_left, p) != OMR_OK) {
		wc_send_error(st, c->id, "rejected", "cannot leave", NULL);
		free(p);
	}
}

void wc_signal(struct wc_state *st, struct wc_conn *c, const char *type, json_t *msg)
{
	const char *bad = c->visitor ? wc_signal_in(st->api, st->host, c->visitor->id,
						    &c->visitor->typing_at, type, msg) : NULL;
	if (!c->visitor)
		wc_send_error(st, c->id, "hello_first", "send hello first", NULL);
	else if (bad)
		wc_send_error(st, c->id, "bad_request", bad, NULL);
}
