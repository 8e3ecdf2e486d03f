"""Conversations started by us (docs/proactive.md) against the real daemon
and Redis, with the fake Graph API for WhatsApp: each channel rule with its
error code (unknown channel or customer, no address, WhatsApp outside the
window without a template, e-mail without a subject, web chat to a visitor
who is not online), idempotency (the same key twice: one conversation,
counted in Redis; another body: 409), opt-outs (STOP refuses, START allows;
the admin API; kept hashed after an erasure), signals (a rule reaching out
once, then throttled; a task offered to an agent; the proactive deposit at
wrap-up), and hostile bodies answered 4xx while the daemon keeps running."""
import json
import os
import subprocess

import omrtest
from fakes import (FakeGraph, WA_TOKEN, WhatsAppHook as Hook, wa_envelope as envelope,
                   wa_plugin, wa_text as text_msg)
from omrtest import (check, eq, log, token_hash, Agent, Daemon, Redis, Visitor, wait_for,
                     email_plugin, free_port, DAEMON)

PREFIX = "omr:{main}:"

ROUTING = """
skills: [general, billing]
default_queue: general
queues:
  - name: general
    status_interval: 0
  - name: billing
    status_interval: 0
offers: {timeout: 30s}
reasons: [other]
outcomes: [resolved]
engagement:
  deposits: {resolved: 1, proactive_resolved: 3}
signals:
  throttle: 7d
  rules:
    - name: at risk, a person calls
      type: payment.failed
      when: 'customer.balance < -5'
      action: task
      queue: billing
    - name: failed payment
      type: payment.failed
      when: 'customer.open_conversations <= 1 and (attributes.amount or 0) < 1000'
      action: reach_out
      channel: preferred
      template: {name: payment_failed, language: en_US}
      text: "Your payment of {{amount}} did not go through. Reply and we sort it out."
      subject: Your payment
      queue: general
    - name: device offline
      type: device.*
      action: task
      queue: general
    - name: nothing else
      type: "*"
      action: none
"""

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3, billing: 3 }
    capacity: { whatsapp: 5, webchat: 5, email: 5 }
