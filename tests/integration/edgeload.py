"""edgeload: hostile load on the websocket edge, and how the daemon bears it.

Shared by the edge tests (test_edge_flood.py, test_edge_fds.py) and the
benchmark bench/edge_flood.py:

  flood(...)      many websockets, each sending a stream of tiny frames as
                  fast as the daemon takes them (run it in a process of its
                  own: multiprocessing, so that the probes are not slowed by
                  the flooding threads);
  Probe           samples the daemon's RSS and CPU and the latency of
                  GET /healthz on the admin port while something runs;
  rss_kb, cpu_s   /proc readings of one process (omrtest's);
  reopen_closed   open again the idle connections the daemon closed.
"""
import http.client
import multiprocessing
import os
import select
import socket
import struct
import threading
import time

import omrtest

rss_kb = omrtest.rss_kb
cpu_s = omrtest.cpu_s


def reopen_closed(socks, port):
    """Open again, as an attacker would, each of socks (plain TCP to
    127.0.0.1:port) that the daemon closed. Returns how many."""
    reopened = 0
    for i, s in enumerate(socks):
        s.setblocking(False)
        try:
            gone = s.recv(1) == b""
        except BlockingIOError:
            gone = False
        except OSError:
            gone = True
        if gone:
            s.close()
            socks[i] = socket.create_connection(("127.0.0.1", port), timeout=10)
            reopened += 1
    return reopened


def tiny_frames(n, payload=b"1"):
    """n masked text frames of a 1-byte payload: 7 bytes each on the wire."""
    mask = b"\x11\x22\x33\x44"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return (bytes([0x81, 0x80 | len(payload)]) + mask + body) * n


def _close_code(buf):
    """Reads the server's frames (not masked) at the start of buf: the close
    code of the first close frame (1005 for one without a code) or None
    when there is none yet, and what is left of buf after the whole frames
    read (a frame's beginning, so that the next read goes on from there)."""
    while len(buf) >= 2:
        op, n = buf[0] & 0x0f, buf[1] & 0x7f
        hdr = 2
        if n == 126:
            if len(buf) < 4:
                return None, buf
            n, hdr = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None, buf
            n, hdr = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < hdr + n:
            return None, buf
        if op == 0x8:
            return (struct.unpack("!H", buf[hdr:hdr + 2])[0] if n >= 2 else 1005), b""
        buf = buf[hdr + n:]
    return None, buf


class _Conn:
    def __init__(self):
        self.ws = None
        self.sent = 0          # frames handed to the kernel
        self.code = None       # close code received
        self.lost = False      # the connection broke (reset, EOF, refused)
        self.stalled = False   # a send did not complete within the timeout
        self.buf = b""


def flood(port, conns, frames, hello=False, read=True, path="/chat", proto="omniroute.chat.v1",
          chunk_frames=4096, send_timeout=60.0, out=None, tag=0, stop=None):
    """Open `conns` websockets (saying hello first when `hello`), then send
    `frames` tiny frames on each, one thread per connection; unless `read`
    is false (a client that never reads its answers), a reader thread drains
    what the daemon sends and notes close frames.

    The kernel takes the frames long before the daemon reads them, so the
    connections stay open after the last send, as an attacker's would: until
    `stop` (a multiprocessing.Event) is set, or for 2 s without one. With
    `out` (a multiprocessing.Queue), (tag, "sent") is put on it once every
    frame is sent, then (tag, result). The result, also returned: conns
    opened, frames sent, closed (close code -> count), lost (broken without
    a close frame seen), stalled (a send blocked for send_timeout), seconds
    (until the last send)."""
    cs = []
    for _ in range(conns):
        c = _Conn()
        try:
            c.ws = omrtest.WebSocket("127.0.0.1", port, path, proto, timeout=10)
            if hello:
                c.ws.send({"type": "hello", "name": "flood"})
                c.ws.recv_type("welcome")
        except (OSError, omrtest.WebSocketClosed, TimeoutError):
            c.lost = True
            c.ws = None
        cs.append(c)
    live = [c for c in cs if c.ws]
    done = threading.Event()

    def reader():
        socks = {c.ws.sock: c for c in live}
        for c in live:
            c.buf = c.ws.buf
        while socks and not done.is_set():
            r, _, _ = select.select(list(socks), [], [], 0.2)
            for s in r:
                c = socks[s]
                try:
                    data = s.recv(1 << 16)
                except (BlockingIOError, socket.timeout):
                    continue
                except OSError:
                    data = b""
                if not data:
                    c.lost = c.code is None
                    del socks[s]
                    continue
                # only the close frame matters: the whole frames before it
                # are dropped as they come (cutting the buffer anywhere
                # else read a text frame's bytes as a header: the gate saw
                # "close code" 25955, the letters "ec")
                if c.code is None:
                    c.code, c.buf = _close_code(c.buf + data)

    block = tiny_frames(chunk_frames)

    def sender(c):
        c.ws.sock.settimeout(send_timeout)
        left = frames
        try:
            while left > 0 and c.code is None:
                n = min(left, chunk_frames)
                c.ws.sock.sendall(block if n == chunk_frames else block[:7 * n])
                c.sent += n
                left -= n
        except socket.timeout:
            c.stalled = True
        except OSError:
            c.lost = c.code is None

    t0 = time.time()
    rt = threading.Thread(target=reader if read else done.wait, daemon=True)
    rt.start()
    ts = [threading.Thread(target=sender, args=(c,), daemon=True) for c in live]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.time() - t0
    if out is not None:
        out.put((tag, "sent"))
    if stop is not None:
        stop.wait(600)
    else:
        time.sleep(2)
    done.set()
    rt.join()
    closed = {}
    for c in cs:
        if c.code is not None:
            closed[c.code] = closed.get(c.code, 0) + 1
        if c.ws:
            c.ws.sock.close()
    res = {"conns": len(live), "frames": sum(c.sent for c in cs), "closed": closed,
           "lost": sum(1 for c in cs if c.lost and c.code is None),
           "stalled": sum(1 for c in cs if c.stalled), "seconds": elapsed}
    if out is not None:
        out.put((tag, res))
    return res


