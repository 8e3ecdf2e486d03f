/* Fuzz harness: the e-mail channel's reading of a message (GMime, the
 * HTML-to-text conversion, quote and signature stripping). Input bytes are
 * one raw message as an MTA would deliver it. Every result must be valid
 * UTF-8 within the limits, and attachments must be well-formed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "../../plugins/email/mime.h"
#include "../../plugins/email/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t max)
{
	if (!s || !g_utf8_validate(s, -1, NULL) || strlen(s) > max)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct em_limits lim = { .text_max = 4096, .attachment_max = 2048,
					      .attachments_max = 8 };
	struct em_msg m;
	char *err = NULL;
	size_t i;
	json_t *a;

	em_mime_init();
	if (em_parse((const char *)data, size, &lim, &m, &err) < 0) {
		if (!err)
			abort(); /* a failure always says why */
		free(err);
		return 0;
	}
	check_text(m.subject, 4096);
	check_text(m.full_text, lim.text_max);
	check_text(m.text, lim.text_max);
	if (m.from_addr && (!strchr(m.from_addr, '@') || !g_utf8_validate(m.from_addr, -1, NULL)))
		abort();
	if (m.from_name)
		check_text(m.from_name, 1024);
	if (json_array_size(m.attachments) != m.nparts ||
	    json_array_size(m.attachments) > lim.attachments_max)
		abort();
	json_array_foreach(m.attachments, i, a) {
		if (!json_is_string(json_object_get(a, "name")) ||
		    !json_is_string(json_object_get(a, "type")) ||
		    !json_is_integer(json_object_get(a, "size")) ||
		    (size_t)json_integer_value(json_object_get(a, "size")) != m.parts[i].size ||
		    (m.parts[i].data && m.parts[i].size > lim.attachment_max))
			abort();
	}
	char *dump = json_dumps(m.references, 0);
	if (!dump)
		abort();
	free(dump);
	em_msg_free(&m);
	return 0;
}
