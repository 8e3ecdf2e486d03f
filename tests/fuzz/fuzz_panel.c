/* Fuzz harness: omr_panel_new, the customer panel's summary the daemon
 * works out from a view's balance, last changes of it and earlier
 * conversations (JSON texts from Redis, written by scripts and by older
 * versions of them). The input is lines: "b..." the balance, "c..." a
 * change, anything else an earlier conversation. Whatever they hold, the
 * summary has its four members, of their types: a trend and a standing of
 * their few words, at most three reasons (text), promises with a reason.
 * When every text is JSON, the quick reading of them gives what decoding
 * each whole gives (omr_panel_reference). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_panel.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void push(redisReply *list, const char *s, size_t len)
{
	redisReply *e = omr_calloc(1, sizeof(*e));
	e->type = REDIS_REPLY_STRING;
	e->str = omr_strndup(s, len);
	e->len = len;
	list->element = realloc(list->element, (list->elements + 1) * sizeof(*list->element));
	if (!list->element)
		abort();
	list->element[list->elements++] = e;
}

static void drop(redisReply *list)
{
	for (size_t i = 0; i < list->elements; i++) {
		free(list->element[i]->str);
		free(list->element[i]);
	}
	free(list->element);
}

/* every text of the list is JSON (jansson reads it) */
static int all_json(const redisReply *list)
{
	for (size_t i = 0; i < list->elements; i++) {
		json_t *j = json_loadb(list->element[i]->str, list->element[i]->len,
				       JSON_DECODE_ANY, NULL);
		if (!j)
			return 0;
		json_decref(j);
	}
	return 1;
}

static int one_of(const json_t *v, const char *const *words)
{
	for (; *words; words++)
		if (json_is_string(v) && strcmp(json_string_value(v), *words) == 0)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const trends[] = { "up", "down", "steady", NULL };
	static const char *const words[] = { "good", "at risk", "slipping", "new", NULL };
	redisReply changes = { .type = REDIS_REPLY_ARRAY }, earlier = { .type = REDIS_REPLY_ARRAY };
	char *balance = NULL;
	const char *p = (const char *)data, *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		if (len && *p == 'b' && !balance)
			balance = omr_strndup(p + 1, len - 1);
		else if (len && *p == 'c')
			push(&changes, p + 1, len - 1);
		else
			push(&earlier, p, len);
		p += len + 1;
	}
	json_t *out = omr_panel_new(balance, &changes, &earlier, -10);
	json_t *reasons = json_object_get(out, "reasons"), *promises = json_object_get(out, "promises");
	if (!json_is_object(out) || json_object_size(out) != 4 ||
	    !one_of(json_object_get(out, "trend"), trends) ||
	    !one_of(json_object_get(out, "standing"), words) || !json_is_array(reasons) ||
	    json_array_size(reasons) > 3 || !json_is_array(promises))
		abort();
	size_t i;
	json_t *v;
	json_array_foreach(reasons, i, v)
		if (!json_is_string(v))
			abort();
	json_array_foreach(promises, i, v)
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "reason")))
			abort();
	if (all_json(&changes) && all_json(&earlier)) {
		json_t *ref = omr_panel_reference(balance, &changes, &earlier, -10);
		if (!json_equal(out, ref))
			abort();
		json_decref(ref);
	}
	json_decref(out);
	free(balance);
	drop(&changes);
	drop(&earlier);
	return 0;
}