class Floods:
    """flood() in processes of their own, one per dict of arguments:
    start(), wait_sent() (every frame is with the kernel), then finish()
    (the connections close; the results, in order)."""

    def __init__(self, port, specs):
        self.q = multiprocessing.Queue()
        self.stop = multiprocessing.Event()
        self.procs = [multiprocessing.Process(target=flood, kwargs=dict(
            spec, port=port, out=self.q, tag=i, stop=self.stop)) for i, spec in enumerate(specs)]
        self.results = [None] * len(specs)

    def start(self):
        for p in self.procs:
            p.start()
        return self

    def _get(self, timeout):
        tag, what = self.q.get(timeout=timeout)
        if what != "sent":
            self.results[tag] = what

    def wait_sent(self, timeout=600):
        for _ in self.procs:
            self._get(timeout)

    def finish(self, timeout=600):
        self.stop.set()
        while any(r is None for r in self.results):
            self._get(timeout)
        for p in self.procs:
            p.join()
        return self.results


def ws_metrics(d):
    """The daemon's omniroute_ws_* figures, by name without the prefix."""
    st, text = d.http("GET", "/metrics")
    out = {}
    for line in text.splitlines() if st == 200 else []:
        if line.startswith("omniroute_ws_") and " " in line:
            name, value = line.rsplit(" ", 1)
            out[name[len("omniroute_ws_"):]] = int(value)
    return out


def messages_in(d):
    """omniroute_ws_messages_in_total: messages the edge has taken in."""
    return ws_metrics(d).get("messages_in_total")


def caught_up(d, timeout=300, quick_s=0.1, still_s=1.0):
    """Wait until the daemon has worked through what it was sent (the
    clients are done once the kernel has their bytes): GET /healthz answered
    within quick_s, no connection held by flow control, nothing waiting for
    the core, and no more messages taken in for still_s. Returns the
    seconds waited."""
    t0 = time.time()
    last, since = None, None
    while True:
        if time.time() - t0 > timeout:
            raise TimeoutError("the daemon did not catch up within %.0f s" % timeout)
        t1 = time.perf_counter()
        try:
            st, _ = d.http("GET", "/healthz", auth=False)
            m = ws_metrics(d) if st == 200 and time.perf_counter() - t1 < quick_s else {}
        except OSError:
            m = {}
        idle = m and not m.get("paused") and not m.get("queued_bytes")
        n = m.get("messages_in_total") if idle else None
        if n is None or n != last:
            last, since = n, time.time()
        elif time.time() - since >= still_s:
            return time.time() - t0
        time.sleep(0.1)


class Probe:
    """Samples a daemon while something runs: RSS (peak and last), CPU, and
    the latency of GET /healthz on the admin port (one request at a time;
    a request that takes 3 s shows as 3 s, however the loop is stalled)."""

    def __init__(self, daemon, interval=0.1):
        self.d = daemon
        self.pid = daemon.proc.pid
        self.interval = interval
        self.rss_peak = self.rss_last = rss_kb(self.pid)
        self.lat = []
        self.failures = 0
        self.stop_ev = threading.Event()
        self.threads = []

    def _rss(self):
        while not self.stop_ev.is_set():
            try:
                self.rss_last = rss_kb(self.pid)
            except OSError:
                return
            self.rss_peak = max(self.rss_peak, self.rss_last)
            time.sleep(self.interval)

    def _healthz(self):
        while not self.stop_ev.is_set():
            t0 = time.perf_counter()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.d.ports["admin"], timeout=120)
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                c.close()
                ok = r.status == 200
            except OSError:
                ok = False
            self.lat.append(time.perf_counter() - t0)
            if not ok:
                self.failures += 1
            time.sleep(self.interval)

    def __enter__(self):
        self.cpu0 = cpu_s(self.pid)
        self.t0 = time.time()
        for fn in (self._rss, self._healthz):
            t = threading.Thread(target=fn, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join()
        self.cpu = cpu_s(self.pid) - self.cpu0
        self.seconds = time.time() - self.t0
        return False

    def healthz_max_ms(self):
        return max(self.lat) * 1000 if self.lat else 0

    def healthz_p50_ms(self):
        s = sorted(self.lat)
        return s[len(s) // 2] * 1000 if s else 0
