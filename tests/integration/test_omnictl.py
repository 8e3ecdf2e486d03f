"""omnictl, the operators' command-line tool, against a real daemon, a real
Redis and real agents and visitors: every command, as a table and with
--json (parsed); the settings' order (options, environment, config file,
its permissions); the exit statuses (0 done, 1 the daemon's error or not
healthy, 2 usage or the token refused, 3 unreachable); and answers that are
not the admin API's, from a small local HTTP server (no JSON, an HTML 413
page, 500, empty, huge, slow, deeply nested, terminal escapes): a clear
message, never a crash.

Endpoints that other work adds (issue 15) are probed on the daemon first.
One in PENDING that the daemon does not have yet is checked to be reported
cleanly (its 404/405, exit 1); once it is there, its full checks run
whatever PENDING says. Remove a name from PENDING to require it.
"""
import http.server
import json
import os
import socket
import subprocess
import threading
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, Visitor, wait_for
from omrtest import BUILDDIR, DAEMON, TOKEN, password_hash, token_hash

OMNICTL = os.path.join(BUILDDIR, "omnictl")
# e.g. {"drain", "audit", "agents/presence", "conversations/close", "conversations/transfer",
#       "reports/queues", "reports/agents", "reports/csv", "reports/from-to", "roles"}
PENDING = set()

READ_TOKEN = "sara-readonly-token-0123456789abcdef"   # a supervisor's token: read only
# agents log in with tokens: a password's hash is slow under valgrind
ALICE = "alice-console-token-0123456789abcdef"
BOB = "bob-console-token-0123456789abcdefgh"
AGENTS = """
agents:
  - id: alice
    name: Alice
    token: "%s"
    skills: { billing: 4, general: 3 }
    languages: [nl, en]
    capacity: { webchat: 3 }
  - id: bob
    name: Bob
    token: "%s"
    skills: { tech: 4, general: 3 }
    languages: [en]
    capacity: { webchat: 3 }
""" % (token_hash(ALICE), token_hash(BOB))
ROLES_AGENTS = AGENTS + """  - id: sara
    name: Sara
    password: "%s"
    roles: [supervisor]
    api_tokens:
      - { name: screen, hash: "%s", scopes: [read] }
"""


# ---------------------------------------------------------------- running omnictl

