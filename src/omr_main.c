/*
 * omniroute: the daemon's entry point. Parses the command line, loads the
 * configuration, and hands over to omr_core. `-t` runs the same loading
 * code (config files and plugins) without opening sockets, like nginx -t.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include <event2/thread.h>
#include <openssl/crypto.h>

#include "omr_config.h"
#include "omr_explain.h"
#include "omr_sim.h"
#include "omr_core.h"
#include "omr_log.h"
#include "omr_move.h"
#include "omr_password.h"
#include "omr_plugin.h"
#include "omr_util.h"

#ifndef OMR_SYSCONF_DIR
#define OMR_SYSCONF_DIR "/etc/omniroute"
#endif

/* Descriptors beyond the listeners' connections: Redis, plugins, files,
 * the worker pool, libevent and libwebsockets themselves. */
#define OMR_FD_MARGIN 256
/* When the hard limit is unlimited, the kernel still caps the soft one at
 * fs.nr_open; this is its default. */
#define OMR_FD_NR_OPEN 1048576

static void omr_usage(FILE *f)
{
	fprintf(f,
		"usage: omniroute [-c FILE] [-t] [-v] [-h]\n"
		"       omniroute --hash-password [--iterations N]\n"
		"       omniroute --hash-token [--generate]\n"
		"       omniroute --describe-config\n"
		"       omniroute [-c FILE] --move-site HOST:PORT\n"
		"       omniroute [-c FILE] --explain JSON|-\n"
		"       omniroute [-c FILE] --simulate ROUTING.yaml --from DATE --to DATE [--json]\n"
		"\n"
		"  -c, --config FILE     configuration (default %s/omniroute.yaml)\n"
		"  -t, --test            check the configuration and plugins, then exit\n"
		"  -v, --version         print the version and exit\n"
		"      --hash-password   read a password (stdin) and print its hash for agents.yaml\n"
		"      --hash-token      read an agent's login token (stdin) and print its hash\n"
		"      --generate        with --hash-token: make a random token, print it and its hash\n"
		"      --describe-config print the configuration keys as a Markdown table\n"
		"      --move-site HOST:PORT  move the site's Redis Cluster slot to that primary\n"
		"                        while the nodes run (see docs/operations.md)\n"
		"      --explain JSON    what the routing decides for a conversation like\n"
		"                        {\"channel\":\"webchat\",\"text\":\"...\"} (- : stdin), as JSON;\n"
		"                        no Redis needed (see docs/routing.md)\n"
		"      --simulate ROUTING.yaml  replay the conversations recorded between --from\n"
		"                        and --to (YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]Z or ms)\n"
		"                        with the current routing and with ROUTING.yaml; reads\n"
		"                        Redis only (see docs/routing.md)\n"
		"      --json            with --simulate: one JSON object instead of a table\n"
		"  -h, --help            this text\n",
		OMR_SYSCONF_DIR);
}

/* One line from stdin into buf, without echo on a terminal; 0, or -1
 * when it is empty or does not fit (a silently cut secret would hash to
 * something nobody can present). */
