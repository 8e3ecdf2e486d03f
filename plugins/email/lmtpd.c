/*
 * lmtpd: the LMTP listener the MTA delivers to. Each connection is a
 * bufferevent and a protocol session (lmtp.c); a complete message becomes
 * an inbound job, and the connection reads nothing more until the job has
 * answered (one message at a time, in order, as LMTP wants): while the
 * mail is read on a worker thread and stored, its connection is paused.
 *
 * Bounds: the connection reads at most EM_CONN_READ_MAX bytes ahead of the
 * session (lmtp.c bounds what the session keeps), and stops reading while
 * more than EM_CONN_OUT_MAX bytes of answers wait for an MTA that does not
 * read them.
 *
 * Ownership: the plugin owns its connections (st->conns); only
 * em_conn_close frees one. A job outlives a connection that closes first
 * (it is detached and its answer dropped: the MTA delivers again).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <omniroute/plugin.h>

#include "email.h"
#include "lmtp.h"

#define EM_CONN_READ_MAX (256 * 1024)
#define EM_CONN_OUT_MAX (256 * 1024)

struct em_conn {
	struct em_state *st;
	struct bufferevent *bev;
	struct lmtp *lmtp;
	struct em_job *job;     /* the message being stored */
	int closing;            /* close once the output is written */
	struct omr_dlink link;  /* in st->conns */
};

static void em_conn_flush(struct em_conn *c);

/* Every recipient gets the same answer: the message is one conversation. */
static void em_conn_job_done(void *arg, const char *reply)
{
	struct em_conn *c = arg;
	size_t n = lmtp_recipients(c->lmtp);
	const char **r = omr_plugin_calloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		r[i] = reply;
	lmtp_done(c->lmtp, r);
	free(r);
	c->job = NULL;
	em_conn_flush(c);
}

static void em_conn_close(struct em_conn *c)
{
	struct em_state *st = c->st;
	if (c->job)
		em_job_detach(c->job); /* its answer has nowhere to go; the MTA retries */
	omr_dlist_remove(&st->conns, &c->link);
	st->nconns--;
	bufferevent_free(c->bev);
	lmtp_free(c->lmtp);
	free(c);
}

static void em_conn_read(struct bufferevent *bev, void *arg);

/* Send what the session wants to say; go on reading what the MTA sent. */
static void em_conn_flush(struct em_conn *c)
{
	size_t len;
	const char *out = lmtp_out(c->lmtp, &len);
	if (len) {
		bufferevent_write(c->bev, out, len);
		lmtp_out_clear(c->lmtp);
	}
	if (!c->closing && !lmtp_busy(c->lmtp)) {
		bufferevent_enable(c->bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(c->bev)))
			em_conn_read(c->bev, c);
	}
}

static void em_conn_message(struct em_conn *c)
{
	size_t len;
	char *data = lmtp_take_data(c->lmtp, &len);
	const char *rcpt = lmtp_recipients(c->lmtp) ? lmtp_recipient(c->lmtp, 0) : NULL;
	struct em_job *j = em_job_new(c->st, lmtp_sender(c->lmtp), rcpt, em_conn_job_done, c);
	c->job = j;
	em_job_run(j, data, len, 0);
}

static void em_conn_read(struct bufferevent *bev, void *arg)
{
	struct em_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	while (!c->closing && !lmtp_busy(c->lmtp) && evbuffer_get_length(in)) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) > EM_CONN_OUT_MAX) {
			/* an MTA that does not read its answers: em_conn_write
			 * reads on once they are gone */
			bufferevent_disable(bev, EV_READ);
			return;
		}
		/* the session takes input in pieces of any size: the buffer's
		 * first chunk as it is, without making it contiguous */
		struct evbuffer_iovec v;
		size_t used = 0;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		enum lmtp_result r = lmtp_feed(c->lmtp, v.iov_base, v.iov_len, &used);
		evbuffer_drain(in, used);
		c->st->refused += lmtp_take_refused(c->lmtp);
		size_t olen;
		const char *out = lmtp_out(c->lmtp, &olen);
		if (olen) {
			bufferevent_write(bev, out, olen);
			lmtp_out_clear(c->lmtp);
		}
		if (r == LMTP_CLOSE) {
			c->closing = 1;
			bufferevent_disable(bev, EV_READ);
			if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
				em_conn_close(c);
			return;
		}
		if (r == LMTP_MESSAGE) {
			bufferevent_disable(bev, EV_READ); /* one message at a time */
			em_conn_message(c);
			return; /* only em_conn_close frees c */
		}
		if (used == 0)
			break;
	}
}

