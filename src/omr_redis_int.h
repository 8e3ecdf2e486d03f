/*
 * omr_redis_int: what the files of the Redis connection share.
 */
#ifndef OMR_REDIS_INT_H
#define OMR_REDIS_INT_H

#include <event2/event.h>
#include <hiredis/async.h>

/* Drive ac's reads and writes from base (omr_redis_ev.c): instead of
 * hiredis' libevent adapter, whose one-shot events cost four epoll_ctl a
 * write. REDIS_OK, or REDIS_ERR (already attached, out of events); the
 * context's cleanup frees what it made. */
int omr_redis_ev_attach(redisAsyncContext *ac, struct event_base *base);

#endif