class Ctl:
    """Runs omnictl with a clean environment (no OMNIROUTE_*), an explicit
    empty config file unless told otherwise (no system file is read), under
    valgrind with OMR_VALGRIND=1; every run is checked for sanitizer and
    valgrind reports."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.empty = conf_file(tmp, "empty.conf", "")
        self.url = None

    def __call__(self, *args, url=True, token=TOKEN, env=None, config=True, timeout=120):
        cmd = [OMNICTL]
        if url is True:
            url = self.url
        if url:
            cmd += ["--url", url]
        if token:
            cmd += ["--token", token]
        if config is True:
            config = self.empty
        if config:
            cmd += ["--config", config]
        cmd += list(args)
        if os.environ.get("OMR_VALGRIND"):
            cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite"] + cmd
        e = {k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")}
        e.update(env or {})
        p = subprocess.run(cmd, capture_output=True, env=e, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        bad = [m for m in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                           "Segmentation fault", "== Invalid ", "definitely lost")
               if m in err]
        if bad or p.returncode in (99, -11, -6):
            check(False, "omnictl %s: no crash, no memory error (rc %s, %s)\n%s"
                  % (" ".join(args), p.returncode, bad, err[-3000:]))
        return p.returncode, out, err

    def json(self, *args, **kw):
        """--json: the exit status and stdout parsed (None if it is not JSON)."""
        rc, out, err = self(*(("--json",) + args), **kw)
        try:
            return rc, json.loads(out), err
        except ValueError:
            check(False, "omnictl --json %s prints JSON: %r %r" % (" ".join(args), out[:300],
                                                                   err[:300]))
            return rc, None, err


def conf_file(tmp, name, text, mode=0o600):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def table(out):
    """A table's rows as lists of cells (columns are two or more spaces
    apart; a cell may hold single spaces)."""
    import re
    lines = [l for l in out.splitlines() if l.strip()]
    return [re.split(r"  +", l.strip()) for l in lines]


def first_column(out):
    return [r[0] for r in table(out)[1:]]


# ---------------------------------------------------------------- probing the daemon

def present(d, method, path, body=None):
    """Has the daemon this endpoint? (not: 404 'no such endpoint', 405)"""
    st, ans = d.http(method, path, body=body)
    msg = ans.get("error", {}).get("message", "") if isinstance(ans, dict) else ""
    return not ((st == 404 and msg == "no such endpoint") or st == 405)


def pending_or_missing(name, rc, err):
    """An endpoint the daemon lacks: its 404/405 reported cleanly, exit 1;
    a failure unless the endpoint is PENDING."""
    if name in PENDING:
        log("PENDING: %s is not in this daemon yet: only its clean refusal is checked" % name)
        eq(rc, 1, "%s (not there yet): exit 1" % name)
        check("404" in err or "405" in err, "%s (not there yet): the daemon's 404/405 named: %r"
              % (name, err))
        check(err.startswith("omnictl: ") and err.count("\n") <= 2,
              "%s (not there yet): one clear line: %r" % (name, err))
    else:
        check(False, "the daemon has %s (answered: %r)" % (name, err))


# ---------------------------------------------------------------- a misbehaving server

class Odd(http.server.BaseHTTPRequestHandler):
    """Answers by the first path segment (omnictl --url http://HOST/<mode>)."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/json", headers=(), length=True):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer()

    def do_POST(self):
        self.answer()

    def answer(self):
        mode = self.path.split("/")[1]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append({"method": self.command, "path": self.path,
                                     "headers": dict(self.headers.items()), "body": raw})
        try:
            self.answer_mode(mode)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def answer_mode(self, mode):
        if mode == "nonjson":
            self.send(200, "hello, I am not JSON\n", "text/plain")
        elif mode == "html413":
            self.send(413, "<html><head><title>413 Request Entity Too Large</title></head>"
                      "<body><h1>Request Entity Too Large</h1></body></html>", "text/html")
        elif mode == "err500":
            self.send(500, '{"error":{"code":"internal","message":"boom"}}')
        elif mode == "empty500":
            self.send(500, "", None)
        elif mode == "empty200":
            self.send(200, "")
        elif mode == "trailing":
            self.send(200, '{"queues":[]} {"queues":[]}')
        elif mode == "deep":
            self.send(200, "[" * 100000 + "]" * 100000)
        elif mode == "shape":
            self.send(200, '{"queues":5,"agents":{"a":1}}')
        elif mode == "rows":
            self.send(200, json.dumps({"queues": [1, "x", None, [], {"name": 5, "waiting": {"a": [1]},
                                       "sla": "n/a", "oldest_wait_s": "long"}, {}]}))
        elif mode == "escape":
            evil = "\x1b]0;pwned\x07\x1b[31mEvil\u202eRight\x9b2J\nLine"
            self.send(200, json.dumps({"agents": [{"id": "e1", "name": evil, "presence": "away",
                                                   "presence_reason": "\x1b[2J", "load": {evil: 1},
                                                   evil: evil}],
                                       "status": "ok", "reason": evil, evil: [{evil: 1}]}))
        elif mode == "biglen":
            # says 10 GB, sends a little, keeps the connection
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(10 * 1024 ** 3))
            self.end_headers()
            self.wfile.write(b'{"queues":[' + b" " * 65536)
            time.sleep(2)
        elif mode == "huge":
            # no length, no end: a body that goes on (until omnictl stops reading)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b" " * (1 << 20)
            self.wfile.write(b'{"queues":[')
            for _ in range(64):
                self.wfile.write(chunk)
            self.wfile.write(b"]}")
            self.close_connection = True
        elif mode == "slow":
            time.sleep(4)
            self.send(200, '{"queues":[]}')
        elif mode == "forbidden":
            self.send(403, '{"error":{"code":"forbidden","message":"screen: this token lacks '
                      'the \'admin\' scope"}}')
        elif mode == "throttled":
            self.send(429, '{"error":{"code":"too_many_failures","message":"slow down"}}',
                      headers=[("Retry-After", "7")])
        elif mode == "html404":
            self.send(404, "<html>Not here</html>", "text/html")
        elif mode == "csv":
            if "format=csv" in self.path:
                self.send(200, "queue,offered\r\nbilling,3\r\n", "text/csv; charset=utf-8")
            else:
                self.send(200, '{"rows":[{"queue":"billing","offered":3}]}')
        elif mode == "healthz503":
            self.send(503, '{"status":"degraded","node":"x","version":"0","redis":"down",'
                      '"uptime_s":5,"reason":"redis: connection refused"}')
        else:
            self.send(404, '{"error":{"code":"not_found","message":"no such endpoint"}}')


class OddServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up (omnictl giving up on a huge answer) is expected


def odd_server():
    srv = OddServer(("127.0.0.1", 0), Odd)
    srv.requests = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d" % srv.server_address[1]


def babbler(line):
    """Answers every connection with `line` (no HTTP) and hangs up."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)

    def serve():
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            try:
                conn.recv(4096)
                conn.sendall(line)
            except OSError:
                pass
            conn.close()
    threading.Thread(target=serve, daemon=True).start()
    return s, "http://127.0.0.1:%d" % s.getsockname()[1]


def silent_listener():
    """Accepts connections and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s, "http://127.0.0.1:%d" % s.getsockname()[1]


# ---------------------------------------------------------------- the checks

