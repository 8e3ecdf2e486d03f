/*
 * omr_model: see omr_model.h.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "omr_model.h"
#include "omr_util.h"

enum omr_field_type { OMR_F_INT, OMR_F_BOOL, OMR_F_JSON };

struct omr_field {
	const char *name;
	enum omr_field_type type;
};

static const struct omr_field omr_customer_fields[] = {
	{ "created_at", OMR_F_INT }, { "updated_at", OMR_F_INT }, { "balance", OMR_F_INT },
	{ "last_closed_at", OMR_F_INT }, { "owner_at", OMR_F_INT }, { "restricted", OMR_F_BOOL },
	{ "restricted_at", OMR_F_INT }, { "last_contact_at", OMR_F_INT },
	{ NULL, 0 },
};

static const struct omr_field omr_conversation_fields[] = {
	{ "created_at", OMR_F_INT }, { "updated_at", OMR_F_INT },
	{ "last_message_at", OMR_F_INT }, { "last_inbound_at", OMR_F_INT },
	{ "queued_at", OMR_F_INT }, { "assigned_at", OMR_F_INT }, { "closed_at", OMR_F_INT },
	{ "msg_count", OMR_F_INT }, { "priority", OMR_F_INT }, { "public", OMR_F_BOOL },
	{ "attrs", OMR_F_JSON }, { "tags", OMR_F_JSON }, { "routing", OMR_F_JSON },
	{ "wrapup", OMR_F_JSON }, { "skills", OMR_F_JSON },
	{ "prefer_until", OMR_F_INT }, { "prefer_team_until", OMR_F_INT }, { "ended_at", OMR_F_INT }, { "first_reply_at", OMR_F_INT },
	{ "requeued_at", OMR_F_INT }, { "last_outbound_at", OMR_F_INT },
	{ "score", OMR_F_INT }, { "escalations", OMR_F_JSON }, { "dispatch", OMR_F_JSON },
	{ "esc_step", OMR_F_INT }, { "status_at", OMR_F_INT }, { "status_pos", OMR_F_INT },
	{ "bot_at", OMR_F_INT }, { "bot_turns", OMR_F_INT }, { "bot_misunderstood", OMR_F_INT },
	{ "bot_slots", OMR_F_JSON }, { "handoff_at", OMR_F_INT }, { "parked_at", OMR_F_INT },
	{ "reopened", OMR_F_INT }, { "reopened_at", OMR_F_INT }, { "previous_wrapup", OMR_F_JSON },
	{ "csat", OMR_F_INT }, { "csat_at", OMR_F_INT }, { "csat_asked_at", OMR_F_INT },
	{ "complaint", OMR_F_BOOL }, { "repeat", OMR_F_BOOL }, { "transfer", OMR_F_JSON },
	{ "callback", OMR_F_JSON },
	{ NULL, 0 },
};

static const struct omr_field omr_offer_fields[] = {
	{ "created_at", OMR_F_INT }, { "expires_at", OMR_F_INT },
	{ NULL, 0 },
};

static const struct omr_field omr_agent_fields[] = {
	{ "sessions", OMR_F_INT }, { "last_assigned_at", OMR_F_INT }, { "last_offer_at", OMR_F_INT },
	{ "missed", OMR_F_INT }, { "presence_at", OMR_F_INT }, { "left_at", OMR_F_INT },
	{ NULL, 0 },
};

static const struct omr_field omr_message_fields[] = {
	{ "created_at", OMR_F_INT }, { "sent_at", OMR_F_INT }, { "status_at", OMR_F_INT },
	{ "attachments", OMR_F_JSON }, { "meta", OMR_F_JSON },
	{ NULL, 0 },
};

static const struct omr_field *omr_model_fields(enum omr_model_kind kind)
{
	switch (kind) {
	case OMR_MODEL_CUSTOMER:
		return omr_customer_fields;
	case OMR_MODEL_CONVERSATION:
		return omr_conversation_fields;
	case OMR_MODEL_OFFER:
		return omr_offer_fields;
	case OMR_MODEL_AGENT:
		return omr_agent_fields;
	default:
		return omr_message_fields;
	}
}

static json_t *omr_model_value(const struct omr_field *fields, const char *name,
			       const redisReply *v)
{
	long long n;
	if (fields == omr_agent_fields && strncmp(name, "load:", 5) == 0)
		return json_integer(omr_parse_ll(v->str, &n) == 0 ? n : 0);
	for (const struct omr_field *f = fields; f->name; f++) {
		if (strcmp(f->name, name) != 0)
			continue;
		switch (f->type) {
		case OMR_F_INT:
			if (omr_parse_ll(v->str, &n) == 0)
				return json_integer(n);
			return json_null();
		case OMR_F_BOOL:
			return json_boolean(strcmp(v->str, "1") == 0 || strcmp(v->str, "true") == 0);
		case OMR_F_JSON: {
			json_t *j = json_loadb(v->str, v->len, JSON_DECODE_ANY, NULL);
			return j ? j : json_null();
		}
		}
	}
	/* Everything else is text; stored text is valid UTF-8 (checked at
	 * ingest), but be safe against foreign writers. */
	json_t *s = json_stringn(v->str, v->len);
	return s ? s : json_string("\xef\xbf\xbd");
}

json_t *omr_model_from_hash(enum omr_model_kind kind, const redisReply *hash)
{
	const struct omr_field *fields = omr_model_fields(kind);
	json_t *obj;

	if (!hash || hash->type != REDIS_REPLY_ARRAY || hash->elements % 2)
		return NULL;
	obj = json_object();
	for (size_t i = 0; i + 1 < hash->elements; i += 2) {
		const redisReply *k = hash->element[i], *v = hash->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		json_object_set_new(obj, k->str, omr_model_value(fields, k->str, v));
	}
	return obj;
}

