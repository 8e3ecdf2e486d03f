"""Floods at the doors, with the shipped admission limits.

- 500 bogus log-ins on fresh connections from 25 addresses, 250 at once
  (wrong passwords for a real agent, and names that do not exist) while a
  real agent logs in from elsewhere: the real one gets in well before
  the flood is answered
  (before, every attempt queued a PBKDF2 check of 210,000 rounds behind
  the others: 22 s), the daemon stays small, and a stop during the flood
  does not wait for the queue.
- Failed log-ins lock an account for the address that failed (shared by
  every node, in Redis), not for everybody.
- 10,000 hellos from one address: past the admission cap no visitor is
  made, and the daemon stays small.
"""
import json
import os
import signal
import threading
import time

import omrtest
from omrtest import (check, eq, log, wait_for, Agent, Daemon, Redis, Visitor, WebSocket,
                     WebSocketClosed)

# Under AddressSanitizer freed memory is held in a quarantine (256 MiB by
# default) instead of being reused: keep it small, so that RSS says whether
# the daemon holds memory, not whether ASan does.
os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=1").lstrip(":")

FLOOD_ADDRESSES = ["127.0.1.%d" % i for i in range(1, 26)]


def bogus_logins(d, source, n, results):
    """n wrong log-ins from one address, each on a fresh connection, all
    sent at once (ten connections at a time) without waiting for the
    answers, as a script would: each asks for a password check."""
    sent = 0
    while sent < n:
        conns = []
        for _ in range(min(10, n - sent)):
            try:
                ws = d.ws("/agent", "omniroute.agent.v1", source=source)
            except OSError:
                results.append("refused")
                sent += 1
                continue
            who = "alice" if sent % 2 else "nobody%d" % sent
            ws.send({"type": "auth", "agent": who, "password": "wrong-%d" % sent})
            sent += 1
            conns.append(ws)
        for ws in conns:
            try:
                m = ws.recv_type("error", timeout=60)
                results.append(m.get("code"))
            except (WebSocketClosed, OSError, TimeoutError):
                results.append("closed")
            finally:
                ws.close()


def login_flood(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, admission="", log_level="info").start()
    pid = d.proc.pid
    rss0 = omrtest.rss_kb(pid)
    results = []
    threads = [threading.Thread(target=bogus_logins, args=(d, a, 20, results), daemon=True)
               for a in FLOOD_ADDRESSES]
    for t in threads:
        t.start()
    time.sleep(0.5)
    started = time.time()
    bob = Agent(d, "bob", source="127.0.0.200", available=False)
    took = time.time() - started
    eq(bob.welcome["type"], "welcome",
       "the real agent logs in during the flood (%s)" % bob.welcome.get("code", "ok"))
    log("real log-in during the flood took %.2f s" % took)
    for t in threads:
        t.join(120)
    flood = time.time() - started
    log("the rest of the flood was answered %.2f s after the real log-in began" % flood)
    # the real log-in goes before the flood's password checks: it is
    # answered well before the flood's last answer (0.3-0.5 of the flood's
    # time measured, on a quiet machine and at a load of 15 on 2 cores
    # alike; queued behind the flood, as before, it came with the last).
    # Under sanitizers (and valgrind) the main thread that takes the
    # flood's 500 connections is several times slower and shares the
    # machine with the suite's other tests, which says nothing about the
    # order; there the log-in itself is the check (above)
    if omrtest.SLOW == 1:
        check(took < 0.8 * flood, "before the flood is through (%.2f s of %.2f s)"
              % (took, flood))
    rss1 = omrtest.rss_kb(pid)
    codes = {}
    for r in results:
        codes[r] = codes.get(r, 0) + 1
    log("500 bogus log-ins answered: %s" % json.dumps(codes, sort_keys=True))
    eq(len(results), 500, "every bogus log-in got an answer")
    check("welcome" not in codes, "none got in")
    log("RSS %d KiB before, %d KiB after the flood" % (rss0, rss1))
    check(rss1 - rss0 < 64 * 1024, "RSS grew by less than 64 MiB (%d KiB)" % (rss1 - rss0))
    st, body = d.http("GET", "/metrics")
    check("omniroute_agent_login_failures_total" in body, "refusals are counted in /metrics")
    bob.close()

    # a stop in the middle of another flood does not wait for the queue
    results2 = []
    threads = [threading.Thread(target=bogus_logins, args=(d, a, 20, results2), daemon=True)
               for a in FLOOD_ADDRESSES[:10]]
    for t in threads:
        t.start()
    time.sleep(1.0)
    started = time.time()
    rc = d.stop(signal.SIGTERM, timeout=30)
    took = time.time() - started
    eq(rc, 0, "clean stop during a log-in flood")
    log("stop during the flood took %.2f s" % took)
    check(took < 7.0, "it did not wait for the password queue (%.2f s)" % took)


