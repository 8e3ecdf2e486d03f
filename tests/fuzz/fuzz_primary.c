/* Fuzz harness: what a Redis Sentinel answers (hostile input). The bytes
 * are RESP, read by hiredis' own reader as the daemon reads them; each
 * reply is checked as an answer to get-master-addr-by-name and to
 * SENTINEL MASTER, and as a +switch-master message; the input also as sentinels: configuration. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "omr_primary.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;
	char host[256];
	int port;
	const char *why;

	redisReaderFeed(rd, (const char *)data, size);
	for (int i = 0; i < 64 && redisReaderGetReply(rd, &reply) == REDIS_OK && reply; i++) {
		const redisReply *r = reply;
		if (omr_primary_parse_sentinel(r, host, sizeof(host), &port, &why) == 0 &&
		    (strlen(host) > 255 || port < 1 || port > 65535))
			abort();
		(void)omr_primary_master_is(r, "127.0.0.1", 6379);
		if (r->type == REDIS_REPLY_STRING)
			(void)omr_primary_parse_switch(r->str, r->len, "omr");
		freeReplyObject(reply);
		reply = NULL;
	}
	redisReaderFree(rd);

	char *s = omr_strndup((const char *)data, size);
	if (strlen(s) == size && omr_hostport_split(s, host, &port) == 0 &&
	    (strlen(host) > 255 || port < 1 || port > 65535))
		abort();
	free(s);
	return 0;
}
