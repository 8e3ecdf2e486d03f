/*
 * messenger / instagram: Facebook Messenger and Instagram Direct on Meta's
 * Graph API, one source built twice (META_INSTAGRAM selects Instagram):
 * the two speak the same webhook and Send API with small differences.
 *
 * In (the core runs the webhook: verification GET, X-Hub-Signature-256,
 * size, acknowledgement after storing): entry[].messaging[] direct
 * messages (text, attachments, quick replies, postbacks, reactions) become
 * private conversations, one per customer; delivery and read receipts move
 * our messages' statuses; entry[].changes[] comments on the page's posts
 * (Messenger: field "feed", Instagram: "comments") become *public*
 * conversations, one per comment thread, which routing can prioritise.
 *
 * Out: direct messages through POST {api_base}/{page_id}/messages (within
 * the 24-hour window, which the core enforces for private conversations),
 * public answers as a reply to the customer's comment; an answer the agent
 * chose to give privately (out->data.public_note) as a private reply to
 * the comment (Send API, recipient {comment_id}) with that short note
 * posted under the comment. Retried and paced by the core (http_send).
 * Messenger sends agents' files: the text, then each file uploaded with
 * the Send API (meta_send_files); Instagram does not (its Send API takes
 * attachments by public URL only).
 *
 * Set-up and mapping: docs/channels/messenger-instagram.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

#include "../common/form.h"
#include "../common/provider.h"

#ifdef META_INSTAGRAM
#define META_NAME "instagram"
#define META_OBJECT "instagram"
#define META_COMMENTS_FIELD "comments"
#define META_REPLY_EDGE "replies"
#define META_TEXT_MAX 1000
#define META_COMMENT_MAX 2200 /* characters of a comment reply */
#define META_API_BASE "https://graph.instagram.com/v21.0" /* Instagram API with Instagram Login */
#else
#define META_NAME "messenger"
#define META_OBJECT "page"
#define META_COMMENTS_FIELD "feed"
#define META_REPLY_EDGE "comments"
#define META_TEXT_MAX 2000
#define META_COMMENT_MAX 8000 /* characters of a comment reply */
#define META_API_BASE "https://graph.facebook.com/v21.0"
#endif
#define META_THREAD_PREFIX "comment:"
#define META_QUICK_MAX 13       /* quick replies Messenger shows */

struct meta_config {
	char *app_secret;
	char *verify_token;
	char *access_token;
	char *page_id;
	char *api_base;
	char *path;
	int comments;
	long long reply_window;
	long long rate_per_second;
	long long send_attempts;
	long long timeout;
};

