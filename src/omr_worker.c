/*
 * omr_worker: see omr_worker.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "omr_log.h"
#include "omr_util.h"
#include "omr_worker.h"

struct omr_job {
	struct omr_job *next;
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

struct omr_job_list {
	struct omr_job *head, *tail;
};

struct omr_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct omr_job_list todo;   /* under mu */
	struct omr_job_list done;   /* under mu */
	int stop;                   /* under mu */
	struct event *wake;
};

static void omr_job_push(struct omr_job_list *l, struct omr_job *j)
{
	j->next = NULL;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
}

static struct omr_job *omr_job_pop(struct omr_job_list *l)
{
	struct omr_job *j = l->head;
	if (j) {
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
	}
	return j;
}

static void *omr_worker_main(void *arg)
{
	struct omr_worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct omr_job *j = omr_job_pop(&w->todo);
		if (!j) {
			if (w->stop)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		j->work(j->arg);
		pthread_mutex_lock(&w->mu);
		omr_job_push(&w->done, j);
		event_active(w->wake, EV_READ, 0);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void omr_worker_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct omr_worker *w = arg;
	struct omr_job_list done;
	struct omr_job *j;
	pthread_mutex_lock(&w->mu);
	done = w->done;
	w->done.head = w->done.tail = NULL;
	pthread_mutex_unlock(&w->mu);
	while ((j = omr_job_pop(&done))) {
		j->done(j->arg);
		free(j);
	}
}

struct omr_worker *omr_worker_new(struct event_base *base)
{
	struct omr_worker *w = omr_calloc(1, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->wake = event_new(base, -1, 0, omr_worker_dispatch, w);
	if (pthread_create(&w->thread, NULL, omr_worker_main, w) != 0) {
		omr_log_error("cannot start the worker thread");
		abort();
	}
	return w;
}

void omr_worker_submit(struct omr_worker *w, void (*work)(void *arg), void (*done)(void *arg),
		       void *arg)
{
	struct omr_job *j = omr_calloc(1, sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->mu);
	omr_job_push(&w->todo, j);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void omr_worker_free(struct omr_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	omr_worker_dispatch(-1, 0, w);
	event_free(w->wake);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
