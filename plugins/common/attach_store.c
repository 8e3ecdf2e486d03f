/*
 * attach_store: the attachment store of a channel plugin, a directory of
 * files named by the SHA-256 of their bytes
 * (paths.state_dir/attachments/<channel>: email, webchat), which
 * omr_files links to for agents. Compiled into each plugin that keeps
 * files (plugins link nothing of the daemon's). A file is written
 * once, under a temporary name, synced and renamed into place, and the
 * directory synced, before the message is acknowledged; an identical
 * attachment of another message finds its file there.
 *
 * Threads: called on worker threads, several at once, maybe for the same
 * file: each writes its own temporary file (mkostemp), and the rename of
 * equal bytes onto one name is atomic.
 */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach_store.h"

/* All of data to fd, synced; 0, or -1 with errno. */
static int omr_attach_write(int fd, const unsigned char *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		off += (size_t)w;
	}
	/* mkostemp made it 0600 */
	return fchmod(fd, 0640) < 0 || fsync(fd) < 0 ? -1 : 0;
}

int omr_attach_store(const char *dir, const char *sha, const unsigned char *data, size_t len)
{
	char path[4200], tmp[4300];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", dir, sha);
	if (stat(path, &sb) == 0 && (size_t)sb.st_size == len)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = omr_attach_write(fd, data, len), e = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -1;
		e = errno;
	}
	if (rc < 0) {
		unlink(tmp);
		errno = e;
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
