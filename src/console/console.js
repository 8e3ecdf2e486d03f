/*
 * omniroute agent console: the agent's side of the omniroute.agent.v1
 * websocket protocol (docs/agent-protocol.md).
 *
 * - The agent id is remembered in localStorage; the password never is. It
 *   stays in this page's memory only, to log in again by itself after a
 *   reconnect. After a log-in the server hands out a session token
 *   (`session` frame), kept in sessionStorage: per tab, gone when the tab
 *   closes, never shared with other tabs or sent anywhere but the `auth`
 *   frame; a reload or a reconnect logs in with it, without the password,
 *   until it ends (sessions.ttl, a logout, an admin's revoke), when the
 *   login form comes back. "Sign out" ends it on the server (`logout`).
 * - The server is the source of truth: every `welcome` (after a login or a
 *   reconnect) rebuilds the conversations and offers from what it sends.
 * - Every reply gets a client_msg_id and shows "Sending…" until its `ack`.
 *   Replies without an ack are sent again, with the same client_msg_id,
 *   after the next `welcome`: the server stores them once.
 * - Text from customers, agents and the server is only ever inserted with
 *   textContent, never as HTML.
 *
 * No build step and no external resources: the page is served with
 * Content-Security-Policy script-src 'self'; style-src 'self'.
 */
