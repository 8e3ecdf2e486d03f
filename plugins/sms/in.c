/*
 * in: deliver_sm from the SMSC, customers' messages (MO) and delivery
 * receipts.
 *
 * MO: the number becomes the customer's address in E.164 (sms_e164 with
 * the configured country code); the text is decoded to UTF-8 (GSM 03.38,
 * UCS-2, Latin-1, IA5). Parts of a concatenated message (UDH IEI 0 or 8,
 * or the sar_* TLVs) wait for each other; their deliver_sm_resp is held
 * until the whole message is stored in Redis, so that the SMSC delivers
 * again what we could not keep (ESME_RX_T_APPN when Redis is away). A
 * message whose parts do not all come within reassembly_timeout is stored
 * with what came, a marked gap where a part is missing. An answer held
 * for a connection that has dropped is not sent: the SMSC delivers those
 * parts again (at-least-once: a message stored just before a drop may be
 * stored a second time).
 *
 * Receipts (esm_class "SMSC delivery receipt", or a receipted_message_id
 * TLV): the message_id (TLV first, else the "id:" of the text) names the
 * part; r:<id> (out.c) leads from a later part to the message's channel
 * id; stat / message_state become "delivered" or "failed".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <smpp34.h>

#include "sms_int.h"

#define SMS_MO_PENDING_MAX 512

struct sms_held {
	struct sms_link *link;  /* borrowed (the state's) */
	uint64_t generation;
	uint32_t seq;
};

/* deliver_sm being handled: the answers it holds until then */
struct sms_wait {
	struct omr_dlink link;  /* in st->waits */
	struct sms_state *st;
	struct sms_held *held;  /* owned */
	size_t nheld;
	char id[66];            /* receipts: the part's message_id */
	const char *status;     /* receipts: static */
	char why[64];
};

static struct sms_wait *sms_wait_new(struct sms_state *st, size_t nheld)
{
	struct sms_wait *w = omr_plugin_calloc(1, sizeof(*w));
	w->st = st;
	w->held = omr_plugin_calloc(nheld, sizeof(*w->held));
	w->nheld = nheld;
	omr_dlist_push_head(&st->waits, &w->link);
	return w;
}

static void sms_answer(const struct sms_held *h, uint32_t status)
{
	uint8_t b[SMS_HEADER + 1];
	if (!h->link || h->link->state != SMS_BOUND || h->link->generation != h->generation)
		return; /* that connection is gone: the SMSC delivers it again */
	sms_pdu_deliver_resp(b, status, h->seq);
	sms_link_write(h->link, b, sizeof(b));
}

/* answer everything held, unlink and free */
static void sms_wait_done(struct sms_wait *w, uint32_t status)
{
	struct sms_state *st = w->st;
	for (size_t i = 0; i < w->nheld; i++)
		sms_answer(&w->held[i], status);
	omr_dlist_remove(&st->waits, &w->link);
	free(w->held);
	free(w);
}

static void sms_held_now(struct sms_link *l, uint32_t seq, uint32_t status)
{
	struct sms_held h = { l, l->generation, seq };
	sms_answer(&h, status);
}

/* ---- receipts ---- */

static void sms_receipt_found(void *arg, int status, const char *value, size_t len)
{
	struct sms_wait *w = arg;
	struct sms_state *st = w->st;
	char target[80];
	if (status == OMR_OK && value && len && len < sizeof(target)) {
		memcpy(target, value, len);
		target[len] = 0;
	} else {
		snprintf(target, sizeof(target), "%s", w->id); /* a first (or only) part */
	}
	st->api->delivery_status(st->host, target, w->status, w->why[0] ? w->why : NULL);
	sms_wait_done(w, ESME_ROK);
}

static void sms_receipt(struct sms_state *st, struct sms_link *l, const struct sms_pdu *p)
{
	struct sms_receipt r;
	const char *id = p->receipted_id[0] ? p->receipted_id : NULL;
	int parsed = sms_receipt_parse((const char *)p->data, p->data_len, &r) == OMR_OK;
	char key[80];
	if (!id && parsed)
		id = r.id;
	const char *status = sms_receipt_status(parsed ? r.stat : NULL, p->message_state);
	st->n_receipts++;
	if (!id) {
		st->n_malformed++;
		st->api->log(st->host, OMR_LOG_WARN, "a delivery receipt without a message id: ignored");
		sms_held_now(l, p->seq, ESME_ROK);
		return;
	}
	if (!status) { /* ENROUTE, ACCEPTD, UNKNOWN: says nothing yet */
		sms_held_now(l, p->seq, ESME_ROK);
		return;
	}
	struct sms_wait *w = sms_wait_new(st, 1);
	w->held[0] = (struct sms_held){ l, l->generation, p->seq };
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->status = status;
	if (strcmp(status, "failed") == 0 && parsed && r.stat[0])
		snprintf(w->why, sizeof(w->why), "SMSC receipt: stat:%s err:%s", r.stat,
			 r.err[0] ? r.err : "-");
	else if (strcmp(status, "failed") == 0)
		snprintf(w->why, sizeof(w->why), "SMSC receipt: message_state %d", p->message_state);
	snprintf(key, sizeof(key), "r:%s", id);
	if (st->api->kv_get(st->host, key, sms_receipt_found, w) != OMR_OK)
		sms_receipt_found(w, OMR_ERROR, NULL, 0);
}