static int omr_read_secret(const char *prompt, char *buf, size_t len, const char **why_r)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);
	size_t n;

	if (tty) {
		fprintf(stderr, "%s: ", prompt);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	if (!fgets(buf, (int)len, stdin))
		buf[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	n = strlen(buf);
	if (n == len - 1 && buf[n - 1] != '\n' && !feof(stdin)) {
		*why_r = "is too long";
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		*why_r = "is empty";
		return -1;
	}
	return 0;
}

static int omr_hash_password(unsigned iterations)
{
	char line[1024];
	const char *why;
	char *err = NULL, *hash;

	if (omr_read_secret("Password", line, sizeof(line), &why) < 0) {
		fprintf(stderr, "omniroute: the password %s\n", why);
		return 1;
	}
	hash = omr_password_hash(line, iterations, &err);
	OPENSSL_cleanse(line, sizeof(line));
	if (!hash) {
		fprintf(stderr, "omniroute: %s\n", err);
		free(err);
		return 1;
	}
	printf("%s\n", hash);
	free(hash);
	return 0;
}

/* --hash-token: the hash of a token read from stdin; with --generate, a
 * new token, then its hash (one a line: the token for the single sign-on
 * bridge, the hash for agents.yaml). */
static int omr_hash_token(int generate)
{
	char line[OMR_TOKEN_MAX + 2];
	const char *why;
	char *err = NULL, *token = NULL, *hash;
	int rc = 1;

	if (generate) {
		token = omr_token_generate(&err);
		if (!token)
			goto done;
	} else {
		if (omr_read_secret("Token", line, sizeof(line), &why) < 0) {
			fprintf(stderr, "omniroute: the token %s\n", why);
			return 1;
		}
		token = omr_strdup(line);
		OPENSSL_cleanse(line, sizeof(line));
	}
	hash = omr_token_hash(token, &err);
	if (!hash)
		goto done;
	if (generate)
		printf("%s\n", token);
	printf("%s\n", hash);
	free(hash);
	rc = 0;
done:
	if (err)
		fprintf(stderr, "omniroute: %s\n", err);
	free(err);
	if (token)
		OPENSSL_cleanse(token, strlen(token));
	free(token);
	return rc;
}

static int omr_describe_config(void)
{
	struct omr_buf b;
	omr_buf_init(&b);
	omr_buf_puts(&b, "| key | type | default | meaning |\n|---|---|---|---|\n");
	omr_conf_describe(omr_config_keys, "", &b);
	fputs(b.data, stdout);
	omr_buf_free(&b);
	return 0;
}

/* Every connection holds a descriptor: the soft limit is raised to the hard
 * one (as Redis does). Returns the limit in force. */
static rlim_t omr_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		omr_log_warn("cannot read the descriptor limit: %s", strerror(errno));
		return RLIM_INFINITY;
	}
	was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? OMR_FD_NR_OPEN : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			omr_log_warn("cannot raise the descriptor limit from %llu to %llu: %s",
				     (unsigned long long)was, (unsigned long long)rl.rlim_cur,
				     strerror(errno));
			rl.rlim_cur = was;
		}
	}
	omr_log_info("descriptor limit: %llu (was %llu)", (unsigned long long)rl.rlim_cur,
		     (unsigned long long)was);
	return rl.rlim_cur;
}

/* A limit too low for the admission caps is said at start, rather than
 * found when accept() fails under load. */
static void omr_check_nofile(const struct omr_config *c, rlim_t limit)
{
	const long long edge = c->admission.edge.max_connections;
	const long long hooks = c->admission.webhooks.max_connections;
	const long long admin = c->admission.admin.max_connections;
	const long long need = OMR_FD_MARGIN + edge + hooks + admin; /* 0: no cap */

	if (limit == RLIM_INFINITY || (rlim_t)need <= limit)
		return;
	omr_log_warn("descriptor limit %llu is low for the admission limits: "
		     "admission.*.max_connections (edge %lld, webhooks %lld, admin %lld; 0: no cap) "
		     "and %d for Redis, plugins and files need %lld or more; when descriptors run "
		     "out, new connections wait. Raise the limit (systemd LimitNOFILE=, ulimit -n) "
		     "or lower max_connections", (unsigned long long)limit, edge, hooks, admin,
		     OMR_FD_MARGIN, need);
}

static void omr_warn_short_token(const struct omr_config *c)
{
	if (c->admin.test_clock)
		omr_log_warn("admin.test_clock is on: POST /api/v1/debug/clock may move this node's "
			     "clock; for tests only, never on a live site");
	if (c->admin.token && strlen(c->admin.token) < OMR_ADMIN_TOKEN_MIN)
		omr_log_warn("admin.token is shorter than %d characters: accepted only because the "
			     "admin API listens on loopback (%s); use a long random token",
			     OMR_ADMIN_TOKEN_MIN, c->admin.listen.address);
}

/* Load the configuration and every plugin; print all errors. */
static struct omr_config *omr_load(const char *path, int test)
{
	struct omr_conf_errs errs;
	struct omr_config *cfg;

