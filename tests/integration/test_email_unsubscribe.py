"""E-mail unsubscribe (docs/proactive.md#e-mail-unsubscribe) against the real
daemon, real Redis and the local SMTP sink: a conversation we start by
e-mail carries List-Unsubscribe (an https one-click link and a mailto:) and
List-Unsubscribe-Post; a GET of the link shows a page and changes nothing;
the one-click POST (RFC 8058) puts the address on the e-mail opt-out list,
after which the outbound API and the agent console refuse with opted_out;
a mail to the mailto: address with its subject does the same and opens no
conversation for an agent; forged, truncated, oversized, expired,
wrong-channel and token-less requests get a 4xx and record nothing; a mail
with a forged token is an ordinary mail; the daemon serves on."""
import email
import email.policy
import hashlib
import hmac
import http.client
import re
import smtplib
import time
import urllib.parse

import omrtest
from fakes import FakeSmtp
from omrtest import (check, eq, log, token_hash, Agent, Daemon, Redis, wait_for, free_port,
                     email_plugin)

PREFIX = "omr:{main}:"
SECRET = "unsubscribe-secret-0123456789abcdefghij"

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { email: 20, webchat: 1 }
""" % token_hash("alice-token-0123456789")

UNSUB = """unsubscribe:
  url: https://support.example.com/
  mailto: unsubscribe@example.com
  secret: %s
  valid_for: 30d
""" % SECRET


def deliver(lport, frm, rcpt, subject, body, msgid):
    """One mail to the LMTP listener; its reply code (one recipient)."""
    data = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" % (frm, rcpt, subject, msgid, body))
    c = smtplib.LMTP("127.0.0.1", lport)
    try:
        refused = c.sendmail(frm, [rcpt], data.encode())
        return 250 if not refused else refused[rcpt][0]
    except smtplib.SMTPResponseException as e:
        return e.smtp_code
    finally:
        c.quit()


def sent_mail(smtp, n):
    wait_for(lambda: len(smtp.mails) >= n, what="mail %d at the SMTP sink" % n)
    _, rcpts, data = smtp.mails[n - 1]
    return rcpts, data


def token(channel, address, made, secret=SECRET):
    """A token as the daemon makes them (omr_unsub_token.c)."""
    payload = ("1\n%s\n%s\n%d" % (channel, address, made)).encode()
    sig = hmac.new(secret.encode(), b"omniroute unsubscribe\n" + payload, hashlib.sha256)
    return payload.hex() + "." + sig.hexdigest()


def hook(d, method, query, body=None, headers=None):
    """A request to /unsubscribe on the webhook listener: (status, text)."""
    c = http.client.HTTPConnection("127.0.0.1", d.ports["webhooks"], timeout=10)
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    c.request(method, "/unsubscribe" + query, body=body, headers=h)
    r = c.getresponse()
    data = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, data


def start(d, to, key):
    return d.http("POST", "/api/v1/conversations",
                  {"channel": "email", "to": to, "subject": "Your router is offline",
                   "text": "We saw your router go offline; reply and we help.", "queue": "general"},
                  headers={"Idempotency-Key": key})


def optouts(redis):
    return int(redis.cmd("HLEN", PREFIX + "optout:email"))


def links(data):
    """The two URIs of List-Unsubscribe, read from the raw mail: as written
    (no RFC 2047 words: mail programs take the URIs literally), folded
    only between them, no line over 998 bytes."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("ascii")
    check(all(len(l) <= 998 for l in head.split("\r\n")), "no header line over 998 bytes")
    msg = email.message_from_string(head + "\r\n\r\n", policy=email.policy.compat32)
    raw = msg["List-Unsubscribe"]
    check(raw is not None and "=?" not in raw, "List-Unsubscribe is not encoded: %r" % raw)
    v = " ".join(raw.split())
    uris = re.findall(r"<([^>]+)>", v)
    eq(len(uris), 2, "List-Unsubscribe has two URIs: %r" % v)
    eq(msg.get_all("List-Unsubscribe-Post"), ["List-Unsubscribe=One-Click"],
       "List-Unsubscribe-Post asks for the one-click (RFC 8058), once")
    return uris