char *omr_model_dumps_splice(const json_t *frame, const char *mark, const char *text)
{
	char *s = json_dumps(frame, JSON_COMPACT);
	size_t ml = strlen(mark), tl = strlen(text);
	char *at = NULL, *out;

	for (char *p = s; p && (p = strstr(p, mark)) != NULL; p += ml) {
		if (p == s || p[-1] != '"' || p[ml] != '"')
			continue;
		if (at) {
			free(s);
			return NULL;
		}
		at = p - 1;
	}
	if (!at) {
		free(s);
		return NULL;
	}
	size_t head = (size_t)(at - s), tail = strlen(at + ml + 2);
	out = omr_malloc(head + tl + tail + 1);
	memcpy(out, s, head);
	memcpy(out + head, text, tl);
	memcpy(out + head + tl, at + ml + 2, tail + 1);
	free(s);
	return out;
}

int omr_model_key_ok(const char *s, size_t max)
{
	size_t n = 0;
	if (!s || !*s)
		return 0;
	for (; *s; s++, n++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || n >= max)
			return 0;
	return 1;
}

int omr_model_id_ok(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix), n = 0;
	if (!s || strncmp(s, prefix, pl) != 0)
		return 0;
	for (s += pl; *s; s++, n++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z')) || n >= 40)
			return 0;
	return n >= 12;
}

static char *omr_json_dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
}

static int omr_check_attachments(const json_t *a, size_t max, char **err_r)
{
	size_t i;
	json_t *it;
	if (!json_is_array(a))
		return omr_err(err_r, "attachments must be a list");
	if (json_array_size(a) > max)
		return omr_err(err_r, "too many attachments (%zu, at most %zu)", json_array_size(a),
			       max);
	json_array_foreach(a, i, it) {
		if (!json_is_object(it) || !json_is_string(json_object_get(it, "type")))
			return omr_err(err_r, "attachment %zu: needs at least a 'type'", i);
	}
	return 0;
}

/* "4", " 4 ", "4\n": a rating; "4 stars", "14", "4.5": not (a person who
 * writes more is starting a conversation, not answering the question) */
static int omr_model_rating(const char *text, const json_t *attachments)
{
	const char *p = text;
	int digit = 0;
	if (!p || json_array_size(attachments) > 0)
		return 0;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p < '1' || *p > '5')
		return 0;
	digit = *p++ - '0';
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return *p ? 0 : digit;
}

int omr_inbound_normalise(const struct omr_inbound *ev, const struct omr_model_limits *lim,
			  struct omr_inbound_norm *out, char **err_r)
{
	const char *text = ev->text ? ev->text : "";
	size_t tlen = strlen(text);

	memset(out, 0, sizeof(*out));
	if (!omr_model_key_ok(ev->channel_msg_id, 256))
		return omr_err(err_r, "channel message id missing or not printable ASCII (max 256)");
	if (!omr_model_key_ok(ev->address, 320))
		return omr_err(err_r, "customer address missing or not printable ASCII (max 320)");
	if (ev->thread && !omr_model_key_ok(ev->thread, 512))
		return omr_err(err_r, "thread key not printable ASCII (max 512)");
	if (tlen > lim->text_max)
		return omr_err(err_r, "message text too long (%zu bytes, at most %zu)", tlen,
			       lim->text_max);
	if (!omr_utf8_valid(text, tlen))
		return omr_err(err_r, "message text is not valid UTF-8");
	if (ev->name && (strlen(ev->name) > 200 || !omr_utf8_valid(ev->name, strlen(ev->name))))
		return omr_err(err_r, "customer name too long or not UTF-8");
	if (ev->email && *ev->email &&
	    (strlen(ev->email) > 254 || !strchr(ev->email, '@') || !omr_model_key_ok(ev->email, 254)))
		return omr_err(err_r, "customer e-mail address is not valid");
	if (ev->attachments && omr_check_attachments(ev->attachments, lim->attachments_max, err_r) < 0)
		return -1;
	if (!tlen && (!ev->attachments || json_array_size(ev->attachments) == 0))
		return omr_err(err_r, "empty message");
	if (ev->attrs && !json_is_object(ev->attrs))
		return omr_err(err_r, "attributes must be an object");
	if (ev->meta && !json_is_object(ev->meta))
		return omr_err(err_r, "meta must be an object");
	if (ev->kind && strcmp(ev->kind, "message") != 0 && strcmp(ev->kind, "auto") != 0)
		return omr_err(err_r, "unknown event kind '%s'", ev->kind);

	out->attachments = ev->attachments ? omr_json_dump(ev->attachments) : omr_strdup("[]");
	out->attrs = ev->attrs ? omr_json_dump(ev->attrs) : omr_strdup("{}");
	out->meta = ev->meta ? omr_json_dump(ev->meta) : omr_strdup("{}");
	if (!out->attachments || !out->attrs || !out->meta) {
		omr_inbound_norm_free(out);
		return omr_err(err_r, "cannot encode attachments or attributes");
	}
	out->thread = ev->thread ? ev->thread : ev->address;
	out->kind = ev->kind ? ev->kind : "message";
	out->ts_ms = ev->ts_ms > 0 ? ev->ts_ms : omr_now_ms();
	out->rating = omr_model_rating(ev->text, ev->attachments);
	return 0;
}

void omr_inbound_norm_free(struct omr_inbound_norm *n)
{
	omr_free_and_null(&n->attachments);
	omr_free_and_null(&n->attrs);
	omr_free_and_null(&n->meta);
}
