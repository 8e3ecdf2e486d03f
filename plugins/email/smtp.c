/*
 * smtp: an agent's reply as mail. The customer's last mail (read from the
 * conversation's history) gives In-Reply-To and References; the mail is
 * text/plain (optionally with an HTML alternative) with our Message-ID
 * <omr.THREAD.MESSAGE@domain> and the thread's token in the subject, sent
 * through libcurl on the daemon's multi handle to smtp_url, tried again
 * with a doubling delay on transient failures (connection, 4xx); the
 * outcome is the message's status (send_result).
 *
 * Ownership: the plugin owns the replies under way (st->sends); a reply
 * frees itself when its outcome is reported, and em_smtp_free_all ends
 * those left at free (the outbox sends them again after a restart).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <gmime/gmime.h>
#include <omniroute/plugin.h>

#include "email.h"

#define EM_REFS_MAX 20                         /* References kept in a reply */

struct em_send {
	struct em_state *st;
	char *message;        /* our message id */
	char *message_id;     /* "<omr.THREAD.MESSAGE@domain>" */
	char *rcpt;
	char *data;           /* the whole mail, CRLF */
	size_t len, off;
	int attempt;
	int lookups;          /* reads of the thread that failed */
	omr_timer *lookup_timer;
	CURL *easy;
	struct curl_slist *rcpts;
	char errbuf[CURL_ERROR_SIZE];
	omr_timer *timer;
	struct omr_dlink link; /* in st->sends */
	/* what the composition needs, until the history arrives */
	char *thread, *text, *author_name, *conversation;
	json_t *files;        /* an agent's files: [{name, type, path}] or NULL */
	json_t *cc;           /* the agent's Cc: ["addr", ...] or NULL */
	char *unsub;          /* List-Unsubscribe's value, or NULL (the core's links) */
	int one_click;        /* ... with an https link: List-Unsubscribe-Post */
	json_t *history;      /* the thread, while the mail is composed on a worker */
};

static void em_send_unlink(struct em_send *s)
{
	omr_dlist_remove(&s->st->sends, &s->link); /* nothing when not on it */
}

static void em_send_free(struct em_send *s)
{
	em_send_unlink(s);
	if (s->easy)
		curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->rcpts);
	if (s->timer)
		s->st->api->timer_free(s->timer);
	if (s->lookup_timer)
		s->st->api->timer_free(s->lookup_timer);
	free(s->message);
	free(s->message_id);
	free(s->rcpt);
	free(s->data);
	free(s->thread);
	free(s->text);
	free(s->author_name);
	free(s->conversation);
	json_decref(s->files);
	json_decref(s->cc);
	json_decref(s->history);
	free(s->unsub);
	free(s);
}

static size_t em_send_read(char *buf, size_t size, size_t n, void *arg)
{
	struct em_send *s = arg;
	size_t want = size * n, left = s->len - s->off;
	if (want > left)
		want = left;
	memcpy(buf, s->data + s->off, want);
	s->off += want;
	return want;
}

static void em_send_try(struct em_send *s);

static void em_send_retry(void *arg)
{
	em_send_try(arg);
}

static int em_send_transient(int code, long status)
{
	if (status >= 400 && status < 500)
		return 1;
	if (status >= 500)
		return 0;
	return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
	       code == CURLE_OPERATION_TIMEDOUT || code == CURLE_SEND_ERROR ||
	       code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING || code == CURLE_SSL_CONNECT_ERROR;
}

