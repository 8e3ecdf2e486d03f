"""Redis ACL users (redis.username + redis.password), against a real
redis-server whose `default` user is switched off and which knows one user
`omr` with a password:
- the daemon logs in as that user on every connection it makes (CLIENT LIST
  shows them all as user=omr) and works: an agent logs in, a visitor's
  message is stored and offered;
- the same with the user in the URL (redis://omr:PASSWORD@host:port);
- a wrong password, or no username (the disabled default user), gives a
  clear error in the log and the node does not report healthy;
- `omniroute -t` accepts redis.username (it does not connect), and refuses
  it for the embedded Redis or without a password, with file:line."""
import os
import socket
import subprocess

import omrtest
from omrtest import (DAEMON, REDIS_SERVER, Agent, Daemon, Visitor, check, eq, free_port, log,
                     wait_for)

USER, PASSWORD = "omr", "acl-secret-0123456789"


class AclRedis:
    """redis-server on 127.0.0.1 with ACL: default off, USER with PASSWORD."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "redis-acl")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        conf = os.path.join(self.dir, "redis.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind 127.0.0.1\ndir %s\nsave \"\"\nappendonly no\n"
                    "logfile %s/redis.log\n"
                    "user default off nopass -@all\n"
                    "user %s on >%s ~* &* +@all\n"
                    % (self.port, self.dir, self.dir, USER, PASSWORD))
        self.proc = subprocess.Popen([REDIS_SERVER, conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        omrtest._procs.append(self.proc)
        wait_for(lambda: self.ping(), what="redis-server with ACL")

    def cmd(self, *args, user=USER, password=PASSWORD):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            s.sendall(omrtest._resp_encode(("AUTH", user, password)) + omrtest._resp_encode(args))
            f = s.makefile("rb")
            omrtest._resp_read(f)
            return omrtest._resp_read(f)
        finally:
            s.close()

    def ping(self):
        try:
            return self.cmd("PING") == "PONG"
        except (OSError, RuntimeError):
            return False

    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Conf:
    """A Daemon's redis: section given as text (see Daemon: redis.conf())."""

    def __init__(self, text):
        self.text = text

    def conf(self):
        return self.text


def works(d, redis, what):
    """An agent logs in, a visitor writes, the agent gets the offer."""
    alice = Agent(d, agent="alice", password="alice")
    eq(alice.welcome["type"], "welcome", "%s: an agent logs in" % what)
    v = Visitor(d, name="ACL test")
    v.say("hello through an ACL user")
    o = alice.expect("offer", timeout=15)
    check(o.get("conversation", {}).get("id"), "%s: the message is stored and offered" % what)
    clients = redis.cmd("CLIENT", "LIST")
    users = [part.split("=", 1)[1] for line in clients.splitlines()
             for part in line.split() if part.startswith("user=")]
    log("%s: Redis clients: %r" % (what, users))
    check(len(users) >= 4 and set(users) == {USER},
          "%s: every connection (commands, stream, bus, and ours) is the ACL user" % what)
    v.close()
    alice.close()


def refused(tmp, redis, section, what):
    d = Daemon(tmp, Conf(section), node="bad%d" % len(what),
               agents=omrtest.quick_agents(),
               log_level="info")
    d.start(wait=False)
    wait_for(lambda: "check redis.username and redis.password" in d.log_text(), timeout=20,
             what="the AUTH error in the log")
    text = d.log_text()
    check("WRONGPASS" in text or "AUTH" in text, "%s: Redis' answer is in the log" % what)
    check(PASSWORD not in text and "wrong-password" not in text,
          "%s: no password in the log" % what)
    try:
        st, _ = d.http("GET", "/healthz", auth=False)
    except OSError:
        st = None
    check(st != 200, "%s: the node is not healthy (%r)" % (what, st))
    d.stop()


def config_check(tmp, section, want_ok, want_msg=None):
    d = Daemon(tmp, Conf(section), node="check", agents=omrtest.quick_agents())
    p = subprocess.run([DAEMON, "-t", "-c", d.conf], capture_output=True, text=True)
    eq(p.returncode == 0, want_ok, "-t with %r (%s)" % (section.strip(), p.stderr.strip()))
    if want_msg:
        check(want_msg in p.stderr and "omniroute-check.yaml:" in p.stderr,
              "-t says %r with file:line (%s)" % (want_msg, p.stderr.strip()))


def test(tmp):
    redis = AclRedis(tmp)
    # ---- what the default user gets: nothing
    try:
        omrtest.resp(redis.port, "PING")
        check(False, "the default user is off")
    except RuntimeError as e:
        check("NOAUTH" in str(e) or "WRONGPASS" in str(e), "the default user is off (%s)" % e)

    # ---- username and password keys
    section = "  url: %s\n  username: %s\n  password: %s\n" % (redis.url(), USER, PASSWORD)
    d = Daemon(tmp, Conf(section), node="acl", agents=omrtest.quick_agents(),
               log_level="info").start()
    works(d, redis, "username key")
    d.stop()

    # ---- the user in the URL
    section = "  url: redis://%s:%s@127.0.0.1:%d\n" % (USER, PASSWORD, redis.port)
    d = Daemon(tmp, Conf(section), node="acl-url", agents=omrtest.quick_agents(),
               log_level="info").start()
    works(d, redis, "user in the URL")
    check(PASSWORD not in d.log_text(), "the URL's password is not logged")
    d.stop()

    # ---- refusals
    refused(tmp, redis, "  url: %s\n  username: %s\n  password: wrong-password\n"
            % (redis.url(), USER), "wrong password")
    refused(tmp, redis, "  url: %s\n  password: %s\n" % (redis.url(), PASSWORD),
            "no username")

    # ---- -t
    config_check(tmp, "  url: %s\n  username: %s\n  password: %s\n"
                 % (redis.url(), USER, PASSWORD), True)
    config_check(tmp, "  embedded: true\n  username: %s\n  password: %s\n" % (USER, PASSWORD),
                 False, "not the embedded one")
    config_check(tmp, "  url: %s\n  username: %s\n" % (redis.url(), USER), False,
                 "needs the user's 'password'")
    redis.stop()


omrtest.run(test)