def usage(ctl):
    rc, out, err = ctl(url=None, token=None, config=None)
    eq(rc, 2, "no command: usage, exit 2")
    check("usage: omnictl" in err, "no command: the usage on stderr")
    rc, out, err = ctl("help", url=None, token=None, config=None)
    eq(rc, 0, "help: exit 0")
    for c in ("status", "queues", "agents away ID", "conversations transfer ID", "reports",
              "reload", "drain [--off]", "audit", "OMNIROUTE_TOKEN"):
        check(c in out, "help names %r" % c)
    rc, out, err = ctl("help", "conversations", url=None, token=None, config=None)
    check(rc == 0 and "conversations close" in out and "queues" not in out.replace(
        "--queue", ""), "help conversations: only those")
    rc, out, err = ctl("--version", url=None, token=None, config=None)
    check(rc == 0 and out.startswith("omnictl (omniroute) "), "--version: %r" % out)
    for args, what, msg in (
            (["frobnicate"], "an unknown command", "unknown command 'frobnicate'"),
            (["conversations"], "a group without its subcommand", "conversations list"),
            (["agents", "away"], "a missing ID", "usage: omnictl agents away ID"),
            (["queues", "extra"], "an extra argument", "unknown command 'queues extra'"),
            (["queues", "--reason", "x"], "an option the command does not take",
             "queues takes no --reason"),
            (["--frob", "queues"], "an unknown option", "unknown option '--frob'"),
            (["queues", "--timeout"], "an option without its value", "--timeout needs a value"),
            (["queues", "--timeout", "0"], "a bad timeout", "--timeout"),
            (["conversations", "transfer", "c_1"], "transfer without --queue or --agent",
             "--queue Q or --agent A"),
            (["conversations", "transfer", "c_1", "--queue", "a", "--agent", "b"],
             "transfer with both", "--queue Q or --agent A"),
            (["conversations", "list", "--limit", "ten"], "a limit that is no number", "--limit"),
            (["reports", "queues", "--from", "1/12/2026"], "a date that is not YYYY-MM-DD",
             "YYYY-MM-DD"),
            (["reports", "queues", "--csv", "--json"], "--csv with --json", "not both"),
            (["conversations", "show", ""], "an empty ID", "usage:")):
        rc, out, err = ctl(*args)
        eq(rc, 2, "usage error, %s: exit 2" % what)
        check(msg in err, "usage error, %s: says %r (%r)" % (what, msg, err[:200]))
        eq(out, "", "usage error, %s: nothing on stdout" % what)


def settings(tmp, ctl, d):
    url, bad_url = ctl.url, "http://127.0.0.1:%d" % omrtest.free_port()
    good = conf_file(tmp, "good.conf", "# omnictl\n\nurl = %s\ntoken = \"%s\"\n" % (url, TOKEN))
    wrong = conf_file(tmp, "wrong.conf", "url = %s\ntoken = wrong-token-from-file\n" % bad_url)
    eq(ctl("queues", url=None, token=None, config=good)[0], 0, "config file: url and token")
    rc, out, err = ctl("queues", url=None, token=None, config=None,
                       env={"OMNIROUTE_URL": url, "OMNIROUTE_TOKEN": TOKEN})
    eq(rc, 0, "environment: url and token")
    # each setting on its own: an option over the environment over the file
    eq(ctl("queues", url=None, token=None, config=wrong,
           env={"OMNIROUTE_URL": url, "OMNIROUTE_TOKEN": TOKEN})[0], 0,
       "the environment comes before the config file")
    rc, out, err = ctl("queues", url=None, token=None, config=good,
                       env={"OMNIROUTE_TOKEN": "wrong-token-from-env"})
    eq(rc, 2, "a wrong OMNIROUTE_TOKEN wins over the file's right one")
    check("came from OMNIROUTE_TOKEN" in err, "the message says where the token came from: %r" % err)
    rc, out, err = ctl("queues", url=None, token=None, config=good,
                       env={"OMNIROUTE_URL": bad_url})
    eq(rc, 3, "OMNIROUTE_URL wins over the file's url (nothing listens there)")
    check(bad_url in err, "the unreachable URL is named: %r" % err)
    eq(ctl("queues", url=url, token=TOKEN, config=wrong,
           env={"OMNIROUTE_URL": bad_url, "OMNIROUTE_TOKEN": "wrong-token-from-env"})[0], 0,
       "--url and --token come before the environment and the file")
    rc, out, err = ctl("queues", token="wrong-token-from-option", config=good,
                       env={"OMNIROUTE_TOKEN": TOKEN})
    eq(rc, 2, "a wrong --token wins over the environment")
    check("came from --token" in err, "and says so: %r" % err)
    rc, out, err = ctl("queues", url=None, token=None, config=wrong)
    check(rc == 3 and bad_url in err, "the file's url is used when nothing else gives one")
    rc, out, err = ctl("queues", url=None, token=None, config=ctl.empty,
                       env={"OMNIROUTE_URL": url, "OMNIROUTE_TOKEN": ""})
    eq(rc, 2, "no token anywhere (an empty OMNIROUTE_TOKEN is unset): exit 2")
    check("no admin token" in err and ctl.empty in err, "no token: says where to put one: %r" % err)
    eq(ctl("status", url=url, token=None, config=ctl.empty)[0], 0, "status needs no token")

    # the file's permissions and shape
    open_file = conf_file(tmp, "open.conf", "url = %s\ntoken = %s\n" % (url, TOKEN), 0o644)
    rc, out, err = ctl("queues", url=None, token=None, config=open_file)
    eq(rc, 2, "a config file with the token that every user may read is refused")
    check("every user may read" in err and "chmod" in err, "and says what to do: %r" % err)
    group = conf_file(tmp, "group.conf", "url = %s\ntoken = %s\n" % (url, TOKEN), 0o640)
    eq(ctl("queues", url=None, token=None, config=group)[0], 0,
       "a config file for a group of operators (0640) is fine")
    url_only = conf_file(tmp, "urlonly.conf", "url = %s\n" % url, 0o644)
    eq(ctl("queues", url=None, token=TOKEN, config=url_only)[0], 0,
       "a readable config file without a token is fine")
    broken = conf_file(tmp, "broken.conf", "url = %s\nthis is not a setting\ncolour = blue\n"
                       "token =\n" % url)
    rc, out, err = ctl("queues", url=None, token=TOKEN, config=broken)
    eq(rc, 2, "a bad config file: exit 2")
    for line, what in ((2, "key = value"), (3, "unknown key 'colour'"), (4, "no value")):
        check("%s:%d: " % (broken, line) in err and what in err,
              "every bad line is reported with file:line: %d %s" % (line, what))
    rc, out, err = ctl("queues", config=os.path.join(tmp, "nope.conf"))
    check(rc == 2 and "nope.conf" in err, "--config with a missing file: exit 2, named")
    rc, out, err = ctl("queues", config=tmp)
    check(rc == 2 and "not a regular file" in err, "--config with a directory: exit 2")
    rc, out, err = ctl("queues", url="ftp://127.0.0.1/")
    check(rc == 2 and "http://" in err, "a URL that is not http(s): exit 2")
    rc, out, err = ctl("queues", token="bad\ntoken")
    check(rc == 2 and "control characters" in err, "a token with a newline is refused (no header "
          "injection): %r" % err)
    eq(ctl("queues", url=url + "/")[0], 0, "a trailing slash on the URL is fine")


