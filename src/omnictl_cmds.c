/*
 * omnictl_cmds: the commands (see the table in omnictl.c). Each builds
 * one request, and prints the answer as a table or a few lines, or, with
 * --json, as the daemon sent it (omnictl_call). The answer's shape is
 * checked before it is used: what is missing prints as "-".
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "omnictl.h"

#define OMNICTL_NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* "?name=value" or "&name=value", when value is set */
static int omnictl_query(struct omnictl *c, struct omnictl_str *s, const char *name,
			 const char *value)
{
	if (!value)
		return 0;
	if (omnictl_str_addf(s, "%c%s=", s->p && strchr(s->p, '?') ? '&' : '?', name) < 0)
		return -1;
	return omnictl_str_escape(c, s, value);
}

/* base + the escaped id + tail */
static int omnictl_path(struct omnictl *c, struct omnictl_str *s, const char *base,
			const char *id, const char *tail)
{
	if (omnictl_str_add(s, base, strlen(base)) < 0 || omnictl_str_escape(c, s, id) < 0 ||
	    omnictl_str_add(s, tail, strlen(tail)) < 0)
		return -1;
	return 0;
}

static const json_t *omnictl_want(const char *method, const char *path, const json_t *obj,
				  const char *field, json_type type)
{
	const json_t *v = json_object_get(obj, field);
	if (v && json_typeof(v) == type)
		return v;
	fprintf(stderr, "omnictl: %s %s: unexpected answer: no %s \"%s\"\n", method, path,
		type == JSON_ARRAY ? "list" : "field", field);
	return NULL;
}

/* "next": the page after this one */
static void omnictl_next(const json_t *obj)
{
	const char *next = json_string_value(json_object_get(obj, "next"));
	if (next) {
		fputs("(more: --before ", stderr);
		omnictl_put_clean(stderr, next, 0, NULL);
		fputs(")\n", stderr);
	}
}

/* GET path, then a table of its list `field` */
static int omnictl_list(struct omnictl *c, const char *path, const char *field,
			const struct omnictl_col *cols, size_t ncols)
{
	struct omnictl_answer a;
	const json_t *rows;
	int rc = omnictl_call(c, "GET", path, NULL, OMNICTL_R_AUTH, &a);
	if (rc == OMNICTL_OK && !c->json) {
		if (!(rows = omnictl_want("GET", path, a.json, field, JSON_ARRAY)))
			rc = OMNICTL_FAILED;
		else if (omnictl_table(stdout, cols, ncols, rows) < 0)
			rc = OMNICTL_FAILED;
		else
			omnictl_next(a.json);
	}
	omnictl_answer_free(&a);
	return rc;
}

/* method path with body; then `say` prints the human answer */
static int omnictl_send(struct omnictl *c, const char *method, const char *path, json_t *body,
			void (*say)(const json_t *answer, const void *arg), const void *arg)
{
	struct omnictl_answer a;
	int rc = omnictl_call(c, method, path, body, OMNICTL_R_AUTH, &a);
	if (rc == OMNICTL_OK && !c->json)
		say(a.json, arg);
	omnictl_answer_free(&a);
	return rc;
}

/* a string field of the answer, else the fallback (cleaned) */
static void omnictl_put_field(const json_t *obj, const char *field, const char *fallback)
{
	const json_t *v = json_object_get(obj, field);
	struct omnictl_str s = { 0 };
	if (v && !json_is_object(v) && !json_is_array(v) && omnictl_value(&s, v, OMNICTL_F_TEXT) == 0)
		omnictl_put_clean(stdout, s.p, 0, NULL);
	else
		omnictl_put_clean(stdout, fallback, 0, NULL);
	omnictl_str_free(&s);
}

/* ---- status ---- */

