/* Fuzz harness: Redis URL parsing (configuration input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_redis.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = omr_strndup((const char *)data, size);
	struct omr_redis_target t;
	char *err = NULL;
	char buf[256];
	if (strlen(s) == size && omr_redis_target_parse(s, &t, &err) == 0) {
		omr_redis_target_str(&t, buf, sizeof(buf));
		omr_redis_target_free(&t);
	}
	free(err);
	free(s);
	return 0;
}
