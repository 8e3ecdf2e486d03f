/*
 * omnictl_outreach: `omnictl conversations start` and `omnictl signal`
 * (docs/omnictl.md, docs/proactive.md): the body of POST
 * /api/v1/conversations and POST /api/v1/signals from options; the
 * daemon checks everything else and its refusals are printed as usual.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "omnictl.h"

/* the answer's conversation id (and the decision of a signal) */
static int omnictl_outreach_post(struct omnictl *c, const char *path, json_t *body)
{
	struct omnictl_answer a;
	int rc = body ? omnictl_call(c, "POST", path, body, OMNICTL_R_AUTH, &a) : omnictl_oom();
	json_decref(body);
	if (!body)
		return rc;
	if (rc == OMNICTL_OK && !c->json) {
		const json_t *conv = json_object_get(a.json, "conversation");
		const char *id = json_is_object(conv) ? json_string_value(json_object_get(conv, "id"))
						      : json_string_value(conv);
		const char *decision = json_string_value(json_object_get(a.json, "decision"));
		const char *reason = json_string_value(json_object_get(a.json, "reason"));
		struct omnictl_str s = { 0 };
		if (decision)
			printf("decision: %s\n", decision);
		if (reason && omnictl_clean(&s, reason, 80, 0, NULL) == 0)
			printf("reason: %s\n", s.p);
		omnictl_str_free(&s);
		if (id && omnictl_clean(&s, id, 80, 0, NULL) == 0)
			printf("conversation %s started\n", s.p);
		omnictl_str_free(&s);
	}
	omnictl_answer_free(&a);
	return rc;
}

int omnictl_cmd_conv_start(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	const char *o_to = c->opt[OMNICTL_O_ADDRESS], *cust = c->opt[OMNICTL_O_CUSTOMER];
	const char *text = c->opt[OMNICTL_O_TEXT], *tmpl = c->opt[OMNICTL_O_TEMPLATE];
	(void)cmd;
	(void)args;
	if (!o_to == !cust || !text == !tmpl) {
		fprintf(stderr, "omnictl: conversations start: give --address (with --channel) or "
				"--customer, and --text or --template\n");
		return OMNICTL_USAGE;
	}
	json_t *body = json_object();
	const struct { const char *key; int opt; } str[] = {
		{ "channel", OMNICTL_O_CHANNEL }, { "to", OMNICTL_O_ADDRESS },
		{ "customer", OMNICTL_O_CUSTOMER }, { "text", OMNICTL_O_TEXT },
		{ "subject", OMNICTL_O_SUBJECT }, { "queue", OMNICTL_O_QUEUE },
		{ "agent", OMNICTL_O_AGENT },
	};
	for (size_t i = 0; body && i < sizeof(str) / sizeof(str[0]); i++)
		if (c->opt[str[i].opt])
			json_object_set_new(body, str[i].key, json_string(c->opt[str[i].opt]));
	if (body && tmpl) { /* NAME[:LANGUAGE] */
		const char *colon = strchr(tmpl, ':');
		json_t *t = colon ? json_pack("{s:s%,s:s}", "name", tmpl, (size_t)(colon - tmpl),
					      "language", colon + 1)
				  : json_pack("{s:s}", "name", tmpl);
		json_object_set_new(body, "template", t);
	}
	return omnictl_outreach_post(c, "/api/v1/conversations", body);
}

int omnictl_cmd_signal(struct omnictl *c, const struct omnictl_cmd *cmd, char **args)
{
	const char *o_to = c->opt[OMNICTL_O_ADDRESS], *cust = c->opt[OMNICTL_O_CUSTOMER];
	const char *ch = c->opt[OMNICTL_O_CHANNEL], *attrs = c->opt[OMNICTL_O_ATTRIBUTES];
	json_t *a = NULL;
	(void)cmd;
	if (!o_to == !cust || (o_to && !ch)) {
		fprintf(stderr, "omnictl: signal: give --customer ID, or --channel C and --address A\n");
		return OMNICTL_USAGE;
	}
	a = attrs ? json_loads(attrs, 0, NULL) : NULL; /* (json_is_object reads it twice) */
	if (attrs && !json_is_object(a)) {
		fprintf(stderr, "omnictl: signal: --attributes: a JSON object such as "
				"'{\"amount\": \"EUR 12.50\"}'\n");
		json_decref(a);
		return OMNICTL_USAGE;
	}
	json_t *body = cust ? json_pack("{s:s,s:s}", "type", args[0], "customer", cust)
			    : json_pack("{s:s,s:{s:s,s:s}}", "type", args[0], "to", "channel", ch,
					"address", o_to);
	if (body && a)
		json_object_set_new(body, "attributes", a);
	else
		json_decref(a);
	return omnictl_outreach_post(c, "/api/v1/signals", body);
}
