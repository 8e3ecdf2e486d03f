/*
 * attach: the attachment store, a directory of files named by the SHA-256
 * of their bytes (paths.state_dir/attachments/email). A file is written
 * once, under a temporary name, synced and renamed into place, and the
 * directory synced, before the mail is acknowledged; an identical
 * attachment of another mail finds its file there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "email.h"

int em_attach_store(const char *dir, const char *sha, const unsigned char *data, size_t len)
{
	char path[4200], tmp[4300];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", dir, sha);
	if (stat(path, &sb) == 0 && (size_t)sb.st_size == len)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