def refused(ctl, d):
    rc, out, err = ctl("queues", token="not-the-token")
    eq(rc, 2, "a wrong token: exit 2")
    check("omnictl: the daemon refused the token (401 unauthorized): check --token / "
          "OMNIROUTE_TOKEN" in err, "a wrong token: the message (%r)" % err)
    eq(out, "", "a wrong token: nothing on stdout")
    rc, j, err = ctl.json("agents", token="not-the-token")
    eq((rc, j and j["error"]["code"]), (2, "unauthorized"),
       "a wrong token with --json: exit 2, the daemon's error document on stdout")
    rc, out, err = ctl("status", url="http://127.0.0.1:%d" % omrtest.free_port())
    eq(rc, 3, "nothing listening: exit 3")
    check("cannot reach the daemon" in err, "nothing listening: says so (%r)" % err)
    rc, out, err = ctl("queues", url="http://no-such-host.invalid:8082")
    eq(rc, 3, "a host that does not resolve: exit 3")
    s, silent = silent_listener()
    t0 = time.time()
    rc, out, err = ctl("queues", "--timeout", "1", url=silent)
    s.close()
    eq(rc, 3, "no answer within --timeout: exit 3")
    check("within 1 s" in err, "the timeout is named: %r" % err)
    check(time.time() - t0 < 30, "the timeout is kept")
    for what, line in (("a Redis", b"-ERR unknown command\r\n"), ("an SSH server", b"SSH-2.0-x\r\n"),
                       ("a server that hangs up", b"")):
        s, url = babbler(line)
        rc, out, err = ctl("queues", url=url)
        s.close()
        eq(rc, 3, "%s where the daemon should be: exit 3" % what)
        check(err.startswith("omnictl: ") and url in err, "%s: says so (%r)" % (what, err))


