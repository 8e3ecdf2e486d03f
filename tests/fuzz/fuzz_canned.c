/* Fuzz harness: the canned responses file (omr_canned: YAML, shortcuts,
 * languages, queues, the variables of a text), as -t and a reload read it,
 * and the same bytes as one text an agent saves (canned_save). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_canned.h"
#include "omr_conf.h"
#include "omr_util.h"
#include "omr_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL, why[256];
	char *text = omr_malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	(void)omr_canned_text_check(text, why, sizeof(why));
	(void)omr_canned_shortcut_check(text);
	free(text);
	struct omr_ydoc *doc = omr_yaml_load_string("canned.yaml", (const char *)data, size, &err);
	free(err);
	if (!doc)
		return 0;
	struct omr_conf_errs errs;
	omr_conf_errs_init(&errs);
	omr_canned_free(omr_canned_load_doc(doc, NULL, &errs));
	omr_conf_errs_free(&errs);
	omr_yaml_free(doc);
	return 0;
}
