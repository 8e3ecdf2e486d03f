/*
 * omr_privacy: what the data protection law asks of the data omniroute
 * keeps about customers (docs/operations.md#personal-data-export-erasure-retention):
 *
 *   - export: everything about one customer as one JSON document, read in
 *     batches (cust_export.lua) so that a long history never holds Redis;
 *   - erasure: one customer and everything that hangs off them, removed in
 *     batches (cust_erase.lua, on purge.lib);
 *   - retention: a sweep that every node runs now and then (retention.lua,
 *     on the same purge.lib), in bounded steps a pause apart; each step is
 *     atomic and picks its own work, so nodes share it without a lease and
 *     never count anything twice;
 *   - files: the attachment files of what was purged are announced on the
 *     stream purge:files; each node reads it from where it stopped (its
 *     place is kept in Redis) and deletes its own copies.
 *
 * Main thread only. Callbacks run on the loop; an operation still under
 * way when the module stops is answered with a storage error.
 */
#ifndef OMR_PRIVACY_H
#define OMR_PRIVACY_H

#include <jansson.h>

#include "omr_env.h"

struct omr_buf;
struct omr_files;
struct omr_privacy;

/* files: borrowed, outlives the module (the attachment store and links) */
struct omr_privacy *omr_privacy_new(const struct omr_env *env, struct omr_files *files);
void omr_privacy_start(struct omr_privacy *p);
void omr_privacy_stop(struct omr_privacy *p);
void omr_privacy_free(struct omr_privacy *p);
void omr_privacy_metrics(const struct omr_privacy *p, struct omr_buf *b);

/* How an export or an erasure ended: status 200 with body (borrowed, valid
 * during the call), 404 (no such customer), 409 (erasure: conversations
 * not closed; body {"conversations": [ids]}), 503 (Redis: err says why). */
typedef void (*omr_privacy_cb)(void *arg, int status, json_t *body, const char *err);

/* {"customer": {… "addresses": [], "engagement": []}, "conversations":
 * [{… "messages": [...]}], "exported_at", "node"}; stored attachments on
 * this node get a signed "url" (omr_files). */
void omr_privacy_export(struct omr_privacy *p, const char *customer, omr_privacy_cb cb,
			void *arg);
/* {"customer", "erased": {"conversations", "messages", "attachments",
 * "addresses"}}. force: conversations that are not closed go too. */
void omr_privacy_erase(struct omr_privacy *p, const char *customer, int force,
		       omr_privacy_cb cb, void *arg);

/* omr_privacy_export.c: what omr_privacy_export runs (env and files
 * borrowed, valid until cb has run) */
void omr_privacy_export_run(const struct omr_env *env, struct omr_files *files,
			    const char *customer, omr_privacy_cb cb, void *arg);

#endif
