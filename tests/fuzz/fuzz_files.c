/* Fuzz harness: file links (omr_files_check), the one parser a browser
 * reaches without a login. The input is tried twice: as a link as it
 * comes, and as the payload of a correctly signed link, so that the
 * fields behind the signature are parsed too. A link that passes must
 * name a file inside the store and make a link to the same file again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_files.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char KEY[32] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct omr_files *f = omr_files_new_with_key("/store", KEY);
	struct omr_file_ref r;
	char path[4096], sig[65];
	char *s = omr_strndup((const char *)data, size);
	char *link;

	omr_files_check(f, s, 1800000000, &r, path, sizeof(path));

	link = omr_malloc(size * 2 + 66);
	omr_hex(data, size, link);
	omr_hmac_sha256_hex(KEY, sizeof(KEY), data, size, sig);
	link[size * 2] = '/';
	memcpy(link + size * 2 + 1, sig, 65);
	if (omr_files_check(f, link, 0, &r, path, sizeof(path)) == OMR_FILES_OK) {
		char *again;
		if (strncmp(path, "/store/", 7) != 0 || strstr(path, "..") || strchr(path + 7, '/') ==
		    NULL || strchr(strchr(path + 7, '/') + 1, '/'))
			abort(); /* outside the store */
		struct omr_file_ref r2;
		char path2[4096];
		again = omr_files_link(f, &r);
		if (!again || omr_files_check(f, again + strlen(OMR_FILES_PREFIX), 0, &r2, path2,
					      sizeof(path2)) != OMR_FILES_OK ||
		    memcmp(&r, &r2, sizeof(r)) != 0 || strcmp(path, path2) != 0)
			abort(); /* what it names does not make a link to the same */
		free(again);
	}
	free(link);
	free(s);
	omr_files_free(f);
	return 0;
}
