"""Linked identities (docs/search.md#linked-identities), against a real
Redis and daemon:

- an agent links the customer of their chat with a customer found by the
  search; the view then lists the other identity's conversations (both
  ways) and names it in the panel; linking again changes nothing; unlink
  takes it back, unlinking again changes nothing; both are audited;
- an agent who does not hold the conversation, or cannot find the other
  customer, is refused; malformed frames are refused clearly;
- many links and unlinks at once from two consoles on two nodes leave consistent
  groups (every member's `group` names a set that holds it, no group of
  one), equal to the connected pairs;
- erasing a linked customer takes it out of its group; the other keeps
  its history.
"""
import random

import omrtest
from omrtest import check, eq, wait_for, Agent, Daemon, Redis, Visitor

PREFIX = "omr:{main}:"

AGENTS = omrtest.quick_agents() + """  - id: sam
    name: Sam Supervisor
    password: "%s"
    roles: [supervisor]
""" % omrtest.password_hash("sam")


def routed(d, conv):
    wait_for(lambda: d.conversation(conv).get("queue"), what="%s routed" % conv)
    return d.conversation(conv)


def link(agent, how, customer, other, conversation=None):
    f = {"type": how, "customer": customer, "other": other}
    if conversation:
        f["conversation"] = conversation
    agent.send(f)
    return agent.expect("linked", "error")


def view(agent, conv):
    agent.send({"type": "open", "conversation": conv})
    h = agent.expect("history", "error")
    eq(h["type"], "history", "%s opened (%r)" % (conv, h))
    return h["conversation"]["customer"]


