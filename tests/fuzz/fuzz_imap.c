/* Fuzz harness: the e-mail channel's reading of IMAP answers (STATUS and
 * UID SEARCH, as the server sends them) and of imap_url. UIDs must come
 * out ascending, without repeats, above the position and within the
 * bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/email/imap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long v, n, uids[16];
	const char *s = (const char *)data;
	unsigned long long after = size ? data[0] % 8 : 0;

	(void)em_imap_parse_status(s, size, &v, &n);
	size_t k = em_imap_parse_search(s, size, after, uids, 16);
	if (k > 16)
		abort();
	for (size_t i = 0; i < k; i++)
		if (uids[i] <= after || (i && uids[i] <= uids[i - 1]) || uids[i] > 0xffffffffULL)
			abort();
	char *url = malloc(size + 1), *err = NULL;
	memcpy(url, data, size);
	url[size] = '\0';
	if (em_imap_url_check(url, &err) < 0) {
		if (!err)
			abort();
		free(err);
	}
	free(url);
	return 0;
}
