"""Console sessions (docs/agent-protocol.md, Sessions), against a real Redis
and two real daemons sharing it:
- a log-in by password gets a session token; Redis keeps only its SHA-256;
- a reconnect (on either node) logs in with the token, without the password;
- {"type": "logout"} ends the token and closes the console;
- an admin's revoke (DELETE /api/v1/agents/{id}/sessions, and omnictl agents
  signout) closes the agent's consoles on both nodes at once, ends every
  token, is audited, needs the admin scope; other agents are untouched;
- a token past sessions.ttl is refused with session_expired;
- garbage, oversized and hostile session values get a clear error and the
  daemons stay healthy;
- guessing tokens is throttled like guessing passwords (login_guard)."""
import hashlib
import json
import os
import secrets
import subprocess

import omrtest
from omrtest import (BUILDDIR, TOKEN, check, eq, log, wait_for, Agent, Daemon, Redis,
                     WebSocketClosed)

PREFIX = "omr:{main}:"
OMNICTL = os.path.join(BUILDDIR, "omnictl")

ROUTING = omrtest.BASE_ROUTING
SHORT_TTL_ROUTING = ROUTING.replace("sessions: {grace: 2s}", "sessions: {grace: 2s, ttl: 1s}")


def login(d, agent):
    """A console logged in with the password, and the session token it got."""
    a = Agent(d, agent=agent, password=agent)
    eq(a.welcome["type"], "welcome", "%s logs in with the password" % agent)
    s = a.expect("session")
    check(isinstance(s.get("session"), str) and len(s["session"]) == 43,
          "the session token is 32 random bytes in base64url")
    return a, s["session"]


def resume(d, token, expect_welcome=True):
    """A fresh connection that logs in with a session token: (ws, first answer)."""
    ws = d.ws("/agent", "omniroute.agent.v1")
    ws.send({"type": "auth", "session": token})
    while True:
        m = ws.recv()
        if m.get("type") in ("welcome", "error"):
            break
    if expect_welcome:
        eq(m.get("type"), "welcome", "a session token logs in without the password (%r)" % m)
    return ws, m


def key_of(token):
    return PREFIX + "csess:" + hashlib.sha256(token.encode()).hexdigest()


def no_raw_token(redis, token):
    """The token itself is in no key and no value of Redis."""
    for k in redis.cmd("KEYS", "*"):
        k = k.decode() if isinstance(k, bytes) else k
        if token in k:
            return False
        if redis.cmd("TYPE", k) == "hash" and token in json.dumps(
                [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                 for v in redis.cmd("HGETALL", k)]):
            return False
    return True


def healthy(*daemons):
    for d in daemons:
        check(d.alive() and d.healthy(), "daemon %s still healthy" % d.node)


def test_resume_logout_revoke(tmp, redis):
    agents = omrtest.quick_agents()
    a = Daemon(tmp, redis, node="node-a", agents=agents, routing=ROUTING, log_level="info")
    b = Daemon(tmp, redis, node="node-b", agents=agents, routing=ROUTING, log_level="info")
    a.start()
    b.start()

    # ---- a log-in gets a token; Redis keeps its hash only
    c1, t1 = login(a, "alice")
    fields = redis.cmd("HGETALL", key_of(t1))
    check("alice" in fields and "expires" in fields, "the session is stored under its hash")
    ttl = redis.cmd("PTTL", key_of(t1))
    check(12 * 3600 * 1000 - 60000 < ttl <= 12 * 3600 * 1000, "it lasts sessions.ttl (12 h)")
    check(no_raw_token(redis, t1), "the token itself is not stored")

    # ---- a reload (new connection) on the other node: no password
    c1.close()
    ws, w = resume(b, t1)
    eq(w["agent"]["id"], "alice", "the session is alice's")
    try:
        m = ws.recv(1.0)
        check(m.get("type") != "session", "a resumed session gets no new token")
    except Exception:
        pass
    ws.close()
    ws, w = resume(a, t1)

    # ---- logout ends the token and closes the console
    ws.send({"type": "logout"})
    got = []
    try:
        while True:
            got.append(ws.recv(5).get("type"))
    except WebSocketClosed as e:
        eq(e.code, 1000, "logout closes the connection normally")
    check("logged_out" in got, "logout is confirmed (%r)" % got)
    eq(redis.cmd("EXISTS", key_of(t1)), 0, "the token is gone from Redis")
    ws, m = resume(a, t1, expect_welcome=False)
    eq(m.get("code"), "session_expired", "a logged-out token is refused")
    ws.close()

    # ---- an admin's revoke: consoles on both nodes close, tokens end
    ca, ta = login(a, "alice")
    cb, tb = login(b, "alice")
    bob, _ = login(b, "bob")
    st, body = a.http("DELETE", "/api/v1/agents/alice/sessions", auth=False)
    eq(st, 401, "revoke needs a token")
    st, body = a.http("POST", "/api/v1/agents/alice/sessions")
    eq(st, 405, "revoke is a DELETE")
    st, body = a.http("DELETE", "/api/v1/agents/nobody/sessions")
    eq(st, 404, "an unknown agent: 404")
    st, body = a.http("DELETE", "/api/v1/agents//sessions")
    eq(st, 404, "no id: 404")
    st, body = a.http("DELETE", "/api/v1/agents/alice/sessions")
    eq(st, 200, "revoke answered (%r)" % body)
    for name, c in (("node-a", ca), ("node-b", cb)):
        e = c.expect("error", timeout=10)
        eq(e.get("code"), "session_revoked", "the console on %s is told" % name)
        eq(c.ws.expect_close(10), 4001, "the console on %s is closed" % name)
    for t in (ta, tb):
        ws, m = resume(b, t, expect_welcome=False)
        eq(m.get("code"), "session_expired", "a revoked token is refused")
        ws.close()
    bob.send({"type": "ping"})
    bob.expect("pong")
    wait_for(lambda: "agent.logout" in json.dumps(a.api("/api/v1/audit")), what="audited")

    # ---- omnictl agents signout
    cc, tc = login(b, "alice")
    p = subprocess.run([OMNICTL, "--url", "http://127.0.0.1:%d" % a.ports["admin"], "--token",
                        TOKEN, "agents", "signout", "alice"], capture_output=True, text=True,
                       timeout=60)
    eq(p.returncode, 0, "omnictl agents signout (%s)" % p.stderr)
    check("alice" in p.stdout, "omnictl says whom it signed out (%r)" % p.stdout)
    eq(cc.ws.expect_close(10), 4001, "omnictl's signout closes the console on the other node")
    ws, m = resume(a, tc, expect_welcome=False)
    eq(m.get("code"), "session_expired", "and its token is refused")
    ws.close()
    healthy(a, b)
    a.stop()
    b.stop()


