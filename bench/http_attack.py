#!/usr/bin/env python3
"""http_attack: slow senders on the daemon's HTTP listeners, and how the
daemon bears them.

  slowloris   --conns connections (1000) to the webhook port (--port admin
              for the admin API), each sending a request line and then one
              header byte every --interval seconds (2), never finishing the
              headers, for --seconds (60). A connection the daemon closes is
              not opened again.

Figures: connections still open after 10 s, 30 s and at the end, when the
last one was closed, the daemon's peak RSS and the CPU it used, its log
lines, and whether GET /healthz answered meanwhile. The baseline is the
same daemon idle for 5 s before the attack (RSS, CPU), measured in the same
run: the machine is shared.

  OMR_BUILDDIR=$PWD/build OMR_SRCDIR=$PWD python3 bench/http_attack.py slowloris

With OMR_BUILDDIR pointing at an older build, the same attack measures that
build (--admission '' keeps the shipped limits; the default does the same).
"""
import argparse
import http.client
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import omrtest  # noqa: E402


def healthz(d):
    t = time.perf_counter()
    try:
        c = http.client.HTTPConnection("127.0.0.1", d.ports["admin"], timeout=2)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
    except OSError:
        ok = False
    return ok, time.perf_counter() - t


def open_count(socks):
    """Poll every socket: one the daemon closed (or answered: it will not
    wait for the rest of the request) is dropped from the list."""
    alive = []
    for s in socks:
        try:
            s.recv(1, socket.MSG_PEEK)
            s.close()
            continue
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        alive.append(s)
    return alive


def slowloris(a, d):
    pid = d.proc.pid
    port = d.ports["webhooks" if a.port == "webhooks" else "admin"]
    path = "/webhooks/x" if a.port == "webhooks" else "/api/v1/queues"
    # the baseline: the same daemon, idle
    rss_idle, cpu0 = omrtest.rss_kb(pid), omrtest.cpu_s(pid)
    time.sleep(5)
    cpu_idle = omrtest.cpu_s(pid) - cpu0
    lines0 = d.log_text().count("\n")

    socks, refused = [], 0
    cpu0 = omrtest.cpu_s(pid)
    t0 = time.time()
    for _ in range(a.conns):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\n" % path).encode())
            s.setblocking(False)  # polled below: a socket with a timeout waits in recv
            socks.append(s)
        except OSError:
            refused += 1
    rss_peak = omrtest.rss_kb(pid)
    marks, last_closed, hz = {}, None, []
    next_byte = time.time()
    while time.time() - t0 < a.seconds:
        now = time.time()
        if now >= next_byte:
            for s in socks:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            next_byte = now + a.interval
        before = len(socks)
        socks = open_count(socks)
        if before and not socks:
            last_closed = time.time() - t0
        for m in (10, 30):
            if m not in marks and time.time() - t0 >= m:
                marks[m] = len(socks)
        rss_peak = max(rss_peak, omrtest.rss_kb(pid))
        hz.append(healthz(d))
        time.sleep(0.5)
    cpu = omrtest.cpu_s(pid) - cpu0
    wall = time.time() - t0
    lines = d.log_text().count("\n") - lines0
    for s in socks:
        s.close()
    ok = sum(1 for o, _ in hz if o)
    worst = max((t for _, t in hz), default=0.0)
    print("slowloris: %d connections to the %s port, a header byte every %.1f s, %d s"
          % (a.conns, a.port, a.interval, a.seconds))
    print("  refused at connect:          %d" % refused)
    print("  open after 10 s / 30 s / end: %s / %s / %d"
          % (marks.get(10, "-"), marks.get(30, "-"), len(socks)))
    print("  last one closed after:       %s" % ("%.1f s" % last_closed if last_closed else
                                                "never (still open)" if socks else "-"))
    print("  daemon RSS peak:             %d KiB (idle %d KiB; +%d KiB)"
          % (rss_peak, rss_idle, rss_peak - rss_idle))
    print("  daemon CPU:                  %.2f s in %.0f s (idle: %.2f s in 5 s)"
          % (cpu, wall, cpu_idle))
    print("  log lines:                   %d" % lines)
    print("  GET /healthz meanwhile:      %d of %d answered 200, slowest %.3f s"
          % (ok, len(hz), worst))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["slowloris"])
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--port", choices=["webhooks", "admin"], default="webhooks")
    ap.add_argument("--admission", default="",
                    help="the whole admission: section (YAML); default: none (the shipped limits)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="omr-http-attack-")
    redis = omrtest.Redis(tmp)
    d = omrtest.Daemon(tmp, redis, log_level="info", admission=a.admission).start()
    try:
        slowloris(a, d)
    finally:
        d.stop()
        redis.stop()


if __name__ == "__main__":
    main()
