/*
 * omr_audit: see omr_audit.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "omr_admission.h"
#include "omr_audit.h"
#include "omr_log.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

static void omr_audit_written(void *arg, const redisReply *reply, const char *err)
{
	char *what = arg;
	if (err || !reply || reply->type == REDIS_REPLY_ERROR)
		omr_log_warn("audit: entry not stored (%s): %s", err ? err : reply ? reply->str : "no reply",
			     what);
	free(what);
}

struct omr_gate *omr_audit_refusal_gate(const char *name)
{
	struct omr_gate_limits l = { .rate_per_ip = 1.0 / OMR_AUDIT_REFUSALS_EVERY_S,
				     .burst_per_ip = OMR_AUDIT_REFUSALS_BURST };
	return omr_gate_new(name, &l);
}

void omr_audit_write(struct omr_store *st, const char *node, const struct omr_audit_entry *e)
{
	char *key = omr_store_key(st, "audit");
	char *detail = e->detail ? json_dumps(e->detail, JSON_COMPACT) : NULL;
	char *what;
	size_t wlen;

	omr_log_info("audit: %s (%s) %s %s: %s%s%s", e->who, e->via, e->action,
		     e->target ? e->target : "-", e->result, detail ? " " : "", detail ? detail : "");
	wlen = strlen(e->who) + strlen(e->action) + 2;
	what = omr_malloc(wlen);
	snprintf(what, wlen, "%s %s", e->who, e->action);
	omr_redis_cmd(omr_store_redis(st), omr_audit_written, what,
		      "XADD %s MAXLEN ~ %d * who %s via %s action %s target %s result %s "
		      "detail %s node %s",
		      key, OMR_AUDIT_KEEP, e->who, e->via, e->action, e->target ? e->target : "",
		      e->result, detail ? detail : "{}", node);
	free(detail);
	free(key);
}

int omr_audit_id_ok(const char *s)
{
	size_t digits = 0;
	const char *p = s;
	while (isdigit((unsigned char)*p))
		p++, digits++;
	if (digits == 0 || digits > 20 || *p != '-')
		return 0;
	s = ++p;
	while (isdigit((unsigned char)*p))
		p++;
	return p > s && p - s <= 20 && *p == '\0';
}

struct omr_audit_read {
	omr_audit_cb cb;
	void *arg;
	int limit;
};

static json_t *omr_audit_entry_json(const redisReply *e)
{
	const redisReply *fields = omr_reply_elem(e, 1);
	const char *id = omr_reply_str(omr_reply_elem(e, 0));
	json_t *j;

	if (!id || !fields || fields->type != REDIS_REPLY_ARRAY)
		return NULL;
	/* when: the entry's id, Redis' clock (one clock for every node) */
	j = json_pack("{s:s,s:I}", "id", id, "at", (json_int_t)strtoll(id, NULL, 10));
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const char *k = omr_reply_str(fields->element[i]);
		const char *v = omr_reply_str(fields->element[i + 1]);
		if (!k || !v)
			continue;
		if (strcmp(k, "detail") == 0) {
			json_t *d = json_loads(v, 0, NULL);
			json_object_set_new(j, k, d ? d : json_object());
		} else if (strcmp(k, "at") == 0) {
			continue; /* entries of before: the id says it */
		} else if (strcmp(k, "target") == 0 && !*v) {
			json_object_set_new(j, k, json_null());
		} else {
			json_object_set_new(j, k, json_string(v));
		}
	}
	return j;
}

static void omr_audit_read_cb(void *arg, const redisReply *reply, const char *err)
{
	struct omr_audit_read *r = arg;
	json_t *list, *page;
	size_t n;

	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		r->cb(r->arg, NULL, err ? err : reply && reply->str ? reply->str : "bad reply");
		free(r);
		return;
	}
	list = json_array();
	n = reply->elements > (size_t)r->limit ? (size_t)r->limit : reply->elements;
	for (size_t i = 0; i < n; i++) {
		json_t *e = omr_audit_entry_json(reply->element[i]);
		if (e)
			json_array_append_new(list, e);
	}
	/* one more than asked was read: there is a next page */
	const char *next = reply->elements > (size_t)r->limit ?
				   omr_reply_str(omr_reply_elem(reply->element[n - 1], 0)) : NULL;
	page = json_pack("{s:o,s:s?}", "entries", list, "next", next);
	r->cb(r->arg, page, NULL);
	json_decref(page);
	free(r);
}

void omr_audit_read(struct omr_store *st, const char *before, int limit, omr_audit_cb cb, void *arg)
{
	struct omr_audit_read *r = omr_calloc(1, sizeof(*r));
	char *key = omr_store_key(st, "audit");
	char end[48];

	r->cb = cb;
	r->arg = arg;
	r->limit = limit;
	if (before)
		snprintf(end, sizeof(end), "(%s", before); /* exclusive (Redis 6.2+) */
	else
		snprintf(end, sizeof(end), "+");
	omr_redis_cmd(omr_store_redis(st), omr_audit_read_cb, r, "XREVRANGE %s %s - COUNT %d", key,
		      end, limit + 1);
	free(key);
}