int omnictl_cmd_status(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	static const struct omnictl_col cols[] = {
		{ "status", "status", OMNICTL_F_TEXT },   { "reason", "reason", OMNICTL_F_TEXT },
		{ "node", "node", OMNICTL_F_TEXT },       { "version", "version", OMNICTL_F_TEXT },
		{ "redis", "redis", OMNICTL_F_TEXT },     { "uptime", "uptime_s", OMNICTL_F_SECS },
		{ "draining", "draining", OMNICTL_F_BOOL },
	};
	struct omnictl_answer a;
	const char *st;
	int rc = omnictl_request(c, "GET", "/healthz", NULL, 0, &a);

	if (rc != OMNICTL_OK)
		goto done;
	st = json_string_value(json_object_get(a.json, "status"));
	if (!st || !json_is_object(a.json) || (a.status != 200 && a.status != 503)) {
		if (a.status < 200 || a.status > 299) {
			rc = omnictl_refused(c, "GET", "/healthz", &a);
		} else {
			fputs("omnictl: GET /healthz: the answer is not the daemon's health (no "
			      "\"status\")\n", stderr);
			rc = OMNICTL_FAILED;
		}
		goto done;
	}
	if (c->json)
		omnictl_print_body(&a);
	else if (omnictl_record(stdout, cols, OMNICTL_NCOLS(cols), a.json) < 0)
		rc = OMNICTL_FAILED;
	if (rc == OMNICTL_OK && (a.status != 200 || strcmp(st, "ok") != 0)) {
		fputs("omnictl: the daemon is not healthy: ", stderr);
		omnictl_put_clean(stderr, st, 0, NULL);
		fprintf(stderr, " (HTTP %ld)\n", a.status);
		rc = OMNICTL_FAILED;
	}
done:
	omnictl_answer_free(&a);
	return rc;
}

/* ---- queues, agents ---- */

int omnictl_cmd_queues(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	static const struct omnictl_col cols[] = {
		{ "queue", "name", OMNICTL_F_TEXT },
		{ "waiting", "waiting", OMNICTL_F_TEXT },
		{ "oldest", "oldest_wait_s", OMNICTL_F_SECS },
		{ "available", "agents_available", OMNICTL_F_TEXT },
		{ "answered", "answered_today", OMNICTL_F_TEXT },
		{ "sla%", "sla.attainment", OMNICTL_F_TEXT },
		{ "handle", "avg_handle_s", OMNICTL_F_SECS },
		{ "open", "open", OMNICTL_F_BOOL },
	};
	return omnictl_list(c, "/api/v1/queues", "queues", cols, OMNICTL_NCOLS(cols));
}

int omnictl_cmd_agents(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	static const struct omnictl_col cols[] = {
		{ "agent", "id", OMNICTL_F_TEXT },
		{ "name", "name", OMNICTL_F_TEXT },
		{ "presence", "presence", OMNICTL_F_TEXT },
		{ "reason", "presence_reason", OMNICTL_F_TEXT },
		{ "sessions", "sessions", OMNICTL_F_TEXT },
		{ "convs", "conversations", OMNICTL_F_TEXT },
		{ "load", "load", OMNICTL_F_MAP },
		{ "node", "node", OMNICTL_F_TEXT },
	};
	return omnictl_list(c, "/api/v1/agents", "agents", cols, OMNICTL_NCOLS(cols));
}

static void omnictl_say_presence(const json_t *answer, const void *arg)
{
	const char *const *req = arg; /* agent, presence */
	fputs("agent ", stdout);
	omnictl_put_field(answer, "agent", req[0]);
	fputs(": ", stdout);
	omnictl_put_field(answer, "presence", req[1]);
	fputc('\n', stdout);
}

/* agents away|logout ID: cmd->arg is the presence */
int omnictl_cmd_presence(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	const char *req[2] = { args[0], cmd->arg };
	const char *reason = c->opt[OMNICTL_O_REASON];
	json_t *body = json_pack("{s:s}", "presence", cmd->arg);
	int rc;

	if (!body || (reason && json_object_set_new(body, "reason", json_string(reason)) < 0) ||
	    omnictl_path(c, &path, "/api/v1/agents/", args[0], "/presence") < 0)
		rc = omnictl_oom();
	else
		rc = omnictl_send(c, "POST", path.p, body, omnictl_say_presence, req);
	json_decref(body);
	omnictl_str_free(&path);
	return rc;
}

static void omnictl_say_signout(const json_t *answer, const void *arg)
{
	fputs("agent ", stdout);
	omnictl_put_field(answer, "agent", arg);
	fputs(": signed out everywhere\n", stdout);
}

