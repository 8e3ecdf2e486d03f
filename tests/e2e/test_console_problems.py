#!/usr/bin/python3
"""The agent console's problems of issue 17 (1 to 9), each in a real
browser: tests/e2e/console_problems_e2e.mjs against the real daemon and
Redis, with the web chat demo page as the visitor, faqbot as the bot and
e-mail by LMTP (replies to a smarthost that is not there: they fail).

1. an offer plays a tone (a toggle turns it off), shows a desktop
   notification (permission granted here) and makes the title blink;
2. in an e-mail reply Enter is a new line, Ctrl+Enter sends; the composer
   shows To, the subject, the quoted mail (collapsed) and the signature;
3. Alt+A / Alt+R work while typing; Alt+T, Alt+C, Alt+W;
4. the top bar fits 1280, 1366 and 1440 px without scrolling;
5. waiting counts and the longest wait per queue, "waiting since" per
   conversation, SLA colours; a missed offer comes back to the only agent;
6. the visitor hears "about to join", "Alice joined", "ended"; a message
   after that starts a new chat, visibly;
7. a transfer's offer card says from whom, with the note;
8. a mail's whole text opens, hard-wrapped lines are joined, a failed
   reply says so in words, with Retry and a mark in the list;
9. the switch says Away, the bot has a display name, Close asks first and
   stands apart, notices leave the header's buttons free, late messages
   go in their place in time, the conversation id's contrast, role=log.
"""

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from omrtest import Daemon, Redis, check

SIGNATURE = "Met vriendelijke groet,\\nAlice de Vries\\nKlantenservice"

ROUTING = e2e_harness.routing(rules=e2e_harness.CONSOLE_RULES, billing="""    sla: { target: 80, within: 4s }
    signature: "%s"
""" % SIGNATURE, more="bot: faqbot\nbot_name: Virtual assistant\n").replace(
    "offers: {timeout: 30s, max_missed: 3, reject_cooldown: 5m}",
    "offers: {timeout: 8s, max_missed: 5, reject_cooldown: 5m}")


def test(tmp):
    redis = Redis(tmp)
    faqbot = e2e_harness.faqbot_plugin()
    # alice takes every channel: seven load chips in the top bar
    agents = omrtest.BASE_AGENTS.replace(
        "capacity: { webchat: 3 }",
        "capacity: { webchat: 3, email: 3, whatsapp: 2, messenger: 2, instagram: 2, x: 2, sms: 2 }",
        1)
    lmtp = omrtest.free_port()
    email = e2e_harness.email_plugin(lmtp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=agents,
               extra_plugins=faqbot + email).start()
    e2e_harness.run_script("console_problems_e2e.mjs", 240,
                           E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"],
                           E2E_LMTP_PORT=str(lmtp))
    check(d.alive(), "the daemon is still running")
    d.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
