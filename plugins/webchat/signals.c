/*
 * webchat signals: "typing" and "seen", both ways, nothing stored
 * (docs/channels/webchat.md#typing-and-seen).
 *
 *   visitor -> server  {"type": "typing"}
 *                      {"type": "seen", "id": "m_..."}  (an agent's message,
 *                      while the page is visible)
 *   server -> visitor  {"type": "typing", "from": "agent"}
 *                      {"type": "seen", "id": "m_..."}  (the agent has the
 *                      visitor's message on screen)
 *
 * A visitor's typing passes at most once per WC_TYPING_EVERY_MS (all tabs
 * together); the rest is dropped without an answer. Main thread only.
 */
#include <string.h>
#include <time.h>

#include <omniroute/plugin.h>

#include "signals.h"

#define WC_TYPING_EVERY_MS 2000

static long long wc_signal_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wc_msg_id_ok(const char *s)
{
	size_t n = 0;
	if (!s || strncmp(s, "m_", 2) != 0)
		return 0;
	for (; *s; s++, n++)
		if (n >= 40 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				 (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return n > 2;
}

const char *wc_signal_in(const struct omr_host_api *api, omr_host *host, const char *visitor,
			 long long *typing_at, const char *type, const json_t *msg)
{
	/* a daemon older than customer_signal: nothing to tell it */
	if (api->struct_size < offsetof(struct omr_host_api, customer_signal) +
				       sizeof(api->customer_signal) || !api->customer_signal)
		return NULL;
	if (strcmp(type, "typing") == 0) {
		long long now = wc_signal_mono_ms();
		if (*typing_at && now - *typing_at < WC_TYPING_EVERY_MS)
			return NULL;
		*typing_at = now;
		api->customer_signal(host, visitor, NULL, "typing", NULL);
		return NULL;
	}
	const char *id = json_string_value(json_object_get(msg, "id"));
	if (!wc_msg_id_ok(id))
		return "id: a message id";
	api->customer_signal(host, visitor, NULL, "seen", id);
	return NULL;
}

json_t *wc_signal_out(const struct omr_outbound *out)
{
	if (strcmp(out->kind, "typing") == 0)
		return json_pack("{s:s,s:s}", "type", "typing", "from", "agent");
	if (strcmp(out->kind, "seen") == 0 && out->message && *out->message)
		return json_pack("{s:s,s:s}", "type", "seen", "id", out->message);
	return NULL;
}
