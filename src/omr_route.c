/*
 * omr_route: see omr_route.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omr_agents_conf.h"
#include "omr_log.h"
#include "omr_route.h"
#include "omr_rules.h"
#include "omr_util.h"

static void omr_route_need(json_t *skills, const char *skill, long long min)
{
	json_int_t have = json_integer_value(json_object_get(skills, skill));
	if (min > have)
		json_object_set_new(skills, skill, json_integer(min));
}

static int omr_quadrant_of(int customer, int org)
{
	if (customer == OMR_VALUE_UNSET || org == OMR_VALUE_UNSET)
		return -1; /* not valued: no treatment */
	if (customer == OMR_VALUE_HIGH)
		return org == OMR_VALUE_HIGH ? OMR_Q_ENCOURAGE : OMR_Q_SELF_SERVICE;
	return org == OMR_VALUE_HIGH ? OMR_Q_SIMPLIFY : OMR_Q_ELIMINATE;
}

static const char *omr_value_name(int v)
{
	return v == OMR_VALUE_HIGH ? "high" : v == OMR_VALUE_LOW ? "low" : NULL;
}

/* The rules, in order. */
static void omr_route_rules(const struct omr_routing_conf *rc, json_t *facts,
			    struct omr_decision *d, int *rule_tier)
{
	for (size_t i = 0; i < rc->nrules; i++) {
		const struct omr_rule *rule = &rc->rules[i];
		char *err = NULL;
		int hit = rule->cond < 0 ? 1 : omr_rules_eval(rc->engine, rule->cond, facts, &err);
		if (hit < 0) {
			omr_log_warn("conversation %s: rule '%s' failed (taken as false): %s",
				     json_string_value(json_object_get(facts, "conversation")),
				     rule->name, err);
			free(err);
			continue;
		}
		if (!hit)
			continue;
		json_array_append_new(d->matched, json_string(rule->name));
		if (rule->queue)
			d->queue = rule->queue;
		if (rule->language) {
			free(d->language);
			d->language = omr_strdup(rule->language);
			/* later rules (continue: true) see the new value */
			json_object_set_new(facts, "language", json_string(d->language));
		}
		if (rule->priority >= 0)
			d->priority = rule->priority;
		for (size_t k = 0; k < rule->nskills; k++)
			omr_route_need(d->skills, rule->skills[k].skill, rule->skills[k].min);
		for (size_t k = 0; rule->tags && rule->tags[k]; k++)
			json_array_append_new(d->tags, json_string(rule->tags[k]));
		if (rule->value_customer != OMR_VALUE_UNSET)
			d->value_customer = rule->value_customer;
		if (rule->value_org != OMR_VALUE_UNSET)
			d->value_org = rule->value_org;
		if (rule->tier != OMR_TIER_UNSET)
			*rule_tier = rule->tier;
		if (rule->prefer_last_agent)
			d->prefer_ms = rule->prefer_last_agent;
		if (rule->owner) {
			d->owner = rule->owner;
			d->deputy = rule->deputy;
		}
		if (rule->answer.text) {
			d->elim_text = rule->answer.text;
			d->elim_reason = rule->answer.reason ? rule->answer.reason : rule->name;
			d->elim_park = rule->answer.park;
		}
		if (!rule->cont)
			break;
	}
}

