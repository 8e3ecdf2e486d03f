"""The web chat's signed identity, whether an agent is there, the offline
form, and the widget's file (issue 17; docs/channels/webchat.md).

- A site signs its logged-in user {sub, email, name, exp} (HS256 JWT) with
  identity_secret: the chat joins the customer who verified that address
  on another channel (an e-mail), from any browser, and a token may be used
  again until it expires. The agent's customer panel then lists both.
- Hostile tokens (malformed base64, huge, alg none / RS256 / HS512,
  expired, tampered payload or signature, another key, missing claims, not
  a string) are refused with bad_identity: the chat continues anonymous
  and joins nobody; the daemon keeps running.
- Without identity_secret every token is refused; a short secret, or the
  visitor_secret again, fails omniroute -t with file and line.
- availability: false with nobody there, true once an agent is available.
- The offline form becomes an e-mail-like conversation in the queue
  (subject, reply_to); malformed forms are refused.
- /widget/chat.js is served with an ETag and answers 304 to it.
- Files from visitors (upload_max, upload_types): stored by content in
  the attachment store, linked for the agent, served by the edge; a
  resend is a duplicate; hostile files (not an object, path or control
  characters in the name, a type not taken, bad base64, empty, too large)
  are refused with why, and a chat without upload_max takes none.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid

import omrtest
from omrtest import check, eq, wait_for, Agent, Daemon, Redis, Visitor, DAEMON

PREFIX = "omr:{main}:"
SECRET = "test-identity-secret-0123456789abcdef"
WEBCHAT = "      identity_secret: %s\n" % SECRET


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(claims, key=SECRET, header=None):
    h = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps(claims).encode() if not isinstance(claims, bytes) else claims)
    sig = hmac.new(key.encode(), (h + "." + p).encode(), hashlib.sha256).digest()
    return h + "." + p + "." + b64(sig)


def claims(**kw):
    c = {"sub": "42", "email": "eva@example.com", "name": "Eva de Vries",
         "exp": int(time.time()) + 3600}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


def hello(d, **fields):
    """A hello; returns (the errors before welcome, welcome). (A queue
    status of the visitor's conversation may come before the welcome too:
    it is pushed to every connection of the visitor.)"""
    ws = d.ws()
    ws.send(dict({"type": "hello"}, **fields))
    before = []
    while True:
        m = ws.recv()
        if m.get("type") == "welcome":
            return ws, before, m
        if m.get("type") == "error":
            before.append(m)


def say(ws, text, cmid):
    ws.send({"type": "message", "text": text, "client_msg_id": cmid})
    while True:
        m = ws.recv()
        if m.get("client_msg_id") == cmid and m.get("type") in ("ack", "error"):
            return m


def mail_customer(redis, email):
    """Eva wrote an e-mail before, from an address the mail channel vouches
    for (as test_identity.py stores one): her customer id."""
    u = uuid.uuid4().hex[:16]
    r = omrtest.lua_call(redis, "ingest", PREFIX, channel="email", channel_msg_id="cm-" + u,
                         address=email, thread="t-" + u, name="Eva", email=email,
                         text="Mijn factuur klopt niet", attachments=[], attrs={}, meta={},
                         public=False, ts=int(time.time() * 1000), customer="u_" + u,
                         conversation="c_" + u, message="m_" + u, dedup_ttl=604800000,
                         kind="message", verified=True, reopen=0)
    return r[3]


def signed_identity(tmp):
    redis = Redis(tmp)
    # cheap password hashes: alice logs in quickly under valgrind too
    d = Daemon(tmp, redis, webchat_extra=WEBCHAT, agents=omrtest.quick_agents()).start()
    eva = mail_customer(redis, "eva@example.com")
    tok = token(claims())

    ws, before, w = hello(d, identity=tok, name="typed name", email="typed@example.com")
    eq(before, [], "a valid token: no error")
    eq(w.get("identified"), True, "welcome says identified")
    ack = say(ws, "Ik ben ingelogd", "i1")
    eq(ack["type"], "ack", "message stored")
    c = d.conversation(ack["conversation"])
    eq(c["customer"], eva, "the chat joins the customer of the verified address (the e-mail)")
    eq(c["attrs"].get("site_customer"), "42", "the site's customer id is on the conversation")
    prof = c["customer_profile"]
    check("webchat:" + w["visitor"] in prof["addresses"] and
          "email:eva@example.com" in prof["addresses"], "both addresses on one customer: %r"
          % prof["addresses"])
    check("claimed_email" not in prof or prof["claimed_email"] != "typed@example.com",
          "the typed address does not replace the signed one")
    ws.close()

    # another browser, the same token again (a replay within its expiry is
    # fine): the same visitor, the same conversation
    ws2, before, w2 = hello(d, identity=tok)
    eq(before, [], "the token again: no error")
    eq(w2["visitor"], w["visitor"], "the same visitor for the same site customer")
    eq(w2.get("conversation"), ack["conversation"], "the open conversation continues")
    eq([h["text"] for h in w2["history"]], ["Ik ben ingelogd"], "with its history")
    ws2.close()

    # a stored anonymous visitor plus a token: the token wins
    anon = Visitor(d)
    ws3, before, w3 = hello(d, identity=tok, visitor=anon.id, token=anon.token)
    eq(w3["visitor"], w["visitor"], "a signed identity goes before a stored anonymous visitor")
    ws3.close()
    anon.close()

    # another site customer: another visitor and customer
    ws4, before, w4 = hello(d, identity=token(claims(sub="43", email="piet@example.com")))
    check(w4["visitor"] != w["visitor"], "another sub, another visitor")
    a4 = say(ws4, "Ik ben Piet", "p1")
    check(d.conversation(a4["conversation"])["customer"] != eva, "Piet is not Eva")
    ws4.close()

    # the agent who takes the chat sees Eva's e-mail among her conversations
    agent = Agent(d, "alice")
    offer = agent.offer_for(ack["conversation"], timeout=20)
    assigned = agent.accept(offer["offer"])
    eq(assigned["type"], "assigned", "alice takes the chat")
    cust = assigned["conversation"]["customer"]
    eq(cust["id"], eva, "the agent sees Eva")
    check(any(p["channel"] == "email" for p in cust.get("previous", [])),
          "the agent's customer panel lists her e-mail: %r" % cust.get("previous"))
    eq(d.stop(), 0, "clean stop")


def hostile_tokens(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, webchat_extra=WEBCHAT).start()
    eva = mail_customer(redis, "eva@example.com")
    good = token(claims())
    h, p, s = good.split(".")
    other_p = b64(json.dumps(claims(sub="1", email="mallory@example.com")).encode())
    bad = {
        "malformed base64": "!!!.@@@.###",
        "padding": good + "==",
        "two parts": h + "." + p,
        "four parts": good + ".x",
        "empty": "",
        "dots": "..",
        "huge": "A" * 40000 + "." + p + "." + s,
        "not json": b64(b"not json") + "." + p + "." + s,
        "header array": b64(b"[1]") + "." + p + "." + s,
        "alg none": token(claims(), header={"alg": "none"}).rsplit(".", 1)[0] + ".",
        "alg none signed": token(claims(), header={"alg": "none"}),
        "alg RS256": token(claims(), header={"alg": "RS256"}),
        "alg HS512": token(claims(), header={"alg": "HS512"}),
        "no alg": token(claims(), header={"typ": "JWT"}),
        "crit": token(claims(), header={"alg": "HS256", "crit": ["x"]}),
        "expired": token(claims(exp=int(time.time()) - 5)),
        "exp too far": token(claims(exp=int(time.time()) + 400 * 86400)),
        "exp string": token(claims(exp="tomorrow")),
        "no exp": token(claims(exp=None)),
        "no sub": token(claims(sub=None)),
        "sub number": token(claims(sub=42)),
        "sub with space": token(claims(sub="4 2")),
        "sub too long": token(claims(sub="x" * 200)),
        "no email": token(claims(email=None)),
        "email without @": token(claims(email="eva.example.com")),
        "name too long": token(claims(name="n" * 300)),
        "name with NUL": token(claims(name="Eva\u0000Mallory")),
        "payload array": token(b"[]"),
        "tampered payload": h + "." + other_p + "." + s,
        "tampered signature": h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:],
        "short signature": h + "." + p + "." + s[:20],
        "other key": token(claims(), key="another-secret-0123456789abcdefghij"),
    }
    visitors = set()
    for what, tok in bad.items():
        ws, before, w = hello(d, identity=tok)
        errs = [m for m in before if m.get("type") == "error"]
        eq([e.get("code") for e in errs], ["bad_identity"], "%s: refused with bad_identity" % what)
        check(w.get("identified") is None, "%s: not identified" % what)
        a = say(ws, "hallo", "h1")
        eq(a["type"], "ack", "%s: the chat goes on anonymous" % what)
        check(d.conversation(a["conversation"])["customer"] != eva, "%s: joins nobody" % what)
        visitors.add(w["visitor"])
        ws.close()
    eq(len(visitors), len(bad), "each refused token got a new anonymous visitor")
    # not a string
    for v in (42, {"sub": "42"}, None, ["x"]):
        ws, before, w = hello(d, identity=v)
        eq([m.get("code") for m in before], ["bad_identity"], "identity %r: refused" % (v,))
        ws.close()
    check(d.alive(), "the daemon is running")
    # the good token still works afterwards
    ws, before, w = hello(d, identity=good)
    eq(w.get("identified"), True, "the good token still works")
    ws.close()
    eq(d.stop(), 0, "clean stop")


def not_configured(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis).start()
    ws, before, w = hello(d, identity=token(claims()))
    eq([m.get("code") for m in before], ["bad_identity"], "no identity_secret: refused")
    check("no signed identities" in before[0]["message"], "and says why")
    eq(d.stop(), 0, "clean stop")

    # omniroute -t: a short secret, or the visitor secret again
    for secret, want in (("short-secret", "at least 32 characters"),
                         ("test-visitor-secret-0123456789abcdef",
                          "must not be the visitor_secret")):
        conf = d.text.replace("visitor_secret: test-visitor-secret-0123456789\n",
                              "visitor_secret: test-visitor-secret-0123456789abcdef\n"
                              "      identity_secret: %s\n" % secret)
        path = os.path.join(tmp, "bad-identity.yaml")
        with open(path, "w") as f:
            f.write(conf)
        p = subprocess.run([DAEMON, "-t", "-c", path], capture_output=True, text=True, timeout=60)
        eq(p.returncode, 1, "-t fails for %r" % secret)
        check(want in p.stderr and "bad-identity.yaml:" in p.stderr,
              "-t names the file and line and why: %r" % p.stderr)


def availability_and_offline(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=omrtest.quick_agents()).start()
    ws, before, w = hello(d)
    m = ws.recv_type("availability")
    eq(m["agents"], False, "nobody is there: availability false after welcome")

    # the offline form
    ws.send({"type": "offline_message", "client_msg_id": "o1", "name": "Eva",
             "email": "eva@example.com", "text": "Bel me terug over mijn factuur"})
    ack = ws.recv_type("ack")
    eq(ack["client_msg_id"], "o1", "the offline message is acknowledged")
    c = d.conversation(ack["conversation"])
    eq(c["channel"], "webchat", "on the web chat channel")
    check(c["thread"].startswith("offline:" + w["visitor"] + ":"), "a thread of its own")
    eq(c["attrs"].get("reply_to"), "eva@example.com", "answer by e-mail to the address given")
    eq(c["attrs"].get("offline_form"), True, "marked as an offline form")
    eq(c["messages"][0]["meta"].get("subject"), "Offline message from the web chat",
       "the message has a subject, as an e-mail")
    wait_for(lambda: d.conversation(ack["conversation"])["status"] == "queued",
             what="the offline message waits in the queue")
    # the same form again (a resend after a lost ack): stored once
    ws.send({"type": "offline_message", "client_msg_id": "o1", "name": "Eva",
             "email": "eva@example.com", "text": "Bel me terug over mijn factuur"})
    eq(ws.recv_type("ack")["duplicate"], True, "a resent form is a duplicate")
    # a chat message still opens the visitor's own chat, not the form's
    a = say(ws, "Nog een vraag", "c1")
    check(a["conversation"] != ack["conversation"], "the chat is another conversation")

    for what, frame, code in (
            ("no e-mail", {"text": "x"}, "bad_profile"),
            ("bad e-mail", {"text": "x", "email": "eva at example"}, "bad_profile"),
            ("name not a string", {"text": "x", "email": "e@x.nl", "name": 5}, "bad_profile"),
            ("long name", {"text": "x", "email": "e@x.nl", "name": "n" * 201}, "bad_profile"),
            ("no text", {"email": "e@x.nl"}, "bad_text"),
            ("empty text", {"email": "e@x.nl", "text": ""}, "bad_text")):
        ws.send(dict({"type": "offline_message", "client_msg_id": "b1"}, **frame))
        eq(ws.recv_type("error")["code"], code, "offline form, %s: %s" % (what, code))
    ws.send({"type": "offline_message", "email": "e@x.nl", "text": "x"})
    eq(ws.recv_type("error")["code"], "bad_client_msg_id", "offline form without client_msg_id")
    ws2 = d.ws()
    ws2.send({"type": "offline_message", "client_msg_id": "z", "email": "e@x.nl", "text": "x"})
    eq(ws2.recv_type("error")["code"], "hello_first", "offline form before hello")
    ws2.send({"type": "availability"})
    eq(ws2.recv_type("error")["code"], "hello_first", "availability before hello")
    ws2.close()

    # an agent comes: the visitor hears so when asking again
    alice = Agent(d, "alice")  # kept: a dropped client disconnects
    for _ in range(2):  # the form's and the chat's: taken, so that she stays available
        eq(alice.accept(alice.expect("offer", timeout=15)["offer"])["type"], "assigned",
           "alice takes a waiting conversation")

    def there():
        ws.send({"type": "availability"})
        return ws.recv_type("availability")["agents"] is True
    wait_for(there, timeout=20, interval=1, what="availability true once alice is available")
    alice.close()
    ws.close()
    eq(d.stop(), 0, "clean stop")


def widget_served(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis).start()
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", d.ports["edge"], timeout=10)
    c.request("GET", "/widget/chat.js")
    r = c.getresponse()
    body = r.read()
    eq(r.status, 200, "/widget/chat.js is served")
    check(b"OmniChat" in body, "it is the widget")
    etag = r.getheader("ETag")
    check(etag, "with an ETag")
    check("javascript" in (r.getheader("Content-Type") or ""), "as JavaScript")
    cc = r.getheader("Cache-Control") or ""
    check("must-revalidate" in cc and "no-store" not in cc,
          "browsers may keep it, asking again (%r)" % cc)
    c.request("GET", "/widget/chat.js", headers={"If-None-Match": etag})
    r = c.getresponse()
    r.read()
    eq(r.status, 304, "304 for the same ETag: browsers keep it")
    c.close()
    eq(d.stop(), 0, "clean stop")


PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
                       "hgGAWjR9awAAAABJRU5ErkJggg==")


def file_frame(cmid, name="bon.png", type="image/png", data=None, text=""):
    f = {"name": name, "type": type,
         "data": base64.b64encode(PNG).decode() if data is None else data}
    return {"type": "message", "client_msg_id": cmid, "text": text, "file": f}


def visitor_files(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=omrtest.quick_agents(),
               webchat_extra="      upload_max: 100000\n      max_message: 200000\n"
                             "      burst: 100\n").start()
    ws, before, w = hello(d)
    eq(w.get("upload"), {"max": 100000, "types": ["image/png", "image/jpeg", "image/gif",
                                                   "image/webp", "application/pdf", "text/plain"]},
       "welcome says which files are taken")
    ws.send(file_frame("f1", text="De bon"))
    ack = ws.recv_type("ack")
    eq(ack["client_msg_id"], "f1", "the file is acknowledged once stored")
    m = d.conversation(ack["conversation"])["messages"][0]
    a = m["attachments"][0]
    sha = hashlib.sha256(PNG).hexdigest()
    eq((a["name"], a["type"], a["size"], a["sha256"], a["stored"]),
       ("bon.png", "image/png", len(PNG), sha, True), "stored as an attachment of the message")
    eq(m["text"], "De bon", "with its text")
    with open(os.path.join(tmp, "state", "attachments", "webchat", sha), "rb") as f:
        eq(f.read(), PNG, "the bytes are in the attachment store, named by their SHA-256")
    ws.send(file_frame("f1", text="De bon"))
    eq(ws.recv_type("ack")["duplicate"], True, "the same file again (a resend): a duplicate")
    ws.send(file_frame("f0", name="leeg.txt", type="text/plain", data="", text="alleen tekst"))
    eq(ws.recv_type("error")["code"], "bad_file", "an empty file is refused")

    alice = Agent(d, "alice")
    got = alice.accept(alice.offer_for(ack["conversation"], timeout=20)["offer"])
    url = got["conversation"]["messages"][0]["attachments"][0].get("url")
    check(url and url.startswith("/files/"), "the agent gets a link: %r" % url)
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", d.ports["edge"], timeout=10)
    c.request("GET", url)
    r = c.getresponse()
    eq((r.status, r.read()), (200, PNG), "the edge serves the file behind the link")
    c.close()
    alice.close()

    big = base64.b64encode(b"x" * 100001).decode()
    for what, frame, code in (
            ("not an object", dict(file_frame("h1"), file="bon.png"), "bad_file"),
            ("no name", file_frame("h2", name=""), "bad_file"),
            ("a path", file_frame("h3", name="../../etc/passwd"), "bad_file"),
            ("a backslash", file_frame("h3b", name="..\\boot.ini"), "bad_file"),
            ("a control character", file_frame("h4", name="bon\n.png"), "bad_file"),
            ("a long name", file_frame("h5", name="n" * 300 + ".png"), "bad_file"),
            ("type not taken", file_frame("h6", type="text/html"), "file_type"),
            ("type of another case", file_frame("h6b", type="IMAGE/PNG"), "file_type"),
            ("bad base64", file_frame("h7", data="!!!!"), "bad_file"),
            ("base64 with spaces", file_frame("h8", data="iVBO Rw0K"), "bad_file"),
            ("padding inside", file_frame("h9", data="iV==Rw0K"), "bad_file"),
            ("too large", file_frame("h10", data=big), "file_too_large"),
            ("text not a string", dict(file_frame("h11"), text=5), "bad_text")):
        ws.send(frame)
        eq(ws.recv_type("error")["code"], code, "a file with %s: %s" % (what, code))
    eq(sorted(os.listdir(os.path.join(tmp, "state", "attachments", "webchat"))), [sha],
       "the store holds the one good file, no temporary leftovers")
    ws.close()

    # back: the history names the file (not where it is stored)
    ws, before, w = hello(d, visitor=w["visitor"], token=w["token"])
    h = [x for x in w["history"] if x.get("client_msg_id") == "f1"][0]
    eq(h["attachments"][0]["name"], "bon.png", "the history shows the file")
    check("sha256" not in h["attachments"][0], "not its hash")
    ws.close()
    eq(d.stop(), 0, "clean stop")

    # a chat without upload_max takes no files
    sub = os.path.join(tmp, "nofiles")
    os.makedirs(sub)
    redis2 = Redis(sub)
    d2 = Daemon(sub, redis2).start()
    ws, before, w = hello(d2)
    check("upload" not in w, "no upload in welcome")
    ws.send(file_frame("n1"))
    eq(ws.recv_type("error")["code"], "bad_file", "no files taken")
    ws.close()
    eq(d2.stop(), 0, "clean stop")


def test(tmp):
    for part in (signed_identity, hostile_tokens, not_configured, availability_and_offline,
                 widget_served, visitor_files):
        sub = os.path.join(tmp, part.__name__)
        os.makedirs(sub)
        omrtest.log("== " + part.__name__)
        part(sub)


omrtest.run(test)
