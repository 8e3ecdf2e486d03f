/*
 * webchat_int.h: what the web chat plugin's files share (webchat.c: the
 * protocol; webchat_more.c: signed identity, availability and the offline
 * form). Not an interface to anything else.
 */
#ifndef WEBCHAT_INT_H
#define WEBCHAT_INT_H

#include <time.h>

#include <omniroute/plugin.h>

#include "wc_identity.h"

#define WC_SUBPROTOCOL "omniroute.chat.v1"
#define WC_ID_MAX 64
#define WC_MAX_CONNS 65536
#define WC_BUCKETS 1024
struct wc_config {
	char *path;
	char *visitor_secret;
	long long max_message;
	long long rate_per_min;
	long long burst;
	long long visitor_idle;
	long long max_visitors;
	int demo;
	char *demo_dir;
	char *identity_secret;        /* HS256 key of signed identities; NULL: none taken */
	int widget;                   /* serve /widget/ (chat.js) */
	char *widget_dir;
	long long upload_max;         /* bytes of a visitor's file; 0: no files */
	char **upload_types;          /* the types a visitor may send */
};

struct wc_visitor;

struct wc_conn {
	uint64_t id;
	char ip[64];                  /* the peer's address */
	struct wc_visitor *visitor;   /* NULL until hello */
	char *name;
	char *email;
	int verified;                 /* name/email/site_customer from a signed identity */
	char *site_customer;          /* the site's customer id (the token's sub), or NULL */
	struct wc_conn *next_of_visitor;
	struct wc_conn *next;         /* hash chain by id */
};

struct wc_visitor {
	char id[WC_ID_MAX + 1];
	double tokens;                /* rate limit bucket */
	struct timespec last;
	long long typing_at;          /* its last typing passed on (signals.c) */
	struct wc_conn *conns;
	struct wc_visitor *next;      /* hash chain by id */
};

struct wc_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct wc_config *cfg;
	unsigned char secret[64];
	size_t secret_len;
	struct wc_conn *buckets[WC_BUCKETS];
	struct wc_visitor *visitors[WC_BUCKETS];
	size_t nconns;
	size_t nvisitors;
	omr_timer *sweep;
	long long avail_at;           /* monotonic ms of the last availability answer */
	int avail;                    /* that answer: 1 an agent is there, 0 nobody */
	int avail_asking;             /* a question is under way */
	uint64_t *avail_wait;         /* connections waiting for its answer (owned) */
	size_t navail_wait, avail_cap;
	char attach_dir[4096];        /* state_dir/attachments/webchat ("" without uploads) */
	int uploading;                /* files being written on workers */
};

/* a message on its way to the store: the ack goes to conn */
struct wc_pending {
	struct wc_state *st;
	uint64_t conn;
	char client_msg_id[WC_ID_MAX + 1];
};


/* webchat.c */
void wc_send_json(struct wc_state *st, uint64_t conn, json_t *j);
void wc_send_error(struct wc_state *st, uint64_t conn, const char *code, const char *msg,
		   const char *client_msg_id);
int wc_rate_ok(struct wc_state *st, struct wc_visitor *v);
void wc_visitor_id(const unsigned char rnd[15], char out[WC_ID_MAX + 1]);
int wc_word_ok(const char *s, size_t max);
struct wc_conn *wc_conn_get(struct wc_state *st, uint64_t id);
/* submit ev; the ack or error for cmid goes to c once it is stored (or not) */
void wc_submit(struct wc_state *st, struct wc_conn *c, const struct omr_inbound *ev,
	       const char *cmid);
/* submit a chat message of c's visitor (attachments may be NULL; borrowed) */
void wc_submit_chat(struct wc_state *st, struct wc_conn *c, const char *cmid, const char *text,
		    json_t *attachments);

/* webchat_more.c */
/* hello's "identity": on a valid token, the identified visitor's id in
 * id and the claims on c; otherwise an error frame and nothing else. */
void wc_identify(struct wc_state *st, struct wc_conn *c, const char *token,
		 char id[WC_ID_MAX + 1]);
/* After welcome: tell the page whether an agent is there. */
void wc_availability(struct wc_state *st, struct wc_conn *c);
/* webchat_more.c: "leave" (the visitor ends the chat), "typing" and "seen" */
void wc_leave(struct wc_state *st, struct wc_conn *c);
void wc_signal(struct wc_state *st, struct wc_conn *c, const char *type, json_t *msg);
/* {"type":"offline_message",...}: the offline form. */
void wc_offline_message(struct wc_state *st, struct wc_conn *c, json_t *msg);
/* the conversation attributes of a connection's messages (NULL: none); new reference */
json_t *wc_conn_attrs(const struct wc_conn *c);

/* webchat_upload.c */
/* At init: the attachment directory, when files are taken. */
int wc_upload_init(struct wc_state *st, char **err_r);
/* A message with a file: checked, written by a worker, then submitted
 * (text may be ""); the ack or error goes to c. */
void wc_upload(struct wc_state *st, struct wc_conn *c, json_t *file, const char *text,
	       const char *cmid);
/* welcome's "upload": {max, types}, or NULL without uploads; new reference */
json_t *wc_upload_offer(const struct wc_state *st);
/* a stored message's files for history: name, type, size and url when
 * there is one (never where it is stored); new reference */
json_t *wc_history_files(json_t *att);
/* an agent's files on an outbound message frame: {name, type, size, url} */
void wc_attachments(json_t *frame, const json_t *files);

#endif
