/*
 * omr_canned: see omr_canned.h. The file:
 *
 *   responses:
 *     - shortcut: hello
 *       title: Greeting           # optional; the shortcut when absent
 *       language: en              # optional: every language
 *       queues: [billing]         # optional: every queue
 *       text: "Hello {customer.first_name}, this is {agent.name}."
 *
 * Every mistake is reported with file:line, all of them at once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_canned.h"
#include "omr_routing_conf.h"
#include "omr_util.h"
#include "omr_yaml.h"

const char *const omr_canned_variables[] = {
	"customer.name", "customer.first_name", "customer.email", "agent.name", "agent.first_name",
	"conversation.id", "conversation.queue", NULL,
};

const char *omr_canned_shortcut_check(const char *s)
{
	size_t n = 0;
	if (!s || !*s)
		return "a shortcut of 1 to 32 characters a-z, 0-9, _ and -";
	for (; *s; s++, n++)
		if (n >= 32 || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
				 *s == '-'))
			return "a shortcut of 1 to 32 characters a-z, 0-9, _ and -";
	return NULL;
}

static int omr_canned_known(const char *name, size_t len)
{
	for (size_t i = 0; omr_canned_variables[i]; i++)
		if (strlen(omr_canned_variables[i]) == len &&
		    memcmp(omr_canned_variables[i], name, len) == 0)
			return 1;
	return 0;
}

const char *omr_canned_text_check(const char *text, char *buf, size_t len)
{
	if (!text || !*text || strlen(text) > OMR_CANNED_TEXT_MAX)
		return "a text of 1 to 4000 bytes";
	for (const char *p = text; *p; p++) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			p++;
			continue;
		}
		if (*p == '}') {
			snprintf(buf, len, "a lone '}' (write }} for a brace)");
			return buf;
		}
		if (*p != '{')
			continue;
		const char *end = strchr(p, '}');
		if (!end || end - p > 40) {
			snprintf(buf, len, "a '{' without its '}' (write {{ for a brace)");
			return buf;
		}
		if (!omr_canned_known(p + 1, (size_t)(end - p - 1))) {
			snprintf(buf, len, "unknown variable {%.*s} (known: {customer.name}, "
				 "{customer.first_name}, {customer.email}, {agent.name}, "
				 "{agent.first_name}, {conversation.id}, {conversation.queue})",
				 (int)(end - p - 1), p + 1);
			return buf;
		}
		p = end;
	}
	return NULL;
}

/* ISO 639-1: two lower-case letters */
static int omr_canned_language_ok(const char *s)
{
	return s && strlen(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
}

static const char *omr_canned_str(const struct omr_ynode *item, const char *key,
				  struct omr_conf_errs *errs)
{
	const struct omr_ynode *n = omr_ynode_get(item, key);
	if (!n)
		return NULL;
	if (n->type != OMR_Y_SCALAR || omr_ynode_is_null(n)) {
		omr_conf_error(errs, n, "%s: expected a text", key);
		return NULL;
	}
	return n->value;
}

static json_t *omr_canned_queues(const struct omr_ynode *item,
				 const struct omr_routing_conf *routing, struct omr_conf_errs *errs)
{
	const struct omr_ynode *n = omr_ynode_get(item, "queues");
	char **list = NULL;
	if (!n)
		return NULL;
	if (omr_conf_node_strlist(n, &list, errs) < 0)
		return NULL;
	json_t *out = json_array();
	for (size_t i = 0; list && list[i]; i++) {
		if (routing && !omr_routing_queue(routing, list[i]))
			omr_conf_error(errs, n, "queues: unknown queue '%s' (not in the routing file)",
				       list[i]);
		json_array_append_new(out, json_string(list[i]));
	}
	omr_conf_strlist_free(list);
	return out;
}

/* Two entries clash when they have one shortcut and could both apply:
 * the same language (or either has none) and a queue in common (or
 * either has none). */
static int omr_canned_overlap(const json_t *a, const json_t *b)
{
	const char *la = json_string_value(json_object_get(a, "language"));
	const char *lb = json_string_value(json_object_get(b, "language"));
	const json_t *qa = json_object_get(a, "queues"), *qb = json_object_get(b, "queues");
	size_t i, j;
	json_t *x, *y;
	if (strcmp(json_string_value(json_object_get(a, "shortcut")),
		   json_string_value(json_object_get(b, "shortcut"))) != 0)
		return 0;
	if ((la && lb && strcmp(la, lb) != 0) || (!la) != (!lb))
		return 0;
	if (!qa || !qb)
		return 1;
	json_array_foreach(qa, i, x)
		json_array_foreach(qb, j, y)
			if (json_equal(x, y))
				return 1;
	return 0;
}

static const char *const omr_canned_keys[] = { "shortcut", "title", "language", "queues", "text",
					       NULL };

static void omr_canned_item(struct omr_canned *c, const struct omr_ynode *item,
			    const struct omr_routing_conf *routing, struct omr_conf_errs *errs)
{
	char why[256];
	int before = errs->count;
	if (item->type != OMR_Y_MAP) {
		omr_conf_error(errs, item, "responses: each is a mapping {shortcut, text, ...}");
		return;
	}
	for (size_t i = 0; i < item->n; i++) {
		size_t k = 0;
		while (omr_canned_keys[k] && strcmp(omr_canned_keys[k], item->pairs[i].key->value))
			k++;
		if (!omr_canned_keys[k])
			omr_conf_error(errs, item->pairs[i].key, "unknown key '%s' (shortcut, title, "
				       "language, queues, text)", item->pairs[i].key->value);
	}
	const char *sc = omr_canned_str(item, "shortcut", errs);
	const char *title = omr_canned_str(item, "title", errs);
	const char *lang = omr_canned_str(item, "language", errs);
	const char *text = omr_canned_str(item, "text", errs);
	const char *bad = omr_canned_shortcut_check(sc);
	if (bad)
		omr_conf_error(errs, sc ? omr_ynode_get(item, "shortcut") : item, "shortcut: %s", bad);
	if (omr_ynode_get(item, "language") && !omr_canned_language_ok(lang))
		omr_conf_error(errs, omr_ynode_get(item, "language"),
			       "language: '%s' is not a language code (two letters, ISO 639-1)",
			       lang ? lang : "");
	if (title && strlen(title) > OMR_CANNED_TITLE_MAX)
		omr_conf_error(errs, omr_ynode_get(item, "title"), "title: at most 80 bytes");
	if ((bad = omr_canned_text_check(text, why, sizeof(why))) != NULL)
		omr_conf_error(errs, text ? omr_ynode_get(item, "text") : item, "text: %s", bad);
	json_t *queues = omr_canned_queues(item, routing, errs);
	if (errs->count > before) {
		json_decref(queues);
		return;
	}
	json_t *r = json_pack("{s:s,s:s,s:s}", "shortcut", sc, "title", title ? title : sc, "text",
			      text);
	if (lang)
		json_object_set_new(r, "language", json_string(lang));
	if (queues)
		json_object_set_new(r, "queues", queues);
	size_t i;
	json_t *other;
	json_array_foreach(c->responses, i, other)
		if (omr_canned_overlap(other, r)) {
			omr_conf_error(errs, omr_ynode_get(item, "shortcut"),
				       "shortcut '%s' again (for the same language and queue as an "
				       "earlier one)", sc);
			json_decref(r);
			return;
		}
	json_array_append_new(c->responses, r);
}

struct omr_canned *omr_canned_load_doc(const struct omr_ydoc *doc,
				       const struct omr_routing_conf *routing,
				       struct omr_conf_errs *errs)
{
	struct omr_canned *c = omr_calloc(1, sizeof(*c));
	int before = errs->count;
	c->responses = json_array();
	const struct omr_ynode *root = doc ? doc->root : NULL;
	const struct omr_ynode *list = root && root->type == OMR_Y_MAP ?
		omr_ynode_get(root, "responses") : NULL;
	if (root && (root->type != OMR_Y_MAP || root->n != (list ? 1u : 0u)))
		omr_conf_error(errs, root, "a canned responses file has one key: responses");
	else if (list && !omr_ynode_is_null(list) && list->type != OMR_Y_SEQ)
		omr_conf_error(errs, list, "responses: expected a list");
	else if (list && list->type == OMR_Y_SEQ && list->n > OMR_CANNED_MAX)
		omr_conf_error(errs, list, "responses: at most %d", OMR_CANNED_MAX);
	else
		for (size_t i = 0; list && list->type == OMR_Y_SEQ && i < list->n; i++)
			omr_canned_item(c, list->items[i], routing, errs);
	if (errs->count > before) {
		omr_canned_free(c);
		return NULL;
	}
	return c;
}

struct omr_canned *omr_canned_load(const char *path, const struct omr_routing_conf *routing,
				   struct omr_conf_errs *errs)
{
	char *err = NULL;
	if (!path) {
		struct omr_canned *c = omr_calloc(1, sizeof(*c));
		c->responses = json_array();
		return c;
	}
	struct omr_ydoc *doc = omr_yaml_load_file(path, &err);
	if (!doc) {
		omr_conf_error(errs, NULL, "%s", err ? err : path);
		free(err);
		return NULL;
	}
	struct omr_canned *c = omr_canned_load_doc(doc, routing, errs);
	omr_yaml_free(doc);
	return c;
}

void omr_canned_free(struct omr_canned *c)
{
	if (!c)
		return;
	json_decref(c->responses);
	free(c);
}