#define MOFF(f) offsetof(struct meta_config, f)
static const struct omr_conf_key meta_keys[] = {
	{ "app_secret", OMR_CONF_SECRET, MOFF(app_secret), 1, NULL, 0, 0,
	  "the Meta app secret: key of X-Hub-Signature-256" },
	{ "verify_token", OMR_CONF_SECRET, MOFF(verify_token), 1, NULL, 0, 0,
	  "the token you give Meta for the webhook's verification GET" },
	{ "access_token", OMR_CONF_SECRET, MOFF(access_token), 1, NULL, 0, 0,
	  "the page access token (pages_messaging / instagram_manage_messages)" },
	{ "page_id", OMR_CONF_STRING, MOFF(page_id), 1, NULL, 0, 0,
	  "the page id (Messenger) or Instagram professional account id: the id webhooks are "
	  "for and messages are sent from" },
	{ "api_base", OMR_CONF_STRING, MOFF(api_base), 0, META_API_BASE, 0, 0,
	  "the Graph API base URL (tests point it at a local fake)" },
	{ "path", OMR_CONF_STRING, MOFF(path), 0, "/webhooks/" META_NAME, 0, 0,
	  "the webhook path on the webhook listener" },
	{ "comments", OMR_CONF_BOOL, MOFF(comments), 0, "true", 0, 0,
	  "comments on the page's posts become public conversations" },
	{ "reply_window", OMR_CONF_MS, MOFF(reply_window), 0, "24h", 1000, 604800000,
	  "direct replies only this long after the customer's last message" },
	{ "rate_per_second", OMR_CONF_INT, MOFF(rate_per_second), 0, "10", 1, 1000,
	  "API calls per second for the page" },
	{ "send_attempts", OMR_CONF_INT, MOFF(send_attempts), 0, "5", 1, 20,
	  "tries of a send on 429, 5xx and network errors" },
	{ "timeout", OMR_CONF_MS, MOFF(timeout), 0, "10s", 500, 120000, "of one API request" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

struct meta_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct meta_config *cfg;
};

static const struct provider_reply_map meta_dm_reply = { { "message_id", NULL } };
static const struct provider_reply_map meta_comment_reply = { { "id", NULL } };

/* ---- in: direct messages ---- */

/* Files the core keeps (docs/media.md); a location or a shared post is a
 * link, not a file. */
static int meta_is_media(const char *kind)
{
	static const char *const media[] = { "image", "video", "audio", "file", NULL };
	for (size_t i = 0; kind && media[i]; i++)
		if (strcmp(kind, media[i]) == 0)
			return 1;
	return 0;
}

static json_t *meta_attachments(const json_t *list)
{
	json_t *out = json_array(), *a;
	size_t i;
	json_array_foreach(list, i, a) {
		const char *kind = json_string_value(json_object_get(a, "type"));
		const char *url = json_string_value(json_object_get(json_object_get(a, "payload"), "url"));
		json_t *o = json_pack("{s:s,s:s}", "type", provider_mime_of(kind), "kind",
				      kind ? kind : "file");
		if (o && url && meta_is_media(kind)) /* the core fetches it into the store */
			json_object_set_new(o, "fetch", json_pack("{s:s}", "url", url));
		else if (o && url)
			json_object_set_new(o, "url", json_string(url));
		if (o)
			json_array_append_new(out, o);
	}
	return out;
}

static void meta_dm(struct meta_state *st, omr_webhook_batch *b, const json_t *ev)
{
	const char *sender = json_string_value(json_object_get(json_object_get(ev, "sender"), "id"));
	json_int_t ts = json_integer_value(json_object_get(ev, "timestamp"));
	const json_t *msg = json_object_get(ev, "message");
	const json_t *pb = json_object_get(ev, "postback");
	const json_t *re = json_object_get(ev, "reaction");
	const char *id = NULL, *text = NULL;
	char synth[200];
	json_t *meta = json_object(), *atts = NULL;

	if (!sender || strcmp(sender, st->cfg->page_id) == 0)
		goto done; /* our own messages come back as echoes */
	if (json_is_object(msg)) {
		if (json_is_true(json_object_get(msg, "is_echo")))
			goto done;
		id = json_string_value(json_object_get(msg, "mid"));
		text = json_string_value(json_object_get(msg, "text"));
		if (json_array_size(json_object_get(msg, "attachments")))
			atts = meta_attachments(json_object_get(msg, "attachments"));
		if (json_is_object(json_object_get(msg, "quick_reply")))
			json_object_set(meta, "quick_reply", json_object_get(msg, "quick_reply"));
		if (json_is_object(json_object_get(msg, "reply_to")))
			json_object_set(meta, "reply_to", json_object_get(msg, "reply_to"));
	} else if (json_is_object(pb)) {
		/* a button the customer pressed */
		id = json_string_value(json_object_get(pb, "mid"));
		if (!id) {
			snprintf(synth, sizeof(synth), "postback:%.64s:%lld", sender, (long long)ts);
			id = synth;
		}
		text = json_string_value(json_object_get(pb, "title"));
		json_object_set(meta, "postback", (json_t *)pb);
	} else if (json_is_object(re)) {
		const char *action = json_string_value(json_object_get(re, "action"));
		const char *emoji = json_string_value(json_object_get(re, "emoji"));
		if (!action || strcmp(action, "react") != 0 || !emoji)
			goto done; /* a reaction taken back */
		snprintf(synth, sizeof(synth), "reaction:%.64s:%.80s:%lld", sender,
			 json_string_value(json_object_get(re, "mid")) ?
				 json_string_value(json_object_get(re, "mid")) : "",
			 (long long)ts);
		id = synth;
		text = emoji;
		json_object_set(meta, "reaction", (json_t *)re);
	} else {
		goto done;
	}
	if (!id)
		goto done;
	struct omr_inbound in = {
		.channel_msg_id = id,
		.address = sender,
		.text = text ? text : "",
		.attachments = atts,
		.meta = meta,
		.ts_ms = ts,
	};
	st->api->webhook_message(b, &in);
done:
	json_decref(meta);
	json_decref(atts);
}

static void meta_receipts(struct meta_state *st, omr_webhook_batch *b, const json_t *ev)
{
	const json_t *del = json_object_get(ev, "delivery");
	const json_t *read = json_object_get(ev, "read");
	json_t *mid;
	size_t i;
	json_array_foreach(json_object_get(del, "mids"), i, mid)
		if (json_is_string(mid))
			st->api->webhook_status(b, json_string_value(mid), "delivered", NULL);
	/* Instagram names the message read; Messenger gives a time (the
	 * watermark): everything we sent the customer before it is read */
	if (json_is_string(json_object_get(read, "mid")))
		st->api->webhook_status(b, json_string_value(json_object_get(read, "mid")), "read",
					NULL);
	else if (json_is_integer(json_object_get(read, "watermark")) &&
		 json_is_string(json_object_get(json_object_get(ev, "sender"), "id")))
		st->api->webhook_read_until(
			b, json_string_value(json_object_get(json_object_get(ev, "sender"), "id")), NULL,
			(long long)json_integer_value(json_object_get(read, "watermark")));
}

/* ---- in: comments (public) ---- */

/* A Graph object id: digits, '_' between them (post_comment), 1-128 bytes. */
static int meta_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (!n || n > 128)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static void meta_comment(struct meta_state *st, omr_webhook_batch *b, const json_t *v)
{
	const json_t *from = json_object_get(v, "from");
	const char *who = json_string_value(json_object_get(from, "id"));
#ifdef META_INSTAGRAM
	const char *cid = json_string_value(json_object_get(v, "id"));
	const char *text = json_string_value(json_object_get(v, "text"));
	const char *name = json_string_value(json_object_get(from, "username"));
	const char *parent = json_string_value(json_object_get(v, "parent_id"));
	const char *post = json_string_value(json_object_get(json_object_get(v, "media"), "id"));
#else
	const char *item = json_string_value(json_object_get(v, "item"));
	const char *verb = json_string_value(json_object_get(v, "verb"));
	const char *cid = json_string_value(json_object_get(v, "comment_id"));
	const char *text = json_string_value(json_object_get(v, "message"));
	const char *name = json_string_value(json_object_get(from, "name"));
	const char *parent = json_string_value(json_object_get(v, "parent_id"));
	const char *post = json_string_value(json_object_get(v, "post_id"));
	if (!item || strcmp(item, "comment") != 0 || !verb || strcmp(verb, "add") != 0)
		return; /* likes, edits, removals, posts */
	if (parent && post && strcmp(parent, post) == 0)
		parent = NULL; /* a top-level comment's parent is the post */
#endif
	char thread[160], msgid[160];
	if (!cid || !who || !text || strcmp(who, st->cfg->page_id) == 0)
		return; /* our own answers come back too */
	if (!meta_id_ok(cid) || (parent && !meta_id_ok(parent)))
		return; /* ids go into the answer's URL: digits and '_' only */
	/* one conversation per comment thread: replies join their top comment */
	snprintf(thread, sizeof(thread), META_THREAD_PREFIX "%.128s", parent ? parent : cid);
	snprintf(msgid, sizeof(msgid), "comment:%.128s", cid);
	json_t *attrs = json_pack("{s:s,s:s?,s:s}", "comment_id", cid, "post_id", post, "source",
				  "comment");
	struct omr_inbound in = {
		.channel_msg_id = msgid,
		.address = who,
		.thread = thread,
		.name = name,
		.text = text,
		.attrs = attrs,
		.is_public = 1,
	};
	st->api->webhook_message(b, &in);
	json_decref(attrs);
}

static int meta_parse(void *arg, const char *body, size_t len, omr_webhook_batch *b, char **err_r)
{
	struct meta_state *st = arg;
	json_t *j = json_loadb(body, len, 0, NULL), *entry, *ev, *ch;
	size_t i, k;
	const char *object = json_string_value(json_object_get(j, "object"));
	if (!object || strcmp(object, META_OBJECT) != 0 || !json_is_array(json_object_get(j, "entry"))) {
		json_decref(j);
		return omr_plugin_error(err_r, "expected object \"%s\" with entry[]", META_OBJECT);
	}
	json_array_foreach(json_object_get(j, "entry"), i, entry) {
		const char *eid = json_string_value(json_object_get(entry, "id"));
		if (eid && strcmp(eid, st->cfg->page_id) != 0) {
			/* an app subscribed for several pages: not this channel's */
			st->api->log(st->host, OMR_LOG_WARN, "events for %s, not ours (%s): skipped",
				     eid, st->cfg->page_id);
			continue;
		}
		json_array_foreach(json_object_get(entry, "messaging"), k, ev) {
			meta_dm(st, b, ev);
			meta_receipts(st, b, ev);
		}
		json_array_foreach(json_object_get(entry, "changes"), k, ch) {
			const char *field = json_string_value(json_object_get(ch, "field"));
			if (st->cfg->comments && field && strcmp(field, META_COMMENTS_FIELD) == 0 &&
			    json_is_object(json_object_get(ch, "value")))
				meta_comment(st, b, json_object_get(ch, "value"));
		}
	}
	json_decref(j);
	return OMR_OK;
}

/* ---- out ---- */

/* A bot's buttons as Messenger quick replies (titles of at most 20). */
static json_t *meta_quick_replies(const json_t *buttons)
{
	json_t *out = json_array(), *b;
	size_t i;
	json_array_foreach(buttons, i, b) {
		const char *t = json_string_value(b);
		if (!t || i >= META_QUICK_MAX)
			continue;
		char title[84];
		size_t n = strlen(t), cut = 0, chars = 0;
		while (cut < n && chars < 20 && cut < sizeof(title) - 4) {
			cut++;
			while (cut < n && ((unsigned char)t[cut] & 0xc0) == 0x80)
				cut++;
			chars++;
		}
		memcpy(title, t, cut);
		title[cut] = '\0';
		json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "content_type", "text", "title",
						     title, "payload", t));
	}
	return out;
}

