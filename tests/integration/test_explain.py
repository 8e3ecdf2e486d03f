"""`omniroute -c FILE --explain JSON` (issue 20, explain one conversation):
what the shipped routing configuration decides for hypothetical
conversations, with no Redis running: the rules matched in order, the
quadrant and treatment, tier, queue, skills, priority, the queue's calendar
at the given time and the agent strategy; bad input is a clear error with
exit 2."""
import json
import os
import shutil
import subprocess

import omrtest
from omrtest import check, eq

SRC = omrtest.SRCDIR


def explain(conf, what, stdin=None):
    arg = "-" if stdin is not None else (what if isinstance(what, str) else json.dumps(what))
    p = subprocess.run([omrtest.DAEMON, "-c", conf, "--explain", arg], capture_output=True,
                       text=True, input=stdin, timeout=30)
    return p.returncode, p.stdout, p.stderr


def test(tmp):
    conf = os.path.join(tmp, "conf")
    shutil.copytree(os.path.join(SRC, "conf"), conf)
    # a rule for the sales queue, which has office hours, to see the calendar
    routing = os.path.join(conf, "routing.yaml")
    with open(routing) as f:
        text = f.read()
    with open(routing, "w") as f:
        f.write(text.replace("rules:\n", "rules:\n  - name: sales\n"
                             "    when: 'text:lower():find(\"contract\")'\n"
                             "    queue: sales\n", 1))
    main = os.path.join(conf, "omniroute.yaml")

    rc, out, err = explain(main, {"channel": "webchat", "text": "Ik heb een vraag over mijn factuur",
                                  "language": "nl", "at": "2026-12-07T09:30Z"})
    eq(rc, 0, "explain answers: %s" % err)
    r = json.loads(out)
    eq(r["decision"]["rules"], ["dutch billing"], "the rule that matched")
    eq((r["decision"]["queue"], r["decision"]["tier"], r["decision"]["language"]),
       ("billing", "human", "nl"), "queue, tier and language")
    eq(r["decision"]["skills"], {"billing": 1}, "the skills the rule asks")
    eq((r["queue"]["name"], r["queue"]["open"], r["queue"]["strategy"]),
       ("billing", True, r["queue"]["strategy"]), "the queue, open (no calendar)")
    check(r["queue"]["strategy"] in ("longest_idle", "least_occupied", "best_proficiency"),
          "and its agent strategy: %r" % r["queue"]["strategy"])
    eq(r["facts"]["weekday"], "mon", "facts at the given time: Monday")
    eq(r["facts"]["hour"], 9, "9 UTC")

    rc, out, err = explain(main, {"channel": "whatsapp", "text": "Where is my order?"})
    r = json.loads(out)
    eq(r["decision"]["rules"][0], "where is my order", "the eliminate rule")
    eq(r["decision"]["quadrant"], "eliminate", "low/low: the eliminate quadrant")

    rc, out, err = explain(main, {"channel": "webchat", "text": "My router is broken"})
    eq(json.loads(out)["decision"]["queue"], "tech", "technical to tech")

    # the calendar, at times: Monday 10:00 Amsterdam (open), Sunday (closed), Christmas
    for at, want in (("2026-12-07T09:00Z", True), ("2026-12-06T12:00Z", False),
                     ("2026-12-25T10:00Z", False), (1796634000000, True)):
        rc, out, err = explain(main, {"channel": "webchat", "text": "a new contract please", "at": at})
        r = json.loads(out)
        eq((r["decision"]["queue"], r["queue"]["calendar"], r["queue"]["open"]),
           ("sales", "office", want), "sales at %s: open %s" % (at, want))

    # customer facts: balance below the threshold is at risk
    rc, out, err = explain(main, {"channel": "webchat", "text": "hello",
                                  "customer": {"balance": -50, "name": "Eva"}})
    r = json.loads(out)
    eq((r["facts"]["customer"]["balance"], r["facts"]["customer"]["at_risk"]), (-50, True),
       "a low balance is at risk")
    eq(r["decision"]["balance"], -50, "and the decision records the balance")

    # the seeds in the shipped file: an at-risk complainer to care (empathy,
    # priority 80); a complaint otherwise a moment of truth; a loyal
    # customer who asks for a person never to the bot
    rc, out, err = explain(main, {"channel": "webchat", "language": "nl",
                                  "text": "Ik heb een KLACHT over mijn factuur",
                                  "customer": {"balance": -8}})
    r = json.loads(out)
    eq((r["decision"]["rules"], r["decision"]["queue"], r["decision"]["priority"],
        r["decision"]["tier"]), (["customer at risk"], "care", 80, "human"),
       "an at-risk complainer: care, priority 80, a person")
    eq(r["facts"]["complaint"], True, "the complaint is recognised (phrases, any case)")
    rc, out, err = explain(main, {"channel": "webchat", "text": "This is unacceptable"})
    r = json.loads(out)
    eq((r["decision"]["rules"], r["decision"]["quadrant"]), (["complaint"], "encourage"),
       "a complaint of a customer not at risk: a moment of truth")
    ask = "What are your opening hours? I want to talk to someone"
    for bal, want in ((20, "human"), (0, "bot")):
        rc, out, err = explain(main, {"channel": "webchat", "text": ask,
                                      "customer": {"balance": bal}})
        r = json.loads(out)
        eq((r["facts"]["customer"]["loyal"], r["facts"]["says"]["person"],
            r["decision"]["tier"]), (bal >= 10, True, want),
           "balance %d asking for a person: %s" % (bal, want))

    # the input from stdin
    rc, out, err = explain(main, None, stdin=json.dumps({"channel": "email", "text": "invoice"}))
    eq((rc, json.loads(out)["decision"]["queue"]), (0, "billing"), "from stdin (-)")

    # bad input: exit 2 and why, nothing else
    for bad, why in (("{not json", "expected a JSON object"), ("[1,2]", "not an object"),
                     ({"text": "no channel"}, "channel:"), ({"channel": ""}, "channel:"),
                     ({"channel": "webchat", "at": "tomorrow"}, "at:"),
                     ({"channel": "webchat", "at": "2026-13-45T99:99Z"}, "at:"),
                     ({"channel": "webchat", "at": -5}, "at:")):
        rc, out, err = explain(main, bad)
        eq(rc, 2, "%r: exit 2" % (bad,))
        check(why in err and out == "", "%r: says %r: %r" % (bad, why, err))
    rc, out, err = explain(os.path.join(tmp, "missing.yaml"), {"channel": "webchat"})
    eq(rc, 1, "a missing configuration: exit 1")
    check(os.listdir(tmp) == ["conf"], "nothing was started or written: %r" % os.listdir(tmp))


if __name__ == "__main__":
    omrtest.run(test)
