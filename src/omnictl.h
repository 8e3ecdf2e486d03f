/*
 * omnictl: the operators' command-line client of the admin HTTP API
 * (docs/omnictl.md, man/omnictl.1). One process, one request, no threads;
 * everything it holds hangs off struct omnictl, which main() owns.
 *
 *   omnictl.c        options, settings (flags, environment, config file),
 *                    the command table, help
 *   omnictl_http.c   the one request function, and what an answer that is
 *                    not a success means (messages, exit codes)
 *   omnictl_print.c  the table and record printers, text that is safe for
 *                    a terminal, a growable string
 *   omnictl_cmds.c   the commands
 *
 * Nothing the daemon sends is trusted: an answer may be no JSON, the
 * wrong shape, huge, or carry terminal escapes in a customer's name.
 */
#ifndef OMNICTL_H
#define OMNICTL_H

#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>

/* Exit status (docs/omnictl.md#exit-status). */
enum omnictl_exit {
	OMNICTL_OK = 0,          /* done; for status: the daemon is healthy */
	OMNICTL_FAILED = 1,      /* the daemon answered an error, is not healthy, or answered
				  * something unreadable */
	OMNICTL_USAGE = 2,       /* bad command line or settings; the token refused (401, 403,
				  * 429) */
	OMNICTL_UNREACHABLE = 3, /* no HTTP answer: connection refused, timeout, reset */
};

/* An answer larger than this is not read (a conversation with its 1000
 * last messages is a few MB at most). */
#define OMNICTL_MAX_BODY (32u << 20)
#define OMNICTL_DEFAULT_URL "http://127.0.0.1:8082"
#define OMNICTL_DEFAULT_TIMEOUT 30

/* The options of commands; a command's entry says which it takes. */
enum omnictl_opt {
	OMNICTL_O_REASON,
	OMNICTL_O_STATUS,
	OMNICTL_O_CHANNEL,
	OMNICTL_O_LIMIT,
	OMNICTL_O_BEFORE,
	OMNICTL_O_QUEUE,
	OMNICTL_O_AGENT,
	OMNICTL_O_NOTE,
	OMNICTL_O_FROM,
	OMNICTL_O_TO,
	OMNICTL_O_CSV,
	OMNICTL_O_OFF,
	OMNICTL_O_FORCE,
	OMNICTL_O_CUSTOMER,
	OMNICTL_O_TEXT,
	OMNICTL_O_TEMPLATE,
	OMNICTL_O_SUBJECT,
	OMNICTL_O_KEY,
	OMNICTL_O_ATTRIBUTES,
	OMNICTL_O_ADDRESS,
	OMNICTL_O_COUNT
};
#define OMNICTL_OPT(o) (1u << (o))

struct omnictl {
	char *url;                /* owned: the API's base URL, no trailing '/' */
	char *token;              /* owned; NULL when none was found */
	const char *token_from;   /* borrowed: where the token came from, for messages */
	char *config_path;        /* owned: the config file read (or looked for) */
	long timeout_s;
	int json;                 /* --json */
	const char *opt[OMNICTL_O_COUNT]; /* borrowed from argv; "" for flags */
	CURL *curl;               /* owned */
};

struct omnictl_cmd;
typedef int omnictl_run(struct omnictl *c, const struct omnictl_cmd *cmd, char **args);

struct omnictl_cmd {
	const char *words;  /* "agents away" */
	const char *usage;  /* what follows the words: "ID [--reason R]" */
	int nargs;          /* positional arguments after the words; -1: 0 or 1 */
	unsigned opts;      /* OMNICTL_OPT() bits it accepts */
	unsigned flags;     /* OMNICTL_C_* */
	omnictl_run *run;
	const char *arg;    /* for run: the report's name */
	const char *help;
};
#define OMNICTL_C_NOAUTH 1u /* needs no token */
#define OMNICTL_C_LOCAL 2u  /* talks to no daemon */

/* ---- omnictl_print.c ---- */

/* A growable NUL-terminated string; after a failed allocation `failed`
 * stays set and every later add returns -1. */
