"""Reload: SIGHUP (and POST /api/v1/reload) swaps the configuration only
when the new one is valid as a whole; a broken one is logged with
file:line and the daemon keeps serving with the old one."""
import os
import signal
import time

import omrtest
from omrtest import check, eq, Agent, Daemon, Redis, Visitor, wait_for, BASE_ROUTING


def queued_in(d, conv):
    c = wait_for(lambda: (lambda c: c if c["status"] == "queued" else None)(d.conversation(conv)),
                 what="queued")
    return c["queue"]


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis).start()
    routing = os.path.join(tmp, "routing.yaml")

    # bob takes one conversation; another one waits (nobody else is there)
    bob = Agent(d, "bob")
    v0 = Visitor(d)
    c0 = v0.say("a general question for bob")["conversation"]
    o = bob.expect("offer")
    eq(bob.accept(o["offer"])["type"], "assigned", "bob has a conversation")
    bob.presence("away")
    v1 = Visitor(d)
    c1 = v1.say("first")["conversation"]
    eq(queued_in(d, c1), "general", "before reload: default queue general")

    # broken routing file: SIGHUP keeps the old configuration
    with open(routing, "w") as f:
        f.write(BASE_ROUTING.replace("billing: 1", "biling: 1"))
    d.send_signal(signal.SIGHUP)
    # the refusal and its reasons are separate log lines: wait for the reason
    wait_for(lambda: "routing.yaml:10: unknown skill 'biling'" in d.log_text(),
             what="the refusal names file:line and the problem")
    check("keeping the running configuration" in d.log_text(), "the reload was refused")
    check(d.alive(), "daemon alive after a broken reload")
    v2 = Visitor(d)
    c2 = v2.say("second")["conversation"]
    eq(queued_in(d, c2), "general", "old routing still in force")

    # the same through the admin API
    st, body = d.http("POST", "/api/v1/reload")
    eq(st, 422, "admin reload of a broken config: 422")
    eq(body["reloaded"], False, "reloaded: false")
    check("unknown skill 'biling'" in body["error"]["message"], "API reload explains why")

    # a broken main file (YAML syntax) is refused too
    with open(d.conf) as f:
        good_main = f.read()
    with open(d.conf, "w") as f:
        f.write(good_main + "\nlog: [unclosed\n")
    st, body = d.http("POST", "/api/v1/reload")
    eq(st, 422, "broken YAML refused")
    check(os.path.basename(d.conf) in body["error"]["message"], "YAML error names the file")
    with open(d.conf, "w") as f:
        f.write(good_main)

    # a valid change applies
    with open(routing, "w") as f:
        f.write(BASE_ROUTING.replace("default_queue: general", "default_queue: billing"))
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration from" in d.log_text() and "applied" in d.log_text(),
             what="reload applied")
    v3 = Visitor(d)
    c3 = v3.say("third")["conversation"]
    eq(queued_in(d, c3), "billing", "new routing applies to new conversations")
    wait_for(lambda: d.conversation(c1)["queue"] == "billing",
             what="the waiting conversation decided again")
    check(any(x.get("reload") for x in d.conversation(c1)["escalations"]),
          "the move is explained on the conversation")
    eq(d.conversation(c1)["status"], "queued", "still waiting, in its new queue")
    c = d.conversation(c0)
    eq((c["status"], c["agent"], c["queue"]), ("assigned", "bob", "general"),
       "an assigned conversation is not disturbed by the reload")
    eq(v1.say("still talking")["conversation"], c1, "open conversations keep going")

    st, body = d.http("POST", "/api/v1/reload")
    eq(st, 200, "admin reload of a valid config: 200")
    st, metrics = d.http("GET", "/metrics")
    check("omniroute_reloads_total 2" in metrics, "two successful reloads counted")
    check("omniroute_reload_failures_total 3" in metrics, "three refused reloads counted")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
