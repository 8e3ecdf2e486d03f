// Load generator of bench/route_bench.py: agents who accept every offer and
// visitors who each open new conversations, over the daemon's websockets.
//
//   node load.mjs route  PORT TOKENS_FILE --seconds S (--rate R | --inflight W)
//   node load.mjs relay  PORT TOKENS_FILE --seconds S --window K
//   node load.mjs idle   PORT TOKENS_FILE --hold S     (agents only; prints
//                        when every agent is logged in, again after each
//                        reconnect, until S seconds pass or stdin closes)
//
// TOKENS_FILE holds one agent login token per line. Results are one JSON
// line on stdout; progress goes to stderr.
//
// route: a conversation is counted when its offer reaches an agent's
// socket; its latency runs from the visitor's message to that moment. The
// agent then accepts, closes and wraps it up; the visitor (connection)
// that opened it opens the next one (a web chat visitor's next message
// after a close is a new conversation).
import { readFileSync } from "node:fs";
import WebSocket from "ws";

const [mode, port, tokensFile, ...rest] = process.argv.slice(2);
const opt = {};
for (let i = 0; i < rest.length; i += 2) opt[rest[i].replace(/^--/, "")] = Number(rest[i + 1]);
const tokens = readFileSync(tokensFile, "utf8").split("\n").filter(Boolean);
const base = `ws://127.0.0.1:${port}`;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const log = (...a) => process.stderr.write(a.join(" ") + "\n");

