/*
 * omr_redis: one Redis connection (hiredis async on the main libevent loop)
 * that reconnects by itself with exponential backoff.
 *
 * Rules (hiredis' rules, made explicit):
 * - A reply is valid only inside its callback; copy what you keep.
 * - Every command's callback runs exactly once: with the reply (which may
 *   be an error reply: err is then set too), or with reply == NULL and err
 *   set when the command could not be sent, the connection dropped, or no
 *   answer came within command_timeout.
 * - Callbacks never run inside the call that issued the command.
 * - While disconnected, commands fail at once (on the next loop pass); the
 *   caller decides whether to retry. Nothing is queued silently.
 */
#ifndef OMR_REDIS_H
#define OMR_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

struct evdns_base;
struct omr_redis;

struct omr_redis_target {
	char *host;      /* NULL for a unix socket */
	int port;
	char *path;      /* unix socket path */
	char *username;  /* ACL user (AUTH username password); NULL: "default" */
	char *password;  /* may be NULL */
	int db;
};

/* Parse redis://[[user]:password@]host[:port][/db] or unix:/path[?db=N]. */
int omr_redis_target_parse(const char *url, struct omr_redis_target *t, char **err_r);
void omr_redis_target_free(struct omr_redis_target *t);
void omr_redis_target_copy(struct omr_redis_target *dst, const struct omr_redis_target *src);
/* "host:port" or "unix:/path" for logs (no password). */
const char *omr_redis_target_str(const struct omr_redis_target *t, char *buf, size_t len);

typedef void (*omr_redis_cb)(void *arg, const redisReply *reply, const char *err);

struct omr_redis_opts {
	const char *name;            /* for logs, e.g. "commands", "stream" */
	long long connect_timeout;   /* ms */
	long long command_timeout;   /* ms */
	void (*on_ready)(void *arg); /* after every (re)connection */
	void (*on_down)(void *arg);  /* after a connection is lost */
	/* every error reply, before its command's callback (a cluster's
	 * MOVED, say); may be NULL */
	void (*on_error)(void *arg, const char *err);
	void *arg;
	/* resolver for a host name (borrowed, outlives the connection); NULL:
	 * the host must be numeric or a unix socket */
	struct evdns_base *dns;
};

struct omr_redis *omr_redis_new(struct event_base *base, const struct omr_redis_target *t,
				const struct omr_redis_opts *opts);
/* Start connecting (and reconnecting until freed). */
void omr_redis_start(struct omr_redis *r);
/* Close for good (shutdown): every pending callback runs now with an
 * error, while its caller still exists; later commands fail (on a later
 * loop pass, as usual); no reconnect. Not from a callback of this
 * connection. */
void omr_redis_close(struct omr_redis *r);
/* Fails pending callbacks (they run now, with an error), frees. Safe to
 * call from a Redis callback. Commands that failed before being sent wait
 * for a loop pass that may never come: at shutdown, close first and let
 * the loop settle (omr_core). */
void omr_redis_free(struct omr_redis *r);
/* How long the oldest command sent has waited for its answer (ms), 0 when
 * none waits: a stalled server shows here long before command_timeout. */
int64_t omr_redis_oldest_ms(const struct omr_redis *r);
int omr_redis_ready(const struct omr_redis *r);
/* Which connection this is: one more at every connection made (to the
 * same server again, or another after a failover). A reply carries the
 * generation current when its callback runs; two replies of different
 * generations came from different connections, perhaps different
 * servers (a WAIT covers only the writes of its own connection). */
uint64_t omr_redis_generation(const struct omr_redis *r);
/* Point at another server (embedded Redis restarts on the same path do
 * not need this); reconnects. */
void omr_redis_retarget(struct omr_redis *r, const struct omr_redis_target *t);
/* Drop the connection (commands waiting for an answer fail, as when it is
 * lost) and make no other until omr_redis_retarget: commands sent
 * meanwhile fail with why. For a primary that is being replaced: nothing
 * more is written to it. why is kept, not copied (the failures of commands
 * hold it past a retarget): a string literal. */
void omr_redis_hold(struct omr_redis *r, const char *why);

/* Send a command. extra_timeout (ms) is added to command_timeout, for
 * blocking commands. */
void omr_redis_argv(struct omr_redis *r, omr_redis_cb cb, void *arg, int argc,
		    const char **argv, const size_t *argvlen, long long extra_timeout);
