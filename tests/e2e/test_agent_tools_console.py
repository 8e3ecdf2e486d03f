#!/usr/bin/python3
"""End-to-end test of the agent's tools of issue 17 in a real browser
(tests/e2e/agent_tools_e2e.mjs, headless Chromium driven by playwright-core):
a canned response inserted with "/" and its variables filled in, an
internal note naming bob (who is told in his console), typing both ways
and "seen" between the console and the demo chat page, an e-mail parked
and brought back, and parked for an hour and back at its time (the test
clock).

Before the browser: a daemon with a canned responses file, the e-mail
channel and the test clock; one e-mail from Eva for alice. After: the note
is stored as internal and the customer's history does not have it.

Needs what test_console.py needs (chromium, node, playwright-core); missing
any of them is a failure, not a skip.
"""
import smtplib

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from omrtest import Daemon, Redis, check, eq, free_port, password_hash

ROUTING = e2e_harness.routing(rules="  - name: any\n    queue: general\n")

CANNED = """responses:
  - shortcut: hello
    title: Greeting
    text: "Hello {customer.first_name}, this is {agent.first_name} (ref {conversation.id})."
  - shortcut: help
    title: Anything else?
    text: "Is there anything else I can do for you?"
"""


def agents():
    return """agents:
  - id: alice
    name: Alice de Vries
    password: "%s"
    skills: { billing: 4, general: 3 }
    languages: [nl, en]
    capacity: { webchat: 3, email: 2 }
  - id: bob
    name: Bob Jansen
    password: "%s"
    skills: { general: 3 }
    languages: [en]
    capacity: { webchat: 3 }
""" % (password_hash("alice"), password_hash("bob"))


def mail(port):
    data = ("From: Eva <eva@example.net>\r\nTo: support@example.com\r\nSubject: Verhuizing\r\n"
            "Message-ID: <e2e-park-1@example.net>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nIk ga verhuizen, wat moet ik doen?\r\n")
    c = smtplib.LMTP("127.0.0.1", port)
    try:
        c.ehlo_or_helo_if_needed()
        c.mail("eva@example.net")
        c.rcpt("support@example.com")
        c.putcmd("data")
        eq(c.getreply()[0], 354, "LMTP DATA")
        c.send(smtplib.quotedata(data).encode() + b"\r\n.\r\n")
        eq(c.getreply()[0], 250, "Eva's mail is stored")
    finally:
        c.quit()


def test(tmp):
    redis = Redis(tmp)
    with open("%s/canned.yaml" % tmp, "w") as f:
        f.write(CANNED)
    lmtp = free_port()
    d = Daemon(tmp, redis, routing=ROUTING, agents=agents(), test_clock=True,
               conf_extra="canned: canned.yaml\n",
               extra_plugins=omrtest.email_plugin(lmtp)).start()
    mail(lmtp)
    e2e_harness.run_script("agent_tools_e2e.mjs", 240,
                           E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"],
                           E2E_ADMIN="http://127.0.0.1:%d" % d.ports["admin"],
                           E2E_TOKEN=omrtest.TOKEN)
    check(d.alive(), "the daemon is still running")
    notes = [k for k in redis.cmd("KEYS", "omr:{main}:msg:*")
             if redis.cmd("HGET", k, "kind") == "note"]
    eq(len(notes), 1, "one note stored")
    eq(redis.cmd("HGET", notes[0], "status"), "internal", "marked internal")
    d.stop()
    redis.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
