/* Fuzz harness: what a Redis Sentinel or a Redis Cluster node answers
 * (hostile input). The bytes are RESP, read by hiredis' own reader as the
 * daemon reads them; each reply is checked as an answer to
 * get-master-addr-by-name, to SENTINEL MASTER and to CLUSTER SLOTS (for a
 * slot taken from the first two bytes), as a +switch-master message and
 * another event of a failover's, and an error reply as a MOVED
 * redirection; the input also as a redis.sentinels / redis.cluster entry,
 * as a MOVED text and as a sentinel's event message (not NUL-terminated).
 *
 * hiredis 0.14 allocates an array's declared length as soon as it reads
 * "*N" (it has no maxelements): inputs declaring 9 digits or more are
 * skipped, or every run would end in an out-of-memory report that is
 * hiredis', not ours. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "omr_primary.h"
#include "omr_redis.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int huge_array(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		size_t digits = 0;
		if (data[i] != '*')
			continue;
		while (i + 1 + digits < size && data[i + 1 + digits] >= '0' &&
		       data[i + 1 + digits] <= '9')
			digits++;
		if (digits >= 9)
			return 1;
	}
	return 0;
}

static void check_addr(const char *host, int port)
{
	if (strlen(host) > 255 || port < 1 || port > 65535)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char host[256], small[8];
	int port;
	const char *why;
	unsigned slot = size >= 2 ? ((unsigned)data[0] << 8 | data[1]) % 16384 : 0;

	if (!huge_array(data, size)) {
		redisReader *rd = redisReaderCreate();
		void *reply = NULL;
		redisReaderFeed(rd, (const char *)data, size);
		for (int i = 0; i < 64 && redisReaderGetReply(rd, &reply) == REDIS_OK && reply; i++) {
			const redisReply *r = reply;
			if (omr_primary_parse_sentinel(r, host, sizeof(host), &port, &why) == 0)
				check_addr(host, port);
			if (omr_primary_parse_slots(r, slot, host, sizeof(host), &port, &why) == 0)
				check_addr(host, port);
			/* a host that does not fit is refused, never cut */
			if (omr_primary_parse_slots(r, slot, small, sizeof(small), &port, &why) == 0 &&
			    strlen(small) >= sizeof(small))
				abort();
			long long epoch;
			if (omr_primary_master_is(r, "127.0.0.1", 6379, &epoch) < 0 || epoch < -1)
				abort();
			if ((r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR ||
			     r->type == REDIS_REPLY_STATUS) && strlen(r->str) == r->len) {
				if (omr_primary_parse_switch(r->str, r->len, "omr", host,
							     sizeof(host), &port) && port)
					check_addr(host, port);
				if (omr_primary_parse_event(r->str, r->len, "omr", host, sizeof(host),
							    &port))
					check_addr(host, port);
				if (omr_primary_parse_moved(r->str, host, &port) == 0)
					check_addr(host, port);
			}
			freeReplyObject(reply);
			reply = NULL;
		}
		redisReaderFree(rd);
	}

	/* a message as the subscription hands it over: not NUL-terminated */
	if (omr_primary_parse_event((const char *)data, size, "omr", host, sizeof(host), &port))
		check_addr(host, port);
	if (omr_primary_parse_switch((const char *)data, size, "omr", host, sizeof(host), &port) &&
	    port)
		check_addr(host, port);
	char *s = omr_strndup((const char *)data, size);
	if (strlen(s) == size) {
		if (omr_info_replicas(s) < -1)
			abort();
		if (omr_hostport_split(s, host, &port) == 0)
			check_addr(host, port);
		if (omr_primary_parse_moved(s, host, &port) == 0)
			check_addr(host, port);
	}
	free(s);
	return 0;
}
