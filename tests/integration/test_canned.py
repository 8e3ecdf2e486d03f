"""Canned responses (issue 17): the file admins edit and the agents' own.

- `omniroute -t` names every mistake of the canned file with file:line
  (unknown variable, duplicate shortcut, bad language, unknown queue,
  unknown key, a lone brace, not a list), and passes a good one;
- a console asks for the list (`canned`) and gets the file's responses and
  the agent's own; a reload with a bad file keeps the old set (SIGHUP and
  the admin API), a good one brings the new set;
- personal responses: saved, listed on every tab of the agent (on any
  node), deleted; hostile ones refused (bad shortcut, unknown variable,
  oversized, not a string), at most 100; the daemon keeps running.
"""
import json
import os
import signal
import subprocess

import omrtest
from omrtest import check, eq, log, wait_for, Agent, Daemon, Redis, BASE_ROUTING, DAEMON
from omrtest import quick_agents

GOOD = """responses:
  - shortcut: hello
    title: Greeting
    language: en
    text: "Hello {customer.first_name}, this is {agent.name}. Ref {conversation.id} {{ok}}"
  - shortcut: hello
    language: nl
    text: "Hallo {customer.name}"
  - shortcut: invoice
    queues: [billing]
    text: "About your invoice, {customer.name}"
"""

BAD = """responses:
  - shortcut: hello
    language: en
    text: "Hello {customer.nmae}"
  - shortcut: Hello World
    text: "x"
  - shortcut: twice
    text: "one"
  - shortcut: twice
    text: "two"
  - shortcut: lang
    language: english
    text: "x"
  - shortcut: q
    queues: [nowhere]
    text: "x"
  - shortcut: extra
    colour: red
    text: "x"
  - shortcut: brace
    text: "a } alone"
  - shortcut: empty
    text: ""
"""


def canned(agent):
    agent.send({"type": "canned"})
    return agent.expect("canned")


def test(tmp):
    redis = Redis(tmp)
    path = os.path.join(tmp, "canned.yaml")
    with open(path, "w") as f:
        f.write(BAD)
    d = Daemon(tmp, redis, agents=quick_agents(), routing=BASE_ROUTING,
               conf_extra="canned: canned.yaml\n")
    # ---- -t: every mistake with its line
    p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True, timeout=60)
    eq(p.returncode, 1, "-t refuses the bad canned file")
    log(p.stderr)
    for line, what in ((4, "unknown variable {customer.nmae}"), (5, "shortcut: a shortcut of"),
                       (9, "shortcut 'twice' again"), (12, "'english' is not a language code"),
                       (15, "unknown queue 'nowhere'"), (18, "unknown key 'colour'"),
                       (21, "a lone '}'"), (23, "text: a text of 1 to 4000 bytes")):
        check("canned.yaml:%d: " % line in p.stderr and what in p.stderr,
              "canned.yaml:%d: %s" % (line, what))
    for bad, what in (("- a\n- b\n", "one key: responses"), ("responses: 5\n", "expected a list"),
                      ("responses: [\n", "canned.yaml:")):
        with open(path, "w") as f:
            f.write(bad)
        p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True,
                           timeout=60)
        check(p.returncode == 1 and what in p.stderr, "-t refuses %r: %s" % (bad, p.stderr[-200:]))
    os.remove(path)
    p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and "canned.yaml" in p.stderr, "a missing canned file is an error")
    with open(path, "w") as f:
        f.write(GOOD)
    p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "-t passes the good file: %s" % p.stderr[-300:])

    # ---- the list on request
    d.start()
    alice = Agent(d, "alice")
    check("canned" not in alice.welcome, "the welcome stays small: no canned responses in it")
    c = canned(alice)
    eq([(r["shortcut"], r.get("language")) for r in c["responses"]],
       [("hello", "en"), ("hello", "nl"), ("invoice", None)], "the file's responses")
    eq(c["responses"][2]["queues"], ["billing"], "with their queues")
    eq(c["responses"][0]["text"],
       "Hello {customer.first_name}, this is {agent.name}. Ref {conversation.id} {{ok}}",
       "texts as written: the console fills them in")
    eq(c["personal"], [], "no personal ones yet")

    # ---- reloads: a bad file keeps the old set
    with open(path, "w") as f:
        f.write(BAD)
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: "keeping the running configuration" in d.log_text(), what="reload refused")
    st, body = d.http("POST", "/api/v1/reload")
    eq(st, 422, "the admin API's reload is refused too")
    check("unknown variable" in body["error"]["message"], "and says why")
    eq(len(canned(alice)["responses"]), 3, "the old set stays")
    with open(path, "w") as f:
        f.write(GOOD.replace("  - shortcut: invoice", "  - shortcut: bye\n    text: \"Bye {agent.first_name}\"\n  - shortcut: invoice"))
    st, body = d.http("POST", "/api/v1/reload")
    eq(st, 200, "a good file is taken")
    eq([r["shortcut"] for r in canned(alice)["responses"]], ["hello", "hello", "bye", "invoice"],
       "the new set")

    # ---- personal ones
    tab2 = Agent(d, "alice", available=False)
    alice.send({"type": "canned_save", "shortcut": "mine", "title": "My own",
                "text": "Dear {customer.name}, {agent.first_name} here."})
    c = alice.expect("canned")
    eq(c["personal"], [{"shortcut": "mine", "title": "My own",
                        "text": "Dear {customer.name}, {agent.first_name} here."}], "saved")
    eq(tab2.expect("canned")["personal"][0]["shortcut"], "mine", "the other tab hears of it")
    bob = Agent(d, "bob")
    eq(canned(bob)["personal"], [], "bob does not see alice's")
    for bad in ({"shortcut": "Bad Short", "text": "x"}, {"shortcut": "x", "text": "{agent.password}"},
                {"shortcut": "x", "text": "y" * 4001}, {"shortcut": "x", "text": 5},
                {"shortcut": "x"}, {"shortcut": "x", "text": "ok", "title": "t" * 81},
                {"shortcut": "x" * 33, "text": "x"}, {"text": "x"}, {"shortcut": "x", "text": "{"}):
        alice.send(dict(bad, type="canned_save"))
        eq(alice.expect("error")["code"], "bad_request", "refused: %r" % (repr(bad)[:50],))
    # 99 more, as if saved earlier (saving them here would hit the console's rate limit)
    for i in range(99):
        redis.cmd("HSET", "omr:{main}:canned:agent:alice", "p%d" % i,
                  json.dumps({"title": "p%d" % i, "text": "text %d" % i}))
    alice.send({"type": "canned_save", "shortcut": "onemore", "text": "x"})
    eq(alice.expect("error")["code"], "bad_request", "at most 100 of one's own")
    eq(len(alice.expect("canned")["personal"]), 100, "still 100")
    alice.send({"type": "canned_save", "shortcut": "mine", "text": "changed"})
    eq([p["text"] for p in alice.expect("canned")["personal"] if p["shortcut"] == "mine"],
       ["changed"], "one can be changed when full")
    alice.send({"type": "canned_delete", "shortcut": "mine"})
    check(all(p["shortcut"] != "mine" for p in alice.expect("canned")["personal"]), "deleted")
    alice.send({"type": "canned_delete", "shortcut": "mine"})
    eq(alice.expect("error")["code"], "not_found", "deleting it again")
    alice.send({"type": "canned_delete", "shortcut": "../x"})
    eq(alice.expect("error")["code"], "bad_request", "a bad shortcut to delete")
    check(d.alive(), "the daemon kept running")
    eq(d.stop(), 0, "node d stops cleanly")


if __name__ == "__main__":
    omrtest.run(test)
