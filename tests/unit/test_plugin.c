/* Unit tests: the plugin loader refuses what it must, with clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "omr_config.h"
#include "omr_core.h"
#include "omr_host.h"
#include "omr_plugin.h"
#include "omr_util.h"
#include "omr_yaml.h"
#include <omniroute/plugin.h>

#define PLUGDIR OMR_TEST_BUILDDIR "/tests/plugins/.libs/"

/* Open a plugin described by a YAML list item. */
static struct omr_plugin *open_yaml(const char *yaml, struct omr_conf_errs *errs,
				    struct omr_ydoc **doc_r)
{
	char *err = NULL;
	struct omr_plugin_conf pc = { 0 };
	struct omr_ydoc *doc = omr_yaml_load_string("plugins.yaml", yaml, strlen(yaml), &err);
	if (!doc)
		fail_msg("bad test YAML: %s", err);
	const struct omr_ynode *item = doc->root;
	pc.name = (char *)omr_ynode_get(item, "name")->value;
	pc.path = (char *)omr_ynode_get(item, "path")->value;
	pc.enabled = 1;
	pc.config = omr_ynode_get(item, "config");
	pc.at = item;
	omr_conf_errs_init(errs);
	*doc_r = doc;
	return omr_plugin_open(&pc, errs);
}

static void expect_refused(const char *yaml, const char *want)
{
	struct omr_conf_errs errs;
	struct omr_ydoc *doc;
	struct omr_plugin *p = open_yaml(yaml, &errs, &doc);
	if (p)
		fail_msg("accepted: %s", yaml);
	if (!strstr(errs.text.data, want))
		fail_msg("expected '%s' in: %s", want, errs.text.data);
	omr_conf_errs_free(&errs);
	omr_yaml_free(doc);
}

static void test_echo_ok(void **state)
{
	struct omr_conf_errs errs;
	struct omr_ydoc *doc;
	struct omr_plugin *p = open_yaml("name: echo\npath: " PLUGDIR "echo.so\n"
					 "config: { greeting: hi, flag: true }\n",
					 &errs, &doc);
	if (!p)
		fail_msg("echo refused: %s", errs.text.data);
	assert_string_equal(p->desc->name, "echo");
	assert_int_equal(p->desc->kind, OMR_PLUGIN_CHANNEL);
	struct echo_config {
		char *greeting;
		long long count;
		int flag;
	} *cfg = p->config;
	assert_string_equal(cfg->greeting, "hi");
	assert_int_equal(cfg->count, 3); /* default */
	assert_int_equal(cfg->flag, 1);
	omr_plugin_close(p);
	omr_conf_errs_free(&errs);
	omr_yaml_free(doc);
}

static void test_refusals(void **state)
{
	expect_refused("name: echo\npath: " PLUGDIR "echo.so\nconfig: { count: 2 }\n",
		       "plugins.yaml:3: missing required key 'greeting'");
	expect_refused("name: echo\npath: " PLUGDIR "echo.so\nconfig:\n  greeting: hi\n  count: 11\n",
		       "plugins.yaml:5: 11 is out of range (1..10)");
	expect_refused("name: echo\npath: " PLUGDIR "echo.so\nconfig: { greeting: hi, colour: red }\n",
		       "unknown key 'colour' (expected one of: greeting, count, flag)");
	char abi[120];
	snprintf(abi, sizeof(abi), "was built for plugin ABI version 42, this omniroute has ABI version %u",
		 (unsigned)OMR_PLUGIN_ABI_VERSION);
	expect_refused("name: badabi\npath: " PLUGDIR "badabi.so\n", abi);
	expect_refused("name: nosymbol\npath: " PLUGDIR "nosymbol.so\n",
		       "does not export the symbol 'omr_plugin'");
	expect_refused("name: missing\npath: " PLUGDIR "missing.so\n",
		       "plugin 'missing': cannot load");
	expect_refused("name: other\npath: " PLUGDIR "echo.so\n", "is plugin 'echo', not 'other'");
}

static void test_init_failure(void **state)
{
	struct omr_conf_errs errs;
	struct omr_ydoc *doc;
	char *err = NULL;
	struct omr_plugin *p = open_yaml("name: initfail\npath: " PLUGDIR "initfail.so\n", &errs,
					 &doc);
	assert_non_null(p);
	assert_int_equal(omr_plugin_init(p, omr_host_api_table(), NULL, &err), -1);
	assert_string_equal(err, "plugin 'initfail': init failed: the test plugin always fails");
	free(err);
	omr_plugin_close(p);
	omr_conf_errs_free(&errs);
	omr_yaml_free(doc);
}

