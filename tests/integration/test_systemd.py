"""systemd: the daemon tells a supervisor READY=1 only once it serves (its
listeners accept and Redis is reachable), RELOADING=1 then READY=1 around a
SIGHUP (also a refused one), STOPPING=1 on SIGTERM, in that order and from
its own pid; and contrib/omniroute.service, as make install installs it,
names the paths make install uses, is the unit docs/operations.md shows,
and passes systemd-analyze verify.

Skipped (exit 77) only when the build has no systemd support (config.h
without HAVE_SYSTEMD: configure --without-systemd, or no libsystemd-dev);
a build with it that sends nothing fails."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import omrtest
from omrtest import check, eq, log, Daemon, Redis, Visitor, BUILDDIR, SRCDIR, BASE_ROUTING

UNIT = os.path.join(BUILDDIR, "contrib", "omniroute.service")
UNIT_IN = os.path.join(SRCDIR, "contrib", "omniroute.service.in")


def have_systemd():
    """HAVE_SYSTEMD from the build's config.h (a missing config.h fails)."""
    with open(os.path.join(BUILDDIR, "config.h")) as f:
        return re.search(r"^#define HAVE_SYSTEMD 1$", f.read(), re.M) is not None


class Notify:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET: every
    message with the pid that sent it (SCM_CREDENTIALS)."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.seen = []   # (pid, {key: value}) in order

    def recv(self, timeout):
        """The next message, or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            return None
        pid = None
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", cdata[:12])[0]
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        self.seen.append((pid, fields))
        return pid, fields

    def expect(self, key, timeout=30):
        """Wait for a message carrying key=1; the messages before it are kept
        in self.seen too."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.recv(max(0.05, deadline - time.time()))
            if m and m[1].get(key) == "1":
                return m
        raise TimeoutError("no %s=1 on NOTIFY_SOCKET within %d s: is the daemon built with "
                           "libsystemd (configure: systemd: yes)?" % (key, timeout))

    def states(self):
        return [k for _, f in self.seen for k in ("READY", "RELOADING", "STOPPING")
                if f.get(k) == "1"]


class NotifiedDaemon(Daemon):
    def __init__(self, tmp, redis, notify_path, **kw):
        super().__init__(tmp, redis, **kw)
        self.notify_path = notify_path

    def popen_extra(self):
        return {"env": dict(os.environ, NOTIFY_SOCKET=self.notify_path)}


def serves(d):
    """What READY=1 promises: every listener accepts, and the daemon works."""
    st, body = d.http("GET", "/healthz", auth=False)
    eq((st, body.get("status")), (200, "ok"), "at READY=1: /healthz answers ok")
    v = Visitor(d)   # the edge (the last listener opened): hello, welcome
    check(bool(v.id), "at READY=1: the edge takes a web chat visitor")
    eq(v.say("hello")["type"], "ack", "at READY=1: a message is stored")
    v.close()
    s = socket.create_connection(("127.0.0.1", d.ports["webhooks"]), timeout=5)
    s.close()
    check(True, "at READY=1: the webhook listener accepts")


def test_notify(tmp):
    notify = Notify(os.path.join(tmp, "notify.sock"))
    redis = Redis(tmp)
    redis.stop()   # the daemon starts before Redis: not ready until it is up
    d = NotifiedDaemon(tmp, redis, notify.path)
    d.start(wait=False)
    omrtest.wait_for(lambda: d.http("GET", "/healthz", auth=False)[1]["status"] == "starting",
                     what="the daemon waiting for Redis")
    eq(notify.recv(1.0 * omrtest.SLOW), None, "no notification while Redis is unreachable")

    redis.start()
    pid, ready = notify.expect("READY")
    serves(d)
    eq(pid, d.proc.pid, "READY=1 comes from the daemon's own pid (NotifyAccess=main)")
    eq(ready.get("STATUS"), "running", "with a STATUS line")

    d.send_signal(signal.SIGHUP)
    notify.expect("RELOADING")
    notify.expect("READY")
    check(d.alive(), "alive after the reload")

    # a refused reload tells the same: the old configuration serves on
    with open(os.path.join(tmp, "routing.yaml"), "w") as f:
        f.write(BASE_ROUTING.replace("billing: 1", "biling: 1"))
    d.send_signal(signal.SIGHUP)
    notify.expect("RELOADING")
    notify.expect("READY")
    omrtest.wait_for(lambda: "keeping the running configuration" in d.log_text(),
                     what="reload refused")

    d.send_signal(signal.SIGTERM)
    notify.expect("STOPPING")
    eq(d.stop(), 0, "clean stop after SIGTERM")
    while notify.recv(0.2):
        pass
    eq(notify.states(), ["READY", "RELOADING", "READY", "RELOADING", "READY", "STOPPING"],
       "the notifications, in order, and nothing else")
    eq({p for p, _ in notify.seen}, {pid}, "all from the daemon")