""" % token_hash("alice-token-0123456789")

WA_EXTRA = """        - { name: payment_failed, language: en_US, text: "Your payment of {{amount}} failed." }
"""


def start(d, body, key=None, token=None):
    h = {"Idempotency-Key": key} if key else None
    return d.http("POST", "/api/v1/conversations", body, headers=h,
                  **({"token": token} if token else {}))


def err(st_body, status, code, what):
    st, body = st_body
    eq((st, (body or {}).get("error", {}).get("code") if isinstance(body, dict) else body),
       (status, code), what)


def served(alice, visitor, name):
    """visitor writes; alice takes and wraps up that conversation: the
    customer has a history (their preferred channel)"""
    visitor.say("hello")
    while True:
        o = alice.expect("offer")
        if o["conversation"]["customer"].get("name") == name:
            break
    alice.accept(o["offer"])
    cid = o["conversation"]["id"]
    alice.send({"type": "close", "conversation": cid})
    alice.expect("status")
    alice.send({"type": "wrapup", "conversation": cid, "reason": "other", "outcome": "resolved"})
    alice.expect("unassigned")
    return o["conversation"]["customer"]["id"]


class OptOutGraph(FakeGraph):
    """The Graph API, and a number whose owner stopped marketing messages."""
    def answer(self, path, body):
        if isinstance(body, dict) and body.get("to") == "31699999999":
            return 400, {"error": {"message": "Unable to deliver the message. This recipient "
                                   "has chosen to stop receiving marketing messages on "
                                   "WhatsApp from your business", "code": 131050}}
        return super().answer(path, body)


def test(tmp):
    graph = OptOutGraph(WA_TOKEN)
    redis = Redis(tmp)
    plugins = wa_plugin(graph.base, "24h") + WA_EXTRA + email_plugin(free_port())
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, extra_plugins=plugins).start()
    hook = Hook(d)

    # ---- channel rules, each with its code
    err(start(d, {"channel": "pigeon", "to": "x", "text": "hi"}), 422, "unknown_channel",
        "an unknown channel")
    err(start(d, {"customer": "u_01m89a9zq7q90cv47bm5zz", "text": "hi"}), 404,
        "unknown_customer", "an unknown customer")
    err(start(d, {"channel": "whatsapp", "to": "31600000001", "text": "hello"}), 422,
        "template_required", "WhatsApp to someone who never wrote: only a template")
    err(start(d, {"channel": "whatsapp", "to": "31600000001",
                  "template": {"name": "nope", "language": "en_US"}}), 422, "unknown_template",
        "a template the channel does not have")
    err(start(d, {"channel": "email", "to": "anna@example.com", "text": "hello"}), 400,
        "subject_required", "an e-mail needs a subject")
    err(start(d, {"channel": "webchat", "to": "v_nobodyhere", "text": "hello"}), 422,
        "visitor_offline", "web chat only to a visitor online now")

    # WhatsApp with a template: delivered through the plugin's normal path
    st, body = start(d, {"channel": "whatsapp", "to": "31600000001",
                         "template": {"name": "payment_failed", "language": "en_US",
                                      "variables": {"amount": "EUR 12.50"}}}, key="k-wa-1")
    eq(st, 201, "a template outside the window: 201 (%r)" % (body,))
    conv = body["conversation"]
    check(conv["id"].startswith("c_"), "a conversation id")
    eq((conv["status"], conv["channel"]), ("closed", "whatsapp"),
       "no target: a notification, closed at once")
    wait_for(lambda: graph.posts("/messages"), what="the Graph API is called")
    sent = graph.posts("/messages")[-1]["body"]
    eq((sent["type"], sent["template"]["name"], sent["to"]), ("template", "payment_failed",
                                                              "31600000001"),
       "the template went out to the number")
    msgs = d.conversation(conv["id"])["messages"]
    eq(msgs[0]["text"], "Your payment of EUR 12.50 failed.", "the stored text has the variables")
    wait_for(lambda: d.conversation(conv["id"])["messages"][0]["status"] == "sent",
             what="the delivery status comes back as for any reply")

    # ---- idempotency: the same key, one conversation, counted in Redis
    created = int(redis.cmd("HGET", PREFIX + "outreach:stats", "created"))
    st2, body2 = start(d, {"channel": "whatsapp", "to": "31600000001",
                           "template": {"name": "payment_failed", "language": "en_US",
                                        "variables": {"amount": "EUR 12.50"}}}, key="k-wa-1")
    eq((st2, body2["conversation"]["id"]), (201, conv["id"]), "the same key: the same conversation")
    eq(int(redis.cmd("HGET", PREFIX + "outreach:stats", "created")), created,
       "and no second one was created")
    eq(len(graph.posts("/messages")), 1, "nor sent twice")
    err(start(d, {"channel": "whatsapp", "to": "31600000001",
                  "template": {"name": "payment_failed", "language": "en_US"}}, key="k-wa-1"),
        409, "idempotency_mismatch", "the same key with another body")
    err(start(d, {"channel": "whatsapp", "to": "31600000001", "text": "x"}, key="\x01bad"), 400,
        "bad_parameter", "an Idempotency-Key that is not printable")

    # ---- web chat to a visitor on the site, to a queue: an agent gets it
    v = Visitor(d, name="Vera")
    st, body = start(d, {"channel": "webchat", "to": v.id, "text": "Can we help you?",
                         "queue": "general"}, key="k-wc-1")
    eq(st, 201, "web chat to a visitor online now: 201 (%r)" % (body,))
    m = v.ws.recv_type("message")
    eq(m["text"], "Can we help you?", "the visitor sees our message")
    wc_conv = body["conversation"]["id"]
    alice = Agent(d, token="alice-token-0123456789")
    o = alice.offer_for(wc_conv)
    eq(o["conversation"]["id"], wc_conv, "the proactive conversation is offered in its queue")
    a = alice.accept(o["offer"])
    eq(a["type"], "assigned", "and accepted")
    err(start(d, {"channel": "webchat", "to": v.id, "text": "again?"}), 409,
        "conversation_open", "a conversation already open in the thread: 409")
    # wrapped up resolved: the proactive deposit
    alice.send({"type": "close", "conversation": wc_conv})
    alice.expect("status")
    alice.send({"type": "wrapup", "conversation": wc_conv, "reason": "other",
                "outcome": "resolved"})
    alice.expect("unassigned")
    cust = body["conversation"]["customer"]
    events = [e for e in d.api("/api/v1/customers/%s/export" % cust)["customer"]["engagement"]]
    check(any(e["event"] == "proactive_resolved" and e["points"] == 3 for e in events),
          "a proactive contact resolved deposits proactive_resolved: %r" % events)

    # ---- the console's "Start conversation": the same function, offered to the agent
    alice.send({"type": "start", "customer": cust, "channel": "webchat", "text": "One more thing",
                "to": "me", "client_msg_id": "s1"})
    f = alice.expect("started", "error")
    eq(f["type"], "started", "an agent starts a conversation (%r)" % (f,))
    m = v.ws.recv_type("message")
    eq(m["text"], "One more thing", "the visitor gets the agent's message")
    o = alice.offer_for(f["conversation"])
    eq(o["conversation"]["id"], f["conversation"], "and it is offered to that agent")
    alice.send({"type": "start", "customer": cust, "channel": "webchat", "text": "again",
                "to": "me", "client_msg_id": "s2"})
    f2 = alice.expect("started", "error")
    eq((f2["type"], f2.get("code"), f2.get("client_msg_id")), ("error", "conversation_open", "s2"),
       "the console gets the same refusals, with its client_msg_id")
    alice.send({"type": "start", "customer": cust, "text": "x", "client_msg_id": "s3"})
    eq(alice.expect("error").get("code"), "bad_request", "a start without to: refused")
    alice.send({"type": "reject", "offer": o["offer"], "reason": "later"})

    # ---- no address on the channel; the e-mail rule passed with a subject
    err(start(d, {"channel": "whatsapp", "customer": cust,
                  "template": {"name": "payment_failed"}}), 422, "no_address",
        "a customer without an address on that channel")
    st, body = start(d, {"channel": "email", "to": "Anna@Example.com", "subject": "Hello",
                         "text": "A word from us"})
    eq((st, body["conversation"]["address"]), (201, "anna@example.com"),
       "e-mail with a subject: 201, the address in lower case")

    # ---- opt-out by STOP, refused, START, allowed
    st, _ = hook.post(envelope([text_msg("wamid.STOP1", "  stop ")], contacts=None))
    eq(st, 200, "a STOP message is stored")
    tmpl = {"name": "payment_failed", "language": "en_US"}
    wa_to = "31612345678"   # wa_text's sender
    err(start(d, {"channel": "whatsapp", "to": wa_to, "template": tmpl}), 403, "opted_out",
        "after STOP: refused with opted_out")
    st, body = d.http("GET", "/api/v1/optouts?channel=whatsapp&address=" + wa_to)
    eq((st, body["optouts"][0]["opted_out"], body["optouts"][0]["via"]), (200, True, "keyword"),
       "the admin API lists the opt-out and how it came")
    st, _ = hook.post(envelope([text_msg("wamid.START1", "START")]))
    eq(st, 200, "a START message is stored")
    st, body = start(d, {"channel": "whatsapp", "to": wa_to, "template": tmpl})
    eq(st, 201, "after START: allowed again (%r)" % (body,))
    # set and clear by the admin API, for a customer
    wa_cust = body["conversation"]["customer"]
    st, body = d.http("POST", "/api/v1/optouts", {"customer": wa_cust, "opted_out": True})
    eq((st, [o["opted_out"] for o in body["optouts"]]), (200, [True]),
       "an admin opts a customer out of every channel")
    err(start(d, {"channel": "whatsapp", "customer": wa_cust, "template": tmpl}), 403,
        "opted_out", "refused")
    err(d.http("POST", "/api/v1/optouts", {"customer": wa_cust, "opted_out": "yes"}), 400,
        "bad_parameter", "opted_out must be a boolean")
    st, body = d.http("DELETE", "/api/v1/customers/%s?force=1" % wa_cust)
    eq(st, 200, "the customer is erased")
    check(redis.cmd("HEXISTS", PREFIX + "optout:whatsapp", wa_to) == 0,
          "the address is gone from the opt-out list")
    err(start(d, {"channel": "whatsapp", "to": wa_to, "template": tmpl}), 403, "opted_out",
        "an erased customer is still not contacted (the opt-out kept as a hash)")

    # ---- WhatsApp's "stopped marketing messages" error: on the opt-out list
    st, body = start(d, {"channel": "whatsapp", "to": "31699999999", "template": tmpl})
    eq(st, 201, "accepted: the refusal comes from Meta later")
    wait_for(lambda: redis.cmd("HEXISTS", PREFIX + "optout:whatsapp", "31699999999") == 1,
             what="error 131050 puts the number on the opt-out list")
    err(start(d, {"channel": "whatsapp", "to": "31699999999", "template": tmpl}), 403,
        "opted_out", "and the next start is refused")

    # ---- signals: reach out once, then throttled
    v2 = Visitor(d, name="Sam")
    sam = served(alice, v2, "Sam")
    sig = {"type": "payment.failed", "customer": sam, "attributes": {"amount": 42}}
    st, body = d.http("POST", "/api/v1/signals", sig)
    eq((st, body.get("decision"), body.get("rule")), (202, "contacted", "failed payment"),
       "a signal reaches out (%r)" % (body,))
    m = v2.ws.recv_type("message")
    eq(m["text"], "Your payment of 42 did not go through. Reply and we sort it out.",
       "on the customer's preferred channel (web chat), with the attribute filled in")
    pc = d.conversation(body["conversation"])
    eq((pc["channel"], pc.get("signal"), pc.get("origin")), ("webchat", "payment.failed",
                                                           "proactive"),
       "the conversation says where it came from")
    st, body = d.http("POST", "/api/v1/signals", sig)
    eq((st, body.get("decision")), (202, "throttled"), "the second within 7 days: throttled")
    st, body = d.http("POST", "/api/v1/signals", {"type": "newsletter.sent", "customer": sam})
    eq((st, body.get("decision"), body.get("rule")), (202, "none", "nothing else"),
       "a rule that does nothing")

    # ---- a task: an outbound conversation offered to an agent
    v3 = Visitor(d, name="Tess")
    tess = served(alice, v3, "Tess")
    st, body = d.http("POST", "/api/v1/signals",
                      {"type": "device.offline", "customer": tess, "attributes": {"device": "r1"}})
    eq((st, body.get("decision")), (202, "task"), "device.offline opens a task (%r)" % (body,))
    o = alice.offer_for(body["conversation"])
    eq(o["conversation"]["id"], body["conversation"], "the task is offered to an agent")
    check("task" in (d.conversation(body["conversation"]).get("tags") or []),
          "tagged as a task")

    # ---- omnictl conversations start, omnictl signal
    def omnictl(*args):
        r = subprocess.run([os.path.join(omrtest.BUILDDIR, "omnictl"), "--url",
                            "http://127.0.0.1:%d" % d.ports["admin"], "--token", omrtest.TOKEN]
                           + list(args), capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
        return r.returncode, r.stdout + r.stderr
    for _ in range(2):   # the same key twice: one conversation
        rc, out = omnictl("conversations", "start", "--channel", "whatsapp", "--address", "31600000009",
                          "--template", "payment_failed:en_US", "--key", "cli-1")
        eq(rc, 0, "omnictl conversations start: %s" % out)
        check("started" in out, "it says which conversation: %s" % out)
    eq(len([r for r in graph.posts("/messages") if r["body"].get("to") == "31600000009"]), 1,
       "omnictl with --key twice: sent once")
    rc, out = omnictl("conversations", "start", "--channel", "email", "--address", "a@example.com",
                      "--text", "hi")
    check(rc == 1 and "subject" in out, "a refusal is explained: %s" % out)
    rc, out = omnictl("signal", "newsletter.sent", "--customer", sam, "--attributes", '{"n": 1}')
    check(rc == 0 and "decision: none" in out, "omnictl signal: %s" % out)
    rc, out = omnictl("signal", "x", "--attributes", "[1]", "--customer", sam)
    eq(rc, 2, "omnictl signal with bad attributes: a usage error")

    # ---- hostile input: clear 4xx, the daemon keeps running
    for raw, status, what in [
            (b"{not json", 400, "malformed JSON"),
            (b"[1,2]", 400, "not an object"),
            (json.dumps({"channel": 5, "to": "x", "text": "t"}).encode(), 400, "a bad type"),
            (json.dumps({"channel": "webchat", "to": "x", "text": "t", "cc": "y"}).encode(), 400,
             "an unknown member"),
            (json.dumps({"channel": "whatsapp", "to": "1", "template": {
                "name": "payment_failed", "variables": {"v": "x" * 5000}}}).encode(), 400,
             "a huge variable"),
            (json.dumps({"channel": "whatsapp", "to": "1", "template": {
                "name": "payment_failed", "variables": {"v%d" % i: "x" for i in range(40)}}}).encode(),
             400, "too many variables"),
            (json.dumps({"channel": "webchat", "to": "x", "text": "a\u0000b"}).encode(), 400,
             "a NUL in the text"),
            (json.dumps({"channel": "webchat", "to": "x", "text": "t", "bot": "yes"}).encode(), 400,
             "bot not a boolean"),
            (json.dumps({"channel": "webchat", "customer": "u_x", "to": "x", "text": "t"}).encode(),
             400, "both to and customer"),
            (b"{" + b'"text":"' + b"x" * 70000 + b'"}', 413, "an oversized body")]:
        st, body = d.http("POST", "/api/v1/conversations", raw,
                          headers={"Content-Type": "application/json"})
        eq(st, status, "hostile: %s" % what)
    for raw, what in [(b"{", "signal: malformed"), (b'{"type":"a"}', "signal: nobody"),
                      (b'{"type":"x","customer":"u_1","extra":1}', "signal: unknown member"),
                      (b'{"type":"a*","customer":"u_01m89a9zq7q90cv47bm5zz"}', "signal: a pattern"),
                      (b'{"type":"a","to":{"channel":"x"}}', "signal: half an address"),
                      (b'{"type":"a","customer":"u_01m89a9zq7q90cv47bm5zz","attributes":[1]}',
                       "signal: attributes not an object")]:
        st, body = d.http("POST", "/api/v1/signals", raw)
        eq(st, 400, "hostile: %s" % what)
    st, _ = d.http("GET", "/api/v1/signals")
    eq(st, 405, "GET /api/v1/signals: 405")
    st, _ = d.http("POST", "/api/v1/conversations", {"channel": "webchat", "to": "x", "text": "t"},
                   auth=False)
    eq(st, 401, "without a token: 401")
    check(d.healthy(), "the daemon is still running")

    # ---- -t: a bad signals section, with file and line
    bad = os.path.join(tmp, "routing-bad.yaml")
    with open(bad, "w") as f:
        f.write(ROUTING.replace("action: none", "action: shout").replace(
            "queue: billing\n    - name: failed", "queue: nowhere\n    - name: failed"))
    conf = open(d.conf).read().replace("routing: routing.yaml", "routing: routing-bad.yaml")
    cpath = os.path.join(tmp, "bad.yaml")
    with open(cpath, "w") as f:
        f.write(conf)
    r = subprocess.run([DAEMON, "-t", "-c", cpath], capture_output=True, text=True)
    out = r.stdout + r.stderr
    eq(r.returncode, 1, "-t refuses a bad signals section")
    check("routing-bad.yaml:" in out and "action is reach_out, task or none" in out,
          "the bad action with file and line: %s" % out)
    check("unknown queue 'nowhere'" in out, "and the unknown queue")

    for c in (v, v2, v3, alice):
        c.close()
    eq(d.stop(), 0, "clean stop")
    graph.close()
    redis.stop()


def demo(tmp):
    """The shipped routing.yaml's worked example, as an admin would run it
    with curl: a customer is contacted on their channel and their answer is
    routed to billing."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")
    with open(os.path.join(src, "routing.yaml")) as f:
        routing = f.read().replace("bot: faqbot", "")   # no bot plugin here
    graph = FakeGraph(WA_TOKEN)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=routing, agents=AGENTS,
               extra_plugins=wa_plugin(graph.base, "24h") + WA_EXTRA).start()
    alice = Agent(d, token="alice-token-0123456789")
    v = Visitor(d, name="Anna")
    anna = served(alice, v, "Anna")
    # curl -X POST -H 'Authorization: Bearer ...' -d '{...}' .../api/v1/signals
    st, body = d.http("POST", "/api/v1/signals", {"type": "payment.failed", "customer": anna,
                                                  "attributes": {"amount": "EUR 12.50"}})
    eq((st, body.get("decision"), body.get("rule")), (202, "contacted", "failed payment"),
       "demo: the signal contacts the customer (%r)" % (body,))
    m = v.ws.recv_type("message")
    if m["text"].startswith("How did we do"):   # the shipped csat question first
        m = v.ws.recv_type("message")
    check(m["text"].startswith("Hello, your payment of EUR 12.50 did not go through."),
          "demo: the text on the customer's channel: %s" % m["text"])
    v.say("Oh, I changed banks. Can you send a new link?")
    o = alice.offer_for(body["conversation"])
    eq(o["conversation"].get("queue"), "billing", "demo: the answer is routed to billing")
    st, body = d.http("POST", "/api/v1/signals", {"type": "payment.failed", "customer": anna,
                                                  "attributes": {"amount": "EUR 12.50"}})
    eq((st, body.get("decision")), (202, "none"),
       "demo: not while a conversation is open (the rule's condition)")
    v.close()
    alice.close()
    eq(d.stop(), 0, "demo: clean stop")
    graph.close()
    redis.stop()


def both(tmp):
    test(tmp)
    sub = os.path.join(tmp, "demo")
    os.mkdir(sub)
    demo(sub)


if __name__ == "__main__":
    omrtest.run(both)
