/* Fuzz harness: WhatsApp templates with variables (plugins/whatsapp/
 * templates.c). The input is JSON {"templates": [...], "variables": {...}}:
 * the list is checked as the configuration would be (wa_templates_load)
 * and, when it passes, every template is rendered with the variables
 * (wa_template_render). Either may refuse; neither may crash, leak, or
 * render a template whose variables are not all given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/whatsapp/templates.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, 0, NULL);
	char *err = NULL;
	json_t *list = wa_templates_load(json_object_get(in, "templates"), &err);
	size_t i;
	json_t *t;

	if (!list && !err)
		abort(); /* refused without saying why */
	free(err);
	json_array_foreach(list, i, t) {
		json_t *out = NULL;
		char *text = NULL;
		err = NULL;
		const char *name = json_string_value(json_object_get(t, "name"));
		if (wa_template_render(list, name, json_object_get(in, "variables"), &out, &text,
				       &err) == 0) {
			if (!out || !text || err)
				abort();
			json_t *v;
			size_t k;
			json_array_foreach(json_object_get(t, "variables"), k, v)
				if (!json_object_get(json_object_get(in, "variables"),
						     json_string_value(json_object_get(v, "name"))))
					abort(); /* rendered with a variable missing */
		} else if (!err || out || text) {
			abort();
		}
		json_decref(out);
		free(text);
		free(err);
	}
	json_decref(list);
	json_decref(in);
	return 0;
}
