/*
 * omniroute web chat demo: a visitor's side of the omniroute.chat.v1
 * websocket protocol (docs/channels/webchat.md).
 *
 * - The visitor id and token handed out in `welcome` are kept in
 *   localStorage, so a reloaded page continues the same conversation.
 * - Every message gets a random client_msg_id and shows as "sending" until
 *   the server acknowledges it (the ack comes only after the message is
 *   stored). Unacknowledged messages are kept in localStorage too and sent
 *   again after a reconnect or a reload: the server deduplicates them.
 * - Text from the visitor and from agents is only ever inserted with
 *   textContent, never as HTML.
 *
 * No build step and no external resources: the page is served with
 * Content-Security-Policy script-src 'self'; style-src 'self'.
 */
(function () {
	'use strict';

	var PROTOCOL = 'omniroute.chat.v1';
	var WS_URL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat';
	var KEY = 'omniroute.chat.';        /* localStorage prefix */
	var PING_EVERY_MS = 20000;          /* application-level keepalive */
	var DEAD_AFTER_MS = 50000;          /* nothing heard for this long: reconnect */
	var BACKOFF_MIN_MS = 500;
	var BACKOFF_MAX_MS = 30000;
	var MAX_TEXT_BYTES = 12000;         /* stay under the server's max_message (16 KiB) */

	var $ = function (id) { return document.getElementById(id); };
	var el = {
		conn: $('conn'), log: $('log'), empty: $('empty'), queue: $('queue'),
		error: $('error'), compose: $('compose'), text: $('text'), ids: $('ids'),
		profile: $('profile'), profileForm: $('profile-form'), name: $('name'),
		email: $('email'), profileStatus: $('profile-status'), restart: $('restart')
	};

	/* ---- storage (may be unavailable: private mode, disabled) ---- */

	function load(name) {
		try { return window.localStorage.getItem(KEY + name); } catch (e) { return null; }
	}
	function save(name, value) {
		try {
			if (value === null || value === undefined || value === '')
				window.localStorage.removeItem(KEY + name);
			else
				window.localStorage.setItem(KEY + name, value);
		} catch (e) { /* the chat still works for this page */ }
	}

	/* Messages not yet acknowledged: [{cmid, text, at}] in send order. */
	var outbox = [];
	try { outbox = JSON.parse(load('outbox') || '[]'); } catch (e) { outbox = []; }
	if (!Array.isArray(outbox))
		outbox = [];
	function saveOutbox() { save('outbox', outbox.length ? JSON.stringify(outbox) : null); }
	function outboxFind(cmid) {
		for (var i = 0; i < outbox.length; i++)
			if (outbox[i].cmid === cmid)
				return outbox[i];
		return null;
	}
	function outboxDrop(cmid) {
		outbox = outbox.filter(function (m) { return m.cmid !== cmid; });
		saveOutbox();
	}

	/* ---- small helpers ---- */

	function newClientMsgId() {
		var bytes = new Uint8Array(12), s = 'w';
		window.crypto.getRandomValues(bytes);
		for (var i = 0; i < bytes.length; i++)
			s += (bytes[i] & 31).toString(32);
		return s + Date.now().toString(36);
	}

	function utf8Length(s) {
		return new TextEncoder().encode(s).length;
	}

	function clockTime(ms) {
		var d = new Date(typeof ms === 'number' ? ms : Date.now());
		return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
	}

	function showError(text) {
		el.error.textContent = text || '';
		el.error.hidden = !text;
	}

	function setConn(state, text) {
		el.conn.dataset.state = state;
		el.conn.textContent = text;
	}

	var AUTHOR_LABEL = { visitor: 'You', agent: 'Agent', bot: 'Assistant', system: 'omniroute' };

	/* ---- the message list ---- */

	var byKey = new Map(); /* "m:<message id>" or "c:<client_msg_id>" -> <li> */

	function nearBottom() {
		return el.log.scrollHeight - el.log.scrollTop - el.log.clientHeight < 80;
	}

	/* m: {from, text, ts?, name?, id?, client_msg_id?, attachments?} */
	function render(m, opts) {
		var from = AUTHOR_LABEL.hasOwnProperty(m.from) ? m.from : 'agent';
		var stick = nearBottom();
		var li = document.createElement('li');
		li.className = 'msg from-' + from;

		var meta = document.createElement('p');
		meta.className = 'meta';
		var who = document.createElement('span');
		who.className = 'who';
		who.textContent = from === 'visitor' ? 'You' :
			(typeof m.name === 'string' && m.name ? m.name : AUTHOR_LABEL[from]);
		var when = document.createElement('time');
		var ts = typeof m.ts === 'number' ? m.ts : Date.now();
		when.dateTime = new Date(ts).toISOString();
		when.textContent = clockTime(ts);
		meta.appendChild(who);
		meta.appendChild(document.createTextNode(' '));
		meta.appendChild(when);

		var body = document.createElement('p');
		body.className = 'text';
		body.textContent = typeof m.text === 'string' ? m.text : '';

		var state = document.createElement('p');
		state.className = 'state';

		li.appendChild(meta);
		li.appendChild(body);
		/* an agent's files: links on the omniroute edge (docs/channels/webchat.md) */
		if (Array.isArray(m.attachments))
			m.attachments.forEach(function (a) {
				if (!a || typeof a.url !== 'string' || a.url.indexOf('/files/') !== 0)
					return;
				var p = document.createElement('p');
				p.className = 'file';
				var link = document.createElement('a');
				link.href = new URL(a.url, WS_URL.replace(/^ws/, 'http')).href;
				link.target = '_blank';
				link.rel = 'noopener noreferrer';
				link.textContent = typeof a.name === 'string' ? a.name : 'file';
				p.appendChild(link);
				if (typeof a.size === 'number')
					p.appendChild(document.createTextNode(' (' + Math.ceil(a.size / 1024) + ' kB)'));
				li.appendChild(p);
			});
		li.appendChild(state);
		if (opts && opts.pending)
			markPending(li, 'Sending…');
		el.log.appendChild(li);
		el.empty.hidden = true;

		if (m.id)
			byKey.set('m:' + m.id, li);
		if (m.client_msg_id)
			byKey.set('c:' + m.client_msg_id, li);
		if (stick || from === 'visitor')
			li.scrollIntoView({ block: 'end' });
		return li;
	}

	function markPending(li, text) {
		li.classList.add('pending');
		li.classList.remove('failed');
		li.querySelector('.state').textContent = text;
	}

	function markSent(li) {
		li.classList.remove('pending', 'failed');
		li.querySelector('.state').textContent = '';
	}

	function markFailed(li, text) {
		li.classList.remove('pending');
		li.classList.add('failed');
		li.querySelector('.state').textContent = text;
	}

	function clearLog() {
		byKey.clear();
		while (el.log.firstChild)
			el.log.removeChild(el.log.firstChild);
		el.empty.hidden = false;
	}

	function showIds() {
		var parts = [];
		if (visitor)
			parts.push('visitor ' + visitor);
		if (conversation)
			parts.push('conversation ' + conversation);
		el.ids.textContent = parts.join(' · ');
	}

	/* ---- connection ---- */

	var ws = null;
	var welcomed = false;
	var attempt = 0;
	var reconnectTimer = null;
	var pingTimer = null;
	var lastHeard = 0;
	var visitor = load('visitor');
	var conversation = null;
	var retryTimers = new Map(); /* cmid -> timeout */
	var retryCount = new Map();  /* cmid -> attempts */
	var lastSent = null;         /* cmid of the last message sent */
	var failed = [];             /* [{cmid, text, at, why}]: kept in view after reconnects */

	function fail(cmid, why) {
		var m = outboxFind(cmid), li = byKey.get('c:' + cmid);
		if (m) {
			failed.push({ cmid: cmid, text: m.text, at: m.at, why: why });
			outboxDrop(cmid);
		}
		if (li)
			markFailed(li, why);
		else
			showError(why);
	}

	function profile() {
		return { name: (load('name') || '').trim(), email: (load('email') || '').trim() };
	}

	function send(obj) {
		if (!ws || ws.readyState !== WebSocket.OPEN)
			return false;
		ws.send(JSON.stringify(obj));
		return true;
	}

	function sendHello(withProfile) {
		var hello = { type: 'hello' };
		var v = load('visitor'), t = load('token'), p = profile();
		if (v && t) {
			hello.visitor = v;
			hello.token = t;
		}
		/* Only non-empty values: the server refuses an empty e-mail. */
		if (withProfile && p.name)
			hello.name = p.name;
		if (withProfile && p.email)
			hello.email = p.email;
		send(hello);
	}

	function sendMessage(m) {
		var t = retryTimers.get(m.cmid);
		if (t) {
			clearTimeout(t);
			retryTimers.delete(m.cmid);
		}
		if (!welcomed)
			return; /* sent after the next welcome */
		var li = byKey.get('c:' + m.cmid);
		if (li)
			markPending(li, 'Sending…');
		if (send({ type: 'message', text: m.text, client_msg_id: m.cmid }))
			lastSent = m.cmid;
	}

	function retryLater(cmid, ms, why) {
		var m = outboxFind(cmid), li = byKey.get('c:' + cmid);
		if (!m)
			return;
		if (li)
			markPending(li, why);
		clearTimeout(retryTimers.get(cmid));
		retryTimers.set(cmid, setTimeout(function () {
			retryTimers.delete(cmid);
			sendMessage(m);
		}, ms));
	}

	function connect() {
		clearTimeout(reconnectTimer);
		reconnectTimer = null;
		welcomed = false;
		setConn('connecting', attempt ? 'Reconnecting…' : 'Connecting…');
		try {
			ws = new WebSocket(WS_URL, PROTOCOL);
		} catch (e) {
			scheduleReconnect();
			return;
		}
		var sock = ws;
		sock.onopen = function () {
			if (sock !== ws)
				return;
			lastHeard = Date.now();
			sendHello(true);
			clearInterval(pingTimer);
			pingTimer = setInterval(keepalive, PING_EVERY_MS);
		};
		sock.onmessage = function (ev) {
			if (sock !== ws)
				return;
			lastHeard = Date.now();
			var msg;
			try { msg = JSON.parse(ev.data); } catch (e) { return; }
			if (msg && typeof msg === 'object')
				handle(msg);
		};
		sock.onclose = function (ev) {
			if (sock !== ws)
				return;
			ws = null;
			welcomed = false;
			clearInterval(pingTimer);
			if (ev.code === 1009 && lastSent) {
				/* too large for this server: sending it again would loop */
				fail(lastSent, 'Not delivered: the message is too long.');
				lastSent = null;
			}
			scheduleReconnect();
		};
		/* onerror is always followed by onclose */
	}

	function scheduleReconnect() {
		var base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
		var delay = Math.round(base / 2 + Math.random() * base / 2);
		attempt++;
		setConn('offline', 'Connection lost. Reconnecting in ' + Math.ceil(delay / 1000) + ' s…');
		clearTimeout(reconnectTimer);
		reconnectTimer = setTimeout(connect, delay);
	}

	function reconnectNow() {
		attempt = 0;
		if (ws) {
			var old = ws;
			ws = null;
			clearInterval(pingTimer);
			old.close(1000, 'reconnect');
		}
		connect();
	}

	function keepalive() {
		if (!ws)
			return;
		if (Date.now() - lastHeard > DEAD_AFTER_MS) {
			/* The network went away without a close: start over. */
			var old = ws;
			ws = null;
			clearInterval(pingTimer);
			old.close();
			scheduleReconnect();
			return;
		}
		send({ type: 'ping' });
	}

	/* ---- protocol ---- */

	function onWelcome(msg) {
		var previous = load('visitor');
		welcomed = true;
		attempt = 0;
		visitor = msg.visitor;
		conversation = msg.conversation || null;
		save('visitor', msg.visitor);
		save('token', msg.token);
		setConn('online', 'Connected');
		showError('');

		/* Rebuild the view from the history without announcing it all again. */
		el.log.setAttribute('aria-busy', 'true');
		clearLog();
		if (previous && previous !== msg.visitor)
			render({ from: 'system',
				 text: 'Your earlier conversation could not be continued; this is a new one.' });

		var history = Array.isArray(msg.history) ? msg.history : [];
		history.forEach(function (h) {
			if (h.client_msg_id && outboxFind(h.client_msg_id))
				outboxDrop(h.client_msg_id); /* stored: its ack was lost */
			render(h);
		});
		failed.forEach(function (m) {
			markFailed(render({ from: 'visitor', text: m.text, ts: m.at, client_msg_id: m.cmid }),
				   m.why);
		});
		/* Whatever is still unacknowledged goes again, in order. */
		outbox.forEach(function (m) {
			render({ from: 'visitor', text: m.text, ts: m.at, client_msg_id: m.cmid },
			       { pending: true });
			sendMessage(m);
		});
		el.log.removeAttribute('aria-busy');
		showIds();
	}

	function onAck(msg) {
		var li = byKey.get('c:' + msg.client_msg_id);
		outboxDrop(msg.client_msg_id);
		retryCount.delete(msg.client_msg_id);
		if (msg.conversation) {
			conversation = msg.conversation;
			showIds();
		}
		if (li) {
			markSent(li);
			if (msg.message)
				byKey.set('m:' + msg.message, li);
		}
	}

	function onServerMessage(msg) {
		if (msg.id && byKey.has('m:' + msg.id))
			return; /* already shown (history after a reconnect) */
		var li = render({ id: msg.id, from: msg.from, text: msg.text, name: msg.name,
				  attachments: msg.attachments });
		if (Array.isArray(msg.buttons))
			addQuickReplies(li, msg.buttons);
		if (msg.from === 'agent')
			el.queue.hidden = true; /* a person answers: no longer waiting */
	}

	function onStatus(msg) {
		var parts = [];
		if (typeof msg.position === 'number')
			parts.push(msg.position <= 1 ? 'You are next in line.' :
				'You are number ' + msg.position + ' in the queue.');
		if (typeof msg.eta_s === 'number') {
			var min = Math.round(msg.eta_s / 60);
			parts.push(msg.eta_s < 60 ? 'Expected wait: less than a minute.' :
				'Expected wait: about ' + min + (min === 1 ? ' minute.' : ' minutes.'));
		}
		el.queue.textContent = parts.join(' ');
		el.queue.hidden = parts.length === 0;
	}

	function onError(msg) {
		var cmid = typeof msg.client_msg_id === 'string' ? msg.client_msg_id : null;
		var text = typeof msg.message === 'string' ? msg.message : 'error';
		switch (msg.code) {
		case 'retry': { /* not stored: the server asks us to send it again */
			var n = (retryCount.get(cmid) || 0) + 1;
			retryCount.set(cmid, n);
			retryLater(cmid, Math.min(30000, 1000 * Math.pow(2, n)), 'Waiting to resend…');
			return;
		}
		case 'rate_limited':
			retryLater(cmid, 5000, 'Slow down: resending in a moment…');
			return;
		case 'hello_first':
			return; /* resent after the welcome */
		case 'rejected':
		case 'bad_text':
			if (cmid)
				fail(cmid, 'Not delivered: ' + text);
			else
				showError('A message was not delivered: ' + text);
			return;
		case 'bad_profile':
			showError('Your name or e-mail address was not accepted; please correct it.');
			el.profile.open = true;
			sendHello(false); /* continue without it */
			return;
		case 'already_hello':
			return;
		default:
			showError('The server said: ' + text);
		}
	}

	function handle(msg) {
		switch (msg.type) {
		case 'welcome': onWelcome(msg); break;
		case 'ack': onAck(msg); break;
		case 'message': onServerMessage(msg); break;
		case 'status': onStatus(msg); break;
		case 'error': onError(msg); break;
		case 'pong': break;
		default: break; /* newer servers may send more; ignore */
		}
	}

	/* ---- the page ---- */

	/* a bot's suggested answers: one click sends it; gone once used, or
	 * when anything else is said */
	function clearQuickReplies() {
		var old = el.log.querySelectorAll('.quick');
		for (var i = 0; i < old.length; i++)
			old[i].parentNode.removeChild(old[i]);
	}

	function addQuickReplies(li, buttons) {
		clearQuickReplies();
		var box = document.createElement('div');
		box.className = 'quick';
		buttons.forEach(function (b) {
			if (typeof b !== 'string' || !b)
				return;
			var btn = document.createElement('button');
			btn.type = 'button';
			btn.textContent = b;
			btn.addEventListener('click', function () {
				el.text.value = b;
				submitText();
			});
			box.appendChild(btn);
		});
		if (box.childNodes.length)
			li.appendChild(box);
	}

	function submitText() {
		var text = el.text.value.replace(/\s+$/, '');
		if (!text.trim())
			return;
		if (utf8Length(text) > MAX_TEXT_BYTES) {
			showError('That message is too long; please split it up.');
			return;
		}
		showError('');
		clearQuickReplies();
		var m = { cmid: newClientMsgId(), text: text, at: Date.now() };
		outbox.push(m);
		saveOutbox();
		render({ from: 'visitor', text: text, ts: m.at, client_msg_id: m.cmid }, { pending: true });
		if (!welcomed)
			markPending(byKey.get('c:' + m.cmid), 'Waiting for the connection…');
		sendMessage(m);
		el.text.value = '';
		el.text.focus();
	}

	el.compose.addEventListener('submit', function (ev) {
		ev.preventDefault();
		submitText();
	});

	el.text.addEventListener('keydown', function (ev) {
		if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
			ev.preventDefault();
			submitText();
		}
	});

	el.name.value = load('name') || '';
	el.email.value = load('email') || '';

	el.profileForm.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var name = el.name.value.trim(), email = el.email.value.trim();
		if (utf8Length(name) > 200) {
			el.profileStatus.textContent = 'That name is too long.';
			el.name.focus();
			return;
		}
		if (email && (!el.email.checkValidity() || utf8Length(email) > 254 ||
			      !/^[\x21-\x7e]+@[\x21-\x7e]+$/.test(email))) {
			el.profileStatus.textContent = 'That does not look like an e-mail address.';
			el.email.focus();
			return;
		}
		save('name', name);
		save('email', email);
		el.profileStatus.textContent = 'Saved. It goes with your next message.';
		/* name and e-mail travel in hello: say hello again */
		reconnectNow();
		el.text.focus();
	});

	el.restart.addEventListener('click', function () {
		['visitor', 'token', 'outbox', 'name', 'email'].forEach(function (k) { save(k, null); });
		outbox = [];
		failed = [];
		el.name.value = '';
		el.email.value = '';
		el.profileStatus.textContent = '';
		visitor = null;
		conversation = null;
		el.queue.hidden = true;
		clearLog();
		showIds();
		reconnectNow();
		el.text.focus();
	});

	/* Back online or back in the tab: do not wait for the backoff. */
	window.addEventListener('online', function () {
		if (!ws)
			reconnectNow();
	});
	document.addEventListener('visibilitychange', function () {
		if (document.visibilityState === 'visible' && !ws)
			reconnectNow();
	});

	outbox.forEach(function (m) {
		render({ from: 'visitor', text: m.text, ts: m.at, client_msg_id: m.cmid },
		       { pending: true });
	});
	connect();
	el.text.focus();
})();