/* The value matrix' treatment, then a rule's explicit tier. */
static void omr_route_treat(const struct omr_routing_conf *rc, struct omr_decision *d, int bots,
			    int rule_tier)
{
	d->quadrant = omr_quadrant_of(d->value_customer, d->value_org);
	d->tier = OMR_TIER_HUMAN;
	d->tier_note = "a person";
	if (d->elim_text) { /* a rule's own automatic answer */
		d->tier_note = d->elim_park ? "answered automatically (rule), parked"
					    : "answered automatically (rule)";
		return;
	}
	switch (d->quadrant) {
	case -1:
		d->tier_note = "not valued: a person";
		break;
	case OMR_Q_ELIMINATE:
		if (rc->value.eliminate.text && rule_tier == OMR_TIER_UNSET) {
			d->elim_text = rc->value.eliminate.text;
			d->elim_reason = rc->value.eliminate.reason ? rc->value.eliminate.reason
								    : "eliminated";
			d->tier_note = "answered automatically";
			return;
		}
		/* without an automatic answer, simplify */
		__attribute__((fallthrough));
	case OMR_Q_SELF_SERVICE:
	case OMR_Q_SIMPLIFY:
		d->tier = OMR_TIER_BOT;
		d->tier_note = "bot first";
		break;
	case OMR_Q_ENCOURAGE:
		d->priority += rc->value.encourage.priority_boost;
		if (d->priority > 100)
			d->priority = 100;
		d->strategy = rc->value.encourage.strategy;
		d->tier_note = "moment of truth: the best-skilled person, raised priority";
		break;
	}
	if (rule_tier != OMR_TIER_UNSET) {
		d->tier = rule_tier;
		d->tier_note = rule_tier == OMR_TIER_BOT ? "bot (rule)" : "a person (rule)";
	}
	if (d->tier == OMR_TIER_BOT && !bots) {
		d->tier = OMR_TIER_HUMAN;
		d->tier_note = "bot tier asked, but no bot is configured: a person";
	}
}

void omr_route_decide(const struct omr_routing_conf *rc, json_t *facts, int bots,
		      struct omr_decision *d)
{
	int rule_tier = OMR_TIER_UNSET;
	const struct omr_queue_conf *q;

	memset(d, 0, sizeof(*d));
	d->queue = rc->default_queue;
	d->priority = -1;
	d->strategy = -1;
	d->skills = json_object();
	d->tags = json_array();
	d->matched = json_array();
	d->value_customer = rc->value.def_customer;
	d->value_org = rc->value.def_org;
	const char *lang = json_string_value(json_object_get(facts, "language"));
	d->language = lang && *lang ? omr_strdup(lang) : NULL;

	omr_route_rules(rc, facts, d, &rule_tier);
	q = omr_routing_queue(rc, d->queue);
	/* d->skills are what the rules require; the queue's own skills are
	 * added when offering, from the queue the conversation is in then
	 * (it may overflow, or the queue may change with a reload) */
	json_t *all = json_deep_copy(d->skills);
	for (size_t k = 0; q && k < q->nskills; k++)
		omr_route_need(all, q->skills[k].skill, q->skills[k].min);
	if (d->priority < 0)
		d->priority = q ? q->priority : 50;
	omr_route_treat(rc, d, bots, rule_tier);

	d->explain = json_pack("{s:O,s:{s:s?,s:s?},s:s?,s:s,s:s,s:s,s:I,s:O,s:s?,s:O,s:s?,s:I}",
			       "rules", d->matched, "value", "customer",
			       omr_value_name(d->value_customer), "organisation",
			       omr_value_name(d->value_org), "quadrant",
			       d->quadrant >= 0 ? omr_quadrant_names[d->quadrant] : NULL, "tier",
			       d->tier == OMR_TIER_BOT ? "bot" : "human", "treatment", d->tier_note,
			       "queue", d->queue, "priority", (json_int_t)d->priority, "skills",
			       all, "language", d->language, "tags", d->tags, "strategy",
			       d->strategy >= 0 ? omr_strategy_names[d->strategy] : NULL,
			       "prefer_last_agent_ms", d->prefer_ms ? (json_int_t)d->prefer_ms : 0);
	json_decref(all);
	if (!d->explain)
		d->explain = json_object();
	json_t *balance = json_object_get(json_object_get(facts, "customer"), "balance");
	if (balance)
		json_object_set(d->explain, "balance", balance);
	/* recorded with the conversation: what --simulate replays the facts from */
	json_t *repeat = json_object_get(json_object_get(facts, "customer"), "repeat");
	if (repeat)
		json_object_set(d->explain, "repeat", repeat);
}

void omr_decision_release(struct omr_decision *d)
{
	free(d->language);
	json_decref(d->skills);
	json_decref(d->tags);
	json_decref(d->matched);
	json_decref(d->explain);
	memset(d, 0, sizeof(*d));
}

