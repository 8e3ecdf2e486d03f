/*
 * omr_agents_canned: canned responses for a console
 * (docs/agent-protocol.md#canned-responses): the shared ones of the
 * configuration (omr_canned, reloaded with it) and the agent's own, kept
 * in Redis (canned_personal.lua), on request rather than in the welcome,
 * which stays small. The console fills in the variables when it inserts
 * a text: it knows the customer and the agent.
 *
 * Main thread only; the pending request is a struct omr_areq.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents_int.h"
#include "omr_canned.h"
#include "omr_config.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

/* {type: canned, responses: [...], personal: [{shortcut, title, text}]}
 * from the shared set and the agent's hash (HGETALL) */
static json_t *omr_canned_frame(struct omr_agents *a, const redisReply *own)
{
	const struct omr_canned *c = omr_env_cfg(&a->env)->canned;
	json_t *personal = json_array();
	for (size_t i = 0; own && own->type == REDIS_REPLY_ARRAY && i + 1 < own->elements; i += 2) {
		const char *sc = omr_reply_str(own->element[i]);
		json_t *v = json_loads(omr_reply_str(own->element[i + 1]) ?
				       omr_reply_str(own->element[i + 1]) : "", 0, NULL);
		if (sc && json_is_object(v)) {
			json_object_set_new(v, "shortcut", json_string(sc));
			json_array_append(personal, v);
		}
		json_decref(v);
	}
	return json_pack("{s:s,s:O,s:o}", "type", "canned", "responses",
			 c ? c->responses : json_array(), "personal", personal);
}

static void omr_canned_done(void *arg, const redisReply *reply, const char *err)
{
	struct omr_areq *q = arg;
	struct omr_lua_canned_personal_reply r;
	if (err || omr_lua_canned_personal_reply(reply, &r) < 2 || !r.tag) {
		omr_agents_error_q(q, "unavailable", "storage unavailable, try again");
	} else {
		if (strcmp(r.tag, "full") == 0)
			omr_agents_error_q(q, "bad_request",
					   "you keep 100 canned responses at most: delete one first");
		else if (strcmp(r.tag, "none") == 0)
			omr_agents_error_q(q, "not_found", "no such canned response of yours");
		/* every console of the agent gets the list (another tab too) */
		json_t *f = omr_canned_frame(q->a, r.all);
		if (q->extra)
			omr_agents_push_new(q->a, q->agent, f);
		else
			omr_agents_send_new(q->a, q->conn, f);
	}
	omr_areq_free(q);
}

static void omr_canned_run(struct omr_agents *a, struct omr_asess *s, const char *op,
			   const char *shortcut, const char *value)
{
	struct omr_areq *q = omr_areq_new(a, s);
	q->extra = strcmp(op, "get") != 0 ? omr_strdup(op) : NULL;
	struct omr_lua_canned_personal_args la = {
		.agent = s->agent, .op = op, .shortcut = shortcut, .value = value,
		.max = OMR_CANNED_PERSONAL_MAX,
	};
	omr_lua_canned_personal(a->env.store, &la, omr_canned_done, q);
}

/* {"type": "canned"}: the list */
void omr_agents_canned(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	(void)msg;
	omr_canned_run(a, s, "get", NULL, NULL);
}

/* {"type": "canned_save", shortcut, title?, text} */
void omr_agents_canned_save(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const json_t *jt = json_object_get(msg, "text"), *jti = json_object_get(msg, "title");
	const char *sc = json_string_value(json_object_get(msg, "shortcut"));
	const char *text = json_string_value(jt), *title = json_string_value(jti);
	char why[256];
	const char *bad = omr_canned_shortcut_check(sc);
	if (!bad && text && json_string_length(jt) != strlen(text))
		bad = "text: no NUL characters";
	if (!bad && (bad = omr_canned_text_check(text, why, sizeof(why))) != NULL) {
		/* said with its field */
	}
	if (!bad && jti && (!title || json_string_length(jti) != strlen(title) ||
			    strlen(title) > OMR_CANNED_TITLE_MAX))
		bad = "title: at most 80 bytes of text";
	if (bad) {
		omr_agents_error(a, s->conn, "bad_request", bad, NULL, NULL);
		return;
	}
	json_t *v = json_pack("{s:s,s:s}", "title", title && *title ? title : sc, "text", text);
	char *value = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	omr_canned_run(a, s, "set", sc, value);
	free(value);
}

/* {"type": "canned_delete", shortcut} */
void omr_agents_canned_delete(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *sc = json_string_value(json_object_get(msg, "shortcut"));
	const char *bad = omr_canned_shortcut_check(sc);
	if (bad) {
		omr_agents_error(a, s->conn, "bad_request", bad, NULL, NULL);
		return;
	}
	omr_canned_run(a, s, "del", sc, NULL);
}
