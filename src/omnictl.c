/*
 * omnictl: the operators' command-line tool for a running omniroute, a
 * thin client of the admin HTTP API (docs/omnictl.md). This file: the
 * command line, where the URL and the token come from, the command
 * table and help. The rest is described in omnictl.h.
 *
 * Settings, each on its own: --url/--token, else OMNIROUTE_URL and
 * OMNIROUTE_TOKEN, else the config file (--config FILE, else
 * SYSCONFDIR/omniroute/omnictl.conf), else the default URL.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "omnictl.h"

#ifndef OMR_SYSCONF_DIR
#define OMR_SYSCONF_DIR "/etc/omniroute"
#endif
#define OMNICTL_CONFIG OMR_SYSCONF_DIR "/omnictl.conf"
#define OMNICTL_CONFIG_MAX 65536

#define O_(o) OMNICTL_OPT(OMNICTL_O_##o)

static omnictl_run omnictl_cmd_help;

static const struct omnictl_cmd omnictl_cmds[] = {
	{ "status", "", 0, 0, OMNICTL_C_NOAUTH, omnictl_cmd_status, NULL,
	  "the daemon's health; exit status 0 when it is healthy" },
	{ "queues", "", 0, 0, 0, omnictl_cmd_queues, NULL,
	  "queues: waiting, oldest wait, agents available, service level today" },
	{ "agents", "", 0, 0, 0, omnictl_cmd_agents, NULL, "agents and their live state" },
	{ "agents away", "ID [--reason R]", 1, O_(REASON), 0, omnictl_cmd_presence, "away",
	  "set an agent away" },
	{ "agents logout", "ID [--reason R]", 1, O_(REASON), 0, omnictl_cmd_presence, "offline",
	  "log an agent out (presence offline)" },
	{ "agents signout", "ID", 1, 0, 0, omnictl_cmd_signout, NULL,
	  "end every console session of an agent on every node (admin scope)" },
	{ "conversations list", "[--status S] [--channel C] [--limit N] [--before ID]", 0,
	  O_(STATUS) | O_(CHANNEL) | O_(LIMIT) | O_(BEFORE), 0, omnictl_cmd_conv_list, NULL,
	  "conversations, newest first" },
	{ "conversations show", "ID", 1, 0, 0, omnictl_cmd_conv_show, NULL,
	  "a conversation with its messages and customer" },
	{ "conversations close", "ID", 1, 0, 0, omnictl_cmd_conv_close, NULL,
	  "close a conversation" },
	{ "conversations transfer", "ID (--queue Q | --agent A) [--note TEXT]", 1,
	  O_(QUEUE) | O_(AGENT) | O_(NOTE), 0, omnictl_cmd_conv_transfer, NULL,
	  "move a conversation to a queue or to an agent" },
	{ "conversations start", "(--channel C --address A | --customer ID [--channel C]) "
	  "(--text T | --template NAME[:LANGUAGE]) [--subject S] [--queue Q | --agent A] [--key K]", 0,
	  O_(CHANNEL) | O_(ADDRESS) | O_(CUSTOMER) | O_(TEXT) | O_(TEMPLATE) | O_(SUBJECT) | O_(QUEUE) |
	  O_(AGENT) | O_(KEY), 0, omnictl_cmd_conv_start, NULL,
	  "start a conversation with a customer (docs/proactive.md)" },
	{ "signal", "TYPE (--customer ID | --channel C --address A) [--attributes JSON]", 1,
	  O_(CHANNEL) | O_(ADDRESS) | O_(CUSTOMER) | O_(ATTRIBUTES), 0, omnictl_cmd_signal, NULL,
	  "send a business signal; the signals: rules decide" },
	{ "reports queues", "[--from DATE] [--to DATE] [--csv]", 0, O_(FROM) | O_(TO) | O_(CSV), 0,
	  omnictl_cmd_report, "queues", "per queue: contacts, answers, service level" },
	{ "reports agents", "[--from DATE] [--to DATE] [--csv]", 0, O_(FROM) | O_(TO) | O_(CSV), 0,
	  omnictl_cmd_report, "agents", "per agent: conversations, handling time" },
	{ "reports contact-reasons", "[--from DATE] [--to DATE] [--csv]", 0,
	  O_(FROM) | O_(TO) | O_(CSV), 0, omnictl_cmd_report, "contact-reasons",
	  "why customers got in touch, most frequent first" },
	{ "customer export", "ID", 1, 0, 0, omnictl_cmd_cust_export, NULL,
	  "everything kept about a customer, as JSON (admin scope)" },
	{ "customer erase", "ID [--force]", 1, O_(FORCE), 0, omnictl_cmd_cust_erase, NULL,
	  "erase a customer and all their data; --force: also open conversations" },
	{ "customer restrict", "ID [--off]", 1, O_(OFF), 0, omnictl_cmd_cust_restrict, NULL,
	  "restrict the processing of a customer's data (no bots, no proactive contact); "
	  "--off lifts it" },
	{ "reload", "", 0, 0, 0, omnictl_cmd_reload, NULL,
	  "re-read the configuration (as SIGHUP); a bad one is refused" },
	{ "drain", "[--off]", 0, O_(OFF), 0, omnictl_cmd_drain, NULL,
	  "take no new work (before a stop or an upgrade); --off ends it" },
	{ "audit", "[--limit N] [--before ID]", 0, O_(LIMIT) | O_(BEFORE), 0, omnictl_cmd_audit, NULL,
	  "who changed what through the admin API, newest first" },
	{ "help", "[COMMAND]", -1, 0, OMNICTL_C_LOCAL, omnictl_cmd_help, NULL,
	  "this text, or the commands that start with COMMAND" },
};

enum {
	OMNICTL_G_URL = 0x200,
	OMNICTL_G_TOKEN,
	OMNICTL_G_CONFIG,
	OMNICTL_G_JSON,
	OMNICTL_G_TIMEOUT,
};
#define OMNICTL_CMD_OPT 0x100 /* + enum omnictl_opt */

