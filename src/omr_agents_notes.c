/*
 * omr_agents_notes: an agent's internal note on a conversation of theirs
 * (docs/agent-protocol.md#internal-notes), at any time: stored with the
 * conversation as direction "note" (reply.lua, author "note"), never sent
 * to the customer, seen by whoever has the conversation next and by its
 * supervisors. "@id" names a colleague, who gets a `mention` frame on
 * every console, on whichever node (omr_agents_push goes through the bus).
 *
 * Main thread only; the pending request is a struct omr_areq.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_log.h"
#include "omr_model.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_NOTE_MAX 4000      /* bytes of a note */
#define OMR_NOTE_MENTIONS 10   /* colleagues one note may name */
#define OMR_NOTE_TRIES 20      /* "@" looked up at most (the directory is a list) */

static int omr_note_idc(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-' || ch == '.' || ch == '@';
}

/* The agent `id` (len bytes) if the directory has one by that name, else
 * the same without (up to 2) trailing punctuation marks ("@bob." at a
 * sentence's end). */
static const struct omr_agent_conf *omr_note_who(const struct omr_agents_conf *dir,
						 const char *id, size_t len)
{
	char buf[65];
	for (int cut = 0; len > 0 && cut < 3; cut++) {
		if (len < sizeof(buf)) {
			memcpy(buf, id, len);
			buf[len] = '\0';
			const struct omr_agent_conf *ac = omr_agents_find(dir, buf);
			if (ac && (ac->roles & OMR_ROLE_AGENT))
				return ac;
		}
		if (id[len - 1] != '.' && id[len - 1] != '-' && id[len - 1] != '@')
			return NULL;
		len--;
	}
	return NULL;
}

char *omr_agents_note_mentions(const struct omr_agents_conf *dir, const char *text,
			       const char *self)
{
	struct omr_buf b;
	size_t n = 0, tries = 0;
	omr_buf_init(&b);
	for (const char *p = text; *p && n < OMR_NOTE_MENTIONS && tries < OMR_NOTE_TRIES; p++) {
		if (*p != '@' || (p > text && omr_note_idc(p[-1])))
			continue;
		tries++;
		size_t len = 0;
		while (omr_note_idc(p[1 + len]))
			len++;
		const struct omr_agent_conf *ac = len ? omr_note_who(dir, p + 1, len) : NULL;
		p += len;
		if (!ac || (self && strcmp(ac->id, self) == 0))
			continue;
		/* once each */
		size_t idl = strlen(ac->id);
		const char *seen = b.len ? strstr(b.data, ac->id) : NULL;
		int dup = 0;
		while (seen && !dup) {
			dup = (seen == b.data || seen[-1] == ',') && (seen[idl] == ',' || !seen[idl]);
			seen = strstr(seen + 1, ac->id);
		}
		if (dup)
			continue;
		if (b.len)
			omr_buf_append(&b, ",", 1);
		omr_buf_append(&b, ac->id, idl);
		n++;
	}
	char *out = omr_buf_steal(&b, NULL);
	return out ? out : omr_strdup("");
}

static void omr_note_stored(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_agents *a = q->a;
	struct omr_lua_reply_reply r;

	if (omr_agents_refused(a, q, reply, err)) {
		/* answered */
	} else if (omr_lua_reply_reply(reply, &r) < 6) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else {
		json_t *m = omr_model_from_hash(OMR_MODEL_MESSAGE, r.hash);
		if (!m)
			m = json_object();
		int fresh = strcmp(r.tag, "dup") != 0;
		json_t *ack = json_pack("{s:s,s:s,s:s,s:O}", "type", "ack", "client_msg_id",
					q->client_msg_id, "conversation", q->conversation,
					"message", m);
		omr_agents_push_new(a, q->agent, ack);
		/* each colleague named, once (a resent note tells nobody again) */
		char *save = NULL;
		for (char *id = fresh && q->extra ? strtok_r(q->extra, ",", &save) : NULL; id;
		     id = strtok_r(NULL, ",", &save))
			omr_agents_push_new(a, id, json_pack("{s:s,s:s,s:s,s:s,s:O}", "type",
							     "mention", "conversation",
							     q->conversation, "from", q->agent,
							     "from_name", q->by, "message", m));
		if (fresh)
			omr_log_info("conversation %s: internal note by %s%s%s",
				     q->conversation, q->agent, q->extra && *q->extra ?
				     " naming " : "", q->extra ? q->extra : "");
		json_decref(m);
	}
	omr_areq_free(q);
}

/* {"type": "note", "conversation", "text", "client_msg_id"} */
void omr_agents_note(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const struct omr_config *cfg = omr_env_cfg(&a->env);
	const char *conv = omr_agents_conv_arg(a, s, msg);
	const char *text, *cmid;

	if (!conv || omr_agents_text_args(a, s, msg, conv, OMR_NOTE_MAX, &text, &cmid) < 0)
		return;
	const struct omr_agent_conf *ac = omr_agents_find(cfg->agents, s->agent);
	struct omr_areq *q = omr_areq_new(a, s);
	char mid[OMR_ID_MAX];
	q->conversation = omr_strdup(conv);
	q->client_msg_id = omr_strdup(cmid);
	q->by = omr_strdup(ac && ac->name ? ac->name : s->agent);
	q->extra = omr_agents_note_mentions(cfg->agents, text, s->agent);
	struct omr_lua_reply_args r = {
		.conversation = conv, .agent = s->agent, .name = q->by, .text = text,
		.client_msg_id = cmid, .message = omr_id_new(mid, "m_"),
		.dedup_ttl = cfg->limits.dedup_ttl, .author = "note", .mentions = q->extra,
	};
	omr_lua_reply(a->env.store, &r, omr_note_stored, q);
}
