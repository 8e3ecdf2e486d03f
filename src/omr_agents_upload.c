/*
 * omr_agents_upload: agents' files (docs/agent-protocol.md "Files").
 *
 * An agent sends a file for one of their conversations over their own
 * console connection (no admin credentials, nothing but the log-in):
 *   {"type": "upload", "upload": ID, "conversation": C, "name": N, "size": S}
 * is checked (the conversation is theirs, its channel sends files
 * (OMR_PLUGIN_FILES), 0 < S <= media.max_bytes, one upload at a time per
 * connection) and answered {"type": "upload", "upload": ID, "status":
 * "ready", "chunk_max": B}; then the bytes come in order as
 *   {"type": "upload_chunk", "upload": ID, "data": BASE64}  (<= B bytes each)
 * each answered {"type": "upload_progress", "upload": ID, "received": R,
 * "size": S}. With the last byte the file is sniffed and checked
 * (omr_media_keep: media.types), written to the attachment store and
 * answered {"type": "uploaded", "upload": ID, "conversation": C,
 * "attachment": {name, type, size, sha256, url}}. A reply then names it:
 * {"type": "reply", ..., "attachments": [ID, ...]}. Every refusal is an
 * {"type": "error", "code", "message", "upload"} and ends the upload.
 *
 * The bytes wait in memory (at most media.max_bytes per connection); an
 * upload not named by a reply is forgotten with its connection (the file,
 * if kept, is removed by the retention of files no message names).
 *
 * Main thread; callbacks find their connection again by id.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "omr_agents.h"
#include "omr_agents_int.h"
#include "omr_channels.h"
#include "omr_config.h"
#include "omr_files.h"
#include "omr_log.h"
#include "omr_media.h"
#include "omr_model.h"
#include "omr_plugin.h"
#include "omr_redis.h"
#include "omr_store.h"
#include "omr_util.h"

#define OMR_UPLOAD_CHUNK (32 * 1024) /* bytes per chunk: well inside edge.max_message */
#define OMR_UPLOADS_KEPT 20          /* uploaded, not yet sent, per connection */
#define OMR_UPLOAD_FREE_MIN 4096     /* a chunk this large is not counted by the rate */

struct omr_upload {
	char id[65];
	char *conversation;
	char *channel;
	char *name;
	size_t size, got;
	unsigned char *data;
	int receiving; /* checked: chunks may come */
};

/* What a callback needs to find its connection and upload again. */
struct omr_upload_ref {
	struct omr_agents *a;
	uint64_t conn;
	char id[65];
	char *conversation;
	char *channel;
};

void omr_upload_free(struct omr_upload *u)
{
	if (!u)
		return;
	free(u->conversation);
	free(u->channel);
	free(u->name);
	free(u->data);
	free(u);
}

static void omr_upload_ref_free(struct omr_upload_ref *r)
{
	free(r->conversation);
	free(r->channel);
	free(r);
}

static void omr_upload_error(struct omr_agents *a, uint64_t conn, const char *id, const char *code,
			     const char *message)
{
	json_t *j = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", message);
	if (id)
		json_object_set_new(j, "upload", json_string(id));
	omr_agents_send_new(a, conn, j);
}

/* The session's upload ends (refused, or its bytes handed on). */
static void omr_upload_end(struct omr_asess *s)
{
	omr_upload_free(s->upload);
	s->upload = NULL;
}

/* ---- the announcement ---- */

static void omr_upload_checked(void *arg, const redisReply *reply, const char *err)
{
	struct omr_upload_ref *r = arg;
	struct omr_agents *a = r->a;
	struct omr_asess *s = omr_agents_sess(a, r->conn);
	struct omr_upload *u = s ? s->upload : NULL;
	const char *channel = omr_reply_str(omr_reply_elem(reply, 0));
	const char *owner = omr_reply_str(omr_reply_elem(reply, 1));
	const struct omr_plugin *p = channel ? omr_channels_get(a->channels, channel) : NULL;

	if (!u || strcmp(u->id, r->id) != 0 || u->receiving)
		goto done; /* the connection or its upload went meanwhile */
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		omr_upload_error(a, r->conn, r->id, "unavailable", "storage unavailable, try again");
	} else if (!owner || !s->agent || strcmp(owner, s->agent) != 0) {
		omr_upload_error(a, r->conn, r->id, "not_yours",
				 "this conversation is not assigned to you");
	} else if (!p || !(p->desc->flags & OMR_PLUGIN_FILES)) {
		char *m = omr_asprintf("%s does not send files", channel ? channel : "this channel");
		omr_upload_error(a, r->conn, r->id, "no_files", m);
		free(m);
	} else {
		u->channel = omr_strdup(channel);
		u->data = omr_malloc(u->size);
		u->receiving = 1;
		omr_agents_send_new(a, r->conn,
				    json_pack("{s:s,s:s,s:s,s:i}", "type", "upload", "upload", u->id,
					      "status", "ready", "chunk_max", OMR_UPLOAD_CHUNK));
		goto done;
	}
	omr_upload_end(s);
