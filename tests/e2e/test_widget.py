#!/usr/bin/python3
"""The embeddable chat widget (/widget/chat.js) in a real browser (issue 17).

A plain page on another origin (a small HTTP server here) embeds the
widget with one script tag, under hostile CSS (`* { all: unset }` and
more). tests/e2e/widget_e2e.mjs drives headless Chromium; alice is a real
agent client on the /agent websocket (omrtest.Agent) in a thread of this
test, and the two meet through /signal/NAME (the script says where it is)
and /wait/NAME (it waits for alice) on the page server:

- the launcher opens the chat, the pre-chat form asks name and e-mail,
  the visitor writes, alice answers; closed, alice's next two messages
  make the unread badge say 2;
- the visitor sends a picture (a type not taken is refused in the page);
- the daemon is restarted under the open chat: the widget reconnects and
  sends what was written meanwhile, stored once; alice answers it;
- with nobody available, a new visitor gets the offline form, which
  becomes an e-mail-like conversation in the queue;
- a signed identity (data-identity) links the chat to the customer who
  wrote an e-mail from the signed address; an expired and a tampered token
  are refused and the chat goes on anonymous (OmniChat.identify too);
- axe-core over the widget (launcher, pre-chat form, chat, offline form):
  no serious or critical findings.
"""

import base64
import hashlib
import hmac
import html
import http.server
import json
import os
import threading
import time
import traceback
import urllib.parse
import uuid

import e2e_harness  # first: it puts tests/integration (omrtest, fakes) on sys.path
import omrtest
from e2e_harness import SRCDIR
from omrtest import Agent, Daemon, Redis, check, eq, log

PREFIX = "omr:{main}:"
SECRET = "e2e-identity-secret-0123456789abcdef"
ROUTING = e2e_harness.routing(rules="")

HOSTILE_CSS = """
* { all: unset !important; }
html, body { display: block !important; }
div, section, p, ol, li, form, input, textarea, button, header, footer, span {
  display: none !important; color: #ff0 !important; background: #ff0 !important;
  font-size: 3px !important; line-height: 0 !important; }
omniroute-chat { display: none !important; position: static !important; opacity: 0 !important;
  visibility: hidden !important; width: 0 !important; height: 0 !important; }
:root { --oc-accent: #ffff00 !important; --oc-on-accent: #ffff00 !important; }
* { pointer-events: none !important; }
omniroute-chat { transform: scale(0.1) !important; filter: blur(4px) !important; }
"""

# (not a transform or filter of html or body: those shrink and blur the
# whole page, the widget with it, as on any page; the widget's own element
# keeps neither)
ATTRS = ("prechat", "greeting", "colour", "language", "identity", "open", "offline", "title")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(claims, key=SECRET):
    h = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64(json.dumps(claims).encode())
    return h + "." + p + "." + b64(hmac.new(key.encode(), (h + "." + p).encode(),
                                              hashlib.sha256).digest())


