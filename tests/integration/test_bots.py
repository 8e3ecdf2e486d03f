"""The bot tier: the built-in faqbot answers without any agent, and hands
over on request, after repeated misunderstanding and on a complaint, with
the transcript and what it learnt in the agent's view; an external bot over
HTTP gets signed requests (checked by a local fake bot), may answer later by
a signed callback, and a timeout or an error hands over to a person."""
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
import urllib.request

import omrtest
from omrtest import (check, eq, log, Agent, Daemon, Redis, Visitor, wait_for, BUILDDIR, SRCDIR,
                     token_hash)

SECRET = "fake-bot-secret-0123456789"

ROUTING = """
skills: [general, billing]
default_queue: general
queues:
  - name: general
    status_interval: 0
  - name: billing
    skills: { billing: 1 }
    status_interval: 0
rules:
  - name: outage
    when: 'text:lower():find("outage")'
    answer:
      text: "We know about the outage in your area; it is fixed by 18:00."
      reason: outage notice
      then: park
  - name: order status
    when: 'text:lower():find("where is my order")'
    answer: { text: "Track your order at https://example.com/track.", reason: order status }
  - name: invoices to people
    when: 'text:lower():find("invoice")'
    queue: billing
    value: { customer: high, organisation: high }
  - name: external bot
    when: 'text:lower():find("robot")'
    tier: bot
value:
  default: { customer: high, organisation: low }   # self-service: the bot first
bot: %(bot)s
bot_timeout: 3s
offers: {timeout: 10s}
reasons: [other, opening hours]
outcomes: [resolved]
"""

AGENTS = """
agents:
  - id: alice
    token: "%(alice)s"
    skills: { general: 3, billing: 3 }
    capacity: { webchat: 5 }
""" % {"alice": token_hash("alice-token-0123456789")}


