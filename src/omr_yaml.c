/*
 * omr_yaml: libyaml event stream -> node tree with positions.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "omr_util.h"
#include "omr_yaml.h"

/* A configuration file is written by a person; anything this big or this
 * deep is a mistake or an attack. */
#define OMR_YAML_MAX_BYTES (16u * 1024 * 1024)
#define OMR_YAML_MAX_DEPTH 64

struct omr_yparser {
	yaml_parser_t parser;
	const char *file;
	char **err_r;
	int depth;
};

static void omr_ynode_free(struct omr_ynode *n)
{
	if (!n)
		return;
	free(n->value);
	for (size_t i = 0; n->pairs && i < n->n; i++) {
		omr_ynode_free(n->pairs[i].key);
		omr_ynode_free(n->pairs[i].value);
	}
	for (size_t i = 0; n->items && i < n->n; i++)
		omr_ynode_free(n->items[i]);
	free(n->pairs);
	free(n->items);
	free(n);
}

void omr_yaml_free(struct omr_ydoc *doc)
{
	if (!doc)
		return;
	omr_ynode_free(doc->root);
	free(doc->file);
	free(doc);
}

static int omr_yparse_next(struct omr_yparser *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&p->parser, ev)) {
		return omr_err(p->err_r, "%s:%zu: %s%s%s", p->file,
			       p->parser.problem_mark.line + 1,
			       p->parser.problem ? p->parser.problem : "syntax error",
			       p->parser.context ? " " : "",
			       p->parser.context ? p->parser.context : "");
	}
	return 0;
}

static struct omr_ynode *omr_ynode_new(struct omr_yparser *p, enum omr_ynode_type type,
				       const yaml_mark_t *mark)
{
	struct omr_ynode *n = omr_calloc(1, sizeof(*n));
	n->type = type;
	n->file = p->file;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	return n;
}

static struct omr_ynode *omr_yparse_node(struct omr_yparser *p, yaml_event_t *ev);

static int omr_yparse_check_props(struct omr_yparser *p, const yaml_event_t *ev,
				  const unsigned char *anchor, const unsigned char *tag,
				  int implicit)
{
	if (anchor)
		return omr_err(p->err_r, "%s:%zu: anchors (&%s) are not supported", p->file,
			       ev->start_mark.line + 1, anchor);
	if (tag && !implicit)
		return omr_err(p->err_r, "%s:%zu: tags (%s) are not supported", p->file,
			       ev->start_mark.line + 1, tag);
	return 0;
}

static struct omr_ynode *omr_yparse_map(struct omr_yparser *p, yaml_event_t *start)
{
	struct omr_ynode *n = omr_ynode_new(p, OMR_Y_MAP, &start->start_mark);
	size_t cap = 0;
	yaml_event_t ev;

	for (;;) {
		if (omr_yparse_next(p, &ev) < 0)
			goto fail;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return n;
		}
		struct omr_ynode *key = omr_yparse_node(p, &ev);
		yaml_event_delete(&ev);
		if (!key)
			goto fail;
		if (key->type != OMR_Y_SCALAR) {
			omr_err(p->err_r, "%s:%d: a key must be a plain word", p->file, key->line);
			omr_ynode_free(key);
			goto fail;
		}
		for (size_t i = 0; i < n->n; i++) {
			if (strcmp(n->pairs[i].key->value, key->value) == 0) {
				omr_err(p->err_r, "%s:%d: duplicate key '%s' (first at line %d)", p->file, key->line, key->value,
					n->pairs[i].key->line);
				omr_ynode_free(key);
				goto fail;
			}
		}
		if (omr_yparse_next(p, &ev) < 0) {
			omr_ynode_free(key);
			goto fail;
		}
		struct omr_ynode *val = omr_yparse_node(p, &ev);
		yaml_event_delete(&ev);
		if (!val) {
			omr_ynode_free(key);
			goto fail;
		}
		if (n->n == cap) {
			cap = cap ? cap * 2 : 8;
			n->pairs = omr_realloc(n->pairs, cap * sizeof(*n->pairs));
		}
		n->pairs[n->n].key = key;
		n->pairs[n->n].value = val;
		n->n++;
	}
fail:
	omr_ynode_free(n);
	return NULL;
}

static struct omr_ynode *omr_yparse_seq(struct omr_yparser *p, yaml_event_t *start)
{
	struct omr_ynode *n = omr_ynode_new(p, OMR_Y_SEQ, &start->start_mark);
	size_t cap = 0;
	yaml_event_t ev;

	for (;;) {
		if (omr_yparse_next(p, &ev) < 0)
			goto fail;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return n;
		}
		struct omr_ynode *item = omr_yparse_node(p, &ev);
		yaml_event_delete(&ev);
		if (!item)
			goto fail;
		if (n->n == cap) {
			cap = cap ? cap * 2 : 8;
			n->items = omr_realloc(n->items, cap * sizeof(*n->items));
		}
		n->items[n->n++] = item;
	}
fail:
	omr_ynode_free(n);
	return NULL;
}

