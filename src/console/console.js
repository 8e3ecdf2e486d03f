/*
 * omniroute agent console: the agent's side of the omniroute.agent.v1
 * websocket protocol (docs/agent-protocol.md).
 *
 * - The agent id is remembered in localStorage; the password never is. It
 *   stays in this page's memory only, to log in again by itself after a
 *   reconnect; a reload asks for it again.
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
	var AUTHOR_LABEL = { customer: 'Customer', agent: 'Agent', bot: 'Bot', system: 'System' };
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
		rate_limited: 'Too many requests; slow down a little.'
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
	 'wrapup-error', 'wrapup-submit', 'history', 'history-title', 'history-meta', 'history-back',
	 'history-transcript', 'customer-body', 'customer-empty', 'customer-name', 'customer-email-row',
	 'customer-email', 'customer-claimed-row', 'customer-claimed-email', 'customer-addresses',
	 'customer-previous', 'customer-previous-empty', 'transfer-dialog', 'transfer-form',
	 'transfer-kind-queue', 'transfer-kind-agent', 'transfer-queue-field', 'transfer-queue',
	 'transfer-agent-field', 'transfer-agent', 'transfer-note', 'transfer-error', 'transfer-cancel',
	 'transfer-submit', 'announce-polite', 'announce-assertive', 'window-bar', 'window-text',
	 'window-templates', 'window-template', 'window-send'].forEach(function (id) {
		el[id.replace(/-([a-z])/g, function (m, c) { return c.toUpperCase(); })] = $(id);
	});

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
		password: null,         /* memory only: re-login after a reconnect */
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
		countdownTimer: null
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
		if (detail && (code === 'bad_request' || code === 'bad_state'))
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
		el.notices.appendChild(n);
		while (el.notices.children.length > 4)
			el.notices.removeChild(el.notices.firstChild);
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
			send({ type: 'auth', agent: S.agentId, password: S.password });
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

	function connectionLost(ev) {
		S.authed = false;
		window.clearInterval(S.pingTimer);
		renderOffers();
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
		if (S.authed)
			send({ type: 'presence', status: 'offline', reason: 'signed out' });
		showLogin('');
	});

	/* ---- protocol: server -> client ---- */

	function handle(msg) {
		switch (msg.type) {
		case 'welcome': onWelcome(msg); break;
		case 'offer': onOffer(msg); break;
		case 'revoked': onRevoked(msg); break;
		case 'assigned': onAssigned(msg); break;
		case 'unassigned': onUnassigned(msg); break;
		case 'message': onMessage(msg); break;
		case 'ack': onAck(msg); break;
		case 'status': onStatus(msg); break;
		case 'presence': onPresence(msg); break;
		case 'history': onHistory(msg); break;
		case 'error': onError(msg); break;
		case 'agents': onAgents(msg); break;
		case 'pong': break;
		default: break; /* newer servers may send more; ignore */
		}
	}

	function onWelcome(w) {
		var first = !S.everWelcomed;
		S.authed = true;
		S.everWelcomed = true;
		S.attempt = 0;
		setConn('online', 'Connected');
		el.loginError.hidden = true;

		S.me = w.agent && typeof w.agent === 'object' ? w.agent : { id: S.agentId };
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

		/* offers: exactly the ones still open */
		S.offers = new Map();
		(Array.isArray(w.offers) ? w.offers : []).forEach(addOffer);

		if (!S.selected || !S.convs.has(S.selected))
			S.selected = S.order.length ? S.order[0] : null;

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

		if (first) {
			if (S.selected && S.convs.get(S.selected).c.status === 'assigned')
				el.replyText.focus();
			else
				el.presenceToggle.focus();
			announce('Signed in as ' + (str(S.me.name) || S.agentId) + '. ' +
				 S.order.length + ' conversation' + (S.order.length === 1 ? '' : 's') + '.');
		}
	}

	function normalise(c) {
		if (!Array.isArray(c.messages))
			c.messages = [];
		c.messages = c.messages.filter(function (m) { return m && typeof m === 'object'; });
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
		var idx = S.order.indexOf(id);
		S.convs.delete(id);
		S.order.splice(idx, 1);
		delete S.pending[id];
		S.outbox.filter(function (m) { return m.conversation === id; }).forEach(function (m) {
			dropReply(m.cmid);
		});
		if (el.transferDialog.open && el.transferDialog.dataset.conversation === id)
			el.transferDialog.close();
		switch (msg.reason) {
		case 'wrapped_up': notice('Wrap-up saved for ' + who + '.', 'ok'); break;
		case 'transferred': notice('The conversation with ' + who + ' was transferred.', 'ok'); break;
		case 'requeued': notice('The conversation with ' + who + ' went back to the queue.', 'warn'); break;
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
		if (m.direction === 'in' && c.reply_window && typeof c.reply_window.window_ms === 'number') {
			c.reply_window.closes_at = (typeof m.created_at === 'number' ? m.created_at : Date.now()) +
				c.reply_window.window_ms;
			if (S.selected === c.id)
				renderConversationState();
		}
		var fromOthers = m.direction === 'in' || m.direction === 'note';
		var viewing = S.selected === c.id && S.historyId === null;
		if (viewing) {
			appendMessage(el.transcript, m, true, c);
		} else if (fromOthers) {
			if (!entry.unread)
				entry.firstUnread = m.id || null;
			entry.unread++;
			announce('New message from ' + (m.direction === 'in' ? customerName(c.customer) : 'a colleague') +
				 ': ' + str(m.text).slice(0, 140));
		}
		renderList();
		renderTitle();
	}

	function onAck(msg) {
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
					(status === 'offline' ? 'Offline' : 'Away') + (reason ? ': ' + reason : '') +
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
		var code = str(msg.code), text = errorText(msg);
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
			       client_msg_id: m.cmid });
		else if (S.authed)
			send({ type: 'reply', conversation: m.conversation, text: m.text, client_msg_id: m.cmid });
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
		if (!text.trim())
			return;
		if (utf8Length(text) > MAX_TEXT_BYTES) {
			notice('That reply is too long; please split it up.', 'error');
			return;
		}
		var m = { cmid: newClientMsgId(), conversation: entry.c.id, text: text, at: Date.now(),
			  failed: false, why: '' };
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
		}
		if (entry.unread) {
			entry.unread = 0;
			entry.firstUnread = null;
			renderList();
		}
		renderConversationState();
		renderCustomer(c);
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
		(Array.isArray(c.tags) ? c.tags : []).forEach(function (t) {
			if (typeof t === 'string')
				target.appendChild(node('span', 'tag', t));
		});
		var idn = node('span', 'conv-id', c.id);
		idn.title = 'Conversation id';
		target.appendChild(idn);
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
	function handoffNote(c) {
		var h = c && c.routing && c.routing.handoff;
		if (!h || !str(h.reason))
			return null;
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
		}
	}

	function sendTemplate() {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (!entry || entry.c.status !== 'assigned' || !entry.c.reply_window)
			return;
		var name = el.windowTemplate.value;
		var t = (entry.c.reply_window.templates || []).filter(function (x) { return x.name === name; })[0];
		if (!t)
			return;
		var m = { cmid: newClientMsgId(), conversation: entry.c.id, text: str(t.text), template: name,
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
				sep.setAttribute('role', 'separator');
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
			var sep = node('li', 'day-sep');
			sep.setAttribute('role', 'separator');
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

		var bubble = node('div', 'bubble');
		var meta = node('p', 'meta');
		if (dir === 'note')
			meta.appendChild(node('span', 'note-label', 'Internal note'));
		var who = str(m.author_name) ||
			(author === 'agent' && S.me && dir === 'out' ? str(S.me.name) : '') ||
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
			} else {
				li.appendChild(node('span', 'attachment-name', name));
			}
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

	function updateMessageNode(m) {
		if (typeof m.id !== 'string')
			return;
		var li = el.transcript.querySelector('[data-message-id="' + cssEscape(m.id) + '"]');
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

	/* ---- keyboard ---- */

	document.addEventListener('keydown', function (ev) {
		if (el.app.hidden || el.transferDialog.open)
			return;
		var k = ev.key;
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

	/* ---- start ---- */

	S.agentId = load('agent');
	showLogin('');
})();
