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
 * later, a busy rate lane) holds a lease (omr_channels): its outbox entry
 * is renewed every few seconds, so no node resends it while it is under
 * way, however long that takes; the lease ends with the message's outcome,
 * or with the node.
 */
#ifndef OMR_OUTBOX_H
#define OMR_OUTBOX_H

#include "omr_env.h"

struct omr_buf;
struct omr_channels;
struct omr_files;
struct omr_outbox;

/* files (borrowed, may be NULL): the stored files a resent message names */
struct omr_outbox *omr_outbox_new(const struct omr_env *env, struct omr_channels *channels,
				  struct omr_files *files);
void omr_outbox_free(struct omr_outbox *o);
void omr_outbox_start(struct omr_outbox *o);
void omr_outbox_stop(struct omr_outbox *o);
void omr_outbox_metrics(const struct omr_outbox *o, struct omr_buf *b);
/* Messages sent again, and given up, since start (for /metrics). */

#endif
