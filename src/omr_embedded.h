/*
 * omr_embedded: a private redis-server that the daemon starts, supervises
 * and stops: unix socket and AOF in the state directory, no TCP port.
 * The child gets SIGTERM if the daemon dies (even by kill -9), so it
 * writes its AOF and exits instead of lingering.
 */
#ifndef OMR_EMBEDDED_H
#define OMR_EMBEDDED_H

#include <sys/types.h>
#include <event2/event.h>

struct omr_embedded;

struct omr_embedded *omr_embedded_new(struct event_base *base, const char *server,
				      const char *state_dir, const char *appendfsync);
void omr_embedded_free(struct omr_embedded *e);
/* Start the server (after stopping a stale one from an earlier run). */
int omr_embedded_start(struct omr_embedded *e, char **err_r);
const char *omr_embedded_socket(const struct omr_embedded *e);
/* Call on SIGCHLD; restarts the server (with backoff) if it died. */
void omr_embedded_reap(struct omr_embedded *e);
/* SIGTERM, wait up to timeout_ms, then SIGKILL. Blocks: shutdown only. */
void omr_embedded_stop(struct omr_embedded *e, int timeout_ms);

#endif
