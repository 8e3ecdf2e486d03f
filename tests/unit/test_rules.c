/* Unit tests: rule conditions in their sandbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_rules.h"

static json_t *facts(void)
{
	return json_pack("{s:s,s:s,s:s,s:b,s:{s:s},s:{s:s,s:i}}", "text",
			 "Hallo, mijn FACTUUR klopt niet", "channel", "webchat", "language", "nl",
			 "public", 0, "attrs", "intent", "billing", "customer", "name", "Anna",
			 "balance", -3);
}

static int eval(struct omr_rules *r, const char *expr, char **err_r)
{
	json_t *f = facts();
	int idx = omr_rules_compile(r, "t", expr, err_r);
	int rc = idx < 0 ? -2 : omr_rules_eval(r, idx, f, err_r);
	json_decref(f);
	return rc;
}

static void test_conditions(void **state)
{
	static const struct {
		const char *expr;
		int want;
	} cases[] = {
		{ "channel == 'webchat'", 1 },
		{ "channel == 'email'", 0 },
		{ "text:lower():find('factuur') ~= nil", 1 },
		{ "text:find('factuur')", 0 },
		{ "language == 'nl' and not public", 1 },
		{ "attrs.intent == 'billing'", 1 },
		{ "customer.balance < 0", 1 },
		{ "customer.name:upper() == 'ANNA'", 1 },
		{ "math.max(1, 2) == 2", 1 },
		{ "string.format('%d', 3) == '3'", 1 },
		{ "missing == nil", 1 },
		{ "#text > 10", 1 },
	};
	struct omr_rules *r = omr_rules_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		int rc = eval(r, cases[i].expr, &err);
		if (rc != cases[i].want)
			fail_msg("'%s' gave %d (%s), want %d", cases[i].expr, rc, err ? err : "",
				 cases[i].want);
		free(err);
	}
	omr_rules_free(r);
}

static void test_sandbox(void **state)
{
	static const struct {
		const char *expr;
		const char *err;
	} cases[] = {
		/* no I/O, no OS, no loading code */
		{ "os.exit(1)", "os" },
		{ "io.open('/etc/passwd')", "io" },
		{ "require('os')", "require" },
		{ "load('return 1')()", "load" },
		{ "dofile('/etc/passwd')", "dofile" },
		{ "getmetatable('').__index.rep('x', 1e9)", NULL },
		{ "('x'):rep(1e9)", "rep" },
		{ "string.rep('x', 1e9)", "rep" },
		/* no stalls, no runaway memory */
		{ "(function() while true do end end)()", "too long" },
		{ "(function() local t = {} for i = 1, 1e9 do t[i] = i end end)()", NULL },
		{ "(function() local s = 'x' while true do s = s .. s end end)()", NULL },
		{ "error('boom')", "nil value" },
		{ "nil + 1", "arithmetic" },
	};
	struct omr_rules *r = omr_rules_new();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		int rc = eval(r, cases[i].expr, &err);
		if (rc != -1)
			fail_msg("'%s' gave %d, want a runtime error", cases[i].expr, rc);
		if (cases[i].err && (!err || !strstr(err, cases[i].err)))
			fail_msg("'%s': error '%s' does not mention '%s'", cases[i].expr,
				 err ? err : "", cases[i].err);
		free(err);
	}
	/* still usable after all that */
	char *err = NULL;
	assert_int_equal(eval(r, "channel == 'webchat'", &err), 1);
	omr_rules_free(r);
}

static void test_syntax(void **state)
{
	struct omr_rules *r = omr_rules_new();
	char *err = NULL;
	assert_int_equal(omr_rules_compile(r, "t", "text:find(", &err), -1);
	assert_non_null(err);
	assert_null(strstr(err, "[string")); /* the chunk name is stripped */
	free(err);
	err = NULL;
	/* a statement is not an expression */
	assert_int_equal(omr_rules_compile(r, "t", "x = 1", &err), -1);
	free(err);
	err = NULL;
	/* nor a way to end the expression early */
	assert_int_equal(omr_rules_compile(r, "t", "1) os.exit(", &err), -1);
	free(err);
	omr_rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_sandbox),
		cmocka_unit_test(test_syntax),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
