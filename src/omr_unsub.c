/*
 * omr_unsub: the unsubscribe endpoint on the webhook listener (see
 * omr_unsub.h, docs/proactive.md#e-mail-unsubscribe).
 *
 *   POST /unsubscribe?t=TOKEN  body List-Unsubscribe=One-Click (RFC 8058):
 *        the token's address joins its channel's opt-out list; 200.
 *   GET  /unsubscribe?t=TOKEN  a page with a button that makes that POST.
 *        A GET changes nothing: mail scanners and link previews follow
 *        links, and must not unsubscribe anybody.
 *
 * A token that is malformed, forged, for another channel or too long is
 * 400, an expired one 410; nothing is written then. Addresses are never
 * logged. Main thread; a request waiting for Redis holds the module,
 * which lives until every Redis callback has run (omr_core settles them
 * before freeing).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_config.h"
#include "omr_http.h"
#include "omr_log.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_unsub.h"
#include "omr_util.h"

#define OMR_UNSUB_BODY_MAX 4096

struct omr_unsub {
	struct omr_env env;
	unsigned long long done, refused, pages;
};

struct omr_unsub_req {
	struct omr_unsub *u;
	omr_http_reply *reply;   /* replied to exactly once, in the callback */
	char channel[65];
};

static void omr_unsub_handle(void *arg, const struct omr_http_request *req,
			     omr_http_reply *reply);

struct omr_unsub *omr_unsub_new(const struct omr_env *env, struct omr_http_server *http,
				char **err_r)
{
	struct omr_unsub *u = omr_calloc(1, sizeof(*u));
	u->env = *env;
	if (omr_http_route(http, OMR_UNSUB_PATH, 0, omr_unsub_handle, u, err_r) < 0) {
		free(u);
		return NULL;
	}
	return u;
}

void omr_unsub_free(struct omr_unsub *u)
{
	free(u);
}

void omr_unsub_metrics(const struct omr_unsub *u, struct omr_buf *b)
{
	omr_metric(b, "unsubscribe_total", "counter",
		   "addresses put on an opt-out list by an e-mail unsubscribe link", u->done);
	omr_metric(b, "unsubscribe_refused_total", "counter",
		   "unsubscribe requests refused (bad, forged, expired token; no one-click body)",
		   u->refused);
	omr_metric(b, "unsubscribe_pages_total", "counter",
		   "unsubscribe confirmation pages shown (GET)", u->pages);
}

static void omr_unsub_text(omr_http_reply *reply, int code, const char *text)
{
	omr_http_reply_header(reply, "Cache-Control", "no-store");
	omr_http_reply_send(reply, code, "text/plain; charset=utf-8", text, strlen(text));
}

/* RFC 8058: the POST's body is the form field List-Unsubscribe=One-Click,
 * urlencoded or as multipart/form-data. */
static int omr_unsub_one_click(const unsigned char *body, size_t len)
{
	static const char want[] = "List-Unsubscribe=One-Click";
	const char *p = (const char *)body, *end = p + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		size_t n = (size_t)((amp ? amp : end) - p);
		while (n && (p[n - 1] == '\r' || p[n - 1] == '\n'))
			n--;
		if (n == sizeof(want) - 1 && memcmp(p, want, n) == 0)
			return 1;
		p = amp ? amp + 1 : end;
	}
	return memmem(body, len, "name=\"List-Unsubscribe\"", 23) && memmem(body, len, "One-Click", 9);
}

static void omr_unsub_stored(void *arg, const redisReply *reply, const char *err)
{
	struct omr_unsub_req *q = arg;
	struct omr_lua_optout_reply r;
	if (err || omr_lua_optout_reply(reply, &r) < 2 || !r.tag || strcmp(r.tag, "ok") != 0) {
		omr_log_warn("unsubscribe: not stored (%s); the customer may try again",
			     err ? err : "unexpected reply");
		omr_http_reply_header(q->reply, "Retry-After", "5");
		omr_unsub_text(q->reply, 503, "Please try again in a moment.\n");
	} else {
		q->u->done++;
		omr_log_info("unsubscribe: an address left the %s channel by its link", q->channel);
		omr_unsub_text(q->reply, 200,
			       "You are unsubscribed: we will not start conversations with you on "
			       "this address any more. Your own messages still reach us.\n");
	}
	free(q);
}

static const char omr_unsub_page[] =
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	"<meta name=\"viewport\" content=\"width=device-width\">"
	"<meta name=\"robots\" content=\"noindex\"><title>Unsubscribe</title></head>\n"
	"<body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\">\n"
	"<h1>Unsubscribe</h1>\n<p>Stop the messages we start with you on this address? "
	"Answers to your own messages still reach you.</p>\n"
	"<form method=\"post\" action=\"?t=%s\">" /* relative: behind a proxy's prefix too */
	"<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
	"<button type=\"submit\">Unsubscribe</button></form>\n</body></html>\n";

static void omr_unsub_handle(void *arg, const struct omr_http_request *req, omr_http_reply *reply)
{
	struct omr_unsub *u = arg;
	const struct omr_config *cfg = omr_env_cfg(&u->env);
	int post = strcmp(req->method, "POST") == 0;
	if (!post && strcmp(req->method, "GET") != 0) {
		omr_http_reply_header(reply, "Allow", "GET, POST");
		omr_unsub_text(reply, 405, "GET shows the page, POST unsubscribes.\n");
		return;
	}
	const char *t = omr_http_query_param(req, "t");
	struct omr_unsub_ref ref;
	enum omr_unsub_check c = t ? omr_unsub_verify(cfg, t, strlen(t), omr_now_ms() / 1000, &ref)
				   : OMR_UNSUB_BAD;
	const char *why = !t ? "the link has no token (t=)" : omr_unsub_why(c);
	if (c == OMR_UNSUB_OK && post &&
	    (req->body_len > OMR_UNSUB_BODY_MAX || !omr_unsub_one_click(req->body, req->body_len))) {
		c = OMR_UNSUB_BAD;
		why = "a one-click unsubscribe posts List-Unsubscribe=One-Click (RFC 8058)";
	}
	if (c != OMR_UNSUB_OK) {
		u->refused++;
		omr_log_info("unsubscribe: %s refused: %s", req->method, why);
		char *text = omr_asprintf("This unsubscribe request was refused: %s.\n", why);
		omr_unsub_text(reply, c == OMR_UNSUB_EXPIRED ? 410 : 400, text);
		free(text);
		return;
	}
	if (!post) {
		u->pages++;
		char *page = omr_asprintf(omr_unsub_page, t); /* t: hex and '.', checked */
		omr_http_reply_header(reply, "Cache-Control", "no-store");
		omr_http_reply_header(reply, "Content-Security-Policy",
				      "default-src 'none'; form-action 'self'");
		omr_http_reply_send(reply, 200, "text/html; charset=utf-8", page, strlen(page));
		free(page);
		return;
	}
	struct omr_unsub_req *q = omr_calloc(1, sizeof(*q));
	q->u = u;
	q->reply = reply;
	memcpy(q->channel, ref.channel, sizeof(q->channel));
	struct omr_lua_optout_args args = {
		.customer = "", .channel = ref.channel, .address = ref.address, .action = "set",
		.by = "unsubscribe", .via = "unsubscribe",
	};
	omr_lua_optout(u->env.store, &args, omr_unsub_stored, q);
}
