/*
 * omr_routing_conf: loading and validating routing.yaml.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "omr_routing_conf.h"
#include "omr_rules.h"

const char *const omr_strategy_names[] = { "longest_idle", "least_occupied", "best_proficiency",
					    "round_robin", NULL };

#define QOFF(f) offsetof(struct omr_queue_conf, f)
static const struct omr_conf_key omr_queue_keys[] = {
	{ "name", OMR_CONF_STRING, QOFF(name), 1, NULL, 0, 0, "queue name" },
	{ "description", OMR_CONF_STRING, QOFF(description), 0, NULL, 0, 0, "for people" },
	{ "priority", OMR_CONF_INT, QOFF(priority), 0, "50", 0, 100,
	  "base priority; higher is served first" },
	{ "strategy", OMR_CONF_ENUM, QOFF(strategy), 0, "longest_idle", 0, 0,
	  "which eligible agent gets the offer", omr_strategy_names },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_queue_handled[] = { "skills", NULL };

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
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_rule_handled[] = { "skills", NULL };

#define ROFF(f) offsetof(struct omr_routing_conf, f)
static const struct omr_conf_key omr_routing_keys[] = {
	{ "offers", OMR_CONF_SECTION, ROFF(offers), 0, NULL, 0, 0, "offers to agents", NULL,
	  omr_offers_keys },
	{ "sessions", OMR_CONF_SECTION, ROFF(sessions), 0, NULL, 0, 0, "agent sessions", NULL,
	  omr_sessions_keys },
	{ "default_queue", OMR_CONF_STRING, ROFF(default_queue), 1, NULL, 0, 0,
	  "queue for conversations no rule places" },
	{ "reasons", OMR_CONF_STRLIST, ROFF(reasons), 0, NULL, 0, 0,
	  "contact reasons (why the customer got in touch) offered at wrap-up" },
	{ "outcomes", OMR_CONF_STRLIST, ROFF(outcomes), 0, "[resolved, follow_up, escalated]", 0, 0,
	  "wrap-up outcomes" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_routing_handled[] = { "skills", "queues", "rules", NULL };

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
	omr_routing_queues(r, omr_ynode_get(root, "queues"), errs);
	omr_routing_rules(r, omr_ynode_get(root, "rules"), errs);
	if (errs->count == before && !omr_routing_queue(r, r->default_queue))
		omr_conf_error(errs, omr_ynode_get(root, "default_queue"),
			       "default_queue: unknown queue '%s'", r->default_queue);
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
		omr_conf_release(omr_queue_keys, q);
	}
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
