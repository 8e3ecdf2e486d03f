"""Descriptor exhaustion on the edge: with RLIMIT_NOFILE 1024 and 1,500 idle
TCP connections held open to the edge port, accept() fails with EMFILE.
The edge must not spin on it (the bug: 53 s of CPU in 70 s and 9.3 million
log lines): it stops accepting for a moment, logs once per interval and
counts it. Once the connections are gone, websockets and /healthz work
again."""
import re
import resource
import socket
import time

import edgeload
import omrtest
from omrtest import check, eq, log, Daemon, Redis, Visitor, WebSocketClosed

NOFILE, IDLE, SECONDS = 1024, 1500, 10


class LimitedDaemon(Daemon):
    def popen_extra(self):
        return {"preexec_fn": lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                         (NOFILE, NOFILE))}


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def hold(port, socks, seconds):
    """Keep every connection open for `seconds`: one the daemon closed is
    opened again, as an attacker would. Returns how many were reopened."""
    reopened = 0
    end = time.time() + seconds
    while time.time() < end:
        time.sleep(0.5)
        reopened += edgeload.reopen_closed(socks, port)
    return reopened


def test(tmp):
    redis = Redis(tmp)
    # the per-address caps would refuse most of these connections long
    # before the descriptors run out: lift them, exhaustion is the point
    d = LimitedDaemon(tmp, redis, log_level="info",
                      admission=omrtest.admission(edge="{max_per_ip: 0, rate_per_ip: 0}")).start()
    port, pid = d.ports["edge"], d.proc.pid
    with open("/proc/%d/limits" % pid) as f:
        check(re.search(r"Max open files\s+%d\s+%d" % (NOFILE, NOFILE), f.read()) is not None,
              "the daemon runs with RLIMIT_NOFILE %d" % NOFILE)

    socks = [connect(port) for _ in range(IDLE)]
    time.sleep(1)  # let it run into the limit
    lines0 = len(d.log_text().splitlines())
    cpu0 = edgeload.cpu_s(pid)
    t0 = time.time()
    reopened = hold(port, socks, SECONDS)
    cpu = edgeload.cpu_s(pid) - cpu0
    wall = time.time() - t0
    lines = len(d.log_text().splitlines()) - lines0
    log("%d idle connections for %.1f s: daemon CPU %.2f s, %d log lines, %d reopened"
        % (IDLE, wall, cpu, lines, reopened))
    check(d.alive(), "the daemon survives descriptor exhaustion")
    check(cpu < 0.15 * wall, "it does not spin on accept() (CPU %.2f s in %.1f s)" % (cpu, wall))
    check(lines < 20, "its log stays small (%d lines in %.1f s)" % (lines, wall))

    for s in socks:
        s.close()
    deadline = time.time() + 20
    v = None
    while v is None and time.time() < deadline:
        try:
            v = Visitor(d, name="After")
        except (OSError, WebSocketClosed, TimeoutError):
            time.sleep(0.2)
    check(v is not None, "a websocket works once the idle connections are gone")
    if v:
        eq(v.say("back again")["type"], "ack", "... and its message is stored")
    st, _ = d.http("GET", "/healthz", auth=False)
    eq(st, 200, "/healthz works again")
    st, text = d.http("GET", "/metrics")
    m = re.search(r"^omniroute_ws_accept_errors_total (\d+)$", text, re.M)
    check(m is not None and int(m.group(1)) > 0,
          "accept errors counted in /metrics (%s)" % (m.group(1) if m else None))
    check("out of file descriptors" in d.log_text() or "accept" in d.log_text(),
          "the exhaustion is logged")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
