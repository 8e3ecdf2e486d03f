/* Unit tests: omr_search, the words of the search index and the parsing
 * of a query (docs/search.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_search.h"

static void test_terms(void **state)
{
	static const struct {
		const char *text;
		int stop;
		const char *want;
	} cases[] = {
		{ "Hallo, mijn factuur klopt niet!", 1, "hallo factuur klopt" },
		{ "Hallo, mijn factuur klopt niet!", 0, "hallo mijn factuur klopt niet" },
		{ "Jörg Müller", 0, "jorg muller" },
		{ "ÆSIR straße Øre œuvre Ĳssel", 0, "aesir strasse ore oeuvre ijssel" },
		{ "the THE The a I", 1, "" },
		{ "a b c", 0, "a b c" },
		{ "order #12345-AB", 1, "order 12345 ab" },
		{ "repeat repeat Repeat", 1, "repeat" },
		{ "日本語 テキスト", 1, "日本語 テキスト" },
		{ "smile 🙂 please…", 1, "smile please" },
		{ "abcdefghijklmnopqrstuvwxyzabcdefghijklmnop tail", 1,
		  "abcdefghijklmnopqrstuvwxyzabcdef tail" },
		{ "", 1, "" },
		{ "*?[%]^$", 1, "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = omr_search_terms(cases[i].text, strlen(cases[i].text), cases[i].stop, 64);
		assert_string_equal(t, cases[i].want);
		free(t);
	}
	char *t = omr_search_terms("one two three four", 18, 1, 2);
	assert_string_equal(t, "one two");
	free(t);
	/* invalid UTF-8 separates words */
	t = omr_search_terms("ab\xff" "cd", 5, 1, 8);
	assert_string_equal(t, "ab cd");
	free(t);
}

static void test_parse(void **state)
{
	static const struct {
		const char *q;
		const char *id, *addr, *phone, *names, *words;
	} cases[] = {
		{ "c_01m89a9zq7q90cv47bm512", "c_01m89a9zq7q90cv47bm512", "", "", "", "" },
		{ "  u_01m89a9zq7s1yk27n5adw1 ", "u_01m89a9zq7s1yk27n5adw1", "", "", "", "" },
		{ "Anna@Example.com", "", "anna@example.com", "", "", "" },
		{ "06 1234 5678", "", "", "876543216", "", "" },
		{ "+31 (6) 12-34-56-78", "", "", "87654321613", "", "" },
		{ "12345", "", "12345", "", "12345", "12345" },
		{ "de Boer", "", "", "", "de boer", "boer" },
		{ "Müller", "", "müller", "", "muller", "muller" },
		{ "a", "", "", "", "", "" },
		{ "*?[", "", "*?[", "", "", "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct omr_search_query q;
		char *err = NULL;
		assert_int_equal(omr_search_parse(cases[i].q, strlen(cases[i].q), &q, &err), 0);
		assert_string_equal(q.id, cases[i].id);
		assert_string_equal(q.addr, cases[i].addr);
		assert_string_equal(q.phone, cases[i].phone);
		assert_string_equal(q.names, cases[i].names);
		assert_string_equal(q.words, cases[i].words);
		omr_search_query_free(&q);
	}
	static const struct {
		const char *q;
		size_t len;
	} bad[] = { { "", 0 }, { "   \t", 4 }, { "a\0b", 3 }, { "\xc3", 1 } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct omr_search_query q;
		char *err = NULL;
		assert_int_equal(omr_search_parse(bad[i].q, bad[i].len, &q, &err), -1);
		assert_non_null(err);
		free(err);
	}
	char big[OMR_SEARCH_QUERY_MAX + 2];
	memset(big, 'x', sizeof(big));
	struct omr_search_query q;
	char *err = NULL;
	assert_int_equal(omr_search_parse(big, sizeof(big), &q, &err), -1);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_terms),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