def lockout(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, admission="admission: {login_failures: 3, login_lockout: 30s}").start()
    for i in range(3):
        a = Agent(d, "bob", "wrong-%d" % i, source="127.0.3.1", available=False)
        eq(a.welcome.get("code"), "auth_failed", "wrong password %d refused" % (i + 1))
        a.close()
    a = Agent(d, "bob", "bob", source="127.0.3.1", available=False)
    eq(a.welcome.get("code"), "locked", "bob from that address is locked, even with his password")
    check("try again in" in a.welcome.get("message", ""), "the answer says when to try again")
    a.close()
    a = Agent(d, "bob", "bob", source="127.0.3.2", available=False)
    eq(a.welcome["type"], "welcome", "bob from another address still gets in")
    a.close()
    keys = redis.cmd("KEYS", "omr:{main}:login:*:lock")
    check(len(keys) >= 1, "the lock is in Redis, shared by every node (%r)" % keys)
    eq(d.stop(), 0, "clean stop")


def hello_flood(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, admission="", log_level="info").start()
    pid = d.proc.pid
    rss0 = omrtest.rss_kb(pid)
    counts = {"welcome": 0, "rate_limited": 0, "refused": 0, "other": 0}
    lock = threading.Lock()

    def hellos(n):
        for _ in range(n):
            try:
                ws = d.ws(source="127.0.4.1", timeout=5)
            except (OSError, ConnectionError):
                with lock:
                    counts["refused"] += 1
                continue
            try:
                ws.send({"type": "hello"})
                m = ws.recv(5)
                key = m.get("type") if m.get("type") == "welcome" else m.get("code")
                with lock:
                    counts[key if key in counts else "other"] += 1
            except (WebSocketClosed, OSError, TimeoutError):
                with lock:
                    counts["refused"] += 1
            finally:
                ws.close()

    started = time.time()
    threads = [threading.Thread(target=hellos, args=(1000,), daemon=True) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    took = time.time() - started
    rss1 = omrtest.rss_kb(pid)
    log("10,000 hellos in %.1f s: %s; RSS %d -> %d KiB" % (took, json.dumps(counts), rss0, rss1))
    eq(sum(counts.values()), 10000, "every hello got an answer or a refusal")
    # the cap: 30 at once, then 1 per second
    check(counts["welcome"] <= 30 + took * 1 + 5,
          "at most the admission cap became visitors (%d)" % counts["welcome"])
    check(counts["rate_limited"] + counts["refused"] >= 9000, "the rest were refused")
    check(rss1 - rss0 < 64 * 1024, "RSS grew by less than 64 MiB (%d KiB)" % (rss1 - rss0))
    # another address is not affected
    v = Visitor(d, source="127.0.4.2")
    check(v.id.startswith("v_"), "a visitor from another address gets in")
    eq(d.stop(), 0, "clean stop")


def test(tmp):
    for part in (login_flood, lockout, hello_flood):
        sub = os.path.join(tmp, part.__name__)
        os.makedirs(sub)
        log("---- " + part.__name__)
        part(sub)


omrtest.run(test)
