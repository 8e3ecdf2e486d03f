/* Unit tests: omr_admission (gates, budgets) and omr_worker (the pool). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <omniroute/plugin.h>

#include "omr_admission.h"
#include "omr_worker.h"

static void test_gate_conns(void **state)
{
	struct omr_gate_limits l = { .conns = 5, .conns_per_ip = 2 };
	struct omr_gate *g = omr_gate_new("test", &l);
	struct omr_gate_stats st;

	assert_int_equal(omr_gate_enter(g, "10.0.0.1", 0), OMR_GATE_OK);
	assert_int_equal(omr_gate_enter(g, "10.0.0.1", 0), OMR_GATE_OK);
	assert_int_equal(omr_gate_enter(g, "10.0.0.1", 0), OMR_GATE_IP_FULL);
	assert_int_equal(omr_gate_enter(g, "10.0.0.2", 0), OMR_GATE_OK);
	assert_int_equal(omr_gate_enter(g, "10.0.0.3", 0), OMR_GATE_OK);
	assert_int_equal(omr_gate_enter(g, "10.0.0.4", 0), OMR_GATE_OK);
	assert_int_equal(omr_gate_enter(g, "10.0.0.5", 0), OMR_GATE_FULL);
	omr_gate_leave(g, "10.0.0.1");
	assert_int_equal(omr_gate_enter(g, "10.0.0.5", 0), OMR_GATE_OK);
	assert_int_equal(omr_gate_enter(g, "10.0.0.1", 0), OMR_GATE_FULL);
	/* a leave for a peer that never came in changes nothing */
	omr_gate_leave(g, "192.0.2.99");
	omr_gate_get_stats(g, &st);
	assert_int_equal(st.open, 5);
	assert_int_equal(st.admitted, 6);
	assert_int_equal(st.refused_ip, 1);
	assert_int_equal(st.refused_full, 2);
	omr_gate_free(g);
}

static void test_gate_rate(void **state)
{
	struct omr_gate_limits l = { .rate_per_ip = 2, .burst_per_ip = 4 };
	struct omr_gate *g = omr_gate_new("test", &l);
	int ok = 0;

	for (int i = 0; i < 10; i++)
		ok += omr_gate_take(g, "10.0.0.1", 1000) == OMR_GATE_OK;
	assert_int_equal(ok, 4);                        /* the burst */
	assert_int_equal(omr_gate_take(g, "10.0.0.2", 1000), OMR_GATE_OK); /* per peer */
	assert_int_equal(omr_gate_take(g, "10.0.0.1", 1499), OMR_GATE_RATE);
	assert_int_equal(omr_gate_take(g, "10.0.0.1", 1500), OMR_GATE_OK);  /* 2/s: one per 500 ms */
	assert_int_equal(omr_gate_take(g, "10.0.0.1", 1500), OMR_GATE_RATE);
	/* the clock going back never mints tokens */
	assert_int_equal(omr_gate_take(g, "10.0.0.1", 0), OMR_GATE_RATE);
	omr_gate_free(g);
}

/* A bucket that counts failures is looked at without spending a token. */
static void test_gate_wait(void **state)
{
	struct omr_gate_limits l = { .rate_per_ip = 0.5, .burst_per_ip = 2 };
	struct omr_gate *g = omr_gate_new("test", &l);
	struct omr_gate_stats st;

	assert_int_equal(omr_gate_wait_ms(g, "10.0.0.1", 1000), 0);   /* unknown peer */
	assert_int_equal(omr_gate_take(g, "10.0.0.1", 1000), OMR_GATE_OK);
	assert_int_equal(omr_gate_wait_ms(g, "10.0.0.1", 1000), 0);
	assert_int_equal(omr_gate_take(g, "10.0.0.1", 1000), OMR_GATE_OK);
	/* empty: one token in 2 s; looking twice spends nothing */
	assert_in_range(omr_gate_wait_ms(g, "10.0.0.1", 1000), 1999, 2001);
	assert_in_range(omr_gate_wait_ms(g, "10.0.0.1", 2000), 999, 1001);
	assert_int_equal(omr_gate_wait_ms(g, "10.0.0.1", 3000), 0);
	assert_int_equal(omr_gate_wait_ms(g, "10.0.0.2", 3000), 0);
	assert_int_equal(omr_gate_take(g, "10.0.0.1", 3000), OMR_GATE_OK);
	omr_gate_get_stats(g, &st);
	assert_int_equal(st.refused_rate, 0);
	assert_int_equal(st.peers, 1);
	l.rate_per_ip = 0; /* no cap: never a wait */
	omr_gate_set_limits(g, &l);
	assert_int_equal(omr_gate_wait_ms(g, "10.0.0.1", 3000), 0);
	omr_gate_free(g);
}

