/*
 * omr_worker: see omr_worker.h.
 *
 * Two lists under one mutex: `todo` (submitted, not started) and `done`
 * (finished or cancelled, waiting for the main thread). A thread that
 * finishes a job moves it to `done` and wakes the main loop with
 * event_active() (the loop runs with evthread_use_pthreads()).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

#include "omr_log.h"
#include "omr_util.h"
#include "omr_worker.h"

struct omr_job {
	struct omr_job *next;
	omr_work_fn work;
	omr_work_done_fn done;
	void *arg;
	int status;
};

struct omr_job_list {
	struct omr_job *head, *tail;
	size_t len;
};

struct omr_worker {
	char *name;
	pthread_t *threads;
	int nthreads;
	size_t max_queued;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct omr_job_list todo;   /* under mu */
	struct omr_job_list done;   /* under mu */
	size_t running;             /* under mu */
	int stop;                   /* under mu */
	int joined;                 /* main thread only */
	struct event *wake;
	uint64_t n_done, n_refused, n_cancelled; /* main thread only */
};

static void omr_job_push(struct omr_job_list *l, struct omr_job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->len++;
}

static struct omr_job *omr_job_pop(struct omr_job_list *l)
{
	struct omr_job *j = l->head;
	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
		l->len--;
	}
	return j;
}

static void *omr_worker_main(void *arg)
{
	struct omr_worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct omr_job *j = w->stop ? NULL : omr_job_pop(&w->todo);
		if (!j) {
			if (w->stop)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		w->running++;
		pthread_mutex_unlock(&w->mu);
		j->work(j->arg);
		j->status = OMR_OK;
		pthread_mutex_lock(&w->mu);
		w->running--;
		omr_job_push(&w->done, j);
		event_active(w->wake, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Main thread: run the done() of every finished (or cancelled) job. */
static void omr_worker_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct omr_worker *w = arg;
	struct omr_job_list done;
	struct omr_job *j;

	pthread_mutex_lock(&w->mu);
	done = w->done;
	memset(&w->done, 0, sizeof(w->done));
	pthread_mutex_unlock(&w->mu);
	while ((j = omr_job_pop(&done))) {
		if (j->status == OMR_OK)
			w->n_done++;
		else
			w->n_cancelled++;
		j->done(j->arg, j->status);
		free(j);
	}
}

struct omr_worker *omr_worker_new(struct event_base *base, const struct omr_worker_opts *o)
{
	struct omr_worker *w = omr_calloc(1, sizeof(*w));
	w->name = omr_strdup(o->name ? o->name : "worker");
	w->nthreads = o->threads > 0 ? o->threads : 1;
	w->max_queued = o->max_queued ? o->max_queued : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->wake = event_new(base, -1, 0, omr_worker_dispatch, w);
	w->threads = omr_calloc((size_t)w->nthreads, sizeof(*w->threads));
	for (int i = 0; i < w->nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, omr_worker_main, w) != 0) {
			omr_log_error("%s: cannot start a worker thread", w->name);
			abort();
		}
	}
	return w;
}

int omr_worker_submit(struct omr_worker *w, omr_work_fn work, omr_work_done_fn done, void *arg)
{
	struct omr_job *j;

	pthread_mutex_lock(&w->mu);
	if (w->stop || w->todo.len >= w->max_queued) {
		pthread_mutex_unlock(&w->mu);
		w->n_refused++;
		return OMR_AGAIN;
	}
	j = omr_calloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	j->status = OMR_AGAIN;
	omr_job_push(&w->todo, j);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return OMR_OK;
}

void omr_worker_stop(struct omr_worker *w)
{
	struct omr_job *j;

	if (!w || w->joined)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	/* not started: cancelled (status stays OMR_AGAIN) */
	while ((j = omr_job_pop(&w->todo)))
		omr_job_push(&w->done, j);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (int i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	w->joined = 1;
	omr_worker_dispatch(-1, 0, w);
}

void omr_worker_free(struct omr_worker *w)
{
	if (!w)
		return;
	omr_worker_stop(w);
	event_free(w->wake);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w->name);
	free(w);
}

void omr_worker_get_stats(struct omr_worker *w, struct omr_worker_stats *st)
{
	pthread_mutex_lock(&w->mu);
	st->queued = w->todo.len;
	st->running = w->running;
	pthread_mutex_unlock(&w->mu);
	st->done = w->n_done;
	st->refused = w->n_refused;
	st->cancelled = w->n_cancelled;
}

const char *omr_worker_name(const struct omr_worker *w)
{
	return w->name;
}
