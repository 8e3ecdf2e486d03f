"""The server's side of the agent console's problems (issue 17), over real
websockets against a real Redis and the real daemon:

- a missed offer comes back at once to the only agent who can take it (not
  after offers.reject_cooldown); a rejected one does not; with another
  agent ready, the other gets it;
- the web chat visitor hears `offered`, `joined` (with the agent's name),
  no position updates after that, and `ended` at the close; what they write
  next is a new conversation;
- a transferred conversation's offer says from whom, with the note (cut at
  200 bytes on a character boundary), and the accept drops it;
- agents get `queue_info` frames: the queues they serve, what waits, since
  when, the service level's answer time; unchanged, nothing is sent;
- the bot's display name (routing.yaml bot_name) is what the customer sees
  and what is stored; -t refuses a bad one with file:line;
- a queue's e-mail signature comes with the welcome.
"""
import os
import subprocess

from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, BASE_ROUTING, BUILDDIR, SRCDIR, DAEMON

ROUTING = BASE_ROUTING.replace(
    "  - name: billing\n    skills: { billing: 1 }\n",
    "  - name: billing\n    skills: { billing: 1 }\n    sla: { target: 80, within: 20s }\n"
    "    signature: \"Met vriendelijke groet,\\nKlantenservice\"\n    status_interval: 1s\n"
).replace("rules:\n", "rules:\n  - name: opening hours\n    when: 'text:lower():find(\"open\")'\n"
          "    tier: bot\n", 1) + "bot: faqbot\nbot_name: Virtual assistant\n"

FAQBOT = ("  - name: faqbot\n    path: %s/plugins/faqbot/.libs/faqbot.so\n"
          "    config_file: %s/conf/faqbot.yaml\n" % (BUILDDIR, SRCDIR))


def frames(ws, wait):
    """Every frame the websocket gets within wait seconds."""
    out = []
    try:
        while True:
            out.append(ws.recv(wait))
    except Exception:  # the timeout ends the list
        return out


def leave(v):
    """The visitor ends the chat: a conversation no agent has is closed."""
    v.ws.send({"type": "leave"})
    v.ws.recv_type("left")
    v.close()


def reoffer(d):
    # alice is the only agent with the billing skill
    alice = Agent(d, "alice")
    anna = Visitor(d, name="Anna")
    c1 = anna.say("Goedemiddag, een vraag over mijn factuur")["conversation"]
    o1 = alice.offer_for(c1)
    eq(alice.expect("revoked", timeout=6)["reason"], "expired", "alice lets the offer expire")
    o2 = alice.offer_for(c1, timeout=3)
    check(o2["offer"] != o1["offer"], "missed, it is offered to her again at once "
          "(she is the only one ready for it; the cooldown is a minute)")
    alice.send({"type": "reject", "offer": o2["offer"]})
    eq(alice.expect("revoked")["reason"], "rejected", "then she rejects it")
    check(alice.none_of("offer", wait=2.0), "rejected, it is not offered back to her")
    eq(d.conversation(c1)["status"], "queued", "it waits")
    dispatch = d.conversation(c1)["dispatch"]
    eq((dispatch["chosen"], dispatch["passed_over"]), (None, 1), "the dispatch says she was passed over")
    alice.close()
    leave(anna)


def reoffer_other(d):
    # a general question fits alice and bob: missed by one, the other gets it
    alice, bob = Agent(d, "alice"), Agent(d, "bob")
    gina = Visitor(d, name="Gina")
    c = gina.say("Hello, a general question")["conversation"]
    got = {}
    for ag in (alice, bob):
        try:
            got[ag.id] = ag.offer_for(c, timeout=2)
        except TimeoutError:
            pass
    eq(len(got), 1, "one offer")
    first = alice if "alice" in got else bob
    other = bob if first is alice else alice
    eq(first.expect("revoked", timeout=6)["reason"], "expired", "missed")
    other.offer_for(c, timeout=3)
    check(first.none_of("offer", wait=1.0), "with another agent ready, not back to who missed it")
    for ag in (alice, bob):
        ag.close()
    leave(gina)


