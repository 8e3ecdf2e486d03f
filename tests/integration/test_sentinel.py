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

import omrtest
from load import sentinel_fault
from omrtest import check, eq, log, SLOW


def scenario(tmp, name, fault, durability):
    r = sentinel_fault(os.path.join(tmp, name), fault, durability)
    log("%s, %s: %d acknowledged (%d before the fault), promoted %.2f s after the fault, "
        "serving again %.2f s after the promotion; lost %d, stored twice %d; %s"
        % (fault, "durability 1" if durability else "no durability", r["acked"], r["before"],
           r["promoted"], r["served"], len(r["lost"]), len(r["twice"]), r["switches"]))
    check(r["acked"] > r["before"], "%s: messages were acknowledged after the fault" % fault)
    eq(len(r["twice"]), 0, "%s: messages stored twice (e.g. %r)" % (fault, r["twice"][:5]))
    if durability:
        check(r["waits"] > 0, "%s: the daemon WAITed for the replica (%d WAITs)"
              % (fault, r["waits"]))
        if not eq(len(r["lost"]), 0, "%s, durability 1: acknowledged messages lost (e.g. %r)"
                  % (fault, r["lost"][:5])):
            log("lost (message, first sent, acknowledged; s after the fault): %r; held by "
                "the other servers: %r; the daemon's Redis log:\n%s"
                % (r["lost_detail"], r["lost_elsewhere"], "\n".join(r["redis_log"])))
        check(r["served"] <= 5 * SLOW, "%s: serving again within 5 s of the promotion (%.2f s)"
              % (fault, r["served"]))
    check(r["switches"] > 0, "%s: the daemon followed the switch" % fault)
    eq(r["unrouted"], 0, "%s: conversations left unrouted of %d (the consumer group goes on "
       "on the new primary)" % (fault, r["conversations"]))
    eq(r["rc"], 0, "%s: the daemon stops cleanly" % fault)
    return {"lost": len(r["lost"]), "acked": r["acked"], "served": r["served"],
            "promoted": r["promoted"]}


def test(tmp):
    results = {}
    for fault in ("failover", "kill"):
        for durability in (True, False):
            results[(fault, durability)] = scenario(
                tmp, "%s-%s" % (fault, "durable" if durability else "plain"), fault, durability)
    log("summary: %s" % json.dumps({"%s/%s" % (f, "durable" if dur else "plain"): r
                                    for (f, dur), r in results.items()}))


omrtest.run(test)
