/* Unit tests: omr_kpi, the counters and the handle-time histogram fed by
 * hub events, and label values escaped for the text format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_hub.h"
#include "omr_kpi.h"
#include "omr_util.h"

static void test_label(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "general", "general" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" }, /* UTF-8 as it is */
	};
	for (size_t i = 0; i < OMR_ARRAY_LEN(cases); i++) {
		struct omr_buf b;
		omr_buf_init(&b);
		omr_kpi_label(&b, cases[i].in);
		assert_string_equal(b.data ? b.data : "", cases[i].out);
		omr_buf_free(&b);
	}
}

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += n)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
	return 0;
}

static void test_counts(void **state)
{
	struct omr_hub *hub = omr_hub_new();
	struct omr_config *none = NULL;
	struct omr_env env = { .hub = hub, .cfg = &none };
	struct omr_kpi *k = omr_kpi_new(&env);
	struct omr_buf b;
	static const struct {
		enum omr_hub_type type;
		const char *conv, *queue, *reason;
	} events[] = {
		{ OMR_HUB_OFFER_ENDED, "c_1", "sa\"les", "accepted" },
		{ OMR_HUB_OFFER_ENDED, "c_2", NULL, "rejected" },
		{ OMR_HUB_OFFER_ENDED, "c_2", NULL, "missed" },
		{ OMR_HUB_OFFER_ENDED, "c_2", NULL, "missed" },
		{ OMR_HUB_OFFER_ENDED, NULL, NULL, "withdrawn" },
		{ OMR_HUB_OFFER_ENDED, "c_3", NULL, "no such outcome" },
		{ OMR_HUB_WRAPPED_UP, "c_1", NULL, NULL },  /* queue: the accept's */
		{ OMR_HUB_WRAPPED_UP, "c_1", "sa\"les", NULL }, /* once only */
		{ OMR_HUB_WRAPPED_UP, "c_9", "sa\"les", NULL }, /* accepted elsewhere */
		{ OMR_HUB_BOT_ENDED, "c_4", NULL, "contained" },
		{ OMR_HUB_BOT_ENDED, "c_5", NULL, "handoff" },
		{ OMR_HUB_BOT_ENDED, "c_6", NULL, "handoff" },
	};
	for (size_t i = 0; i < OMR_ARRAY_LEN(events); i++)
		omr_hub_ended(hub, events[i].type, "alice", events[i].conv, events[i].queue,
			      events[i].reason);

	omr_buf_init(&b);
	omr_kpi_metrics(k, &b);
	assert_true(has_line(b.data, "# TYPE omniroute_offers_total counter"));
	assert_true(has_line(b.data, "omniroute_offers_total{outcome=\"accepted\"} 1"));
	assert_true(has_line(b.data, "omniroute_offers_total{outcome=\"rejected\"} 1"));
	assert_true(has_line(b.data, "omniroute_offers_total{outcome=\"missed\"} 2"));
	assert_true(has_line(b.data, "omniroute_offers_total{outcome=\"withdrawn\"} 1"));
	assert_true(has_line(b.data, "omniroute_bot_conversations_total{result=\"contained\"} 1"));
	assert_true(has_line(b.data, "omniroute_bot_conversations_total{result=\"handoff\"} 2"));
	assert_true(has_line(b.data, "# TYPE omniroute_handle_seconds histogram"));
	/* one observation of about 0 s: in every bucket, the label escaped */
	assert_true(has_line(b.data,
			     "omniroute_handle_seconds_bucket{queue=\"sa\\\"les\",le=\"30\"} 1"));
	assert_true(has_line(b.data,
			     "omniroute_handle_seconds_bucket{queue=\"sa\\\"les\",le=\"7200\"} 1"));
	assert_true(has_line(b.data,
			     "omniroute_handle_seconds_bucket{queue=\"sa\\\"les\",le=\"+Inf\"} 1"));
	assert_true(has_line(b.data, "omniroute_handle_seconds_count{queue=\"sa\\\"les\"} 1"));
	assert_non_null(strstr(b.data, "omniroute_handle_seconds_sum{queue=\"sa\\\"les\"} 0."));
	omr_buf_free(&b);

	omr_kpi_free(k);
	/* unsubscribed: events after the free reach nobody */
	omr_hub_ended(hub, OMR_HUB_OFFER_ENDED, "alice", "c_7", NULL, "accepted");
	omr_hub_free(hub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
