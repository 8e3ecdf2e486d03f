"""One contact person (docs/routing.md#contact-person) against a real Redis,
the real daemon and real websocket agents: the owner gets the customer's
conversations first; busy or away, after the bounded wait their team, then
anyone; not logged in or away for days, the deputy. Set by an admin (PUT /
DELETE /api/v1/customers/{id}/owner, hostile input refused), by a rule, or
by the agent ("own" frame). The customer panel's summary comes with the
agent's view. The bounded waits are a realistic 30 s, passed by moving the
daemon's clock (Daemon(test_clock=True)), not by waiting; "away for days"
is written as an old presence_at."""
import json
import os
import subprocess
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, wait_for, token_hash

WAIT = 30  # s: prefer_owner and prefer_team, passed with the test clock

ROUTING = """
skills: [general]
queues: [{name: general, status_interval: 0}]
default_queue: general
owner: { prefer_owner: %(w)ds, prefer_team: %(w)ds, away_after: 1h }
rules:
  - name: vip
    when: 'text:lower():find("vip")'
    owner: carol
    deputy: dora
offers: {timeout: 20s, reject_cooldown: 1m}
sessions: {grace: 0s}
reasons: [invoice unclear, moving house, other]
outcomes: [resolved, follow_up]
""" % {"w": WAIT}


def tok(who):
    return "%s-token-0123456789abcdef" % who


SAM_API = "sam-api-token-0123456789abcdef"
SAM_READ = "sam-read-token-0123456789abcdef"
QUINN_API = "quinn-desk-api-token-0123456789"

AGENTS = """
agents:
""" + "".join("""  - id: %s
    token: "%s"
    team: %s
    skills: { general: 3 }
    capacity: { webchat: 2 }
""" % (who, token_hash(tok(who)), team) for who, team in
              (("alice", "red"), ("bob", "red"), ("carol", "blue"), ("dora", "blue"),
               ("helper", "grey"))) + """  - id: sam
    token: "%s"
    roles: [supervisor]
    api_tokens:
      - { name: desk, hash: "%s", scopes: [read, act] }
      - { name: screen, hash: "%s", scopes: [read] }
  - id: quinn
    token: "%s"
    roles: [supervisor]
    queues: [general]
    api_tokens:
      - { name: desk, hash: "%s", scopes: [read, act] }
""" % (token_hash(tok("sam")), token_hash(SAM_API), token_hash(SAM_READ), token_hash(tok("quinn")),
       token_hash(QUINN_API))

PREFIX = "omr:{main}:"


def login(d, who, available=True):
    a = Agent(d, token=tok(who), available=available)
    eq(a.welcome["type"], "welcome", "%s logs in" % who)
    return a


def first_contact(d, helper, name, reason="other", outcome="resolved"):
    """A new customer's first conversation, handled and wrapped up by the
    helper: the visitor (to write again) and the customer id."""
    v = Visitor(d, name=name)
    c = v.say("Hello, it is %s" % name)["conversation"]
    if "vip" in name:  # the rule makes carol (not here) the contact: her wait, her team's
        # (once it waits: the waits run from when the router queued it)
        wait_for(lambda: d.conversation(c)["status"] == "queued", what="%s queued" % name)
        d.advance_clock(2 * WAIT * 1000 + 2000)
    o = helper.offer_for(c)
    eq(helper.accept(o["offer"])["type"], "assigned", "helper takes %s's first contact" % name)
    helper.send({"type": "close", "conversation": c})
    helper.expect("status")
    helper.send({"type": "wrapup", "conversation": c, "reason": reason, "outcome": outcome})
    helper.expect("unassigned")
    return v, d.conversation(c)["customer"], c


def put_owner(d, cust, body, token=omrtest.TOKEN):
    return d.http("PUT", "/api/v1/customers/%s/owner" % cust, body, token=token)


