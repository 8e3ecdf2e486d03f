"""load: senders that keep sending, each message until it is acknowledged
(same client_msg_id, same wamid), as real clients do; what was
acknowledged and when, for the fault tests (lost, stored twice, how soon
serving again)."""
import threading
import time

from fakes import WhatsAppHook, wa_envelope, wa_text
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
            body = wa_envelope([wa_text(wamid, "whatsapp %d" % k, frm="3161%07d" % (k % 50))])
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
