#!/usr/bin/env python3
"""Ingest benchmark: web chat messages acknowledged per second, end to end.

Starts a private redis-server and the real daemon (as the integration tests
do), opens CONNS visitor websockets spread over PROCS client processes, and
keeps WINDOW messages in flight per connection for SECONDS. Every message is
acknowledged by the daemon only after the ingest script stored it in Redis.

Baseline, measured in the same run on the same Redis:
  - redis-benchmark running the very same ingest script (EVALSHA with random
    ids), i.e. the storage ceiling the daemon cannot exceed;
  - redis-benchmark SET, the raw speed of that Redis.

usage: bench/ingest_bench.py [--seconds 10] [--conns 32] [--procs 2] [--window 4]
       (run from the source tree after building in ./build, or set OMR_BUILDDIR)
"""
import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import omrtest  # noqa: E402


def client(port, conns, window, seconds, out):
    """One client process: `conns` websockets, `window` messages in flight each."""
    import select
    socks = []
    for i in range(conns):
        ws = omrtest.WebSocket("127.0.0.1", port, "/chat", "omniroute.chat.v1")
        ws.send({"type": "hello", "name": "bench"})
        ws.recv_type("welcome")
        ws.sock.setblocking(False)
        socks.append(ws)
    sent = {}
    lat = []
    n = [0] * conns
    end = time.time() + seconds

    def send(k):
        n[k] += 1
        cid = "b%d" % n[k]
        sent[(k, cid)] = time.perf_counter()
        socks[k].sock.setblocking(True)
        socks[k].send({"type": "message", "text": "benchmark message %d" % n[k],
                       "client_msg_id": cid})
        socks[k].sock.setblocking(False)

    for k in range(conns):
        for _ in range(window):
            send(k)
    fd = {s.sock.fileno(): k for k, s in enumerate(socks)}
    errors = 0
    while time.time() < end:
        r, _, _ = select.select([s.sock for s in socks], [], [], 0.5)
        for sock in r:
            k = fd[sock.fileno()]
            ws = socks[k]
            try:
                ws.buf += sock.recv(1 << 20)
            except BlockingIOError:
                continue
            while True:
                if len(ws.buf) < 2:
                    break
                ln = ws.buf[1] & 0x7f
                hdr = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
                if len(ws.buf) < hdr:
                    break
                if ln == 126:
                    ln = int.from_bytes(ws.buf[2:4], "big")
                elif ln == 127:
                    ln = int.from_bytes(ws.buf[2:10], "big")
                if len(ws.buf) < hdr + ln:
                    break
                m = json.loads(ws.buf[hdr:hdr + ln])
                ws.buf = ws.buf[hdr + ln:]
                if m.get("type") not in ("ack", "error"):
                    continue  # a queue position (status), not an answer
                t0 = sent.pop((k, m.get("client_msg_id")), None)
                if m.get("type") == "ack" and t0 is not None:
                    lat.append(time.perf_counter() - t0)
                else:
                    errors += 1
                if time.time() < end:
                    send(k)
    out.put((len(lat), lat[::max(1, len(lat) // 20000)], errors))


def redis_benchmark(sock, args, n=100000, clients=50):
    p = subprocess.run(["redis-benchmark", "-s", sock, "-n", str(n), "-c", str(clients), "-r",
                        "1000000000", "-q"] + args, capture_output=True, text=True, timeout=300)
    m = re.search(r"([\d.]+) requests per second", p.stdout)
    return float(m.group(1)) if m else 0.0


def collect(target, args_list, timeout):
    """Run target(*args, queue) in one process per args; each puts one
    result on the queue. Returns the results."""
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=target, args=tuple(args) + (q,)) for args in args_list]
    for p in procs:
        p.start()
    results = [q.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join()
    return results


def run_clients(target, args_list, timeout):
    """collect() where each result is (count, latencies sample, errors).
    Returns (total count, sorted latencies, errors)."""
    results = collect(target, args_list, timeout)
    return (sum(r[0] for r in results), sorted(x for r in results for x in r[1]),
            sum(r[2] for r in results))


def percentile_ms(lat, p):
    """The p-th quantile (0..1) of sorted latencies in seconds, in ms."""
    return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else 0


def baselines(redis):
    """redis-benchmark on the same Redis: the ingest script itself (the
    storage ceiling of any channel), and SET."""
    sha = redis.cmd("SCRIPT", "LOAD", omrtest.lua_source("ingest"))
    keys, argv = omrtest.lua_keys_argv(
        "ingest", "omr:{bench}:", channel="webchat", channel_msg_id="v:__rand_int__",
        address="v__rand_int__", thread="v__rand_int__", text="benchmark", attachments=[],
        attrs={}, meta={}, public=False, ts=0, customer="u___rand_int__",
        conversation="c___rand_int__", message="m___rand_int__", dedup_ttl=600000,
        kind="message", verified=False, reopen=0)
    ingest_args = ["EVALSHA", sha, str(len(keys))] + keys + argv
    return redis_benchmark(redis.sock, ingest_args), redis_benchmark(redis.sock, ["-t", "set"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--window", type=int, default=4)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="omrbench-")
    redis = omrtest.Redis(tmp)
    # the benchmark Redis uses the daemon's default everysec fsync, not the
    # tests' "always"
    redis.cmd("CONFIG", "SET", "appendfsync", "everysec")
    d = omrtest.Daemon(tmp, redis, log_level="warn",
                       webchat_extra="      rate_per_min: 600000\n      burst: 1000").start()
    try:
        t0 = time.time()
        total, lat, errors = run_clients(client, [(d.ports["edge"], a.conns // a.procs, a.window,
                                                  a.seconds)] * a.procs, a.seconds + 120)
        elapsed = time.time() - t0
        rate = total / a.seconds

        base_ingest, base_set = baselines(redis)
    finally:
        d.stop()
        redis.stop()
        subprocess.run(["rm", "-rf", tmp])

    print("ingest_acked_msgs_per_s %.0f" % rate)
    print("ingest_ack_latency_p50_ms %.2f" % percentile_ms(lat, 0.50))
    print("ingest_ack_latency_p99_ms %.2f" % percentile_ms(lat, 0.99))
    print("ingest_errors %d" % errors)
    print("baseline_redis_ingest_script_per_s %.0f" % base_ingest)
    print("baseline_redis_set_per_s %.0f" % base_set)
    print("ratio_daemon_to_ingest_script %.3f" % (rate / base_ingest if base_ingest else 0))
    print("# %d connections, %d processes, window %d, %.1fs (wall %.1fs), 2 cores shared by "
          "clients, daemon and redis" % (a.conns, a.procs, a.window, a.seconds, elapsed))


if __name__ == "__main__":
    main()
