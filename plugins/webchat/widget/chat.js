/*
 * omniroute web chat widget: one script tag puts a chat on any page.
 *
 *   <script src="https://HOST/widget/chat.js" data-endpoint="wss://HOST/chat" async></script>
 *
 * Settings (data- attributes of the script tag; docs/channels/webchat.md#the-widget):
 *   data-endpoint   the chat websocket (default: wss:// or ws:// of the script's host, /chat)
 *   data-colour     accent colour, #rgb or #rrggbb (text on it is black or white, whichever
 *                   reads better); data-color is the same
 *   data-greeting   first words shown in an empty chat
 *   data-language   nl or en (default: the page's lang, else en)
 *   data-title      the panel's heading
 *   data-prechat    fields asked before the first message: "name,email"; a * makes one
 *                   required ("name,email*")
 *   data-identity   a signed identity of the site's logged-in user (or OmniChat.identify())
 *   data-open       "true": open at once (the demo page)
 *   data-offline    "off": never show the offline form (the chat waits in the queue)
 *
 * It is the protocol client of plugins/webchat/demo/chat.js (resume token,
 * resend of unacknowledged messages with their client_msg_id, backoff),
 * drawn in a shadow root whose :host rules are !important, so that the
 * page's CSS (even `* { all: unset }`) cannot reach inside or hide it. The
 * shadow root is open: closed would hide nothing from the page's own
 * scripts (they run in the same origin and could patch attachShadow), but
 * would hide the widget from testing and accessibility tools.
 * Text from visitors and agents is only ever set with textContent.
 */
