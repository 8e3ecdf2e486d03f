"""The e-mail channel: delivery by LMTP to the running daemon (250 only
after the durable write; the protocol's errors; 552 over the size limit),
conversations read back through the admin API, an agent's reply arriving at
a local SMTP sink with the right threading headers, the customer's answer
joining the conversation (by In-Reply-To, by References, by the subject's
token), duplicates stored once, a bounce marking the reply failed, an
out-of-office reply stored but not routed, SMTP failures retried, a closed
conversation reopened; then the corpus of real-world mail in
tests/email/corpus checked against its manifest."""
import email
import email.policy
import json
import http.client
import os
import re
import smtplib
import signal
import socket
import threading
import time

import omrtest
from fakes import FakeSmtp
from omrtest import (check, eq, log, Agent, Daemon, Redis, wait_for, free_port, SRCDIR,
                     token_hash)

ROUTING = omrtest.ONE_QUEUE_ROUTING + """
rules:
  - name: outage
    when: 'text:lower():find("storing")'
    answer: {text: "Er is een storing in uw regio; om 18:00 is die verholpen.", reason: outage, then: park}
"""

AGENTS = """
agents:
  - id: alice
    name: Alice de Vries
    token: "%(alice)s"
    skills: { general: 3 }
    capacity: { email: 20, webchat: 1 }
""" % {"alice": token_hash("alice-token-0123456789")}

CORPUS = os.path.join(SRCDIR, "tests", "email", "corpus")


def plugin(lmtp_port, smtp_port):
    return omrtest.email_plugin(lmtp_port, smtp_port, from_name="Example Support",
                                max_size=200000, send_attempts=5, reopen_within="1h")


def mail(frm, subject, body, msgid, extra=""):
    return ("From: %s\r\nTo: support@example.com\r\nSubject: %s\r\nMessage-ID: %s\r\n"
            "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n%s\r\n%s\r\n"
            % (frm, subject, msgid, extra, body)).encode()


