"""Personal data never reaches the log at `info` (docs/operations.md, Logs).

One daemon at log level info with the web chat, e-mail (LMTP in, SMTP out
to a local sink) and WhatsApp (webhooks, a local fake Graph API) channels.
Chat, e-mail and WhatsApp traffic carries distinctive markers in every
field a customer fills (message text, names, e-mail addresses, phone
numbers, subjects, client message ids), in agents' replies, and in what
servers answer back (an SMTP refusal quoting the address, a bounce's
diagnostic, a Graph API error, a failed status), including malformed and
refused input that takes the error and warning paths. Afterwards none of
the markers may appear anywhere in the daemon's log."""
import json
import secrets
import time

import omrtest
from fakes import (FakeGraph, FakeSmtp, WA_TOKEN, WhatsAppHook, wa_envelope, wa_plugin)
from omrtest import (check, eq, log, token_hash, wait_for, free_port, Agent, Daemon,
                     Redis, Visitor)

M = "zq" + secrets.token_hex(5)            # in every marker
PHONE = "49" + str(secrets.randbelow(10 ** 10)).zfill(10)   # a customer's number

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { webchat: 20, email: 20, whatsapp: 20 }
""" % token_hash("alice-token-0123456789")


class LeakyGraph(FakeGraph):
    """The Graph API, answering an error that quotes the number and text
    when told to."""
    leak = 0

    def answer(self, path, body):
        if self.leak:
            self.leak -= 1
            return 400, {"error": {"message": "(#131026) Message undeliverable to %s: %s-graph"
                                   % (PHONE, M), "code": 131026}}
        return super().answer(path, body)


def mail(frm, subject, body, msgid, extra=""):
    return ("From: %s\r\nTo: support@example.com\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n%s\r\n%s\r\n"
            % (frm, subject, msgid, extra, body)).encode()


def lmtp(port, data, sender):
    import smtplib
    c = smtplib.LMTP("127.0.0.1", port)
    try:
        c.ehlo_or_helo_if_needed()
        c.mail(sender)
        c.rcpt("support@example.com")
        c.putcmd("data")
        code, _ = c.getreply()
        if code != 354:
            return code
        q = smtplib.quotedata(data.decode("latin-1")).encode("latin-1")
        c.send(q + (b"" if q.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        return c.getreply()[0]
    finally:
        try:
            c.quit()
        except Exception:
            pass


def take(alice, channel):
    """Accept the next offer on channel (others are left to expire); the
    conversation id."""
    deadline = time.time() + 20
    while True:
        o = alice.expect("offer", timeout=max(0.1, deadline - time.time()))
        if o["conversation"]["channel"] == channel:
            return alice.accept(o["offer"])["conversation"]["id"]


def chat(d, alice):
    v = Visitor(d, name="%s-name Jansen" % M, email="%s.mail@example.com" % M)
    eq(v.say("%s-text my address is Kerkstraat 1" % M, cmid="%s-cmid" % M)["type"], "ack",
       "a chat message with markers is stored")
    cid = take(alice, "webchat")
    eq(alice.reply(cid, "%s-reply dear customer" % M)["type"], "ack", "the agent answers")
    # hostile: bad e-mail, a huge name, broken JSON, an oversized text, bad frames
    for hello in ({"type": "hello", "email": "%s@@bad" % M},
                  {"type": "hello", "name": M * 2000},
                  {"type": "hello", "name": 12, "email": ["%s" % M]}):
        ws = d.ws()
        ws.send(hello)
        try:
            ws.recv(3)
        except Exception:
            pass
        ws.close()
    ws = d.ws()
    ws.send_frame(0x1, ("{\"type\": \"hello\", \"name\": \"%s-broken" % M).encode())
    try:
        ws.recv(3)
    except Exception:
        pass
    ws.close()
    v2 = Visitor(d, name="%s-second" % M)
    v2.say(M * 4000, cmid="big")
    v2.ws.send({"type": "message", "text": "%s-notext" % M})
    v2.ws.send({"type": "%s-type" % M, "text": M})
    v2.ws.send({"type": "message", "text": 5, "client_msg_id": "%s-bad" % M})
    time.sleep(0.5)
    v2.close()
    v.close()
    return cid


def email(d, alice, lmtp_port, smtp):
    addr = "%s.customer@example.net" % M
    code = lmtp(lmtp_port, mail('"%s-fromname Smit" <%s>' % (M, addr), "%s-subject invoice" % M,
                                "%s-body my IBAN is NL00 BANK 0123 4567 89" % M,
                                "<pii-1@example.net>"), addr)
    eq(code, 250, "a mail with markers is stored")
    cid = take(alice, "email")
    # SMTP: a temporary refusal, then a permanent one, both quoting the address
    smtp.fail_next("451 4.2.0 <%s> %s-smtp451 mailbox busy" % (addr, M), 1)
    smtp.fail_next("550 5.1.1 <%s> %s-smtp550 user unknown" % (addr, M), 1)
    a = alice.reply(cid, "%s-emailreply dear customer" % M)
    eq(a["type"], "ack", "the e-mail reply is stored")
    mid = a["message"]["id"]
    wait_for(lambda: next(x for x in d.conversation(cid)["messages"] if x["id"] == mid)["status"]
             == "failed", timeout=20, what="the reply failed (550)")
    # a reply that goes out, then bounces with a diagnostic quoting the address
    a = alice.reply(cid, "%s-second reply" % M)
    mid2 = a["message"]["id"]
    wait_for(lambda: next(x for x in d.conversation(cid)["messages"] if x["id"] == mid2)["status"]
             == "sent", timeout=20, what="the second reply sent")
    our_id = next(x for x in d.conversation(cid)["messages"] if x["id"] == mid2)["channel_msg_id"]
    bounce = ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
              "To: support@example.com\r\nSubject: Undelivered: %s-bouncesubject\r\n"
              "Message-ID: <bounce-pii@mx.example.net>\r\nAuto-Submitted: auto-replied\r\n"
              "MIME-Version: 1.0\r\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r1\"\r\n\r\n"
              "--r1\r\nContent-Type: text/plain\r\n\r\n%s-bouncetext\r\n"
              "--r1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
              "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\n"
              "Diagnostic-Code: smtp; 550 5.1.1 <%s>: %s-diag user unknown\r\n"
              "--r1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.com\r\n"
              "Message-ID: %s\r\nSubject: Re\r\n--r1--\r\n"
              % (M, M, addr, M + "-status", addr, M, our_id)).encode()
    eq(lmtp(lmtp_port, bounce, ""), 250, "a bounce is taken")
    wait_for(lambda: next(x for x in d.conversation(cid)["messages"] if x["id"] == mid2)["status"]
             == "failed", timeout=10, what="the bounce marks the reply failed")
    # many mails from one sender (rate limit), an auto-reply, malformed mails
    for i in range(3):
        lmtp(lmtp_port, mail(addr, "%s-rate %d" % (M, i), "%s-ratebody" % M,
                             "<pii-rate-%d@example.net>" % i), addr)
    lmtp(lmtp_port, mail(addr, "%s-ooo" % M, "%s-away" % M, "<pii-ooo@example.net>",
                         "Auto-Submitted: auto-replied\r\n"), "")
    eq(lmtp(lmtp_port, ("Subject: %s-nofrom\r\n\r\n%s-nofrombody\r\n" % (M, M)).encode(), addr),
       550, "a mail without From is refused")
    eq(lmtp(lmtp_port, mail(addr, "%s-big" % M, M * 20000, "<pii-big@example.net>"), addr), 552,
       "an oversized mail is refused")
    lmtp(lmtp_port, ("From: <%s>\r\nContent-Type: multipart/mixed; boundary=\"%s\r\n\r\n"
                     "--%s\r\n%s\r\n" % (addr, M, M, M)).encode("latin-1") + b"\xff\xfe" + M.encode(),
         addr)
    return cid


def whatsapp(d, alice, graph):
    hook = WhatsAppHook(d)
    msg = {"from": PHONE, "id": "wamid.PII1", "timestamp": "1732531200", "type": "text",
           "text": {"body": "%s-watext call me on %s" % (M, PHONE)}}
    contacts = [{"profile": {"name": "%s-waname Pietersen" % M}, "wa_id": PHONE}]
    st, body = hook.post(wa_envelope([msg], contacts=contacts))
    eq(st, 200, "a WhatsApp message with markers is stored")
    cid = take(alice, "whatsapp")
    graph.leak = 3
    a = alice.reply(cid, "%s-wareply" % M)
    eq(a["type"], "ack", "the WhatsApp reply is stored")
    mid = a["message"]["id"]
    wait_for(lambda: next(x for x in d.conversation(cid)["messages"] if x["id"] == mid)["status"]
             == "failed", timeout=20, what="the Graph API refused the reply")
    # a reply that goes out, then a status 'failed' whose error quotes the text
    graph.leak = 0
    a = alice.reply(cid, "%s-wareply2" % M)
    mid2 = a["message"]["id"]
    wait_for(lambda: next(x for x in d.conversation(cid)["messages"] if x["id"] == mid2)
             .get("channel_msg_id"), timeout=20, what="the second reply sent")
    wamid = next(x for x in d.conversation(cid)["messages"] if x["id"] == mid2)["channel_msg_id"]
    status = {"id": wamid, "status": "failed", "timestamp": "1732531300", "recipient_id": PHONE,
              "errors": [{"code": 131047, "title": "%s-errtitle %s" % (M, PHONE),
                          "error_data": {"details": "%s-details" % M}}]}
    st, _ = hook.post(wa_envelope(statuses=[status]))
    eq(st, 200, "a failed status is taken")
    # hostile payloads: unknown types, broken JSON, wrong shapes, huge text
    hostile = [
        {"from": PHONE, "id": "wamid.PII2", "timestamp": "1", "type": "%s-type" % M,
         M: {"body": M}},
        {"from": "%s-from" % M, "id": "wamid.PII3", "timestamp": "x", "type": "text",
         "text": {"body": M}},
        {"from": PHONE, "id": "wamid.PII4", "timestamp": "1", "type": "text",
         "text": {"body": M * 30000}},
        {"from": PHONE, "id": "%s-id" % M, "timestamp": "1", "type": "text", "text": M},
    ]
    for h in hostile:
        hook.post(wa_envelope([h], contacts=[{"profile": {"name": M}, "wa_id": PHONE}]))
    hook.post(None, raw=("{\"object\": \"%s\", \"entry\": [" % M).encode())
    hook.post({"object": "whatsapp_business_account", "entry": [{"id": M, "changes": M}]})
    return cid


def test(tmp):
    redis = Redis(tmp)
    smtp = FakeSmtp()
    graph = LeakyGraph(WA_TOKEN)
    lmtp_port = free_port()
    d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS, log_level="info",
               extra_plugins=omrtest.email_plugin(lmtp_port, smtp.port, max_size=100000,
                                                  send_attempts=2, sender_rate_max=2)
               + wa_plugin(graph.base, "24h"))
    d.start()
    alice = Agent(d, token="alice-token-0123456789")
    convs = [chat(d, alice), email(d, alice, lmtp_port, smtp), whatsapp(d, alice, graph)]
    for cid in convs:
        alice.send({"type": "close", "conversation": cid})
        alice.expect("status")
    time.sleep(1.0)  # what the daemon logs about the last frames
    check(d.alive() and d.healthy(), "the daemon is healthy after it all")
    d.stop()
    text = d.log_text()
    log("the log has %d lines" % text.count("\n"))
    check(" INFO " in text, "the log is at info (it says something)")
    leaks = [l for l in text.splitlines() if M in l or PHONE in l]
    for l in leaks[:20]:
        log("LEAK: " + l[:300])
    eq(len(leaks), 0, "no marker of personal data in the log")
    # the same traffic at debug would show them: the test can see a leak
    smtp.close()
    graph.close()


omrtest.run(test)
