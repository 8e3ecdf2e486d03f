/* Unit tests: redis.durability confirms a stored message only on the
 * connection it was stored on. Two real redis-servers, A and B, neither
 * with a replica (as a new primary right after a failover). m1 is stored
 * on A; its WAIT falls short, INFO shows A short of replicas, and the
 * "sentinels" are asked (they take their time). Meanwhile m2 is stored on
 * A, and the ingest connection follows a switch to B. The sentinels vouch
 * for A: m1 is acknowledged (A is the primary they named). m2 must not be
 * acknowledged on the strength of that, nor of INFO on B and the
 * sentinels vouching for B: B never had it. Before the fix it was, and
 * was lost with A (test_sentinel.py saw it once under ASan). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "omr_model.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

static char dir[] = "/tmp/omr-test-durability-XXXXXX";
static pid_t pids[2];
static char socks[2][300];

static int start_servers(void **state)
{
	const char *server = getenv("OMR_REDIS_SERVER") ? getenv("OMR_REDIS_SERVER") : "redis-server";
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	for (int i = 0; i < 2; i++) {
		char sub[200];
		snprintf(sub, sizeof(sub), "%s/%d", dir, i);
		mkdir(sub, 0700);
		snprintf(socks[i], sizeof(socks[i]), "%s/redis.sock", sub);
		pids[i] = fork();
		if (pids[i] == 0) {
			execlp(server, server, "--port", "0", "--unixsocket", socks[i], "--save", "",
			       "--appendonly", "no", "--dir", sub, "--loglevel", "warning",
			       "--daemonize", "no", (char *)NULL);
			_exit(127);
		}
	}
	for (int i = 0; i < 2; i++) {
		int up = 0;
		for (int k = 0; k < 200 && !up; k++) {
			up = access(socks[i], F_OK) == 0;
			if (!up)
				usleep(20000);
		}
		if (!up)
			return -1;
	}
	return 0;
}

static int stop_servers(void **state)
{
	char cmd[400];
	(void)state;
	for (int i = 0; i < 2; i++) {
		kill(pids[i], SIGTERM);
		waitpid(pids[i], NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* the "sentinels": whatever the server, it is the primary. The first
 * question is held until the test lets them answer; later ones are
 * answered at once. */
static struct {
	int asked, held;
	omr_store_confirm_done done;
	void *ctx;
} sentinels;

static void vouch(void *arg, omr_store_confirm_done done, void *ctx)
{
	(void)arg;
	sentinels.asked++;
	if (sentinels.asked == 1) {
		sentinels.held = 1;
		sentinels.done = done;
		sentinels.ctx = ctx;
		return;
	}
	done(ctx, 1);
}

struct answer {
	int done;
	int status;
};

static void answered(void *arg, const struct omr_ingest_result *res)
{
	struct answer *a = arg;
	a->done = 1;
	a->status = res->status;
}

static void run_for(struct event_base *base, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static struct omr_redis *connect_to(struct event_base *base, const char *sock, const char *name)
{
	struct omr_redis_target t = { .path = (char *)sock };
	struct omr_redis_opts o = { .name = name, .connect_timeout = 2000, .command_timeout = 5000 };
	struct omr_redis *r = omr_redis_new(base, &t, &o);
	omr_redis_start(r);
	for (int i = 0; i < 200 && !omr_redis_ready(r); i++)
		run_for(base, 10);
	assert_true(omr_redis_ready(r));
	return r;
}

static void store(struct omr_store *s, const char *id, struct answer *a)
{
	struct omr_inbound ev = { .channel_msg_id = id, .address = "v_durability", .text = "hello" };
	struct omr_model_limits lim = { .text_max = 4096, .attachments_max = 10 };
	struct omr_inbound_norm n;
	char *err = NULL;
	assert_int_equal(omr_inbound_normalise(&ev, &lim, &n, &err), 0);
	omr_store_ingest(s, "webchat", &ev, &n, answered, a);
	omr_inbound_norm_free(&n);
}

static void test_confirmed_on_its_connection(void **state)
{
	struct event_base *base = event_base_new();
	(void)state;
	struct omr_redis *cmds = connect_to(base, socks[0], "commands");
	struct omr_redis *ingest = connect_to(base, socks[0], "ingest");
	struct omr_store_opts so = { .prefix = "t", .site = "d", .dedup_ttl = 60000 };
	struct omr_store *s = omr_store_new(cmds, &so);
	struct omr_store_durability d = { .replicas = 1, .timeout = 200, .confirm = vouch };
	omr_store_durable(s, ingest, &d);

	/* m1 on A: its WAIT (200 ms) falls short, INFO, the sentinels asked */
	struct answer a1 = { 0 }, a2 = { 0 };
	struct omr_redis_stats st;
	store(s, "m1", &a1);
	for (int i = 0; i < 500 && !sentinels.held; i++)
		run_for(base, 10);
	assert_true(sentinels.held);
	/* m2 stored on A while they think */
	store(s, "m2", &a2);
	for (int i = 0; i < 1000; i++) {
		run_for(base, 5);
		omr_redis_get_stats(ingest, &st);
		if (st.pending == 0)
			break;
	}
	assert_int_equal(st.pending, 0);
	/* the connection follows a switch to B */
	uint64_t gen = omr_redis_generation(ingest);
	struct omr_redis_target b = { .path = socks[1] };
	omr_redis_retarget(ingest, &b);
	for (int i = 0; i < 500 && omr_redis_generation(ingest) == gen; i++)
		run_for(base, 10);
	assert_true(omr_redis_ready(ingest));
	/* now the sentinels answer: A is the primary */
	sentinels.held = 0;
	sentinels.done(sentinels.ctx, 1);
	for (int i = 0; i < 500 && !(a1.done && a2.done); i++)
		run_for(base, 10);
	assert_true(a1.done && a2.done);
	assert_int_equal(a1.status, OMR_OK);    /* on A, which they vouched for */
	assert_int_equal(a2.status, OMR_AGAIN); /* on A: nothing about B covers it */

	/* the retry is stored on B and confirmed there */
	struct answer a3 = { 0 };
	store(s, "m2", &a3);
	for (int i = 0; i < 300 && !a3.done; i++)
		run_for(base, 10);
	assert_true(a3.done);
	assert_int_equal(a3.status, OMR_OK);

	omr_store_free(s);
	omr_redis_close(ingest);
	omr_redis_close(cmds);
	run_for(base, 10);
	omr_redis_free(ingest);
	omr_redis_free(cmds);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confirmed_on_its_connection),
	};
	return cmocka_run_group_tests(tests, start_servers, stop_servers);
}
