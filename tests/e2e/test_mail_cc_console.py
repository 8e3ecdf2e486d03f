#!/usr/bin/python3
"""End-to-end test of the Cc of an e-mail reply in the agent console, in a
real browser (tests/e2e/mail_cc_e2e.mjs, headless Chromium): a customer's
mail with a Cc waits in the queue; alice accepts it, finds its Cc
prefilled, removes one, adds one, and sends. The SMTP server (a fake: the
customer's mail server is a third party) gets the reply with the Cc header
and the addresses as recipients."""

import email
import email.policy

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from fakes import FakeSmtp
from omrtest import Daemon, Redis, check, eq, wait_for

AGENTS = omrtest.quick_agents().replace("capacity: { webchat: 3 }",
                                        "capacity: { webchat: 3, email: 3 }", 1)

MAIL = ("From: Eva Jansen <eva@example.net>\r\nTo: support@example.com\r\n"
        "Cc: Bob <bob@example.org>, Team <team@example.net>\r\n"
        "Subject: Offerte\r\nMessage-ID: <cc-e2e@example.net>\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nGraag een offerte.\r\n").encode()


def test(tmp):
    smtp = FakeSmtp()
    redis = Redis(tmp)
    lmtp = omrtest.free_port()
    d = Daemon(tmp, redis, routing=e2e_harness.routing(rules="  - name: any\n    queue: general\n"), agents=AGENTS,
               extra_plugins=omrtest.email_plugin(lmtp, smtp.port)).start()
    eq(omrtest.lmtp_deliver(lmtp, MAIL, "eva@example.net")[0], 250, "the customer's mail is taken")
    e2e_harness.run_script("mail_cc_e2e.mjs", 120, E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"])
    wait_for(lambda: len(smtp.mails) >= 1, what="the reply at the SMTP server")
    frm, rcpts, data = smtp.mails[0]
    out = email.message_from_bytes(data, policy=email.policy.default)
    eq(rcpts, ["<eva@example.net>", "<bob@example.org>", "<carol@example.com>"],
       "RCPT TO: the customer and the Cc alice left and added")
    eq([a.addr_spec for a in out["Cc"].addresses], ["bob@example.org", "carol@example.com"],
       "the Cc header")
    check("De offerte volgt." in out.get_body(("plain",)).get_content(), "the reply's text")
    check(d.alive(), "the daemon is still running")
    d.stop()
    redis.stop()
    smtp.close()


if __name__ == "__main__":
    e2e_harness.main(test)
