/* Fuzz harness: the X Account Activity webhook payload mapping (direct
 * messages, read receipts, mentions and replies: tweet_create_events). The fake host (fuzz_provider.h) checks
 * every mapped item; the input is one verified webhook body,
 * NUL-terminated like the core hands it over. The seeds in corpus/x are
 * for the account 3001234567 (and one for another account). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/social/x.c"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int checked;
	struct x_config cfg = { .consumer_secret = "fuzz-consumer-secret-0123456789",
				.access_token = "fuzz-oauth2-user-token",
				.user_id = "3001234567",
				.api_base = "http://127.0.0.1:1",
				.path = "/webhooks/x",
				.rate_per_second = 1,
				.send_attempts = 5,
				.timeout = 10000 };
	struct x_state st = { .api = &fp_api, .cfg = &cfg };

	if (!checked) {
		/* the configuration above is one the plugin accepts */
		char *err = NULL;
		if (x_check(&cfg, &err) != OMR_OK)
			abort();
		checked = 1;
	}
	fp_parse(x_parse, &st, data, size);
	return 0;
}