class FakeBot(http.server.BaseHTTPRequestHandler):
    """A bot service: checks every request's signature, answers by text."""
    seen = []
    daemon_webhooks = None

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        sig = self.headers.get("X-Omniroute-Signature", "")
        want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        turn = json.loads(body)
        FakeBot.seen.append({"signed": hmac.compare_digest(sig, want), "turn": turn,
                             "header_turn": self.headers.get("X-Omniroute-Turn")})
        text = turn["text"].lower()
        if "slow" in text:
            time.sleep(4)  # beyond the bot timeout
            return self.answer(200, {"action": "continue", "messages": [{"text": "too late"}]})
        if "broken" in text:
            return self.answer(500, {"error": "boom"})
        if "flood" in text:  # hostile: too many, too long, not text, huge slots
            msgs = [{"text": "x" * 200000}, {"text": 5}] + [{"text": "m%d" % i} for i in range(28)]
            return self.answer(200, {"action": "continue", "messages": msgs,
                                     "slots": {"junk": "y" * 20000}})
        if "garbage" in text:
            return self.answer(200, "this is not an answer")
        if "silent" in text:
            return self.answer(202, {})  # and never calls back
        if "later" in text:
            self.answer(202, {})
            threading.Thread(target=self.callback, args=(turn["turn"],), daemon=True).start()
            return
        if "bye" in text:
            return self.answer(200, {"action": "resolve", "reason": "other",
                                     "messages": [{"text": "Goodbye!"}]})
        return self.answer(200, {"action": "continue", "intent": "echo",
                                 "slots": {"order": "A-17"},
                                 "messages": [{"text": "robot says: " + turn["text"]}]})

    def answer(self, status, obj):
        data = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except BrokenPipeError:
            pass  # the daemon gave up waiting: what the slow case is about

    def callback(self, turn):
        time.sleep(0.3)
        body = json.dumps({"turn": turn, "action": "continue",
                           "messages": [{"text": "answered later"}]}).encode()
        for sig in ("sha256=" + "0" * 64,  # a forged one first: refused
                    "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()):
            req = urllib.request.Request(
                "http://127.0.0.1:%d/webhooks/webhookbot" % FakeBot.daemon_webhooks, data=body,
                headers={"X-Omniroute-Signature": sig, "Content-Type": "application/json"})
            try:
                FakeBot.seen.append({"callback": urllib.request.urlopen(req, timeout=5).status})
            except urllib.error.HTTPError as e:
                FakeBot.seen.append({"callback": e.code})



def plugin(name, conf):
    return "  - name: %s\n    path: %s/plugins/%s/.libs/%s.so\n%s" % (
        name, BUILDDIR, name, name, conf)


def faqbot_part(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING % {"bot": "faqbot"}, agents=AGENTS,
               extra_plugins=plugin("faqbot", "    config_file: %s/conf/faqbot.yaml\n" % SRCDIR)).start()
    alice = Agent(d, token="alice-token-0123456789")

    # FAQ answered, no agent bothered
    v = Visitor(d, name="Fay")
    c = v.say("Hello, what are your opening hours?")["conversation"]
    m = v.ws.recv_type("message")
    eq(m["from"], "bot", "the bot answers")
    check("Monday to Friday" in m["text"], "with the opening hours (%s)" % m["text"])
    check(alice.none_of("offer", wait=1.5), "no agent is offered a conversation the bot handles")
    conv = d.conversation(c)
    eq((conv["status"], conv["routing"]["quadrant"], conv["routing"]["tier"]),
       ("bot", "self_service", "bot"), "self-service goes to the bot tier")
    eq(conv["intent"], "opening hours", "the intent is recorded")
    v.say("Wanneer zijn jullie open?", cmid="nl1")
    m = v.ws.recv_type("message")
    check("maandag tot en met vrijdag" in m["text"], "answered in Dutch to a Dutch question")

    # hand-off on request: the agent gets the transcript, the customer is told
    v.say("I would like to talk to a human", cmid="h1")
    eq(v.ws.recv_type("message")["text"], "Let me get you a person.", "the bot says it hands over")
    sysmsg = v.ws.recv_type("message")
    check(sysmsg["from"] == "system" and "You are number 1" in sysmsg["text"],
          "the customer is told their position (%s)" % sysmsg["text"])
    o = alice.expect("offer", timeout=8)
    eq(o["conversation"]["id"], c, "after the hand-off an agent gets the offer")
    a = alice.accept(o["offer"])["conversation"]
    texts = [x["text"] for x in a["messages"]]
    check(any("Monday to Friday" in t for t in texts), "the bot's answers are in the transcript")
    eq(a["routing"]["handoff"]["reason"], "the customer asked for a person",
       "the agent sees why the bot handed over")
    eq(a["attrs"]["intent"], "opening hours", "and what the customer wanted")
    eq(d.conversation(c)["status"], "assigned", "assigned to the agent")

    # repeated misunderstanding: handed over after two
    v2 = Visitor(d, name="Mo")
    c2 = v2.say("blorp")["conversation"]
    check("did not understand" in v2.ws.recv_type("message")["text"], "first: asks again")
    v2.say("zzzyx", cmid="z2")
    v2.ws.recv_type("message")
    o = alice.expect("offer", timeout=8)
    eq(o["conversation"]["id"], c2, "after two misunderstandings: a person")
    eq(d.conversation(c2)["routing"]["handoff"]["reason"], "the bot did not understand",
       "explained")

    # a complaint: at once
    v3 = Visitor(d, name="Ken")
    c3 = v3.say("I have a complaint about your service")["conversation"]
    o = alice.expect("offer", timeout=8)
    eq(o["conversation"]["id"], c3, "a complaint goes to a person at once")
    eq(d.conversation(c3)["routing"]["handoff"]["reason"], "complaint", "explained")

    # high value to the organisation: straight to people, no bot
    v4 = Visitor(d, name="Ivo")
    c4 = v4.say("Question about my invoice")["conversation"]
    o = alice.expect("offer", timeout=8)
    eq(o["conversation"]["id"], c4, "an encourage contact skips the bot")

    # eliminate by a rule's automatic answer: closed, or parked until the
    # customer writes again
    v6 = Visitor(d, name="Ord")
    c6 = v6.say("Where is my order?")["conversation"]
    m = v6.ws.recv_type("message")
    check("example.com/track" in m["text"], "the order status answer arrives")
    conv = wait_for(lambda: (lambda x: x if x["status"] == "closed" else None)(d.conversation(c6)))
    eq((conv["wrapup"]["reason"], conv["wrapup"]["outcome"]), ("order status", "automated"),
       "closed, the trigger is the contact reason")
    v7 = Visitor(d, name="Out")
    c7 = v7.say("Is there an outage? My internet is down")["conversation"]
    check("outage in your area" in v7.ws.recv_type("message")["text"], "the outage notice arrives")
    conv = wait_for(lambda: (lambda x: x if x["status"] == "parked" else None)(d.conversation(c7)))
    eq(conv["routing"]["treatment"], "answered automatically (rule), parked", "parked, explained")
    reasons = {r["reason"]: r["count"] for r in d.api("/api/v1/reports/contact-reasons")["reasons"]}
    eq((reasons.get("outage notice"), reasons.get("order status")), (1, 1),
       "both triggers counted in the contact-reason report")
    v7.say("It is still not working", cmid="o2")
    o = alice.offer_for(c7)
    conv = d.conversation(c7)
    eq(conv["routing"]["handoff"]["reason"], "the customer wrote again after the automatic answer",
       "a parked customer who writes again gets a person")
    check("auto_answer_followup" in conv["tags"], "tagged")
    eq(d.stop(), 0, "clean stop")

    # the customer says nothing more: closed after bot_idle_close
    idle = (ROUTING % {"bot": "faqbot"}).replace("bot_timeout: 3s",
                                                  "bot_timeout: 3s\nbot_idle_close: 4s")
    d = Daemon(tmp, redis, routing=idle, agents=AGENTS,
               extra_plugins=plugin("faqbot", "    config_file: %s/conf/faqbot.yaml\n" % SRCDIR)).start()
    v8 = Visitor(d, name="Ida")
    c8 = v8.say("What are your opening hours?")["conversation"]
    v8.ws.recv_type("message")
    v9 = Visitor(d, name="Pim")
    c9 = v9.say("Is there an outage here?")["conversation"]
    v9.ws.recv_type("message")
    eq((d.conversation(c8)["status"], wait_for(lambda: d.conversation(c9)["status"] == "parked"
                                               and "parked")), ("bot", "parked"), "with the bot, parked")
    closed = wait_for(lambda: all(d.conversation(x)["status"] == "closed" for x in (c8, c9)),
                      timeout=10, what="idle conversations closed")
    w8, w9 = d.conversation(c8)["wrapup"], d.conversation(c9)["wrapup"]
    eq((w8["reason"], w8["outcome"], w9["outcome"]),
       ("no reply from the customer", "resolved by bot", "automated"),
       "closed after bot_idle_close: self-service done, the automatic answer sufficed")
    eq(d.conversation(c)["status"], "assigned", "a conversation a person has is not touched")
    check(closed, "closed")
    eq(d.stop(), 0, "clean stop")


def webhookbot_part(tmp):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeBot)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    redis = Redis(tmp)
    conf = ("    config:\n      url: http://127.0.0.1:%d/turn\n      secret: %s\n"
            "      timeout: 2s\n      callback: true\n" % (srv.server_address[1], SECRET))
    d = Daemon(tmp, redis, node="wb", routing=ROUTING % {"bot": "webhookbot"}, agents=AGENTS,
               extra_plugins=plugin("webhookbot", conf)).start()
    FakeBot.daemon_webhooks = d.ports["webhooks"]
    alice = Agent(d, token="alice-token-0123456789")

    v = Visitor(d, name="Rob")
    c = v.say("hello robot")["conversation"]
    m = v.ws.recv_type("message")
    eq(m["text"], "robot says: hello robot", "the external bot's answer reaches the visitor")
    t = FakeBot.seen[-1]
    check(t["signed"], "the request carries a valid HMAC-SHA256 signature")
    eq(t["header_turn"], t["turn"]["turn"], "and its turn id")
    eq(t["turn"]["context"]["customer"]["name"], "Rob", "the context names the customer")
    # stored with the bot's answer; the visitor may see the answer first
    slots = wait_for(lambda: d.conversation(c)["bot_slots"] or None, what="slots stored")
    eq(slots, {"order": "A-17"}, "slots are kept")
    v.say("ask me later", cmid="l1")
    eq(v.ws.recv_type("message")["text"], "answered later", "an answer by signed callback")
    wait_for(lambda: {"callback": 401} in FakeBot.seen, what="forged callback refused")
    # the fake notes the 200 once its request returns, which may be after
    # the visitor has the answer
    wait_for(lambda: {"callback": 200} in FakeBot.seen, what="the signed callback accepted")
    v.say("be slow", cmid="s1")
    o = alice.expect("offer", timeout=10)
    eq(o["conversation"]["id"], c, "a bot that does not answer in time: a person takes over")
    eq((o["conversation"].get("intent"), o["conversation"].get("bot_slots")),
       ("echo", {"order": "A-17"}), "the offer carries what the bot learnt")
    check("did not answer" in d.conversation(c)["routing"]["handoff"]["reason"],
          "explained: %s" % d.conversation(c)["routing"]["handoff"]["reason"])

    v2 = Visitor(d, name="Bea")
    c2 = v2.say("robot, you are broken")["conversation"]
    o = alice.expect("offer", timeout=8)
    eq(o["conversation"]["id"], c2, "a bot service error: a person takes over")
    check("HTTP 500" in d.conversation(c2)["routing"]["handoff"]["reason"], "explained")

    v3 = Visitor(d, name="Bo")
    c3 = v3.say("robot: bye")["conversation"]
    eq(v3.ws.recv_type("message")["text"], "Goodbye!", "the bot's last words")
    conv = wait_for(lambda: (lambda x: x if x["status"] == "closed" else None)(d.conversation(c3)))
    eq((conv["wrapup"]["reason"], conv["wrapup"]["outcome"]), ("other", "resolved by bot"),
       "resolved by the bot, reason counted")
    v5 = Visitor(d, name="Flo")
    c5 = v5.say("robot flood")["conversation"]
    got = [v5.ws.recv_type("message")["text"] for _ in range(8)]
    eq(got, ["m%d" % i for i in range(8)],
       "a flooding bot: only its first ten messages count, and only the valid ones")
    try:
        extra = v5.ws.recv_type("message", timeout=1.0)["text"]
    except (TimeoutError, OSError):
        extra = None
    eq(extra, None, "nothing more reaches the customer")
    eq(d.conversation(c5)["bot_slots"], {}, "oversized slots are not stored")
    v5.say("robot garbage", cmid="g1")
    alice.offer_for(c5)
    eq(d.conversation(c5)["routing"]["handoff"]["reason"],
       "the bot service sent an answer we cannot read", "an unreadable answer: a person takes over")

    v4 = Visitor(d, name="Sil")
    c4 = v4.say("robot, stay silent")["conversation"]
    o = alice.offer_for(c4)
    eq(o["conversation"]["id"], c4, "a bot that accepts a turn and never answers: a person takes over")
    eq(d.conversation(c4)["routing"]["handoff"]["reason"], "the bot did not answer in time",
       "the deadline in Redis caught it")

    def signed(body):
        return {"X-Omniroute-Signature":
                "sha256=" + hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()}
    hook = d.ports["webhooks"]
    st, body = d.http("POST", "/webhooks/webhookbot", body="{}", auth=False, port=hook)
    eq(st, 401, "an unsigned callback is refused")
    for bad in ("{", "[]", '{"turn": 7, "action": "continue"}', '{"turn": "t_x"}', "\x00" * 10):
        st, body = d.http("POST", "/webhooks/webhookbot", body=bad, auth=False, port=hook,
                          headers=signed(bad))
        eq(st, 400, "a signed callback that is not an answer: 400 (%r)" % bad[:20])
    late = json.dumps({"turn": t["turn"]["turn"], "action": "continue",
                       "messages": [{"text": "way too late"}]})
    st, body = d.http("POST", "/webhooks/webhookbot", body=late, auth=False, port=hook,
                      headers=signed(late))
    eq(st, 404, "a callback for a turn already answered: 404")
    st, body = d.http("GET", "/webhooks/webhookbot", auth=False, port=hook)
    eq(st, 405, "GET is refused")
    check(d.alive(), "the daemon keeps running")
    check(all(m["text"] != "way too late" for m in d.conversation(c)["messages"]),
          "nothing from a stale callback reaches the conversation")
    eq(d.stop(), 0, "clean stop")
    srv.shutdown()


def test(tmp):
    os.makedirs(os.path.join(tmp, "a"))
    os.makedirs(os.path.join(tmp, "b"))
    faqbot_part(os.path.join(tmp, "a"))
    webhookbot_part(os.path.join(tmp, "b"))


omrtest.run(test)
