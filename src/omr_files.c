/* omr_files: signed links to stored attachments (see omr_files.h). */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "omr_files.h"
#include "omr_util.h"

#define OMR_FILES_KEY 32
#define OMR_FILES_PAYLOAD_MAX 600 /* the fields below, with their separators */
#define OMR_FILES_SEEN_S 60       /* how long "this node has it (or not)" is believed */
#define OMR_FILES_SEEN_MAX 20000  /* entries before the cache starts over */

struct omr_files {
	unsigned char key[OMR_FILES_KEY];
	char *root;
	/* main thread only (the decorating side): whether this node has a
	 * file, so that frames do not cost a stat() per attachment; channel
	 * "/" sha256 -> (intptr_t) when it was seen, negative when absent */
	struct omr_map *seen;
	int64_t ttl_s; /* main thread only: links made work this long */
};

struct omr_files *omr_files_new_with_key(const char *root, const unsigned char key[32])
{
	struct omr_files *f = omr_calloc(1, sizeof(*f));
	memcpy(f->key, key, sizeof(f->key));
	f->root = omr_strdup(root);
	f->seen = omr_map_new();
	f->ttl_s = OMR_FILES_TTL_S;
	return f;
}

void omr_files_set_ttl(struct omr_files *f, int64_t ttl_s)
{
	f->ttl_s = ttl_s > 0 ? ttl_s : 1;
}

struct omr_files *omr_files_new(const char *root)
{
	unsigned char key[OMR_FILES_KEY];
	struct omr_files *f;
	if (omr_random_bytes(key, sizeof(key)) != 0)
		return NULL;
	f = omr_files_new_with_key(root, key);
	OPENSSL_cleanse(key, sizeof(key));
	return f;
}

void omr_files_free(struct omr_files *f)
{
	if (!f)
		return;
	OPENSSL_cleanse(f->key, sizeof(f->key));
	omr_map_free(f->seen, NULL);
	free(f->root);
	free(f);
}

/* ---- the fields ---- */

static int omr_files_channel_ok(const char *s)
{
	return omr_channel_name_ok(s, strlen(s));
}

static int omr_files_sha_ok(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* token characters of a media type (RFC 6838), lower case */
static int omr_files_type_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("!#$&^_.+-", c);
}

static int omr_files_type_ok(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t n = strlen(s);
	if (!slash || slash == s || !slash[1] || n > 127 || strchr(slash + 1, '/'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s + i != slash && !omr_files_type_char(s[i]))
			return 0;
	return 1;
}

/* The length of a character at p that has no place in a file name: a
 * control character (C0, DEL, C1), a quote, backslash or slash, or one that
 * hides or reorders what a save dialog shows (bidi controls, zero-width
 * and invisible characters, the byte order mark); 0 for any other. */
static size_t omr_files_unfit(const unsigned char *p)
{
	if (p[0] < 0x20 || p[0] == 0x7f || p[0] == '"' || p[0] == '\\' || p[0] == '/')
		return 1;
	if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2; /* C1 */
	if (p[0] == 0xd8 && p[1] == 0x9c)
		return 2; /* U+061C arabic letter mark */
	if (p[0] == 0xe2 && p[1] == 0x80 && ((p[2] >= 0x8b && p[2] <= 0x8f) ||
					     (p[2] >= 0xaa && p[2] <= 0xae)))
		return 3; /* U+200B..U+200F, U+202A..U+202E */
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] >= 0xa0 && p[2] <= 0xaf)
		return 3; /* U+2060..U+206F */
	if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		return 3; /* U+FEFF */
	return 0;
}

/* A name fit for a header and a file system: valid UTF-8 without the
 * characters above, not "." or "..". */
static int omr_files_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255 || !omr_utf8_valid(s, n) || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (omr_files_unfit((const unsigned char *)s + i))
			return 0;
	return 1;
}

/* The name a link carries: the attachment's with each unfit character
 * made "_", at most 255 bytes cut at a character boundary; "attachment"
 * when nothing is left. */
