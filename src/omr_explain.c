/*
 * omr_explain: see omr_explain.h. The same facts and the same decision the
 * router makes for a new conversation (omr_route_facts, omr_route_decide),
 * at the time the input says.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "omr_calendar.h"
#include "omr_config.h"
#include "omr_explain.h"
#include "omr_route.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

#define OMR_EXPLAIN_MAX (1 << 20) /* bytes of input */

/* "at": ms since the epoch, or "YYYY-MM-DDTHH:MM[:SS]Z"; absent: now */
static int omr_explain_at(const json_t *v, long long *at_r, FILE *err)
{
	struct tm tm;
	const char *s = json_string_value(v);
	char *end;

	*at_r = omr_now_ms();
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*at_r = json_integer_value(v);
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if (s && (end = strptime(s, "%Y-%m-%dT%H:%M", &tm)) &&
	    (*end == 'Z' || (*end == ':' && (end = strptime(end, ":%S", &tm)) && *end == 'Z')) &&
	    end[1] == '\0') {
		*at_r = (long long)timegm(&tm) * 1000;
		return 0;
	}
	fprintf(err, "omniroute: --explain: at: ms since the epoch or YYYY-MM-DDTHH:MM[:SS]Z (UTC)\n");
	return -1;
}

/* The hypothetical conversation in the shape the store gives the router. */
static json_t *omr_explain_conv(const json_t *in)
{
	json_t *attrs = json_is_object(json_object_get(in, "attrs")) ?
				json_deep_copy(json_object_get(in, "attrs")) : json_object();
	static const char *const to_attrs[] = { "language", "intent", "subject", NULL };
	for (int k = 0; to_attrs[k]; k++)
		if (json_is_string(json_object_get(in, to_attrs[k])))
			json_object_set(attrs, to_attrs[k], json_object_get(in, to_attrs[k]));
	const json_t *text = json_object_get(in, "text");
	json_t *cust = json_object_get(in, "customer");
	/* "o" steals: the input's parts with a reference of their own */
	return json_pack("{s:O,s:b,s:o,s:[{s:s,s:o}],s:o,s:s}", "channel",
			 json_object_get(in, "channel"), "public",
			 json_is_true(json_object_get(in, "public")), "attrs", attrs, "messages",
			 "direction", "in", "text",
			 json_is_string(text) ? json_incref((json_t *)text) : json_string(""),
			 "customer_profile", json_is_object(cust) ? json_incref(cust) : json_object(),
			 "id", "c_explain");
}

int omr_explain(const struct omr_config *cfg, const char *input, FILE *out, FILE *err)
{
	const struct omr_routing_conf *rc = cfg->routing;
	json_error_t jerr;
	json_t *in, *conv, *facts, *res;
	struct omr_decision d;
	long long at;
	int repeat = 0;

	in = strcmp(input, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
				     : json_loads(input, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(in)) {
		fprintf(err, "omniroute: --explain: expected a JSON object: %s\n",
			in ? "not an object" : jerr.text);
		json_decref(in);
		return 2;
	}
	if (!json_is_string(json_object_get(in, "channel")) ||
	    !*json_string_value(json_object_get(in, "channel"))) {
		fprintf(err, "omniroute: --explain: channel: the conversation's channel (webchat, "
			     "email, whatsapp, ...)\n");
		json_decref(in);
		return 2;
	}
	if (omr_explain_at(json_object_get(in, "at"), &at, err) < 0) {
		json_decref(in);
		return 2;
	}
	conv = omr_explain_conv(in);
	facts = omr_route_facts(rc, conv, at, &repeat);
	omr_route_decide(rc, facts, rc->bot != NULL, &d);
	const struct omr_queue_conf *q = d.queue ? omr_routing_queue(rc, d.queue) : NULL;
	int strategy = d.strategy >= 0 ? d.strategy : q ? q->strategy : 0;
	res = json_pack("{s:I,s:O,s:o,s:O}", "at", (json_int_t)at, "decision", d.explain, "queue",
			q ? json_pack("{s:s,s:s?,s:b,s:s,s:I}", "name", q->name, "calendar",
				      q->calendar, "open", q->cal ? omr_calendar_open(q->cal, at) : 1,
				      "strategy", omr_strategy_names[strategy], "priority",
				      (json_int_t)d.priority)
			  : json_null(),
			"facts", facts);
	char *text = res ? json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (text)
		fprintf(out, "%s\n", text);
	free(text);
	json_decref(res);
	json_decref(facts);
	json_decref(conv);
	json_decref(in);
	omr_decision_release(&d);
	return text ? 0 : 1;
}
