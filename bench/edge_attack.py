#!/usr/bin/env python3
"""Edge attacks: how the daemon bears a websocket flood or descriptor
exhaustion, and whether it keeps serving everyone else meanwhile.

  flood  CONNS websockets (none of them says hello, unless --hello) each
         send FRAMES tiny text frames (7 bytes on the wire) as fast as the
         daemon takes them. Measured while it runs and for --settle seconds
         after: the daemon's RSS (peak, and at the end), its CPU time, and
         the latency of GET /healthz on the admin port (the main loop's
         stall), plus what became of the flooding connections.
  fds    the daemon runs with RLIMIT_NOFILE --nofile (1024); --idle idle
         TCP connections (1500) are opened to the edge port and kept (one
         that the daemon drops is opened again) for --seconds. Measured:
         the daemon's CPU time and log lines meanwhile, then whether a
         websocket and /healthz work once the connections are gone.

Baselines from the same run: RSS and /healthz latency of the idle daemon
before the attack.

usage: bench/edge_attack.py flood [--conns 100] [--frames 120000] [--hello] [--no-read]
                                 [--procs 2] [--settle 5]
       bench/edge_attack.py fds [--nofile 1024] [--idle 1500] [--seconds 10] [--healthz]
       (run from the source tree after building in ./build, or set OMR_BUILDDIR)
"""
import argparse
import http.client
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import edgeload  # noqa: E402
import omrtest  # noqa: E402


class LimitedDaemon(omrtest.Daemon):
    nofile = 1024

    def popen_extra(self):
        n = self.nofile
        return {"preexec_fn": lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))}


def idle_baseline(d):
    with edgeload.Probe(d) as p:
        time.sleep(2)
    return p


