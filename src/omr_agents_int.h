/*
 * omr_agents_int: the agent gateway's state, shared by its files and
 * nobody else.
 *
 *   omr_agents.c          lifecycle, the websocket (open, frames, close),
 *                         sending frames, what the hub brings
 *   omr_agents_auth.c     log-in: password checks on the login pool,
 *                         tokens, throttling
 *   omr_agents_session.c  sessions of this node, the grace period after the
 *                         last one closed, presence, going offline
 *   omr_agents_views.c    what a console is shown: welcome, conversations,
 *                         offer frames, reply windows
 *   omr_agents_offers.c   offers: sent, accepted, rejected, revoked
 *   omr_agents_convs.c    replies, close, wrap-up, transfer, open
 *   omr_agents_resume.c   console session tokens: issued at a log-in, a
 *                         log-in with one, logout, an admin's revoke
 *
 * Sessions: `sessions` maps a websocket connection id to a struct
 * omr_asess; an authenticated session is also on its agent's list in
 * `locals` (agent id -> struct omr_alocal), which holds the grace timer
 * that runs after the agent's last session on this node closed.
 *
 * Every request is answered after its Redis script returned; callbacks find
 * their session again by connection id (struct omr_areq), so a session that
 * closed in the meantime is simply not answered (never touched after free).
 * Everything runs on the main thread.
 */
#ifndef OMR_AGENTS_INT_H
#define OMR_AGENTS_INT_H

#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "omr_env.h"
#include "omr_redis.h"
#include "omr_supervise.h"
#include "omr_util.h"

struct omr_lua_agent_session_reply;

#define OMR_AGENT_SUBPROTOCOL "omniroute.agent.v1"
#define OMR_AGENT_MAX_AUTH_FAILURES 5
#define OMR_AGENT_HISTORY 500   /* messages sent with a conversation */
#define OMR_AGENT_EARLIER 20    /* earlier conversations of the customer */
#define OMR_AGENT_DIRECTORY_PAGE 200  /* colleagues per page of the directory */

struct omr_agent_conf;
struct omr_bus;
struct omr_channels;
struct omr_edge;
struct omr_files;
struct omr_gate;
struct omr_worker;

struct omr_asess {
	uint64_t conn;
	char *agent;              /* NULL until authenticated */
	char *ip;                 /* the peer's address */
	char *cred;               /* the credential logged in with (a hash), to
	                             see at a reload whether it changed */
	char *session_id;         /* the console session token's SHA-256 (hex)
	                             this connection holds, or NULL */
	int auth_pending;
	int auth_failures;
	int not_counted;          /* Redis refused the log-in (agent_session +1
	                             failed): the close sends no -1 */
	double tokens;
	struct timespec last;
	int wallboard;            /* a supervisor's console watching the floor */
	char *wb_last;            /* the last wallboard it got (JSON, without now) */
	char *qi_last;            /* the last queue_info it got (JSON, without now) */
	char typing_conv[48];     /* the last `typing` passed on (omr_agents_chat.c) */
	int64_t typing_at;        /* and when (monotonic ms) */
	struct omr_upload *upload; /* a file coming in (omr_agents_upload.c), owned */
	json_t *uploads;          /* upload id -> {conversation, attachment}: files
	                             uploaded, not yet named by a reply */
	struct omr_asess *next;   /* on the agent's list */
};

struct omr_alocal {
	struct omr_agents *owner;
	char *id;
	struct omr_asess *sessions;
	struct event *grace;
};

