/*
 * out: agents' replies as submit_sm, part by part.
 *
 * A message is cut into parts (gsm.c: GSM 03.38 or UCS-2, UDH
 * concatenation with a reference derived from our message id, so that a
 * resend cuts and numbers the same way) and queued. The pump submits
 * waiting parts on the bound link while fewer than `window` are
 * unanswered and the rate (`rate` a second, a token bucket) allows.
 *
 * A part's outcome is its submit_sm_resp:
 *  - ESME_ROK: acknowledged, never sent again. Its message_id is written
 *    to the plugin's store (p:<message>) so that a resend of the message
 *    after a restart skips it too.
 *  - a temporary error (ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR...):
 *    tried again after retry_delay, doubling, up to send_attempts tries;
 *    throttling also pauses all submits for that delay.
 *  - any other error: the message failed (the agent sees why).
 * A part without an answer when the link drops is sent again on the next
 * bind: the SMSC may have taken it before the drop, so that part may
 * arrive twice (at-least-once; nothing acknowledged is sent again).
 *
 * When every part is acknowledged the message is "sent" with the first
 * part's message_id as its channel id; the other parts' ids point to it
 * (r:<id>, written as soon as both are known) so that their receipts
 * find the message (in.c).
 */
#include <stdio.h>
#include <string.h>

#include <smpp34.h>

#include "sms_int.h"

#define SMS_PROGRESS_TTL_MS (3LL * 86400 * 1000)
#define SMS_RECEIPT_TTL_MS (7LL * 86400 * 1000)
#define SMS_RETRY_MAX_MS 60000

static void sms_pump_in(struct sms_state *st, long long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	if (!evtimer_pending(st->pump, NULL))
		evtimer_add(st->pump, &tv);
}

static void sms_msg_unlink(struct sms_state *st, struct sms_msg *m)
{
	struct sms_msg **pp = &st->head, *prev = NULL;
	while (*pp && *pp != m) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (!*pp)
		return;
	*pp = m->next;
	if (st->tail == m)
		st->tail = prev;
}

static void sms_msg_free(struct sms_msg *m)
{
	free(m->message);
	free(m->parts);
	free(m);
}

/* The outcome is reported: out of the queue; parts still on the wire
 * give their window room back (their answers will find nothing). */
static void sms_msg_done(struct sms_state *st, struct sms_msg *m)
{
	for (size_t i = 0; i < m->nparts; i++)
		if (m->parts[i].state == SMS_PART_INFLIGHT && m->parts[i].link->inflight)
			m->parts[i].link->inflight--;
	sms_msg_unlink(st, m);
	sms_msg_free(m);
}

static void sms_msg_failed(struct sms_state *st, struct sms_msg *m, const char *why)
{
	st->n_failed++;
	st->api->log(st->host, OMR_LOG_WARN, "message %s failed: %s", m->message, why);
	st->api->send_result(st->host, m->message, "failed", NULL, why);
	sms_msg_done(st, m);
}

static void sms_msg_sent(struct sms_state *st, struct sms_msg *m)
{
	const char *id = m->parts[0].id;
	st->n_sent++;
	st->api->send_result(st->host, m->message, "sent", *id ? id : NULL, NULL);
	sms_msg_done(st, m);
}

/* r:<id of a later part> = the first part's id (the message's channel
 * id), as soon as both are known, so that its receipts find the message */
static void sms_receipt_links(struct sms_state *st, const struct sms_msg *m, size_t i)
{
	const char *first = m->parts[0].id;
	if (m->parts[0].state != SMS_PART_ACKED || !*first)
		return;
	for (size_t j = i ? i : 1; j < (i ? i + 1 : m->nparts); j++) {
		char key[80];
		const char *id = m->parts[j].id;
		snprintf(key, sizeof(key), "r:%s", id);
		if (m->parts[j].state == SMS_PART_ACKED && *id && strcmp(id, first) != 0)
			st->api->kv_set(st->host, key, first, strlen(first), SMS_RECEIPT_TTL_MS, NULL,
					NULL);
	}
}