class Lmtp:
    def __init__(self, port):
        self.port = port

    def deliver(self, data, rcpts=("support@example.com",), sender="customer@example.net"):
        """Per recipient: (code, text)."""
        c = smtplib.LMTP("127.0.0.1", self.port)
        try:
            c.ehlo_or_helo_if_needed()
            c.mail(sender)
            for r in rcpts:
                code, text = c.rcpt(r)
                if code != 250:
                    raise RuntimeError("RCPT %s: %d %s" % (r, code, text))
            c.putcmd("data")
            code, text = c.getreply()
            if code != 354:
                raise RuntimeError("DATA: %d" % code)
            q = smtplib.quotedata(data.decode("latin-1")).encode("latin-1")
            if not q.endswith(b"\r\n"):
                q += b"\r\n"
            c.send(q + b".\r\n")
            return [c.getreply() for _ in rcpts]
        finally:
            try:
                c.quit()
            except smtplib.SMTPException:
                pass

    def raw(self, lines, read=1.0):
        """Send raw protocol lines; the server's replies as text."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.recv(4096)
        s.sendall(b"".join(l if isinstance(l, bytes) else l.encode() for l in lines))
        out = b""
        deadline = time.time() + read
        s.settimeout(0.2)
        while time.time() < deadline:
            try:
                d = s.recv(65536)
                if not d:
                    break
                out += d
            except socket.timeout:
                pass
        s.close()
        return out.decode("latin-1")


def convs(d):
    return d.api("/api/v1/conversations?channel=email&limit=200")["conversations"]


def conv_by_msgid(d, msgid):
    for c in convs(d):
        for m in d.conversation(c["id"])["messages"]:
            if (m.get("meta") or {}).get("message_id") == msgid:
                return d.conversation(c["id"]), m
    return None, None


def expect_in(agent):
    """The next customer message pushed to the agent (status updates of our
    own messages come as message frames too)."""
    while True:
        m = agent.expect("message")
        if m["message"].get("direction") == "in":
            return m


def sent_mail(smtp, n):
    wait_for(lambda: len(smtp.mails) >= n, what="mail %d at the SMTP sink" % n)
    frm, rcpts, data = smtp.mails[n - 1]
    return frm, rcpts, email.message_from_bytes(data, policy=email.policy.default)


def protocol(lm):
    out = lm.raw(["HELO x\r\n", "MAIL FROM:<a@b>\r\n", "LHLO client\r\n", "RCPT TO:<x@y>\r\n",
                  "DATA\r\n", "MAIL FROM:<a@b>\r\n", "RCPT TO:<nobody>\r\n", "NOOP\r\n",
                  "VRFY x\r\n", "FOO\r\n", "QUIT\r\n"])
    lines = [l[:3] for l in out.split("\r\n") if l and l[3:4] == " "]
    eq(lines, ["500", "503", "250", "503", "503", "250", "501", "250", "252", "500", "221"],
       "LMTP: HELO refused, LHLO first, RCPT needs MAIL, DATA needs RCPT, bad address, QUIT")
    out = lm.raw(["LHLO c\r\n", "X" * 5000 + "\r\n", "NOOP\r\n", "QUIT\r\n"])
    check("500 5.5.2 line too long" in out and "221" in out, "a line too long: refused, session goes on")
    out = lm.raw(["LHLO c\r\n", "MAIL FROM:<a@b> SIZE=999999999\r\n", "QUIT\r\n"])
    check("552 5.3.4" in out, "a declared SIZE over the limit: 552")
    out = lm.raw(["LHLO c\r\n"] + ["BOGUS\r\n"] * 25, read=1.5)
    check("421 4.7.0" in out, "too many errors: the connection is closed")


def test(tmp):
    smtp = FakeSmtp()
    redis = Redis(tmp)
    lport = free_port()
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS,
               extra_plugins=plugin(lport, smtp.port)).start()
    lm = Lmtp(lport)
    protocol(lm)
    alice = Agent(d, token="alice-token-0123456789")

    # ---- a customer writes: stored, routed, text and attachment kept
    first = ("From: =?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?= <Jose@Example.NET>\r\n"
             "To: Support <support@example.com>\r\nSubject: =?UTF-8?B?RmFjdHV1ciBub3ZlbWJlciDigqwxMjA=?=\r\n"
             "Message-ID: <first-1@example.net>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\n"
             "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
             "--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
             "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
             "Goedemorgen,=0D=0A=0D=0AMijn factuur klopt niet: =E9=E9n bedrag te veel.\r\n\r\n"
             "-- \r\nJos=E9 Garc=EDa\r\nTel 0612345678\r\n"
             "--b1\r\nContent-Type: application/pdf; name=\"factuur.pdf\"\r\n"
             "Content-Disposition: attachment; filename=\"factuur.pdf\"\r\n"
             "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK\r\n"
             "--b1--\r\n").encode()
    r = lm.deliver(first, sender="jose@example.net")
    eq(r[0][0], 250, "delivered: 250 after the durable write (%s)" % r[0][1].decode())
    o = alice.expect("offer")
    conv = alice.accept(o["offer"])["conversation"]
    cid = conv["id"]
    eq((conv["channel"], conv["customer"]["name"]), ("email", "José García"),
       "an e-mail conversation; the display name decoded")
    eq(conv["attrs"]["subject"], "Factuur november €120", "the subject decoded (RFC 2047)")
    m1 = conv["messages"][0]
    eq(m1["text"], "Goedemorgen,\n\nMijn factuur klopt niet: één bedrag te veel.",
       "the text in UTF-8, the signature cut")
    check("Tel 0612345678" in m1["meta"]["full_text"], "the full text is kept")
    att = m1["attachments"][0]
    eq((att["name"], att["type"], att["size"], att["stored"]),
       ("factuur.pdf", "application/pdf", 54, True), "the attachment's metadata")
    path = os.path.join(tmp, "state", "attachments", "email", att["sha256"])
    eq(os.path.getsize(path), 54, "and its bytes, stored by their SHA-256")
    attachment_links(d, att, path)
    check(conv["thread"].startswith("t_"), "a new thread")

    # ---- the same mail delivered again (the MTA retried): stored once
    r = lm.deliver(first, sender="jose@example.net")
    check(r[0][0] == 250 and b"seen before" in r[0][1], "a redelivery is recognised")
    eq(len(d.conversation(cid)["messages"]), 1, "and stored once")

    # ---- the agent's reply goes out by SMTP, threaded
    a = alice.reply(cid, "Beste José,\n\nWe passen de factuur aan.\n\nAlice")
    eq(a["type"], "ack", "the reply is stored")
    frm, rcpts, out = sent_mail(smtp, 1)
    eq((frm, rcpts), ("<support@example.com>", ["<jose@example.net>"]), "envelope")
    eq(out["In-Reply-To"], "<first-1@example.net>", "In-Reply-To: the customer's mail")
    check("<first-1@example.net>" in out["References"], "References")
    eq(out["Subject"], "Re: Factuur november €120 [#%s]" % conv["thread"],
       "the subject with the conversation's token")
    our_id = out["Message-ID"]
    check(our_id.startswith("<omr.%s.m_" % conv["thread"]) and our_id.endswith("@mail.example.com>"),
          "our Message-ID names the thread: %s" % our_id)
    eq(str(out["From"]), "Alice de Vries via Example Support <support@example.com>", "From")
    eq(out.get_content().replace("\r\n", "\n").strip(), "Beste José,\n\nWe passen de factuur aan.\n\nAlice",
       "the reply's text")
    mid = a["message"]["id"]
    status = lambda: next(x for x in d.conversation(cid)["messages"] if x["id"] == mid)  # noqa
    wait_for(lambda: status()["status"] == "sent", what="sent")
    eq(status()["channel_msg_id"], our_id, "the message knows its Message-ID")

    # ---- the customer answers: by In-Reply-To, by References, by the token
    r = lm.deliver(mail("jose@example.net", "Re: Factuur", "Dank u!\r\n\r\nOn Wed, Nov 25, 2026 at 10:05 AM Example Support <support@example.com> wrote:\r\n> We passen de factuur aan.\r\n",
                        "<a2@example.net>", "In-Reply-To: %s\r\nReferences: <first-1@example.net> %s\r\n" % (our_id, our_id)))
    eq(r[0][0], 250, "the answer is delivered")
    msg = expect_in(alice)
    eq((msg["conversation"], msg["message"]["text"]), (cid, "Dank u!"),
       "it joins the conversation by In-Reply-To; the quoted reply is cut")
    lm.deliver(mail("jose@example.net", "nog iets", "En nog een vraag.", "<a3@example.net>",
                    "References: <first-1@example.net>\r\n"))
    eq(expect_in(alice)["conversation"], cid, "by References to the customer's own mail")
    lm.deliver(mail("jose@example.net", "Re: iets anders [#%s]" % conv["thread"], "Via het onderwerp.",
                    "<a4@example.net>"))
    eq(expect_in(alice)["conversation"], cid, "by the token in the subject")
    eq(len(convs(d)), 1, "still one conversation")

    # ---- an out-of-office reply: stored, not routed
    ooo = mail("colleague@example.org", "Out of office", "I am away until Monday.", "<ooo-1@example.org>",
               "Auto-Submitted: auto-replied\r\n")
    eq(lm.deliver(ooo, sender="")[0][0], 250, "an auto-reply is taken")
    check(alice.none_of("offer", wait=1.0), "but no agent is offered it")
    c_ooo, m_ooo = conv_by_msgid(d, "<ooo-1@example.org>")
    eq((c_ooo["status"], m_ooo["kind"]), ("closed", "auto"), "it is kept, closed, as automatic")

    # ---- a bounce of our reply marks it failed
    bounce = ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: support@example.com\r\n"
              "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@mx.example.net>\r\n"
              "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
              "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r1\"\r\n\r\n"
              "--r1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
              "--r1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
              "Final-Recipient: rfc822; jose@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
              "Diagnostic-Code: smtp; 550 5.1.1 <jose@example.net>: user unknown\r\n"
              "--r1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.com\r\n"
              "Message-ID: %s\r\nSubject: Re: Factuur\r\n--r1--\r\n" % our_id).encode()
    eq(lm.deliver(bounce, sender="")[0][0], 250, "a bounce is taken")
    wait_for(lambda: status()["status"] == "failed", what="the bounce marks the reply failed")
    check("5.1.1" in status()["error"] and "user unknown" in status()["error"],
          "with the reason: %s" % status()["error"])

    # ---- SMTP trouble: 451 retried, 550 fails with the server's words
    smtp.fail_next("451 4.3.0 try again later", 2)
    a = alice.reply(cid, "Tweede antwoord.")
    mid2 = a["message"]["id"]
    wait_for(lambda: next(x for x in d.conversation(cid)["messages"] if x["id"] == mid2)["status"]
             == "sent", timeout=15, what="sent after two 451s")
    smtp.fail_next("550 5.7.1 relaying denied", 1)
    a = alice.reply(cid, "Derde antwoord.")
    mid3 = a["message"]["id"]
    m3 = wait_for(lambda: (lambda x: x if x["status"] == "failed" else None)(
        next(x for x in d.conversation(cid)["messages"] if x["id"] == mid3)), what="failed")
    check("550" in m3["error"], "a permanent refusal: failed, with the reason (%s)" % m3["error"])

    # ---- the thread cannot be read for a while (the customer's addresses
    # hold a string: conv_get.lua, which history_of runs, fails): the reply
    # is stored, waits, and goes out threaded, once, when it can be read
    n = len(smtp.mails)
    prev = sent_mail(smtp, n)[2]
    addrs = "omr:{main}:cust:%s:addrs" % d.conversation(cid)["customer"]

    def wrongtype():
        m = re.search(r"errorstat_WRONGTYPE:count=(\d+)", redis.cmd("INFO", "errorstats"))
        return int(m.group(1)) if m else 0
    wrong = wrongtype()
    redis.cmd("RENAME", addrs, addrs + ":saved")
    redis.cmd("SET", addrs, "not a set")
    try:
        a = alice.reply(cid, "Vierde antwoord.")
        eq(a["type"], "ack", "a reply is stored while its thread cannot be read")
        # the plugin's read of the thread failed (reads again after 1, 2,
        # 4 s: send_attempts 5)
        wait_for(lambda: wrongtype() > wrong, what="the thread's read failed")
        eq(len(smtp.mails), n, "it is not sent without its thread")
        check(d.alive(), "the daemon keeps running")
    finally:
        redis.cmd("DEL", addrs)
        redis.cmd("RENAME", addrs + ":saved", addrs)
    out = sent_mail(smtp, n + 1)[2]
    eq((out.get_content().strip(), out["In-Reply-To"], out["Subject"]),
       ("Vierde antwoord.", prev["In-Reply-To"], prev["Subject"]),
       "then it goes out, threaded as the one before")
    time.sleep(2.5)
    eq(len(smtp.mails), n + 1, "once")

    # ---- too big: 552, nothing stored, the daemon goes on
    big = mail("big@example.net", "big", "x" * 250000, "<big-1@example.net>")
    eq(lm.deliver(big, sender="big@example.net")[0][0], 552, "over max_size: 552")
    eq(conv_by_msgid(d, "<big-1@example.net>")[0], None, "nothing stored")
    r = lm.deliver(b"\x00\x01\x02 not a mail at all \xff\r\n", sender="x@example.net")
    eq(r[0][0], 550, "no From at all: 550")
    check(d.alive(), "the daemon keeps running")

    # ---- closed, then the customer writes again: the conversation reopens
    alice.send({"type": "close", "conversation": cid})
    eq(alice.expect("status")["status"], "wrapup", "closed: waits for wrap-up")
    alice.send({"type": "wrapup", "conversation": cid, "reason": "other", "outcome": "resolved"})
    wait_for(lambda: d.conversation(cid)["status"] == "closed", what="closed")
    # the customer panel keeps what it lists of a closed conversation
    # (cust:<c>:past, filled by the first view that lists it): as if an
    # earlier view had listed this one
    cust = d.conversation(cid)["customer"]
    past = "omr:{main}:cust:%s:past" % cust
    redis.cmd("HSET", past, cid, json.dumps({"id": cid, "status": "closed"}))
    lm.deliver(mail("jose@example.net", "Re: Factuur [#%s]" % conv["thread"], "Toch nog een vraag.",
                    "<a5@example.net>"))
    o = alice.expect("offer")
    eq(o["conversation"]["id"], cid, "a mail in the thread of a closed conversation reopens it")
    eq(d.conversation(cid)["reopened"], 1, "counted")
    eq(redis.cmd("HEXISTS", past, cid), 0, "reopened: the panel's summary of it as closed is gone")

    # ---- two recipients of ours: one message, 250 for each
    r = lm.deliver(mail("multi@example.net", "Twice", "to both", "<multi-1@example.net>"),
                   rcpts=("support@example.com", "sales@example.com"), sender="multi@example.net")
    eq([x[0] for x in r], [250, 250], "one reply per recipient (LMTP)")

    st, body = d.http("GET", "/metrics")
    fig = {k: int(v) for k, v in (l.split(" ", 1) for l in body.splitlines()
                                  if l.startswith("omniroute_email_"))}
    log("e-mail metrics: %r" % fig)
    eq((fig["omniroute_email_bounces_total"], fig["omniroute_email_send_failed_total"]), (1, 1),
       "metrics: one bounce, one reply failed (550)")
    eq([fig[k] for k in ("omniroute_email_stored_total", "omniroute_email_refused_total",
                         "omniroute_email_sent_total", "omniroute_email_send_retries_total",
                         "omniroute_email_lmtp_connections")],
       [8, 2, 3, 2, 0],
       "metrics: stored, refused, replies sent, SMTP retries (not thread reads), open connections")
    parked_thread(d, lm, alice)

    # ---- longer than limits.text_max: cut, not refused; only a subject: that is the text
    long_body = ("Regel %d van een heel lange klacht.\r\n" * 800) % tuple(range(800))
    eq(lm.deliver(mail("lang@example.net", "Lang", long_body, "<long-1@example.net>"))[0][0], 250,
       "a mail over limits.text_max is taken")
    c, m = wait_for(lambda: conv_by_msgid(d, "<long-1@example.net>")[1] and
                    conv_by_msgid(d, "<long-1@example.net>"), what="stored")
    check(m["text"].startswith("Regel 0 van") and len(m["text"].encode()) <= 16384,
          "its text is cut at the core's limit (%d bytes)" % len(m["text"].encode()))
    eq(m["meta"].get("text_cut"), True, "and says so (meta.text_cut)")
    eq(conv_by_msgid(d, "<st-2@example.net>")[1]["meta"].get("text_cut"), None,
       "a short mail is not marked cut")
    eq(lm.deliver(mail("kort@example.net", "Bel mij terug", "", "<short-1@example.net>"))[0][0],
       250, "a mail with only a subject is taken")
    c, m = wait_for(lambda: conv_by_msgid(d, "<short-1@example.net>")[1] and
                    conv_by_msgid(d, "<short-1@example.net>"), what="stored")
    eq(m["text"], "Bel mij terug", "its subject is its text")
    corpus(d, lm)
    stop_with_redis_hung(d, redis, lm)
    smtp.close()


def attachment_links(d, att, path):
    """The agent's frame links the stored file; the edge serves that link
    and nothing else."""
    url = att.get("url", "")
    check(url.startswith("/files/"), "the agent gets a link to the file: %s" % url[:40])
    edge = d.ports["edge"]
    c = http.client.HTTPConnection("127.0.0.1", edge, timeout=10)
    c.request("GET", url)
    r = c.getresponse()
    body = r.read()
    c.close()
    with open(path, "rb") as f:
        eq((r.status, body), (200, f.read()), "the link gives the file's bytes")
    eq(r.getheader("Content-Type"), "application/pdf", "as the type it was sent as")
    eq(r.getheader("Content-Disposition"), "attachment; filename*=UTF-8''factuur.pdf",
       "a PDF is downloaded, with its name")
    check("sandbox" in (r.getheader("Content-Security-Policy") or ""), "in a sandbox")
    check("nosniff" in (r.getheader("X-Content-Type-Options") or ""), "never sniffed")
    check(not d.conversation(att_conv(d, att))["messages"][0]["attachments"][0].get("url"),
          "the admin API carries no link (a link is for a console)")

    def get(path_):
        c = http.client.HTTPConnection("127.0.0.1", edge, timeout=10)
        c.request("GET", path_)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status
    payload, sig = url[len("/files/"):].split("/")
    forged = bytes.fromhex(payload).replace(b"factuur.pdf", b"factuur.htm").hex()
    for bad, why in (("/files/%s/%s" % (forged, sig), "another name under the same signature"),
                     ("/files/%s/%s" % (payload, "0" * 64), "a wrong signature"),
                     ("/files/%s" % payload, "no signature"),
                     ("/files/", "nothing"),
                     ("/files/../../../../etc/passwd", "a path"),
                     ("/files/%2e%2e/%2e%2e/etc/passwd", "an encoded path"),
                     ("/files/" + "a" * 3000, "a long one")):
        check(get(bad) in (400, 403, 404, 414, 431), "%s is refused" % why)
    eq(get(url), 200, "the daemon still serves the good link")
    # a file gone from disk: 404, and the kept-alive connection goes on
    # with the next request (not this one's answer again)
    os.rename(path, path + ".away")
    c = http.client.HTTPConnection("127.0.0.1", edge, timeout=10)
    try:
        c.request("GET", url)
        r = c.getresponse()
        r.read()
        eq(r.status, 404, "a link to a file no longer on disk: 404")
        os.rename(path + ".away", path)
        c.request("GET", url)
        r = c.getresponse()
        eq((r.status, len(r.read())), (200, 54), "the same connection serves the next request")
    finally:
        c.close()
        if os.path.exists(path + ".away"):
            os.rename(path + ".away", path)


def att_conv(d, att):
    for c in convs(d):
        for m in d.conversation(c["id"])["messages"]:
            if any(a.get("sha256") == att["sha256"] for a in m.get("attachments", [])):
                return c["id"]
    return None


def parked_thread(d, lm, alice):
    """A rule answers and parks; an out-of-office answer to that is no
    reason to bring in a person; the customer's real answer is."""
    eq(lm.deliver(mail("storing@example.net", "Internet", "Is er een storing bij jullie?",
                       "<st-1@example.net>"), sender="storing@example.net")[0][0], 250, "stored")
    conv, _ = wait_for(lambda: conv_by_msgid(d, "<st-1@example.net>")[0] and
                       conv_by_msgid(d, "<st-1@example.net>"), what="stored")
    wait_for(lambda: d.conversation(conv["id"])["status"] == "parked", what="parked")
    token = "[#%s]" % conv["thread"]
    lm.deliver(mail("storing@example.net", "Automatisch antwoord: Internet " + token,
                    "Ik ben afwezig tot maandag.", "<st-ooo@example.net>",
                    "Auto-Submitted: auto-replied\r\n"), sender="")
    wait_for(lambda: d.conversation(conv["id"])["msg_count"] >= 3, what="the auto-reply stored")
    time.sleep(1)
    c = d.conversation(conv["id"])
    eq((c["status"], c["messages"][-1]["kind"]), ("parked", "auto"),
       "an out-of-office answer to a parked conversation leaves it parked")
    lm.deliver(mail("storing@example.net", "Re: Internet " + token, "Het werkt nog steeds niet.",
                    "<st-2@example.net>"), sender="storing@example.net")
    deadline = time.time() + 10
    offered = []
    while conv["id"] not in offered and time.time() < deadline:
        offered.append(alice.expect("offer", timeout=max(0.1, deadline - time.time()))
                       ["conversation"]["id"])
    check(conv["id"] in offered, "the customer's own answer brings in a person")


