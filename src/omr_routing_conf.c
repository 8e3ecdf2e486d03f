/*
 * omr_routing_conf: loading and validating routing.yaml.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "omr_routing_conf.h"
#include "omr_rules.h"
#include "omr_util.h"

const char *const omr_strategy_names[] = { "longest_idle", "least_occupied", "best_proficiency",
					    "round_robin", NULL };

const char *const omr_quadrant_names[] = { "eliminate", "self_service", "simplify", "encourage",
					    NULL };

#define SLAOFF(f) (offsetof(struct omr_queue_conf, sla.f) - offsetof(struct omr_queue_conf, sla))
static const struct omr_conf_key omr_sla_keys[] = {
	{ "target", OMR_CONF_INT, SLAOFF(target), 1, NULL, 1, 100, "percent answered within" },
	{ "within", OMR_CONF_MS, SLAOFF(within), 1, NULL, 1000, 86400000, "the answer time" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define ACTOFF(f) offsetof(struct omr_action, f)
static const struct omr_conf_key omr_action_keys[] = {
	{ "action", OMR_CONF_STRING, ACTOFF(action), 1, NULL, 0, 0, "message | overflow | callback" },
	{ "text", OMR_CONF_STRING, ACTOFF(text), 0, NULL, 0, 0, "told to the customer" },
	{ "queue", OMR_CONF_STRING, ACTOFF(queue), 0, NULL, 0, 0,
	  "overflow target; callback: the queue it is offered in (default: this queue)" },
	{ "texts", OMR_CONF_JSON, ACTOFF(texts), 0, NULL, 0, 0,
	  "the text per language ({nl: ..., en: ...}; else text)" },
	{ "slots", OMR_CONF_INT, ACTOFF(slots), 0, "3", 1, 9,
	  "callback: times offered to pick from on chat channels (reply with a number)" },
	{ "slot_length", OMR_CONF_MS, ACTOFF(slot_length), 0, "30m", 300000, 86400000,
	  "callback: length of a slot; not taken by an agent by its end: missed" },
	{ "pick", OMR_CONF_BOOL, ACTOFF(pick), 0, "true", 0, 0,
	  "callback: the customer picks a time (false: given the first; e-mail always is)" },
	{ "priority_boost", OMR_CONF_INT, ACTOFF(priority_boost), 0, "30", 0, 100,
	  "callback: added to its priority when it is offered" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define STOFF(f) offsetof(struct omr_escalation_step, f)
static const struct omr_conf_key omr_step_keys[] = {
	{ "after", OMR_CONF_MS, STOFF(after), 1, NULL, 0, 604800000LL, "waiting time" },
	{ "relax", OMR_CONF_INT, STOFF(relax), 0, "0", 0, 4, "lower every minimum proficiency by" },
	{ "drop_optional", OMR_CONF_BOOL, STOFF(drop_optional), 0, "false", 0, 0,
	  "drop the optional skills" },
	{ "overflow", OMR_CONF_STRING, STOFF(overflow), 0, NULL, 0, 0, "move to this queue" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const char *const omr_answer_then_names[] = { "close", "park", NULL };
#define AOFF(f) offsetof(struct omr_rule, answer.f) - offsetof(struct omr_rule, answer)
static const struct omr_conf_key omr_rule_answer_keys[] = {
	{ "text", OMR_CONF_STRING, AOFF(text), 1, NULL, 0, 0, "the automatic answer to the customer" },
	{ "reason", OMR_CONF_STRING, AOFF(reason), 0, NULL, 0, 0,
	  "the trigger counted in the contact-reason report (default: the rule's name)" },
	{ "then", OMR_CONF_ENUM, AOFF(park), 0, "close", 0, 0,
	  "close: done; park: kept open, a person takes it if the customer writes again",
	  omr_answer_then_names },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define VOFF(f) offsetof(struct omr_value_conf, f)
static const struct omr_conf_key omr_value_default_keys[] = {
	{ "customer", OMR_CONF_STRING, 0, 0, NULL, 0, 0, "low | high" },
	{ "organisation", OMR_CONF_STRING, sizeof(char *), 0, NULL, 0, 0, "low | high" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const struct omr_conf_key omr_value_elim_keys[] = {
	{ "text", OMR_CONF_STRING, 0, 0, NULL, 0, 0, "the automatic answer" },
	{ "reason", OMR_CONF_STRING, sizeof(char *), 0, "eliminated", 0, 0,
	  "contact reason recorded" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const struct omr_conf_key omr_value_enc_keys[] = {
	{ "priority_boost", OMR_CONF_INT, 0, 0, "20", 0, 100, "added to the priority" },
	{ "strategy", OMR_CONF_ENUM, sizeof(long long), 0, "best_proficiency", 0, 0,
	  "agent selection", omr_strategy_names },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const struct omr_conf_key omr_value_keys[] = {
	{ "default", OMR_CONF_SECTION, VOFF(def_text), 0, NULL, 0, 0, "values when no rule says",
	  NULL, omr_value_default_keys },
	{ "eliminate", OMR_CONF_SECTION, VOFF(eliminate), 0, NULL, 0, 0, "low/low", NULL,
	  omr_value_elim_keys },
	{ "encourage", OMR_CONF_SECTION, VOFF(encourage), 0, NULL, 0, 0, "high/high", NULL,
	  omr_value_enc_keys },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define EGOFF(f) offsetof(struct omr_engagement_conf, f)
static const struct omr_conf_key omr_engagement_keys[] = {
	{ "deposits", OMR_CONF_JSON, EGOFF(deposits), 0,
	  "{resolved: 1, first_contact_resolution: 2, csat_good: 2, complaint_recovered: 8, "
	  "proactive_resolved: 3}", 0, 0,
	  "points added per wrap-up outcome or event" },
	{ "withdrawals", OMR_CONF_JSON, EGOFF(withdrawals), 0,
	  "{escalated: 2, follow_up: 1, complaint: 5, sla_breach: 3, repeat_contact: 1, "
	  "repeat_reason: 3, abandoned: 3, transfer: 1, csat_poor: 3}", 0, 0,
	  "points taken per outcome or event" },
	{ "repeat_days", OMR_CONF_INT, EGOFF(repeat_days), 0, "7", 0, 365,
	  "a new contact this soon after the last is a repeat" },
	{ "low", OMR_CONF_INT, EGOFF(low), 0, "-5", -1000000, 1000000, "below this: at risk" },
	{ "high", OMR_CONF_INT, EGOFF(high), 0, "10", -1000000, 1000000,
	  "from this up: a loyal customer" },
	{ "recovery_window", OMR_CONF_MS, EGOFF(recovery_window), 0, "7d", 1000, 31536000000LL,
	  "a complaint resolved without a new contact for this long is recovered" },
	{ "min", OMR_CONF_INT, EGOFF(min), 0, "-50", -1000000, 0, "lowest balance" },
	{ "max", OMR_CONF_INT, EGOFF(max), 0, "50", 0, 1000000, "highest balance" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

/* a name people see: 1 to 64 bytes of UTF-8 without control characters */
static int omr_routing_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !omr_utf8_valid(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

#define QOFF(f) offsetof(struct omr_queue_conf, f)
static const struct omr_conf_key omr_queue_keys[] = {
	{ "name", OMR_CONF_STRING, QOFF(name), 1, NULL, 0, 0, "queue name" },
	{ "description", OMR_CONF_STRING, QOFF(description), 0, NULL, 0, 0, "for people" },
	{ "signature", OMR_CONF_STRING, QOFF(signature), 0, NULL, 0, 0,
	  "e-mail signature the console offers to add under replies" },
	{ "priority", OMR_CONF_INT, QOFF(priority), 0, "50", 0, 100,
	  "base priority; higher is served first" },
	{ "strategy", OMR_CONF_ENUM, QOFF(strategy), 0, "longest_idle", 0, 0,
	  "which eligible agent gets the offer", omr_strategy_names },
	{ "sla", OMR_CONF_SECTION, QOFF(sla), 0, NULL, 0, 0, "service level", NULL, omr_sla_keys },
	{ "calendar", OMR_CONF_STRING, QOFF(calendar), 0, NULL, 0, 0, "business hours" },
	{ "out_of_hours", OMR_CONF_SECTION, QOFF(out_of_hours), 0, NULL, 0, 0,
	  "what happens to a conversation arriving while closed", NULL, omr_action_keys },
	{ "max_wait", OMR_CONF_MS, QOFF(max_wait), 0, "0", 0, 604800000LL,
	  "when on_max_wait applies (0: never)" },
	{ "on_max_wait", OMR_CONF_SECTION, QOFF(on_max_wait), 0, NULL, 0, 0,
	  "what happens after max_wait", NULL, omr_action_keys },
	{ "overflow", OMR_CONF_STRING, QOFF(overflow), 0, NULL, 0, 0,
	  "default target of overflow actions" },
	{ "status_interval", OMR_CONF_MS, QOFF(status_interval), 0, "30s", 0, 3600000,
	  "position updates to waiting customers (0: off)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_queue_handled[] = { "skills", "optional_skills", "escalation", NULL };

#define OOFF(f) offsetof(struct omr_offers_conf, f)
static const struct omr_conf_key omr_offers_keys[] = {
	{ "timeout", OMR_CONF_MS, OOFF(timeout), 0, "20s", 2000, 600000,
	  "how long an agent has to accept an offer" },
	{ "max_missed", OMR_CONF_INT, OOFF(max_missed), 0, "3", 1, 100,
	  "offers in a row an agent may let expire before being set away" },
	{ "reject_cooldown", OMR_CONF_MS, OOFF(reject_cooldown), 0, "2m", 0, 86400000,
	  "a conversation is not offered again to an agent who declined it for this long" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define SOFF(f) offsetof(struct omr_sessions_conf, f)
static const struct omr_conf_key omr_sessions_keys[] = {
	{ "grace", OMR_CONF_MS, SOFF(grace), 0, "30s", 0, 3600000,
	  "after an agent's last connection drops, wait this long before offline" },
	{ "ttl", OMR_CONF_MS, SOFF(ttl), 0, "12h", 0, 2592000000LL,
	  "a console's session token (a reload without the password) lasts this long from the "
	  "log-in, not extended by use; 0: no session tokens" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define SVOFF(f) offsetof(struct omr_supervision_conf, f)
static const struct omr_conf_key omr_supervision_keys[] = {
	{ "announce_monitoring", OMR_CONF_BOOL, SVOFF(announce_monitoring), 0, "false", 0, 0,
	  "an agent's console shows when a supervisor monitors one of their conversations" },
	{ "pull_wait", OMR_CONF_MS, SVOFF(pull_wait), 0, "2m", 0, 3600000,
	  "a waiting conversation a supervisor pulls to an agent waits this long for them, "
	  "then for anyone" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define OWOFF(f) offsetof(struct omr_owner_conf, f)
static const struct omr_conf_key omr_owner_keys[] = {
	{ "prefer_owner", OMR_CONF_MS, OWOFF(prefer_owner), 0, "0", 0, 604800000LL,
	  "a customer's contact person is offered their conversations first, for this long "
	  "(0: off)" },
	{ "prefer_team", OMR_CONF_MS, OWOFF(prefer_team), 0, "0", 0, 604800000LL,
	  "then the contact person's team (agents.yaml team), for this long" },
	{ "away_after", OMR_CONF_MS, OWOFF(away_after), 0, "2d", 0, 2592000000LL,
	  "a contact person away this long, or not logged in: their deputy instead" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define CSOFF(f) offsetof(struct omr_csat_conf, f)
static const struct omr_conf_key omr_csat_keys[] = {
	{ "enabled", OMR_CONF_BOOL, CSOFF(enabled), 0, "false", 0, 0,
	  "when an agent closes a conversation, ask the customer how it went (1-5)" },
	{ "question", OMR_CONF_STRING, CSOFF(question), 0,
	  "\"How did we do? Reply with a number from 1 (poor) to 5 (excellent).\"", 0, 0,
	  "the question (web chat shows buttons 1-5 with it)" },
	{ "thanks", OMR_CONF_STRING, CSOFF(thanks), 0, "\"Thank you for your rating!\"", 0, 0,
	  "told after an answer" },
	{ "window", OMR_CONF_MS, CSOFF(window), 0, "24h", 60000, 604800000,
	  "how long an answer (the thread's next message, if it is just a digit 1-5) is taken" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const struct omr_conf_key omr_rule_value_keys[] = {
	{ "customer", OMR_CONF_STRING, 0, 0, NULL, 0, 0, "low | high" },
	{ "organisation", OMR_CONF_STRING, sizeof(char *), 0, NULL, 0, 0, "low | high" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define RLOFF(f) offsetof(struct omr_rule, f)
static const struct omr_conf_key omr_rule_keys[] = {
	{ "name", OMR_CONF_STRING, RLOFF(name), 1, NULL, 0, 0, "shown in routing explanations" },
	{ "when", OMR_CONF_STRING, RLOFF(when), 0, NULL, 0, 0,
	  "Lua condition over the conversation; absent: always" },
	{ "queue", OMR_CONF_STRING, RLOFF(queue), 0, NULL, 0, 0, "put the conversation in this queue" },
	{ "language", OMR_CONF_STRING, RLOFF(language), 0, NULL, 0, 0,
	  "set the conversation's language (ISO 639-1)" },
	{ "priority", OMR_CONF_INT, RLOFF(priority), 0, "-1", -1, 100,
	  "set the priority (0-100; higher first)" },
	{ "tags", OMR_CONF_STRLIST, RLOFF(tags), 0, NULL, 0, 0, "add tags" },
	{ "continue", OMR_CONF_BOOL, RLOFF(cont), 0, "false", 0, 0,
	  "go on with the next rules after this one matched" },
	{ "value", OMR_CONF_SECTION, RLOFF(value_text), 0, NULL, 0, 0,
	  "value to the customer and to the organisation", NULL, omr_rule_value_keys },
	{ "tier", OMR_CONF_STRING, RLOFF(tier_text), 0, NULL, 0, 0, "human | bot" },
	{ "prefer_last_agent", OMR_CONF_MS, RLOFF(prefer_last_agent), 0, "0", 0, 86400000,
	  "offer to the customer's last agent first, for this long" },
	{ "owner", OMR_CONF_STRING, RLOFF(owner), 0, NULL, 0, 0,
	  "make this agent the contact person of a customer who has none" },
	{ "deputy", OMR_CONF_STRING, RLOFF(deputy), 0, NULL, 0, 0,
	  "with owner: their deputy" },
	{ "answer", OMR_CONF_SECTION, RLOFF(answer), 0, NULL, 0, 0,
	  "answer automatically (eliminate): {text, reason, then: close|park}", NULL,
	  omr_rule_answer_keys },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_rule_handled[] = { "skills", NULL };

#define ROFF(f) offsetof(struct omr_routing_conf, f)
static const struct omr_conf_key omr_routing_keys[] = {
	{ "value", OMR_CONF_SECTION, ROFF(value), 0, NULL, 0, 0, "the value matrix", NULL,
	  omr_value_keys },
	{ "engagement", OMR_CONF_SECTION, ROFF(engagement), 0, NULL, 0, 0, "engagement balance",
	  NULL, omr_engagement_keys },
	{ "phrases", OMR_CONF_JSON, ROFF(phrases), 0, OMR_PHRASES_DEFAULT, 0, 0,
	  "what customers say, per language: {name: {language: [phrases]}}, seen by rules as "
	  "says.<name>" },
	{ "bot", OMR_CONF_STRING, ROFF(bot), 0, NULL, 0, 0,
	  "the bot plugin that serves the bot tier (none: people only)" },
	{ "bot_name", OMR_CONF_STRING, ROFF(bot_name), 0, NULL, 0, 0,
	  "the name customers see on the bot's messages (none: the bot plugin's name)" },
	{ "bot_timeout", OMR_CONF_MS, ROFF(bot_timeout), 0, "10s", 500, 300000,
	  "a bot that does not answer a turn this fast hands the conversation to a person" },
	{ "bot_idle_close", OMR_CONF_MS, ROFF(bot_idle_close), 0, "30m", 0, 604800000,
	  "a conversation with the bot, or parked after an automatic answer, in which the "
	  "customer wrote nothing for this long is closed (0: never)" },
	{ "handoff_text", OMR_CONF_STRING, ROFF(handoff_text), 0,
	  "\"One moment please, a colleague will take over. You are number {position} ({eta}).\"",
	  0, 0, "told to the customer when a bot hands over" },
	{ "aging", OMR_CONF_MS, ROFF(aging), 0, "1m", 1000, 86400000,
	  "waiting this long is worth one priority point" },
	{ "handle_time_default", OMR_CONF_MS, ROFF(handle_time_default), 0, "5m", 1000, 86400000,
	  "handling time assumed before a queue has wrap-ups" },
	{ "offers", OMR_CONF_SECTION, ROFF(offers), 0, NULL, 0, 0, "offers to agents", NULL,
	  omr_offers_keys },
	{ "sessions", OMR_CONF_SECTION, ROFF(sessions), 0, NULL, 0, 0, "agent sessions", NULL,
	  omr_sessions_keys },
	{ "supervision", OMR_CONF_SECTION, ROFF(supervision), 0, NULL, 0, 0,
	  "supervisors' monitor and pull", NULL, omr_supervision_keys },
	{ "owner", OMR_CONF_SECTION, ROFF(owner), 0, NULL, 0, 0,
	  "one contact person per customer (docs/routing.md#contact-person)", NULL,
	  omr_owner_keys },
	{ "csat", OMR_CONF_SECTION, ROFF(csat), 0, NULL, 0, 0,
	  "customer satisfaction: a question at close, answered 1-5", NULL, omr_csat_keys },
	{ "default_queue", OMR_CONF_STRING, ROFF(default_queue), 1, NULL, 0, 0,
	  "queue for conversations no rule places" },
	{ "public_reply_note", OMR_CONF_JSON, ROFF(public_reply_note), 0, NULL, 0, 0,
	  "{language: text} posted on a public thread when the agent answers privately" },
	{ "outcomes", OMR_CONF_STRLIST, ROFF(outcomes), 0, "[resolved, follow_up, escalated]", 0, 0,
	  "wrap-up outcomes" },
	{ "opt_out", OMR_CONF_JSON, ROFF(opt_out), 0, OMR_OPTOUT_DEFAULT, 0, 0,
	  "opt-out keywords: {keywords: {channel or *: {stop: [words], start: [words]}}} "
	  "(docs/proactive.md#opt-outs)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_routing_handled[] = { "skills", "queues", "rules", "calendars",
						   "reasons", "signals", NULL };

static int omr_value_parse(const char *s, int *out)
{
	if (!s)
		return *out = OMR_VALUE_UNSET, 0;
	if (strcmp(s, "low") == 0)
		return *out = OMR_VALUE_LOW, 0;
	if (strcmp(s, "high") == 0)
		return *out = OMR_VALUE_HIGH, 0;
	return -1;
}

static int omr_name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

static void omr_routing_skills(struct omr_routing_conf *r, const struct omr_ynode *list,
			       struct omr_conf_errs *errs)
{
	if (!list || omr_ynode_is_null(list))
		return;
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "skills: expected a list, found %s",
			       omr_ynode_type_name(list));
		return;
	}
	r->skills = omr_calloc(list->n, sizeof(*r->skills));
	for (size_t i = 0; i < list->n; i++) {
		const struct omr_ynode *it = list->items[i];
		struct omr_skill_conf *s = &r->skills[r->nskills];
		const struct omr_ynode *name = it, *desc = NULL;
		if (it->type == OMR_Y_MAP) {
			name = omr_ynode_get(it, "name");
			desc = omr_ynode_get(it, "description");
			for (size_t k = 0; k < it->n; k++)
				if (strcmp(it->pairs[k].key->value, "name") &&
				    strcmp(it->pairs[k].key->value, "description"))
					omr_conf_error(errs, it->pairs[k].key,
						       "unknown key '%s' (expected one of: name, description)",
						       it->pairs[k].key->value);
			if (!name) {
				omr_conf_error(errs, it, "skill: missing required key 'name'");
				continue;
			}
		}
		if (omr_conf_node_string(name, &s->name, errs) < 0)
			continue;
		if (!omr_name_ok(s->name)) {
			omr_conf_error(errs, name, "skill name '%s' must be letters, digits, _ - .",
				       s->name);
			free(s->name);
			continue;
		}
		if (desc)
			omr_conf_node_string(desc, &s->description, errs);
		r->nskills++;
		for (size_t k = 0; k + 1 < r->nskills; k++)
			if (strcmp(r->skills[k].name, s->name) == 0)
				omr_conf_error(errs, name, "skill '%s' is defined twice", s->name);
	}
}

/* skills: {name: minimum proficiency} for queues and rules */
static void omr_skill_reqs(const struct omr_routing_conf *r, struct omr_skill_req **out_r,
			   size_t *n_r, const struct omr_ynode *n, struct omr_conf_errs *errs)
{
	if (!n || omr_ynode_is_null(n))
		return;
	if (n->type != OMR_Y_MAP) {
		omr_conf_error(errs, n, "skills: expected a mapping of skill: minimum proficiency");
		return;
	}
	*out_r = omr_calloc(n->n, sizeof(**out_r));
	for (size_t i = 0; i < n->n; i++) {
		const struct omr_ynode *k = n->pairs[i].key;
		struct omr_skill_req *req = &(*out_r)[*n_r];
		if (!omr_routing_skill(r, k->value)) {
			omr_conf_error(errs, k, "unknown skill '%s' (define it under skills:)", k->value);
			continue;
		}
		if (omr_conf_node_int(n->pairs[i].value, 1, 5, &req->min, errs) < 0)
			continue;
		req->skill = omr_strdup(k->value);
		(*n_r)++;
	}
}

static void omr_routing_rules(struct omr_routing_conf *r, const struct omr_ynode *list,
			      struct omr_conf_errs *errs)
{
	if (!list || omr_ynode_is_null(list))
		return;
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "rules: expected a list");
		return;
	}
	r->rules = omr_calloc(list->n, sizeof(*r->rules));
	for (size_t i = 0; i < list->n; i++) {
		const struct omr_ynode *item = list->items[i];
		struct omr_rule *rule = &r->rules[r->nrules++];
		char *err = NULL;
		rule->at = item;
		rule->cond = -1;
		if (omr_conf_apply(omr_rule_keys, item, rule, omr_rule_handled, errs))
			continue;
		if (rule->queue && !omr_routing_queue(r, rule->queue))
			omr_conf_error(errs, omr_ynode_get(item, "queue"),
				       "rule '%s': unknown queue '%s'", rule->name, rule->queue);
		omr_skill_reqs(r, &rule->skills, &rule->nskills, omr_ynode_get(item, "skills"), errs);
		if (omr_value_parse(rule->value_text.customer, &rule->value_customer) < 0 ||
		    omr_value_parse(rule->value_text.organisation, &rule->value_org) < 0)
			omr_conf_error(errs, omr_ynode_get(item, "value"),
				       "rule '%s': value: customer and organisation are low or high",
				       rule->name);
		rule->tier = OMR_TIER_UNSET;
		if (rule->tier_text) {
			if (strcmp(rule->tier_text, "human") == 0)
				rule->tier = OMR_TIER_HUMAN;
			else if (strcmp(rule->tier_text, "bot") == 0)
				rule->tier = OMR_TIER_BOT;
			else
				omr_conf_error(errs, omr_ynode_get(item, "tier"),
					       "rule '%s': tier is human or bot", rule->name);
		}
		if (rule->when) {
			rule->cond = omr_rules_compile(r->engine, rule->name, rule->when, &err);
			if (rule->cond < 0) {
				omr_conf_error(errs, omr_ynode_get(item, "when"),
					       "rule '%s': bad condition: %s", rule->name, err);
				free(err);
			}
		}
	}
}

static void omr_routing_calendars(struct omr_routing_conf *r, const struct omr_ynode *list,
				  struct omr_conf_errs *errs)
{
	if (!list || omr_ynode_is_null(list))
		return;
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "calendars: expected a list");
		return;
	}
	r->calendars = omr_calloc(list->n, sizeof(*r->calendars));
	for (size_t i = 0; i < list->n; i++) {
		const struct omr_ynode *it = list->items[i], *n;
		struct omr_calendar *c = &r->calendars[r->ncalendars++];
		char *err = NULL;
		if (it->type != OMR_Y_MAP) {
			omr_conf_error(errs, it, "a calendar is a mapping with name, timezone, hours");
			continue;
		}
		for (size_t k = 0; k < it->n; k++) {
			const char *key = it->pairs[k].key->value;
			if (strcmp(key, "name") && strcmp(key, "timezone") && strcmp(key, "hours") &&
			    strcmp(key, "holidays"))
				omr_conf_error(errs, it->pairs[k].key, "unknown key '%s' (expected one "
					       "of: name, timezone, hours, holidays)", key);
		}
		if (!(n = omr_ynode_get(it, "name")) || omr_conf_node_string(n, &c->name, errs) < 0) {
			if (!n)
				omr_conf_error(errs, it, "calendar: missing required key 'name'");
			continue;
		}
		for (size_t k = 0; k + 1 < r->ncalendars; k++)
			if (r->calendars[k].name && strcmp(r->calendars[k].name, c->name) == 0)
				omr_conf_error(errs, n, "calendar '%s' is defined twice", c->name);
		n = omr_ynode_get(it, "timezone");
		if (n && omr_conf_node_string(n, &c->timezone, errs) == 0) {
			c->tz = omr_tz_load(c->timezone, &err);
			if (!c->tz) {
				omr_conf_error(errs, n, "calendar '%s': %s", c->name, err);
				omr_free_and_null(&err);
			}
		} else if (!n) {
			c->tz = omr_tz_load("UTC", NULL);
		}
		n = omr_ynode_get(it, "hours");
		if (!n || n->type != OMR_Y_MAP) {
			omr_conf_error(errs, n ? n : it, "calendar '%s': hours: a mapping such as "
				       "{mon-fri: \"08:00-18:00\"}", c->name);
		} else {
			for (size_t k = 0; k < n->n; k++) {
				int mask = omr_calendar_days(n->pairs[k].key->value);
				const struct omr_ynode *v = n->pairs[k].value;
				if (mask < 0) {
					omr_conf_error(errs, n->pairs[k].key, "'%s' is not a day or range of "
						       "days (mon, mon-fri, sat,sun)", n->pairs[k].key->value);
					continue;
				}
				if (v->type != OMR_Y_SCALAR ||
				    omr_calendar_add_hours(c, mask, v->value, &err) < 0) {
					omr_conf_error(errs, v, "%s", err ? err : "hours: 08:00-18:00");
					omr_free_and_null(&err);
				}
			}
		}
		n = omr_ynode_get(it, "holidays");
		if (n && !omr_ynode_is_null(n)) {
			char **days = NULL;
			if (omr_conf_node_strlist(n, &days, errs) == 0)
				for (size_t k = 0; days[k]; k++)
					if (omr_calendar_add_holiday(c, days[k], &err) < 0) {
						omr_conf_error(errs, n, "%s", err);
						omr_free_and_null(&err);
					}
			omr_conf_strlist_free(days);
		}
	}
}

static void omr_queue_steps(struct omr_queue_conf *q, const struct omr_ynode *list,
			    struct omr_conf_errs *errs)
{
	if (!list || omr_ynode_is_null(list))
		return;
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "escalation: expected a list of steps");
		return;
	}
	q->steps = omr_calloc(list->n, sizeof(*q->steps));
	for (size_t i = 0; i < list->n; i++) {
		struct omr_escalation_step *st = &q->steps[q->nsteps++];
		omr_conf_apply(omr_step_keys, list->items[i], st, NULL, errs);
		if (q->nsteps > 1 && st->after <= q->steps[q->nsteps - 2].after)
			omr_conf_error(errs, list->items[i], "escalation steps must come in order of "
				       "'after'");
	}
}

static int omr_action_kind(const char *s)
{
	if (!s)
		return OMR_ACTION_NONE;
	if (strcmp(s, "message") == 0)
		return OMR_ACTION_MESSAGE;
	if (strcmp(s, "overflow") == 0)
		return OMR_ACTION_OVERFLOW;
	if (strcmp(s, "callback") == 0)
		return OMR_ACTION_CALLBACK;
	return -1;
}

/* Cross-references of a queue, once all queues and calendars are known. */
static void omr_queue_refs(struct omr_routing_conf *r, struct omr_queue_conf *q,
			   struct omr_conf_errs *errs)
{
	const struct omr_ynode *at = q->at;
	struct omr_action *acts[] = { &q->out_of_hours, &q->on_max_wait };
	const char *names[] = { "out_of_hours", "on_max_wait" };

	if (q->calendar && !(q->cal = omr_routing_calendar(r, q->calendar)))
		omr_conf_error(errs, omr_ynode_get(at, "calendar"),
			       "queue '%s': unknown calendar '%s'", q->name, q->calendar);
	if (q->overflow && !omr_routing_queue(r, q->overflow))
		omr_conf_error(errs, omr_ynode_get(at, "overflow"),
			       "queue '%s': unknown overflow queue '%s'", q->name, q->overflow);
	for (int i = 0; i < 2; i++) {
		struct omr_action *a = acts[i];
		const struct omr_ynode *n = omr_ynode_get(at, names[i]);
		int kind = omr_action_kind(a->action);
		if (!n)
			continue;
		if (kind < 0) {
			omr_conf_error(errs, n, "%s: action '%s' is not one of: message, overflow, "
				       "callback", names[i], a->action);
			continue;
		}
		a->kind = (enum omr_action_kind)kind;
		if ((kind == OMR_ACTION_MESSAGE || kind == OMR_ACTION_CALLBACK) && !a->text)
			omr_conf_error(errs, n, "%s: action '%s' needs a text", names[i], a->action);
		if (a->texts)
			omr_routing_note_check(a->texts, omr_ynode_get(n, "texts"), errs);
		if (kind == OMR_ACTION_CALLBACK && a->queue && !omr_routing_queue(r, a->queue))
			omr_conf_error(errs, omr_ynode_get(n, "queue"), "%s: unknown callback queue "
				       "'%s'", names[i], a->queue);
		if (kind == OMR_ACTION_OVERFLOW) {
			const char *to = a->queue ? a->queue : q->overflow;
			if (!to)
				omr_conf_error(errs, n, "%s: overflow needs a queue (here or the queue's "
					       "overflow)", names[i]);
			else if (!omr_routing_queue(r, to))
				omr_conf_error(errs, n, "%s: unknown queue '%s'", names[i], to);
			else if (strcmp(to, q->name) == 0)
				omr_conf_error(errs, n, "%s: a queue cannot overflow into itself",
					       names[i]);
		}
	}
	if (q->out_of_hours.kind != OMR_ACTION_NONE && !q->cal)
		omr_conf_error(errs, omr_ynode_get(at, "out_of_hours"),
			       "queue '%s': out_of_hours needs a calendar", q->name);
	if (q->on_max_wait.kind != OMR_ACTION_NONE && !q->max_wait)
		omr_conf_error(errs, omr_ynode_get(at, "on_max_wait"),
			       "queue '%s': on_max_wait needs max_wait", q->name);
	const struct omr_ynode *esc = omr_ynode_get(at, "escalation");
	for (size_t i = 0; i < q->nsteps; i++) {
		const char *to = q->steps[i].overflow;
		if (to && (!omr_routing_queue(r, to) || strcmp(to, q->name) == 0))
			omr_conf_error(errs, esc && esc->type == OMR_Y_SEQ ? esc->items[i] : at,
				       "escalation: unknown overflow queue '%s'", to);
	}
}

static void omr_routing_value(struct omr_routing_conf *r, const struct omr_ynode *root,
			      struct omr_conf_errs *errs)
{
	const struct omr_ynode *v = omr_ynode_get(root, "value");
	if (omr_value_parse(r->value.def_text.customer, &r->value.def_customer) < 0 ||
	    omr_value_parse(r->value.def_text.organisation, &r->value.def_org) < 0)
		omr_conf_error(errs, v, "value.default: customer and organisation are low or high");
	const struct omr_ynode *eg = omr_ynode_get(root, "engagement");
	json_t *lists[] = { r->engagement.deposits, r->engagement.withdrawals };
	for (int i = 0; i < 2; i++) {
		const char *k;
		json_t *n;
		if (!json_is_object(lists[i])) {
			omr_conf_error(errs, eg, "engagement: deposits and withdrawals map events to "
				       "points");
			continue;
		}
		json_object_foreach(lists[i], k, n)
			if (!json_is_integer(n) || json_integer_value(n) < 0 ||
			    json_integer_value(n) > 1000)
				omr_conf_error(errs, eg, "engagement: '%s' needs a whole number of "
					       "points from 0 to 1000", k);
	}
	if (r->engagement.min > r->engagement.max)
		omr_conf_error(errs, eg, "engagement: min is above max");
	if (r->engagement.low >= r->engagement.high)
		omr_conf_error(errs, eg, "engagement: low must be below high");
	omr_routing_phrases_load(r, omr_ynode_get(root, "phrases"), errs);
	json_t *g = json_pack("{s:I,s:I,s:I,s:I,s:I}", "csat_good",
			      (json_int_t)omr_engagement_points(r, "csat_good"), "csat_poor",
			      (json_int_t)omr_engagement_points(r, "csat_poor"), "complaint_recovered",
			      (json_int_t)omr_engagement_points(r, "complaint_recovered"), "min",
			      (json_int_t)r->engagement.min, "max", (json_int_t)r->engagement.max);
	r->engagement.rating_json = json_dumps(g, JSON_COMPACT);
	json_decref(g);
}

static void omr_routing_queues(struct omr_routing_conf *r, const struct omr_ynode *list,
			       struct omr_conf_errs *errs)
{
	if (!list || list->type != OMR_Y_SEQ || list->n == 0) {
		omr_conf_error(errs, list, "queues: expected a list with at least one queue");
		return;
	}
	r->queues = omr_calloc(list->n, sizeof(*r->queues));
	for (size_t i = 0; i < list->n; i++) {
		struct omr_queue_conf *q = &r->queues[r->nqueues++];
		q->at = list->items[i];
		if (omr_conf_apply(omr_queue_keys, list->items[i], q, omr_queue_handled, errs))
			continue;
		if (!omr_name_ok(q->name)) {
			omr_conf_error(errs, list->items[i],
				       "queue name '%s' must be letters, digits, _ - .", q->name);
			continue;
		}
		for (size_t k = 0; k + 1 < r->nqueues; k++)
			if (r->queues[k].name && strcmp(r->queues[k].name, q->name) == 0)
				omr_conf_error(errs, list->items[i], "queue '%s' is defined twice",
					       q->name);
		omr_skill_reqs(r, &q->skills, &q->nskills, omr_ynode_get(list->items[i], "skills"),
			       errs);
		omr_skill_reqs(r, &q->optional, &q->noptional,
			       omr_ynode_get(list->items[i], "optional_skills"), errs);
		omr_queue_steps(q, omr_ynode_get(list->items[i], "escalation"), errs);
	}
}

struct omr_routing_conf *omr_routing_conf_load(const struct omr_ydoc *doc,
					       struct omr_conf_errs *errs)
{
	struct omr_routing_conf *r = omr_calloc(1, sizeof(*r));
	const struct omr_ynode *root = doc->root;
	int before = errs->count;

	if (!root || root->type != OMR_Y_MAP) {
		omr_conf_error(errs, root, "%s: expected a mapping with skills and queues", doc->file);
		omr_routing_conf_free(r);
		return NULL;
	}
	omr_conf_apply(omr_routing_keys, root, r, omr_routing_handled, errs);
	r->engine = omr_rules_new();
	omr_routing_skills(r, omr_ynode_get(root, "skills"), errs);
	omr_routing_reasons_load(r, omr_ynode_get(root, "reasons"), errs);
	omr_routing_note_check(r->public_reply_note, omr_ynode_get(root, "public_reply_note"), errs);
	omr_routing_calendars(r, omr_ynode_get(root, "calendars"), errs);
	omr_routing_queues(r, omr_ynode_get(root, "queues"), errs);
	for (size_t i = 0; i < r->nqueues; i++)
		if (r->queues[i].name)
			omr_queue_refs(r, &r->queues[i], errs);
	omr_routing_value(r, root, errs);
	omr_rules_set_calendars(r->engine, r->calendars, r->ncalendars);
	omr_routing_rules(r, omr_ynode_get(root, "rules"), errs);
	omr_routing_signals_load(r, omr_ynode_get(root, "signals"), errs);
	omr_routing_optout_load(r, omr_ynode_get(root, "opt_out"), errs);
	if (errs->count == before && !omr_routing_queue(r, r->default_queue))
		omr_conf_error(errs, omr_ynode_get(root, "default_queue"),
			       "default_queue: unknown queue '%s'", r->default_queue);
	if (r->bot_name && !omr_routing_name_ok(r->bot_name))
		omr_conf_error(errs, omr_ynode_get(root, "bot_name"),
			       "bot_name: 1 to 64 bytes of printable text");
	if (r->bot_idle_close > 0 && r->bot_idle_close <= r->bot_timeout)
		omr_conf_error(errs, omr_ynode_get(root, "bot_idle_close"),
			       "bot_idle_close (%lld ms) must be longer than bot_timeout (%lld ms), "
			       "or 0", r->bot_idle_close, r->bot_timeout);
	if (errs->count > before) {
		omr_routing_conf_free(r);
		return NULL;
	}
	return r;
}

void omr_routing_conf_free(struct omr_routing_conf *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nskills; i++) {
		free(r->skills[i].name);
		free(r->skills[i].description);
	}
	free(r->skills);
	for (size_t i = 0; i < r->nqueues; i++) {
		struct omr_queue_conf *q = &r->queues[i];
		for (size_t k = 0; k < q->nskills; k++)
			free(q->skills[k].skill);
		free(q->skills);
		for (size_t k = 0; k < q->noptional; k++)
			free(q->optional[k].skill);
		free(q->optional);
		for (size_t k = 0; k < q->nsteps; k++)
			omr_conf_release(omr_step_keys, &q->steps[k]);
		free(q->steps);
		omr_conf_release(omr_queue_keys, q);
	}
	for (size_t i = 0; i < r->ncalendars; i++)
		omr_calendar_release(&r->calendars[i]);
	free(r->calendars);
	free(r->queues);
	for (size_t i = 0; i < r->nrules; i++) {
		struct omr_rule *rule = &r->rules[i];
		for (size_t k = 0; k < rule->nskills; k++)
			free(rule->skills[k].skill);
		free(rule->skills);
		omr_conf_release(omr_rule_keys, rule);
	}
	free(r->rules);
	omr_rules_free(r->engine);
	free(r->engagement.rating_json);
	omr_routing_reasons_free(r);
	omr_routing_signals_free(r);
	omr_conf_release(omr_routing_keys, r);
	free(r);
}

const struct omr_skill_conf *omr_routing_skill(const struct omr_routing_conf *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->nskills; i++)
		if (strcmp(r->skills[i].name, name) == 0)
			return &r->skills[i];
	return NULL;
}

const struct omr_queue_conf *omr_routing_queue(const struct omr_routing_conf *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->nqueues; i++)
		if (r->queues[i].name && strcmp(r->queues[i].name, name) == 0)
			return &r->queues[i];
	return NULL;
}

const struct omr_calendar *omr_routing_calendar(const struct omr_routing_conf *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->ncalendars; i++)
		if (r->calendars[i].name && strcmp(r->calendars[i].name, name) == 0)
			return &r->calendars[i];
	return NULL;
}

long long omr_engagement_points(const struct omr_routing_conf *r, const char *event)
{
	json_t *d = json_object_get(r->engagement.deposits, event);
	json_t *w = json_object_get(r->engagement.withdrawals, event);
	return (d ? json_integer_value(d) : 0) - (w ? json_integer_value(w) : 0);
}
