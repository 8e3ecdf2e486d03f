/* Fuzz harness: the LMTP server's state machine. Input bytes are what an
 * MTA (or anybody reaching the port) sends, fed in pieces of varying
 * size; each complete message is answered as stored. The session must
 * never stall with input left, nor answer a message it did not get, nor
 * hand over one over max_size, nor hold more than max_size and a command
 * line however long the lines are. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/email/lmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lmtp_limits lim = { .max_size = 4096, .max_rcpt = 4, .max_errors = 50 };
	struct lmtp *l = lmtp_new(&lim, "fuzz.example");
	size_t off = 0, piece = 1 + (size ? data[0] % 64 : 0);
	const char *ok[4] = { "250 2.0.0 ok", "250 2.0.0 ok", "250 2.0.0 ok", "250 2.0.0 ok" };

	lmtp_greet(l);
	while (off < size) {
		size_t n = size - off < piece ? size - off : piece, used = 0;
		enum lmtp_result r = lmtp_feed(l, (const char *)data + off, n, &used);
		if (used > n)
			abort();
		off += used;
		if (r == LMTP_MESSAGE) {
			size_t len;
			char *d = lmtp_take_data(l, &len);
			if (!lmtp_busy(l) || lmtp_recipients(l) == 0 || lmtp_recipients(l) > 4 ||
			    len > lim.max_size || !d)
				abort();
			free(d);
			lmtp_done(l, ok);
			if (lmtp_busy(l))
				abort();
		} else if (r == LMTP_CLOSE) {
			break;
		} else if (used < n) {
			abort(); /* MORE means every byte was taken */
		}
		size_t olen;
		lmtp_out(l, &olen);
		lmtp_out_clear(l);
		/* the message, a command line (2048, in a doubling buffer), the
		 * answers to one piece */
		if (lmtp_buffered(l) > lim.max_size + 1 + 4096 + 4096)
			abort();
	}
	lmtp_free(l);
	return 0;
}
