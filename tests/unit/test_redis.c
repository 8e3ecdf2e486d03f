/* Unit tests: omr_redis connecting to a host by name never holds the loop
 * (the name is looked up with the loop's resolver, not getaddrinfo(3)),
 * even when DNS never answers; the connect timeout gives up and retries.
 * The script library's text (omr_redis_library_init). */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "omr_redis.h"
#include "omr_primary.h"
#include "omr_util.h"

struct ticker {
	int ticks;
};

static void tick(evutil_socket_t fd, short what, void *arg)
{
	((struct ticker *)arg)->ticks++;
}

static void test_silent_dns(void **state)
{
	struct event_base *base = event_base_new();
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	char ns[64], buf[512];
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct ticker t = { 0 };

	/* a name server that hears every question and answers none */
	assert_true(udp >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(udp, (struct sockaddr *)&sa, &len), 0);
	snprintf(ns, sizeof(ns), "127.0.0.1:%d", ntohs(sa.sin_port));
	struct evdns_base *dns = evdns_base_new(base, 0);
	assert_non_null(dns);
	assert_int_equal(evdns_base_nameserver_ip_add(dns, ns), 0);
	evdns_base_set_option(dns, "timeout:", "10");
	evdns_base_set_option(dns, "randomize-case:", "0");

	struct omr_redis_target target = { .host = "redis.example.invalid", .port = 6379 };
	struct omr_redis_opts o = { .name = "test", .connect_timeout = 1000,
				    .command_timeout = 1000, .dns = dns };
	struct omr_redis *r = omr_redis_new(base, &target, &o);
	omr_redis_start(r);

	struct event *ev = event_new(base, -1, EV_PERSIST, tick, &t);
	struct timeval every = { 0, 50000 }, run = { 1, 600000 };
	event_add(ev, &every);
	event_base_loopexit(base, &run);
	event_base_dispatch(base);

	/* 1.6 s of a loop that never waited for DNS: about 32 ticks */
	assert_true(t.ticks >= 20);
	assert_false(omr_redis_ready(r));
	/* the question went to our name server, asked by the loop's resolver */
	ssize_t n = recv(udp, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 12);
	assert_non_null(memmem(buf, (size_t)n, "\x05redis\x07" "example\x07invalid", 22));
	/* closing cancels the lookup; libevent answers the cancel on a later
	 * pass (as the daemon's settle gives it), then frees its request */
	omr_redis_close(r);
	event_base_loop(base, EVLOOP_NONBLOCK);
	omr_redis_free(r);
	event_free(ev);
	evdns_base_free(dns, 0);
	event_base_free(base);
	close(udp);
}

struct answers {
	int ok, overloaded, other;
};

static void count_answer(void *arg, const redisReply *reply, const char *err)
{
	struct answers *a = arg;
	if (!err)
		a->ok++;
	else if (strstr(err, "overloaded"))
		a->overloaded++;
	else
		a->other++;
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* A server that takes the connection and never answers: commands pile up
 * only to the cap, then fail at once instead of growing hiredis' buffer. */
static void test_overload(void **state)
{
	struct event_base *base = event_base_new();
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int srv = socket(AF_INET, SOCK_STREAM, 0);
	struct answers a = { 0 };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv, 4), 0);
	assert_int_equal(getsockname(srv, (struct sockaddr *)&sa, &len), 0);

	struct omr_redis_target target = { .host = "127.0.0.1", .port = ntohs(sa.sin_port) };
	struct omr_redis_opts o = { .name = "test", .connect_timeout = 5000,
				    .command_timeout = 60000 };
	struct omr_redis *r = omr_redis_new(base, &target, &o);
	omr_redis_start(r);
	for (int i = 0; i < 200 && !omr_redis_ready(r); i++) {
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	assert_true(omr_redis_ready(r));
	for (int i = 0; i < 20100; i++)
		omr_redis_cmd(r, count_answer, &a, "PING");
	struct timeval tv = { 0, 200000 };
	event_base_once(base, -1, EV_TIMEOUT, stop_loop, base, &tv);
	event_base_dispatch(base);
	assert_int_equal(a.overloaded, 100);
	assert_int_equal(a.ok, 0);
	omr_redis_close(r); /* the 20000 waiting fail now, while we listen */
	assert_int_equal(a.other, 20000);
	omr_redis_free(r);
	event_base_free(base);
	close(srv);
}

