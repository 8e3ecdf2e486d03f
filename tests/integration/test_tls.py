"""TLS on every listener (docs/operations.md#tls): the edge (wss:// and
https://), the admin API (with client certificates) and the webhooks, with
real clients (Python's ssl, openssl s_client); TLS 1.0/1.1 refused; a
chat and an agent over wss://; -t names broken files; SIGHUP swaps the
certificate for new connections while open ones carry on; garbage and
stalled handshakes do not hurt the daemon. The certificates (a CA, two
server pairs, a client, a rogue CA and its client) are made now with
openssl."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import http.client

import omrtest
from omrtest import check, eq, log, wait_for, quick_agents, Agent, Daemon, Redis, Visitor, DAEMON


def openssl(d, *args):
    subprocess.run(["openssl"] + list(args), cwd=d, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_pki(d):
    """ca, rogue-ca; server1, server2 (127.0.0.1), client, rogue (client
    of rogue-ca): NAME.pem and NAME.key each."""
    os.makedirs(d)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "rogue-ca"):
        openssl(d, "req", "-x509", *ec, "-keyout", ca + ".key", "-out", ca + ".pem",
                "-days", "2", "-subj", "/CN=omrtest " + ca)
    leaves = (("server1", "omr-one", "ca", "serverAuth"),
              ("server2", "omr-two", "ca", "serverAuth"),
              ("client", "ops", "ca", "clientAuth"),
              ("rogue", "ops", "rogue-ca", "clientAuth"))
    for name, cn, ca, usage in leaves:
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=%s\n" % usage)
        openssl(d, "req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=" + cn)
        openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")
    return lambda name: os.path.join(d, name)


def client_ctx(pki, cert=None):
    ctx = ssl.create_default_context(cafile=pki("ca.pem"))
    if cert:
        ctx.load_cert_chain(pki(cert + ".pem"), pki(cert + ".key"))
    return ctx


def handshake(port, ctx):
    """(protocol version, server certificate's CN) of a new connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
            return s.version(), cn


def old_tls_refused(port):
    """A client that offers only TLS 1.0 and 1.1 gets a protocol_version
    alert from the server (and is not turned away by its own library)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        handshake(port, ctx)
    except ssl.SSLError as e:
        return "PROTOCOL_VERSION" in str(e).upper() or "UNSUPPORTED_PROTOCOL" in str(e).upper()
    return False


def s_client(port, pki, *extra, send=b"GET /healthz HTTP/1.0\r\n\r\n"):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-CAfile", pki("ca.pem"), "-verify_return_error", "-ign_eof",
                        "-servername", "localhost"] + list(extra),
                       input=send, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def https(port, ctx, path, method="GET", headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    r.read()
    c.close()
    return r


def refused(fn):
    """True when fn fails the way a TLS refusal shows: an alert, a reset or
    a closed connection."""
    try:
        fn()
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, OSError):
        return True
    return False


def tls_section(pki, cert="server1", client_ca=False, extra=""):
    s = "  tls:\n    cert: %s\n    key: %s\n" % (pki(cert + ".pem"), pki(cert + ".key"))
    if client_ca:
        s += "    client_ca: %s\n" % pki("ca.pem")
    return s + extra


def up(d):
    try:
        return d.healthy()
    except (OSError, http.client.HTTPException):
        return False


def run_check(conf):
    p = subprocess.run([DAEMON, "-t", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def config_errors(tmp, pki, lpki, d):
    """-t loads every file and names what is wrong, with file:line."""
    with open(os.path.join(tmp, "garbage.pem"), "w") as f:
        f.write("this is no certificate\n")
    cases = (
        ("missing", "cert: %s" % lpki("server.pem"), "cert: %s" % os.path.join(tmp, "nope.pem"),
         ["cannot read the certificate %s: No such file or directory" % os.path.join(tmp, "nope.pem")]),
        ("mismatch", "key: %s" % lpki("server.key"), "key: %s" % pki("server2.key"),
         ["the private key %s does not match the certificate %s" % (pki("server2.key"),
                                                                    lpki("server.pem"))]),
        ("garbage cert", "cert: %s" % lpki("server.pem"), "cert: %s" % os.path.join(tmp, "garbage.pem"),
         ["the certificate %s cannot be used" % os.path.join(tmp, "garbage.pem")]),
        ("garbage key", "key: %s" % lpki("server.key"), "key: %s" % os.path.join(tmp, "garbage.pem"),
         ["the private key %s cannot be used" % os.path.join(tmp, "garbage.pem")]),
        ("garbage CA", "client_ca: %s" % pki("ca.pem"), "client_ca: %s" % os.path.join(tmp, "garbage.pem"),
         ["the client CA file %s cannot be used" % os.path.join(tmp, "garbage.pem")]),
        ("cipher", "    cert: %s" % lpki("server.pem"),
         "    ciphers: NO-SUCH-CIPHER\n    cert: %s" % lpki("server.pem"),
         ["ciphers 'NO-SUCH-CIPHER' names no cipher"]),
        ("version", "    cert: %s" % lpki("server.pem"),
         "    min_version: 1.1\n    cert: %s" % lpki("server.pem"), ["'1.1' is not one of"]),
    )
    rc, err = run_check(d.conf)
    eq(rc, 0, "the TLS configuration passes -t (%s)" % err.strip()[-300:])
    lines = d.text.split("\n")
    for name, old, new, wants in cases:
        if name == "garbage CA" or name == "cipher" or name == "version":
            # the admin section's (the last tls: section)
            at = max(i for i, l in enumerate(lines) if old in l)
        else:
            at = min(i for i, l in enumerate(lines) if old in l)
        bad = list(lines)
        bad[at] = bad[at].replace(old, new)
        path = os.path.join(tmp, "bad-%s.yaml" % name.replace(" ", "-"))
        with open(path, "w") as f:
            f.write("\n".join(bad))
        rc, err = run_check(path)
        eq(rc, 1, "-t %s: exit 1" % name)
        for w in wants:
            check(w in err, "-t %s: says %r (%s)" % (name, w, err.strip()[-400:]))
        check(os.path.basename(path) + ":" in err, "-t %s: file:line (%s)" % (name, err.strip()[-300:]))


def hostile(d, pki):
    """Garbage instead of a ClientHello, and a handshake that stops half
    way, on every listener: each is closed or left alone, and everybody
    else is served meanwhile."""
    stalled = []
    for name in ("edge", "admin", "webhooks"):
        port = d.ports[name]
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(3000))
        try:
            rest = s.recv(4096)
            while rest:
                rest = s.recv(4096)   # an alert at most, then the close
            closed = True
        except ConnectionError:
            closed = True
        except socket.timeout:
            closed = False
        check(closed, "%s: garbage instead of a ClientHello: the connection is closed" % name)
        s.close()
        # a record header that promises more than ever comes
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        stalled.append(s)
    for name in ("edge", "admin", "webhooks"):
        v, cn = handshake(d.ports[name], client_ctx(pki, "client"))
        eq(cn, "omr-one", "%s: serves others while a handshake is stalled" % name)
    st, body = d.http("GET", "/healthz", auth=False)
    eq(st, 200, "admin API answers while handshakes are stalled")
    # the stalled ones are closed in the end (request_timeout on the HTTP
    # listeners, lws's handshake timeout on the edge)
    for name, s in zip(("admin", "webhooks"), stalled[1:]):
        s.settimeout(60)
        try:
            gone = s.recv(100) == b""
        except ConnectionError:
            gone = True
        check(gone, "%s: a stalled handshake is closed in the end" % name)
    for s in stalled:
        s.close()


def test(tmp):
    pki = make_pki(os.path.join(tmp, "pki"))
    # the daemon's files: copies it reads at start and again on SIGHUP
    live = os.path.join(tmp, "live")
    os.makedirs(live)
    for ext in ("pem", "key"):
        shutil.copy(pki("server1." + ext), os.path.join(live, "server." + ext))

    def lpki(name):
        return os.path.join(live, name) if name.startswith("server.") else pki(name)
    redis = Redis(tmp)
    d = Daemon(tmp, redis, agents=quick_agents(), edge_extra=tls_section(lpki, "server"),
               webhooks_extra=tls_section(lpki, "server"),
               admin_extra=tls_section(lpki, "server", client_ca=True),
               client_tls=client_ctx(pki, "client"))
    config_errors(tmp, pki, lpki, d)
    # every health check is a whole handshake with a client certificate:
    # not every 20 ms (slow under valgrind)
    for attempt in range(3):
        d.start(wait=False)
        try:
            wait_for(lambda: up(d), timeout=240 if os.environ.get("OMR_VALGRIND") else 60,
                     interval=0.5, what="the daemon is healthy")
            break
        except TimeoutError:
            if d.alive() or "cannot listen on" not in d.log_text() or attempt == 2:
                raise
            log("a port was taken before the daemon bound it: new ports")
            d.stop()
            d.ports = d.new_ports()
            d.write_conf()
    log("started with TLS on every listener")

    # ---- handshakes: Python's ssl and openssl s_client
    for name in ("edge", "admin", "webhooks"):
        v, cn = handshake(d.ports[name], client_ctx(pki, "client"))
        check(v in ("TLSv1.2", "TLSv1.3"), "%s: handshake (%s)" % (name, v))
        eq(cn, "omr-one", "%s: our certificate" % name)
        tls12 = client_ctx(pki, "client")
        tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        v, cn = handshake(d.ports[name], tls12)
        eq(v, "TLSv1.2", "%s: TLS 1.2 accepted" % name)
        check(old_tls_refused(d.ports[name]), "%s: TLS 1.0 and 1.1 refused" % name)
        extra = ["-cert", pki("client.pem"), "-key", pki("client.key")] if name == "admin" else []
        rc, out = s_client(d.ports[name], pki, *extra)
        eq(rc, 0, "%s: openssl s_client connects (%s)" % (name, out[-300:]))
        check("Verify return code: 0 (ok)" in out, "%s: s_client verifies the chain" % name)
        check("HTTP/1." in out, "%s: s_client gets an HTTP answer" % name)
        rc, out = s_client(d.ports[name], pki, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", *extra)
        check(rc != 0 and "alert protocol version" in out,
              "%s: s_client -tls1_1 refused (%s)" % (name, out[-200:]))

    # ---- the edge: HTTP/1.1 only (a websocket is a connection of its own),
    # HTTPS with HSTS, wss:// chat and agent
    alpn = client_ctx(pki)
    alpn.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", d.ports["edge"]), timeout=10) as raw:
        with alpn.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            eq(s.selected_alpn_protocol(), "http/1.1", "edge: HTTP/1.1 chosen over h2")
    r = https(d.ports["edge"], client_ctx(pki), "/console/")
    eq(r.status, 200, "console over HTTPS")
    check((r.getheader("Strict-Transport-Security") or "").startswith("max-age="),
          "HSTS on the console (%r)" % r.getheader("Strict-Transport-Security"))
    alice = Agent(d, "alice")
    eq(alice.welcome["type"], "welcome", "an agent logs in over wss://")
    tess = Visitor(d, name="Tess")
    ack = tess.say("hello over TLS")
    eq(ack["type"], "ack", "a chat message over wss:// is stored")
    conv = ack["conversation"]
    offer = alice.offer_for(conv)
    eq(alice.accept(offer["offer"])["type"], "assigned", "the agent takes it over wss://")
    eq(alice.reply(conv, "hi Tess")["type"], "ack", "the agent answers")
    eq(tess.ws.recv_type("message")["text"], "hi Tess", "the visitor reads it over wss://")

    # ---- admin: the API over HTTPS, client certificates
    eq(d.api("/api/v1/queues") is not None, True, "admin API over HTTPS with a client certificate")
    check(refused(lambda: https(d.ports["admin"], client_ctx(pki), "/healthz")),
          "admin: no client certificate, refused")
    check(refused(lambda: https(d.ports["admin"], client_ctx(pki, "rogue"), "/healthz")),
          "admin: a client certificate of another CA, refused")
    # omnictl: the CA and the client certificate from the environment
    env = {"PATH": os.environ.get("PATH", ""), "OMNIROUTE_URL": "https://127.0.0.1:%d" % d.ports["admin"],
           "OMNIROUTE_TOKEN": omrtest.TOKEN, "OMNIROUTE_CACERT": pki("ca.pem"),
           "OMNIROUTE_CERT": pki("client.pem"), "OMNIROUTE_KEY": pki("client.key")}
    omnictl = os.path.join(omrtest.BUILDDIR, "omnictl")
    p = subprocess.run([omnictl, "--config", "/dev/null", "queues"], env=env, capture_output=True,
                       timeout=60)
    eq(p.returncode, 0, "omnictl over HTTPS with a client certificate (%s)" % p.stderr[-300:])
    env.pop("OMNIROUTE_CERT")
    env.pop("OMNIROUTE_KEY")
    p = subprocess.run([omnictl, "--config", "/dev/null", "queues"], env=env, capture_output=True,
                       timeout=60)
    check(p.returncode != 0, "omnictl without the client certificate is refused (%s)" % p.stderr[-200:])
    eq(https(d.ports["webhooks"], client_ctx(pki), "/nothing").status, 404,
       "webhooks ask for no client certificate")

    hostile(d, pki)
    st, text = d.http("GET", "/metrics")
    until = int(ssl.cert_time_to_seconds(ssl._ssl._test_decode_cert(pki("server1.pem"))["notAfter"]))
    for name in ("edge", "admin", "webhooks"):
        eq(re.search(r'^omniroute_tls_not_after_seconds\{listener="%s"\} (\d+)$' % name, text,
                     re.M).group(1), str(until), "%s: the certificate's end on /metrics" % name)
        # made for 2 days: 1 or 2 whole days left, by when it was made and read
        check(re.search(r"%s: tls: the certificate %s expires in [12] day\(s\)"
                        % (name, re.escape(lpki("server.pem"))), d.log_text()),
              "%s: a certificate that ends soon is warned about" % name)
    for name in ("admin", "webhooks"):
        m = re.search(r'^omniroute_http_tls_failed_total\{listener="%s"\} (\d+)$' % name, text, re.M)
        check(m and int(m.group(1)) >= 2, "%s: failed handshakes counted (%s)" % (name, m and m.group(0)))

    # ---- SIGHUP with a new certificate: new connections get it, open ones carry on
    keep = http.client.HTTPSConnection("127.0.0.1", d.ports["admin"], timeout=10,
                                       context=client_ctx(pki, "client"))
    keep.request("GET", "/healthz")
    first = keep.getresponse()
    first.read()
    eq(first.status, 200, "a kept-alive admin connection")
    old_cn = dict(x[0] for x in keep.sock.getpeercert()["subject"])["commonName"]
    alice.send({"type": "ping"})
    alice.expect("pong")
    for ext in ("pem", "key"):
        shutil.copy(pki("server2." + ext), os.path.join(live, "server." + ext) + ".new")
        os.rename(os.path.join(live, "server." + ext) + ".new", os.path.join(live, "server." + ext))
    at = len(d.log_text())
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: d.log_text()[at:].count("TLS for new connections with certificate CN=omr-two") >= 3,
             what="every listener took the new certificate")
    for name in ("edge", "admin", "webhooks"):
        v, cn = handshake(d.ports[name], client_ctx(pki, "client"))
        eq(cn, "omr-two", "%s: a new connection sees the new certificate" % name)
    keep.request("GET", "/healthz")
    eq(keep.getresponse().status, 200, "the admin connection opened before still works")
    eq(old_cn, "omr-one", "... with the certificate it began with")
    alice.send({"type": "ping"})
    eq(alice.expect("pong")["type"], "pong", "the agent's wss:// connection opened before works")
    eq(alice.reply(conv, "still here")["type"], "ack", "... and carries replies")
    eq(tess.ws.recv_type("message")["text"], "still here", "the visitor's old connection too")
    keep.close()

    # ---- a reload with a key that does not match is refused; the old pair stays
    shutil.copy(pki("server1.key"), os.path.join(live, "server.key"))
    at = len(d.log_text())
    d.send_signal(signal.SIGHUP)
    # the refusal and its reason are separate log lines: wait for the reason
    wait_for(lambda: "does not match the certificate" in d.log_text()[at:],
             what="the reload says why")
    check("keeping the running configuration" in d.log_text()[at:], "the reload is refused")
    for name in ("edge", "admin", "webhooks"):
        v, cn = handshake(d.ports[name], client_ctx(pki, "client"))
        eq(cn, "omr-two", "%s: still the pair that was loaded" % name)
    shutil.copy(pki("server2.key"), os.path.join(live, "server.key"))

    # ---- min_version 1.3 on a reload: TLS 1.2 clients refused from then on
    d.params["webhooks_extra"] = tls_section(lpki, "server", extra="    min_version: 1.3\n")
    d.write_conf()
    at = len(d.log_text())
    d.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration from" in d.log_text()[at:], what="reload applied")
    tls12 = client_ctx(pki)
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    check(refused(lambda: handshake(d.ports["webhooks"], tls12)),
          "webhooks: min_version 1.3 refuses TLS 1.2")
    eq(handshake(d.ports["webhooks"], client_ctx(pki))[0], "TLSv1.3", "... and takes 1.3")

    alice.close()
    tess.close()
    eq(d.stop(), 0, "clean stop")


if __name__ == "__main__":
    omrtest.run(test)