static const struct option omnictl_longopts[] = {
	{ "url", required_argument, NULL, OMNICTL_G_URL },
	{ "token", required_argument, NULL, OMNICTL_G_TOKEN },
	{ "config", required_argument, NULL, OMNICTL_G_CONFIG },
	{ "json", no_argument, NULL, OMNICTL_G_JSON },
	{ "timeout", required_argument, NULL, OMNICTL_G_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "reason", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_REASON },
	{ "status", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_STATUS },
	{ "channel", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_CHANNEL },
	{ "limit", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_LIMIT },
	{ "before", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_BEFORE },
	{ "queue", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_QUEUE },
	{ "agent", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_AGENT },
	{ "note", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_NOTE },
	{ "from", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_FROM },
	{ "to", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_TO },
	{ "csv", no_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_CSV },
	{ "off", no_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_OFF },
	{ "force", no_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_FORCE },
	{ "customer", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_CUSTOMER },
	{ "text", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_TEXT },
	{ "template", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_TEMPLATE },
	{ "subject", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_SUBJECT },
	{ "key", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_KEY },
	{ "attributes", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_ATTRIBUTES },
	{ "address", required_argument, NULL, OMNICTL_CMD_OPT + OMNICTL_O_ADDRESS },
	{ NULL, 0, NULL, 0 },
};

static const char *omnictl_opt_name(int val)
{
	for (const struct option *o = omnictl_longopts; o->name; o++) {
		if (o->val == val)
			return o->name;
	}
	return "?";
}

/* ---- help ---- */

/* control characters: not for a header, a file name or a terminal */
static int omnictl_bad_chars(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	}
	return 0;
}

/* The usage, or the commands that start with `word`; how many commands. */
static int omnictl_usage(FILE *f, const char *word)
{
	int found = 0;

	if (!word)
		fputs("usage: omnictl [--url URL] [--token TOKEN] [--config FILE] [--json] "
		      "[--timeout S] COMMAND ...\n\ncommands:\n",
		      f);
	for (size_t i = 0; i < sizeof(omnictl_cmds) / sizeof(omnictl_cmds[0]); i++) {
		const struct omnictl_cmd *cmd = &omnictl_cmds[i];
		size_t n = word ? strlen(word) : 0;
		if (word && (strncmp(cmd->words, word, n) != 0 || (cmd->words[n] && cmd->words[n] != ' ')))
			continue;
		fprintf(f, "  omnictl %s%s%s\n      %s\n", cmd->words, cmd->usage[0] ? " " : "",
			cmd->usage, cmd->help);
		found++;
	}
	if (word)
		return found;
	fputs("\noptions:\n"
	      "  --url URL        the admin API (else OMNIROUTE_URL, the config file, "
	      OMNICTL_DEFAULT_URL ")\n"
	      "  --token TOKEN    the admin token (else OMNIROUTE_TOKEN, the config file)\n"
	      "  --config FILE    settings file (default " OMNICTL_CONFIG "):\n"
	      "                   'url = URL' and 'token = TOKEN' lines\n"
	      "  --json           print the daemon's JSON answer, for scripts\n"
	      "  --timeout S      give up after S seconds (default 30)\n"
	      "  --help, --version\n"
	      "\nexit status: 0 done (status: healthy); 1 the daemon answered an error, is not\n"
	      "healthy or answered something unreadable; 2 usage, settings, or the token refused;\n"
	      "3 the daemon cannot be reached. See omnictl(1).\n",
	      f);
	return found;
}

