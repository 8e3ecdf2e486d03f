"""Admission on the webhook and admin listeners (evhttp): a whole-request
deadline that slow senders cannot stretch byte by byte, per-address caps
and rates on new connections (refused by closing them at accept), kept-alive
connections closed when idle, failed admin tokens throttled per address;
everyone else is served meanwhile and the daemon's memory stays bounded.

Attackers use other loopback source addresses (127.0.0.2-6) than the test's
own requests (127.0.0.1), as they would come from other hosts."""
import http.client
import json
import socket
import time

import omrtest
from fakes import meta_signature
from omrtest import check, eq, log, Daemon, Redis, BUILDDIR, TOKEN

SECRET = "test-app-secret-0123"
PHONE_ID = "1098765432"
REQUEST_TIMEOUT = 3.0
IDLE_TIMEOUT = 2.0
SLOW_HOOKS = 150      # slow requests on the webhook port (its max_per_ip)
SLOW_ADMIN = 20       # ... and on the admin port (its max_per_ip)

WHATSAPP = """  - name: whatsapp
    path: %s/plugins/whatsapp/.libs/whatsapp.so
    config:
      app_secret: %s
      verify_token: test-verify-token
      access_token: EAAG-test-access-token
      phone_number_id: "%s"
      api_base: http://127.0.0.1:9
""" % (BUILDDIR, SECRET, PHONE_ID)

ADMISSION = """admission:
  request_timeout: 3s
  idle_timeout: 2s
  webhooks: { max_connections: 1000, max_per_ip: %d }
  admin: { max_per_ip: %d, rate_per_ip: 5, burst_per_ip: 60 }
""" % (SLOW_HOOKS, SLOW_ADMIN)


def connect_from(src, port):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


def is_closed(s):
    """1 when the peer closed (FIN or RST); data sent before is skipped."""
    s.setblocking(False)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def webhook(d, n):
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Kim"}, "wa_id": "31612345678"}],
            "messages": [{"from": "31612345678", "id": "wamid.ADM%04d" % n,
                          "timestamp": "1732531200", "type": "text",
                          "text": {"body": "still there? %d" % n}}]}}]}]}).encode()
    st, reply = d.http("POST", "/webhooks/whatsapp", body=body, auth=False,
                       port=d.ports["webhooks"],
                       headers={"Content-Type": "application/json",
                                "X-Hub-Signature-256": meta_signature(SECRET, body)})
    return st


def admin_from(d, src, path, token):
    c = http.client.HTTPConnection("127.0.0.1", d.ports["admin"], timeout=5,
                                   source_address=(src, 0))
    try:
        c.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Retry-After")
    finally:
        c.close()


def metric(text, name, **labels):
    want = name
    if labels:
        want += "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
    for line in text.splitlines():
        if line.startswith(want + " "):
            return int(line.split()[1])
    return None


def check_auth_throttle(d):
    """Ten wrong tokens a minute per address, then 429 without a look at
    the token; other addresses are not affected."""
    codes = [admin_from(d, "127.0.0.4", "/api/v1/queues", "wrong-token-%02d-xxxx" % i)[0]
             for i in range(10)]
    eq(codes, [401] * 10, "wrong admin tokens: 401")
    st, retry = admin_from(d, "127.0.0.4", "/api/v1/queues", "wrong-token-10-xxxx")
    eq(st, 429, "the 11th wrong token within a minute: 429")
    check(retry is not None and retry.isdigit() and 1 <= int(retry) <= 60,
          "429 says when to retry (Retry-After: %r)" % retry)
    st, _ = admin_from(d, "127.0.0.4", "/api/v1/queues", TOKEN)
    eq(st, 429, "throttled: even the right token is not checked")
    st, _ = admin_from(d, "127.0.0.1", "/api/v1/queues", TOKEN)
    eq(st, 200, "another address is not throttled")
    st, _ = admin_from(d, "127.0.0.4", "/healthz", "x")
    eq(st, 200, "/healthz needs no token and is not throttled")


