"""Cc on e-mail (issue 17): the customer's mail's Cc is kept with the
message (meta.cc, our own address and the sender left out) for the agent's
reply-all; an agent's reply with `cc` goes out with a Cc header and every
address in the SMTP RCPT TO list, and its stored message keeps the Cc.
Hostile cc values (a CRLF header injection, 1000 addresses, non-strings,
not a list, an address in brackets, cc on a web chat conversation, cc with
a template) are refused with a clear error naming the reply's
client_msg_id; nothing is stored or sent for them, and the daemon goes on
serving. A reply left unsent by a restart goes out again from the outbox
with its Cc."""
import email
import email.policy

import omrtest
from fakes import FakeSmtp
from omrtest import check, eq, Agent, Daemon, Redis, Visitor, wait_for, free_port

# alice answers mail and web chats (BASE_AGENTS: web chats only)
AGENTS = omrtest.quick_agents().replace("capacity: { webchat: 3 }",
                                        "capacity: { email: 20, webchat: 3 }", 1)

MAIL = ("From: Eva Jansen <Eva@Example.NET>\r\n"
        "To: Support <support@example.com>, Piet <piet@example.org>\r\n"
        "Cc: Bob <Bob@Example.ORG>, support@example.com, eva@example.net, "
        "Team <team@example.net>, Børre <børre@example.org>, x..y@example.org, "
        "z@-bad.example, lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@example.org\r\n"
        "Subject: Offerte\r\nMessage-ID: <cc-1@example.net>\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Graag een offerte, ook naar Bob en het team.\r\n").encode()


def refused(agent, conv, cc, want, cmid, **extra):
    agent.send({"type": "reply", "conversation": conv, "text": "hallo", "client_msg_id": cmid,
                "cc": cc, **extra})
    r = agent.expect("ack", "error")
    eq((r["type"], r.get("code"), r.get("client_msg_id")), ("error", "bad_request", cmid),
       "cc %s: refused" % want)
    check(want in r.get("message", ""), "cc %s: the error says '%s' (%r)" %
          (want, want, r.get("message")))