def odd_answers(ctl):
    srv, base = odd_server()
    for mode, args, want_rc, msg in (
            ("nonjson", ["queues"], 1, "is not a JSON object"),
            ("html413", ["reload"], 1, "413 Request Entity Too Large (text/html, not the daemon's JSON)"),
            ("err500", ["agents"], 1, "500 internal: boom"),
            ("empty500", ["queues"], 1, "500 Internal Server Error with an empty body"),
            ("empty200", ["queues"], 1, "empty) is not a JSON object"),
            ("trailing", ["queues"], 1, "is not a JSON object"),
            ("deep", ["queues"], 1, "is not a JSON object"),
            ("shape", ["queues"], 1, "no list \"queues\""),
            ("shape", ["agents"], 1, "no list \"agents\""),
            ("biglen", ["queues"], 1, "larger than 32 MiB"),
            ("huge", ["queues"], 1, "larger than 32 MiB"),
            ("html404", ["conversations", "show", "c_x"], 1, "404 Not Found (text/html"),
            ("nothing", ["drain"], 1, "404 not_found: no such endpoint"),
            ("forbidden", ["reload"], 2, "the token may not do this: 403 forbidden"),
            ("throttled", ["queues"], 2, "retry in 7 s"),
            ("healthz503", ["status"], 1, "not healthy: degraded"),
            ("slow", ["queues", "--timeout", "1"], 3, "within 1 s")):
        rc, out, err = ctl(*args, url=base + "/" + mode)
        eq(rc, want_rc, "%s answer to %s: exit %d" % (mode, args[0], want_rc))
        check(msg in err, "%s answer: says %r (%r)" % (mode, msg, err[:300]))
        check(err.startswith("omnictl: "), "%s answer: an omnictl message" % mode)
    # --json: what is printed is always one JSON document, or nothing
    for mode in ("nonjson", "html413", "trailing", "empty200", "huge"):
        rc, out, err = ctl("--json", "queues", url=base + "/" + mode)
        check(rc == 1 and out == "", "%s answer with --json: exit 1, nothing on stdout (%r)"
              % (mode, out[:100]))
    rc, j, err = ctl.json("reload", url=base + "/err500")
    eq((rc, j and j["error"]["code"]), (1, "internal"), "--json: an error in JSON is printed")
    rc, j, err = ctl.json("status", url=base + "/healthz503")
    eq((rc, j and j["status"]), (1, "degraded"), "status --json of an unhealthy daemon: exit 1, "
       "its health on stdout")
    # odd rows and fields: printed as well as they go
    rc, out, err = ctl("queues", url=base + "/rows")
    eq(rc, 0, "odd rows: exit 0")
    check("QUEUE" in out and "5" in table(out)[1][0], "odd rows: the object row is printed")
    # terminal escapes from the daemon (a customer's name) never reach the terminal
    for args in (["agents"], ["status"], ["reports", "queues"]):
        rc, out, err = ctl(*args, url=base + "/escape")
        check("\x1b" not in out + err and "\x07" not in out + err and "\u202e" not in out + err
              and "\x9b" not in out + err, "%s: no escape sequence printed" % args[0])
        check("?" in out + err, "%s: unsafe characters shown as '?'" % args[0])
    rc, out, err = ctl("agents", url=base + "/escape")
    eq(len(out.splitlines()), 2, "a newline in a table cell does not break the table")
    rc, out, err = ctl.json("agents", url=base + "/escape")
    eq(out["agents"][0]["name"][:1] if out else None, "\x1b",
       "--json prints the daemon's answer unchanged (JSON escapes it)")
    # CSV as it comes; what omnictl sends
    srv.requests.clear()
    rc, out, err = ctl("reports", "queues", "--from", "2026-11-01", "--to", "2026-11-30", "--csv",
                       url=base + "/csv")
    eq((rc, out), (0, "queue,offered\r\nbilling,3\r\n"), "--csv: the body as it came")
    r = srv.requests[-1]
    eq(r["path"], "/csv/api/v1/reports/queues?from=2026-11-01&to=2026-11-30&format=csv",
       "--csv: the query")
    eq(r["headers"].get("Authorization"), "Bearer " + TOKEN, "the token as a bearer token")
    eq(r["headers"].get("Accept"), "text/csv", "--csv asks for text/csv")
    rc, out, err = ctl("reports", "queues", url=base + "/csv")
    check(rc == 0 and table(out)[1:] == [["QUEUE", "OFFERED"], ["billing", "3"]],
          "a report's list as a table: %r" % out)
    rc, out, err = ctl("reports", "queues", "--csv", url=base + "/nonjson")
    check(rc == 1 and "did not answer CSV" in err, "--csv answered with no CSV: exit 1")
    srv.requests.clear()
    ctl("conversations", "transfer", "c_1 /x", "--queue", "billing", "--note", "héllo \"x\"",
        url=base + "/rec")
    r = srv.requests[-1]
    eq((r["method"], r["path"]), ("POST", "/rec/api/v1/conversations/c_1%20%2Fx/transfer"),
       "transfer: POST to the escaped id")
    eq(json.loads(r["body"]), {"queue": "billing", "note": "héllo \"x\""}, "transfer: the body")
    eq(r["headers"].get("Content-Type"), "application/json", "a JSON body says so")
    ctl("agents", "away", "bob", "--reason", "lunch", url=base + "/rec")
    eq(json.loads(srv.requests[-1]["body"]), {"presence": "away", "reason": "lunch"},
       "agents away: the body")
    ctl("drain", "--off", url=base + "/rec")
    eq(json.loads(srv.requests[-1]["body"]), {"draining": False}, "drain --off: the body")
    srv.shutdown()


