"""Websocket keep-alive on the edge (edge.ping_interval): a connection
silent for the interval gets a ping; one that answers it stays, however
long; one that answers nothing (a peer gone without a FIN, a client that
never reads) is dropped ping_interval + 10 s after the ping, while the
other connections and the agent on one of them carry on. Counted in
/metrics (ws_pings_total, ws_unanswered_total)."""
import select
import socket
import time

import omrtest
from omrtest import check, eq, Agent, Daemon, Redis, WebSocketClosed


def pings_seen(wss, seconds):
    """Read every websocket of wss for seconds, answering pings; the number
    of pings the first one got. Text messages are kept in ws.texts."""
    n = 0
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([w.sock for w in wss], [], [], max(0, end - time.time()))
        for w in wss:
            if w.sock not in ready:
                continue
            w.sock.settimeout(5)
            op, data = w.recv_frame()
            if op == 0x9:
                n += w is wss[0]
                w.send_frame(0xA, data)
            elif op == 0x1:
                w.texts = getattr(w, "texts", []) + [data]
            elif op == 0x8:
                raise WebSocketClosed(1000, "closed")
    return n


def closed_by_peer(ws, timeout):
    """True when the daemon ends the TCP connection within timeout (the
    socket reads EOF or is reset); what came before is not read."""
    ws.sock.settimeout(timeout)
    try:
        while True:
            if not ws.sock.recv(65536):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, node="ka", edge_extra="  ping_interval: 1s\n").start()
    alice = Agent(d, "alice", "alice")
    eq(alice.welcome["type"], "welcome", "alice logs in")

    # a chat client that answers pings, and one that never reads again
    live = d.ws()
    mute = d.ws()
    mute.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    t0 = time.time()

    n = pings_seen([live, alice.ws], 3.5)
    check(n >= 1, "a silent connection is pinged (%d in 3.5 s, ping_interval 1 s)" % n)
    check(d.metric("ws_pings_total") >= n, "pings counted")

    # the mute one is dropped ping_interval + 10 s after its first ping
    # (about 11 s after it fell silent); the live one is still pinged
    # meanwhile and stays
    n2 = pings_seen([live, alice.ws], 6)
    check(n2 >= 2, "pings go on while the connection answers (%d in 6 s)" % n2)
    eq(d.metric("ws_unanswered_total"), 0, "nothing dropped before ping_interval + 10 s")
    gone = False
    while not gone and time.time() - t0 < 20:
        pings_seen([live, alice.ws], 0.5)
        gone = closed_by_peer(mute, 0.01)
    waited = time.time() - t0
    check(gone, "the connection that answers no ping is dropped (after %.1f s)" % waited)
    # silent from the start: pinged after 1-2 s, dropped 11 s after the ping
    check(waited >= 11, "not before ping_interval + 10 s after its ping (%.1f s)" % waited)
    eq(d.metric("ws_unanswered_total"), 1, "the drop is counted")
    check("answered no ping" in d.log_text(), "the drop is logged")

    # the live client and the agent are unaffected
    pings_seen([live, alice.ws], 0.5)
    live.send({"type": "hello", "name": "Vera"})
    eq(live.recv_type("welcome", timeout=5)["type"], "welcome",
       "the client that answered every ping is still served")
    alice.send({"type": "ping"})
    eq(alice.expect("pong")["type"], "pong", "the agent (answering pings) is still connected")
    alice.close()
    live.close()
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
