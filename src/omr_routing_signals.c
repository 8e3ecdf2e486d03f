/*
 * omr_routing_signals: `signals:` and `opt_out:` of routing.yaml
 * (docs/proactive.md): what a business signal about a customer leads to,
 * and the words with which a customer opts out of a channel and back in.
 * Checked with file and line; conditions compiled into the routing
 * configuration's rules engine, like the routing rules' `when`.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "omr_routing_conf.h"
#include "omr_rules.h"
#include "omr_util.h"

#define SGOFF(f) offsetof(struct omr_signal_rule, f)
static const struct omr_conf_key omr_signal_tmpl_keys[] = {
	{ "name", OMR_CONF_STRING, 0, 1, NULL, 0, 0, "the channel's approved template" },
	{ "language", OMR_CONF_STRING, sizeof(char *), 0, NULL, 0, 0, "its language (en_US, nl)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const struct omr_conf_key omr_signal_rule_keys[] = {
	{ "name", OMR_CONF_STRING, SGOFF(name), 1, NULL, 0, 0, "shown in the decision" },
	{ "type", OMR_CONF_STRING, SGOFF(type), 1, NULL, 0, 0,
	  "the signal type it is for (payment.failed), a prefix (device.*) or *" },
	{ "when", OMR_CONF_STRING, SGOFF(when), 0, NULL, 0, 0,
	  "Lua condition over the signal and the customer; absent: always" },
	{ "action", OMR_CONF_STRING, SGOFF(action), 1, NULL, 0, 0, "reach_out | task | none" },
	{ "channel", OMR_CONF_STRING, SGOFF(channel), 0, "preferred", 0, 0,
	  "reach_out: preferred (the customer's latest channel) or a channel name" },
	{ "text", OMR_CONF_STRING, SGOFF(text), 0, NULL, 0, 0,
	  "reach_out: the message; {{attribute}} is the signal's attribute" },
	{ "template", OMR_CONF_SECTION, SGOFF(tmpl), 0, NULL, 0, 0,
	  "reach_out: a channel template {name, language}; its variables are the signal's "
	  "attributes", NULL, omr_signal_tmpl_keys },
	{ "subject", OMR_CONF_STRING, SGOFF(subject), 0, NULL, 0, 0, "reach_out by e-mail: the subject" },
	{ "queue", OMR_CONF_STRING, SGOFF(queue), 0, NULL, 0, 0,
	  "reach_out: the queue an answer goes to (none: a notification); task: the queue" },
	{ "agent", OMR_CONF_STRING, SGOFF(agent), 0, NULL, 0, 0, "offered to this agent first" },
	{ "throttle", OMR_CONF_MS, SGOFF(throttle), 0, NULL, 0, 31536000000LL,
	  "this rule's throttle (default: signals.throttle)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define SOFF(f) offsetof(struct omr_signals_conf, f)
static const struct omr_conf_key omr_signals_keys[] = {
	{ "throttle", OMR_CONF_MS, SOFF(throttle), 0, "7d", 0, 31536000000LL,
	  "at most one proactive contact per customer this often (0: no throttle)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_signals_handled[] = { "rules", NULL };

static void omr_signal_rule_check(struct omr_routing_conf *r, struct omr_signal_rule *s,
				  const struct omr_ynode *item, struct omr_conf_errs *errs)
{
	char *err = NULL;
	if (strcmp(s->action, "reach_out") == 0)
		s->kind = OMR_SIGNAL_REACH_OUT;
	else if (strcmp(s->action, "task") == 0)
		s->kind = OMR_SIGNAL_TASK;
	else if (strcmp(s->action, "none") == 0)
		s->kind = OMR_SIGNAL_NONE;
	else
		omr_conf_error(errs, omr_ynode_get(item, "action"),
			       "signal rule '%s': action is reach_out, task or none", s->name);
	if (s->kind == OMR_SIGNAL_REACH_OUT && !s->text && !s->tmpl.name)
		omr_conf_error(errs, item, "signal rule '%s': reach_out needs a text or a template "
			       "(or both: the template where the channel has it)", s->name);
	if (s->queue && strcmp(s->queue, "none") != 0 && !omr_routing_queue(r, s->queue))
		omr_conf_error(errs, omr_ynode_get(item, "queue"), "signal rule '%s': unknown queue "
			       "'%s'", s->name, s->queue);
	if (s->kind == OMR_SIGNAL_TASK && s->queue && strcmp(s->queue, "none") == 0)
		omr_conf_error(errs, omr_ynode_get(item, "queue"), "signal rule '%s': a task needs "
			       "a queue", s->name);
	if (!*s->type || strlen(s->type) > 64)
		omr_conf_error(errs, omr_ynode_get(item, "type"), "signal rule '%s': type is a "
			       "signal type, a prefix ending in .* or *", s->name);
	if (s->when) {
		s->cond = omr_rules_compile(r->engine, s->name, s->when, &err);
		if (s->cond < 0) {
			omr_conf_error(errs, omr_ynode_get(item, "when"),
				       "signal rule '%s': bad condition: %s", s->name, err);
			free(err);
		}
	}
}

void omr_routing_signals_load(struct omr_routing_conf *r, const struct omr_ynode *at,
			      struct omr_conf_errs *errs)
{
	struct omr_signals_conf *sc = &r->signals;
	if (omr_conf_apply(omr_signals_keys, at, sc, omr_signals_handled, errs))
		return;
	const struct omr_ynode *list = at ? omr_ynode_get(at, "rules") : NULL;
	if (!list || omr_ynode_is_null(list))
		return;
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "signals.rules: expected a list");
		return;
	}
	sc->rules = omr_calloc(list->n, sizeof(*sc->rules));
	for (size_t i = 0; i < list->n; i++) {
		struct omr_signal_rule *s = &sc->rules[sc->nrules++];
		s->cond = -1;
		s->throttle = -1; /* unset: the signals' throttle (no default below) */
		s->at = list->items[i];
		if (omr_conf_apply(omr_signal_rule_keys, list->items[i], s, NULL, errs) == 0)
			omr_signal_rule_check(r, s, list->items[i], errs);
	}
}

