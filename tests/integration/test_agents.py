"""Agents end to end over real websockets against a real Redis: two agents
and several visitors; offers, accept, reject and expiry, replies both ways,
transfer, wrap-up, login failures, disconnect and resume, and hostile input
on /agent."""
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, WebSocketClosed, wait_for
from omrtest import BASE_AGENTS, token_hash

# carol logs in by token (single sign-on); agents.yaml keeps only its hash
CAROL_TOKEN = "Zm9yIGNhcm9sJ3MgU1NPIGJyaWRnZSBvbmx5"
AGENTS = BASE_AGENTS + """  - id: carol
    name: Carol
    token: "%s"
""" % token_hash(CAROL_TOKEN)


def offer_for(agent, conv, timeout=10):
    o = agent.expect("offer", timeout=timeout)
    eq(o["conversation"]["id"], conv, "%s is offered the conversation" % agent.id)
    return o


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=AGENTS).start()

    # ---- login
    bad = Agent(d, "alice", password="wrong", available=False)
    eq(bad.welcome["type"], "error", "wrong password refused")
    eq(bad.welcome["code"], "auth_failed", "auth_failed")
    for _ in range(4):
        bad.send({"type": "auth", "agent": "alice", "password": "wrong"})
        bad.expect("error")
    eq(bad.ws.expect_close(), 1008, "five failed logins close the connection")
    ghost = Agent(d, "mallory", password="x", available=False)
    eq(ghost.welcome.get("code"), "auth_failed", "unknown agent refused the same way")
    carol = Agent(d, token=CAROL_TOKEN, available=False)
    eq(carol.welcome.get("agent", {}).get("id"), "carol", "login by token")
    carol.close()
    sso = Agent(d, token=CAROL_TOKEN[:-1] + "x", available=False)
    eq(sso.welcome.get("code"), "auth_failed", "a wrong token refused")
    # what agents.yaml holds is no credential: a leaked file logs nobody in
    for what, tok in (("the stored hash", token_hash(CAROL_TOKEN)),
                      ("its hex digest", token_hash(CAROL_TOKEN)[len("$sha256$"):])):
        sso.send({"type": "auth", "token": tok})
        eq(sso.expect("welcome", "error").get("code"), "auth_failed", "%s as the token refused" % what)
    sso.close()

    alice = Agent(d, "alice")
    bob = Agent(d, "bob")
    eq(alice.welcome["agent"]["skills"], {"billing": 4, "general": 3}, "welcome: skills")
    eq(alice.welcome["reasons"], ["invoice unclear", "connection down", "other"],
       "welcome: contact reasons")
    eq([a["id"] for a in alice.welcome["agents"]], ["bob", "carol"], "welcome: colleagues")

    # ---- routing by skills and language: Dutch billing to alice, technical to bob
    anna = Visitor(d, name="Anna")
    c1 = anna.say("Goedemiddag, ik heb een vraag over mijn factuur")["conversation"]
    o1 = offer_for(alice, c1)
    eq(o1["conversation"]["queue"], "billing", "offer names the queue")
    eq(o1["conversation"]["language"], "nl", "offer names the language")
    eq(o1["conversation"]["customer"]["name"], "Anna", "offer names the customer")
    check(0 < o1["expires_in_ms"] <= 3000, "offer carries its expiry")
    check(bob.none_of("offer", wait=0.5), "bob (no billing skill) gets no offer")

    tom = Visitor(d, name="Tom")
    c2 = tom.say("My internet connection keeps dropping")["conversation"]
    o2 = offer_for(bob, c2)

    # ---- accept, replies both ways
    a1 = alice.accept(o1["offer"])
    eq(a1["type"], "assigned", "accept gives assigned")
    eq(a1["conversation"]["id"], c1, "assigned conversation")
    eq([m["text"] for m in a1["conversation"]["messages"]],
       ["Goedemiddag, ik heb een vraag over mijn factuur"], "assigned carries the history")
    eq(a1["conversation"]["customer"]["name"], "Anna", "assigned carries the customer")
    again = alice.accept(o1["offer"])
    eq(again.get("code"), "gone", "accepting twice: gone")
    ack = alice.reply(c1, "Ik kijk het voor u na", cmid="x1")
    eq(ack["type"], "ack", "reply acknowledged")
    eq(ack["message"]["text"], "Ik kijk het voor u na", "ack carries the message")
    pushed = anna.ws.recv_type("message")
    eq((pushed["text"], pushed["from"], pushed["name"]), ("Ik kijk het voor u na", "agent", "Alice"),
       "the visitor receives the agent's reply")
    dup = alice.reply(c1, "Ik kijk het voor u na", cmid="x1")
    eq(dup["message"]["id"], ack["message"]["id"], "a resent reply is stored once")
    upd = alice.expect("message")
    eq((upd["message"]["id"], upd["message"]["status"]), (ack["message"]["id"], "delivered"),
       "the agent sees their reply delivered")
    anna.say("Het gaat om factuur 2026-114")
    m = alice.expect("message")
    eq((m["conversation"], m["message"]["text"], m["message"]["direction"]),
       (c1, "Het gaat om factuur 2026-114", "in"), "the visitor's message reaches the agent live")
    eq(m["message"]["author_name"], "Anna", "with the customer's name")
    wait_for(lambda: [x["status"] for x in d.conversation(c1)["messages"] if x["direction"] == "out"]
             == ["delivered"], what="delivery status recorded")

    # ---- reject: the next eligible agent gets it
    o2b = bob.send({"type": "reject", "offer": o2["offer"], "reason": "busy"})
    eq(bob.expect("revoked")["reason"], "rejected", "reject gives revoked")
    # bob is the only tech agent: after declining he is skipped for the
    # cooldown, so the conversation waits
    check(bob.none_of("offer", wait=1.0), "a declined conversation is not offered right back")
    eq(d.conversation(c2)["status"], "queued", "the declined conversation waits in its queue")

    # a general question fits both; alice has one conversation, bob none:
    # longest idle first picks the one who has been idle longest
    gina = Visitor(d, name="Gina")
    c3 = gina.say("Hello, a general question")["conversation"]
    got = {}
    for ag in (alice, bob):
        try:
            got[ag.id] = ag.expect("offer", timeout=2)
        except TimeoutError:
            pass
    eq(len(got), 1, "one offer for one conversation")
    who = list(got)[0]
    log("general question offered to %s" % who)
    other = alice if who == "bob" else bob
    # let it expire: revoked, then offered to the other agent
    owner = alice if who == "alice" else bob
    eq(owner.expect("revoked", timeout=6)["reason"], "expired", "an unanswered offer expires")
    o3 = offer_for(other, c3, timeout=6)
    a3 = other.accept(o3["offer"])
    eq(a3["conversation"]["id"], c3, "the other agent takes it")

    # ---- missed offers set an agent away (max_missed: 2; the expiry above
    # was the first miss of `owner`)
    v = Visitor(d, name="Extra")
    cx = v.say("Another general question")["conversation"]
    offer_for(owner, cx, timeout=8)
    eq(owner.expect("revoked", timeout=6)["reason"], "expired", "second missed offer")
    p = owner.expect("presence", timeout=5)
    eq((p["status"], p["reason"]), ("away", "missed offers"), "two missed offers in a row: away")
    ox = offer_for(other, cx, timeout=6)
    other.accept(ox["offer"])

    # ---- transfer to a named agent, then to a queue
    owner.presence("available")
    alice.send({"type": "transfer", "conversation": c1, "agent": "bob",
                "note": "Klant vraagt om een creditnota"})
    eq(alice.expect("unassigned")["reason"], "transferred", "transfer unassigns")
    ot = offer_for(bob, c1, timeout=8)
    at = bob.accept(ot["offer"])
    notes = [x for x in at["conversation"]["messages"] if x["direction"] == "note"]
    eq([n["text"] for n in notes], ["Klant vraagt om een creditnota"],
       "the transfer note travels with the conversation")
    bob.send({"type": "transfer", "conversation": c1, "queue": "nope"})
    eq(bob.expect("error")["code"], "unknown_queue", "transfer to an unknown queue refused")
    bob.send({"type": "transfer", "conversation": c1, "queue": "billing"})
    eq(bob.expect("unassigned")["reason"], "transferred", "transfer to a queue")
    ob = offer_for(alice, c1, timeout=8)
    alice.accept(ob["offer"])
    anna.ws.close()
    anna2 = Visitor(d, visitor=anna.id, token=anna.token)
    check(all("creditnota" not in x["text"] for x in anna2.welcome["history"]),
          "internal notes never reach the visitor")

    # ---- other agents' conversations are refused
    bob.send({"type": "reply", "conversation": c1, "text": "hijack", "client_msg_id": "h1"})
    eq(bob.expect("error")["code"], "not_yours", "reply to another agent's conversation refused")
    bob.send({"type": "close", "conversation": c1})
    eq(bob.expect("error")["code"], "not_yours", "closing another agent's conversation refused")
    bob.send({"type": "open", "conversation": c1})
    eq(bob.expect("error")["code"], "not_yours", "reading another agent's conversation refused")
    bob.send({"type": "accept", "offer": "o_00000000000000"})
    eq(bob.expect("error")["code"], "gone", "accepting an unknown offer: gone")

    # ---- close, wrap-up, and the report
    alice.send({"type": "wrapup", "conversation": c1, "reason": "made up", "outcome": "resolved"})
    eq(alice.expect("error")["code"], "bad_reason", "unknown contact reason refused")
    alice.send({"type": "close", "conversation": c1})
    eq(alice.expect("status")["status"], "wrapup", "close: the conversation waits for wrap-up")
    r = alice.reply(c1, "too late")
    eq(r.get("code"), "bad_state", "no replies after close")
    alice.send({"type": "wrapup", "conversation": c1, "reason": "invoice unclear",
                "outcome": "resolved", "notes": "credit note sent"})
    eq(alice.expect("unassigned")["reason"], "wrapped_up", "wrap-up unassigns")
    c = d.conversation(c1)
    eq(c["status"], "closed", "wrapped-up conversation is closed")
    eq((c["wrapup"]["reason"], c["wrapup"]["outcome"], c["wrapup"]["notes"]),
       ("invoice unclear", "resolved", "credit note sent"), "wrap-up stored")
    eq(sum(int(redis.cmd("HGET", k, "r|billing|webchat|invoice unclear") or 0)
           for k in redis.cmd("KEYS", "omr:{main}:stats:*:*")), 1,
       "contact reason counted for the report (src/lua/report.lib)")
    rep = d.api("/api/v1/reports/contact-reasons?days=7")
    eq([{"reason": r["reason"], "count": r["count"]} for r in rep["reasons"]],
       [{"reason": "invoice unclear", "count": 1}], "report: top contact reasons")
    eq(rep["outcomes"], [{"outcome": "resolved", "count": 1}], "report: outcomes")
    eq(d.api("/api/v1/reports/contact-reasons")["total"], 1, "report: all time")
    ags = {x["id"]: x for x in d.api("/api/v1/agents")["agents"]}
    eq((ags["alice"]["presence"], ags["alice"]["sessions"]), ("available", 1),
       "admin API: agent presence and sessions")
    eq(ags["alice"]["load"].get("webchat", 0), ags["alice"]["conversations"],
       "admin API: agent load per channel matches her conversations")
    # the customer's next message opens a new conversation, and the agent
    # sees the earlier one in the customer panel
    anna = anna2
    c1b = anna.say("Nog een vraag over een andere factuur", cmid="n1")["conversation"]
    check(c1b != c1, "after wrap-up a new message opens a new conversation")
    on = offer_for(alice, c1b, timeout=8)
    an = alice.accept(on["offer"])
    prev = an["conversation"]["customer"]["previous"]
    eq([p["id"] for p in prev], [c1], "the customer panel lists the earlier conversation")
    eq(prev[0]["wrapup"]["reason"], "invoice unclear", "with its contact reason")
    alice.send({"type": "open", "conversation": c1})
    h = alice.expect("history")
    eq(h["conversation"]["id"], c1, "an agent may read the customer's earlier conversation")

    # ---- disconnect and resume within the grace period
    alice.close()
    time.sleep(0.5)
    alice = Agent(d, "alice", available=False)
    mine = {x["id"]: x for x in alice.welcome["conversations"]}
    check(c1b in mine, "after a reconnect the agent's conversations come back")
    eq(alice.welcome["presence"]["status"], "available", "presence kept across a quick reconnect")
    eq([m["text"] for m in mine[c1b]["messages"]], ["Nog een vraag over een andere factuur"],
       "with their history")
    # the closed earlier conversation now comes from what the first view
    # kept of it (cust:<c>:past): exactly as it came the first time
    check(redis.cmd("HEXISTS", "omr:{main}:cust:%s:past" % d.conversation(c1)["customer"], c1) == 1,
          "the panel's summary of a closed conversation is kept")
    eq(mine[c1b]["customer"]["previous"], prev, "and shown the same, from what was kept")

    # ---- disconnect beyond the grace period: offline, conversations requeued
    alice.close()
    wait_for(lambda: redis.cmd("HGET", "omr:{main}:agent:alice", "presence") == "offline",
             timeout=10, what="alice offline after the grace period")
    wait_for(lambda: d.conversation(c1b)["status"] in ("queued", "offered"), what="requeued")
    eq(d.conversation(c1b)["prefer_agent"], "alice", "requeued with the agent preferred")
    alice = Agent(d, "alice", available=False)
    eq(alice.welcome["presence"]["status"], "away", "after going offline a login starts away")
    eq(alice.welcome["conversations"], [], "the requeued conversations are no longer hers")
    alice.presence("available")
    back = set()
    while back != set(mine):
        o = alice.expect("offer", timeout=8)
        eq(alice.accept(o["offer"])["type"], "assigned", "the preferred agent gets it back")
        back.add(o["conversation"]["id"])
    eq(back, set(mine), "every requeued conversation came back to her")

    # ---- hostile input on /agent
    h = d.ws("/agent", "omniroute.agent.v1")
    for frame, code in ((b"not json", "bad_json"), (b"[]", "bad_json"),
                        (b'{"type":"reply","conversation":"c_0000000000000","text":"x","client_msg_id":"a"}',
                         "auth_required"),
                        (b'{"type":"presence","status":"available"}', "auth_required"),
                        (b'{"nope":1}', "bad_type")):
        h.send_frame(0x1, frame)
        eq(h.recv_type("error")["code"], code, "unauthenticated %s -> %s" % (frame[:30], code))
    h.send({"type": "auth", "agent": "bob", "password": "bob"})
    h.recv_type("welcome")
    for frame, code in (({"type": "teleport"}, "unknown_type"),
                        ({"type": "presence", "status": "sleeping"}, "bad_request"),
                        ({"type": "reply", "conversation": "c_0000000000000", "text": "", "client_msg_id": "a"},
                         "bad_request"),
                        ({"type": "reply", "conversation": "c 1", "text": "x", "client_msg_id": "a"},
                         "bad_request"),
                        ({"type": "reply", "conversation": "c_0000000000000", "text": "x", "client_msg_id": "a b"},
                         "bad_request"),
                        ({"type": "accept"}, "bad_request"),
                        ({"type": "transfer", "conversation": "c_0000000000000"}, "bad_request"),
                        ({"type": "wrapup", "conversation": "c_0000000000000", "reason": "other",
                          "outcome": "nope"}, "bad_outcome"),
                        ({"type": "open", "conversation": "c_0000000000zzz"}, "not_yours")):
        h.send(frame)
        eq(h.recv_type("error")["code"], code, "%s -> %s" % (frame, code))
    h.send_frame(0x1, b'{"type":"ping","pad":"' + b"a" * 70000 + b'"}')
    eq(h.expect_close(), 1009, "oversized agent frame closes with 1009")
    check(d.alive(), "daemon alive after hostile agent input")
    eq(bob.reply(c2, "x").get("code"), "not_yours", "bob still works")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
