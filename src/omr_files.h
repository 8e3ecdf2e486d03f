/* omr_files: links to the files customers sent, for agents' browsers.
 *
 * A channel that keeps an attachment's bytes writes them to
 * state_dir/attachments/<channel>/<sha256> and says so in the attachment's
 * metadata ("sha256", "stored": true). Frames to agents get a "url" on each
 * such attachment this node has: /files/<payload>/<signature>, where the
 * payload (hex) names the channel, the file, its name and type and when the
 * link expires, and the signature is HMAC-SHA256 under a key this node made
 * at start. The edge serves a link after checking it; nothing else is
 * needed to read a file, and no link can name a path outside the store.
 *
 * The signing side runs on the main thread, the checking side on the edge
 * thread: the edge only reads the key and the root, fixed by
 * omr_files_new(); the cache of which files are here is the main
 * thread's. */
#ifndef OMR_FILES_H
#define OMR_FILES_H

#include <jansson.h>
#include <stdint.h>

#define OMR_FILES_PREFIX "/files/"
#define OMR_FILES_TTL_S (24 * 3600) /* a link works for a day, unless set otherwise */

struct omr_files;

/* What a checked link names. */
struct omr_file_ref {
	char channel[65];
	char sha256[65];
	int64_t expires; /* unix seconds */
	char name[256];
	char type[128];
};

enum omr_files_check {
	OMR_FILES_OK = 0,
	OMR_FILES_BAD = -1,     /* not a link of ours: malformed or signed by another key */
	OMR_FILES_EXPIRED = -2, /* ours, but too old */
};

/* root: the attachments directory (state_dir/attachments). NULL if no
 * key could be made. */
struct omr_files *omr_files_new(const char *root);
/* The same with a given key (32 bytes): tests, fuzzing. */
struct omr_files *omr_files_new_with_key(const char *root, const unsigned char key[32]);
void omr_files_free(struct omr_files *f);
/* How long links made from now on work (seconds, 1 or more). Main thread. */
void omr_files_set_ttl(struct omr_files *f, int64_t ttl_s);

/* A frame for an agent with a "url" on every stored attachment this node
 * has (a new reference; the frame itself when there is none). Main thread
 * only: whether a file is here is remembered for a minute. */
json_t *omr_files_decorate(struct omr_files *f, const json_t *frame, int64_t now_s);

/* The link of one file, or NULL when the fields cannot make one.
 * Caller frees. */
char *omr_files_link(const struct omr_files *f, const struct omr_file_ref *r);

/* Check a link (the path after OMR_FILES_PREFIX) at now_s; on OMR_FILES_OK
 * *r names the file, and path (size len) is where it is on disk. */
enum omr_files_check omr_files_check(const struct omr_files *f, const char *link, int64_t now_s,
				     struct omr_file_ref *r, char *path, size_t len);

/* What a channel needs to send the stored files of an outbound message
 * (attachments: its list): a list of {name, type, size, sha256, path (on
 * this node's disk), url (a link, as the frames get)}, only of those
 * stored and here; NULL when there is none. Main thread. */
json_t *omr_files_outbound(struct omr_files *f, const char *channel, const json_t *attachments,
			   int64_t now_s);

/* Delete this node's copy of a stored file (an erasure or retention
 * purged the last message naming it: omr_privacy.c). 1 deleted, 0 not
 * here, -1 the names are not a channel and a SHA-256 or unlink failed
 * (errno). Main thread. */
int omr_files_remove(struct omr_files *f, const char *channel, const char *sha256);

/* The Content-Type to serve a file with: its own for types a browser shows
 * safely (images but SVG, plain text), which are shown (*inline_r 1); a PDF
 * as itself and anything else as application/octet-stream, downloaded. */
const char *omr_files_serve_type(const char *type, int *inline_r);

#endif
