/*
 * omr_config: omniroute.yaml and its included files.
 */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "omr_mediafile.h"
#include "omr_agents_conf.h"
#include "omr_canned.h"
#include "omr_config.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

#ifndef OMR_PLUGIN_DIR
#define OMR_PLUGIN_DIR "/usr/local/lib/omniroute"
#endif
#ifndef OMR_DATA_DIR
#define OMR_DATA_DIR "/usr/local/share/omniroute"
#endif
#ifndef OMR_STATE_DIR
#define OMR_STATE_DIR "/var/lib/omniroute"
#endif

#define OFF(f) offsetof(struct omr_config, f)

static const char *const omr_log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const omr_fsync_modes[] = { "always", "everysec", "no", NULL };
static const char *const omr_short_modes[] = { "accept", "refuse", NULL };

static const struct omr_conf_key omr_node_keys[] = {
	{ "id", OMR_CONF_STRING, OFF(node.id) - OFF(node), 0, NULL, 0, 0,
	  "node name, unique among daemons sharing one Redis (default: host name)" },
	{ "drain", OMR_CONF_MS, OFF(node.drain) - OFF(node), 0, "0s", 0, 120000,
	  "on SIGTERM, how long /healthz answers 503 (draining) while the node still serves, "
	  "so that a load balancer sends new connections elsewhere first" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const struct omr_conf_key omr_log_keys[] = {
	{ "level", OMR_CONF_ENUM, OFF(log.level) - OFF(log), 0, "info", 0, 0,
	  "least severe level written", omr_log_levels },
	{ "syslog", OMR_CONF_BOOL, OFF(log.syslog) - OFF(log), 0, "false", 0, 0,
	  "also log to syslog (daemon facility)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const struct omr_conf_key omr_paths_keys[] = {
	{ "state_dir", OMR_CONF_PATH, OFF(paths.state_dir) - OFF(paths), 0, OMR_STATE_DIR, 0, 0,
	  "state directory (embedded Redis data and socket)" },
	{ "plugin_dir", OMR_CONF_PATH, OFF(paths.plugin_dir) - OFF(paths), 0, OMR_PLUGIN_DIR, 0, 0,
	  "where plugins named without a path are found" },
	{ "data_dir", OMR_CONF_PATH, OFF(paths.data_dir) - OFF(paths), 0, OMR_DATA_DIR, 0, 0,
	  "static files: console, demo pages" },
	{ "console_dir", OMR_CONF_PATH, OFF(paths.console_dir) - OFF(paths), 0, NULL, 0, 0,
	  "agent console files (default: DATA_DIR/console)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define DUOFF(f) (OFF(redis.durability.f) - OFF(redis.durability))
static const struct omr_conf_key omr_durability_keys[] = {
	{ "replicas", OMR_CONF_INT, DUOFF(replicas), 0, "0", 0, 16,
	  "answer a sender only once this many replicas have the message (WAIT); 0: once the "
	  "primary has it" },
	{ "timeout", OMR_CONF_MS, DUOFF(timeout), 0, "1s", 10, 60000,
	  "how long to wait for the replicas before telling the sender to retry" },
	{ "when_short", OMR_CONF_ENUM, DUOFF(refuse_short), 0, "accept", 0, 0,
	  "while the primary has fewer replicas connected than 'replicas', in any state "
	  "(after a failover, before the old primary is back; one still synchronising "
	  "counts, and is waited for): accept messages once the primary has them, or "
	  "refuse them (senders retry) until enough replicas are back", omr_short_modes },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define ROFF(f) (OFF(redis.f) - OFF(redis))
static const struct omr_conf_key omr_redis_keys[] = {
	{ "embedded", OMR_CONF_BOOL, ROFF(embedded), 0, "false", 0, 0,
	  "start and supervise a private redis-server on a unix socket in state_dir" },
	{ "server", OMR_CONF_STRING, ROFF(server), 0, "redis-server", 0, 0,
	  "redis-server binary for embedded mode" },
	{ "url", OMR_CONF_SECRET, ROFF(url), 0, NULL, 0, 0,
	  "redis://[[user]:password@]host[:port][/db] or unix:/path/to/socket (not embedded)" },
	{ "username", OMR_CONF_STRING, ROFF(username), 0, NULL, 0, 0,
	  "Redis ACL user: AUTH username password on every connection to the primary "
	  "(with password; not for embedded)" },
	{ "password", OMR_CONF_SECRET, ROFF(password), 0, NULL, 0, 0, "AUTH password" },
	{ "sentinels", OMR_CONF_STRLIST, ROFF(sentinels), 0, NULL, 0, 0,
	  "host:port of each Redis Sentinel: the primary is found and followed through them "
	  "(instead of url)" },
	{ "cluster", OMR_CONF_STRLIST, ROFF(cluster), 0, NULL, 0, 0,
	  "host:port of some Redis Cluster nodes: the primary that owns the site's slot is "
	  "found and followed through them (instead of url)" },
	{ "master", OMR_CONF_STRING, ROFF(master), 0, NULL, 0, 0,
	  "the name Sentinel knows the primary by (with sentinels)" },
	{ "sentinel_password", OMR_CONF_SECRET, ROFF(sentinel_password), 0, NULL, 0, 0,
	  "AUTH password of the sentinels (password is the primary's)" },
	{ "durability", OMR_CONF_SECTION, ROFF(durability), 0, NULL, 0, 0,
	  "acknowledge inbound messages only once replicas have them", NULL,
	  omr_durability_keys },
	{ "prefix", OMR_CONF_STRING, ROFF(prefix), 0, "omr", 0, 0, "key prefix" },
	{ "site", OMR_CONF_STRING, ROFF(site), 0, "main", 0, 0,
	  "hash tag shared by all keys of this site (one Redis Cluster slot)" },
	{ "appendfsync", OMR_CONF_ENUM, ROFF(appendfsync), 0, "everysec", 0, 0,
	  "embedded Redis AOF fsync policy", omr_fsync_modes },
	{ "connect_timeout", OMR_CONF_MS, ROFF(connect_timeout), 0, "5s", 100, 600000,
	  "give up a connection attempt after this long" },
	{ "command_timeout", OMR_CONF_MS, ROFF(command_timeout), 0, "10s", 100, 600000,
	  "a command without an answer after this long drops the connection" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const struct omr_conf_key omr_listen_keys[] = {
	{ "address", OMR_CONF_STRING, offsetof(struct omr_listen_conf, address), 0, "127.0.0.1", 0, 0,
	  "IP address to listen on" },
	{ "port", OMR_CONF_INT, offsetof(struct omr_listen_conf, port), 1, NULL, 1, 65535,
	  "TCP port" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const char *const omr_tls_versions[] = { "1.2", "1.3", NULL };

#define TOFF(f) offsetof(struct omr_tls_conf, f)
#define OMR_TLS_KEYS(name, ...)                                                                  \
	static const struct omr_conf_key name[] = {                                              \
		{ "cert", OMR_CONF_PATH, TOFF(cert), 1, NULL, 0, 0,                              \
		  "PEM file: the server certificate, then its intermediate certificates" },     \
		{ "key", OMR_CONF_PATH, TOFF(key), 1, NULL, 0, 0,                                \
		  "PEM file: the certificate's private key (not encrypted)" },                  \
		{ "min_version", OMR_CONF_ENUM, TOFF(min_version), 0, "1.2", 0, 0,               \
		  "lowest TLS version accepted (1.0 and 1.1 never are)", omr_tls_versions },    \
		{ "ciphers", OMR_CONF_STRING, TOFF(ciphers), 0, NULL, 0, 0,                      \
		  "TLS 1.2 cipher list in OpenSSL's syntax (default: ECDHE with AES-GCM or "     \
		  "ChaCha20-Poly1305 only); TLS 1.3 keeps OpenSSL's suites" },                   \
		__VA_ARGS__                                                                      \
		{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },                                  \
	}
OMR_TLS_KEYS(omr_tls_keys, );
OMR_TLS_KEYS(omr_tls_admin_keys,
	     { "client_ca", OMR_CONF_PATH, TOFF(client_ca), 0, NULL, 0, 0,
	       "PEM file of CA certificates: every client must show a certificate one of "
	       "them signed (default: none asked for)" },);

#define EOFF(f) (OFF(edge.f) - OFF(edge))
static const struct omr_conf_key omr_edge_keys[] = {
	{ "listen", OMR_CONF_SECTION, EOFF(listen), 1, NULL, 0, 0,
	  "websocket and static files listener", NULL, omr_listen_keys },
	{ "max_message", OMR_CONF_INT, EOFF(max_message), 0, "65536", 1024, 16777216,
	  "largest websocket message in bytes; larger ones close the connection (1009)" },
	{ "ping_interval", OMR_CONF_MS, EOFF(ping_interval), 0, "30s", 1000, 3600000,
	  "websocket ping interval; a peer that does not answer is dropped" },
	{ "file_link_ttl", OMR_CONF_MS, EOFF(file_link_ttl), 0, "24h", 1000, 2592000000LL,
	  "how long a link to a stored file (an attachment, in an agent's console) works; "
	  "opening the conversation again gives a new one" },
	{ "allowed_origins", OMR_CONF_STRLIST, EOFF(allowed_origins), 0, NULL, 0, 0,
	  "Origin values allowed to open websockets (default: /agent only the edge's own origin, "
	  "other endpoints any; [\"*\"]: any)" },
	{ "tls", OMR_CONF_SECTION, EOFF(tls), 0, NULL, 0, 0,
	  "TLS: wss:// and https:// on the edge port (docs/operations.md#tls)", NULL,
	  omr_tls_keys },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define WOFF(f) (OFF(webhooks.f) - OFF(webhooks))
static const struct omr_conf_key omr_webhooks_keys[] = {
	{ "listen", OMR_CONF_SECTION, WOFF(listen), 1, NULL, 0, 0, "channel webhook listener",
	  NULL, omr_listen_keys },
	{ "max_body", OMR_CONF_INT, WOFF(max_body), 0, "1048576", 1024, 67108864,
	  "largest request body in bytes (413 above)" },
	{ "tls", OMR_CONF_SECTION, WOFF(tls), 0, NULL, 0, 0,
	  "TLS: https:// on the webhook port (docs/operations.md#tls)", NULL, omr_tls_keys },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define AOFF(f) (OFF(admin.f) - OFF(admin))
static const struct omr_conf_key omr_admin_keys[] = {
	{ "listen", OMR_CONF_SECTION, AOFF(listen), 1, NULL, 0, 0, "admin API listener", NULL,
	  omr_listen_keys },
	{ "token", OMR_CONF_SECRET, AOFF(token), 1, NULL, 0, 0,
	  "bearer token for the admin API: 16 characters or more (4 or more on a loopback listener)" },
	{ "max_body", OMR_CONF_INT, AOFF(max_body), 0, "1048576", 1024, 67108864,
	  "largest request body in bytes" },
	{ "tls", OMR_CONF_SECTION, AOFF(tls), 0, NULL, 0, 0,
	  "TLS: https:// on the admin port, optionally with client certificates "
	  "(docs/operations.md#tls)", NULL, omr_tls_admin_keys },
	{ "test_clock", OMR_CONF_BOOL, AOFF(test_clock), 0, "false", 0, 0,
	  "FOR TESTS ONLY: POST /api/v1/debug/clock may move the clock the scripts and the "
	  "router see (never on a live site)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define LOFF(f) (OFF(limits.f) - OFF(limits))
static const struct omr_conf_key omr_limits_keys[] = {
	{ "text_max", OMR_CONF_INT, LOFF(text_max), 0, "16384", 64, 1048576,
	  "largest message text in bytes" },
	{ "attachments_max", OMR_CONF_INT, LOFF(attachments_max), 0, "20", 0, 1000,
	  "most attachments per message" },
	{ "dedup_ttl", OMR_CONF_MS, LOFF(dedup_ttl), 0, "7d", 60000, 31536000000LL,
	  "how long a channel message id is remembered for duplicate detection" },
	{ "stream_maxlen", OMR_CONF_INT, LOFF(stream_maxlen), 0, "1000000", 1000, 1000000000,
	  "length cap of the event stream; entries a consumer has not acknowledged are kept beyond it" },
	{ "resend_after", OMR_CONF_MS, LOFF(resend_after), 0, "2m", 1000, 86400000,
	  "an outbound message not sent this long after it was stored is sent again (API channels)" },
	{ "resend_tries", OMR_CONF_INT, LOFF(resend_tries), 0, "3", 0, 20,
	  "times it is sent again before it is marked failed" },
	{ "claim_after", OMR_CONF_MS, LOFF(claim_after), 0, "30s", 1000, 3600000,
	  "a routing event not handled this long (its node died, or handling it failed) is taken "
	  "over by another node; after 5 tries it is parked in events:dead" },
	{ "reroute_after", OMR_CONF_MS, LOFF(reroute_after), 0, "60s", 1000, 86400000,
	  "a conversation still not routed this long after it was opened is announced again" },
	{ "workers", OMR_CONF_INT, LOFF(workers), 0, "2", 1, 64,
	  "threads for work that must not hold the event loop (MIME parsing, hashing, fsync)" },
	{ "work_queue", OMR_CONF_INT, LOFF(work_queue), 0, "256", 1, 100000,
	  "jobs waiting for a worker at most; past it senders are told to retry" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define MOFF(f) (OFF(media.f) - OFF(media))
static const struct omr_conf_key omr_media_keys[] = {
	{ "max_bytes", OMR_CONF_INT, MOFF(max_bytes), 0, "16777216", 1024, 104857600,
	  "largest media file in bytes, from a customer (WhatsApp, Messenger, Instagram) or "
	  "uploaded by an agent; a bigger one is refused (the message keeps a marker)" },
	{ "types", OMR_CONF_STRLIST, MOFF(types), 0,
	  "[image/jpeg, image/png, image/gif, image/webp, application/pdf, audio/ogg, audio/mpeg, "
	  "audio/mp4, video/mp4]", 0, 0,
	  "media types taken, as sniffed from the file's first bytes (docs/media.md lists the "
	  "ones recognised); a file of any other type is refused" },
	{ "fetch_timeout", OMR_CONF_MS, MOFF(fetch_timeout), 0, "30s", 1000, 600000,
	  "one download of a customer's media from a provider may take this long" },
	{ "fetch_tries", OMR_CONF_INT, MOFF(fetch_tries), 0, "3", 1, 10,
	  "tries of a download (after a 5xx, 429 or transport error); then the message is "
	  "stored with the attachment marked unavailable" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define GOFF(f) offsetof(struct omr_gate_conf, f)
#define OMR_GATE_KEYS(name, conns, per_ip, rate, burst, what)                                    \
	static const struct omr_conf_key name[] = {                                              \
		{ "max_connections", OMR_CONF_INT, GOFF(max_connections), 0, conns, 0, 10000000, \
		  "open " what " connections at most (0: no cap)" },                             \
		{ "max_per_ip", OMR_CONF_INT, GOFF(max_per_ip), 0, per_ip, 0, 10000000,          \
		  "open " what " connections per client address (IPv6: per /64; 0: no cap)" },   \
		{ "rate_per_ip", OMR_CONF_INT, GOFF(rate_per_ip), 0, rate, 0, 10000000,          \
		  "new " what " connections per second per client address (0: no cap)" },       \
		{ "burst_per_ip", OMR_CONF_INT, GOFF(burst_per_ip), 0, burst, 0, 10000000,       \
		  "... of which this many at once" },                                            \
		{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },                                  \
	}
#define OMR_RATE_KEYS(name, rate, burst, what)                                                  \
	static const struct omr_conf_key name[] = {                                              \
		{ "rate_per_ip", OMR_CONF_INT, GOFF(rate_per_ip), 0, rate, 0, 10000000,          \
		  what " per second per client address (0: no cap)" },                           \
		{ "burst_per_ip", OMR_CONF_INT, GOFF(burst_per_ip), 0, burst, 0, 10000000,       \
		  "... of which this many at once" },                                            \
		{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },                                  \
	}
OMR_GATE_KEYS(omr_gate_edge_keys, "20000", "200", "50", "100", "websocket and HTTP");
OMR_GATE_KEYS(omr_gate_webhooks_keys, "2000", "200", "0", "0", "webhook");
OMR_GATE_KEYS(omr_gate_admin_keys, "128", "32", "100", "200", "admin API");
OMR_RATE_KEYS(omr_gate_chat_keys, "1", "30", "new web chat visitors");
OMR_RATE_KEYS(omr_gate_login_keys, "2", "20", "agent log-in attempts");

#define DOFF(f) (OFF(admission.f) - OFF(admission))
static const struct omr_conf_key omr_admission_keys[] = {
	{ "edge", OMR_CONF_SECTION, DOFF(edge), 0, NULL, 0, 0, "websocket edge connections", NULL,
	  omr_gate_edge_keys },
	{ "webhooks", OMR_CONF_SECTION, DOFF(webhooks), 0, NULL, 0, 0, "webhook connections", NULL,
	  omr_gate_webhooks_keys },
	{ "admin", OMR_CONF_SECTION, DOFF(admin), 0, NULL, 0, 0, "admin API connections", NULL,
	  omr_gate_admin_keys },
	{ "chat", OMR_CONF_SECTION, DOFF(chat), 0, NULL, 0, 0, "new web chat visitors", NULL,
	  omr_gate_chat_keys },
	{ "login", OMR_CONF_SECTION, DOFF(login), 0, NULL, 0, 0, "agent log-in attempts", NULL,
	  omr_gate_login_keys },
	{ "request_timeout", OMR_CONF_MS, DOFF(request_timeout), 0, "10s", 1000, 600000,
	  "a whole HTTP request (headers and body) must arrive within this, however slowly it trickles" },
	{ "idle_timeout", OMR_CONF_MS, DOFF(idle_timeout), 0, "60s", 1000, 3600000,
	  "a kept-alive HTTP connection idle this long is closed" },
	{ "ingest_inflight", OMR_CONF_INT, DOFF(ingest_inflight), 0, "5000", 1, 10000000,
	  "messages being stored at once; past it senders are told to retry" },
	{ "login_queue", OMR_CONF_INT, DOFF(login_queue), 0, "16", 1, 100000,
	  "password checks waiting at most; past it a log-in is answered 'busy, retry'" },
	{ "login_failures", OMR_CONF_INT, DOFF(login_failures), 0, "10", 1, 1000000,
	  "failed log-ins of one account from one address, counted on every node, that lock "
	  "them for login_lockout (the account from anywhere: x10; the address: x5)" },
	{ "login_window", OMR_CONF_MS, DOFF(login_window), 0, "15m", 1000, 86400000,
	  "how long a failed log-in counts" },
	{ "login_lockout", OMR_CONF_MS, DOFF(login_lockout), 0, "5m", 1000, 86400000,
	  "how long a locked account's log-ins are refused" },
	{ "edge_queue_per_conn", OMR_CONF_INT, DOFF(edge_queue_per_conn), 0, "262144", 4096,
	  1073741824, "bytes from one websocket waiting for the core; past it the edge stops reading it" },
	{ "edge_queue", OMR_CONF_INT, DOFF(edge_queue), 0, "67108864", 65536, 17179869184LL,
	  "bytes from all websockets waiting for the core; past it the edge stops reading" },
	{ "edge_unauth_rate", OMR_CONF_INT, DOFF(edge_unauth_rate), 0, "5", 1, 100000,
	  "websocket frames per second a connection may send before it logs in or says hello" },
	{ "edge_unauth_burst", OMR_CONF_INT, DOFF(edge_unauth_burst), 0, "20", 1, 100000,
	  "... of which this many at once; past it the connection is closed (1008)" },
	{ "agent_rate", OMR_CONF_INT, DOFF(agent_rate), 0, "20", 1, 1000000,
	  "websocket frames per second one agent console may send, sustained; past it they "
	  "are answered 'rate_limited'" },
	{ "agent_burst", OMR_CONF_INT, DOFF(agent_burst), 0, "60", 1, 1000000,
	  "... of which this many at once" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define ROFF_(f) (OFF(retention.f) - OFF(retention))
static const struct omr_conf_key omr_retention_keys[] = {
	{ "closed_days", OMR_CONF_INT, ROFF_(closed_days), 0, "0", 0, 36500,
	  "closed conversations, their messages and attachment files are purged this many days "
	  "after they closed (0: kept for ever)" },
	{ "customer_days", OMR_CONF_INT, ROFF_(customer_days), 0, "0", 0, 36500,
	  "customers without any conversation left are purged this many days after their last "
	  "contact (0: kept for ever)" },
	{ "every", OMR_CONF_MS, ROFF_(every), 0, "10m", 1000, 86400000,
	  "how often each node looks for what to purge (the nodes share the work)" },
	{ "batch", OMR_CONF_INT, ROFF_(batch), 0, "50", 1, 1000,
	  "conversations looked at per step; steps are a short pause apart, so that Redis is "
	  "never held for long" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define UOFF_(f) (OFF(unsubscribe.f) - OFF(unsubscribe))
static const struct omr_conf_key omr_unsub_keys[] = {
	{ "url", OMR_CONF_STRING, UOFF_(url), 0, NULL, 0, 0,
	  "public https:// base URL of the webhook listener: mails get the one-click link "
	  "URL/unsubscribe?t=TOKEN (RFC 8058); unset: no link" },
	{ "mailto", OMR_CONF_STRING, UOFF_(mailto), 0, NULL, 0, 0,
	  "address for mailto: unsubscribes (subject unsubscribe-TOKEN), delivered to the "
	  "e-mail channel; unset: none" },
	{ "secret", OMR_CONF_SECRET, UOFF_(secret), 0, NULL, 0, 0,
	  "key that signs the tokens, 32 characters or more, the same on every node "
	  "({env: NAME} or {file: PATH}); needed with url or mailto" },
	{ "channel", OMR_CONF_STRING, UOFF_(channel), 0, "email", 0, 0,
	  "the e-mail channel whose mails carry the links" },
	{ "valid_for", OMR_CONF_MS, UOFF_(valid_for), 0, "365d", 86400000, 3650LL * 86400000,
	  "how long a link keeps working after the mail was sent" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

#define SOFF_(f) (OFF(search.f) - OFF(search))
static const struct omr_conf_key omr_search_keys[] = {
	{ "days", OMR_CONF_INT, SOFF_(days), 0, "90", 1, 3650,
	  "words of messages are found by the search for this many days; older ones leave the "
	  "index (names, addresses and ids are found as long as the conversation is kept)" },
	{ "group_max", OMR_CONF_INT, SOFF_(group_max), 0, "20", 2, 1000,
	  "identities an agent may link into one customer, at most" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

const struct omr_conf_key omr_config_keys[] = {
	{ "node", OMR_CONF_SECTION, OFF(node), 0, NULL, 0, 0, "this daemon", NULL, omr_node_keys },
	{ "log", OMR_CONF_SECTION, OFF(log), 0, NULL, 0, 0, "logging", NULL, omr_log_keys },
	{ "paths", OMR_CONF_SECTION, OFF(paths), 0, NULL, 0, 0, "directories", NULL,
	  omr_paths_keys },
	{ "redis", OMR_CONF_SECTION, OFF(redis), 0, NULL, 0, 0, "Redis connection", NULL,
	  omr_redis_keys },
	{ "edge", OMR_CONF_SECTION, OFF(edge), 1, NULL, 0, 0, "websocket edge", NULL,
	  omr_edge_keys },
	{ "webhooks", OMR_CONF_SECTION, OFF(webhooks), 1, NULL, 0, 0, "webhook listener", NULL,
	  omr_webhooks_keys },
	{ "admin", OMR_CONF_SECTION, OFF(admin), 1, NULL, 0, 0, "admin API", NULL,
	  omr_admin_keys },
	{ "limits", OMR_CONF_SECTION, OFF(limits), 0, NULL, 0, 0, "input limits", NULL,
	  omr_limits_keys },
	{ "media", OMR_CONF_SECTION, OFF(media), 0, NULL, 0, 0,
	  "media files of customers and agents (docs/media.md)", NULL, omr_media_keys },
	{ "admission", OMR_CONF_SECTION, OFF(admission), 0, NULL, 0, 0,
	  "who may come in and how fast (docs/operations.md#admission-and-back-pressure)", NULL,
	  omr_admission_keys },
	{ "retention", OMR_CONF_SECTION, OFF(retention), 0, NULL, 0, 0,
	  "how long personal data is kept (docs/operations.md#personal-data-export-erasure-retention)",
	  NULL, omr_retention_keys },
	{ "search", OMR_CONF_SECTION, OFF(search), 0, NULL, 0, 0,
	  "searching past conversations and linking identities (docs/search.md)", NULL,
	  omr_search_keys },
	{ "unsubscribe", OMR_CONF_SECTION, OFF(unsubscribe), 0, NULL, 0, 0,
	  "e-mail unsubscribe links (docs/proactive.md#e-mail-unsubscribe)", NULL, omr_unsub_keys },
	{ "routing", OMR_CONF_PATH, OFF(routing_file), 1, NULL, 0, 0,
	  "routing file (queues, skills, rules)" },
	{ "agents", OMR_CONF_PATH, OFF(agents_file), 1, NULL, 0, 0, "agent directory file" },
	{ "canned", OMR_CONF_PATH, OFF(canned_file), 0, NULL, 0, 0,
	  "canned responses file (docs/configuration.md#canned-responses); unset: none" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};

static const char *const omr_config_handled[] = { "plugins", NULL };

#define POFF(f) offsetof(struct omr_plugin_conf, f)
static const struct omr_conf_key omr_plugin_keys[] = {
	{ "name", OMR_CONF_STRING, POFF(name), 1, NULL, 0, 0, "plugin name" },
	{ "path", OMR_CONF_PATH, POFF(path), 0, NULL, 0, 0,
	  "shared object (default: PLUGIN_DIR/NAME.so)" },
	{ "enabled", OMR_CONF_BOOL, POFF(enabled), 0, "true", 0, 0, "load this plugin" },
	{ "config_file", OMR_CONF_PATH, POFF(config_file), 0, NULL, 0, 0,
	  "the plugin's settings in a file of their own (instead of config:)" },
	{ NULL, OMR_CONF_END, 0, 0, NULL, 0, 0, NULL },
};
static const char *const omr_plugin_handled[] = { "config", NULL };

static int omr_plugin_name_ok(const char *s)
{
	if (!*s || strlen(s) > 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

static struct omr_ydoc *omr_config_load_doc(const char *path, struct omr_conf_errs *errs)
{
	char *err = NULL;
	struct omr_ydoc *doc = omr_yaml_load_file(path, &err);
	if (!doc) {
		omr_conf_error(errs, NULL, "%s", err);
		free(err);
	}
	return doc;
}

static void omr_config_plugins(struct omr_config *c, const struct omr_ynode *list,
			       struct omr_conf_errs *errs)
{
	if (!list || omr_ynode_is_null(list))
		return;
	if (list->type != OMR_Y_SEQ) {
		omr_conf_error(errs, list, "plugins: expected a list, found %s",
			       omr_ynode_type_name(list));
		return;
	}
	c->plugins = omr_calloc(list->n + 1, sizeof(*c->plugins));
	for (size_t i = 0; i < list->n; i++) {
		const struct omr_ynode *item = list->items[i];
		struct omr_plugin_conf *p = &c->plugins[c->nplugins++];
		p->at = item;
		if (omr_conf_apply(omr_plugin_keys, item, p, omr_plugin_handled, errs))
			continue;
		if (!omr_plugin_name_ok(p->name)) {
			omr_conf_error(errs, omr_ynode_get(item, "name"),
				       "plugin name '%s' must be 1-32 of a-z, 0-9, _ and -", p->name);
			continue;
		}
		for (size_t k = 0; k + 1 < c->nplugins; k++)
			if (c->plugins[k].name && strcmp(c->plugins[k].name, p->name) == 0)
				omr_conf_error(errs, item, "plugin '%s' is listed twice", p->name);
		p->config = omr_ynode_get(item, "config");
		if (p->config && omr_ynode_is_null(p->config))
			p->config = NULL;
		if (p->config_file && p->config) {
			omr_conf_error(errs, item, "plugin '%s': config and config_file exclude each other",
				       p->name);
		} else if (p->config_file) {
			p->config_doc = omr_config_load_doc(p->config_file, errs);
			if (p->config_doc)
				p->config = p->config_doc->root;
		}
		if (p->config && p->config->type != OMR_Y_MAP)
			omr_conf_error(errs, p->config, "config: expected a mapping, found %s",
				       omr_ynode_type_name(p->config));
		if (!p->path)
			p->path = omr_asprintf("%s/%s.so", c->paths.plugin_dir, p->name);
	}
}

static void omr_config_defaults(struct omr_config *c)
{
	if (!c->node.id) {
		char host[256];
		if (gethostname(host, sizeof(host)) != 0 || !host[0])
			snprintf(host, sizeof(host), "node");
		host[sizeof(host) - 1] = '\0';
		c->node.id = omr_strdup(host);
	}
	if (!c->paths.console_dir)
		c->paths.console_dir = omr_asprintf("%s/console", c->paths.data_dir);
}

int omr_config_loopback(const char *address)
{
	static const unsigned char one[16] = { [15] = 1 };
	static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	unsigned char a[16];
	if (!address)
		return 0;
	if (strcmp(address, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, address, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, address, a) == 1)
		return memcmp(a, one, sizeof(one)) == 0 ||
		       (memcmp(a, v4mapped, sizeof(v4mapped)) == 0 && a[12] == 127);
	return 0;
}

/* every entry of a host:port list (redis.sentinels, redis.cluster) */
static void omr_config_check_addrs(char **list, const char *what, const struct omr_ynode *at,
				   struct omr_conf_errs *errs)
{
	char host[256];
	int port;
	for (char **a = list; a && *a; a++)
		if (omr_hostport_split(*a, host, &port) < 0)
			omr_conf_error(errs, at, "redis: %s '%s' is not host:port", what, *a);
}

/* media.types: only types the bytes can show (omr_mediafile_sniff) */
static void omr_config_check_media(const struct omr_config *c, const struct omr_ynode *root,
				   struct omr_conf_errs *errs)
{
	const struct omr_ynode *at = omr_ynode_get(omr_ynode_get(root, "media"), "types");
	for (char **t = c->media.types; t && *t; t++)
		if (!omr_mediafile_known(*t))
			omr_conf_error(errs, at ? at : root,
				       "media: types: '%s' is not a type omniroute recognises in a "
				       "file's bytes (docs/media.md lists them)", *t);
}

/* A short token can be guessed; only where nobody else can try (loopback)
 * is one accepted, and the daemon warns at start. */
static void omr_config_check_token(const struct omr_config *c, const struct omr_ynode *admin,
				   struct omr_conf_errs *errs)
{
	const struct omr_ynode *at = omr_ynode_get(admin, "token");
	size_t len = c->admin.token ? strlen(c->admin.token) : 0;
	if (!c->admin.token || len >= OMR_ADMIN_TOKEN_MIN)
		return;
	if (len < 4)
		omr_conf_error(errs, at ? at : admin, "admin: token must be at least 4 characters");
	else if (!omr_config_loopback(c->admin.listen.address))
		omr_conf_error(errs, at ? at : admin,
			       "admin: token must be at least %d characters when the admin API "
			       "listens on %s (shorter ones only on loopback)", OMR_ADMIN_TOKEN_MIN,
			       c->admin.listen.address);
}

/* The files are loaded and the key checked against the certificate now,
 * so that -t and a reload refuse what a listener could not serve. */
static void omr_config_check_tls(const struct omr_tls_conf *t, const char *section,
				 const struct omr_ynode *root, struct omr_conf_errs *errs)
{
	const struct omr_ynode *at = omr_ynode_get(omr_ynode_get(root, section), "tls");
	char *err = NULL;
	struct ssl_ctx_st *ctx;

	if (!at || !omr_tls_enabled(t))
		return;
	ctx = omr_tls_ctx_new(t, &err);
	if (!ctx)
		omr_conf_error(errs, at, "%s: tls: %s", section, err);
	omr_tls_ctx_free(ctx);
	free(err);
}

/* Links need a key, and a key that cannot be guessed; the link's base
 * must be a web address (https: RFC 8058 wants it for the one-click). */
static void omr_config_check_unsub(const struct omr_config *c, const struct omr_ynode *root,
				   struct omr_conf_errs *errs)
{
	const struct omr_ynode *sec = omr_ynode_get(root, "unsubscribe");
	const char *url = c->unsubscribe.url, *mailto = c->unsubscribe.mailto;
	const char *secret = c->unsubscribe.secret;
	const struct omr_ynode *at;
	if (!sec)
		return;
	if ((url || mailto) && !secret)
		omr_conf_error(errs, sec, "unsubscribe: 'url' and 'mailto' need a 'secret'");
	if (secret && strlen(secret) < OMR_UNSUB_SECRET_MIN)
		omr_conf_error(errs, omr_ynode_get(sec, "secret"),
			       "unsubscribe: secret must be at least %d characters", OMR_UNSUB_SECRET_MIN);
	at = omr_ynode_get(sec, "url");
	if (url && ((strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
		    strpbrk(url, " \t\r\n<>\"?#,") || strlen(url) > 200 ||
		    !omr_host_ok(url + (url[4] == 's' ? 8 : 7),
				 strcspn(url + (url[4] == 's' ? 8 : 7), "/"))))
		omr_conf_error(errs, at, "unsubscribe: url must be https://host[:port][/path] "
			       "(at most 200 characters, no query)");
	at = omr_ynode_get(sec, "mailto");
	if (mailto && (!strchr(mailto, '@') || strpbrk(mailto, " \t\r\n<>\"?#,;%&") ||
		       strlen(mailto) > 254 || mailto[0] == '@'))
		omr_conf_error(errs, at, "unsubscribe: mailto must be one e-mail address");
}

static void omr_config_check(struct omr_config *c, const struct omr_ynode *root,
			     struct omr_conf_errs *errs)
{
	omr_config_check_unsub(c, root, errs);
	omr_config_check_tls(&c->edge.tls, "edge", root, errs);
	omr_config_check_tls(&c->webhooks.tls, "webhooks", root, errs);
	omr_config_check_tls(&c->admin.tls, "admin", root, errs);
	int ways = !!c->redis.embedded + !!c->redis.url + !!c->redis.sentinels + !!c->redis.cluster;
	if (ways == 0)
		omr_conf_error(errs, omr_ynode_get(root, "redis") ? omr_ynode_get(root, "redis") : root,
			       "redis: set 'embedded: true', a 'url', 'sentinels' or 'cluster'");
	if (ways > 1)
		omr_conf_error(errs, omr_ynode_get(root, "redis"),
			       "redis: 'embedded: true', 'url', 'sentinels' and 'cluster' exclude each "
			       "other");
	if (c->redis.cluster && !c->redis.cluster[0])
		omr_conf_error(errs, omr_ynode_get(root, "redis"),
			       "redis: 'cluster' needs at least one host:port");
	omr_config_check_addrs(c->redis.cluster, "cluster node", omr_ynode_get(root, "redis"), errs);
	if (c->redis.sentinels && (!c->redis.sentinels[0] || !c->redis.master))
		omr_conf_error(errs, omr_ynode_get(root, "redis"),
			       "redis: 'sentinels' needs at least one host:port and the 'master' name");
	if (c->redis.master && !c->redis.sentinels)
		omr_conf_error(errs, omr_ynode_get(root, "redis"),
			       "redis: 'master' is the name of a primary in Sentinel: set 'sentinels'");
	omr_config_check_addrs(c->redis.sentinels, "sentinel", omr_ynode_get(root, "redis"), errs);
	if (c->redis.username && (c->redis.embedded || !c->redis.password))
		omr_conf_error(errs, omr_ynode_get(omr_ynode_get(root, "redis"), "username"),
			       c->redis.embedded ? "redis: 'username' is for an external Redis, not "
						   "the embedded one" :
						   "redis: 'username' needs the user's 'password'");
	omr_config_check_token(c, omr_ynode_get(root, "admin"), errs);
	omr_config_check_media(c, root, errs);
	for (const char *p = c->redis.prefix; p && *p; p++)
		if (*p == '{' || *p == '}' || *p == ' ') {
			omr_conf_error(errs, omr_ynode_get(root, "redis"),
				       "redis: prefix must not contain braces or spaces");
			break;
		}
	for (const char *p = c->redis.site; p && *p; p++)
		if (*p == '{' || *p == '}' || *p == ' ') {
			omr_conf_error(errs, omr_ynode_get(root, "redis"),
				       "redis: site must not contain braces or spaces");
			break;
		}
}

/* A rule's contact person and deputy are agents of agents.yaml who take
 * conversations. */
static void omr_config_owner_rules(const struct omr_routing_conf *rc,
				   const struct omr_agents_conf *dir, struct omr_conf_errs *errs)
{
	for (size_t i = 0; rc && i < rc->nrules; i++) {
		const struct omr_rule *rule = &rc->rules[i];
		const char *why = rule->owner || rule->deputy ?
			omr_agents_owner_check(dir, rule->owner, rule->deputy) : NULL;
		if (why)
			omr_conf_error(errs, rule->at, "rule '%s': owner %s%s%s: %s", rule->name,
				       rule->owner ? rule->owner : "(none)", rule->deputy ? ", deputy " : "",
				       rule->deputy ? rule->deputy : "", why);
	}
}

struct omr_config *omr_config_load(const char *path, struct omr_conf_errs *errs)
{
	struct omr_config *c = omr_calloc(1, sizeof(*c));
	int before = errs->count;
	/* Everything relative in the file is relative to the file; resolving
	 * it once here makes every derived path absolute, which matters for
	 * programs we start in another directory (redis-server). */
	char *abs = realpath(path, NULL);

	c->file = abs ? abs : omr_strdup(path);
	path = c->file;
	c->docs[0] = omr_config_load_doc(path, errs);
	if (!c->docs[0])
		goto fail;
	if (!c->docs[0]->root) {
		omr_conf_error(errs, NULL, "%s:1: the file is empty", path);
		goto fail;
	}
	omr_conf_apply(omr_config_keys, c->docs[0]->root, c, omr_config_handled, errs);
	if (errs->count > before)
		goto fail;
	omr_config_defaults(c);
	omr_config_check(c, c->docs[0]->root, errs);
	omr_config_plugins(c, omr_ynode_get(c->docs[0]->root, "plugins"), errs);

	c->docs[1] = omr_config_load_doc(c->routing_file, errs);
	if (c->docs[1])
		c->routing = omr_routing_conf_load(c->docs[1], errs);
	c->docs[2] = omr_config_load_doc(c->agents_file, errs);
	if (c->docs[2])
		c->agents = omr_agents_conf_load(c->docs[2], c->routing, errs);
	if (c->agents)
		omr_config_owner_rules(c->routing, c->agents, errs);
	c->canned = omr_canned_load(c->canned_file, c->routing, errs);
	if (c->agents && c->admin.token) {
		/* a user's API token equal to admin.token would act as it, with
		 * every scope, and be audited as admin.token */
		const struct omr_api_token *t;
		const struct omr_agent_conf *u =
			omr_agents_find_api_token(c->agents, c->admin.token, &t);
		if (u)
			omr_conf_error(errs, c->docs[2]->root,
				       "api_tokens: %s is the same token as admin.token of %s",
				       t->name, c->file);
	}
	if (errs->count > before)
		goto fail;
	return c;
fail:
	omr_config_free(c);
	return NULL;
}

void omr_config_free(struct omr_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nplugins; i++) {
		omr_yaml_free(c->plugins[i].config_doc);
		omr_conf_release(omr_plugin_keys, &c->plugins[i]);
	}
	free(c->plugins);
	omr_routing_conf_free(c->routing);
	omr_agents_conf_free(c->agents);
	omr_canned_free(c->canned);
	omr_conf_release(omr_config_keys, c);
	for (size_t i = 0; i < OMR_ARRAY_LEN(c->docs); i++)
		omr_yaml_free(c->docs[i]);
	free(c->file);
	free(c);
}
