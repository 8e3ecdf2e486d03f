"""WhatsApp templates with variables (issue 14): the Cloud API's components
model. Real daemon, real Redis, the fake Graph API (which refuses a template
send of the wrong shape, as Meta does):

- the agent console is told each template with the variables it needs;
- a template sent with every variable reaches the Graph API as the exact
  `template.components` JSON (header text, positional body, url button
  suffix, fixed quick reply), its text in the transcript;
- named body parameters carry parameter_name; a document header its link
  and filename; an image header and a quick reply payload variable;
- a missing, unknown, empty or malformed variable is refused with a clear
  error and nothing is sent;
- `omniroute -t` refuses malformed templates with file:line."""
import json
import os
import subprocess
import time

import omrtest
from fakes import (FakeGraph, WA_PHONE_ID as PHONE_ID, WA_TOKEN as TOKEN, WhatsAppHook as Hook,
                   wa_envelope as envelope, wa_plugin as plugin, wa_text as text_msg)
from omrtest import check, eq, log, token_hash, Agent, Daemon, Redis, wait_for, DAEMON

AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { general: 3 }
    capacity: { whatsapp: 5 }
""" % token_hash("alice-token-0123456789")

TEMPLATES = """        - name: order_update
          language: en_US
          header: { type: text, text: "Order {{1}}" }
          text: "Hello {{1}}, your order {{2}} ships {{3}}."
          footer: "Reply STOP to opt out"
          buttons:
            - { type: url, text: Track, url: "https://shop.example/track/{{1}}" }
            - { type: quick_reply, text: "Call me", payload: CALL_ME }
        - name: invoice_ready
          language: nl
          header: { type: document, filename: factuur.pdf }
          text: "Hoi {{first_name}}, factuur {{invoice_no}} staat klaar."
        - name: promo
          language: en_US
          header: { type: image }
          text: "Our new router is here."
          buttons:
            - { type: quick_reply, text: "Tell me more" }
        - { name: follow_up, language: en_US, text: "Hello again!" }
