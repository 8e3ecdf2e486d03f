/*
 * omr_routing_conf: loading and validating routing.yaml.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "omr_routing_conf.h"

#define QOFF(f) offsetof(struct omr_queue_conf, f)
static const struct omr_conf_key omr_queue_keys[] = {
	{ "name", OMR_CONF_STRING, QOFF(name), 1, NULL, 0, 0, "queue name" },
	{ "description", OMR_CONF_STRING, QOFF(description), 0, NULL, 0, 0, "for people" },
	{ "priority", OMR_CONF_INT, QOFF(priority), 0, "50", 0, 100,
	  "base priority; higher is served first" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_queue_handled[] = { "skills", NULL };

#define ROFF(f) offsetof(struct omr_routing_conf, f)
static const struct omr_conf_key omr_routing_keys[] = {
	{ "default_queue", OMR_CONF_STRING, ROFF(default_queue), 1, NULL, 0, 0,
	  "queue for conversations no rule places" },
	{ "reasons", OMR_CONF_STRLIST, ROFF(reasons), 0, NULL, 0, 0,
	  "contact reasons (why the customer got in touch) offered at wrap-up" },
	{ "outcomes", OMR_CONF_STRLIST, ROFF(outcomes), 0, "[resolved, follow_up, escalated]", 0, 0,
	  "wrap-up outcomes" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_routing_handled[] = { "skills", "queues", NULL };

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

static void omr_queue_skills(const struct omr_routing_conf *r, struct omr_queue_conf *q,
			     const struct omr_ynode *n, struct omr_conf_errs *errs)
{
	if (!n || omr_ynode_is_null(n))
		return;
	if (n->type != OMR_Y_MAP) {
		omr_conf_error(errs, n, "skills: expected a mapping of skill: minimum proficiency");
		return;
	}
	q->skills = omr_calloc(n->n, sizeof(*q->skills));
	for (size_t i = 0; i < n->n; i++) {
		const struct omr_ynode *k = n->pairs[i].key;
		struct omr_skill_req *req = &q->skills[q->nskills];
		if (!omr_routing_skill(r, k->value)) {
			omr_conf_error(errs, k, "unknown skill '%s' (define it under skills:)", k->value);
			continue;
		}
		if (omr_conf_node_int(n->pairs[i].value, 1, 5, &req->min, errs) < 0)
			continue;
		req->skill = omr_strdup(k->value);
		q->nskills++;
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
		omr_queue_skills(r, q, omr_ynode_get(list->items[i], "skills"), errs);
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
	omr_routing_skills(r, omr_ynode_get(root, "skills"), errs);
	omr_routing_queues(r, omr_ynode_get(root, "queues"), errs);
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
