/* Fuzz harness: what a bot service sends back to the webhookbot plugin.
 * The plugin is compiled in with a host API that records its calls; the
 * first input byte picks the HTTP status of the response (200, 202 or
 * 500), the rest is its body, then the same body comes again as a signed
 * callback. A turn must be answered at most once, every answer must name
 * the turn and an action, and every callback gets exactly one reply. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/webhookbot/webhookbot.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static omr_http_done pending_cb;
static void *pending_arg;
static int answers, replies;

static void f_log(omr_host *h, enum omr_log_level level, const char *fmt, ...)
{
}

static int f_http_request(omr_host *h, const char *method, const char *url,
			  const char *const *headers, const void *body, size_t body_len,
			  long timeout_ms, omr_http_done cb, void *arg)
{
	json_t *j = json_loadb(body, body_len, 0, NULL);
	if (!j || !json_is_string(json_object_get(j, "turn")))
		abort(); /* the plugin must only send well-formed turns */
	json_decref(j);
	pending_cb = cb;
	pending_arg = arg;
	return OMR_OK;
}

static void f_bot_answer(omr_host *h, const struct omr_bot_answer *a)
{
	if (!a->turn || strcmp(a->turn, "t_fuzz") != 0 || !a->action)
		abort();
	answers++;
}

static void f_hmac(const void *key, size_t key_len, const void *d, size_t len, char out[65])
{
	memset(out, 'a', 64);
	out[64] = '\0';
}

static int f_signature_ok(const char *received, const void *key, size_t key_len, const void *d,
			  size_t len)
{
	return 1; /* reach the parser: signatures have their own unit test */
}

static void f_http_reply(omr_http_reply *reply, int code, const char *type, const void *body,
			 size_t len)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	if (!j || code < 200 || code > 499)
		abort(); /* a clear JSON error, never a server error */
	json_decref(j);
	replies++;
}

static const char *f_header(const struct omr_http_request *req, const char *name)
{
	return "sha256=00";
}

static const struct omr_host_api f_api = {
	.abi_version = OMR_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct omr_host_api),
	.log = f_log,
	.http_request = f_http_request,
	.bot_answer = f_bot_answer,
	.hmac_sha256_hex = f_hmac,
	.signature_ok = f_signature_ok,
	.http_reply = f_http_reply,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 202, 500 };
	struct wb_config cfg = { .url = "http://127.0.0.1:1/turn",
				 .secret = "fuzz-secret-0123456789", .timeout = 1000,
				 .callback = 1, .callback_window = 600000 };
	struct wb_state st = { .api = &f_api, .cfg = &cfg };
	json_t *ctx = json_object();
	struct omr_bot_turn turn = { .turn = "t_fuzz", .conversation = "c_1", .channel = "webchat",
				     .language = "en", .text = "hello", .context = ctx };
	if (size < 1)
		return 0;
	answers = replies = 0;
	pending_cb = NULL;
	if (wb_turn(&st, &turn) != OMR_OK || !pending_cb)
		abort();
	char *body = malloc(size);
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	struct omr_http_response res = { .ok = 1, .status = statuses[data[0] % 3], .body = body,
					  .body_len = size - 1 };
	pending_cb(pending_arg, &res);
	struct omr_http_request req = { .method = "POST", .path = "/webhooks/webhookbot", .query = "",
					.body = (const unsigned char *)body, .body_len = size - 1,
					.header = f_header };
	wb_callback(&st, &req, (omr_http_reply *)&st);
	if (replies != 1 || answers > 1)
		abort();
	if (res.status != 202 && answers != 1)
		abort(); /* a response that is not "later" always ends the turn */
	wb_free_pending(&st);
	free(body);
	json_decref(ctx);
	return 0;
}
