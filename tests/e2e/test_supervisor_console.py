#!/usr/bin/python3
"""End-to-end test of the console's supervisor view in a real browser.

Starts a private Redis and the real daemon (tests/integration/omrtest.py)
with a supervisor, sam, and runs tests/e2e/supervisor_e2e.mjs (headless
Chromium driven by playwright-core): sam logs in and sees the supervisor
view; its counts change live as web chat visitors (demo chat pages) arrive
and as alice (the agent console, in a second page) takes them; sam pulls a
waiting conversation to alice and sets her available, monitors her
conversation, whispers to her (the visitor's websocket never sees it) and
barges in (the visitor gets it); after a dropped connection the view comes
back live by itself; sam reassigns the conversation to another queue and
sets alice away. The admin API's audit trail must show what sam did,
through the console.

Reports: before the browser, bob (over the websocket) answers a web chat in
general and wraps it up as "connection down"; in the browser alice wraps up
hers as "invoice unclear", and sam opens the Reports tab. The figures the
page showed for today's queues must be the admin API's (GET
/api/v1/reports/queues), and the CSV the page downloaded must be the admin
API's (GET /api/v1/reports/contact-reasons?format=csv), holding both reasons.

Needs /usr/bin/chromium, node, and playwright-core installed by `npm ci` in
tests/e2e (`./quickstart check` does that; or point $OMR_E2E_NODE_MODULES
at a node_modules directory that has it). Missing any of them is a failure,
not a skip.

Screenshots go to $OMR_BUILDDIR/tests/e2e/screenshots.
"""

import csv
import io
import json
import os

import e2e_harness  # first: it puts tests/integration (omrtest) on sys.path
import omrtest
from omrtest import Agent, Daemon, Redis, Visitor, check, eq, log, password_hash

# the figures of a queue the page shows, checked against the admin API
QUEUE_FIELDS = ("offered", "answered", "handled", "abandoned", "transfers", "bot_contained",
                "bot_handoffs")

# A Dutch billing question goes to billing, which only alice serves; she
# takes one web chat at a time, so a second one waits. The monitored agent
# is told (announce_monitoring); a pulled conversation waits for its agent
# long enough for the test. Offers and the reconnect grace are long enough
# for a browser.
ROUTING = e2e_harness.routing(rules="""  - name: dutch billing
    when: 'text:lower():find("factuur")'
    queue: billing
    language: nl
""", billing="    sla: { target: 80, within: 60s }\n",
    more="supervision: {announce_monitoring: true, pull_wait: 2m}\n")


def users():
    agents = omrtest.BASE_AGENTS.replace("capacity: { webchat: 3 }", "capacity: { webchat: 1 }", 1)
    return agents + """  - id: sam
    name: Sam Supervisor
    password: "%s"
    roles: [supervisor]
""" % password_hash("sam")


def seed(d):
    """bob answers a web chat in general and wraps it up as "connection
    down", then goes offline: a contact reason and figures of another queue
    for the reports."""
    bob = Agent(d, agent="bob")
    v = Visitor(d, name="Pat")
    conv = v.say("My internet connection is down")["conversation"]
    while True:
        o = bob.expect("offer")
        if o["conversation"]["id"] == conv:
            break
    eq(bob.accept(o["offer"])["type"], "assigned", "bob accepts pat's conversation")
    bob.send({"type": "close", "conversation": conv})
    bob.expect("status")
    bob.send({"type": "wrapup", "conversation": conv, "reason": "connection down", "outcome": "resolved"})
    eq(bob.expect("unassigned")["reason"], "wrapped_up", "bob wrapped it up: connection down")
    eq(d.conversation(conv)["queue"], "general", "it was in general")
    bob.presence("offline")
    bob.close()
    v.close()


def check_reports(d, shown_path, downloads):
    """What the page showed and downloaded, against the admin API."""
    try:
        with open(shown_path) as f:
            shown = json.load(f)
    except (OSError, ValueError) as e:
        check(False, "the page's report figures were written (%s)" % e)
        return
    day = shown["today"]
    st, api = d.http("GET", "/api/v1/reports/queues?from=%s&to=%s" % (day, day))
    check(st == 200, "GET /api/v1/reports/queues: %s" % st)
    want = {q["queue"]: {k: q[k] for k in QUEUE_FIELDS} for q in (api or {}).get("queues", [])}
    got = {name: {k: f.get(k) for k in QUEUE_FIELDS} for name, f in shown["queues"].items()}
    log("queues today, the API: %r" % want)
    eq(got, want, "the page's queues report is the admin API's")
    eq((want.get("general", {}).get("offered"), want.get("general", {}).get("handled")), (1, 1),
       "general: bob's conversation, offered and handled")
    eq(want.get("billing", {}).get("handled"), 1, "billing: alice's wrap-up")

    name = "contact-reasons-%s-%s.csv" % (day, day)
    try:
        with open(os.path.join(downloads, name), encoding="utf-8", newline="") as f:
            page_csv = f.read()
    except OSError as e:
        check(False, "the page downloaded %s (%s)" % (name, e))
        return
    st, api_csv = d.http("GET", "/api/v1/reports/contact-reasons?from=%s&to=%s&format=csv" % (day, day))
    check(st == 200, "GET /api/v1/reports/contact-reasons?format=csv: %s" % st)
    rows = list(csv.reader(io.StringIO(page_csv)))
    eq(rows[:1], [["section", "group", "name", "count", "previous", "change"]], "the download has a header row")
    eq(rows, list(csv.reader(io.StringIO(api_csv))), "the download is the admin API's CSV")
    reasons = {r[2]: r[3] for r in rows[1:] if r[0] == "reason"}
    eq((reasons.get("invoice unclear"), reasons.get("connection down")), ("1", "1"),
       "both wrap-up reasons are in it")


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=users()).start()
    seed(d)
    downloads = os.path.join(tmp, "downloads")
    os.makedirs(downloads)
    shown = os.path.join(tmp, "report-shown.json")
    e2e_harness.run_script("supervisor_e2e.mjs", 210,
                           E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"],
                           E2E_DOWNLOADS=downloads, E2E_REPORT_OUT=shown)
    check(d.alive(), "the daemon is still running")
    check_reports(d, shown, downloads)

    # what sam did in the browser is in the audit trail, as done through the console
    st, body = d.http("GET", "/api/v1/audit?limit=200")
    check(st == 200, "GET /api/v1/audit: %s" % st)
    seen = {(e.get("who"), e.get("action"), e.get("result"), e.get("via"))
            for e in (body.get("entries") or [])} if isinstance(body, dict) else set()
    log("audit: %r" % sorted(seen))
    for want in ("conversation.pull", "agent.presence", "conversation.monitor",
                 "conversation.whisper", "conversation.barge", "conversation.transfer"):
        check(("sam", want, "ok", "console") in seen, "audited: sam %s through the console" % want)
    d.stop()
    redis.stop()


if __name__ == "__main__":
    e2e_harness.main(test)