def groups_consistent(redis, custs):
    """{customer: frozenset(group)}; checks the invariants."""
    out = {}
    for c in custs:
        g = redis.cmd("HGET", PREFIX + "cust:" + c, "group")
        if not g:
            out[c] = frozenset([c])
            continue
        members = set(redis.cmd("SMEMBERS", PREFIX + "cgroup:" + g))
        check(c in members, "%s is in its group %s" % (c, g))
        check(len(members) >= 2, "group %s has two or more members" % g)
        for m in members:
            eq(redis.cmd("HGET", PREFIX + "cust:" + m, "group"), g, "%s names group %s" % (m, g))
        out[c] = frozenset(members)
    return out


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=AGENTS,
               conf_extra="search: {group_max: 50}\n").start()
    alice = Agent(d, "alice")
    bob = Agent(d, "bob", available=False)
    sam = Agent(d, "sam", available=False)

    # Eva on the web chat (earlier contact, closed), and Eva again as an
    # unknown visitor now
    old = Visitor(d, name="Eva Jansen")
    c_old = old.say("Mijn factuur van juli klopt niet")["conversation"]
    o = alice.offer_for(c_old)
    alice.accept(o["offer"])
    alice.send({"type": "close", "conversation": c_old})
    alice.expect("status")
    alice.send({"type": "wrapup", "conversation": c_old, "reason": "invoice unclear",
                "outcome": "follow_up"})
    wait_for(lambda: d.conversation(c_old)["status"] == "closed", what="the old chat closed")
    eva_old = d.conversation(c_old)["customer"]

    new = Visitor(d, name="E. J.")
    c_new = new.say("Hallo, ik heb nog een factuur vraag")["conversation"]
    o = alice.offer_for(c_new)
    eq(alice.accept(o["offer"])["type"], "assigned", "alice has the new chat")
    eva_new = d.conversation(c_new)["customer"]
    check(eva_new != eva_old, "two customers")

    cust = view(alice, c_new)
    eq([p["id"] for p in cust.get("previous", [])], [], "no earlier conversations before the link")

    # found by the search, checked, linked
    alice.send({"type": "search", "q": "eva jan"})
    r = alice.expect("search_results")
    eq([x["customer"] for x in r["results"]], [eva_old], "alice finds the other Eva")
    l1 = link(alice, "link", eva_new, eva_old, c_new)
    eq((l1["type"], l1.get("changed"), l1.get("linked")), ("linked", True, [eva_new, eva_old]),
       "linked (%r)" % l1)
    l2 = link(alice, "link", eva_new, eva_old, c_new)
    eq((l2["type"], l2.get("changed")), ("linked", False), "linking again changes nothing")
    cust = view(alice, c_new)
    prev = cust.get("previous", [])
    eq([(p["id"], p.get("customer")) for p in prev], [(c_old, eva_old)],
       "the other identity's conversation is listed, marked with its customer")
    eq(cust["panel"].get("reasons"), ["invoice unclear"], "its contact reason follows")
    eq([x["id"] for x in cust["panel"].get("linked", [])], [eva_old], "the panel names the link")
    eq(len(cust["panel"].get("promises", [])), 1, "its open promise follows")
    # both ways: the old conversation's view lists the new one
    cust = view(alice, c_old)
    eq([p["id"] for p in cust.get("previous", [])], [c_new], "the other way round too")

    # refused: not bob's conversation; malformed frames
    r = link(bob, "link", eva_new, eva_old, c_new)
    eq((r["type"], r.get("code")), ("error", "not_yours"), "bob does not hold the chat")
    for f in ({"customer": eva_new}, {"customer": eva_new, "other": "x"},
              {"customer": "u_x", "other": eva_old, "conversation": c_new},
              {"customer": eva_new, "other": eva_old, "conversation": "c_%"},
              {"customer": eva_new, "other": eva_old}):
        alice.send(dict(f, type="link"))
        r = alice.expect("linked", "error")
        eq((r["type"], r.get("code")), ("error", "bad_request"), "%r refused" % f)
    r = link(alice, "link", eva_new, eva_new, c_new)
    eq((r["type"], r.get("code")), ("error", "bad_request"), "a customer with itself")
    r = link(alice, "link", eva_new, "u_" + "0" * 22, c_new)
    eq((r["type"], r.get("code")), ("error", "unknown_customer"), "an unknown customer")

    # unlink: the history goes back
    u1 = link(alice, "unlink", eva_new, eva_old, c_new)
    eq((u1["type"], u1.get("changed"), u1.get("linked")), ("linked", True, [eva_new]), "unlinked")
    u2 = link(alice, "unlink", eva_new, eva_old, c_new)
    eq((u2["type"], u2.get("changed")), ("linked", False), "unlinking again changes nothing")
    cust = view(alice, c_new)
    eq(cust.get("previous", []), [], "no earlier conversations after the unlink")
    check("linked" not in cust["panel"], "the panel names no link")

    # audited
    st, body = d.http("GET", "/api/v1/audit?limit=100")
    acts = [(e["action"], e["result"]) for e in body["entries"] if e["action"].startswith("customer.")]
    check(("customer.link", "ok") in acts and ("customer.unlink", "ok") in acts
          and ("customer.link", "not_yours") in acts, "link, unlink and a refusal audited (%r)" % acts)

    # ---- concurrency: two consoles on two nodes of one Redis link and
    # unlink many pairs at once
    d2 = Daemon(tmp, redis, agents=AGENTS, node="node-b",
                conf_extra="search: {group_max: 50}\n").start()
    sam2 = Agent(d2, "sam", available=False)
    custs = []
    for i in range(8):
        v = Visitor(d, name="Klant %d" % i)
        c = v.say("vraag %d" % i)["conversation"]
        custs.append(d.conversation(c)["customer"])
    rng = random.Random(17)
    pairs = [tuple(rng.sample(custs, 2)) for _ in range(40)]
    for i, (a, b) in enumerate(pairs):
        (sam if i % 2 else sam2).send({"type": "link", "customer": a, "other": b})
    answers = [sam.expect("linked", "error") for _ in range(20)] + \
              [sam2.expect("linked", "error") for _ in range(20)]
    eq([a["type"] for a in answers], ["linked"] * 40, "every link answered")
    got = groups_consistent(redis, custs)
    # what the pairs connect
    comp = {c: {c} for c in custs}
    for a, b in pairs:
        if comp[a] is not comp[b]:
            merged = comp[a] | comp[b]
            for m in merged:
                comp[m] = merged
    for c in custs:
        eq(got[c], frozenset(comp[c]), "the group of %s is what the links connect" % c)
    # and unlinks at once
    for i, c in enumerate(custs[1:]):
        (sam if i % 2 else sam2).send({"type": "unlink", "customer": custs[0], "other": c})
    for _ in range(3):
        sam.expect("linked", "error")
    for _ in range(4):
        sam2.expect("linked", "error")
    got = groups_consistent(redis, custs)
    eq(got[custs[0]], frozenset([custs[0]]), "the first customer is alone after the unlinks")

    # ---- erasure of a linked customer
    eq(link(alice, "link", eva_new, eva_old, c_new).get("changed"), True, "linked again")
    st, body = d.http("DELETE", "/api/v1/customers/%s" % eva_old)
    eq(st, 200, "the old Eva erased (%r)" % body)
    eq(redis.cmd("HGET", PREFIX + "cust:" + eva_new, "group"), None,
       "the other identity is no longer in a group")
    cust = view(alice, c_new)
    eq(cust.get("previous", []), [], "the erased identity's history is gone")
    alice.send({"type": "search", "q": "eva"})
    eq(alice.expect("search_results")["results"], [], "the erased Eva is not found")

    check(d.healthy() and d2.healthy(), "both nodes kept running")
    eq(d2.stop(), 0, "clean stop of node-b")
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