/* The answers are written: close, or read on (reading may have stopped
 * for answers the MTA had not taken yet). */
static void em_conn_write(struct bufferevent *bev, void *arg)
{
	struct em_conn *c = arg;
	if (!c->closing)
		em_conn_flush(c);
	else if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		em_conn_close(c);
}

static void em_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct em_conn *c = arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		em_conn_close(c);
}

static void em_accept(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct em_state *st = arg;
	struct event_base *base = evconnlistener_get_base(lst);
	if (st->stopping || st->nconns >= (size_t)st->cfg->max_connections) {
		static const char busy[] = "421 4.3.2 too many connections, try again later\r\n";
		ssize_t w = write(fd, busy, sizeof(busy) - 1);
		(void)w;
		evutil_closesocket(fd);
		return;
	}
	struct em_conn *c = omr_plugin_calloc(1, sizeof(*c));
	struct lmtp_limits lim = {
		.max_size = (size_t)st->cfg->max_size,
		.max_rcpt = (size_t)st->cfg->max_recipients,
		.max_errors = 20,
	};
	c->st = st;
	c->lmtp = lmtp_new(&lim, st->domain);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		evutil_closesocket(fd);
		lmtp_free(c->lmtp);
		free(c);
		return;
	}
	struct timeval tv = { st->cfg->lmtp_timeout / 1000, (st->cfg->lmtp_timeout % 1000) * 1000 };
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, EM_CONN_READ_MAX);
	bufferevent_setcb(c->bev, em_conn_read, em_conn_write, em_conn_event, c);
	omr_dlist_push_head(&st->conns, &c->link);
	st->nconns++;
	lmtp_greet(c->lmtp);
	em_conn_flush(c);
}

int em_lmtpd_start(struct em_state *st, char **err_r)
{
	struct sockaddr_in sin;
	if (!st->cfg->lmtp_port)
		return OMR_OK;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)st->cfg->lmtp_port);
	inet_pton(AF_INET, st->cfg->lmtp_address, &sin.sin_addr);
	st->listener = evconnlistener_new_bind(st->api->event_base(st->host), em_accept, st,
					       LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE |
						       LEV_OPT_CLOSE_ON_EXEC,
					       64, (struct sockaddr *)&sin, sizeof(sin));
	if (!st->listener)
		return omr_plugin_error(err_r, "cannot listen for LMTP on %s:%lld: %s",
					st->cfg->lmtp_address, st->cfg->lmtp_port, strerror(errno));
	st->api->log(st->host, OMR_LOG_INFO, "LMTP listening on %s:%lld", st->cfg->lmtp_address,
		     st->cfg->lmtp_port);
	return OMR_OK;
}

void em_lmtpd_stop(struct em_state *st)
{
	if (st->listener) {
		evconnlistener_free(st->listener);
		st->listener = NULL;
	}
	/* connections with a message being stored finish it; idle ones go */
	for (struct omr_dlink *l = st->conns.head, *next; l; l = next) {
		struct em_conn *c = OMR_DLIST_ITEM(l, struct em_conn, link);
		next = l->next;
		if (!c->job)
			em_conn_close(c);
	}
}

void em_lmtpd_free(struct em_state *st)
{
	while (st->conns.head)
		em_conn_close(OMR_DLIST_ITEM(st->conns.head, struct em_conn, link));
}
