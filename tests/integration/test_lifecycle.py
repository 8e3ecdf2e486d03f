"""The daemon's lifecycle under a bad day.

- A stop while Redis hangs (CLIENT PAUSE) with an agent's presence and an
  admin request waiting for it: every pending callback settles while every
  module still exists (this was a use-after-free, seen under ASan), and the
  daemon exits 0 within its drain time.
- A reload that removes an agent, changes another's password and another's
  token logs those sessions out (a clear close reason) and requeues their
  conversations; an unchanged agent stays.
"""
import os
import signal
import threading
import time

import omrtest
from omrtest import (check, eq, Agent, Daemon, Redis, Visitor, WebSocketClosed, wait_for,
                     BASE_AGENTS, token_hash)

CAROL_TOKEN = "carol-sso-token-0123456789abcdef"
CAROL_TOKEN2 = "carol-sso-token-fedcba9876543210"
CAROL = """
  - id: carol
    name: Carol
    token: "%s"
    skills: { general: 3 }
    languages: [en]
    capacity: { webchat: 3 }
"""
DAVE_TOKEN = "dave-sso-token-0123456789abcdef"
DAVE = """
  - id: dave
    name: Dave
    token: "%s"
    capacity: { webchat: 3 }
"""


def stop_with_redis_paused(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis).start()
    alice = Agent(d, "alice")
    pid = d.proc.pid
    redis.cmd("CLIENT", "PAUSE", "8000", "ALL")
    # a presence change and an admin request, both waiting for Redis
    alice.send({"type": "presence", "status": "away", "reason": "lunch"})
    answers = []
    t = threading.Thread(target=lambda: answers.append(d.http("GET", "/api/v1/queues")))
    t.daemon = True
    t.start()
    time.sleep(0.5)
    started = time.time()
    rc = d.stop(signal.SIGTERM, timeout=40)
    took = time.time() - started
    eq(rc, 0, "the daemon exits 0 although Redis hung with callbacks pending")
    log = d.log_text()
    check("stopped" in log, "it says it stopped")
    check("Redis command(s)" in log and "pending" in log,
          "it says what was cut off by the drain deadline")
    omrtest.log("stop took %.1f s (drain deadline 5 s) for pid %d" % (took, pid))
    t.join(15)
    check(not answers or answers[0][0] in (503, 0) or answers[0][0] >= 500,
          "the waiting admin request got an error or nothing, never a crash")
    redis.cmd("PING")  # waits for the pause to end


def reload_revokes(tmp):
    redis = Redis(tmp)
    agents_file = os.path.join(tmp, "agents.yaml")
    d = Daemon(tmp, redis, agents=BASE_AGENTS + CAROL % token_hash(CAROL_TOKEN) +
               DAVE % token_hash(DAVE_TOKEN)).start()
    alice = Agent(d, "alice")
    bob = Agent(d, "bob", available=False)
    carol = Agent(d, token=CAROL_TOKEN, available=False)
    eq(carol.welcome["type"], "welcome", "carol logs in by token")
    dave = Agent(d, token=DAVE_TOKEN, available=False)
    eq(dave.welcome["type"], "welcome", "dave logs in by token")

    # alice takes a conversation
    v = Visitor(d)
    conv = v.say("hello, my invoice")["conversation"]
    offer = alice.expect("offer")
    eq(alice.accept(offer["offer"])["type"], "assigned", "alice has the conversation")

    # alice removed, bob's password and carol's token changed, dave disabled
    with open(agents_file) as f:
        text = f.read()
    start = text.index("  - id: alice")
    end = text.index("  - id: bob")
    text = text[:start] + text[end:]
    bob_hash = text.split("  - id: bob", 1)[1].split('password: "', 1)[1].split('"', 1)[0]
    text = text.replace(bob_hash, omrtest.password_hash("bob2"))
    text = text.replace(token_hash(CAROL_TOKEN), token_hash(CAROL_TOKEN2))
    text = text.replace("  - id: dave\n", "  - id: dave\n    enabled: false\n")
    with open(agents_file, "w") as f:
        f.write(text)
    st, body = d.http("POST", "/api/v1/reload")
    eq(st, 200, "the reload is accepted")

    for who, agent in (("alice", alice), ("bob", bob), ("carol", carol), ("dave", dave)):
        frame = agent.expect("error", timeout=10)
        eq(frame["code"], "revoked", "%s is told the account changed" % who)
        eq(agent.ws.expect_close(10), 4001, "%s's socket closes with 4001" % who)

    c = wait_for(lambda: (lambda c: c if c["status"] == "queued" else None)(d.conversation(conv)),
                 what="requeued")
    eq(c["status"], "queued", "alice's conversation waits again")
    agents = {a["id"]: a for a in d.api("/api/v1/agents")["agents"]}
    check("alice" not in agents or agents["alice"]["presence"] == "offline",
          "alice is offline (or gone from the directory)")

    # the new credentials work, the old ones do not
    eq(Agent(d, "bob", "bob", available=False).welcome["type"], "error",
       "bob's old password is refused")
    eq(Agent(d, "bob", "bob2", available=False).welcome["type"], "welcome",
       "bob's new password works")
    eq(Agent(d, token=CAROL_TOKEN, available=False).welcome["type"], "error",
       "carol's old token is refused")
    eq(Agent(d, token=CAROL_TOKEN2, available=False).welcome["type"], "welcome",
       "carol's new token works")
    eq(Agent(d, token=DAVE_TOKEN, available=False).welcome["type"], "error",
       "disabled dave cannot log in")
    eq(d.stop(), 0, "clean stop")


class TcpRedis(Redis):
    """redis-server on a TCP port of 127.0.0.1, reached by a host name."""

    def __init__(self, tmp, port):
        self.port = port
        Redis.__init__(self, tmp)

    def start(self):
        import subprocess
        self.proc = subprocess.Popen(
            [omrtest.REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--unixsocket", self.sock, "--dir", self.dir, "--save", "",
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        omrtest._procs.append(self.proc)
        wait_for(lambda: self.cmd("PING") == "PONG", what="redis-server")

    def url(self):
        return "redis://localhost:%d" % self.port


def redis_by_name(tmp):
    """A Redis URL with a host name is looked up by the loop's resolver
    (/etc/hosts here), not by a blocking getaddrinfo(3)."""
    redis = TcpRedis(tmp, omrtest.free_port())
    d = Daemon(tmp, redis).start()
    v = Visitor(d)
    eq(v.say("hello by name")["type"], "ack", "stored through redis://localhost:PORT")
    check("connected to localhost:%d" % redis.port in d.log_text(), "connected by name")
    eq(d.stop(), 0, "clean stop")


def test(tmp):
    for part in (stop_with_redis_paused, reload_revokes, redis_by_name):
        sub = os.path.join(tmp, part.__name__)
        os.makedirs(sub)
        omrtest.log("---- " + part.__name__)
        part(sub)


omrtest.run(test)
