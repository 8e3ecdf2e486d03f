"""A supervisor's console actions over real websockets (issue 15): monitor,
whisper, barge, reassign, pull and presence, with a real daemon, real Redis,
real agent consoles and real web chat visitors.

- monitor: a snapshot of the conversation, then every frame its agent gets
  (the customer's messages, the agent's replies), read-only;
- whisper: the agent sees it, the customer never does (not live, not in
  the history a returning visitor gets);
- barge: reaches the customer, shown with the supervisor's name, and the
  agent's transcript;
- reassign keeps the history; pull offers a waiting conversation to the
  chosen agent first;
- a supervisor limited to a queue cannot monitor, whisper, barge, pull or
  reassign outside it; an agent cannot supervise at all;
- the agent is told of monitoring only when the config says so;
- every action is audited with via "console".
"""
import os
import socket
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, wait_for
from omrtest import BASE_ROUTING, password_hash, quick_agents

ROUTING = BASE_ROUTING + "supervision: {announce_monitoring: true, pull_wait: 1m}\n"


def users():
    pw = password_hash("sam")
    return quick_agents() + """  - id: carol
    name: Carol
    password: "%(pw)s"
    skills: { general: 3, billing: 1 }
    capacity: { webchat: 3 }
  - id: sam
    name: Sam Supervisor
    password: "%(pw)s"
    roles: [supervisor]
    queues: [billing]
    # skills and room, so that only the role keeps offers from him
    skills: { billing: 5, general: 5 }
    languages: [nl, en]
    capacity: { webchat: 5 }
  - id: root
    name: Root
    password: "%(pw)s"
    roles: [admin]
""" % dict(pw=pw)


def never(ws, what, wait=1.0):
    """True when no frame of ws within `wait` s contains `what` (a closed
    socket is a failure, not a "never")."""
    deadline = time.time() + wait
    while True:
        left = deadline - time.time()
        if left <= 0:
            return True
        try:
            m = ws.recv(left)
        except (socket.timeout, TimeoutError):
            return True
        if what in repr(m):
            return False


def watch(sam, kind, pred=lambda f: True):
    """The next monitor_frame whose frame is of `kind` and matches pred
    (others, such as delivery updates, are skipped)."""
    while True:
        f = sam.expect("monitor_frame")
        if f["frame"].get("type") == kind and pred(f["frame"]):
            return f
        log("monitor frame skipped: %r" % (f,))


