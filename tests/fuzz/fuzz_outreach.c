/* Fuzz harness: the request bodies of POST /api/v1/conversations and POST
 * /api/v1/signals (omr_outreach_parse, omr_signal_parse), as the admin API
 * receives them. Whatever comes in: a request the core can act on (an
 * address or a customer, a text or a template, one target), or an error
 * with a code and a message of printable text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "omr_outreach.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void omr_fuzz_err(const char *code, const char *err)
{
	if (!code || !*code || !err || !*err)
		abort();
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct omr_outreach_req r;
	const char *code = NULL;
	char *err = NULL;

	if (!j)
		return 0;
	if (omr_outreach_parse(j, &r, &code, &err) == 0) {
		if (!r.to == !r.customer || !r.text == !r.tmpl || !r.target || (r.to && !r.channel))
			abort();
		if (r.text && strlen(r.text) > 65536)
			abort();
	} else {
		omr_fuzz_err(code, err);
	}
	free(err);
	err = NULL;
	if (omr_signal_parse(j, &code, &err) == 0) {
		if (!json_string_value(json_object_get(j, "type")))
			abort();
	} else {
		omr_fuzz_err(code, err);
	}
	free(err);
	json_decref(j);
	return 0;
}
