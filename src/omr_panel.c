/*
 * omr_panel: the customer panel's summary, from what a view read (see
 * omr_panel.h). The rules are the ones view.lib applied:
 *
 * - trend: the sum of the last 5 changes of the balance: up, down or steady;
 * - standing: 'at risk' below engagement.low, 'slipping' when going down,
 *   'new' without any change, else 'good';
 * - reasons: the last 3 distinct contact reasons of the earlier
 *   conversations' wrap-ups, newest first;
 * - promises: a follow_up outcome that no later conversation with the same
 *   reason ended otherwise, newest first.
 */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "omr_jscan.h"
#include "omr_panel.h"
#include "omr_util.h"

#define OMR_PANEL_REASONS 3

/* text as Lua's tonumber reads it; 0 when it is no number */
static double omr_panel_text_num(const char *s)
{
	char *end;
	double d = s ? strtod(s, &end) : 0;
	if (!s || end == s)
		return 0;
	while (isspace((unsigned char)*end))
		end++;
	return *end ? 0 : d;
}

/* a number, or text that is one; else 0 */
static double omr_panel_num(const json_t *v)
{
	if (json_is_number(v))
		return json_number_value(v);
	return json_is_string(v) ? omr_panel_text_num(json_string_value(v)) : 0;
}

static int omr_panel_is_text(const redisReply *e)
{
	return e && e->type == REDIS_REPLY_STRING;
}

static size_t omr_panel_len(const redisReply *list)
{
	return list && list->type == REDIS_REPLY_ARRAY ? list->elements : 0;
}

/*
 * What the panel reads of the JSON texts (the wrap-ups' reason, outcome and
 * agent, the changes' points) it reads with omr_jscan: the members it
 * needs, without building the JSON; what that reading does not take for
 * plain is left to jansson. On what jansson reads, both give the same
 * (fuzz_panel checks it against omr_panel_reference). A view holds up to 20
 * earlier conversations: decoded by jansson, their wrap-ups cost the daemon
 * more than the panel had cost Redis.
 */

/* the sum of the changes' points; *n: how many there are */
static double omr_panel_sum(const redisReply *changes, size_t *n, int slow)
{
	static const char *const keys[] = { "points", NULL };
	double sum = 0;
	*n = omr_panel_len(changes);
	for (size_t i = 0; i < *n; i++) {
		const redisReply *e = changes->element[i];
		json_t *points[1];
		if (!omr_panel_is_text(e))
			continue;
		if (!slow && omr_jscan_get(e->str, e->str + e->len, keys, points)) {
			sum += omr_panel_num(points[0]);
			json_decref(points[0]);
			continue;
		}
		json_t *d = json_loadb(e->str, e->len, 0, NULL);
		sum += omr_panel_num(json_object_get(d, "points"));
		json_decref(d);
	}
	return sum;
}

/* of an earlier conversation's wrap-up, what the panel reads; reason set:
 * one with a contact reason */
struct omr_panel_wrap {
	json_t *reason, *outcome, *agent;
};

static void omr_panel_wrap_clear(struct omr_panel_wrap *w)
{
	json_decref(w->reason);
	json_decref(w->outcome);
	json_decref(w->agent);
	*w = (struct omr_panel_wrap){ NULL, NULL, NULL };
}

/* from a decoded wrap-up (any JSON value) */
static void omr_panel_wrap_of(json_t *v, struct omr_panel_wrap *w)
{
	if (json_is_object(v) && json_is_string(json_object_get(v, "reason"))) {
		w->reason = json_incref(json_object_get(v, "reason"));
		w->outcome = json_incref(json_object_get(v, "outcome"));
		w->agent = json_incref(json_object_get(v, "agent"));
	}
}

/* the wrap-up [p, end) read quickly: 0 when it must be decoded */
static int omr_panel_wrap_scan(const char *p, const char *end, struct omr_panel_wrap *w)
{
	static const char *const keys[] = { "reason", "outcome", "agent", NULL };
	json_t *v[3];

	p = omr_jscan_ws(p, end);
	if (p < end && *p != '{') {
		/* not an object: no wrap-up of the panel's, if it is JSON */
		const char *e = omr_jscan_value_end(p, end);
		return e && omr_jscan_ws(e, end) == end;
	}
	if (!omr_jscan_get(p, end, keys, v))
		return 0;
	*w = (struct omr_panel_wrap){ v[0], v[1], v[2] };
	if (!json_is_string(w->reason))
		omr_panel_wrap_clear(w);
	return 1;
}

/*
 * An earlier conversation's wrap-up, into *w (its reason NULL: none with a
 * contact reason). The wrap-up is the entry's last member (view.lib appends
 * it as stored, after the rest, none of which is named wrapup), and only it
 * is read; the whole entry only when it is elsewhere (kept in cust:{c}:past
 * by an older version, which encoded it with the rest).
 */