static void omr_files_fit_name(const char *in, char out[256])
{
	size_t o = 0;
	for (size_t i = 0; in && in[i] && o < 255;) {
		size_t bad = omr_files_unfit((const unsigned char *)in + i);
		if (bad) {
			out[o++] = '_';
			i += bad;
		} else {
			out[o++] = in[i++];
		}
	}
	while (o > 0 && !omr_utf8_valid(out, o))
		o--;
	out[o] = '\0';
	if (!o || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		strcpy(out, "attachment");
}

/* ---- links ---- */

static int omr_files_payload(const struct omr_file_ref *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s\n%s\n%lld\n%s\n%s", r->channel, r->sha256,
			 (long long)r->expires, r->name, r->type);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

char *omr_files_link(const struct omr_files *f, const struct omr_file_ref *r)
{
	char payload[OMR_FILES_PAYLOAD_MAX], sig[65];
	int n;

	if (!omr_files_channel_ok(r->channel) || !omr_files_sha_ok(r->sha256) ||
	    !omr_files_name_ok(r->name) || !omr_files_type_ok(r->type) || r->expires <= 0)
		return NULL;
	n = omr_files_payload(r, payload, sizeof(payload));
	if (n < 0)
		return NULL;
	omr_hmac_sha256_hex(f->key, sizeof(f->key), payload, (size_t)n, sig);
	size_t plen = strlen(OMR_FILES_PREFIX);
	char *link = omr_malloc(plen + (size_t)n * 2 + 1 + 64 + 1);
	memcpy(link, OMR_FILES_PREFIX, plen);
	omr_hex((const unsigned char *)payload, (size_t)n, link + plen);
	link[plen + (size_t)n * 2] = '/';
	memcpy(link + plen + (size_t)n * 2 + 1, sig, 65);
	return link;
}

static int omr_files_unhex(const char *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i += 2) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = in[i + (size_t)k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i / 2] = (char)v;
	}
	return 0;
}

/* Split "channel\nsha\nexpires\nname\ntype" into r; 0 or -1. */
static int omr_files_parse(char *payload, struct omr_file_ref *r)
{
	char *field[5];
	long long exp;
	field[0] = payload;
	for (int i = 1; i < 5; i++) {
		char *nl = strchr(field[i - 1], '\n');
		if (!nl)
			return -1;
		*nl = '\0';
		field[i] = nl + 1;
	}
	if (strchr(field[4], '\n') || !omr_files_channel_ok(field[0]) || !omr_files_sha_ok(field[1]) ||
	    omr_parse_ll(field[2], &exp) < 0 || exp <= 0 || !omr_files_name_ok(field[3]) ||
	    !omr_files_type_ok(field[4]))
		return -1;
	strcpy(r->channel, field[0]);
	strcpy(r->sha256, field[1]);
	r->expires = exp;
	strcpy(r->name, field[3]);
	strcpy(r->type, field[4]);
	return 0;
}

enum omr_files_check omr_files_check(const struct omr_files *f, const char *link, int64_t now_s,
				     struct omr_file_ref *r, char *path, size_t len)
{
	char payload[OMR_FILES_PAYLOAD_MAX];
	const char *slash = strchr(link, '/');
	size_t hexlen = slash ? (size_t)(slash - link) : 0;
	int n;

	memset(r, 0, sizeof(*r));
	if (!slash || hexlen == 0 || hexlen % 2 || hexlen / 2 >= sizeof(payload) ||
	    strlen(slash + 1) != 64 || omr_files_unhex(link, hexlen, payload) < 0)
		return OMR_FILES_BAD;
	payload[hexlen / 2] = '\0';
	if (memchr(payload, '\0', hexlen / 2) ||
	    !omr_signature_ok(slash + 1, f->key, sizeof(f->key), payload, hexlen / 2) ||
	    omr_files_parse(payload, r) < 0) {
		memset(r, 0, sizeof(*r));
		return OMR_FILES_BAD;
	}
	if (r->expires < now_s)
		return OMR_FILES_EXPIRED;
	n = snprintf(path, len, "%s/%s/%s", f->root, r->channel, r->sha256);
	return n < 0 || (size_t)n >= len ? OMR_FILES_BAD : OMR_FILES_OK;
}

const char *omr_files_serve_type(const char *type, int *inline_r)
{
	static const char *const shown[] = { "image/png", "image/jpeg", "image/gif", "image/webp",
					     "text/plain", NULL };
	for (int i = 0; shown[i]; i++)
		if (strcmp(type, shown[i]) == 0) {
			*inline_r = 1;
			return shown[i];
		}
	*inline_r = 0;
	/* a PDF is a download: a browser's viewer does not run in a sandbox */
	return strcmp(type, "application/pdf") == 0 ? "application/pdf" : "application/octet-stream";
}

/* ---- frames ---- */

/* Whether this node has a stored file; stat() at most once a minute per
 * file (files are never changed, only written once or removed). */
static int omr_files_here(struct omr_files *f, const char *channel, const char *sha,
			  int64_t now_s)
{
	char key[140], path[4096];
	struct stat sb;
	int n = snprintf(key, sizeof(key), "%s/%s", channel, sha);
	intptr_t seen = (intptr_t)omr_map_get(f->seen, key, (size_t)n);
	int here;

	if (seen && now_s - (seen > 0 ? seen : -seen) < OMR_FILES_SEEN_S)
		return seen > 0;
	here = snprintf(path, sizeof(path), "%s/%s", f->root, key) < (int)sizeof(path) &&
	       stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
	if (omr_map_count(f->seen) >= OMR_FILES_SEEN_MAX) {
		omr_map_free(f->seen, NULL);
		f->seen = omr_map_new();
	}
	omr_map_put(f->seen, key, (size_t)n, (void *)(intptr_t)(here ? now_s : -now_s));
	return here;
}

