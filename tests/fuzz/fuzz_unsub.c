/* Fuzz harness: the tokens of e-mail unsubscribe links and mailto
 * subjects (omr_unsub_check), as POST /unsubscribe?t=... and inbound mail
 * hand them over: any bytes. What checks must name a channel and an
 * address that make the very same token again; nothing else is ever
 * accepted, and the key never matters to a refusal's shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "omr_unsub.h"
#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char omr_fuzz_key[] = "0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct omr_unsub_ref r;
	enum omr_unsub_check c = omr_unsub_check(omr_fuzz_key, sizeof(omr_fuzz_key) - 1,
						 (const char *)data, size, 1800000000, 86400 * 365, &r);
	if (c == OMR_UNSUB_OK || c == OMR_UNSUB_EXPIRED) {
		char *again = omr_unsub_token(omr_fuzz_key, sizeof(omr_fuzz_key) - 1, r.channel,
					      r.address, r.made);
		if (!again || strlen(again) != size || memcmp(again, data, size) != 0)
			abort();
		free(again);
	} else if (r.channel[0] || r.address[0] || r.made) {
		abort(); /* a refusal names nobody */
	}
	if (size > OMR_UNSUB_TOKEN_MAX && c != OMR_UNSUB_TOO_LONG)
		abort();
	/* a token of ours for whatever the bytes spell, read back */
	char buf[400];
	size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
	memcpy(buf, data, n);
	buf[n] = '\0';
	char *t = omr_unsub_token(omr_fuzz_key, sizeof(omr_fuzz_key) - 1, "email", buf, 1700000000);
	if (t) {
		if (omr_unsub_check(omr_fuzz_key, sizeof(omr_fuzz_key) - 1, t, strlen(t), 1700000001,
				    86400, &r) != OMR_UNSUB_OK || strcmp(r.address, buf) != 0 ||
		    strcmp(r.channel, "email") != 0)
			abort();
		/* another key: never ours */
		if (omr_unsub_check("another key", 11, t, strlen(t), 1700000001, 86400, &r) !=
		    OMR_UNSUB_BAD)
			abort();
		free(t);
	}
	return 0;
}
