/*
 * link: one SMPP session with the SMSC on the daemon's loop.
 *
 * DOWN -> CONNECTING (TCP, or TLS; names through evdns, never blocking)
 * -> BINDING (bind_transceiver, _transmitter or _receiver) -> BOUND. Any
 * failure (connection lost, bind refused, a stream that cannot be framed,
 * no answer to an enquire_link or a submit within response_timeout) drops
 * the connection and tries again after a delay that doubles from
 * reconnect_min to reconnect_max (with jitter), back to reconnect_min
 * after a bind. While bound an enquire_link goes every enquire_interval;
 * the SMSC's own enquire_link and unbind are answered. At stop an unbind
 * is written and flushed without waiting for its answer.
 *
 * A PDU that frames but cannot be read is answered (generic_nack, or a
 * permanent deliver_sm_resp error so that the SMSC does not redeliver
 * it), logged and counted; the link stays. A command_length below 16 or
 * above SMS_PDU_MAX is a stream we cannot follow: the link is dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <smpp34.h>

#include "sms_int.h"

#define SMS_TICK_MS 200

long long sms_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sms_timer_in(struct event *ev, long long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	evtimer_add(ev, &tv);
}

uint32_t sms_link_next_seq(struct sms_link *l)
{
	l->seq = l->seq >= 0x7FFFFFFF ? 1 : l->seq + 1;
	return l->seq;
}

int sms_link_write(struct sms_link *l, const uint8_t *buf, size_t len)
{
	if (!l->bev || bufferevent_write(l->bev, buf, len) != 0)
		return OMR_ERROR;
	return OMR_OK;
}

struct sms_link *sms_link_tx(struct sms_state *st)
{
	struct sms_link *l = &st->links[0]; /* the transceiver or the transmitter */
	return l->state == SMS_BOUND ? l : NULL;
}

static void sms_link_close(struct sms_link *l)
{
	if (l->bev) {
		bufferevent_free(l->bev);
		l->bev = NULL;
	}
	evtimer_del(l->timer);
	l->state = SMS_DOWN;
	l->enquire_sent_ms = 0;
}

void sms_link_drop(struct sms_link *l, const char *why)
{
	struct sms_state *st = l->st;
	long long delay;
	if (l->state == SMS_DOWN)
		return;
	l->drops++;
	sms_link_close(l);
	sms_out_link_lost(st, l);
	if (st->stopping)
		return;
	/* jitter: 75% to 125% of the backoff */
	delay = l->backoff_ms * 3 / 4 + (long long)((unsigned long long)sms_now_ms() * 2654435761ULL %
						    (unsigned long long)(l->backoff_ms / 2 + 1));
	st->api->log(st->host, OMR_LOG_WARN, "%s: %s; connecting again in %lld ms", l->name, why,
		     delay);
	l->backoff_ms *= 2;
	if (l->backoff_ms > st->cfg->reconnect_max)
		l->backoff_ms = st->cfg->reconnect_max;
	sms_timer_in(l->timer, delay);
}

static void sms_link_answer(struct sms_link *l, uint32_t command_id, uint32_t status, uint32_t seq)
{
	uint8_t b[SMS_HEADER];
	sms_pdu_header(b, command_id, status, seq);
	sms_link_write(l, b, sizeof(b));
}

static void sms_link_bind_resp(struct sms_link *l, const struct sms_pdu *p)
{
	struct sms_state *st = l->st;
	char why[160];
	if (l->state != SMS_BINDING)
		return;
	if (p->status != ESME_ROK) {
		snprintf(why, sizeof(why), "bind refused: %s (0x%08x)", sms_status_name(p->status),
			 p->status);
		sms_link_drop(l, why);
		return;
	}
	l->state = SMS_BOUND;
	l->binds++;
	l->backoff_ms = st->cfg->reconnect_min;
	st->api->log(st->host, OMR_LOG_INFO, "%s: bound to %s:%lld as %s", l->name, st->cfg->host,
		     st->cfg->port, st->cfg->system_id);
	sms_out_pump(st);
}