static struct omr_http_retry meta_retry(const struct meta_state *st)
{
	struct omr_http_retry retry = {
		.attempts = (int)st->cfg->send_attempts,
		.lane = st->cfg->page_id,
		.per_second = (double)st->cfg->rate_per_second,
	};
	return retry;
}

/* POST body (consumed) to url; message: whose status the outcome is
 * (NULL: only logged); then (owned, NULL: none) goes out once it
 * succeeded */
static int meta_post(struct meta_state *st, const char *url, json_t *body, const char *message,
		     const struct provider_reply_map *map, struct provider_then *then)
{
	if (!body) {
		provider_then_free(then);
		return OMR_ERROR;
	}
	struct omr_http_retry retry = meta_retry(st);
	return provider_post_bearer(st->api, st->host, url, st->cfg->access_token, body,
				    (long)st->cfg->timeout, &retry, message, map, then);
}

/* the public note under a comment answered privately, sent once the
 * private reply is taken */
static struct provider_then *meta_note(struct meta_state *st, const char *comment,
				       const char *note)
{
	char url[600], *auth = provider_bearer(st->cfg->access_token);
	struct omr_http_retry retry = meta_retry(st);
	snprintf(url, sizeof(url), "%s/%s/" META_REPLY_EDGE, st->cfg->api_base, comment);
	struct provider_then *t = provider_then_new(url, auth, json_pack("{s:s}", "message", note),
						    (long)st->cfg->timeout, &retry,
						    &meta_comment_reply);
	free(auth);
	return t;
}