/* hiredis format string (%s, %b, %d ...). */
void omr_redis_cmd(struct omr_redis *r, omr_redis_cb cb, void *arg, const char *fmt, ...);

/* Server-side scripts. A script in a library (omr_redis_library_init) runs
 * as a Redis Function (FCALL; Redis 7.0 and later): Redis compiles the
 * library once, where EVALSHA runs the whole source again on every call,
 * defining every function the script includes. Each connection loads the
 * library (FUNCTION LOAD) before its first call, and again when the server
 * no longer has it (FUNCTION FLUSH, another server after a failover). Where
 * Functions are not to be had (Redis 6, an ACL user that may not load or
 * call them, a library Redis refuses) the connection says why in the log
 * and runs the scripts with EVALSHA; it tries Functions again on its next
 * connection, or after OMR_REDIS_FN_RETRY_MS. EVALSHA falls back to EVAL
 * once on NOSCRIPT. */
struct omr_redis_library;
struct omr_redis_script {
	const char *name;
	const char *source;
	char sha[41];
	int readonly;         /* writes nothing: its Function is flagged no-writes */
	char *fname;          /* its Function, in lib; NULL: EVALSHA only */
	const struct omr_redis_library *lib;
};
void omr_redis_script_init(struct omr_redis_script *s, const char *name, const char *source);
void omr_redis_eval(struct omr_redis *r, const struct omr_redis_script *s, omr_redis_cb cb,
		    void *arg, int nkeys, int argc, const char **argv, const size_t *argvlen);

/* A script's source that holds this line, at the start of a line, can run
 * as a Function: what comes before it holds nothing of one call (the
 * declarations of the names a call binds, the functions of its libraries)
 * and runs once, when Redis loads the library; what follows is the body of
 * the Function, run on each call with KEYS and ARGV. */
#define OMR_REDIS_SCRIPT_BODY "-- omr:body\n"
#define OMR_REDIS_FN_RETRY_MS 60000

struct omr_redis_library {
	char name[24];        /* "omr_" and 12 hex digits of its text's SHA-1 */
	char *source;         /* FUNCTION LOAD's argument */
	size_t len;
	size_t nfunctions;
};
/* One library of the scripts s[0..n) that have the body line, named after
 * its own text: nodes of two versions sharing a Redis load two libraries,
 * and never call each other's. Sets each such script's fname and lib (lib
 * must outlive the scripts' use). omr_redis_library_free frees the source
 * and the scripts' fname. */
void omr_redis_library_init(struct omr_redis_library *lib, struct omr_redis_script *s, size_t n);
void omr_redis_library_free(struct omr_redis_library *lib, struct omr_redis_script *s, size_t n);

/* Keep this connection subscribed to channels (NULL-terminated, copied),
 * after every (re)connection: on_message(arg, channel, text, len) for each
 * message published to one of them (channel NUL-terminated). A subscribed
 * connection takes no other commands. */
typedef void (*omr_redis_message_cb)(void *arg, const char *channel, const char *text,
				     size_t len);
void omr_redis_subscribe(struct omr_redis *r, const char *const *channels,
			 omr_redis_message_cb cb, void *arg);

struct omr_redis_stats {
	uint64_t commands;
	uint64_t fn_loads;     /* FUNCTION LOADs sent */
	uint64_t fn_fallbacks; /* script calls sent as EVALSHA while Functions were off */
	int functions;         /* 1 while scripts run as Functions on this connection */
	uint64_t errors;
	uint64_t reconnects;
	uint64_t timeouts;
	size_t pending;
};
void omr_redis_get_stats(const struct omr_redis *r, struct omr_redis_stats *st);

/* Reply helpers (NULL-safe). */
const char *omr_reply_str(const redisReply *r);  /* string/status or NULL */
long long omr_reply_int(const redisReply *r, long long def);
const redisReply *omr_reply_elem(const redisReply *r, size_t i);
/* The value of field in a HGETALL reply (string or NULL). */
const char *omr_reply_field(const redisReply *r, const char *field);
/* The replicas connected to the server of an INFO replication answer, in
 * any state (syncing too), when it says role:master; else -1 (NULL, a
 * replica, or no such count). */
long long omr_info_replicas(const char *info);

#endif
