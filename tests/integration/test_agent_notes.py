"""Internal notes with @mentions, typing indicators and "seen" (issue 17),
with real daemons (two nodes on one Redis), real consoles and real web chat
visitors:

- a note on an assigned conversation is stored marked internal, never
  reaches the visitor (live or in the history a returning page gets), is in
  the conversation the next agent gets after a transfer;
- "@bob" gives bob a `mention` frame on the other node (the bus), once,
  also when the note is sent again with the same client_msg_id;
- hostile notes: oversized, empty, not a string, on someone else's
  conversation, unknown @names: refused or ignored, the daemon keeps going;
- typing both ways, throttled on the server (a flood of 200 typing frames
  from a visitor gives the agent a handful, and the visitor can still
  write); seen both ways (the agent's message becomes "read"; a visitor's
  "seen" of another conversation's message changes nothing).
"""
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor
from omrtest import BASE_ROUTING, quick_agents

PREFIX = "omr:{main}:"


def frames_of(agent, kind, wait):
    """Every frame of `kind` within `wait` s (others kept)."""
    out = []
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            out.append(agent.expect(kind, timeout=max(0.05, deadline - time.time())))
        except Exception:
            break
    return out


def visitor_frames(v, wait):
    out = []
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            out.append(v.ws.recv(max(0.05, deadline - time.time())))
        except Exception:
            break
    return out