"""


def sent_templates(graph):
    return [p["body"] for p in graph.posts("/%s/messages" % PHONE_ID)
            if p["body"].get("type") == "template"]


def send_template(agent, cid, name, variables, cmid):
    msg = {"type": "reply", "conversation": cid, "template": name, "client_msg_id": cmid}
    if variables is not None:
        msg["variables"] = variables
    agent.send(msg)
    return agent.expect("ack", "error")


def config_errors(tmp, graph):
    """-t on malformed template lists: exit 1, file:line and what is wrong."""
    cases = [
        ("mixed", '        - { name: a, language: en, text: "Hi {{1}} and {{name}}" }\n',
         "cannot be mixed"),
        ("gap", '        - { name: a, language: en, text: "Hi {{1}} and {{3}}" }\n',
         "{{2}} is missing"),
        ("unclosed", '        - { name: a, language: en, text: "Hi {{1" }\n', "without '}}'"),
        ("badname", '        - { name: a, language: en, text: "Hi {{First Name}}" }\n',
         "a placeholder is"),
        ("header", '        - { name: a, language: en, text: x, header: { type: gif } }\n',
         "is not one of text, image, video, document"),
        ("header2", '        - { name: a, language: en, text: x, header: { type: text, '
         'text: "{{1}} {{2}}" } }\n', "at most one placeholder"),
        ("url", '        - { name: a, language: en, text: x, buttons: [ { type: url, text: T, '
         'url: "https://x.example/{{1}}/y" } ] }\n', "must end it"),
        ("button", '        - { name: a, language: en, text: x, buttons: [ { type: call, '
         'text: T } ] }\n', "is not url or quick_reply"),
        ("notext", '        - { name: a, language: en }\n', "needs name, language and text"),
        ("twice", '        - { name: a, language: en, text: x }\n'
         '        - { name: a, language: nl, text: y }\n', "listed twice"),
    ]
    for name, tmpl, want in cases:
        sub = os.path.join(tmp, "bad-" + name)
        os.makedirs(sub)
        d = Daemon(sub, None, embedded=True,
                   extra_plugins=plugin(graph.base, templates=tmpl))
        p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True,
                           timeout=60)
        eq(p.returncode, 1, "-t: malformed template (%s): exit 1" % name)
        check(want in p.stderr and d.conf in p.stderr,
              "-t: %s: says %r with the file: %s" % (name, want, p.stderr.strip()[-300:]))
    sub = os.path.join(tmp, "good")
    os.makedirs(sub)
    d = Daemon(sub, None, embedded=True, extra_plugins=plugin(graph.base, templates=TEMPLATES))
    p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "-t: the test's templates are valid (%s)" % p.stderr.strip()[-300:])


def test(tmp):
    graph = FakeGraph(TOKEN)
    config_errors(tmp, graph)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=omrtest.ONE_QUEUE_ROUTING, agents=AGENTS,
               extra_plugins=plugin(graph.base, "3s", TEMPLATES)).start()
    hook = Hook(d)
    alice = Agent(d, token="alice-token-0123456789")
    hook.post(envelope([text_msg("wamid.T1", "Where is my order?")]))
    o = alice.expect("offer")
    conv = alice.accept(o["offer"])["conversation"]
    cid = conv["id"]
    tl = {t["name"]: t for t in conv["reply_window"]["templates"]}
    eq([v["name"] for v in tl["order_update"]["variables"]], ["header", "1", "2", "3", "button_0"],
       "the console is told each template's variables")
    eq(tl["order_update"]["variables"][0], {"name": "header", "part": "header", "type": "text"},
       "with where each goes and its kind")
    eq([(v["name"], v["type"]) for v in tl["promo"]["variables"]],
       [("header", "image"), ("button_0", "payload")], "an image header, a quick reply payload")
    eq(tl["follow_up"]["variables"], [], "a template without variables has none")

    log("the 24-hour window (3 s here) closes")
    time.sleep(3.5)
    alice.send({"type": "reply", "conversation": cid, "text": "Hello?", "client_msg_id": "w1"})
    e = alice.expect("error", "ack")
    eq(e.get("code"), "window_closed", "free text refused after the window")
    eq([v["name"] for v in {t["name"]: t for t in e["templates"]}["invoice_ready"]["variables"]],
       ["header", "first_name", "invoice_no"], "the refusal lists the templates and variables")

    # ---- refused: nothing reaches the Graph API
    full = {"header": "A-123", "1": "Anna", "2": "A-123", "3": "tomorrow", "button_0": "A-123"}
    for cmid, variables, want in (
            ("m1", {k: v for k, v in full.items() if k != "3"},
             "template 'order_update' needs variable '3' (body text)"),
            ("m2", None, "needs variable 'header'"),
            ("m3", dict(full, coupon="X"), "template 'order_update' has no variable 'coupon'"),
            ("m4", dict(full, **{"1": ""}), "variable '1': a text of 1 to 1024 characters"),
            ("m5", dict(full, **{"2": "two\nlines"}), "variable '2': no new lines or tabs"),
            ("m6", dict(full, **{"3": 3}), "variable '3': a text of 1 to 1024 characters"),
            ("m7", dict(full, **{"1": "x" * 1025}), "a text of 1 to 1024 characters")):
        r = send_template(alice, cid, "order_update", variables, cmid)
        eq((r["type"], r.get("code")), ("error", "bad_request"), "refused: %s" % cmid)
        check(want in r.get("message", ""), "%s: says %r (%s)" % (cmid, want, r.get("message")))
    r = send_template(alice, cid, "promo", {"header": "http://cdn.example/r.jpg",
                                            "button_0": "MORE"}, "m8")
    check(r["type"] == "error" and "https:// link of the image" in r["message"],
          "a media header needs an https link: %s" % r.get("message"))
    alice.send({"type": "reply", "conversation": cid, "template": "promo", "variables": [1],
                "client_msg_id": "m9"})
    r = alice.expect("error", "ack")
    check(r["type"] == "error" and "variables: an object" in r["message"],
          "variables must be an object: %s" % r.get("message"))
    time.sleep(0.5)
    eq(sent_templates(graph), [], "nothing refused was sent")

    # ---- every variable: the exact components JSON
    r = send_template(alice, cid, "order_update", full, "ok1")
    eq(r["type"], "ack", "a complete template is sent")
    eq(r["message"]["text"],
       "Order A-123\n\nHello Anna, your order A-123 ships tomorrow.\n\nReply STOP to opt out",
       "the transcript has the text as the customer reads it")
    body = wait_for(lambda: sent_templates(graph), what="the template sent")[-1]
    eq(body["template"], {
        "name": "order_update", "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "A-123"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Anna"},
                                            {"type": "text", "text": "A-123"},
                                            {"type": "text", "text": "tomorrow"}]},
            {"type": "button", "sub_type": "url", "index": "0",
             "parameters": [{"type": "text", "text": "A-123"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "1",
             "parameters": [{"type": "payload", "payload": "CALL_ME"}]}]},
       "header, body, url suffix and fixed quick reply as the Graph API takes them")
    eq(body["to"], "31612345678", "to the customer")

    r = send_template(alice, cid, "invoice_ready", {"header": "https://files.example/f.pdf",
                                                    "first_name": "Anna",
                                                    "invoice_no": "2026-17"}, "ok2")
    eq(r["type"], "ack", "named parameters")
    body = wait_for(lambda: len(sent_templates(graph)) >= 2 and sent_templates(graph),
                    what="the second template")[-1]
    eq(body["template"]["components"], [
        {"type": "header", "parameters": [{"type": "document", "document": {
            "link": "https://files.example/f.pdf", "filename": "factuur.pdf"}}]},
        {"type": "body", "parameters": [
            {"type": "text", "parameter_name": "first_name", "text": "Anna"},
            {"type": "text", "parameter_name": "invoice_no", "text": "2026-17"}]}],
       "a document header with its file name; named body parameters")
    eq(body["template"]["language"], {"code": "nl"}, "in the template's language")

    r = send_template(alice, cid, "promo", {"header": "https://cdn.example/router.jpg",
                                            "button_0": "PROMO_MORE"}, "ok3")
    eq(r["type"], "ack", "an image header")
    body = wait_for(lambda: len(sent_templates(graph)) >= 3 and sent_templates(graph),
                    what="the third template")[-1]
    eq(body["template"]["components"], [
        {"type": "header", "parameters": [{"type": "image", "image": {
            "link": "https://cdn.example/router.jpg"}}]},
        {"type": "button", "sub_type": "quick_reply", "index": "0",
         "parameters": [{"type": "payload", "payload": "PROMO_MORE"}]}],
       "the image by link; the quick reply's payload from its variable")

    r = send_template(alice, cid, "follow_up", None, "ok4")
    eq(r["type"], "ack", "a template without variables")
    body = wait_for(lambda: len(sent_templates(graph)) >= 4 and sent_templates(graph),
                    what="the fourth template")[-1]
    eq(body["template"], {"name": "follow_up", "language": {"code": "en_US"}},
       "no components when there is nothing to fill")
    eq(len(sent_templates(graph)), 4, "each template sent once")
    check(d.alive(), "the daemon keeps running")
    eq(d.stop(), 0, "clean stop")
    graph.close()


omrtest.run(test)
