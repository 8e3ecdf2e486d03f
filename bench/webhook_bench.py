#!/usr/bin/env python3
"""Webhook benchmark: signed WhatsApp webhooks answered per second, end to end.

Starts a private redis-server and the real daemon with the whatsapp plugin,
and posts signed Cloud API webhooks (BATCH messages each, new ids every
time) from PROCS processes with THREADS keep-alive connections each, for
SECONDS. Each answer is a 200 sent only after every message of the request
is stored in Redis (signature check, JSON mapping, ingest script).

Baseline, measured in the same run on the same Redis: redis-benchmark
running the same ingest script (the storage ceiling), and SET.

usage: bench/webhook_bench.py [--seconds 10] [--procs 2] [--threads 8] [--batch 1]
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import omrtest  # noqa: E402
from ingest_bench import baselines, percentile_ms, run_clients  # noqa: E402

SECRET = "bench-app-secret-0123"
PHONE = "1000001"


def payload(tag, n, batch):
    msgs = [{"from": "3161%07d" % ((n * batch + i) % 10000000), "id": "wamid.%s.%d.%d" % (tag, n, i),
             "timestamp": "1732531200", "type": "text", "text": {"body": "benchmark %d" % n}}
            for i in range(batch)]
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"phone_number_id": PHONE},
                                       "contacts": [{"profile": {"name": "Bench"},
                                                     "wa_id": msgs[0]["from"]}],
                                       "messages": msgs}}]}]}).encode()
    return body, "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def worker(port, threads, batch, seconds, tag, out):
    lat, errors = [], [0]
    lock = threading.Lock()
    end = time.time() + seconds

    def run(t):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n, mine, err = 0, [], 0
        while time.time() < end:
            n += 1
            body, sig = payload("%s-%d" % (tag, t), n, batch)
            t0 = time.perf_counter()
            try:
                c.request("POST", "/webhooks/whatsapp", body=body,
                          headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
                r = c.getresponse()
                r.read()
                if r.status == 200:
                    mine.append(time.perf_counter() - t0)
                else:
                    err += 1
            except OSError:
                err += 1
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with lock:
            lat.extend(mine)
            errors[0] += err

    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put((len(lat), lat[::max(1, len(lat) // 20000)], errors[0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--batch", type=int, default=1)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="omrbench-")
    redis = omrtest.Redis(tmp)
    redis.cmd("CONFIG", "SET", "appendfsync", "everysec")
    plugin = """  - name: whatsapp
    path: %s/plugins/whatsapp/.libs/whatsapp.so
    config:
      app_secret: %s
      verify_token: bench
      access_token: bench
      phone_number_id: "%s"
      api_base: http://127.0.0.1:9
""" % (omrtest.BUILDDIR, SECRET, PHONE)
    d = omrtest.Daemon(tmp, redis, log_level="warn", extra_plugins=plugin).start()
    try:
        reqs, lat, errors = run_clients(
            worker, [(d.ports["webhooks"], a.threads, a.batch, a.seconds, "p%d" % i)
                     for i in range(a.procs)], a.seconds + 120)
        stored = int(redis.cmd("XLEN", "omr:{main}:events") or 0)
        base_ingest, base_set = baselines(redis)
    finally:
        d.stop()
        redis.stop()
        subprocess.run(["rm", "-rf", tmp])

    print("webhook_requests_per_s %.0f" % (reqs / a.seconds))
    print("webhook_messages_per_s %.0f" % (reqs * a.batch / a.seconds))
    print("webhook_latency_p50_ms %.2f" % percentile_ms(lat, 0.50))
    print("webhook_latency_p99_ms %.2f" % percentile_ms(lat, 0.99))
    print("webhook_errors %d" % errors)
    print("events_in_stream %d" % stored)
    print("baseline_redis_ingest_script_per_s %.0f" % base_ingest)
    print("baseline_redis_set_per_s %.0f" % base_set)
    print("ratio_messages_to_ingest_script %.3f" %
          (reqs * a.batch / a.seconds / base_ingest if base_ingest else 0))
    print("# %d processes x %d connections, %d message(s) per webhook, %.1fs; 2 cores shared "
          "by clients, daemon and redis" % (a.procs, a.threads, a.batch, a.seconds))


if __name__ == "__main__":
    main()