done:
	omr_upload_ref_free(r);
}

static struct omr_upload_ref *omr_upload_ref_new(struct omr_agents *a, uint64_t conn,
						 const char *id, const char *conv)
{
	struct omr_upload_ref *r = omr_calloc(1, sizeof(*r));
	r->a = a;
	r->conn = conn;
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->conversation = omr_strdup(conv);
	return r;
}

void omr_agents_upload(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *id = json_string_value(json_object_get(msg, "upload"));
	const char *conv = json_string_value(json_object_get(msg, "conversation"));
	const json_t *size = json_object_get(msg, "size");
	long long max = omr_env_cfg(&a->env)->media.max_bytes;
	char *name;

	if (!id || !omr_model_key_ok(id, 64)) {
		omr_upload_error(a, s->conn, NULL, "bad_request", "upload: 1-64 printable characters");
		return;
	}
	if (!conv || !omr_model_id_ok(conv, "c_")) {
		omr_upload_error(a, s->conn, id, "bad_request", "conversation: a conversation id");
		return;
	}
	if (!json_is_integer(size) || json_integer_value(size) <= 0) {
		omr_upload_error(a, s->conn, id, "empty", "size: the file's bytes, 1 or more");
		return;
	}
	if (json_integer_value(size) > max) {
		char *m = omr_asprintf("the file is too large (%lld bytes, at most %lld)",
				       (long long)json_integer_value(size), max);
		omr_upload_error(a, s->conn, id, "too_large", m);
		free(m);
		return;
	}
	name = omr_media_file_name(json_string_value(json_object_get(msg, "name")));
	if (!name) {
		omr_upload_error(a, s->conn, id, "bad_request", "name: the file's name");
		return;
	}
	if (s->upload) {
		free(name);
		omr_upload_error(a, s->conn, id, "busy", "another upload is under way: one at a time");
		return;
	}
	if (json_object_size(s->uploads) >= OMR_UPLOADS_KEPT) {
		free(name);
		omr_upload_error(a, s->conn, id, "too_many", "send or drop the files uploaded first");
		return;
	}
	struct omr_upload *u = omr_calloc(1, sizeof(*u));
	snprintf(u->id, sizeof(u->id), "%s", id);
	u->conversation = omr_strdup(conv);
	u->name = name;
	u->size = (size_t)json_integer_value(size);
	s->upload = u;
	char *key = omr_store_key(a->env.store, "conv:%s", conv);
	omr_redis_cmd(omr_store_redis(a->env.store), omr_upload_checked,
		      omr_upload_ref_new(a, s->conn, id, conv), "HMGET %s channel agent", key);
	free(key);
}

/* ---- the bytes ---- */

/* The file was kept (or refused): the console is told. */
static void omr_upload_kept(void *arg, json_t *att, const char *code, const char *message)
{
	struct omr_upload_ref *r = arg;
	struct omr_agents *a = r->a;
	struct omr_asess *s = omr_agents_sess(a, r->conn);

	if (!s) {
		omr_upload_ref_free(r);
		return;
	}
	if (code) {
		omr_upload_error(a, r->conn, r->id, code, message);
		omr_upload_ref_free(r);
		return;
	}
	/* the link the console shows, as frames get theirs */
	json_t *m = json_pack("{s:{s:s,s:[O]}}", "message", "channel", r->channel, "attachments",
			      att);
	json_t *dec = omr_files_decorate(a->files, m, omr_now_ms() / 1000);
	json_t *shown = json_array_get(json_object_get(json_object_get(dec, "message"),
						       "attachments"), 0);
	if (!s->uploads)
		s->uploads = json_object();
	json_object_set_new(s->uploads, r->id,
			    json_pack("{s:s,s:O}", "conversation", r->conversation, "attachment", att));
	json_t *frame = json_pack("{s:s,s:s,s:s,s:O}", "type", "uploaded", "upload", r->id,
				  "conversation", r->conversation, "attachment", shown);
	json_object_del(json_object_get(frame, "attachment"), "stored");
	omr_agents_send_new(a, r->conn, frame);
	json_decref(dec);
	json_decref(m);
	omr_upload_ref_free(r);
}