long long omr_route_score(const struct omr_routing_conf *rc, long long queued_at,
			  long long priority)
{
	return queued_at - priority * rc->aging;
}

void omr_route_escalation(const struct omr_queue_conf *q, long long waited,
			  struct omr_escalation *e)
{
	memset(e, 0, sizeof(*e));
	e->step = -1;
	for (size_t i = 0; q && i < q->nsteps; i++) {
		if (waited < q->steps[i].after)
			break;
		e->step = (int)i;
		/* steps accumulate: a later step keeps what earlier ones did */
		if (q->steps[i].relax > e->relax)
			e->relax = q->steps[i].relax;
		if (q->steps[i].drop_optional)
			e->drop_optional = 1;
		if (q->steps[i].overflow)
			e->overflow = q->steps[i].overflow;
	}
}

static int omr_route_has_language(const struct omr_agent_conf *a, const char *lang)
{
	if (!lang || !*lang || !a->languages || !a->languages[0])
		return 1; /* no language asked, or the agent serves any */
	for (size_t i = 0; a->languages[i]; i++)
		if (strcmp(a->languages[i], lang) == 0)
			return 1;
	return 0;
}

static int omr_route_skills_ok(const struct omr_agent_conf *a, const json_t *skills,
			       long long relax, long long *score)
{
	const char *skill;
	json_t *min;
	int ok = 1;
	json_object_foreach((json_t *)skills, skill, min) {
		long long lvl = omr_agent_skill_level(a, skill);
		long long need = json_integer_value(min) - relax;
		if (need < 1)
			need = 1; /* relaxing never drops a skill, only the level */
		if (lvl < need)
			ok = 0;
		*score += lvl;
	}
	return ok;
}

int omr_route_agent_serves(const struct omr_agent_conf *a, const struct omr_queue_conf *q)
{
	for (size_t k = 0; k < q->nskills; k++)
		if (omr_agent_skill_level(a, q->skills[k].skill) < q->skills[k].min)
			return 0;
	return (a->roles & OMR_ROLE_AGENT) != 0;
}

int omr_route_oversees(char *const *queues, const struct omr_routing_conf *rc,
		       const struct omr_agent_conf *a)
{
	if (!queues)
		return 1;
	for (size_t i = 0; queues[i]; i++) {
		const struct omr_queue_conf *q = omr_routing_queue(rc, queues[i]);
		if (q && omr_route_agent_serves(a, q))
			return 1;
	}
	return 0;
}

/* Whether the lowercased text holds one of the phrases of a language. */
static int omr_route_said(const char *low, const json_t *list)
{
	size_t i;
	const json_t *p;
	json_array_foreach(list, i, p)
		if (strstr(low, json_string_value(p)))
			return 1;
	return 0;
}

/* says: {name: bool} for every phrase list of the configuration; the
 * phrases of the conversation's language and those for any language ("*");
 * of every language when the language is not known. ASCII case is
 * ignored (the phrases are lowercased when loaded). */