def flood(a, tmp, redis):
    d = omrtest.Daemon(tmp, redis, log_level="info", conf_extra=a.conf_extra,
                       admission=a.admission).start()
    try:
        base = idle_baseline(d)
        per = [a.conns // a.procs + (1 if i < a.conns % a.procs else 0) for i in range(a.procs)]
        floods = edgeload.Floods(d.ports["edge"], [
            dict(conns=n, frames=a.frames, hello=a.hello, read=not a.no_read) for n in per if n])
        with edgeload.Probe(d) as p:
            floods.start()
            floods.wait_sent(timeout=a.timeout)
            attack_s = time.time() - p.t0
            # the clients are done once the kernel has their frames; the
            # daemon may not be
            edgeload.caught_up(d, timeout=a.timeout)
            drained_s = time.time() - p.t0
            res = floods.finish()
            time.sleep(a.settle)
        counters = edgeload.ws_metrics(d)
        rss_end = edgeload.rss_kb(d.proc.pid)
        v = omrtest.Visitor(d, name="after")
        t0 = time.perf_counter()
        ack = v.say("still there?")
        say_ms = (time.perf_counter() - t0) * 1000
        v.close()
        lines = d.log_text().count("\n")
    finally:
        d.stop(timeout=120)
    closed = {}
    for r in res:
        for k, n in r["closed"].items():
            closed[k] = closed.get(k, 0) + n
    print("flood_conns %d" % sum(r["conns"] for r in res))
    print("flood_frames_sent %d" % sum(r["frames"] for r in res))
    print("flood_mb_sent %.1f" % (sum(r["frames"] for r in res) * 7 / 1e6))
    print("flood_closed_by_daemon %s" % (" ".join("%s:%d" % kv for kv in sorted(closed.items()))
                                         or "0"))
    print("flood_lost %d" % sum(r["lost"] for r in res))
    print("flood_seconds %.1f" % attack_s)
    print("daemon_caught_up_s %.1f" % drained_s)
    print("rss_peak_mb %.1f" % (p.rss_peak / 1024))
    print("rss_end_mb %.1f" % (rss_end / 1024))
    print("cpu_s %.1f" % p.cpu)
    print("healthz_max_ms %.1f" % p.healthz_max_ms())
    print("healthz_p50_ms %.1f" % p.healthz_p50_ms())
    print("healthz_failures %d" % p.failures)
    print("visitor_after_ack_ms %.1f (%s)" % (say_ms, ack.get("type")))
    print("log_lines %d" % lines)
    for k in ("messages_in_total", "abusers_closed_total", "flow_pauses_total"):
        print("daemon_ws_%s %s" % (k, counters.get(k, "-")))
    print("baseline_idle_rss_mb %.1f" % (base.rss_peak / 1024))
    print("baseline_idle_healthz_max_ms %.1f" % base.healthz_max_ms())
    print("# flood: %d x %d frames%s%s, %d processes, settle %.0fs; 2 cores shared by clients, "
          "daemon and redis" % (a.conns, a.frames, " after hello" if a.hello else "",
                                ", never reading" if a.no_read else "", a.procs, a.settle))


def fds(a, tmp, redis):
    LimitedDaemon.nofile = a.nofile
    # the per-address caps would refuse most of these long before the
    # descriptors run out: lift them, so that exhaustion is what is measured
    d = LimitedDaemon(tmp, redis, log_level="info", conf_extra=a.conf_extra,
                      admission=a.admission).start()
    pid = d.proc.pid
    try:
        base = idle_baseline(d)
        lines0 = d.log_text().count("\n")
        socks = []
        t0 = time.time()
        for _ in range(a.idle):
            socks.append(socket.create_connection(("127.0.0.1", d.ports["edge"]), timeout=10))
        cpu0 = edgeload.cpu_s(pid)
        w0 = time.time()
        reopened = 0
        hz = []  # (ok, seconds) of GET /healthz meanwhile, with --healthz
        # keep them all: one the daemon closed is opened again
        while time.time() - w0 < a.seconds:
            time.sleep(0.5)
            if a.healthz:
                t = time.perf_counter()
                try:
                    c = http.client.HTTPConnection("127.0.0.1", d.ports["admin"], timeout=2)
                    c.request("GET", "/healthz")
                    ok = c.getresponse().status == 200
                    c.close()
                except OSError:
                    ok = False
                hz.append((ok, time.perf_counter() - t))
            reopened += edgeload.reopen_closed(socks, d.ports["edge"])
        cpu = edgeload.cpu_s(pid) - cpu0
        wall = time.time() - w0
        lines = d.log_text().count("\n") - lines0
        rss = edgeload.rss_kb(pid)
        for s in socks:
            s.close()
        t1 = time.time()
        ok_ws = ok_hz = False
        while time.time() - t1 < 30 and not (ok_ws and ok_hz):
            try:
                if not ok_hz:
                    ok_hz = d.http("GET", "/healthz", auth=False)[0] == 200
                if not ok_ws:
                    v = omrtest.Visitor(d, name="after")
                    ok_ws = v.say("hello again")["type"] == "ack"
                    v.close()
            except (OSError, omrtest.WebSocketClosed, TimeoutError):
                time.sleep(0.2)
        recovered = time.time() - t1
    finally:
        d.stop(timeout=120)
    print("fds_idle_conns %d" % a.idle)
    print("fds_reopened %d" % reopened)
    print("cpu_s %.2f" % cpu)
    print("cpu_pct %.1f" % (100 * cpu / wall))
    print("log_lines %d" % lines)
    print("rss_mb %.1f" % (rss / 1024))
    if a.healthz:
        good = [t for ok, t in hz if ok]
        print("healthz_during_ok %d/%d" % (len(good), len(hz)))
        print("healthz_during_max_ms %.1f" % (max(t for _, t in hz) * 1000 if hz else 0))
    print("recovered_s %.1f (websocket %s, healthz %s)" % (recovered, ok_ws, ok_hz))
    print("baseline_idle_rss_mb %.1f" % (base.rss_peak / 1024))
    print("baseline_idle_cpu_pct %.1f" % (100 * base.cpu / base.seconds))
    print("# fds: RLIMIT_NOFILE %d, %d idle connections held for %.0fs (opened in %.1fs)"
          % (a.nofile, a.idle, a.seconds, w0 - t0))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("attack", choices=("flood", "fds"))
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--frames", type=int, default=120000)
    ap.add_argument("--hello", action="store_true", help="flood after a valid hello")
    ap.add_argument("--no-read", action="store_true",
                    help="the flooding clients never read what the daemon sends")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--settle", type=float, default=5)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--nofile", type=int, default=1024)
    ap.add_argument("--idle", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--healthz", action="store_true",
                    help="fds: also try GET /healthz (2 s timeout) every 0.5 s meanwhile")
    ap.add_argument("--conf-extra", default="", help="top-level YAML added to the config")
    ap.add_argument("--admission", default=None,
                    help="the whole admission: section (YAML); default: the test harness' "
                         "(no per-address caps on the edge)")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="omrbench-")
    redis = omrtest.Redis(tmp)
    try:
        (flood if a.attack == "flood" else fds)(a, tmp, redis)
    finally:
        redis.stop()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
