/*
 * omr_mediafile: the attachment store's files and what their bytes are.
 *
 * The store is a directory per channel (paths.state_dir/attachments/
 * <channel>) of files named by the SHA-256 of their bytes (omr_files.h
 * makes links to them). omr_mediafile_store writes one the way e-mail
 * attachments have always been written: under a temporary name, synced,
 * renamed into place, the directory synced; an identical file already
 * there is kept.
 *
 * This file stands alone (libc only): the daemon and the e-mail plugin
 * both build it, so that there is one way to write the store. Every
 * function is safe on any thread, several at once (each writer has its
 * own temporary file; the rename of equal bytes onto one name is atomic).
 */
#ifndef OMR_MEDIAFILE_H
#define OMR_MEDIAFILE_H

#include <stddef.h>

/* Write data (len bytes, SHA-256 sha as 64 hex digits) to dir/sha; 0, or
 * -1 with errno. Blocks (fsync): a worker thread's job. */
int omr_mediafile_store(const char *dir, const char *sha, const unsigned char *data, size_t len);

/* The media type the first bytes of a file show (magic numbers), or NULL
 * when they show none this knows: image/jpeg, image/png, image/gif,
 * image/webp, application/pdf, audio/ogg, audio/mpeg, audio/mp4,
 * video/mp4, audio/amr. A type claimed by a sender is never trusted. */
const char *omr_mediafile_sniff(const unsigned char *data, size_t len);

/* 1 when omr_mediafile_sniff can find this type (media.types lists only
 * such: omniroute -t refuses another). */
int omr_mediafile_known(const char *type);

/* 1 when type is in the NULL-terminated list (NULL list: none). */
int omr_mediafile_allowed(char *const *types, const char *type);

#endif
