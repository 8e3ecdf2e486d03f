/*
 * omr_outbox: no outbound message is lost to a crash. Every message to a
 * customer is in the `outbox` sorted set from the moment it is stored
 * until its channel reports an outcome. One stored longer than
 * limits.resend_after without one (the node that should have sent it
 * died, or the provider never answered) is claimed by one node and sent
 * again, at most limits.resend_tries times; then it is marked failed and
 * the agent sees it. Channels whose customers are connected (web chat:
 * OMR_PLUGIN_CONNECTED) are not resent: the customer gets the message from
 * history when back.
 *
 * A message this node is still sending (a provider that asks to retry
 * later, a busy rate lane) holds a lease: its outbox entry is renewed
 * every few seconds, so no node resends it while it is under way, however
 * long that takes; the lease ends with the message's outcome, or with the
 * node.
 */
#ifndef OMR_OUTBOX_H
#define OMR_OUTBOX_H

struct omr_core;
struct omr_outbox;

struct omr_outbox *omr_outbox_new(struct omr_core *core);
void omr_outbox_free(struct omr_outbox *o);
void omr_outbox_start(struct omr_outbox *o);
void omr_outbox_stop(struct omr_outbox *o);
/* A message handed to its channel's send hook, and its outcome. */
void omr_outbox_sending(struct omr_outbox *o, const char *message);
void omr_outbox_done(struct omr_outbox *o, const char *message);
/* Messages sent again, and given up, since start (for /metrics). */
void omr_outbox_stats(const struct omr_outbox *o, unsigned long long *resent,
		      unsigned long long *given_up);

#endif
