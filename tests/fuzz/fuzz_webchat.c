/* Fuzz harness: the web chat protocol parser. The plugin is compiled in
 * with a host API that records what it would send; input bytes are one
 * websocket message from a visitor, before and after hello. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/webchat/webchat.c"
#include "../../plugins/webchat/webchat_more.c"
#include "../../plugins/webchat/wc_identity.c"
#include "../../plugins/webchat/webchat_upload.c"
#include "../../plugins/webchat/signals.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t sent;

static void f_log(omr_host *h, enum omr_log_level level, const char *fmt, ...)
{
}

static int f_ws_send(omr_host *h, uint64_t conn, const char *d, size_t len)
{
	json_t *j = json_loadb(d, len, 0, NULL);
	if (!j || !json_is_string(json_object_get(j, "type")))
		abort(); /* the plugin must only ever send well-formed frames */
	json_decref(j);
	sent++;
	return OMR_OK;
}

static void f_ws_close(omr_host *h, uint64_t conn, int code, const char *reason)
{
}

static void f_ws_trust(omr_host *h, uint64_t conn)
{
}

static int f_submit(omr_host *h, const struct omr_inbound *ev, omr_submit_cb cb, void *arg)
{
	struct omr_submit_result r = { .status = OMR_OK, .conversation = "c_1", .message = "m_1",
				       .customer = "u_1" };
	if (!ev->channel_msg_id || !ev->address || !ev->text)
		abort();
	cb(arg, &r);
	return OMR_OK;
}

static int f_history(omr_host *h, const char *address, const char *thread,
		     void (*cb)(void *arg, int status, json_t *json), void *arg)
{
	cb(arg, OMR_OK, NULL);
	return OMR_OK;
}

static int f_admit(omr_host *h, const char *door, const char *ip)
{
	if (!door || !ip)
		abort();
	return OMR_OK;
}

static int f_avail(omr_host *h, void (*cb)(void *arg, int status, int available), void *arg)
{
	cb(arg, OMR_OK, 0);
	return OMR_OK;
}

/* a file is checked, never written here: the worker queue is "full"
 * (the store's writer, omr_mediafile_store, comes from the core library) */
static int f_work(omr_host *h, void (*work)(void *arg), void (*done)(void *arg, int status),
		  void *arg)
{
	return OMR_AGAIN;
}

static int f_customer_signal(omr_host *h, const char *address, const char *thread,
			     const char *signal, const char *message)
{
	/* typing, or seen with a message id the plugin checked */
	if (!address || !signal || (strcmp(signal, "seen") == 0 && (!message || !*message)))
		abort();
	return OMR_OK;
}

static int f_kv_set(omr_host *h, const char *key, const void *value, size_t len,
		    long long ttl_ms, void (*cb)(void *arg, int status), void *arg)
{
	if (!key || strncmp(key, "online:", 7) != 0 || ttl_ms <= 0)
		abort();
	return OMR_OK;
}

static const struct omr_host_api f_api = {
	.abi_version = OMR_PLUGIN_ABI_VERSION,
	.struct_size = sizeof(struct omr_host_api),
	.log = f_log,
	.ws_send = f_ws_send,
	.ws_close = f_ws_close,
	.ws_trust = f_ws_trust,
	.submit = f_submit,
	.history = f_history,
	.admit = f_admit,
	.agents_available = f_avail,
	.work = f_work,
	.customer_signal = f_customer_signal,
	.kv_set = f_kv_set,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = { "image/png", "text/plain", NULL };
	static const char hello[] = "{\"type\":\"hello\",\"name\":\"x\"}";
	struct wc_config cfg = { .path = "/chat", .visitor_secret = "fuzz-secret-0123456789",
				 .max_message = 65536, .rate_per_min = 6000, .burst = 1000,
				 .visitor_idle = 120000, .max_visitors = 1000,
				 .identity_secret = "fuzz-identity-secret-0123456789abcdef",
				 .upload_max = 4096, .upload_types = (char **)types };
	struct wc_state st = { .api = &f_api, .cfg = &cfg };
	struct omr_ws_peer peer = { "127.0.0.1", "", "" };

	memcpy(st.secret, cfg.visitor_secret, strlen(cfg.visitor_secret));
	st.secret_len = strlen(cfg.visitor_secret);
	wc_on_open(&st, 1, &peer);
	wc_on_message(&st, 1, (const char *)data, size);
	wc_on_message(&st, 1, hello, sizeof(hello) - 1);
	wc_on_message(&st, 1, (const char *)data, size);
	wc_on_close(&st, 1);
	for (size_t b = 0; b < WC_BUCKETS; b++) {
		if (st.buckets[b])
			abort(); /* a closed connection must leave nothing behind */
		for (struct wc_visitor *v = st.visitors[b]; v; v = v->next)
			if (v->conns)
				abort(); /* nor a dangling connection in its visitor */
	}
	/* state as the plugin would be freed (no timer here) */
	wc_free_visitors(&st);
	free(st.avail_wait);
	return 0;
}
