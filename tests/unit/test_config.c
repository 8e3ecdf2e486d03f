/* Unit tests: configuration loading. Every file in tests/conf/bad/ must be
 * refused with each message named in its "# expect:" lines (file:line
 * included); the good and the shipped configurations must load. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "omr_agents_conf.h"
#include "omr_config.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

static struct omr_config *load(const char *path, struct omr_conf_errs *errs)
{
	omr_conf_errs_init(errs);
	return omr_config_load(path, errs);
}

static void test_good(void **state)
{
	struct omr_conf_errs errs;
	struct omr_config *c;

	setenv("OMR_TEST_ADMIN_TOKEN", "from-the-environment", 1);
	c = load(OMR_TEST_SRCDIR "/tests/conf/good/omniroute.yaml", &errs);
	if (!c)
		fail_msg("good config refused:\n%s", errs.text.data);
	assert_string_equal(c->node.id, "node-a");
	assert_int_equal(c->log.level, 3);
	assert_string_equal(c->redis.url, "redis://:pw@127.0.0.1:6390/1");
	assert_string_equal(c->redis.prefix, "acme");
	assert_int_equal(c->redis.connect_timeout, 2000);
	assert_int_equal(c->redis.command_timeout, 1500);
	assert_int_equal(c->edge.listen.port, 18080);
	assert_string_equal(c->edge.listen.address, "0.0.0.0");
	assert_string_equal(c->admin.listen.address, "127.0.0.1"); /* default */
	assert_string_equal(c->admin.token, "from-the-environment");
	assert_string_equal(c->edge.allowed_origins[0], "https://support.example.com");
	assert_null(c->edge.allowed_origins[1]);
	assert_int_equal(c->edge.ping_interval, 20000);
	assert_int_equal(c->limits.text_max, 8192);
	assert_int_equal(c->limits.dedup_ttl, 2 * 86400000LL);
	assert_int_equal(c->limits.attachments_max, 20); /* default */
	assert_int_equal(c->nplugins, 2);
	assert_string_equal(c->plugins[0].name, "webchat");
	assert_string_equal(c->plugins[0].path, "/tmp/omr-plugins/webchat.so");
	assert_true(c->plugins[0].enabled);
	assert_non_null(c->plugins[0].config);
	assert_false(c->plugins[1].enabled);
	/* routing */
	assert_int_equal(c->routing->nskills, 2);
	assert_string_equal(c->routing->skills[1].description, "technical trouble");
	assert_int_equal(c->routing->nqueues, 2);
	assert_int_equal(c->routing->queues[0].priority, 70);
	assert_int_equal(c->routing->queues[1].priority, 50); /* default */
	assert_int_equal(c->routing->queues[0].skills[0].min, 2);
	assert_string_equal(c->routing->default_queue, "tech");
	assert_string_equal(c->routing->outcomes[0], "resolved");
	/* agents */
	assert_int_equal(c->agents->nagents, 2);
	const struct omr_agent_conf *a = omr_agents_find(c->agents, "alice");
	assert_non_null(a);
	assert_int_equal(omr_agent_skill_level(a, "billing"), 5);
	assert_int_equal(omr_agent_skill_level(a, "tech"), 0);
	assert_int_equal(omr_agent_capacity(a, "webchat"), 2);
	assert_string_equal(a->languages[0], "nl");
	a = omr_agents_find(c->agents, "sso.user@example.com");
	/* token.txt holds the hash of this token (its newline stripped) */
	assert_ptr_equal(omr_agents_find_token(c->agents, "abcdefghijklmnopqrstuvwxyz"), a);
	assert_null(omr_agents_find_token(c->agents, "abcdefghijklmnopqrstuvwxyZ"));
	assert_null(omr_agents_find_token(c->agents, a->token)); /* the hash is no token */
	assert_null(omr_agents_find_token(c->agents, ""));
	assert_null(omr_agents_find_token(c->agents, NULL));
	omr_config_free(c);
	omr_conf_errs_free(&errs);
}

/* A relative path to the file still gives absolute paths inside, so that
 * programs started elsewhere (redis-server) find them. */
static void test_relative(void **state)
{
	struct omr_conf_errs errs;
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(OMR_TEST_SRCDIR "/tests/conf"), 0);
	struct omr_config *c = load("good/omniroute.yaml", &errs);
	assert_int_equal(chdir(cwd), 0);
	if (!c)
		fail_msg("refused:\n%s", errs.text.data);
	char *want = realpath(OMR_TEST_SRCDIR "/tests/conf/good/omniroute.yaml", NULL);
	assert_non_null(want);
	assert_string_equal(c->file, want);
	free(want);
	want = realpath(OMR_TEST_SRCDIR "/tests/conf/good/routing.yaml", NULL);
	assert_string_equal(c->routing_file, want);
	free(want);
	omr_config_free(c);
	omr_conf_errs_free(&errs);
}