static void sms_link_pdu(struct sms_link *l, const struct sms_pdu *p)
{
	switch (p->command_id) {
	case BIND_TRANSCEIVER_RESP:
	case BIND_TRANSMITTER_RESP:
	case BIND_RECEIVER_RESP:
		sms_link_bind_resp(l, p);
		break;
	case ENQUIRE_LINK:
		sms_link_answer(l, ENQUIRE_LINK_RESP, ESME_ROK, p->seq);
		break;
	case ENQUIRE_LINK_RESP:
		l->enquire_sent_ms = 0;
		break;
	case UNBIND:
		sms_link_answer(l, UNBIND_RESP, ESME_ROK, p->seq);
		sms_link_drop(l, "the SMSC unbound");
		break;
	case SUBMIT_SM_RESP:
		sms_out_resp(l->st, l, p);
		break;
	case GENERIC_NACK:
		if (l->state == SMS_BINDING)
			sms_link_bind_resp(l, p);
		else
			sms_out_resp(l->st, l, p);
		break;
	case DELIVER_SM:
		if (l->state == SMS_BOUND)
			sms_in_deliver(l->st, l, p);
		else
			sms_link_answer(l, GENERIC_NACK, ESME_RINVBNDSTS, p->seq);
		break;
	case UNBIND_RESP:
	case ALERT_NOTIFICATION:
	case OUTBIND:
		break;
	default:
		if (!(p->command_id & 0x80000000u)) /* a request we do not take */
			sms_link_answer(l, GENERIC_NACK, ESME_RINVCMDID, p->seq);
		break;
	}
}

/* A PDU that frames but does not read: answer it so that the SMSC does
 * not send it again, log, count; the link stays. */
static void sms_link_unreadable(struct sms_link *l, const uint8_t *buf, size_t len,
				const char *why)
{
	struct sms_state *st = l->st;
	uint32_t cmd = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	uint32_t seq = (uint32_t)buf[12] << 24 | (uint32_t)buf[13] << 16 | (uint32_t)buf[14] << 8 |
		       buf[15];
	st->n_malformed++;
	st->api->log(st->host, OMR_LOG_WARN, "%s: a PDU we cannot read (%zu octets, command 0x%08x): %s",
		     l->name, len, cmd, why);
	if (cmd == DELIVER_SM) {
		uint8_t b[SMS_HEADER + 1];
		sms_pdu_deliver_resp(b, ESME_RX_P_APPN, seq);
		sms_link_write(l, b, sizeof(b));
	} else if (!(cmd & 0x80000000u)) {
		sms_link_answer(l, GENERIC_NACK, ESME_RINVCMDLEN, seq);
	}
}

static void sms_link_read(struct bufferevent *bev, void *arg)
{
	struct sms_link *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t gen = l->generation;
	uint8_t buf[SMS_PDU_MAX];
	char why[300];
	while (l->bev == bev && l->generation == gen && evbuffer_get_length(in) >= 4) {
		uint8_t h[4];
		struct sms_pdu p;
		evbuffer_copyout(in, h, 4);
		uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		if (len < SMS_HEADER || len > SMS_PDU_MAX) {
			l->st->n_malformed++;
			snprintf(why, sizeof(why), "a command_length of %u (%s): the stream cannot be followed",
				 len, len < SMS_HEADER ? "shorter than a header" : "too long");
			sms_link_drop(l, why);
			return;
		}
		if (evbuffer_get_length(in) < len)
			return;
		evbuffer_remove(in, buf, len);
		l->last_rx_ms = sms_now_ms();
		if (sms_pdu_parse(buf, len, &p, why, sizeof(why)) != OMR_OK)
			sms_link_unreadable(l, buf, len, why);
		else
			sms_link_pdu(l, &p);
	}
}

static void sms_link_bind(struct sms_link *l)
{
	const struct sms_config *c = l->st->cfg;
	uint8_t buf[SMS_PDU_MAX];
	struct sms_bind_args a = {
		.command_id = l->bind_id,
		.system_id = c->system_id,
		.password = c->password,
		.system_type = c->system_type,
		.ton = l->st->src_ton,
		.npi = l->st->src_npi,
	};
	int n = sms_pdu_bind(buf, sms_link_next_seq(l), &a);
	l->state = SMS_BINDING;
	l->last_rx_ms = sms_now_ms();
	if (n < 0 || sms_link_write(l, buf, (size_t)n) != OMR_OK)
		sms_link_drop(l, "the bind could not be written");
}

static void sms_link_event(struct bufferevent *bev, short what, void *arg)
{
	struct sms_link *l = arg;
	char why[200];
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		sms_link_bind(l);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		sms_link_drop(l, "the SMSC closed the connection");
		return;
	}
	unsigned long e = bufferevent_get_openssl_error(bev);
	int dnserr = bufferevent_socket_get_dns_error(bev);
	if (e)
		snprintf(why, sizeof(why), "TLS: %s", ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "error");
	else if (dnserr)
		snprintf(why, sizeof(why), "%s: %s", l->st->cfg->host, evutil_gai_strerror(dnserr));
	else
		snprintf(why, sizeof(why), "connection: %s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	sms_link_drop(l, why);
}

