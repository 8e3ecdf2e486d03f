/*
 * webchat_upload: files visitors send (docs/channels/webchat.md#files).
 * A file comes in the visitor's own chat session, in a `message` frame
 * ({"file": {name, type, data: base64}}), so that only a visitor with a
 * valid hello can send one, within the message rate limit. A worker
 * decodes it, hashes it and writes it to the attachment store
 * (state_dir/attachments/webchat/<sha256>, omr_mediafile_store: the
 * core's writer, built into this plugin too);
 * back on the loop the message is submitted with the attachment
 * {name, type, size, sha256, stored: true}, which agents get a /files/
 * link to (omr_files), and acknowledged once stored. Also what the page
 * sees of files the other way: a message's files in history, and an
 * agent's files on a message frame ({name, type, size, url}).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "omr_mediafile.h"
#include "webchat_int.h"

#define WC_UPLOAD_JOBS 64        /* files being written at once on this node */
#define WC_UPLOAD_NAME_MAX 255   /* bytes of a file name */

struct wc_upload_job {
	struct wc_state *st;
	uint64_t conn;
	char cmid[WC_ID_MAX + 1];
	char *text;
	char name[WC_UPLOAD_NAME_MAX + 1];
	char type[128];
	char *b64;                    /* the data as sent; freed by the worker */
	size_t b64_len;
	long long max;
	/* the worker's */
	size_t size;
	char sha[65];
	const char *error;            /* code of the error frame, NULL: stored */
	const char *why;
};

/* the largest file that fits: upload_max, and max_message as base64 with
 * room for the rest of the frame */
static long long wc_upload_limit(const struct wc_state *st)
{
	long long fit = (st->cfg->max_message - 1024) / 4 * 3;
	return st->cfg->upload_max < fit ? st->cfg->upload_max : fit;
}

int wc_upload_init(struct wc_state *st, char **err_r)
{
	char *p;
	if (st->cfg->upload_max <= 0)
		return OMR_OK;
	if (!st->api->state_path(st->host, "attachments/webchat", st->attach_dir,
				 sizeof(st->attach_dir)))
		return omr_plugin_error(err_r, "the attachment directory's path is too long");
	/* mkdir -p: attachments/ may not be there yet */
	for (p = st->attach_dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(st->attach_dir, 0750);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			break;
	}
	if (mkdir(st->attach_dir, 0750) < 0 && errno != EEXIST)
		return omr_plugin_error(err_r, "cannot create %s: %s", st->attach_dir,
					strerror(errno));
	return OMR_OK;
}

json_t *wc_upload_offer(const struct wc_state *st)
{
	json_t *types;
	if (st->cfg->upload_max <= 0 || wc_upload_limit(st) <= 0)
		return NULL;
	types = json_array();
	for (char **t = st->cfg->upload_types; t && *t; t++)
		json_array_append_new(types, json_string(*t));
	return json_pack("{s:I,s:o}", "max", (json_int_t)wc_upload_limit(st), "types", types);
}

static int wc_upload_type_ok(const struct wc_state *st, const char *type)
{
	for (char **t = st->cfg->upload_types; t && *t; t++)
		if (strcmp(*t, type) == 0)
			return 1;
	return 0;
}

/* a name to show and to store: printable, no path */
static int wc_upload_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > WC_UPLOAD_NAME_MAX || strchr(s, '/') || strchr(s, '\\'))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* On a worker: only j. */
static void wc_upload_work(void *arg)
{
	struct wc_upload_job *j = arg;
	unsigned char *data = malloc(j->b64_len / 4 * 3 + 4), md[SHA256_DIGEST_LENGTH];
	static const char hex[] = "0123456789abcdef";

	if (!data)
		abort();
	if (!wc_base64_decode(j->b64, j->b64_len, 0, data, &j->size) || !j->size) {
		j->error = "bad_file";
		j->why = "file: data must be base64 of at least one byte";
	} else if ((long long)j->size > j->max) {
		j->error = "file_too_large";
		j->why = "file: too large";
	} else {
		SHA256(data, j->size, md);
		for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
			j->sha[2 * i] = hex[md[i] >> 4];
			j->sha[2 * i + 1] = hex[md[i] & 15];
		}
		j->sha[64] = '\0';
		if (omr_mediafile_store(j->st->attach_dir, j->sha, data, j->size) < 0) {
			j->error = "retry";
			j->why = "the file could not be stored now, send again";
		}
	}
	free(data);
	OPENSSL_cleanse(j->b64, j->b64_len);
	free(j->b64);
	j->b64 = NULL;
}

