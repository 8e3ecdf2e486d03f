/*
 * omr_redis_int: what the files of the Redis connection share.
 */
#ifndef OMR_REDIS_INT_H
#define OMR_REDIS_INT_H

#include <stdint.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "omr_redis.h"
#include "omr_util.h"

/* Commands sent and not answered, at most: past it new ones fail at once
 * ("overloaded") instead of piling up in hiredis' output buffer while the
 * server is slow; callers refuse their senders (retry) as when Redis is
 * away. Far above what a healthy server ever has waiting. */
#define OMR_REDIS_MAX_INFLIGHT 20000

enum omr_redis_state { OMR_REDIS_IDLE, OMR_REDIS_RESOLVING, OMR_REDIS_CONNECTING, OMR_REDIS_READY };

/* Whether this connection's server has the script library (omr_redis.h) */
enum omr_redis_fn {
	OMR_REDIS_FN_UNKNOWN, /* not asked on this connection: load before the next call */
	OMR_REDIS_FN_LOADING, /* FUNCTION LOAD sent: calls queue behind it */
	OMR_REDIS_FN_READY,
	OMR_REDIS_FN_OFF      /* refused: EVALSHA until fn_retry_at or the next connection */
};
/* FCALLs of one request answered "not found" before it goes by EVALSHA */
#define OMR_REDIS_FN_TRIES 2

struct omr_redis_req {
	struct omr_redis *r;          /* NULL once detached */
	struct omr_dlink link;        /* in r->reqs, oldest first */
	omr_redis_cb cb;
	void *arg;
	int64_t sent_ms;
	long long timeout;
	/* FCALL -> EVALSHA -> EVAL fallbacks */
	const struct omr_redis_script *script;
	int fcall;       /* sent as FCALL (else EVALSHA) */
	int quiet;       /* an error answer is no failure to count or report
			  * (FUNCTION LOAD: "already exists") */
	int fn_tries;    /* FCALLs sent */
	int argc;
	char **argv;
	size_t *argvlen;
	/* deferred failure */
	const char *fail;
	int sent;        /* counted in r->inflight */
};

struct omr_redis {
	struct event_base *base;
	struct omr_redis_target target;
	char *name;
	struct omr_redis_opts opts;
	redisAsyncContext *ac;
	enum omr_redis_state state;
	struct event *retry_ev;
	struct event *tick_ev;
	long long backoff;
	int64_t connect_started;
	int ever_ready;
	int freeing;
	int closed;        /* omr_redis_close: no reconnects, commands fail */
	const char *held;  /* omr_redis_hold's why: no connection until retargeted */
	uint64_t generation; /* connections made so far (omr_redis_generation) */
	struct evdns_getaddrinfo_request *resolving; /* a host name being looked up */
	struct omr_dlist reqs; /* sent or failing, not answered: oldest first */
	size_t inflight;   /* sent, not yet answered */
	struct omr_redis_stats stats;
	enum omr_redis_fn fn;
	const struct omr_redis_library *fn_lib; /* the library fn is about */
	int64_t fn_retry_at;           /* OMR_REDIS_FN_OFF until then */
	char *fn_why;                  /* why OFF, as last logged */
	char **sub_channels;           /* omr_redis_subscribe, NULL-terminated */
	omr_redis_message_cb sub_cb;
	void *sub_arg;
};

/* omr_redis.c, for the other files of the connection */
/* Send q's command: 0, or -1 when not connected or overloaded (q unsent). */
int omr_redis_send(struct omr_redis *r, struct omr_redis_req *q, int argc, const char **argv,
		   const size_t *argvlen);
/* Run q's callback with reply or err, and free q. */
void omr_redis_finish(struct omr_redis_req *q, const redisReply *reply, const char *err);
/* Take q off the connection's list (it is sent again, or finished unlinked). */
void omr_redis_req_unlink(struct omr_redis_req *q);
/* Fail q with why on the next loop pass. */
void omr_redis_fail_later(struct omr_redis *r, struct omr_redis_req *q, const char *why);
/* Why a command cannot be sent now. */
const char *omr_redis_why(const struct omr_redis *r);

/* omr_redis_script.c: an error answered to the script call q, that calls
 * for sending it again (the Function or the cached script is missing):
 * 1 when q was sent again or finished, 0 when the error is q's answer. */
int omr_redis_script_retry(struct omr_redis *r, struct omr_redis_req *q,
			   const redisReply *reply);

/* Drive ac's reads and writes from base (omr_redis_ev.c): instead of
 * hiredis' libevent adapter, whose one-shot events cost four epoll_ctl a
 * write. REDIS_OK, or REDIS_ERR (already attached, out of events); the
 * context's cleanup frees what it made. */
int omr_redis_ev_attach(redisAsyncContext *ac, struct event_base *base);

#endif
