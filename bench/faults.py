#!/usr/bin/env python3
"""Fault benchmark (issue 12): the high-availability scenarios of the tests,
larger, with their counts and recovery times; and what durability costs.

Phases (--phases, all by default):
  nodes       two nodes behind the shipped HAProxy config, --agents robot
              agents and --visitors web chat visitors (each says 4 things,
              each until acknowledged); one node is killed with SIGKILL
              mid-run. Counts: acknowledged messages lost, stored twice,
              conversations held by two agents at once, agents over
              capacity, conversations queued > 5 s while an eligible agent
              was free. Times: until every agent is connected again, until
              the dead node is taken over.
  sentinel    a primary, a replica and three sentinels under chat and
              webhook load: SENTINEL FAILOVER, and kill -9 of the primary,
              each with durability.replicas 1 and without. Counts lost and
              stored twice; times to the promotion and from it to serving.
  cluster     a 3x2 Redis Cluster with two sites under load: one site moved
              to the other's shard (omniroute --move-site), then that
              shard's primary failed over. The move's length, the pause each site saw,
              lost and stored twice.
  durability  inbound web chat messages acknowledged per second on the same
              primary + replica, alternately without durability and with
              replicas: 1 (--rounds each, medians). Baseline in the same
              run: redis-benchmark SET on that primary, and the ratio.

usage: bench/faults.py [--phases nodes,sentinel,cluster,durability]
                       [--agents 40] [--visitors 600] [--rounds 3] [--seconds 8]
       (after building in ./build, or with OMR_BUILDDIR set)
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
sys.path.insert(0, HERE)
import omrtest  # noqa: E402
from fleet import Book, Watch, Worker, visitor, P, ROUTING as FLEET_ROUTING  # noqa: E402
from ingest_bench import client, run_clients  # noqa: E402
from load import ROUTING, cluster_move, sentinel_fault  # noqa: E402


def figure(name, value, unit=""):
    print("%-44s %s%s" % (name, value, unit))
    sys.stdout.flush()


def phase_nodes(tmp, agents_n, visitors_n):
    capacity = 3
    redis = omrtest.Redis(tmp)
    agents = "agents:\n" + omrtest.token_agents(agents_n, capacity)
    chat = "      rate_per_min: 600000\n      burst: 1000"
    a = omrtest.Daemon(tmp, redis, node="node-a", routing=FLEET_ROUTING, agents=agents,
                       log_level="warn", webchat_extra=chat).start()
    b = omrtest.Daemon(tmp, redis, node="node-b", routing=FLEET_ROUTING, agents=agents,
                       log_level="warn", webchat_extra=chat).start()
    lb = omrtest.HAProxy(tmp, [a, b])
    book = Book(capacity)
    workers = [Worker(lb, i, book) for i in range(agents_n)]
    for w in workers:
        w.start()
    omrtest.wait_for(lambda: all(w.agent for w in workers), timeout=60, what="agents in")
    watch = Watch(redis, book, agents_n)
    watch.start()
    done, threads = [], []
    killed_at = None
    for i in range(visitors_n):
        t = threading.Thread(target=visitor, args=(lb, i, book, done), daemon=True)
        t.start()
        threads.append(t)
        time.sleep(10.0 / visitors_n)
        if i == visitors_n // 2:
            b.kill9()
            killed_at = time.time()
    omrtest.wait_for(lambda: all(w.agent and getattr(w, "connected_at", 0) for w in workers),
                     timeout=60, what="agents back")
    back = max(w.connected_at for w in workers) - killed_at
    omrtest.wait_for(lambda: a.metric("nodes_reaped_total") >= 1, timeout=60, what="reaped")
    reaped = time.time() - killed_at
    for t in threads:
        t.join(300)

    def all_closed():
        convs = set(book.acked.values())
        st = redis.pipeline([("HGET", P + "conv:" + c, "status") for c in convs])
        return all(s == "closed" for s in st)
    omrtest.wait_for(all_closed, timeout=300, interval=1, what="every conversation closed")
    watch.stop = True
    watch.join(5)
    count = omrtest.stored_counts(redis.cmd, set(book.acked.values()))
    figure("nodes_agents", agents_n)
    figure("nodes_visitors", visitors_n)
    figure("nodes_visitors_done", len(done))
    figure("nodes_acked_messages", len(book.acked))
    figure("nodes_conversations", len(set(book.acked.values())))
    figure("nodes_reconnects_agents", book.reconnects["agent"])
    figure("nodes_reconnects_visitors", book.reconnects["visitor"])
    figure("nodes_told_retry", len(book.retries))
    figure("nodes_lost", sum(1 for k in book.acked if count.get("%s:%s" % k, 0) == 0))
    figure("nodes_stored_twice", sum(1 for n in count.values() if n > 1))
    figure("nodes_held_by_two", len(book.double))
    figure("nodes_in_two_agents_sets_in_redis", len(watch.double))
    figure("nodes_over_capacity", len(book.over))
    figure("nodes_stuck_queued_5s", len(watch.stuck))
    figure("nodes_all_agents_back_after_kill", "%.2f" % back, " s")
    figure("nodes_dead_node_taken_over_after_kill", "%.2f" % reaped, " s")
    for w in workers:
        w.stop = True
    lb.stop()
    a.stop()
    redis.stop()


def phase_sentinel(tmp):
    for fault in ("failover", "kill"):
        for durable in (True, False):
            name = "%s_%s" % (fault, "durable" if durable else "plain")
            r = sentinel_fault(os.path.join(tmp, name), fault, durable, settle=5, after=5,
                               visitors=12)
            figure("sentinel_%s_acked" % name, r["acked"])
            figure("sentinel_%s_lost" % name, len(r["lost"]))
            figure("sentinel_%s_stored_twice" % name, len(r["twice"]))
            figure("sentinel_%s_promoted_after_fault" % name, "%.2f" % r["promoted"], " s")
            figure("sentinel_%s_serving_after_promotion" % name, "%.2f" % r["served"], " s")


def phase_cluster(tmp):
    r = cluster_move(tmp, settle=5, after=3, visitors=8)
    a, b = r["sites"]
    figure("cluster_move_rc", r["move_rc"])
    figure("cluster_move_length", "%.2f" % r["move_s"], " s")
    figure("cluster_moved_site_serving_after_move", "%.2f" % r["a_served"], " s")
    figure("cluster_other_site_longest_pause", "%.2f" % r["b_gap"], " s")
    figure("cluster_failover_length", "%.2f" % r["failover_s"], " s")
    figure("cluster_failover_serving_after_moved_site", "%.2f" % r["a_served_failover"], " s")
    figure("cluster_failover_serving_after_other_site", "%.2f" % r["b_served"], " s")
    for label, site in (("moved", a), ("other", b)):
        s = r["per_site"][site]
        figure("cluster_%s_site_acked" % label, s["acked"])
        figure("cluster_%s_site_lost" % label, len(s["lost"]))
        figure("cluster_%s_site_stored_twice" % label, len(s["twice"]))


def ack_rate(tmp, s, durable, seconds):
    """web chat messages acknowledged per second by a daemon on s."""
    s.durability = (1, "1s") if durable else None
    os.makedirs(tmp)
    d = omrtest.Daemon(tmp, s, routing=ROUTING, log_level="warn",
                       webchat_extra="      rate_per_min: 600000\n      burst: 1000").start()
    try:
        total, lat, errors = run_clients(client, [(d.ports["edge"], 16, 4, seconds)] * 2,
                                         seconds + 120)
    finally:
        d.stop()
    return total / seconds, lat, errors


def phase_durability(tmp, rounds, seconds):
    s = omrtest.Sentinels(tmp, replicas=1)
    plain, durable = [], []
    for i in range(rounds):
        for kind, out in (("plain", plain), ("durable", durable)):
            rate, lat, errors = ack_rate(os.path.join(tmp, "%s%d" % (kind, i)), s,
                                         kind == "durable", seconds)
            out.append((rate, lat[len(lat) // 2] * 1000 if lat else 0,
                        lat[int(len(lat) * 0.99)] * 1000 if lat else 0, errors))
    p = subprocess.run(["redis-benchmark", "-p", str(s.primary().port), "-n", "200000", "-c",
                        "50", "-q", "-t", "set"], capture_output=True, text=True, timeout=300)
    m = re.search(r"([\d.]+) requests per second", p.stdout)
    base = float(m.group(1)) if m else 0
    mp = statistics.median(r[0] for r in plain)
    md = statistics.median(r[0] for r in durable)
    figure("durability_plain_acked_per_s", "%.0f" % mp)
    figure("durability_plain_p50_ms", "%.2f" % statistics.median(r[1] for r in plain))
    figure("durability_plain_p99_ms", "%.2f" % statistics.median(r[2] for r in plain))
    figure("durability_replicas1_acked_per_s", "%.0f" % md)
    figure("durability_replicas1_p50_ms", "%.2f" % statistics.median(r[1] for r in durable))
    figure("durability_replicas1_p99_ms", "%.2f" % statistics.median(r[2] for r in durable))
    figure("durability_errors", sum(r[3] for r in plain + durable))
    figure("durability_ratio_replicas1_to_plain", "%.3f" % (md / mp if mp else 0))
    figure("baseline_redis_set_per_s", "%.0f" % base)
    figure("durability_plain_share_of_set", "%.4f" % (mp / base if base else 0))
    figure("durability_replicas1_share_of_set", "%.4f" % (md / base if base else 0))
    print("# rounds each: plain %s, replicas 1 %s (acked/s)" %
          (json.dumps([round(r[0]) for r in plain]), json.dumps([round(r[0]) for r in durable])))
    for p in s.procs:
        p.kill()
    for r in s.servers:
        r.stop(9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phases", default="nodes,sentinel,cluster,durability")
    ap.add_argument("--agents", type=int, default=40)
    ap.add_argument("--visitors", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="omrfaults-")
    try:
        for ph in a.phases.split(","):
            t0 = time.time()
            d = os.path.join(tmp, ph)
            os.makedirs(d)
            if ph == "nodes":
                phase_nodes(d, a.agents, a.visitors)
            elif ph == "sentinel":
                phase_sentinel(d)
            elif ph == "cluster":
                phase_cluster(d)
            elif ph == "durability":
                phase_durability(d, a.rounds, a.seconds)
            else:
                sys.exit("unknown phase %s" % ph)
            print("# phase %s: %.0f s" % (ph, time.time() - t0))
    finally:
        for p in omrtest._procs:
            try:
                p.kill()
            except Exception:
                pass
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