class PageServer:
    """The web site: /page?ATTR=... embeds the widget with those data-
    attributes under hostile CSS; /signal/NAME and /wait/NAME meet the
    agent thread."""

    def __init__(self, edge):
        self.edge = edge
        self.events = {}
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                if u.path == "/page":
                    q = urllib.parse.parse_qs(u.query)
                    body = server.page({k: v[0] for k, v in q.items() if k in ATTRS}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                elif u.path.startswith("/signal/"):
                    server.event(u.path[8:]).set()
                    body = b"ok"
                    self.send_response(200)
                elif u.path.startswith("/wait/"):
                    done = server.event(u.path[6:]).wait(60)
                    body = b"ok" if done else b"timeout"
                    self.send_response(200 if done else 504)
                else:
                    body = b""
                    self.send_response(404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def event(self, name):
        with self.lock:
            return self.events.setdefault(name, threading.Event())

    def page(self, attrs):
        data = "".join(' data-%s="%s"' % (k, html.escape(v)) for k, v in attrs.items())
        return """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop</title>
<style>%s</style>
<script src="%s/widget/chat.js" data-endpoint="%s/chat"%s async></script>
</head><body><h1>A shop with hostile CSS</h1><p>Products.</p><div><button>Buy</button></div>
</body></html>""" % (HOSTILE_CSS, self.edge, self.edge.replace("http", "ws", 1), data)

    def close(self):
        self.httpd.shutdown()


def text_of(frame):
    return json.dumps(frame, ensure_ascii=False)


def agent_script(d, alice, pages, errors, state):
    """alice's side, in a thread; anything that goes wrong ends up in errors."""
    try:
        offer = alice.expect("offer", timeout=90)
        conv = offer["conversation"]["id"]
        state["conv"] = conv
        eq(alice.accept(offer["offer"])["type"], "assigned", "alice takes the widget's chat")
        eq(alice.reply(conv, "Hoi Wim, hoe kan ik helpen?")["type"], "ack", "alice answers")
        check(pages.event("closed").wait(90), "the visitor closed the chat")
        alice.reply(conv, "Bent u er nog?")
        alice.reply(conv, "Ik wacht even.")
        check(pages.event("drop").wait(90), "the visitor asks for the websocket to drop")
        alice.close()
        d.stop()
        # back only once the page shows what the visitor wrote meanwhile
        # as waiting (sooner, the widget could send it before it showed)
        check(pages.event("written").wait(90), "the visitor wrote during the outage")
        d.start()
        alice = Agent(d, "alice")  # back within the session grace: the chat is still hers
        state["alice"] = alice
        pages.event("restarted").set()
        # what the visitor wrote meanwhile: in her welcome (stored before
        # she was back) or in a frame after it
        deadline = time.time() + 90
        while not any("Na de onderbreking" in text_of(m) for m in [alice.welcome] + alice.pending):
            alice.pending.append(alice.ws.recv(max(1, deadline - time.time())))
        # (a new client counts its client_msg_ids from r1 again: one of its own)
        eq(alice.reply(conv, "Welkom terug", cmid="after-restart")["type"], "ack",
           "alice answers after the restart")
        check(pages.event("away").wait(90), "the script asks alice to go away")
        alice.presence("away")
        pages.event("is_away").set()
        check(pages.event("back").wait(90), "the script asks alice to come back")
        alice.presence("available")
        pages.event("is_back").set()
    except Exception:
        errors.append(traceback.format_exc())
        for name in ("restarted", "is_away", "is_back"):
            pages.event(name).set()  # the script fails on its own then


def conv_with(redis, text):
    """The web chat conversations whose messages include text."""
    found = []
    for c in redis.cmd("ZRANGE", PREFIX + "convs:ch:webchat", "0", "-1") or []:
        for mid in redis.cmd("LRANGE", PREFIX + "conv:%s:msgs" % c, "0", "-1") or []:
            if redis.cmd("HGET", PREFIX + "msg:" + mid, "text") == text:
                found.append(c)
    return found


def mail_customer(redis, email):
    """Eva wrote an e-mail before, from an address the channel vouches for."""
    u = uuid.uuid4().hex[:16]
    r = omrtest.lua_call(redis, "ingest", PREFIX, channel="email", channel_msg_id="cm-" + u,
                         address=email, thread="t-" + u, name="Eva", email=email,
                         text="Mijn factuur", attachments=[], attrs={}, meta={}, public=False,
                         ts=int(time.time() * 1000), customer="u_" + u, conversation="c_" + u,
                         message="m_" + u, dedup_ttl=604800000, kind="message", verified=True,
                         reopen=0)
    return r[3]


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING,
               webchat_extra="      identity_secret: %s\n      upload_max: 500000\n"
                             "      max_message: 1048576\n" % SECRET).start()
    edge = "http://127.0.0.1:%d" % d.ports["edge"]
    pages = PageServer(edge)
    eva = mail_customer(redis, "eva@example.com")
    now = int(time.time())
    good = token({"sub": "cust-1001", "email": "eva@example.com", "name": "Eva de Vries",
                  "exp": now + 3600})
    expired = token({"sub": "cust-1001", "email": "eva@example.com", "exp": now - 60})
    h, p, s = good.split(".")
    forged = h + "." + b64(json.dumps({"sub": "cust-1001", "email": "eva@example.com",
                                       "exp": now + 7200}).encode()) + "." + s
    alice = Agent(d, "alice")
    errors, state = [], {}
    t = threading.Thread(target=agent_script, args=(d, alice, pages, errors, state), daemon=True)
    t.start()
    axe = os.path.join(os.path.dirname(e2e_harness.PLAYWRIGHT), "axe-core", "axe.min.js")
    check(os.path.isfile(axe), "axe-core is installed next to playwright-core (npm ci)")
    e2e_harness.run_script("widget_e2e.mjs", 300,
                           E2E_BASE=edge, E2E_PAGE=pages.base, E2E_AXE=axe,
                           E2E_ID_GOOD=good, E2E_ID_EXPIRED=expired, E2E_ID_FORGED=forged)
    t.join(10)
    for e in errors:
        log(e)
    eq(errors, [], "alice's side went as planned")

    conv = state.get("conv")
    c = d.conversation(conv)
    eq(c["customer_profile"].get("name"), "Wim", "the pre-chat form's name reached the customer")
    eq(c["customer_profile"].get("claimed_email"), "wim@example.com",
       "and its e-mail address, as a claim")
    texts = [m["text"] for m in c["messages"] if m["direction"] == "in"]
    eq(texts.count("Na de onderbreking"), 1, "written during the outage: stored once")
    eq(texts.count("Hallo vanuit de widget"), 1, "the first message: stored once")
    counts = omrtest.stored_counts(redis.cmd,
                                   redis.cmd("ZRANGE", PREFIX + "convs:ch:webchat", "0", "-1"))
    eq([k for k, n in counts.items() if n != 1], [], "no web chat message stored twice")

    bon = [m for m in c["messages"] if m["text"] == "Hier is de bon"]
    eq(len(bon), 1, "the visitor's file message: stored once")
    a = bon[0]["attachments"][0]
    eq((a["name"], a["type"], a["stored"]), ("bon.png", "image/png", True), "with the file")
    check(os.path.isfile(os.path.join(tmp, "state", "attachments", "webchat", a["sha256"])),
          "in the attachment store")

    off = conv_with(redis, "Bel me terug over de levering")
    eq(len(off), 1, "the offline form is one conversation")
    oc = d.conversation(off[0])
    eq(oc["attrs"].get("reply_to"), "olga@example.com", "to be answered by e-mail")
    eq(oc["attrs"].get("offline_form"), True, "marked as the offline form")

    signed = conv_with(redis, "Ik ben Eva")
    eq(len(signed), 1, "the signed-in chat")
    eq(d.conversation(signed[0])["customer"], eva,
       "the signed identity links the chat to Eva, who e-mailed before")
    for text in ("Verlopen token", "Vervalste token", "Later vervalst"):
        cs = conv_with(redis, text)
        eq(len(cs), 1, "%s: stored" % text)
        check(d.conversation(cs[0])["customer"] != eva, "%s: not linked to Eva" % text)
    check(d.alive(), "the daemon is still running")
    a = state.get("alice")
    if a:
        a.close()
    pages.close()
    d.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