/* ---- MO messages ---- */

static void sms_mo_stored(void *arg, const struct omr_submit_result *res)
{
	struct sms_wait *w = arg;
	struct sms_state *st = w->st;
	uint32_t status = ESME_ROK;
	if (res->status == OMR_AGAIN) {
		status = ESME_RX_T_APPN; /* the SMSC delivers it again later */
		st->api->log(st->host, OMR_LOG_WARN, "a message could not be stored now (%s): the SMSC "
			     "is asked to deliver it again", res->error ? res->error : "?");
	} else if (res->status != OMR_OK) {
		status = ESME_RX_P_APPN;
		st->api->log(st->host, OMR_LOG_ERROR, "a message was refused: %s",
			     res->error ? res->error : "?");
	}
	sms_wait_done(w, status);
}

static void sms_mo_submit(struct sms_state *st, struct sms_wait *w, const char *address,
			  const char *dest, const char *text, unsigned parts, unsigned missing)
{
	char id[96];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!st->started_ms)
		st->started_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	/* SMPP gives an MO no id of its own: unique per message we take */
	snprintf(id, sizeof(id), "mo:%s:%llx.%llu", address, (unsigned long long)st->started_ms,
		 ++st->mo_counter);
	json_t *meta = json_pack("{s:s,s:i}", "sms_to", dest, "parts", (int)parts);
	if (missing)
		json_object_set_new(meta, "parts_missing", json_integer(missing));
	struct omr_inbound ev = {
		.channel_msg_id = id,
		.address = address,
		.text = text,
		.meta = meta,
	};
	st->n_mo++;
	if (st->api->submit(st->host, &ev, sms_mo_stored, w) != OMR_OK) {
		struct omr_submit_result res = { .status = OMR_AGAIN, .error = "not taken" };
		sms_mo_stored(w, &res);
	}
	json_decref(meta);
}

static void sms_address(struct sms_state *st, const struct sms_mo *mo, char *out, size_t len)
{
	if (sms_e164(mo->source, mo->source_ton, st->cfg->country_code, out, len) != OMR_OK)
		snprintf(out, len, "%s", mo->source); /* an alphanumeric sender: as it is */
}

static void sms_mo_unlink(struct sms_state *st, struct sms_mo *mo)
{
	struct sms_mo **pp = &st->mo;
	while (*pp && *pp != mo)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = mo->next;
		st->nmo--;
	}
}

static void sms_mo_free(struct sms_mo *mo)
{
	free(mo->parts);
	free(mo);
}

/* all parts came (or the time is up): one message */
static void sms_mo_complete(struct sms_state *st, struct sms_mo *mo)
{
	char address[64];
	size_t total = 0, n = 0;
	unsigned missing = mo->total - mo->have;
	char *text;
	struct sms_wait *w = sms_wait_new(st, mo->have);
	sms_mo_unlink(st, mo);
	for (unsigned i = 0; i < mo->total; i++)
		if (mo->parts[i].present) {
			w->held[n++] = (struct sms_held){ mo->parts[i].link, mo->parts[i].generation,
							  mo->parts[i].seq };
			total += mo->parts[i].len;
		}
	if (!missing) {
		uint8_t *all = omr_plugin_calloc(total + 1, 1);
		for (unsigned i = 0, at = 0; i < mo->total; i++) {
			memcpy(all + at, mo->parts[i].data, mo->parts[i].len);
			at += (unsigned)mo->parts[i].len;
		}
		text = sms_decode(mo->dcs, all, total);
		free(all);
	} else {
		/* each part on its own, a gap marked where one is missing */
		size_t cap = total * 4 + mo->total * 8 + 1, at = 0;
		text = omr_plugin_calloc(cap, 1);
		for (unsigned i = 0; i < mo->total; i++) {
			char *t = mo->parts[i].present
					  ? sms_decode(mo->dcs, mo->parts[i].data, mo->parts[i].len)
					  : NULL;
			at += (size_t)snprintf(text + at, cap - at, "%s", t ? t : "[\xE2\x80\xA6]");
			free(t);
		}
		st->api->log(st->host, OMR_LOG_WARN, "a message of %u parts is stored with %u missing",
			     mo->total, missing);
	}
	sms_address(st, mo, address, sizeof(address));
	sms_mo_submit(st, w, address, mo->dest, text, mo->total, missing);
	free(text);
	sms_mo_free(mo);
}

