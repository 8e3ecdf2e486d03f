/*
 * omr_worker: one background thread for the few jobs that must not block
 * the main loop (password hashing). A job's work() runs on the worker
 * thread and must touch nothing but its own argument; its done() runs
 * afterwards on the main thread, where it may use everything.
 */
#ifndef OMR_WORKER_H
#define OMR_WORKER_H

#include <event2/event.h>

struct omr_worker;

struct omr_worker *omr_worker_new(struct event_base *base);
/* Runs every queued job (and its done()) before returning. */
void omr_worker_free(struct omr_worker *w);
void omr_worker_submit(struct omr_worker *w, void (*work)(void *arg), void (*done)(void *arg),
		       void *arg);

#endif