def stop_with_redis_hung(d, redis, lm):
    """Redis hangs (SIGSTOP) while a mail is being stored, and the daemon is
    told to stop: it waits its drain time, then exits cleanly (the plugin's
    callbacks that come back during the exit are dropped, not run in
    unloaded code); the MTA never got a 250 for that mail."""
    redis.proc.send_signal(signal.SIGSTOP)
    got = {}

    def deliver():
        try:
            got["r"] = lm.deliver(mail("hang@example.net", "Hangt", "Redis staat stil.",
                                       "<hang-1@example.net>"), sender="hang@example.net")
        except Exception as e:  # the connection closed: no answer at all
            got["e"] = e
    t = threading.Thread(target=deliver)
    t.start()
    time.sleep(1)
    try:
        rc = d.stop(timeout=30)
    finally:
        redis.proc.send_signal(signal.SIGCONT)
    t.join(15)
    eq(rc, 0, "the daemon exits cleanly although Redis hangs")
    check("drain" in d.log_text() or "pending" in d.log_text(), "it says what it left")
    check("r" not in got or got["r"][0][0] != 250,
          "the mail was not acknowledged (%r)" % (got.get("r") or got.get("e")))


def corpus(d, lm):
    """Every message of tests/email/corpus against its manifest."""
    with open(os.path.join(CORPUS, "MANIFEST.json")) as f:
        manifest = json.load(f)
    for name in sorted(manifest):
        want = manifest[name]
        with open(os.path.join(CORPUS, name), "rb") as f:
            data = f.read()
        sender = "" if want.get("bounce") else (want.get("from_address") or "x@example.net")
        r = lm.deliver(data, sender=sender)
        if not want.get("from_address") and not want.get("bounce"):
            check(r[0][0] in (250, 550), "%s: answered %d" % (name, r[0][0]))
            continue
        eq(r[0][0], 250, "%s: delivered" % name)
        if want.get("bounce"):
            continue  # not ours: kept as automatic; ours: a status (tested above)
        msgid = want.get("message_id")
        c, m = conv_by_msgid(d, msgid) if msgid else (None, None)
        if not m:
            check(msgid is None, "%s: found by its Message-ID" % name)
            continue
        if "subject" in want:
            eq(m["meta"]["subject"], want["subject"], "%s: subject" % name)
        if "from_address" in want:
            eq(c["address"], want["from_address"], "%s: from" % name)
        if want.get("from_name"):
            eq(c["customer_profile"].get("name"), want["from_name"], "%s: display name" % name)
        for s in want.get("text_contains", []):
            check(s in m["text"] or s in (m["meta"].get("full_text") or ""),
                  "%s: text has %r" % (name, s))
        for s in want.get("text_excludes", []):
            check(s not in m["text"], "%s: visible text lacks %r" % (name, s))
        if "attachments" in want:
            # an attachment without a file name is called "attachment"
            got = sorted((a["name"], a["type"], a["size"], bool(a["inline"]))
                         for a in m["attachments"])
            exp = sorted((a.get("name", "attachment"), a["type"], a["size"],
                          bool(a.get("inline", False))) for a in want["attachments"])
            eq(got, exp, "%s: attachments" % name)
        if want.get("auto"):
            eq(m["kind"], "auto", "%s: automatic" % name)


omrtest.run(test)