def commands(tmp, ctl, d, redis, roles):
    alice = Agent(d, token=ALICE)
    bob = Agent(d, token=BOB)
    anna = Visitor(d, name="Anna")
    c1 = anna.say("Goedemiddag, ik heb een vraag over mijn factuur")["conversation"]
    alice.accept(alice.expect("offer")["offer"])
    tom = Visitor(d, name="Tom \x1b[31m")
    c2 = tom.say("My internet connection keeps dropping")["conversation"]
    bob.accept(bob.expect("offer")["offer"])
    gina = Visitor(d, name="Gina")
    c3 = gina.say("A general question\nover two lines")["conversation"]
    o3 = None
    for ag in (alice, bob):
        try:
            o3 = (ag, ag.expect("offer", timeout=3))
            break
        except TimeoutError:
            pass
    if o3:
        o3[0].accept(o3[1]["offer"])

    # ---- status
    rc, out, err = ctl("status")
    eq(rc, 0, "status: a healthy daemon: exit 0")
    rows = dict(r[:2] for r in table(out) if len(r) >= 2)
    eq((rows.get("status"), rows.get("node"), rows.get("redis")), ("ok", "test", "up"),
       "status: the health")
    rc, j, err = ctl.json("status")
    eq((rc, j and j["status"], j and j["node"]), (0, "ok", "test"), "status --json")

    # ---- queues
    rc, out, err = ctl("queues")
    eq(rc, 0, "queues: exit 0")
    t = table(out)
    eq(t[0][:3], ["QUEUE", "WAITING", "OLDEST"], "queues: the header")
    eq(sorted(first_column(out)), ["billing", "general", "tech"], "queues: one row a queue")
    rc, j, err = ctl.json("queues")
    eq(sorted(q["name"] for q in j["queues"]), ["billing", "general", "tech"], "queues --json")

    # ---- agents
    rc, out, err = ctl("agents")
    eq(rc, 0, "agents: exit 0")
    byid = {r[0]: r for r in table(out)[1:]}
    check({"alice", "bob"} <= set(byid), "agents: alice and bob listed")
    check("available" in byid.get("alice", []), "agents: alice is available")
    rc, j, err = ctl.json("agents")
    ags = {a["id"]: a for a in j["agents"]}
    eq(ags["alice"]["presence"], "available", "agents --json: presence")

    # ---- conversations list and show
    rc, out, err = ctl("conversations", "list")
    eq(rc, 0, "conversations list: exit 0")
    eq(table(out)[0][:3], ["CONVERSATION", "CHANNEL", "STATUS"], "conversations list: the header")
    eq(first_column(out)[:3], [c3, c2, c1], "conversations list: newest first")
    rc, j, err = ctl.json("conversations", "list", "--status", "assigned", "--channel", "webchat")
    check(rc == 0 and {c1, c2} <= {c["id"] for c in j["conversations"]} and
          all(c["status"] == "assigned" for c in j["conversations"]),
          "conversations list --status --channel (--json)")
    rc, out, err = ctl("conversations", "list", "--limit", "1")
    eq(first_column(out), [c3], "conversations list --limit 1: one row")
    check("(more: --before %s)" % c3 in err, "the next page is named on stderr: %r" % err)
    rc, out, err = ctl("conversations", "list", "--limit", "1", "--before", c3)
    eq(first_column(out), [c2], "conversations list --before: the next page")
    rc, out, err = ctl("conversations", "list", "--limit", "600")
    check(rc == 1 and "400 bad_parameter" in err and "limit" in err,
          "a limit the daemon refuses: its 400 named, exit 1 (%r)" % err)
    rc, out, err = ctl("conversations", "list", "--status", "nope nope")
    check(rc == 1 and "400" in err, "a status the daemon refuses: exit 1")

    rc, out, err = ctl("conversations", "show", c1)
    eq(rc, 0, "conversations show: exit 0")
    check("conversation  " + c1 in out and "Anna" in out and
          "Goedemiddag, ik heb een vraag over mijn factuur" in out,
          "conversations show: the conversation, its customer, its messages")
    rc, out, err = ctl("conversations", "show", c3)
    check("A general question\n" in out and "over two lines" in out.split("A general question\n")[1]
          .splitlines()[0], "a message's lines stay lines, indented")
    rc, out, err = ctl("conversations", "show", c2)
    check("\x1b" not in out and "Tom ?[31m" in out, "a visitor's escape sequence is not printed")
    rc, j, err = ctl.json("conversations", "show", c1)
    eq((j["id"], j["messages"][0]["text"]), (c1, "Goedemiddag, ik heb een vraag over mijn factuur"),
       "conversations show --json")
    rc, out, err = ctl("conversations", "show", "c_0000000000000000000000")
    eq(rc, 1, "an unknown conversation: exit 1")
    check("404 not_found: no such conversation" in err, "an unknown conversation: %r" % err)

    acted = ["reload"]  # what the audit trail must show

    # ---- transfer, close
    if present(d, "POST", "/api/v1/conversations/c_0000000000000000000000/transfer",
               {"queue": "general"}):
        rc, out, err = ctl("conversations", "transfer", c1, "--queue", "general", "--note",
                           "asks for a credit note")
        eq((rc, out), (0, "conversation %s transferred to queue general\n" % c1),
           "conversations transfer --queue (%r)" % err)
        wait_for(lambda: d.conversation(c1).get("queue") == "general", what="c1 in general")
        notes = [m["text"] for m in d.conversation(c1)["messages"] if m["direction"] == "note"]
        eq(notes, ["asks for a credit note"], "the note is with the conversation")
        rc, j, err = ctl.json("conversations", "transfer", c2, "--agent", "alice")
        eq((rc, j and j.get("transferred")), (0, True), "conversations transfer --agent --json")
        rc, out, err = ctl("conversations", "transfer", c2, "--queue", "nowhere")
        check(rc == 1 and ("400" in err or "404" in err or "409" in err),
              "a transfer to an unknown queue: the daemon's error, exit 1 (%r)" % err)
    else:
        pending_or_missing("conversations/transfer",
                           *ctl("conversations", "transfer", c1, "--queue", "general")[::2])
    if present(d, "POST", "/api/v1/conversations/c_0000000000000000000000/close"):
        rc, out, err = ctl("conversations", "close", c3)
        eq((rc, out), (0, "conversation %s closed\n" % c3), "conversations close")
        wait_for(lambda: d.conversation(c3)["status"] in ("wrapup", "closed"), what="c3 closed")
        rc, out, err = ctl("conversations", "close", c3)
        eq(rc, 1, "closing a closed conversation: exit 1")
        check("409 conflict" in err, "closing a closed conversation: the conflict named (%r)" % err)
        rc, j, err = ctl.json("conversations", "close", c3)
        eq(j and j["error"]["code"], "conflict", "--json: the conflict as JSON")
        acted.append("conversation.close")
    else:
        pending_or_missing("conversations/close", *ctl("conversations", "close", c3)[::2])

    # ---- agents away / logout (after the transfers: logging out hands an agent's
    # conversations back to their queues)
    if present(d, "POST", "/api/v1/agents/nobody/presence", {"presence": "away"}):
        rc, out, err = ctl("agents", "away", "bob", "--reason", "lunch")
        eq((rc, out), (0, "agent bob: away\n"), "agents away: exit 0, says so")
        p = bob.expect("presence", timeout=5)
        eq(p["status"], "away", "bob's console is told he is away")
        a = {x["id"]: x for x in d.api("/api/v1/agents")["agents"]}["bob"]
        eq((a["presence"], a["presence_reason"]), ("away", "lunch"), "the daemon has bob away")
        rc, j, err = ctl.json("agents", "logout", "alice")
        eq((rc, j and j["presence"]), (0, "offline"), "agents logout --json")
        wait_for(lambda: {x["id"]: x for x in d.api("/api/v1/agents")["agents"]}["alice"]
                 ["presence"] == "offline", what="alice offline")
        rc, out, err = ctl("agents", "away", "nobody")
        check(rc == 1 and "404" in err, "away for an unknown agent: exit 1 (%r)" % err)
        bob.presence("available")  # (alice's console was logged out)
        acted.append("agent.presence")
    else:
        pending_or_missing("agents/presence", *ctl("agents", "away", "bob")[::2])

    # ---- reload
    rc, out, err = ctl("reload")
    eq((rc, out), (0, "configuration reloaded\n"), "reload")
    routing = os.path.join(tmp, "routing.yaml")
    with open(routing) as f:
        good = f.read()
    with open(routing, "w") as f:
        f.write(good.replace("default_queue: general", "default_queue: general\nbogus_key: 1"))
    rc, out, err = ctl("reload")
    eq(rc, 1, "a bad configuration: reload exits 1")
    check("routing.yaml:" in err and "not reloaded" in err,
          "a bad configuration: its file:line errors, and that the old one stays (%r)" % err)
    rc, j, err = ctl.json("reload")
    eq(j and j.get("reloaded"), False, "reload --json: the refusal as JSON")
    with open(routing, "w") as f:
        f.write(good)
    eq(ctl("reload")[0], 0, "reload after the fix")

    # ---- drain
    if present(d, "POST", "/api/v1/drain", {"draining": "neither"}):
        rc, out, err = ctl("drain")
        eq((rc, out), (0, "the daemon is draining\n"), "drain")
        rc, j, err = ctl.json("drain", "--off")
        eq((rc, j and j["draining"]), (0, False), "drain --off --json")
        rc, out, err = ctl("drain", "--off")
        eq(out, "the daemon is not draining\n", "drain --off")
        acted.append("drain")
    else:
        pending_or_missing("drain", *ctl("drain", "--off")[::2])

    # ---- audit
    if present(d, "GET", "/api/v1/audit?limit=1"):
        rc, out, err = ctl("audit")
        eq(rc, 0, "audit: exit 0")
        eq(table(out)[0][:4], ["TIME", "WHO", "ACTION", "TARGET"], "audit: the header")
        rc, j, err = ctl.json("audit", "--limit", "2")
        check(rc == 0 and isinstance(j.get("entries"), list) and len(j["entries"]) == 2,
              "audit --limit 2 --json: two entries")
        actions = [e.get("action") for e in ctl.json("audit", "--limit", "100")[1]["entries"]]
        for act in acted:
            check(act in actions, "audit: %s is in the trail" % act)
        if j.get("next"):
            rc, j2, err = ctl.json("audit", "--limit", "2", "--before", j["next"])
            check(rc == 0 and j2["entries"] and j2["entries"][0]["id"] != j["entries"][0]["id"],
                  "audit --before: the next page")
    else:
        pending_or_missing("audit", *ctl("audit")[::2])

    # ---- reports
    rc, out, err = ctl("reports", "contact-reasons")
    eq(rc, 0, "reports contact-reasons: exit 0")
    check("reasons:" in out and "total: " in out, "reports contact-reasons: lists and totals (%r)"
          % out)
    rc, j, err = ctl.json("reports", "contact-reasons")
    check(rc == 0 and "reasons" in j and "total" in j, "reports contact-reasons --json")
    rc, out, err = ctl("reports", "contact-reasons", "--from", "2026-01-01", "--to", "2026-01-02")
    if rc == 0:
        log("reports contact-reasons --from --to: accepted")
    else:
        pending_or_missing("reports/from-to", rc, err)
    for name in ("queues", "agents"):
        if present(d, "GET", "/api/v1/reports/" + name):
            rc, out, err = ctl("reports", name)
            eq(rc, 0, "reports %s: exit 0" % name)
            today = time.strftime("%Y-%m-%d", time.gmtime())
            week_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 6 * 86400))
            rc, j, err = ctl.json("reports", name, "--from", week_ago, "--to", today)
            check(rc == 0 and isinstance(j, dict), "reports %s --from --to --json (%r)" % (name, err))
        else:
            pending_or_missing("reports/" + name, *ctl("reports", name)[::2])
    st, body = d.http("GET", "/api/v1/reports/contact-reasons?format=csv")
    if st == 200 and isinstance(body, str):
        rc, out, err = ctl("reports", "contact-reasons", "--csv")
        check(rc == 0 and out == body, "reports --csv: the daemon's CSV as it is")
    else:
        rc, out, err = ctl("reports", "contact-reasons", "--csv")
        if "reports/csv" in PENDING:
            log("PENDING: reports --csv: the daemon answers no CSV yet")
            check(rc == 1 and "did not answer CSV" in err, "reports --csv without CSV: exit 1 (%r)"
                  % err)
        else:
            check(False, "the daemon answers reports in CSV")

    # ---- a token without the scope (users with roles)
    if roles:
        rc, out, err = ctl("queues", token=READ_TOKEN)
        eq(rc, 0, "a read-only token reads")
        rc, out, err = ctl("reload", token=READ_TOKEN)
        eq(rc, 2, "a read-only token may not reload: exit 2")
        check("the token may not do this: 403 forbidden" in err, "and says so: %r" % err)
    elif "roles" in PENDING:
        log("PENDING: users with roles and api_tokens: no 403 from this daemon yet")
    else:
        check(False, "the daemon has users with roles and api_tokens")
    return alice, bob