# ---------------------------------------------------------------- the unit

def make_vars():
    """The build's installation directories, as make expands them."""
    raw = {}
    with open(os.path.join(BUILDDIR, "Makefile")) as f:
        for line in f:
            m = re.match(r"^([a-z_]+) = (.*)$", line.rstrip("\n"))
            if m:
                raw[m.group(1)] = m.group(2)

    def expand(v, depth=0):
        return re.sub(r"\$[{(]([a-z_]+)[})]", lambda m: expand(raw.get(m.group(1), ""), depth + 1),
                      v) if depth < 20 else v
    return {k: expand(raw[k]) for k in ("sbindir", "sysconfdir", "localstatedir")}


def unit_lines(text):
    return dict(l.split("=", 1) for l in text.split("\n") if re.match(r"^[A-Za-z]+=", l))


def test_unit(tmp):
    with open(UNIT) as f:
        text = f.read()
    u = unit_lines(text)
    v = make_vars()
    conf = "%s/omniroute/omniroute.yaml" % v["sysconfdir"]
    check("@" not in text, "every placeholder of the template is replaced")
    eq(u.get("Type"), "notify", "Type=notify (the daemon is built with libsystemd)")
    eq(u.get("ExecStart"), "%s/omniroute -c %s" % (v["sbindir"], conf),
       "ExecStart: the installed daemon and configuration")
    eq(u.get("ExecStartPre"), "%s/omniroute -t -c %s" % (v["sbindir"], conf),
       "ExecStartPre checks the configuration first")
    eq(u.get("ExecReload"), "/bin/kill -HUP $MAINPID", "reload by SIGHUP")
    eq(u.get("ReadWritePaths"), "%s/lib/omniroute" % v["localstatedir"],
       "the installed configuration's state_dir is writable")
    eq("StateDirectory" in u, v["localstatedir"] == "/var",
       "StateDirectory= only where the state directory is /var/lib/omniroute")
    for k, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                    ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("User", "omniroute")):
        eq(u.get(k), want, "hardening: %s" % k)

    # docs/operations.md shows the unit a Debian-style installation gets
    with open(UNIT_IN) as f:
        template = f.read()
    debian = (template.replace("@sbindir@", "/usr/sbin").replace("@sysconfdir@", "/etc")
              .replace("@statedir@", "/var/lib/omniroute").replace("@unittype@", "notify"))
    with open(os.path.join(SRCDIR, "docs", "operations.md")) as f:
        blocks = re.findall(r"```ini\n(.*?)```", f.read(), re.S)
    check(debian in blocks, "docs/operations.md shows contrib/omniroute.service as installed "
          "with --prefix=/usr --sysconfdir=/etc --localstatedir=/var")

    analyze = shutil.which("systemd-analyze")
    if not analyze:
        log("systemd-analyze not found: verify not run")
        return
    # verify wants the binaries it names to exist: the build's daemon here;
    # the man page is not installed by the build
    path = os.path.join(tmp, "omniroute.service")
    with open(path, "w") as f:
        f.write(text.replace("%s/omniroute " % v["sbindir"], "%s/omniroute " % BUILDDIR))
    r = subprocess.run([analyze, "verify", "--man=no", path], capture_output=True, text=True)
    eq((r.returncode, (r.stdout + r.stderr).strip()), (0, ""),
       "systemd-analyze verify: no error, no warning")


def test(tmp):
    test_unit(tmp)
    test_notify(tmp)


if __name__ == "__main__":
    try:
        built_with = have_systemd()
    except OSError as e:
        sys.stderr.write("# FAIL: cannot read the build's config.h: %s\n" % e)
        sys.exit(1)
    if not built_with:
        sys.stderr.write("# SKIP: built without systemd support (config.h has no HAVE_SYSTEMD: "
                         "apt-get install libsystemd-dev, then configure --with-systemd)\n")
        sys.exit(77)
    omrtest.run(test)
