#!/usr/bin/python3
"""Taking back a declined offer in the console (issue 17, problem 5: "a
missed offer cannot be taken back"), in a real browser
(tests/e2e/take_e2e.mjs).

Only alice takes Dutch billing chats. She rejects the offer, takes it back
from "Missed and declined", and the console accepts the offer that comes
again. Afterwards the conversation is assigned to alice, once, and the
visitor's message is stored once.

Needs what test_console.py needs (chromium, node, playwright-core); missing
any of them is a failure, not a skip.
"""

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
from omrtest import Daemon, Redis, eq

ROUTING = e2e_harness.routing(rules=e2e_harness.CONSOLE_RULES)


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING).start()
    base = "http://127.0.0.1:%d" % d.ports["edge"]
    e2e_harness.run_script("take_e2e.mjs", 150, E2E_BASE=base)
    st, body = d.http("GET", "/api/v1/conversations?channel=webchat")
    eq(st, 200, "the admin API lists the chats")
    convs = body["conversations"]
    eq(len(convs), 1, "one conversation")
    c = d.conversation(convs[0]["id"])
    eq((c["status"], c.get("agent")), ("assigned", "alice"), "alice has it")
    eq(len([m for m in c["messages"] if m["direction"] == "in"]), 1,
       "the visitor's message stored once")


if __name__ == "__main__":
    e2e_harness.main(test)
