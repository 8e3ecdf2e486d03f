/*
 * omr_config: the daemon's configuration, loaded from omniroute.yaml and the
 * files it names (routing, agents). A loaded struct omr_config is immutable;
 * a reload builds a new one and swaps it in only when it is valid as a
 * whole (see omr_core_reload).
 */
#ifndef OMR_CONFIG_H
#define OMR_CONFIG_H

#include "omr_conf.h"
#include "omr_tls.h"
#include "omr_yaml.h"

struct omr_routing_conf;
struct omr_agents_conf;

enum omr_appendfsync { OMR_FSYNC_ALWAYS, OMR_FSYNC_EVERYSEC, OMR_FSYNC_NO };

struct omr_listen_conf {
	char *address;
	long long port;
};

/* One door's admission limits (omr_admission); 0: no cap. */
struct omr_gate_conf {
	long long max_connections;
	long long max_per_ip;
	long long rate_per_ip;     /* per second */
	long long burst_per_ip;
};

struct omr_plugin_conf {
	char *name;
	char *path;          /* resolved .so path */
	int enabled;
	const struct omr_ynode *config; /* borrowed from the config's docs; may be NULL */
	char *config_file;     /* the config section in a file of its own */
	struct omr_ydoc *config_doc;    /* owned, when config_file is used */
	const struct omr_ynode *at;     /* the list item, for error positions */
};

struct omr_config {
	char *file;
	struct {
		char *id;
		long long drain;    /* ms /healthz says 503 before a stop */
	} node;
	struct {
		int level;
		int syslog;
	} log;
	struct {
		char *state_dir;
		char *plugin_dir;
		char *data_dir;
		char *console_dir;
	} paths;
	struct {
		int embedded;
		char *server;       /* redis-server binary for embedded mode */
		char *url;
		char *username;     /* ACL user (with password); NULL: "default" */
		char *password;
		char **sentinels;   /* host:port of each Sentinel */
		char **cluster;     /* host:port of Redis Cluster nodes to start from */
		char *master;       /* the master's name in Sentinel */
		char *sentinel_password;
		struct {
			long long replicas; /* 0: answer when the primary has it */
			long long timeout;
			int refuse_short;   /* when_short: 0 accept, 1 refuse */
		} durability;
		char *prefix;
		char *site;         /* hash tag: all keys of one site share a slot */
		int appendfsync;
		long long connect_timeout;
		long long command_timeout;
	} redis;
	struct {
		struct omr_listen_conf listen;
		long long max_message;
		long long ping_interval;
		long long file_link_ttl;
		char **allowed_origins;
		struct omr_tls_conf tls;
	} edge;
	struct {
		struct omr_listen_conf listen;
		long long max_body;
		struct omr_tls_conf tls;
	} webhooks;
	struct {
		struct omr_listen_conf listen;
		char *token;
		long long max_body;
		struct omr_tls_conf tls;
		int test_clock;       /* POST /api/v1/debug/clock may move the clock (tests) */
	} admin;
	struct {
		long long text_max;       /* bytes of message text */
		long long attachments_max;
		long long dedup_ttl;      /* ms an idempotency key is remembered */
		long long stream_maxlen;  /* approximate cap of the event stream */
		long long resend_after;   /* ms before an unsent outbound message is sent again */
		long long resend_tries;   /* resends before it is marked failed */
		long long claim_after;    /* ms a stream entry may wait for its consumer */
		long long reroute_after;  /* ms a conversation may stay 'new' */
		long long workers;        /* threads for blocking work (MIME, hashing, fsync) */
		long long work_queue;     /* jobs waiting for a worker at most */
	} limits;
	struct {
		long long max_bytes;      /* largest media file, in or out */
		char **types;             /* media types taken (sniffed from the bytes) */
		long long fetch_timeout;  /* ms one download from a provider may take */
		long long fetch_tries;    /* tries of a download (5xx, 429, transport errors) */
	} media;
	struct {
		struct omr_gate_conf edge;      /* websocket and static connections */
		struct omr_gate_conf webhooks;  /* webhook listener connections */
		struct omr_gate_conf admin;     /* admin API connections */
		struct omr_gate_conf chat;      /* new web chat visitors (hello without a token) */
		struct omr_gate_conf login;     /* agent log-in attempts */
		long long request_timeout;      /* ms for a whole HTTP request (headers and body) */
		long long idle_timeout;         /* ms a kept-alive HTTP connection may idle */
		long long ingest_inflight;      /* messages being stored at once */
		long long login_queue;          /* password checks waiting at most */
		long long login_failures;       /* failed logins per account ... */
		long long login_window;         /* ... within this (ms), then ... */
		long long login_lockout;        /* ... the account is refused this long (ms) */
		long long edge_queue_per_conn;  /* bytes from one websocket waiting for the core */
		long long edge_queue;           /* bytes from all websockets waiting for the core */
		long long edge_unauth_rate;     /* frames per second before a log-in or hello */
		long long edge_unauth_burst;
		long long agent_rate;           /* frames per second one console may send */
		long long agent_burst;
	} admission;
	struct {
		long long closed_days;    /* closed conversations purged after this (0: kept) */
		long long customer_days;  /* customers without conversations purged after this */
		long long every;          /* ms between two rounds of the sweep */
		long long batch;          /* conversations looked at per script call */
	} retention;
	struct {
		char *url;                /* public base URL of the one-click link; NULL: none */
		char *mailto;             /* address of the mailto: link; NULL: none */
		char *secret;             /* HMAC key of the tokens; NULL: no links */
		char *channel;            /* the channel whose mails carry them */
		long long valid_for;      /* ms a link keeps working */
	} unsubscribe;
	struct {
		long long days;           /* words of messages this old are found (docs/search.md) */
		long long group_max;      /* identities linked into one customer, at most */
	} search;

	struct omr_plugin_conf *plugins;
	size_t nplugins;

	char *routing_file;
	char *agents_file;
	struct omr_routing_conf *routing;
	struct omr_agents_conf *agents;
	char *canned_file;               /* canned responses (NULL: none) */
	struct omr_canned *canned;       /* never NULL once loaded */

	/* The parsed documents stay alive so that plugin sections can be
	 * validated (with positions) by the plugin loader. */
	struct omr_ydoc *docs[3];
};

/* unsubscribe.secret: at least this long */
#define OMR_UNSUB_SECRET_MIN 32

/* admin.token: at least this long, but on a loopback listener (warned). */
#define OMR_ADMIN_TOKEN_MIN 16

/* Load and validate; NULL with errors in errs. Plugin sections are only
 * checked for shape here; the loader checks them against each plugin. */
struct omr_config *omr_config_load(const char *path, struct omr_conf_errs *errs);
void omr_config_free(struct omr_config *c);

/* 1: address is a loopback one (127.0.0.0/8, ::1, localhost). */
int omr_config_loopback(const char *address);

/* The key tables, for docs (omniroute --describe-config). */
extern const struct omr_conf_key omr_config_keys[];

#endif
