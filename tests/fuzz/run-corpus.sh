#!/bin/sh
# Replay every fuzz corpus through its harness (see fuzz_main.c).
# Real fuzzing: ./configure --enable-fuzzing CC=clang && make check, then e.g.
#   tests/fuzz/fuzz_webchat -max_total_time=60 $srcdir/tests/fuzz/corpus/webchat
set -e
b=${OMR_BUILDDIR:-.}
s=${OMR_SRCDIR:-.}
for f in yaml_config webchat redis_url rules webhookbot faqbot whatsapp meta x mime lmtp imap files primary \
	reports_query explain sim sms search wc_identity canned outreach wa_templates media mail_addr panel; do
	"$b/tests/fuzz/fuzz_$f" "$s/tests/fuzz/corpus/$f"
done
