/*
 * x: direct messages on X (Account Activity API webhooks in, API v2 out).
 *
 * In: the core answers X's CRC check (GET ?crc_token= with
 * "sha256=" base64(HMAC-SHA256(consumer secret, token)), for tokens of X's
 * base64 alphabet only: that answer is the signature of a body equal to
 * the token, see omr_webhook.c) and checks the
 * x-twitter-webhooks-signature of every POST; this file maps
 * direct_message_events[] (message_create) to messages, one private
 * conversation per customer, with names from users{}, and
 * direct_message_mark_read_events[] to read receipts of our messages,
 * and tweet_create_events[] that mention the account or answer its tweets
 * to public conversations, one per tweet (x_tweet). Events the account
 * sent itself come back too and are skipped.
 *
 * Out: POST {api_base}/2/dm_conversations/with/{user id}/messages, signed
 * with OAuth 1.0a (consumer key and secret, the account's access token and
 * secret: they do not expire), or with an OAuth 2.0 user token (which
 * expires after two hours unless refreshed elsewhere); the dm_event_id is
 * kept for receipts. A public conversation is answered with POST
 * {api_base}/2/tweets in reply to its tweet; answered privately
 * (out->data.public_note), by DM, with the note as the reply tweet.
 * DMs on X have no reply window. Retried and paced by the core.
 *
 * Set-up and mapping: docs/channels/x.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <omniroute/plugin.h>

#include "../common/provider.h"

#define X_TEXT_MAX 10000       /* characters of a DM */
#define X_TWEET_MAX 280        /* characters of a reply tweet (X counts some as two:
				  the limit the agent is told is the plain one) */
#define X_THREAD_PREFIX "tweet:" /* a public conversation: the tweet answered */

struct x_config {
	char *consumer_key;
	char *consumer_secret;
	char *access_token;
	char *access_token_secret;
	char *user_id;
	char *api_base;
	char *path;
	long long rate_per_second;
	long long send_attempts;
	long long timeout;
};

