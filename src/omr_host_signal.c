/*
 * omr_host_signal: the host API's customer_signal
 * (include/omniroute/plugin.h): a web chat visitor is typing, or has seen
 * an agent's message. conv_signal.lua finds the conversation's agent (and
 * marks a seen message read); the agent's consoles are told through the
 * hub, on whichever node they are. Nothing is answered to the plugin: a
 * signal lost while Redis is away is not worth a retry.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_host.h"
#include "omr_hub.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_store.h"
#include "omr_util.h"

struct omr_host_sig {
	struct omr_hub *hub;
	int seen;
};

static void omr_host_signal_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_host_sig *hs = arg;
	struct omr_lua_conv_signal_reply r;
	json_t *f = NULL;

	if (err || omr_lua_conv_signal_reply(reply, &r) < 3 || !r.tag || strcmp(r.tag, "ok") != 0 ||
	    !r.conversation || !r.agent) {
		if (err)
			omr_log_debug("%s: customer signal not passed on: %s", __func__, err);
		free(hs);
		return;
	}
	if (!hs->seen) {
		f = json_pack("{s:s,s:s,s:s}", "type", "typing", "conversation", r.conversation,
			      "from", "customer");
	} else {
		/* the message, now read: the console updates it in place */
		json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, r.hash);
		f = m ? json_pack("{s:s,s:s,s:o}", "type", "message", "conversation",
				  r.conversation, "message", m) : NULL;
	}
	if (f)
		omr_hub_to_agent(hs->hub, r.agent, f);
	json_decref(f);
	free(hs);
}

int omr_host_customer_signal(omr_host *h, const char *address, const char *thread,
			     const char *signal, const char *message)
{
	const char *t = thread ? thread : address;
	int seen = signal && strcmp(signal, "seen") == 0;
	if (!address || !omr_model_key_ok(address, 320) || !omr_model_key_ok(t, 512))
		return OMR_ERROR;
	if (!seen && !(signal && strcmp(signal, "typing") == 0))
		return OMR_ERROR;
	if (seen && (!message || !omr_model_id_ok(message, "m_")))
		return OMR_ERROR;
	struct omr_host_sig *hs = omr_calloc(1, sizeof(*hs));
	hs->hub = h->env->env.hub;
	hs->seen = seen;
	struct omr_lua_conv_signal_args a = {
		.channel = h->plugin->name, .thread = t, .signal = signal,
		.message = seen ? message : "",
	};
	omr_lua_conv_signal(h->env->env.store, &a, omr_host_signal_done, hs);
	return OMR_OK;
}