static int omnictl_cmd_help(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	if (omnictl_usage(stdout, args[0]) == 0) {
		fprintf(stderr, "omnictl: no command '%s'\n", omnictl_bad_chars(args[0]) ? "?" : args[0]);
		return OMNICTL_USAGE;
	}
	return OMNICTL_OK;
}

/* ---- settings ---- */

static int omnictl_set(char **dst, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -1;
	free(*dst);
	*dst = v;
	return 0;
}

/* trims blanks at both ends, in place */
static char *omnictl_trim(char *s)
{
	size_t n;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

/* The config file: "key = value" lines, '#' comments. Every bad line is
 * reported before giving up. A file anyone may read must not hold the
 * token. Fills *url_r and *token_r (owned) with what it sets. */
static int omnictl_config_read(const char *path, int explicit, char **url_r, char **token_r)
{
	char *buf = NULL, *line, *next;
	const char *why = NULL;
	struct stat st;
	ssize_t got;
	size_t len = 0;
	int fd, bad = 0, lineno = 0;

	if (strcmp(path, "/dev/null") == 0)
		return OMNICTL_OK; /* --config /dev/null: no file */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT && !explicit)
			return OMNICTL_OK;
		fprintf(stderr, "omnictl: %s: %s\n", path, strerror(errno));
		return OMNICTL_USAGE;
	}
	if (fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size > OMNICTL_CONFIG_MAX)
		why = "larger than 64 KiB";
	if (why) {
		fprintf(stderr, "omnictl: %s: %s\n", path, why);
		close(fd);
		return OMNICTL_USAGE;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return omnictl_oom();
	}
	while (len < (size_t)st.st_size &&
	       (got = read(fd, buf + len, (size_t)st.st_size - len)) != 0) {
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			fprintf(stderr, "omnictl: %s: %s\n", path, strerror(errno));
			free(buf);
			close(fd);
			return OMNICTL_USAGE;
		}
		len += (size_t)got;
	}
	close(fd);
	buf[len] = '\0';
	for (line = buf; line && *line; line = next) {
		char *eq, *key, *value, **dst;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line = omnictl_trim(line);
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			fprintf(stderr, "omnictl: %s:%d: expected 'key = value'\n", path, lineno);
			bad = 1;
			continue;
		}
		*eq = '\0';
		key = omnictl_trim(line);
		value = omnictl_trim(eq + 1);
		dst = strcmp(key, "url") == 0 ? url_r : strcmp(key, "token") == 0 ? token_r : NULL;
		if (!dst) {
			fprintf(stderr, "omnictl: %s:%d: unknown key '%s' (url, token)\n", path, lineno,
				omnictl_bad_chars(key) ? "?" : key);
			bad = 1;
		} else if (!*value || omnictl_bad_chars(value)) {
			fprintf(stderr, "omnictl: %s:%d: %s: %s\n", path, lineno, key,
				*value ? "control characters in the value" : "no value");
			bad = 1;
		} else if (omnictl_set(dst, value) < 0) {
			free(buf);
			return omnictl_oom();
		}
	}
	if (!bad && *token_r && (st.st_mode & S_IROTH)) {
		fprintf(stderr, "omnictl: %s holds the admin token and every user may read it "
				"(mode %04o): refused; chmod o-r %s (0600, or 0640 for a group of "
				"operators)\n",
			path, (unsigned)(st.st_mode & 07777), path);
		bad = 1;
	}
	if (*token_r)
		memset(buf, 0, len); /* the token is not left in freed memory */
	free(buf);
	return bad ? OMNICTL_USAGE : OMNICTL_OK;
}