/* omr_url_token_ok: where a channel's token may go (media fetches, a
 * provider plugin's api_base) */
static void test_url_token_ok(void **state)
{
	(void)state;
	static const struct {
		const char *url;
		int ok;
	} cases[] = {
		{ "https://graph.facebook.com/v19.0", 1 },
		{ "https://user@anywhere/x", 1 },          /* TLS: the token is safe on the way */
		{ "http://localhost", 1 },
		{ "http://LOCALHOST:8080/v1", 1 },
		{ "http://127.0.0.1:5000/path?q=1", 1 },
		{ "http://127.255.255.254/", 1 },
		{ "http://[::1]:9000/x", 1 },
		{ "http://[::1]", 1 },
		{ "http://127.0.0.1#@elsewhere/", 1 },     /* a fragment: the host is 127.0.0.1 */
		{ "http://example.com/", 0 },
		{ "http://10.0.0.1/", 0 },
		{ "http://128.0.0.1/", 0 },
		{ "http://127.0.0.1@elsewhere/", 0 },
		{ "http://127.0.0.1:x@elsewhere/", 0 },
		{ "http://localhost:x@elsewhere/", 0 },
		{ "http://[::1]@elsewhere/", 0 },
		{ "http://[::1]:80@elsewhere/", 0 },
		{ "http://[::1]elsewhere/", 0 },
		{ "http://localhost.elsewhere/", 0 },
		{ "http://127.0.0.1.elsewhere/", 0 },
		{ "http://127.999999999/", 0 },
		{ "http://127.1/", 0 },                    /* another spelling: refused */
		{ "http://2130706433/", 0 },
		{ "http://0x7f000001/", 0 },
		{ "http://[0:0:0:0:0:0:0:1]/", 0 },
		{ "http://127.0.0.1:80x/", 0 },
		{ "http://127.00.0.1/", 0 },
		{ "http://127.0.0.01/", 0 },
		{ "http://127.0.0.256/", 0 },
		{ "http://127.0.0.1./", 0 },
		{ "http://127.0.0/", 0 },
		{ "http://127.0.0.1.2/", 0 },
		{ "http://127..0.1/", 0 },
		{ "http://[::ffff:127.0.0.1]/", 0 },
		{ "http://%6cocalhost/", 0 },
		{ "http://localhosT/", 1 },
		{ "http://127.0.0.0/", 1 },
		{ "http://127.10.200.9:1/", 1 },
		{ "http://127.0.0.1 .elsewhere/", 0 },
		{ "http://127.0.0.1\\@elsewhere/", 0 },
		{ "http://", 0 },
		{ "ftp://127.0.0.1/", 0 },
		{ "HTTP://127.0.0.1/", 0 },
		{ "//127.0.0.1/", 0 },
		{ "", 0 },
	};
	assert_int_equal(omr_url_token_ok(NULL), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (omr_url_token_ok(cases[i].url) != cases[i].ok)
			fail_msg("omr_url_token_ok(\"%s\") is %d, want %d", cases[i].url,
				 !cases[i].ok, cases[i].ok);
}

static void history_never(void *arg, int status, json_t *json)
{
	(void)arg;
	(void)status;
	(void)json;
	fail_msg("a refused history call called back");
}

/* history and history_of refuse what cannot name a thread or a
 * conversation before they touch the host (or Redis): none of these
 * reaches the NULL host */
static void test_history_args(void **state)
{
	const struct omr_host_api *api = omr_host_api_table();
	char big[66];
	(void)state;
	memset(big, 'c', 65);
	big[65] = '\0';
	assert_true(api->struct_size >= offsetof(struct omr_host_api, history_of) +
						sizeof(api->history_of));
	const char *bad[] = { NULL, "", big, "c_1 2", "c_1\r\nDEL x", "c_\x01", "c_\x7f",
			      "c_\xc3\xa9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(api->history_of(NULL, bad[i], history_never, NULL), OMR_ERROR);
	assert_int_equal(api->history_of(NULL, "c_01abc", NULL, NULL), OMR_ERROR);
	assert_int_equal(api->history(NULL, NULL, NULL, history_never, NULL), OMR_ERROR);
	assert_int_equal(api->history(NULL, "a", "t 1", history_never, NULL), OMR_ERROR);
	assert_int_equal(api->history(NULL, "a", "t", NULL, NULL), OMR_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_ok),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_init_failure),
		cmocka_unit_test(test_url_token_ok),
		cmocka_unit_test(test_history_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