/* parse one RESP reply as hiredis does */
static redisReply *resp(const char *bytes, size_t len)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;
	redisReaderFeed(rd, bytes, len);
	assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
	assert_non_null(reply); /* a whole reply, or the case tests nothing */
	redisReaderFree(rd);
	return reply;
}

/* a NUL inside the host, and inside the port */
static const char nul_host[] = "*2\r\n$6\r\nab\0cde\r\n$4\r\n6379\r\n";
static const char nul_port[] = "*2\r\n$9\r\n127.0.0.1\r\n$5\r\n63\0" "79\r\n";

/* What a sentinel says is hostile input: only [host, port] with a sane
 * host and a port in range is taken. */
static void test_sentinel_answers(void **state)
{
	static const struct {
		const char *resp;
		size_t len;
		const char *host;  /* NULL: refused */
		int port;
	} cases[] = {
		{ "*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n", 0, "127.0.0.1", 6379 },
		{ "*2\r\n$13\r\nredis-2.local\r\n$5\r\n26380\r\n", 0, "redis-2.local", 26380 },
		{ "*2\r\n$3\r\n::1\r\n$4\r\n6379\r\n", 0, "::1", 6379 },
		{ "$-1\r\n", 0, NULL, 0 },                                      /* unknown master */
		{ "-ERR no such master\r\n", 0, NULL, 0 },
		{ "*1\r\n$9\r\n127.0.0.1\r\n", 0, NULL, 0 },
		{ "*3\r\n$1\r\na\r\n$4\r\n6379\r\n$1\r\nx\r\n", 0, NULL, 0 },
		{ "*2\r\n:1\r\n:6379\r\n", 0, NULL, 0 },                     /* not strings */
		{ "*2\r\n$9\r\n127.0.0.1\r\n$5\r\n65536\r\n", 0, NULL, 0 },
		{ "*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n", 0, NULL, 0 },
		{ "*2\r\n$9\r\n127.0.0.1\r\n$5\r\n+6379\r\n", 0, NULL, 0 },
		{ "*2\r\n$9\r\n127.0.0.1\r\n$6\r\n6379 x\r\n", 0, NULL, 0 },
		{ "*2\r\n$0\r\n\r\n$4\r\n6379\r\n", 0, NULL, 0 },
		{ "*2\r\n$10\r\nhost/x:y@z\r\n$4\r\n6379\r\n", 0, NULL, 0 },
		{ nul_host, sizeof(nul_host) - 1, NULL, 0 },
		{ nul_port, sizeof(nul_port) - 1, NULL, 0 },
	};
	char longhost[400];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[256];
		int port = 0;
		const char *why = NULL;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].resp);
		redisReply *r = resp(cases[i].resp, len);
		int rc = omr_primary_parse_sentinel(r, host, sizeof(host), &port, &why);
		if (cases[i].host) {
			assert_int_equal(rc, 0);
			assert_string_equal(host, cases[i].host);
			assert_int_equal(port, cases[i].port);
		} else {
			if (rc != -1)
				fail_msg("case %zu taken: %s:%d", i, host, port);
			assert_non_null(why);
		}
		freeReplyObject(r);
	}
	/* 256 characters: too long */
	int n = snprintf(longhost, sizeof(longhost), "*2\r\n$256\r\n%0256d\r\n$4\r\n6379\r\n", 0);
	redisReply *r = resp(longhost, (size_t)n);
	char host[256];
	int port;
	const char *why;
	assert_int_equal(omr_primary_parse_sentinel(r, host, sizeof(host), &port, &why), -1);
	freeReplyObject(r);

	/* SENTINEL MASTER: the primary we use, and no failover under way */
	static const struct {
		const char *resp;
		int yes;
		long long epoch;
	} masters[] = {
		{ "*6\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n"
		  "$5\r\nflags\r\n$6\r\nmaster\r\n", 1, -1 },
		{ "*8\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n"
		  "$5\r\nflags\r\n$6\r\nmaster\r\n$12\r\nconfig-epoch\r\n$2\r\n17\r\n", 1, 17 },
		{ "*8\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6380\r\n"
		  "$5\r\nflags\r\n$6\r\nmaster\r\n$12\r\nconfig-epoch\r\n$1\r\n3\r\n", 0, 3 },
		{ "*8\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n"
		  "$5\r\nflags\r\n$6\r\nmaster\r\n$12\r\nconfig-epoch\r\n$2\r\n-4\r\n", 1, -1 },
		{ "*8\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n"
		  "$5\r\nflags\r\n$6\r\nmaster\r\n$12\r\nconfig-epoch\r\n$2\r\n1x\r\n", 1, -1 },
		{ "*6\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n"
		  "$5\r\nflags\r\n$27\r\nmaster,failover_in_progress\r\n", 0, -1 },
		{ "*6\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n"
		  "$5\r\nflags\r\n$13\r\nmaster,s_down\r\n", 0, -1 },
		{ "*6\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6380\r\n"
		  "$5\r\nflags\r\n$6\r\nmaster\r\n", 0, -1 },               /* another one */
		{ "*4\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n", 0, -1 },
		{ "*5\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$4\r\nport\r\n$4\r\n6379\r\n"
		  "$5\r\nflags\r\n", 0, -1 },                                       /* odd */
		{ "-ERR No such master with that name\r\n", 0, -1 },
	};
	for (size_t i = 0; i < sizeof(masters) / sizeof(masters[0]); i++) {
		redisReply *m = resp(masters[i].resp, strlen(masters[i].resp));
		long long epoch;
		if (omr_primary_master_is(m, "127.0.0.1", 6379, &epoch) != masters[i].yes ||
		    epoch != masters[i].epoch)
			fail_msg("SENTINEL MASTER case %zu (epoch %lld)", i, epoch);
		freeReplyObject(m);
	}

	/* CLUSTER SLOTS: the primary of the range holding the slot */
	static const char slots[] =
		"*2\r\n*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"
		"*4\r\n:8192\r\n:16383\r\n*2\r\n$8\r\nredis-b1\r\n:7001\r\n"
		"*2\r\n$8\r\nredis-b2\r\n:7002\r\n";
	redisReply *sl = resp(slots, sizeof(slots) - 1);
	assert_int_equal(omr_primary_parse_slots(sl, 100, host, sizeof(host), &port, &why), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 7000);
	assert_int_equal(omr_primary_parse_slots(sl, 16383, host, sizeof(host), &port, &why), 0);
	assert_string_equal(host, "redis-b1");   /* the primary, not the replica */
	assert_int_equal(port, 7001);
	char tiny[4];
	assert_int_equal(omr_primary_parse_slots(sl, 100, tiny, sizeof(tiny), &port, &why), -1);
	freeReplyObject(sl);
	static const char *const bad_slots[] = {
		"*1\r\n*3\r\n:0\r\n:100\r\n*2\r\n$1\r\nh\r\n:1\r\n",        /* slot not there */
		"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n:1\r\n:7000\r\n",          /* host an integer */
		"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$1\r\nh\r\n:70000\r\n",   /* port */
		"*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$3\r\na b\r\n:1\r\n",     /* host */
		"*1\r\n*2\r\n:0\r\n:16383\r\n",                                   /* no node */
		"*1\r\n*3\r\n$1\r\n0\r\n:16383\r\n*2\r\n$1\r\nh\r\n:1\r\n", /* from */
		"$5\r\nslots\r\n", NULL,
	};
	for (const char *const *b = bad_slots; *b; b++) {
		redisReply *x = resp(*b, strlen(*b));
		if (omr_primary_parse_slots(x, 200, host, sizeof(host), &port, &why) == 0)
			fail_msg("slot map taken: %s", *b);
		freeReplyObject(x);
	}
	assert_int_equal(omr_primary_parse_moved("MOVED 3999 127.0.0.1:6381", host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 6381);
	assert_int_equal(omr_primary_parse_moved("MOVED 3999 ::1:6381", host, &port), 0);
	assert_string_equal(host, "::1");
	static const char *const bad_moved[] = { "MOVED", "MOVED 3999", "MOVED 3999 :6381",
						 "MOVED 3999 h:0", "MOVED 3999 h:", "ASK 1 h:1",
						 "MOVED 3999 a b:1", NULL };
	for (const char *const *b = bad_moved; *b; b++)
		if (omr_primary_parse_moved(*b, host, &port) == 0)
			fail_msg("MOVED taken: %s", *b);

	/* +switch-master: about master omr, and the new primary's address */
	static const struct {
		const char *text;
		int about, port;
	} switches[] = {
		{ "omr 1.2.3.4 1 5.6.7.8 2", 1, 2 },
		{ "omr 1.2.3.4 1 5.6.7.8 2 more", 1, 2 },
		{ "omr 1.2.3.4 1 5.6.7.8", 1, 0 },     /* about omr, no new address */
		{ "omr 1.2.3.4 1 5.6.7.8 ", 1, 0 },
		{ "omr 1.2.3.4 1 5.6.7.8 0", 1, 0 },
		{ "omr 1.2.3.4 1  2", 1, 0 },
		{ "omr 1.2.3.4", 1, 0 },
		{ "omr ", 1, 0 },
		{ "omrx 1.2.3.4 1 5.6.7.8 2", 0, 0 },
		{ "omr", 0, 0 },
		{ "", 0, 0 },
	};
	for (size_t i = 0; i < OMR_ARRAY_LEN(switches); i++) {
		port = -1;
		host[0] = '\0';
		if (omr_primary_parse_switch(switches[i].text, strlen(switches[i].text), "omr", host,
					     sizeof(host), &port) != switches[i].about)
			fail_msg("switch '%s' taken wrongly", switches[i].text);
		if (port != switches[i].port || (port && strcmp(host, "5.6.7.8") != 0))
			fail_msg("switch '%s': %s:%d", switches[i].text, host, port);
	}

	/* a failover's other events, as sentinel 7.0 publishes them: about
	 * master omr, and the master's address */
	static const struct {
		const char *text;
		int about, port;
	} events[] = {
		{ "slave 127.0.0.1:6380 127.0.0.1 6380 @ omr 10.0.0.1 6379", 1, 6379 },
		{ "master omr 10.0.0.1 6379", 1, 6379 },
		{ "master omr 10.0.0.1 6379 more", 1, 6379 },
		{ "slave 127.0.0.1:6380 127.0.0.1 6380 @ omrx 10.0.0.1 6379", 0, 0 },
		{ "slave 127.0.0.1:6380 127.0.0.1 6380 @ other 10.0.0.1 6379", 0, 0 },
		{ "master omrx 10.0.0.1 6379", 0, 0 },
		{ "master other 10.0.0.1 6379", 0, 0 },
		{ "omr 10.0.0.1 6379", 0, 0 },        /* neither form */
		{ "master omr", 0, 0 },               /* cut short */
		{ "master omr 10.0.0.1", 0, 0 },
		{ "master omr 10.0.0.1 ", 0, 0 },
		{ "master omr 10.0.0.1 0", 0, 0 },    /* not an address */
		{ "master omr 10.0.0.1 65536", 0, 0 },
		{ "master omr 10.0.0.1 63x9", 0, 0 },
		{ "master omr h{st} 6379", 0, 0 },
		{ "slave x @ omr", 0, 0 },
		{ "slave x @ ", 0, 0 },
		{ "master ", 0, 0 },
		{ "", 0, 0 },
	};
	for (size_t i = 0; i < OMR_ARRAY_LEN(events); i++) {
		port = 0;
		host[0] = '\0';
		if (omr_primary_parse_event(events[i].text, strlen(events[i].text), "omr", host,
					    sizeof(host), &port) != events[i].about)
			fail_msg("event '%s' taken wrongly", events[i].text);
		if (events[i].about && (port != events[i].port || strcmp(host, "10.0.0.1") != 0))
			fail_msg("event '%s': %s:%d", events[i].text, host, port);
	}

	/* INFO replication: replicas connected in any state, of a primary */
	static const struct {
		const char *info;
		long long n;
	} infos[] = {
		{ "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
		  "slave0:ip=127.0.0.1,port=6380,state=wait_bgsave,offset=0,lag=0\r\n", 1 },
		{ "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n", 0 },
		{ "role:master\nconnected_slaves:12", 12 },
		{ "# Replication\r\nrole:slave\r\nconnected_slaves:0\r\n", -1 },
		{ "# Replication\r\nrole:master\r\n", -1 },
		{ "role:master\r\nconnected_slaves:\r\n", -1 },
		{ "role:master\r\nconnected_slaves:-1\r\n", -1 },
		{ "role:master\r\nconnected_slaves:1x\r\n", -1 },
		{ "role:masterx\r\nconnected_slaves:1\r\n", -1 },
		{ "xrole:master\r\nconnected_slaves:1\r\n", -1 },
		{ "", -1 },
	};
	for (size_t i = 0; i < OMR_ARRAY_LEN(infos); i++)
		if (omr_info_replicas(infos[i].info) != infos[i].n)
			fail_msg("INFO case %zu: %lld", i, omr_info_replicas(infos[i].info));
	assert_int_equal(omr_info_replicas(NULL), -1);

	assert_int_equal(omr_hostport_split("127.0.0.1:26379", host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 26379);
	assert_int_equal(omr_hostport_split("[::1]:26379", host, &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(omr_hostport_split("sentinel-1:5000", host, &port), 0);
	static const char *const bad[] = { "", ":1", "host", "host:", "host:0", "host:65536",
					   "host:+1", "h st:1", "a@b:1", "[::1:1", "::1]:1", NULL };
	for (const char *const *b = bad; *b; b++)
		if (omr_hostport_split(*b, host, &port) == 0)
			fail_msg("'%s' taken as host:port", *b);
}

/* The script library: one Function per script that has the body line at
 * the start of a line, named after the library, the part before the line
 * once in the Function's scope, no-writes for a read-only script; a name
 * Redis would refuse, or no body line, leaves the script to EVALSHA. The
 * library's name follows the sources. */
static void test_library(void **state)
{
	struct omr_redis_script s[4];
	struct omr_redis_library lib;
	omr_redis_script_init(&s[0], "get", "local P\nlocal function f() end\n"
					    "-- omr:body\nP = ARGV[1]\nreturn 1");
	omr_redis_script_init(&s[1], "put", "local P\n-- omr:body\nreturn 2");
	omr_redis_script_init(&s[2], "nobody", "x = 1 -- omr:body\nreturn 3");
	omr_redis_script_init(&s[3], "bad-name", "local P\n-- omr:body\nreturn 4");
	s[0].readonly = 1;
	omr_redis_library_init(&lib, s, 4);
	assert_int_equal(strncmp(lib.name, "omr_", 4), 0);
	assert_int_equal(strlen(lib.name), 16);
	assert_int_equal(lib.nfunctions, 2);
	assert_int_equal(strlen(lib.source), lib.len);
	char want0[64];
	snprintf(want0, sizeof(want0), "%s_get", lib.name);
	assert_string_equal(s[0].fname, want0);
	assert_ptr_equal(s[0].lib, &lib);
	assert_non_null(s[1].fname);
	assert_null(s[2].fname);
	assert_null(s[2].lib);
	assert_null(s[3].fname);
	char *text = omr_asprintf("#!lua name=%s\nlocal omr_register = redis.register_function\n"
				  "do\nlocal P\nlocal function f() end\n"
				  "omr_register{function_name = '%s_get', "
				  "callback = function(KEYS, ARGV)\nP = ARGV[1]\nreturn 1\n"
				  "end, flags = { 'no-writes' }}\nend\n"
				  "do\nlocal P\n"
				  "omr_register{function_name = '%s_put', "
				  "callback = function(KEYS, ARGV)\nreturn 2\nend}\nend\n",
				  lib.name, lib.name, lib.name);
	assert_string_equal(lib.source, text);
	free(text);

	char name[sizeof(lib.name)];
	memcpy(name, lib.name, sizeof(name));
	omr_redis_library_free(&lib, s, 4);
	assert_null(s[0].fname);
	assert_null(s[1].lib);
	assert_null(lib.source);

	/* the same: the same name */
	omr_redis_script_init(&s[0], "get", "local P\nlocal function f() end\n"
					    "-- omr:body\nP = ARGV[1]\nreturn 1");
	s[0].readonly = 1;
	omr_redis_library_init(&lib, s, 4);
	assert_string_equal(name, lib.name);
	omr_redis_library_free(&lib, s, 4);
	/* another flag (what Redis would keep under an old name): another name */
	s[0].readonly = 0;
	omr_redis_library_init(&lib, s, 4);
	assert_string_not_equal(name, lib.name);
	omr_redis_library_free(&lib, s, 4);
	/* another source: another library */
	s[0].readonly = 1;
	omr_redis_script_init(&s[1], "put", "local P\n-- omr:body\nreturn 22");
	omr_redis_library_init(&lib, s, 2);
	assert_string_not_equal(name, lib.name);
	omr_redis_library_free(&lib, s, 2);
	assert_null(lib.source);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silent_dns),
		cmocka_unit_test(test_overload),
		cmocka_unit_test(test_sentinel_answers),
		cmocka_unit_test(test_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
