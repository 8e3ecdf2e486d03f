"""Issue 14's "done when", as the admin would do it: the shipped
conf/routing.yaml and conf/agents.yaml, and the signal of
docs/proactive.md's curl example (read from the doc, the customer id
ours). Eva mailed once before (alice answered and wrapped it up); the
signal contacts her by e-mail, her usual channel (the shipped rule
"failed payment": the subject and text with the amount filled in), and
her answer is routed to billing, where alice gets its offer and takes it.
Counted: one mail to eva, one conversation for the signal, her answer
stored once in it."""
import email
import email.policy
import json
import os
import re

import omrtest
from fakes import FakeSmtp
from omrtest import SRCDIR, check, eq, log, Agent, Daemon, Redis, free_port, wait_for

FIRST = ("From: Eva Jansen <eva@example.net>\r\nTo: support@example.com\r\n"
         "Subject: Vraag over mijn factuur\r\nMessage-ID: <first-1@example.net>\r\n"
         "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=utf-8\r\n\r\n"
         "Goedemiddag, ik heb een vraag over mijn factuur.\r\n").encode()


def shipped(name):
    with open(os.path.join(SRCDIR, "conf", name)) as f:
        return f.read()


def doc_signal():
    """The JSON body of docs/proactive.md's signal example."""
    with open(os.path.join(SRCDIR, "docs", "proactive.md")) as f:
        m = re.search(r"curl -X POST [^\n]*/api/v1/signals \\\n\s*-d '([^']*)'", f.read())
    check(m is not None, "docs/proactive.md shows the signal's curl example")
    return json.loads(m.group(1))


def test(tmp):
    smtp = FakeSmtp()
    redis = Redis(tmp)
    lport = free_port()
    bot = "  - name: faqbot\n    path: %s/plugins/faqbot/.libs/faqbot.so\n" \
          "    config_file: %s/conf/faqbot.yaml\n" % (omrtest.BUILDDIR, SRCDIR)
    d = Daemon(tmp, redis, routing=shipped("routing.yaml"), agents=shipped("agents.yaml"),
               extra_plugins=omrtest.email_plugin(lport, smtp.port) + bot).start()
    alice = Agent(d, "alice", password="alice")

    # ---- eva mailed before: alice answered and wrapped it up
    eq(omrtest.lmtp_deliver(lport, FIRST, "eva@example.net")[0], 250, "eva's first mail")
    first = alice.accept(alice.expect("offer", timeout=15)["offer"])["conversation"]
    cust = first["customer"]["id"]
    alice.reply(first["id"], "Goedemiddag Eva, de factuur klopt; zie de bijlage bij uw account.")
    alice.send({"type": "close", "conversation": first["id"]})
    eq(alice.expect("status")["status"], "wrapup", "closed")
    alice.send({"type": "wrapup", "conversation": first["id"], "reason": "invoice unclear",
                "outcome": "resolved"})
    eq(alice.expect("unassigned")["reason"], "wrapped_up", "wrapped up")
    wait_for(lambda: len(smtp.mails) >= 1, timeout=20, what="alice's answer mailed")

    # ---- the doc's signal, for eva
    sig = doc_signal()
    eq(sig["type"], "payment.failed", "the doc's example is a failed payment")
    sig["customer"] = cust
    st, body = d.http("POST", "/api/v1/signals", sig)
    log("signal: %s %s" % (st, body))
    eq((st, body.get("decision"), body.get("rule")), (202, "contacted", "failed payment"),
       "the shipped rule contacts her")
    conv = body["conversation"]
    check(conv != first["id"], "a new conversation")

    # ---- by e-mail, her usual channel, with the amount filled in
    def subjects():
        return [email.message_from_bytes(dd, policy=email.policy.default)["Subject"] or ""
                for _, _, dd in smtp.mails]
    wait_for(lambda: any("payment" in x for x in subjects()), timeout=20,
             what="the signal's mail")
    log("mails to eva: %r" % subjects())
    mine = [i for i, x in enumerate(subjects()) if "payment" in x]
    eq(len(mine), 1, "one mail for the signal")
    frm, rcpt, data = smtp.mails[mine[0]]
    eq(rcpt, ["<eva@example.net>"], "to eva")
    m = email.message_from_bytes(data, policy=email.policy.default)
    check(m["Subject"].startswith("Your payment of EUR 12.50 did not go through"),
          "the shipped subject, the amount filled in (%r)" % m["Subject"])
    check("EUR 12.50" in m.get_body(("plain",)).get_content(), "the shipped text with the amount")

    # ---- her answer is routed: billing, alice takes it
    answer = ("From: Eva Jansen <eva@example.net>\r\nTo: support@example.com\r\n"
              "Subject: Re: %s\r\nMessage-ID: <answer-1@example.net>\r\n"
              "In-Reply-To: %s\r\nReferences: %s\r\n"
              "Date: Wed, 25 Nov 2026 11:00:00 +0100\r\nMIME-Version: 1.0\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n\r\n"
              "My card expired; can I pay by bank transfer?\r\n"
              % (m["Subject"], m["Message-ID"], m["Message-ID"])).encode()
    eq(omrtest.lmtp_deliver(lport, answer, "eva@example.net")[0], 250, "eva answers")
    o = alice.offer_for(conv, timeout=15)
    eq(o["conversation"]["queue"], "billing", "her answer waits in billing")
    eq(alice.accept(o["offer"])["type"], "assigned", "alice takes it")
    c = d.conversation(conv)
    ins = [x["text"] for x in c["messages"] if x["direction"] == "in"]
    for cc in d.api("/api/v1/conversations")["conversations"]:
        full = d.conversation(cc["id"])
        log("conversation %s %s %s: %r" % (cc["id"], cc["status"], cc.get("thread"),
            [(x["direction"], x["text"][:50]) for x in full["messages"]]))
    eq(len([t for t in ins if "bank transfer" in t]), 1, "her answer stored once, in it")


if __name__ == "__main__":
    omrtest.run(test)
