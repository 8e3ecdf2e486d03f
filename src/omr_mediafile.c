/* omr_mediafile: see omr_mediafile.h. */
#define _GNU_SOURCE /* mkostemp */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "omr_mediafile.h"

/* All of data to fd, synced; 0, or -1 with errno. */
static int omr_mediafile_write(int fd, const unsigned char *data, size_t len)
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

int omr_mediafile_store(const char *dir, const char *sha, const unsigned char *data, size_t len)
{
	char path[4200], tmp[4300];
	struct stat sb;
	if (snprintf(path, sizeof(path), "%s/%s", dir, sha) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (stat(path, &sb) == 0 && (size_t)sb.st_size == len)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = omr_mediafile_write(fd, data, len), e = errno;
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

/* ---- types ---- */

static int omr_mediafile_at(const unsigned char *d, size_t len, size_t off, const char *magic,
			    size_t n)
{
	return len >= off + n && memcmp(d + off, magic, n) == 0;
}

/* ISO base media (MP4, M4A): "ftyp" at 4, the brand after it. */
static const char *omr_mediafile_iso(const unsigned char *d, size_t len)
{
	if (!omr_mediafile_at(d, len, 4, "ftyp", 4) || len < 12)
		return NULL;
	if (omr_mediafile_at(d, len, 8, "M4A ", 4) || omr_mediafile_at(d, len, 8, "M4B ", 4))
		return "audio/mp4";
	/* heic/avif images are ISO files too: not taken as video */
	if (omr_mediafile_at(d, len, 8, "heic", 4) || omr_mediafile_at(d, len, 8, "heix", 4) ||
	    omr_mediafile_at(d, len, 8, "avif", 4) || omr_mediafile_at(d, len, 8, "mif1", 4))
		return NULL;
	return "video/mp4";
}

/* MPEG audio: an ID3 tag, or a frame sync (11 bits set) of layer III. */
static int omr_mediafile_mp3(const unsigned char *d, size_t len)
{
	if (omr_mediafile_at(d, len, 0, "ID3", 3))
		return 1;
	return len >= 3 && d[0] == 0xff && (d[1] & 0xe0) == 0xe0 && (d[1] & 0x06) == 0x02 &&
	       (d[2] & 0xf0) != 0xf0 && (d[2] & 0x0c) != 0x0c;
}

const char *omr_mediafile_sniff(const unsigned char *d, size_t len)
{
	if (!d)
		return NULL;
	if (omr_mediafile_at(d, len, 0, "\xff\xd8\xff", 3))
		return "image/jpeg";
	if (omr_mediafile_at(d, len, 0, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (omr_mediafile_at(d, len, 0, "GIF87a", 6) || omr_mediafile_at(d, len, 0, "GIF89a", 6))
		return "image/gif";
	if (omr_mediafile_at(d, len, 0, "RIFF", 4) && omr_mediafile_at(d, len, 8, "WEBP", 4))
		return "image/webp";
	if (omr_mediafile_at(d, len, 0, "%PDF-", 5))
		return "application/pdf";
	if (omr_mediafile_at(d, len, 0, "OggS", 4))
		return "audio/ogg";
	if (omr_mediafile_at(d, len, 0, "#!AMR\n", 6))
		return "audio/amr";
	if (omr_mediafile_mp3(d, len))
		return "audio/mpeg";
	return omr_mediafile_iso(d, len);
}

int omr_mediafile_known(const char *type)
{
	static char *const known[] = { "image/jpeg", "image/png", "image/gif", "image/webp",
				       "application/pdf", "audio/ogg", "audio/amr", "audio/mpeg",
				       "audio/mp4", "video/mp4", NULL };
	return omr_mediafile_allowed(known, type);
}

int omr_mediafile_allowed(char *const *types, const char *type)
{
	for (size_t i = 0; types && type && types[i]; i++)
		if (strcmp(types[i], type) == 0)
			return 1;
	return 0;
}
