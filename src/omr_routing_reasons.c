/*
 * omr_routing_reasons: the contact reasons of routing.yaml (`reasons:`),
 * each a plain string or a mapping {name, avoidable, treatment,
 * description}, and the public-reply note (`public_reply_note:`), checked
 * with file and line. See omr_routing_conf.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_routing_conf.h"

#define OMR_REASON_MAX 200      /* bytes of a reason's name */
#define OMR_NOTE_MAX 280        /* bytes of a public note */

static const char *const omr_reason_keys[] = { "name", "avoidable", "treatment", "description",
					       NULL };

static int omr_reason_key_known(const char *k)
{
	for (size_t i = 0; omr_reason_keys[i]; i++)
		if (strcmp(omr_reason_keys[i], k) == 0)
			return 1;
	return 0;
}

static int omr_treatment_of(const char *s)
{
	for (int i = 0; omr_quadrant_names[i]; i++)
		if (strcmp(omr_quadrant_names[i], s) == 0)
			return i;
	return -1;
}

/* One item of the list: a string, or a mapping. 0: taken. */
static int omr_reason_item(const struct omr_ynode *it, struct omr_reason_conf *rc,
			   struct omr_conf_errs *errs)
{
	const struct omr_ynode *name = it, *av = NULL, *tr = NULL;
	char *t = NULL;
	rc->treatment = -1;
	if (it->type == OMR_Y_MAP) {
		for (size_t k = 0; k < it->n; k++)
			if (!omr_reason_key_known(it->pairs[k].key->value))
				omr_conf_error(errs, it->pairs[k].key,
					       "unknown key '%s' (expected one of: name, avoidable, "
					       "treatment, description)", it->pairs[k].key->value);
		name = omr_ynode_get(it, "name");
		av = omr_ynode_get(it, "avoidable");
		tr = omr_ynode_get(it, "treatment");
		if (!name) {
			omr_conf_error(errs, it, "reason: missing required key 'name'");
			return -1;
		}
	}
	if (omr_conf_node_string(name, &rc->name, errs) < 0)
		return -1;
	if (!*rc->name || strlen(rc->name) > OMR_REASON_MAX) {
		omr_conf_error(errs, name, "reason: 1-%d bytes", OMR_REASON_MAX);
		goto bad;
	}
	if (av && omr_conf_node_bool(av, &rc->avoidable, errs) < 0)
		goto bad;
	if (tr) {
		if (omr_conf_node_string(tr, &t, errs) < 0)
			goto bad;
		rc->treatment = omr_treatment_of(t);
		free(t);
		if (rc->treatment < 0) {
			omr_conf_error(errs, tr, "reason '%s': treatment must be one of eliminate, "
				       "self_service, simplify, encourage", rc->name);
			goto bad;
		}
		if (!av)
			rc->avoidable = 1; /* a treatment says it can be removed */
		else if (!rc->avoidable) {
			omr_conf_error(errs, tr, "reason '%s': a treatment is for an avoidable "
				       "reason (avoidable: true)", rc->name);
			goto bad;
		}
	}
	return 0;
bad:
	free(rc->name);
	rc->name = NULL;
	return -1;
}

void omr_routing_reasons_load(struct omr_routing_conf *r, const struct omr_ynode *list,
			      struct omr_conf_errs *errs)
{
	if (!list || omr_ynode_is_null(list)) {
		r->reasons = omr_calloc(1, sizeof(*r->reasons));
		return;
	}
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "reasons: expected a list, found %s",
			       omr_ynode_type_name(list));
		r->reasons = omr_calloc(1, sizeof(*r->reasons));
		return;
	}
	r->reason_info = omr_calloc(list->n + 1, sizeof(*r->reason_info));
	r->reasons = omr_calloc(list->n + 1, sizeof(*r->reasons));
	for (size_t i = 0; i < list->n; i++) {
		struct omr_reason_conf *rc = &r->reason_info[r->nreasons];
		if (omr_reason_item(list->items[i], rc, errs) < 0)
			continue;
		if (omr_routing_reason(r, rc->name)) {
			omr_conf_error(errs, list->items[i], "reason '%s' is listed twice", rc->name);
			free(rc->name);
			continue;
		}
		r->reasons[r->nreasons++] = omr_strdup(rc->name);
	}
}

int omr_routing_note_check(const json_t *notes, const struct omr_ynode *at,
			   struct omr_conf_errs *errs)
{
	const char *lang;
	json_t *v;
	if (!notes)
		return 0;
	if (!json_is_object(notes)) {
		omr_conf_error(errs, at, "public_reply_note: a mapping of language: text");
		return -1;
	}
	json_object_foreach((json_t *)notes, lang, v) {
		size_t n = json_is_string(v) ? strlen(json_string_value(v)) : 0;
		if (!n || n > OMR_NOTE_MAX || strlen(lang) > 16) {
			const struct omr_ynode *where = omr_ynode_get(at, lang);
			omr_conf_error(errs, where ? where : at, "public_reply_note: '%.16s' must be "
				       "a text of 1-%d bytes", lang, OMR_NOTE_MAX);
			return -1;
		}
	}
	return 0;
}

const char *omr_routing_note(const struct omr_routing_conf *r, const char *language)
{
	const json_t *n = r ? r->public_reply_note : NULL;
	const char *t = language && *language ? json_string_value(json_object_get(n, language))
					      : NULL;
	if (!t)
		t = json_string_value(json_object_get(n, "en"));
	return t ? t : "We have sent you a private message.";
}

const struct omr_reason_conf *omr_routing_reason(const struct omr_routing_conf *r,
						 const char *name)
{
	for (size_t i = 0; r && name && i < r->nreasons; i++)
		if (strcmp(r->reason_info[i].name, name) == 0)
			return &r->reason_info[i];
	return NULL;
}

void omr_routing_reasons_free(struct omr_routing_conf *r)
{
	for (size_t i = 0; i < r->nreasons; i++)
		free(r->reason_info[i].name);
	free(r->reason_info);
	omr_conf_strlist_free(r->reasons);
	r->reasons = NULL;
}