void omr_routing_signals_free(struct omr_routing_conf *r)
{
	for (size_t i = 0; i < r->signals.nrules; i++)
		omr_conf_release(omr_signal_rule_keys, &r->signals.rules[i]);
	free(r->signals.rules);
	omr_conf_release(omr_signals_keys, &r->signals);
}

int omr_signal_type_matches(const char *pattern, const char *type)
{
	size_t n = strlen(pattern);
	if (strcmp(pattern, "*") == 0)
		return 1;
	if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0)
		return strncmp(pattern, type, n - 1) == 0;
	return strcmp(pattern, type) == 0;
}

/* ---- opt_out: {keywords: {channel | "*": {stop: [words], start: [words]}}} ---- */

/* words as the customer's whole message, compared without case: upper-cased here */
static int omr_optout_words(json_t *list)
{
	size_t i;
	json_t *w;
	if (!json_is_array(list))
		return -1;
	json_array_foreach(list, i, w) {
		const char *t = json_string_value(w);
		if (!t || !*t || strlen(t) > 64)
			return -1;
		char *up = omr_strdup(t);
		for (char *c = up; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		json_array_set_new(list, i, json_string(up));
		free(up);
	}
	return 0;
}

void omr_routing_optout_load(struct omr_routing_conf *r, const struct omr_ynode *at,
			     struct omr_conf_errs *errs)
{
	const char *ch, *k;
	json_t *per, *list;
	json_t *kw = json_object_get(r->opt_out, "keywords");
	if (!json_is_object(r->opt_out) || !json_is_object(kw)) {
		omr_conf_error(errs, at, "opt_out: expected {keywords: {channel: {stop: [words], "
			       "start: [words]}}}");
		return;
	}
	json_object_foreach(kw, ch, per) {
		if (!json_is_object(per)) {
			omr_conf_error(errs, at, "opt_out.keywords.%s: {stop: [words], start: [words]}",
				       ch);
			continue;
		}
		json_object_foreach(per, k, list) {
			if ((strcmp(k, "stop") != 0 && strcmp(k, "start") != 0) ||
			    omr_optout_words(list) < 0)
				omr_conf_error(errs, at, "opt_out.keywords.%s.%s: stop or start, with a "
					       "list of words of 1-64 bytes", ch, k);
		}
	}
}

/* "stop", "start" or NULL: the customer's whole message (trimmed, any case) is
 * one of the channel's words, or of "*" */
const char *omr_routing_optout_word(const struct omr_routing_conf *r, const char *channel,
				    const char *text)
{
	char word[65];
	size_t n = 0;
	const char *p = text ? text : "";
	while (*p && isspace((unsigned char)*p))
		p++;
	for (; *p && n < sizeof(word) - 1; p++)
		word[n++] = (char)toupper((unsigned char)*p);
	while (n > 0 && isspace((unsigned char)word[n - 1]))
		n--;
	word[n] = '\0';
	if (*p || n == 0)
		return NULL;
	json_t *kw = json_object_get(r->opt_out, "keywords");
	const char *sets[] = { channel, "*" };
	for (int s = 0; s < 2; s++) {
		json_t *per = json_object_get(kw, sets[s]);
		static const char *const what[] = { "stop", "start" };
		for (int w = 0; w < 2; w++) {
			size_t i;
			json_t *v;
			json_array_foreach(json_object_get(per, what[w]), i, v)
				if (strcmp(json_string_value(v), word) == 0)
					return what[w];
		}
	}
	return NULL;
}
