/*
 * attach_store: files of a channel plugin, named by their SHA-256, in the
 * attachment store (see attach_store.c).
 */
#ifndef OMR_ATTACH_STORE_H
#define OMR_ATTACH_STORE_H

#include <stddef.h>

/* Write an attachment as dir/sha (once: an existing file of that size is
 * kept) and sync it; 0, or -1 with errno. Blocks: for a worker thread;
 * safe with several at once. */
int omr_attach_store(const char *dir, const char *sha, const unsigned char *data, size_t len);

#endif