/* ---- out: an agent's files (docs/media.md) ---- */

/* A direct message with files on its way: the text as a message of its
 * own (Messenger does not caption attachments), then each file uploaded
 * with the Send API (multipart: recipient, message {attachment {type,
 * payload {is_reusable: false}}}, filedata), one after the other. The
 * files are read into their bodies on a worker. The message is sent when
 * the last file is; failed at the first call the Graph API refuses
 * (5xx and 429 are retried by http_send first). */
struct meta_file {
	char *name, *type, *path;
	char *message;     /* the Send API's message field (JSON text) */
	char *body;        /* the multipart upload, made on the worker */
	size_t len;
};

struct meta_files {
	struct meta_state *st;
	char *message;     /* our message id */
	char *recipient;   /* {"id": psid} (JSON text) */
	char *text;        /* NULL: no text message first */
	struct meta_file *f;
	size_t n, next;    /* files; the next one to send */
	int read_ok;
};

static void meta_files_free(struct meta_files *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->f[i].name);
		free(w->f[i].type);
		free(w->f[i].path);
		free(w->f[i].message);
		free(w->f[i].body);
	}
	free(w->f);
	free(w->message);
	free(w->recipient);
	free(w->text);
	free(w);
}

/* The Send API's attachment type for a file's media type. */
static const char *meta_file_kind(const char *type)
{
	if (strncmp(type, "image/", 6) == 0)
		return "image";
	if (strncmp(type, "video/", 6) == 0)
		return "video";
	if (strncmp(type, "audio/", 6) == 0)
		return "audio";
	return "file";
}