static void omr_panel_wrapup(const redisReply *e, struct omr_panel_wrap *w, int slow)
{
	static const char mark[] = ",\"wrapup\":";
	const size_t mlen = sizeof(mark) - 1;
	json_t *v = NULL;

	*w = (struct omr_panel_wrap){ NULL, NULL, NULL };
	if (!omr_panel_is_text(e))
		return;
	const char *at = e->len > mlen ? memmem(e->str, e->len, mark, mlen) : NULL;
	if (at) {
		size_t from = (size_t)(at - e->str) + mlen;
		if (e->len > from + 1) {
			if (!slow && omr_panel_wrap_scan(at + mlen, e->str + e->len - 1, w))
				return;
			v = json_loadb(at + mlen, e->len - from - 1, JSON_DECODE_ANY, NULL);
		}
	}
	if (!v && memmem(e->str, e->len, "\"wrapup\"", 8)) {
		json_t *p = json_loadb(e->str, e->len, 0, NULL);
		v = json_incref(json_object_get(p, "wrapup"));
		json_decref(p);
	}
	omr_panel_wrap_of(v, w);
	json_decref(v);
}

static int omr_panel_by_at(const void *a, const void *b)
{
	double x = omr_panel_num(json_object_get(*(json_t *const *)a, "at"));
	double y = omr_panel_num(json_object_get(*(json_t *const *)b, "at"));
	return x > y ? -1 : x < y;
}

/* a promise of the earlier conversation e, its wrap-up w; NULL when e is no JSON */
static json_t *omr_panel_promise(const redisReply *e, const struct omr_panel_wrap *w)
{
	json_t *p = json_loadb(e->str, e->len, JSON_DECODE_ANY, NULL);
	if (!json_is_object(p) && !json_is_array(p)) {
		json_decref(p);
		return NULL;
	}
	json_t *out = json_object();
	json_t *at = json_object_get(p, "closed_at");
	if (!at || json_is_false(at))
		at = json_object_get(p, "created_at");
	if (json_object_get(p, "id"))
		json_object_set(out, "conversation", json_object_get(p, "id"));
	json_object_set(out, "reason", w->reason);
	if (at)
		json_object_set(out, "at", at);
	if (json_is_string(w->agent))
		json_object_set(out, "agent", w->agent);
	json_decref(p);
	return out;
}

/* the open promises, oldest first followed: newest first */
static json_t *omr_panel_promises(const redisReply *earlier, const struct omr_panel_wrap *wraps,
				  size_t n)
{
	json_t *open = json_object();
	for (size_t i = n; i-- > 0;) {
		const struct omr_panel_wrap *w = &wraps[i];
		if (!w->reason)
			continue;
		const char *reason = json_string_value(w->reason);
		const char *outcome = json_string_value(w->outcome);
		if (outcome && strcmp(outcome, "follow_up") == 0) {
			json_t *p = omr_panel_promise(earlier->element[i], w);
			if (p)
				json_object_set_new(open, reason, p);
		} else {
			json_object_del(open, reason);
		}
	}
	size_t k = 0, np = json_object_size(open);
	json_t **list = omr_calloc(np ? np : 1, sizeof(*list));
	const char *key;
	json_t *v;
	json_object_foreach(open, key, v)
		list[k++] = v;
	qsort(list, np, sizeof(*list), omr_panel_by_at);
	json_t *out = json_array();
	for (k = 0; k < np; k++)
		json_array_append(out, list[k]);
	free(list);
	json_decref(open);
	return out;
}

static json_t *omr_panel_reasons(const struct omr_panel_wrap *wraps, size_t n)
{
	json_t *out = json_array();
	for (size_t i = 0; i < n && json_array_size(out) < OMR_PANEL_REASONS; i++) {
		json_t *r = wraps[i].reason;
		if (!r)
			continue;
		size_t j;
		json_t *seen;
		json_array_foreach(out, j, seen)
			if (json_equal(seen, r))
				break;
		if (j == json_array_size(out))
			json_array_append(out, r);
	}
	return out;
}

static json_t *omr_panel_make(const char *balance, const redisReply *changes,
			      const redisReply *earlier, long long low, int slow)
{
	size_t nchanges, n = omr_panel_len(earlier);
	double sum = omr_panel_sum(changes, &nchanges, slow);
	const char *trend = sum > 0 ? "up" : sum < 0 ? "down" : "steady";
	const char *word = "good";

	if (omr_panel_text_num(balance) < (double)low)
		word = "at risk";
	else if (sum < 0)
		word = "slipping";
	else if (nchanges == 0)
		word = "new";

	struct omr_panel_wrap *wraps = omr_calloc(n ? n : 1, sizeof(*wraps));
	for (size_t i = 0; i < n; i++)
		omr_panel_wrapup(earlier->element[i], &wraps[i], slow);
	json_t *out = json_pack("{s:s,s:s,s:o,s:o}", "trend", trend, "standing", word,
				"reasons", omr_panel_reasons(wraps, n),
				"promises", omr_panel_promises(earlier, wraps, n));
	for (size_t i = 0; i < n; i++)
		omr_panel_wrap_clear(&wraps[i]);
	free(wraps);
	return out;
}

json_t *omr_panel_new(const char *balance, const redisReply *changes,
		      const redisReply *earlier, long long low)
{
	return omr_panel_make(balance, changes, earlier, low, 0);
}

json_t *omr_panel_reference(const char *balance, const redisReply *changes,
			    const redisReply *earlier, long long low)
{
	return omr_panel_make(balance, changes, earlier, low, 1);
}
