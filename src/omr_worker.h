/*
 * omr_worker: a small pool of threads for the work that must not hold the
 * main loop (password checks, MIME parsing, hashing, fsync).
 *
 * A job's work() runs on a pool thread and must touch nothing but its own
 * argument; its done() runs afterwards on the main thread, where it may use
 * everything. The queue is bounded: a full pool answers OMR_AGAIN at once
 * (the caller tells its sender "busy, retry") instead of queueing for ever.
 *
 * Stopping: jobs that have not started are cancelled (done(arg, OMR_AGAIN)
 * on the main thread, in omr_worker_stop), running ones finish and get
 * done(arg, OMR_OK); then the threads are joined. After stop, submit
 * answers OMR_AGAIN.
 */
#ifndef OMR_WORKER_H
#define OMR_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct omr_worker;

struct omr_worker_opts {
	const char *name;       /* for logs and metrics, e.g. "login", "jobs" */
	int threads;            /* 1 or more */
	size_t max_queued;      /* jobs waiting (not running) at most; 0: 1 */
};

struct omr_worker_stats {
	uint64_t done;          /* jobs that ran */
	uint64_t refused;       /* submits answered OMR_AGAIN (queue full, stopped) */
	uint64_t cancelled;     /* jobs that never ran (stopped) */
	size_t queued;          /* waiting now */
	size_t running;         /* running now */
};

typedef void (*omr_work_fn)(void *arg);
/* status: OMR_OK (work ran) or OMR_AGAIN (it never ran: the pool stopped) */
typedef void (*omr_work_done_fn)(void *arg, int status);

struct omr_worker *omr_worker_new(struct event_base *base, const struct omr_worker_opts *o);
/* OMR_OK: done() will run exactly once, never inside this call.
 * OMR_AGAIN: the queue is full or the pool stopped; nothing will run. */
int omr_worker_submit(struct omr_worker *w, omr_work_fn work, omr_work_done_fn done, void *arg);
/* Cancel what waits, wait for what runs, run every done(); idempotent. */
void omr_worker_stop(struct omr_worker *w);
/* Stops first if needed. */
void omr_worker_free(struct omr_worker *w);
void omr_worker_get_stats(struct omr_worker *w, struct omr_worker_stats *st);
const char *omr_worker_name(const struct omr_worker *w);

#endif
