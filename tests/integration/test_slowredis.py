"""Redis stalls for 8 s (CLIENT PAUSE) under chat and webhook load.

The senders are told to come back (chat `retry`, webhook 503) instead of
waiting in buffers that grow; /healthz says why it is unhappy within a
second or so; memory stays flat; serving resumes within a second of the
unpause; and everything that was acknowledged is stored, once.
"""
import json
import threading
import time

import omrtest
from fakes import meta_signature
from omrtest import check, eq, log, wait_for, Daemon, Redis, Visitor, BUILDDIR

SECRET = "test-app-secret-0123"
PHONE_ID = "1098765432"
PREFIX = "omr:{main}:"


def whatsapp():
    return """  - name: whatsapp
    path: %s/plugins/whatsapp/.libs/whatsapp.so
    config:
      app_secret: %s
      verify_token: test-verify-token
      access_token: EAAG-test-access-token
      phone_number_id: "%s"
      api_base: http://127.0.0.1:9
""" % (BUILDDIR, SECRET, PHONE_ID)


def webhook_body(wamid, text):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
             "contacts": [{"profile": {"name": "K"}, "wa_id": "316" + wamid[-8:]}],
             "messages": [{"from": "316" + wamid[-8:], "id": wamid, "timestamp": "1732531200",
                           "type": "text", "text": {"body": text}}]}
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "changes": [{"value": value,
                                                          "field": "messages"}]}]}).encode()


class Load:
    """Chat visitors and a webhook sender, each resending until acknowledged,
    as real senders do; records every answer."""

    def __init__(self, d, visitors=10):
        self.d = d
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}        # (kind, id) -> message id
        self.answers = {}      # answer -> count
        self.during = {}       # answers to requests sent and answered while paused
        self.pause = (0, 0)    # when Redis stalled and came back
        self.threads = [threading.Thread(target=self.chat, args=(i,), daemon=True)
                        for i in range(visitors)]
        self.threads.append(threading.Thread(target=self.hooks, daemon=True))

    def note(self, what, sent):
        now = time.time()
        with self.lock:
            self.answers[what] = self.answers.get(what, 0) + 1
            start, end = self.pause
            # well inside the 8 s pause: no answer could have been stored
            if start and sent >= start + 0.05 and now <= start + 7.5:
                self.during[what] = self.during.get(what, 0) + 1

    def chat(self, i):
        v = Visitor(self.d, source="127.0.5.%d" % (i + 1))
        n = 0
        while not self.stop.is_set():
            n += 1
            cmid = "v%d-%d" % (i, n)
            while not self.stop.is_set():
                sent = time.time()
                try:
                    m = v.say("message %s" % cmid, cmid=cmid)
                except Exception:
                    self.note("chat:closed", sent)
                    return
                if m["type"] == "ack":
                    with self.lock:
                        self.acked[("chat", cmid)] = (v.id, m["message"])
                    self.note("chat:ack", sent)
                    break
                self.note("chat:" + m.get("code", "?"), sent)
                time.sleep(0.2)

    def hooks(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            wamid = "wamid.SLOW%08d" % n
            body = webhook_body(wamid, "hook %d" % n)
            while not self.stop.is_set():
                sent = time.time()
                try:
                    st, _ = self.d.http("POST", "/webhooks/whatsapp", body=body, auth=False,
                                        port=self.d.ports["webhooks"],
                                        headers={"Content-Type": "application/json",
                                                 "X-Hub-Signature-256":
                                                     meta_signature(SECRET, body)})
                except Exception:
                    st = "timeout"
                self.note("hook:%s" % st, sent)
                if st == 200:
                    with self.lock:
                        self.acked[("hook", wamid)] = None
                    break
                time.sleep(0.2)

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test(tmp):
    redis = Redis(tmp)
    d = Daemon(tmp, redis, extra_plugins=whatsapp(), log_level="info",
               webchat_extra="      rate_per_min: 60000\n      burst: 1000").start()
    pid = d.proc.pid
    load = Load(d)
    load.start()
    time.sleep(2)
    rss0 = omrtest.rss_kb(pid)

    redis.cmd("CLIENT", "PAUSE", "8000", "ALL")
    paused_at = time.time()
    load.pause = (paused_at, 0)
    # /healthz says why, within a second or two
    reason = None
    while time.time() - paused_at < 6:
        st, body = d.http("GET", "/healthz", auth=False)
        if st == 503 and isinstance(body, dict) and "has not answered" in body.get("reason", ""):
            reason = body["reason"]
            break
        time.sleep(0.1)
    noticed = time.time() - paused_at
    log("healthz during the pause: %r after %.1f s" % (reason, noticed))
    check(reason is not None, "/healthz answers 503 with the reason while Redis stalls")
    check(noticed < 3, "within a few seconds of the stall (%.1f s)" % noticed)
    rss_peak = rss0
    while time.time() - paused_at < 8.2:
        rss_peak = max(rss_peak, omrtest.rss_kb(pid))
        time.sleep(0.2)
    # Redis answers again: the pause ends on its own at 8 s
    redis.cmd("PING")
    unpaused = time.time()
    load.pause = (paused_at, unpaused)
    v = Visitor(d, source="127.0.5.200")
    m = v.say("after the pause")
    resumed = time.time() - unpaused
    eq(m["type"], "ack", "a new message is stored after the pause")
    log("first new message acknowledged %.2f s after the unpause" % resumed)
    check(resumed < 1.0, "serving resumes within 1 s of the unpause (%.2f s)" % resumed)
    time.sleep(2)
    load.finish()

    log("answers: %s" % json.dumps(load.answers, sort_keys=True))
    log("answers while paused: %s" % json.dumps(load.during, sort_keys=True))
    check(load.during.get("chat:retry", 0) > 0, "chat senders were told to retry")
    check(load.during.get("hook:503", 0) > 0, "webhooks were answered 503")
    check(load.during.get("chat:ack", 0) == 0 and load.during.get("hook:200", 0) == 0,
          "nothing was acknowledged while Redis could not store it")
    log("RSS %d KiB before, %d KiB at most during the pause" % (rss0, rss_peak))
    check(rss_peak - rss0 < 32 * 1024, "memory stayed flat (+%d KiB)" % (rss_peak - rss0))

    # everything acknowledged is stored, once
    lost = dup = 0
    for (kind, key), val in load.acked.items():
        if kind == "chat":
            visitor, mid = val
            stored = redis.cmd("HGET", PREFIX + "msg:" + mid, "channel_msg_id")
            if stored != "%s:%s" % (visitor, key):
                lost += 1
        else:
            if not redis.cmd("GET", PREFIX + "dedup:whatsapp:" + key):
                lost += 1
    for kind in ("webchat", "whatsapp"):
        keys = redis.cmd("KEYS", PREFIX + "dedup:%s:*" % kind)
        msgs = [redis.cmd("GET", k) for k in keys]
        dup += len(msgs) - len(set(msgs))
    log("%d acknowledged: %d lost, %d stored twice" % (len(load.acked), lost, dup))
    check(len(load.acked) > 50, "the load was real (%d acknowledged)" % len(load.acked))
    eq(lost, 0, "nothing acknowledged was lost")
    eq(dup, 0, "nothing was stored twice")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
