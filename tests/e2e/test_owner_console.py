#!/usr/bin/python3
"""End-to-end test of the customer panel's contact person and relationship
in a real browser (tests/e2e/owner_e2e.mjs, headless Chromium driven by
playwright-core).

Before the browser: bob handles a web chat customer's first contact and
wraps it up as "invoice unclear" with the outcome follow_up (an open
promise; the balance goes down), goes offline, and the customer writes
again. In the browser alice accepts it, sees the panel (no contact person,
"Slipping · ↓ declining", the promise, the reason) and clicks "Make me their
contact person". The admin API must then show alice as the customer's
owner, and the audit trail the claim through the console.

Needs what test_console.py needs (chromium, node, playwright-core); missing
any of them is a failure, not a skip.
"""

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from omrtest import Agent, Daemon, Redis, Visitor, check, eq

ROUTING = e2e_harness.routing(rules="  - name: any\n    queue: general\n")


def seed(d):
    """bob takes the customer's first contact and promises a follow-up;
    the customer writes again (waiting for the browser's alice)."""
    bob = Agent(d, agent="bob")
    v = Visitor(d, name="Noor")
    conv = v.say("My invoice is wrong")["conversation"]
    o = bob.offer_for(conv)
    eq(bob.accept(o["offer"])["type"], "assigned", "bob accepts noor's first contact")
    bob.send({"type": "close", "conversation": conv})
    bob.expect("status")
    bob.send({"type": "wrapup", "conversation": conv, "reason": "invoice unclear",
              "outcome": "follow_up"})
    eq(bob.expect("unassigned")["reason"], "wrapped_up", "wrapped up with a follow-up")
    bob.presence("offline")
    bob.close()
    again = v.say("Any news about my invoice?")["conversation"]
    check(again != conv, "a second conversation")
    return again


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=omrtest.quick_agents()).start()
    conv = seed(d)
    e2e_harness.run_script("owner_e2e.mjs", 120, E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"])
    check(d.alive(), "the daemon is still running")
    prof = d.conversation(conv)["customer_profile"]
    eq((prof.get("owner"), prof.get("owner_by")), ("alice", "alice"),
       "the admin API shows alice as the customer's contact person, set by her")
    st, body = d.http("GET", "/api/v1/audit?limit=50")
    check(any(e.get("who") == "alice" and e.get("action") == "customer.owner" and
              e.get("via") == "console" for e in (body or {}).get("entries", [])),
          "the claim is audited, through the console")
    d.stop()
    redis.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
