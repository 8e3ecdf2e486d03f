"""Hostile input on every listener: each gets a clear error (or a close code
that names the problem), the daemon keeps running, and what was accepted
before is untouched."""
import http.client
import socket
import struct

import omrtest
from omrtest import check, eq, log, Daemon, Redis, Visitor, WebSocket, WebSocketClosed


def error_code(ws, payload):
    ws.send(payload)
    m = ws.recv_type("error")
    return m["code"]


def raw_http(port, data, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    s.close()
    return out


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, webchat_extra="      max_message: 4096\n      burst: 5\n      rate_per_min: 60").start()

    # the test clock is off unless the configuration turns it on: no such endpoint
    st, body = d.http("POST", "/api/v1/debug/clock", {"advance_ms": 86400000})
    eq((st, body["error"]["code"]), (404, "not_found"), "no test clock on a normal daemon")

    # something accepted before the abuse starts
    good = Visitor(d, name="Good")
    gack = good.say("I was here first")
    eq(gack["type"], "ack", "baseline message accepted")

    # ---- /chat protocol errors: answered with an error, connection stays
    v = d.ws()
    eq(error_code(v, "this is not json"), "bad_json", "not JSON -> bad_json")
    eq(error_code(v, "[1,2,3]"), "bad_json", "JSON array -> bad_json")
    eq(error_code(v, '{"type":'), "bad_json", "truncated JSON -> bad_json")
    eq(error_code(v, '{"type":"hello","type":"message"}'), "bad_json", "duplicate keys -> bad_json")
    eq(error_code(v, '{"kind":"hello"}'), "bad_type", "no type -> bad_type")
    eq(error_code(v, '{"type":42}'), "bad_type", "numeric type -> bad_type")
    eq(error_code(v, '{"type":"launch_missiles"}'), "unknown_type", "unknown type")
    eq(error_code(v, {"type": "message", "text": "hi", "client_msg_id": "x1"}), "hello_first",
       "message before hello")
    v.send({"type": "hello", "email": "not-an-email"})
    eq(v.recv_type("error")["code"], "bad_profile", "bad email in hello")
    v.send({"type": "hello", "name": "Mallory", "visitor": "../../etc", "token": "x"})
    w = v.recv_type("welcome")
    check(w["visitor"].startswith("v_"), "hostile visitor id replaced by a fresh one")
    eq(error_code(v, {"type": "hello"}), "already_hello", "second hello refused")
    eq(error_code(v, {"type": "message", "text": "hi", "client_msg_id": "a b"}),
       "bad_client_msg_id", "client_msg_id with a space")
    eq(error_code(v, {"type": "message", "text": "hi", "client_msg_id": "x" * 65}),
       "bad_client_msg_id", "client_msg_id too long")
    eq(error_code(v, {"type": "message", "text": "hi"}), "bad_client_msg_id", "no client_msg_id")
    eq(error_code(v, {"type": "message", "text": "", "client_msg_id": "e1"}), "bad_text",
       "empty text")
    eq(error_code(v, {"type": "message", "text": 5, "client_msg_id": "e2"}), "bad_text",
       "numeric text")
    # text within the frame limit but over limits.text_max is refused by the core
    v.send({"type": "message", "text": "\u00e9" * 500, "client_msg_id": "ok1"})
    eq(v.recv_type("ack")["type"], "ack", "1000-byte UTF-8 text accepted")
    # rate limit: burst of 5 per connection (2 used above... by acks) then refused
    codes = []
    for i in range(8):
        v.send({"type": "message", "text": "spam %d" % i, "client_msg_id": "s%d" % i})
        m = v.recv()
        while m["type"] not in ("ack", "error"):
            m = v.recv()
        codes.append(m.get("code", "ack"))
    check("rate_limited" in codes, "flood is rate limited (%s)" % codes)
    v.send({"type": "ping"})
    eq(v.recv_type("pong")["type"], "pong", "connection still usable after errors")
    v.close()

    # ---- websocket-level abuse: the connection is closed with a code
    v = d.ws()
    v.send_frame(0x1, b'{"type":"hello","name":"\xff\xfe"}')
    eq(v.expect_close(), 1007, "invalid UTF-8 closes with 1007")

    v = d.ws()
    v.send_frame(0x2, b"\x00\x01binary")
    eq(v.expect_close(), 1003, "binary frame closes with 1003")

    v = d.ws()
    v.send_frame(0x1, b'{"type":"ping","pad":"' + b"a" * 5000 + b'"}')
    eq(v.expect_close(), 1009, "oversized message closes with 1009")

    v = d.ws()  # the same, split into fragments
    v.send_frame(0x1, b'{"type":"ping","pad":"' + b"a" * 3000, fin=False)
    v.send_frame(0x0, b"a" * 3000 + b'"}', fin=True)
    eq(v.expect_close(), 1009, "oversized fragmented message closes with 1009")

    v = d.ws()
    v.send_frame(0x1, b'{"type":"ping"}', mask=False)
    check(v.expect_close() in (1002, None, 1006), "unmasked client frame is a protocol error")

    for proto, path in (("omniroute.nope.v1", "/chat"), (None, "/chat"),
                        ("omniroute.chat.v1", "/other")):
        try:
            WebSocket("127.0.0.1", d.ports["edge"], path, proto).close()
            check(False, "handshake %s %s refused" % (path, proto))
        except (ConnectionError, OSError) as e:
            check(True, "handshake %s %s refused (%s)" % (path, proto, e))

    # garbage instead of HTTP on the edge port
    raw_http(d.ports["edge"], b"\x16\x03\x01\x02\x00garbage\r\n\r\n")
    raw_http(d.ports["edge"], b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    st = raw_http(d.ports["edge"], b"GET /console/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
    check(b"root:" not in st, "no path traversal out of a static mount")

    # ---- admin and webhook HTTP listeners
    big = "x" * 70000
    for port, name in ((d.ports["admin"], "admin"), (d.ports["webhooks"], "webhooks")):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/api/v1/reload", body=big,
                  headers={"Authorization": "Bearer " + omrtest.TOKEN})
        r = c.getresponse()
        r.read()
        check(r.status in (413, 400), "%s: oversized body refused (%d)" % (name, r.status))
        c.close()
        out = raw_http(port, b"NONSENSE\r\n\r\n")
        check(out == b"" or b" 400 " in out or b" 405 " in out, "%s: garbage request refused" % name)
        out = raw_http(port, b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n")
        check(b" 400 " in out or b" 404 " in out, "%s: non-UTF-8 path refused" % name)
        out = raw_http(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 20000 +
                       b"\r\n\r\n")
        check(out == b"" or b" 400 " in out or b" 413 " in out or b" 431 " in out,
              "%s: oversized headers refused" % name)
        out = raw_http(port, b"PATCH / HTTP/1.1\r\nHost: x\r\n\r\n")
        check(b" 405 " in out or b" 501 " in out or b" 400 " in out, "%s: odd method refused" % name)
    st, body = d.http("GET", "/api/v1/conversations/%00abc")
    check(st in (400, 404), "NUL in a conversation id refused (%d)" % st)
    st, body = d.http("GET", "/api/v1/conversations?status=%00")
    eq(st, 400, "NUL in a query parameter refused")
    st, body = d.http("GET", "/api/v1/conversations?limit=abc")
    eq(st, 400, "non-numeric limit refused")
    st, body = d.http("GET", "/api/v1/conversations/" + "a" * 5000)
    eq(st, 404, "absurd id -> 404")
    st, body = d.http("GET", "/webhooks/nothing", auth=False, port=d.ports["webhooks"])
    eq(st, 404, "unknown webhook -> 404")

    # ---- still alive, and nothing accepted was lost
    check(d.alive(), "daemon still running")
    st, body = d.http("GET", "/healthz", auth=False)
    eq(st, 200, "still healthy")
    c = d.conversation(gack["conversation"])
    eq([m["text"] for m in c["messages"]], ["I was here first"], "earlier message intact")
    eq(good.say("still here?")["type"], "ack", "an old connection still works")
    eq(d.stop(), 0, "clean stop after the abuse")


omrtest.run(test)
