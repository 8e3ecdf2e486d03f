/*
 * omr_agents_begin: "start", a conversation an agent starts from the
 * customer panel (docs/agent-protocol.md#start): the same core function as
 * the admin API and the signals (omr_outreach_start), with the agent as
 * author; "to": "me" offers it to the agent first, "queue" to a queue.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "omr_agents_conf.h"
#include "omr_agents_int.h"
#include "omr_config.h"
#include "omr_model.h"
#include "omr_outreach.h"
#include "omr_routing_conf.h"
#include "omr_util.h"

static void omr_agents_begun(void *arg, const struct omr_outreach_res *res)
{
	struct omr_areq *q = arg;
	if (res->status >= 400) {
		omr_agents_error_q(q, res->code, res->message);
	} else {
		omr_agents_send_new(q->a, q->conn,
				    json_pack("{s:s,s:s,s:s,s:s?}", "type", "started", "client_msg_id",
					      q->client_msg_id, "conversation", res->conversation,
					      "channel", res->channel));
	}
	omr_areq_free(q);
}

void omr_agents_begin(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *cmid = json_string_value(json_object_get(msg, "client_msg_id"));
	const char *to = json_string_value(json_object_get(msg, "to"));
	const struct omr_agent_conf *ac = omr_agents_find(omr_env_cfg(&a->env)->agents, s->agent);
	struct omr_outreach_req r;
	const char *code;
	char *err = NULL;

	if (!cmid || !omr_model_key_ok(cmid, 64)) {
		omr_agents_error(a, s->conn, "bad_request", "client_msg_id: 1-64 printable characters",
				 NULL, NULL);
		return;
	}
	if (!ac || !(ac->roles & OMR_ROLE_AGENT) || !to ||
	    (strcmp(to, "me") != 0 && strcmp(to, "queue") != 0)) {
		omr_agents_error(a, s->conn, "bad_request", !to ? "to: me or queue" :
				 "only an agent starts conversations (to: me or queue)", "client_msg_id",
				 cmid);
		return;
	}
	/* the admin API's body without what only the console says */
	json_t *body = json_deep_copy(msg);
	json_object_del(body, "type");
	json_object_del(body, "to");
	json_object_del(body, "client_msg_id");
	if (strcmp(to, "me") == 0)
		json_object_set_new(body, "agent", json_string(s->agent));
	else if (!json_object_get(body, "queue"))
		json_object_set_new(body, "queue",
				    json_string(omr_env_cfg(&a->env)->routing->default_queue));
	if (omr_outreach_parse(body, &r, &code, &err) < 0) {
		omr_agents_error(a, s->conn, code, err, "client_msg_id", cmid);
		free(err);
		json_decref(body);
		return;
	}
	struct omr_areq *q = omr_areq_new(a, s);
	q->client_msg_id = omr_strdup(cmid);
	char *idem = omr_asprintf("agent:%s:%s", s->agent, cmid); /* a resent frame: the same one */
	r.idem = idem;
	r.by = s->agent;
	r.author = "agent";
	r.author_name = ac->name ? ac->name : s->agent;
	omr_outreach_start(a->outreach, &r, omr_agents_begun, q);
	free(idem);
	json_decref(body);
}