static void sms_mo_part(struct sms_state *st, struct sms_link *l, const struct sms_pdu *p,
			const struct sms_concat *c, const uint8_t *d, size_t n)
{
	struct sms_mo *mo;
	for (mo = st->mo; mo; mo = mo->next)
		if (mo->ref == c->ref && mo->total == c->total && strcmp(mo->source, p->source) == 0)
			break;
	if (!mo) {
		if (st->nmo >= SMS_MO_PENDING_MAX) {
			st->api->log(st->host, OMR_LOG_WARN, "too many messages in parts at once: the SMSC "
				     "is asked to deliver this part again");
			sms_held_now(l, p->seq, ESME_RX_T_APPN);
			return;
		}
		mo = omr_plugin_calloc(1, sizeof(*mo));
		snprintf(mo->source, sizeof(mo->source), "%s", p->source);
		snprintf(mo->dest, sizeof(mo->dest), "%s", p->dest);
		mo->source_ton = p->source_ton;
		mo->dcs = p->dcs;
		mo->ref = c->ref;
		mo->total = c->total;
		mo->first_ms = sms_now_ms();
		mo->parts = omr_plugin_calloc(c->total, sizeof(*mo->parts));
		mo->next = st->mo;
		st->mo = mo;
		st->nmo++;
	}
	struct sms_mo_part *mp = &mo->parts[c->seq - 1];
	if (mp->present) /* delivered again: answer the older copy, keep the new one */
		sms_answer(&(struct sms_held){ mp->link, mp->generation, mp->seq }, ESME_ROK);
	else
		mo->have++;
	mp->present = 1;
	memcpy(mp->data, d, n);
	mp->len = n;
	mp->link = l;
	mp->generation = l->generation;
	mp->seq = p->seq;
	if (mo->have == mo->total)
		sms_mo_complete(st, mo);
	else if (!evtimer_pending(st->mo_timer, NULL))
		evtimer_add(st->mo_timer, &(struct timeval){ .tv_sec = 1 });
}

static void sms_mo(struct sms_state *st, struct sms_link *l, const struct sms_pdu *p)
{
	const uint8_t *d = p->data;
	size_t n = p->data_len;
	struct sms_concat c = p->sar;
	if (p->esm_class & SMPP34_UDHI_IND) {
		struct sms_concat u;
		size_t h = sms_udh_parse(d, n, &u);
		if (!h) {
			st->n_malformed++;
			st->api->log(st->host, OMR_LOG_WARN, "a message with a malformed user data "
				     "header (%zu octets): refused", n);
			sms_held_now(l, p->seq, ESME_RX_P_APPN);
			return;
		}
		d += h;
		n -= h;
		if (u.total)
			c = u;
	}
	if (!p->source[0]) {
		st->n_malformed++;
		st->api->log(st->host, OMR_LOG_WARN, "a message without a sender: refused");
		sms_held_now(l, p->seq, ESME_RX_P_APPN);
		return;
	}
	if (c.total > 1) {
		sms_mo_part(st, l, p, &c, d, n);
		return;
	}
	struct sms_mo one = { .source_ton = p->source_ton };
	char address[64];
	snprintf(one.source, sizeof(one.source), "%s", p->source);
	sms_address(st, &one, address, sizeof(address));
	char *text = sms_decode(p->dcs, d, n);
	struct sms_wait *w = sms_wait_new(st, 1);
	w->held[0] = (struct sms_held){ l, l->generation, p->seq };
	sms_mo_submit(st, w, address, p->dest, text, 1, 0);
	free(text);
}

void sms_in_deliver(struct sms_state *st, struct sms_link *l, const struct sms_pdu *p)
{
	uint8_t type = p->esm_class & 0x3C;
	if (type == SMPP34_DELIVERY_RECEIPT || type == SMPP34_DELIVERY_ACK || p->receipted_id[0])
		sms_receipt(st, l, p);
	else
		sms_mo(st, l, p);
}

/* every second while parts wait: the ones whose time is up */
void sms_in_expire(struct sms_state *st)
{
	long long now = sms_now_ms();
	struct sms_mo *mo, *next;
	for (mo = st->mo; mo; mo = next) {
		next = mo->next;
		if (now - mo->first_ms >= st->cfg->reassembly_timeout)
			sms_mo_complete(st, mo);
	}
	if (st->mo)
		evtimer_add(st->mo_timer, &(struct timeval){ .tv_sec = 1 });
}

void sms_in_free(struct sms_state *st)
{
	struct sms_mo *mo, *next;
	for (mo = st->mo; mo; mo = next) {
		next = mo->next;
		sms_mo_free(mo); /* never answered: the SMSC delivers them again */
	}
	st->mo = NULL;
	st->nmo = 0;
	while (st->waits.head) {
		/* their callbacks are dropped by the host */
		struct sms_wait *w = OMR_DLIST_ITEM(st->waits.head, struct sms_wait, link);
		omr_dlist_remove(&st->waits, &w->link);
		free(w->held);
		free(w);
	}
}
