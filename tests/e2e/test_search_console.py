#!/usr/bin/python3
"""End-to-end test of the console's search and identity linking in a real
browser (tests/e2e/search_e2e.mjs, headless Chromium driven by
playwright-core).

Before the browser: bob handles "Eva Jansen"'s chat and wraps it up; then
an unknown visitor ("E. J.") writes. In the browser alice accepts the new
chat, opens the search with Ctrl+K, finds Eva by a name prefix, walks to
the result with the arrow keys and opens it read-only (Enter), goes back
(Escape), links the two identities after the confirmation that shows
both, sees the linked identity and Eva's earlier conversation in the
customer panel, and unlinks it again. A supervisor (no conversation
pane) finds the same conversation and reads it inside the search panel.
The test then checks Redis and the audit trail.

Needs what test_console.py needs (chromium, node, playwright-core); missing
any of them is a failure, not a skip.
"""

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from omrtest import Agent, Daemon, Redis, Visitor, check, eq

ROUTING = e2e_harness.routing(rules="  - name: any\n    queue: general\n")


def agents():
    return omrtest.quick_agents() + """  - id: sam
    name: Sam Supervisor
    password: "%s"
    roles: [supervisor]
""" % omrtest.password_hash("sam")
PREFIX = "omr:{main}:"


def seed(d):
    bob = Agent(d, agent="bob")
    eva = Visitor(d, name="Eva Jansen")
    first = eva.say("Mijn factuur van juli klopt niet")["conversation"]
    o = bob.offer_for(first)
    eq(bob.accept(o["offer"])["type"], "assigned", "bob accepts Eva's chat")
    bob.send({"type": "close", "conversation": first})
    bob.expect("status")
    bob.send({"type": "wrapup", "conversation": first, "reason": "invoice unclear",
              "outcome": "resolved"})
    eq(bob.expect("unassigned")["reason"], "wrapped_up", "wrapped up")
    bob.presence("offline")
    bob.close()
    again = Visitor(d, name="E. J.").say("Hallo, nog een vraag over mijn factuur")["conversation"]
    return first, again


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=agents()).start()
    first, again = seed(d)
    e2e_harness.run_script("search_e2e.mjs", 120, E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"])
    check(d.alive(), "the daemon is still running")
    eva = d.conversation(first)["customer"]
    ej = d.conversation(again)["customer"]
    eq((redis.cmd("HGET", PREFIX + "cust:" + eva, "group"),
        redis.cmd("HGET", PREFIX + "cust:" + ej, "group")), (None, None),
       "unlinked at the end: no group left")
    st, body = d.http("GET", "/api/v1/audit?limit=50")
    acts = [(e.get("who"), e.get("action"), e.get("target"), e.get("result"))
            for e in (body or {}).get("entries", [])]
    check(("alice", "customer.link", ej, "ok") in acts, "the link is audited (%r)" % acts)
    check(("alice", "customer.unlink", ej, "ok") in acts, "the unlink is audited")
    d.stop()
    redis.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