/* agents signout ID: every console session ends, on every node */
int omnictl_cmd_signout(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	int rc;
	if (omnictl_path(c, &path, "/api/v1/agents/", args[0], "/sessions") < 0)
		rc = omnictl_oom();
	else
		rc = omnictl_send(c, "DELETE", path.p, NULL, omnictl_say_signout, args[0]);
	omnictl_str_free(&path);
	return rc;
}

/* ---- conversations ---- */

static const struct omnictl_col omnictl_conv_cols[] = {
	{ "conversation", "id", OMNICTL_F_TEXT },
	{ "channel", "channel", OMNICTL_F_TEXT },
	{ "status", "status", OMNICTL_F_TEXT },
	{ "queue", "queue", OMNICTL_F_TEXT },
	{ "agent", "agent", OMNICTL_F_TEXT },
	{ "msgs", "msg_count", OMNICTL_F_TEXT },
	{ "created", "created_at", OMNICTL_F_TIME },
	{ "last message", "last_message_at", OMNICTL_F_TIME },
};

int omnictl_cmd_conv_list(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	int rc;
	if (omnictl_str_add(&path, "/api/v1/conversations", 21) < 0 ||
	    omnictl_query(c, &path, "status", c->opt[OMNICTL_O_STATUS]) < 0 ||
	    omnictl_query(c, &path, "channel", c->opt[OMNICTL_O_CHANNEL]) < 0 ||
	    omnictl_query(c, &path, "limit", c->opt[OMNICTL_O_LIMIT]) < 0 ||
	    omnictl_query(c, &path, "before", c->opt[OMNICTL_O_BEFORE]) < 0)
		rc = omnictl_oom();
	else
		rc = omnictl_list(c, path.p, "conversations", omnictl_conv_cols,
				  OMNICTL_NCOLS(omnictl_conv_cols));
	omnictl_str_free(&path);
	return rc;
}

/* one message: "time  direction  who: text", the text's lines indented */
static int omnictl_message(const json_t *m, const json_t *conv)
{
	static const char indent[] = "                         "; /* under the author */
	const char *dir = json_string_value(json_object_get(m, "direction"));
	const char *who = json_string_value(json_object_get(m, "author_name"));
	const char *text = json_string_value(json_object_get(m, "text"));
	const char *st = json_string_value(json_object_get(m, "status"));
	const json_t *att;
	struct omnictl_str t = { 0 };
	size_t i;

	if (!json_is_object(m))
		return 0;
	if (!who && dir && strcmp(dir, "in") == 0)
		who = json_string_value(omnictl_get(conv, "customer_profile.name"));
	if (!who)
		who = json_string_value(json_object_get(m, "author_id"));
	if (!who)
		who = json_string_value(json_object_get(m, "author"));
	if (omnictl_value(&t, json_object_get(m, "created_at"), OMNICTL_F_TIME) < 0)
		return omnictl_oom(), -1;
	printf("%-19s  ", t.p);
	omnictl_str_free(&t);
	omnictl_put_clean(stdout, dir ? dir : "-", 0, NULL);
	fputs(dir && strlen(dir) < 4 ? &"    "[strlen(dir)] : " ", stdout);
	omnictl_put_clean(stdout, who ? who : "?", 0, NULL);
	fputs(": ", stdout);
	omnictl_put_clean(stdout, text ? text : "", 1, indent);
	json_array_foreach(json_object_get(m, "attachments"), i, att) {
		const char *name = json_string_value(json_object_get(att, "name"));
		fputs(" [attachment ", stdout);
		omnictl_put_clean(stdout, name ? name : "?", 0, NULL);
		fputc(']', stdout);
	}
	if (st && dir && strcmp(dir, "out") == 0) {
		fputs(" (", stdout);
		omnictl_put_clean(stdout, st, 0, NULL);
		fputc(')', stdout);
	}
	fputc('\n', stdout);
	return 0;
}

