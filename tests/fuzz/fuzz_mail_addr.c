/* Fuzz harness: omr_mail_addr_ok (plugin.h), the check of an agent's Cc
 * addresses (docs/agent-protocol.md "Cc on e-mail") and of what the e-mail
 * plugin keeps of a mail's Cc. An address it passes goes into a mail
 * header and an SMTP RCPT TO: it must hold nothing that ends either (CR,
 * LF, NUL, space, <>, comma...), one '@', and fit 254 bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <omniroute/plugin.h>

#include "omr_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = omr_strndup((const char *)data, size);
	if (omr_mail_addr_ok(s)) {
		const char *at = strchr(s, '@');
		if (strlen(s) > 254 || !at || strchr(at + 1, '@') || at == s || at - s > 64 ||
		    strpbrk(s, "\r\n\t <>,;:\"()[]\\"))
			abort();
		for (const char *p = s; *p; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				abort();
	}
	free(s);
	return 0;
}
