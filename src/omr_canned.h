/*
 * omr_canned: canned responses, the shared ones of the file admins edit
 * (`canned:` in omniroute.yaml, docs/configuration.md#canned-responses),
 * loaded and checked with the rest of the configuration (-t, SIGHUP: a
 * bad file keeps the old set, as the whole configuration does), and the
 * rules every canned text keeps to, also an agent's personal ones
 * (omr_agents_canned.c).
 *
 * Ownership: a struct omr_canned owns its JSON; the configuration owns
 * the struct.
 */
#ifndef OMR_CANNED_H
#define OMR_CANNED_H

#include <jansson.h>

#include "omr_conf.h"
#include "omr_yaml.h"

#define OMR_CANNED_MAX 2000        /* responses in the file */
#define OMR_CANNED_TEXT_MAX 4000   /* bytes of one text */
#define OMR_CANNED_TITLE_MAX 80    /* bytes of one title */
#define OMR_CANNED_PERSONAL_MAX 100 /* an agent's own responses */

struct omr_routing_conf;

struct omr_canned {
	/* [{shortcut, title, text, language (absent: any), queues (absent:
	 * any)}], in the file's order */
	json_t *responses;
};

/* Load `path` (NULL: none; an empty set); NULL with errors in errs.
 * Queues are checked against routing (may be NULL: not checked). */
struct omr_canned *omr_canned_load(const char *path, const struct omr_routing_conf *routing,
				   struct omr_conf_errs *errs);
/* The same from a parsed document (borrowed; the fuzz harness's way in). */
struct omr_canned *omr_canned_load_doc(const struct omr_ydoc *doc,
				       const struct omr_routing_conf *routing,
				       struct omr_conf_errs *errs);
void omr_canned_free(struct omr_canned *c);

/* The rules of a shortcut ([a-z0-9_-], 1 to 32) and of a text (1 to
 * OMR_CANNED_TEXT_MAX bytes; only the variables below in braces, "{{"
 * and "}}" for a brace): NULL, or what is wrong (static or in buf). */
const char *omr_canned_shortcut_check(const char *s);
const char *omr_canned_text_check(const char *text, char *buf, size_t len);
/* {customer.name}, ...: NULL-terminated */
extern const char *const omr_canned_variables[];

#endif