/* On a worker: each file into its multipart body. */
static void meta_files_read(void *arg)
{
	struct meta_files *w = arg;
	w->read_ok = 1;
	for (size_t i = 0; i < w->n && w->read_ok; i++) {
		struct meta_file *f = &w->f[i];
		const char *const fields[] = { "recipient", w->recipient, "messaging_type", "RESPONSE",
					       "message", f->message, NULL };
		f->body = provider_form_file(fields, "filedata", f->name, f->type, f->path, &f->len);
		w->read_ok = f->body != NULL;
	}
}

static void meta_files_step(void *arg, const struct omr_http_response *res);

/* The next call of the chain: the text, a file, or the outcome. */
static void meta_files_next(struct meta_files *w, const char *last_id)
{
	struct meta_state *st = w->st;
	struct omr_http_retry retry = meta_retry(st);
	char url[600], *auth = provider_bearer(st->cfg->access_token);
	const char *headers[] = { auth, "Content-Type: application/json", NULL };
	const char *data;
	size_t len;
	char *text_body = NULL;

	snprintf(url, sizeof(url), "%s/%s/messages", st->cfg->api_base, st->cfg->page_id);
	if (w->text) {
		json_t *j = json_pack("{s:o,s:s,s:{s:s}}", "recipient",
				      json_loads(w->recipient, 0, NULL), "messaging_type", "RESPONSE",
				      "message", "text", w->text);
		text_body = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		free(w->text);
		w->text = NULL;
		data = text_body;
		len = text_body ? strlen(text_body) : 0;
	} else if (w->next < w->n) {
		headers[1] = PROVIDER_FORM_CONTENT_TYPE;
		data = w->f[w->next].body;
		len = w->f[w->next].len;
		w->next++;
	} else {
		st->api->send_result(st->host, w->message, "sent", last_id, NULL);
		free(auth);
		meta_files_free(w);
		return;
	}
	if (!data || st->api->http_send(st->host, "POST", url, headers, data, len,
					(long)st->cfg->timeout, &retry, meta_files_step,
					w) != OMR_OK) {
		st->api->send_result(st->host, w->message, "failed", NULL,
				     "the message with files could not be sent");
		meta_files_free(w);
	}
	free(text_body);
	free(auth);
}

