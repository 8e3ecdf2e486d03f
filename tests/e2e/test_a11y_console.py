#!/usr/bin/python3
"""axe-core (npm, tests/e2e/package.json) over the agent console and the
supervisor view in a real browser (tests/e2e/a11y_e2e.mjs, headless
Chromium): the login page, alice's console (an agent and a supervisor:
the view tabs) with an offer, a web chat open with the reply box, the
e-mail composer, the transfer dialog, and the supervisor board, reports
and contact reasons; sam, a supervisor only, monitoring alice's chat. A finding of impact serious or critical under the
WCAG 2 A/AA rules fails the test (issue 17)."""

import os

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from omrtest import Daemon, Redis, Visitor, check, eq

AGENTS = omrtest.quick_agents().replace(
    "capacity: { webchat: 3 }", "roles: [agent, supervisor]\n    capacity: { webchat: 3, email: 3 }", 1) + """  - id: sam
    name: Sam Supervisor
    password: "%s"
    roles: [supervisor]
""" % omrtest.password_hash("sam")

MAIL = ("From: Eva Jansen <eva@example.net>\r\nTo: support@example.com\r\n"
        "Cc: Bob <bob@example.org>\r\nSubject: Offerte\r\nMessage-ID: <a11y@example.net>\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nGraag een offerte.\r\n\r\n> eerder\r\n").encode()


def test(tmp):
    redis = Redis(tmp)
    lmtp = omrtest.free_port()
    d = Daemon(tmp, redis, routing=e2e_harness.routing(rules="  - name: any\n    queue: general\n"),
               agents=AGENTS, extra_plugins=omrtest.email_plugin(lmtp)).start()
    v = Visitor(d, name="Wim")
    v.say("Hello, a question about my order")
    eq(omrtest.lmtp_deliver(lmtp, MAIL, "eva@example.net")[0], 250, "the customer's mail is taken")
    axe = os.path.join(os.path.dirname(e2e_harness.PLAYWRIGHT), "axe-core", "axe.min.js")
    check(os.path.isfile(axe), "axe-core is installed next to playwright-core (npm ci)")
    e2e_harness.run_script("a11y_e2e.mjs", 150, E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"],
                           E2E_AXE=axe)
    check(d.alive(), "the daemon is still running")
    v.close()
    d.stop()
    redis.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