static void em_sent(void *arg, int code, long status)
{
	struct em_send *s = arg;
	struct em_state *st = s->st;
	char why[CURL_ERROR_SIZE + 80];
	if (code == CURLE_OK) {
		st->sent++;
		st->api->send_result(st->host, s->message, "sent", s->message_id, NULL);
		em_send_free(s);
		return;
	}
	if (code == CURLE_ABORTED_BY_CALLBACK || st->stopping) {
		em_send_free(s); /* stopping: stays queued, sent again after the restart */
		return;
	}
	snprintf(why, sizeof(why), "SMTP%s%.0ld: %s", status ? " " : "", status,
		 s->errbuf[0] ? s->errbuf : curl_easy_strerror((CURLcode)code));
	if (em_send_transient(code, status) && s->attempt < st->cfg->send_attempts) {
		long ms = 1000L << (s->attempt - 1 < 8 ? s->attempt - 1 : 8);
		if (ms > 60000)
			ms = 60000;
		st->send_retries++;
		/* the server's text may quote the recipient: debug only */
		st->api->log(st->host, OMR_LOG_INFO, "reply %s: SMTP %ld (curl %d); try %d of %lld "
			     "in %ld ms", s->message, status, code, s->attempt + 1,
			     st->cfg->send_attempts, ms);
		st->api->log(st->host, OMR_LOG_DEBUG, "reply %s: %s", s->message, why);
		if (!s->timer)
			s->timer = st->api->timer_new(st->host, em_send_retry, s);
		st->api->timer_start(s->timer, (uint64_t)ms, 0);
		return;
	}
	if (s->attempt > 1) {
		size_t n = strlen(why);
		snprintf(why + n, sizeof(why) - n, " (after %d tries)", s->attempt);
	}
	st->send_failed++;
	st->api->send_result(st->host, s->message, "failed", NULL, why);
	em_send_free(s);
}

static void em_send_try(struct em_send *s)
{
	struct em_state *st = s->st;
	const struct em_config *cfg = st->cfg;
	char from[600];
	if (s->easy)
		curl_easy_cleanup(s->easy);
	s->easy = curl_easy_init();
	if (!s->easy) {
		em_sent(s, CURLE_FAILED_INIT, 0);
		return;
	}
	s->attempt++;
	s->off = 0;
	s->errbuf[0] = '\0';
	snprintf(from, sizeof(from), "<%s>", cfg->address);
	if (!s->rcpts) {
		char to[600];
		snprintf(to, sizeof(to), "<%s>", s->rcpt);
		s->rcpts = curl_slist_append(NULL, to);
		const json_t *v;
		size_t i;
		json_array_foreach(s->cc, i, v) {
			snprintf(to, sizeof(to), "<%s>", json_string_value(v));
			s->rcpts = curl_slist_append(s->rcpts, to);
		}
	}
	curl_easy_setopt(s->easy, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(s->easy, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, s->rcpts);
	curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, em_send_read);
	curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->len);
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, (long)cfg->send_timeout);
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	if (strncmp(cfg->smtp_url, "smtp://", 7) == 0)
		curl_easy_setopt(s->easy, CURLOPT_USE_SSL,
				 (long)(cfg->smtp_starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	if (cfg->smtp_user && *cfg->smtp_user) {
		curl_easy_setopt(s->easy, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(s->easy, CURLOPT_PASSWORD, cfg->smtp_password ? cfg->smtp_password : "");
	}
	if (st->api->transfer(st->host, s->easy, em_sent, s) != OMR_OK)
		em_sent(s, CURLE_FAILED_INIT, 0);
}

/* "Re: <subject without Re:/Fwd: and our token> [#thread]"; without "Re: "
 * when we write first (no mail of the customer's in the conversation: a
 * conversation we started) */
static char *em_reply_subject(const char *subject, const char *thread, int reply)
{
	const char *s = subject ? subject : "";
	for (;;) {
		while (*s == ' ')
			s++;
		if (g_ascii_strncasecmp(s, "re:", 3) == 0 || g_ascii_strncasecmp(s, "aw:", 3) == 0)
			s += 3;
		else if (g_ascii_strncasecmp(s, "fwd:", 4) == 0)
			s += 4;
		else if (g_ascii_strncasecmp(s, "fw:", 3) == 0)
			s += 3;
		else
			break;
	}
	const char *re = reply ? "Re: " : "";
	GString *g = g_string_new(re);
	const char *tok = em_token_at(s);
	g_string_append_len(g, s, tok ? (gssize)(tok - s) : (gssize)strlen(s));
	/* (the trailing blanks of the subject, not the space of "Re: ") */
	while (g->len > strlen(re) && g->str[g->len - 1] == ' ')
		g_string_truncate(g, g->len - 1);
	if (g->len == strlen(re))
		g_string_append(g, "Your message");
	g_string_append_printf(g, " [#%s]", thread);
	char *r = omr_plugin_strdup(g->str);
	g_string_free(g, TRUE);
	return r;
}

static char *em_html_of(const char *text)
{
	GString *g = g_string_new("<!DOCTYPE html><html><body><div style=\"white-space:pre-wrap\">");
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '<': g_string_append(g, "&lt;"); break;
		case '>': g_string_append(g, "&gt;"); break;
		case '&': g_string_append(g, "&amp;"); break;
		case '"': g_string_append(g, "&quot;"); break;
		default: g_string_append_c(g, *p);
		}
	}
	g_string_append(g, "</div></body></html>\n");
	char *r = omr_plugin_strdup(g->str);
	g_string_free(g, TRUE);
	return r;
}

