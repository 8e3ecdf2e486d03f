"""Admission on the edge, before any handshake: connections in all, per
client address and per second per address (admission.edge), each refused
connection counted by reason; a connection that closes makes room again.
And the Origin rules: /agent takes only pages of the edge's own origin
(or clients that send no Origin) unless edge.allowed_origins says
otherwise; /chat takes any origin unless a list is set."""
import re
import socket
import time

import omrtest
from omrtest import check, eq, log, Agent, Daemon, Redis, WebSocket

CHAT = ("/chat", "omniroute.chat.v1")
AGENT = ("/agent", "omniroute.agent.v1")


class EdgeDaemon(Daemon):
    """A daemon with more lines in its edge: section."""

    def __init__(self, *a, edge_extra="", **kw):
        self.edge_extra = edge_extra
        Daemon.__init__(self, *a, **kw)

    def write_conf(self):
        Daemon.write_conf(self)
        marker = "  max_message: 65536\nwebhooks:"
        assert marker in self.text
        self.text = self.text.replace(marker, "  max_message: 65536\n%s\nwebhooks:"
                                      % self.edge_extra)
        with open(self.conf, "w") as f:
            f.write(self.text)


def opens(d, ep, origin=None):
    try:
        WebSocket("127.0.0.1", d.ports["edge"], ep[0], ep[1], origin=origin).close()
        return True
    except (ConnectionError, OSError) as e:
        log("refused: %s %s origin=%s (%s)" % (ep[0], ep[1], origin, e))
        return False


def metrics(d):
    st, text = d.http("GET", "/metrics")
    eq(st, 200, "metrics")
    return text


def metric(text, name, labels=""):
    m = re.search(r"^omniroute_%s%s (\d+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return int(m.group(1)) if m else None


def per_ip(tmp, redis):
    d = Daemon(tmp, redis, node="perip",
               admission=omrtest.admission(edge="{max_per_ip: 5, rate_per_ip: 0}")).start()
    port = d.ports["edge"]
    five = [d.ws() for _ in range(5)]
    check(not opens(d, CHAT), "the 6th websocket from 127.0.0.1 is refused (max_per_ip 5)")
    # a refused connection is closed before any byte is read: plain TCP sees it
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        data = None  # accepted and left waiting for a request
    s.close()
    check(data is not None and (data == b"" or data.startswith(b"HTTP/1.1 429")),
          "... and so is plain TCP (%r)" % (data and data[:40]))
    five.pop().close()
    omrtest.wait_for(lambda: opens(d, CHAT), timeout=5, what="room after a close")
    check(True, "a 6th after one closed is accepted")
    # the other five (four plus the new one's successor) still work
    five[0].send({"type": "ping"})
    eq(five[0].recv_type("pong")["type"], "pong", "connections admitted earlier still work")
    for w in five:
        w.close()
    # every counted-in connection was paired with one leave: all 5 again
    time.sleep(0.3)
    again = []
    omrtest.wait_for(lambda: again.append(d.ws()) or len(again) == 5, timeout=5,
                     what="five connections again")
    check(not opens(d, CHAT), "and a 6th is refused again")
    for w in again:
        w.close()
    text = metrics(d)
    n = metric(text, "ws_refused_total", '{reason="per_ip"}')
    check(n is not None and n >= 3, "refusals per address counted (%r)" % n)
    eq(d.stop(), 0, "clean stop")


def rate_and_origin_list(tmp, redis):
    d = EdgeDaemon(tmp, redis, node="list",
                   edge_extra='  allowed_origins: ["https://console.example"]',
                   admission=omrtest.admission(edge="{rate_per_ip: 1, burst_per_ip: 4}")).start()
    # an explicit list replaces the defaults, for /agent and /chat alike
    check(opens(d, AGENT, "https://console.example"), "list: /agent from a listed origin")
    check(not opens(d, AGENT, "http://127.0.0.1:%d" % d.ports["edge"]),
          "list: /agent from the edge's own origin, not listed, is refused")
    check(not opens(d, CHAT, "https://evil.example"), "list: /chat from an unlisted origin")
    # that was 3 connections of a burst of 4: the next ones come too fast
    results = [opens(d, CHAT, "https://console.example") for _ in range(3)]
    check(False in results, "connections past rate_per_ip/burst_per_ip are refused (%r)" % results)
    time.sleep(1.2)
    check(opens(d, CHAT, "https://console.example"), "after a second there is a token again")
    text = metrics(d)
    n = metric(text, "ws_refused_total", '{reason="rate"}')
    check(n is not None and n >= 1, "refusals for rate counted (%r)" % n)
    n = metric(text, "ws_refused_total", '{reason="origin"}')
    check(n is not None and n >= 2, "refusals for the origin counted (%r)" % n)
    eq(d.stop(), 0, "clean stop")


def origin_any(tmp, redis):
    d = EdgeDaemon(tmp, redis, node="any", edge_extra='  allowed_origins: ["*"]').start()
    check(opens(d, AGENT, "https://evil.example"), '["*"]: /agent from any origin')
    check(opens(d, CHAT, "https://evil.example"), '["*"]: /chat from any origin')
    eq(d.stop(), 0, "clean stop")


def origin_default(tmp, redis):
    d = Daemon(tmp, redis, node="default").start()
    port = d.ports["edge"]
    check(not opens(d, AGENT, "https://evil.example"), "/agent from a foreign origin is refused")
    check(not opens(d, AGENT, "http://localhost:%d" % port),
          "/agent from another host name of the same machine is refused")
    check(not opens(d, AGENT, "http://127.0.0.1:%d" % (port + 1)),
          "/agent from another port is refused")
    check(not opens(d, AGENT, "null"), "/agent from an opaque origin is refused")
    check(opens(d, AGENT, "http://127.0.0.1:%d" % port), "/agent from the edge's own origin")
    check(opens(d, AGENT, "HTTP://127.0.0.1:%d" % port), "... compared without regard to case")
    check(opens(d, AGENT), "/agent without an Origin (not a browser)")
    check(opens(d, CHAT, "https://evil.example"), "/chat from any origin (embedded widgets)")
    a = Agent(d, "alice", "alice")
    eq(a.welcome["type"], "welcome", "an agent without an Origin logs in")
    a.close()
    text = metrics(d)
    n = metric(text, "ws_refused_total", '{reason="origin"}')
    check(n is not None and n >= 4, "refusals for the origin counted (%r)" % n)
    eq(d.stop(), 0, "clean stop")


def test(tmp):
    redis = Redis(tmp)
    origin_default(tmp, redis)
    per_ip(tmp, redis)
    rate_and_origin_list(tmp, redis)
    origin_any(tmp, redis)


omrtest.run(test)
