/* Unit tests: omr_redis connecting to a host by name never holds the loop
 * (the name is looked up with the loop's resolver, not getaddrinfo(3)),
 * even when DNS never answers; the connect timeout gives up and retries. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "omr_redis.h"
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
	/* commands fail at once (on a later pass) while not connected */
	omr_redis_free(r);
	event_free(ev);
	evdns_base_free(dns, 0);
	event_base_free(base);
	close(udp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silent_dns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