(function () {
	'use strict';

	var PROTOCOL = 'omniroute.agent.v1';
	var extHooks = [];                  /* window.omrConsole.onFrame */
	var WS_URL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/agent';
	var KEY = 'omniroute.console.';     /* localStorage prefix */
	var PING_EVERY_MS = 20000;          /* application-level keepalive */
	var DEAD_AFTER_MS = 50000;          /* nothing heard for this long: reconnect */
	var BACKOFF_MIN_MS = 500;
	var BACKOFF_MAX_MS = 30000;
	var MAX_TEXT_BYTES = 16000;
	var NOTICE_MS = 7000;

	var CHANNELS = {
		webchat: 'Web chat', email: 'E-mail', whatsapp: 'WhatsApp', messenger: 'Messenger',
		instagram: 'Instagram', x: 'X', sms: 'SMS', voice: 'Phone'
	};
	var STATUS_LABEL = {
		queued: 'Queued', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Failed'
	};
	var AUTHOR_LABEL = { customer: 'Customer', agent: 'Agent', bot: 'Bot', system: 'System',
			     supervisor: 'Supervisor' };
	var ERROR_TEXT = {
		auth_required: 'Not signed in.',
		auth_failed: 'Wrong agent id or password.',
		not_yours: 'That is not (or no longer) yours.',
		gone: 'That is no longer available.',
		bad_state: 'Not possible in the conversation’s current state.',
		bad_reason: 'Choose one of the listed reasons.',
		bad_outcome: 'Choose one of the listed outcomes.',
		unknown_queue: 'That queue does not exist.',
		unknown_agent: 'That agent does not exist.',
		unavailable: 'The server cannot store this right now; it will be tried again.',
		rate_limited: 'Too many requests; slow down a little.',
		forbidden: 'You may not do that (it is outside your queues or your role).',
		not_found: 'That conversation does not exist (any more).',
		conflict: 'Not possible in the conversation’s current state.'
	};

	var $ = function (id) { return document.getElementById(id); };
	var el = {};
	['login-view', 'login-form', 'login-agent', 'login-password', 'login-submit', 'login-error',
	 'login-conn', 'app', 'presence-toggle', 'presence-state', 'presence-reason', 'capacity',
	 'conn', 'agent-name', 'agent-team', 'logout', 'presence-banner', 'presence-banner-text',
	 'presence-banner-close', 'offers', 'offer-list', 'conversation-list', 'conversation-count',
	 'conversations-empty', 'notices', 'no-conversation', 'conversation', 'conv-title', 'conv-meta',
	 'transfer-open', 'close-conversation', 'transcript', 'reply-form', 'reply-text', 'reply-label',
	 'reply-send', 'wrapup-form', 'wrapup-reason', 'wrapup-outcome', 'wrapup-notes',
	 'wrapup-complaint',
	 'wrapup-error', 'wrapup-submit', 'history', 'history-title', 'history-meta', 'history-back',
	 'history-transcript', 'customer-body', 'customer-empty', 'customer-name', 'customer-email-row',
	 'customer-email', 'customer-claimed-row', 'customer-claimed-email', 'customer-addresses',
	 'customer-previous', 'customer-previous-empty', 'customer-owner', 'customer-trend-row',
	 'customer-trend', 'customer-own', 'customer-promises-box', 'customer-promises',
	 'customer-reasons-box', 'customer-reasons', 'transfer-dialog', 'transfer-form',
	 'transfer-kind-queue', 'transfer-kind-agent', 'transfer-queue-field', 'transfer-queue',
	 'transfer-agent-field', 'transfer-agent', 'transfer-note', 'transfer-error', 'transfer-cancel',
	 'transfer-submit', 'announce-polite', 'announce-assertive', 'window-bar', 'window-text',
	 'window-templates', 'window-template', 'window-send', 'window-vars', 'view-tabs', 'tab-agent', 'tab-supervisor',
	 'workspace', 'supervisor', 'sup-notices', 'sup-board', 'sup-scope', 'sup-live', 'sup-queue-rows',
	 'sup-waiting-rows', 'sup-waiting-count', 'sup-waiting-empty', 'sup-agent-rows', 'sup-agents-count',
	 'sup-agents-empty', 'monitor', 'monitor-title', 'monitor-meta', 'monitor-close', 'monitor-transcript',
	 'monitor-actions', 'whisper-form', 'whisper-label', 'whisper-text', 'whisper-send', 'barge-form',
	 'barge-text', 'barge-send', 'reassign-form', 'reassign-target', 'reassign-note', 'reassign-submit',
	 'monitor-error', 'helpline-sup', 'helpline-agent', 'presence-group', 'sup-tabs', 'sup-tab-board',
	 'sup-tab-reports', 'sup-tab-reasons', 'sup-reports', 'rep-form', 'rep-from', 'rep-to', 'rep-interval', 'rep-show',
	 'rep-csv', 'rep-error', 'rep-status', 'rep-body', 'public-bar', 'reply-private',
	 'reply-send'].forEach(function (id) {
		el[id.replace(/-([a-z])/g, function (m, c) { return c.toUpperCase(); })] = $(id);
	});

	/* the session token: this tab only (sessionStorage) */
	function loadSession() {
		try { return window.sessionStorage.getItem(KEY + 'session'); } catch (e) { return null; }
	}

	function saveSession(value) {
		S.session = value || null;
		try {
			if (value)
				window.sessionStorage.setItem(KEY + 'session', value);
			else
				window.sessionStorage.removeItem(KEY + 'session');
		} catch (e) { /* storage off: the token lives in memory only */ }
	}

	/* ---- storage: only the agent id, never the password ---- */

	function load(name) {
		try { return window.localStorage.getItem(KEY + name); } catch (e) { return null; }
	}
	function save(name, value) {
		try {
			if (value === null || value === undefined || value === '')
				window.localStorage.removeItem(KEY + name);
			else
				window.localStorage.setItem(KEY + name, value);
		} catch (e) { /* works without it */ }
	}

	/* ---- state ---- */

	var S = {
		agentId: null,
		password: null,         /* memory only: re-login after a reconnect; '' when
		                           signed in by a session token only */
		session: null,          /* the session token (sessionStorage) */
		ws: null,
		authed: false,          /* the current socket got its welcome */
		everWelcomed: false,    /* this login session got a welcome once */
		attempt: 0,
		reconnectTimer: null,
		pingTimer: null,
		lastHeard: 0,
		me: null,
		presence: { status: 'away', reason: '' },
		presenceReq: null,      /* {status, reason, at}: our own change in flight */
		reasons: [],
		outcomes: [],
		queues: [],
		agents: [],
		convs: new Map(),       /* id -> {c, unread, firstUnread, draft} */
		order: [],              /* conversation ids, in list order */
		selected: null,
		offers: new Map(),      /* offer id -> {o, expiresAt, total, busy} */
		accepting: new Set(),   /* offers accepted from this tab */
		outbox: [],             /* unacked replies: {cmid, conversation, text, at, failed, why} */
		retryTimers: new Map(),
		windowTimer: 0,
		retryCount: new Map(),
		pending: {},            /* conversation id -> 'close' | 'wrapup' | 'transfer' */
		historyId: null,        /* the earlier conversation shown read-only */
		countdownTimer: null,
		roles: [],              /* welcome.roles: agent, supervisor, admin */
		view: null,             /* 'agent' or 'supervisor' (null: not chosen yet) */
		monitoredBy: new Map(), /* my conversation id -> the supervisor monitoring it */
		names: new Map(),       /* user id -> name, learnt from messages and the wallboard */
		sup: null               /* the supervisor view's state: supReset() */
	};

	/* ---- small helpers ---- */

	function str(v) {
		return typeof v === 'string' ? v : '';
	}

	function newClientMsgId() {
		var bytes = new Uint8Array(10), s = 'a';
		window.crypto.getRandomValues(bytes);
		for (var i = 0; i < bytes.length; i++)
			s += (bytes[i] & 31).toString(32);
		return s + '-' + Date.now().toString(36);
	}

	function utf8Length(s) {
		return new TextEncoder().encode(s).length;
	}

	function sameDay(a, b) {
		return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
			a.getDate() === b.getDate();
	}

	function clockTime(ms) {
		return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
	}

	function shortDate(ms) {
		var d = new Date(ms), now = new Date();
		var opts = { day: 'numeric', month: 'short' };
		if (d.getFullYear() !== now.getFullYear())
			opts.year = 'numeric';
		return d.toLocaleDateString([], opts);
	}

	/* "14:02" today, "12 Nov 14:02" otherwise */
	function stamp(ms) {
		return sameDay(new Date(ms), new Date()) ? clockTime(ms) : shortDate(ms) + ' ' + clockTime(ms);
	}

	function dayLabel(ms) {
		var d = new Date(ms), now = new Date();
		if (sameDay(d, now))
			return 'Today';
		var y = new Date(now.getTime() - 86400000);
		if (sameDay(d, y))
			return 'Yesterday';
		return d.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long',
						  year: d.getFullYear() !== now.getFullYear() ? 'numeric' : undefined });
	}

	function duration(ms) {
		var s = Math.max(0, Math.round(ms / 1000));
		if (s < 60)
			return s + ' s';
		var m = Math.floor(s / 60);
		if (m < 60)
			return m + ' min';
		return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
	}

	function channelLabel(ch) {
		return CHANNELS.hasOwnProperty(ch) ? CHANNELS[ch] : (str(ch) || 'unknown channel');
	}

	function customerName(cust) {
		if (!cust)
			return 'Unknown customer';
		return str(cust.name) || str(cust.email) || str(cust.claimed_email) || 'Anonymous visitor';
	}

	function node(tag, cls, text) {
		var n = document.createElement(tag);
		if (cls)
			n.className = cls;
		if (text !== undefined && text !== null)
			n.textContent = String(text);
		return n;
	}

	function clear(n) {
		while (n.firstChild)
			n.removeChild(n.firstChild);
	}

	function announce(text, urgent) {
		var region = urgent ? el.announceAssertive : el.announcePolite;
		region.textContent = '';
		/* a fresh text node so that repeated texts are read again */
		window.setTimeout(function () { region.textContent = text; }, 50);
	}

	function errorText(msg) {
		var code = str(msg.code);
		var text = ERROR_TEXT.hasOwnProperty(code) ? ERROR_TEXT[code] : '';
		var detail = str(msg.message);
		if (!text)
			return detail || code || 'The server refused the request.';
		if (detail && (code === 'bad_request' || code === 'bad_state' || code === 'conflict'))
			return text + ' (' + detail + ')';
		return text;
	}

	function inTextField(t) {
		if (!t || !t.tagName)
			return false;
		if (t.isContentEditable)
			return true;
		if (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')
			return true;
		if (t.tagName === 'INPUT')
			return ['button', 'submit', 'reset', 'checkbox', 'radio'].indexOf(t.type) < 0;
		return false;
	}

	/* ---- notices ---- */

	function notice(text, kind) {
		var n = node('div', 'notice notice-' + (kind || 'info'));
		n.setAttribute('data-testid', 'notice');
		var p = node('p', 'notice-text', text);
		var b = node('button', 'btn btn-quiet btn-small', 'Dismiss');
		b.type = 'button';
		b.addEventListener('click', function () { n.remove(); });
		n.appendChild(p);
		n.appendChild(b);
		var box = S.view === 'supervisor' ? el.supNotices : el.notices;
		box.appendChild(n);
		while (box.children.length > 4)
			box.removeChild(box.firstChild);
		window.setTimeout(function () { n.remove(); }, kind === 'error' ? NOTICE_MS * 2 : NOTICE_MS);
	}

	/* ---- the connection ---- */

	function setConn(state, text) {
		el.conn.dataset.state = state;
		el.conn.textContent = text;
		el.loginConn.textContent = S.everWelcomed ? '' : (state === 'online' ? '' : text);
		document.body.classList.toggle('is-offline', state !== 'online' && S.everWelcomed);
	}

	function send(obj) {
		if (!S.ws || S.ws.readyState !== WebSocket.OPEN)
			return false;
		S.ws.send(JSON.stringify(obj));
		return true;
	}

	/* send only once logged in; tells the agent when it cannot */
	function request(obj) {
		if (!S.authed || !send(obj)) {
			notice('Not connected: try again when the connection is back.', 'error');
			return false;
		}
		return true;
	}

	function connect() {
		window.clearTimeout(S.reconnectTimer);
		S.reconnectTimer = null;
		S.authed = false;
		setConn('connecting', S.attempt ? 'Reconnecting…' : 'Connecting…');
		var sock;
		try {
			sock = new WebSocket(WS_URL, PROTOCOL);
		} catch (e) {
			S.ws = null;
			connectionLost(null);
			return;
		}
		S.ws = sock;
		sock.onopen = function () {
			if (sock !== S.ws)
				return;
			S.lastHeard = Date.now();
			setConn('connecting', 'Signing in…');
			sendAuth();
			window.clearInterval(S.pingTimer);
			S.pingTimer = window.setInterval(keepalive, PING_EVERY_MS);
		};
		sock.onmessage = function (ev) {
			if (sock !== S.ws)
				return;
			S.lastHeard = Date.now();
			var msg;
			try { msg = JSON.parse(ev.data); } catch (e) { return; }
			if (msg && typeof msg === 'object' && !Array.isArray(msg))
				handle(msg);
		};
		sock.onclose = function (ev) {
			if (sock !== S.ws)
				return;
			S.ws = null;
			connectionLost(ev);
		};
		/* onerror is always followed by onclose */
	}

	function sendAuth() {
		if (S.session)
			send({ type: 'auth', session: S.session });
		else
			send({ type: 'auth', agent: S.agentId, password: S.password });
	}

	function connectionLost(ev) {
		S.authed = false;
		window.clearInterval(S.pingTimer);
		renderOffers();
		if (S.sup) {
			S.sup.on = false;
			supLive();
		}
		if (S.password === null)
			return; /* signed out */
		if (ev && ev.code === 1008 && !S.everWelcomed) {
			showLogin('Too many failed attempts. Check your agent id and password.');
			return;
		}
		if (!S.everWelcomed && S.attempt >= 2) {
			/* never got in: say so on the login form, and keep trying */
			el.loginError.textContent = 'Cannot reach omniroute. Still trying…';
			el.loginError.hidden = false;
			el.loginSubmit.disabled = false;
			el.loginSubmit.textContent = 'Sign in';
		}
		scheduleReconnect();
	}

	function scheduleReconnect() {
		var base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, S.attempt));
		var delay = Math.round(base / 2 + Math.random() * base / 2);
		S.attempt++;
		setConn('offline', 'Connection lost · retrying in ' + Math.max(1, Math.ceil(delay / 1000)) + ' s');
		window.clearTimeout(S.reconnectTimer);
		S.reconnectTimer = window.setTimeout(connect, delay);
	}

	function reconnectNow() {
		if (S.password === null || S.ws)
			return;
		S.attempt = 0;
		connect();
	}

	function disconnect() {
		window.clearTimeout(S.reconnectTimer);
		S.reconnectTimer = null;
		window.clearInterval(S.pingTimer);
		var old = S.ws;
		S.ws = null;
		S.authed = false;
		if (old)
			old.close(1000, 'signed out');
	}

	function keepalive() {
		if (!S.ws)
			return;
		if (Date.now() - S.lastHeard > DEAD_AFTER_MS) {
			/* the network went away without a close: start over */
			var old = S.ws;
			S.ws = null;
			old.close();
			connectionLost(null);
			return;
		}
		send({ type: 'ping' });
	}

	/* ---- login and logout ---- */

	/* keep: the same agent logs in again (the password changed while
	 * reconnecting): unsent replies and drafts stay for after the login */
	function showLogin(error, keep) {
		disconnect();
		S.password = null;
		saveSession(null);
		S.everWelcomed = false;
		if (!keep)
			resetSession();
		el.app.hidden = true;
		el.loginView.hidden = false;
		el.loginSubmit.disabled = false;
		el.loginSubmit.textContent = 'Sign in';
		el.loginError.textContent = error || '';
		el.loginError.hidden = !error;
		el.loginPassword.value = '';
		el.loginAgent.value = S.agentId || load('agent') || '';
		document.title = 'omniroute agent console';
		(el.loginAgent.value ? el.loginPassword : el.loginAgent).focus();
	}

	function resetSession() {
		S.convs = new Map();
		S.order = [];
		S.selected = null;
		S.offers = new Map();
		S.accepting = new Set();
		S.outbox = [];
		S.retryTimers.forEach(function (t) { window.clearTimeout(t); });
		S.retryTimers = new Map();
		S.retryCount = new Map();
		S.pending = {};
		S.historyId = null;
		S.me = null;
		S.roles = [];
		S.view = null;
		S.monitoredBy = new Map();
		S.names = new Map();
		supReset();
		clear(el.offerList);
		offerNodes.clear();
		clear(el.conversationList);
		clear(el.transcript);
		clear(el.notices);
		el.presenceBanner.hidden = true;
		if (el.transferDialog.open)
			el.transferDialog.close();
	}

	el.loginForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var agent = el.loginAgent.value.trim(), password = el.loginPassword.value;
		if (!agent) {
			el.loginError.textContent = 'Enter your agent id.';
			el.loginError.hidden = false;
			el.loginAgent.focus();
			return;
		}
		if (!password) {
			el.loginError.textContent = 'Enter your password.';
			el.loginError.hidden = false;
			el.loginPassword.focus();
			return;
		}
		el.loginError.hidden = true;
		if (S.agentId !== agent)
			resetSession();
		S.agentId = agent;
		S.password = password;
		S.attempt = 0;
		save('agent', agent);
		el.loginSubmit.disabled = true;
		el.loginSubmit.textContent = 'Signing in…';
		disconnect();
		connect();
	});

	var signOutArmed = 0;
	el.logout.addEventListener('click', function () {
		var open = 0;
		S.convs.forEach(function (e) { if (e.c.status === 'wrapup') open++; });
		if (open && Date.now() - signOutArmed > 8000) {
			signOutArmed = Date.now();
			notice(open + (open === 1 ? ' conversation still needs' : ' conversations still need') +
			       ' a wrap-up. Click “Sign out” again to sign out anyway.', 'warn');
			return;
		}
		signOutArmed = 0;
		if (S.authed && isAgent())
			send({ type: 'presence', status: 'offline', reason: 'signed out' });
		if (S.authed)
			send({ type: 'logout' }); /* the session token ends on the server */
		showLogin('');
	});

	/* ---- protocol: server -> client ---- */

	function handle(msg) {
		extHooks.forEach(function (fn) { fn(msg); });
		switch (msg.type) {
		case 'welcome': onWelcome(msg); break;
		case 'session': if (typeof msg.session === 'string') saveSession(msg.session); break;
		case 'logged_out': break;
		case 'offer': onOffer(msg); break;
		case 'revoked': onRevoked(msg); break;
		case 'assigned': onAssigned(msg); break;
		case 'unassigned': onUnassigned(msg); break;
		case 'message': onMessage(msg); break;
		case 'ack': onAck(msg); break;
		case 'status': onStatus(msg); break;
		case 'presence': onPresence(msg); break;
		case 'history': onHistory(msg); break;
		case 'owner': onOwner(msg); break;
		case 'started': if (window.omrOutreach) window.omrOutreach.onStarted(msg); break;
		case 'error': onError(msg); break;
		case 'agents': onAgents(msg); break;
		case 'wallboard': onWallboard(msg); break;
		case 'monitor_start': onMonitorStart(msg); break;
		case 'monitor_frame': onMonitorFrame(msg); break;
		case 'monitor_end': onMonitorEnd(msg); break;
		case 'done': onDone(msg); break;
		case 'monitored': onMonitored(msg); break;
		case 'report': onReport(msg); break;
		case 'pong': break;
		default: break; /* newer servers may send more; ignore */
		}
		emit('frame', msg); /* after the console: extensions see its state */
	}

	function onWelcome(w) {
		var first = !S.everWelcomed;
		S.authed = true;
		S.everWelcomed = true;
		S.attempt = 0;
		setConn('online', 'Connected');
		el.loginError.hidden = true;

		S.me = w.agent && typeof w.agent === 'object' ? w.agent : { id: S.agentId };
		/* a server without roles knows only agents */
		S.roles = Array.isArray(w.roles) ? w.roles.filter(function (r) { return typeof r === 'string'; }) :
			['agent'];
		S.reasons = Array.isArray(w.reasons) ? w.reasons.filter(function (r) { return typeof r === 'string'; }) : [];
		S.outcomes = Array.isArray(w.outcomes) ? w.outcomes.filter(function (r) { return typeof r === 'string'; }) : [];
		S.queues = Array.isArray(w.queues) ? w.queues.filter(function (q) { return q && typeof q.name === 'string'; }) : [];
		S.agents = Array.isArray(w.agents) ? w.agents.filter(function (a) { return a && typeof a.id === 'string'; }) : [];
		/* a large directory comes in pages, asked for when a transfer needs it */
		S.agentsNext = typeof w.agents_next === 'string' ? w.agents_next : null;
		S.agentsAsked = false;
		if (w.presence && typeof w.presence === 'object')
			S.presence = { status: str(w.presence.status) || 'away', reason: str(w.presence.reason) };
		S.presenceReq = null;

		/* conversations: the server's list, keeping local unread counts and drafts */
		var old = S.convs;
		S.convs = new Map();
		S.order = [];
		(Array.isArray(w.conversations) ? w.conversations : []).forEach(function (c) {
			if (!c || typeof c.id !== 'string')
				return;
			var prev = old.get(c.id);
			normalise(c);
			S.convs.set(c.id, { c: c, unread: prev ? prev.unread : 0,
					    firstUnread: prev ? prev.firstUnread : null,
					    draft: prev ? prev.draft : '' });
			S.order.push(c.id);
		});
		Object.keys(S.pending).forEach(function (id) {
			if (!S.convs.has(id))
				delete S.pending[id];
		});

		S.monitoredBy.forEach(function (by, id) {
			if (!S.convs.has(id))
				S.monitoredBy.delete(id);
		});

		/* offers: exactly the ones still open */
		S.offers = new Map();
		(Array.isArray(w.offers) ? w.offers : []).forEach(addOffer);

		if (!S.selected || !S.convs.has(S.selected))
			S.selected = S.order.length ? S.order[0] : null;

		/* a reply whose ack was lost but which was stored: the welcome's
		 * conversation has it (with our client_msg_id), so it is done,
		 * before anything is drawn: never shown twice, never sent again */
		S.outbox.slice().forEach(function (p) {
			var entry = S.convs.get(p.conversation);
			var stored = entry ? entry.c.messages.filter(function (m) {
				return m.direction === 'out' && m.meta && m.meta.client_msg_id === p.cmid;
			})[0] : null;
			if (stored)
				dropReply(p.cmid);
		});

		fillStaticLists();
		el.loginView.hidden = true;
		el.app.hidden = false;
		el.loginPassword.value = '';
		el.loginSubmit.disabled = false;
		el.loginSubmit.textContent = 'Sign in';
		renderHeader();
		renderPresence();
		renderOffers();
		renderList();
		renderSelected(true);
		supAfterWelcome();

		/* replies whose ack never came: again, with the same client_msg_id */
		S.outbox.forEach(function (m) {
			if (m.failed)
				return;
			if (!S.convs.has(m.conversation)) {
				failReply(m.cmid, 'Not sent: the conversation is no longer assigned to you.');
				return;
			}
			sendReply(m);
		});

		if (first && S.view === 'supervisor') {
			(el.viewTabs.hidden ? el.supBoard : el.tabSupervisor).focus();
			announce('Signed in as ' + (str(S.me.name) || S.agentId) + '. Supervisor view.');
		} else if (first) {
			if (S.selected && S.convs.get(S.selected).c.status === 'assigned')
				el.replyText.focus();
			else
				el.presenceToggle.focus();
			announce('Signed in as ' + (str(S.me.name) || S.agentId) + '. ' +
				 S.order.length + ' conversation' + (S.order.length === 1 ? '' : 's') + '.');
		}
	}

	/* messages in time order (a channel that was down delivers late ones
	 * with their own times): a stable sort by created_at */
	function byTime(list) {
		list.forEach(function (m, i) { m._i = i; });
		list.sort(function (a, b) {
			var x = typeof a.created_at === 'number' ? a.created_at : Infinity;
			var y = typeof b.created_at === 'number' ? b.created_at : Infinity;
			return x - y || a._i - b._i;
		});
		return list;
	}

	function normalise(c) {
		if (!Array.isArray(c.messages))
			c.messages = [];
		c.messages = c.messages.filter(function (m) { return m && typeof m === 'object'; });
		byTime(c.messages);
		if (!c.customer || typeof c.customer !== 'object')
			c.customer = {};
		return c;
	}

	/* OFFER may come as the frame itself or as an element of welcome.offers */
	function addOffer(o) {
		if (!o || typeof o.offer !== 'string')
			return null;
		var ms = typeof o.expires_in_ms === 'number' && o.expires_in_ms > 0 ? o.expires_in_ms : 20000;
		var entry = { o: o, expiresAt: Date.now() + ms, total: ms, busy: false };
		var prev = S.offers.get(o.offer);
		if (prev)
			entry.total = Math.max(prev.total, ms);
		S.offers.set(o.offer, entry);
		return entry;
	}

	function onOffer(msg) {
		var isNew = !S.offers.has(msg.offer);
		if (!addOffer(msg))
			return;
		renderOffers();
		if (isNew) {
			var conv = msg.conversation || {};
			announce('New ' + channelLabel(conv.channel) + ' offer from ' + customerName(conv.customer) +
				 '. Press A to accept or R to reject.', true);
		}
	}

	function onRevoked(msg) {
		var entry = S.offers.get(msg.offer);
		if (!entry)
			return;
		S.offers.delete(msg.offer);
		S.accepting.delete(msg.offer);
		renderOffers();
		var who = customerName((entry.o.conversation || {}).customer);
		if (msg.reason === 'expired')
			notice('The offer for ' + who + ' expired.', 'warn');
		else if (msg.reason === 'withdrawn')
			notice('The offer for ' + who + ' was withdrawn.', 'info');
		else if (msg.reason === 'customer_left')
			notice(who + ' left before the offer was accepted.', 'info');
	}

	function upsertConversation(c) {
		normalise(c);
		var entry = S.convs.get(c.id);
		if (entry) {
			entry.c = c;
		} else {
			entry = { c: c, unread: 0, firstUnread: null, draft: '' };
			S.convs.set(c.id, entry);
			S.order.push(c.id);
		}
		return entry;
	}

	function onAssigned(msg) {
		var c = msg.conversation;
		if (!c || typeof c.id !== 'string')
			return;
		var known = S.convs.has(c.id);
		upsertConversation(c);
		var mine = false;
		S.offers.forEach(function (entry, id) {
			if (entry.o.conversation && entry.o.conversation.id === c.id) {
				if (S.accepting.has(id))
					mine = true;
				S.accepting.delete(id);
				S.offers.delete(id);
			}
		});
		renderOffers();
		if (mine || !S.selected) {
			select(c.id, false);
			if (mine)
				el.replyText.focus();
		} else {
			renderList();
			if (S.selected === c.id)
				renderSelected(false);
		}
		if (!known)
			announce('Conversation with ' + customerName(c.customer) + ' is now yours.');
	}

	function onUnassigned(msg) {
		var id = msg.conversation;
		var entry = S.convs.get(id);
		if (!entry)
			return;
		var who = customerName(entry.c.customer);
		var by = str(msg.by) ? ' by ' + personName(msg.by) : '';
		var idx = S.order.indexOf(id);
		S.convs.delete(id);
		S.monitoredBy.delete(id);
		S.order.splice(idx, 1);
		delete S.pending[id];
		S.outbox.filter(function (m) { return m.conversation === id; }).forEach(function (m) {
			dropReply(m.cmid);
		});
		if (el.transferDialog.open && el.transferDialog.dataset.conversation === id)
			el.transferDialog.close();
		switch (msg.reason) {
		case 'wrapped_up': notice('Wrap-up saved for ' + who + '.', 'ok'); break;
		case 'transferred': notice('The conversation with ' + who + ' was transferred' + by + '.', by ? 'warn' : 'ok'); break;
		case 'requeued': notice('The conversation with ' + who + ' went back to the queue' + by + '.', 'warn'); break;
		case 'parked': break; /* park.js says until when */
		default: notice('The conversation with ' + who + ' left your list.', 'info'); break;
		}
		if (S.selected === id) {
			var next = S.order.length ? S.order[Math.min(Math.max(idx, 0), S.order.length - 1)] : null;
			var a = document.activeElement;
			var hadFocus = !a || a === document.body || el.conversation.contains(a) ||
				el.transferDialog.contains(a);
			select(next, false);
			if (hadFocus) {
				var b = next ? el.conversationList.querySelector('[aria-current="true"]') : null;
				(b || el.presenceToggle).focus();
			}
		} else {
			renderList();
		}
	}

	function findMessage(c, id) {
		for (var i = 0; i < c.messages.length; i++)
			if (c.messages[i].id === id)
				return i;
		return -1;
	}

	function onMessage(msg) {
		var entry = S.convs.get(msg.conversation);
		var m = msg.message;
		if (!entry || !m || typeof m !== 'object')
			return;
		var c = entry.c;
		var at = typeof m.id === 'string' ? findMessage(c, m.id) : -1;
		if (at >= 0) {
			/* known message: a status update (sent, delivered, read, failed) */
			c.messages[at] = Object.assign({}, c.messages[at], m);
			if (S.selected === c.id && S.historyId === null)
				updateMessageNode(c.messages[at]);
			renderList();
			return;
		}
		/* our own reply whose ack was lost: the stored message (with the
		 * client_msg_id we gave it) stands in for the ack */
		var mine = m.direction === 'out' && m.meta && typeof m.meta.client_msg_id === 'string' ?
			m.meta.client_msg_id : null;
		if (mine && outboxFind(mine)) {
			onAck({ client_msg_id: mine, conversation: msg.conversation, message: m });
			return;
		}
		c.messages.push(m);
		/* late (a channel that was down): put it in its place in time */
		var prev = c.messages.length > 1 ? c.messages[c.messages.length - 2] : null;
		var late = prev && typeof m.created_at === 'number' && typeof prev.created_at === 'number' &&
			m.created_at < prev.created_at;
		if (late)
			byTime(c.messages);
		learnName(m);
		if (m.direction === 'in' && c.reply_window && typeof c.reply_window.window_ms === 'number') {
			c.reply_window.closes_at = (typeof m.created_at === 'number' ? m.created_at : Date.now()) +
				c.reply_window.window_ms;
			if (S.selected === c.id)
				renderConversationState();
		}
		var fromOthers = m.direction === 'in' || m.direction === 'note' || m.author === 'supervisor';
		var viewing = S.selected === c.id && S.historyId === null;
		var sup = m.author === 'supervisor' ? (m.direction === 'note' ? 'Whisper from ' : 'Message to the customer from ') +
			(str(m.author_name) || 'a supervisor') : '';
		if (viewing && late) {
			renderSelected(true);
		} else if (viewing) {
			appendMessage(el.transcript, m, true, c);
			emit('shown', { conversation: c, message: m });
			if (sup)
				announce(sup + ': ' + str(m.text).slice(0, 140));
		} else if (fromOthers) {
			if (!entry.unread)
				entry.firstUnread = m.id || null;
			entry.unread++;
			announce((sup || 'New message from ' + (m.direction === 'in' ? customerName(c.customer) : 'a colleague')) +
				 ': ' + str(m.text).slice(0, 140));
		}
		renderList();
		renderTitle();
	}

	function onAck(msg) {
		if (supOnAck(msg))
			return;
		learnName(msg.message);
		var cmid = str(msg.client_msg_id);
		var pending = outboxFind(cmid);
		var convId = str(msg.conversation) || (pending ? pending.conversation : '');
		var entry = S.convs.get(convId);
		var m = msg.message;
		if (typeof m === 'string' || !m) {
			/* only an id: make the message from what we sent */
			m = { id: typeof m === 'string' ? m : undefined, direction: 'out', author: 'agent',
			      author_name: S.me ? str(S.me.name) : '', text: pending ? pending.text : '',
			      created_at: Date.now(), status: 'sent' };
		}
		dropReply(cmid);
		if (!entry)
			return;
		var li = el.transcript.querySelector('[data-client-msg-id="' + cssEscape(cmid) + '"]');
		var at = typeof m.id === 'string' ? findMessage(entry.c, m.id) : -1;
		if (at >= 0) {
			entry.c.messages[at] = Object.assign({}, entry.c.messages[at], m);
			if (li)
				li.remove();
		} else {
			entry.c.messages.push(m);
			if (li && S.selected === convId)
				li.replaceWith(messageNode(m));
		}
		renderList();
	}

	function onStatus(msg) {
		var entry = S.convs.get(msg.conversation);
		if (!entry || typeof msg.status !== 'string')
			return;
		entry.c.status = msg.status;
		if (str(msg.by) && S.pending[entry.c.id] !== 'close')
			notice(personName(msg.by) + ' changed the conversation with ' + customerName(entry.c.customer) +
			       ' to “' + (msg.status === 'wrapup' ? 'wrap-up' : msg.status) + '”.', 'warn');
		if (S.pending[entry.c.id] === 'close')
			delete S.pending[entry.c.id];
		renderList();
		renderHeader();
		if (S.selected === entry.c.id) {
			renderConversationState();
			var f = document.activeElement;
			if (msg.status === 'wrapup' && (!f || f === document.body || el.conversation.contains(f)))
				el.wrapupReason.focus();
		}
	}

	function onPresence(msg) {
		var status = str(msg.status) || 'away', reason = str(msg.reason);
		var req = S.presenceReq;
		S.presence = { status: status, reason: reason };
		if (req && req.status === status && Date.now() - req.at < 10000) {
			S.presenceReq = null; /* the answer to our own change */
		} else {
			/* changed by the server (missed offers, an admin) or by
			 * this agent in another tab: say so when it stops offers */
			S.presenceReq = null;
			if (status === 'available') {
				el.presenceBanner.hidden = true;
			} else {
				el.presenceBannerText.textContent = 'You were set to ' +
					(status === 'offline' ? 'Offline' : 'Away') +
					(str(msg.by) ? ' by ' + personName(msg.by) : '') + (reason ? ': ' + reason : '') +
					'. You get no new offers until you switch Available on again.';
				el.presenceBanner.hidden = false;
			}
		}
		renderPresence();
	}

	function onHistory(msg) {
		var c = msg.conversation;
		if (!c || typeof c.id !== 'string')
			return;
		normalise(c);
		if (S.convs.has(c.id) && S.historyId !== c.id) {
			upsertConversation(c);
			renderSelected(false);
			return;
		}
		if (S.historyId !== c.id)
			return; /* the agent went back meanwhile */
		showHistory(c);
	}

	function onError(msg) {
		if (window.omrOutreach && window.omrOutreach.onError(msg))
			return; /* a "start" of the customer panel (outreach.js) */
		if (typeof msg.upload === 'string')
			return; /* an upload's: attach.js shows why next to the file */
		var code = str(msg.code), text = errorText(msg);
		el.customerOwn.disabled = false;
		if (code === 'session_expired' || code === 'session_invalid') {
			/* the token ended: the password, when this page has it */
			saveSession(null);
			if (S.password)
				sendAuth();
			else
				showLogin('Your session has ended. Sign in again.', true);
			return;
		}
		if (code === 'locked' && S.password === '') {
			showLogin(text, true); /* a session token from a locked address */
			return;
		}
		if (code === 'session_revoked') {
			showLogin('You were signed out by an administrator.', false);
			return;
		}
		if (code === 'auth_failed' || code === 'auth_required') {
			if (!S.everWelcomed || code === 'auth_failed') {
				if (code === 'auth_failed' && S.everWelcomed)
					showLogin('Your password was not accepted any more. Sign in again.', true);
				else
					showLogin(text, false);
				return;
			}
			return; /* the welcome will come */
		}
		if (supOnError(msg, text))
			return;
		if (typeof msg.client_msg_id === 'string' && outboxFind(msg.client_msg_id)) {
			var cmid = msg.client_msg_id;
			if (code === 'window_closed') {
				var wentry = S.convs.get(str(msg.conversation));
				if (wentry && typeof msg.closed_at === 'number') {
					var rw = wentry.c.reply_window || {};
					rw.closes_at = msg.closed_at;
					if (Array.isArray(msg.templates))
						rw.templates = msg.templates;
					wentry.c.reply_window = rw;
					renderConversationState();
				}
			}
			if (code === 'unavailable' || code === 'rate_limited') {
				var n = (S.retryCount.get(cmid) || 0) + 1;
				S.retryCount.set(cmid, n);
				retryLater(cmid, Math.min(30000, 1000 * Math.pow(2, n)));
			} else {
				failReply(cmid, 'Not sent: ' + text);
			}
			return;
		}
		if (typeof msg.offer === 'string' && S.offers.has(msg.offer)) {
			var entry = S.offers.get(msg.offer);
			S.accepting.delete(msg.offer);
			if (code === 'gone' || code === 'not_yours') {
				S.offers.delete(msg.offer);
				notice('The offer for ' + customerName((entry.o.conversation || {}).customer) +
				       ' is no longer available.', 'warn');
			} else {
				entry.busy = false;
				notice(text, 'error');
			}
			renderOffers();
			return;
		}
		var conv = str(msg.conversation);
		var op = conv ? S.pending[conv] : null;
		if (!op) {
			if (code === 'bad_reason' || code === 'bad_outcome')
				op = 'wrapup';
			else if (code === 'unknown_queue' || code === 'unknown_agent')
				op = 'transfer';
		}
		if (conv)
			delete S.pending[conv];
		if (op === 'wrapup') {
			el.wrapupError.textContent = text;
			el.wrapupError.hidden = false;
			renderConversationState();
			return;
		}
		if (op === 'transfer' && el.transferDialog.open) {
			el.transferError.textContent = text;
			el.transferError.hidden = false;
			el.transferSubmit.disabled = false;
			return;
		}
		if (S.historyId && conv === S.historyId) {
			S.historyId = null;
			renderSelected(false);
		}
		if (op === 'close')
			renderConversationState();
		notice(text, 'error');
	}

	/* ---- replies and the outbox ---- */

	function cssEscape(s) {
		return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
	}

	function outboxFind(cmid) {
		for (var i = 0; i < S.outbox.length; i++)
			if (S.outbox[i].cmid === cmid)
				return S.outbox[i];
		return null;
	}

	function dropReply(cmid) {
		S.outbox = S.outbox.filter(function (m) { return m.cmid !== cmid; });
		window.clearTimeout(S.retryTimers.get(cmid));
		S.retryTimers.delete(cmid);
		S.retryCount.delete(cmid);
	}

	function pendingNode(cmid) {
		return el.transcript.querySelector('[data-client-msg-id="' + cssEscape(cmid) + '"]');
	}

	function sendReply(m) {
		window.clearTimeout(S.retryTimers.get(m.cmid));
		S.retryTimers.delete(m.cmid);
		m.failed = false;
		var li = pendingNode(m.cmid);
		if (li)
			setPendingState(li, m);
		if (S.authed && m.template)
			send({ type: 'reply', conversation: m.conversation, template: m.template,
			       variables: m.variables || {}, client_msg_id: m.cmid });
		else if (S.authed && m.private) /* a public post answered privately, with a public note */
			send({ type: 'reply', conversation: m.conversation, text: m.text, client_msg_id: m.cmid,
			       private: true });
		else if (S.authed)
			/* uploads: attach.js; an e-mail's Cc: mail_cc.js */
			send(Object.assign({ type: 'reply', conversation: m.conversation, text: m.text,
					     client_msg_id: m.cmid },
					   m.attachments && m.attachments.length ? { attachments: m.attachments } : {},
					   m.cc && m.cc.length ? { cc: m.cc } : {}));
		/* otherwise it goes after the next welcome */
	}

	function retryLater(cmid, ms) {
		var m = outboxFind(cmid);
		if (!m)
			return;
		window.clearTimeout(S.retryTimers.get(cmid));
		S.retryTimers.set(cmid, window.setTimeout(function () {
			S.retryTimers.delete(cmid);
			sendReply(m);
		}, ms));
	}

	function failReply(cmid, why) {
		var m = outboxFind(cmid);
		if (!m)
			return;
		m.failed = true;
		m.why = why;
		var li = pendingNode(cmid);
		if (li)
			setPendingState(li, m);
		else
			notice(why, 'error');
	}

	function submitReply() {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (!entry || entry.c.status !== 'assigned')
			return;
		var text = el.replyText.value.replace(/\s+$/, '');
		if (utf8Length(text) > MAX_TEXT_BYTES) {
			notice('That reply is too long; please split it up.', 'error');
			return;
		}
		var m = { cmid: newClientMsgId(), conversation: entry.c.id, text: text, at: Date.now(),
			  failed: false, why: '', private: entry.c.public === true && el.replyPrivate.checked };
		/* an extension may add to it (an e-mail's signature, attach.js's files) */
		emit('reply', entry, m);
		if (!text.trim() && !(m.attachments && m.attachments.length))
			return;
		S.outbox.push(m);
		el.transcript.appendChild(pendingReplyNode(m));
		scrollToEnd(el.transcript);
		sendReply(m);
		el.replyText.value = '';
		entry.draft = '';
		el.replyText.focus();
	}

	el.replyForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		submitReply();
	});

	el.replyText.addEventListener('keydown', function (ev) {
		if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.ctrlKey && !ev.metaKey && !ev.isComposing) {
			ev.preventDefault();
			submitReply();
		}
	});

	el.replyText.addEventListener('input', function () {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (entry)
			entry.draft = el.replyText.value;
	});

	/* ---- rendering: header, presence, capacity ---- */

	function renderHeader() {
		var me = S.me || {};
		el.agentName.textContent = str(me.name) || S.agentId || '';
		el.agentTeam.textContent = str(me.team) ? '· ' + me.team : '';
		var cap = me.capacity && typeof me.capacity === 'object' ? me.capacity : {};
		var used = {};
		S.convs.forEach(function (e) {
			var ch = str(e.c.channel);
			used[ch] = (used[ch] || 0) + 1;
		});
		clear(el.capacity);
		var keys = Object.keys(cap);
		if (keys.length) {
			el.capacity.appendChild(node('span', 'capacity-title', 'Load'));
			keys.forEach(function (ch) {
				var n = used[ch] || 0, max = Number(cap[ch]) || 0;
				var item = node('span', 'capacity-item' + (max && n >= max ? ' is-full' : ''),
						channelLabel(ch) + ' ' + n + '/' + max);
				item.title = n + ' of ' + max + ' ' + channelLabel(ch) + ' conversations';
				el.capacity.appendChild(item);
			});
		}
	}

	function renderPresence() {
		var st = S.presence.status;
		var available = st === 'available';
		el.presenceToggle.setAttribute('aria-checked', available ? 'true' : 'false');
		el.presenceToggle.title = available ? 'Go away: no new offers' : 'Go available: receive offers';
		el.presenceState.dataset.status = st;
		el.presenceState.textContent = available ? 'Receiving offers' :
			(st === 'offline' ? 'Offline' : 'Away') + (S.presence.reason ? ' · ' + S.presence.reason : '');
		document.body.dataset.presence = st;
		el.conversationsEmpty.textContent = available ?
			'No conversations. New offers appear above.' :
			'No conversations. Switch on Available to receive offers.';
	}

	function setPresence(status, reason) {
		var frame = { type: 'presence', status: status };
		if (reason)
			frame.reason = reason;
		if (!request(frame))
			return false;
		S.presenceReq = { status: status, reason: reason || '', at: Date.now() };
		S.presence = { status: status, reason: reason || '' };
		el.presenceBanner.hidden = true;
		renderPresence();
		announce(status === 'available' ? 'You are available for new conversations.' : 'You are away.');
		return true;
	}

	/* the reason field is shown while available: it is for the next "away" */
	function goAway() {
		if (setPresence('away', el.presenceReason.value.trim()))
			el.presenceReason.value = '';
	}

	el.presenceToggle.addEventListener('click', function () {
		if (S.presence.status === 'available')
			goAway();
		else
			setPresence('available', '');
	});

	el.presenceReason.addEventListener('keydown', function (ev) {
		if (ev.key === 'Enter') {
			ev.preventDefault();
			goAway();
			el.presenceToggle.focus();
		}
	});

	el.presenceBannerClose.addEventListener('click', function () {
		el.presenceBanner.hidden = true;
	});

	function renderTitle() {
		var n = S.offers.size;
		S.convs.forEach(function (e) { n += e.unread; });
		document.title = (n ? '(' + n + ') ' : '') + (S.offers.size ? 'New offer · ' : '') +
			'omniroute agent console';
	}

	/* ---- rendering: offers ---- */

	/* offer cards are kept while their offer lasts (no re-animation) */
	var offerNodes = new Map();

	function renderOffers() {
		var list = Array.from(S.offers.values()).sort(function (a, b) { return a.expiresAt - b.expiresAt; });
		var focused = el.offerList.contains(document.activeElement) ? document.activeElement : null;
		offerNodes.forEach(function (li, id) {
			if (!S.offers.has(id)) {
				li.remove();
				offerNodes.delete(id);
			}
		});
		list.forEach(function (entry, i) {
			var li = offerNodes.get(entry.o.offer);
			if (!li) {
				li = offerCard(entry);
				offerNodes.set(entry.o.offer, li);
			}
			updateOfferCard(li, entry, i === 0);
			if (el.offerList.children[i] !== li)
				el.offerList.insertBefore(li, el.offerList.children[i] || null);
		});
		if (focused && !el.offerList.contains(focused))
			(el.offerList.querySelector('[data-testid="offer-accept"]') || el.presenceToggle).focus();
		el.offers.hidden = list.length === 0;
		document.body.classList.toggle('has-offer', list.length > 0);
		tickOffers();
		window.clearInterval(S.countdownTimer);
		S.countdownTimer = list.length ? window.setInterval(tickOffers, 250) : null;
		renderTitle();
	}

	function offerCard(entry) {
		var o = entry.o, conv = o.conversation || {}, cust = conv.customer || {};
		var li = node('li', 'offer-card');
		li.setAttribute('data-testid', 'offer-card');
		li.dataset.offer = o.offer;
		li.setAttribute('aria-label', 'Offer: ' + channelLabel(conv.channel) + ' from ' + customerName(cust));

		var top = node('div', 'offer-top');
		top.appendChild(node('span', 'offer-kind', 'New ' + channelLabel(conv.channel)));
		var tags = node('span', 'offer-tags');
		if (str(conv.queue))
			tags.appendChild(node('span', 'tag', conv.queue));
		if (str(conv.language))
			tags.appendChild(node('span', 'tag', conv.language.toUpperCase()));
		if (typeof conv.priority === 'number' && conv.priority > 50)
			tags.appendChild(node('span', 'tag tag-hot', 'priority ' + conv.priority));
		if (conv.public === true)
			tags.appendChild(node('span', 'tag tag-public', 'Public post'));
		top.appendChild(tags);
		li.appendChild(top);

		li.appendChild(node('p', 'offer-customer', customerName(cust)));
		var note = handoffNote(conv);
		if (note)
			li.appendChild(note);
		if (str(conv.preview))
			li.appendChild(node('p', 'offer-preview', conv.preview));
		if (typeof conv.waiting_since === 'number') {
			var w = node('p', 'offer-waiting');
			w.dataset.since = String(conv.waiting_since);
			li.appendChild(w);
		}

		var timer = node('div', 'offer-timer');
		var bar = document.createElement('progress');
		bar.className = 'offer-progress';
		bar.max = entry.total;
		bar.setAttribute('aria-hidden', 'true');
		var left = node('span', 'offer-countdown');
		left.setAttribute('data-testid', 'offer-countdown');
		timer.appendChild(bar);
		timer.appendChild(left);
		li.appendChild(timer);

		var actions = node('div', 'offer-actions');
		var accept = node('button', 'btn btn-accept', 'Accept');
		accept.type = 'button';
		accept.setAttribute('data-testid', 'offer-accept');
		accept.appendChild(node('kbd', 'key-hint', 'A'));
		var reject = node('button', 'btn btn-reject', 'Reject');
		reject.type = 'button';
		reject.setAttribute('data-testid', 'offer-reject');
		reject.appendChild(node('kbd', 'key-hint', 'R'));
		accept.addEventListener('click', function () { acceptOffer(o.offer); });
		reject.addEventListener('click', function () { rejectOffer(o.offer); });
		actions.appendChild(accept);
		actions.appendChild(reject);
		li.appendChild(actions);
		li.appendChild(node('p', 'offer-busy'));
		emit('offer-card', li, entry);
		return li;
	}

	/* the parts that change: which card the keys act on, busy, offline */
	function updateOfferCard(li, entry, isFirst) {
		var accept = li.querySelector('[data-testid="offer-accept"]');
		var reject = li.querySelector('[data-testid="offer-reject"]');
		li.classList.toggle('is-first', isFirst);
		[accept, reject].forEach(function (b, i) {
			b.querySelector('.key-hint').hidden = !isFirst;
			if (isFirst)
				b.setAttribute('aria-keyshortcuts', i ? 'R' : 'A');
			else
				b.removeAttribute('aria-keyshortcuts');
			b.disabled = !!entry.busy || !S.authed;
		});
		var busy = li.querySelector('.offer-busy');
		busy.textContent = entry.busy || (S.authed ? '' : 'Waiting for the connection…');
		busy.hidden = !busy.textContent;
	}

	function tickOffers() {
		var now = Date.now(), expired = [];
		Array.prototype.forEach.call(el.offerList.children, function (li) {
			var entry = S.offers.get(li.dataset.offer);
			if (!entry)
				return;
			var left = entry.expiresAt - now;
			var bar = li.querySelector('progress'), txt = li.querySelector('.offer-countdown');
			bar.value = Math.max(0, left);
			var s = Math.max(0, Math.ceil(left / 1000));
			txt.textContent = left > 0 ? s + ' s left' : 'Expired';
			li.classList.toggle('is-urgent', left <= 5000);
			var w = li.querySelector('.offer-waiting');
			if (w)
				w.textContent = 'Waiting ' + duration(now - Number(w.dataset.since));
			/* the server revokes it; drop it here too if that got lost */
			if (left < -3000)
				expired.push(li.dataset.offer);
		});
		if (expired.length) {
			expired.forEach(function (id) { S.offers.delete(id); });
			renderOffers();
		}
	}

	function firstOffer() {
		var best = null;
		S.offers.forEach(function (entry) {
			if (!best || entry.expiresAt < best.expiresAt)
				best = entry;
		});
		return best;
	}

	function acceptOffer(id) {
		var entry = S.offers.get(id);
		if (!entry || entry.busy)
			return;
		if (!request({ type: 'accept', offer: id }))
			return;
		entry.busy = 'Accepting…';
		S.accepting.add(id);
		renderOffers();
	}

	function rejectOffer(id) {
		var entry = S.offers.get(id);
		if (!entry || entry.busy)
			return;
		if (!request({ type: 'reject', offer: id }))
			return;
		entry.busy = 'Rejecting…';
		renderOffers();
	}

	/* ---- rendering: the conversation list ---- */

	function lastMessage(c) {
		for (var i = c.messages.length - 1; i >= 0; i--)
			if (c.messages[i].direction !== 'note')
				return c.messages[i];
		return c.messages.length ? c.messages[c.messages.length - 1] : null;
	}

	function renderList() {
		var focusedId = document.activeElement && document.activeElement.dataset ?
			document.activeElement.dataset.conversation : null;
		clear(el.conversationList);
		S.order.forEach(function (id) {
			var entry = S.convs.get(id), c = entry.c;
			var li = node('li', 'conv-li');
			var b = node('button', 'conv-item');
			b.type = 'button';
			b.setAttribute('data-testid', 'conversation-item');
			b.dataset.conversation = id;
			b.dataset.status = str(c.status);
			if (id === S.selected)
				b.setAttribute('aria-current', 'true');
			if (entry.unread)
				b.classList.add('has-unread');

			var top = node('span', 'conv-item-top');
			top.appendChild(node('span', 'conv-name', customerName(c.customer)));
			var last = lastMessage(c);
			var t = last && typeof last.created_at === 'number' ? last.created_at : c.assigned_at || c.created_at;
			if (typeof t === 'number')
				top.appendChild(node('span', 'conv-time', stamp(t)));
			b.appendChild(top);

			var mid = node('span', 'conv-item-mid');
			mid.appendChild(node('span', 'channel-tag channel-' + str(c.channel).replace(/[^a-z0-9_-]/gi, ''),
					     channelLabel(c.channel)));
			if (str(c.queue))
				mid.appendChild(node('span', 'conv-queue', c.queue));
			if (c.status === 'wrapup')
				mid.appendChild(node('span', 'status-tag status-wrapup', 'Wrap-up needed'));
			else if (c.status && c.status !== 'assigned')
				mid.appendChild(node('span', 'status-tag', c.status));
			var watched = monitoredBadge(id);
			if (watched)
				mid.appendChild(watched);
			if (entry.unread) {
				var badge = node('span', 'unread-badge', entry.unread);
				badge.setAttribute('data-testid', 'unread-count');
				badge.setAttribute('aria-label', entry.unread + ' unread');
				mid.appendChild(badge);
			}
			b.appendChild(mid);

			if (last)
				b.appendChild(node('span', 'conv-preview',
						   previewPrefix(last) + str(last.text)));
			b.addEventListener('click', function () { select(id, false); });
			emit('list-item', b, entry);
			li.appendChild(b);
			el.conversationList.appendChild(li);
		});
		el.conversationCount.textContent = S.order.length ? '(' + S.order.length + ')' : '';
		el.conversationsEmpty.hidden = S.order.length > 0;
		if (focusedId) {
			var again = el.conversationList.querySelector('[data-conversation="' + cssEscape(focusedId) + '"]');
			if (again)
				again.focus();
		}
		renderHeader();
		renderTitle();
	}

	function select(id, keepHistory) {
		var prev = S.selected ? S.convs.get(S.selected) : null;
		if (prev && S.selected !== id)
			prev.draft = el.replyText.value;
		S.selected = id;
		if (!keepHistory)
			S.historyId = null;
		renderList();
		renderSelected(true);
	}

	function move(delta) {
		if (!S.order.length)
			return;
		var i = S.order.indexOf(S.selected);
		i = i < 0 ? 0 : (i + delta + S.order.length) % S.order.length;
		var inList = el.conversationList.contains(document.activeElement);
		select(S.order[i], false);
		if (inList) {
			var b = el.conversationList.querySelector('[aria-current="true"]');
			if (b)
				b.focus();
		}
		announce('Conversation with ' + customerName(S.convs.get(S.order[i]).c.customer) +
			 ', ' + (i + 1) + ' of ' + S.order.length + '.');
	}

	/* ---- rendering: the selected conversation ---- */

	function renderSelected(rebuild) {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (S.historyId !== null) {
			el.conversation.hidden = true;
			el.noConversation.hidden = true;
			el.history.hidden = false;
			renderCustomer(entry ? entry.c : null);
			return;
		}
		el.history.hidden = true;
		if (!entry) {
			el.conversation.hidden = true;
			el.noConversation.hidden = false;
			renderCustomer(null);
			return;
		}
		var c = entry.c;
		el.noConversation.hidden = true;
		el.conversation.hidden = false;
		el.convTitle.textContent = customerName(c.customer);
		renderConvMeta(el.convMeta, c);
		if (rebuild) {
			renderTranscript(el.transcript, c, entry.unread ? entry.firstUnread : null);
			S.outbox.forEach(function (m) {
				if (m.conversation === c.id)
					el.transcript.appendChild(pendingReplyNode(m));
			});
			scrollToEnd(el.transcript);
			if (el.replyText.value !== entry.draft)
				el.replyText.value = entry.draft;
			el.replyLabel.textContent = 'Reply to ' + customerName(c.customer);
			el.wrapupError.hidden = true;
			emit('select', c);
		}
		if (entry.unread) {
			entry.unread = 0;
			entry.firstUnread = null;
			renderList();
		}
		renderConversationState();
		renderCustomer(c);
		emit('selected', entry, rebuild);
	}

	function renderConvMeta(target, c) {
		clear(target);
		var parts = [channelLabel(c.channel)];
		if (str(c.queue))
			parts.push('queue ' + c.queue);
		if (str(c.language))
			parts.push(c.language.toUpperCase());
		if (typeof c.created_at === 'number')
			parts.push('started ' + stamp(c.created_at));
		target.appendChild(node('span', '', parts.join(' · ')));
		if (c.public === true) {
			var pm = node('span', 'tag tag-public', 'Public reply');
			pm.title = 'A public post: your answer is public';
			pm.setAttribute('data-testid', 'public-marker');
			target.appendChild(pm);
		}
		(Array.isArray(c.tags) ? c.tags : []).forEach(function (t) {
			if (typeof t === 'string')
				target.appendChild(node('span', 'tag', t));
		});
		var idn = node('span', 'conv-id', c.id);
		idn.title = 'Conversation id';
		target.appendChild(idn);
		var watched = target === el.convMeta ? monitoredBadge(c.id) : null;
		if (watched)
			target.appendChild(watched);
		var note = handoffNote(c);
		if (note)
			target.appendChild(note);
	}

	/* who wrote the last message, for the list: "You: ", "Bot: ", ... */
	function previewPrefix(m) {
		if (m.direction !== 'out')
			return '';
		if (m.author === 'bot' || m.author === 'system')
			return AUTHOR_LABEL[m.author] + ': ';
		return S.me && m.author_id && m.author_id !== S.me.id ? str(m.author_name) + ': ' : 'You: ';
	}

	/* why the bot handed this conversation over, and what it learnt */
	function handoffText(c) {
		var h = c && c.routing && c.routing.handoff;
		if (!h || !str(h.reason))
			return '';
		var text = 'Handed over: ' + h.reason;
		var intent = c.attrs && str(c.attrs.intent) ? c.attrs.intent : str(c.intent);
		if (intent)
			text += ' · wants: ' + intent;
		var slots = c.bot_slots && typeof c.bot_slots === 'object' ? c.bot_slots : {};
		var known = Object.keys(slots).filter(function (k) {
			return k !== 'language' && (typeof slots[k] === 'string' || typeof slots[k] === 'number');
		}).slice(0, 6).map(function (k) { return k + ': ' + slots[k]; });
		if (known.length)
			text += ' · knows: ' + known.join(', ');
		return text;
	}

	function handoffNote(c) {
		var text = handoffText(c);
		if (!text)
			return null;
		var n = node('span', 'handoff-note', text);
		n.setAttribute('data-testid', 'handoff-note');
		return n;
	}

	/* The channel's reply window (WhatsApp: 24 hours after the customer's
	 * last message): once closed, only an approved template may go out. */
	function renderWindow(c, assigned) {
		var rw = c.reply_window;
		window.clearTimeout(S.windowTimer);
		var closed = assigned && rw && typeof rw.closes_at === 'number' && rw.closes_at <= Date.now();
		el.windowBar.hidden = !closed;
		el.replyText.disabled = !!closed;
		el.replySend.disabled = !!closed;
		if (assigned && rw && typeof rw.closes_at === 'number' && !closed)
			S.windowTimer = window.setTimeout(renderConversationState,
							  Math.min(rw.closes_at - Date.now() + 50, 2147483000));
		if (!closed)
			return;
		var templates = Array.isArray(rw.templates) ? rw.templates : [];
		el.windowText.textContent = 'The reply window of this channel closed at ' + stamp(rw.closes_at) +
			'. The customer has to write first' +
			(templates.length ? ', or you send an approved template.' : '; no templates are set up.');
		el.windowTemplates.hidden = !templates.length;
		if (el.windowTemplate.dataset.conversation !== c.id) {
			clear(el.windowTemplate);
			templates.forEach(function (t) {
				var o = document.createElement('option');
				o.value = str(t.name);
				o.textContent = str(t.name) + ' (' + str(t.language) + '): ' + str(t.text).slice(0, 80);
				el.windowTemplate.appendChild(o);
			});
			el.windowTemplate.dataset.conversation = c.id;
			templateForm();
		}
	}

	/* the chosen template's variables (templates.js) */
	function chosenTemplate() {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		var rw = entry && entry.c.reply_window;
		var name = el.windowTemplate.value;
		return ((rw && rw.templates) || []).filter(function (x) { return x.name === name; })[0];
	}

	function templateForm() {
		if (window.OmrTemplates)
			window.OmrTemplates.form(el.windowVars, chosenTemplate());
	}

	el.windowTemplate.addEventListener('change', templateForm);

	function sendTemplate() {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (!entry || entry.c.status !== 'assigned' || !entry.c.reply_window)
			return;
		var name = el.windowTemplate.value;
		var t = (entry.c.reply_window.templates || []).filter(function (x) { return x.name === name; })[0];
		if (!t)
			return;
		var vars = window.OmrTemplates ? window.OmrTemplates.values(el.windowVars, t) : {};
		if (!vars)
			return; /* a variable is missing: the form says which */
		var m = { cmid: newClientMsgId(), conversation: entry.c.id, template: name, variables: vars,
			  text: window.OmrTemplates ? window.OmrTemplates.preview(t, vars) : str(t.text),
			  at: Date.now(), failed: false, why: '' };
		S.outbox.push(m);
		el.transcript.appendChild(pendingReplyNode(m));
		scrollToEnd(el.transcript);
		sendReply(m);
	}

	el.windowSend.addEventListener('click', sendTemplate);

	/* what the agent can do now: reply, wrap up, or wait */
	function renderConversationState() {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (!entry)
			return;
		var c = entry.c, op = S.pending[c.id];
		var assigned = c.status === 'assigned';
		var wrapup = c.status === 'wrapup';
		el.replyForm.hidden = !assigned;
		renderPublic(c, assigned);
		renderWindow(c, assigned);
		el.wrapupForm.hidden = !wrapup;
		el.transferOpen.hidden = !assigned;
		el.closeConversation.hidden = !assigned;
		el.closeConversation.disabled = op === 'close';
		el.closeConversation.textContent = op === 'close' ? 'Closing…' : 'Close conversation';
		el.transferOpen.disabled = !!op;
		if (wrapup) {
			if (el.wrapupForm.dataset.conversation !== c.id)
				resetWrapupForm(); /* each conversation starts with an empty form */
			fillSelect(el.wrapupReason, S.reasons, 'Choose the reason…');
			fillSelect(el.wrapupOutcome, S.outcomes, 'Choose the outcome…');
			el.wrapupSubmit.disabled = op === 'wrapup';
			el.wrapupSubmit.textContent = op === 'wrapup' ? 'Saving…' : 'Complete wrap-up';
			el.wrapupForm.dataset.conversation = c.id;
		}
	}

	/* a public post: the answer is public unless the agent answers privately */
	function renderPublic(c, assigned) {
		var pub = assigned && c.public === true;
		if (el.publicBar.dataset.conversation !== c.id) {
			el.replyPrivate.checked = false; /* each conversation starts public */
			el.publicBar.dataset.conversation = c.id;
		}
		el.publicBar.hidden = !pub;
		el.replySend.textContent = !pub ? 'Send' : el.replyPrivate.checked ? 'Send privately' : 'Send publicly';
		el.replyText.placeholder = pub && !el.replyPrivate.checked ? 'Write a public reply…' : 'Write a reply…';
	}

	el.replyPrivate.addEventListener('change', function () {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (entry)
			renderPublic(entry.c, entry.c.status === 'assigned');
	});

	function fillSelect(sel, values, placeholder) {
		var keep = sel.value;
		var same = sel.options.length === values.length + 1 && values.every(function (v, i) {
			return sel.options[i + 1].value === v;
		});
		if (same)
			return;
		clear(sel);
		var p = node('option', '', placeholder);
		p.value = '';
		sel.appendChild(p);
		values.forEach(function (v) {
			var o = node('option', '', v.replace(/_/g, ' '));
			o.value = v;
			sel.appendChild(o);
		});
		sel.value = values.indexOf(keep) >= 0 ? keep : '';
	}

	function nearBottom(list) {
		return list.scrollHeight - list.scrollTop - list.clientHeight < 100;
	}

	function scrollToEnd(list) {
		list.scrollTop = list.scrollHeight;
	}

	function renderTranscript(list, c, firstUnread) {
		list.setAttribute('aria-busy', 'true');
		clear(list);
		delete list.dataset.lastDay;
		c.messages.forEach(function (m) {
			if (firstUnread && m.id === firstUnread) {
				var sep = node('li', 'unread-sep', 'New messages');
				list.appendChild(sep);
			}
			appendMessage(list, m, false, c);
		});
		if (!c.messages.length)
			list.appendChild(node('li', 'transcript-empty', 'No messages yet.'));
		list.removeAttribute('aria-busy');
	}

	function appendMessage(list, m, live, c) {
		var stick = nearBottom(list);
		var empty = list.querySelector('.transcript-empty');
		if (empty)
			empty.remove();
		var t = typeof m.created_at === 'number' ? m.created_at : Date.now();
		var day = new Date(t).toDateString();
		if (list.dataset.lastDay !== day) {
			list.dataset.lastDay = day;
			/* a list item (an <ol> holds only those: axe, WCAG 1.3.1) */
			var sep = node('li', 'day-sep');
			sep.appendChild(node('span', '', dayLabel(t)));
			/* before the first pending reply, which stays last */
			var firstPending = list.querySelector('.msg.is-pending');
			list.insertBefore(sep, live ? firstPending : null);
		}
		var li = messageNode(m, c);
		list.insertBefore(li, live ? list.querySelector('.msg.is-pending') : null);
		if (live && (stick || m.direction === 'out'))
			scrollToEnd(list);
		return li;
	}

	/* c: the conversation, for the customer's name when a message has none */
	function messageNode(m, c) {
		var dir = m.direction === 'in' || m.direction === 'note' ? m.direction : 'out';
		var author = AUTHOR_LABEL.hasOwnProperty(m.author) ? m.author : (dir === 'in' ? 'customer' : 'agent');
		var li = node('li', 'msg msg-' + dir + ' by-' + author);
		li.setAttribute('data-testid', 'message');
		li.dataset.direction = dir;
		li.dataset.author = author;
		if (typeof m.id === 'string')
			li.dataset.messageId = m.id;
		/* a supervisor's whisper (only the agent sees it) or barge (to the customer) */
		var whisper = author === 'supervisor' && dir === 'note';
		var barge = author === 'supervisor' && dir === 'out';
		if (whisper || barge) {
			li.dataset.kind = whisper ? 'whisper' : 'barge';
			li.classList.add(whisper ? 'is-whisper' : 'is-barge');
		}

		var bubble = node('div', 'bubble');
		var meta = node('p', 'meta');
		if (whisper)
			meta.appendChild(node('span', 'note-label whisper-label', 'Whisper from'));
		else if (dir === 'note')
			meta.appendChild(node('span', 'note-label', 'Internal note'));
		else if (barge)
			meta.appendChild(node('span', 'note-label barge-label', 'Supervisor'));
		/* a public post answered privately: the thread got only the note */
		var privNote = m.meta && typeof m.meta === 'object' ? str(m.meta.public_note) : '';
		if (privNote && dir === 'out') {
			var pl = node('span', 'note-label private-label', 'Sent privately');
			pl.title = 'Posted publicly: ' + privNote;
			meta.appendChild(pl);
		}
		/* a monitored conversation is someone else's: their replies are not "mine" */
		var own = !(c && c._monitor);
		var who = str(m.author_name) ||
			(author === 'agent' && own && S.me && dir === 'out' ? str(S.me.name) : '') ||
			(author === 'customer' && c && c.customer ? str(c.customer.name) : '') || AUTHOR_LABEL[author];
		meta.appendChild(node('span', 'who', who));
		var t = typeof m.created_at === 'number' ? m.created_at : Date.now();
		var when = node('time', 'when', clockTime(t));
		when.dateTime = new Date(t).toISOString();
		when.title = new Date(t).toLocaleString();
		meta.appendChild(when);
		bubble.appendChild(meta);
		var subject = m.meta && typeof m.meta === 'object' ? str(m.meta.subject) : '';
		if (subject && dir === 'in') {
			var sp = node('p', 'subject');
			sp.appendChild(node('span', 'subject-label', 'Subject: '));
			sp.appendChild(document.createTextNode(subject));
			bubble.appendChild(sp);
		}
		bubble.appendChild(node('p', 'text', str(m.text)));
		if (m.meta && typeof m.meta === 'object' && m.meta.text_cut === true)
			bubble.appendChild(node('p', 'text-cut', 'The message was longer: its text is cut here.'));
		var files = attachmentsNode(m.attachments);
		if (files)
			bubble.appendChild(files);
		var state = node('p', 'state');
		bubble.appendChild(state);
		li.appendChild(bubble);
		setMessageState(li, m);
		emit('message-node', li, m, c);
		return li;
	}

	function byteSize(n) {
		if (n < 1024)
			return n + ' B';
		if (n < 1024 * 1024)
			return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
		return (n / 1048576).toFixed(1) + ' MB';
	}

	/* What the customer attached: name, type and size, linked when there
	 * is a link: a file this server keeps (/files/…, a signed link that
	 * opens in a new tab) or a web address the channel gave. */
	function attachmentsNode(list) {
		if (!Array.isArray(list))
			return null;
		var ul = node('ul', 'attachments');
		list.forEach(function (a) {
			if (!a || typeof a !== 'object')
				return;
			var li = node('li', 'attachment');
			li.setAttribute('data-testid', 'attachment');
			var name = str(a.name) || str(a.kind) || 'attachment';
			var url = str(a.url);
			if (/^https?:\/\//i.test(url) || /^\/files\/[0-9a-f]+\/[0-9a-f]{64}$/.test(url)) {
				var link = node('a', 'attachment-name', name);
				link.href = url;
				link.target = '_blank';
				link.rel = 'noopener noreferrer';
				li.appendChild(link);
				/* an image this server keeps is shown (served in a sandbox) */
				if (/^image\/(png|jpeg|gif|webp)$/.test(str(a.type)) && url.indexOf('/files/') === 0) {
					var img = node('img', 'attachment-image');
					img.src = url;
					img.alt = name;
					img.loading = 'lazy';
					li.appendChild(img);
				}
			} else {
				li.appendChild(node('span', 'attachment-name', name));
			}
			if (a.unavailable === true) /* refused or not fetched: why */
				li.appendChild(node('span', 'attachment-error', ' ' + (str(a.error) || 'unavailable')));
			var facts = [];
			if (str(a.type))
				facts.push(str(a.type));
			if (typeof a.size === 'number' && a.size >= 0)
				facts.push(byteSize(a.size));
			if (a.inline === true)
				facts.push('inline');
			if (facts.length)
				li.appendChild(node('span', 'attachment-facts', ' (' + facts.join(', ') + ')'));
			ul.appendChild(li);
		});
		return ul.childNodes.length ? ul : null;
	}

	function setMessageState(li, m) {
		var state = li.querySelector('.state');
		var st = str(m.status);
		if (li.dataset.direction === 'out' && li.dataset.author !== 'system' && STATUS_LABEL.hasOwnProperty(st)) {
			li.dataset.status = st;
			/* why it failed (a bounce, the provider's refusal) is the agent's to know */
			var why = st === 'failed' ? str(m.error) : '';
			state.textContent = why ? STATUS_LABEL[st] + ': ' + why.slice(0, 300) : STATUS_LABEL[st];
			state.title = why;
			state.className = 'state state-' + st;
		} else {
			state.textContent = '';
			state.title = '';
			state.className = 'state';
		}
	}

	function updateMessageNode(m, list) {
		if (typeof m.id !== 'string')
			return;
		var li = (list || el.transcript).querySelector('[data-message-id="' + cssEscape(m.id) + '"]');
		if (li) {
			li.querySelector('.text').textContent = str(m.text);
			setMessageState(li, m);
		}
	}

	function pendingReplyNode(m) {
		var li = messageNode({ direction: 'out', author: 'agent', text: m.text, created_at: m.at });
		li.classList.add('is-pending');
		li.dataset.clientMsgId = m.cmid;
		setPendingState(li, m);
		return li;
	}

	function setPendingState(li, m) {
		var state = li.querySelector('.state');
		clear(state);
		li.classList.toggle('is-failed', !!m.failed);
		if (!m.failed) {
			li.dataset.status = 'sending';
			state.className = 'state state-sending';
			state.textContent = S.authed ? 'Sending…' : 'Waiting for the connection…';
			return;
		}
		li.dataset.status = 'failed';
		state.className = 'state state-failed';
		state.appendChild(node('span', '', m.why || 'Not sent.'));
		var retry = node('button', 'btn-link', 'Retry');
		retry.type = 'button';
		retry.addEventListener('click', function () {
			if (outboxFind(m.cmid))
				sendReply(m);
		});
		var drop = node('button', 'btn-link', 'Discard');
		drop.type = 'button';
		drop.addEventListener('click', function () {
			dropReply(m.cmid);
			li.remove();
			el.replyText.focus();
		});
		state.appendChild(retry);
		state.appendChild(drop);
	}

	/* ---- the customer panel and earlier conversations ---- */

	function renderCustomer(c) {
		renderCustomerMain(c);
		var shown = { type: 'customer_shown', conversation: c, customer: c ? c.customer || {} : null };
		extHooks.forEach(function (fn) { fn(shown); });
	}

	function renderCustomerMain(c) {
		if (!c) {
			el.customerBody.hidden = true;
			el.customerEmpty.hidden = false;
			return;
		}
		var cust = c.customer || {};
		el.customerBody.hidden = false;
		el.customerEmpty.hidden = true;
		el.customerName.textContent = customerName(cust);
		el.customerEmail.textContent = str(cust.email);
		el.customerEmailRow.hidden = !str(cust.email);
		el.customerClaimedEmail.textContent = str(cust.claimed_email);
		el.customerClaimedRow.hidden = !str(cust.claimed_email) || cust.claimed_email === cust.email;

		renderPanel(c, cust);
		if (window.omrOutreach)
			window.omrOutreach.show(cust, send); /* "Start conversation" (outreach.js) */

		clear(el.customerAddresses);
		(Array.isArray(cust.addresses) ? cust.addresses : []).forEach(function (a) {
			if (typeof a !== 'string')
				return;
			var i = a.indexOf(':');
			var ch = i > 0 ? a.slice(0, i) : '';
			var li = node('li', 'address');
			li.appendChild(node('span', 'channel-tag channel-' + ch.replace(/[^a-z0-9_-]/gi, ''),
					    ch ? channelLabel(ch) : 'address'));
			li.appendChild(node('span', 'address-value', i > 0 ? a.slice(i + 1) : a));
			el.customerAddresses.appendChild(li);
		});
		if (!el.customerAddresses.children.length)
			el.customerAddresses.appendChild(node('li', 'empty-hint', 'None known.'));

		clear(el.customerPrevious);
		var prev = Array.isArray(cust.previous) ? cust.previous : [];
		prev.forEach(function (p) {
			if (!p || typeof p.id !== 'string')
				return;
			var li = node('li');
			var b = node('button', 'previous-item');
			b.type = 'button';
			b.setAttribute('data-testid', 'previous-conversation');
			b.dataset.conversation = p.id;
			if (S.historyId === p.id)
				b.setAttribute('aria-current', 'true');
			var top = node('span', 'previous-top');
			top.appendChild(node('span', 'channel-tag channel-' + str(p.channel).replace(/[^a-z0-9_-]/gi, ''),
					     channelLabel(p.channel)));
			if (typeof p.created_at === 'number') {
				var date = node('time', 'previous-date', stamp(p.created_at));
				date.dateTime = new Date(p.created_at).toISOString();
				top.appendChild(date);
			}
			b.appendChild(top);
			var w = p.wrapup && typeof p.wrapup === 'object' ? p.wrapup : null;
			if (w && str(w.reason)) {
				var why = node('span', 'previous-reason', w.reason);
				b.appendChild(why);
				if (str(w.outcome))
					b.appendChild(node('span', 'previous-outcome', str(w.outcome).replace(/_/g, ' ')));
			} else {
				b.appendChild(node('span', 'previous-outcome', str(p.status) || 'no wrap-up'));
			}
			b.addEventListener('click', function () { openHistory(p); });
			li.appendChild(b);
			el.customerPrevious.appendChild(li);
		});
		el.customerPreviousEmpty.hidden = el.customerPrevious.children.length > 0;
	}

	/* the contact person, the relationship as words (never the balance's
	 * number), open promises and the last contact reasons (the server's
	 * summary: docs/agent-protocol.md#customer-panel) */
	var TREND_TEXT = { up: '↑ improving', down: '↓ declining', steady: '→ steady' };

	function renderPanel(c, cust) {
		var owner = str(cust.owner), deputy = str(cust.deputy);
		var me = S.me ? str(S.me.id) : '';
		el.customerOwner.textContent = owner ?
			(owner === me ? 'You' : agentName(owner)) +
			(deputy ? ' (deputy: ' + (deputy === me ? 'you' : agentName(deputy)) + ')' : '') : 'None';
		var mine = S.historyId === null && c.agent === me && isAgent() &&
			(c.status === 'assigned' || c.status === 'wrapup');
		el.customerOwn.hidden = !mine || owner === me;
		el.customerOwn.dataset.conversation = str(c.id);

		var panel = cust.panel && typeof cust.panel === 'object' ? cust.panel : {};
		var standing = str(panel.standing);
		el.customerTrendRow.hidden = !standing;
		clear(el.customerTrend);
		if (standing) {
			var word = node('span', 'standing standing-' + standing.replace(/[^a-z]/g, '-'),
					standing.charAt(0).toUpperCase() + standing.slice(1));
			el.customerTrend.appendChild(word);
			if (TREND_TEXT.hasOwnProperty(str(panel.trend)))
				el.customerTrend.appendChild(node('span', 'trend', ' · ' + TREND_TEXT[panel.trend]));
		}

		clear(el.customerPromises);
		(Array.isArray(panel.promises) ? panel.promises : []).forEach(function (p) {
			if (!p || !str(p.reason))
				return;
			var li = node('li', 'promise', 'Follow up: ' + p.reason);
			if (typeof p.at === 'number')
				li.appendChild(node('time', 'previous-date', ' · ' + stamp(p.at)));
			if (str(p.agent))
				li.appendChild(node('span', 'promise-agent', ' · ' + agentName(p.agent)));
			el.customerPromises.appendChild(li);
		});
		el.customerPromisesBox.hidden = !el.customerPromises.children.length;

		clear(el.customerReasons);
		(Array.isArray(panel.reasons) ? panel.reasons : []).forEach(function (r) {
			if (typeof r === 'string' && r)
				el.customerReasons.appendChild(node('li', 'reason', r));
		});
		el.customerReasonsBox.hidden = !el.customerReasons.children.length;
	}

	function agentName(id) {
		var a = (S.agents || []).filter(function (x) { return x.id === id; })[0];
		return a && str(a.name) ? a.name : id;
	}

	el.customerOwn.addEventListener('click', function () {
		var conv = el.customerOwn.dataset.conversation;
		if (conv && request({ type: 'own', conversation: conv }))
			el.customerOwn.disabled = true;
	});

	/* "make me their contact person" was done: every open conversation of
	 * that customer shows it */
	function onOwner(msg) {
		el.customerOwn.disabled = false;
		S.convs.forEach(function (e) {
			var cu = e.c.customer;
			if (cu && cu.id === msg.customer) {
				cu.owner = str(msg.owner);
				if (str(msg.deputy))
					cu.deputy = msg.deputy;
				else
					delete cu.deputy;
			}
		});
		announce('You are now the contact person of this customer.');
		renderSelected(false);
	}

	function openHistory(p) {
		if (!request({ type: 'open', conversation: p.id }))
			return;
		S.historyId = p.id;
		el.historyTitle.textContent = 'Earlier conversation';
		clear(el.historyMeta);
		el.historyMeta.appendChild(node('span', '', channelLabel(p.channel) +
			(typeof p.created_at === 'number' ? ' · ' + stamp(p.created_at) : '')));
		clear(el.historyTranscript);
		el.historyTranscript.appendChild(node('li', 'transcript-empty', 'Loading…'));
		renderSelected(false);
		el.historyBack.focus();
	}

	function showHistory(c) {
		el.historyTitle.textContent = 'Earlier conversation with ' + customerName(c.customer);
		renderConvMeta(el.historyMeta, c);
		var w = c.wrapup && typeof c.wrapup === 'object' ? c.wrapup : null;
		if (w && str(w.reason))
			el.historyMeta.appendChild(node('span', 'tag tag-reason', 'Why: ' + w.reason +
				(str(w.outcome) ? ' · ' + w.outcome.replace(/_/g, ' ') : '')));
		renderTranscript(el.historyTranscript, c, null);
		el.historyTranscript.scrollTop = 0;
		announce('Earlier conversation loaded, ' + c.messages.length + ' messages.');
	}

	function closeHistory() {
		S.historyId = null;
		renderSelected(false);
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (entry && entry.c.status === 'assigned')
			el.replyText.focus();
		else
			el.transcript.focus();
	}

	el.historyBack.addEventListener('click', closeHistory);

	/* ---- close and wrap-up ---- */

	el.closeConversation.addEventListener('click', function () {
		var id = S.selected;
		var entry = id ? S.convs.get(id) : null;
		if (!entry || entry.c.status !== 'assigned' || S.pending[id])
			return;
		if (!request({ type: 'close', conversation: id }))
			return;
		entry.draft = el.replyText.value;
		S.pending[id] = 'close';
		renderConversationState();
	});

	el.wrapupForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var id = S.selected;
		var entry = id ? S.convs.get(id) : null;
		if (!entry || entry.c.status !== 'wrapup' || S.pending[id])
			return;
		var reason = el.wrapupReason.value, outcome = el.wrapupOutcome.value;
		if (!reason || !outcome) {
			el.wrapupError.textContent = !reason ? 'Choose why the customer got in touch.' :
				'Choose the outcome.';
			el.wrapupError.hidden = false;
			(!reason ? el.wrapupReason : el.wrapupOutcome).focus();
			return;
		}
		var frame = { type: 'wrapup', conversation: id, reason: reason, outcome: outcome };
		var notes = el.wrapupNotes.value.trim();
		if (notes)
			frame.notes = notes;
		if (el.wrapupComplaint.checked && !el.wrapupComplaint.disabled)
			frame.complaint = true;
		if (!request(frame))
			return;
		el.wrapupError.hidden = true;
		S.pending[id] = 'wrapup';
		renderConversationState();
	});

	function resetWrapupForm() {
		el.wrapupReason.value = '';
		el.wrapupOutcome.value = '';
		el.wrapupNotes.value = '';
		el.wrapupError.hidden = true;
		// a conversation already known as a complaint shows it (checked, fixed)
		var entry = S.selected ? S.convs.get(S.selected) : null;
		var known = !!(entry && entry.c.complaint === true);
		el.wrapupComplaint.checked = known;
		el.wrapupComplaint.disabled = known;
	}

	/* ---- transfer ---- */

	function fillStaticLists() {
		clear(el.transferQueue);
		S.queues.forEach(function (q) {
			var o = node('option', '', q.name + (str(q.description) ? ' — ' + q.description : ''));
			o.value = q.name;
			el.transferQueue.appendChild(o);
		});
		clear(el.transferAgent);
		S.agents.forEach(function (a) {
			if (S.me && a.id === S.me.id)
				return;
			var o = node('option', '', (str(a.name) || a.id) + (str(a.name) ? ' (' + a.id + ')' : '') +
				     (str(a.status) ? ' · ' + a.status : ''));
			o.value = a.id;
			el.transferAgent.appendChild(o);
		});
		el.transferKindAgent.disabled = el.transferAgent.options.length === 0;
		el.transferKindQueue.disabled = el.transferQueue.options.length === 0;
	}

	/* the rest of the agent directory, a page at a time */
	function loadAgents() {
		if (!S.agentsNext || S.agentsAsked)
			return;
		S.agentsAsked = true;
		send({ type: 'agents', after: S.agentsNext });
	}

	function onAgents(msg) {
		S.agentsAsked = false;
		(Array.isArray(msg.agents) ? msg.agents : []).forEach(function (a) {
			if (a && typeof a.id === 'string')
				S.agents.push(a);
		});
		S.agentsNext = typeof msg.next === 'string' ? msg.next : null;
		fillStaticLists();
		if (el.transferDialog.open)
			loadAgents();
	}

	function transferKind() {
		return el.transferKindAgent.checked ? 'agent' : 'queue';
	}

	function renderTransferKind() {
		var agent = transferKind() === 'agent';
		el.transferAgentField.hidden = !agent;
		el.transferQueueField.hidden = agent;
	}

	el.transferKindQueue.addEventListener('change', renderTransferKind);
	el.transferKindAgent.addEventListener('change', renderTransferKind);

	el.transferOpen.addEventListener('click', function () {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (!entry)
			return;
		el.transferDialog.dataset.conversation = entry.c.id;
		el.transferNote.value = '';
		el.transferError.hidden = true;
		el.transferSubmit.disabled = false;
		if (el.transferKindQueue.disabled)
			el.transferKindAgent.checked = true;
		else if (!el.transferKindAgent.checked)
			el.transferKindQueue.checked = true;
		/* start with a queue other than the current one */
		for (var i = 0; i < el.transferQueue.options.length; i++)
			if (el.transferQueue.options[i].value !== entry.c.queue) {
				el.transferQueue.selectedIndex = i;
				break;
			}
		renderTransferKind();
		loadAgents();
		el.transferDialog.showModal();
		(transferKind() === 'agent' ? el.transferAgent : el.transferQueue).focus();
	});

	el.transferCancel.addEventListener('click', function () {
		el.transferDialog.close();
	});

	el.transferForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var id = el.transferDialog.dataset.conversation;
		var entry = id ? S.convs.get(id) : null;
		if (!entry) {
			el.transferDialog.close();
			return;
		}
		var frame = { type: 'transfer', conversation: id };
		var kind = transferKind();
		var target = kind === 'agent' ? el.transferAgent.value : el.transferQueue.value;
		if (!target) {
			el.transferError.textContent = kind === 'agent' ? 'Choose an agent.' : 'Choose a queue.';
			el.transferError.hidden = false;
			return;
		}
		frame[kind] = target;
		var note = el.transferNote.value.trim();
		if (note)
			frame.note = note;
		if (!S.authed || !send(frame)) {
			el.transferError.textContent = 'Not connected: try again when the connection is back.';
			el.transferError.hidden = false;
			return;
		}
		S.pending[id] = 'transfer';
		el.transferSubmit.disabled = true;
		el.transferError.hidden = true;
		renderConversationState();
	});

	/* ---- the supervisor view (docs/agent-protocol.md, "Supervisors") ----
	 *
	 * Shown to a user with the supervisor or admin role: the main screen of
	 * a supervisor who is no agent, a tab beside "My conversations" for one
	 * who is both. While it is shown the server pushes `wallboard` frames
	 * (only when something changed); the waits and times in state are
	 * counted here, every second, from the server's clock (`now`) and the
	 * offset between it and this browser's. */

	var SUP_STATES = ['available', 'busy', 'away', 'offline'];
	var STATE_LABEL = { available: 'Available', busy: 'Busy', away: 'Away', offline: 'Offline' };
	var ARM_MS = 8000;              /* a "log out" click waits this long for its confirmation */
	var WHISPER_MAX_BYTES = 4000;

	function hasRole(r) {
		return S.roles.indexOf(r) >= 0;
	}
	function isSup() {
		return hasRole('supervisor') || hasRole('admin');
	}
	function isAgent() {
		return hasRole('agent');
	}

	function supReset() {
		if (S.sup)
			window.clearInterval(S.sup.timer);
		S.sup = {
			board: null,            /* the last wallboard frame */
			offset: 0,              /* the server's clock minus this browser's, ms */
			lastAt: 0,              /* this browser's time of the last frame */
			on: false,              /* wallboard frames asked for on this socket */
			known: new Map(),       /* conversation id -> {customer, queue, channel} */
			pullChoice: new Map(),  /* conversation id -> the agent chosen in its select */
			pulled: new Map(),      /* conversation id -> the agent it was pulled to (this page) */
			busy: new Map(),        /* 'pull:<c>', 'reassign:<c>', 'presence:<agent>' -> true */
			armed: new Map(),       /* agent id -> when their "log out" was armed */
			mon: null,              /* the monitored conversation, see supMonitor */
			timer: 0,
			screen: 'board',        /* 'board' (live) or 'reports' */
			rep: {
				seq: 0,
				pending: new Map(), /* request id -> {frame, params, format} */
				want: null,         /* the id of the JSON report to show next */
				csv: null,          /* the id of the CSV being prepared */
				shown: null         /* {params, data}: the report on screen */
			}
		};
		if (el.supQueueRows) {
			clear(el.repBody);
			repError('');
			el.repStatus.textContent = '';
			el.repForm.reset(); /* queues, no dates (today when opened), automatic series */
			el.repInterval.disabled = false;
			repBusy();
			applyScreen();
			clear(el.supQueueRows);
			clear(el.supWaitingRows);
			clear(el.supAgentRows);
			clear(el.supNotices);
			clear(el.monitorTranscript);
			el.monitor.hidden = true;
			el.supervisor.classList.remove('has-monitor');
		}
	}

	function supNow() {
		return Date.now() + S.sup.offset;
	}

	/* "0:42", "12:05", "1:02:03": waits, as a wallboard shows them */
	function waitClock(ms) {
		var s = Math.max(0, Math.floor(ms / 1000));
		var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
		var ss = ('0' + (s % 60)).slice(-2);
		return h ? h + ':' + ('0' + m).slice(-2) + ':' + ss : m + ':' + ss;
	}

	function pct(v) {
		return (Math.round(v * 10) / 10).toFixed(1).replace(/\.0$/, '') + ' %';
	}

	function arr(v) {
		return Array.isArray(v) ? v : [];
	}

	/* a user's name: the wallboard's, the directory's, or one learnt from a message */
	function personName(id) {
		id = str(id);
		var b = S.sup && S.sup.board;
		if (b)
			for (var i = 0; i < b.agents.length; i++)
				if (b.agents[i].id === id && str(b.agents[i].name))
					return b.agents[i].name;
		for (var j = 0; j < S.agents.length; j++)
			if (S.agents[j].id === id && str(S.agents[j].name))
				return S.agents[j].name;
		if (S.me && S.me.id === id && str(S.me.name))
			return S.me.name;
		return S.names.get(id) || id || 'someone';
	}

	function learnName(m) {
		if (!m || !str(m.author_id) || !str(m.author_name) || m.author === 'customer' ||
		    S.names.get(m.author_id) === m.author_name)
			return;
		S.names.set(m.author_id, m.author_name);
		/* "sam is monitoring" becomes "Sam Supervisor is monitoring" */
		var shown = false;
		S.monitoredBy.forEach(function (by) { shown = shown || by === m.author_id; });
		if (!shown)
			return;
		renderList();
		var entry = S.selected && S.historyId === null ? S.convs.get(S.selected) : null;
		if (entry)
			renderConvMeta(el.convMeta, entry.c);
	}

	function convLabel(id) {
		var k = S.sup.known.get(id);
		return k && k.customer ? k.customer : 'conversation ' + id;
	}

	/* ---- views: "My conversations" and "Supervisor" ---- */

	function applyRoles() {
		var sup = isSup(), agent = isAgent();
		el.viewTabs.hidden = !(sup && agent);
		document.body.classList.toggle('is-supervisor-only', sup && !agent);
		document.body.classList.toggle('is-supervisor', sup);
		if (sup && agent) {
			el.workspace.setAttribute('role', 'tabpanel');
			el.workspace.setAttribute('aria-labelledby', 'tab-agent');
			el.supervisor.setAttribute('role', 'tabpanel');
			el.supervisor.setAttribute('aria-labelledby', 'tab-supervisor');
		} else {
			el.workspace.removeAttribute('role');
			el.workspace.removeAttribute('aria-labelledby');
			el.supervisor.setAttribute('role', 'region');
			el.supervisor.setAttribute('aria-labelledby', 'supervisor-title');
		}
		if (!sup)
			return 'agent';
		if (!agent)
			return 'supervisor';
		return S.view === 'supervisor' || (S.view === null && load('view') === 'supervisor') ?
			'supervisor' : 'agent';
	}

	function showView(view) {
		var sup = view === 'supervisor' && isSup();
		S.view = sup ? 'supervisor' : 'agent';
		document.body.dataset.view = S.view;
		el.workspace.hidden = sup;
		el.supervisor.hidden = !sup;
		el.helplineSup.hidden = !sup;
		el.helplineAgent.hidden = sup;
		el.tabAgent.setAttribute('aria-selected', sup ? 'false' : 'true');
		el.tabSupervisor.setAttribute('aria-selected', sup ? 'true' : 'false');
		el.tabAgent.tabIndex = sup ? -1 : 0;
		el.tabSupervisor.tabIndex = sup ? 0 : -1;
		var skip = document.querySelector('.skip-link');
		skip.href = sup ? '#sup-board' : '#reply-text';
		skip.textContent = sup ? 'Skip to the supervisor board' : 'Skip to the reply box';
		if (isSup() && isAgent())
			save('view', S.view);
		supWallboard(sup);
		applyScreen();
		window.clearInterval(S.sup.timer);
		S.sup.timer = 0;
		if (sup) {
			supRender();
			S.sup.timer = window.setInterval(supTick, 1000);
		}
	}

	function supWallboard(on) {
		if (!S.authed || !isSup() || S.sup.on === on)
			return;
		if (send({ type: 'wallboard', on: on }))
			S.sup.on = on;
	}

	function switchView(view) {
		showView(view);
		(view === 'supervisor' ? el.tabSupervisor : el.tabAgent).focus();
	}

	el.tabAgent.addEventListener('click', function () { switchView('agent'); });
	el.tabSupervisor.addEventListener('click', function () { switchView('supervisor'); });
	el.viewTabs.addEventListener('keydown', function (ev) {
		if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight' || ev.key === 'Home' || ev.key === 'End') {
			ev.preventDefault();
			var toSup = ev.key === 'End' || ((ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') &&
							  S.view !== 'supervisor');
			switchView(toSup ? 'supervisor' : 'agent');
		}
	});

	/* ---- the supervisor's screens: the live board and the reports ----
	 * The wallboard stays on while the reports are shown (coming back is
	 * instant); a monitored conversation stays monitored, its pane comes
	 * back with the board. */

	/* the screens, in the tabs' order: 'reasons' is the reports screen
	 * opened on the contact reasons of the last four weeks, the avoidable
	 * ones to remove first on top (docs/routing.md, contact reasons) */
	var SUP_SCREENS = ['board', 'reports', 'reasons'];

	function applyScreen() {
		var rep = S.sup.screen !== 'board';
		el.supBoard.hidden = rep;
		el.supReports.hidden = !rep;
		el.supervisor.classList.toggle('is-reports', rep);
		[[el.supTabBoard, 'board'], [el.supTabReports, 'reports'], [el.supTabReasons, 'reasons']].forEach(function (t) {
			t[0].setAttribute('aria-selected', S.sup.screen === t[1] ? 'true' : 'false');
			t[0].tabIndex = S.sup.screen === t[1] ? 0 : -1;
		});
		el.supReports.setAttribute('aria-labelledby', S.sup.screen === 'reasons' ? 'sup-tab-reasons' : 'sup-tab-reports');
		var skip = document.querySelector('.skip-link');
		if (S.view === 'supervisor' && skip) {
			skip.href = rep ? '#sup-reports' : '#sup-board';
			skip.textContent = rep ? 'Skip to the reports' : 'Skip to the supervisor board';
		}
	}

	function supTab(screen) {
		return screen === 'reports' ? el.supTabReports : screen === 'reasons' ? el.supTabReasons : el.supTabBoard;
	}

	function supScreen(screen, focusTab) {
		var was = S.sup.screen;
		S.sup.screen = SUP_SCREENS.indexOf(screen) >= 0 ? screen : 'board';
		applyScreen();
		if (focusTab)
			supTab(S.sup.screen).focus();
		if (S.sup.screen === 'reasons' && was !== 'reasons') {
			/* what to act on: the contact reasons of the last four weeks */
			var r = el.repForm.querySelector('input[name="rep-kind"][value="contact-reasons"]');
			if (r)
				r.checked = true;
			el.repInterval.disabled = true; /* as the kind's change handler does */
			repPreset(28, true);
		} else if (S.sup.screen === 'reports' && was === 'board') {
			/* the first time: today's queues, or the period chosen before */
			if (!el.repFrom.value || !el.repTo.value)
				repPreset(1, false);
			if (!S.sup.rep.shown && !S.sup.rep.want)
				repAsk('json');
		}
		if (S.sup.screen === 'board')
			supRender();
	}

	el.supTabBoard.addEventListener('click', function () { supScreen('board', true); });
	el.supTabReports.addEventListener('click', function () { supScreen('reports', true); });
	el.supTabReasons.addEventListener('click', function () { supScreen('reasons', true); });
	el.supTabs.addEventListener('keydown', function (ev) {
		var k = ev.key, i = SUP_SCREENS.indexOf(S.sup.screen), n = SUP_SCREENS.length;
		if (k !== 'ArrowLeft' && k !== 'ArrowRight' && k !== 'Home' && k !== 'End')
			return;
		ev.preventDefault();
		i = k === 'Home' ? 0 : k === 'End' ? n - 1 : (i + (k === 'ArrowRight' ? 1 : n - 1)) % n;
		supScreen(SUP_SCREENS[i], true);
	});

	/* after every welcome (a login, a reconnect): the wallboard again, the
	 * monitor again, whispers and barges without an ack again */
	function supAfterWelcome() {
		S.sup.on = false;
		showView(applyRoles());
		/* reports asked for on the connection that dropped: again, same ids */
		if (isSup())
			S.sup.rep.pending.forEach(function (p) { send(p.frame); });
		var mon = S.sup.mon;
		if (!mon || !isSup())
			return;
		mon.starting = true;
		send({ type: 'monitor', conversation: mon.id });
		mon.pending.forEach(function (p) {
			if (!p.failed)
				supSendSay(p);
		});
	}

	/* ---- wallboard frames ---- */

	function onWallboard(msg) {
		if (!isSup())
			return;
		var now = typeof msg.now === 'number' ? msg.now : Date.now();
		S.sup.offset = now - Date.now();
		S.sup.lastAt = Date.now();
		var b = {
			queues: arr(msg.queues).filter(function (q) { return q && typeof q.name === 'string'; }),
			agents: arr(msg.agents).filter(function (a) { return a && typeof a.id === 'string'; }),
			waiting: arr(msg.waiting).filter(function (w) { return w && typeof w.conversation === 'string'; })
		};
		S.sup.board = b;
		/* "pulled to …" lasts while it waits */
		S.sup.pulled.forEach(function (agent, id) {
			if (!b.waiting.some(function (w) { return w.conversation === id; }))
				S.sup.pulled.delete(id);
		});
		b.waiting.forEach(function (w) {
			S.sup.known.set(w.conversation, { customer: str(w.customer) || 'Anonymous visitor',
							  queue: str(w.queue), channel: str(w.channel) });
		});
		b.agents.forEach(function (a) {
			if (str(a.name))
				S.names.set(a.id, a.name);
		});
		if (S.view === 'supervisor')
			supRender();
		if (S.sup.mon)
			renderMonitorHead();
	}

	/* keyed rows: a row whose data changed is built again, the focus
	 * stays on the same control of the same row */
	function syncRows(tbody, items, keyOf, sigOf, build) {
		var active = document.activeElement, focusKey = null, focusRole = null;
		if (active && tbody.contains(active) && active.dataset && active.dataset.role) {
			var row = active.closest('tr');
			focusKey = row ? row.dataset.key : null;
			focusRole = active.dataset.role;
		}
		var old = new Map();
		Array.prototype.forEach.call(tbody.children, function (tr) { old.set(tr.dataset.key, tr); });
		var prev = null;
		items.forEach(function (item) {
			var key = keyOf(item), sig = sigOf(item);
			var tr = old.get(key);
			old.delete(key);
			if (!tr || tr.dataset.sig !== sig) {
				var fresh = build(item);
				fresh.dataset.key = key;
				fresh.dataset.sig = sig;
				if (tr)
					tr.replaceWith(fresh);
				tr = fresh;
			}
			var want = prev ? prev.nextSibling : tbody.firstChild;
			if (want !== tr)
				tbody.insertBefore(tr, want);
			prev = tr;
		});
		old.forEach(function (tr) { tr.remove(); });
		if (focusKey !== null && !tbody.contains(active)) {
			var again = tbody.querySelector('tr[data-key="' + cssEscape(focusKey) + '"] [data-role="' +
							cssEscape(focusRole) + '"]');
			if (again && !again.disabled)
				again.focus();
			else
				el.supBoard.focus();
		}
	}

	function supRender() {
		var b = S.sup.board;
		supLive();
		if (!b)
			return;
		var scope = b.queues.map(function (q) { return q.name; });
		el.supScope.textContent = scope.length ? 'Queues: ' + scope.join(', ') : 'No queues';
		syncRows(el.supQueueRows, b.queues, function (q) { return q.name; },
			 function (q) { return JSON.stringify(q); }, queueRow);
		syncRows(el.supWaitingRows, b.waiting, function (w) { return w.conversation; },
			 function (w) { return JSON.stringify([w, pullOptions(w.queue), S.sup.pullChoice.get(w.conversation),
							       !!S.sup.busy.get('pull:' + w.conversation),
							       S.sup.pulled.get(w.conversation) || '']); },
			 waitingRow);
		syncRows(el.supAgentRows, b.agents, function (a) { return a.id; },
			 function (a) { return JSON.stringify([a, a.conversations && a.conversations.map(convLabel),
							       !!S.sup.busy.get('presence:' + a.id),
							       S.sup.armed.has(a.id),
							       S.sup.mon ? S.sup.mon.id : '']); },
			 agentRow);
		el.supWaitingCount.textContent = '(' + b.waiting.length + ')';
		el.supWaitingEmpty.hidden = b.waiting.length > 0;
		el.supAgentsCount.textContent = '(' + b.agents.length + ')';
		el.supAgentsEmpty.hidden = b.agents.length > 0;
		supTick();
	}

	/* "Live · last change 12 s ago", or that the figures are old */
	function supLive() {
		var live = el.supLive;
		if (!S.sup.board) {
			live.dataset.state = S.authed ? 'waiting' : 'offline';
			live.textContent = S.authed ? 'Waiting for the first update…' : 'Not connected';
			return;
		}
		if (!S.authed) {
			live.dataset.state = 'offline';
			live.textContent = 'Not connected: figures of ' + clockTime(S.sup.lastAt) + ', not live';
			return;
		}
		live.dataset.state = 'live';
		live.textContent = 'Live · last change ' + duration(Date.now() - S.sup.lastAt) + ' ago';
	}

	function supTick() {
		var now = supNow();
		Array.prototype.forEach.call(el.supervisor.querySelectorAll('[data-since]'), function (n) {
			var t = Number(n.dataset.since);
			n.textContent = n.dataset.format === 'clock' ? waitClock(now - t) : duration(now - t);
		});
		supLive();
		var expired = false;
		S.sup.armed.forEach(function (at, id) {
			if (Date.now() - at > ARM_MS) {
				S.sup.armed.delete(id);
				expired = true;
			}
		});
		if (expired)
			supRender();
	}

	function since(t, format) {
		if (typeof t !== 'number' || t <= 0)
			return node('span', 'muted', '—');
		var n = node('span', 'since');
		n.dataset.since = String(t);
		n.dataset.format = format;
		return n;
	}

	function queueRow(q) {
		var tr = node('tr');
		tr.setAttribute('data-testid', 'sup-queue');
		tr.dataset.queue = q.name;
		var th = node('th', 'cell-name');
		th.scope = 'row';
		th.appendChild(node('span', 'row-title', q.name));
		if (str(q.description))
			th.appendChild(node('span', 'row-sub', q.description));
		tr.appendChild(th);

		var waiting = typeof q.waiting === 'number' ? q.waiting : 0;
		var w = node('td', 'num big' + (waiting ? ' has-waiting' : ''), waiting);
		w.dataset.field = 'waiting';
		tr.appendChild(w);

		var longest = node('td', 'num');
		longest.dataset.field = 'longest';
		longest.appendChild(waiting && q.oldest_queued_at > 0 ? since(q.oldest_queued_at, 'clock') :
				    node('span', 'muted', '—'));
		tr.appendChild(longest);

		var sla = node('td');
		sla.dataset.field = 'sla';
		var s = q.sla && typeof q.sla === 'object' ? q.sla : null;
		if (!s) {
			sla.appendChild(node('span', 'muted', 'No SLA'));
		} else {
			var target = Number(s.target) || 0;
			var goal = 'target ' + target + ' % in ' + duration((Number(s.within_s) || 0) * 1000);
			if (typeof s.attainment !== 'number') {
				sla.appendChild(node('span', 'sla-value sla-none', '—'));
				sla.appendChild(node('span', 'row-sub', 'no answers yet · ' + goal));
			} else {
				var level = s.attainment >= target ? 'ok' : s.attainment >= target - 10 ? 'warn' : 'bad';
				var v = node('span', 'sla-value sla-' + level, pct(s.attainment));
				v.title = level === 'ok' ? 'On target' : level === 'warn' ? 'Just under target' : 'Under target';
				sla.dataset.level = level;
				sla.appendChild(v);
				sla.appendChild(node('span', 'row-sub', (s.within || 0) + ' of ' + (q.answered_today || 0) +
						     ' answered in time · ' + goal));
			}
		}
		tr.appendChild(sla);

		var ag = node('td');
		ag.dataset.field = 'agents';
		var counts = q.agents && typeof q.agents === 'object' ? q.agents : {};
		var pills = node('span', 'state-counts');
		SUP_STATES.forEach(function (st) {
			var n = Number(counts[st]) || 0;
			var p = node('span', 'state-count state-' + st + (n ? '' : ' is-zero'));
			p.dataset.state = st;
			p.appendChild(node('b', '', n));
			p.appendChild(document.createTextNode(' ' + st));
			pills.appendChild(p);
		});
		ag.appendChild(pills);
		tr.appendChild(ag);

		var bot = node('td');
		bot.dataset.field = 'bot';
		var bb = q.bot && typeof q.bot === 'object' ? q.bot : null;
		if (bb && typeof bb.containment === 'number') {
			bot.appendChild(node('span', 'bot-value', pct(bb.containment)));
			bot.appendChild(node('span', 'row-sub', (bb.contained || 0) + ' solved by the bot · ' +
					     (bb.handoffs || 0) + ' handed over'));
		} else {
			var none = node('span', 'muted', '—');
			none.title = 'No conversation ended with the bot today';
			bot.appendChild(none);
		}
		tr.appendChild(bot);
		return tr;
	}

	/* why a conversation is where it is, from its routing explanation
	 * (docs/routing.md#explanations): lines of text */
	function routingLines(r) {
		if (!r || typeof r !== 'object')
			return ['No routing explanation recorded.'];
		var lines = [];
		var h = handoffText({ routing: r, intent: r.intent, bot_slots: r.bot_slots });
		if (h)
			lines.push(h);
		var rules = arr(r.rules).filter(function (x) { return typeof x === 'string'; });
		lines.push(rules.length ? (rules.length === 1 ? 'Rule: ' : 'Rules: ') + rules.join(', ') :
			   'No rule matched: the default queue');
		var v = r.value && typeof r.value === 'object' ? r.value : {};
		var treat = str(r.treatment);
		if (str(r.quadrant)) {
			var vals = str(v.customer) && str(v.organisation) ?
				' (customer ' + v.customer + ', organisation ' + v.organisation + ')' : '';
			lines.push('Value: ' + r.quadrant.replace(/_/g, ' ') + vals + (treat ? ': ' + treat : ''));
		} else if (treat) {
			lines.push(treat.charAt(0).toUpperCase() + treat.slice(1));
		}
		var facts = [];
		if (str(r.language))
			facts.push(r.language.toUpperCase());
		var sk = r.skills && typeof r.skills === 'object' ? r.skills : {};
		var need = Object.keys(sk).slice(0, 4).map(function (k) { return k + ' ' + sk[k] + '+'; });
		if (need.length)
			facts.push('needs ' + need.join(', '));
		if (str(r.strategy))
			facts.push(r.strategy.replace(/_/g, ' '));
		if (facts.length)
			lines.push(facts.join(' · '));
		return lines;
	}

	/* the agents who serve a queue, for its select */
	function pullOptions(queue) {
		var b = S.sup.board;
		return (b ? b.agents : []).filter(function (a) {
			return arr(a.queues).indexOf(queue) >= 0;
		}).map(function (a) {
			return [a.id, str(a.name) || a.id, str(a.state)];
		});
	}

	function waitingRow(w) {
		var id = w.conversation;
		var tr = node('tr');
		tr.setAttribute('data-testid', 'sup-waiting');
		tr.dataset.conversation = id;
		tr.dataset.queue = str(w.queue);

		var wait = node('td', 'num big');
		wait.dataset.field = 'wait';
		wait.appendChild(since(w.queued_at, 'clock'));
		tr.appendChild(wait);

		var cust = node('th', 'cell-name');
		cust.scope = 'row';
		cust.dataset.field = 'customer';
		cust.appendChild(node('span', 'row-title', str(w.customer) || 'Anonymous visitor'));
		var sub = node('span', 'row-sub');
		if (typeof w.priority === 'number' && w.priority !== 50)
			sub.appendChild(node('span', 'tag' + (w.priority > 50 ? ' tag-hot' : ''), 'priority ' + w.priority));
		var pulledTo = S.sup.pulled.get(id);
		if (pulledTo)
			sub.appendChild(node('span', 'tag tag-pulled', 'pulled to ' + personName(pulledTo)));
		if (sub.childNodes.length)
			cust.appendChild(sub);
		tr.appendChild(cust);

		var where = node('td');
		where.dataset.field = 'where';
		where.appendChild(node('span', 'row-title', str(w.queue)));
		var chs = node('span', 'row-sub');
		chs.appendChild(node('span', 'channel-tag channel-' + str(w.channel).replace(/[^a-z0-9_-]/gi, ''),
				     channelLabel(w.channel)));
		where.appendChild(chs);
		tr.appendChild(where);

		var why = node('td', 'routing');
		why.dataset.field = 'routing';
		routingLines(w.routing).forEach(function (line, i) {
			why.appendChild(node('span', i ? 'row-sub' : 'routing-main', line));
		});
		tr.appendChild(why);

		var pull = node('td');
		pull.dataset.field = 'pull';
		var opts = pullOptions(w.queue);
		if (!opts.length) {
			pull.appendChild(node('span', 'muted', 'No agent serves this queue'));
		} else {
			var row = node('span', 'pull-row');
			var sel = document.createElement('select');
			sel.className = 'pull-agent';
			sel.dataset.role = 'pull-agent';
			sel.setAttribute('aria-label', 'Agent to pull the conversation of ' +
					 (str(w.customer) || 'the customer') + ' to');
			var choice = S.sup.pullChoice.get(id);
			var best = null;
			opts.forEach(function (o) {
				var opt = node('option', '', o[1] + ' · ' + (STATE_LABEL[o[2]] || o[2]).toLowerCase());
				opt.value = o[0];
				sel.appendChild(opt);
				if (!best && o[2] === 'available')
					best = o[0];
			});
			sel.value = choice && opts.some(function (o) { return o[0] === choice; }) ? choice :
				(best || opts[0][0]);
			sel.addEventListener('change', function () { S.sup.pullChoice.set(id, sel.value); });
			var busy = !!S.sup.busy.get('pull:' + id);
			var b = node('button', 'btn btn-small', busy ? 'Pulling…' : 'Pull');
			b.type = 'button';
			b.dataset.role = 'pull';
			b.disabled = busy;
			b.setAttribute('aria-label', 'Pull the conversation of ' + (str(w.customer) || 'the customer') +
				       ' to the chosen agent');
			b.addEventListener('click', function () { supPull(id, sel.value); });
			row.appendChild(sel);
			row.appendChild(b);
			pull.appendChild(row);
		}
		tr.appendChild(pull);
		return tr;
	}

	function agentRow(a) {
		var tr = node('tr');
		tr.setAttribute('data-testid', 'sup-agent');
		tr.dataset.agent = a.id;
		var state = SUP_STATES.indexOf(a.state) >= 0 ? a.state : 'offline';
		tr.dataset.state = state;

		var th = node('th', 'cell-name');
		th.scope = 'row';
		th.appendChild(node('span', 'row-title', str(a.name) || a.id));
		th.appendChild(node('span', 'row-sub', a.id));
		tr.appendChild(th);

		var st = node('td');
		st.dataset.field = 'state';
		st.appendChild(node('span', 'state-pill state-' + state, STATE_LABEL[state]));
		var t = node('span', 'row-sub');
		if (typeof a.since === 'number' && a.since > 0) {
			t.appendChild(document.createTextNode('for '));
			t.appendChild(since(a.since, 'duration'));
		}
		st.appendChild(t);
		tr.appendChild(st);

		var load = node('td');
		load.dataset.field = 'load';
		var l = a.load && typeof a.load === 'object' ? a.load : {};
		var used = Object.keys(l).filter(function (ch) { return Number(l[ch]) > 0; });
		if (!used.length)
			load.appendChild(node('span', 'muted', '—'));
		used.forEach(function (ch) {
			load.appendChild(node('span', 'load-item', channelLabel(ch) + ' ' + l[ch]));
		});
		tr.appendChild(load);

		var convs = node('td');
		convs.dataset.field = 'conversations';
		var list = arr(a.conversations).filter(function (c) { return typeof c === 'string'; });
		if (!list.length)
			convs.appendChild(node('span', 'muted', 'none'));
		var ul = node('ul', 'sup-convs');
		list.forEach(function (cid) {
			var li = node('li', 'sup-conv');
			li.dataset.conversation = cid;
			var label = convLabel(cid);
			li.appendChild(node('span', 'sup-conv-name', label));
			var watching = S.sup.mon && S.sup.mon.id === cid;
			var b = node('button', 'btn btn-small' + (watching ? ' is-active' : ''),
				     watching ? 'Monitoring' : 'Monitor');
			b.type = 'button';
			b.dataset.role = 'monitor:' + cid;
			b.setAttribute('data-testid', 'monitor-open');
			b.dataset.conversation = cid;
			/* the name starts with the button's text (WCAG 2.5.3) */
			b.setAttribute('aria-label', (watching ? 'Monitoring' : 'Monitor') + ' the conversation of ' +
				       (str(a.name) || a.id) + ' with ' + label);
			if (watching)
				b.setAttribute('aria-pressed', 'true');
			b.addEventListener('click', function () { supMonitor(cid); });
			li.appendChild(b);
			ul.appendChild(li);
		});
		if (list.length)
			convs.appendChild(ul);
		tr.appendChild(convs);

		var missed = node('td', 'num' + (a.missed ? ' has-missed' : ''), typeof a.missed === 'number' ? a.missed : 0);
		missed.dataset.field = 'missed';
		tr.appendChild(missed);

		var act = node('td');
		act.dataset.field = 'actions';
		var row = node('span', 'presence-actions');
		var busy = !!S.sup.busy.get('presence:' + a.id);
		var armed = S.sup.armed.has(a.id);
		[['away', 'Set away'], ['available', 'Set available'], ['offline', armed ? 'Confirm log out' : 'Log out']]
			.forEach(function (x) {
				var b = node('button', 'btn btn-small' + (x[0] === 'offline' ? ' btn-danger' : ''), x[1]);
				b.type = 'button';
				b.dataset.role = x[0];
				b.dataset.action = x[0];
				b.setAttribute('aria-label', x[1] + ': ' + (str(a.name) || a.id));
				/* no console: nothing to set; the state it is in: nothing to do */
				b.disabled = busy || state === 'offline' || (x[0] === 'away' && state === 'away') ||
					(x[0] === 'available' && (state === 'available' || state === 'busy'));
				b.addEventListener('click', function () { supPresence(a, x[0]); });
				row.appendChild(b);
			});
		act.appendChild(row);
		tr.appendChild(act);
		return tr;
	}

	/* ---- actions ---- */

	function supPull(conv, agent) {
		if (!agent || S.sup.busy.get('pull:' + conv))
			return;
		if (!request({ type: 'pull', conversation: conv, agent: agent }))
			return;
		S.sup.pullChoice.set(conv, agent);
		S.sup.busy.set('pull:' + conv, true);
		supRender();
	}

	function supPresence(a, status) {
		var n = arr(a.conversations).length;
		if (status === 'offline' && n && !S.sup.armed.has(a.id)) {
			/* logging out requeues the agent's conversations: ask once more */
			S.sup.armed.set(a.id, Date.now());
			notice('Log ' + (str(a.name) || a.id) + ' out? ' + (n === 1 ? 'Their conversation goes' :
			       'Their ' + n + ' conversations go') + ' back to the queue. Click “Confirm log out” to do it.',
			       'warn');
			supRender();
			return;
		}
		S.sup.armed.delete(a.id);
		if (!request({ type: 'agent_presence', agent: a.id, status: status }))
			return;
		S.sup.busy.set('presence:' + a.id, true);
		supRender();
	}

	function onDone(msg) {
		var action = str(msg.action), target = str(msg.target);
		var d = msg.detail && typeof msg.detail === 'object' ? msg.detail : {};
		if (action === 'conversation.pull') {
			S.sup.busy.delete('pull:' + target);
			if (str(d.agent))
				S.sup.pulled.set(target, d.agent);
			notice('Pulled ' + convLabel(target) + ' to ' + personName(d.agent) +
			       ': it is offered to them first.', 'ok');
		} else if (action === 'conversation.transfer') {
			S.sup.busy.delete('reassign:' + target);
			notice('Reassigned ' + convLabel(target) + ' to ' +
			       (str(d.agent) ? personName(d.agent) : 'the queue ' + str(d.queue)) + '.', 'ok');
			if (S.sup.mon && S.sup.mon.id === target) {
				el.reassignNote.value = '';
				renderMonitorActions();
			}
		} else if (action === 'agent.presence') {
			S.sup.busy.delete('presence:' + target);
			var p = str(d.presence);
			notice(personName(target) + (p === 'offline' ? ' is logged out.' : ' is set ' + p + '.'), 'ok');
		} else {
			notice('Done: ' + (action || 'the action') + (target ? ' (' + target + ')' : '') + '.', 'ok');
		}
		supRender();
	}

	/* an error about a supervisor's request; false: not one */
	function supOnError(msg, text) {
		var conv = str(msg.conversation), agent = str(msg.agent), cmid = str(msg.client_msg_id);
		var mon = S.sup.mon;
		if (/^rep-/.test(str(msg.id))) {
			repFailed(msg); /* one of ours; an answer no longer wanted is dropped */
			return true;
		}
		if (cmid && mon && mon.pending.has(cmid)) {
			var p = mon.pending.get(cmid);
			p.failed = true;
			p.why = 'Not sent: ' + text;
			var li = monPendingNode(cmid);
			if (li)
				setSayState(li, p);
			return true;
		}
		if (conv && S.sup.busy.get('reassign:' + conv)) {
			S.sup.busy.delete('reassign:' + conv);
			if (mon && mon.id === conv) {
				el.monitorError.textContent = 'Not reassigned: ' + text;
				el.monitorError.hidden = false;
				renderMonitorActions();
			} else {
				notice('Not reassigned: ' + text, 'error');
			}
			return true;
		}
		if (conv && S.sup.busy.get('pull:' + conv)) {
			S.sup.busy.delete('pull:' + conv);
			notice('Not pulled (' + convLabel(conv) + '): ' + text, 'error');
			supRender();
			return true;
		}
		if (agent && S.sup.busy.get('presence:' + agent)) {
			S.sup.busy.delete('presence:' + agent);
			notice('Presence of ' + personName(agent) + ' not changed: ' + text, 'error');
			supRender();
			return true;
		}
		if (conv && mon && mon.id === conv && mon.starting) {
			notice('Cannot monitor ' + convLabel(conv) + ': ' + text, 'error');
			supCloseMonitor(false);
			return true;
		}
		return false;
	}

	/* ---- monitoring a conversation ---- */

	function supMonitor(id) {
		var mon = S.sup.mon;
		if (mon && mon.id === id) {
			el.monitorTranscript.focus();
			return;
		}
		if (!request({ type: 'monitor', conversation: id }))
			return;
		if (mon)
			send({ type: 'unmonitor', conversation: mon.id });
		S.sup.mon = { id: id, conv: null, agent: '', status: '', starting: true,
			      pending: new Map() /* cmid -> {cmid, kind, text, at, failed, why} */ };
		el.whisperText.value = '';
		el.bargeText.value = '';
		el.reassignNote.value = '';
		el.monitorError.hidden = true;
		clear(el.monitorTranscript);
		delete el.monitorTranscript.dataset.lastDay;
		el.monitorTranscript.appendChild(node('li', 'transcript-empty', 'Loading…'));
		el.monitor.hidden = false;
		el.monitor.dataset.conversation = id;
		el.supervisor.classList.add('has-monitor');
		renderMonitorHead();
		renderMonitorActions();
		supRender();
		el.monitorTranscript.focus();
	}

	/* tell: send unmonitor (false: the server refused or ended it) */
	function supCloseMonitor(tell) {
		var mon = S.sup.mon;
		if (!mon)
			return;
		if (tell)
			send({ type: 'unmonitor', conversation: mon.id });
		var id = mon.id;
		var hadFocus = el.monitor.contains(document.activeElement);
		S.sup.mon = null;
		el.monitor.hidden = true;
		delete el.monitor.dataset.conversation;
		el.supervisor.classList.remove('has-monitor');
		clear(el.monitorTranscript);
		supRender();
		if (hadFocus) {
			var b = el.supAgentRows.querySelector('[data-testid="monitor-open"][data-conversation="' +
							      cssEscape(id) + '"]');
			(b || el.supBoard).focus();
		}
	}

	el.monitorClose.addEventListener('click', function () { supCloseMonitor(true); });

	function onMonitorStart(msg) {
		var c = msg.conversation, mon = S.sup.mon;
		if (!c || typeof c !== 'object' || !mon || c.id !== mon.id)
			return;
		/* here the customer is an id, and customer_profile the customer */
		if (c.customer_profile && typeof c.customer_profile === 'object' &&
		    (!c.customer || typeof c.customer !== 'object'))
			c.customer = c.customer_profile;
		normalise(c);
		if (!str(c.customer.name) && S.sup.known.has(c.id))
			c.customer.name = S.sup.known.get(c.id).customer;
		c._monitor = true;
		mon.conv = c;
		mon.starting = false;
		mon.status = str(c.status);
		mon.agent = str(c.agent);
		S.sup.known.set(c.id, { customer: customerName(c.customer), queue: str(c.queue), channel: str(c.channel) });
		c.messages.forEach(learnName);
		renderTranscript(el.monitorTranscript, c, null);
		mon.pending.forEach(function (p) {
			if (findByCmid(c, p.cmid) < 0)
				el.monitorTranscript.appendChild(sayNode(p));
			else
				mon.pending.delete(p.cmid);
		});
		scrollToEnd(el.monitorTranscript);
		renderMonitorHead();
		renderMonitorActions();
		supRender();
		announce('Monitoring the conversation with ' + customerName(c.customer) + '.');
	}

	function onMonitorEnd(msg) {
		var mon = S.sup.mon;
		if (mon && mon.id === str(msg.conversation) && !mon.starting)
			supCloseMonitor(false);
	}

	function findByCmid(c, cmid) {
		for (var i = 0; i < c.messages.length; i++) {
			var m = c.messages[i];
			if (m.author === 'supervisor' && m.meta && m.meta.client_msg_id === cmid &&
			    (!S.me || !m.author_id || m.author_id === S.me.id))
				return i;
		}
		return -1;
	}

	function monPendingNode(cmid) {
		return el.monitorTranscript.querySelector('[data-client-msg-id="' + cssEscape(cmid) + '"]');
	}

	/* a message of the monitored conversation: new, or an update of one shown */
	function monUpsert(m) {
		var mon = S.sup.mon;
		if (!m || typeof m !== 'object' || !mon || !mon.conv)
			return;
		var c = mon.conv;
		learnName(m);
		var at = typeof m.id === 'string' ? findMessage(c, m.id) : -1;
		if (at >= 0) {
			c.messages[at] = Object.assign({}, c.messages[at], m);
			updateMessageNode(c.messages[at], el.monitorTranscript);
			return;
		}
		c.messages.push(m);
		var cmid = m.author === 'supervisor' && m.meta && typeof m.meta.client_msg_id === 'string' &&
			(!S.me || m.author_id === S.me.id) ? m.meta.client_msg_id : '';
		var li = cmid ? monPendingNode(cmid) : null;
		if (li) {
			mon.pending.delete(cmid);
			li.replaceWith(messageNode(m, c));
		} else {
			appendMessage(el.monitorTranscript, m, true, c);
		}
	}

	/* a line in the monitored transcript: who has it, its status */
	function monEvent(text) {
		var li = node('li', 'msg msg-note by-system monitor-event');
		li.setAttribute('data-testid', 'monitor-event');
		var bubble = node('div', 'bubble');
		bubble.appendChild(node('p', 'text', text));
		li.appendChild(bubble);
		var stick = nearBottom(el.monitorTranscript);
		el.monitorTranscript.insertBefore(li, el.monitorTranscript.querySelector('.msg.is-pending'));
		if (stick)
			scrollToEnd(el.monitorTranscript);
	}

	var UNASSIGNED_TEXT = { transferred: 'transferred', wrapped_up: 'wrapped up', requeued: 'back in the queue' };

	function onMonitorFrame(msg) {
		var mon = S.sup.mon, f = msg.frame;
		if (!mon || str(msg.conversation) !== mon.id || !f || typeof f !== 'object')
			return;
		var who = personName(msg.agent);
		var by = str(f.by) ? ' (by ' + personName(f.by) + ')' : '';
		switch (f.type) {
		case 'message':
		case 'ack':
			monUpsert(f.message);
			break;
		case 'status':
			mon.status = str(f.status);
			if (mon.conv)
				mon.conv.status = mon.status;
			monEvent('Status: ' + (mon.status === 'wrapup' ? 'closed, in wrap-up' : mon.status) + by);
			break;
		case 'unassigned':
			monEvent(who + ' no longer has it: ' + (UNASSIGNED_TEXT[f.reason] || str(f.reason) || 'unassigned') + by);
			mon.agent = '';
			mon.status = f.reason === 'wrapped_up' ? 'closed' : 'queued';
			if (mon.conv)
				mon.conv.status = mon.status;
			break;
		case 'offer':
			monEvent('Offered to ' + who);
			break;
		case 'assigned':
			mon.agent = str(msg.agent);
			mon.status = 'assigned';
			if (f.conversation && typeof f.conversation === 'object' && mon.conv) {
				normalise(f.conversation);
				f.conversation.messages.forEach(monUpsert);
				mon.conv.status = 'assigned';
				if (str(f.conversation.queue))
					mon.conv.queue = f.conversation.queue;
			}
			monEvent('Now with ' + who);
			break;
		default:
			return;
		}
		renderMonitorHead();
		renderMonitorActions();
	}

	function renderMonitorHead() {
		var mon = S.sup.mon;
		if (!mon)
			return;
		var c = mon.conv;
		var k = S.sup.known.get(mon.id) || {};
		el.monitorTitle.textContent = 'Monitoring: ' + (c ? customerName(c.customer) : k.customer || mon.id);
		clear(el.monitorMeta);
		if (!c) {
			el.monitorMeta.appendChild(node('span', '', 'Loading the conversation…'));
			return;
		}
		var parts = [channelLabel(c.channel)];
		if (str(c.queue))
			parts.push('queue ' + c.queue);
		if (str(c.language))
			parts.push(c.language.toUpperCase());
		el.monitorMeta.appendChild(node('span', '', parts.join(' · ')));
		var st = node('span', 'status-tag', mon.status === 'assigned' && mon.agent ?
			      'with ' + personName(mon.agent) : (mon.status || 'unknown'));
		st.setAttribute('data-testid', 'monitor-status');
		st.dataset.status = mon.status;
		el.monitorMeta.appendChild(st);
		var idn = node('span', 'conv-id', c.id);
		idn.title = 'Conversation id';
		el.monitorMeta.appendChild(idn);
	}

	function renderMonitorActions() {
		var mon = S.sup.mon;
		var can = !!(mon && mon.conv && mon.status === 'assigned');
		[el.whisperText, el.whisperSend, el.bargeText, el.bargeSend, el.reassignTarget, el.reassignNote]
			.forEach(function (n) { n.disabled = !can; });
		var busy = !!(mon && S.sup.busy.get('reassign:' + mon.id));
		el.reassignSubmit.disabled = !can || busy;
		el.reassignSubmit.textContent = busy ? 'Reassigning…' : 'Reassign';
		el.whisperLabel.firstChild.textContent = 'Whisper to ' +
			(mon && mon.agent ? personName(mon.agent) : 'the agent') + ' ';
		el.monitorActions.title = can ? '' :
			'Whisper, barge and reassign work while an agent has the conversation.';
		if (!mon)
			return;
		/* queues and agents of the board, not the one it is with */
		var b = S.sup.board;
		var opts = [];
		(b ? b.queues : S.queues).forEach(function (q) {
			if (!mon.conv || q.name !== mon.conv.queue)
				opts.push(['queue:' + q.name, q.name, 'Queues']);
		});
		(b ? b.agents : []).forEach(function (a) {
			if (a.id !== mon.agent)
				opts.push(['agent:' + a.id, (str(a.name) || a.id) + ' · ' +
					   (STATE_LABEL[a.state] || str(a.state)).toLowerCase(), 'Agents']);
		});
		var sig = JSON.stringify(opts);
		if (el.reassignTarget.dataset.sig === sig)
			return;
		var keep = el.reassignTarget.value;
		clear(el.reassignTarget);
		var groups = {};
		opts.forEach(function (o) {
			if (!groups[o[2]]) {
				groups[o[2]] = document.createElement('optgroup');
				groups[o[2]].label = o[2];
				el.reassignTarget.appendChild(groups[o[2]]);
			}
			var opt = node('option', '', o[1]);
			opt.value = o[0];
			groups[o[2]].appendChild(opt);
		});
		if (opts.some(function (o) { return o[0] === keep; }))
			el.reassignTarget.value = keep;
		el.reassignTarget.dataset.sig = sig;
	}

	/* whisper and barge: shown "Sending…" until their ack */
	function sayNode(p) {
		var li = messageNode({ direction: p.kind === 'whisper' ? 'note' : 'out', author: 'supervisor',
				       author_name: S.me ? str(S.me.name) : '', text: p.text, created_at: p.at },
				     S.sup.mon ? S.sup.mon.conv : null);
		li.classList.add('is-pending');
		li.dataset.clientMsgId = p.cmid;
		setSayState(li, p);
		return li;
	}

	function setSayState(li, p) {
		var state = li.querySelector('.state');
		clear(state);
		li.classList.toggle('is-failed', !!p.failed);
		li.dataset.status = p.failed ? 'failed' : 'sending';
		state.className = 'state state-' + (p.failed ? 'failed' : 'sending');
		if (!p.failed) {
			state.textContent = S.authed ? 'Sending…' : 'Waiting for the connection…';
			return;
		}
		state.appendChild(node('span', '', p.why || 'Not sent.'));
		var retry = node('button', 'btn-link', 'Retry');
		retry.type = 'button';
		retry.addEventListener('click', function () {
			p.failed = false;
			setSayState(li, p);
			supSendSay(p);
		});
		var drop = node('button', 'btn-link', 'Discard');
		drop.type = 'button';
		drop.addEventListener('click', function () {
			if (S.sup.mon)
				S.sup.mon.pending.delete(p.cmid);
			li.remove();
		});
		state.appendChild(retry);
		state.appendChild(drop);
	}

	function supSendSay(p) {
		if (S.authed)
			send({ type: p.kind, conversation: p.conversation, text: p.text, client_msg_id: p.cmid });
	}

	function supSay(kind) {
		var input = kind === 'whisper' ? el.whisperText : el.bargeText;
		var mon = S.sup.mon;
		if (!mon || !mon.conv || mon.status !== 'assigned')
			return;
		var text = input.value.replace(/\s+$/, '');
		if (!text.trim()) {
			input.focus();
			return;
		}
		if (utf8Length(text) > (kind === 'whisper' ? WHISPER_MAX_BYTES : MAX_TEXT_BYTES)) {
			notice('That is too long; please split it up.', 'error');
			return;
		}
		var p = { cmid: newClientMsgId(), kind: kind, conversation: mon.id, text: text, at: Date.now(),
			  failed: false, why: '' };
		if (!request({ type: kind, conversation: mon.id, text: text, client_msg_id: p.cmid }))
			return;
		mon.pending.set(p.cmid, p);
		var empty = el.monitorTranscript.querySelector('.transcript-empty');
		if (empty)
			empty.remove();
		el.monitorTranscript.appendChild(sayNode(p));
		scrollToEnd(el.monitorTranscript);
		input.value = '';
		input.focus();
	}

	/* the ack of a whisper or barge; false: not one */
	function supOnAck(msg) {
		var mon = S.sup.mon, cmid = str(msg.client_msg_id);
		if (!mon || !cmid || !mon.pending.has(cmid))
			return false;
		var m = msg.message && typeof msg.message === 'object' ? msg.message : null;
		var li = monPendingNode(cmid);
		mon.pending.delete(cmid);
		if (!m || !mon.conv) {
			if (li)
				li.remove();
			return true;
		}
		var at = typeof m.id === 'string' ? findMessage(mon.conv, m.id) : -1;
		if (at >= 0) {
			mon.conv.messages[at] = Object.assign({}, mon.conv.messages[at], m);
			if (li)
				li.remove();
		} else {
			mon.conv.messages.push(m);
			if (li)
				li.replaceWith(messageNode(m, mon.conv));
			else
				appendMessage(el.monitorTranscript, m, true, mon.conv);
		}
		return true;
	}

	el.whisperForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		supSay('whisper');
	});
	el.bargeForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		supSay('barge');
	});
	el.reassignForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var mon = S.sup.mon;
		var v = el.reassignTarget.value, i = v.indexOf(':');
		if (!mon || !mon.conv || mon.status !== 'assigned' || i < 0 || S.sup.busy.get('reassign:' + mon.id))
			return;
		var frame = { type: 'reassign', conversation: mon.id };
		frame[v.slice(0, i)] = v.slice(i + 1);
		var note = el.reassignNote.value.trim();
		if (note)
			frame.note = note;
		if (!request(frame))
			return;
		el.monitorError.hidden = true;
		S.sup.busy.set('reassign:' + mon.id, true);
		renderMonitorActions();
	});

	/* ---- reports (docs/admin-api.md#reports): the `report` frame ----
	 *
	 * History from the server's figures (15-minute UTC buckets, whole UTC
	 * days): per queue, per agent, and why customers got in touch. The
	 * tables hold every figure; the charts (inline SVG, drawn here) show
	 * the same figures at a glance. "Download CSV" asks the server for the
	 * same report as CSV and saves it as <report>-<from>-<to>.csv. */

	var REP_KINDS = { queues: 'Queues', agents: 'Agents', 'contact-reasons': 'Contact reasons' };
	var DAY_MS = 86400000;
	var SVGNS = 'http://www.w3.org/2000/svg';
	var REP_MAX_BARS = 25;          /* bars in a chart; the table has every row */
	var INTERVAL_MS = { '15m': 900000, hour: 3600000, day: DAY_MS };
	var INTERVAL_LABEL = { '15m': 'per 15 minutes', hour: 'per hour', day: 'per day' };

	/* YYYY-MM-DD of a time, UTC */
	function isoDay(ms) {
		return new Date(ms).toISOString().slice(0, 10);
	}

	/* the UTC day number of YYYY-MM-DD; NaN if it is not a real day */
	function dayNumber(s) {
		if (!/^\d{4}-\d\d-\d\d$/.test(s))
			return NaN;
		var t = Date.UTC(Number(s.slice(0, 4)), Number(s.slice(5, 7)) - 1, Number(s.slice(8, 10)));
		return isoDay(t) === s ? t / DAY_MS : NaN;
	}

	function repKind() {
		var c = el.repForm.querySelector('input[name="rep-kind"]:checked');
		return c && REP_KINDS.hasOwnProperty(c.value) ? c.value : 'queues';
	}

	/* the last `days` days up to today (the server's clock, UTC) */
	function repPreset(days, ask) {
		var today = Math.floor(supNow() / DAY_MS) * DAY_MS;
		el.repTo.value = isoDay(today);
		el.repFrom.value = isoDay(today - (days - 1) * DAY_MS);
		if (ask)
			repAsk('json');
	}

	/* what the form asks for; null (and says why) when it cannot be asked */
	function repParams() {
		var from = el.repFrom.value, to = el.repTo.value;
		if (!from || !to || isNaN(dayNumber(from)) || isNaN(dayNumber(to))) {
			repError('Choose the first and the last day of the period.', !from || isNaN(dayNumber(from)) ?
				 el.repFrom : el.repTo);
			return null;
		}
		var kind = repKind(), iv = el.repInterval.value;
		var days = dayNumber(to) - dayNumber(from) + 1;
		var interval = '';
		if (kind !== 'contact-reasons') {
			if (iv === 'auto')
				interval = days > 1 ? 'day' : days === 1 ? 'hour' : '';
			else if (INTERVAL_MS.hasOwnProperty(iv))
				interval = iv;
		}
		return { kind: kind, from: from, to: to, days: days, interval: interval, auto: iv === 'auto' };
	}

	function repAsk(format) {
		var R = S.sup.rep;
		if (format === 'csv' && R.csv)
			return; /* one at a time */
		var p = repParams();
		if (!p)
			return;
		if (!S.authed) {
			repError('Not connected: try again when the connection is back.');
			return;
		}
		var f = { type: 'report', report: p.kind, from: p.from, to: p.to, format: format };
		/* the CSV has the series only when one was chosen */
		if (p.interval && (format === 'json' || !p.auto))
			f.interval = p.interval;
		f.id = 'rep-' + (++R.seq);
		if (!send(f)) {
			repError('Not connected: try again when the connection is back.');
			return;
		}
		R.pending.set(f.id, { frame: f, params: p, format: format });
		if (format === 'csv') {
			R.csv = f.id;
		} else {
			if (R.want)
				R.pending.delete(R.want); /* its answer is no longer wanted */
			R.want = f.id;
		}
		repError('');
		repBusy();
	}

	/* the buttons and the status line while a report is on its way */
	function repBusy() {
		var R = S.sup ? S.sup.rep : null;
		var want = !!(R && R.want), csv = !!(R && R.csv);
		el.repShow.textContent = want ? 'Loading…' : 'Show report';
		el.repShow.setAttribute('aria-disabled', want ? 'true' : 'false');
		el.repCsv.textContent = csv ? 'Preparing CSV…' : 'Download CSV';
		el.repCsv.setAttribute('aria-disabled', csv ? 'true' : 'false');
		el.supReports.setAttribute('aria-busy', want ? 'true' : 'false');
		el.repBody.classList.toggle('is-loading', want);
		if (want) {
			var p = R.pending.get(R.want).params;
			el.repStatus.textContent = 'Loading the ' + REP_KINDS[p.kind].toLowerCase() + ' report, ' +
				periodText(p.from, p.to) + '…';
		} else if (R && R.shown) {
			el.repStatus.textContent = shownText(R.shown);
		}
	}

	function periodText(from, to) {
		var days = dayNumber(to) - dayNumber(from) + 1;
		return (from === to ? from : from + ' to ' + to) +
			(days > 0 ? ' (' + days + (days === 1 ? ' day' : ' days') + ', UTC)' : '');
	}

	function shownText(sh) {
		var d = sh.data, p = sh.params;
		var t = REP_KINDS[p.kind] + ' · ' + periodText(str(d.from) || p.from, str(d.to) || p.to);
		if (typeof d.generated_at === 'number')
			t += ' · made at ' + clockTime(d.generated_at);
		return t;
	}

	/* an error for people; field: the input it is about */
	function repError(text, field) {
		el.repError.textContent = text || '';
		el.repError.hidden = !text;
		[el.repFrom, el.repTo, el.repInterval].forEach(function (n) {
			if (n === field)
				n.setAttribute('aria-invalid', 'true');
			else
				n.removeAttribute('aria-invalid');
		});
	}

	function repFailed(msg) {
		var R = S.sup.rep, id = str(msg.id);
		var p = R.pending.get(id);
		if (!p)
			return;
		R.pending.delete(id);
		if (R.csv === id)
			R.csv = null;
		else if (R.want === id)
			R.want = null;
		else
			return;
		/* the server's message names the parameter first: "from: …" */
		var m = str(msg.message), field = null;
		if (/^from:/.test(m))
			field = el.repFrom;
		else if (/^to:/.test(m))
			field = el.repTo;
		else if (/^interval:/.test(m))
			field = el.repInterval;
		var what = p.format === 'csv' ? 'The CSV could not be made: ' : 'The report could not be made: ';
		/* the admin API's advice, in this form's words */
		m = m.replace(/\(use interval=day\)/, '(choose “Per day”)');
		repError(what + (m || errorText(msg)), field);
		if (p.format !== 'csv') {
			S.sup.rep.shown = null;
			clear(el.repBody);
			el.repStatus.textContent = '';
		}
		repBusy();
		announce(el.repError.textContent, true);
	}

	function onReport(msg) {
		var R = S.sup.rep, id = str(msg.id);
		var p = R.pending.get(id);
		if (!p)
			return;
		R.pending.delete(id);
		if (p.format === 'csv') {
			if (R.csv === id)
				R.csv = null;
			if (typeof msg.csv !== 'string')
				repError('The server sent no CSV.');
			else
				repSave(p.params.kind + '-' + p.params.from + '-' + p.params.to + '.csv', msg.csv);
			repBusy();
			return;
		}
		if (R.want !== id)
			return;
		R.want = null;
		if (!msg.data || typeof msg.data !== 'object') {
			repError('The server sent no report.');
			repBusy();
			return;
		}
		R.shown = { params: p.params, data: msg.data };
		repRender();
		repBusy();
		announce(shownText(R.shown));
	}

	/* a download of text, named: a Blob behind <a download> */
	function repSave(name, text) {
		var url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
		var a = document.createElement('a');
		a.href = url;
		a.download = name;
		a.hidden = true;
		a.setAttribute('data-testid', 'rep-download');
		document.body.appendChild(a);
		a.click();
		window.setTimeout(function () {
			URL.revokeObjectURL(url);
			a.remove();
		}, 30000);
		announce('Downloaded ' + name + '.');
	}

	el.repForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		repAsk('json');
	});
	el.repCsv.addEventListener('click', function () { repAsk('csv'); });
	Array.prototype.forEach.call(el.repForm.querySelectorAll('[data-days]'), function (b) {
		b.addEventListener('click', function () { repPreset(Number(b.dataset.days), true); });
	});
	Array.prototype.forEach.call(el.repForm.querySelectorAll('input[name="rep-kind"]'), function (r) {
		r.addEventListener('change', function () {
			el.repInterval.disabled = repKind() === 'contact-reasons';
			repAsk('json');
		});
	});
	el.repInterval.addEventListener('change', function () { repAsk('json'); });
	[el.repFrom, el.repTo].forEach(function (n) {
		n.addEventListener('input', function () { n.removeAttribute('aria-invalid'); });
	});

	/* ---- figures ---- */

	function numv(v) {
		return typeof v === 'number' && isFinite(v) ? v : null;
	}

	function fmtInt(v) {
		v = numv(v);
		return v === null ? '—' : Math.round(v).toLocaleString();
	}

	/* seconds: "8.4 s", "42 s", "4 min 17 s", "1 h 02 min" */
	function fmtSecs(v) {
		v = numv(v);
		if (v === null)
			return '—';
		if (v < 10)
			return v.toFixed(1) + ' s';
		var s = Math.round(v);
		if (s < 60)
			return s + ' s';
		if (s < 3600)
			return Math.floor(s / 60) + ' min ' + ('0' + (s % 60)).slice(-2) + ' s';
		return Math.floor(s / 3600) + ' h ' + ('0' + Math.floor(s / 60) % 60).slice(-2) + ' min';
	}

	function fmtPct(v) {
		v = numv(v);
		return v === null ? '—' : pct(v);
	}

	function sumOf(rows, key) {
		var n = 0;
		rows.forEach(function (r) { n += numv(r[key]) || 0; });
		return n;
	}

	/* an average of averages, weighted: sum(avg * weight) / sum(weight) */
	function weighted(rows, avgKey, weightKey) {
		var s = 0, w = 0;
		rows.forEach(function (r) {
			var a = numv(r[avgKey]), n = numv(r[weightKey]) || 0;
			if (a !== null && n > 0) {
				s += a * n;
				w += n;
			}
		});
		return w ? s / w : null;
	}

	function cellWith(main, sub, cls) {
		var f = document.createDocumentFragment();
		f.appendChild(node('span', 'cell-main' + (cls ? ' ' + cls : ''), main));
		if (sub)
			f.appendChild(node('span', 'row-sub', sub));
		return f;
	}

	function csatCell(r) {
		var avg = numv(r.csat_avg), n = numv(r.csat_responses) || 0;
		if (avg === null) {
			var none = node('span', 'muted', '—');
			none.title = 'No answers to the satisfaction question';
			return none;
		}
		return cellWith(avg.toFixed(2).replace(/0$/, '') + ' / 5', n + (n === 1 ? ' answer' : ' answers'));
	}

	/* a table of figures. cols: {key, label, num, w (width), cell(row) ->
	 * text or node}; opts: {id, cls, testid, keyOf, label (id of its
	 * heading), total (a row for tfoot), empty (text)} */
	function repTable(cols, rows, opts) {
		var t = node('table', 'sup-table rep-table' + (opts.cls ? ' ' + opts.cls : ''));
		if (opts.id)
			t.id = opts.id;
		if (opts.label)
			t.setAttribute('aria-labelledby', opts.label);
		var cg = node('colgroup');
		cols.forEach(function (c) {
			var col = node('col');
			if (c.w)
				col.style.width = c.w;
			cg.appendChild(col);
		});
		t.appendChild(cg);
		var thead = node('thead'), hr = node('tr');
		cols.forEach(function (c) {
			var th = node('th', c.num ? 'num' : '', c.label);
			th.scope = 'col';
			if (c.title)
				th.title = c.title;
			hr.appendChild(th);
		});
		thead.appendChild(hr);
		t.appendChild(thead);
		var body = node('tbody');
		function row(r, isTotal) {
			var tr = node('tr', isTotal ? 'rep-total' : '');
			if (!isTotal) {
				if (opts.testid)
					tr.setAttribute('data-testid', opts.testid);
				if (opts.keyOf)
					tr.dataset.key = opts.keyOf(r);
			}
			cols.forEach(function (c, i) {
				var cell = node(i === 0 ? 'th' : 'td', c.num ? 'num' : '');
				if (i === 0)
					cell.scope = 'row';
				cell.dataset.field = c.key;
				var v = c.cell(r, isTotal);
				if (v && typeof v === 'object' && v.nodeType)
					cell.appendChild(v);
				else
					cell.textContent = v === null || v === undefined ? '' : String(v);
				tr.appendChild(cell);
			});
			return tr;
		}
		rows.forEach(function (r) { body.appendChild(row(r, false)); });
		if (!rows.length) {
			var tr = node('tr', 'rep-empty-row'), td = node('td', 'muted', opts.empty || 'Nothing in this period.');
			td.colSpan = cols.length;
			tr.appendChild(td);
			body.appendChild(tr);
		}
		t.appendChild(body);
		if (opts.total && rows.length > 1) {
			var tf = node('tfoot');
			tf.appendChild(row(opts.total, true));
			t.appendChild(tf);
		}
		return t;
	}

	var cardSeq = 0;
	/* a card with a heading; returns {card, id of the heading} */
	function repCard(title, sub, cls) {
		var card = node('section', 'sup-card rep-card' + (cls ? ' ' + cls : ''));
		var id = 'rep-h-' + (++cardSeq);
		var h = node('h3', 'section-title', title);
		h.id = id;
		card.setAttribute('aria-labelledby', id);
		card.appendChild(h);
		if (sub)
			card.appendChild(node('p', 'rep-card-sub', sub));
		return { card: card, id: id };
	}

	/* the big figures on top */
	function kpis(items) {
		var dl = node('dl', 'rep-kpis');
		items.forEach(function (k) {
			var d = node('div', 'rep-kpi' + (k[3] ? ' ' + k[3] : ''));
			d.dataset.kpi = k[0].toLowerCase().replace(/[^a-z]+/g, '-');
			d.appendChild(node('dt', '', k[0]));
			d.appendChild(node('dd', 'rep-kpi-value', k[1]));
			if (k[2])
				d.appendChild(node('dd', 'rep-kpi-sub', k[2]));
			dl.appendChild(d);
		});
		return dl;
	}

	/* ---- charts: inline SVG ---- */

	function svgEl(tag, attrs, text) {
		var n = document.createElementNS(SVGNS, tag);
		Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, String(attrs[k])); });
		if (text !== undefined && text !== null)
			n.textContent = String(text);
		return n;
	}

	function fit(text, chars) {
		text = String(text);
		return text.length > chars ? text.slice(0, Math.max(1, chars - 1)) + '…' : text;
	}

	var chartSeq = 0;
	function chartRoot(w, h, title, desc, testid) {
		var id = 'rep-chart-' + (++chartSeq);
		var root = svgEl('svg', { viewBox: '0 0 ' + w + ' ' + h, width: '100%', class: 'rep-chart',
					  role: 'img', 'aria-labelledby': id + '-t ' + id + '-d', 'data-testid': testid,
					  preserveAspectRatio: 'xMinYMin meet', focusable: 'false' });
		root.appendChild(svgEl('title', { id: id + '-t' }, title));
		root.appendChild(svgEl('desc', { id: id + '-d' }, desc));
		return root;
	}

	function legend(root, series, y) {
		var x = 0;
		series.forEach(function (s) {
			var g = svgEl('g', { class: 'chart-legend' });
			g.appendChild(svgEl('rect', { x: x, y: y, width: 10, height: 10, rx: 2, class: 'bar-' + s.cls }));
			g.appendChild(svgEl('text', { x: x + 14, y: y + 9, class: 'chart-text' }, s.label));
			root.appendChild(g);
			x += 24 + s.label.length * 6.6;
		});
	}

	/* horizontal bars, one group per row, one bar per series:
	 * {testid, title, series: [{key, label, cls}], rows: [{key, label, values}], width} */
	function hbarChart(o) {
		var W = Math.max(360, Math.round(o.width || 800));
		var LABEL = Math.round(Math.min(230, W * 0.3)), VALUE = 52;
		var ns = o.series.length, BAR = ns > 1 ? 12 : 16, GAP = 3, SPACE = 10;
		var groupH = ns * BAR + (ns - 1) * GAP;
		var top = ns > 1 ? 22 : 2;
		var rows = o.rows.slice(0, REP_MAX_BARS);
		var H = top + rows.length * (groupH + SPACE) + 2;
		var max = 0;
		rows.forEach(function (r) {
			o.series.forEach(function (s) { max = Math.max(max, numv(r.values[s.key]) || 0); });
		});
		var span = W - LABEL - VALUE - 8;
		var desc = rows.map(function (r) {
			return r.label + ': ' + o.series.map(function (s) {
				return (ns > 1 ? s.label + ' ' : '') + fmtInt(r.values[s.key]);
			}).join(', ');
		}).join('; ');
		var root = chartRoot(W, H, o.title, desc, o.testid);
		if (ns > 1)
			legend(root, o.series, 2);
		var chars = Math.floor((LABEL - 12) / 6.8);
		rows.forEach(function (r, i) {
			var y0 = top + i * (groupH + SPACE);
			var g = svgEl('g', { class: 'bar-group', 'data-key': r.key });
			g.appendChild(svgEl('title', {}, r.label));
			g.appendChild(svgEl('text', { x: LABEL - 10, y: y0 + groupH / 2 + 4, class: 'chart-label',
						      'text-anchor': 'end' }, fit(r.label, chars)));
			o.series.forEach(function (s, j) {
				var v = numv(r.values[s.key]) || 0;
				var w = max > 0 ? Math.max(v > 0 ? 2 : 0, v / max * span) : 0;
				var y = y0 + j * (BAR + GAP);
				g.appendChild(svgEl('rect', { x: LABEL, y: y, width: w.toFixed(1), height: BAR, rx: 2,
							      class: 'bar bar-' + s.cls, 'data-series': s.key,
							      'data-value': v }));
				g.appendChild(svgEl('text', { x: (LABEL + w + 5).toFixed(1), y: y + BAR - 2,
							      class: 'chart-value' }, fmtInt(v)));
			});
			root.appendChild(g);
		});
		root.appendChild(svgEl('line', { x1: LABEL, x2: LABEL, y1: top - 2, y2: H, class: 'chart-axis' }));
		return root;
	}

	/* a round top for an axis of counts, whose half is a whole number
	 * too: 2, 4, 6, 8, 10, 20, 40, … */
	function niceMax(v) {
		if (v <= 2)
			return 2;
		var p = Math.pow(10, Math.floor(Math.log10(v)));
		var m = v / p;
		var top = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 4 ? 4 : m <= 6 ? 6 : m <= 8 ? 8 : 10) * p;
		return top % 2 ? top * 2 : top;
	}

	function stepLabel(ms, interval, multiDay) {
		var iso = new Date(ms).toISOString();
		var md = iso.slice(5, 10), hm = iso.slice(11, 16);
		if (interval === 'day')
			return md;
		return multiDay ? md + ' ' + hm : hm;
	}

	/* a series over time: bars per step (a line for many steps):
	 * {testid, title, series, steps: [{t, values}], interval, multiDay, width} */
	function seriesChart(o) {
		var W = Math.max(360, Math.round(o.width || 800)), H = 190;
		var L = 40, R = 8, T = 24, B = 22;
		var n = o.steps.length, ns = o.series.length;
		var max = 0;
		o.steps.forEach(function (st) {
			o.series.forEach(function (s) { max = Math.max(max, st.values[s.key] || 0); });
		});
		var top = niceMax(max), ph = H - T - B, pw = W - L - R, slot = pw / Math.max(1, n);
		var total = o.series.map(function (s) {
			var t = 0;
			o.steps.forEach(function (st) { t += st.values[s.key] || 0; });
			return s.label + ' ' + t;
		});
		var root = chartRoot(W, H, o.title, n + ' steps ' + INTERVAL_LABEL[o.interval] + '; in all: ' +
				     total.join(', '), o.testid);
		legend(root, o.series, 2);
		[0, 0.5, 1].forEach(function (f) {
			var y = T + ph - f * ph;
			root.appendChild(svgEl('line', { x1: L, x2: W - R, y1: y, y2: y, class: f ? 'chart-grid' : 'chart-axis' }));
			root.appendChild(svgEl('text', { x: L - 6, y: y + 4, class: 'chart-text', 'text-anchor': 'end' },
					       fmtInt(top * f)));
		});
		var y = function (v) { return T + ph - (v / top) * ph; };
		if (n <= 96) {
			var bw = Math.max(1, (slot * 0.8) / ns);
			o.steps.forEach(function (st, i) {
				var g = svgEl('g', { class: 'bar-group', 'data-start': new Date(st.t).toISOString() });
				g.appendChild(svgEl('title', {}, stepLabel(st.t, o.interval, true) + ': ' +
						    o.series.map(function (s) { return s.label + ' ' + (st.values[s.key] || 0); }).join(', ')));
				o.series.forEach(function (s, j) {
					var v = st.values[s.key] || 0, h = ph - (y(v) - T);
					g.appendChild(svgEl('rect', { x: (L + i * slot + slot * 0.1 + j * bw).toFixed(1),
								      y: y(v).toFixed(1), width: bw.toFixed(1),
								      height: Math.max(0, h).toFixed(1), class: 'bar bar-' + s.cls,
								      'data-series': s.key, 'data-value': v }));
				});
				root.appendChild(g);
			});
		} else {
			o.series.forEach(function (s) {
				var pts = o.steps.map(function (st, i) {
					return (L + (i + 0.5) * slot).toFixed(1) + ',' + y(st.values[s.key] || 0).toFixed(1);
				});
				root.appendChild(svgEl('polyline', { points: pts.join(' '), class: 'chart-line line-' + s.cls,
								     'data-series': s.key }));
			});
		}
		var every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(pw / (o.multiDay && o.interval !== 'day' ? 92 : 52)))));
		o.steps.forEach(function (st, i) {
			if (i % every)
				return;
			root.appendChild(svgEl('text', { x: (L + (i + 0.5) * slot).toFixed(1), y: H - 6, class: 'chart-text',
							 'text-anchor': 'middle' }, stepLabel(st.t, o.interval, o.multiDay)));
		});
		return root;
	}

	/* the steps of the period, zeros where the server left a step out */
	// the card of a report's time series (a chart of `series`, or a hint to
	// choose a series)
	function seriesCard(d, kind, title, series) {
		var st = seriesSteps(d, kind, series.map(function (x) { return x.key; }));
		var cs = repCard(st ? title + ' ' + INTERVAL_LABEL[st.interval] : 'Over time',
				 st ? '' : 'Choose a series to see the figures over time.');
		if (st)
			cs.card.appendChild(seriesChart({
				testid: 'rep-chart-series', title: title + ' ' + INTERVAL_LABEL[st.interval],
				width: chartWidth(0.5), interval: st.interval, multiDay: st.multiDay,
				steps: st.steps, series: series
			}));
		return cs.card;
	}

	function seriesSteps(d, listKey, sums) {
		var interval = str(d.interval), ms = INTERVAL_MS[interval];
		var from = dayNumber(str(d.from)), to = dayNumber(str(d.to));
		if (!ms || isNaN(from) || isNaN(to) || !Array.isArray(d.series))
			return null;
		var byT = new Map();
		arr(d.series).forEach(function (st) {
			var t = st && typeof st.start === 'string' ? Date.parse(st.start) : NaN;
			if (!isNaN(t))
				byT.set(t, arr(st[listKey]));
		});
		var steps = [];
		for (var t = from * DAY_MS; t < (to + 1) * DAY_MS && steps.length < 4000; t += ms) {
			var rows = byT.get(t) || [], values = {};
			sums.forEach(function (k) { values[k] = sumOf(rows, k); });
			steps.push({ t: t, values: values });
		}
		return { interval: interval, steps: steps, multiDay: to > from };
	}

	function chartWidth(fraction) {
		var w = el.repBody.clientWidth || 1000;
		return Math.round((w - (fraction < 1 ? 14 : 0)) * fraction) - 30;
	}

	/* ---- the reports ---- */

	function repRender() {
		var sh = S.sup.rep.shown;
		clear(el.repBody);
		if (!sh)
			return;
		var d = sh.data, kind = sh.params.kind;
		el.repBody.dataset.report = kind;
		el.repBody.dataset.from = str(d.from);
		el.repBody.dataset.to = str(d.to);
		if (kind === 'queues')
			renderQueuesReport(d);
		else if (kind === 'agents')
			renderAgentsReport(d);
		else
			renderReasonsReport(d);
	}

	function slaCell(r) {
		var sla = r.sla && typeof r.sla === 'object' ? r.sla : null;
		var att = numv(r.sla_attainment);
		if (!sla)
			return cellWith('No SLA', '', 'muted');
		var target = numv(sla.target) || 0;
		var goal = 'target ' + target + ' % in ' + duration((numv(sla.within_s) || 0) * 1000);
		if (att === null)
			return cellWith('—', 'nothing to count · ' + goal, 'muted');
		var level = att >= target ? 'ok' : att >= target - 10 ? 'warn' : 'bad';
		var f = cellWith(pct(att), fmtInt(r.answered_within_sla) + ' in time · ' + goal,
				 'sla-value sla-' + level);
		f.firstChild.dataset.level = level;
		f.firstChild.title = level === 'ok' ? 'On target' : level === 'warn' ? 'Just under target' : 'Under target';
		return f;
	}

	function renderQueuesReport(d) {
		var queues = arr(d.queues).filter(function (q) { return q && typeof q === 'object'; });
		var channels = arr(d.channels).filter(function (c) { return c && typeof c === 'object'; });
		var withSla = queues.filter(function (q) { return numv(q.answered_within_sla) !== null; });
		var slaBase = sumOf(withSla, 'answered') + sumOf(withSla, 'abandoned_after_sla');
		var slaAll = slaBase ? sumOf(withSla, 'answered_within_sla') / slaBase * 100 : null;
		var csatAll = weighted(queues, 'csat_avg', 'csat_responses');
		el.repBody.appendChild(kpis([
			['Offered', fmtInt(sumOf(queues, 'offered')), 'conversations entered a queue'],
			['Answered', fmtInt(sumOf(queues, 'answered')), fmtInt(sumOf(queues, 'handled')) + ' handled'],
			['Abandoned', fmtInt(sumOf(queues, 'abandoned')), fmtInt(sumOf(queues, 'abandoned_after_sla')) + ' after the SLA'],
			['SLA attainment', fmtPct(slaAll), withSla.length ? 'queues with an SLA' : 'no queue has an SLA'],
			['Avg speed of answer', fmtSecs(weighted(queues, 'avg_speed_of_answer_s', 'answered')), ''],
			['Avg handle time', fmtSecs(weighted(queues, 'avg_handle_s', 'handled')), ''],
			['CSAT', csatAll === null ? '—' : csatAll.toFixed(2) + ' / 5',
			 fmtInt(sumOf(queues, 'csat_responses')) + ' answers']
		]));

		var c = repCard('Queues', '');
		var total = { queue: 'All queues', _total: true };
		['offered', 'answered', 'handled', 'abandoned', 'transfers', 'bot_contained', 'bot_handoffs',
		 'csat_responses', 'answered_within_sla'].forEach(function (k) { total[k] = sumOf(queues, k); });
		total.avg_speed_of_answer_s = weighted(queues, 'avg_speed_of_answer_s', 'answered');
		total.avg_handle_s = weighted(queues, 'avg_handle_s', 'handled');
		total.csat_avg = csatAll;
		c.card.appendChild(repTable([
			{ key: 'queue', label: 'Queue', w: '12%', cell: function (q, t) {
				return t ? cellWith('All queues', queues.length + ' queues') :
					cellWith(str(q.queue) || '—', numv(q.moved_out) ? fmtInt(q.moved_out) + ' moved out' : '', 'row-title');
			} },
			{ key: 'offered', label: 'Offered', num: true, cell: function (q) { return fmtInt(q.offered); } },
			{ key: 'answered', label: 'Answered', num: true, cell: function (q) { return fmtInt(q.answered); } },
			{ key: 'handled', label: 'Handled', num: true, cell: function (q) { return fmtInt(q.handled); } },
			{ key: 'abandoned', label: 'Abandoned', num: true, cell: function (q) { return fmtInt(q.abandoned); } },
			{ key: 'sla', label: 'SLA attainment', w: '14%', cell: function (q, t) {
				return t ? cellWith(fmtPct(slaAll), fmtInt(total.answered_within_sla) + ' in time', 'sla-value') :
					slaCell(q);
			} },
			{ key: 'asa', label: 'Avg speed of answer', num: true, w: '8%',
			  cell: function (q) { return fmtSecs(q.avg_speed_of_answer_s); } },
			{ key: 'aht', label: 'Avg handle time', num: true, w: '8%',
			  cell: function (q) { return fmtSecs(q.avg_handle_s); } },
			{ key: 'transfers', label: 'Transfers', num: true, cell: function (q) { return fmtInt(q.transfers); } },
			{ key: 'bot_contained', label: 'Bot contained', num: true, title: 'Finished by the bot without a person',
			  cell: function (q) { return fmtInt(q.bot_contained); } },
			{ key: 'bot_handoffs', label: 'Bot handoffs', num: true, title: 'Handed by the bot to the queue',
			  cell: function (q) { return fmtInt(q.bot_handoffs); } },
			{ key: 'csat', label: 'CSAT', w: '8%', cell: csatCell }
		], queues, { cls: 'rep-queues', testid: 'rep-queue', label: c.id, total: total,
			     keyOf: function (q) { return str(q.queue); }, empty: 'No queues.' }));
		el.repBody.appendChild(c.card);

		var charts = node('div', 'rep-grid');
		var cq = repCard('Offered and answered within the SLA, per queue', '');
		cq.card.appendChild(hbarChart({
			testid: 'rep-chart-queues', title: 'Offered and answered within the SLA, per queue',
			width: chartWidth(0.5),
			series: [{ key: 'offered', label: 'Offered', cls: 'offered' },
				 { key: 'in_sla', label: 'Answered within the SLA', cls: 'insla' }],
			rows: queues.map(function (q) {
				return { key: str(q.queue), label: str(q.queue) || '—',
					 values: { offered: q.offered, in_sla: q.answered_within_sla } };
			})
		}));
		charts.appendChild(cq.card);
		charts.appendChild(seriesCard(d, 'queues', 'Offered and answered',
					      [{ key: 'offered', label: 'Offered', cls: 'offered' },
					       { key: 'answered', label: 'Answered', cls: 'answered' }]));
		el.repBody.appendChild(charts);

		var grid = node('div', 'rep-grid');
		var cc = repCard('Channels', '');
		cc.card.appendChild(repTable([
			{ key: 'channel', label: 'Channel', w: '22%', cell: function (r) { return channelLabel(r.channel); } },
			{ key: 'offered', label: 'Offered', num: true, cell: function (r) { return fmtInt(r.offered); } },
			{ key: 'handled', label: 'Handled', num: true, cell: function (r) { return fmtInt(r.handled); } },
			{ key: 'abandoned', label: 'Aband.', num: true, title: 'Abandoned', cell: function (r) { return fmtInt(r.abandoned); } },
			{ key: 'aht', label: 'Avg handle', num: true, w: '15%', cell: function (r) { return fmtSecs(r.avg_handle_s); } },
			{ key: 'transfers', label: 'Transf.', num: true, title: 'Transfers', cell: function (r) { return fmtInt(r.transfers); } },
			{ key: 'bot', label: 'Bot', num: true, title: 'Bot contained / handoffs', w: '13%',
			  cell: function (r) { return fmtInt(r.bot_contained) + ' / ' + fmtInt(r.bot_handoffs); } }
		], channels, { cls: 'rep-channels', testid: 'rep-channel', label: cc.id,
			       keyOf: function (r) { return str(r.channel); }, empty: 'No conversations in this period.' }));
		grid.appendChild(cc.card);
		var hand = [];
		queues.forEach(function (q) {
			arr(q.handoff_reasons).forEach(function (h) {
				if (h && typeof h === 'object')
					hand.push({ queue: str(q.queue), reason: str(h.reason), count: h.count });
			});
		});
		var ch = repCard('Why the bot handed over', '');
		ch.card.appendChild(repTable([
			{ key: 'reason', label: 'Reason', w: '55%', cell: function (r) { return r.reason || '—'; } },
			{ key: 'queue', label: 'Queue', cell: function (r) { return r.queue; } },
			{ key: 'count', label: 'Count', num: true, w: '16%', cell: function (r) { return fmtInt(r.count); } }
		], hand, { cls: 'rep-handoffs', label: ch.id, empty: 'The bot handed nothing over in this period.' }));
		grid.appendChild(ch.card);
		el.repBody.appendChild(grid);
	}

	function renderAgentsReport(d) {
		var agents = arr(d.agents).filter(function (a) { return a && typeof a === 'object'; });
		var csatAll = weighted(agents, 'csat_avg', 'csat_responses');
		var offered = sumOf(agents, 'offered');
		el.repBody.appendChild(kpis([
			['Offers', fmtInt(offered), 'made to agents'],
			['Accepted', fmtInt(sumOf(agents, 'accepted')),
			 offered ? pct(sumOf(agents, 'accepted') / offered * 100) + ' of the offers' : ''],
			['Rejected', fmtInt(sumOf(agents, 'rejected')), ''],
			['Missed', fmtInt(sumOf(agents, 'missed')), 'offers that timed out'],
			['Handled', fmtInt(sumOf(agents, 'handled')), 'wrapped up'],
			['Avg handle time', fmtSecs(weighted(agents, 'avg_handle_s', 'handled')), ''],
			['CSAT', csatAll === null ? '—' : csatAll.toFixed(2) + ' / 5',
			 fmtInt(sumOf(agents, 'csat_responses')) + ' answers']
		]));
		var c = repCard('Agents', '');
		var total = {};
		['offered', 'accepted', 'rejected', 'missed', 'handled', 'transfers', 'csat_responses']
			.forEach(function (k) { total[k] = sumOf(agents, k); });
		total.avg_handle_s = weighted(agents, 'avg_handle_s', 'handled');
		total.csat_avg = csatAll;
		c.card.appendChild(repTable([
			{ key: 'agent', label: 'Agent', w: '19%', cell: function (a, t) {
				return t ? cellWith('All agents', agents.length + ' agents') :
					cellWith(str(a.name) || str(a.agent) || '—', str(a.agent), 'row-title');
			} },
			{ key: 'offered', label: 'Offered', num: true, cell: function (a) { return fmtInt(a.offered); } },
			{ key: 'accepted', label: 'Accepted', num: true, cell: function (a) { return fmtInt(a.accepted); } },
			{ key: 'rejected', label: 'Rejected', num: true, cell: function (a) { return fmtInt(a.rejected); } },
			{ key: 'missed', label: 'Missed', num: true, cell: function (a) { return fmtInt(a.missed); } },
			{ key: 'handled', label: 'Handled', num: true, cell: function (a) { return fmtInt(a.handled); } },
			{ key: 'aht', label: 'Avg handle time', num: true, w: '11%', cell: function (a) { return fmtSecs(a.avg_handle_s); } },
			{ key: 'transfers', label: 'Transfers', num: true, cell: function (a) { return fmtInt(a.transfers); } },
			{ key: 'csat', label: 'CSAT', w: '11%', cell: csatCell }
		], agents, { cls: 'rep-agents', testid: 'rep-agent', label: c.id, total: total,
			     keyOf: function (a) { return str(a.agent); }, empty: 'No agents serve your queues.' }));
		el.repBody.appendChild(c.card);

		var charts = node('div', 'rep-grid');
		var ca = repCard('Offers and conversations handled, per agent', '');
		ca.card.appendChild(hbarChart({
			testid: 'rep-chart-agents', title: 'Offers and conversations handled, per agent',
			width: chartWidth(0.5),
			series: [{ key: 'offered', label: 'Offered', cls: 'offered' },
				 { key: 'handled', label: 'Handled', cls: 'answered' }],
			rows: agents.map(function (a) {
				return { key: str(a.agent), label: str(a.name) || str(a.agent),
					 values: { offered: a.offered, handled: a.handled } };
			})
		}));
		charts.appendChild(ca.card);
		charts.appendChild(seriesCard(d, 'agents', 'Offers and handled',
					      [{ key: 'offered', label: 'Offered', cls: 'offered' },
					       { key: 'handled', label: 'Handled', cls: 'answered' }]));
		el.repBody.appendChild(charts);
	}

	function changeCell(t) {
		var ch = numv(t.change), g = numv(t.growth_pct);
		if (ch === null)
			return cellWith('—', '', 'muted');
		var dir = ch > 0 ? 'up' : ch < 0 ? 'down' : 'flat';
		var f = cellWith((ch > 0 ? '▲ +' : ch < 0 ? '▼ −' : '') + fmtInt(Math.abs(ch)),
				 g === null ? (ch > 0 ? 'new' : '') : (g > 0 ? '+' : g < 0 ? '−' : '') + pct(Math.abs(g)),
				 'trend trend-' + dir);
		f.firstChild.dataset.trend = dir;
		return f;
	}

	/* "invoice unclear 60 · other 3": a group's reasons, most first */
	function reasonChips(list) {
		var wrap = node('span', 'reason-chips');
		arr(list).slice(0, 8).forEach(function (r) {
			if (!r || typeof r !== 'object')
				return;
			var chip = node('span', 'reason-chip');
			chip.appendChild(node('span', 'reason-chip-name', str(r.reason) || '—'));
			chip.appendChild(node('b', '', fmtInt(r.count)));
			wrap.appendChild(chip);
		});
		if (arr(list).length > 8)
			wrap.appendChild(node('span', 'muted', '+' + (arr(list).length - 8) + ' more'));
		return wrap;
	}

	var TREATMENT = { eliminate: 'Eliminate', self_service: 'Self-service', simplify: 'Simplify',
			  encourage: 'Encourage' };
	var TREATMENT_WHY = { configured: 'as configured', automatic_answer: 'an automatic answer exists: fix the cause',
			      bot_resolves: 'the bot resolves it: send these to the bot',
			      remove_cause: 'remove the trigger' };
	var DIRECTION = { up: '↑ growing', down: '↓ shrinking', flat: '→ steady' };

	/* the first thing to act on: the avoidable reasons, most hours per month first */
	function removeFirstCard(d) {
		var av = d.avoidable && typeof d.avoidable === 'object' ? d.avoidable : {};
		var ranked = arr(av.ranked).filter(function (r) { return r && typeof r === 'object'; });
		var c = repCard('Contacts to remove first',
				'Avoidable contact reasons, by the agents\' hours they cost per month' +
				(numv(av.share) !== null ? ' · ' + pct(av.share * 100) + ' of the contacts are avoidable' : '') +
				(numv(av.hours_per_month) !== null ? ' · ' + av.hours_per_month + ' h per month in all' : '') + '.',
				'rep-remove');
		c.card.appendChild(repTable([
			{ key: 'reason', label: 'Reason', w: '26%', cell: function (r) { return str(r.reason) || '—'; } },
			{ key: 'hours_per_month', label: 'Hours per month', num: true, cell: function (r) {
				return numv(r.hours_per_month) === null ? '—' : String(r.hours_per_month);
			} },
			{ key: 'count', label: 'Contacts', num: true, cell: function (r) { return fmtInt(r.count); } },
			{ key: 'share', label: 'Share', num: true, cell: function (r) {
				return numv(r.share) === null ? '—' : pct(r.share * 100);
			} },
			{ key: 'trend', label: 'Trend', cell: function (r) {
				var t = r.trend && typeof r.trend === 'object' ? r.trend : {};
				return cellWith(DIRECTION[str(t.direction)] || '—',
						arr(t.weeks).map(function (w) { return fmtInt(w && w.count); }).join(' · '));
			} },
			{ key: 'treatment', label: 'Suggested treatment', w: '30%', cell: function (r) {
				return cellWith(TREATMENT[str(r.treatment)] || '—', TREATMENT_WHY[str(r.treatment_basis)] || '');
			} }
		], ranked, { cls: 'rep-remove-table', testid: 'rep-remove', label: c.id,
			     keyOf: function (r) { return str(r.reason); },
			     empty: 'No avoidable contact reason in this period (mark reasons avoidable in routing.yaml).' }));
		return c.card;
	}

	function renderReasonsReport(d) {
		el.repBody.appendChild(removeFirstCard(d));
		var reasons = arr(d.reasons).filter(function (r) { return r && typeof r === 'object'; });
		var trend = arr(d.trend).filter(function (r) { return r && typeof r === 'object'; });
		var prev = d.previous && typeof d.previous === 'object' ? d.previous : {};
		var prevText = str(prev.from) ? periodText(str(prev.from), str(prev.to)) : 'the period before';
		var eng = d.engagement && typeof d.engagement === 'object' ? d.engagement : {};
		var total = numv(d.total) || 0, prevTotal = sumOf(trend, 'previous');
		var growing = trend.filter(function (t) { return (numv(t.change) || 0) > 0; }).slice(0, 3);
		el.repBody.appendChild(kpis([
			['Contacts with a reason', fmtInt(total), reasons.length + (reasons.length === 1 ? ' reason' : ' reasons')],
			['Previous period', fmtInt(prevTotal), prevText],
			['Top reason', reasons.length ? str(reasons[0].reason) : '—',
			 reasons.length && total ? pct(reasons[0].count / total * 100) + ' of the contacts' : '', 'rep-kpi-text'],
			['Growing most', growing.length ? str(growing[0].reason) : '—',
			 growing.length ? '+' + fmtInt(growing[0].change) + ' vs the previous period' : 'nothing grew', 'rep-kpi-text'],
			['Customers at risk', fmtInt(eng.at_risk), numv(eng.threshold) !== null ?
			 'balance below ' + eng.threshold : '']
		]));

		var grid = node('div', 'rep-grid');
		var cc = repCard('Why customers got in touch', '');
		cc.card.appendChild(hbarChart({
			testid: 'rep-chart-reasons', title: 'Contacts per reason', width: chartWidth(0.5),
			series: [{ key: 'count', label: 'Contacts', cls: 'reason' }],
			rows: reasons.map(function (r) {
				return { key: str(r.reason), label: str(r.reason) || '—', values: { count: r.count } };
			})
		}));
		if (reasons.length > REP_MAX_BARS)
			cc.card.appendChild(node('p', 'rep-card-sub', 'The ' + REP_MAX_BARS + ' most frequent; the table has all ' +
						 reasons.length + '.'));
		if (!reasons.length)
			cc.card.appendChild(node('p', 'empty-hint sup-empty', 'No conversation closed with a reason in this period.'));
		grid.appendChild(cc.card);

		/* the ranking: this period's reasons, most first, then those only in the previous one */
		var byReason = new Map();
		trend.forEach(function (t) { byReason.set(str(t.reason), t); });
		var rank = reasons.map(function (r, i) {
			var t = byReason.get(str(r.reason)) || {};
			return { rank: i + 1, reason: str(r.reason), count: r.count, previous: t.previous,
				 change: t.change, growth_pct: t.growth_pct };
		});
		trend.forEach(function (t) {
			if (!reasons.some(function (r) { return str(r.reason) === str(t.reason); }))
				rank.push({ rank: null, reason: str(t.reason), count: 0, previous: t.previous,
					    change: t.change, growth_pct: t.growth_pct });
		});
		var cr = repCard('Ranking and trend', 'Compared with ' + prevText + '.');
		cr.card.appendChild(repTable([
			{ key: 'reason', label: 'Reason', w: '36%', cell: function (r) {
				var f = document.createDocumentFragment();
				f.appendChild(node('span', 'rank', r.rank === null ? '–' : r.rank + '.'));
				f.appendChild(node('span', 'rank-reason', r.reason || '—'));
				return f;
			} },
			{ key: 'count', label: 'Contacts', num: true, cell: function (r) { return fmtInt(r.count); } },
			{ key: 'share', label: 'Share', num: true, cell: function (r) {
				return total && r.count ? pct(r.count / total * 100) : '—';
			} },
			{ key: 'previous', label: 'Previous', num: true, cell: function (r) { return fmtInt(r.previous); } },
			{ key: 'change', label: 'Change', num: true, w: '18%', cell: changeCell }
		], rank, { cls: 'rep-reasons', testid: 'rep-reason', label: cr.id,
			   keyOf: function (r) { return r.reason; }, empty: 'No reasons in this period or the one before.' }));
		grid.appendChild(cr.card);
		el.repBody.appendChild(grid);

		var groups = node('div', 'rep-grid');
		[['by_channel', 'By channel', 'channel', function (g) { return channelLabel(g.channel); }],
		 ['by_queue', 'By queue', 'queue', function (g) { return g.queue === null ? 'no queue' : str(g.queue); }],
		 ['by_week', 'By ISO week', 'week', function (g) { return str(g.week); }]].forEach(function (x) {
			var list = arr(d[x[0]]).filter(function (g) { return g && typeof g === 'object'; });
			var c = repCard(x[1], '');
			c.card.appendChild(repTable([
				{ key: x[2], label: x[1].replace(/^By /, '').replace(/^./, function (m) { return m.toUpperCase(); }),
				  w: '24%', cell: function (g) { return x[3](g); } },
				{ key: 'total', label: 'Total', num: true, w: '13%', cell: function (g) { return fmtInt(g.total); } },
				{ key: 'reasons', label: 'Reasons', cell: function (g) { return reasonChips(g.reasons); } }
			], list, { cls: 'rep-groups', testid: 'rep-by-' + x[2], label: c.id,
				   keyOf: function (g) { return g[x[2]] === null ? '' : String(g[x[2]]); } }));
			groups.appendChild(c.card);
		});
		var co = repCard('Outcomes', 'How conversations ended.');
		co.card.appendChild(repTable([
			{ key: 'outcome', label: 'Outcome', w: '60%', cell: function (o) { return str(o.outcome) || '—'; } },
			{ key: 'count', label: 'Count', num: true, cell: function (o) { return fmtInt(o.count); } }
		], arr(d.outcomes).filter(function (o) { return o && typeof o === 'object'; }),
		{ cls: 'rep-outcomes', testid: 'rep-outcome', label: co.id, keyOf: function (o) { return str(o.outcome); } }));
		groups.appendChild(co.card);
		el.repBody.appendChild(groups);

		/* engagement: balances now, and how they moved in the period */
		var ce = repCard('Engagement', (numv(eng.at_risk) !== null ? fmtInt(eng.at_risk) + ' customers at risk now' : '') +
				 (numv(eng.threshold) !== null ? ' (balance below ' + eng.threshold + ')' : '') + '.', 'rep-engagement');
		var eg = node('div', 'rep-grid rep-grid-3');
		var low = node('div');
		low.appendChild(node('h4', 'rep-sub-title', 'Lowest balances'));
		low.appendChild(repTable([
			{ key: 'customer', label: 'Customer', w: '68%', cell: function (c) {
				return cellWith(str(c.name) || 'Anonymous', str(c.customer));
			} },
			{ key: 'balance', label: 'Balance', num: true, cell: function (c) { return fmtInt(c.balance); } }
		], arr(eng.lowest).filter(function (c) { return c && typeof c === 'object'; }),
		{ cls: 'rep-lowest', testid: 'rep-lowest', empty: 'No customer is below the threshold.' }));
		eg.appendChild(low);
		[['deposits', 'Points added'], ['withdrawals', 'Points taken']].forEach(function (x) {
			var m = eng[x[0]] && typeof eng[x[0]] === 'object' ? eng[x[0]] : {};
			var box = node('div');
			box.appendChild(node('h4', 'rep-sub-title', x[1] + ': ' + fmtInt(m.points)));
			box.appendChild(repTable([
				{ key: 'event', label: 'Event', w: '68%', cell: function (e) { return str(e.event).replace(/_/g, ' ') || '—'; } },
				{ key: 'points', label: 'Points', num: true, cell: function (e) { return fmtInt(e.points); } }
			], arr(m.by_event).filter(function (e) { return e && typeof e === 'object'; }),
			{ cls: 'rep-events', testid: 'rep-' + x[0], empty: 'None in this period.' }));
			eg.appendChild(box);
		});
		ce.card.appendChild(eg);
		el.repBody.appendChild(ce.card);
	}

	/* ---- the agent's side: a supervisor monitors one of my conversations ---- */

	function onMonitored(msg) {
		var id = str(msg.conversation);
		if (!id)
			return;
		if (msg.active === true)
			S.monitoredBy.set(id, str(msg.by));
		else
			S.monitoredBy.delete(id);
		if (!S.convs.has(id))
			return;
		renderList();
		if (S.selected === id && S.historyId === null)
			renderConvMeta(el.convMeta, S.convs.get(id).c);
		var cust = customerName(S.convs.get(id).c.customer);
		announce(msg.active === true ? personName(msg.by) + ' is monitoring your conversation with ' + cust + '.' :
			 personName(msg.by) + ' stopped monitoring your conversation with ' + cust + '.');
	}

	function monitoredBadge(id) {
		var by = S.monitoredBy.get(id);
		if (by === undefined)
			return null;
		var b = node('span', 'badge badge-monitor', personName(by) + ' is monitoring');
		b.setAttribute('data-testid', 'monitored-badge');
		b.title = 'A supervisor follows this conversation live';
		return b;
	}

	/* ---- keyboard ---- */

	document.addEventListener('keydown', function (ev) {
		if (el.app.hidden || el.transferDialog.open)
			return;
		var k = ev.key;
		if (S.view === 'supervisor') {
			/* Esc stops monitoring (from the pane, or from nowhere in particular) */
			var f = document.activeElement;
			if (k === 'Escape' && S.sup.mon && S.sup.screen === 'board' && !ev.defaultPrevented &&
			    (!f || f === document.body || el.monitor.contains(f))) {
				ev.preventDefault();
				supCloseMonitor(true);
			}
			return;
		}
		if ((ev.altKey && !ev.ctrlKey && !ev.metaKey && (k === 'ArrowUp' || k === 'ArrowDown')) ||
		    (ev.ctrlKey && !ev.altKey && !ev.metaKey && (k === '[' || k === ']'))) {
			ev.preventDefault();
			move(k === 'ArrowUp' || k === '[' ? -1 : 1);
			return;
		}
		if (k === 'Escape' && S.historyId !== null) {
			ev.preventDefault();
			closeHistory();
			return;
		}
		if (ev.ctrlKey || ev.altKey || ev.metaKey || ev.repeat || inTextField(ev.target))
			return;
		var offer = firstOffer();
		if (!offer)
			return;
		if (k === 'a' || k === 'A') {
			ev.preventDefault();
			acceptOffer(offer.o.offer);
		} else if (k === 'r' || k === 'R') {
			ev.preventDefault();
			rejectOffer(offer.o.offer);
		}
	});

	/* back online or back in the tab: do not wait for the backoff */
	window.addEventListener('online', reconnectNow);
	document.addEventListener('visibilitychange', function () {
		if (document.visibilityState === 'visible')
			reconnectNow();
	});

	/* ---- extensions ----
	 * The console's other files (agent_*.js, search.js, canned.js, chatting.js,
	 * park.js, loaded after this one) hook in
	 * here: on(name, fn) is called with emit(name, ...) at these points:
	 * frame (every server frame, after the console handled it),
	 * offer-card (li, entry), message-node (li, m, c), list-item (button,
	 * entry), selected (entry, rebuilt), reply (entry, outgoing m: files
 * it names go in m.attachments, a list of upload ids; a reply with
 * neither text nor files is not sent).
	 */
	var hooks = {};

	function emit(name) {
		var args = Array.prototype.slice.call(arguments, 1);
		(hooks[name] || []).forEach(function (fn) {
			try {
				fn.apply(null, args);
			} catch (e) {
				window.console.error('console extension ' + name + ': ' + e);
			}
		});
	}

	/* what extensions read of the state: not the password nor the session */
	var shared = {};
	['offers', 'convs', 'selected', 'queues', 'historyId', 'view', 'outbox', 'me', 'authed'].forEach(function (k) {
		Object.defineProperty(shared, k, { get: function () { return S[k]; }, enumerable: true });
	});

	window.omrConsole = {
		S: shared, el: el, node: node, clear: clear, str: str, notice: notice, announce: announce,
		request: request, send: send, channelLabel: channelLabel, customerName: customerName,
		duration: duration, stamp: stamp, acceptOffer: acceptOffer, rejectOffer: rejectOffer,
		firstOffer: firstOffer, renderList: renderList, renderSelected: renderSelected,
		submitReply: submitReply, sendReply: sendReply, outboxFind: outboxFind, byTime: byTime,
		personName: personName,
		select: function (id) { if (S.convs.has(id)) select(id, false); },
		on: function (name, fn) { (hooks[name] = hooks[name] || []).push(fn); },
		/* search.js: every frame from the server, and {type:
		 * 'customer_shown', conversation, customer} when the customer
		 * panel was drawn (conversation null: none) */
		onFrame: function (fn) { extHooks.push(fn); },
		openHistory: function (p) { openHistory(p); },
		me: function () { return S.me; },
		/* canned.js, chatting.js, park.js: 'select' (the conversation
		 * shown), 'shown' ({conversation, message} appended to it) */
		newClientMsgId: newClientMsgId,
		agents: function () { return S.agents; },
		isAgent: isAgent,
		/* the conversation on screen (not an earlier one read-only) */
		current: function () {
			var e = S.selected && S.historyId === null ? S.convs.get(S.selected) : null;
			return e ? e.c : null;
		},
		conversation: function (id) { var e = S.convs.get(id); return e ? e.c : null; },
		redraw: function () { renderSelected(true); }
	};

	/* ---- start ---- */

	supReset();
	S.agentId = load('agent');
	S.session = loadSession();
	if (S.session && S.agentId) {
		/* a reload: log in with the tab's session token */
		S.password = '';
		el.loginView.hidden = true;
		connect();
	} else {
		showLogin('');
	}
})();