static void wc_upload_job_free(struct wc_upload_job *j)
{
	free(j->b64);
	free(j->text);
	free(j);
}

/* Back on the loop: submit the message with its file, or say why not. */
static void wc_upload_done(void *arg, int status)
{
	struct wc_upload_job *j = arg;
	struct wc_state *st = j->st;
	struct wc_conn *c = wc_conn_get(st, j->conn);

	st->uploading--;
	if (!c || !c->visitor) {
		/* gone: the page sends it again after its reconnect */
	} else if (status != OMR_OK) {
		wc_send_error(st, c->id, "retry", "temporarily unavailable, send again", j->cmid);
	} else if (j->error) {
		wc_send_error(st, c->id, j->error, j->why, j->cmid);
	} else {
		json_t *att = json_pack("[{s:s,s:s,s:I,s:s,s:b}]", "name", j->name, "type", j->type,
					"size", (json_int_t)j->size, "sha256", j->sha, "stored", 1);
		wc_submit_chat(st, c, j->cmid, j->text, att);
		json_decref(att);
	}
	wc_upload_job_free(j);
}

void wc_upload(struct wc_state *st, struct wc_conn *c, json_t *file, const char *text,
	       const char *cmid)
{
	const char *name = json_string_value(json_object_get(file, "name"));
	const char *type = json_string_value(json_object_get(file, "type"));
	const char *data = json_string_value(json_object_get(file, "data"));
	long long max = wc_upload_limit(st);
	struct wc_upload_job *j;

	if (st->cfg->upload_max <= 0 || max <= 0) {
		wc_send_error(st, c->id, "bad_file", "this chat takes no files", cmid);
		return;
	}
	if (!json_is_object(file) || !name || !type || !data || !wc_upload_name_ok(name)) {
		wc_send_error(st, c->id, "bad_file",
			      "file: name (1-255 bytes, no / or control characters), type and data "
			      "(base64) are required", cmid);
		return;
	}
	if (!wc_upload_type_ok(st, type)) {
		wc_send_error(st, c->id, "file_type", "file: this type of file is not taken", cmid);
		return;
	}
	if ((long long)(json_string_length(json_object_get(file, "data")) / 4) * 3 > max + 2) {
		wc_send_error(st, c->id, "file_too_large", "file: too large", cmid);
		return;
	}
	if (st->uploading >= WC_UPLOAD_JOBS) {
		wc_send_error(st, c->id, "retry", "temporarily unavailable, send again", cmid);
		return;
	}
	j = omr_plugin_calloc(1, sizeof(*j));
	j->st = st;
	j->conn = c->id;
	j->max = max;
	snprintf(j->cmid, sizeof(j->cmid), "%s", cmid);
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->type, sizeof(j->type), "%s", type);
	j->text = omr_plugin_strdup(text);
	j->b64_len = json_string_length(json_object_get(file, "data"));
	j->b64 = omr_plugin_calloc(1, j->b64_len + 1);
	memcpy(j->b64, data, j->b64_len);
	st->uploading++;
	if (st->api->work(st->host, wc_upload_work, wc_upload_done, j) != OMR_OK) {
		st->uploading--;
		wc_send_error(st, c->id, "retry", "temporarily unavailable, send again", cmid);
		wc_upload_job_free(j);
	}
}

/* ---- files as the page sees them ---- */

/* a message's files as the page sees them: name, type, size, and the
 * link when there is one (never where it is stored) */
json_t *wc_history_files(json_t *att)
{
	json_t *out = json_array(), *a;
	size_t i;
	json_array_foreach(att, i, a) {
		json_t *f = json_object();
		static const char *const keep[] = { "name", "type", "size", "url" };
		for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++)
			if (json_object_get(a, keep[k]))
				json_object_set(f, keep[k], json_object_get(a, keep[k]));
		json_array_append_new(out, f);
	}
	return out;
}

/* An agent's files as the visitor's browser sees them (docs/channels/
 * webchat.md): {name, type, size, url}, url a signed link on the edge
 * (relative: the page resolves it against the websocket's origin). */
void wc_attachments(json_t *frame, const json_t *files)
{
	json_t *list, *f;
	size_t i;
	if (!json_array_size(files))
		return;
	list = json_array();
	json_array_foreach(files, i, f)
		json_array_append_new(list, json_pack("{s:O,s:O,s:O,s:O}", "name",
						      json_object_get(f, "name"), "type",
						      json_object_get(f, "type"), "size",
						      json_object_get(f, "size"), "url",
						      json_object_get(f, "url")));
	json_object_set_new(frame, "attachments", list);
}
