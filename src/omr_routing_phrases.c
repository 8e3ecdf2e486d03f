/*
 * omr_routing_phrases: what customers say (`phrases:` in routing.yaml):
 * {name: {language: [phrase, ...]}}, checked with file and line and
 * lowercased once, for the router's says.<name> facts (omr_route.c). See
 * omr_routing_conf.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "omr_routing_conf.h"
#include "omr_util.h"

/* a name of a phrase list or a language: [a-z0-9_], 1 to 32 bytes */
static int omr_routing_ident(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32)
		return 0;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* phrases: {name: {language: [phrase, ...]}}, names and languages as
 * identifiers ([a-z0-9_], "*" for any language), phrases lowercased here
 * so that matching lowercases only the text */
void omr_routing_phrases_load(struct omr_routing_conf *r, const struct omr_ynode *at,
			      struct omr_conf_errs *errs)
{
	const char *name, *lang;
	json_t *langs, *list, *p;
	size_t i;
	if (!json_is_object(r->phrases)) {
		omr_conf_error(errs, at, "phrases: expected {name: {language: [phrases]}}");
		return;
	}
	json_object_foreach(r->phrases, name, langs) {
		if (!omr_routing_ident(name) || !json_is_object(langs)) {
			omr_conf_error(errs, at, "phrases: '%s': a name of a-z, 0-9 and _, with "
				       "{language: [phrases]}", name);
			continue;
		}
		json_object_foreach(langs, lang, list) {
			if ((!omr_routing_ident(lang) && strcmp(lang, "*") != 0) ||
			    !json_is_array(list)) {
				omr_conf_error(errs, at, "phrases: %s: '%s': a language code (or *) "
					       "with a list of phrases", name, lang);
				continue;
			}
			json_array_foreach(list, i, p) {
				const char *t = json_string_value(p);
				if (!t || !*t || strlen(t) > 200) {
					omr_conf_error(errs, at, "phrases: %s.%s: phrases are "
						       "texts of 1 to 200 bytes", name, lang);
					break;
				}
				char *low = omr_strdup(t);
				for (char *c = low; *c; c++)
					*c = (char)tolower((unsigned char)*c);
				json_array_set_new(list, i, json_string(low));
				free(low);
			}
		}
	}
}