(function () {
	'use strict';

	if (window.OmniChat && window.OmniChat.version)
		return; /* the tag twice on one page: one widget */

	var script = document.currentScript ||
		document.querySelector('script[src*="/widget/chat.js"]');
	var data = (script && script.dataset) || {};

	var PROTOCOL = 'omniroute.chat.v1';
	var KEY = 'omniroute.chat.';        /* localStorage prefix, as the demo page */
	var PING_EVERY_MS = 20000;
	var DEAD_AFTER_MS = 50000;
	var BACKOFF_MIN_MS = 500;
	var BACKOFF_MAX_MS = 30000;
	var MAX_TEXT_BYTES = 12000;
	var TYPING_EVERY_MS = 2000;         /* at most one typing frame per this long (the server's) */
	var TYPING_SHOWN_MS = 6000;         /* an agent's typing shows this long */

	var TEXTS = {
		en: {
			title: 'Chat with us', open: 'Open chat', close: 'Close chat',
			unread1: '1 unread message', unreadN: '{n} unread messages',
			connecting: 'Connecting…', reconnecting: 'Reconnecting…', online: 'Connected',
			lost: 'Connection lost. Reconnecting in {s} s…',
			log: 'Conversation', message: 'Your message', send: 'Send',
			hint: 'Enter sends, Shift+Enter starts a new line.',
			placeholder: 'Type a message…', you: 'You', agent: 'Agent', bot: 'Assistant',
			system: 'Service', sending: 'Sending…', waiting: 'Waiting for the connection…',
			resend: 'Waiting to resend…', slow: 'Slow down: resending in a moment…',
			seen: 'Seen', failed: 'Not delivered: {why}', tooLong: 'That message is too long; please split it up.',
			next: 'You are next in line.', pos: 'You are number {n} in the queue.',
			lessMin: 'Expected wait: less than a minute.', min1: 'Expected wait: about 1 minute.',
			minN: 'Expected wait: about {n} minutes.', typing: '{name} is typing…',
			end: 'End chat', ended: 'The chat has ended. Write again to start a new one.',
			offered: 'An agent is about to join.', joined: '{name} joined the chat.',
			newChat: 'New chat',
			newConv: 'Your earlier conversation could not be continued; this is a new one.',
			prechatIntro: 'Before we start: who are we talking to?', name: 'Name',
			email: 'E-mail', optional: '(optional)', start: 'Start chat',
			badEmail: 'That does not look like an e-mail address.', needed: 'Please fill this in.',
			offlineIntro: 'Nobody is available to chat right now. Leave a message and we will answer by e-mail.',
			offlineSend: 'Send message', offlineSent: 'Thank you. We will answer by e-mail at {email}.',
			offlineTitle: 'Leave a message', attachment: 'Attachment', profileBad:
				'Your name or e-mail address was not accepted.',
			serverSaid: 'The server said: {why}',
			attach: 'Attach a file', fileType: 'Files of this type cannot be sent here.',
			fileTooBig: 'That file is too large (at most {max} KB).'
		},
		nl: {
			title: 'Chat met ons', open: 'Chat openen', close: 'Chat sluiten',
			unread1: '1 ongelezen bericht', unreadN: '{n} ongelezen berichten',
			connecting: 'Verbinden…', reconnecting: 'Opnieuw verbinden…', online: 'Verbonden',
			lost: 'Verbinding verbroken. Opnieuw verbinden over {s} s…',
			log: 'Gesprek', message: 'Uw bericht', send: 'Versturen',
			hint: 'Enter verstuurt, Shift+Enter begint een nieuwe regel.',
			placeholder: 'Typ een bericht…', you: 'U', agent: 'Medewerker', bot: 'Assistent',
			system: 'Klantenservice', sending: 'Versturen…', waiting: 'Wachten op de verbinding…',
			resend: 'Wachten om opnieuw te versturen…', slow: 'Even rustig aan: zo meteen opnieuw…',
			seen: 'Gelezen', failed: 'Niet afgeleverd: {why}', tooLong: 'Dat bericht is te lang; splits het alstublieft op.',
			next: 'U bent de volgende.', pos: 'U bent nummer {n} in de wachtrij.',
			lessMin: 'Verwachte wachttijd: minder dan een minuut.', min1: 'Verwachte wachttijd: ongeveer 1 minuut.',
			minN: 'Verwachte wachttijd: ongeveer {n} minuten.', typing: '{name} typt…',
			end: 'Chat beëindigen', ended: 'De chat is beëindigd. Schrijf opnieuw voor een nieuw gesprek.',
			offered: 'Een medewerker komt er zo bij.', joined: '{name} neemt deel aan de chat.',
			newChat: 'Nieuw gesprek',
			newConv: 'Uw eerdere gesprek kon niet worden voortgezet; dit is een nieuw gesprek.',
			prechatIntro: 'Voordat we beginnen: met wie spreken we?', name: 'Naam',
			email: 'E-mail', optional: '(optioneel)', start: 'Chat starten',
			badEmail: 'Dat lijkt geen e-mailadres.', needed: 'Vul dit alstublieft in.',
			offlineIntro: 'Er is nu niemand beschikbaar om te chatten. Laat een bericht achter; we antwoorden per e-mail.',
			offlineSend: 'Bericht versturen', offlineSent: 'Dank u. We antwoorden per e-mail aan {email}.',
			offlineTitle: 'Laat een bericht achter', attachment: 'Bijlage', profileBad:
				'Uw naam of e-mailadres werd niet geaccepteerd.',
			serverSaid: 'De server meldt: {why}',
			attach: 'Bestand bijvoegen', fileType: 'Dit soort bestand kan hier niet worden verstuurd.',
			fileTooBig: 'Dat bestand is te groot (hoogstens {max} KB).'
		}
	};

	/* ---- settings ---- */

	function endpoint() {
		if (data.endpoint && /^wss?:\/\//i.test(data.endpoint))
			return data.endpoint;
		var base = script && script.src ? new URL(script.src, location.href) : location;
		return (base.protocol === 'https:' ? 'wss://' : 'ws://') + base.host + '/chat';
	}
	var WS_URL = endpoint();
	/* links to attachments (/files/...) are on the chat's host */
	var HTTP_BASE = WS_URL.replace(/^ws/i, 'http');

	var lang = (data.language || document.documentElement.lang || 'en').slice(0, 2).toLowerCase();
	var T = TEXTS[lang] || TEXTS.en;
	function t(key, vars) {
		return T[key].replace(/\{(\w+)\}/g, function (_, k) { return vars && k in vars ? vars[k] : ''; });
	}

	function prechatFields() {
		var out = [];
		String(data.prechat || '').split(',').forEach(function (f) {
			f = f.trim().toLowerCase();
			var req = /\*$/.test(f);
			f = f.replace(/\*$/, '');
			if ((f === 'name' || f === 'email') && !out.some(function (o) { return o.name === f; }))
				out.push({ name: f, required: req });
		});
		return out;
	}

	/* the accent colour and the text colour that reads best on it */
	function luminance(hex) {
		var c = [1, 3, 5].map(function (i) {
			var v = parseInt(hex.substr(i, 2), 16) / 255;
			return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
		});
		return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
	}
	function accent() {
		var c = String(data.colour || data.color || '').trim().toLowerCase();
		if (/^#[0-9a-f]{3}$/.test(c))
			c = '#' + c[1] + c[1] + c[2] + c[2] + c[3] + c[3];
		if (!/^#[0-9a-f]{6}$/.test(c))
			c = '#1d4ed8';
		var l = luminance(c);
		var white = 1.05 / (l + 0.05), black = (l + 0.05) / 0.05;
		return { bg: c, fg: white >= black ? '#ffffff' : '#000000' };
	}

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

	var outbox = [];
	try { outbox = JSON.parse(load('outbox') || '[]'); } catch (e) { outbox = []; }
	if (!Array.isArray(outbox))
		outbox = [];
	/* files stay in memory only (too large for localStorage): one not yet
	 * acknowledged is sent again after a reconnect, not after a reload */
	function saveOutbox() {
		var keep = outbox.filter(function (m) { return !m.file; });
		save('outbox', keep.length ? JSON.stringify(keep) : null);
	}
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

	function newClientMsgId() {
		var bytes = new Uint8Array(12), s = 'w';
		window.crypto.getRandomValues(bytes);
		for (var i = 0; i < bytes.length; i++)
			s += (bytes[i] & 31).toString(32);
		return s + Date.now().toString(36);
	}
	function utf8Length(s) { return new TextEncoder().encode(s).length; }
	function clockTime(ms) {
		return new Date(typeof ms === 'number' ? ms : Date.now())
			.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
	}
	function emailOk(s) { return /^[\x21-\x7e]+@[\x21-\x7e]+$/.test(s) && utf8Length(s) <= 254; }

	/* ---- the DOM, in a shadow root ---- */

	function node(tag, attrs, text) {
		var n = document.createElement(tag);
		Object.keys(attrs || {}).forEach(function (k) {
			if (k === 'className')
				n.className = attrs[k];
			else
				n.setAttribute(k, attrs[k]);
		});
		if (text !== undefined)
			n.textContent = text;
		return n;
	}

	var CSS = [
		':host { all: initial !important; display: block !important; position: fixed !important;',
		'  inset: auto 20px 20px auto !important; z-index: 2147483000 !important; visibility: visible !important;',
		'  opacity: 1 !important; transform: none !important; filter: none !important; clip-path: none !important;',
		'  pointer-events: auto !important; width: auto !important; height: auto !important; margin: 0 !important;',
		'  contain: layout style !important; }',
		'[hidden] { display: none !important; }',
		'* { box-sizing: border-box; }',
		'.oc { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1a1a1a;',
		'  display: flex; flex-direction: column; align-items: flex-end; gap: 12px; text-align: left;',
		'  letter-spacing: normal; word-spacing: normal; text-transform: none; direction: ltr; }',
		'button, input, textarea { font: inherit; color: inherit; letter-spacing: inherit; }',
		'button { cursor: pointer; }',
		':focus { outline: none; }',
		':focus-visible { outline: 3px solid #1a1a1a; outline-offset: 2px; box-shadow: 0 0 0 5px #ffffff; }',
		'.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;',
		'  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }',
		'.launcher { order: 2; position: relative; width: 60px; height: 60px; border-radius: 50%; border: 0;',
		'  background: var(--oc-accent); color: var(--oc-on-accent); box-shadow: 0 4px 14px rgba(0,0,0,.3);',
		'  display: flex; align-items: center; justify-content: center; padding: 0; }',
		'.launcher .icon { display: block; width: 26px; height: 20px; border-radius: 6px;',
		'  border: 3px solid currentColor; position: relative; }',
		'.launcher .icon::after { content: ""; position: absolute; left: 3px; bottom: -9px; border: 5px solid transparent;',
		'  border-top-color: currentColor; border-left-color: currentColor; }',
		'.open .launcher .icon { border-radius: 2px; width: 20px; height: 3px; border: 0; background: currentColor;',
		'  transform: rotate(45deg); }',
		'.open .launcher .icon::after { content: ""; left: 0; bottom: 0; width: 20px; height: 3px; border: 0;',
		'  background: currentColor; transform: rotate(90deg); }',
		'.badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;',
		'  border-radius: 11px; background: #b91c1c; color: #ffffff; font-size: 12px; font-weight: 700;',
		'  line-height: 22px; text-align: center; border: 2px solid #ffffff; }',
		'.panel { order: 1; width: min(380px, calc(100vw - 40px)); height: min(600px, calc(100vh - 112px));',
		'  background: #ffffff; border: 1px solid #c4c8cf; border-radius: 12px; box-shadow: 0 8px 30px rgba(0,0,0,.25);',
		'  display: flex; flex-direction: column; overflow: hidden; }',
		'.head { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 12px 14px;',
		'  background: var(--oc-accent); color: var(--oc-on-accent); }',
		'.head h2 { margin: 0; font-size: 17px; font-weight: 700; }',
		'.close { background: transparent; border: 0; color: inherit; font-size: 26px; line-height: 1; width: 36px;',
		'  height: 36px; border-radius: 6px; }',
		'.conn { margin: 0; padding: 4px 14px; font-size: 13px; color: #3d3d3d; background: #f6f7f9;',
		'  border-bottom: 1px solid #e2e4e8; }',
		'.conn[data-state="offline"] { color: #8a1c06; }',
		'.queue { margin: 0; padding: 6px 14px; font-size: 14px; background: #fff8e1; color: #3d2e00; }',
		'.log-wrap { flex: 1 1 auto; overflow-y: auto; padding: 12px 14px; }',
		'.greeting { margin: 0 0 10px; padding: 10px 12px; background: #eef1f5; border-radius: 10px; }',
		'.log { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }',
		'.msg { max-width: 85%; padding: 8px 11px; border-radius: 12px; background: #eef1f5; color: #1a1a1a;',
		'  align-self: flex-start; overflow-wrap: anywhere; }',
		'.msg.from-visitor { align-self: flex-end; background: var(--oc-accent); color: var(--oc-on-accent); }',
		'.msg.from-system { align-self: center; background: #ffffff; border: 1px solid #c4c8cf; font-size: 14px; }',
		'.msg p { margin: 0; }',
		'.msg .meta { font-size: 12px; margin-bottom: 2px; }',
		'.msg .who { font-weight: 700; }',
		'.msg .text { white-space: pre-wrap; }',
		'.msg .state { font-size: 12px; font-style: italic; }',
		'.msg .state:empty { display: none; }',
		'.msg.failed { background: #fde8e8; color: #7f1010; }',
		'.msg a { color: inherit; text-decoration: underline; }',
		'.msg.from-agent a, .msg.from-bot a { color: #1741a6; }',
		'.files { margin: 4px 0 0; padding: 0 0 0 18px; font-size: 14px; }',
		'.quick { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }',
		'.quick button { background: #ffffff; color: #1a1a1a; border: 1px solid #6b7280; border-radius: 14px;',
		'  padding: 4px 10px; }',
		'.typing { margin: 0; padding: 2px 14px; font-size: 13px; font-style: italic; color: #3d3d3d; }',
		'.error { margin: 0; padding: 6px 14px; background: #fff1f1; color: #a40e26; font-size: 14px; }',
		'.notice { margin: 10px 14px; padding: 10px 12px; background: #ecfdf3; color: #14532d; border-radius: 8px; }',
		'.compose { display: flex; flex-wrap: wrap; gap: 8px; padding: 10px 14px; border-top: 1px solid #e2e4e8; }',
		'.compose textarea { flex: 1 1 200px; min-height: 44px; max-height: 140px; resize: vertical; padding: 8px 10px;',
		'  border: 1px solid #6b7280; border-radius: 8px; background: #ffffff; color: #1a1a1a; }',
		'.compose button, .form button[type="submit"] { background: var(--oc-accent); color: var(--oc-on-accent);',
		'  border: 0; border-radius: 8px; padding: 8px 16px; font-weight: 700; min-height: 44px; }',
		'.hint { flex-basis: 100%; margin: 0; font-size: 12px; color: #4b5058; }',
		'.attach { width: 44px; min-height: 44px; border: 1px solid #6b7280; border-radius: 8px; background: #ffffff;',
		'  color: #1a1a1a; display: flex; align-items: center; justify-content: center; padding: 0; }',
		'.attach .clip { display: block; width: 10px; height: 18px; border: 2px solid currentColor; border-radius: 5px; }',
		'.form { padding: 12px 14px; overflow-y: auto; }',
		'.form h3 { margin: 0 0 6px; font-size: 16px; }',
		'.form .intro { margin: 0 0 10px; }',
		'.field { margin-bottom: 10px; display: flex; flex-direction: column; gap: 3px; }',
		'.field label { font-weight: 600; font-size: 14px; }',
		'.field input, .field textarea { padding: 8px 10px; border: 1px solid #6b7280; border-radius: 8px;',
		'  background: #ffffff; color: #1a1a1a; width: 100%; }',
		'.field-error { margin: 0; font-size: 13px; color: #a40e26; }',
		'.field-error:empty { display: none; }',
		'.foot { padding: 4px 14px 8px; text-align: right; }',
		'.link { background: none; border: 0; padding: 4px; color: #1a1a1a; text-decoration: underline; font-size: 13px; }',
		'@media (prefers-reduced-motion: no-preference) { .panel { animation: oc-in .15s ease-out; } }',
		'@keyframes oc-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }'
	].join('\n');
	var host = document.createElement('omniroute-chat');
	var root = host.attachShadow({ mode: 'open' });
	var colours = accent();
	if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
		/* CSSOM, not a <style> element: allowed by a page's strict CSP */
		var sheet = new CSSStyleSheet();
		sheet.replaceSync(CSS);
		root.adoptedStyleSheets = [sheet];
	} else {
		root.appendChild(node('style', {}, CSS));
	}
	host.style.setProperty('--oc-accent', colours.bg, 'important');
	host.style.setProperty('--oc-on-accent', colours.fg, 'important');

	var wrap = node('div', { className: 'oc', lang: lang });
	var launcher = node('button', { type: 'button', className: 'launcher', id: 'launcher',
		'aria-expanded': 'false', 'aria-controls': 'panel', 'aria-label': T.open });
	var launcherIcon = node('span', { className: 'icon', 'aria-hidden': 'true' });
	var badge = node('span', { className: 'badge', id: 'badge', 'aria-hidden': 'true' });
	badge.hidden = true;
	launcher.appendChild(launcherIcon);
	launcher.appendChild(badge);

	var panel = node('section', { className: 'panel', id: 'panel', role: 'dialog',
		'aria-modal': 'false', 'aria-labelledby': 'oc-title' });
	panel.hidden = true;
	var head = node('header', { className: 'head' });
	head.appendChild(node('h2', { id: 'oc-title' }, data.title || T.title));
	var closeBtn = node('button', { type: 'button', className: 'close', id: 'close',
		'aria-label': T.close }, '×');
	head.appendChild(closeBtn);
	panel.appendChild(head);

	var el = {
		conn: node('p', { id: 'conn', className: 'conn', role: 'status', 'data-state': 'idle' }),
		queue: node('p', { id: 'queue', className: 'queue', role: 'status' }),
		logWrap: node('div', { className: 'log-wrap', role: 'log', 'aria-live': 'polite',
			'aria-relevant': 'additions', 'aria-label': T.log, tabindex: '0' }),
		greeting: node('p', { id: 'greeting', className: 'greeting' }, data.greeting || ''),
		log: node('ol', { id: 'log', className: 'log' }),
		typing: node('p', { id: 'typing', className: 'typing', 'aria-live': 'polite',
				    'data-testid': 'typing' }),
		error: node('p', { id: 'error', className: 'error', role: 'alert' }),
		compose: node('form', { id: 'compose', className: 'compose' }),
		text: node('textarea', { id: 'text', name: 'text', rows: '2', maxlength: '4000',
			autocomplete: 'off', placeholder: T.placeholder, 'aria-describedby': 'compose-hint' }),
		send: node('button', { type: 'submit', id: 'send' }, T.send),
		attach: node('button', { type: 'button', id: 'attach', className: 'attach',
			'aria-label': T.attach, title: T.attach }),
		file: node('input', { type: 'file', id: 'file', tabindex: '-1', 'aria-hidden': 'true' }),
		end: node('button', { type: 'button', id: 'end', className: 'link' }, T.end),
		prechat: node('form', { id: 'prechat', className: 'form', novalidate: '' }),
		offline: node('form', { id: 'offline', className: 'form', novalidate: '' }),
		offlineDone: node('p', { id: 'offline-done', className: 'notice', role: 'status' })
	};
	el.queue.hidden = true;
	el.greeting.hidden = !data.greeting;
	el.typing.hidden = true;
	el.error.hidden = true;
	el.offline.hidden = true;
	el.offlineDone.hidden = true;
	el.prechat.hidden = true;
	el.logWrap.appendChild(el.greeting);
	el.logWrap.appendChild(el.log);
	el.compose.appendChild(node('label', { for: 'text', className: 'sr-only' }, T.message));
	el.compose.appendChild(el.text);
	el.attach.appendChild(node('span', { className: 'clip', 'aria-hidden': 'true' }));
	el.attach.hidden = true;
	el.file.hidden = true;
	el.compose.appendChild(el.attach);
	el.compose.appendChild(el.file);
	el.compose.appendChild(el.send);
	el.compose.appendChild(node('p', { id: 'compose-hint', className: 'hint' }, T.hint));

	/* a labelled field of a form: returns the input */
	function field(form, id, label, type, required, autocomplete, multiline) {
		var f = node('div', { className: 'field' });
		var l = node('label', { for: id }, label + (required ? '' : ' ' + T.optional));
		var input = node(multiline ? 'textarea' : 'input', { id: id, name: id,
			autocomplete: autocomplete, 'aria-describedby': id + '-err' });
		if (!multiline)
			input.type = type;
		else
			input.rows = 4;
		if (required)
			input.setAttribute('aria-required', 'true');
		var err = node('p', { id: id + '-err', className: 'field-error' });
		f.appendChild(l);
		f.appendChild(input);
		f.appendChild(err);
		form.appendChild(f);
		return input;
	}

	var pre = {};
	el.prechat.appendChild(node('p', { className: 'intro' }, T.prechatIntro));
	prechatFields().forEach(function (f) {
		pre[f.name] = field(el.prechat, 'pre-' + f.name, T[f.name],
			f.name === 'email' ? 'email' : 'text', f.required, f.name);
		pre[f.name].dataset.required = f.required ? '1' : '';
	});
	el.prechat.appendChild(node('button', { type: 'submit' }, T.start));

	el.offline.appendChild(node('h3', { id: 'offline-title' }, T.offlineTitle));
	el.offline.appendChild(node('p', { className: 'intro', id: 'offline-intro' }, T.offlineIntro));
	el.offline.setAttribute('aria-labelledby', 'offline-title');
	el.offline.setAttribute('aria-describedby', 'offline-intro');
	var off = {
		name: field(el.offline, 'off-name', T.name, 'text', false, 'name'),
		email: field(el.offline, 'off-email', T.email, 'email', true, 'email'),
		text: field(el.offline, 'off-text', T.message, 'text', true, 'off', true)
	};
	el.offline.appendChild(node('button', { type: 'submit', id: 'off-send' }, T.offlineSend));

	var foot = node('footer', { className: 'foot' });
	foot.appendChild(el.end);
	[el.conn, el.queue, el.prechat, el.logWrap, el.typing, el.error, el.offlineDone, el.offline,
	 el.compose, foot].forEach(function (n) { panel.appendChild(n); });
	wrap.appendChild(panel);
	wrap.appendChild(launcher);
	root.appendChild(wrap);

	/* ---- state ---- */

	var ws = null, welcomed = false, attempt = 0, reconnectTimer = null, pingTimer = null;
	var lastHeard = 0, conversation = null, lastSent = null, unread = 0, started = false;
	var identity = data.identity || null, identified = false;
	var retryTimers = new Map(), retryCount = new Map(), failed = [];
	var byKey = new Map(); /* "m:<id>" or "c:<client_msg_id>" -> <li> */
	var lastTyping = 0, typingTimer = null;
	var agentsThere = true, offlinePending = null, upload = null;
	/* an agent ended the chat (the 'ended' frame): the visitor's next
	 * message starts a new conversation, and the log says so */
	var chatEnded = false;
	var offlineAllowed = String(data.offline || '').toLowerCase() !== 'off';

	function isOpen() { return !panel.hidden; }

	/* "seen": an agent's message the visitor has in view (the chat open,
	 * the page visible) is told to the server once (docs/channels/webchat.md) */
	var seenWait = [], seenSent = new Set();

	function tellSeen() {
		if (!welcomed || !isOpen() || document.visibilityState !== 'visible')
			return;
		seenWait.forEach(function (id) {
			if (!seenSent.has(id)) {
				seenSent.add(id);
				send({ type: 'seen', id: id });
			}
		});
		seenWait = [];
	}

	function setConn(state, text) {
		el.conn.dataset.state = state;
		el.conn.textContent = text;
	}
	function showError(text) {
		el.error.textContent = text || '';
		el.error.hidden = !text;
	}

	function setUnread(n) {
		unread = n;
		badge.textContent = n > 99 ? '99+' : String(n);
		badge.hidden = n === 0;
		launcher.setAttribute('aria-label', n === 0 ? T.open :
			T.open + ', ' + (n === 1 ? T.unread1 : t('unreadN', { n: n })));
	}

	/* ---- the message list ---- */

	function nearBottom() {
		return el.logWrap.scrollHeight - el.logWrap.scrollTop - el.logWrap.clientHeight < 80;
	}

	function authorLabel(m, from) {
		if (from === 'visitor')
			return T.you;
		return typeof m.name === 'string' && m.name ? m.name : T[from];
	}

	function safeUrl(u) {
		try {
			var url = new URL(u, HTTP_BASE);
			return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
		} catch (e) {
			return null;
		}
	}

	function addAttachments(li, list) {
		var ul = node('ul', { className: 'files' });
		list.forEach(function (a) {
			if (!a || typeof a !== 'object')
				return;
			var name = typeof a.name === 'string' && a.name ? a.name : T.attachment;
			var size = typeof a.size === 'number' ? ' (' + Math.max(1, Math.round(a.size / 1024)) + ' KB)' : '';
			var item = node('li');
			var href = typeof a.url === 'string' ? safeUrl(a.url) : null;
			if (href) {
				var link = node('a', { href: href, target: '_blank', rel: 'noopener noreferrer' }, name);
				item.appendChild(link);
				item.appendChild(document.createTextNode(size));
			} else {
				item.textContent = name + size;
			}
			ul.appendChild(item);
		});
		if (ul.childNodes.length)
			li.appendChild(ul);
	}

	/* m: {from, text, ts?, name?, id?, client_msg_id?, attachments?} */
	function render(m, opts) {
		var from = ['visitor', 'agent', 'bot', 'system'].indexOf(m.from) >= 0 ? m.from : 'agent';
		var stick = nearBottom();
		var li = node('li', { className: 'msg from-' + from });
		if (typeof m.kind === 'string') /* what happened: joined, ended, new */
			li.className += ' event event-' + m.kind;
		var meta = node('p', { className: 'meta' });
		meta.appendChild(node('span', { className: 'who' }, authorLabel(m, from)));
		meta.appendChild(document.createTextNode(' '));
		var ts = typeof m.ts === 'number' ? m.ts : Date.now();
		var when = node('time', { datetime: new Date(ts).toISOString() }, clockTime(ts));
		meta.appendChild(when);
		li.appendChild(meta);
		if (typeof m.text === 'string' && m.text)
			li.appendChild(node('p', { className: 'text' }, m.text));
		if (Array.isArray(m.attachments))
			addAttachments(li, m.attachments);
		li.appendChild(node('p', { className: 'state' }));
		if (opts && opts.pending)
			markPending(li, T.sending);
		el.log.appendChild(li);
		if (m.id)
			byKey.set('m:' + m.id, li);
		if (m.client_msg_id)
			byKey.set('c:' + m.client_msg_id, li);
		if (stick || from === 'visitor')
			el.logWrap.scrollTop = el.logWrap.scrollHeight;
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
	}

	/* ---- what the panel shows: pre-chat form, offline form or the chat ---- */

	function needsPrechat() {
		if (identified || identity || load('prechat_done') || conversation || outbox.length)
			return false;
		return Object.keys(pre).length > 0;
	}

	function showOffline() {
		return offlineAllowed && !agentsThere && !conversation && !outbox.length &&
			!el.log.querySelector('li.msg');
	}

	var availTimer = null;
	var AVAIL_AGAIN_MS = 30000;         /* the offline form asks again this often */

	function layout() {
		var p = needsPrechat(), o = !p && showOffline();
		/* while the offline form shows, ask now and then whether somebody came */
		if (o && !availTimer)
			availTimer = setInterval(function () { send({ type: 'availability' }); }, AVAIL_AGAIN_MS);
		else if (!o && availTimer) {
			clearInterval(availTimer);
			availTimer = null;
		}
		el.prechat.hidden = !p;
		el.offline.hidden = !o || !!offlinePending;
		el.compose.hidden = p || o;
		el.logWrap.hidden = p;
		el.end.hidden = p || o || !conversation;
	}

	function focusFirst() {
		if (!el.prechat.hidden)
			(el.prechat.querySelector('input') || el.prechat).focus();
		else if (!el.offline.hidden)
			(off.email.value ? off.text : off.email).focus();
		else
			el.text.focus();
	}

	function openPanel(focus) {
		panel.hidden = false;
		launcher.setAttribute('aria-expanded', 'true');
		wrap.classList.add('open');
		setUnread(0);
		layout();
		start();
		tellSeen();
		if (focus !== false)
			focusFirst();
		el.logWrap.scrollTop = el.logWrap.scrollHeight;
	}

	function closePanel() {
		panel.hidden = true;
		launcher.setAttribute('aria-expanded', 'false');
		wrap.classList.remove('open');
		launcher.focus();
	}

	/* ---- connection ---- */

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
		var v = load('visitor'), tok = load('token'), p = profile();
		if (v && tok) {
			hello.visitor = v;
			hello.token = tok;
		}
		if (identity)
			hello.identity = identity;
		if (withProfile && p.name)
			hello.name = p.name;
		if (withProfile && p.email)
			hello.email = p.email;
		send(hello);
	}

	function sendMessage(m) {
		var tm = retryTimers.get(m.cmid);
		if (tm) {
			clearTimeout(tm);
			retryTimers.delete(m.cmid);
		}
		if (!welcomed)
			return; /* sent after the next welcome */
		var li = byKey.get('c:' + m.cmid);
		if (li)
			markPending(li, T.sending);
		var frame = { type: 'message', text: m.text, client_msg_id: m.cmid };
		if (m.file)
			frame.file = { name: m.file.name, type: m.file.type, data: m.file.data };
		if (send(frame))
			lastSent = m.cmid;
	}

	function retryLater(cmid, ms, why) {
		var m = outboxFind(cmid), li = byKey.get('c:' + cmid);
		if (!m) {
			if (offlinePending && offlinePending.client_msg_id === cmid)
				setTimeout(sendOffline, ms);
			return;
		}
		if (li)
			markPending(li, why);
		clearTimeout(retryTimers.get(cmid));
		retryTimers.set(cmid, setTimeout(function () {
			retryTimers.delete(cmid);
			sendMessage(m);
		}, ms));
	}

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

	function connect() {
		clearTimeout(reconnectTimer);
		reconnectTimer = null;
		welcomed = false;
		setConn('connecting', attempt ? T.reconnecting : T.connecting);
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
				fail(lastSent, t('failed', { why: T.tooLong }));
				lastSent = null;
			}
			scheduleReconnect();
		};
	}

	function scheduleReconnect() {
		var base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
		var delay = Math.round(base / 2 + Math.random() * base / 2);
		attempt++;
		setConn('offline', t('lost', { s: Math.ceil(delay / 1000) }));
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
			var old = ws;
			ws = null;
			clearInterval(pingTimer);
			old.close();
			scheduleReconnect();
			return;
		}
		send({ type: 'ping' });
	}

	function start() {
		if (started)
			return;
		started = true;
		connect();
	}

	/* ---- protocol ---- */

	function onWelcome(msg) {
		var previous = load('visitor');
		welcomed = true;
		attempt = 0;
		conversation = msg.conversation || null;
		identified = msg.identified === true;
		upload = msg.upload && typeof msg.upload.max === 'number' && Array.isArray(msg.upload.types)
			? msg.upload : null;
		el.attach.hidden = !upload;
		if (upload)
			el.file.setAttribute('accept', upload.types.join(','));
		save('visitor', msg.visitor);
		save('token', msg.token);
		setConn('online', T.online);
		showError('');

		el.logWrap.setAttribute('aria-busy', 'true');
		clearLog();
		if (previous && previous !== msg.visitor && !identity)
			render({ from: 'system', text: T.newConv });
		var history = Array.isArray(msg.history) ? msg.history : [];
		history.forEach(function (h) {
			if (h.client_msg_id && outboxFind(h.client_msg_id))
				outboxDrop(h.client_msg_id); /* stored: its ack was lost */
			render(h);
		});
		failed.forEach(function (m) {
			markFailed(render({ from: 'visitor', text: m.text, ts: m.at, client_msg_id: m.cmid }), m.why);
		});
		outbox.forEach(function (m) {
			render({ from: 'visitor', text: m.text, ts: m.at, client_msg_id: m.cmid,
				attachments: m.file ? [{ name: m.file.name, size: m.file.size }] : null }, { pending: true });
			sendMessage(m);
		});
		if (offlinePending)
			sendOffline();
		el.logWrap.removeAttribute('aria-busy');
		el.logWrap.scrollTop = el.logWrap.scrollHeight;
		layout();
	}

	function onAck(msg) {
		if (offlinePending && msg.client_msg_id === offlinePending.client_msg_id) {
			el.offlineDone.textContent = t('offlineSent', { email: offlinePending.email });
			el.offlineDone.hidden = false;
			el.offline.hidden = true;
			offlinePending = 'sent';
			el.offlineDone.setAttribute('tabindex', '-1');
			el.offlineDone.focus();
			return;
		}
		var li = byKey.get('c:' + msg.client_msg_id);
		outboxDrop(msg.client_msg_id);
		retryCount.delete(msg.client_msg_id);
		if (msg.conversation)
			conversation = msg.conversation;
		if (li) {
			markSent(li);
			if (msg.message)
				byKey.set('m:' + msg.message, li);
		}
		layout();
	}

	function onServerMessage(msg) {
		if (msg.id && byKey.has('m:' + msg.id))
			return; /* already shown (history after a reconnect) */
		hideTyping();
		var li = render({ id: msg.id, from: msg.from, text: msg.text, name: msg.name,
			attachments: msg.attachments });
		if (Array.isArray(msg.buttons))
			addQuickReplies(li, msg.buttons);
		if (msg.from === 'agent') {
			el.queue.hidden = true;
			if (typeof msg.id === 'string' && msg.id) {
				seenWait.push(msg.id);
				tellSeen();
			}
		}
		if (!isOpen())
			setUnread(unread + 1);
		layout();
	}

	function onStatus(msg) {
		var parts = [];
		if (typeof msg.position === 'number')
			parts.push(msg.position <= 1 ? T.next : t('pos', { n: msg.position }));
		if (typeof msg.eta_s === 'number') {
			var min = Math.round(msg.eta_s / 60);
			parts.push(msg.eta_s < 60 ? T.lessMin : min === 1 ? T.min1 : t('minN', { n: min }));
		}
		el.queue.textContent = parts.join(' ');
		el.queue.hidden = parts.length === 0;
	}

	function hideTyping() {
		clearTimeout(typingTimer);
		el.typing.hidden = true;
		el.typing.textContent = '';
	}

	function onTyping(msg) {
		if (msg.from !== 'agent' && msg.from !== 'bot')
			return;
		el.typing.textContent = t('typing', { name: typeof msg.name === 'string' && msg.name ? msg.name : T.agent });
		el.typing.hidden = false;
		clearTimeout(typingTimer);
		typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
	}

	function onSeen(msg) {
		var li = typeof msg.id === 'string' ? byKey.get('m:' + msg.id) : null;
		if (!li || !li.classList.contains('from-visitor'))
			return;
		var old = el.log.querySelectorAll('li.seen');
		for (var i = 0; i < old.length; i++) {
			old[i].classList.remove('seen');
			old[i].querySelector('.state').textContent = '';
		}
		li.classList.add('seen');
		li.querySelector('.state').textContent = T.seen;
	}

	function onAvailability(msg) {
		agentsThere = msg.agents !== false;
		layout();
		if (isOpen() && !el.offline.hidden && !panel.contains(root.activeElement))
			focusFirst();
	}

	function onError(msg) {
		var cmid = typeof msg.client_msg_id === 'string' ? msg.client_msg_id : null;
		var text = typeof msg.message === 'string' ? msg.message : 'error';
		switch (msg.code) {
		case 'retry': {
			var n = (retryCount.get(cmid) || 0) + 1;
			retryCount.set(cmid, n);
			retryLater(cmid, Math.min(30000, 1000 * Math.pow(2, n)), T.resend);
			return;
		}
		case 'rate_limited':
			if (cmid)
				retryLater(cmid, 5000, T.slow);
			else if (!welcomed)
				setTimeout(function () { sendHello(true); }, 3000);
			return;
		case 'busy':
			setTimeout(function () { sendHello(true); }, 5000);
			return;
		case 'hello_first':
		case 'already_hello':
		case 'unknown_type': /* a server without typing or seen */
			return;
		case 'bad_identity':
			/* the chat goes on without it, as an anonymous visitor */
			if (window.console)
				window.console.warn('omniroute chat: ' + text);
			identity = null;
			return;
		case 'rejected':
		case 'bad_text':
		case 'bad_file':
		case 'file_type':
		case 'file_too_large':
			if (offlinePending && offlinePending.client_msg_id === cmid) {
				offlinePending = null;
				layout();
				showError(t('failed', { why: text }));
			} else if (cmid) {
				fail(cmid, t('failed', { why: text }));
			} else {
				showError(t('failed', { why: text }));
			}
			return;
		case 'bad_profile':
			if (offlinePending && offlinePending.client_msg_id === cmid) {
				offlinePending = null;
				layout();
				fieldError(off.email, T.badEmail);
				return;
			}
			showError(T.profileBad);
			sendHello(false);
			return;
		default:
			showError(t('serverSaid', { why: text }));
		}
	}

	function handle(msg) {
		switch (msg.type) {
		case 'welcome': onWelcome(msg); break;
		case 'ack': onAck(msg); break;
		case 'message': onServerMessage(msg); break;
		case 'status': onStatus(msg); break;
		case 'typing': onTyping(msg); break;
		case 'seen': onSeen(msg); break;
		case 'availability': onAvailability(msg); break;
		case 'offered': /* an agent has the offer: no position any more */
			el.queue.textContent = T.offered;
			el.queue.hidden = false;
			break;
		case 'joined':
			el.queue.hidden = true;
			chatEnded = false;
			render({ from: 'system', kind: 'joined', text: t('joined', {
				name: typeof msg.name === 'string' && msg.name ? msg.name : T.agent }) });
			layout();
			break;
		case 'ended':
			el.queue.hidden = true;
			chatEnded = true;
			render({ from: 'system', kind: 'ended', text: T.ended });
			layout();
			break;
		case 'left':
			conversation = null;
			render({ from: 'system', text: T.ended });
			el.queue.hidden = true;
			layout();
			break;
		case 'error': onError(msg); break;
		default: break; /* newer servers may send more; ignore */
		}
	}

	/* ---- the visitor's input ---- */

	function clearQuickReplies() {
		var old = el.log.querySelectorAll('.quick');
		for (var i = 0; i < old.length; i++)
			old[i].parentNode.removeChild(old[i]);
	}

	function addQuickReplies(li, buttons) {
		clearQuickReplies();
		var box = node('div', { className: 'quick' });
		buttons.forEach(function (b) {
			if (typeof b !== 'string' || !b)
				return;
			var btn = node('button', { type: 'button' }, b);
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
			showError(T.tooLong);
			return;
		}
		showError('');
		clearQuickReplies();
		lastTyping = 0; /* the next words typed are told at once */
		if (chatEnded) {
			chatEnded = false;
			render({ from: 'system', kind: 'new', text: T.newChat });
		}
		var m = { cmid: newClientMsgId(), text: text, at: Date.now() };
		outbox.push(m);
		saveOutbox();
		render({ from: 'visitor', text: text, ts: m.at, client_msg_id: m.cmid }, { pending: true });
		if (!welcomed)
			markPending(byKey.get('c:' + m.cmid), T.waiting);
		sendMessage(m);
		el.text.value = '';
		el.text.focus();
		layout();
	}

	/* a file chosen: checked against what the server takes, then sent with
	 * the text typed so far */
	function sendFile(f) {
		if (!upload || !f)
			return;
		if (upload.types.indexOf(f.type) < 0) {
			showError(T.fileType);
			return;
		}
		if (f.size > upload.max || f.size === 0) {
			showError(t('fileTooBig', { max: Math.floor(upload.max / 1024) }));
			return;
		}
		var reader = new FileReader();
		reader.onload = function () {
			var url = String(reader.result), data = url.slice(url.indexOf(',') + 1);
			var text = el.text.value.replace(/\s+$/, '');
			var m = { cmid: newClientMsgId(), text: text, at: Date.now(),
				file: { name: f.name, type: f.type, size: f.size, data: data } };
			showError('');
			clearQuickReplies();
			outbox.push(m);
			render({ from: 'visitor', text: text, ts: m.at, client_msg_id: m.cmid,
				attachments: [{ name: f.name, size: f.size }] }, { pending: true });
			sendMessage(m);
			el.text.value = '';
			el.text.focus();
			layout();
		};
		reader.readAsDataURL(f);
	}

	function fieldError(input, text) {
		var err = root.getElementById(input.id + '-err');
		err.textContent = text || '';
		if (text) {
			input.setAttribute('aria-invalid', 'true');
			input.focus();
		} else {
			input.removeAttribute('aria-invalid');
		}
		return !text;
	}

	function checkField(input, kind, required) {
		var v = input.value.trim();
		if (required && !v)
			return fieldError(input, T.needed);
		if (kind === 'email' && v && !emailOk(v))
			return fieldError(input, T.badEmail);
		if (kind === 'name' && utf8Length(v) > 200)
			return fieldError(input, T.needed);
		return fieldError(input, '');
	}

	function sendOffline() {
		if (offlinePending && offlinePending !== 'sent')
			send(offlinePending);
	}

	launcher.addEventListener('click', function () {
		if (isOpen())
			closePanel();
		else
			openPanel();
	});
	closeBtn.addEventListener('click', closePanel);
	panel.addEventListener('keydown', function (ev) {
		if (ev.key === 'Escape') {
			ev.stopPropagation();
			closePanel();
		}
	});

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
	el.text.addEventListener('input', function () {
		var now = Date.now();
		/* only in a conversation (before the first message nobody is
		 * there to tell, and the server's throttle would swallow the
		 * next one) */
		if (welcomed && conversation && !chatEnded && el.text.value &&
		    now - lastTyping > TYPING_EVERY_MS) {
			lastTyping = now;
			send({ type: 'typing' });
		}
	});

	el.attach.addEventListener('click', function () { el.file.click(); });
	el.file.addEventListener('change', function () {
		sendFile(el.file.files && el.file.files[0]);
		el.file.value = '';
	});

	el.prechat.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var ok = true;
		Object.keys(pre).reverse().forEach(function (k) {
			ok = checkField(pre[k], k, pre[k].dataset.required === '1') && ok;
		});
		if (!ok)
			return;
		var p = profile();
		if (pre.name)
			save('name', pre.name.value.trim());
		if (pre.email)
			save('email', pre.email.value.trim());
		save('prechat_done', '1');
		layout();
		var q = profile();
		if (q.name !== p.name || q.email !== p.email)
			reconnectNow(); /* name and e-mail travel in hello */
		focusFirst();
	});

	el.offline.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var ok = checkField(off.text, 'text', true);
		ok = checkField(off.email, 'email', true) && ok;
		ok = checkField(off.name, 'name', false) && ok;
		if (!ok)
			return;
		offlinePending = { type: 'offline_message', client_msg_id: newClientMsgId(),
			email: off.email.value.trim(), text: off.text.value.trim() };
		if (off.name.value.trim())
			offlinePending.name = off.name.value.trim();
		save('email', offlinePending.email);
		if (offlinePending.name)
			save('name', offlinePending.name);
		sendOffline(); /* or after the next welcome */
	});

	el.end.addEventListener('click', function () {
		send({ type: 'leave' });
		el.text.focus();
	});

	window.addEventListener('online', function () {
		if (started && !ws)
			reconnectNow();
	});
	document.addEventListener('visibilitychange', function () {
		if (document.visibilityState === 'visible' && started && !ws)
			reconnectNow();
		tellSeen();
	});

	/* ---- the page's handle ---- */

	window.OmniChat = {
		version: 1,
		open: function () { openPanel(); },
		close: function () { if (isOpen()) closePanel(); },
		/* a signed identity (docs/channels/webchat.md#signed-identity): the
		 * chat continues as the site's logged-in user */
		identify: function (token) {
			if (typeof token !== 'string' || !token)
				return;
			identity = token;
			layout();
			if (started)
				reconnectNow();
		}
	};

	function mount() {
		(document.body || document.documentElement).appendChild(host);
		var p = profile();
		if (pre.name)
			pre.name.value = p.name;
		if (pre.email)
			pre.email.value = p.email;
		off.name.value = p.name;
		off.email.value = p.email;
		outbox.forEach(function (m) {
			render({ from: 'visitor', text: m.text, ts: m.at, client_msg_id: m.cmid }, { pending: true });
		});
		layout();
		if (String(data.open) === 'true')
			openPanel(false);
		else if (load('visitor') && load('token'))
			start(); /* a conversation may go on: hear its messages (the unread badge) */
	}

	if (document.body)
		mount();
	else
		document.addEventListener('DOMContentLoaded', mount);
})();
