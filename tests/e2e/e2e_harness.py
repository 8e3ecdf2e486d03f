"""What the browser end-to-end tests (test_console.py,
test_supervisor_console.py) share: the paths to tests/integration (omrtest),
finding chromium, node and playwright-core, the screenshots directory, and
running a tests/e2e/*.mjs script against a daemon the test started.

Missing tools are a failure, not a skip: main() checks them before the test
runs (./quickstart check installs them).
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
from omrtest import check, log  # noqa: E402

BUILDDIR = omrtest.BUILDDIR
CHROMIUM = os.environ.get("E2E_CHROMIUM") or "/usr/bin/chromium"
SCREENSHOTS = os.path.join(BUILDDIR, "tests", "e2e", "screenshots")

# set by main() once it has found them
NODE = None
PLAYWRIGHT = None


# The rules of the console tests: a Dutch billing question goes to the
# billing queue, in Dutch, which only alice serves; "open" (opening hours)
# goes to the bot first.
CONSOLE_RULES = """  - name: dutch-billing
    when: 'text:lower():find("factuur")'
    queue: billing
    language: nl
  - name: general questions
    when: 'text:lower():find("open")'
    value: { customer: high, organisation: low }   # self-service: the bot first
"""


def faqbot_plugin():
    """omniroute.yaml's plugin entry of faqbot (conf/faqbot.yaml)."""
    return ("  - name: faqbot\n    path: %s/plugins/faqbot/.libs/faqbot.so\n"
            "    config_file: %s/conf/faqbot.yaml\n" % (BUILDDIR, SRCDIR))


def email_plugin(lmtp):
    """The e-mail plugin taking mail by LMTP on port lmtp; its replies go to
    a smarthost that is not there (they fail, at once)."""
    return ("  - name: email\n    path: %s/plugins/email/.libs/email.so\n    config:\n"
            "      address: support@example.com\n      lmtp_port: %d\n"
            "      smtp_url: smtp://127.0.0.1:%d\n      smtp_starttls: false\n"
            "      send_attempts: 1\n      send_timeout: 2s\n"
            % (BUILDDIR, lmtp, omrtest.free_port()))


def routing(rules, billing="", more=""):
    """The routing both tests use, with their own rules (YAML list items),
    lines added to the billing queue, and more settings: three queues, the
    wrap-up reasons and outcomes, and offers and a reconnect grace long
    enough for a browser (the integration tests use much shorter ones)."""
    return """
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
%s  - name: tech
    description: internet, router, TV
    skills: { tech: 1 }
rules:
%soffers: {timeout: 30s, max_missed: 3, reject_cooldown: 5m}
sessions: {grace: 60s}
reasons: [{name: invoice unclear, avoidable: true}, payment not received, connection down, other]
outcomes: [resolved, follow_up, escalated]
%s""" % (billing, rules, more)


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


def screenshots():
    """The screenshots directory, $OMR_BUILDDIR/tests/e2e/screenshots, made."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    return SCREENSHOTS


def run_script(name, timeout, **env):
    """Runs node tests/e2e/<name> with E2E_OUT, E2E_CHROMIUM, E2E_PLAYWRIGHT
    and the E2E_* variables given; logs its output and checks that it
    passes (exit 0 within timeout seconds)."""
    script = os.path.join(SRCDIR, "tests", "e2e", name)
    out = screenshots()
    env = dict(os.environ, E2E_OUT=out, E2E_CHROMIUM=CHROMIUM, E2E_PLAYWRIGHT=PLAYWRIGHT, **env)
    log("running node %s (screenshots in %s)" % (script, out))
    try:
        p = subprocess.run([NODE, script], cwd=os.path.dirname(script), env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        output, rc = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        output, rc = (e.stdout or b"").decode("utf-8", "replace"), "timeout"
    for line in output.splitlines():
        log("e2e: " + line)
    return check(rc == 0, "%s passes (exit %s)" % (name, rc))


def main(test):
    """Checks for chromium, node and playwright-core, then omrtest.run(test)."""
    global NODE, PLAYWRIGHT
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
    omrtest.run(test)
