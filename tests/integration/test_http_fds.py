"""Descriptor exhaustion: with a 1,024-descriptor limit and 1,500 idle
connections to the webhook port (caps off, so that descriptors run out
before any admission limit), the daemon must not spin on accept(): its CPU
time and its log stay small, it warns at start that the limit is low for
its admission limits, and once the connections are gone /healthz and
webhooks are served again."""
import errno
import json
import os
import resource
import socket
import time

import omrtest
from fakes import meta_signature
from omrtest import check, eq, log, wait_for, Daemon, Redis, BUILDDIR

SECRET = "test-app-secret-0123"
PHONE_ID = "1098765432"
LIMIT = 1024
CONNECTIONS = 1500
WINDOW = 10.0

WHATSAPP = """  - name: whatsapp
    path: %s/plugins/whatsapp/.libs/whatsapp.so
    config:
      app_secret: %s
      verify_token: test-verify-token
      access_token: EAAG-test-access-token
      phone_number_id: "%s"
      api_base: http://127.0.0.1:9
""" % (BUILDDIR, SECRET, PHONE_ID)

# no per-address cap and a long deadline: the connections stay and the
# descriptors run out
ADMISSION = """admission:
  request_timeout: 60s
  webhooks: { max_connections: 0, max_per_ip: 0 }
"""


def limit_descriptors():
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


class LimitedDaemon(Daemon):
    def popen_extra(self):
        return {"preexec_fn": limit_descriptors}


def webhook(d, n):
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{
        "id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
            "contacts": [{"profile": {"name": "Kim"}, "wa_id": "31612345678"}],
            "messages": [{"from": "31612345678", "id": "wamid.FD%04d" % n,
                          "timestamp": "1732531200", "type": "text",
                          "text": {"body": "hello %d" % n}}]}}]}]}).encode()
    st, _ = d.http("POST", "/webhooks/whatsapp", body=body, auth=False, port=d.ports["webhooks"],
                   headers={"Content-Type": "application/json",
                            "X-Hub-Signature-256": meta_signature(SECRET, body)})
    return st


def log_lines(d):
    with open(d.logfile, "rb") as f:
        return f.read().count(b"\n")


def open_idle(port, n):
    """n connections, 100 at a time: a burst of SYNs larger than the listen
    backlog is dropped and retried after 1, 3, 7 s, which under a loaded
    machine could leave the daemon with descriptors to spare."""
    socks = []
    for i in range(n):
        s = socket.socket()
        s.setblocking(False)
        rc = s.connect_ex(("127.0.0.1", port))
        if rc not in (0, errno.EINPROGRESS):
            raise OSError(rc, os.strerror(rc))
        socks.append(s)
        if i % 100 == 99:
            time.sleep(0.05)
    return socks


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test(tmp):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < CONNECTIONS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    redis = Redis(tmp)
    d = LimitedDaemon(tmp, redis, log_level="info", extra_plugins=WHATSAPP,
                      admission=ADMISSION).start()
    eq(webhook(d, 0), 200, "a webhook before")
    text = d.log_text()
    check("descriptor limit" in text and "1024" in text,
          "the descriptor limit is logged at start")
    check("is low for" in text, "... with a warning that it is low for the admission limits")

    pid = d.proc.pid
    lines0, cpu0 = log_lines(d), omrtest.proc_cpu_s(pid)
    socks = open_idle(d.ports["webhooks"], CONNECTIONS)
    log("%d idle connections opened" % len(socks))
    wait_for(lambda: open_fds(pid) >= LIMIT - 8, timeout=30,
             what="the daemon out of descriptors")
    time.sleep(WINDOW)
    cpu = omrtest.proc_cpu_s(pid) - cpu0
    lines = log_lines(d) - lines0
    with open(d.logfile, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
    log("out of descriptors for %.0f s: %.2f s CPU, %d log lines (log %d bytes)" %
        (WINDOW, cpu, lines, size))
    check(d.alive(), "the daemon is running")
    check(cpu < 1.5, "no busy loop on accept() (%.2f s CPU in %.0f s)" % (cpu, WINDOW))
    check(lines < 50, "the log stays small (%d lines in %.0f s)" % (lines, WINDOW))
    eq(d.log_text().count("Error from accept() call"), 0, "libevent's accept message is not repeated")

    for s in socks:
        s.close()
    t0 = time.time()
    wait_for(lambda: d.http("GET", "/healthz", auth=False)[0] == 200, timeout=15,
             what="/healthz after the connections closed")
    log("/healthz answered %.2f s after the connections closed" % (time.time() - t0))
    eq(webhook(d, 1), 200, "a webhook after")
    st, text = d.http("GET", "/metrics")
    n = None
    for line in (text if isinstance(text, str) else "").splitlines():
        if line.startswith('omniroute_http_accept_errors_total{listener="webhooks"} '):
            n = int(line.split()[1])
    check(n is not None and n >= 1, "metrics: accept errors counted (%r)" % n)
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