static void meta_files_step(void *arg, const struct omr_http_response *res)
{
	struct meta_files *w = arg;
	char why[300];
	if (res->cancelled) {
		meta_files_free(w); /* stopping: the outbox sends it again after the restart */
		return;
	}
	if (provider_failed(res, &meta_dm_reply, why, sizeof(why))) {
		w->st->api->send_result(w->st->host, w->message, "failed", NULL, why);
		meta_files_free(w);
		return;
	}
	json_t *j = json_loadb(res->body, res->body_len, 0, NULL);
	meta_files_next(w, json_string_value(json_object_get(j, "message_id")));
	json_decref(j);
}

static void meta_files_ready(void *arg, int status)
{
	struct meta_files *w = arg;
	if (status != OMR_OK) {
		meta_files_free(w); /* stopping: sent again after the restart */
		return;
	}
	if (!w->read_ok) {
		w->st->api->send_result(w->st->host, w->message, "failed", NULL,
					"a file could not be read on this node");
		meta_files_free(w);
		return;
	}
	meta_files_next(w, NULL);
}

/* A direct message with out->data.attachments [{name, type, path}]. */
static int meta_send_files(struct meta_state *st, const struct omr_outbound *out,
			   const json_t *files)
{
	size_t i;
	const json_t *file;
	struct meta_files *w = omr_plugin_calloc(1, sizeof(*w));
	w->st = st;
	w->message = omr_plugin_strdup(out->message);
	json_t *rcpt = json_pack("{s:s}", "id", out->address);
	w->recipient = rcpt ? json_dumps(rcpt, JSON_COMPACT) : NULL;
	json_decref(rcpt);
	w->text = out->text && *out->text ? omr_plugin_strdup(out->text) : NULL;
	w->f = omr_plugin_calloc(json_array_size(files), sizeof(*w->f));
	json_array_foreach(files, i, file) {
		const char *path = json_string_value(json_object_get(file, "path"));
		const char *type = json_string_value(json_object_get(file, "type"));
		const char *name = json_string_value(json_object_get(file, "name"));
		if (!path || !type || !name || strpbrk(type, "\"\r\n"))
			break;
		struct meta_file *f = &w->f[w->n++];
		f->name = omr_plugin_strdup(name);
		f->type = omr_plugin_strdup(type);
		f->path = omr_plugin_strdup(path);
		json_t *m = json_pack("{s:{s:s,s:{s:b}}}", "attachment", "type", meta_file_kind(type),
				      "payload", "is_reusable", 0);
		f->message = json_dumps(m, JSON_COMPACT);
		json_decref(m);
	}
	if (w->n != json_array_size(files) || !w->recipient ||
	    st->api->work(st->host, meta_files_read, meta_files_ready, w) != OMR_OK) {
		meta_files_free(w);
		return OMR_ERROR;
	}
	return OMR_OK;
}

static int meta_send(void *state, const struct omr_outbound *out)
{
	struct meta_state *st = state;
	char url[600];
	json_t *body;
	const struct provider_reply_map *map = &meta_dm_reply;
	struct provider_then *then = NULL;

	const char *note = json_string_value(json_object_get(out->data, "public_note"));
	const json_t *files = json_object_get(out->data, "attachments");
	if (strcmp(out->kind, "message") != 0)
		return OMR_OK; /* queue positions are not sent here */
	if (json_array_size(files) && out->thread &&
	    strncmp(out->thread, META_THREAD_PREFIX, strlen(META_THREAD_PREFIX)) == 0) {
		/* a comment or a private reply to one takes no upload */
		st->api->send_result(st->host, out->message, "failed", NULL,
				     "files are not sent in comment threads");
		return OMR_OK;
	}
	if (out->thread && strncmp(out->thread, META_THREAD_PREFIX, strlen(META_THREAD_PREFIX)) == 0 &&
	    note) {
		/* answered privately: a private reply to the comment (Send API,
		 * recipient.comment_id), and, once it is taken, the short note
		 * under the comment */
		const char *comment = out->thread + strlen(META_THREAD_PREFIX);
		then = meta_note(st, comment, note);
		snprintf(url, sizeof(url), "%s/%s/messages", st->cfg->api_base, st->cfg->page_id);
		body = json_pack("{s:{s:s},s:{s:s}}", "recipient", "comment_id", comment, "message",
				 "text", out->text ? out->text : "");
	} else if (out->thread &&
		   strncmp(out->thread, META_THREAD_PREFIX, strlen(META_THREAD_PREFIX)) == 0) {
		/* a public thread: answer under the customer's comment */
		snprintf(url, sizeof(url), "%s/%s/" META_REPLY_EDGE, st->cfg->api_base,
			 out->thread + strlen(META_THREAD_PREFIX));
		body = json_pack("{s:s}", "message", out->text ? out->text : "");
		map = &meta_comment_reply;
	} else if (json_array_size(files)) {
		return meta_send_files(st, out, files);
	} else {
		snprintf(url, sizeof(url), "%s/%s/messages", st->cfg->api_base, st->cfg->page_id);
		body = json_pack("{s:{s:s},s:s,s:{s:s}}", "recipient", "id", out->address,
				 "messaging_type", "RESPONSE", "message", "text",
				 out->text ? out->text : "");
		const json_t *buttons = json_object_get(out->data, "buttons");
		if (body && json_array_size(buttons))
			json_object_set_new(json_object_get(body, "message"), "quick_replies",
					    meta_quick_replies(buttons));
	}
	return meta_post(st, url, body, out->message, map, then);
}

