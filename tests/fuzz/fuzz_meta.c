/* Fuzz harness: the Messenger webhook payload mapping (plugins/social/
 * meta.c built without META_INSTAGRAM, as messenger.la is). Instagram is
 * the same source with other #ifdef'd names (object "instagram", field
 * "comments", the comment's id/text/username/media fields); one
 * translation unit can hold only one of the two, so this one is
 * Messenger. The fake host (fuzz_provider.h) checks every mapped direct
 * message, comment and receipt; the input is one verified webhook body,
 * NUL-terminated like the core hands it over. The seeds in corpus/meta
 * are for page id 104857600123456, with comments on. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/social/meta.c"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int checked;
	struct meta_config cfg = { .app_secret = "fuzz-app-secret-0123456789",
				   .verify_token = "fuzz-verify-token",
				   .access_token = "EAAfuzzpagetoken",
				   .page_id = "104857600123456",
				   .api_base = "http://127.0.0.1:1/v21.0",
				   .path = "/webhooks/messenger",
				   .comments = 1,
				   .reply_window = 86400000,
				   .rate_per_second = 10,
				   .send_attempts = 5,
				   .timeout = 10000 };
	struct meta_state st = { .api = &fp_api, .cfg = &cfg };

	if (!checked) {
		/* the configuration above is one the plugin accepts */
		char *err = NULL;
		if (meta_check(&cfg, &err) != OMR_OK)
			abort();
		checked = 1;
	}
	fp_parse(meta_parse, &st, data, size);
	return 0;
}