int omr_files_remove(struct omr_files *f, const char *channel, const char *sha256)
{
	char key[140], path[4096];
	int n;
	if (!omr_files_channel_ok(channel) || !omr_files_sha_ok(sha256))
		return -1;
	n = snprintf(key, sizeof(key), "%s/%s", channel, sha256);
	if (snprintf(path, sizeof(path), "%s/%s", f->root, key) >= (int)sizeof(path))
		return -1;
	/* no link is made for it from now on (the cache said it was here) */
	omr_map_del(f->seen, key, (size_t)n);
	if (unlink(path) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* The link of a stored attachment of a message on a channel, or NULL. */
static char *omr_files_attachment_link(struct omr_files *f, const char *channel, const json_t *a,
				       int64_t now_s)
{
	struct omr_file_ref r;
	const char *sha = json_string_value(json_object_get(a, "sha256"));
	const char *type = json_string_value(json_object_get(a, "type"));

	if (!json_is_true(json_object_get(a, "stored")) || !sha || !channel ||
	    !omr_files_sha_ok(sha) || !omr_files_channel_ok(channel))
		return NULL;
	if (!omr_files_here(f, channel, sha, now_s))
		return NULL; /* not on this node's disk */
	memset(&r, 0, sizeof(r));
	strcpy(r.channel, channel);
	strcpy(r.sha256, sha);
	r.expires = now_s + f->ttl_s;
	omr_files_fit_name(json_string_value(json_object_get(a, "name")), r.name);
	snprintf(r.type, sizeof(r.type), "%s",
		 type && omr_files_type_ok(type) ? type : "application/octet-stream");
	return omr_files_link(f, &r);
}

/* The attachments of one message (an object with "attachments" and
 * "channel") get their "url"; returns how many got one. With set 0 it
 * changes nothing and counts those that might. */
static int omr_files_message(struct omr_files *f, json_t *m, int64_t now_s, int set)
{
	const json_t *list = json_object_get(m, "attachments");
	const char *channel = json_string_value(json_object_get(m, "channel"));
	int found = 0;
	size_t i;
	json_t *a;

	if (!json_is_array(list) || !channel)
		return 0;
	json_array_foreach(list, i, a) {
		char *link;
		if (!set) { /* a first look: could it have a link? */
			found += json_is_string(json_object_get(a, "sha256")) &&
				 json_is_true(json_object_get(a, "stored"));
			continue;
		}
		link = json_is_object(a) ? omr_files_attachment_link(f, channel, a, now_s) : NULL;
		if (link)
			json_object_set_new(a, "url", json_string(link));
		found += link != NULL;
		free(link);
	}
	return found;
}

static int omr_files_messages(struct omr_files *f, json_t *conv, int64_t now_s, int set)
{
	int found = 0;
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(conv, "messages"), i, m)
		found += omr_files_message(f, m, now_s, set);
	return found;
}

/* Only where frames carry messages the server stored: a frame's "message",
 * the "messages" of its "conversation" or of each of its "conversations".
 * Anything else in a frame (a bot's slots, say) can say what it likes. */
static int omr_files_frame(struct omr_files *f, json_t *frame, int64_t now_s, int set)
{
	int found = omr_files_message(f, json_object_get(frame, "message"), now_s, set) +
		    omr_files_messages(f, json_object_get(frame, "conversation"), now_s, set);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(frame, "conversations"), i, c)
		found += omr_files_messages(f, c, now_s, set);
	return found;
}

json_t *omr_files_decorate(struct omr_files *f, const json_t *frame, int64_t now_s)
{
	json_t *copy;
	if (!f || !omr_files_frame(f, (json_t *)frame, now_s, 0))
		return json_incref((json_t *)frame);
	copy = json_deep_copy(frame);
	if (copy)
		omr_files_frame(f, copy, now_s, 1);
	return copy;
}

json_t *omr_files_outbound(struct omr_files *f, const char *channel, const json_t *attachments,
			   int64_t now_s)
{
	json_t *out = NULL, *a;
	size_t i;
	json_array_foreach(attachments, i, a) {
		char *link = f ? omr_files_attachment_link(f, channel, a, now_s) : NULL;
		if (!link)
			continue;
		char *path = omr_asprintf("%s/%s/%s", f->root, channel,
					  json_string_value(json_object_get(a, "sha256")));
		if (!out)
			out = json_array();
		json_array_append_new(out, json_pack("{s:O,s:O,s:O,s:O,s:s,s:s}", "name",
						     json_object_get(a, "name"), "type",
						     json_object_get(a, "type"), "size",
						     json_object_get(a, "size"), "sha256",
						     json_object_get(a, "sha256"), "path", path,
						     "url", link));
		free(path);
		free(link);
	}
	return out;
}
