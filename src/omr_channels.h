/*
 * omr_channels: the loaded channel (and bot) plugins as the core sees
 * them, and the way out to customers: delivery of outbound messages, the
 * statuses that come back (sent, delivered, read, failed), and messages
 * from omniroute itself ("tell").
 *
 * Sends under way are leased: the outbox (omr_outbox) resends what a crash
 * left unsent, and a message this node is still sending is not due (its
 * lease in Redis is renewed here every few seconds).
 *
 * The plugin list is borrowed from the core; it does not change after
 * start-up.
 */
#ifndef OMR_CHANNELS_H
#define OMR_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <omniroute/plugin.h>

#include "omr_env.h"

struct omr_bus;
struct omr_buf;
struct omr_plugin;
struct omr_channels;

struct omr_channels *omr_channels_new(const struct omr_env *env, struct omr_bus *bus,
				      struct omr_plugin *const *plugins, size_t nplugins);
void omr_channels_free(struct omr_channels *ch);
void omr_channels_start(struct omr_channels *ch);
void omr_channels_stop(struct omr_channels *ch);

/* The running channel plugin that serves `channel`, or NULL. */
struct omr_plugin *omr_channels_get(const struct omr_channels *ch, const char *channel);
/* The i-th plugin (any kind, running or not), or NULL past the last. */
struct omr_plugin *omr_channels_nth(const struct omr_channels *ch, size_t i);
/* The bot plugin of routing.yaml's `bot:`, if loaded and running. */
struct omr_plugin *omr_channels_bot(const struct omr_channels *ch);

/* Deliver an outbound message through its channel's send hook (on every
 * node for OMR_PLUGIN_CONNECTED channels, through the bus). */
int omr_channels_deliver(struct omr_channels *ch, const char *channel,
			 const struct omr_outbound *out);
/* The bus brought an outbound message for a connected channel ("out"). */
void omr_channels_bus_out(struct omr_channels *ch, const json_t *msg);
/* Record a delivery status of an outbound message (by our id, or by the
 * channel's id when message is NULL); the agent of the conversation sees
 * it. done (may be NULL) runs once: ok = 1 when stored. */
void omr_channels_status(struct omr_channels *ch, const char *channel, const char *message,
			 const char *channel_msg_id, const char *status, const char *error,
			 void (*done)(void *arg, int ok), void *arg);
/* Read receipt by time: our sent/delivered messages of the open
 * conversation of (channel, thread) created at or before watermark_ms
 * become read; their agent sees it. done (may be NULL) runs once. */
void omr_channels_read_until(struct omr_channels *ch, const char *channel, const char *thread,
			     long long watermark_ms, void (*done)(void *arg, int ok), void *arg);
/* A message from omniroute to the customer of a conversation: stored
 * (author "system"), then delivered. */
void omr_channels_tell(struct omr_channels *ch, const char *conversation, const char *text);
/* The satisfaction question, or its thanks: like omr_channels_tell, also on
 * a conversation already closed (wrapped up); data (borrowed, may be NULL)
 * goes to the channel (web chat: {"buttons": ["1", ..., "5"]}). */
void omr_channels_survey(struct omr_channels *ch, const char *conversation, const char *text,
			 const json_t *data);

/* What happens to the conversation, for a customer whose channel shows it
 * (OMR_PLUGIN_STATUS: web chat): a "status" outbound with data (borrowed),
 * e.g. {"event": "joined", "name": "Alice"}; not stored, nothing when the
 * conversation's channel does not show status (channel: the conversation's
 * channel when known, so that one that does not costs nothing; NULL: look;
 * with the customer's address (and thread, may be NULL) too, nothing is
 * read from Redis). */
void omr_channels_notice(struct omr_channels *ch, const char *conversation, const char *channel,
			 const char *address, const char *thread, const json_t *data);

void omr_channels_metrics(const struct omr_channels *ch, struct omr_buf *b);

#endif
