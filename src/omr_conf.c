/*
 * omr_conf: see omr_conf.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_conf.h"

#define OMR_CONF_SECRET_MAX (64 * 1024)

void omr_conf_errs_init(struct omr_conf_errs *e)
{
	omr_buf_init(&e->text);
	e->count = 0;
}

void omr_conf_errs_free(struct omr_conf_errs *e)
{
	omr_buf_free(&e->text);
	e->count = 0;
}

void omr_conf_error(struct omr_conf_errs *e, const struct omr_ynode *at, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = omr_vasprintf(fmt, ap);
	va_end(ap);
	if (at)
		omr_buf_printf(&e->text, "%s:%d: %s\n", at->file, at->line, msg);
	else
		omr_buf_printf(&e->text, "%s\n", msg);
	e->count++;
	free(msg);
}

static int omr_conf_want_scalar(const struct omr_ynode *n, const char *what,
				struct omr_conf_errs *e)
{
	if (n->type != OMR_Y_SCALAR) {
		omr_conf_error(e, n, "expected %s, found %s", what, omr_ynode_type_name(n));
		return -1;
	}
	return 0;
}

int omr_conf_node_string(const struct omr_ynode *n, char **out_r, struct omr_conf_errs *e)
{
	if (omr_conf_want_scalar(n, "a string", e) < 0)
		return -1;
	*out_r = omr_strdup(n->value);
	return 0;
}

int omr_conf_node_int(const struct omr_ynode *n, long long min, long long max, long long *out_r,
		      struct omr_conf_errs *e)
{
	long long v;
	if (omr_conf_want_scalar(n, "a number", e) < 0)
		return -1;
	if (!n->plain || omr_parse_ll(n->value, &v) < 0) {
		omr_conf_error(e, n, "expected a whole number, found '%s'", n->value);
		return -1;
	}
	if ((min || max) && (v < min || v > max)) {
		omr_conf_error(e, n, "%lld is out of range (%lld..%lld)", v, min, max);
		return -1;
	}
	*out_r = v;
	return 0;
}

int omr_conf_node_bool(const struct omr_ynode *n, int *out_r, struct omr_conf_errs *e)
{
	static const char *const yes[] = { "true", "yes", "on", "True", "Yes", "On", "TRUE", NULL };
	static const char *const no[] = { "false", "no", "off", "False", "No", "Off", "FALSE", NULL };
	if (omr_conf_want_scalar(n, "true or false", e) < 0)
		return -1;
	for (int i = 0; n->plain && yes[i]; i++)
		if (strcmp(n->value, yes[i]) == 0)
			return *out_r = 1, 0;
	for (int i = 0; n->plain && no[i]; i++)
		if (strcmp(n->value, no[i]) == 0)
			return *out_r = 0, 0;
	omr_conf_error(e, n, "expected true or false, found '%s'", n->value);
	return -1;
}

int omr_conf_node_ms(const struct omr_ynode *n, long long *out_r, struct omr_conf_errs *e)
{
	if (omr_conf_want_scalar(n, "a duration", e) < 0)
		return -1;
	if (omr_parse_duration_ms(n->value, out_r) < 0) {
		omr_conf_error(e, n, "expected a duration such as 500ms, 30s, 5m or 2h, found '%s'",
			       n->value);
		return -1;
	}
	return 0;
}

size_t omr_conf_strlist_len(char *const *list)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	return n;
}

void omr_conf_strlist_free(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}

int omr_conf_node_strlist(const struct omr_ynode *n, char ***out_r, struct omr_conf_errs *e)
{
	char **list;
	if (n->type == OMR_Y_SCALAR) {
		list = omr_calloc(2, sizeof(*list));
		list[0] = omr_strdup(n->value);
		*out_r = list;
		return 0;
	}
	if (n->type != OMR_Y_SEQ) {
		omr_conf_error(e, n, "expected a list of strings, found %s", omr_ynode_type_name(n));
		return -1;
	}
	list = omr_calloc(n->n + 1, sizeof(*list));
	for (size_t i = 0; i < n->n; i++) {
		if (omr_conf_want_scalar(n->items[i], "a string", e) < 0) {
			omr_conf_strlist_free(list);
			return -1;
		}
		list[i] = omr_strdup(n->items[i]->value);
	}
	*out_r = list;
	return 0;
}

/* A secret is a literal, {env: NAME} or {file: PATH}; keeping secrets out of
 * the file lets the config live in version control. */
