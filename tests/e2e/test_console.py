#!/usr/bin/python3
"""End-to-end test of the agent console in a real browser.

Starts a private Redis and the real daemon (tests/integration/omrtest.py)
with a routing rule that sends a Dutch billing question to alice, then runs
tests/e2e/console_e2e.mjs (headless Chromium driven by playwright-core):
alice logs in, accepts the visitor's conversation, replies, sees hostile
HTML as text, reloads, closes and wraps up; the admin API must show the
wrap-up. Then a visitor asks the bot (faqbot), clicks its quick reply for a
person, and alice sees why the bot handed over and its transcript. Last, a
WhatsApp message (signed webhook, fake Graph API): once its 24-hour window
(4 s here) closes, the console offers the templates instead of free text.
Then an e-mail by LMTP: the console shows its subject and attachment, and
a reply the (absent) smarthost cannot take is shown failed, with why.

Needs /usr/bin/chromium, node, and playwright-core installed by `npm ci` in
tests/e2e (`./quickstart check` does that; or point $OMR_E2E_NODE_MODULES
at a node_modules directory that has it). Missing any of them is a failure,
not a skip: the console is only tested here.

Screenshots go to $OMR_BUILDDIR/tests/e2e/screenshots.
"""

import e2e_harness  # first: it puts tests/integration (omrtest, fakes) on sys.path
import omrtest
from e2e_harness import BUILDDIR
from omrtest import Daemon, Redis, check
from fakes import FakeGraph

# Our own routing: a Dutch billing question goes to the billing queue, in
# Dutch, which only alice serves. Offers and the reconnect grace are long
# enough for a browser (the integration tests use much shorter ones).
ROUTING = e2e_harness.routing(rules=e2e_harness.CONSOLE_RULES, more="bot: faqbot\n")


WA_SECRET = "e2e-app-secret-0123"
WA_TOKEN = "e2e-wa-token"
WHATSAPP = """  - name: whatsapp
    path: %s/plugins/whatsapp/.libs/whatsapp.so
    config:
      app_secret: e2e-app-secret-0123
      verify_token: e2e-verify
      access_token: e2e-wa-token
      phone_number_id: "1234567"
      api_base: %s
      reply_window: 4s
      templates:
        - { name: follow_up, language: en_US, text: "Hello again! Reply to continue our conversation." }
"""


def test(tmp):
    redis = Redis(tmp)
    faqbot = e2e_harness.faqbot_plugin()
    # WhatsApp with a 4-second reply window, against a local fake Graph API
    graph = FakeGraph(WA_TOKEN)
    whatsapp = WHATSAPP % (BUILDDIR, graph.base)
    agents = omrtest.BASE_AGENTS.replace("capacity: { webchat: 3 }",
                                         "capacity: { webchat: 3, whatsapp: 3, email: 3 }")
    # e-mail by LMTP; replies to a smarthost that is not there (they fail)
    lmtp = omrtest.free_port()
    email = e2e_harness.email_plugin(lmtp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=agents,
               extra_plugins=faqbot + whatsapp + email).start()
    e2e_harness.run_script("console_e2e.mjs", 120,
                           E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"],
                           E2E_ADMIN="http://127.0.0.1:%d" % d.ports["admin"],
                           E2E_TOKEN=omrtest.TOKEN,
                           E2E_WEBHOOKS="http://127.0.0.1:%d" % d.ports["webhooks"],
                           E2E_WA_SECRET=WA_SECRET,
                           E2E_LMTP_PORT=str(lmtp))
    check(d.alive(), "the daemon is still running")
    sent = [r["body"] for r in graph.posts("/messages") if r["body"].get("type") == "template"]
    check(len(sent) == 1 and sent[0]["template"]["name"] == "follow_up",
          "the template the agent chose reached the WhatsApp API (%r)" % sent)
    d.stop()
    graph.close()


if __name__ == "__main__":
    e2e_harness.main(test)