/* ---- life ---- */

static int meta_check(const void *config, char **err_r)
{
	const struct meta_config *cfg = config;
	if (provider_base_check(cfg->api_base, err_r) != OMR_OK)
		return OMR_ERROR;
	if (strlen(cfg->api_base) > 300)
		return omr_plugin_error(err_r, "api_base is too long");
	if (!*cfg->page_id || strlen(cfg->page_id) > 64)
		return omr_plugin_error(err_r, "page_id: the id Meta shows (digits)");
	for (const char *p = cfg->page_id; *p; p++)
		if (*p < '0' || *p > '9')
			return omr_plugin_error(err_r, "page_id: the id Meta shows (digits)");
	if (strlen(cfg->app_secret) < 8)
		return omr_plugin_error(err_r, "app_secret: at least 8 characters");
	if (cfg->path[0] != '/')
		return omr_plugin_error(err_r, "path must start with /");
	return OMR_OK;
}

static int meta_init(const struct omr_host_api *api, omr_host *host, const void *config,
		     void **state_r, char **err_r)
{
	const struct meta_config *cfg = config;
	if (meta_check(config, err_r) != OMR_OK)
		return OMR_ERROR;
	struct meta_state *st = omr_plugin_calloc(1, sizeof(*st));
	st->api = api;
	st->host = host;
	st->cfg = cfg;
	struct omr_webhook_spec spec = {
		.path = cfg->path,
		.signature_header = "X-Hub-Signature-256",
		.signature_encoding = OMR_SIGNATURE_HEX,
		.secret = cfg->app_secret,
		.verify_token = cfg->verify_token,
		.parse = meta_parse,
		.arg = st,
	};
	struct omr_channel_policy policy = {
		.reply_window_ms = cfg->reply_window,
		.text_max = META_TEXT_MAX,
		.public_text_max = META_COMMENT_MAX,
	};
	return provider_start(api, host, &spec, &policy, st, state_r, err_r);
}

const struct omr_plugin_descriptor omr_plugin = {
	OMR_PLUGIN_DESCRIPTOR_INIT,
	.name = META_NAME,
	.version = "1.0",
#ifdef META_INSTAGRAM
	.description = "Instagram Direct and comments (Graph API)",
#else
	.description = "Facebook Messenger and page comments (Graph API)",
#endif
	.kind = OMR_PLUGIN_CHANNEL,
#ifndef META_INSTAGRAM
	.flags = OMR_PLUGIN_FILES, /* uploaded with the Send API (multipart filedata) */
#endif
	.config_keys = meta_keys,
	.config_size = sizeof(struct meta_config),
	.check = meta_check,
	.init = meta_init,
	.free = provider_free,
	.send = meta_send,
};