static void test_shipped(void **state)
{
	struct omr_conf_errs errs;
	struct omr_config *c = load(OMR_TEST_SRCDIR "/conf/omniroute.yaml", &errs);
	if (!c)
		fail_msg("shipped config refused:\n%s", errs.text.data);
	assert_true(c->redis.embedded);
	assert_int_equal(c->edge.listen.port, 8080);
	assert_int_equal(c->webhooks.listen.port, 8081);
	assert_int_equal(c->admin.listen.port, 8082);
	assert_string_equal(c->admin.listen.address, "127.0.0.1");
	assert_string_equal(c->admin.token, "demo");
	assert_non_null(omr_agents_find(c->agents, "alice"));
	assert_non_null(omr_agents_find(c->agents, "bob"));
	assert_non_null(strstr(c->paths.state_dir, "/var"));
	omr_config_free(c);
	omr_conf_errs_free(&errs);
}

/* Where a short admin token is allowed (tests/conf/bad has the refusal). */
static void test_loopback(void **state)
{
	static const struct {
		const char *address;
		int loopback;
	} cases[] = {
		{ "127.0.0.1", 1 }, { "127.1.2.3", 1 }, { "::1", 1 }, { "::ffff:127.0.0.1", 1 },
		{ "localhost", 1 }, { "0.0.0.0", 0 }, { "::", 0 }, { "10.0.0.1", 0 },
		{ "128.0.0.1", 0 }, { "::2", 0 }, { "::ffff:10.0.0.1", 0 }, { "example.com", 0 },
		{ "", 0 }, { NULL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (omr_config_loopback(cases[i].address) != cases[i].loopback)
			fail_msg("%s: expected loopback %d", cases[i].address ? cases[i].address : "NULL",
				 cases[i].loopback);
}

/* A routing or agents file is checked inside a main config. */
static char *wrap(const char *bad, const char *kind)
{
	char tmpl[] = "/tmp/omr-test-conf-XXXXXX.yaml";
	int fd = mkstemps(tmpl, 5);
	FILE *f;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "edge: { listen: { port: 18080 } }\nwebhooks: { listen: { port: 18081 } }\n"
		   "admin: { listen: { port: 18082 }, token: abcd }\nredis: { embedded: true }\n"
		   "routing: %s\nagents: %s\n",
		strcmp(kind, "routing") == 0 ? bad : OMR_TEST_SRCDIR "/tests/conf/good/routing.yaml",
		strcmp(kind, "agents") == 0 ? bad : OMR_TEST_SRCDIR "/tests/conf/good/agents.yaml");
	fclose(f);
	return omr_strdup(tmpl);
}

static void check_bad(const char *name)
{
	char *path = omr_asprintf(OMR_TEST_SRCDIR "/tests/conf/bad/%s", name);
	char *data = omr_read_file(path, 1 << 20, NULL, NULL);
	char *main_path = NULL;
	struct omr_conf_errs errs;
	struct omr_config *c;
	int nexpect = 0;

	assert_non_null(data);
	if (strncmp(name, "routing-", 8) == 0)
		main_path = wrap(path, "routing");
	else if (strncmp(name, "agents-", 7) == 0)
		main_path = wrap(path, "agents");
	c = load(main_path ? main_path : path, &errs);
	if (c)
		fail_msg("%s was accepted", name);
	for (char *line = data; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "# expect: ", 10) == 0) {
			nexpect++;
			if (!strstr(errs.text.data, line + 10))
				fail_msg("%s: expected \"%s\" in:\n%s", name, line + 10, errs.text.data);
		}
		line = nl ? nl + 1 : NULL;
	}
	if (nexpect == 0)
		fail_msg("%s has no '# expect:' line", name);
	if (main_path) {
		unlink(main_path);
		free(main_path);
	}
	omr_conf_errs_free(&errs);
	free(data);
	free(path);
}

static void test_bad(void **state)
{
	DIR *d = opendir(OMR_TEST_SRCDIR "/tests/conf/bad");
	struct dirent *de;
	int n = 0;
	assert_non_null(d);
	unsetenv("OMR_TEST_SURELY_UNSET");
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".yaml"))
			continue;
		check_bad(de->d_name);
		n++;
	}
	closedir(d);
	assert_true(n >= 20);
}

static void test_describe(void **state)
{
	struct omr_buf b;
	omr_buf_init(&b);
	omr_conf_describe(omr_config_keys, "", &b);
	assert_non_null(strstr(b.data, "| `redis.embedded` | boolean | false |"));
	assert_non_null(strstr(b.data, "| `edge.listen.port` | integer (1..65535) | required |"));
	omr_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_relative),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