/* url and token, each from the first place that has it */
static int omnictl_settings(struct omnictl *c, const char *url, const char *token,
			    const char *config)
{
	const char *env_url = getenv("OMNIROUTE_URL"), *env_token = getenv("OMNIROUTE_TOKEN");
	char *file_url = NULL, *file_token = NULL;
	int rc = OMNICTL_OK;
	size_t n;

	if (!url && env_url && *env_url)
		url = env_url;
	if (!token && env_token && *env_token) {
		token = env_token;
		c->token_from = "OMNIROUTE_TOKEN";
	} else if (token) {
		c->token_from = "--token";
	}
	if (omnictl_set(&c->config_path, config ? config : OMNICTL_CONFIG) < 0)
		return omnictl_oom();
	if (config || !url || !token) {
		rc = omnictl_config_read(c->config_path, config != NULL, &file_url, &file_token);
		if (rc != OMNICTL_OK)
			goto done;
	}
	if (!url)
		url = file_url ? file_url : OMNICTL_DEFAULT_URL;
	if (!token && file_token) {
		token = file_token;
		c->token_from = c->config_path;
	}
	if (omnictl_set(&c->url, url) < 0 || (token && omnictl_set(&c->token, token) < 0)) {
		rc = omnictl_oom();
		goto done;
	}
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	if ((strncasecmp(c->url, "http://", 7) != 0 && strncasecmp(c->url, "https://", 8) != 0) ||
	    strchr(c->url, ' ') || omnictl_bad_chars(c->url)) {
		fputs("omnictl: the URL must be http://HOST[:PORT] or https://...: ", stderr);
		omnictl_put_clean(stderr, c->url, 0, NULL);
		fputc('\n', stderr);
		rc = OMNICTL_USAGE;
	} else if (c->token && (!*c->token || omnictl_bad_chars(c->token))) {
		fprintf(stderr, "omnictl: the token (from %s) is empty or contains control characters\n",
			c->token_from);
		rc = OMNICTL_USAGE;
	}
done:
	if (file_token)
		memset(file_token, 0, strlen(file_token));
	free(file_url);
	free(file_token);
	return rc;
}

/* ---- the command line ---- */

static int omnictl_number(const char *s, long min, long max, long *v_r)
{
	char *end;
	errno = 0;
	*v_r = strtol(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *v_r >= min && *v_r <= max ? 0 : -1;
}

static int omnictl_date_ok(const char *s)
{
	static const char pat[] = "dddd-dd-dd";
	for (size_t i = 0; i < sizeof(pat); i++) {
		if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i])
			return 0;
	}
	return 1;
}

/* The command named by the first words of args; *nwords_r: how many. */
static const struct omnictl_cmd *omnictl_find(char **args, int nargs, int *nwords_r)
{
	const struct omnictl_cmd *best = NULL;
	*nwords_r = 0;
	for (size_t i = 0; i < sizeof(omnictl_cmds) / sizeof(omnictl_cmds[0]); i++) {
		const char *w = omnictl_cmds[i].words;
		int k = 0;
		while (k < nargs) {
			size_t n = strcspn(w, " ");
			if (strlen(args[k]) != n || strncmp(args[k], w, n) != 0)
				break;
			k++;
			w += n;
			if (!*w)
				break;
			w++;
		}
		if (!*w && k > *nwords_r) {
			best = &omnictl_cmds[i];
			*nwords_r = k;
		}
	}
	return best;
}

static int omnictl_run_cmd(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	int rc;
	if (!(cmd->flags & (OMNICTL_C_NOAUTH | OMNICTL_C_LOCAL)) && !c->token) {
		fprintf(stderr, "omnictl: no admin token: give --token, set OMNIROUTE_TOKEN, or put "
				"'token = ...' in %s\n",
			c->config_path);
		return OMNICTL_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("omnictl: libcurl cannot start\n", stderr);
		return OMNICTL_FAILED;
	}
	c->curl = curl_easy_init();
	if (!c->curl)
		rc = omnictl_oom();
	else
		rc = cmd->run(c, cmd, args);
	curl_easy_cleanup(c->curl);
	c->curl = NULL;
	curl_global_cleanup();
	return rc;
}

