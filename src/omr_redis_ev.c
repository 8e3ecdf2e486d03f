/*
 * omr_redis_ev: hiredis' asynchronous context on libevent, without a
 * system call per request.
 *
 * hiredis' own libevent adapter registers one-shot events: every reply
 * read takes the socket out of epoll and puts it back, and every batch of
 * commands waits for the socket to be writable, adding and removing
 * EPOLLOUT on the way (four epoll_ctl per write, measured under the
 * routing benchmark; on a virtual machine each is dear). Here the read
 * event is persistent, and commands queued during a loop pass are written
 * once, at its end (a deferred event: no system call but the write);
 * EPOLLOUT is waited for only while a write could not finish, or while
 * the connection is still being made.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "omr_redis_int.h"
#include "omr_util.h"

struct omr_redis_ev {
	redisAsyncContext *ac;
	struct event *rev;   /* EV_READ | EV_PERSIST */
	struct event *wev;   /* EV_WRITE: a write that could not finish, a connect */
	struct event *flush; /* deferred: write what this pass queued */
	int reading, waiting, in_write;
	int *alive;          /* cleared when hiredis frees us inside a callback */
};

static void omr_redis_ev_read(evutil_socket_t fd, short what, void *arg)
{
	struct omr_redis_ev *e = arg;
	(void)fd;
	(void)what;
	redisAsyncHandleRead(e->ac);
}

/* hiredis writes; when it cannot finish, it asks for the write event again,
 * which then waits for the socket (in_write) */
static void omr_redis_ev_write_now(struct omr_redis_ev *e)
{
	int alive = 1;
	e->alive = &alive;
	e->in_write = 1;
	redisAsyncHandleWrite(e->ac); /* may free e (a failed write disconnects) */
	if (alive) {
		e->in_write = 0;
		e->alive = NULL;
	}
}

static void omr_redis_ev_writable(evutil_socket_t fd, short what, void *arg)
{
	struct omr_redis_ev *e = arg;
	(void)fd;
	(void)what;
	e->waiting = 0; /* one-shot: no longer added */
	omr_redis_ev_write_now(e);
}

static void omr_redis_ev_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	omr_redis_ev_write_now(arg);
}

static void omr_redis_ev_add_read(void *arg)
{
	struct omr_redis_ev *e = arg;
	if (!e->reading) {
		event_add(e->rev, NULL);
		e->reading = 1;
	}
}

static void omr_redis_ev_del_read(void *arg)
{
	struct omr_redis_ev *e = arg;
	if (e->reading) {
		event_del(e->rev);
		e->reading = 0;
	}
}

static void omr_redis_ev_add_write(void *arg)
{
	struct omr_redis_ev *e = arg;
	if (e->in_write || !(e->ac->c.flags & REDIS_CONNECTED)) {
		if (!e->waiting) {
			event_add(e->wev, NULL);
			e->waiting = 1;
		}
	} else if (!e->waiting) {
		event_active(e->flush, EV_WRITE, 0); /* once per pass: active already is a no-op */
	}
}

static void omr_redis_ev_del_write(void *arg)
{
	struct omr_redis_ev *e = arg;
	if (e->waiting) {
		event_del(e->wev);
		e->waiting = 0;
	}
	event_del(e->flush);
}

static void omr_redis_ev_cleanup(void *arg)
{
	struct omr_redis_ev *e = arg;
	if (e->alive)
		*e->alive = 0;
	event_free(e->rev);
	event_free(e->wev);
	event_free(e->flush);
	free(e);
}

int omr_redis_ev_attach(redisAsyncContext *ac, struct event_base *base)
{
	struct omr_redis_ev *e;

	if (ac->ev.data)
		return REDIS_ERR;
	e = omr_calloc(1, sizeof(*e));
	e->ac = ac;
	e->rev = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, omr_redis_ev_read, e);
	e->wev = event_new(base, ac->c.fd, EV_WRITE, omr_redis_ev_writable, e);
	e->flush = event_new(base, -1, 0, omr_redis_ev_flush, e);
	if (!e->rev || !e->wev || !e->flush) {
		if (e->rev)
			event_free(e->rev);
		if (e->wev)
			event_free(e->wev);
		if (e->flush)
			event_free(e->flush);
		free(e);
		return REDIS_ERR;
	}
	ac->ev.addRead = omr_redis_ev_add_read;
	ac->ev.delRead = omr_redis_ev_del_read;
	ac->ev.addWrite = omr_redis_ev_add_write;
	ac->ev.delWrite = omr_redis_ev_del_write;
	ac->ev.cleanup = omr_redis_ev_cleanup;
	ac->ev.data = e;
	/* as hiredis' adapter: reading, and waiting for the connect */
	omr_redis_ev_add_read(e);
	omr_redis_ev_add_write(e);
	return REDIS_OK;
}