def test(tmp):
    smtp = FakeSmtp()
    redis = Redis(tmp)
    lport = free_port()
    d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING.replace(
                   "skills: [general]", "skills: [general, billing, tech]"), agents=AGENTS,
               extra_plugins=omrtest.email_plugin(lport, smtp.port, send_attempts=20),
               conf_extra="limits: {resend_after: 2s, resend_tries: 3}\n").start()
    alice = Agent(d, "alice")

    # ---- the customer's mail: its Cc kept, but ours and the sender's
    eq(omrtest.lmtp_deliver(lport, MAIL, "eva@example.net")[0], 250, "delivered")
    conv = alice.accept(alice.expect("offer")["offer"])["conversation"]
    cid = conv["id"]
    eq(conv["messages"][0]["meta"].get("cc"), ["bob@example.org", "team@example.net"],
       "meta.cc: the mail's Cc, lower case, without our address and the sender's, and "
       "without what a reply may not name (non-ASCII, a double dot, a bad domain, a local "
       "part over 64)")

    # ---- hostile cc values: refused, nothing stored, nothing sent
    refused(alice, cid, ["bob@example.org\r\nBcc: spy@evil.example"], "cc[0]: not a mail address",
            "h1")
    refused(alice, cid, ["a@b.example", "x@y.example\nSubject: owned"],
            "cc[1]: not a mail address", "h2")
    refused(alice, cid, ["u%d@example.org" % i for i in range(1000)], "at most 20", "h3")
    refused(alice, cid, ["u%d@example.org" % i for i in range(21)], "at most 20", "h4")
    refused(alice, cid, [1, 2], "cc[0]: not a string", "h5")
    refused(alice, cid, [None], "cc[0]: not a string", "h6")
    refused(alice, cid, "bob@example.org", "a list of mail addresses", "h7")
    refused(alice, cid, {"to": "bob@example.org"}, "a list of mail addresses", "h8")
    refused(alice, cid, ["<bob@example.org>"], "cc[0]: not a mail address", "h9")
    refused(alice, cid, ["Bob <bob@example.org>"], "cc[0]: not a mail address", "h10")
    refused(alice, cid, ["bob@example.org, spy@evil.example"], "cc[0]: not a mail address", "h11")
    refused(alice, cid, ["bob smith@example.org"], "cc[0]: not a mail address", "h12")
    refused(alice, cid, ["b\u00f8b@example.org"], "cc[0]: not a mail address", "h18")
    refused(alice, cid, ["bob@"], "cc[0]: not a mail address", "h13")
    refused(alice, cid, [".bob@example.org"], "cc[0]: not a mail address", "h14")
    refused(alice, cid, ["bob@-example.org"], "cc[0]: not a mail address", "h15")
    refused(alice, cid, ["b" * 65 + "@example.org"], "cc[0]: not a mail address", "h16")
    refused(alice, cid, ["bob@example.org"], "not with a template", "h17", template="x")
    eq(len(d.conversation(cid)["messages"]), 1, "nothing stored for a refused cc")

    # ---- the reply with Cc: the header and the envelope
    alice.send({"type": "reply", "conversation": cid, "client_msg_id": "r1",
                "text": "Beste Eva,\n\nIn de bijlage de offerte.\n\nAlice",
                "cc": ["bob@example.org", "carol.de-vries+offerte@sub.example.com"]})
    a = alice.expect("ack", "error")
    eq(a["type"], "ack", "the reply with cc is stored (%r)" % a)
    eq(a["message"]["meta"].get("cc"), ["bob@example.org", "carol.de-vries+offerte@sub.example.com"],
       "the stored reply keeps its Cc")
    wait_for(lambda: len(smtp.mails) >= 1, what="the reply at the SMTP sink")
    frm, rcpts, data = smtp.mails[0]
    out = email.message_from_bytes(data, policy=email.policy.default)
    eq(frm, "<support@example.com>", "envelope sender")
    eq(rcpts, ["<eva@example.net>", "<bob@example.org>",
               "<carol.de-vries+offerte@sub.example.com>"],
       "RCPT TO: the customer, then the Cc")
    eq(str(out["To"]), "eva@example.net", "To: the customer")
    eq([a.addr_spec for a in out["Cc"].addresses],
       ["bob@example.org", "carol.de-vries+offerte@sub.example.com"], "the Cc header")
    check(out["Bcc"] is None and b"spy@evil" not in data, "no injected header")
    wait_for(lambda: [m for m in d.conversation(cid)["messages"]
                      if m["direction"] == "out"][0]["status"] == "sent", what="reply sent")

    # a reply without cc: no Cc header, the customer alone
    eq(alice.reply(cid, "Nog een vraag?", cmid="r2")["type"], "ack", "a reply without cc")
    wait_for(lambda: len(smtp.mails) >= 2, what="the second reply at the SMTP sink")
    frm, rcpts, data = smtp.mails[1]
    out = email.message_from_bytes(data, policy=email.policy.default)
    eq((rcpts, out["Cc"]), (["<eva@example.net>"], None), "without cc: no Cc")
    # an empty list is no Cc either
    alice.send({"type": "reply", "conversation": cid, "client_msg_id": "r3", "text": "Groet",
                "cc": []})
    eq(alice.expect("ack", "error")["type"], "ack", "cc: [] is taken")
    wait_for(lambda: len(smtp.mails) >= 3, what="the third reply at the SMTP sink")
    eq(smtp.mails[2][1], ["<eva@example.net>"], "cc []: the customer alone")

    # ---- cc on a web chat conversation: refused; the chat goes on
    v = Visitor(d, name="Wim")
    v.say("Hallo, een vraag over mijn order")
    o = alice.expect("offer")
    wid = alice.accept(o["offer"])["conversation"]["id"]
    refused(alice, wid, ["bob@example.org"], "only on an e-mail conversation", "w1")
    eq(alice.reply(wid, "Waarmee kan ik helpen?", cmid="w2")["type"], "ack",
       "the daemon keeps serving: a plain reply on the chat")
    eq(len(smtp.mails), 3, "no mail for anything refused")
    check(d.proc.poll() is None, "the daemon runs")
    v.close()

    # ---- reply-all: the mail's own Cc, as the console sends it back
    alice.send({"type": "reply", "conversation": cid, "client_msg_id": "r5", "text": "Aan allen",
                "cc": conv["messages"][0]["meta"]["cc"]})
    eq(alice.expect("ack", "error")["type"], "ack", "a reply-all with the mail's Cc is taken")
    wait_for(lambda: len(smtp.mails) >= 4, what="the reply-all at the SMTP sink")
    eq(smtp.mails[3][1], ["<eva@example.net>", "<bob@example.org>", "<team@example.net>"],
       "reply-all: RCPT TO the customer and the mail's Cc")

    # ---- a reply not sent before a restart: the outbox sends it again,
    # with its Cc (kept in meta.cc)
    smtp.fail_next("451 4.3.0 busy", 1000)
    alice.send({"type": "reply", "conversation": cid, "client_msg_id": "r4", "text": "Nog iets",
                "cc": ["dave@example.org"]})
    eq(alice.expect("ack", "error")["type"], "ack", "a reply with cc while the server is busy")
    wait_for(lambda: len(smtp.failures) < 1000, what="the first try refused")
    alice.close()
    d.stop()
    with smtp.lock:
        smtp.failures.clear()
    d.start()
    wait_for(lambda: len(smtp.mails) >= 5, timeout=20, what="the reply sent again after the restart")
    frm, rcpts, data = smtp.mails[4]
    out = email.message_from_bytes(data, policy=email.policy.default)
    eq((rcpts, [a.addr_spec for a in out["Cc"].addresses]),
       (["<eva@example.net>", "<dave@example.org>"], ["dave@example.org"]),
       "the outbox's resend keeps the Cc")
    with open(d.logfile, encoding="utf-8", errors="replace") as f:
        check("not sent in time; sending it again" in f.read(), "sent again by the outbox")
    d.stop()
    smtp.close()


if __name__ == "__main__":
    omrtest.run(test)