static int omnictl_main(struct omnictl *c, int argc, char **argv)
{
	const char *url = NULL, *token = NULL, *config = NULL;
	const struct omnictl_cmd *cmd;
	unsigned given = 0;
	int opt, nwords, nargs;
	long n;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hV", omnictl_longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			omnictl_usage(stdout, NULL);
			return OMNICTL_OK;
		case 'V':
			printf("omnictl (omniroute) %s\n", PACKAGE_VERSION);
			return OMNICTL_OK;
		case OMNICTL_G_URL:
			url = optarg;
			break;
		case OMNICTL_G_TOKEN:
			token = optarg;
			break;
		case OMNICTL_G_CONFIG:
			config = optarg;
			break;
		case OMNICTL_G_JSON:
			c->json = 1;
			break;
		case OMNICTL_G_TIMEOUT:
			if (omnictl_number(optarg, 1, 3600, &c->timeout_s) < 0) {
				fprintf(stderr, "omnictl: --timeout: expected seconds from 1 to 3600\n");
				return OMNICTL_USAGE;
			}
			break;
		case ':':
			fprintf(stderr, "omnictl: %s needs a value (see omnictl help)\n",
				argv[optind - 1]);
			return OMNICTL_USAGE;
		case '?': {
			/* optopt: a short option's letter; for a long one, its value */
			char letter[3] = { '-', (char)optopt, '\0' };
			fprintf(stderr, "omnictl: unknown option '%s' (see omnictl help)\n",
				optopt > 0 && optopt < 128 && isalnum(optopt) ? letter :
										 argv[optind - 1]);
			return OMNICTL_USAGE;
		}
		default: /* a command's option */
			if (opt < OMNICTL_CMD_OPT || opt >= OMNICTL_CMD_OPT + OMNICTL_O_COUNT)
				return OMNICTL_USAGE;
			c->opt[opt - OMNICTL_CMD_OPT] = optarg ? optarg : "";
			given |= 1u << (opt - OMNICTL_CMD_OPT);
			break;
		}
	}
	nargs = argc - optind;
	if (nargs == 0) {
		omnictl_usage(stderr, NULL);
		return OMNICTL_USAGE;
	}
	cmd = omnictl_find(argv + optind, nargs, &nwords);
	nargs -= nwords;
	if (!cmd || (cmd->nargs >= 0 && nargs > cmd->nargs) || (cmd->nargs < 0 && nargs > 1)) {
		fputs("omnictl: unknown command '", stderr);
		for (int i = optind; i < argc; i++)
			fprintf(stderr, "%s%s", i > optind ? " " : "",
				omnictl_bad_chars(argv[i]) ? "?" : argv[i]);
		fputs("'\n", stderr);
		if (omnictl_usage(stderr, argv[optind]) == 0) /* a group: its commands */
			fputs("see: omnictl help\n", stderr);
		return OMNICTL_USAGE;
	}
	if (cmd->nargs > 0 && nargs < cmd->nargs) {
		fprintf(stderr, "usage: omnictl %s %s\n", cmd->words, cmd->usage);
		return OMNICTL_USAGE;
	}
	for (int o = 0; o < OMNICTL_O_COUNT; o++) {
		if ((given & ~cmd->opts) & (1u << o)) {
			fprintf(stderr, "omnictl: %s takes no --%s\n", cmd->words,
				omnictl_opt_name(OMNICTL_CMD_OPT + o));
			return OMNICTL_USAGE;
		}
	}
	if (c->opt[OMNICTL_O_LIMIT] && omnictl_number(c->opt[OMNICTL_O_LIMIT], 1, 100000, &n) < 0) {
		fputs("omnictl: --limit: expected a number from 1\n", stderr);
		return OMNICTL_USAGE;
	}
	for (int o = OMNICTL_O_FROM; o <= OMNICTL_O_TO; o++) {
		if (c->opt[o] && !omnictl_date_ok(c->opt[o])) {
			fprintf(stderr, "omnictl: --%s: expected a date YYYY-MM-DD\n",
				omnictl_opt_name(OMNICTL_CMD_OPT + o));
			return OMNICTL_USAGE;
		}
	}
	if (c->opt[OMNICTL_O_CSV] && c->json) {
		fputs("omnictl: --csv or --json, not both\n", stderr);
		return OMNICTL_USAGE;
	}
	for (int i = 0; i < nargs; i++) {
		if (!*argv[optind + nwords + i]) {
			fprintf(stderr, "usage: omnictl %s %s\n", cmd->words, cmd->usage);
			return OMNICTL_USAGE;
		}
	}
	if (cmd->flags & OMNICTL_C_LOCAL) {
		char *none[] = { NULL };
		return cmd->run(c, cmd, nargs ? argv + optind + nwords : none);
	}
	int rc = omnictl_settings(c, url, token, config);
	if (rc != OMNICTL_OK)
		return rc;
	return omnictl_run_cmd(c, cmd, argv + optind + nwords);
}

int main(int argc, char **argv)
{
	struct omnictl c = { .timeout_s = OMNICTL_DEFAULT_TIMEOUT };
	int rc = omnictl_main(&c, argc, argv);

	if (c.token)
		memset(c.token, 0, strlen(c.token));
	free(c.token);
	free(c.url);
	free(c.config_path);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "omnictl: cannot write the output: %s\n", strerror(errno));
		if (rc == OMNICTL_OK)
			rc = OMNICTL_FAILED;
	}
	return rc;
}
