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

Needs /usr/bin/chromium, node, and playwright-core installed by `npm ci` in
tests/e2e (`./quickstart check` does that; or point $OMR_E2E_NODE_MODULES
at a node_modules directory that has it). Missing any of them is a failure,
not a skip.

Screenshots go to $OMR_BUILDDIR/tests/e2e/screenshots.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("OMR_SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import omrtest  # noqa: E402
from omrtest import Daemon, Redis, check, log, run, password_hash  # noqa: E402

BUILDDIR = omrtest.BUILDDIR
CHROMIUM = os.environ.get("E2E_CHROMIUM") or "/usr/bin/chromium"
SCRIPT = os.path.join(SRCDIR, "tests", "e2e", "supervisor_e2e.mjs")

# A Dutch billing question goes to billing, which only alice serves; she
# takes one web chat at a time, so a second one waits. The monitored agent
# is told (announce_monitoring); a pulled conversation waits for its agent
# long enough for the test. Offers and the reconnect grace are long enough
# for a browser.
ROUTING = """
skills:
  - name: billing
  - name: tech
  - name: general
default_queue: general
queues:
  - name: general
    description: everything no rule places elsewhere
  - name: billing
    description: invoices, payments, refunds
    skills: { billing: 1 }
    sla: { target: 80, within: 60s }
  - name: tech
    description: internet, router, TV
    skills: { tech: 1 }
rules:
  - name: dutch billing
    when: 'text:lower():find("factuur")'
    queue: billing
    language: nl
offers: {timeout: 30s, max_missed: 3, reject_cooldown: 5m}
sessions: {grace: 60s}
supervision: {announce_monitoring: true, pull_wait: 2m}
reasons: [invoice unclear, payment not received, connection down, other]
outcomes: [resolved, follow_up, escalated]
"""


def find_playwright():
    """playwright-core from `npm ci` in tests/e2e of the source or the build
    tree, or in $OMR_E2E_NODE_MODULES (e.g. for make distcheck)."""
    dirs = [os.path.join(SRCDIR, "tests", "e2e", "node_modules"),
            os.path.join(BUILDDIR, "tests", "e2e", "node_modules")]
    if os.environ.get("OMR_E2E_NODE_MODULES"):
        dirs.insert(0, os.environ["OMR_E2E_NODE_MODULES"])
    for nm in dirs:
        d = os.path.join(nm, "playwright-core")
        if os.path.isfile(os.path.join(d, "package.json")):
            return d
    return None


def fail_setup(msg):
    log("FAIL: " + msg)
    sys.exit(1)


def users():
    agents = omrtest.BASE_AGENTS.replace("capacity: { webchat: 3 }", "capacity: { webchat: 1 }", 1)
    return agents + """  - id: sam
    name: Sam Supervisor
    password: "%s"
    roles: [supervisor]
""" % password_hash("sam")


def test(tmp):
    out = os.path.join(BUILDDIR, "tests", "e2e", "screenshots")
    os.makedirs(out, exist_ok=True)

    redis = Redis(tmp)
    d = Daemon(tmp, redis, routing=ROUTING, agents=users()).start()
    env = dict(os.environ,
               E2E_BASE="http://127.0.0.1:%d" % d.ports["edge"],
               E2E_OUT=out,
               E2E_CHROMIUM=CHROMIUM,
               E2E_PLAYWRIGHT=PLAYWRIGHT)
    log("running node %s (screenshots in %s)" % (SCRIPT, out))
    try:
        p = subprocess.run([NODE, SCRIPT], cwd=os.path.dirname(SCRIPT), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
        output, rc = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        output, rc = (e.stdout or b"").decode("utf-8", "replace"), "timeout"
    for line in output.splitlines():
        log("e2e: " + line)
    check(rc == 0, "supervisor_e2e.mjs passes (exit %s)" % rc)
    check(d.alive(), "the daemon is still running")

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
    # Missing tools fail the test (they are installed by ./quickstart check).
    if not os.access(CHROMIUM, os.X_OK):
        fail_setup("%s is missing: install chromium (apt-get install chromium), then run "
                   "`npm ci` in tests/e2e" % CHROMIUM)
    NODE = shutil.which("node") or shutil.which("nodejs")
    if not NODE:
        fail_setup("node is missing: install nodejs and npm (apt-get install nodejs npm), then run "
                   "`npm ci` in tests/e2e")
    PLAYWRIGHT = find_playwright()
    if not PLAYWRIGHT:
        fail_setup("playwright-core is not installed: run `npm ci` in %s (./quickstart check does it)"
                   % os.path.join(SRCDIR, "tests", "e2e"))
    run(test)
