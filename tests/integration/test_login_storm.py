"""Many consoles log in at the same moment (as after a node's restart),
half with the session token a browser keeps, half with their agent token:
at most 64 take their turn at once (a session resume from its first
check, a token from its acceptance, until the session is stored), the
others wait in order. Every one still connected gets its welcome, none is refused
('unavailable', 'busy'), those that closed while waiting are skipped, and
the node keeps serving: a late log-in and the admin API answer."""
import select
import time

import omrtest
from omrtest import check, eq, Agent, Daemon, Redis

N = 400
CLOSE_EARLY = 30


def agents_yaml(n):
    lines = ["agents:"]
    for i in range(n):
        lines.append('  - id: s%04d\n    token: "%s"\n    skills: { general: 3 }'
                     % (i, omrtest.token_hash(token(i))))
    lines.append('  - id: alice\n    password: "%s"\n    skills: { general: 3 }'
                 % omrtest.password_hash("alice"))
    return "\n".join(lines) + "\n"


def token(i):
    return "storm-token-%04d-0123456789abcdef" % i


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, node="storm", agents=agents_yaml(N),
               admission=omrtest.admission(login="{rate_per_ip: 0}",
                                           edge="{max_per_ip: 0, rate_per_ip: 0}")).start()
    # the first half logged in before: their consoles keep a session token
    sessions = {}
    for i in range(N // 2):
        ws = d.ws("/agent", "omniroute.agent.v1")
        ws.send({"type": "auth", "token": token(i)})
        while i not in sessions:
            m = ws.recv(timeout=10)
            if m.get("type") == "session":
                sessions[i] = m["session"]
        ws.close()
    before = d.metric("agent_logins_total")
    socks = [d.ws("/agent", "omniroute.agent.v1") for _ in range(N)]
    # every log-in sent before any answer is read
    for i, ws in enumerate(socks):
        ws.send({"type": "auth", "session": sessions[i]} if i in sessions
                else {"type": "auth", "token": token(i)})
    # some give up at once: they are waiting their turn (or storing)
    for ws in socks[N - CLOSE_EARLY:]:
        ws.close()
    live = socks[:N - CLOSE_EARLY]

    welcomed, errors = set(), []
    deadline = time.time() + 60
    by_sock = {ws.sock: i for i, ws in enumerate(live)}
    while len(welcomed) + len(errors) < len(live) and time.time() < deadline:
        ready, _, _ = select.select([ws.sock for i, ws in enumerate(live)
                                     if i not in welcomed], [], [], 1)
        for s in ready:
            i = by_sock[s]
            m = live[i].recv(timeout=5)
            if m.get("type") == "welcome":
                welcomed.add(i)
            elif m.get("type") == "error":
                errors.append((i, m.get("code")))
    eq(errors, [], "no log-in of the storm is refused")
    eq(len(welcomed), len(live), "every console still connected is welcomed")
    waited = d.metric("agent_logins_waited_total")
    check(waited > 0, "log-ins waited their turn (%d of %d)" % (waited, N))
    eq(d.metric("agent_logins_waiting"), 0, "nobody is left waiting")
    logins = d.metric("agent_logins_total") - before
    check(len(live) <= logins <= N, "log-ins counted once each (%d)" % logins)
    check("cannot record the login" not in d.log_text(), "no session failed to be stored")

    late = Agent(d, "alice", "alice")
    eq(late.welcome["type"], "welcome", "a log-in after the storm is welcomed")
    late.close()
    st, _ = d.http("GET", "/api/v1/queues")
    eq(st, 200, "the admin API answers")
    for ws in live:
        ws.close()
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
