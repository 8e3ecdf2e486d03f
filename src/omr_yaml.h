/*
 * omr_yaml: YAML documents as a small tree that remembers file:line of
 * every node, so that every later check can point at the offending line.
 *
 * Anchors/aliases, tags and multiple documents are refused: configuration
 * should read the same to a person as to the daemon. Duplicate keys are
 * errors. The tree owns all its strings; nodes are freed with the doc.
 */
#ifndef OMR_YAML_H
#define OMR_YAML_H

#include <stddef.h>
#include <jansson.h>

enum omr_ynode_type { OMR_Y_SCALAR, OMR_Y_MAP, OMR_Y_SEQ };

struct omr_ynode;

struct omr_ypair {
	struct omr_ynode *key; /* always a scalar */
	struct omr_ynode *value;
};

struct omr_ynode {
	enum omr_ynode_type type;
	const char *file; /* owned by the doc */
	int line;         /* 1-based */
	int col;          /* 1-based */
	/* scalar */
	char *value;
	size_t len;
	int plain;        /* 1: unquoted (may be a number, bool or null) */
	/* map (pairs) or sequence (items) */
	size_t n;
	struct omr_ypair *pairs;
	struct omr_ynode **items;
};

struct omr_ydoc {
	char *file;
	struct omr_ynode *root; /* NULL for an empty document */
};

/* Errors are "file:line: message" in *err_r. */
struct omr_ydoc *omr_yaml_load_file(const char *path, char **err_r);
struct omr_ydoc *omr_yaml_load_string(const char *name, const char *data, size_t len,
				      char **err_r);
void omr_yaml_free(struct omr_ydoc *doc);

/* Value for a key in a map node, or NULL. */
const struct omr_ynode *omr_ynode_get(const struct omr_ynode *map, const char *key);
/* 1 if the node is a plain null (~, null, empty). */
int omr_ynode_is_null(const struct omr_ynode *n);
const char *omr_ynode_type_name(const struct omr_ynode *n);
/* Convert a subtree to JSON (plain scalars become numbers/bools/null). */
json_t *omr_ynode_to_json(const struct omr_ynode *n);

#endif
