"""Sites on a Redis Cluster: each site's keys share one slot; a site moves
to another shard under load.

Three primaries with a replica each (redis-cli --cluster create). Two
sites whose slots are on different primaries, each served by its own
daemon (redis.cluster, redis.site), under chat and webhook load whose
senders retry until acknowledged. `omniroute --move-site` moves site A's
slot to the third primary while both run: site B never notices, site A
pauses for the move and serves again from the new owner. Then a manual
CLUSTER FAILOVER of site B's primary: the daemon follows its replica.
Counted and asserted zero: acknowledged messages lost, stored twice.
"""
import os
import subprocess
import time

import omrtest
from fakes import FakeGraph, wa_plugin
from load import Load, ROUTING
from omrtest import check, eq, log, resp, Cluster, Daemon, DAEMON, SLOW


def pick_sites(ranges):
    """Two site names whose slots fall in the first and second primary's
    ranges."""
    out = []
    for lo, hi in ranges[:2]:
        for i in range(1000):
            name = "site%d" % i
            if lo <= omrtest.cluster_slot(name) <= hi and name not in out:
                out.append(name)
                break
    return out


def stored(port, site):
    keys = resp(port, "KEYS", "omr:{%s}:conv:*:msgs" % site) or []
    return omrtest.stored_counts(lambda *a: resp(port, *a), [k.split(":")[3] for k in keys],
                                 prefix="omr:{%s}:" % site)


def test(tmp):
    cl = Cluster(tmp)
    p1, p2, p3 = cl.primaries()[:3]
    ranges = sorted((r[0], r[1]) for r in resp(p1, "CLUSTER", "SLOTS"))
    site_a, site_b = pick_sites(ranges)
    slot_a, slot_b = omrtest.cluster_slot(site_a), omrtest.cluster_slot(site_b)
    eq((cl.owner(slot_a), cl.owner(slot_b)), (p1, p2), "the sites start on different shards")
    graph = FakeGraph("EAAG-test-access-token")
    daemons = {}
    for node, site in (("a", site_a), ("b", site_b)):
        d = os.path.join(tmp, node)
        os.makedirs(d)
        daemons[site] = Daemon(d, cl.site(site), node=node, routing=ROUTING, log_level="info",
                               extra_plugins=wa_plugin(graph.base),
                               webchat_extra="      rate_per_min: 60000\n      burst: 1000"
                               ).start()
    loads = {site: Load(daemons[site], visitors=4, tag=site) for site in (site_a, site_b)}
    time.sleep(3)
    check(all(len(ld.acked) > 0 for ld in loads.values()), "both sites serve")

    # ---- site A moves to the third primary, under load
    t0 = time.time()
    p = subprocess.run([DAEMON, "-c", daemons[site_a].conf, "--move-site", "127.0.0.1:%d" % p3],
                       capture_output=True, text=True, timeout=120)
    t1 = time.time()
    log("move-site: %s%s" % (p.stdout.strip(), p.stderr.strip()))
    eq(p.returncode, 0, "--move-site succeeds")
    eq(cl.owner(slot_a), p3, "site A's slot is on the third primary")
    check(int(resp(p3, "CLUSTER", "COUNTKEYSINSLOT", slot_a)) > 0, "its keys are there")
    eq(int(resp(p1, "CLUSTER", "COUNTKEYSINSLOT", slot_a)), 0, "none left on the old one")
    omrtest.wait_for(lambda: loads[site_a].served_after(t1) is not None, timeout=30 * SLOW,
                     what="site A acknowledges messages again")
    log("site A: the move took %.2f s; serving again %.2f s after it ended"
        % (t1 - t0, loads[site_a].served_after(t1)))
    check(loads[site_a].served_after(t1) <= 5 * SLOW, "site A serves again within 5 s")
    gap_b = loads[site_b].gaps(after=t0 - 1)
    log("site B: longest pause between acknowledgements during the move: %.2f s" % gap_b)
    check(gap_b < 2 * SLOW, "site B kept serving while A moved")
    time.sleep(2)

    # ---- site B's primary fails over to its replica (manual, no loss)
    replica = [int(ln.split()[1].split("@")[0].split(":")[1])
               for ln in resp(p2, "CLUSTER", "NODES").splitlines()
               if "slave" in ln.split()[2] and ln.split()[3] == resp(p2, "CLUSTER", "MYID")][0]
    t2 = time.time()
    eq(resp(replica, "CLUSTER", "FAILOVER"), "OK", "CLUSTER FAILOVER accepted")
    omrtest.wait_for(lambda: cl.owner(slot_b) == replica, timeout=30, what="B's replica promoted")
    t3 = time.time()
    omrtest.wait_for(lambda: loads[site_b].served_after(t3) is not None, timeout=30 * SLOW,
                     what="site B acknowledges messages again")
    log("site B: failover %.2f s, serving again %.2f s after the promotion"
        % (t3 - t2, loads[site_b].served_after(t3)))
    time.sleep(2)
    for ld in loads.values():
        ld.finish()

    for site, port in ((site_a, p3), (site_b, replica)):
        count = stored(port, site)
        lost = [k for k in loads[site].acked if count.get(k, 0) == 0]
        twice = [k for k, n in count.items() if n > 1]
        log("site %s: %d acknowledged, lost %d, stored twice %d"
            % (site, len(loads[site].acked), len(lost), len(twice)))
        eq(len(lost), 0, "site %s: acknowledged messages lost (e.g. %r)" % (site, lost[:5]))
        eq(len(twice), 0, "site %s: messages stored twice (e.g. %r)" % (site, twice[:5]))
    for site, d in daemons.items():
        st, metrics = d.http("GET", "/metrics")
        switches = [ln for ln in metrics.splitlines()
                    if ln.startswith("omniroute_primary_switches_total")]
        check(switches and not switches[0].endswith(" 0"), "site %s: the daemon followed (%s)"
              % (site, switches))
        eq(d.stop(), 0, "site %s: the daemon stops cleanly" % site)

    # a second move to where it is already is a no-op
    p = subprocess.run([DAEMON, "-c", daemons[site_a].conf, "--move-site", "127.0.0.1:%d" % p3],
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "moving to where it is: exit 0")
    check("already" in p.stdout, "says it is there already")


omrtest.run(test)