static int omr_conf_node_secret(const struct omr_ynode *n, char **out_r, struct omr_conf_errs *e)
{
	const struct omr_ynode *env, *file;
	if (n->type == OMR_Y_SCALAR) {
		*out_r = omr_strdup(n->value);
		return 0;
	}
	env = omr_ynode_get(n, "env");
	file = omr_ynode_get(n, "file");
	if (n->type != OMR_Y_MAP || n->n != 1 || (!env && !file)) {
		omr_conf_error(e, n, "expected a string, {env: NAME} or {file: PATH}");
		return -1;
	}
	if (env) {
		const char *v;
		if (omr_conf_want_scalar(env, "an environment variable name", e) < 0)
			return -1;
		v = getenv(env->value);
		if (!v) {
			omr_conf_error(e, env, "environment variable %s is not set", env->value);
			return -1;
		}
		*out_r = omr_strdup(v);
		return 0;
	}
	if (omr_conf_want_scalar(file, "a file name", e) < 0)
		return -1;
	char *dir = omr_dirname(file->file);
	char *path = omr_path_join(dir, file->value);
	char *err = NULL;
	size_t len;
	char *data = omr_read_file(path, OMR_CONF_SECRET_MAX, &len, &err);
	free(dir);
	free(path);
	if (!data) {
		omr_conf_error(e, file, "cannot read secret: %s", err);
		free(err);
		return -1;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = '\0';
	*out_r = data;
	return 0;
}

static int omr_conf_node_enum(const struct omr_ynode *n, const char *const *choices, int *out_r,
			      struct omr_conf_errs *e)
{
	struct omr_buf list;
	if (omr_conf_want_scalar(n, "a word", e) < 0)
		return -1;
	for (int i = 0; choices && choices[i]; i++)
		if (strcmp(n->value, choices[i]) == 0)
			return *out_r = i, 0;
	omr_buf_init(&list);
	for (int i = 0; choices && choices[i]; i++)
		omr_buf_printf(&list, "%s%s", i ? ", " : "", choices[i]);
	omr_conf_error(e, n, "'%s' is not one of: %s", n->value, list.data ? list.data : "");
	omr_buf_free(&list);
	return -1;
}

static void omr_conf_release_one(const struct omr_conf_key *k, void *dst)
{
	char *field = (char *)dst + k->offset;
	switch (k->type) {
	case OMR_CONF_STRING:
	case OMR_CONF_SECRET:
	case OMR_CONF_PATH:
		omr_free_and_null((char **)field);
		break;
	case OMR_CONF_STRLIST:
		omr_conf_strlist_free(*(char ***)field);
		*(char ***)field = NULL;
		break;
	case OMR_CONF_JSON:
		json_decref(*(json_t **)field);
		*(json_t **)field = NULL;
		break;
	case OMR_CONF_SECTION:
		omr_conf_release(k->sub, field);
		break;
	default:
		break;
	}
}

/* Set one key from a node. */
static int omr_conf_set(const struct omr_conf_key *k, const struct omr_ynode *n, void *dst,
			struct omr_conf_errs *e)
{
	char *field = (char *)dst + k->offset;
	long long v;
	int b;

	omr_conf_release_one(k, dst);
	switch (k->type) {
	case OMR_CONF_STRING:
		return omr_conf_node_string(n, (char **)field, e);
	case OMR_CONF_SECRET:
		return omr_conf_node_secret(n, (char **)field, e);
	case OMR_CONF_PATH: {
		char *s, *dir;
		if (omr_conf_node_string(n, &s, e) < 0)
			return -1;
		dir = omr_dirname(n->file);
		*(char **)field = omr_path_join(dir, s);
		free(dir);
		free(s);
		return 0;
	}
	case OMR_CONF_INT:
		if (omr_conf_node_int(n, k->min, k->max, &v, e) < 0)
			return -1;
		*(long long *)field = v;
		return 0;
	case OMR_CONF_MS:
		if (omr_conf_node_ms(n, &v, e) < 0)
			return -1;
		if ((k->min || k->max) && (v < k->min || v > k->max)) {
			omr_conf_error(e, n, "%s: %lldms is out of range (%lldms..%lldms)", k->name, v,
				       k->min, k->max);
			return -1;
		}
		*(long long *)field = v;
		return 0;
	case OMR_CONF_BOOL:
		if (omr_conf_node_bool(n, &b, e) < 0)
			return -1;
		*(int *)field = b;
		return 0;
	case OMR_CONF_ENUM:
		return omr_conf_node_enum(n, k->choices, (int *)field, e);
	case OMR_CONF_STRLIST:
		return omr_conf_node_strlist(n, (char ***)field, e);
	case OMR_CONF_JSON:
		*(json_t **)field = omr_ynode_to_json(n);
		return 0;
	case OMR_CONF_SECTION:
		if (n->type != OMR_Y_MAP && !omr_ynode_is_null(n)) {
			omr_conf_error(e, n, "%s: expected a mapping, found %s", k->name,
				       omr_ynode_type_name(n));
			return -1;
		}
		return omr_conf_apply(k->sub, n->type == OMR_Y_MAP ? n : NULL, field, NULL, e) ? -1 : 0;
	case OMR_CONF_END:
		break;
	}
	return -1;
}

static void omr_conf_apply_defaults(const struct omr_conf_key *keys, void *dst,
				    struct omr_conf_errs *errs);

/* Defaults are written as text and go through the same conversion, so a
 * default can never be a value the file could not hold. */
static void omr_conf_set_default(const struct omr_conf_key *k, void *dst, struct omr_conf_errs *e)
{
	struct omr_ydoc *doc;
	char *err = NULL;

	if (k->type == OMR_CONF_SECTION) {
		/* an absent optional section: its defaults, and no complaint
		 * about keys it would require if it were there */
		omr_conf_apply_defaults(k->sub, (char *)dst + k->offset, e);
		return;
	}
	if (!k->def)
		return;
	doc = omr_yaml_load_string("(default)", k->def, strlen(k->def), &err);
	if (!doc || !doc->root) {
		omr_conf_error(e, NULL, "internal: bad default for %s: %s", k->name,
			       err ? err : "empty");
		free(err);
		omr_yaml_free(doc);
		return;
	}
	if (k->type == OMR_CONF_PATH) {
		/* Default paths are taken as they are, not relative to a file. */
		char **field = (char **)((char *)dst + k->offset);
		omr_free_and_null(field);
		*field = omr_strdup(doc->root->value);
	} else {
		omr_conf_set(k, doc->root, dst, e);
	}
	omr_yaml_free(doc);
}

static int omr_conf_is_handled(const char *const *handled, const char *name)
{
	for (size_t i = 0; handled && handled[i]; i++)
		if (strcmp(handled[i], name) == 0)
			return 1;
	return 0;
}

static void omr_conf_unknown_key(const struct omr_conf_key *keys, const struct omr_ynode *key,
				 const char *const *handled, struct omr_conf_errs *e)
{
	struct omr_buf list;
	size_t n = 0;
	omr_buf_init(&list);
	for (const struct omr_conf_key *k = keys; k->type != OMR_CONF_END; k++)
		omr_buf_printf(&list, "%s%s", n++ ? ", " : "", k->name);
	for (size_t i = 0; handled && handled[i]; i++)
		omr_buf_printf(&list, "%s%s", n++ ? ", " : "", handled[i]);
	omr_conf_error(e, key, "unknown key '%s' (expected one of: %s)", key->value,
		       list.data ? list.data : "none");
	omr_buf_free(&list);
}

static void omr_conf_apply_defaults(const struct omr_conf_key *keys, void *dst,
				    struct omr_conf_errs *errs)
{
	for (const struct omr_conf_key *k = keys; k->type != OMR_CONF_END; k++)
		omr_conf_set_default(k, dst, errs);
}

int omr_conf_apply(const struct omr_conf_key *keys, const struct omr_ynode *map, void *dst,
		   const char *const *handled, struct omr_conf_errs *errs)
{
	int before = errs->count;

	if (map && map->type != OMR_Y_MAP) {
		omr_conf_error(errs, map, "expected a mapping, found %s", omr_ynode_type_name(map));
		return errs->count - before;
	}
	for (size_t i = 0; map && i < map->n; i++) {
		const struct omr_ynode *key = map->pairs[i].key;
		const struct omr_conf_key *k;
		for (k = keys; k->type != OMR_CONF_END; k++)
			if (strcmp(k->name, key->value) == 0)
				break;
		if (k->type == OMR_CONF_END && !omr_conf_is_handled(handled, key->value))
			omr_conf_unknown_key(keys, key, handled, errs);
	}
	for (const struct omr_conf_key *k = keys; k->type != OMR_CONF_END; k++) {
		const struct omr_ynode *n = omr_ynode_get(map, k->name);
		if (n && !(omr_ynode_is_null(n) && k->type != OMR_CONF_SECTION)) {
			int e0 = errs->count;
			if (omr_conf_set(k, n, dst, errs) < 0 && errs->count == e0)
				omr_conf_error(errs, n, "%s: invalid value", k->name);
		} else if (k->required) {
			omr_conf_error(errs, map, "missing required key '%s'", k->name);
		} else {
			omr_conf_set_default(k, dst, errs);
		}
	}
	return errs->count - before;
}

void omr_conf_release(const struct omr_conf_key *keys, void *dst)
{
	for (const struct omr_conf_key *k = keys; k->type != OMR_CONF_END; k++)
		omr_conf_release_one(k, dst);
}

static const char *omr_conf_type_name(const struct omr_conf_key *k)
{
	switch (k->type) {
	case OMR_CONF_STRING: return "string";
	case OMR_CONF_SECRET: return "secret";
	case OMR_CONF_INT: return "integer";
	case OMR_CONF_BOOL: return "boolean";
	case OMR_CONF_MS: return "duration";
	case OMR_CONF_PATH: return "path";
	case OMR_CONF_JSON: return "any";
	case OMR_CONF_ENUM: return "enum";
	case OMR_CONF_STRLIST: return "list of strings";
	case OMR_CONF_SECTION: return "mapping";
	default: return "?";
	}
}

void omr_conf_describe(const struct omr_conf_key *keys, const char *prefix, struct omr_buf *out)
{
	for (const struct omr_conf_key *k = keys; k->type != OMR_CONF_END; k++) {
		if (k->type == OMR_CONF_SECTION) {
			char *p = omr_asprintf("%s%s.", prefix, k->name);
			omr_conf_describe(k->sub, p, out);
			free(p);
			continue;
		}
		omr_buf_printf(out, "| `%s%s` | %s", prefix, k->name, omr_conf_type_name(k));
		if (k->type == OMR_CONF_ENUM) {
			omr_buf_puts(out, ": ");
			for (int i = 0; k->choices[i]; i++)
				omr_buf_printf(out, "%s`%s`", i ? ", " : "", k->choices[i]);
		}
		if ((k->type == OMR_CONF_INT) && (k->min || k->max))
			omr_buf_printf(out, " (%lld..%lld)", k->min, k->max);
		omr_buf_printf(out, " | %s | %s |\n",
			       k->required ? "required" : k->def ? k->def : "-", k->doc ? k->doc : "");
	}
}
