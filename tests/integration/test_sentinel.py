"""Redis Sentinel: the primary fails over under chat and webhook load.

A primary, one replica and three real redis-sentinel processes; omniroute
finds the primary through them (redis.sentinels) and follows it. Visitors
and a WhatsApp webhook sender keep sending; every message is sent again
until it is acknowledged (same client_msg_id / wamid, as real clients do).
Two faults, each on a fresh set: `SENTINEL FAILOVER`, and `kill -9` of the
primary (restarted after the promotion, as systemd would, so that it comes
back as a replica). With redis.durability.replicas: 1, acknowledged
messages lost and messages stored twice are counted and must be zero, and
the daemon serves again within 5 s of the promotion. Without durability the
losses are reported, not asserted (replication is asynchronous).
"""
import json
import os
import time

import omrtest
from fakes import FakeGraph, wa_plugin
from load import Load, ROUTING
from omrtest import check, eq, log, Daemon, Sentinels, SLOW


def scenario(tmp, name, fault, durability):
    sub = os.path.join(tmp, name)
    os.makedirs(sub)
    graph = FakeGraph("EAAG-test-access-token")
    s = Sentinels(sub, replicas=1, durability=(1, "1s") if durability else None)
    d = Daemon(sub, s, routing=ROUTING, log_level="info",
               extra_plugins=wa_plugin(graph.base),
               webchat_extra="      rate_per_min: 60000\n      burst: 1000").start()
    load = Load(d)
    time.sleep(3)
    old = s.primary()
    before = len(load.acked)
    t_fault = time.time()
    if fault == "failover":
        omrtest.resp(s.ports[0], "SENTINEL", "FAILOVER", s.master)
    else:
        old.stop(9)
    omrtest.wait_for(lambda: s.primary_port() not in (None, old.port), timeout=30,
                     interval=0.02, what="a new primary promoted")
    t_promoted = time.time()
    if fault == "kill":
        old.start()   # back as a replica of the new primary, as systemd would
    omrtest.wait_for(lambda: load.served_after(t_promoted) is not None, timeout=30,
                     what="messages acknowledged again after the promotion")
    served = load.served_after(t_promoted)
    time.sleep(3)
    load.finish()

    primary = s.primary()
    convs = [k.split(":")[3] for k in primary.cmd("KEYS", "omr:{main}:conv:*:msgs")]
    count = omrtest.stored_counts(primary.cmd, convs)
    lost = [k for k in load.acked if count.get(k, 0) == 0]
    twice = {k: n for k, n in count.items() if n > 1}
    st, metrics = d.http("GET", "/metrics")
    switches = [ln for ln in metrics.splitlines() if ln.startswith("omniroute_primary_switches_total")]
    log("%s, %s: %d acknowledged (%d before the fault), promoted %.2f s after the fault, "
        "serving again %.2f s after the promotion; lost %d, stored twice %d; %s"
        % (fault, "durability 1" if durability else "no durability", len(load.acked), before,
           t_promoted - t_fault, served, len(lost), len(twice), switches))
    check(len(load.acked) > before, "%s: messages were acknowledged after the fault" % fault)
    eq(len(twice), 0, "%s: messages stored twice (e.g. %r)" % (fault, list(twice)[:5]))
    if durability:
        eq(len(lost), 0, "%s, durability 1: acknowledged messages lost (e.g. %r)"
           % (fault, lost[:5]))
        check(served <= 5 * SLOW, "%s: serving again within 5 s of the promotion (%.2f s)"
              % (fault, served))
    check(switches and not switches[0].endswith(" 0"), "%s: the daemon followed the switch"
          % fault)
    eq(d.stop(), 0, "%s: the daemon stops cleanly" % fault)
    for p in s.procs:
        p.kill()
    for r in s.servers:
        r.stop(9)
    return {"lost": len(lost), "acked": len(load.acked), "served": served,
            "promoted": t_promoted - t_fault}


def test(tmp):
    results = {}
    for fault in ("failover", "kill"):
        for durability in (True, False):
            results[(fault, durability)] = scenario(
                tmp, "%s-%s" % (fault, "durable" if durability else "plain"), fault, durability)
    log("summary: %s" % json.dumps({"%s/%s" % (f, "durable" if dur else "plain"): r
                                    for (f, dur), r in results.items()}))


omrtest.run(test)
