/* Fuzz harness: what agents' and customers' files meet before they are
 * kept (omr_media.h, omr_mediafile.h): the type sniffed from the bytes,
 * the checks (size, type list), the base64 of an upload's chunk and the
 * name an upload gives. Decoded bytes must fit the buffer, a kept name
 * must hold no path separator, control character or invalid UTF-8. A URL
 * a channel's token may go to over plain http (omr_url_token_ok) must be
 * this host, with no user info, as curl reads it too. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <omniroute/plugin.h>

#include "omr_media.h"
#include "omr_mediafile.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* what curl would connect to for a plain http URL the rule took: this host */
static void check_token_url(const char *url)
{
	if (!omr_url_token_ok(url) || strncmp(url, "http://", 7) != 0)
		return;
	CURLU *u = curl_url();
	char *host = NULL, *user = NULL;
	struct in_addr v4;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER)
			abort();
		if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		    strcasecmp(host, "localhost") != 0 && strcmp(host, "[::1]") != 0 &&
		    !(inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127))
			abort();
	}
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *const types[] = { "image/jpeg", "image/png", "application/pdf", NULL };
	const char *type;
	char *msg = NULL;
	unsigned char out[64];

	const char *sniffed = omr_mediafile_sniff(data, size);
	const char *code = omr_media_check(types, 4096, data, size, &type, &msg);
	if (!code && (!type || size == 0 || size > 4096 || !omr_mediafile_allowed(types, type)))
		abort();
	if (sniffed != type)
		abort();
	free(msg);

	long n = omr_media_b64_decode((const char *)data, size, out, sizeof(out));
	if (n > (long)sizeof(out))
		abort();

	char *s = omr_strndup((const char *)data, size);
	check_token_url(s);
	char *name = omr_media_file_name(s);
	if (name) {
		size_t len = strlen(name);
		if (!len || len > 255 || strchr(name, '/') || strchr(name, '\\') ||
		    !omr_utf8_valid(name, len))
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
				abort();
	}
	free(name);
	free(s);
	return 0;
}