static struct omr_ynode *omr_yparse_node(struct omr_yparser *p, yaml_event_t *ev)
{
	struct omr_ynode *n = NULL;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (omr_yparse_check_props(p, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
					   ev->data.scalar.plain_implicit ||
						   ev->data.scalar.quoted_implicit) < 0)
			return NULL;
		n = omr_ynode_new(p, OMR_Y_SCALAR, &ev->start_mark);
		n->value = omr_strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (memchr(n->value, '\0', n->len)) {
			omr_err(p->err_r, "%s:%d: NUL byte in a value", p->file, n->line);
			omr_ynode_free(n);
			return NULL;
		}
		return n;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		int is_map = ev->type == YAML_MAPPING_START_EVENT;
		if (omr_yparse_check_props(
			    p, ev, is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor,
			    is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag,
			    is_map ? ev->data.mapping_start.implicit : ev->data.sequence_start.implicit) < 0)
			return NULL;
		if (++p->depth > OMR_YAML_MAX_DEPTH) {
			omr_err(p->err_r, "%s:%zu: nested deeper than %d levels", p->file,
			       ev->start_mark.line + 1, OMR_YAML_MAX_DEPTH);
			return NULL;
		}
		n = is_map ? omr_yparse_map(p, ev) : omr_yparse_seq(p, ev);
		p->depth--;
		return n;
	}
	case YAML_ALIAS_EVENT:
		omr_err(p->err_r, "%s:%zu: aliases (*%s) are not supported", p->file,
			       ev->start_mark.line + 1, ev->data.alias.anchor);
		return NULL;
	default:
		omr_err(p->err_r, "%s:%zu: unexpected YAML event", p->file,
			       ev->start_mark.line + 1);
		return NULL;
	}
}

struct omr_ydoc *omr_yaml_load_string(const char *name, const char *data, size_t len,
				      char **err_r)
{
	struct omr_yparser p;
	struct omr_ydoc *doc = omr_calloc(1, sizeof(*doc));
	yaml_event_t ev;
	int docs = 0;

	doc->file = omr_strdup(name);
	memset(&p, 0, sizeof(p));
	p.file = doc->file;
	p.err_r = err_r;
	if (len > OMR_YAML_MAX_BYTES) {
		omr_err(err_r, "%s: larger than %u bytes", name, OMR_YAML_MAX_BYTES);
		omr_yaml_free(doc);
		return NULL;
	}
	if (!yaml_parser_initialize(&p.parser)) {
		omr_err(err_r, "%s: cannot initialise the YAML parser", name);
		omr_yaml_free(doc);
		return NULL;
	}
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)data, len);
	for (;;) {
		if (omr_yparse_next(&p, &ev) < 0)
			goto fail;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				omr_err(err_r, "%s:%zu: only one YAML document per file", name,
					ev.start_mark.line + 1);
				yaml_event_delete(&ev);
				goto fail;
			}
		} else if (ev.type != YAML_STREAM_START_EVENT && ev.type != YAML_DOCUMENT_END_EVENT) {
			doc->root = omr_yparse_node(&p, &ev);
			if (!doc->root) {
				yaml_event_delete(&ev);
				goto fail;
			}
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p.parser);
	return doc;
fail:
	yaml_parser_delete(&p.parser);
	omr_yaml_free(doc);
	return NULL;
}

struct omr_ydoc *omr_yaml_load_file(const char *path, char **err_r)
{
	size_t len;
	char *data = omr_read_file(path, OMR_YAML_MAX_BYTES, &len, err_r);
	if (!data)
		return NULL;
	struct omr_ydoc *doc = omr_yaml_load_string(path, data, len, err_r);
	free(data);
	return doc;
}

const struct omr_ynode *omr_ynode_get(const struct omr_ynode *map, const char *key)
{
	if (!map || map->type != OMR_Y_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key->value, key) == 0)
			return map->pairs[i].value;
	return NULL;
}

int omr_ynode_is_null(const struct omr_ynode *n)
{
	return n->type == OMR_Y_SCALAR && n->plain &&
	       (n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0 ||
		strcmp(n->value, "Null") == 0 || strcmp(n->value, "NULL") == 0);
}

const char *omr_ynode_type_name(const struct omr_ynode *n)
{
	switch (n->type) {
	case OMR_Y_MAP:
		return "a mapping";
	case OMR_Y_SEQ:
		return "a list";
	default:
		return "a scalar";
	}
}

static json_t *omr_yscalar_to_json(const struct omr_ynode *n)
{
	if (n->plain) {
		long long v;
		char *end;
		if (omr_ynode_is_null(n))
			return json_null();
		if (!strcmp(n->value, "true") || !strcmp(n->value, "True") || !strcmp(n->value, "TRUE"))
			return json_true();
		if (!strcmp(n->value, "false") || !strcmp(n->value, "False") || !strcmp(n->value, "FALSE"))
			return json_false();
		if (omr_parse_ll(n->value, &v) == 0)
			return json_integer(v);
		errno = 0;
		double d = strtod(n->value, &end);
		if (!errno && end != n->value && !*end && strspn(n->value, "+-.0123456789eE") == n->len)
			return json_real(d);
	}
	return json_stringn(n->value, n->len);
}

json_t *omr_ynode_to_json(const struct omr_ynode *n)
{
	json_t *j;
	switch (n->type) {
	case OMR_Y_MAP:
		j = json_object();
		for (size_t i = 0; i < n->n; i++)
			json_object_set_new(j, n->pairs[i].key->value,
					    omr_ynode_to_json(n->pairs[i].value));
		return j;
	case OMR_Y_SEQ:
		j = json_array();
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(j, omr_ynode_to_json(n->items[i]));
		return j;
	default:
		return omr_yscalar_to_json(n);
	}
}