def test(tmp):
    smtp = FakeSmtp()
    redis = Redis(tmp)
    lport = free_port()
    d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS, conf_extra=UNSUB,
               extra_plugins=email_plugin(lport, smtp.port)).start()

    # ---- a conversation we start carries the headers
    st, body = start(d, "Anna@Example.com", "u-anna-1")
    eq(st, 201, "an outbound e-mail is started: %r" % (body,))
    anna_cust = body["conversation"]["customer"]
    rcpts, msg = sent_mail(smtp, 1)
    eq(rcpts, ["<anna@example.com>"], "the mail goes to the customer")
    url, mailto = links(msg)
    u = urllib.parse.urlsplit(url)
    eq((u.scheme, u.netloc, u.path), ("https", "support.example.com", "/unsubscribe"),
       "the link is on the configured public base URL")
    t = urllib.parse.parse_qs(u.query)["t"][0]
    check(mailto.startswith("mailto:unsubscribe@example.com?subject=unsubscribe-" + t),
          "the mailto: has the same token in its subject: %s" % mailto)
    payload = bytes.fromhex(t.split(".")[0]).decode()
    eq(payload.split("\n")[:3], ["1", "email", "anna@example.com"],
       "the token names the channel and the (normalised) address")
    check(abs(int(payload.split("\n")[3]) - time.time()) < 3600, "and when it was made")

    # ---- a GET shows the page and unsubscribes nobody
    st, page = hook(d, "GET", "?" + u.query)
    eq(st, 200, "GET of the link: the confirmation page")
    check('method="post"' in page and "List-Unsubscribe" in page and t in page,
          "the page's button posts the one-click form")
    eq(optouts(redis), 0, "a GET records nothing (mail scanners follow links)")

    # ---- hostile requests: 4xx, nothing recorded
    now = int(time.time())
    bad = [
        ("POST", "?" + u.query, "", 400, "a POST without the one-click body"),
        ("POST", "?" + u.query, "List-Unsubscribe=Maybe", 400, "a POST with another body"),
        ("POST", "", "List-Unsubscribe=One-Click", 400, "no token"),
        ("POST", "?t=" + t[:-1] + ("0" if t[-1] != "0" else "1"), "List-Unsubscribe=One-Click",
         400, "a forged signature"),
        ("POST", "?t=" + t[:-5], "List-Unsubscribe=One-Click", 400, "a truncated token"),
        ("POST", "?t=" + t.upper(), "List-Unsubscribe=One-Click", 400, "upper-case hex"),
        ("POST", "?t=" + token("email", "carol@example.com", now, "another-secret-0123456789abcdef-x"),
         "List-Unsubscribe=One-Click", 400, "a token signed with another key"),
        ("POST", "?t=" + token("sms", "+31612345678", now), "List-Unsubscribe=One-Click", 400,
         "a token of another channel"),
        ("POST", "?t=" + token("email", "dave@example.com", now - 40 * 86400),
         "List-Unsubscribe=One-Click", 410, "a token older than valid_for"),
        ("POST", "?t=" + token("email", "dave@example.com", now + 10 * 86400),
         "List-Unsubscribe=One-Click", 410, "a token from the future"),
        ("POST", "?t=" + "ab" * 1500 + "." + "0" * 64, "List-Unsubscribe=One-Click", None,
         "an oversized token"),
        ("POST", "?t=%00%ff%0a.", "List-Unsubscribe=One-Click", 400, "binary garbage"),
        ("GET", "?t=" + t[:-5], None, 400, "a GET of a truncated link"),
        ("PUT", "?" + u.query, "List-Unsubscribe=One-Click", 405, "another method"),
        ("POST", "?" + u.query, "x=" + "y" * 60000 + "&List-Unsubscribe=One-Click", 400,
         "an oversized body"),
    ]
    for method, q, b, want, what in bad:
        st, text = hook(d, method, q, b)
        if want is None:
            check(400 <= st < 500, "%s: a 4xx (%d)" % (what, st))
        else:
            eq(st, want, "%s: %d (%s)" % (what, want, text.strip()))
        eq(optouts(redis), 0, "%s: nothing recorded" % what)
    eq(d.metric("unsubscribe_total"), 0, "no unsubscribe counted")
    check(d.metric("unsubscribe_refused_total") >= len(bad) - 2, "the refusals are counted")

    # ---- the one-click POST
    st, text = hook(d, "POST", "?" + u.query, "List-Unsubscribe=One-Click")
    eq(st, 200, "the one-click POST: 200 (%s)" % text.strip())
    st, body = d.http("GET", "/api/v1/optouts?channel=email&address=anna%40example.com")
    eq((st, body["optouts"][0]["opted_out"], body["optouts"][0]["via"]), (200, True, "unsubscribe"),
       "the address is on the e-mail opt-out list, via unsubscribe")
    st, text = hook(d, "POST", "?" + u.query, "List-Unsubscribe=One-Click")
    eq(st, 200, "the same link again: 200, still one entry")
    eq(optouts(redis), 1, "one address on the list")
    st, body = start(d, "anna@example.com", "u-anna-2")
    eq((st, body["error"]["code"]), (403, "opted_out"),
       "the outbound API refuses a new e-mail with opted_out")
    alice = Agent(d, token="alice-token-0123456789")
    alice.send({"type": "start", "customer": anna_cust, "channel": "email", "subject": "Hi",
                "text": "x", "to": "me", "client_msg_id": "u1"})
    f = alice.expect("started", "error")
    eq((f["type"], f.get("code")), ("error", "opted_out"), "the console gets the same reason")

    # ---- the mailto: path, for a long address (the links are long too)
    bob = "bob." + "b" * 59 + "@" + "mail-" + "m" * 58 + "." + "d" * 63 + ".example.com"
    st, body = start(d, bob, "u-bob-1")
    eq(st, 201, "an e-mail to bob")
    _, msg = sent_mail(smtp, 2)
    _, bob_mailto = links(msg)
    mu = urllib.parse.urlsplit(bob_mailto)
    subject = urllib.parse.parse_qs(mu.query)["subject"][0]
    eq(mu.path, "unsubscribe@example.com", "the mailto: address")
    # bob's mail program sends it from another address of his: the token decides
    eq(deliver(lport, "bob.private@example.net", "unsubscribe@example.com", subject, "",
               "<unsub-bob@example.net>"), 250, "the unsubscribe mail is taken")
    wait_for(lambda: redis.cmd("HEXISTS", PREFIX + "optout:email", bob) == 1,
             what="bob on the opt-out list")
    eq(redis.cmd("HEXISTS", PREFIX + "optout:email", "bob.private@example.net"), 0,
       "the sender's own address is not put on the list")
    st, body = start(d, bob, "u-bob-2")
    eq((st, body["error"]["code"]), (403, "opted_out"), "after the mailto: refused too")
    found = None
    for c in d.api("/api/v1/conversations?channel=email&limit=50")["conversations"]:
        full = d.conversation(c["id"])
        for m in full["messages"]:
            if (m.get("meta") or {}).get("message_id") == "<unsub-bob@example.net>":
                found = (full["status"], m["kind"])
    eq(found, ("closed", "auto"),
       "the unsubscribe mail is kept, closed, as automatic: no conversation for an agent")

    # ---- a mail with a forged token is an ordinary mail
    forged = "unsubscribe-" + token("email", "erin@example.com", now, "not-our-secret-0123456789abcdef")
    eq(deliver(lport, "carol@example.net", "support@example.com", forged, "Please help",
               "<forged@example.net>"), 250, "a mail with a forged token is taken")
    wait_for(lambda: any(c.get("address") == "carol@example.net" for c in
                         d.api("/api/v1/conversations?channel=email&limit=50")["conversations"]),
             what="carol's conversation")
    eq(redis.cmd("HEXISTS", PREFIX + "optout:email", "erin@example.com"), 0,
       "a forged token in a subject opts nobody out")
    eq(redis.cmd("HEXISTS", PREFIX + "optout:email", "carol@example.net"), 0, "nor the sender")

    # ---- a reply with Cc carries no unsubscribe link: it names the
    # customer, and the Cc'd readers' mail programs would offer it to them
    n = len(smtp.mails)
    st, body = d.http("POST", "/api/v1/conversations",
                      {"channel": "email", "to": "dora@example.com", "subject": "Your order",
                       "text": "Hello Dora", "agent": "alice"},
                      headers={"Idempotency-Key": "u-dora-1"})
    eq(st, 201, "an e-mail to dora, offered to alice")
    dora = body["conversation"]["id"]
    eq(alice.accept(alice.offer_for(dora)["offer"])["type"], "assigned", "alice takes it")
    rc, first = sent_mail(smtp, n + 1)
    check(links(first)[0], "the first mail (no Cc) carries the link")
    alice.send({"type": "reply", "conversation": dora, "text": "Also to your colleague",
                "client_msg_id": "cc1", "cc": ["erik@example.com"]})
    eq(alice.expect("ack", "error")["type"], "ack", "the reply with Cc is taken")
    rc, data = sent_mail(smtp, n + 2)
    m = email.message_from_bytes(data, policy=email.policy.default)
    eq((m["Cc"], m["List-Unsubscribe"], m["List-Unsubscribe-Post"]),
       ("erik@example.com", None, None), "a reply with Cc: no List-Unsubscribe")

    # ---- the daemon serves on
    eq(d.metric("unsubscribe_total"), 2, "two one-click unsubscribes counted (anna, twice)")
    st, _ = d.http("GET", "/healthz")
    eq(st, 200, "the daemon still serves")
    check(d.proc.poll() is None, "and is running")
    alice.close()
    d.stop()
    redis.stop()
    smtp.close()


omrtest.run(test)