static json_t *omr_route_says(const struct omr_routing_conf *rc, const char *text,
			      const char *language)
{
	json_t *says = json_object(), *langs, *list;
	const char *name, *lang;
	char *low = omr_strdup(text ? text : "");
	for (char *c = low; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	json_object_foreach(rc->phrases, name, langs) {
		int hit = 0;
		json_object_foreach(langs, lang, list)
			if (!hit && (!language || !*language || strcmp(lang, "*") == 0 ||
				     strcmp(lang, language) == 0))
				hit = omr_route_said(low, list);
		json_object_set_new(says, name, json_boolean(hit));
	}
	free(low);
	return says;
}

json_t *omr_route_facts(const struct omr_routing_conf *rc, const json_t *conv, long long now,
			int *repeat_r)
{
	json_t *attrs = json_object_get(conv, "attrs"), *msgs = json_object_get(conv, "messages");
	json_t *cust = json_object_get(conv, "customer_profile"), *m;
	const char *text = "";
	size_t i;

	json_array_foreach(msgs, i, m) {
		const char *dir = json_string_value(json_object_get(m, "direction"));
		if (dir && strcmp(dir, "in") == 0) {
			text = json_string_value(json_object_get(m, "text"));
			break;
		}
	}
	const char *address = json_string_value(json_object_get(conv, "address"));
	/* "o" steals: attrs with a reference of its own, or a new object */
	json_t *f = json_pack("{s:O,s:s,s:s,s:b,s:o,s:O}", "channel", json_object_get(conv, "channel"),
			      "text", text ? text : "", "address", address ? address : "",
			      "public", json_is_true(json_object_get(conv, "public")), "attrs",
			      json_is_object(attrs) ? json_incref(attrs) : json_object(), "conversation",
			      json_object_get(conv, "id"));
	if (!f)
		return json_object();
	static const char *const from_attrs[] = { "language", "intent", "subject", NULL };
	for (int k = 0; from_attrs[k]; k++) {
		json_t *v = json_object_get(attrs, from_attrs[k]);
		json_object_set_new(f, from_attrs[k], json_is_string(v) ? json_copy(v) : json_string(""));
	}
	json_t *c = json_object();
	static const char *const from_cust[] = { "id", "name", "email", "claimed_email", "last_agent",
						 "owner", "deputy", NULL };
	for (int k = 0; from_cust[k]; k++) {
		json_t *v = json_object_get(cust, from_cust[k]);
		json_object_set_new(c, from_cust[k], json_is_string(v) ? json_copy(v) : json_string(""));
	}
	long long balance = json_integer_value(json_object_get(cust, "balance"));
	long long last = json_integer_value(json_object_get(cust, "last_closed_at"));
	*repeat_r = last > 0 && now - last < rc->engagement.repeat_days * 86400000LL;
	json_object_set_new(c, "balance", json_integer(balance));
	json_object_set_new(c, "at_risk", json_boolean(balance < rc->engagement.low));
	json_object_set_new(c, "loyal", json_boolean(balance >= rc->engagement.high));
	json_object_set_new(c, "repeat", json_boolean(*repeat_r));
	json_object_set_new(f, "customer", c);
	json_t *says = omr_route_says(rc, text, json_string_value(json_object_get(f, "language")));
	const char *intent = json_string_value(json_object_get(f, "intent"));
	json_object_set_new(f, "complaint",
			    json_boolean(json_is_true(json_object_get(says, "complaint")) ||
					 (intent && strcmp(intent, "complaint") == 0)));
	json_object_set_new(f, "says", says);
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	static const char *const wd[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	gmtime_r(&t, &tm);
	json_object_set_new(f, "hour", json_integer(tm.tm_hour));
	json_object_set_new(f, "weekday", json_string(wd[tm.tm_wday]));
	return f;
}

void omr_route_needs(const struct omr_queue_conf *q, const json_t *rule_skills, int with_optional,
		     json_t **skills_r, json_t **optional_r)
{
	json_t *skills = json_is_object(rule_skills) ? json_deep_copy(rule_skills) : json_object();
	for (size_t k = 0; q && k < q->nskills; k++)
		omr_route_need(skills, q->skills[k].skill, q->skills[k].min);
	*skills_r = skills;
	*optional_r = NULL;
	if (q && q->noptional && with_optional) {
		*optional_r = json_object();
		for (size_t k = 0; k < q->noptional; k++)
			omr_route_need(*optional_r, q->optional[k].skill, q->optional[k].min);
	}
}

void omr_route_candidates(const struct omr_agents_conf *dir, const char *channel,
			  const json_t *skills, const json_t *optional, const char *language,
			  const char *only, const char *team, long long relax, struct omr_cands *c)
{
	size_t max = omr_agents_count(dir);

	c->argv = omr_calloc(max * 3 + 1, sizeof(*c->argv));
	c->nums = omr_calloc(max + 1, sizeof(*c->nums));
	c->n = 0;
	for (size_t i = 0; i < max; i++) {
		const struct omr_agent_conf *a = omr_agents_at(dir, i);
		/* channel NULL: whatever the channel (queue statistics) */
		long long cap = channel ? omr_agent_capacity(a, channel) : 1, score = 0;
		int ok;
		/* a conversation waiting for one agent (transferred to them by
		 * name, or kept for them) goes to that agent, skills or not: a
		 * colleague or the customer chose them */
		if (only && strcmp(a->id, only) != 0)
			continue;
		if (team && (!a->team || strcmp(a->team, team) != 0))
			continue;
		if (!(a->roles & OMR_ROLE_AGENT))
			continue; /* a supervisor or admin only: takes nothing */
		ok = cap > 0 && (only || omr_route_has_language(a, language));
		if (!omr_route_skills_ok(a, skills, relax, &score) && !only)
			ok = 0;
		if (optional && !omr_route_skills_ok(a, optional, relax, &score) && !only)
			ok = 0;
		if (!ok)
			continue;
		snprintf(c->nums[c->n][0], sizeof(c->nums[c->n][0]), "%lld", cap);
		snprintf(c->nums[c->n][1], sizeof(c->nums[c->n][1]), "%lld", score);
		c->argv[c->n * 3] = a->id;
		c->argv[c->n * 3 + 1] = c->nums[c->n][0];
		c->argv[c->n * 3 + 2] = c->nums[c->n][1];
		c->n++;
	}
}

void omr_cands_free(struct omr_cands *c)
{
	free(c->argv);
	free(c->nums);
	c->argv = NULL;
	c->nums = NULL;
}

long long omr_route_eta(long long position, long long avg_handle_ms, long long agents)
{
	if (position < 1)
		position = 1;
	if (agents < 1)
		agents = 1;
	/* the customer ahead of you is being answered by one of `agents` */
	return (position * avg_handle_ms / agents + 999) / 1000;
}

void omr_route_at(const struct omr_calendar *cal, int64_t now_ms, int64_t t, const char *language,
		  char *buf, size_t len)
{
	static const char *const en[] = { "Monday", "Tuesday", "Wednesday", "Thursday",
					  "Friday", "Saturday", "Sunday", "today", "tomorrow" };
	static const char *const nl[] = { "maandag", "dinsdag", "woensdag", "donderdag",
					  "vrijdag", "zaterdag", "zondag", "vandaag", "morgen" };
	const char *const *days = language && strncmp(language, "nl", 2) == 0 ? nl : en;
	long off = cal && cal->tz ? omr_tz_offset(cal->tz, t / 1000) : 0;
	int64_t local = t / 1000 + off;
	int64_t day = local / 86400;
	int wd = (int)(((day + 4) % 7 + 6) % 7); /* Monday = 0 */
	int minute = (int)((local % 86400) / 60);
	int64_t today = (now_ms / 1000 + off) / 86400;
	snprintf(buf, len, "%s %02d:%02d", day == today ? days[7] : day == today + 1 ? days[8] :
		 days[wd], minute / 60, minute % 60);
}

static void omr_route_when(const struct omr_calendar *cal, int64_t now_ms, char *buf, size_t len)
{
	int64_t t = cal ? omr_calendar_next_open(cal, now_ms) : now_ms;
	if (t < 0) {
		snprintf(buf, len, "as soon as we can");
		return;
	}
	omr_route_at(cal, now_ms, t, "en", buf, len);
}

char *omr_route_text(const char *tmpl, const struct omr_calendar *cal, int64_t now_ms,
		     long long position, long long eta_s)
{
	struct omr_buf b;
	omr_buf_init(&b);
	for (const char *p = tmpl ? tmpl : ""; *p;) {
		char when[64];
		if (strncmp(p, "{next_open}", 11) == 0) {
			omr_route_when(cal, now_ms, when, sizeof(when));
			omr_buf_puts(&b, when);
			p += 11;
		} else if (strncmp(p, "{position}", 10) == 0) {
			omr_buf_printf(&b, "%lld", position);
			p += 10;
		} else if (strncmp(p, "{eta}", 5) == 0) {
			if (eta_s < 90)
				omr_buf_printf(&b, "about a minute");
			else
				omr_buf_printf(&b, "about %lld minutes", (eta_s + 30) / 60);
			p += 5;
		} else {
			omr_buf_append(&b, p, 1);
			p++;
		}
	}
	return omr_buf_steal(&b, NULL);
}
