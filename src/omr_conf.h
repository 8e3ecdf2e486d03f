/*
 * omr_conf: configuration as data. A table of struct omr_conf_key (the
 * same type plugins use, see plugin.h) describes the keys of a YAML
 * mapping; omr_conf_apply() validates a node against it and fills a
 * struct. Every problem is collected as "file:line: message" so that an
 * admin sees all mistakes at once (like `nginx -t`), not one per run.
 *
 * Ownership: strings, lists and JSON written into the struct are owned by
 * it; omr_conf_release() with the same table frees them.
 */
#ifndef OMR_CONF_H
#define OMR_CONF_H

#include <omniroute/plugin.h>

#include "omr_util.h"
#include "omr_yaml.h"

struct omr_conf_errs {
	struct omr_buf text; /* one "file:line: message\n" per error */
	int count;
};

void omr_conf_errs_init(struct omr_conf_errs *e);
void omr_conf_errs_free(struct omr_conf_errs *e);
/* at may be NULL (no position known). */
void omr_conf_error(struct omr_conf_errs *e, const struct omr_ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Validate `map` (may be NULL: all defaults) against keys and fill dst.
 * Keys named in `handled` (NULL-terminated, may be NULL) are left for the
 * caller. Returns the number of errors added. */
int omr_conf_apply(const struct omr_conf_key *keys, const struct omr_ynode *map, void *dst,
		   const char *const *handled, struct omr_conf_errs *errs);
/* Free what omr_conf_apply stored in dst (dst itself is not freed). */
void omr_conf_release(const struct omr_conf_key *keys, void *dst);

/* Scalar helpers for code that walks nodes itself; each adds an error and
 * returns -1 when the node has the wrong type or value. */
int omr_conf_node_string(const struct omr_ynode *n, char **out_r, struct omr_conf_errs *e);
int omr_conf_node_int(const struct omr_ynode *n, long long min, long long max, long long *out_r,
		      struct omr_conf_errs *e);
int omr_conf_node_bool(const struct omr_ynode *n, int *out_r, struct omr_conf_errs *e);
int omr_conf_node_ms(const struct omr_ynode *n, long long *out_r, struct omr_conf_errs *e);
int omr_conf_node_strlist(const struct omr_ynode *n, char ***out_r, struct omr_conf_errs *e);
void omr_conf_strlist_free(char **list);
size_t omr_conf_strlist_len(char *const *list);

/* Write a Markdown table of keys (for docs and `--describe`). */
void omr_conf_describe(const struct omr_conf_key *keys, const char *prefix, struct omr_buf *out);

#endif
