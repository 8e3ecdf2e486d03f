"""Sites on a Redis Cluster: each site's keys share one slot; a site moves
to another shard under load.

Three primaries with a replica each (redis-cli --cluster create). Two
sites whose slots are on different primaries, each served by its own
daemon (redis.cluster, redis.site), under chat and webhook load whose
senders retry until acknowledged. `omniroute --move-site` moves site A's
slot to site B's primary while both run: site B, on the shard that takes
A in, keeps serving; site A pauses for the move and serves again from the
new owner. Then a manual CLUSTER FAILOVER of that primary: both daemons
follow its replica.
Counted and asserted zero: acknowledged messages lost, stored twice.
"""
import omrtest
from load import cluster_move
from omrtest import check, eq, log, SLOW


def test(tmp):
    r = cluster_move(tmp)
    eq(r["start_owners"], r["want_owners"], "the sites start on different shards")
    check(r["both_served"], "both sites serve")
    log("move-site: %s" % r["move_output"])
    eq(r["move_rc"], 0, "--move-site succeeds")
    eq(r["owner_after"], r["target"], "site A's slot is on site B's primary")
    check(r["keys_on_target"] > 0, "its keys are there")
    eq(r["keys_left"], 0, "none left on the old one")
    log("site A: the move took %.2f s; serving again %.2f s after it ended"
        % (r["move_s"], r["a_served"]))
    check(r["a_served"] <= 5 * SLOW, "site A serves again within 5 s")
    log("site B: longest pause between acknowledgements during the move: %.2f s" % r["b_gap"])
    check(r["b_gap"] < 2 * SLOW, "site B kept serving while A moved")
    eq(r["failover_reply"], "OK", "CLUSTER FAILOVER accepted")
    log("failover %.2f s; serving again after the promotion: site A %.2f s, site B %.2f s"
        % (r["failover_s"], r["a_served_failover"], r["b_served"]))
    for site, s in r["per_site"].items():
        log("site %s: %d acknowledged, lost %d, stored twice %d"
            % (site, s["acked"], len(s["lost"]), len(s["twice"])))
        eq(len(s["lost"]), 0, "site %s: acknowledged messages lost (e.g. %r)"
           % (site, s["lost"][:5]))
        eq(len(s["twice"]), 0, "site %s: messages stored twice (e.g. %r)"
           % (site, s["twice"][:5]))
        check(s["switches"] > 0, "site %s: the daemon followed" % site)
        eq(s["unrouted"], 0, "site %s: conversations left unrouted (routing goes on)" % site)
        eq(s["rc"], 0, "site %s: the daemon stops cleanly" % site)
    eq(r["again_rc"], 0, "moving to where it is: exit 0")
    check("already" in r["again_output"], "says it is there already")


omrtest.run(test)