/* body (taken) in a multipart/mixed with an agent's files (docs/media.md):
 * each a base64 part of its type, as an attachment with its name. A file
 * that cannot be read is left out (logged by the caller's result). */
static GMimeObject *em_with_files(GMimeObject *body, const json_t *files)
{
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	const json_t *f;
	size_t i;
	g_mime_multipart_add(mixed, body);
	g_object_unref(body);
	json_array_foreach(files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));
		const char *type = json_string_value(json_object_get(f, "type"));
		gchar *data = NULL;
		gsize len = 0;
		if (!path || !type || !strchr(type, '/') ||
		    !g_file_get_contents(path, &data, &len, NULL))
			continue;
		char major[64];
		snprintf(major, sizeof(major), "%.*s", (int)(strchr(type, '/') - type), type);
		GMimePart *part = g_mime_part_new_with_type(major, strchr(type, '/') + 1);
		GMimeStream *mem = g_mime_stream_mem_new_with_buffer(data, len);
		GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(mem,
									   GMIME_CONTENT_ENCODING_DEFAULT);
		g_mime_part_set_content(part, dw);
		g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
		g_mime_part_set_filename(part, json_string_value(json_object_get(f, "name")));
		g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
		g_mime_multipart_add(mixed, GMIME_OBJECT(part));
		g_object_unref(dw);
		g_object_unref(mem);
		g_object_unref(part);
		g_free(data);
	}
	return GMIME_OBJECT(mixed);
}

/* The mail of a reply, CRLF, malloc'ed. history: {conversation, messages}. */
static char *em_compose(struct em_send *s, const json_t *history, size_t *len_r)
{
	struct em_state *st = s->st;
	const json_t *msgs = json_object_get(history, "messages"), *m, *last_in = NULL;
	const json_t *conv = json_object_get(history, "conversation");
	size_t i;
	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		if (dir && strcmp(dir, "in") == 0)
			last_in = m;
	}
	const json_t *meta = json_object_get(last_in, "meta");
	const char *subject = json_string_value(json_object_get(meta, "subject"));
	if (!subject)
		subject = json_string_value(json_object_get(json_object_get(conv, "attrs"), "subject"));
	const char *irt = json_string_value(json_object_get(meta, "message_id"));

	GMimeMessage *msg = g_mime_message_new(TRUE);
	char name[400];
	if (s->author_name && *s->author_name)
		snprintf(name, sizeof(name), "%.150s via %.200s", s->author_name, st->cfg->from_name);
	else
		snprintf(name, sizeof(name), "%.200s", st->cfg->from_name);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, name, st->cfg->address);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, s->rcpt);
	json_array_foreach(s->cc, i, m)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_CC, NULL, json_string_value(m));
	char *subj = em_reply_subject(subject, s->thread, last_in != NULL || !subject);
	g_mime_message_set_subject(msg, subj, "utf-8");
	free(subj);
	GDateTime *now = g_date_time_new_now_local();
	g_mime_message_set_date(msg, now);
	g_date_time_unref(now);
	/* the Message-ID without its brackets */
	char *bare = omr_plugin_strdup(s->message_id + 1);
	bare[strlen(bare) - 1] = '\0';
	g_mime_message_set_message_id(msg, bare);
	free(bare);
	if (irt) {
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", irt, NULL);
		/* References: the customer's mail's, then the mail itself, capped */
		GString *refs = g_string_new(NULL);
		const json_t *r = json_object_get(meta, "references");
		size_t n = json_array_size(r), from = n + 1 > EM_REFS_MAX ? n + 1 - EM_REFS_MAX : 0;
		for (i = from; i < n; i++) {
			if (refs->len)
				g_string_append(refs, " ");
			g_string_append(refs, json_string_value(json_array_get(r, i)));
		}
		if (refs->len)
			g_string_append(refs, " ");
		g_string_append(refs, irt);
		g_mime_object_set_header(GMIME_OBJECT(msg), "References", refs->str, NULL);
		g_string_free(refs, TRUE);
	}
	g_mime_object_set_header(GMIME_OBJECT(msg), "X-Omniroute-Conversation",
				 s->conversation ? s->conversation : "", NULL);

	GMimeTextPart *plain = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_text(plain, s->text);
	g_mime_part_set_content_encoding(GMIME_PART(plain), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	GMimeObject *body = NULL;
	if (st->cfg->html) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		GMimeTextPart *html = g_mime_text_part_new_with_subtype("html");
		char *h = em_html_of(s->text);
		g_mime_text_part_set_text(html, h);
		free(h);
		g_mime_part_set_content_encoding(GMIME_PART(html), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
		g_mime_multipart_add(alt, GMIME_OBJECT(plain));
		g_mime_multipart_add(alt, GMIME_OBJECT(html));
		g_object_unref(plain);
		g_object_unref(html);
		body = GMIME_OBJECT(alt);
	} else {
		body = GMIME_OBJECT(plain);
	}
	if (json_array_size(s->files))
		body = em_with_files(body, s->files);
	g_mime_message_set_mime_part(msg, body);
	g_object_unref(body);
	GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	char *out = g_mime_object_to_string(GMIME_OBJECT(msg), fo);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	/* List-Unsubscribe goes in as written: GMime would fold a long link
	 * into RFC 2047 words, which no mail program reads as a URI. Not on a
	 * mail with Cc: its link names the customer, and a Cc'd reader's
	 * mail program would offer it to them too */
	int unsub = s->unsub && json_array_size(s->cc) == 0;
	gchar *full = unsub ? g_strdup_printf("List-Unsubscribe: %s\r\n%s%s", s->unsub,
						 s->one_click ? "List-Unsubscribe-Post: "
								"List-Unsubscribe=One-Click\r\n" : "",
						 out ? out : "")
			       : NULL;
	char *r = omr_plugin_strdup(full ? full : out ? out : "");
	g_free(full);
	g_free(out);
	*len_r = strlen(r);
	return r;
}