#define XOFF(f) offsetof(struct x_config, f)
static const struct omr_conf_key x_keys[] = {
	{ "consumer_secret", OMR_CONF_SECRET, XOFF(consumer_secret), 1, NULL, 0, 0,
	  "the app's consumer (API key) secret: CRC answers and webhook signatures" },
	{ "consumer_key", OMR_CONF_STRING, XOFF(consumer_key), 0, NULL, 0, 0,
	  "the app's consumer (API) key: with access_token_secret, sends are signed with OAuth 1.0a" },
	{ "access_token", OMR_CONF_SECRET, XOFF(access_token), 1, NULL, 0, 0,
	  "the account's access token (OAuth 1.0a), or an OAuth 2.0 user token (dm.write)" },
	{ "access_token_secret", OMR_CONF_SECRET, XOFF(access_token_secret), 0, NULL, 0, 0,
	  "the account's access token secret (OAuth 1.0a)" },
	{ "user_id", OMR_CONF_STRING, XOFF(user_id), 1, NULL, 0, 0,
	  "the numeric id of the account customers write to" },
	{ "api_base", OMR_CONF_STRING, XOFF(api_base), 0, "https://api.x.com", 0, 0,
	  "the API base URL (tests point it at a local fake)" },
	{ "path", OMR_CONF_STRING, XOFF(path), 0, "/webhooks/x", 0, 0,
	  "the webhook path on the webhook listener" },
	{ "rate_per_second", OMR_CONF_INT, XOFF(rate_per_second), 0, "1", 1, 100,
	  "DMs per second from the account" },
	{ "send_attempts", OMR_CONF_INT, XOFF(send_attempts), 0, "5", 1, 20,
	  "tries of a send on 429, 5xx and network errors" },
	{ "timeout", OMR_CONF_MS, XOFF(timeout), 0, "10s", 500, 120000, "of one API request" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

struct x_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct x_config *cfg;
};

static const struct provider_reply_map x_reply = { { "data", "dm_event_id", NULL } };
static const struct provider_reply_map x_tweet_reply = { { "data", "id", NULL } };

static long long x_ms(const json_t *v)
{
	const char *s = json_string_value(v);
	char *end;
	long long t;
	if (!s || !*s)
		return 0;
	t = strtoll(s, &end, 10);
	return *end || t < 0 ? 0 : t;
}

static json_t *x_attachments(const json_t *att)
{
	const json_t *media = json_object_get(att, "media");
	const char *type = json_string_value(json_object_get(media, "type"));
	const char *url = json_string_value(json_object_get(media, "media_url_https"));
	const char *id = json_string_value(json_object_get(media, "id_str"));
	if (!json_is_object(media))
		return NULL;
	json_t *a = json_pack("{s:s,s:s}", "type", provider_mime_of(type), "kind",
			      type ? type : "media");
	if (a && url)
		json_object_set_new(a, "url", json_string(url));
	if (a && id)
		json_object_set_new(a, "media_id", json_string(id));
	return a ? json_pack("[o]", a) : NULL;
}

static void x_dm(struct x_state *st, omr_webhook_batch *b, const json_t *users, const json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *id = json_string_value(json_object_get(ev, "id"));
	const json_t *mc = json_object_get(ev, "message_create");
	const char *sender = json_string_value(json_object_get(mc, "sender_id"));
	const json_t *data = json_object_get(mc, "message_data");
	const char *text = json_string_value(json_object_get(data, "text"));
	if (!type || strcmp(type, "message_create") != 0 || !id || !sender || !text)
		return;
	if (strcmp(sender, st->cfg->user_id) == 0)
		return; /* what the account sent comes back too */
	const json_t *user = json_object_get(users, sender);
	json_t *atts = x_attachments(json_object_get(data, "attachment"));
	json_t *attrs = json_object();
	if (json_is_string(json_object_get(user, "screen_name")))
		json_object_set(attrs, "screen_name", json_object_get(user, "screen_name"));
	struct omr_inbound in = {
		.channel_msg_id = id,
		.address = sender,
		.name = json_string_value(json_object_get(user, "name")),
		.text = text,
		.attachments = atts,
		.attrs = attrs,
		.ts_ms = x_ms(json_object_get(ev, "created_timestamp")),
	};
	st->api->webhook_message(b, &in);
	json_decref(atts);
	json_decref(attrs);
}

/* Whether the tweet names the account (@mention) or answers one of its
 * tweets (a reply to the company's post or to its answer). */
static int x_for_us(const struct x_config *cfg, const json_t *tw)
{
	const char *to = json_string_value(json_object_get(tw, "in_reply_to_user_id_str"));
	json_t *m;
	size_t i;
	if (to && strcmp(to, cfg->user_id) == 0)
		return 1;
	json_array_foreach(json_object_get(json_object_get(tw, "entities"), "user_mentions"), i, m) {
		const char *id = json_string_value(json_object_get(m, "id_str"));
		if (id && strcmp(id, cfg->user_id) == 0)
			return 1;
	}
	return 0;
}

/* tweet_create_events[]: a mention of the account, or a reply to its
 * tweets, becomes a public conversation, one per tweet (thread
 * "tweet:<id>"), answered under it. The account's own tweets, retweets
 * and tweets that do not concern it are skipped. */
static void x_tweet(struct x_state *st, omr_webhook_batch *b, const json_t *tw)
{
	const json_t *user = json_object_get(tw, "user");
	const char *id = json_string_value(json_object_get(tw, "id_str"));
	const char *who = json_string_value(json_object_get(user, "id_str"));
	const char *text = json_string_value(
		json_object_get(json_object_get(tw, "extended_tweet"), "full_text"));
	const char *parent = json_string_value(json_object_get(tw, "in_reply_to_status_id_str"));
	char thread[96], msgid[96];
	if (!text)
		text = json_string_value(json_object_get(tw, "text"));
	if (!id || !who || !text || strlen(id) > 32 || strcmp(who, st->cfg->user_id) == 0 ||
	    json_object_get(tw, "retweeted_status") || !x_for_us(st->cfg, tw))
		return;
	for (const char *p = id; *p; p++)
		if (*p < '0' || *p > '9')
			return; /* a tweet id is a number: it goes into the reply's URL */
	snprintf(thread, sizeof(thread), X_THREAD_PREFIX "%s", id);
	snprintf(msgid, sizeof(msgid), "tweet:%s", id);
	json_t *attrs = json_pack("{s:s,s:s,s:s?}", "tweet_id", id, "source",
				  parent ? "reply" : "mention", "in_reply_to", parent);
	if (attrs && json_is_string(json_object_get(user, "screen_name")))
		json_object_set(attrs, "screen_name", json_object_get(user, "screen_name"));
	struct omr_inbound in = {
		.channel_msg_id = msgid,
		.address = who,
		.thread = thread,
		.name = json_string_value(json_object_get(user, "name")),
		.text = text,
		.attrs = attrs,
		.ts_ms = x_ms(json_object_get(tw, "timestamp_ms")),
		.is_public = 1,
	};
	st->api->webhook_message(b, &in);
	json_decref(attrs);
}

static int x_parse(void *arg, const char *body, size_t len, omr_webhook_batch *b, char **err_r)
{
	struct x_state *st = arg;
	json_t *j = json_loadb(body, len, 0, NULL), *ev;
	size_t i;
	const char *for_user = json_string_value(json_object_get(j, "for_user_id"));
	if (!json_is_object(j) || !for_user) {
		json_decref(j);
		return omr_plugin_error(err_r, "expected an Account Activity event with for_user_id");
	}
	if (strcmp(for_user, st->cfg->user_id) != 0) {
		st->api->log(st->host, OMR_LOG_WARN, "events for account %s, not ours (%s): skipped",
			     for_user, st->cfg->user_id);
		json_decref(j);
		return OMR_OK;
	}
	json_array_foreach(json_object_get(j, "direct_message_events"), i, ev)
		x_dm(st, b, json_object_get(j, "users"), ev);
	json_array_foreach(json_object_get(j, "tweet_create_events"), i, ev)
		if (json_is_object(ev))
			x_tweet(st, b, ev);
	json_array_foreach(json_object_get(j, "direct_message_mark_read_events"), i, ev) {
		const char *who = json_string_value(json_object_get(ev, "sender_id"));
		const char *last = json_string_value(json_object_get(ev, "last_read_event_id"));
		if (who && last && strcmp(who, st->cfg->user_id) != 0)
			st->api->webhook_status(b, last, "read", NULL);
	}
	json_decref(j);
	return OMR_OK;
}

/* ---- OAuth 1.0a (RFC 5849), HMAC-SHA1, for a request whose body is JSON
 * (so only the oauth_* parameters are signed) ---- */

static void x_pct(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < len; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* "Authorization: OAuth ..." for POST url, malloc'ed. */
static char *x_oauth1(const struct x_config *cfg, const char *url, long long now,
		      const char *nonce)
{
	char ck[600], tok[600], ts[24], params[2048], eurl[1800], eparams[4096], key[1300];
	char cs[600], tks[600], base[6000];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char sig[64], esig[200];

	x_pct(cfg->consumer_key, ck, sizeof(ck));
	x_pct(cfg->access_token, tok, sizeof(tok));
	snprintf(ts, sizeof(ts), "%lld", now);
	snprintf(params, sizeof(params),
		 "oauth_consumer_key=%s&oauth_nonce=%s&oauth_signature_method=HMAC-SHA1"
		 "&oauth_timestamp=%s&oauth_token=%s&oauth_version=1.0", ck, nonce, ts, tok);
	x_pct(url, eurl, sizeof(eurl));
	x_pct(params, eparams, sizeof(eparams));
	snprintf(base, sizeof(base), "POST&%s&%s", eurl, eparams);
	x_pct(cfg->consumer_secret, cs, sizeof(cs));
	x_pct(cfg->access_token_secret, tks, sizeof(tks));
	snprintf(key, sizeof(key), "%s&%s", cs, tks);
	HMAC(EVP_sha1(), key, (int)strlen(key), (const unsigned char *)base, strlen(base), md, &mdlen);
	EVP_EncodeBlock((unsigned char *)sig, md, (int)mdlen);
	x_pct(sig, esig, sizeof(esig));
	size_t n = strlen(ck) + strlen(tok) + strlen(esig) + 300;
	char *h = omr_plugin_calloc(1, n);
	snprintf(h, n,
		 "Authorization: OAuth oauth_consumer_key=\"%s\", oauth_nonce=\"%s\", "
		 "oauth_signature=\"%s\", oauth_signature_method=\"HMAC-SHA1\", "
		 "oauth_timestamp=\"%s\", oauth_token=\"%s\", oauth_version=\"1.0\"",
		 ck, nonce, esig, ts, tok);
	return h;
}

static int x_oauth1_on(const struct x_config *cfg)
{
	return cfg->consumer_key && *cfg->consumer_key && cfg->access_token_secret &&
	       *cfg->access_token_secret;
}

/* One try's OAuth 1.0a Authorization: a fresh nonce and timestamp each
 * time (retry->authorize). NULL when no random bytes could be had (the
 * try then goes unsigned and X refuses it: the message fails). */
static char *x_authorize(void *arg, const char *method, const char *url)
{
	const struct x_state *st = arg;
	unsigned char rnd[16];
	char nonce[33];
	(void)method; /* always POST */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
	return x_oauth1(st->cfg, url, (long long)time(NULL), nonce);
}

/* How X is tried: paced per account; every try signed anew when OAuth
 * 1.0a is on (X takes a nonce once). */
static struct omr_http_retry x_retry(struct x_state *st)
{
	struct omr_http_retry retry = {
		.attempts = (int)st->cfg->send_attempts,
		.lane = st->cfg->user_id,
		.per_second = (double)st->cfg->rate_per_second,
	};
	if (x_oauth1_on(st->cfg)) {
		retry.authorize = x_authorize;
		retry.authorize_arg = st;
	}
	return retry;
}

/* The bearer header, or NULL when each try is signed (malloc'ed) */
static char *x_bearer(const struct x_state *st)
{
	return x_oauth1_on(st->cfg) ? NULL : provider_bearer(st->cfg->access_token);
}

/* One POST of a JSON body (consumed) to the API, signed as configured;
 * message: whose status the outcome is (NULL: only logged); then (owned,
 * NULL: none) goes out once it succeeded. */
static int x_post(struct x_state *st, const char *url, json_t *body, const char *message,
		  const struct provider_reply_map *map, struct provider_then *then)
{
	struct omr_http_retry retry = x_retry(st);
	char *data = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char *auth = x_bearer(st);
	json_decref(body);
	int rc = OMR_ERROR;
	if (data)
		rc = provider_post_then(st->api, st->host, url, auth, data, (long)st->cfg->timeout,
					&retry, message, map, then);
	else
		provider_then_free(then);
	free(auth);
	free(data);
	return rc;
}

/* POST /2/tweets: a public reply under tweet id */
static json_t *x_tweet_body(const char *id, const char *text)
{
	return json_pack("{s:s,s:{s:s}}", "text", text ? text : "", "reply", "in_reply_to_tweet_id",
			 id);
}

static int x_send(void *state, const struct omr_outbound *out)
{
	struct x_state *st = state;
	char url[600];
	const char *tweet = NULL;
	struct provider_then *then = NULL;
	if (strcmp(out->kind, "message") != 0)
		return OMR_OK;
	for (const char *p = out->address; *p; p++)
		if (*p < '0' || *p > '9')
			return OMR_ERROR; /* not an X user id: nothing to send to */
	if (out->thread && strncmp(out->thread, X_THREAD_PREFIX, strlen(X_THREAD_PREFIX)) == 0)
		tweet = out->thread + strlen(X_THREAD_PREFIX);
	const char *note = json_string_value(json_object_get(out->data, "public_note"));
	snprintf(url, sizeof(url), "%s/2/tweets", st->cfg->api_base);
	if (tweet && !note) /* a public answer under the customer's tweet */
		return x_post(st, url, x_tweet_body(tweet, out->text), out->message,
			      &x_tweet_reply, NULL);
	if (tweet) {
		/* answered by DM: the note under the tweet once the DM is taken */
		struct omr_http_retry retry = x_retry(st);
		char *auth = x_bearer(st);
		then = provider_then_new(url, auth, x_tweet_body(tweet, note), (long)st->cfg->timeout,
					 &retry, &x_tweet_reply);
		free(auth);
	}
	snprintf(url, sizeof(url), "%s/2/dm_conversations/with/%.64s/messages", st->cfg->api_base,
		 out->address);
	return x_post(st, url, json_pack("{s:s}", "text", out->text ? out->text : ""), out->message,
		      &x_reply, then);
}

static int x_check(const void *config, char **err_r)
{
	const struct x_config *cfg = config;
	if (provider_base_check(cfg->api_base, err_r) != OMR_OK)
		return OMR_ERROR;
	if (strlen(cfg->api_base) > 300)
		return omr_plugin_error(err_r, "api_base is too long");
	if (!*cfg->user_id || strlen(cfg->user_id) > 32)
		return omr_plugin_error(err_r, "user_id: the account's numeric id");
	for (const char *p = cfg->user_id; *p; p++)
		if (*p < '0' || *p > '9')
			return omr_plugin_error(err_r, "user_id: the account's numeric id, not its @name");
	if (strlen(cfg->consumer_secret) < 8)
		return omr_plugin_error(err_r, "consumer_secret: at least 8 characters");
	if (!!(cfg->consumer_key && *cfg->consumer_key) !=
	    !!(cfg->access_token_secret && *cfg->access_token_secret))
		return omr_plugin_error(err_r, "OAuth 1.0a needs both consumer_key and access_token_secret");
	if ((cfg->consumer_key && strlen(cfg->consumer_key) > 190) || strlen(cfg->access_token) > 190 ||
	    (cfg->access_token_secret && strlen(cfg->access_token_secret) > 190) ||
	    strlen(cfg->consumer_secret) > 190)
		return omr_plugin_error(err_r, "X keys and tokens are at most 190 characters");
	if (cfg->path[0] != '/')
		return omr_plugin_error(err_r, "path must start with /");
	return OMR_OK;
}

static int x_init(const struct omr_host_api *api, omr_host *host, const void *config,
		  void **state_r, char **err_r)
{
	const struct x_config *cfg = config;
	if (x_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	struct x_state *st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	struct omr_webhook_spec spec = {
		.path = cfg->path,
		.signature_header = "x-twitter-webhooks-signature",
		.signature_encoding = OMR_SIGNATURE_BASE64,
		.secret = cfg->consumer_secret,
		.crc = 1,
		.parse = x_parse,
		.arg = st,
	};
	struct omr_channel_policy policy = { .text_max = X_TEXT_MAX,
					     .public_text_max = X_TWEET_MAX };
	if (!x_oauth1_on(cfg))
		api->log(host, OMR_LOG_WARN,
			 "access_token is used as an OAuth 2.0 user token: these expire after two "
			 "hours; set consumer_key and access_token_secret to sign with OAuth 1.0a");
	return provider_start(api, host, &spec, &policy, st, state_r, err_r);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = "x",
	.version = "1.0",
	.description = "X direct messages, mentions and replies (Account Activity webhooks, API v2)",
	.kind = OMR_PLUGIN_CHANNEL,
	.config_keys = x_keys,
	.config_size = sizeof(struct x_config),
	.check = x_check,
	.init = x_init,
	.free = provider_free,
	.send = x_send,
};