struct omr_agents {
	struct omr_env env;
	struct event *sync_ev;    /* node_sync.lua again, after a failure */
	struct omr_edge *edge;
	struct omr_files *files;
	struct omr_media *media;  /* agents' files (omr_agents_upload.c) */
	struct omr_bus *bus;
	struct omr_channels *channels;
	struct omr_outreach *outreach; /* borrowed: "start" (omr_agents_begin.c) */
	struct omr_worker *login;   /* password checks */
	struct omr_map *sessions;   /* conn id -> omr_asess */
	struct omr_map *locals;     /* agent id -> omr_alocal */
	/* conversation id -> JSON array of the supervisors who monitor it
	 * (omr_agents_supervisor.c) */
	struct omr_map *monitors;
	struct event *wb_ev;      /* the wallboard's tick, while anyone watches */
	int wb_pending;           /* wallboard.lua running */
	struct event *qi_ev;      /* the agents' queue information tick, while any is logged in */
	int qi_pending;           /* its wallboard.lua running */
	int qi_failing;           /* its last run failed (logged once) */
	char *qi_all;             /* the queues of the last pass (JSON): a pass that
	                             finds them unchanged visits no console ... */
	int qi_new;               /* ... unless one watches anew, or a reload */
	unsigned long qi_gen;     /* the directory users' generation it last saw */
	int wb_failing;           /* its last run failed (logged once) */
	json_t *wb_totals;        /* queue -> [answered, in_sla, contained, handoffs] today */
	int64_t wb_totals_at;     /* when they were read (mono ms) */
	int wb_with_totals;       /* the running call reads them */
	long long wb_sig;         /* the floor's shape at the last tick (waiting, held) */
	struct omr_gate *sup_refusals; /* supervisors' refusals audited, per user */
	/* the stand-in for a value written as text into a frame
	 * (omr_model_dumps_splice): "omr-text-" and 32 random hex digits */
	char mark[48];
	int running;
	int stopping;
	/* log-ins (omr_agents_auth.c) */
	struct omr_gate *login_gate;            /* admission.login, per address */
	struct omr_auth_job *auth_hi, *auth_lo; /* checks waiting: clean, suspect */
	struct omr_auth_job *auth_delayed;      /* unknown agents being answered */
	size_t auth_queued;
	/* checks running on the login pool, per lane: 0 passwords (PBKDF2,
	 * CPU), 1 directory binds (network: a directory that hangs holds
	 * only its own lane, never a local user's log-in) */
	int auth_running[2];
	int auth_threads[2];
	long long auth_cost_ms;                 /* what a check takes, on average */
	unsigned long long logins, login_failures, login_busy;
	/* accepted log-ins storing their session, and those waiting their
	 * turn (omr_auth_accepted) */
	size_t logins_storing, logins_waiting;
	unsigned long long logins_waited;
	struct omr_auth_wait *login_wait, **login_wait_tail;
	struct omr_dir_users *dir_users;        /* directory users met here (owned) */
};

/* A pending request: finds its session again by connection id. */
struct omr_areq {
	struct omr_agents *a;
	uint64_t conn;
	char *agent;
	char *conversation;
	char *offer;
	char *client_msg_id;
	char *text;
	char *extra;
	json_t *data;
	json_t *files;  /* a reply's attachments (omr_agents_upload_take) */
	/* on behalf of a supervisor or admin: told how it ended */
	omr_supervise_cb done;
	void *done_arg;
	char *by;
	char **queues;  /* the actor's queues (omr_strv), NULL: all */
};

/* omr_agents.c */
/* Log a connection out at once: frame (consumed, may be NULL) is its last,
 * it closes (close_code, why) and is forgotten now (it may not act while
 * it closes); its agent goes offline (why) when that was their last console
 * on this node (only_if_gone: and on every node). */
void omr_agents_kick(struct omr_agents *a, uint64_t conn, json_t *frame, int close_code,
		     const char *why, int only_if_gone);
struct omr_areq *omr_areq_new(struct omr_agents *a, const struct omr_asess *s);
void omr_areq_free(struct omr_areq *q);
struct omr_asess *omr_agents_sess(struct omr_agents *a, uint64_t conn);
/* Every frame to a console passes here (borrowed / consumed). */
void omr_agents_send(struct omr_agents *a, uint64_t conn, const json_t *frame);
void omr_agents_send_new(struct omr_agents *a, uint64_t conn, json_t *frame);
void omr_agents_error(struct omr_agents *a, uint64_t conn, const char *code, const char *message,
		      const char *about_key, const char *about);
/* An error about a pending request names what it is about. */
void omr_agents_error_q(struct omr_areq *q, const char *code, const char *message);
/* To every console of an agent, on whichever node (consumes frame). */
/* A frame whose customer's "previous" is a->mark, to be replaced by the
 * text earlier (omr_store_view_parse_text); frame is borrowed. */
void omr_agents_push_text(struct omr_agents *a, const char *agent, json_t *frame,
			  const char *earlier);
void omr_agents_push_new(struct omr_agents *a, const char *agent, json_t *frame);

