"""omrtest: the integration test harness.

Starts real parts: a private redis-server on a unix socket in a temporary
directory, the real omniroute daemon with a generated configuration on free
ports, and talks to it with a small websocket client and HTTP. Only the
Python standard library is used, so that the tests run on a bare Debian.

Knobs (environment):
  OMR_BUILDDIR, OMR_SRCDIR   set by `make check`
  OMR_KEEP_TMP=1             keep the temporary directory for debugging
  OMR_TEST_VERBOSE=1         copy the daemon's log to stderr at the end
  OMR_VALGRIND=1             run the daemon under valgrind (slow)
"""

import base64
import calendar
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

BUILDDIR = os.environ.get("OMR_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SRCDIR = os.environ.get("OMR_SRCDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
REDIS_SERVER = os.environ.get("OMR_REDIS_SERVER") or "redis-server"
DAEMON = os.path.join(BUILDDIR, "omniroute")


def _sanitized():
    try:
        with open(os.path.join(BUILDDIR, "Makefile")) as f:
            return "-fsanitize=address" in f.read()
    except OSError:
        return False


# A daemon built with ASan/UBSan, or run under valgrind, is a few times
# slower: the few latency bounds a test checks (an issue's "within 2 s")
# are this many times wider there.
SANITIZED = _sanitized()
SLOW = 3 if SANITIZED or os.environ.get("OMR_VALGRIND") else 1

# TAP-ish output: automake's default driver only looks at the exit status.
_failures = []


def log(msg):
    sys.stderr.write("# %s\n" % msg)
    sys.stderr.flush()


def check(cond, what):
    if cond:
        log("ok: " + what)
    else:
        log("FAIL: " + what)
        _failures.append(what)
    return cond


def eq(got, want, what):
    return check(got == want, "%s (got %r, want %r)" % (what, got, want))


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # the thing may not be up yet
            last = e
        time.sleep(interval)
    raise TimeoutError("timed out waiting for %s (last: %r)" % (what, last))


def rss_kb(pid):
    """Resident set size of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """CPU time (user + system, all threads) a process has used, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# the names the HTTP tests use
proc_cpu_s = cpu_s
proc_rss_kb = rss_kb


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- redis

class Redis:
    """A private redis-server on a unix socket, and a tiny RESP client."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.sock = os.path.join(self.dir, "redis.sock")
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", "0", "--unixsocket", self.sock, "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _procs.append(self.proc)
        wait_for(lambda: self.cmd("PING") == "PONG", what="redis-server")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def url(self):
        return "unix:" + self.sock

    def cmd(self, *args):
        return self.pipeline([args])[0]

    def pipeline(self, commands):
        """Send every command, then read every reply (in order); an error
        reply raises."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(60)
        s.connect(self.sock)
        s.sendall(b"".join(_resp_encode(args) for args in commands))
        f = s.makefile("rb")
        try:
            return [_resp_read(f) for _ in commands]
        finally:
            f.close()
            s.close()


def _resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("redis closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode("utf-8", "replace")
    if t == b"*":
        n = int(rest)
        if n < 0:
            return None
        return [_resp_read(f) for _ in range(n)]
    raise RuntimeError("bad RESP: %r" % line)


def resp(port, *args, timeout=10):
    """One command to a Redis (or Sentinel) on a TCP port of 127.0.0.1."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(_resp_encode(args))
        f = s.makefile("rb")
        try:
            return _resp_read(f)
        finally:
            f.close()
    finally:
        s.close()


class RedisTCP:
    """A redis-server on a free TCP port of 127.0.0.1 (Sentinel watches TCP
    addresses), optionally a replica of another; AOF on, every second."""

    def __init__(self, tmp, name, replica_of=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.replica_of = replica_of
        self.proc = None
        self.start()

    def start(self):
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--appendonly", "yes", "--appendfsync", "everysec",
                "--save", "", "--logfile", os.path.join(self.dir, "redis.log")]
        if self.replica_of:
            args += ["--replicaof", "127.0.0.1", str(self.replica_of.port)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _procs.append(self.proc)
        wait_for(lambda: self.ping(), what="redis-server on port %d" % self.port)

    def ping(self):
        try:
            return self.cmd("PING") == "PONG"
        except OSError:
            return False

    def cmd(self, *args):
        return resp(self.port, *args)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None


class Sentinels:
    """A primary, `replicas` replicas and three redis-sentinel processes
    watching it as `master` (quorum 2, down after 1 s). Daemon(tmp,
    sentinels) points omniroute at them (redis.sentinels)."""

    def __init__(self, tmp, replicas=1, master="omr", durability=None):
        self.tmp = tmp
        self.master = master
        self.durability = durability
        self.servers = [RedisTCP(tmp, "primary")]
        for i in range(replicas):
            self.servers.append(RedisTCP(tmp, "replica%d" % i, replica_of=self.servers[0]))
        wait_for(lambda: all(r.cmd("INFO", "replication").find("master_link_status:up") >= 0
                             for r in self.servers[1:]), what="replicas in sync")
        self.ports = []
        self.procs = []
        for i in range(3):
            port = free_port()
            conf = os.path.join(tmp, "sentinel%d.conf" % i)
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                        "sentinel monitor %s 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds %s 1000\n"
                        "sentinel failover-timeout %s 10000\n"
                        "sentinel parallel-syncs %s 1\n"
                        % (port, tmp, master, self.servers[0].port, master, master, master))
            self.procs.append(None)
            self.ports.append(port)
            self.start_sentinel(i)
        # every sentinel has found the replicas and the other sentinels
        wait_for(lambda: all(self.sentinel_ok(p) for p in self.ports), timeout=30,
                 what="sentinels ready")

    def start_sentinel(self, i):
        """Start sentinel i from its configuration file (which it rewrites
        as it learns: a restarted one knows what it knew when it stopped)."""
        p = subprocess.Popen(["redis-sentinel", os.path.join(self.tmp, "sentinel%d.conf" % i),
                              "--logfile", os.path.join(self.tmp, "sentinel%d.log" % i)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _procs.append(p)
        self.procs[i] = p
        wait_for(lambda: self.answers(self.ports[i]), what="sentinel %d listening" % i)

    def kill_sentinel(self, i):
        self.procs[i].kill()
        self.procs[i].wait()

    def answers(self, port):
        try:
            resp(port, "PING")
            return True
        except (OSError, RuntimeError):
            return False

    def sentinel_ok(self, port):
        try:
            m = resp(port, "SENTINEL", "MASTER", self.master)
        except (OSError, RuntimeError):
            return False
        d = dict(zip(m[0::2], m[1::2]))
        return int(d.get("num-slaves", 0)) >= len(self.servers) - 1 and \
            int(d.get("num-other-sentinels", 0)) >= 2

    def primary_port(self):
        """The primary's port as the sentinels say."""
        for port in self.ports:
            try:
                return int(resp(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master)[1])
            except (OSError, RuntimeError, TypeError):
                continue
        return None

    def primary(self):
        port = self.primary_port()
        return [r for r in self.servers if r.port == port][0]

    def conf(self):
        out = "  sentinels: [%s]\n  master: %s\n" % (
            ", ".join("127.0.0.1:%d" % p for p in self.ports), self.master)
        if self.durability:
            out += "  durability: {replicas: %d, timeout: %s}\n" % self.durability
        return out


def cluster_slot(tag):
    """The Redis Cluster slot of a hash tag (CRC16 XMODEM mod 16384)."""
    crc = 0
    for ch in tag.encode():
        crc ^= ch << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xffff if crc & 0x8000 else (crc << 1) & 0xffff
    return crc % 16384


class Cluster:
    """A Redis Cluster of `primaries` primaries with one replica each,
    made by redis-cli --cluster create (slots split evenly, in order).
    Daemon(tmp, cluster.site(NAME)) runs a site on it."""

    def __init__(self, tmp, primaries=3):
        self.servers = []
        for i in range(primaries * 2):
            d = os.path.join(tmp, "cluster%d" % i)
            os.makedirs(d, exist_ok=True)
            port = self._free_pair()
            p = subprocess.Popen(
                [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", "2000", "--appendonly", "yes",
                 "--appendfsync", "everysec", "--save", "",
                 "--logfile", os.path.join(d, "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _procs.append(p)
            self.servers.append({"port": port, "proc": p})
            wait_for(lambda: self._ping(port), what="cluster node %d" % port)
        subprocess.run(["redis-cli", "--cluster", "create"] +
                       ["127.0.0.1:%d" % s["port"] for s in self.servers] +
                       ["--cluster-replicas", "1", "--cluster-yes"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: all("cluster_state:ok" in (resp(s["port"], "CLUSTER", "INFO") or "")
                             for s in self.servers), timeout=30, what="cluster ok")

    @staticmethod
    def _free_pair():
        """A free port whose cluster bus port (+10000) is free too."""
        for _ in range(200):
            port = free_port()
            if port > 55000:
                continue
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port + 10000))
                return port
            except OSError:
                continue
            finally:
                s.close()
        raise RuntimeError("no free port pair for a cluster node")

    @staticmethod
    def _ping(port):
        try:
            return resp(port, "PING") == "PONG"
        except OSError:
            return False

    def owner(self, slot):
        """The port of the primary that serves slot now."""
        for s in self.servers:
            try:
                for r in resp(s["port"], "CLUSTER", "SLOTS"):
                    if r[0] <= slot <= r[1]:
                        return int(r[2][1])
            except (OSError, RuntimeError):
                continue
        return None

    def primaries(self):
        """Ports of the primaries, in slot order."""
        for s in self.servers:
            try:
                ranges = sorted(resp(s["port"], "CLUSTER", "SLOTS"))
                return [int(r[2][1]) for r in ranges]
            except (OSError, RuntimeError):
                continue
        return []

    def site(self, name):
        cl = self

        class Site:
            def conf(self):
                return "  cluster: [%s]\n  site: %s\n" % (
                    ", ".join("127.0.0.1:%d" % s["port"] for s in cl.servers[:3]), name)
        return Site()


# ---------------------------------------------------------------- dovecot

DOVECOT = os.environ.get("OMR_DOVECOT") or shutil.which("dovecot") or "/usr/sbin/dovecot"


class Dovecot:
    """A private Dovecot IMAP server (Debian's dovecot-imapd) on a free
    port of 127.0.0.1: one user, plain login, Maildir under tmp. As root it
    runs mail access as the dovecot user; otherwise as the caller."""

    def __init__(self, tmp, user="support", password="imap-secret-1"):
        import pwd
        self.dir = os.path.join(tmp, "dovecot")
        self.port = free_port()
        self.user, self.password = user, password
        for sub in ("run", "state", "home"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        me = pwd.getpwuid(os.getuid()).pw_name
        mail_user = "dovecot" if os.getuid() == 0 else me
        login_user = "dovenull" if os.getuid() == 0 else me
        if os.getuid() == 0:
            pw = pwd.getpwnam(mail_user)
            os.chown(os.path.join(self.dir, "home"), pw.pw_uid, pw.pw_gid)
            os.chmod(tmp, 0o755)
            os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s::::::\n" % (user, password))
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("""base_dir = %(d)s/run
state_dir = %(d)s/state
log_path = %(d)s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %(mu)s
default_internal_group = %(mu)s
default_login_user = %(lu)s
first_valid_uid = 1
service imap-login {
  chroot =
  inet_listener imap {
    port = %(port)d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(d)s/passwd
}
userdb {
  driver = static
  args = uid=%(mu)s gid=%(mu)s home=%(d)s/home/%%u
}
mail_location = maildir:~/Maildir
""" % {"d": self.dir, "mu": mail_user, "lu": login_user, "port": self.port})
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _procs.append(self.proc)
        wait_for(lambda: self.imap() is not None, what="dovecot")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    def url(self, mailbox="INBOX"):
        return "imap://127.0.0.1:%d/%s" % (self.port, mailbox)

    def imap(self):
        import imaplib
        c = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        c.login(self.user, self.password)
        return c

    def append(self, data, mailbox="INBOX"):
        """Put a message in the mailbox (as an MTA's delivery would); its UID."""
        c = self.imap()
        try:
            typ, resp = c.append('"%s"' % mailbox, None, None, data)
            if typ != "OK":
                raise RuntimeError("APPEND: %r" % resp)
            # [APPENDUID <validity> <uid>]
            return int(resp[0].split(b"APPENDUID ")[1].split(b" ")[1].rstrip(b"]"))
        finally:
            c.logout()

    def seen(self, uid, mailbox="INBOX"):
        c = self.imap()
        try:
            c.select('"%s"' % mailbox, readonly=True)
            typ, resp = c.uid("FETCH", str(uid), "(FLAGS)")
            return b"\\Seen" in resp[0]
        finally:
            c.logout()


SLAPD = os.environ.get("OMR_SLAPD") or shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"


class Slapd:
    """A private OpenLDAP server (Debian's slapd) on free ports of
    127.0.0.1: ldap:// (with StartTLS) and ldaps://, a certificate for
    127.0.0.1 signed by a test CA (ca_file), the suffix dc=example,dc=com
    loaded from `ldif` before it starts. Users' passwords may be read by
    nobody: a search needs a bound user (the service account), a password
    is only good for a bind. Its log (stats: every connection, bind and
    search) is self.logfile."""

    SUFFIX = "dc=example,dc=com"

    def __init__(self, tmp, ldif):
        self.dir = os.path.join(tmp, "slapd")
        os.makedirs(os.path.join(self.dir, "db"), exist_ok=True)
        self.port, self.tls_port = free_port(), free_port()
        self.logfile = os.path.join(self.dir, "slapd.log")
        self._certs()
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write("""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %(d)s/slapd.pid
TLSCACertificateFile %(d)s/ca.pem
TLSCertificateFile %(d)s/server.pem
TLSCertificateKeyFile %(d)s/server.key
database mdb
suffix "%(s)s"
rootdn "cn=root,%(s)s"
rootpw root-secret-not-used
directory %(d)s/db
access to attrs=userPassword by anonymous auth by self auth by * none
access to * by users read by * none
""" % {"d": self.dir, "s": self.SUFFIX})
        path = os.path.join(self.dir, "data.ldif")
        with open(path, "w") as f:
            f.write(ldif)
        subprocess.run([SLAPADD, "-q", "-f", self.conf, "-l", path], check=True,
                       capture_output=True)
        self.proc = None
        self.start()

    def _certs(self):
        d = self.dir
        def ossl(*args):
            subprocess.run(["openssl"] + list(args), check=True, capture_output=True)
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=omniroute test CA", "-keyout", d + "/ca.key", "-out", d + "/ca.pem")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", d + "/server.key", "-out", d + "/server.csr")
        with open(d + "/ext.cnf", "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        ossl("x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey",
             d + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", d + "/ext.cnf",
             "-out", d + "/server.pem")
        os.chmod(d + "/server.key", 0o644)
        self.ca_file = d + "/ca.pem"

    def url(self, tls=False):
        return ("ldaps://127.0.0.1:%d" % self.tls_port) if tls else \
            ("ldap://127.0.0.1:%d" % self.port)

    def start(self):
        self.logf = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            [SLAPD, "-f", self.conf, "-h", "%s/ %s/" % (self.url(), self.url(True)),
             "-d", "stats"], stdout=self.logf, stderr=subprocess.STDOUT)
        _procs.append(self.proc)
        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return False
        wait_for(up, what="slapd")

    def stop(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def log_text(self):
        with open(self.logfile, errors="replace") as f:
            return f.read()


# ---------------------------------------------------------------- daemon

BASE_ROUTING = """
skills:
  - name: billing
  - name: tech
  - name: general
default_queue: general
queues:
  - name: general
  - name: billing
    skills: { billing: 1 }
  - name: tech
    skills: { tech: 1 }
rules:
  - name: dutch billing
    when: 'text:lower():find("factuur")'
    queue: billing
    language: nl
  - name: technical
    when: 'text:lower():find("router") or text:lower():find("internet")'
    queue: tech
    language: en
offers: {timeout: 3s, max_missed: 2, reject_cooldown: 1m}
sessions: {grace: 2s}
reasons: [invoice unclear, connection down, other]
outcomes: [resolved, follow_up, escalated]
"""

BASE_AGENTS = """
agents:
  - id: alice
    name: Alice
    password: "$pbkdf2-sha256$210000$O2gkhce8rYOo4nNOza+ewA$hFBOA6FACldICgACvbs97f/wc3OM1mEvnHCuvq4wQG4"
    skills: { billing: 4, general: 3 }
    languages: [nl, en]
    capacity: { webchat: 3 }
  - id: bob
    name: Bob
    password: "$pbkdf2-sha256$210000$6Nl0k5BqhK2Q4klpuHtx3A$5P3v/6lrMxeG+21+LgxxuhW+2XYw99mngmeCTitcU4M"
    skills: { tech: 4, general: 3 }
    languages: [en]
    capacity: { webchat: 3 }
"""

# One general queue, no queue-position messages, quick offers: what the
# channel tests route by (add sections after it).
ONE_QUEUE_ROUTING = """
skills: [general]
default_queue: general
queues:
  - name: general
    status_interval: 0
offers: {timeout: 10s}
reasons: [other]
outcomes: [resolved]
"""

TOKEN = "test-admin-token"

# Tests open many connections from one address quickly; the per-address
# limits are tested on their own (pass admission="admission: {...}").
TEST_ADMISSION = """admission:
  chat: {rate_per_ip: 1000, burst_per_ip: 1000}
  login: {rate_per_ip: 1000, burst_per_ip: 1000}
  edge: {max_per_ip: 0, rate_per_ip: 0}
  admin: {max_per_ip: 0, rate_per_ip: 0}
"""


def email_plugin(lmtp_port, smtp_port=9, **config):
    """The e-mail channel's entry of omniroute.yaml: LMTP on lmtp_port, SMTP
    to 127.0.0.1:smtp_port without STARTTLS (9: nothing listens, for tests
    that send nothing), more config keys as YAML flow values."""
    extra = "".join("      %s: %s\n" % (k, v) for k, v in config.items())
    return """  - name: email
    path: %s/plugins/email/.libs/email.so
    config:
      address: support@example.com
      domain: mail.example.com
      lmtp_port: %d
      smtp_url: smtp://127.0.0.1:%d
      smtp_starttls: false
%s""" % (BUILDDIR, lmtp_port, smtp_port, extra)


def lmtp_deliver(port, data, sender, rcpt="support@example.com"):
    """One mail (bytes) to the daemon's LMTP on port: its recipient's
    (code, text)."""
    c = smtplib.LMTP("127.0.0.1", port)
    try:
        c.ehlo_or_helo_if_needed()
        c.mail(sender)
        c.rcpt(rcpt)
        c.putcmd("data")
        code, text = c.getreply()
        if code != 354:
            return code, text
        c.send(smtplib.quotedata(data.decode("latin-1")).encode("latin-1") + b".\r\n")
        return c.getreply()
    finally:
        c.quit()


def admission(**sections):
    """TEST_ADMISSION with sections replaced or added, each a YAML flow
    value: admission(edge="{max_per_ip: 5}", edge_queue="65536")."""
    lines = TEST_ADMISSION.rstrip("\n").split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        key = line.strip().split(":")[0]
        if key not in sections:
            out.append(line)
    for k, v in sections.items():
        out.append("  %s: %s" % (k, v))
    return "\n".join(out) + "\n"


def lua_source(script):
    """src/lua/SCRIPT.lua as Redis runs it: with the prelude and libraries
    gen.awk puts before it."""
    path = os.path.join(SRCDIR, "src", "lua", script + ".lua")
    return subprocess.run(["awk", "-v", "MODE=lua", "-f",
                           os.path.join(SRCDIR, "src", "lua", "gen.awk"), path],
                          check=True, capture_output=True, text=True).stdout


def lua_keys_argv(script, prefix, **args):
    """KEYS and ARGV of src/lua/SCRIPT.lua from its header: args by name
    (bool as True/False, json as a Python value)."""
    keys, argv, timed = [], [prefix], False
    with open(os.path.join(SRCDIR, "src", "lua", script + ".lua")) as f:
        for line in f:
            if not line.startswith("--"):
                break
            w = line.split()
            if len(w) >= 4 and w[1] == "@key":
                keys.append(prefix + w[3].format(**args))
            elif len(w) >= 4 and w[1] == "@arg":
                v, t = args.get(w[2]), w[3]
                if t == "bool":
                    v = "1" if v else "0"
                elif t == "json":
                    v = json.dumps(v)
                elif t == "int":
                    v = str(int(v or 0))
                else:
                    v = "" if v is None else str(v)
                argv.append(v)
            elif len(w) >= 2 and w[1] == "@time":
                timed = True
    if timed:
        argv.append(str(int(args.get("clock", 0))))  # the clock offset (gen.awk)
    return keys, argv


def lua_call(redis, script, prefix, rest=(), **args):
    """Run the daemon's script src/lua/SCRIPT.lua as the daemon does."""
    keys, argv = lua_keys_argv(script, prefix, **args)
    return redis.cmd("EVAL", lua_source(script), str(len(keys)), *keys, *argv, *rest)


def password_hash(password, iterations=1000):
    """An agent's password as agents.yaml keeps it (omniroute --hash-password);
    few iterations, to keep tests quick."""
    out = subprocess.run([DAEMON, "--hash-password", "--iterations", str(iterations)],
                         input=password + "\n", capture_output=True, text=True, check=True)
    return out.stdout.strip()


def token_hash(token):
    """An agent's login token as agents.yaml keeps it (omniroute --hash-token)."""
    return "$sha256$" + hashlib.sha256(token.encode()).hexdigest()


def quick_agents():
    """BASE_AGENTS with cheap password hashes (1000 rounds; the passwords
    stay alice and bob), so that log-ins are quick under valgrind."""
    text = BASE_AGENTS
    for who in ("alice", "bob"):
        text = re.sub(r'(- id: %s\n(?:    .*\n)*?    password: )"[^"]*"' % who,
                      lambda m, w=who: '%s"%s"' % (m.group(1), password_hash(w)), text)
    return text


def agent_token(i):
    """The login token of agent<i> in token_agents()."""
    return "token-%d-0123456789abcdef" % i


def token_agents(n, capacity):
    """agents.yaml entries for agent0..agent<n-1>, each general: 3 and
    `capacity` web chats, logging in with agent_token(i)."""
    return "".join("  - id: agent%d\n    token: \"%s\"\n"
                   "    skills: { general: 3 }\n    capacity: { webchat: %d }\n"
                   % (i, token_hash(agent_token(i)), capacity) for i in range(n))


DAEMON_CONF = """
node: {id: %(node)s%(node_extra)s}
log: {level: %(level)s}
paths:
  state_dir: %(tmp)s/state
  data_dir: %(src)s/src
  console_dir: %(src)s/src/console
redis:
%(redis)s
edge:
  listen: {address: 127.0.0.1, port: %(edge)d}
  max_message: 65536
%(edge_extra)swebhooks:
  listen: {address: 127.0.0.1, port: %(webhooks)d}
  max_body: 65536
%(webhooks_extra)sadmin:
  listen: {address: 127.0.0.1, port: %(admin)d}
  token: %(token)s
  max_body: 65536
%(admin_extra)s%(conf_extra)s
%(admission)s
plugins:
  - name: webchat
    path: %(build)s/plugins/webchat/.libs/webchat.so
    config:
      demo: true
      demo_dir: %(src)s/plugins/webchat/demo
      widget_dir: %(src)s/plugins/webchat/widget
      visitor_secret: test-visitor-secret-0123456789
%(webchat_extra)s
%(extra_plugins)s
routing: routing.yaml
agents: agents.yaml
"""


class DaemonExited(RuntimeError):
    pass


class Daemon:
    """The real omniroute binary with a generated configuration."""

    def __init__(self, tmp, redis=None, embedded=False, extra_plugins="", webchat_extra="",
                 routing=BASE_ROUTING, agents=BASE_AGENTS, node="test", log_level="debug",
                 ports=None, conf_extra="", admission=None, edge_extra="", node_extra="",
                 webhooks_extra="", admin_extra="", client_tls=None, test_clock=False):
        """test_clock: the daemon's clock may be moved (advance_clock)"""
        self.tmp = tmp
        # an ssl.SSLContext: http() and ws() speak https:// and wss://
        self.client_tls = client_tls
        self.redis = redis
        # ports picked here may be taken by another program before the
        # daemon binds them: start() then tries again on new ones
        self.auto_ports = ports is None
        self.ports = ports or self.new_ports()
        self.conf = os.path.join(tmp, "omniroute-%s.yaml" % node)
        self.logfile = os.path.join(tmp, "daemon-%s.log" % node)
        self.proc = None
        self.node = node
        if embedded:
            redis_conf = "  embedded: true\n  server: %s\n" % REDIS_SERVER
        elif hasattr(redis, "conf"):
            redis_conf = redis.conf()   # Sentinels: the redis: section
        else:
            redis_conf = "  url: %s\n" % redis.url()
        with open(os.path.join(tmp, "routing.yaml"), "w") as f:
            f.write(routing)
        with open(os.path.join(tmp, "agents.yaml"), "w") as f:
            f.write(agents)
        self.params = dict(node=node, level=log_level, tmp=tmp, src=SRCDIR, build=BUILDDIR,
                           redis=redis_conf, token=TOKEN, extra_plugins=extra_plugins,
                           webchat_extra=webchat_extra, conf_extra=conf_extra,
                           edge_extra=edge_extra, node_extra=node_extra,
                           webhooks_extra=webhooks_extra,
                           admin_extra=admin_extra + ("  test_clock: true\n" if test_clock else ""),
                           admission=TEST_ADMISSION if admission is None else admission)
        self.write_conf()

    @staticmethod
    def new_ports():
        return {"edge": free_port(), "webhooks": free_port(), "admin": free_port()}

    def write_conf(self):
        self.text = DAEMON_CONF % dict(self.params, **self.ports)
        with open(self.conf, "w") as f:
            f.write(self.text)

    def start(self, wait=True):
        for attempt in range(3):
            try:
                return self.start_once(wait)
            except DaemonExited:
                with open(self.logfile, "rb") as f:
                    f.seek(self.log_at)
                    taken = b"cannot listen on" in f.read()
                if not (self.auto_ports and taken):
                    raise
                log("a port was taken before the daemon bound it: new ports")
                self.ports = self.new_ports()
                self.write_conf()
        return self.start_once(wait)

    def start_once(self, wait):
        self.log_at = os.path.getsize(self.logfile) if os.path.exists(self.logfile) else 0
        cmd = [DAEMON, "-c", self.conf]
        if os.environ.get("OMR_VALGRIND"):
            cmd = ["valgrind", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite", "--log-file=%s.vg.%%p" % self.logfile] + cmd
        self.logf = open(self.logfile, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT,
                                     **self.popen_extra())
        _procs.append(self.proc)
        deadline = time.time() + 30
        while wait:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                self.logf.close()
                raise DaemonExited("daemon exited with %s while starting" % rc)
            try:
                if self.healthy():
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise TimeoutError("daemon not healthy after 30 s")
            time.sleep(0.02)
        return self

    def popen_extra(self):
        """More arguments for the daemon's subprocess.Popen (a subclass may
        set limits with preexec_fn)."""
        return {}

    def healthy(self):
        if self.proc.poll() is not None:
            raise RuntimeError("daemon exited with %s" % self.proc.returncode)
        st, body = self.http("GET", "/healthz", auth=False)
        return st == 200

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self.logf.close()

    def log_text(self):
        with open(self.logfile, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def logged_at(self, text):
        """The time (s since the epoch) of the first log line holding
        text, or None."""
        for ln in self.log_text().splitlines():
            if text in ln:
                stamp = ln.split(" ", 1)[0]
                return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")) + \
                    float("0" + stamp[19:-1])
        return None

    # HTTP
    def http(self, method, path, body=None, auth=True, headers=None, port=None, token=TOKEN):
        if self.client_tls:
            c = http.client.HTTPSConnection("127.0.0.1", port or self.ports["admin"], timeout=10,
                                            context=self.client_tls)
        else:
            c = http.client.HTTPConnection("127.0.0.1", port or self.ports["admin"], timeout=10)
        h = dict(headers or {})
        if auth:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data) if data else None
        except ValueError:
            return r.status, data.decode("utf-8", "replace")

    def metric(self, name):
        """omniroute_NAME from /metrics (a metric without labels), as int."""
        st, text = self.http("GET", "/metrics")
        m = re.search(r"^omniroute_%s (\d+)$" % re.escape(name), text, re.M)
        if not m:
            raise AssertionError("no metric omniroute_%s" % name)
        return int(m.group(1))

    def api(self, path):
        st, body = self.http("GET", path)
        if st != 200:
            raise RuntimeError("GET %s: %s %r" % (path, st, body))
        return body

    def conversation(self, cid):
        return self.api("/api/v1/conversations/" + cid)

    def advance_clock(self, ms):
        """Move the clock the scripts and the router see ms forward
        (Daemon(test_clock=True)); returns the daemon's now (ms)."""
        st, body = self.http("POST", "/api/v1/debug/clock", {"advance_ms": int(ms)})
        if st != 200:
            raise RuntimeError("advance_clock: %s %r" % (st, body))
        return body["now"]

    def ws(self, path="/chat", proto="omniroute.chat.v1", **kw):
        kw.setdefault("tls", self.client_tls)
        return WebSocket("127.0.0.1", self.ports["edge"], path, proto, **kw)


def stored_counts(cmd, convs, prefix="omr:{main}:"):
    """How often each channel message id is stored in the conversations
    (web chat: "<visitor>:<client_msg_id>"): what "lost" and "stored twice"
    are counted on. cmd(*args) runs a Redis command."""
    count = {}
    for c in convs:
        for mid in cmd("LRANGE", prefix + "conv:%s:msgs" % c, 0, -1) or []:
            cm = cmd("HGET", prefix + "msg:" + mid, "channel_msg_id")
            if cm:
                count[cm] = count.get(cm, 0) + 1
    return count


# ---------------------------------------------------------------- haproxy

class HAProxy:
    """The shipped conf/haproxy.cfg, run by a real haproxy in front of
    `nodes` (Daemons): only the addresses change (frontends on free ports
    of 127.0.0.1, server N on the ports of nodes[N-1]); every other line
    is the file an admin installs. Tests connect to it as to a node:
    Visitor(lb), Agent(lb)."""

    FRONT = {"bind :80": "edge", "bind :8443": "webhooks", "bind 127.0.0.1:9082": "admin"}
    BACK = {"8080": "edge", "8081": "webhooks", "8082": "admin"}

    def __init__(self, tmp, nodes):
        self.tmp = tmp
        self.ports = {"edge": free_port(), "webhooks": free_port(), "admin": free_port()}
        with open(os.path.join(SRCDIR, "conf", "haproxy.cfg")) as f:
            text = f.read()
        out = []
        for line in text.splitlines():
            stripped = line.strip()
            if stripped in self.FRONT:
                line = line.replace(stripped.split()[1],
                                    "127.0.0.1:%d" % self.ports[self.FRONT[stripped]])
            m = re.match(r"(\s*)server node(\d+) 10\.0\.0\.\d+:(\d+)(.*)$", line)
            if m and int(m.group(2)) <= len(nodes):
                d = nodes[int(m.group(2)) - 1]
                rest = re.sub(r"port 8082", "port %d" % d.ports["admin"], m.group(4))
                line = "%sserver node%s 127.0.0.1:%d%s" % (
                    m.group(1), m.group(2), d.ports[self.BACK[m.group(3)]], rest)
            elif m:
                continue
            out.append(line)
        self.conf = os.path.join(tmp, "haproxy.cfg")
        with open(self.conf, "w") as f:
            f.write("\n".join(out) + "\n")
        self.logfile = os.path.join(tmp, "haproxy.log")
        subprocess.run(["haproxy", "-c", "-q", "-f", self.conf], check=True)
        self.logf = open(self.logfile, "ab")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        _procs.append(self.proc)
        wait_for(self.up, what="haproxy serving")

    def up(self):
        try:
            return self.http("GET", "/healthz", port=self.ports["admin"])[0] == 200
        except OSError:
            return False

    def http(self, method, path, body=None, port=None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", port or self.ports["edge"], timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def ws(self, path="/chat", proto="omniroute.chat.v1", **kw):
        # the frontends speak plain HTTP (TLS is the nodes' own: test_tls)
        return WebSocket("127.0.0.1", self.ports["edge"], path, proto, **kw)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.logf.close()


# ---------------------------------------------------------------- websocket

class WebSocketClosed(Exception):
    def __init__(self, code, reason):
        Exception.__init__(self, "closed %s %s" % (code, reason))
        self.code = code
        self.reason = reason


class WebSocket:
    """A minimal RFC 6455 client that can also misbehave on purpose."""

    def __init__(self, host, port, path, proto, origin=None, timeout=10, source=None, tls=None):
        # source: a local address to connect from (127.0.0.0/8 on loopback),
        # to look like another client to per-address limits; tls: an
        # ssl.SSLContext for wss://
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source, 0) if source else None)
        if tls:
            self.sock = tls.wrap_socket(self.sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               % (path, host, port, key))
        if proto:
            req += "Sec-WebSocket-Protocol: %s\r\n" % proto
        if origin:
            req += "Origin: %s\r\n" % origin
        self.sock.sendall((req + "\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("handshake refused (connection closed)")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status + b" ":
            raise ConnectionError("handshake refused: %s" % status.decode())
        self.closed = None

    def send_frame(self, opcode, payload, fin=True, mask=True):
        if isinstance(payload, str):
            payload = payload.encode()
        b0 = (0x80 if fin else 0) | opcode
        n = len(payload)
        hdr = bytes([b0])
        mbit = 0x80 if mask else 0
        if n < 126:
            hdr += bytes([mbit | n])
        elif n < 65536:
            hdr += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([mbit | 127]) + struct.pack("!Q", n)
        if mask:
            m = os.urandom(4)
            payload = bytes(b ^ m[i % 4] for i, b in enumerate(payload))
            hdr += m
        self.sock.sendall(hdr + payload)

    def send(self, obj):
        self.send_frame(0x1, json.dumps(obj) if not isinstance(obj, (str, bytes)) else obj)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WebSocketClosed(1006, "connection lost")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return b0 & 0x0f, self._read(n)

    def recv(self, timeout=10):
        """Next text message as JSON; raises WebSocketClosed on close."""
        self.sock.settimeout(timeout)
        while True:
            op, data = self.recv_frame()
            if op == 0x1:
                return json.loads(data)
            if op == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                self.closed = (code, data[2:].decode("utf-8", "replace"))
                raise WebSocketClosed(*self.closed)
            if op == 0x9:
                self.send_frame(0xA, data)

    def recv_type(self, typ, timeout=10):
        """Skip messages until one of the given type arrives."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no %s message" % typ)
            m = self.recv(left)
            if m.get("type") == typ:
                return m

    def expect_close(self, timeout=10):
        try:
            while True:
                self.recv(timeout)
        except WebSocketClosed as e:
            return e.code
        except (socket.timeout, TimeoutError):
            return None

    def close(self):
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class Visitor:
    """A web chat visitor: hello, messages, acks."""

    def __init__(self, daemon, name=None, email=None, visitor=None, token=None, source=None):
        self.ws = daemon.ws(source=source)
        hello = {"type": "hello"}
        for k, v in (("name", name), ("email", email), ("visitor", visitor), ("token", token)):
            if v is not None:
                hello[k] = v
        self.ws.send(hello)
        self.welcome = self.ws.recv_type("welcome", 10 * SLOW)
        self.id = self.welcome["visitor"]
        self.token = self.welcome["token"]
        self.n = 0

    def say(self, text, cmid=None):
        self.n += 1
        cmid = cmid or "m%d" % self.n
        self.ws.send({"type": "message", "text": text, "client_msg_id": cmid})
        while True:
            m = self.ws.recv()
            if m.get("type") == "ack" and m.get("client_msg_id") == cmid:
                return m
            if m.get("type") == "error" and m.get("client_msg_id") == cmid:
                return m

    def close(self):
        self.ws.close()


class Agent:
    """An agent console over the /agent websocket."""

    def __init__(self, daemon, agent=None, password=None, token=None, available=True, source=None):
        self.d = daemon
        self.ws = daemon.ws("/agent", "omniroute.agent.v1", source=source)
        self.n = 0
        self.pending = []   # frames received while waiting for another type
        if token:
            self.ws.send({"type": "auth", "token": token})
        else:
            self.ws.send({"type": "auth", "agent": agent, "password": password or agent})
        # a password login runs PBKDF2 (in a worker): slow under valgrind
        self.welcome = self.expect("welcome", "error", timeout=10 * SLOW)
        self.id = self.welcome.get("agent", {}).get("id")
        if available and self.welcome["type"] == "welcome":
            self.presence("available")

    def send(self, obj):
        self.ws.send(obj)

    def expect(self, *types, timeout=10):
        """The next frame of one of the types (others are kept in order)."""
        for i, m in enumerate(self.pending):
            if m.get("type") in types:
                return self.pending.pop(i)
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no %s frame (pending: %r)" % (types, self.pending[-5:]))
            m = self.ws.recv(left)
            if m.get("type") in types:
                return m
            self.pending.append(m)

    def none_of(self, *types, wait=1.0):
        """True if no frame of these types arrives within `wait` seconds."""
        try:
            m = self.expect(*types, timeout=wait)
            self.pending.insert(0, m)
            return False
        except (TimeoutError, socket.timeout):
            return True

    def presence(self, status, reason=None):
        self.send({"type": "presence", "status": status, **({"reason": reason} if reason else {})})
        return self.expect("presence")

    def offer_for(self, conv, timeout=10):
        """The offer of this conversation (other offers that come
        meanwhile are skipped)."""
        deadline = time.time() + timeout
        while True:
            o = self.expect("offer", timeout=max(0.1, deadline - time.time()))
            if o["conversation"]["id"] == conv:
                return o

    def accept(self, offer):
        self.send({"type": "accept", "offer": offer})
        return self.expect("assigned", "error")

    def reply(self, conv, text, cmid=None):
        self.n += 1
        cmid = cmid or "r%d" % self.n
        self.send({"type": "reply", "conversation": conv, "text": text, "client_msg_id": cmid})
        return self.expect("ack", "error")

    def close(self):
        self.ws.close()


# ---------------------------------------------------------------- runner

def run(test):
    """Run test(tmp) with a fresh temp dir; exit 0/1 for automake."""
    tmp = tempfile.mkdtemp(prefix="omrtest-")
    ok = False
    try:
        test(tmp)
        ok = not _failures
    except Exception:
        traceback.print_exc()
        _failures.append("exception")
    finally:
        # the daemons' logs, also those of tests that run several set-ups
        # in subdirectories
        for root, dirs, files in sorted(os.walk(tmp)):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                if name.startswith("daemon-") and name.endswith(".log") and (
                        not ok or os.environ.get("OMR_TEST_VERBOSE")):
                    with open(path, "rb") as f:
                        sys.stderr.write("---- %s ----\n" % os.path.relpath(path, tmp))
                        sys.stderr.write(f.read()[-20000:].decode("utf-8", "replace"))
                if ".vg." in name:
                    with open(path) as f:
                        vg = f.read()
                    if "ERROR SUMMARY: 0 errors" not in vg:
                        sys.stderr.write(vg)
                        ok = False
        for p in list(_procs):
            try:
                p.kill()
            except Exception:
                pass
        if os.environ.get("OMR_KEEP_TMP"):
            log("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if _failures:
        log("%d failure(s): %s" % (len(_failures), "; ".join(_failures)))
    sys.exit(0 if ok else 1)


_procs = []