int omnictl_cmd_conv_show(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	static const struct omnictl_col cols[] = {
		{ "conversation", "id", OMNICTL_F_TEXT },
		{ "channel", "channel", OMNICTL_F_TEXT },
		{ "status", "status", OMNICTL_F_TEXT },
		{ "queue", "queue", OMNICTL_F_TEXT },
		{ "agent", "agent", OMNICTL_F_TEXT },
		{ "bot", "bot", OMNICTL_F_TEXT },
		{ "priority", "priority", OMNICTL_F_TEXT },
		{ "language", "language", OMNICTL_F_TEXT },
		{ "skills", "skills", OMNICTL_F_MAP },
		{ "tags", "tags", OMNICTL_F_TEXT },
		{ "customer", "customer", OMNICTL_F_TEXT },
		{ "name", "customer_profile.name", OMNICTL_F_TEXT },
		{ "email", "customer_profile.email", OMNICTL_F_TEXT },
		{ "address", "address", OMNICTL_F_TEXT },
		{ "messages", "msg_count", OMNICTL_F_TEXT },
		{ "created", "created_at", OMNICTL_F_TIME },
		{ "updated", "updated_at", OMNICTL_F_TIME },
		{ "assigned", "assigned_at", OMNICTL_F_TIME },
		{ "closed", "closed_at", OMNICTL_F_TIME },
		{ "reason", "wrapup.reason", OMNICTL_F_TEXT },
		{ "outcome", "wrapup.outcome", OMNICTL_F_TEXT },
		{ "notes", "wrapup.notes", OMNICTL_F_TEXT },
	};
	struct omnictl_str path = { 0 };
	struct omnictl_answer a = { 0 };
	const json_t *msgs, *m;
	size_t i;
	int rc;

	if (omnictl_path(c, &path, "/api/v1/conversations/", args[0], "") < 0) {
		rc = omnictl_oom();
		goto done;
	}
	rc = omnictl_call(c, "GET", path.p, NULL, OMNICTL_R_AUTH, &a);
	if (rc != OMNICTL_OK || c->json)
		goto done;
	if (omnictl_record(stdout, cols, OMNICTL_NCOLS(cols), a.json) < 0) {
		rc = OMNICTL_FAILED;
		goto done;
	}
	msgs = json_object_get(a.json, "messages");
	if (json_array_size(msgs))
		fputc('\n', stdout);
	json_array_foreach(msgs, i, m) {
		if (omnictl_message(m, a.json) < 0) {
			rc = OMNICTL_FAILED;
			break;
		}
	}
done:
	omnictl_answer_free(&a);
	omnictl_str_free(&path);
	return rc;
}

static void omnictl_say_closed(const json_t *answer, const void *arg)
{
	fputs("conversation ", stdout);
	omnictl_put_field(answer, "conversation", arg);
	fputs(" closed\n", stdout);
}

int omnictl_cmd_conv_close(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	int rc;
	if (omnictl_path(c, &path, "/api/v1/conversations/", args[0], "/close") < 0)
		rc = omnictl_oom();
	else
		rc = omnictl_send(c, "POST", path.p, NULL, omnictl_say_closed, args[0]);
	omnictl_str_free(&path);
	return rc;
}

static void omnictl_say_transferred(const json_t *answer, const void *arg)
{
	const char *const *req = arg; /* conversation, "queue"|"agent", its name */
	fputs("conversation ", stdout);
	omnictl_put_field(answer, "conversation", req[0]);
	printf(" transferred to %s ", req[1]);
	omnictl_put_clean(stdout, req[2], 0, NULL);
	fputc('\n', stdout);
}

int omnictl_cmd_conv_transfer(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	const char *queue = c->opt[OMNICTL_O_QUEUE], *agent = c->opt[OMNICTL_O_AGENT];
	const char *note = c->opt[OMNICTL_O_NOTE];
	const char *req[3] = { args[0], queue ? "queue" : "agent", queue ? queue : agent };
	struct omnictl_str path = { 0 };
	json_t *body;
	int rc;

	if (!queue == !agent) {
		fprintf(stderr, "omnictl: conversations transfer: give --queue Q or --agent A (one "
				"of them)\n");
		return OMNICTL_USAGE;
	}
	body = json_pack("{s:s}", req[1], req[2]);
	if (!body || (note && json_object_set_new(body, "note", json_string(note)) < 0) ||
	    omnictl_path(c, &path, "/api/v1/conversations/", args[0], "/transfer") < 0)
		rc = omnictl_oom();
	else
		rc = omnictl_send(c, "POST", path.p, body, omnictl_say_transferred, req);
	json_decref(body);
	omnictl_str_free(&path);
	return rc;
}

/* ---- reports ---- */

/* Any report: its lists of objects as tables, its objects as indented
 * sections, its other fields as "name: value" lines; blank lines around
 * the tables and sections. */