/* p:<message> = ["id of part 1", null, ...]: the parts acknowledged */
static void sms_progress_save(struct sms_state *st, const struct sms_msg *m)
{
	char key[220];
	json_t *a = json_array();
	for (size_t i = 0; i < m->nparts; i++)
		json_array_append_new(a, m->parts[i].state == SMS_PART_ACKED
						 ? json_string(m->parts[i].id)
						 : json_null());
	char *v = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	snprintf(key, sizeof(key), "p:%s", m->message);
	if (v)
		st->api->kv_set(st->host, key, v, strlen(v), SMS_PROGRESS_TTL_MS, NULL, NULL);
	free(v);
}

struct sms_load {
	struct sms_state *st;
	struct sms_msg *m;
};

static void sms_progress_loaded(void *arg, int status, const char *value, size_t len)
{
	struct sms_load *ld = arg;
	struct sms_state *st = ld->st;
	struct sms_msg *m = ld->m;
	json_t *a = status == OMR_OK && value ? json_loadb(value, len, 0, NULL) : NULL;
	free(ld);
	m->loading = NULL;
	if (json_is_array(a) && json_array_size(a) == m->nparts) {
		for (size_t i = 0; i < m->nparts; i++) {
			const char *id = json_string_value(json_array_get(a, i));
			if (!id || strlen(id) >= sizeof(m->parts[i].id))
				continue;
			snprintf(m->parts[i].id, sizeof(m->parts[i].id), "%s", id);
			m->parts[i].state = SMS_PART_ACKED;
			m->acked++;
		}
		if (m->acked)
			st->api->log(st->host, OMR_LOG_INFO,
				     "message %s: %zu of %zu parts were acknowledged before; not sent again",
				     m->message, m->acked, m->nparts);
	}
	json_decref(a);
	if (m->acked == m->nparts)
		sms_msg_sent(st, m);
	else
		sms_out_pump(st);
}