struct omnictl_str {
	char *p;
	size_t len, cap;
	int failed;
};
int omnictl_str_add(struct omnictl_str *s, const char *data, size_t n);
int omnictl_str_addf(struct omnictl_str *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void omnictl_str_free(struct omnictl_str *s);

enum omnictl_fmt {
	OMNICTL_F_TEXT, /* a scalar as is; an array of scalars "a, b"; other JSON compact */
	OMNICTL_F_TIME, /* ms since the epoch, as local time */
	OMNICTL_F_SECS, /* seconds, as "4m05s" */
	OMNICTL_F_MAP,  /* an object of scalars, as "k:v k:v" */
	OMNICTL_F_BOOL, /* yes / no */
};

struct omnictl_col {
	const char *title;
	const char *key; /* a field of the row; "a.b": field b of the object field a */
	enum omnictl_fmt fmt;
};

/* A table of `rows` (a JSON array of objects; anything else in it is
 * skipped): one line of titles, one line a row, columns as wide as their
 * widest cell. Absent fields print as "-". -1 after an allocation failure
 * (reported). */
int omnictl_table(FILE *out, const struct omnictl_col *cols, size_t ncols, const json_t *rows);
/* The same, with a column for each field found in the rows, in the order
 * first seen ("*_at" as times, "*_s" as durations). */
int omnictl_table_auto(FILE *out, const json_t *rows);
/* "title  value" lines of one object; absent and empty fields are left
 * out. */
int omnictl_record(FILE *out, const struct omnictl_col *cols, size_t ncols, const json_t *obj);
/* Text safe for a terminal: control characters, C1 codes and
 * bidirectional overrides become '?', invalid UTF-8 too; with `multiline`
 * a newline stays and the lines after the first start with `indent`. At
 * most `maxw` characters (0: no limit), cut with "...". */
int omnictl_clean(struct omnictl_str *dst, const char *s, size_t maxw, int multiline,
		  const char *indent);
/* fputs of omnictl_clean(s); for messages from the daemon. */
void omnictl_put_clean(FILE *out, const char *s, int multiline, const char *indent);
/* The text of a value (v may be NULL: "-"), not yet cleaned. */
int omnictl_value(struct omnictl_str *s, const json_t *v, enum omnictl_fmt fmt);
/* The JSON value at "a.b" in obj, or NULL. */
const json_t *omnictl_get(const json_t *obj, const char *path);
int omnictl_oom(void);

/* ---- omnictl_http.c ---- */

struct omnictl_answer {
	long status;            /* HTTP status */
	char reason[64];        /* its reason phrase ("" with HTTP/2) */
	char content_type[64];  /* lower case, without parameters; "" if none */
	char retry_after[16];   /* the Retry-After header; "" if none */
	struct omnictl_str body;
	json_t *json;           /* owned: the body, when it is one JSON object or array */
};
#define OMNICTL_R_AUTH 1u /* send the token */
#define OMNICTL_R_CSV 2u  /* ask for text/csv */

/* One request to the URL + `path` (path and query already escaped), with
 * `body` as JSON (NULL: none). OMNICTL_OK when an HTTP answer arrived,
 * whatever its status; otherwise the exit status, after saying why. */
int omnictl_request(struct omnictl *c, const char *method, const char *path, const json_t *body,
		    unsigned flags, struct omnictl_answer *a);
/* omnictl_request, then: an answer that is not 2xx is explained
 * (omnictl_refused); a 2xx must be a JSON object (or text/csv with
 * OMNICTL_R_CSV); with --json the body is printed. OMNICTL_OK, or the exit
 * status. */
int omnictl_call(struct omnictl *c, const char *method, const char *path, const json_t *body,
		 unsigned flags, struct omnictl_answer *a);
/* Say why an answer is not a success; its exit status. With --json an
 * answer in JSON is printed on stdout as well. */
int omnictl_refused(struct omnictl *c, const char *method, const char *path,
		    const struct omnictl_answer *a);
void omnictl_print_body(const struct omnictl_answer *a);
void omnictl_answer_free(struct omnictl_answer *a);
/* s escaped for a path segment or query value, added to dst. */
int omnictl_str_escape(struct omnictl *c, struct omnictl_str *dst, const char *s);

/* ---- omnictl_cmds.c ---- */

omnictl_run omnictl_cmd_status, omnictl_cmd_queues, omnictl_cmd_agents, omnictl_cmd_presence,
	omnictl_cmd_conv_list, omnictl_cmd_conv_show, omnictl_cmd_conv_close,
	omnictl_cmd_conv_transfer, omnictl_cmd_report, omnictl_cmd_reload, omnictl_cmd_drain,
	omnictl_cmd_audit, omnictl_cmd_cust_export, omnictl_cmd_cust_erase,
	omnictl_cmd_cust_restrict, omnictl_cmd_signout;
/* omnictl_outreach.c */
omnictl_run omnictl_cmd_conv_start, omnictl_cmd_signal;

#endif
