/* Fuzz harness: the WhatsApp Cloud API webhook payload mapping. The
 * plugin is compiled in with a fake host (fuzz_provider.h) whose
 * webhook_message and webhook_status check every mapped item; the input
 * is one verified webhook body, handed over NUL-terminated like the core
 * does. The seeds in corpus/whatsapp are for phone number id
 * 106540352242922 (ours) and a few for another number. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/whatsapp/whatsapp.c"
#include "fuzz_provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int checked;
	struct wa_config cfg = { .app_secret = "fuzz-app-secret-0123456789",
				 .verify_token = "fuzz-verify-token",
				 .access_token = "EAAfuzzaccesstoken",
				 .phone_number_id = "106540352242922",
				 .api_base = "http://127.0.0.1:1/v21.0",
				 .path = "/webhooks/whatsapp",
				 .reply_window = 86400000,
				 .rate_per_second = 20,
				 .send_attempts = 5,
				 .timeout = 10000 };
	struct wa_state st = { .api = &fp_api, .cfg = &cfg };

	if (!checked) {
		/* the configuration above is one the plugin accepts */
		char *err = NULL;
		cfg.templates = json_array();
		if (wa_check(&cfg, &err) != OMR_OK)
			abort();
		json_decref(cfg.templates);
		cfg.templates = NULL;
		checked = 1;
	}
	fp_parse(wa_parse, &st, data, size);
	return 0;
}