int sms_out_send(struct sms_state *st, const struct omr_outbound *out)
{
	char e164[20], key[220], why[200];
	const char *err = NULL;
	struct sms_split sp;
	uint32_t h = 2166136261u;
	if (strcmp(out->kind, "message") != 0)
		return OMR_OK; /* queue positions are not texted */
	if (sms_e164(out->address, 0, st->cfg->country_code, e164, sizeof(e164)) != OMR_OK) {
		snprintf(why, sizeof(why), "%.40s is not a phone number", out->address);
		st->api->send_result(st->host, out->message, "failed", NULL, why);
		return OMR_OK;
	}
	for (const char *c = out->message; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u; /* FNV-1a: the same reference on a resend */
	if (sms_split_text(out->text ? out->text : "", (uint8_t)(h ^ h >> 8 ^ h >> 16), &sp,
			   &err) != OMR_OK) {
		st->api->send_result(st->host, out->message, "failed", NULL, err);
		return OMR_OK;
	}
	struct sms_msg *m = omr_plugin_calloc(1, sizeof(*m));
	m->message = omr_plugin_strdup(out->message);
	snprintf(m->dest, sizeof(m->dest), "%s", e164 + 1);
	m->dcs = sp.dcs;
	m->nparts = sp.nparts;
	m->parts = omr_plugin_calloc(sp.nparts, sizeof(*m->parts));
	for (size_t i = 0; i < sp.nparts; i++)
		m->parts[i].pd = sp.parts[i];
	sms_split_free(&sp);
	if (st->tail)
		st->tail->next = m;
	else
		st->head = m;
	st->tail = m;
	if (m->nparts > 1) {
		/* parts acknowledged by an earlier try (before a restart) */
		struct sms_load *ld = omr_plugin_calloc(1, sizeof(*ld));
		ld->st = st;
		ld->m = m;
		m->loading = ld;
		snprintf(key, sizeof(key), "p:%s", m->message);
		if (st->api->kv_get(st->host, key, sms_progress_loaded, ld) != OMR_OK) {
			free(ld);
			m->loading = NULL;
		}
	}
	sms_out_pump(st);
	return OMR_OK;
}

static int sms_part_submit(struct sms_state *st, struct sms_link *l, struct sms_msg *m, size_t i)
{
	struct sms_part *p = &m->parts[i];
	uint8_t buf[SMS_PDU_MAX];
	struct sms_submit_args a = {
		.source = st->src,
		.source_ton = st->src_ton,
		.source_npi = st->src_npi,
		.dest = m->dest,
		.esm_class = m->nparts > 1 ? SMPP34_UDHI_IND : 0,
		.dcs = m->dcs,
		.registered_delivery = st->cfg->receipts ? SMPP34_DELIVERY_RECEIPT_ON : 0,
		.data = p->pd.data,
		.len = p->pd.len,
	};
	p->seq = sms_link_next_seq(l);
	int n = sms_pdu_submit(buf, p->seq, &a);
	if (n < 0)
		return OMR_ERROR;
	if (sms_link_write(l, buf, (size_t)n) != OMR_OK)
		return OMR_AGAIN;
	p->state = SMS_PART_INFLIGHT;
	p->link = l;
	p->sent_ms = sms_now_ms();
	l->inflight++;
	st->n_submitted++;
	return OMR_OK;
}

/* the token bucket: `rate` a second, as many at once */
static int sms_rate_take(struct sms_state *st, long long now, long long *wait_ms)
{
	double rate = (double)st->cfg->rate;
	st->tokens += (double)(now - st->tokens_ms) * rate / 1000.0;
	st->tokens_ms = now;
	if (st->tokens > rate)
		st->tokens = rate;
	if (st->tokens < 1.0) {
		*wait_ms = (long long)((1.0 - st->tokens) * 1000.0 / rate) + 1;
		return 0;
	}
	st->tokens -= 1.0;
	return 1;
}

void sms_out_pump(struct sms_state *st)
{
	struct sms_link *l = sms_link_tx(st);
	long long now = sms_now_ms(), wake = 0, wait;
	struct sms_msg *m, *next;
	if (!l || st->stopping)
		return;
	if (now < st->throttled_until_ms) {
		sms_pump_in(st, st->throttled_until_ms - now);
		return;
	}
	for (m = st->head; m; m = next) {
		next = m->next;
		for (size_t i = 0; !m->loading && i < m->nparts; i++) {
			struct sms_part *p = &m->parts[i];
			if (p->state != SMS_PART_WAIT)
				continue;
			if (l->inflight >= (unsigned)st->cfg->window)
				return; /* an answer pumps again */
			if (p->not_before_ms > now) {
				if (!wake || p->not_before_ms - now < wake)
					wake = p->not_before_ms - now;
				continue;
			}
			if (!sms_rate_take(st, now, &wait)) {
				sms_pump_in(st, wait);
				return;
			}
			int rc = sms_part_submit(st, l, m, i);
			if (rc == OMR_AGAIN)
				return; /* the link is going: its drop requeues */
			if (rc != OMR_OK) {
				sms_msg_failed(st, m, "a part could not be packed as a submit_sm");
				break;
			}
		}
	}
	if (wake)
		sms_pump_in(st, wake);
}

static void sms_part_retry(struct sms_state *st, struct sms_msg *m, size_t i, uint32_t status)
{
	struct sms_part *p = &m->parts[i];
	long long delay = st->cfg->retry_delay;
	char why[200];
	p->tries++;
	if (p->tries >= st->cfg->send_attempts) {
		snprintf(why, sizeof(why), "the SMSC answered part %zu of %zu with %s (0x%08x) %d times",
			 i + 1, m->nparts, sms_status_name(status), status, p->tries);
		sms_msg_failed(st, m, why);
		return;
	}
	for (int k = 1; k < p->tries && delay < SMS_RETRY_MAX_MS; k++)
		delay *= 2;
	if (delay > SMS_RETRY_MAX_MS)
		delay = SMS_RETRY_MAX_MS;
	p->state = SMS_PART_WAIT;
	p->not_before_ms = sms_now_ms() + delay;
	if (status == ESME_RTHROTTLED) {
		st->n_throttled++;
		st->throttled_until_ms = p->not_before_ms;
	}
	st->api->log(st->host, OMR_LOG_INFO, "message %s part %zu/%zu: %s, again in %lld ms",
		     m->message, i + 1, m->nparts, sms_status_name(status), delay);
}

void sms_out_resp(struct sms_state *st, struct sms_link *l, const struct sms_pdu *pdu)
{
	char why[200];
	for (struct sms_msg *m = st->head; m; m = m->next) {
		for (size_t i = 0; i < m->nparts; i++) {
			struct sms_part *p = &m->parts[i];
			if (p->state != SMS_PART_INFLIGHT || p->link != l || p->seq != pdu->seq)
				continue;
			if (l->inflight)
				l->inflight--;
			if (pdu->command_id == SUBMIT_SM_RESP && pdu->status == ESME_ROK) {
				p->state = SMS_PART_ACKED;
				snprintf(p->id, sizeof(p->id), "%s", pdu->message_id);
				m->acked++;
				sms_receipt_links(st, m, i);
				if (m->acked == m->nparts)
					sms_msg_sent(st, m);
				else
					sms_progress_save(st, m);
			} else if (sms_status_temporary(pdu->status) ||
				   pdu->command_id == GENERIC_NACK) {
				sms_part_retry(st, m, i, pdu->status);
			} else {
				snprintf(why, sizeof(why), "the SMSC refused part %zu of %zu: %s (0x%08x)",
					 i + 1, m->nparts, sms_status_name(pdu->status), pdu->status);
				sms_msg_failed(st, m, why);
			}
			sms_out_pump(st);
			return;
		}
	}
	/* the answer to a part of a message that failed meanwhile: nothing */
}

void sms_out_link_lost(struct sms_state *st, struct sms_link *l)
{
	unsigned n = 0;
	for (struct sms_msg *m = st->head; m; m = m->next)
		for (size_t i = 0; i < m->nparts; i++)
			if (m->parts[i].state == SMS_PART_INFLIGHT && m->parts[i].link == l) {
				m->parts[i].state = SMS_PART_WAIT;
				m->parts[i].link = NULL;
				n++;
			}
	l->inflight = 0;
	st->n_resent += n;
	if (n)
		st->api->log(st->host, OMR_LOG_WARN,
			     "%u submits had no answer when the link dropped: sent again on the next bind "
			     "(the SMSC may have taken them; they may arrive twice)", n);
}

long long sms_out_oldest_ms(const struct sms_state *st, const struct sms_link *l)
{
	long long oldest = 0;
	for (const struct sms_msg *m = st->head; m; m = m->next)
		for (size_t i = 0; i < m->nparts; i++)
			if (m->parts[i].state == SMS_PART_INFLIGHT && m->parts[i].link == l &&
			    (!oldest || m->parts[i].sent_ms < oldest))
				oldest = m->parts[i].sent_ms;
	return oldest;
}

void sms_out_free(struct sms_state *st)
{
	struct sms_msg *m, *next;
	/* unsent messages stay in the daemon's outbox: sent again after a
	 * restart (acknowledged parts are skipped by their progress) */
	for (m = st->head; m; m = next) {
		next = m->next;
		free(m->loading); /* its callback is dropped by the host */
		sms_msg_free(m);
	}
	st->head = st->tail = NULL;
}