static void test_gate_ipv6(void **state)
{
	struct omr_gate_limits l = { .conns_per_ip = 1 };
	struct omr_gate *g = omr_gate_new("test", &l);
	char buf[64];

	assert_string_equal(omr_gate_peer_key("2001:db8:1:2:aaaa::1", buf, sizeof(buf)),
			    "2001:db8:1:2::/64");
	assert_string_equal(omr_gate_peer_key("::ffff:192.0.2.7", buf, sizeof(buf)), "192.0.2.7");
	assert_string_equal(omr_gate_peer_key("192.0.2.7", buf, sizeof(buf)), "192.0.2.7");
	assert_string_equal(omr_gate_peer_key("not an address", buf, sizeof(buf)), "not an address");
	/* one /64 is one peer */
	assert_int_equal(omr_gate_enter(g, "2001:db8:1:2::1", 0), OMR_GATE_OK);
	assert_int_equal(omr_gate_enter(g, "2001:db8:1:2:ffff::9", 0), OMR_GATE_IP_FULL);
	assert_int_equal(omr_gate_enter(g, "2001:db8:1:3::1", 0), OMR_GATE_OK);
	omr_gate_free(g);
}

/* Many peers: idle ones are swept; the table stays bounded. */
static void test_gate_many_peers(void **state)
{
	struct omr_gate_limits l = { .rate_per_ip = 1, .burst_per_ip = 1 };
	struct omr_gate *g = omr_gate_new("test", &l);
	struct omr_gate_stats st;
	char ip[32];

	for (int i = 0; i < 300000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		/* each peer comes once; 2 s later its bucket is full again */
		omr_gate_take(g, ip, (int64_t)i * 10);
	}
	omr_gate_get_stats(g, &st);
	assert_true(st.peers < 20000);
	assert_int_equal(st.refused_full, 0);
	omr_gate_free(g);
}

/* A bucket of one's own (the edge's per-connection frames before a log-in). */
static void test_bucket(void **state)
{
	struct omr_bucket b;
	int ok = 0;

	omr_bucket_init(&b, 3, 1000);
	for (int i = 0; i < 10; i++)
		ok += omr_bucket_take(&b, 5, 3, 1000);
	assert_int_equal(ok, 3);                                /* starts full: the burst */
	assert_int_equal(omr_bucket_take(&b, 5, 3, 1199), 0);
	assert_int_equal(omr_bucket_take(&b, 5, 3, 1200), 1);   /* 5/s: one per 200 ms */
	assert_int_equal(omr_bucket_take(&b, 5, 3, 900), 0);    /* the clock going back */
	ok = 0;
	for (int i = 0; i < 10; i++)
		ok += omr_bucket_take(&b, 5, 3, 100000);
	assert_int_equal(ok, 3);                                /* never more than the burst */
}