def visitor_frames(d):
    alice = Agent(d, "alice", available=False)
    bob = Agent(d, "bob", available=False)
    for ag in (alice, bob):  # back within the grace: they kept their presence
        ag.presence("away")
    qi = alice.expect("queue_info")
    names = [q["name"] for q in qi["queues"]]
    eq(sorted(names), ["billing", "general"], "queue_info: the queues alice serves (not tech)")
    check(isinstance(qi["now"], int) and qi["now"] > 0, "with the server's clock")
    billing = [q for q in qi["queues"] if q["name"] == "billing"][0]
    eq((billing["waiting"], billing["oldest_queued_at"], billing["sla_within_ms"]), (0, 0, 20000),
       "nobody waits; the SLA's answer time")
    eq(sorted(q["name"] for q in bob.expect("queue_info")["queues"]), ["general", "tech"],
       "bob's: his queues")
    sig = [q for q in alice.welcome["queues"] if q["name"] == "billing"][0].get("signature")
    eq(sig, "Met vriendelijke groet,\nKlantenservice", "the welcome carries the queue's signature")

    # nobody available: the visitor waits and hears the position
    eva = Visitor(d, name="Eva")
    c1 = eva.say("Ik heb een vraag over de factuur")["conversation"]
    st = eva.ws.recv_type("status", timeout=5)
    eq(st.get("position"), 1, "the waiting visitor hears the position")
    qi = alice.expect("queue_info", timeout=8)
    billing = [q for q in qi["queues"] if q["name"] == "billing"][0]
    eq(billing["waiting"], 1, "queue_info: one waits in billing")
    check(0 < billing["oldest_queued_at"] <= qi["now"], "since when")
    check(alice.none_of("queue_info", wait=4.0), "unchanged: no frame")

    alice.presence("available")
    o = alice.offer_for(c1)
    offered = eva.ws.recv_type("offered", timeout=5)
    eq(offered, {"type": "offered"}, "the visitor hears an agent has it")
    acc = alice.accept(o["offer"])
    eq(acc["type"], "assigned", "alice accepts (%r)" % acc.get("message"))
    joined = eva.ws.recv_type("joined", timeout=5)
    eq(joined, {"type": "joined", "name": "Alice"}, "the visitor hears who joined")
    later = frames(eva.ws, 2.5)
    eq([f for f in later if f.get("type") == "status"], [],
       "no position updates after the accept (status_interval is 1 s)")

    # transfer to bob: from whom, and the note, cut on a character boundary
    note = "Klant wil een creditnota. " + "é" * 200
    alice.send({"type": "transfer", "conversation": c1, "agent": "bob", "note": note})
    eq(alice.expect("unassigned")["reason"], "transferred", "transferred")
    bob.presence("available")
    ob = bob.offer_for(c1)
    t = ob["conversation"].get("transfer") or {}
    eq((t.get("by"), t.get("name")), ("alice", "Alice"), "the offer says who transferred it")
    check(note.encode().startswith(t.get("note", "").encode()) and 190 <= len(t["note"].encode()) <= 200,
          "with the note's first 200 bytes, whole characters (%d bytes)" % len(t.get("note", "").encode()))
    ab = bob.accept(ob["offer"])
    check("transfer" not in ab["conversation"], "accepted: the card's transfer is gone")
    eq(eva.ws.recv_type("joined", timeout=5)["name"], "Bob", "the visitor hears Bob joined")

    # close: the visitor hears it ended; the next message is a new conversation
    bob.send({"type": "close", "conversation": c1})
    eq(bob.expect("status")["status"], "wrapup", "closed")
    eq(eva.ws.recv_type("ended", timeout=5), {"type": "ended"}, "the visitor hears it ended")
    c2 = eva.say("Nog een vraag over de factuur")["conversation"]
    check(c2 != c1, "after the end, a new conversation (%s, %s)" % (c1, c2))
    eq(d.conversation(c1)["status"], "wrapup", "the old one still waits for its wrap-up")
    check(all(m["text"] != "Nog een vraag over de factuur" for m in d.conversation(c1)["messages"]),
          "nothing added to the closed one")
    for x in (alice, bob, eva):
        x.close()


def bot_name(d):
    v = Visitor(d, name="Otto")
    c = v.say("When are you open?")["conversation"]
    m = v.ws.recv_type("message", timeout=10)
    eq((m["from"], m.get("name")), ("bot", "Virtual assistant"), "the customer sees the bot's display name")
    stored = [x for x in d.conversation(c)["messages"] if x["author"] == "bot"]
    check(stored and stored[0]["author_name"] == "Virtual assistant", "and it is stored")
    v.close()


def bad_bot_names(tmp):
    for bad, why in (("\"Virtual\\tassistant\"", "tab"), ("\"%s\"" % ("x" * 65), "65 bytes"),
                     ("\"\"", "empty")):
        sub = os.path.join(tmp, "bad-%s" % why.replace(" ", ""))
        os.makedirs(sub)
        redis = type("R", (), {"url": lambda self: "redis://127.0.0.1:1"})()
        d = Daemon(sub, redis, routing=ROUTING.replace("bot_name: Virtual assistant",
                                                       "bot_name: " + bad),
                   extra_plugins=FAQBOT)
        p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True, timeout=60)
        with open(os.path.join(sub, "routing.yaml")) as f:
            line = [i for i, ln in enumerate(f.read().split("\n"), 1) if ln.startswith("bot_name:")][0]
        eq(p.returncode, 1, "-t refuses a bot_name with a %s" % why)
        check("routing.yaml:%d:" % line in p.stderr and "bot_name" in p.stderr,
              "with file:line (%s)" % p.stderr.strip()[-200:])


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, extra_plugins=FAQBOT).start()
    log("---- a missed offer and the only agent")
    reoffer(d)
    log("---- a missed offer and another agent")
    reoffer_other(d)
    log("---- what the visitor hears; queue_info; a transfer's offer")
    visitor_frames(d)
    log("---- the bot's name")
    bot_name(d)
    check(d.alive(), "the daemon is still running")
    d.stop()
    bad_bot_names(tmp)


if __name__ == "__main__":
    import omrtest
    omrtest.run(test)
