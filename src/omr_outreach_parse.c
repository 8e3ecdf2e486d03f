/*
 * omr_outreach_parse: the request body of POST /api/v1/conversations read
 * into a struct omr_outreach_req (omr_outreach.h). Pure: no I/O, no
 * configuration, so that it is fuzzed (tests/fuzz/fuzz_outreach.c). What
 * needs the configuration (does the channel, queue, agent or template
 * exist) is checked by omr_outreach_start().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_model.h"
#include "omr_outreach.h"
#include "omr_util.h"

#define OMR_OUTREACH_TEXT_MAX 65536
#define OMR_OUTREACH_VARS_MAX 32
#define OMR_OUTREACH_VAR_MAX 1024

static int omr_outreach_bad(const char **code_r, char **err_r, const char *code, const char *msg)
{
	*code_r = code;
	*err_r = omr_strdup(msg);
	return -1;
}

/* a string member (NULL when absent or null): 0, or -1 when not a string
 * of at most max bytes without a NUL */
static int omr_outreach_str(const json_t *body, const char *name, size_t max, const char **out_r)
{
	const json_t *v = json_object_get(body, name);
	*out_r = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
	    json_string_length(v) > max)
		return -1;
	*out_r = json_string_value(v);
	return 0;
}

/* {name, language, variables: {key: text}} */
static int omr_outreach_tmpl(const json_t *t, const char **code_r, char **err_r)
{
	const char *k;
	const json_t *v;
	if (!json_is_object(t))
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"template: {name, language, variables}");
	json_object_foreach((json_t *)t, k, v) {
		if (strcmp(k, "name") != 0 && strcmp(k, "language") != 0 &&
		    strcmp(k, "variables") != 0)
			return omr_outreach_bad(code_r, err_r, "bad_parameter",
						"template: unknown member (expected name, language, "
						"variables)");
	}
	const char *name = json_string_value(json_object_get(t, "name"));
	const json_t *lang = json_object_get(t, "language");
	if (!name || !omr_model_key_ok(name, 128))
		return omr_outreach_bad(code_r, err_r, "bad_parameter", "template.name: a template name");
	if (lang && (!json_is_string(lang) || !omr_model_key_ok(json_string_value(lang), 16)))
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"template.language: a language code such as en or nl");
	const json_t *vars = json_object_get(t, "variables");
	if (!vars)
		return 0;
	if (!json_is_object(vars) || json_object_size(vars) > OMR_OUTREACH_VARS_MAX)
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"template.variables: an object of at most 32 texts");
	json_object_foreach((json_t *)vars, k, v) {
		if (!omr_model_key_ok(k, 64) || !json_is_string(v) ||
		    json_string_length(v) > OMR_OUTREACH_VAR_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return omr_outreach_bad(code_r, err_r, "bad_parameter",
						"template.variables: names of 1-64 printable "
						"characters, texts of at most 1024 bytes");
	}
	return 0;
}

static int omr_outreach_known(const json_t *body, const char **code_r, char **err_r)
{
	static const char *const known[] = { "channel", "to", "customer", "text", "subject",
					     "template", "queue", "agent", "bot", NULL };
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)body, k, v) {
		int ok = 0;
		for (size_t i = 0; known[i]; i++)
			ok |= strcmp(k, known[i]) == 0;
		if (!ok) {
			*code_r = "bad_parameter";
			*err_r = omr_asprintf("unknown member '%.64s' (expected channel, to, customer, "
					      "text, subject, template, queue, agent, bot)", k);
			return -1;
		}
	}
	return 0;
}

/* the target: queue, agent, bot: true, or none of them (a notification) */
static int omr_outreach_target(const json_t *body, struct omr_outreach_req *req,
			       const char **code_r, char **err_r)
{
	const json_t *bot = json_object_get(body, "bot");
	if (omr_outreach_str(body, "queue", 64, &req->queue) < 0 || (req->queue && !*req->queue))
		return omr_outreach_bad(code_r, err_r, "bad_parameter", "queue: a queue name");
	if (omr_outreach_str(body, "agent", 64, &req->agent) < 0 || (req->agent && !*req->agent))
		return omr_outreach_bad(code_r, err_r, "bad_parameter", "agent: an agent id");
	if (bot && !json_is_boolean(bot))
		return omr_outreach_bad(code_r, err_r, "bad_parameter", "bot: true or false");
	if (json_is_true(bot) && (req->queue || req->agent))
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"one target: a queue, an agent (with an optional queue) or the bot");
	req->target = json_is_true(bot) ? "bot" : req->agent ? "agent" : req->queue ? "queue"
										      : "none";
	return 0;
}

int omr_outreach_parse(const json_t *body, struct omr_outreach_req *req, const char **code_r,
		       char **err_r)
{
	memset(req, 0, sizeof(*req));
	*err_r = NULL;
	if (!json_is_object(body))
		return omr_outreach_bad(code_r, err_r, "bad_request", "the body must be a JSON object");
	if (omr_outreach_known(body, code_r, err_r) < 0)
		return -1;
	if (omr_outreach_str(body, "channel", 32, &req->channel) < 0 ||
	    (req->channel && !omr_model_key_ok(req->channel, 32)))
		return omr_outreach_bad(code_r, err_r, "bad_parameter", "channel: a channel name");
	if (omr_outreach_str(body, "to", 320, &req->to) < 0 || (req->to && !omr_model_key_ok(req->to, 320)))
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"to: an address on the channel (printable, at most 320 bytes)");
	if (omr_outreach_str(body, "customer", 64, &req->customer) < 0 ||
	    (req->customer && !omr_model_id_ok(req->customer, "u_")))
		return omr_outreach_bad(code_r, err_r, "bad_parameter", "customer: a customer id (u_...)");
	if (!req->to == !req->customer)
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"either to (an address) or customer (an id)");
	if (req->to && !req->channel)
		return omr_outreach_bad(code_r, err_r, "bad_parameter", "to needs a channel");
	if (omr_outreach_str(body, "text", OMR_OUTREACH_TEXT_MAX, &req->text) < 0 ||
	    (req->text && !*req->text) || (req->text && !omr_utf8_valid(req->text, strlen(req->text))))
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"text: a non-empty text of at most 65536 bytes");
	if (omr_outreach_str(body, "subject", 998, &req->subject) < 0 ||
	    (req->subject && (strchr(req->subject, '\n') || strchr(req->subject, '\r'))))
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"subject: one line of at most 998 bytes");
	req->tmpl = json_object_get(body, "template");
	if (req->tmpl && json_is_null(req->tmpl))
		req->tmpl = NULL;
	if (req->tmpl && omr_outreach_tmpl(req->tmpl, code_r, err_r) < 0)
		return -1;
	if (!req->text == !req->tmpl)
		return omr_outreach_bad(code_r, err_r, "bad_parameter",
					"either text or template {name, language, variables}");
	return omr_outreach_target(body, req, code_r, err_r);
}