def throttled_and_unhealthy(ctl, d, redis):
    # ten wrong tokens from an address, then it is refused (429) for a while,
    # even the right token: omnictl says when to retry
    for _ in range(12):
        d.http("GET", "/api/v1/queues", token="wrong-guess")
    rc, out, err = ctl("queues")
    eq(rc, 2, "throttled (429): exit 2")
    check("429 too_many_failures" in err and "retry in" in err, "throttled: when to retry (%r)" % err)
    # Redis gone: status says not healthy, exit 1
    redis.stop()
    wait_for(lambda: ctl("status")[0] == 1, timeout=20, what="status: not healthy")
    rc, out, err = ctl("status")
    check("not healthy" in err and "degraded" in out, "status of a degraded daemon: %r %r" % (out, err))
    d.stop()
    rc, out, err = ctl("status")
    eq(rc, 3, "status of a stopped daemon: exit 3")


def test(tmp):
    ctl = Ctl(tmp)
    usage(ctl)
    odd_answers(ctl)

    redis = Redis(tmp)
    agents = ROLES_AGENTS % (password_hash("sara"), token_hash(READ_TOKEN))
    d = Daemon(tmp, redis, agents=agents)
    roles = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True).returncode == 0
    if not roles:
        d = Daemon(tmp, redis, agents=AGENTS)
    d.start()
    ctl.url = "http://127.0.0.1:%d" % d.ports["admin"]

    settings(tmp, ctl, d)
    refused(ctl, d)
    commands(tmp, ctl, d, redis, roles)
    throttled_and_unhealthy(ctl, d, redis)


omrtest.run(test)