static void omr_upload_complete(struct omr_agents *a, struct omr_asess *s)
{
	struct omr_upload *u = s->upload;
	struct omr_upload_ref *r = omr_upload_ref_new(a, s->conn, u->id, u->conversation);
	r->channel = omr_strdup(u->channel);
	unsigned char *data = u->data;
	char *channel = omr_strdup(u->channel), *name = omr_strdup(u->name);
	size_t size = u->size;
	u->data = NULL;
	omr_upload_end(s);
	omr_media_keep(a->media, channel, name, data, size, omr_upload_kept, r);
	free(channel);
	free(name);
}

void omr_agents_upload_chunk(struct omr_agents *a, struct omr_asess *s, const json_t *msg)
{
	const char *id = json_string_value(json_object_get(msg, "upload"));
	const json_t *data = json_object_get(msg, "data");
	struct omr_upload *u = s->upload;
	long n;

	if (!u || !u->receiving || !id || strcmp(id, u->id) != 0) {
		omr_upload_error(a, s->conn, id && omr_model_key_ok(id, 64) ? id : NULL, "bad_request",
				 "no such upload under way: announce it first");
		return;
	}
	if (!json_is_string(data) || json_string_length(data) == 0 ||
	    json_string_length(data) > (OMR_UPLOAD_CHUNK / 3 + 1) * 4) {
		omr_upload_error(a, s->conn, id, "bad_chunk", "data: base64 of 1 to 32768 bytes");
		omr_upload_end(s);
		return;
	}
	n = omr_media_b64_decode(json_string_value(data), json_string_length(data),
				 u->data + u->got, u->size - u->got);
	if (n < 0) {
		omr_upload_error(a, s->conn, id, "bad_chunk",
				 "data: not base64, or more bytes than the size announced");
		omr_upload_end(s);
		return;
	}
	u->got += (size_t)n;
	if (u->got < u->size) {
		omr_agents_send_new(a, s->conn,
				    json_pack("{s:s,s:s,s:I,s:I}", "type", "upload_progress", "upload",
					      id, "received", (json_int_t)u->got, "size",
					      (json_int_t)u->size));
		return;
	}
	omr_upload_complete(a, s);
}

/* 1 when msg is a chunk of this connection's upload under way that is not
 * counted by the command rate: a full one (at least OMR_UPLOAD_FREE_MIN
 * bytes) or the last; their number is bounded by the size announced.
 * Every other frame, small chunks included, is counted as any command. */
int omr_agents_upload_chunk_free(const struct omr_asess *s, const json_t *msg)
{
	const struct omr_upload *u = s->upload;
	const char *type = json_string_value(json_object_get(msg, "type"));
	const char *id = json_string_value(json_object_get(msg, "upload"));
	const char *data = json_string_value(json_object_get(msg, "data"));
	if (!u || !u->receiving || !type || strcmp(type, "upload_chunk") != 0 || !id ||
	    strcmp(id, u->id) != 0 || !data)
		return 0;
	size_t bytes = strlen(data) / 4 * 3; /* about, from its base64 */
	return bytes >= OMR_UPLOAD_FREE_MIN || bytes + 3 >= u->size - u->got;
}

json_t *omr_agents_upload_take(struct omr_agents *a, struct omr_asess *s, const char *conv,
			       const json_t *ids, const char **err_r)
{
	json_t *out = json_array(), *id;
	size_t i;
	(void)a;
	*err_r = NULL;
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    (long long)json_array_size(ids) > omr_env_cfg(&a->env)->limits.attachments_max) {
		*err_r = "attachments: a list of uploads (see limits.attachments_max)";
		goto fail;
	}
	json_array_foreach(ids, i, id) {
		const json_t *up = json_object_get(s->uploads, json_string_value(id) ?
							       json_string_value(id) : "");
		const char *c = json_string_value(json_object_get(up, "conversation"));
		if (!up || !c || strcmp(c, conv) != 0) {
			*err_r = "attachments: an upload of this connection for this conversation";
			goto fail;
		}
		json_array_append(out, json_object_get(up, "attachment"));
	}
	json_array_foreach(ids, i, id)
		json_object_del(s->uploads, json_string_value(id));
	return out;
fail:
	json_decref(out);
	return NULL;
}