def no_offer(agents, wait=1.0):
    """None of the agents gets an offer within `wait` s (the bounded wait
    is longer: an offer can only come later, never earlier, on a slow run)."""
    return all(a.none_of("offer", wait=wait / len(agents)) for a in agents)


def api_errors(d, cust, conv):
    """PUT/DELETE with bad input: a 4xx with {"error": {code, message}}, and
    the daemon goes on."""
    path = "/api/v1/customers/%s/owner" % cust
    cases = [
        ("unknown agent", "PUT", path, {"agent": "zoe"}, omrtest.TOKEN, 400, "unknown_agent"),
        ("unknown deputy", "PUT", path, {"agent": "alice", "deputy": "zoe"}, omrtest.TOKEN, 400,
         "unknown_agent"),
        ("a supervisor as owner", "PUT", path, {"agent": "sam"}, omrtest.TOKEN, 400,
         "unknown_agent"),
        ("deputy is the owner", "PUT", path, {"agent": "alice", "deputy": "alice"}, omrtest.TOKEN,
         400, "bad_parameter"),
        ("no agent", "PUT", path, {"deputy": "bob"}, omrtest.TOKEN, 400, "bad_parameter"),
        ("agent not a string", "PUT", path, {"agent": 7}, omrtest.TOKEN, 400, "bad_parameter"),
        ("an unknown member", "PUT", path, {"agent": "alice", "boss": "x"}, omrtest.TOKEN, 400,
         "bad_parameter"),
        ("malformed JSON", "PUT", path, '{"agent": "alice"', omrtest.TOKEN, 400, "bad_request"),
        ("not an object", "PUT", path, '["alice"]', omrtest.TOKEN, 400, "bad_request"),
        ("a NUL in the name", "PUT", path, '{"agent": "ali\\u0000ce"}', omrtest.TOKEN, 400,
         "bad_request"),
        ("oversized", "PUT", path, '{"agent": "%s"}' % ("a" * 70000), omrtest.TOKEN, 413, None),
        ("a read-only token", "PUT", path, {"agent": "alice"}, SAM_READ, 403, "forbidden"),
        ("a token limited to some queues", "PUT", path, {"agent": "alice"}, QUINN_API, 403,
         "forbidden"),
        ("a wrong token", "PUT", path, {"agent": "alice"}, "wrong-token-0123456789", 401, None),
        ("a read-only token clearing", "DELETE", path, None, SAM_READ, 403, "forbidden"),
        ("GET", "GET", path, None, omrtest.TOKEN, 405, "method_not_allowed"),
        ("a malformed customer id", "PUT", "/api/v1/customers/x%2F..%2F/owner", {"agent": "alice"},
         omrtest.TOKEN, 404, "not_found"),
        ("an unknown customer", "PUT", "/api/v1/customers/u_000000000000000000/owner",
         {"agent": "alice"}, omrtest.TOKEN, 404, "not_found"),
        ("an unknown endpoint", "PUT", "/api/v1/customers/%s/boss" % cust, {"agent": "alice"},
         omrtest.TOKEN, 404, "not_found"),
    ]
    for what, method, p, body, token, status, code in cases:
        st, out = d.http(method, p, body, token=token)
        eq(st, status, "%s: status" % what)
        if code:
            check(isinstance(out, dict) and out.get("error", {}).get("code") == code and
                  out["error"].get("message"), "%s: error %s with a message: %r" % (what, code, out))
    check(d.alive(), "the daemon runs on after hostile owner requests")
    check("owner" not in d.conversation(conv)["customer_profile"],
          "a refused request set nothing")