def expect_msg(agent, text):
    """The next `message` frame of the agent with this text (delivery
    updates and earlier messages are skipped)."""
    while True:
        m = agent.expect("message")
        if m["message"].get("text") == text:
            return m


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=users(), routing=ROUTING).start()
    alice = Agent(d, "alice")
    bob = Agent(d, "bob")
    sam = Agent(d, "sam", password="sam")
    root = Agent(d, "root", password="sam")
    eq(sam.welcome["roles"], ["supervisor"], "sam's welcome: supervisor")

    anna = Visitor(d, name="Anna")
    c1 = anna.say("Goedemiddag, een vraag over mijn factuur")["conversation"]
    alice.accept(alice.expect("offer")["offer"])
    tom = Visitor(d, name="Tom")
    c2 = tom.say("My internet is down")["conversation"]
    bob.accept(bob.expect("offer")["offer"])

    # ---- who may supervise
    alice.send({"type": "monitor", "conversation": c2})
    eq(alice.expect("error").get("code"), "forbidden", "an agent cannot monitor")
    alice.send({"type": "whisper", "conversation": c2, "text": "psst", "client_msg_id": "w0"})
    eq(alice.expect("error").get("code"), "forbidden", "an agent cannot whisper")
    sam.send({"type": "monitor", "conversation": c2})
    eq(sam.expect("error").get("code"), "forbidden", "sam (billing) cannot monitor a tech conversation")
    sam.send({"type": "whisper", "conversation": c2, "text": "psst", "client_msg_id": "w1"})
    eq(sam.expect("error").get("code"), "forbidden", "nor whisper into it")
    sam.send({"type": "barge", "conversation": c2, "text": "hello Tom", "client_msg_id": "b1"})
    eq(sam.expect("error").get("code"), "forbidden", "nor barge into it")
    check(never(tom.ws, "hello Tom", 0.5), "Tom got nothing from the refused barge")
    for bad in ({"type": "monitor"}, {"type": "monitor", "conversation": "x"},
                {"type": "whisper", "conversation": c1, "text": "", "client_msg_id": "w2"},
                {"type": "whisper", "conversation": c1, "text": "x" * 5000, "client_msg_id": "w3"},
                {"type": "whisper", "conversation": c1, "text": "hi"},
                {"type": "barge", "conversation": c1, "text": 5, "client_msg_id": "b2"},
                {"type": "pull", "conversation": c1, "agent": "nobody"},
                {"type": "agent_presence", "agent": "alice", "status": "asleep"},
                {"type": "reassign", "conversation": c1}):
        sam.send(bad)
        e = sam.expect("error")
        check(e.get("code") in ("bad_request", "unknown_agent", "bad_parameter"),
              "%r refused: %r" % (bad, e))

    # ---- monitor
    sam.send({"type": "monitor", "conversation": c1})
    st = sam.expect("monitor_start")
    eq(st["conversation"]["id"], c1, "monitor: the conversation")
    eq([m["text"] for m in st["conversation"]["messages"]], ["Goedemiddag, een vraag over mijn factuur"],
       "monitor: its transcript so far")
    told = alice.expect("monitored")
    eq((told["conversation"], told["by"], told["active"]), (c1, "sam", True),
       "announce_monitoring: alice is told")
    anna.say("Factuur 2026-114 klopt niet")
    f = watch(sam, "message", lambda fr: fr.get("message", {}).get("direction") == "in")
    eq((f["conversation"], f["agent"], f["frame"]["type"], f["frame"]["message"]["text"]),
       (c1, "alice", "message", "Factuur 2026-114 klopt niet"), "monitor: the customer's message live")
    alice.reply(c1, "Ik kijk even mee", cmid="r1")
    f = watch(sam, "ack")
    eq((f["frame"]["type"], f["frame"]["message"]["text"]), ("ack", "Ik kijk even mee"),
       "monitor: the agent's reply live")
    check(bob.none_of("monitor_frame", wait=0.3), "nobody else gets monitor frames")

    # ---- whisper: the agent sees it, the customer never
    sam.send({"type": "whisper", "conversation": c1, "text": "Offer a 10% discount",
              "client_msg_id": "w10"})
    ack = sam.expect("ack")
    eq((ack["message"]["direction"], ack["message"]["text"]), ("note", "Offer a 10% discount"),
       "whisper stored as a note")
    m = expect_msg(alice, "Offer a 10% discount")
    eq((m["conversation"], m["message"]["text"], m["message"]["direction"], m["message"]["author"]),
       (c1, "Offer a 10% discount", "note", "supervisor"), "alice sees the whisper")
    check(never(anna.ws, "discount", 1.0), "the customer never sees the whisper")
    sam.send({"type": "whisper", "conversation": c1, "text": "Offer a 10% discount",
              "client_msg_id": "w10"})
    eq(sam.expect("ack")["message"]["id"], ack["message"]["id"], "a resent whisper is stored once")
    check(alice.none_of("message", wait=0.5) or all(
        f["message"].get("text") != "Offer a 10% discount" for f in alice.pending
        if f.get("type") == "message"), "and not shown twice")
    back = Visitor(d, visitor=anna.id, token=anna.token)
    hist = [m.get("text") for m in back.welcome.get("history") or []]
    check("Factuur 2026-114 klopt niet" in hist and "Ik kijk even mee" in hist,
          "a returning visitor gets her history: %r" % hist)
    check(not any("discount" in (t or "") for t in hist),
          "but not the whisper in it")
    back.close()

    # ---- barge: to the customer, beside the agent
    sam.send({"type": "barge", "conversation": c1, "text": "Hello Anna, I am Sam, Alice's lead",
              "client_msg_id": "b10"})
    eq(sam.expect("ack")["message"]["direction"], "out", "barge stored as an outbound message")
    pushed = anna.ws.recv_type("message")
    eq((pushed["text"], pushed.get("name")), ("Hello Anna, I am Sam, Alice's lead", "Sam Supervisor"),
       "the customer gets the barge, with the supervisor's name")
    m = expect_msg(alice, "Hello Anna, I am Sam, Alice's lead")
    eq((m["message"]["text"], m["message"]["author"], m["message"]["author_name"]),
       ("Hello Anna, I am Sam, Alice's lead", "supervisor", "Sam Supervisor"),
       "alice's transcript shows the barge")

    # ---- presence from the console
    sam.send({"type": "agent_presence", "agent": "bob", "status": "away"})
    eq(sam.expect("error").get("code"), "forbidden", "sam cannot set bob (tech) away")
    root.send({"type": "agent_presence", "agent": "bob", "status": "away", "reason": "coaching"})
    eq(root.expect("done")["action"], "agent.presence", "root sets bob away")
    p = bob.expect("presence")
    eq((p["status"], p.get("by")), ("away", "root"), "bob's console is told by whom")

    # ---- pull: a waiting conversation to a chosen agent
    ray = Visitor(d, name="Ray")
    c3 = ray.say("My router blinks red")["conversation"]   # tech: bob is away, it waits
    wait_for(lambda: d.conversation(c3)["status"] == "queued", what="c3 waits")
    sam.send({"type": "pull", "conversation": c3, "agent": "carol"})
    eq(sam.expect("error").get("code"), "forbidden", "sam cannot pull from the tech queue")
    carol = Agent(d, "carol", password="sam")
    check(carol.none_of("offer", wait=0.5), "carol (no tech skill) is not offered c3")
    root.send({"type": "pull", "conversation": c3, "agent": "carol"})
    eq(root.expect("done")["action"], "conversation.pull", "root pulls c3 to carol")
    o = carol.expect("offer")
    eq(o["conversation"]["id"], c3, "carol is offered the pulled conversation")
    carol.accept(o["offer"])
    root.send({"type": "pull", "conversation": c3, "agent": "carol"})
    eq(root.expect("error").get("code"), "conflict", "an assigned conversation cannot be pulled")

    # ---- reassign keeps the history
    n = len(d.conversation(c1)["messages"])
    sam.send({"type": "reassign", "conversation": c1, "agent": "carol", "note": "Carol knows Anna"})
    done = sam.expect("done")
    eq((done["action"], done["target"]), ("conversation.transfer", c1), "sam reassigns c1 to carol")
    u = alice.expect("unassigned")
    eq((u["conversation"], u.get("by")), (c1, "sam"), "alice loses c1, told by whom")
    o = carol.expect("offer")
    got = carol.accept(o["offer"])
    texts = [m["text"] for m in got["conversation"]["messages"]]
    check(len(texts) >= n + 1 and "Offer a 10% discount" in texts and "Carol knows Anna" in texts,
          "carol gets c1 with its history, the whisper and the note: %r" % texts)
    f = watch(sam, "assigned")
    eq((f["agent"], f["frame"]["type"]), ("carol", "assigned"),
       "the monitor follows the conversation to its new agent")

    sam.send({"type": "unmonitor", "conversation": c1})
    sam.expect("monitor_end")
    told = carol.expect("monitored")
    eq((told["active"], told["by"]), (False, "sam"), "carol is told monitoring ended")
    anna.say("Are you still there?")
    check(sam.none_of("monitor_frame", wait=0.5), "no frames after unmonitor")
    check(d.alive(), "the daemon runs on")

    # ---- two supervisors on one conversation; a transfer out of sam's queues ends his
    for who in (sam, root):
        who.send({"type": "monitor", "conversation": c1})
        eq(who.expect("monitor_start")["conversation"]["id"], c1, "%s monitors c1" % who.id)
    anna.say("Two of you listening?")
    for who in (sam, root):
        f = watch(who, "message", lambda fr: fr["message"].get("text") == "Two of you listening?")
        eq(f["agent"], "carol", "%s gets the customer's message once" % who.id)
    eq(d.http("GET", "/healthz", auth=False)[0], 200, "the node answers (no frame loop)")
    carol.reply(c1, "Both of you, hello")
    for who in (sam, root):
        watch(who, "ack", lambda fr: fr["message"].get("text") == "Both of you, hello")
    root.send({"type": "reassign", "conversation": c1, "queue": "tech"})
    eq(root.expect("done")["action"], "conversation.transfer", "root moves c1 to tech")
    end = sam.expect("monitor_end")
    eq((end["conversation"], end["reason"]), (c1, "outside your queues"),
       "sam (billing) stops following it")
    watch(root, "unassigned")
    # (frames that came before monitor_end are still in his queue)
    sam.pending = [m for m in sam.pending if m.get("type") != "monitor_frame"]
    check(sam.none_of("monitor_frame", wait=0.5), "and gets nothing more of it")

    # ---- the wallboard: pushed when the floor changes, cut to the user's queues
    alice.send({"type": "wallboard", "on": True})
    eq(alice.expect("error").get("code"), "forbidden", "an agent gets no wallboard")

    def board(who, pred, what):
        deadline = 10
        while True:
            w = who.expect("wallboard", timeout=deadline)
            if pred(w):
                return w
            log("wallboard skipped (%s): %r" % (what, {q["name"]: q["waiting"] for q in w["queues"]}))

    def queue(w, name):
        return [q for q in w["queues"] if q["name"] == name][0]

    for agent in (alice, carol):
        agent.presence("away")
    sam.send({"type": "wallboard", "on": True})
    root.send({"type": "wallboard", "on": True})
    w = board(sam, lambda w: True, "first")
    eq([q["name"] for q in w["queues"]], ["billing"], "sam's wallboard: his queue only")
    eq(sorted(a["id"] for a in w["agents"]), ["alice", "carol"], "and the agents who serve it")
    check(isinstance(w["now"], int) and w["now"] > 0, "with Redis' clock")
    wr = board(root, lambda w: True, "first")
    eq(sorted(q["name"] for q in wr["queues"]), ["billing", "general", "tech"], "root sees every queue")
    zoe = Visitor(d, name="Zoe")
    c4 = zoe.say("Nog een factuur vraag")["conversation"]
    w = board(sam, lambda w: queue(w, "billing")["waiting"] == 1, "zoe waits")
    eq([x["conversation"] for x in w["waiting"]], [c4], "the waiting list names her conversation")
    eq((w["waiting"][0]["customer"], w["waiting"][0]["channel"]), ("Zoe", "webchat"),
       "with the customer and channel")
    check(isinstance(w["waiting"][0]["routing"], dict) and w["waiting"][0]["queued_at"] > 0,
          "and why and since when it waits: %r" % w["waiting"][0])
    eq(queue(w, "billing")["agents"], {"available": 0, "busy": 0, "away": 2, "offline": 0},
       "agents by state")
    check(queue(w, "billing")["oldest_queued_at"] > 0, "the longest wait")
    check(sam.none_of("wallboard", wait=2.5), "nothing changes: nothing is pushed")
    alice.presence("available")
    alice.accept(alice.expect("offer")["offer"])
    w = board(sam, lambda w: queue(w, "billing")["waiting"] == 0 and
              [a for a in w["agents"] if a["id"] == "alice"][0]["state"] == "busy", "taken")
    check(c4 in [a for a in w["agents"] if a["id"] == "alice"][0]["conversations"],
          "alice is busy with zoe's conversation")
    check(queue(w, "billing")["answered_today"] >= 1, "answered today counted")
    sam.send({"type": "wallboard", "on": False})
    zoe.say("thanks")
    check(sam.none_of("wallboard", wait=2.0), "no wallboard after it is switched off")

    # ---- reports through the console, cut to the user's queues
    import csv
    import io
    sam.send({"type": "report", "report": "queues", "id": "r1"})
    r = sam.expect("report")
    eq((r["id"], r["format"]), ("r1", "json"), "a report frame answers, with the id")
    eq([q["queue"] for q in r["data"]["queues"]], ["billing"], "sam's report: his queue only")
    sam.send({"type": "report", "report": "contact-reasons", "format": "csv", "id": "r2"})
    r = sam.expect("report")
    rows = list(csv.reader(io.StringIO(r["csv"])))
    check(r["format"] == "csv" and len(rows) >= 1 and rows[0], "contact reasons as CSV: %r" % rows[:2])
    for bad, code in (({"report": "queues", "from": "yesterday"}, "bad_parameter"),
                      ({"report": "queues", "from": "2026-01-01&x=1"}, "bad_parameter"),
                      ({"report": "queues", "id": "x" * 100}, "bad_request"),
                      ({"report": "nothing"}, "not_found")):
        sam.send(dict(bad, type="report"))
        eq(sam.expect("error").get("code"), code, "report %r refused: %s" % (bad, code))
    alice.send({"type": "report", "report": "queues"})
    eq(alice.expect("error").get("code"), "forbidden", "an agent gets no reports")

    # ---- the audit says who did what through the console
    st, body = d.http("GET", "/api/v1/audit?limit=100")
    seen = {(e["who"], e["action"], e["result"], e["via"]) for e in body["entries"]}
    log("audit: %r" % sorted(seen))
    for want in [("sam", "conversation.monitor", "ok", "console"),
                 ("sam", "conversation.monitor", "forbidden", "console"),
                 ("sam", "conversation.whisper", "ok", "console"),
                 ("sam", "conversation.whisper", "forbidden", "console"),
                 ("sam", "conversation.barge", "ok", "console"),
                 ("sam", "conversation.pull", "forbidden", "console"),
                 ("root", "conversation.pull", "ok", "console"),
                 ("root", "agent.presence", "ok", "console"),
                 ("sam", "agent.presence", "forbidden", "console"),
                 ("sam", "conversation.transfer", "ok", "console")]:
        check(want in seen, "audited: %r" % (want,))
    whispers = [e for e in body["entries"] if e["action"] == "conversation.whisper"]
    check(all("discount" not in repr(e) for e in whispers), "the audit keeps no text")

    # ---- a reload that takes the role away ends monitoring at once
    sam.send({"type": "monitor", "conversation": c4})
    eq(sam.expect("monitor_start")["conversation"]["id"], c4, "sam monitors zoe's conversation")
    path = os.path.join(tmp, "agents.yaml")
    with open(path) as f:
        current = f.read()   # the same hashes: nobody else is logged out
    demoted = current.replace("    roles: [supervisor]\n    queues: [billing]\n", "")
    check(demoted != current, "the users file without sam's role")
    with open(path, "w") as f:
        f.write(demoted)
    st, body = d.http("POST", "/api/v1/reload")
    eq(st, 200, "reloaded: %r" % (body,))
    zoe.say("Is anyone reading this?")
    end = sam.expect("monitor_end")
    eq(end["conversation"], c4, "sam, no longer a supervisor, stops monitoring")
    sam.pending = [m for m in sam.pending if m.get("type") not in ("monitor_frame", "wallboard")]
    check(sam.none_of("monitor_frame", "wallboard", wait=1.5), "and gets nothing more")
    sam.send({"type": "whisper", "conversation": c4, "text": "hi", "client_msg_id": "w99"})
    eq(sam.expect("error").get("code"), "forbidden", "nor may whisper")
    d.stop()
    redis.stop()


if __name__ == "__main__":
    omrtest.run(test)