static int omnictl_report_print(const json_t *report, int depth)
{
	static const char indent[] = "        ";
	const char *pad = indent + sizeof(indent) - 1 - 2 * (depth < 4 ? depth : 4);
	const char *key;
	const json_t *v;
	int prev = 0; /* printed so far: 0 nothing, 1 a line, 2 a table or section */

	json_object_foreach((json_t *)report, key, v) {
		size_t n = strlen(key);
		int table = json_is_array(v) && (json_array_size(v) == 0 ||
						 json_is_object(json_array_get(v, 0)));
		int section = json_is_object(v) && json_object_size(v) > 0 && depth < 3;
		if (table || section) {
			printf("%s%s", prev ? "\n" : "", pad);
			omnictl_put_clean(stdout, key, 0, NULL);
			fputs(":\n", stdout);
			if (section ? omnictl_report_print(v, depth + 1) < 0 :
			    json_array_size(v) == 0 ? fputs("(none)\n", stdout) < 0 :
			    omnictl_table_auto(stdout, v) < 0)
				return -1;
			prev = 2;
			continue;
		}
		struct omnictl_str s = { 0 };
		enum omnictl_fmt fmt = (n > 3 && strcmp(key + n - 3, "_at") == 0) ? OMNICTL_F_TIME :
				       (n > 2 && strcmp(key + n - 2, "_s") == 0) ? OMNICTL_F_SECS :
										   OMNICTL_F_TEXT;
		if (omnictl_value(&s, v, fmt) < 0) {
			omnictl_str_free(&s);
			return omnictl_oom(), -1;
		}
		printf("%s%s", prev == 2 ? "\n" : "", pad);
		omnictl_put_clean(stdout, key, 0, NULL);
		fputs(": ", stdout);
		omnictl_put_clean(stdout, s.p, 0, NULL);
		fputc('\n', stdout);
		omnictl_str_free(&s);
		prev = 1;
	}
	return 0;
}

/* reports queues|agents|contact-reasons: cmd->arg is the report */
int omnictl_cmd_report(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	struct omnictl_answer a = { 0 };
	int csv = c->opt[OMNICTL_O_CSV] != NULL;
	int rc;

	if (omnictl_str_addf(&path, "/api/v1/reports/%s", cmd->arg) < 0 ||
	    omnictl_query(c, &path, "from", c->opt[OMNICTL_O_FROM]) < 0 ||
	    omnictl_query(c, &path, "to", c->opt[OMNICTL_O_TO]) < 0 ||
	    omnictl_query(c, &path, "format", csv ? "csv" : NULL) < 0) {
		rc = omnictl_oom();
		goto done;
	}
	rc = omnictl_call(c, "GET", path.p, NULL, OMNICTL_R_AUTH | (csv ? OMNICTL_R_CSV : 0), &a);
	if (rc != OMNICTL_OK || c->json)
		goto done;
	if (csv)
		fwrite(a.body.p ? a.body.p : "", 1, a.body.len, stdout); /* as it came */
	else if (omnictl_report_print(a.json, 0) < 0)
		rc = OMNICTL_FAILED;
done:
	omnictl_answer_free(&a);
	omnictl_str_free(&path);
	return rc;
}

/* ---- reload, drain, audit ---- */

int omnictl_cmd_reload(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	static const char path[] = "/api/v1/reload";
	struct omnictl_answer a;
	int rc = omnictl_call(c, "POST", path, NULL, OMNICTL_R_AUTH, &a);
	if (rc == OMNICTL_OK && !c->json)
		puts("configuration reloaded");
	else if (a.status == 422)
		fputs("omnictl: the configuration was not reloaded: the running one stays\n", stderr);
	omnictl_answer_free(&a);
	return rc;
}

static void omnictl_say_drain(const json_t *answer, const void *arg)
{
	const json_t *v = json_object_get(answer, "draining");
	int on = v ? json_is_true(v) : *(const int *)arg;
	puts(on ? "the daemon is draining" : "the daemon is not draining");
}

int omnictl_cmd_drain(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	int on = c->opt[OMNICTL_O_OFF] == NULL;
	json_t *body = on ? NULL : json_pack("{s:b}", "draining", 0);
	int rc;
	if (!on && !body)
		return omnictl_oom();
	rc = omnictl_send(c, "POST", "/api/v1/drain", body, omnictl_say_drain, &on);
	json_decref(body);
	return rc;
}