def test(tmp):
    redis = Redis(tmp)
    a = Daemon(tmp, redis, node="node-a", agents=quick_agents(), routing=BASE_ROUTING).start()
    b = Daemon(tmp, redis, node="node-b", agents=quick_agents(), routing=BASE_ROUTING).start()
    alice = Agent(a, "alice")
    bob = Agent(b, "bob", available=False)   # on the other node, takes no offers
    anna = Visitor(a, name="Anna")
    conv = anna.say("Hello, a question about my invoice")["conversation"]
    eq(alice.accept(alice.offer_for(conv)["offer"])["type"], "assigned", "alice has it")

    # ---- a note with a mention
    alice.send({"type": "note", "conversation": conv, "client_msg_id": "n1",
                "text": "@bob could you check this invoice? (cc @nobody and @alice)"})
    ack = alice.expect("ack", "error")
    eq(ack["type"], "ack", "the note is stored: %r" % (ack,))
    m = ack["message"]
    eq(m["direction"], "note", "stored as a note")
    eq(m["status"], "internal", "marked internal")
    eq(m.get("meta", {}).get("mentions"), ["bob"], "bob is the one named (not unknown names, not oneself)")
    men = bob.expect("mention")
    eq(men["conversation"], conv, "bob, on the other node, is told")
    eq(men["from"], "alice", "by alice")
    eq(men["message"]["text"], m["text"], "with the note")
    stored = redis.cmd("HGET", PREFIX + "msg:" + m["id"], "direction")
    eq(stored, "note", "kept in the history as a note")
    # sent again (a lost ack): stored once, bob not told again
    alice.send({"type": "note", "conversation": conv, "client_msg_id": "n1",
                "text": "@bob could you check this invoice? (cc @nobody and @alice)"})
    eq(alice.expect("ack")["message"]["id"], m["id"], "the same note")
    check(bob.none_of("mention", wait=1.0), "no second mention for a resent note")
    eq(redis.cmd("LLEN", PREFIX + "conv:%s:msgs" % conv), 2, "the customer's message and one note")
    # the visitor never sees it, live or in history
    got = visitor_frames(anna, 1.0)
    check(not any("invoice?" in repr(f) for f in got), "the visitor got no note: %r" % got)
    again = Visitor(a, visitor=anna.id, token=anna.token)
    check("check this invoice" not in repr(again.welcome), "nor in the history of a reload")
    again.close()

    # ---- hostile notes
    for bad, code in (({"text": "x" * 4001, "client_msg_id": "n2"}, "bad_request"),
                      ({"text": "", "client_msg_id": "n3"}, "bad_request"),
                      ({"text": 5, "client_msg_id": "n4"}, "bad_request"),
                      ({"text": "hi", "client_msg_id": "bad id"}, "bad_request"),
                      ({"text": "hi"}, "bad_request"),
                      ({"text": "a\u0000b", "client_msg_id": "n5"}, "bad_json")):
        alice.send(dict(bad, type="note", conversation=conv))
        eq(alice.expect("error")["code"], code, "refused: %r" % (repr(bad)[:60],))
    bob.send({"type": "note", "conversation": conv, "text": "mine now", "client_msg_id": "b1"})
    eq(bob.expect("error")["code"], "not_yours", "a note on someone else's conversation")
    alice.send({"type": "note", "conversation": "c_nonexistent0", "text": "x", "client_msg_id": "n6"})
    eq(alice.expect("error")["code"], "not_yours", "a note on no conversation")
    alice.send({"type": "note", "conversation": conv, "client_msg_id": "n7",
                "text": "@" * 3000 + " @bob." + " @bob" * 100})
    eq(alice.expect("ack")["message"]["meta"]["mentions"], ["bob"], "many @s: bob once")
    eq(len(frames_of(bob, "mention", 1.0)), 1, "one mention for one note")

    # ---- typing both ways, throttled
    t0 = time.time()
    for _ in range(200):
        anna.ws.send({"type": "typing"})
    typing = frames_of(alice, "typing", 1.5)
    most = int((time.time() - t0) / 2.0) + 1   # one per 2 s at most
    check(1 <= len(typing) <= most, "a flood of 200 typing frames gives the agent %d (at most %d)"
          % (len(typing), most))
    eq(typing[0], {"type": "typing", "conversation": conv, "from": "customer"}, "the frame")
    eq(anna.say("still here")["type"], "ack", "the visitor can still write after the flood")
    msg_in = alice.expect("message")
    t0 = time.time()
    for _ in range(50):
        alice.send({"type": "typing", "conversation": conv})
    vt = [f for f in visitor_frames(anna, 1.5) if f.get("type") == "typing"]
    most = int((time.time() - t0) / 2.0) + 1
    check(1 <= len(vt) <= most, "the agent's typing reaches the visitor, throttled: %d (at most %d)"
          % (len(vt), most))
    eq(vt[0], {"type": "typing", "from": "agent"}, "the visitor's frame")
    bob.send({"type": "typing", "conversation": conv})
    eq(bob.expect("error")["code"], "not_yours", "typing on someone else's conversation")

    # ---- seen both ways
    alice.send({"type": "seen", "conversation": conv, "message": msg_in["message"]["id"]})
    seen = [f for f in visitor_frames(anna, 1.0) if f.get("type") == "seen"]
    eq(seen, [{"type": "seen", "id": msg_in["message"]["id"]}], "the visitor is told the agent saw it")
    rep = alice.reply(conv, "Let me look")
    mid = rep["message"]["id"]
    alice.send({"type": "seen", "conversation": conv, "message": mid})
    eq(alice.expect("error")["code"], "bad_request", "seen of one's own message is refused")
    # another visitor's "seen" of it changes nothing
    tom = Visitor(a, name="Tom")
    tom.ws.send({"type": "seen", "id": mid})
    tom.ws.send({"type": "seen", "id": "not an id"})
    eq(tom.ws.recv_type("error")["code"], "bad_request", "a bad id is refused")
    time.sleep(0.5)
    check(redis.cmd("HGET", PREFIX + "msg:" + mid, "status") != "read", "another visitor cannot mark it read")
    anna.ws.send({"type": "seen", "id": mid})

    def read_update():
        while True:
            f = alice.expect("message")
            if f["message"]["id"] == mid and f["message"]["status"] == "read":
                return f
    read_update()
    eq(redis.cmd("HGET", PREFIX + "msg:" + mid, "status"), "read", "read once the visitor saw it")

    # ---- the note follows a transfer
    alice.send({"type": "transfer", "conversation": conv, "agent": "bob"})
    bob.presence("available")
    o = bob.offer_for(conv)
    got = bob.accept(o["offer"])
    notes = [x for x in got["conversation"]["messages"] if x["direction"] == "note"]
    check(any("@bob could you" in x["text"] for x in notes), "bob gets the note with the conversation")
    check(a.alive() and b.alive(), "both daemons kept running")
    eq(a.stop(), 0, "node a stops cleanly")
    eq(b.stop(), 0, "node b stops cleanly")


if __name__ == "__main__":
    omrtest.run(test)