static void em_history_cb(void *arg, int status, json_t *json);

/* On a worker: touches s alone (and the configuration, read only). */
static void em_compose_work(void *arg)
{
	struct em_send *s = arg;
	s->data = em_compose(s, s->history, &s->len);
}

static void em_compose_done(void *arg, int status)
{
	struct em_send *s = arg;
	json_decref(s->history);
	s->history = NULL;
	if (status != OMR_OK) {
		em_send_free(s); /* stopping: stays queued, sent again after the restart */
		return;
	}
	em_send_try(s);
}

/* Ask for the customer's last mails (for In-Reply-To and References):
 * em_history_cb takes them. */
static int em_history_request(struct em_send *s)
{
	struct em_state *st = s->st;
	/* the message's own conversation, closed or not (a daemon older than
	 * history_of: the thread's open one) */
	int by_id = *s->conversation && st->api->struct_size >= offsetof(struct omr_host_api,
									   history_of) +
							sizeof(st->api->history_of);
	return by_id ? st->api->history_of(st->host, s->conversation, em_history_cb, s)
		     : st->api->history(st->host, s->rcpt, s->thread, em_history_cb, s);
}

/* The customer's last mails, then the composition and the first SMTP try. */
static void em_send_compose(void *arg)
{
	struct em_send *s = arg;
	struct em_state *st = s->st;
	if (em_history_request(s) != OMR_OK) {
		st->send_failed++;
		st->api->send_result(st->host, s->message, "failed", NULL, "cannot read the thread");
		em_send_free(s);
	}
}

static void em_history_cb(void *arg, int status, json_t *json)
{
	struct em_send *s = arg;
	struct em_state *st = s->st;
	if (status != OMR_OK) {
		/* Redis is away for a moment: read the thread again shortly, so
		 * that the reply does not wait for the outbox's resend */
		if (st->stopping) {
			em_send_free(s); /* stays queued; sent after the restart */
			return;
		}
		if (++s->lookups >= st->cfg->send_attempts) {
			st->send_failed++;
			st->api->send_result(st->host, s->message, "failed", NULL,
					     "the conversation could not be read (storage unavailable)");
			em_send_free(s);
			return;
		}
		if (!s->lookup_timer)
			s->lookup_timer = st->api->timer_new(st->host, em_send_compose, s);
		st->api->timer_start(s->lookup_timer, (uint64_t)(1000L << (s->lookups - 1)), 0);
		return;
	}
	if (!json_array_size(s->files)) {
		s->data = em_compose(s, json, &s->len);
		em_send_try(s);
		return;
	}
	/* files are read and encoded on a worker: that holds no loop */
	s->history = json_deep_copy(json);
	if (st->api->work(st->host, em_compose_work, em_compose_done, s) != OMR_OK) {
		json_decref(s->history);
		s->history = NULL;
		if (!s->lookup_timer)
			s->lookup_timer = st->api->timer_new(st->host, em_send_compose, s);
		st->api->timer_start(s->lookup_timer, 1000, 0);
	}
}