def config_check(tmp, redis):
    """`omniroute -t` refuses a rule whose owner or deputy is not an agent."""
    for i, (rule, message) in enumerate((
            ("owner: zoe", "owner zoe: the contact person is not an agent"),
            ("owner: alice\n    deputy: sam", "the deputy is not an agent"),
            ("deputy: bob", "no contact person given"))):
        sub = os.path.join(tmp, "bad%d" % i)
        os.makedirs(sub)
        routing = ROUTING.replace("owner: carol\n    deputy: dora", rule)
        d = Daemon(sub, redis, routing=routing, agents=AGENTS)
        r = subprocess.run([omrtest.DAEMON, "-t", "-c", d.conf], capture_output=True, text=True)
        eq(r.returncode, 1, "-t refuses %r" % rule)
        check(message in r.stderr and "routing.yaml:" in r.stderr,
              "-t says why (%s), with the line: %r" % (message, r.stderr[-300:]))


def test(tmp):
    redis = Redis(tmp)
    redis.start()
    config_check(tmp, redis)
    d = Daemon(tmp, redis, routing=ROUTING, agents=AGENTS, test_clock=True)
    d.start()

    # ---- the customers' first contacts, all with the helper
    helper = login(d, "helper")
    names = ["owner-free", "owner-busy", "owner-gone", "owner-days", "claimed", "vip", "errors"]
    cust, vis, first = {}, {}, {}
    for n in names:
        vis[n], cust[n], first[n] = first_contact(d, helper, n)
    # a promise: moving house, to be followed up
    vis["promise"], cust["promise"], first["promise"] = first_contact(
        d, helper, "promise", "moving house", "follow_up")
    helper.presence("offline")
    helper.close()

    # ---- the admin API sets the contact person (and refuses bad input)
    api_errors(d, cust["errors"], first["errors"])
    for n in ("owner-free", "owner-busy", "owner-gone", "owner-days"):
        st, out = put_owner(d, cust[n], {"agent": "alice", "deputy": "dora"}, token=SAM_API)
        eq((st, out), (200, {"customer": cust[n], "owner": "alice", "deputy": "dora"}),
           "PUT owner for %s" % n)
    st, out = put_owner(d, cust["promise"], {"agent": "bob"})
    eq((st, out), (200, {"customer": cust["promise"], "owner": "bob", "deputy": None}),
       "PUT owner without a deputy (admin token)")
    audit = d.api("/api/v1/audit")["entries"]
    check(any(e.get("action") == "customer.owner" and e.get("target") == cust["owner-free"] and
              e.get("who") == "sam/desk" and e.get("result") == "ok" for e in audit),
          "the change is audited with who did it")
    check(any(e.get("action") == "customer.owner" and e.get("result") == "bad_request"
              for e in audit), "a refused change is audited too")

    alice, bob, carol, dora = (login(d, w) for w in ("alice", "bob", "carol", "dora"))
    everyone = [alice, bob, carol, dora]

    # ---- the table: who gets the customer's next conversation, in order
    # (set-up, [(agent who gets the offer, what they do), ...], owner_route)
    def owner_away():
        alice.presence("away")

    def owner_gone():
        alice.presence("offline")
        alice.close()

    def owner_days_away():
        nonlocal alice
        alice = login(d, "alice", available=False)
        alice.presence("away")
        redis.cmd("HSET", PREFIX + "agent:alice", "presence_at", str(d.advance_clock(0) -
                                                                     3 * 86400000))

    cases = [
        ("owner-free", "the owner is free: the owner gets it", None,
         ["alice"], "owner"),
        ("owner-busy", "the owner is away a moment: after the bounded wait their team (bob), "
         "who declines: after the team's wait, anyone", owner_away,
         ["-wait", "bob:reject", "-wait", "carol|dora"], "owner"),
        ("owner-gone", "the owner is not logged in: the deputy", owner_gone, ["dora"], "deputy"),
        ("owner-days", "the owner is away for days: the deputy", owner_days_away, ["dora"],
         "deputy"),
    ]
    for n, what, setup, steps, route in cases:
        log("case %s: %s" % (n, what))
        if setup:
            setup()
        agents = {a.id: a for a in (alice, bob, carol, dora)}
        c = vis[n].say("About my contract, %s" % n)["conversation"]
        for step in steps:
            if step == "-wait":
                check(no_offer([a for a in everyone if a.id != "alice" and a in
                                agents.values()]),
                      "%s: nobody else gets it while it is waited for" % n)
                d.advance_clock(WAIT * 1000 + 1000)  # the bounded wait is over
                continue
            who, _, act = step.partition(":")
            cands = [agents[w] for w in who.split("|") if w in agents]
            got = None
            deadline = time.time() + 20
            while not got and time.time() < deadline:
                for a in cands:
                    try:
                        got = (a, a.offer_for(c, timeout=0.3))
                        break
                    except (TimeoutError, OSError):
                        pass
            check(got is not None, "%s: %s gets the offer" % (n, who))
            if not got:
                break
            a, o = got
            check(not any(p.get("type") == "offer" and p["conversation"]["id"] == c
                          for b in agents.values() if b is not a for p in b.pending),
                  "%s: nobody else was offered it meanwhile" % n)
            if act == "reject":
                a.send({"type": "reject", "offer": o["offer"]})
                a.expect("revoked")
            else:
                eq(a.accept(o["offer"])["type"], "assigned", "%s: %s accepts" % (n, a.id))
                a.send({"type": "close", "conversation": c})
                a.expect("status")
                a.send({"type": "wrapup", "conversation": c, "reason": "other",
                        "outcome": "resolved"})
                a.expect("unassigned")
        conv = d.conversation(c)
        eq(conv.get("owner_route"), route, "%s: routed as %s" % (n, route))
        eq(conv["routing"]["owner"]["agent"], "alice", "%s: the explanation names the owner" % n)
        eq(conv["customer_profile"].get("owner"), "alice", "%s: the customer shows the owner" % n)
        eq(conv["customer_profile"].get("deputy"), "dora", "%s: and the deputy" % n)
        if n == "owner-busy":
            alice.presence("available")
    alice.presence("available")
    everyone = [alice, bob, carol, dora]

    # ---- a rule makes carol the contact person of a VIP without one
    c = vis["vip"].say("I am a VIP customer")["conversation"]
    o = carol.offer_for(c)
    carol.accept(o["offer"])
    prof = d.conversation(c)["customer_profile"]
    eq((prof.get("owner"), prof.get("deputy"), prof.get("owner_by")), ("carol", "dora", "rule"),
       "the rule set the contact person and deputy")
    eq(d.conversation(c).get("owner_route"), "owner", "and the conversation went to them")

    # ---- the agent: "make me their contact person" (and what is refused)
    carol.send({"type": "own", "conversation": c})
    eq(carol.expect("owner", "error")["type"], "owner", "carol owns her own conversation")
    bob.send({"type": "own", "conversation": c})
    eq(bob.expect("error")["code"], "not_yours", "bob cannot claim carol's customer")
    bob.send({"type": "own", "conversation": "nonsense"})
    eq(bob.expect("error")["code"], "bad_request", "a bad conversation id")
    bob.send({"type": "own"})
    eq(bob.expect("error")["code"], "bad_request", "no conversation")
    sam = login(d, "sam", available=False)
    sam.send({"type": "own", "conversation": c})
    eq(sam.expect("error")["code"], "forbidden", "a supervisor-only user is nobody's contact")
    carol.send({"type": "wrapup", "conversation": c, "reason": "other", "outcome": "resolved"})

    # dora claims a customer whose owner is bob: she takes over, no deputy
    vc = vis["claimed"]
    st, _ = put_owner(d, cust["claimed"], {"agent": "bob", "deputy": "dora"})
    eq(st, 200, "bob owns 'claimed', dora deputy")
    bob.presence("away")
    c = vc.say("Please help")["conversation"]
    # bob is away for a moment: waited for, then his team (alice)
    check(no_offer([alice, carol, dora]), "nobody gets it while bob is waited for")
    d.advance_clock(WAIT * 1000 + 1000)
    o = alice.offer_for(c, timeout=20)
    check(not any(p.get("type") == "offer" for b in (carol, dora) for p in b.pending),
          "the owner's team, not the others")
    a = alice
    a.accept(o["offer"])
    a.send({"type": "own", "conversation": c})
    fr = a.expect("owner", "error")
    eq((fr.get("type"), fr.get("owner"), fr.get("deputy")),
       ("owner", a.id, None if a.id == "dora" else "dora"),
       "'own': the agent is the contact person now (the deputy stays unless it is them)")
    prof = d.conversation(c)["customer_profile"]
    eq(prof.get("owner"), a.id, "the customer shows the new owner")
    audit = d.api("/api/v1/audit")["entries"]
    check(any(e.get("action") == "customer.owner" and e.get("via") == "console" and
              e.get("who") == a.id for e in audit), "the claim is audited")
    bob.presence("available")

    # ---- DELETE clears
    st, out = d.http("DELETE", "/api/v1/customers/%s/owner" % cust["claimed"])
    eq((st, out), (200, {"customer": cust["claimed"], "owner": None, "deputy": None}),
       "DELETE clears the contact person")
    prof = d.conversation(c)["customer_profile"]
    check("owner" not in prof and "deputy" not in prof, "gone from the customer")

    # ---- the customer panel: owner, trend, last reasons, open promise
    c = vis["promise"].say("About my move")["conversation"]
    o = bob.offer_for(c)
    a = bob.accept(o["offer"])
    cust_view = a["conversation"]["customer"]
    eq(cust_view.get("owner"), "bob", "the panel shows the owner")
    panel = cust_view.get("panel") or {}
    eq(panel.get("reasons"), ["moving house"], "the last contact reasons")
    eq([p.get("reason") for p in panel.get("promises", [])], ["moving house"],
       "the open promise (a follow-up)")
    check(panel.get("trend") in ("up", "down", "steady") and
          panel.get("standing") in ("good", "at risk", "slipping", "new"),
          "the balance as a trend and a word: %r" % panel)
    check("balance" not in panel, "not the raw number")

    # the move is done (a later conversation with the same reason ends the
    # promise), then a new one is promised
    def handle(text, reason, outcome, notes=""):
        c = vis["promise"].say(text)["conversation"]
        if c not in a_convs:
            o = bob.offer_for(c)
            bob.accept(o["offer"])
            a_convs.add(c)
        bob.send({"type": "close", "conversation": c})
        bob.expect("status")
        bob.send({"type": "wrapup", "conversation": c, "reason": reason, "outcome": outcome,
                  "notes": notes})
        bob.expect("unassigned")
        return c
    a_convs = {c}
    moved = handle("About my move", "moving house", "resolved",
                   notes='done","wrapup":{"reason":"forged","outcome":"follow_up"},"x":"')
    handle("My invoice", "invoice unclear", "follow_up")
    # what an older version kept of the kept promise for the panel: its
    # wrap-up encoded first, not last (read whole)
    redis.cmd("HSET", PREFIX + "cust:%s:past" % cust["promise"], moved, json.dumps(
        {"wrapup": {"reason": "moving house", "outcome": "resolved", "notes": "",
                    "agent": "bob", "at": 1}, "id": moved, "channel": "webchat",
         "status": "closed", "created_at": 1, "closed_at": 2, "queue": "general"}))
    c = vis["promise"].say("Me again")["conversation"]
    a = bob.accept(bob.offer_for(c)["offer"])
    panel = a["conversation"]["customer"].get("panel") or {}
    eq(panel.get("reasons"), ["invoice unclear", "moving house"],
       "the last contact reasons, newest first, each once")
    eq([p.get("reason") for p in panel.get("promises", [])], ["invoice unclear"],
       "a promise kept is no longer open; the new one is")

    for a in (alice, bob, carol, dora, sam):
        try:
            a.close()
        except OSError:
            pass
    check(d.alive(), "the daemon runs")
    d.stop()


if __name__ == "__main__":
    omrtest.run(test)