int omnictl_cmd_audit(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	static const struct omnictl_col cols[] = {
		{ "time", "at", OMNICTL_F_TIME },
		{ "who", "who", OMNICTL_F_TEXT },
		{ "action", "action", OMNICTL_F_TEXT },
		{ "target", "target", OMNICTL_F_TEXT },
		{ "detail", "detail", OMNICTL_F_MAP },
	};
	struct omnictl_str path = { 0 };
	int rc;
	if (omnictl_str_add(&path, "/api/v1/audit", 13) < 0 ||
	    omnictl_query(c, &path, "limit", c->opt[OMNICTL_O_LIMIT]) < 0 ||
	    omnictl_query(c, &path, "before", c->opt[OMNICTL_O_BEFORE]) < 0)
		rc = omnictl_oom();
	else
		rc = omnictl_list(c, path.p, "entries", cols, OMNICTL_NCOLS(cols));
	omnictl_str_free(&path);
	return rc;
}

/* ---- customers: export, erasure, restriction ---- */

/* The export is the customer's data as JSON, whatever --json says; on a
 * terminal every non-ASCII character is escaped, so that a customer's
 * name cannot steer the operator's terminal (a file gets UTF-8). */
int omnictl_cmd_cust_export(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	struct omnictl_answer a = { 0 };
	int rc;

	if (omnictl_path(c, &path, "/api/v1/customers/", args[0], "/export") < 0) {
		omnictl_str_free(&path);
		return omnictl_oom();
	}
	rc = omnictl_call(c, "GET", path.p, NULL, OMNICTL_R_AUTH, &a);
	if (rc == OMNICTL_OK && !c->json &&
	    (json_dumpf(a.json, stdout, JSON_INDENT(2) | (isatty(1) ? JSON_ENSURE_ASCII : 0)) < 0 ||
	     fputc('\n', stdout) == EOF))
		rc = OMNICTL_FAILED;
	omnictl_answer_free(&a);
	omnictl_str_free(&path);
	return rc;
}

static void omnictl_say_erased(const json_t *answer, const void *arg)
{
	static const char *const what[] = { "conversations", "messages", "attachments",
					    "addresses" };
	const json_t *erased = json_object_get(answer, "erased");
	fputs("customer ", stdout);
	omnictl_put_field(answer, "customer", arg);
	fputs(" erased:", stdout);
	for (size_t i = 0; i < OMNICTL_NCOLS(what); i++)
		printf("%s %lld %s", i ? "," : "",
		       (long long)json_integer_value(json_object_get(erased, what[i])), what[i]);
	fputc('\n', stdout);
}

int omnictl_cmd_cust_erase(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	struct omnictl_answer a = { 0 };
	int rc;

	if (omnictl_path(c, &path, "/api/v1/customers/", args[0],
			 c->opt[OMNICTL_O_FORCE] ? "?force=1" : "") < 0) {
		omnictl_str_free(&path);
		return omnictl_oom();
	}
	rc = omnictl_call(c, "DELETE", path.p, NULL, OMNICTL_R_AUTH, &a);
	if (rc == OMNICTL_OK && !c->json)
		omnictl_say_erased(a.json, args[0]);
	omnictl_answer_free(&a);
	omnictl_str_free(&path);
	return rc;
}

static void omnictl_say_restricted(const json_t *answer, const void *arg)
{
	const json_t *v = json_object_get(answer, "restricted");
	fputs("customer ", stdout);
	omnictl_put_field(answer, "customer", arg);
	puts(json_is_true(v) ? ": processing restricted (no bots, no proactive contact)" :
			       ": processing not restricted");
}

int omnictl_cmd_cust_restrict(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	struct omnictl_str path = { 0 };
	json_t *body = json_pack("{s:b}", "restricted", c->opt[OMNICTL_O_OFF] == NULL);
	int rc;
	if (!body || omnictl_path(c, &path, "/api/v1/customers/", args[0], "/restrict") < 0)
		rc = omnictl_oom();
	else
		rc = omnictl_send(c, "POST", path.p, body, omnictl_say_restricted, args[0]);
	json_decref(body);
	omnictl_str_free(&path);
	return rc;
}
