/*
 * omr_media: customers' media files, fetched from the provider into the
 * attachment store (omr_mediafile.h), and agents' files kept there.
 *
 * A channel that maps a provider webhook names a file it cannot hand over
 * as bytes with a "fetch" on the attachment (include/omniroute/plugin.h):
 *   {"name": ..., "type": <claimed>, "fetch": {"url": U, "bearer": T?,
 *    "lookup": true?}}
 * lookup: U answers JSON whose "url" is the file (WhatsApp Cloud API: GET
 * /{media-id}); the file is then fetched with the same bearer token.
 *
 * omr_media_fetch downloads every such attachment on the daemon's curl
 * multi handle (never blocking the loop), retries transport errors, 429
 * and 5xx (media.fetch_tries), caps the size (media.max_bytes), sniffs the
 * type from the bytes (the claim is not trusted) against media.types,
 * then hashes and writes the file on a worker thread. Each attachment
 * becomes either a stored one
 *   {"name", "type" (sniffed), "size", "sha256", "stored": true}
 * or one that is kept as a marker, so that the message is never lost:
 *   {"name", "type"?, "unavailable": true, "error": "attachment refused:
 *    too large ..." | "attachment refused: type ..." | "download failed: ..."}
 * The "fetch" (and its token) is never stored.
 *
 * Main thread only (the hashing and writing run on the jobs worker).
 */
#ifndef OMR_MEDIA_H
#define OMR_MEDIA_H

#include <stddef.h>
#include <jansson.h>

#include "omr_env.h"

struct omr_buf;
struct omr_curl;
struct omr_worker;
struct omr_media;

/* All borrowed; root: state_dir/attachments. */
struct omr_media *omr_media_new(const struct omr_env *env, struct omr_curl *curl,
				struct omr_worker *jobs, const char *root);
/* Fetches still under way end now (done with cancelled 1). */
void omr_media_stop(struct omr_media *m);
void omr_media_free(struct omr_media *m);

/* 1 when an attachment list holds something to fetch. */
int omr_media_wanted(const json_t *attachments);

/* status of a whole fetch: OMR_OK, or OMR_AGAIN (the daemon stopped
 * before it ended: nothing was decided, the sender should send again). */
typedef void (*omr_media_done)(void *arg, int status);

/* Fetch the attachments of list (an array; changed in place) of channel;
 * done runs once, never inside the call. */
void omr_media_fetch(struct omr_media *m, const char *channel, json_t *list, omr_media_done done,
		     void *arg);

/* Keep an agent's file (its bytes, taken; name) for channel: sniffed,
 * checked against media.types and media.max_bytes, written on the worker.
 * cb gets the attachment ({name, type, size, sha256, stored}; borrowed) or
 * an error code and message (never both); a refusal is told inside the
 * call. */
typedef void (*omr_media_kept)(void *arg, json_t *attachment, const char *code,
			       const char *message);
void omr_media_keep(struct omr_media *m, const char *channel, const char *name,
		    unsigned char *data, size_t len, omr_media_kept cb, void *arg);

/* Checks of a file's bytes before it is kept: NULL when they may be kept
 * (type_r: the sniffed type), else the error code ("too_large", "empty",
 * "type") and a malloc'ed message in *message_r. */
const char *omr_media_check(char *const *types, long long max_bytes, const unsigned char *data,
			    size_t len, const char **type_r, char **message_r);

/* Standard base64 (RFC 4648, padding only at the end, no white space) of
 * in (len bytes) into out (cap bytes): the bytes written, or -1 when in is
 * not base64 or does not fit. Pure, for fuzzing. */
long omr_media_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* An agent's file name as kept: its last path component (after / or \),
 * at most 255 bytes of valid UTF-8 without control characters; NULL when
 * nothing is left. Caller frees. Pure, for fuzzing. */
char *omr_media_file_name(const char *name);

void omr_media_metrics(const struct omr_media *m, struct omr_buf *b);

#endif