	omr_conf_errs_init(&errs);
	cfg = omr_config_load(path, &errs);
	if (cfg && test) {
		struct omr_plugin **plugins;
		size_t n;
		omr_core_open_plugins(cfg, &plugins, &n, &errs);
		for (size_t i = 0; i < n; i++)
			omr_plugin_close(plugins[i]);
		free(plugins);
	}
	if (errs.count) {
		fputs(errs.text.data, stderr);
		fprintf(stderr, "omniroute: configuration %s has %d error(s)\n", path, errs.count);
		omr_config_free(cfg);
		cfg = NULL;
	}
	omr_conf_errs_free(&errs);
	return cfg;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "hash-password", no_argument, NULL, 'P' },
		{ "hash-token", no_argument, NULL, 'K' },
		{ "generate", no_argument, NULL, 'G' },
		{ "iterations", required_argument, NULL, 'I' },
		{ "describe-config", no_argument, NULL, 'D' },
		{ "move-site", required_argument, NULL, 'M' },
		{ "explain", required_argument, NULL, 'E' },
		{ "simulate", required_argument, NULL, 'S' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = OMR_SYSCONF_DIR "/omniroute.yaml";
	const char *move_to = NULL, *explain = NULL;
	struct omr_sim_opts sim = { 0 };
	int test = 0, hash = 0, hash_token = 0, generate = 0, opt;
	long long iterations = OMR_PASSWORD_ITERATIONS;
	struct omr_config *cfg;
	struct omr_core *core;

	while ((opt = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'v':
			printf("omniroute %s (plugin ABI %u)\n", PACKAGE_VERSION, OMR_PLUGIN_ABI_VERSION);
			return 0;
		case 'h':
			omr_usage(stdout);
			return 0;
		case 'P':
			hash = 1;
			break;
		case 'K':
			hash_token = 1;
			break;
		case 'G':
			generate = 1;
			break;
		case 'I':
			if (omr_parse_ll(optarg, &iterations) < 0 || iterations < 1000 ||
			    iterations > 10000000) {
				fprintf(stderr, "omniroute: --iterations: 1000..10000000\n");
				return 2;
			}
			break;
		case 'D':
			return omr_describe_config();
		case 'M':
			move_to = optarg;
			break;
		case 'E':
			explain = optarg;
			break;
		case 'S':
			sim.proposed = optarg;
			break;
		case 'F':
			sim.from = optarg;
			break;
		case 'T':
			sim.to = optarg;
			break;
		case 'J':
			sim.json = 1;
			break;
		default:
			omr_usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (hash && hash_token) || (generate && !hash_token) ||
	    (!sim.proposed && (sim.from || sim.to || sim.json))) {
		omr_usage(stderr);
		return 2;
	}
	if (hash)
		return omr_hash_password((unsigned)iterations);
	if (hash_token)
		return omr_hash_token(generate);

	cfg = omr_load(path, test);
	if (!cfg)
		return 1;
	if (explain) {
		int rc = omr_explain(cfg, explain, stdout, stderr);
		omr_config_free(cfg);
		return rc;
	}
	if (sim.proposed) {
		int rc = omr_simulate(cfg, &sim, stdout, stderr);
		omr_config_free(cfg);
		return rc;
	}
	if (move_to) {
		int moved = omr_move_site(cfg, move_to, stdout, stderr);
		omr_config_free(cfg);
		return moved < 0 ? 1 : 0;
	}
	if (test) {
		omr_warn_short_token(cfg);
		fprintf(stderr, "omniroute: configuration %s is valid\n", path);
		omr_config_free(cfg);
		return 0;
	}
	omr_log_setup(cfg->log.level, cfg->log.syslog, "omniroute");
	omr_warn_short_token(cfg);
	omr_check_nofile(cfg, omr_raise_nofile());
	/* libevent locks must be set up before the loop exists: the edge
	 * thread wakes the main loop with event_active(). */
	if (evthread_use_pthreads() < 0) {
		omr_log_error("libevent has no pthreads support");
		omr_config_free(cfg);
		return 1;
	}
	core = omr_core_new(path, cfg);
	int rc = omr_core_run(core);
	omr_core_free(core);
	omr_log_info("stopped");
	return rc;
}
