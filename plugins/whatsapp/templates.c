/*
 * templates: see templates.h. The Graph API's form of a send, from the
 * Cloud API reference ("Send template messages"):
 *   "template": {"name": N, "language": {"code": L}, "components": [
 *     {"type": "header", "parameters": [{"type": "text", "text": V}
 *                                      | {"type": "image", "image": {"link": V}}]},
 *     {"type": "body", "parameters": [{"type": "text", "text": V}, ...]},
 *        (named: {"type": "text", "parameter_name": "first_name", "text": V})
 *     {"type": "button", "sub_type": "url", "index": "0",
 *      "parameters": [{"type": "text", "text": V}]},
 *     {"type": "button", "sub_type": "quick_reply", "index": "1",
 *      "parameters": [{"type": "payload", "payload": V}]}]}
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

#include "templates.h"

#define WA_NAME_MAX 64      /* a named parameter's name */
#define WA_BUTTONS_MAX 10   /* buttons of a template (Cloud API) */

static int wa_err(char **err_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int wa_err(char **err_r, const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (err_r)
		*err_r = omr_plugin_strdup(buf);
	return -1;
}

/* ---- placeholders ---- */

static int wa_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > WA_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int wa_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* The placeholders of s, each once, in order, appended to names. */
static int wa_scan(const char *s, json_t *names, char **err_r)
{
	for (const char *p = strstr(s, "{{"); p; p = strstr(p, "{{")) {
		const char *end = strstr(p + 2, "}}");
		if (!end)
			return wa_err(err_r, "'{{' without '}}'");
		size_t n = (size_t)(end - p - 2);
		if (!wa_name_ok(p + 2, n))
			return wa_err(err_r, "'{{%.*s}}': a placeholder is {{1}} or {{a_name}} "
				      "(a-z, 0-9, _)", (int)(n > 40 ? 40 : n), p + 2);
		json_t *name = json_stringn(p + 2, n);
		size_t i;
		json_t *v;
		int seen = 0;
		json_array_foreach(names, i, v)
			seen |= json_equal(v, name);
		if (seen)
			json_decref(name);
		else
			json_array_append_new(names, name);
		p = end + 2;
	}
	return 0;
}

/* s with every {{x}} replaced by vars[x] (or vars[only] when only is set:
 * the header's one placeholder). */
static char *wa_subst(const char *s, const json_t *vars, const char *only)
{
	size_t cap = strlen(s) + 1, len = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	while (*s) {
		const char *v = NULL;
		size_t skip = 1;
		if (s[0] == '{' && s[1] == '{') {
			const char *end = strstr(s + 2, "}}");
			if (end) {
				char key[WA_NAME_MAX + 1];
				size_t n = (size_t)(end - s - 2);
				snprintf(key, sizeof(key), "%.*s", (int)(n > WA_NAME_MAX ? WA_NAME_MAX : n),
					 s + 2);
				v = json_string_value(json_object_get(vars, only ? only : key));
				skip = n + 4;
			}
		}
		size_t add = v ? strlen(v) : 1;
		if (len + add + 1 > cap) {
			cap = (len + add + 1) * 2;
			char *bigger = realloc(out, cap);
			if (!bigger) {
				free(out);
				return NULL;
			}
			out = bigger;
		}
		if (v) {
			memcpy(out + len, v, add);
			s += skip;
		} else {
			out[len] = *s++;
			add = 1;
		}
		len += add;
	}
	out[len] = '\0';
	return out;
}

/* ---- loading ---- */

static void wa_var(json_t *vars, const char *name, const char *part, const char *type)
{
	json_array_append_new(vars, json_pack("{s:s,s:s,s:s}", "name", name, "part", part,
					      "type", type));
}

static int wa_body_vars(const char *text, json_t *vars, char **err_r)
{
	json_t *names = json_array();
	size_t i, j, npos = 0;
	json_t *v;
	if (wa_scan(text, names, err_r) < 0)
		goto fail;
	json_array_foreach(names, i, v)
		npos += wa_digits(json_string_value(v));
	if (npos && npos != json_array_size(names)) {
		wa_err(err_r, "text: {{1}} and {{name}} placeholders cannot be mixed");
		goto fail;
	}
	for (j = 1; j <= npos; j++) {
		char want[24];
		int found = 0;
		snprintf(want, sizeof(want), "%zu", j);
		json_array_foreach(names, i, v)
			found |= strcmp(json_string_value(v), want) == 0;
		if (!found) {
			wa_err(err_r, "text: {{%s}} is missing (placeholders are {{1}} to {{%zu}})",
			       want, npos);
			goto fail;
		}
	}
	for (j = 1; j <= npos; j++) { /* in order: the Graph API reads them so */
		char n[24];
		snprintf(n, sizeof(n), "%zu", j);
		wa_var(vars, n, "body", "text");
	}
	json_array_foreach(names, i, v)
		if (!npos)
			wa_var(vars, json_string_value(v), "body", "text");
	json_decref(names);
	return 0;
fail:
	json_decref(names);
	return -1;
}

static int wa_header_vars(const json_t *h, json_t *vars, char **err_r)
{
	const char *type = json_string_value(json_object_get(h, "type"));
	if (!json_is_object(h) || !type)
		return wa_err(err_r, "header: {type: text | image | video | document}");
	if (strcmp(type, "text") == 0) {
		const char *text = json_string_value(json_object_get(h, "text"));
		json_t *names = json_array();
		if (!text || !*text || wa_scan(text, names, err_r) < 0) {
			json_decref(names);
			return err_r && *err_r ? -1 : wa_err(err_r, "header: a text header needs a text");
		}
		size_t n = json_array_size(names);
		const char *pn = json_string_value(json_array_get(names, 0));
		if (n == 1) {
			wa_var(vars, "header", "header", "text");
			if (!wa_digits(pn)) /* named: the Graph API wants its name */
				json_object_set_new(json_array_get(vars, json_array_size(vars) - 1),
						    "parameter_name", json_string(pn));
		}
		json_decref(names);
		if (n > 1)
			return wa_err(err_r, "header: a text header takes at most one placeholder");
		return 0;
	}
	if (strcmp(type, "image") && strcmp(type, "video") && strcmp(type, "document"))
		return wa_err(err_r, "header: type '%s' is not one of text, image, video, document",
			      type);
	if (json_object_get(h, "filename") && !json_is_string(json_object_get(h, "filename")))
		return wa_err(err_r, "header: filename: a string");
	wa_var(vars, "header", "header", type);
	return 0;
}

static int wa_button_vars(const json_t *buttons, json_t *vars, char **err_r)
{
	size_t i;
	json_t *b;
	if (!buttons)
		return 0;
	if (!json_is_array(buttons) || json_array_size(buttons) > WA_BUTTONS_MAX)
		return wa_err(err_r, "buttons: a list of at most %d buttons", WA_BUTTONS_MAX);
	json_array_foreach(buttons, i, b) {
		const char *type = json_string_value(json_object_get(b, "type"));
		char name[32];
		snprintf(name, sizeof(name), "button_%zu", i);
		if (!json_is_object(b) || !type || !json_is_string(json_object_get(b, "text")))
			return wa_err(err_r, "button %zu: needs type and text", i + 1);
		if (strcmp(type, "url") == 0) {
			const char *url = json_string_value(json_object_get(b, "url"));
			json_t *names = json_array();
			int bad = !url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) ||
				  wa_scan(url, names, NULL) < 0 || json_array_size(names) > 1;
			size_t n = json_array_size(names);
			json_decref(names);
			if (bad)
				return wa_err(err_r, "button %zu: a url button needs an http(s) url "
					      "with at most one placeholder at its end", i + 1);
			if (n && strcmp(strstr(url, "}}"), "}}") != 0)
				return wa_err(err_r, "button %zu: the url's placeholder must end it",
					      i + 1);
			if (n)
				wa_var(vars, name, "button", "url");
		} else if (strcmp(type, "quick_reply") == 0) {
			const json_t *pl = json_object_get(b, "payload");
			if (pl && !json_is_string(pl))
				return wa_err(err_r, "button %zu: payload: a string", i + 1);
			if (!pl)
				wa_var(vars, name, "button", "payload");
		} else {
			return wa_err(err_r, "button %zu: type '%s' is not url or quick_reply", i + 1,
				      type);
		}
	}
	return 0;
}

