/*
 * omr_agents_chat: what an agent's console tells the customer without a
 * message (docs/agent-protocol.md#typing-and-seen): that the agent is
 * typing, and that a customer's message is on the agent's screen. Only
 * on channels that show it (OMR_PLUGIN_TYPING: web chat), only on the
 * agent's own conversation; nothing is stored. The customer's side
 * (typing, seen) comes through the host API (omr_host_signal.c).
 *
 * Main thread only; the pending request is a struct omr_areq.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents_int.h"
#include "omr_channels.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_store.h"
#include "omr_util.h"

/* HMGET conv agent status channel address thread, then (seen) HMGET msg
 * conversation direction: q->extra is the kind, q->text the message id */
static void omr_chat_out(struct omr_areq *q, const redisReply *conv)
{
	const char *agent = omr_reply_str(omr_reply_elem(conv, 0));
	const char *status = omr_reply_str(omr_reply_elem(conv, 1));
	const char *channel = omr_reply_str(omr_reply_elem(conv, 2));
	const char *address = omr_reply_str(omr_reply_elem(conv, 3));
	const char *thread = omr_reply_str(omr_reply_elem(conv, 4));
	struct omr_plugin *p = channel ? omr_channels_get(q->a->channels, channel) : NULL;

	if (!agent || strcmp(agent, q->agent) != 0) {
		omr_agents_error_q(q, "not_yours", "this conversation is not assigned to you");
		return;
	}
	if (!status || strcmp(status, "assigned") != 0 || !address || !*address)
		return; /* nobody to tell: not an error worth a frame */
	if (!p || !(p->desc->flags & OMR_PLUGIN_TYPING))
		return; /* the channel shows neither */
	struct omr_outbound out = {
		.conversation = q->conversation, .message = q->text, .kind = q->extra,
		.address = address, .thread = thread && *thread ? thread : NULL, .author = "agent",
	};
	omr_channels_deliver(q->a->channels, channel, &out);
}

static void omr_chat_conv_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else {
		omr_chat_out(q, reply);
	}
	omr_areq_free(q);
}

static struct omr_areq *omr_chat_req(struct omr_agents *a, struct omr_asess *s, const char *conv,
				     const char *kind, const char *message)
{
	struct omr_areq *q = omr_areq_new(a, s);
	q->conversation = omr_strdup(conv);
	q->extra = omr_strdup(kind);
	q->text = message ? omr_strdup(message) : NULL;
	return q;
}

static void omr_chat_lookup(struct omr_areq *q)
{
	char *key = omr_store_key(q->a->env.store, "conv:%s", q->conversation);
	omr_redis_cmd(omr_store_redis(q->a->env.store), omr_chat_conv_cb, q,
		      "HMGET %s agent status channel address thread", key);
	free(key);
}

void omr_agents_typing(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	int64_t now = omr_mono_ms();
	if (!conv)
		return;
	/* at most one per OMR_TYPING_EVERY_MS and conversation: the rest is
	 * dropped without an answer (the console keeps to it too) */
	if (strcmp(s->typing_conv, conv) == 0 && now - s->typing_at < OMR_TYPING_EVERY_MS)
		return;
	snprintf(s->typing_conv, sizeof(s->typing_conv), "%s", conv);
	s->typing_at = now;
	omr_chat_lookup(omr_chat_req(a, s, conv, "typing", NULL));
}

static void omr_chat_seen_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_chat_seen_reply r;
	if (err || omr_lua_chat_seen_reply(reply, &r) < 7) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else if (!r.msg_conversation || strcmp(r.msg_conversation, q->conversation) != 0 ||
		   !r.direction || strcmp(r.direction, "in") != 0) {
		omr_agents_error_q(q, "bad_request",
				   "message: a customer's message of this conversation");
	} else {
		omr_chat_out(q, reply); /* elements 0-4: the conversation's */
	}
	omr_areq_free(q);
}

void omr_agents_seen(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *mid = json_string_value(json_object_get(msg, "message"));
	if (!conv)
		return;
	if (!mid || !omr_model_id_ok(mid, "m_")) {
		omr_agents_error(a, s->conn, "bad_request", "message: a message id", "conversation",
				 conv);
		return;
	}
	struct omr_lua_chat_seen_args sa = { .conversation = conv, .message = mid };
	omr_lua_chat_seen(a->env.store, &sa, omr_chat_seen_cb, omr_chat_req(a, s, conv, "seen", mid));
}
