/* Unit tests: omr_edge's pure parts (the same-origin rule of /agent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "omr_edge.h"

static void test_same_origin(void **state)
{
	static const struct {
		const char *origin, *host;
		int same;
	} cases[] = {
		{ "http://127.0.0.1:8080", "127.0.0.1:8080", 1 },
		{ "https://support.example.com", "support.example.com", 1 },
		{ "https://support.example.com", "support.example.com:443", 1 },
		{ "http://support.example.com:80", "support.example.com", 1 },
		{ "HTTPS://Support.Example.COM", "support.example.com", 1 },
		{ "http://[::1]:8080", "[::1]:8080", 1 },
		/* another site, port, scheme's port or name of the same machine */
		{ "https://evil.example", "support.example.com", 0 },
		{ "http://127.0.0.1:8081", "127.0.0.1:8080", 0 },
		{ "https://support.example.com", "support.example.com:80", 0 },
		{ "http://localhost:8080", "127.0.0.1:8080", 0 },
		{ "http://[::1]:8080", "[::1]:8081", 0 },
		/* not origins, or not hosts */
		{ "null", "127.0.0.1:8080", 0 },
		{ "file://", "127.0.0.1:8080", 0 },
		{ "ws://127.0.0.1:8080", "127.0.0.1:8080", 0 },
		{ "http://127.0.0.1:8080/", "127.0.0.1:8080", 0 },
		{ "http://127.0.0.1:", "127.0.0.1", 0 },
		{ "http://127.0.0.1:99999", "127.0.0.1:99999", 0 },
		{ "http://127.0.0.1:80x", "127.0.0.1:80x", 0 },
		{ "http://", "", 0 },
		{ "http://[::1", "[::1", 0 },
		{ "http://[::1]x", "[::1]x", 0 },
		{ "http://a.example", NULL, 0 },
		{ NULL, "a.example", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = omr_edge_same_origin(cases[i].origin, cases[i].host);
		if (got != cases[i].same)
			fail_msg("%s vs %s: got %d, want %d", cases[i].origin ? cases[i].origin : "NULL",
				 cases[i].host ? cases[i].host : "NULL", got, cases[i].same);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_origin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