json_t *wa_templates_load(const json_t *conf, char **err_r)
{
	size_t i, k;
	json_t *t, *out;
	if (!json_is_array(conf)) {
		wa_err(err_r, "templates: a list of {name, language, text, header?, buttons?}");
		return NULL;
	}
	out = json_array();
	json_array_foreach(conf, i, t) {
		const char *name = json_string_value(json_object_get(t, "name"));
		const char *text = json_string_value(json_object_get(t, "text"));
		const json_t *footer = json_object_get(t, "footer");
		char *why = NULL;
		if (!json_is_object(t) || !name || !text || !*text ||
		    !json_is_string(json_object_get(t, "language"))) {
			wa_err(err_r, "template %zu: needs name, language and text", i + 1);
			goto fail;
		}
		for (k = 0; k < i; k++)
			if (strcmp(name, json_string_value(json_object_get(json_array_get(conf, k),
									       "name"))) == 0) {
				wa_err(err_r, "template '%s' is listed twice", name);
				goto fail;
			}
		if (footer && !json_is_string(footer)) {
			wa_err(err_r, "template %zu (%s): footer: a string", i + 1, name);
			goto fail;
		}
		json_t *vars = json_array();
		if ((json_object_get(t, "header") &&
		     wa_header_vars(json_object_get(t, "header"), vars, &why) < 0) ||
		    wa_body_vars(text, vars, &why) < 0 ||
		    wa_button_vars(json_object_get(t, "buttons"), vars, &why) < 0) {
			wa_err(err_r, "template %zu (%s): %s", i + 1, name, why ? why : "malformed");
			free(why);
			json_decref(vars);
			goto fail;
		}
		json_t *e = json_deep_copy(t);
		json_object_set_new(e, "variables", vars);
		json_array_append_new(out, e);
	}
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* ---- rendering ---- */

static const json_t *wa_find(const json_t *list, const char *name)
{
	size_t i;
	json_t *t;
	json_array_foreach(list, i, t)
		if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
			return t;
	return NULL;
}

/* Every variable given, each a usable value; nothing unknown. */
static int wa_vars_ok(const json_t *t, const json_t *given, char **err_r)
{
	const json_t *vars = json_object_get(t, "variables");
	const char *key;
	json_t *v;
	size_t i;
	if (given && !json_is_object(given))
		return wa_err(err_r, "variables: an object of name: value");
	json_array_foreach(vars, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *type = json_string_value(json_object_get(v, "type"));
		const json_t *val = json_object_get(given, name);
		const char *s = json_string_value(val);
		if (!val)
			return wa_err(err_r, "template '%s' needs variable '%s' (%s %s)",
				      json_string_value(json_object_get(t, "name")), name,
				      json_string_value(json_object_get(v, "part")), type);
		if (!s || !*s || json_string_length(val) > WA_TEMPLATE_VAR_MAX)
			return wa_err(err_r, "variable '%s': a text of 1 to %d characters", name,
				      WA_TEMPLATE_VAR_MAX);
		if (strpbrk(s, "\n\t")) /* the Graph API refuses them in parameters */
			return wa_err(err_r, "variable '%s': no new lines or tabs", name);
		if ((!strcmp(type, "image") || !strcmp(type, "video") || !strcmp(type, "document")) &&
		    strncmp(s, "https://", 8) != 0)
			return wa_err(err_r, "variable '%s': the https:// link of the %s", name, type);
	}
	json_object_foreach((json_t *)given, key, v) {
		int known = 0;
		json_t *w;
		json_array_foreach(vars, i, w)
			known |= strcmp(json_string_value(json_object_get(w, "name")), key) == 0;
		if (!known)
			return wa_err(err_r, "template '%s' has no variable '%s'",
				      json_string_value(json_object_get(t, "name")), key);
	}
	return 0;
}

static json_t *wa_param(const char *type, const char *value, const json_t *header)
{
	if (strcmp(type, "text") == 0 || strcmp(type, "url") == 0)
		return json_pack("{s:s,s:s}", "type", "text", "text", value);
	if (strcmp(type, "payload") == 0)
		return json_pack("{s:s,s:s}", "type", "payload", "payload", value);
	json_t *media = json_pack("{s:s}", "link", value);
	const char *fn = json_string_value(json_object_get(header, "filename"));
	if (fn && strcmp(type, "document") == 0)
		json_object_set_new(media, "filename", json_string(fn));
	return json_pack("{s:s,s:o}", "type", type, type, media);
}

static json_t *wa_components(const json_t *t, const json_t *given)
{
	json_t *comps = json_array(), *body = json_array(), *v;
	const json_t *header = json_object_get(t, "header");
	size_t i, nhead = 0;
	json_array_foreach(json_object_get(t, "variables"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *part = json_string_value(json_object_get(v, "part"));
		const char *type = json_string_value(json_object_get(v, "type"));
		json_t *p = wa_param(type, json_string_value(json_object_get(given, name)), header);
		if (json_is_string(json_object_get(v, "parameter_name")))
			json_object_set(p, "parameter_name", json_object_get(v, "parameter_name"));
		if (strcmp(part, "header") == 0) {
			nhead = 1;
			json_array_append_new(comps, json_pack("{s:s,s:[o]}", "type", "header",
							       "parameters", p));
		} else if (strcmp(part, "body") == 0) {
			if (!wa_digits(name))
				json_object_set_new(p, "parameter_name", json_string(name));
			json_array_append_new(body, p);
		} else {
			json_array_append_new(comps, json_pack("{s:s,s:s,s:s,s:[o]}", "type", "button",
							       "sub_type", strcmp(type, "url") == 0 ?
							       "url" : "quick_reply", "index",
							       name + 7, "parameters", p));
		}
	}
	if (json_array_size(body))
		json_array_insert_new(comps, nhead,
				      json_pack("{s:s,s:o}", "type", "body", "parameters", body));
	else
		json_decref(body);
	/* quick replies with a fixed payload: sent as configured */
	json_array_foreach(json_object_get(t, "buttons"), i, v) {
		const char *pl = json_string_value(json_object_get(v, "payload"));
		char idx[24];
		snprintf(idx, sizeof(idx), "%zu", i);
		if (pl)
			json_array_append_new(comps, json_pack("{s:s,s:s,s:s,s:[{s:s,s:s}]}", "type",
							       "button", "sub_type", "quick_reply",
							       "index", idx, "parameters", "type",
							       "payload", "payload", pl));
	}
	return comps;
}

int wa_template_render(const json_t *list, const char *name, const json_t *variables,
		       json_t **data_r, char **text_r, char **err_r)
{
	const json_t *t = name ? wa_find(list, name) : NULL;
	*data_r = NULL;
	*text_r = NULL;
	if (!t)
		return wa_err(err_r, "no template '%s'", name ? name : "");
	if (wa_vars_ok(t, variables, err_r) < 0)
		return -1;
	json_t *tj = json_pack("{s:O,s:{s:O}}", "name", json_object_get(t, "name"), "language",
			       "code", json_object_get(t, "language"));
	json_t *comps = wa_components(t, variables);
	if (json_array_size(comps))
		json_object_set_new(tj, "components", comps);
	else
		json_decref(comps);
	*data_r = json_pack("{s:o}", "template", tj);

	/* as the customer reads it: header text, body, footer */
	const json_t *h = json_object_get(t, "header");
	const char *ht = json_string_value(json_object_get(h, "text"));
	const char *footer = json_string_value(json_object_get(t, "footer"));
	char *head = ht ? wa_subst(ht, variables, "header") : NULL;
	char *body = wa_subst(json_string_value(json_object_get(t, "text")), variables, NULL);
	size_t n = (head ? strlen(head) + 2 : 0) + (body ? strlen(body) : 0) +
		   (footer ? strlen(footer) + 2 : 0) + 1;
	char *text = malloc(n);
	if (text)
		snprintf(text, n, "%s%s%s%s%s", head ? head : "", head ? "\n\n" : "",
			 body ? body : "", footer ? "\n\n" : "", footer ? footer : "");
	free(head);
	free(body);
	*text_r = text;
	return text ? 0 : wa_err(err_r, "out of memory");
}