def check_rate(d):
    """admission.admin.rate_per_ip: a burst of new connections past it is
    closed at accept, without an answer."""
    answered = refused = 0
    for _ in range(100):
        try:
            st, _ = admin_from(d, "127.0.0.3", "/healthz", TOKEN)
            answered += st == 200
        except (ConnectionError, http.client.HTTPException, socket.timeout):
            refused += 1
    log("rate: %d answered, %d refused" % (answered, refused))
    check(55 <= answered <= 90 and refused >= 10,
          "a burst of 100 connections: about burst_per_ip (60) answered, the rest refused")


def slow_requests(src, port, n, body_too=False):
    socks = []
    for i in range(n):
        s = connect_from(src, port)
        if body_too and i % 3 == 0:
            # headers complete, the body trickles
            s.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 1000\r\n\r\n{")
        else:
            s.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        socks.append(s)
    return socks


def check_slow(d):
    pid = d.proc.pid
    rss0 = omrtest.proc_rss_kb(pid)
    cpu0 = omrtest.proc_cpu_s(pid)
    t0 = time.time()
    hooks = slow_requests("127.0.0.2", d.ports["webhooks"], SLOW_HOOKS, body_too=True)
    admins = slow_requests("127.0.0.2", d.ports["admin"], SLOW_ADMIN)
    opened = time.time() - t0
    log("%d slow connections opened in %.2f s" % (len(hooks) + len(admins), opened))

    # past max_per_ip the next connection is closed at once
    extra = [connect_from("127.0.0.2", d.ports["webhooks"]),
             connect_from("127.0.0.2", d.ports["admin"])]
    time.sleep(0.5)
    eq([is_closed(s) for s in extra], [True, True],
       "past max_per_ip a new connection is closed at accept (webhooks, admin)")
    for s in extra:
        s.close()

    live = hooks + admins
    closed_at = {}
    served = []
    rss_peak = rss0
    deadline = t0 + REQUEST_TIMEOUT + 6
    tick = 0
    while len(closed_at) < len(live) and time.time() < deadline:
        for i, s in enumerate(live):
            if i in closed_at:
                continue
            if is_closed(s):
                closed_at[i] = time.time() - t0
                continue
            try:
                s.send(b"a")   # one byte a second: evhttp's own timeout restarts on each
            except OSError:
                closed_at[i] = time.time() - t0
        # everyone else is served meanwhile
        t = time.time()
        served.append((webhook(d, tick), d.http("GET", "/healthz", auth=False)[0],
                       time.time() - t))
        rss_peak = max(rss_peak, omrtest.proc_rss_kb(pid))
        tick += 1
        time.sleep(max(0.0, 1.0 - (time.time() - t)))

    eq(len(closed_at), len(live), "every slow request was cut (%d of %d)" %
       (len(closed_at), len(live)))
    latest = max(closed_at.values()) if closed_at else None
    log("slow requests cut after %.1f-%.1f s" % (min(closed_at.values() or [0]),
                                                   latest or 0))
    check(latest is not None and latest <= opened + REQUEST_TIMEOUT + 2.0,
          "... within request_timeout (3 s) and 2 s of slack (last at %s s)" % latest)
    check(all(ok == 200 and hz == 200 for ok, hz, _ in served),
          "webhooks and /healthz answered during the attack: %r" %
          [(a, b) for a, b, _ in served])
    slowest = max(t for _, _, t in served)
    check(slowest < 1.0, "... promptly (slowest %.3f s)" % slowest)
    cpu = omrtest.proc_cpu_s(pid) - cpu0
    log("daemon: RSS %d kB before, %d kB at most during; %.2f s CPU in %.1f s" %
        (rss0, rss_peak, cpu, time.time() - t0))
    check(rss_peak - rss0 < 16 * 1024, "memory stays bounded (+%d kB)" % (rss_peak - rss0))
    for s in live:
        s.close()
    # every connection cut was let go of: the attacker's address is under its caps again
    for port in (d.ports["webhooks"], d.ports["admin"]):
        s = connect_from("127.0.0.2", port)
        s.sendall(b"GET /nonesuch HTTP/1.1\r\nHost: x\r\n\r\n")
        eq(s.recv(12), b"HTTP/1.1 404", "after the cuts the address is admitted again")
        s.close()


def check_idle(d):
    c = http.client.HTTPConnection("127.0.0.1", d.ports["admin"], timeout=5)
    c.request("GET", "/healthz")
    eq(c.getresponse().read() != b"" and c.sock is not None, True, "a kept-alive connection")
    sock = c.sock
    time.sleep(IDLE_TIMEOUT / 2)
    c.request("GET", "/healthz")
    r = c.getresponse()
    r.read()
    eq((r.status, c.sock is sock), (200, True), "it serves a second request before idle_timeout")
    t0 = time.time()
    while time.time() - t0 < IDLE_TIMEOUT + 3 and not is_closed(sock):
        time.sleep(0.1)
    idle = time.time() - t0
    check(is_closed(sock) and IDLE_TIMEOUT - 0.5 <= idle <= IDLE_TIMEOUT + 1.5,
          "an idle kept-alive connection is closed after idle_timeout (%.1f s)" % idle)
    c.close()


def check_reload(d):
    """A reload changes the limits of new connections."""
    d.params["admission"] = ADMISSION.replace("max_per_ip: %d," % SLOW_ADMIN, "max_per_ip: 2,")
    d.write_conf()
    st, body = d.http("POST", "/api/v1/reload")
    eq((st, body), (200, {"reloaded": True}), "reload with admission.admin.max_per_ip: 2")
    socks = [connect_from("127.0.0.5", d.ports["admin"]) for _ in range(3)]
    time.sleep(0.5)
    eq([is_closed(s) for s in socks], [False, False, True], "the new cap applies")
    for s in socks:
        s.close()


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, log_level="info", extra_plugins=WHATSAPP,
               admission=ADMISSION).start()
    eq(webhook(d, 9999), 200, "a signed webhook is stored")

    check_auth_throttle(d)
    check_rate(d)
    check_slow(d)
    check_idle(d)

    st, text = d.http("GET", "/metrics")
    eq(st, 200, "/metrics")
    text = text if isinstance(text, str) else ""
    timeouts = metric(text, "omniroute_http_request_timeouts_total", listener="webhooks")
    check(timeouts is not None and timeouts >= SLOW_HOOKS,
          "metrics: webhook requests cut by the deadline (%r)" % timeouts)
    timeouts = metric(text, "omniroute_http_request_timeouts_total", listener="admin")
    check(timeouts is not None and timeouts >= SLOW_ADMIN,
          "metrics: admin requests cut by the deadline (%r)" % timeouts)
    for listener in ("webhooks", "admin"):
        n = metric(text, "omniroute_http_refused_total", listener=listener, reason="max_per_ip")
        check(n is not None and n >= 1, "metrics: %s refusals over max_per_ip (%r)" % (listener, n))
    n = metric(text, "omniroute_http_refused_total", listener="admin", reason="rate_per_ip")
    check(n is not None and n >= 20, "metrics: admin refusals over rate_per_ip (%r)" % n)
    n = metric(text, "omniroute_http_idle_closed_total", listener="admin")
    check(n is not None and n >= 1, "metrics: idle connections closed (%r)" % n)
    n = metric(text, "omniroute_http_connections", listener="webhooks")
    eq(n, 0, "metrics: no webhook connection left open")
    n = metric(text, "omniroute_admin_auth_throttled_total")
    check(n is not None and n >= 2, "metrics: throttled admin authentications (%r)" % n)
    check(d.alive(), "the daemon is still running")

    check_reload(d)
    # stopping with connections open: each is closed and let go of once
    held = slow_requests("127.0.0.6", d.ports["webhooks"], 5)
    kept = http.client.HTTPConnection("127.0.0.1", d.ports["admin"], timeout=5)
    kept.request("GET", "/healthz")
    kept.getresponse().read()
    eq(d.stop(), 0, "clean stop with connections open")
    for s in held:
        s.close()
    kept.close()


if __name__ == "__main__":
    omrtest.run(test)