/* The Cc of a reply (checked by the core with omr_mail_addr_ok), once more
 * here, by the same rule: an address that could end the header or the SMTP
 * command is left out. A new reference, or NULL. */
static json_t *em_smtp_cc(const json_t *cc)
{
	json_t *r = NULL;
	const json_t *v;
	size_t i;
	json_array_foreach(cc, i, v) {
		const char *a = json_string_value(v);
		if (!omr_mail_addr_ok(a))
			continue;
		if (!r)
			r = json_array();
		json_array_append(r, (json_t *)v);
	}
	return r;
}

/* The core's unsubscribe links (docs/channels/email.md#unsubscribe):
 * {url?, mailto?} as List-Unsubscribe (RFC 2369), the https one also
 * one-click (RFC 8058). Links with characters a header cannot carry are
 * left out. */
static void em_send_unsub(struct em_send *s, const json_t *links)
{
	const char *url = json_string_value(json_object_get(links, "url"));
	const char *mailto = json_string_value(json_object_get(links, "mailto"));
	GString *v = g_string_new(NULL);
	if (url && !strpbrk(url, "<>\r\n \t,") && strlen(url) < 900)
		g_string_append_printf(v, "<%s>", url);
	if (mailto && !strpbrk(mailto, "<>\r\n \t,") && strlen(mailto) < 900)
		g_string_append_printf(v, "%s<%s>", v->len ? ",\r\n " : "", mailto); /* folded */
	if (v->len) {
		s->unsub = omr_plugin_strdup(v->str);
		s->one_click = url && strncmp(s->unsub, "<https://", 9) == 0;
	}
	g_string_free(v, TRUE);
}

int em_smtp_send(void *state, const struct omr_outbound *out)
{
	struct em_state *st = state;
	char mid[600];
	if (strcmp(out->kind, "message") != 0)
		return OMR_OK; /* queue positions are not mailed */
	if (!out->address || !strchr(out->address, '@') || strlen(out->address) > 254 ||
	    strpbrk(out->address, "<>\r\n \t,;"))
		return OMR_ERROR;
	if (!out->thread || strlen(out->thread) > 60)
		return OMR_ERROR;
	struct em_send *s = omr_plugin_calloc(1, sizeof(*s));
	s->st = st;
	s->message = omr_plugin_strdup(out->message);
	snprintf(mid, sizeof(mid), "<omr.%s.%s@%s>", out->thread, out->message, st->domain);
	s->message_id = omr_plugin_strdup(mid);
	s->rcpt = omr_plugin_strdup(out->address);
	s->thread = omr_plugin_strdup(out->thread);
	s->text = omr_plugin_strdup(out->text ? out->text : "");
	s->author_name = out->author_name && strcmp(out->author ? out->author : "", "agent") == 0
				 ? omr_plugin_strdup(out->author_name) : NULL;
	s->conversation = omr_plugin_strdup(out->conversation ? out->conversation : "");
	s->cc = em_smtp_cc(json_object_get(out->data, "cc"));
	if (json_array_size(json_object_get(out->data, "attachments")))
		s->files = json_deep_copy(json_object_get(out->data, "attachments"));
	em_send_unsub(s, json_object_get(out->data, "unsubscribe"));
	omr_dlist_push_head(&st->sends, &s->link);
	if (em_history_request(s) != OMR_OK) {
		em_send_free(s);
		return OMR_ERROR;
	}
	return OMR_OK;
}

void em_smtp_free_all(struct em_state *st)
{
	while (st->sends.head)
		em_send_free(OMR_DLIST_ITEM(st->sends.head, struct em_send, link));
}