/* Every SMS_TICK_MS while connected: the bind, the keepalive and the
 * submits must be answered in time. */
static void sms_link_tick(struct sms_link *l)
{
	const struct sms_config *c = l->st->cfg;
	long long now = sms_now_ms();
	long long oldest = sms_out_oldest_ms(l->st, l);
	if (l->state != SMS_BOUND) {
		if (now - l->last_rx_ms > c->response_timeout) {
			sms_link_drop(l, l->state == SMS_BINDING ? "no answer to the bind"
								 : "the connection timed out");
			return;
		}
	} else if (l->enquire_sent_ms && now - l->enquire_sent_ms > c->response_timeout) {
		sms_link_drop(l, "no answer to enquire_link");
		return;
	} else if (oldest && now - oldest > c->response_timeout) {
		sms_link_drop(l, "no answer to a submit_sm");
		return;
	} else if (!l->enquire_sent_ms && now - l->last_rx_ms >= c->enquire_interval) {
		uint8_t b[SMS_HEADER];
		sms_pdu_header(b, ENQUIRE_LINK, ESME_ROK, sms_link_next_seq(l));
		l->enquire_sent_ms = now;
		l->last_rx_ms = now; /* the next one an interval after this */
		sms_link_write(l, b, sizeof(b));
	}
	sms_timer_in(l->timer, SMS_TICK_MS);
}

void sms_link_connect(struct sms_link *l)
{
	struct sms_state *st = l->st;
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	if (st->stopping || l->state != SMS_DOWN)
		return;
	if (st->ssl) {
		SSL *ssl = SSL_new(st->ssl);
		if (st->dns) { /* a name: SNI, and the certificate must name it */
			SSL_set_tlsext_host_name(ssl, st->cfg->host);
			SSL_set1_host(ssl, st->cfg->host);
		} else { /* an address: the certificate must name that */
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), st->cfg->host);
		}
		l->bev = bufferevent_openssl_socket_new(st->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
							 opts);
	} else {
		l->bev = bufferevent_socket_new(st->base, -1, opts);
	}
	if (!l->bev) {
		l->state = SMS_CONNECTING; /* so that the drop counts and retries */
		sms_link_drop(l, "no socket");
		return;
	}
	l->generation++;
	l->seq = 0;
	l->state = SMS_CONNECTING;
	l->last_rx_ms = sms_now_ms();
	bufferevent_setcb(l->bev, sms_link_read, NULL, sms_link_event, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	sms_timer_in(l->timer, SMS_TICK_MS);
	if (bufferevent_socket_connect_hostname(l->bev, st->dns, AF_UNSPEC, st->cfg->host,
						(int)st->cfg->port) != 0)
		sms_link_drop(l, "cannot connect");
}

static void sms_link_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sms_link *l = arg;
	(void)fd;
	(void)what;
	if (l->state == SMS_DOWN)
		sms_link_connect(l);
	else
		sms_link_tick(l);
}

void sms_link_init(struct sms_link *l, struct sms_state *st, uint32_t bind_id, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->st = st;
	l->bind_id = bind_id;
	l->name = name;
	l->backoff_ms = st->cfg->reconnect_min;
	l->timer = evtimer_new(st->base, sms_link_timer, l);
	if (!l->timer)
		abort();
}

void sms_link_stop(struct sms_link *l)
{
	if (l->bev && l->state == SMS_BOUND) {
		uint8_t b[SMS_HEADER];
		evutil_socket_t fd = bufferevent_getfd(l->bev);
		sms_pdu_header(b, UNBIND, ESME_ROK, sms_link_next_seq(l));
		sms_link_write(l, b, sizeof(b));
		/* the loop may not run again: what is queued (the unbind last)
		 * is written now, without blocking (a short write loses it) */
		struct evbuffer *out = bufferevent_get_output(l->bev);
		SSL *ssl = l->st->ssl ? bufferevent_openssl_get_ssl(l->bev) : NULL;
		uint8_t buf[SMS_PDU_MAX];
		int n;
		evbuffer_unfreeze(out, 1); /* its front is frozen between callbacks */
		while (fd >= 0 && (n = evbuffer_remove(out, buf, sizeof(buf))) > 0)
			if ((ssl ? SSL_write(ssl, buf, n) : (int)send(fd, buf, (size_t)n,
								      MSG_DONTWAIT | MSG_NOSIGNAL)) != n)
				break;
		l->st->api->log(l->st->host, OMR_LOG_INFO, "%s: unbound", l->name);
	}
	sms_link_close(l);
}

void sms_link_free(struct sms_link *l)
{
	sms_link_close(l);
	if (l->timer)
		event_free(l->timer);
	l->timer = NULL;
}
