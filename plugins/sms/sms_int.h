/*
 * sms_int: the SMS plugin's state, shared by sms.c, link.c, out.c and
 * in.c (see sms.h for the tour). Main loop only.
 */
#ifndef OMR_PLUGIN_SMS_INT_H
#define OMR_PLUGIN_SMS_INT_H

#include <event2/event.h>
#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include <omniroute/dlist.h>

#include "sms.h"

enum sms_bind_mode { SMS_BIND_TRANSCEIVER = 0, SMS_BIND_SEPARATE = 1 };

struct sms_config {
	char *host;
	long long port;
	int tls;
	char *tls_ca;            /* PEM file; NULL: the system's CAs */
	char *system_id;
	char *password;
	char *system_type;
	int bind;                /* enum sms_bind_mode */
	char *source;
	long long source_ton;    /* -1: from the form of source */
	long long source_npi;
	char *country_code;      /* digits: the default region of national numbers */
	long long window;
	long long rate;
	long long enquire_interval;
	long long response_timeout;
	long long reconnect_min;
	long long reconnect_max;
	int receipts;
	long long send_attempts;
	long long retry_delay;
	long long reassembly_timeout;
	long long text_max;
};

enum sms_link_state { SMS_DOWN = 0, SMS_CONNECTING, SMS_BINDING, SMS_BOUND };

/* One SMPP session (transceiver; or transmitter and receiver). */
struct sms_link {
	struct sms_state *st;      /* borrowed: the owner */
	uint32_t bind_id;          /* BIND_TRANSCEIVER, _TRANSMITTER or _RECEIVER */
	const char *name;          /* "transceiver", "transmitter", "receiver" */
	enum sms_link_state state;
	struct bufferevent *bev;   /* owned; NULL when down */
	struct event *timer;       /* owned: reconnect when down, keepalive when up */
	uint32_t seq;
	uint64_t generation;       /* +1 a connection: held answers of an old one are void */
	long long backoff_ms;
	long long last_rx_ms;      /* any PDU from the SMSC */
	long long enquire_sent_ms; /* 0: none unanswered */
	unsigned inflight;         /* submits without a resp */
	unsigned long long binds, drops;
};

/* One part of an outbound message. */
enum sms_part_state { SMS_PART_WAIT = 0, SMS_PART_INFLIGHT, SMS_PART_ACKED };
struct sms_part {
	struct sms_part_data pd;
	enum sms_part_state state;
	struct sms_link *link;     /* borrowed: INFLIGHT on it */
	uint32_t seq;
	long long sent_ms;
	long long not_before_ms;   /* a retry waits until then */
	int tries;                 /* temporary errors so far */
	char id[66];               /* the SMSC's message_id once ACKED */
};

/* One outbound message until all its parts are acknowledged (or it
 * failed). Owned by the queue (struct sms_state head/tail). */
struct sms_msg {
	struct sms_msg *next;
	char *message;             /* our message id (owned) */
	char dest[22];             /* international digits */
	uint8_t dcs;
	size_t nparts, acked;
	struct sms_part *parts;    /* owned */
	void *loading;             /* the read of an earlier try's progress (owned) */
	int done;                  /* outcome reported; freed from the queue */
};

/* Concatenated MO parts waiting for the rest. */
struct sms_mo_part {
	int present;
	uint8_t data[1100];
	size_t len;
	struct sms_link *link;     /* borrowed: the deliver_sm_resp is held */
	uint64_t generation;
	uint32_t seq;
};
struct sms_mo {
	struct sms_mo *next;
	char source[22], dest[22];
	uint8_t source_ton, dcs;
	unsigned ref, total, have;
	long long first_ms;
	int submitting;
	struct sms_mo_part *parts; /* owned: total of them */
};

struct sms_state {
	const struct omr_host_api *api;
	omr_host *host;
	const struct sms_config *cfg;   /* borrowed from the host */
	struct event_base *base;        /* borrowed */
	struct evdns_base *dns;         /* owned; NULL for a numeric host */
	SSL_CTX *ssl;                   /* owned; NULL without tls */
	struct sms_link links[2];
	int nlinks;
	struct sms_msg *head, *tail;    /* outbound queue */
	struct event *pump;             /* owned: the next send when the window or rate waits */
	double tokens;
	long long tokens_ms;
	long long throttled_until_ms;
	struct sms_mo *mo;              /* MO reassemblies */
	size_t nmo;
	struct event *mo_timer;         /* owned */
	struct omr_dlist waits;         /* owned: struct sms_wait, deliver_sm being stored */
	unsigned long long mo_counter;
	long long started_ms;
	int stopping;
	uint8_t src_ton, src_npi;
	char src[22];
	/* figures for /metrics */
	unsigned long long n_submitted, n_resent, n_throttled, n_failed, n_sent, n_mo, n_receipts,
		n_malformed;
};

long long sms_now_ms(void);

/* link.c */
void sms_link_init(struct sms_link *l, struct sms_state *st, uint32_t bind_id, const char *name);
void sms_link_connect(struct sms_link *l);
/* Send unbind (best effort, not waiting for its resp) and close. */
void sms_link_stop(struct sms_link *l);
void sms_link_free(struct sms_link *l);
uint32_t sms_link_next_seq(struct sms_link *l);
int sms_link_write(struct sms_link *l, const uint8_t *buf, size_t len);
/* Drop the connection (a broken PDU, no answer) and reconnect later. */
void sms_link_drop(struct sms_link *l, const char *why);
/* The link that submits (NULL when it is not bound). */
struct sms_link *sms_link_tx(struct sms_state *st);

/* out.c */
int sms_out_send(struct sms_state *st, const struct omr_outbound *out);
void sms_out_resp(struct sms_state *st, struct sms_link *l, const struct sms_pdu *p);
void sms_out_link_lost(struct sms_state *st, struct sms_link *l);
void sms_out_pump(struct sms_state *st);
long long sms_out_oldest_ms(const struct sms_state *st, const struct sms_link *l);
void sms_out_free(struct sms_state *st);

/* in.c */
void sms_in_deliver(struct sms_state *st, struct sms_link *l, const struct sms_pdu *p);
/* the reassembly timer: parts whose time is up become a message */
void sms_in_expire(struct sms_state *st);
void sms_in_free(struct sms_state *st);

#endif
