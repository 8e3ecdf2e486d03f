"""load: senders that keep sending, each message until it is acknowledged
(same client_msg_id, same wamid), as real clients do; what was
acknowledged and when, for the fault tests (lost, stored twice, how soon
serving again)."""
import os
import subprocess
import threading
import time

import omrtest
from fakes import FakeGraph, WhatsAppHook, wa_envelope, wa_plugin, wa_text
from omrtest import Visitor, WebSocketClosed

# a routing file that takes the test agents.yaml's skills, and no agents
ROUTING = """
skills: [general, billing, tech]
default_queue: general
queues:
  - name: general
    status_interval: 0
reasons: [other]
outcomes: [resolved]
"""


# senders that are never rate limited: the faults, not the gates, are tested
CHAT_UNLIMITED = "      rate_per_min: 600000\n      burst: 1000"


def _daemon(tmp, redis, **kw):
    """A started daemon on redis (Sentinels, or a Cluster site) for the
    fault scenarios."""
    return omrtest.Daemon(tmp, redis, routing=ROUTING, log_level="info",
                          webchat_extra=CHAT_UNLIMITED, **kw).start()


class Load:
    """Senders that retry until acknowledged; what was acknowledged, and
    when each message was first sent and acknowledged."""

    def __init__(self, d, visitors=6, webhooks=True, tag=""):
        self.d = d
        self.tag = tag
        self.lock = threading.Lock()
        self.acked = {}       # channel message id -> (first sent, acknowledged)
        self.stop = False
        self.threads = [threading.Thread(target=self.chat, args=(i,), daemon=True)
                        for i in range(visitors)]
        if webhooks:
            self.threads.append(threading.Thread(target=self.hooks, daemon=True))
        for t in self.threads:
            t.start()

    def record(self, key, first):
        with self.lock:
            self.acked[key] = (first, time.time())

    def chat(self, i):
        v, vid, token, k = None, None, None, 0
        while not self.stop:
            cmid = "m%d" % k
            first = time.time()
            while not self.stop:
                try:
                    if v is None:
                        v = Visitor(self.d, name="Visitor %d" % i, visitor=vid, token=token)
                        vid, token = v.id, v.token
                    ack = v.say("message %d of visitor %d" % (k, i), cmid=cmid)
                    if ack.get("type") == "ack":
                        self.record("%s:%s" % (vid, cmid), first)
                        break
                    time.sleep(0.1)   # unavailable: retry the same message
                except (WebSocketClosed, OSError, TimeoutError, ValueError, KeyError):
                    v = None
                    time.sleep(0.1)
            k += 1

    def hooks(self):
        hook = WhatsAppHook(self.d)
        k = 0
        while not self.stop:
            wamid = "wamid.load%s-%d" % (self.tag, k)
            body = wa_envelope([wa_text(wamid, "whatsapp %d" % k, frm="3161%07d" % (k // 5))])
            first = time.time()
            while not self.stop:
                try:
                    st, _ = hook.post(body)
                except OSError:
                    st = 0
                if st == 200:
                    self.record(wamid, first)
                    break
                time.sleep(0.1)   # Meta retries a webhook that failed
            k += 1

    def finish(self):
        self.stop = True
        for t in self.threads:
            t.join(30)

    def gaps(self, after=0):
        """The longest time (s) between two acknowledgements after `after`."""
        with self.lock:
            acks = sorted(a for first, a in self.acked.values() if a >= after)
        return max((b - a for a, b in zip(acks, acks[1:])), default=0)

    def served_after(self, t):
        """Seconds from t to the first acknowledgement of a message first
        sent after t, or None."""
        with self.lock:
            acks = [a for first, a in self.acked.values() if first >= t]
        return min(acks) - t if acks else None


def _unrouted(cmd, convs, prefix="omr:{main}:"):
    """Conversations still 'new' once routing had time to decide for them:
    after a failover or a move, the consumer group must go on (routing
    events are read on the new primary)."""
    def count():
        st = [cmd("HGET", prefix + "conv:" + c, "status") for c in convs]
        return sum(1 for x in st if x == "new")
    try:
        omrtest.wait_for(lambda: count() == 0, timeout=10, interval=0.5, what="routed")
    except TimeoutError:
        pass
    return count()


def _stored(cmd, site="main"):
    """The site's conversations on a server, and how many times each channel
    message id is stored there: (convs, {id: count})."""
    prefix = "omr:{%s}:" % site
    convs = [k.split(":")[3] for k in cmd("KEYS", prefix + "conv:*:msgs") or []]
    return convs, omrtest.stored_counts(cmd, convs, prefix=prefix)


def _lost_twice(load, count):
    """The acknowledged messages a server does not hold, and those it holds
    more than once."""
    return ([k for k in load.acked if count.get(k, 0) == 0],
            [k for k, n in count.items() if n > 1])


def _stored_elsewhere(s, primary, keys):
    """How many of keys the servers other than the primary hold."""
    out = {}
    for r in s.servers:
        if r is primary or not keys:
            continue
        try:
            count = _stored(r.cmd)[1]
        except (OSError, RuntimeError) as e:
            out[r.port] = str(e)
            continue
        out[r.port] = sum(1 for k in keys if count.get(k, 0))
    return out


def _stop_sentinels(s):
    for p in s.procs:
        p.kill()
    for r in s.servers:
        r.stop(9)


def _sentinel_failover(s):
    """SENTINEL FAILOVER, sent again while the sentinels have no replica
    to promote yet (one just made a replica is taken once they have seen
    it in sync)."""
    def sent():
        try:
            return omrtest.resp(s.ports[0], "SENTINEL", "FAILOVER", s.master) == "OK"
        except RuntimeError as e:
            if "NOGOODSLAVE" not in str(e) and "INPROG" not in str(e):
                raise
            return False
    omrtest.wait_for(sent, timeout=60, interval=0.5, what="SENTINEL FAILOVER taken")


def _failed_over(s, d, old):
    """The first failover of a failback: followed by the daemon, the old
    primary a replica in sync, and every sentinel naming the new one."""
    _sentinel_failover(s)
    omrtest.wait_for(lambda: d.metric("primary_switches_total") == 1, timeout=30,
                     what="the daemon followed")
    omrtest.wait_for(lambda: "master_link_status:up" in old.cmd("INFO", "replication"),
                     timeout=30, what="the old primary a replica in sync")
    new = s.primary_port()
    omrtest.wait_for(lambda: all(int(omrtest.resp(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                                  s.master)[1]) == new for p in s.ports),
                     timeout=30, what="every sentinel naming the new primary")


def sentinel_fault(tmp, fault, durability, settle=3, after=3, visitors=6):
    """A primary, a replica and three sentinels; one daemon under chat and
    webhook load; fault is "failover" (SENTINEL FAILOVER), "failback" (a
    failover, then one back to the first primary: the one measured) or
    "kill" (kill -9 of the primary, restarted after the promotion as
    systemd would).
    Returns acked, before (acknowledged before the fault), promoted (s
    from the fault to the promotion), served (s from the promotion to the
    first acknowledgement of a message sent after it), lost and twice
    (channel message ids), switches the daemon followed, rc of its stop."""
    os.makedirs(tmp)
    graph = FakeGraph("EAAG-test-access-token")
    s = omrtest.Sentinels(tmp, replicas=1, durability=(1, "1s") if durability else None)
    d = _daemon(tmp, s, extra_plugins=wa_plugin(graph.base))
    load = Load(d, visitors=visitors)
    time.sleep(settle)
    old = s.primary()
    if fault == "failback":
        _failed_over(s, d, old)
        old = s.primary()
    before = len(load.acked)
    t_fault = time.time()
    if fault in ("failover", "failback"):
        _sentinel_failover(s)
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
    time.sleep(after)
    load.finish()
    primary = s.primary()
    convs, count = _stored(primary.cmd)
    lost, twice = _lost_twice(load, count)
    out = {"acked": len(load.acked), "before": before, "promoted": t_promoted - t_fault,
           "served": served, "lost": lost,
           # when each lost message was first sent and acknowledged, in s
           # from the fault, and where it is stored instead (for a failure
           # that does not come back on demand)
           "lost_detail": [(k, round(load.acked[k][0] - t_fault, 3),
                            round(load.acked[k][1] - t_fault, 3)) for k in lost[:20]],
           "lost_elsewhere": _stored_elsewhere(s, primary, lost),
           "redis_log": [ln for ln in d.log_text().splitlines() if " redis: " in ln][-40:],
           "twice": twice, "switches": d.metric("primary_switches_total"),
           "waits": d.metric("durability_waits_total") if durability else 0,
           "holds": d.metric("primary_holds_total"),
           "conversations": len(convs), "unrouted": _unrouted(primary.cmd, convs)}
    out["rc"] = d.stop()
    _stop_sentinels(s)
    graph.close()
    return out


def sentinel_abort(tmp, settle=3, after=3, visitors=4):
    """A failover that is called off: the replica the sentinels choose
    refuses its promotion (an ACL without REPLICAOF: the sentinel's
    transaction is refused), so the failover ends with
    -failover-abort-slave-timeout (failover-timeout 1.5 s) and the replica
    stays one. The daemon, under load, holds its writes from the choice of
    the replica to the abort, then writes to the primary that stayed.
    Returns acked, before, held (s from the fault to the daemon's hold),
    called_off (s to its resuming), served (s from then to the first
    acknowledgement of a message sent after it), acked_held (messages
    acknowledged while the writes were held, by the log's times), lost,
    twice, holds, switches, rc."""
    os.makedirs(tmp)
    s = omrtest.Sentinels(tmp, replicas=1)
    for port in s.ports:
        omrtest.resp(port, "SENTINEL", "SET", s.master, "failover-timeout", "1500")
    d = _daemon(tmp, s)
    load = Load(d, visitors=visitors, webhooks=False)
    time.sleep(settle)
    primary, replica = s.primary(), [r for r in s.servers if r is not s.primary()][0]
    before = len(load.acked)
    replica.cmd("ACL", "SETUSER", "default", "-replicaof", "-slaveof")
    t_fault = time.time()
    omrtest.resp(s.ports[0], "SENTINEL", "FAILOVER", s.master)
    omrtest.wait_for(lambda: d.metric("primary_holds_total") > 0, timeout=10,
                     what="the daemon holding its writes")
    t_held = time.time()
    omrtest.wait_for(lambda: d.logged_at("called off the failover"), timeout=20,
                     interval=0.05, what="the failover called off")
    t_off = time.time()
    omrtest.wait_for(lambda: load.served_after(t_off) is not None, timeout=30,
                     what="messages acknowledged again after the abort")
    served = load.served_after(t_off)
    # from the hold (and 0.3 s for answers read before it) to the abort
    held_from = d.logged_at("writes are held until") + 0.3
    held_to = d.logged_at("called off the failover")
    with load.lock:
        acked_held = sum(1 for first, a in load.acked.values() if held_from < a < held_to)
    time.sleep(after)
    load.finish()
    lost, twice = _lost_twice(load, _stored(primary.cmd)[1])
    out = {"acked": len(load.acked), "before": before, "held": t_held - t_fault,
           "called_off": t_off - t_fault, "served": served, "acked_held": acked_held,
           "held_window": held_to - held_from, "lost": lost, "twice": twice,
           "holds": d.metric("primary_holds_total"),
           "switches": d.metric("primary_switches_total"),
           "still_primary": s.primary_port() == primary.port}
    out["rc"] = d.stop()
    _stop_sentinels(s)
    return out


def sentinel_stale(tmp, settle=2, after=5, visitors=4):
    """A sentinel that missed a failover: one of the three is killed, the
    primary is failed over (SENTINEL FAILOVER) and the daemon follows; then
    the two that know are killed and the first is started again from its
    configuration file, naming the old primary, now a replica (the others
    would have told it within 2 s; they are gone). The daemon, asking it,
    must stay on the new primary: going back to a primary it left takes a
    majority of the listed sentinels naming it. Returns acked,
    acked_after (acknowledged after the stale sentinel came back),
    stale_named (it named the old primary then and at the end), stale
    (returns refused), switches, lost, twice, rc; then the daemon is
    started again, with only the stale sentinel naming the old primary:
    replica_conns (connections a second the replica it names receives),
    replica_not_primary (times a second it said it is a replica),
    replica_rc."""
    os.makedirs(tmp)
    s = omrtest.Sentinels(tmp, replicas=1)
    d = _daemon(tmp, s)
    load = Load(d, visitors=visitors, webhooks=False)
    time.sleep(settle)
    old = s.primary()
    new = [r for r in s.servers if r is not old][0]
    s.kill_sentinel(2)
    omrtest.resp(s.ports[0], "SENTINEL", "FAILOVER", s.master)
    omrtest.wait_for(lambda: d.metric("primary_switches_total") == 1, timeout=30,
                     what="the daemon followed")
    omrtest.wait_for(lambda: old.cmd("ROLE")[0] == "slave", timeout=30,
                     what="the old primary made a replica")
    s.kill_sentinel(0)
    s.kill_sentinel(1)
    s.start_sentinel(2)

    def stale_names():
        return int(omrtest.resp(s.ports[2], "SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                s.master)[1])
    named = [stale_names()]
    t_back = time.time()
    omrtest.wait_for(lambda: d.metric("primary_stale_total") > 0, timeout=20,
                     what="the daemon asked the stale sentinel")
    time.sleep(after)
    named.append(stale_names())
    load.finish()
    with load.lock:
        acked_after = sum(1 for first, a in load.acked.values() if a > t_back)
    lost, twice = _lost_twice(load, _stored(new.cmd)[1])
    out = {"acked": len(load.acked), "acked_after": acked_after,
           "stale_named": named == [old.port, old.port], "stale": d.metric("primary_stale_total"),
           "switches": d.metric("primary_switches_total"), "lost": lost, "twice": twice,
           "redis_log": [ln for ln in d.log_text().splitlines() if " redis: " in ln][-20:]}
    out["rc"] = d.stop()
    # started again, the daemon knows no primary it left: the stale
    # sentinel names one that says it is a replica (ROLE), every time
    # it is asked; the daemon asks again at its next poll, not at once
    # (a reconnection of each connection every time, in a loop)
    d.start(wait=False)
    omrtest.wait_for(lambda: d.metric("primary_not_primary_total") > 0, timeout=15,
                     what="the restarted daemon told it named a replica")

    def conns():
        return int(old.cmd("INFO", "stats").split("total_connections_received:")[1].split()[0])
    c0, n0, t0 = conns(), d.metric("primary_not_primary_total"), time.time()
    time.sleep(3)
    out["replica_conns"] = (conns() - c0) / (time.time() - t0)
    out["replica_not_primary"] = (d.metric("primary_not_primary_total") - n0) / (time.time() - t0)
    out["replica_rc"] = d.stop()
    _stop_sentinels(s)
    return out


def pick_sites(ranges):
    """Two site names whose slots fall in the first and second ranges."""
    out = []
    for lo, hi in ranges[:2]:
        for i in range(1000):
            name = "site%d" % i
            if lo <= omrtest.cluster_slot(name) <= hi and name not in out:
                out.append(name)
                break
    return out


def cluster_move(tmp, settle=3, after=2, visitors=4):
    """Three primaries with a replica each; two sites on different ones,
    each with its own daemon under chat and webhook load; site A is moved
    (omniroute --move-site) to site B's primary (B keeps serving on the
    shard that takes A in), then that primary fails over (CLUSTER FAILOVER
    on its replica: both sites follow). Returns the figures and what the
    tests check (see test_cluster.py)."""
    cl = omrtest.Cluster(tmp)
    p1, p2, p3 = cl.primaries()[:3]
    ranges = sorted((r[0], r[1]) for r in omrtest.resp(p1, "CLUSTER", "SLOTS"))
    site_a, site_b = pick_sites(ranges)
    slot_a, slot_b = omrtest.cluster_slot(site_a), omrtest.cluster_slot(site_b)
    out = {"sites": (site_a, site_b), "start_owners": (cl.owner(slot_a), cl.owner(slot_b)),
           "want_owners": (p1, p2), "target": p2}
    graph = FakeGraph("EAAG-test-access-token")
    daemons = {}
    for node, site in (("a", site_a), ("b", site_b)):
        d = os.path.join(tmp, node)
        os.makedirs(d)
        daemons[site] = _daemon(d, cl.site(site), node=node,
                                extra_plugins=wa_plugin(graph.base))
    loads = {site: Load(daemons[site], visitors=visitors, tag=site) for site in daemons}
    time.sleep(settle)
    out["both_served"] = all(len(ld.acked) > 0 for ld in loads.values())

    t0 = time.time()
    p = subprocess.run([omrtest.DAEMON, "-c", daemons[site_a].conf, "--move-site",
                        "127.0.0.1:%d" % p2], capture_output=True, text=True, timeout=120)
    t1 = time.time()
    out.update(move_rc=p.returncode, move_output=(p.stdout + p.stderr).strip(),
               move_s=t1 - t0, owner_after=cl.owner(slot_a),
               keys_on_target=int(omrtest.resp(p2, "CLUSTER", "COUNTKEYSINSLOT", slot_a)),
               keys_left=int(omrtest.resp(p1, "CLUSTER", "COUNTKEYSINSLOT", slot_a)))
    omrtest.wait_for(lambda: loads[site_a].served_after(t1) is not None, timeout=30,
                     what="site A acknowledges messages again")
    out["a_served"] = loads[site_a].served_after(t1)
    out["b_gap"] = loads[site_b].gaps(after=t0 - 1)
    time.sleep(after)

    myid = omrtest.resp(p2, "CLUSTER", "MYID")
    replica = [int(ln.split()[1].split("@")[0].split(":")[1])
               for ln in omrtest.resp(p2, "CLUSTER", "NODES").splitlines()
               if "slave" in ln.split()[2] and ln.split()[3] == myid][0]

    def in_sync():
        try:
            info = omrtest.resp(replica, "INFO", "replication") + \
                omrtest.resp(replica, "INFO", "persistence")
        except (OSError, RuntimeError):
            return False   # LOADING: a full resync is being read
        return "master_link_status:up" in info and "loading:0" in info
    # a manual failover needs a replica that has caught up
    omrtest.wait_for(in_sync, timeout=60, what="the replica in sync")
    t2 = time.time()
    out["failover_reply"] = omrtest.resp(replica, "CLUSTER", "FAILOVER")
    omrtest.wait_for(lambda: cl.owner(slot_b) == replica and cl.owner(slot_a) == replica,
                     timeout=30, what="the replica promoted")
    t3 = time.time()
    for ld in loads.values():
        omrtest.wait_for(lambda: ld.served_after(t3) is not None, timeout=30,
                         what="both sites acknowledge messages again")
    out.update(failover_s=t3 - t2, b_served=loads[site_b].served_after(t3),
               a_served_failover=loads[site_a].served_after(t3))
    time.sleep(after)
    for ld in loads.values():
        ld.finish()
    out["per_site"] = {}
    for site, port in ((site_a, replica), (site_b, replica)):
        def cmd(*a, port=port):
            return omrtest.resp(port, *a)
        convs, count = _stored(cmd, site)
        lost, twice = _lost_twice(loads[site], count)
        out["per_site"][site] = {
            "unrouted": _unrouted(cmd, convs, "omr:{%s}:" % site),
            "acked": len(loads[site].acked), "lost": lost, "twice": twice,
            "switches": daemons[site].metric("primary_switches_total"),
        }
        out["per_site"][site]["rc"] = daemons[site].stop()
    p = subprocess.run([omrtest.DAEMON, "-c", daemons[site_a].conf, "--move-site",
                        "127.0.0.1:%d" % replica], capture_output=True, text=True, timeout=60)
    out.update(again_rc=p.returncode, again_output=p.stdout)
    graph.close()
    return out
