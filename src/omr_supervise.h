/*
 * omr_supervise: what a supervisor or an admin does to a conversation or
 * an agent, on their behalf (the admin API now, the supervisor console
 * next). The agents module carries it out (omr_agents_supervise) so that
 * the agent's console hears of it exactly as if the agent had done it.
 */
#ifndef OMR_SUPERVISE_H
#define OMR_SUPERVISE_H

struct omr_supervise {
	const char *action;        /* "close", "transfer", "presence", "logout" (every
	                              console session of agent ends, on every node) */
	const char *conversation;  /* close, transfer */
	const char *queue;         /* transfer: to this queue, or */
	const char *agent;         /* transfer: to this agent; presence, logout: whose */
	const char *note;          /* transfer: for the next agent (NULL: none) */
	const char *presence;      /* presence: available | away | offline */
	const char *reason;        /* presence: why (NULL: none) */
	const char *by;            /* who acts: the user (shown to the agent) */
	char *const *queues;       /* the actor's queues, NULL-terminated; NULL: all */
};

/* status: 200 done; 400 (a bad argument), 403 (outside the actor's
 * queues), 404 (no such conversation or agent), 409 (its state does not
 * allow it), 503 (Redis); code and message say why (NULL when 200). The
 * queue the conversation was in (NULL when none is known) for the audit. */
typedef void (*omr_supervise_cb)(void *arg, int status, const char *code, const char *message,
				 const char *queue);

#endif