static void test_budget(void **state)
{
	struct omr_budget b;
	omr_budget_init(&b, "test", 2);
	assert_int_equal(omr_budget_take(&b, 0), 1);
	assert_int_equal(omr_budget_take(&b, 0), 1);
	assert_int_equal(omr_budget_take(&b, 0), 0);
	assert_int_equal(b.refused, 1);
	omr_budget_give(&b);
	assert_int_equal(omr_budget_take(&b, 0), 1);
	omr_budget_give(&b);
	omr_budget_give(&b);
	omr_budget_give(&b); /* never below zero */
	assert_int_equal(b.used, 0);
	omr_budget_init(&b, "uncapped", 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(omr_budget_take(&b, 0), 1);
}

/* ---- the worker pool ---- */

struct job {
	int ran;
	int done;
	int status;
	int sleep_ms;
};

static void job_work(void *arg)
{
	struct job *j = arg;
	if (j->sleep_ms)
		usleep((useconds_t)j->sleep_ms * 1000);
	j->ran = 1;
}

static void job_done(void *arg, int status)
{
	struct job *j = arg;
	j->done++;
	j->status = status;
}

static void test_worker(void **state)
{
	struct event_base *base;
	struct omr_worker_opts o = { .name = "test", .threads = 1, .max_queued = 3 };
	struct omr_worker *w;
	struct omr_worker_stats st;
	struct job jobs[8];

	evthread_use_pthreads();
	base = event_base_new();
	w = omr_worker_new(base, &o);
	memset(jobs, 0, sizeof(jobs));
	/* the first one runs (slowly); three wait; the rest are refused */
	jobs[0].sleep_ms = 300;
	assert_int_equal(omr_worker_submit(w, job_work, job_done, &jobs[0]), OMR_OK);
	usleep(50 * 1000);
	int accepted = 1;
	for (int i = 1; i < 8; i++)
		accepted += omr_worker_submit(w, job_work, job_done, &jobs[i]) == OMR_OK;
	assert_int_equal(accepted, 4);
	/* done() never runs inside submit, nor before the loop runs */
	for (int i = 0; i < 8; i++)
		assert_int_equal(jobs[i].done, 0);
	/* stop: the running one finishes, the waiting ones are cancelled */
	omr_worker_stop(w);
	assert_int_equal(jobs[0].done, 1);
	assert_int_equal(jobs[0].status, OMR_OK);
	assert_int_equal(jobs[0].ran, 1);
	for (int i = 1; i < 4; i++) {
		assert_int_equal(jobs[i].done, 1);
		assert_int_equal(jobs[i].status, OMR_AGAIN);
		assert_int_equal(jobs[i].ran, 0);
	}
	for (int i = 4; i < 8; i++)
		assert_int_equal(jobs[i].done, 0);
	omr_worker_get_stats(w, &st);
	assert_int_equal(st.done, 1);
	assert_int_equal(st.cancelled, 3);
	assert_int_equal(st.refused, 4);
	assert_int_equal(omr_worker_submit(w, job_work, job_done, &jobs[4]), OMR_AGAIN);
	omr_worker_stop(w); /* idempotent */
	omr_worker_free(w);
	event_base_free(base);
}

static void test_worker_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct omr_worker_opts o = { .name = "test", .threads = 2, .max_queued = 100 };
	struct omr_worker *w = omr_worker_new(base, &o);
	struct job jobs[50];
	int all;

	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < 50; i++)
		assert_int_equal(omr_worker_submit(w, job_work, job_done, &jobs[i]), OMR_OK);
	for (int round = 0; round < 500; round++) {
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
		all = 1;
		for (int i = 0; i < 50; i++)
			all &= jobs[i].done == 1;
		if (all)
			break;
	}
	for (int i = 0; i < 50; i++) {
		assert_int_equal(jobs[i].done, 1);
		assert_int_equal(jobs[i].status, OMR_OK);
	}
	omr_worker_free(w);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_conns),
		cmocka_unit_test(test_gate_rate),
		cmocka_unit_test(test_gate_wait),
		cmocka_unit_test(test_gate_ipv6),
		cmocka_unit_test(test_gate_many_peers),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_worker),
		cmocka_unit_test(test_worker_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
