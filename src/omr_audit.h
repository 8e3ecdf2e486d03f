/*
 * omr_audit: the audit trail. Every action of a supervisor or an admin
 * (through the admin API or the console) is one entry of the Redis stream
 * `audit` (docs/model.md): who, through what, did what to which
 * conversation or agent, when, and how it ended; kept for the last
 * OMR_AUDIT_KEEP entries. Each entry is also one log line, so that an
 * action taken while Redis was down still leaves a trace.
 *
 * Refusals (a token without the scope, a queue outside a supervisor's
 * queues) are entries too: they are what an auditor looks for.
 */
#ifndef OMR_AUDIT_H
#define OMR_AUDIT_H

#include <jansson.h>

struct omr_store;

#define OMR_AUDIT_KEEP 1000000

struct omr_audit_entry {
	const char *who;     /* the user, or "admin.token" */
	const char *via;     /* "api", "console" */
	const char *action;  /* "conversation.close", "agent.presence", "reload", ... */
	const char *target;  /* the conversation, agent or queue; NULL: none */
	const char *result;  /* "ok", or the error code answered */
	const json_t *detail;/* what else says what was done (a transfer's queue); may be NULL */
};

/* Refusals are written at most OMR_AUDIT_REFUSALS_BURST at once and one
 * every OMR_AUDIT_REFUSALS_EVERY_S seconds per user (the rest are counted
 * by the gate and logged in summary), so that a token holder cannot push
 * the real entries out of the trail by asking for what they may not do.
 * Each door (the admin API, the console) keeps such a gate, keyed by user. */
#define OMR_AUDIT_REFUSALS_BURST 20
#define OMR_AUDIT_REFUSALS_EVERY_S 6
struct omr_gate;
struct omr_gate *omr_audit_refusal_gate(const char *name);

/* Write one entry (fire and forget: the action has already happened; a
 * failure to store it is logged). */
void omr_audit_write(struct omr_store *st, const char *node, const struct omr_audit_entry *e);

/* The entries before `before` (a stream id, exclusive; NULL: the newest),
 * newest first, at most `limit`: cb gets {"entries": [...], "next": id or
 * null} (owned by the callee: the callback must not keep it) or NULL and
 * an error. */
typedef void (*omr_audit_cb)(void *arg, json_t *page, const char *err);
void omr_audit_read(struct omr_store *st, const char *before, int limit, omr_audit_cb cb,
		    void *arg);
/* Is s a stream id ("1733400000000-0")? */
int omr_audit_id_ok(const char *s);

#endif