def test_expiry(tmp, redis):
    d = Daemon(tmp, redis, node="short", agents=omrtest.quick_agents(),
               routing=SHORT_TTL_ROUTING, log_level="info").start()
    c, t = login(d, "bob")
    c.close()
    wait_for(lambda: redis.cmd("EXISTS", key_of(t)) == 0, timeout=10,
             what="the session to expire")
    ws, m = resume(d, t, expect_welcome=False)
    eq(m.get("code"), "session_expired", "an expired token is refused")
    ws.close()
    healthy(d)
    d.stop()


def test_hostile(tmp, redis):
    d = Daemon(tmp, redis, node="hostile", agents=omrtest.quick_agents(),
               log_level="info").start()
    values = ["", "x", "a" * 42, "a" * 44, "a" * 43 + "=", "%" * 43, "é" * 43, "\u0000" * 43,
              "../../../etc/passwd/../../aaaaaaaaaaaaaaaaaaa", "a" * 60000,
              secrets.token_urlsafe(32), 12, None, {}, [], True]
    for i, v in enumerate(values):
        ws = d.ws("/agent", "omniroute.agent.v1")
        ws.send({"type": "auth", "session": v})
        m = ws.recv()
        eq(m.get("type"), "error", "session %r...: an error" % (repr(v)[:20],))
        # (NUL inside a JSON string is refused by the JSON parser itself)
        check(m.get("code") in ("session_invalid", "session_expired", "bad_json"),
              "a clear code (%r)" % m.get("code"))
        ws.close()
    # more than the edge takes in one message: closed, nothing else
    ws = d.ws("/agent", "omniroute.agent.v1")
    try:
        ws.send({"type": "auth", "session": "a" * 70000})
        ws.expect_close(10)
    except OSError:
        pass
    # a session with a password, or with a token: the token wins, as before
    ws = d.ws("/agent", "omniroute.agent.v1")
    ws.send({"type": "logout"})
    eq(ws.recv().get("code"), "auth_required", "logout before a log-in: auth_required")
    ws.close()
    healthy(d)
    d.stop()


def test_guessing(tmp, redis):
    adm = omrtest.TEST_ADMISSION.replace("admission:\n",
                                         "admission:\n  login_failures: 2\n  login_lockout: 60s\n")
    d = Daemon(tmp, redis, node="guess", agents=omrtest.quick_agents(), admission=adm,
               log_level="info").start()
    c, good = login(d, "alice")
    c.close()
    codes = []
    for i in range(12):
        ws = d.ws("/agent", "omniroute.agent.v1")
        ws.send({"type": "auth", "session": secrets.token_urlsafe(32)})
        codes.append(ws.recv().get("code"))
        ws.close()
    log("guesses: %r" % codes)
    eq(codes[0], "session_expired", "a wrong token is refused")
    eq(codes[-1], "locked", "after too many wrong tokens the address is locked")
    ws, m = resume(d, good, expect_welcome=False)
    eq(m.get("code"), "locked", "even a good token from that address waits the lockout")
    ws.close()
    check(d.metric("agent_login_failures_total") >= 10, "the guesses are counted")
    healthy(d)
    d.stop()


def test(tmp):
    for name, fn in (("resume", test_resume_logout_revoke), ("expiry", test_expiry),
                     ("hostile", test_hostile), ("guessing", test_guessing)):
        sub = os.path.join(tmp, name)
        os.makedirs(sub)
        redis = Redis(sub)
        log("---- %s" % name)
        fn(sub, redis)
        redis.stop()


omrtest.run(test)
