#!/usr/bin/python3
"""End-to-end test of a WhatsApp template's variables in the agent console
(tests/e2e/template_e2e.mjs, headless Chromium driven by playwright-core).

Before the browser: a WhatsApp customer writes (the fake Graph API stands
for Meta; the reply window is 2 s here, so it is closed by the time alice
has the conversation). In the browser alice accepts it, sees the window
closed, picks the template order_update and gets one field per variable;
sending with a field empty is refused in the form (nothing is sent), with
all of them filled in it goes. The fake Graph API must then have received
the template with exactly those values in its components.

Needs what test_console.py needs (chromium, node, playwright-core); missing
any of them is a failure, not a skip.
"""

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from fakes import (FakeGraph, WA_PHONE_ID as PHONE_ID, WA_TOKEN as TOKEN, WhatsAppHook as Hook,
                   wa_envelope as envelope, wa_plugin as plugin, wa_text as text_msg)
from omrtest import Daemon, Redis, check, eq, wait_for

ROUTING = e2e_harness.routing(rules="  - name: any\n    queue: general\n")
TEMPLATES = """        - name: order_update
          language: en_US
          header: { type: text, text: "Order {{1}}" }
          text: "Hello {{1}}, your order {{2}} ships {{3}}."
          buttons:
            - { type: url, text: Track, url: "https://shop.example/track/{{1}}" }
"""


def test(tmp):
    graph = FakeGraph(TOKEN)
    redis = Redis(tmp)
    agents = omrtest.quick_agents().replace("capacity: { webchat: 3 }",
                                            "capacity: { webchat: 3, whatsapp: 3 }")
    d = Daemon(tmp, redis, routing=ROUTING, agents=agents,
               extra_plugins=plugin(graph.base, "2s", TEMPLATES)).start()
    st, _ = Hook(d).post(envelope([text_msg("wamid.E2E1", "Where is my order?")]))
    eq(st, 200, "the customer's WhatsApp message is stored")
    e2e_harness.run_script("template_e2e.mjs", 120, E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"])
    sent = wait_for(lambda: [p["body"] for p in graph.posts("/%s/messages" % PHONE_ID)
                             if p["body"].get("type") == "template"], what="the template sent")
    eq(len(sent), 1, "one template sent (the refused try sent nothing)")
    eq(sent[0]["template"], {
        "name": "order_update", "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "B-778"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Kerry"},
                                            {"type": "text", "text": "B-778"},
                                            {"type": "text", "text": "on Monday"}]},
            {"type": "button", "sub_type": "url", "index": "0",
             "parameters": [{"type": "text", "text": "B-778"}]}]},
       "the values typed in the form, as the Graph API takes them")
    check(d.alive(), "the daemon is still running")
    d.stop()
    redis.stop()
    graph.close()


if __name__ == "__main__":
    e2e_harness.main(test)