// socket errors: the first few are shown, the rest counted (a daemon
// restart in the idle phase resets every agent's socket, as it should)
let wsErrors = 0;
// frames and bytes received, per socket kind and frame type ("agent:offer"):
// what the generator itself has to read for each conversation
const frames = {};
function open(path, proto, onmsg) {
  const ws = new WebSocket(base + path, proto, { perMessageDeflate: false });
  const kind = path.replace(/^\//, "");
  ws.on("message", (data) => {
    const m = JSON.parse(data);
    const f = (frames[kind + ":" + m.type] ||= { n: 0, bytes: 0 });
    f.n++;
    f.bytes += data.length;
    onmsg(m);
  });
  ws.on("error", (e) => {
    if (++wsErrors <= 5) log("ws error", path, e.message);
    else if (wsErrors % 5000 === 0) log(`${wsErrors} socket errors so far`);
  });
  return ws;
}
const send = (ws, o) => ws.readyState === 1 && ws.send(JSON.stringify(o));

// ---- agents
const agents = [];
function agent(token, handlers) {
  return new Promise((resolve) => {
    const a = { token, ws: null, ready: false };
    const connect = () => {
      a.ws = open("/agent", "omniroute.agent.v1", (m) => {
        if (m.type === "welcome") {
          a.welcomed = true;
          send(a.ws, { type: "presence", status: "available" });
        } else if (m.type === "presence" && !a.ready && m.status === "available") {
          a.ready = true;
          a.readyAt = now();
          resolve(a);
          handlers.ready?.(a);
        } else if (m.type === "error" && !a.ready && !a.welcomed) {
          // busy / rate limited at log-in: try again shortly
          setTimeout(() => send(a.ws, { type: "auth", token }), 200 + Math.random() * 300);
        } else if (handlers[m.type]) {
          handlers[m.type](a, m);
        }
      });
      a.ws.on("open", () => send(a.ws, { type: "auth", token }));
      a.ws.on("close", () => {
        a.ready = false;
        a.welcomed = false;
        if (!stopping) setTimeout(connect, 200 + Math.random() * 300);
      });
    };
    connect();
    agents.push(a);
  });
}

// ---- visitors
function visitor(onmsg) {
  return new Promise((resolve) => {
    const v = { ws: null, n: 0 };
    v.ws = open("/chat", "omniroute.chat.v1", (m) => {
      if (m.type === "welcome") resolve(v);
      else onmsg(v, m);
    });
    v.ws.on("open", () => send(v.ws, { type: "hello", name: "bench" }));
  });
}

let stopping = false;
const pct = (a, p) => {
  if (!a.length) return null;
  const s = Float64Array.from(a).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function route() {
  const sentAt = new Map();   // client_msg_id -> time
  const convSent = new Map(); // conversation -> time the visitor wrote
  const early = new Map();    // conversation -> offer time (offer before ack)
  const owner = new Map();    // conversation -> visitor
  const lat = [];
  let routed = 0, offers = 0, errors = 0, counting = false;
  const idle = [];
  let cmid = 0;

  const record = (conv, at) => {
    const t = convSent.get(conv);
    if (t === undefined) { early.set(conv, at); return; }
    convSent.delete(conv);
    if (counting) { lat.push(at - t); routed++; }
  };
  const handlers = {
    offer: (a, m) => {
      offers++;
      record(m.conversation.id, now());
      send(a.ws, { type: "accept", offer: m.offer });
    },
    assigned: (a, m) => send(a.ws, { type: "close", conversation: m.conversation.id }),
    status: (a, m) => m.status === "wrapup" &&
      send(a.ws, { type: "wrapup", conversation: m.conversation, reason: "other", outcome: "resolved" }),
    unassigned: (a, m) => {
      const v = owner.get(m.conversation);
      owner.delete(m.conversation);
      if (v) next(v);
    },
    error: (a, m) => { errors++; if (errors < 5) log("agent error", JSON.stringify(m)); },
  };
  const onVisitor = (v, m) => {
    if (m.type === "ack") {
      const t = sentAt.get(m.client_msg_id);
      sentAt.delete(m.client_msg_id);
      owner.set(m.conversation, v);
      const e = early.get(m.conversation);
      if (e !== undefined) { early.delete(m.conversation); if (counting) { lat.push(e - t); routed++; } }
      else convSent.set(m.conversation, t);
    } else if (m.type === "error") {
      errors++;
      if (errors < 5) log("visitor error", JSON.stringify(m));
      idle.push(v);
    }
  };
  const write = (v) => {
    const id = "r" + ++cmid;
    sentAt.set(id, now());
    send(v.ws, { type: "message", text: "I have a question about my invoice", client_msg_id: id });
  };
  let next; // what a visitor does when its conversation is done
  await Promise.all(tokens.map((t) => agent(t, handlers)));
  const nvis = opt.inflight || Math.max(50, Math.ceil((opt.rate || 100) * 0.25));
  const visitors = [];
  for (let i = 0; i < nvis; i += 50)
    visitors.push(...await Promise.all(Array.from({ length: Math.min(50, nvis - i) }, () => visitor(onVisitor))));
  log(`${agents.length} agents, ${visitors.length} visitors ready`);

  const seconds = opt.seconds || 10;
  let late = 0;
  if (opt.inflight) {
    next = (v) => { if (!stopping) write(v); };
    for (const v of visitors) write(v);
    await sleep(1000); // warm up
    counting = true;
  } else {
    next = (v) => idle.push(v);
    idle.push(...visitors);
    counting = true;
    const start = now(), every = 1000 / opt.rate;
    let due = start;
    const tick = () => {
      const t = now();
      while (due <= t && !stopping) {
        const v = idle.pop();
        if (v) write(v); else late++;
        due += every;
      }
      if (!stopping) setTimeout(tick, 1);
    };
    tick();
  }
  const t0 = now();
  await sleep(seconds * 1000);
  counting = false;
  const wall = (now() - t0) / 1000;
  stopping = true;
  return { routed, per_s: routed / wall, p50_ms: pct(lat, 50), p99_ms: pct(lat, 99),
           offers, errors, generator_behind: late, seconds: wall, frames };
}

async function relay() {
  // one conversation per agent, kept; then visitors and agents write as
  // fast as the window lets them, each direction counted
  const pairs = new Map(); // conversation -> {a, v}
  let toAgent = 0, toVisitor = 0, counting = false, errors = 0;
  let toAgentAll = 0, toVisitorAll = 0; // the whole run, for costs per message
  const win = opt.window || 4;
  let assignedCb;
  const assigned = new Promise((r) => { assignedCb = r; });
  let cmid = 0;
  const handlers = {
    offer: (a, m) => send(a.ws, { type: "accept", offer: m.offer }),
    assigned: (a, m) => {
      const p = pairs.get(m.conversation.id) || {};
      p.a = a; pairs.set(m.conversation.id, p);
      if ([...pairs.values()].filter((x) => x.a && x.v).length === agents.length) assignedCb();
    },
    message: (a, m) => {
      if (m.message?.direction !== "in") return;
      toAgentAll++;
      if (counting) toAgent++;
      send(a.ws, { type: "reply", conversation: m.conversation, text: "Let me check that for you",
                   client_msg_id: "x" + ++cmid });
    },
    error: (a, m) => { errors++; if (errors < 5) log("agent error", JSON.stringify(m)); },
  };
  await Promise.all(tokens.map((t) => agent(t, handlers)));
  const onVisitor = (v, m) => {
    if (m.type === "ack" && !v.conv) {
      v.conv = m.conversation;
      const p = pairs.get(v.conv) || {};
      p.v = v; pairs.set(v.conv, p);
    } else if (m.type === "message") {
      toVisitorAll++;
      if (counting) toVisitor++;
      send(v.ws, { type: "message", text: "and another thing", client_msg_id: "y" + ++v.n });
    } else if (m.type === "error") { errors++; if (errors < 5) log("visitor error", JSON.stringify(m)); }
  };
  const visitors = [];
  for (let i = 0; i < agents.length; i++) {
    const v = await visitor(onVisitor);
    send(v.ws, { type: "message", text: "hello", client_msg_id: "y" + ++v.n });
    visitors.push(v);
  }
  await assigned;
  log(`${pairs.size} conversations assigned`);
  // start the ping-pong: each visitor keeps `win` messages going
  for (const v of visitors)
    for (let k = 0; k < win; k++) send(v.ws, { type: "message", text: "more", client_msg_id: "y" + ++v.n });
  await sleep(1000);
  counting = true;
  const t0 = now();
  await sleep((opt.seconds || 10) * 1000);
  counting = false;
  const wall = (now() - t0) / 1000;
  stopping = true;
  return { to_agent_per_s: toAgent / wall, to_visitor_per_s: toVisitor / wall, errors, seconds: wall,
           to_agent: toAgentAll, to_visitor: toVisitorAll };
}

async function idle() {
  // log every agent in; report when all are; after a restart of the
  // daemon (their sockets close), they log in again: report that too
  const t0 = now();
  let rounds = 0;
  const handlers = { ready: () => {} };
  const progress = setInterval(() => log(`${agents.filter((a) => a.ready).length} of ${tokens.length} logged in`), 5000);
  await Promise.all(tokens.map((t) => agent(t, handlers)));
  clearInterval(progress);
  process.stdout.write(JSON.stringify({ event: "all_ready", agents: agents.length,
                                        seconds: (now() - t0) / 1000 }) + "\n");
  // watch for a round of reconnects
  let lostAt = null;
  const hold = (opt.hold || 60) * 1000;
  const end = now() + hold;
  while (now() < end) {
    await sleep(100);
    const down = agents.filter((a) => !a.ready).length;
    if (down > 0 && lostAt === null) lostAt = now();
    if (down === 0 && lostAt !== null) {
      rounds++;
      process.stdout.write(JSON.stringify({ event: "all_back", agents: agents.length,
        seconds_since_first_lost: (now() - lostAt) / 1000 }) + "\n");
      lostAt = null;
    }
  }
  stopping = true;
  return { event: "done", rounds };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = { route, relay, idle }[mode];
if (!run) { log("usage: load.mjs route|relay|idle PORT TOKENS_FILE [--opt N ...]"); process.exit(2); }
const out = await run();
process.stdout.write(JSON.stringify(out) + "\n");
for (const a of agents) a.ws.terminate();
process.exit(0);