/* omr_agents_upload.c: agents' files (docs/agent-protocol.md, Files) */
struct omr_upload;
void omr_upload_free(struct omr_upload *u);
void omr_agents_upload(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_upload_chunk(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* 1: msg is a chunk of s's upload that the command rate does not count
 * (a large one, or the last). */
int omr_agents_upload_chunk_free(const struct omr_asess *s, const json_t *msg);
/* The stored attachments of the uploads ids names (a JSON list), taken from
 * the session; NULL with *err_r when one is not an upload of s for conv. */
json_t *omr_agents_upload_take(struct omr_agents *a, struct omr_asess *s, const char *conv,
			       const json_t *ids, const char **err_r);

/* omr_agents_auth.c */
struct omr_auth_job;
void omr_agents_auth_init(struct omr_agents *a);
/* omr_agents_dir.c: a directory accepted `typed`'s password (r): the user
 * they log in as (borrowed from the configuration), or NULL with why. */
#define OMR_AUTH_DIRECTORY_CRED "directory:" /* a session's cred: this, the DN */
struct omr_ldap_result;
/* A directory user another node described (its entry {"name", "groups"}
 * from Redis or the bus): known here from now on, as this node's
 * configuration makes them; NULL when not (no directory, a local entry,
 * disabled, no mapped group, a bad entry). */
const struct omr_agent_conf *omr_agents_dir_learn(struct omr_agents *a, const char *id,
						  const json_t *e);
/* On start: the directory users Redis keeps (dir_users.lua) */
void omr_agents_dir_start(struct omr_agents *a);
const struct omr_agent_conf *omr_agents_dir_user(struct omr_agents *a, const char *typed,
						 const struct omr_ldap_result *r,
						 const char **why_r);
void omr_agents_auth_reload(struct omr_agents *a);
void omr_agents_auth_stop(struct omr_agents *a);
void omr_agents_auth_free(struct omr_agents *a);
void omr_agents_auth(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* Whether a session's log-in still holds under the directory (the agent
 * is there and the credential it used is unchanged). */
int omr_agents_auth_valid(const struct omr_agents *a, const struct omr_asess *s);
/* For omr_agents_resume.c: the shared throttle (login_guard.lua, mode
 * check | fail | ok; agent NULL: by address only); a log-in refused
 * (counted, logged, throttled, answered with code and message, closed after
 * too many); a log-in with a session token accepted (s->session_id set). */
void omr_agents_auth_guard(struct omr_agents *a, const char *mode, const char *agent,
			   const char *ip, omr_redis_cb cb, void *arg);
/* The throttle said locked_ms: the log-in is answered "locked". */
void omr_agents_auth_locked(struct omr_agents *a, struct omr_asess *s, long long locked_ms);
void omr_agents_auth_refuse(struct omr_agents *a, struct omr_asess *s, const char *who,
			    const char *agent, const char *code, const char *message);
void omr_agents_auth_resumed(struct omr_agents *a, struct omr_asess *s, const char *agent,
			     const char *cred);
/* A log-in's session is stored (or failed to be): the next waiting one
 * goes ahead (omr_agents_session.c calls it) */
void omr_agents_auth_stored(struct omr_agents *a);

/* omr_agents_resume.c: console sessions (docs/agent-protocol.md, Session) */
/* {"type": "auth", "session": TOKEN}: throttled, looked up, logged in,
 * holding a log-in's turn (omr_agents_auth.c), which it gives back
 * (omr_agents_auth_stored) when it ends without a log-in. 1: under way;
 * 0: answered at once (the caller keeps the turn). */
int omr_agents_resume(struct omr_agents *a, struct omr_asess *s, const char *token);
/* After a log-in by a credential: a new session token, sent to the console
 * (nothing when sessions.ttl is 0, or s came in with one). */
void omr_agents_session_issue(struct omr_agents *a, struct omr_asess *s);
/* {"type": "logout"}: the connection's session token ends, it is closed. */
void omr_agents_logout(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* An admin's revoke (omr_supervise "logout"): every session token of the
 * agent ends and their consoles are closed on every node. */
void omr_agents_revoke_sessions(struct omr_agents *a, const struct omr_supervise *sv,
				omr_supervise_cb cb, void *arg);

/* omr_agents_session.c */
struct omr_alocal *omr_agents_local(struct omr_agents *a, const char *agent, int create);
void omr_alocal_free(void *p);
void omr_agents_start_grace(struct omr_agents *a, const char *agent);
/* This node was taken for dead: count its sessions again (OMR_HUB_NODE_REJOINED). */
void omr_agents_recount(struct omr_agents *a);
/* Redis is back: set this node's session counts right (OMR_HUB_REDIS_BACK). */
void omr_agents_sync(struct omr_agents *a);
/* A log-in was accepted: the session joins its agent and is recorded. */
void omr_agents_login(struct omr_agents *a, struct omr_asess *s, const char *agent);
void omr_agents_presence(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* Take an agent offline (grace expired, node gone); requeues and withdraws. */
void omr_agents_offline(struct omr_agents *a, const char *agent, const char *reason,
			int only_if_disconnected);
/* Set an agent's presence on behalf of q->by (q->done is told); by: who,
 * as the state history records it ("supervisor:<id>"). */
void omr_agents_presence_for(struct omr_agents *a, struct omr_areq *q, const char *status,
			     const char *reason, const char *by);
/* A session closed. */
void omr_agents_session_closed(struct omr_agents *a, struct omr_asess *s);

/* omr_agents_views.c */
const char *omr_conf_reason_ok(char *const *list, const char *v);
json_t *omr_agents_offer_frame(const json_t *conv, const json_t *offer);
/* What the agent may send on the conversation's channel (reply window). */
json_t *omr_agents_decorate(struct omr_agents *a, json_t *conv);
/* engagement.low, for the customer panel of a view (omr_store_view_parse) */
long long omr_agents_low(const struct omr_agents *a);
void omr_agents_welcome(struct omr_agents *a, struct omr_asess *s,
			const struct omr_lua_agent_session_reply *r);
/* agent_view.lua for q's agent, answered to cb. */
void omr_agents_view(struct omr_agents *a, struct omr_areq *q, const char *conv,
		     const char *agent, omr_redis_cb cb);

/* omr_agents_offers.c */
void omr_agents_send_offer(struct omr_agents *a, const char *agent, const char *offer,
			   const char *conversation, const json_t *summary, long long remaining_ms);
void omr_agents_revoked(struct omr_agents *a, const char *agent, const char *offer,
			const char *reason);
/* an offer withdrawn because the agent went offline: revoked on
 * their consoles and announced (OMR_HUB_OFFER_ENDED) */
void omr_agents_withdrawn(struct omr_agents *a, const char *agent, const char *offer);
void omr_agents_offer_end(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
			  const char *how);

/* omr_agents_convs.c */
/* msg's "conversation", a conversation id, or NULL with bad_request sent */
const char *omr_agents_conv_arg(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* msg's "text" (1 to max bytes, no NUL) and "client_msg_id" (1-64
 * printable, no ':'), borrowed from msg: 0, or -1 with bad_request sent */
int omr_agents_text_args(struct omr_agents *a, struct omr_asess *s, const json_t *msg,
			 const char *conv, size_t max, const char **text_r, const char **cmid_r);
/* A script's refusal (tag 'not_yours', 'bad_state' with the status) or
 * err answered to q: 1; else 0 (go on). */
int omr_agents_refused(struct omr_agents *a, struct omr_areq *q, const redisReply *reply,
		       const char *err);
void omr_agents_reply(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_close(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_wrapup(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_transfer(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_open(struct omr_agents *a, struct omr_asess *s, const json_t *msg);

/* omr_agents_search.c */
void omr_agents_search(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_link(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_unlink(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* The queues whose conversations agent may find and read (docs/search.md):
 * comma separated, "*" every one, "" none (malloc'ed). */
char *omr_agents_search_queues(struct omr_agents *a, const char *agent);
/* "make me their contact person": the customer of a conversation of yours */
void omr_agents_own(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* omr_agents_begin.c: "start", a conversation the agent starts (customer panel) */
void omr_agents_begin(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* conv_act.lua answered 'ok' (reply) for q's action (q->text) on
 * q->conversation, done by or for q->agent: tell the agent's console (and
 * at close ask the customer, when conv_act.lua says so), route on. */
void omr_agents_acted(struct omr_agents *a, struct omr_areq *q, const redisReply *reply);
/* conv_act.lua's close: how long the satisfaction question waits (0: none asked) */
long long omr_agents_csat_window(struct omr_agents *a);
/* Free text q->text may go out on the conversation (q->conversation,
 * q->client_msg_id) of this channel: the reply window (the customer wrote
 * last at last_inbound; not for a public thread, pub "1") and the
 * channel's length in characters. 1, or 0 with the error sent to q's
 * connection (window_closed with the templates, text_too_long). */
int omr_agents_text_ok(struct omr_agents *a, struct omr_areq *q, const char *channel,
		       long long last_inbound, const char *pub);
/* conv_act.lua's transfer for q (agent, conversation set) */
void omr_agents_transfer_run(struct omr_agents *a, struct omr_areq *q, const char *queue,
			     const char *agent, const char *note, const char *name,
			     omr_redis_cb cb);
/* omr_agents.c: a frame to an agent's consoles on every node (borrowed),
 * and its copy to the supervisors who monitor its conversation; _plain:
 * without the copies (what the supervisors themselves are sent) */
void omr_agents_push(struct omr_agents *a, const char *agent, const json_t *frame);
void omr_agents_push_plain(struct omr_agents *a, const char *agent, const json_t *frame);

/* omr_agents_notes.c: {"type": "note", conversation, text, client_msg_id}
 * (docs/agent-protocol.md#internal-notes); the agents "@id" names in
 * text (borrowed), comma separated, once each, self left out, at most 10
 * (owned, "" none) */
void omr_agents_note(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
struct omr_agents_conf;
char *omr_agents_note_mentions(const struct omr_agents_conf *dir, const char *text,
			       const char *self);

/* omr_agents_chat.c: {"type": "typing", conversation} and {"type": "seen",
 * conversation, message}: to the customer on a channel that shows them
 * (OMR_PLUGIN_TYPING), typing at most once per OMR_TYPING_EVERY_MS per
 * console and conversation */
#define OMR_TYPING_EVERY_MS 2000
void omr_agents_typing(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_seen(struct omr_agents *a, struct omr_asess *s, const json_t *msg);

/* omr_agents_canned.c: {"type": "canned"} (the list: a `canned` frame),
 * "canned_save" {shortcut, title?, text}, "canned_delete" {shortcut}
 * (docs/agent-protocol.md#canned-responses) */
void omr_agents_canned(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_canned_save(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_canned_delete(struct omr_agents *a, struct omr_asess *s, const json_t *msg);

/* omr_agents_park.c: {"type": "park", conversation, until | in_ms},
 * "unpark" {conversation}, "parked" (the list); a parked conversation back
 * with its agent (why: time, answer, agent) to their consoles as `assigned`
 * (docs/agent-protocol.md#park-and-snooze) */
void omr_agents_park(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_unpark(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_parked(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_unparked(struct omr_agents *a, const char *agent, const char *conversation,
			 const char *why);

/* omr_agents_supervisor.c: the supervisors' frames */
void omr_agents_sup_monitor(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_sup_unmonitor(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_sup_whisper(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_sup_barge(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_sup_reassign(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_sup_pull(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* omr_agents_offers.c: the channels an agent takes, "webchat,email"
 * (malloc'ed); {"type": "take", conversation}: a missed or declined offer
 * back (conv_pull.lua) */
char *omr_agents_channels_csv(const struct omr_agent_conf *ac);
void omr_agents_take(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
void omr_agents_sup_presence(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* {"type": "report", "report": "queues" | "agents" | "contact-reasons",
 * from, to, format, interval, id}: the admin API's report, as a frame */
void omr_agents_sup_report(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* omr_agents_wallboard.c: {"type": "wallboard", "on": bool} */
void omr_agents_sup_wallboard(struct omr_agents *a, struct omr_asess *s, const json_t *msg);
/* omr_agents_queueinfo.c: `queue_info` frames to agents' consoles; s was
 * welcomed (it gets the next frame whole); the tick's timer freed */
void omr_agents_queue_info_watch(struct omr_agents *a, struct omr_asess *s);
/* after a reload: every console is looked at on the next pass */
void omr_agents_queue_info_reload(struct omr_agents *a);
void omr_agents_queue_info_free(struct omr_agents *a);
/* omr_agents_monitor.c: (sup, the node of their console) follows conv, in
 * queue (NULL: not known); no longer (node NULL: from any node; 1 if it
 * did); and the other nodes told (conv NULL: nothing any more; sup NULL:
 * nobody, the conversation ended). */
void omr_agents_mon_set(struct omr_agents *a, const char *conv, const char *sup, const char *node,
			const char *queue);
int omr_agents_mon_unset(struct omr_agents *a, const char *conv, const char *sup,
			 const char *node);
void omr_agents_mon_tell(struct omr_agents *a, const char *conv, const char *sup,
			 const char *node, const char *queue, int on);
/* A frame about a conversation went to its agent: to its monitors too. */
void omr_agents_monitor_frame(struct omr_agents *a, const char *agent, const json_t *frame);
/* A monitored conversation moved to queue (a transfer): supervisors
 * limited to other queues stop following it. */
void omr_agents_monitor_queue(struct omr_agents *a, const char *conv, const char *queue);
/* The supervisor's last console on this node closed: they monitor nothing. */
void omr_agents_monitor_gone(struct omr_agents *a, const char *sup);
/* omr_agents_views.c: {"type": "agents", "after"}: a page of colleagues */
void omr_agents_directory_page(struct omr_agents *a, struct omr_asess *s, const json_t *msg);

#endif
