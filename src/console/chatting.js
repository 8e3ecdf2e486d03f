/*
 * omniroute agent console: internal notes with @mentions, typing and seen
 * (docs/agent-protocol.md#internal-notes, #typing-and-seen).
 *
 * - "Internal note" (a switch next to Send, or Ctrl+Shift+N) turns the
 *   reply box into a note box: what is sent then is a `note`, never seen
 *   by the customer; "@" and letters offer the colleagues to name.
 * - A `mention` frame (a colleague named this agent) is shown as a notice
 *   and kept in the list under the switch until dismissed.
 * - While the agent types in a web chat, `typing` goes out at most every
 *   2 s; the customer's `typing` shows "… is typing" for 5 s.
 * - A customer's message shown on screen while the page is visible is
 *   told as `seen` (once per message).
 */
(function () {
	'use strict';
	var api = window.omrConsole;
	var reply = document.getElementById('reply-text');
	var form = document.getElementById('reply-form');
	var bar = form ? form.querySelector('.reply-bar') : null;
	if (!api || !reply || !form || !bar)
		return;

	var TYPING_EVERY_MS = 2000;
	var TYPING_SHOWN_MS = 5000;
	var NOTE_MAX = 4000;
	var T = { sentAt: 0, sentConv: null, hideTimer: 0, seen: {}, mentions: [] };

	var str = api.str;
	var node = api.node;
	function live(c) { return c && c.channel === 'webchat' && c.status === 'assigned'; }

	/* ---- the customer is typing ---- */

	var typing = node('p', 'typing-line');
	typing.id = 'typing-line';
	typing.setAttribute('data-testid', 'typing');
	typing.setAttribute('aria-live', 'polite');
	typing.hidden = true;
	form.parentNode.insertBefore(typing, form);

	function showTyping(conv) {
		var c = api.current();
		if (!c || c.id !== conv)
			return;
		typing.textContent = api.customerName(c.customer) + ' is typing…';
		typing.hidden = false;
		window.clearTimeout(T.hideTimer);
		T.hideTimer = window.setTimeout(function () { typing.hidden = true; }, TYPING_SHOWN_MS);
	}

	/* ---- the agent is typing ---- */

	reply.addEventListener('input', function () {
		var c = api.current();
		if (noteMode.checked || !live(c) || !reply.value)
			return;
		var now = Date.now();
		if (T.sentConv === c.id && now - T.sentAt < TYPING_EVERY_MS)
			return;
		T.sentAt = now;
		T.sentConv = c.id;
		api.send({ type: 'typing', conversation: c.id });
	});

	/* ---- seen ---- */

	function tellSeen(c, m) {
		if (!live(c) || !m || m.direction !== 'in' || typeof m.id !== 'string' || T.seen[m.id])
			return;
		if (document.visibilityState !== 'visible')
			return;
		T.seen[m.id] = true;
		api.send({ type: 'seen', conversation: c.id, message: m.id });
	}
	function lastIn(c) {
		for (var i = (c.messages || []).length - 1; i >= 0; i--)
			if (c.messages[i].direction === 'in')
				return c.messages[i];
		return null;
	}
	document.addEventListener('visibilitychange', function () {
		var c = api.current();
		if (c)
			tellSeen(c, lastIn(c));
	});

	/* ---- notes ---- */

	var label = node('label', 'note-switch');
	var noteMode = node('input');
	noteMode.type = 'checkbox';
	noteMode.id = 'note-mode';
	noteMode.setAttribute('data-testid', 'note-mode');
	label.appendChild(noteMode);
	label.appendChild(document.createTextNode(' Internal note'));
	bar.insertBefore(label, bar.firstChild);
	var placeholder = reply.placeholder;

	function setNoteMode(on) {
		noteMode.checked = on;
		form.classList.toggle('is-note', on);
		reply.placeholder = on ? 'Write an internal note (the customer never sees it); @name tells a colleague…' : placeholder;
	}
	noteMode.addEventListener('change', function () { setNoteMode(noteMode.checked); reply.focus(); });

	function sendNote() {
		var c = api.current();
		var text = reply.value.replace(/\s+$/, '');
		if (!c || !text.trim())
			return;
		if (new TextEncoder().encode(text).length > NOTE_MAX) {
			api.notice('A note is at most 4000 bytes.', 'error');
			return;
		}
		if (api.request({ type: 'note', conversation: c.id, text: text,
				  client_msg_id: api.newClientMsgId() })) {
			reply.value = '';
			reply.dispatchEvent(new Event('input', { bubbles: true }));
		}
	}

	/* capture: before the console sends a reply */
	reply.addEventListener('keydown', function (ev) {
		if (ev.key === 'N' && ev.ctrlKey && ev.shiftKey) {
			ev.preventDefault();
			setNoteMode(!noteMode.checked);
			return;
		}
		if (mentionBox.open && handleMentionKey(ev))
			return;
		if (noteMode.checked && ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.ctrlKey &&
		    !ev.metaKey && !ev.isComposing) {
			ev.preventDefault();
			ev.stopImmediatePropagation();
			sendNote();
		}
	}, true);
	form.addEventListener('submit', function (ev) {
		if (!noteMode.checked)
			return;
		ev.preventDefault();
		ev.stopImmediatePropagation();
		sendNote();
	}, true);

	/* ---- @name: the colleagues ---- */

	var mentionBox = { open: false, items: [], active: 0, start: 0 };
	var mlist = node('ul', 'canned-list mention-list');
	mlist.id = 'mention-list';
	mlist.setAttribute('role', 'listbox');
	mlist.setAttribute('aria-label', 'Colleagues');
	mlist.hidden = true;
	reply.parentNode.insertBefore(mlist, reply);

	function mentionClose() {
		mentionBox.open = false;
		mlist.hidden = true;
	}
	function mentionUpdate() {
		var pos = reply.selectionStart;
		var m = noteMode.checked ? /(^|\s)@([A-Za-z0-9_.-]{0,64})$/.exec(reply.value.slice(0, pos)) : null;
		if (!m)
			return mentionClose();
		var w = m[2].toLowerCase();
		var me = api.me() || {};
		mentionBox.items = api.agents().filter(function (a) {
			return a.id !== me.id && (a.id.toLowerCase().indexOf(w) === 0 ||
				str(a.name).toLowerCase().indexOf(w) >= 0);
		}).slice(0, 8);
		mentionBox.start = pos - m[2].length - 1;
		mentionBox.active = 0;
		mentionBox.open = mentionBox.items.length > 0;
		mlist.hidden = !mentionBox.open;
		while (mlist.firstChild)
			mlist.removeChild(mlist.firstChild);
		mentionBox.items.forEach(function (a, i) {
			var li = node('li', 'canned-item' + (i === mentionBox.active ? ' is-active' : ''));
			li.setAttribute('role', 'option');
			li.appendChild(node('span', 'canned-short', '@' + a.id));
			li.appendChild(node('span', 'canned-title', str(a.name)));
			li.addEventListener('mousedown', function (ev) {
				ev.preventDefault();
				mentionBox.active = i;
				mentionInsert();
			});
			mlist.appendChild(li);
		});
	}
	function mentionInsert() {
		var a = mentionBox.items[mentionBox.active];
		if (a) {
			var end = reply.selectionStart, t = '@' + a.id + ' ';
			reply.value = reply.value.slice(0, mentionBox.start) + t + reply.value.slice(end);
			reply.setSelectionRange(mentionBox.start + t.length, mentionBox.start + t.length);
		}
		mentionClose();
	}
	function handleMentionKey(ev) {
		var n = mentionBox.items.length;
		if (ev.key === 'ArrowDown')
			mentionBox.active = (mentionBox.active + 1) % n;
		else if (ev.key === 'ArrowUp')
			mentionBox.active = (mentionBox.active - 1 + n) % n;
		else if (ev.key === 'Enter' || ev.key === 'Tab')
			mentionInsert();
		else if (ev.key === 'Escape')
			mentionClose();
		else
			return false;
		ev.preventDefault();
		ev.stopImmediatePropagation();
		Array.prototype.forEach.call(mlist.children, function (li, i) {
			li.classList.toggle('is-active', i === mentionBox.active);
		});
		return true;
	}
	reply.addEventListener('input', mentionUpdate);
	/* a click in the list blurs the box first: close a moment later, and
	 * only if the focus did not come back meanwhile */
	reply.addEventListener('blur', function () {
		window.setTimeout(function () {
			if (document.activeElement !== reply)
				mentionClose();
		}, 150);
	});

	/* ---- mentions of me ---- */

	var inbox = node('ul', 'mentions');
	inbox.id = 'mentions';
	inbox.setAttribute('data-testid', 'mentions');
	inbox.setAttribute('aria-label', 'Notes that name you');
	inbox.hidden = true;
	var side = document.getElementById('conversation-list');
	if (side && side.parentNode)
		side.parentNode.insertBefore(inbox, side);

	function renderMentions() {
		while (inbox.firstChild)
			inbox.removeChild(inbox.firstChild);
		inbox.hidden = !T.mentions.length;
		T.mentions.forEach(function (m, i) {
			var li = node('li', 'mention-item');
			li.setAttribute('data-testid', 'mention');
			li.appendChild(node('p', 'mention-from', (str(m.from_name) || str(m.from)) + ' named you'));
			li.appendChild(node('p', 'mention-text', str(m.message && m.message.text).slice(0, 300)));
			var ok = node('button', 'btn btn-quiet btn-small', 'Dismiss');
			ok.type = 'button';
			ok.addEventListener('click', function () {
				T.mentions.splice(i, 1);
				renderMentions();
			});
			var open = api.conversation(str(m.conversation));
			if (open) {
				var go = node('button', 'btn btn-small', 'Open');
				go.type = 'button';
				go.addEventListener('click', function () { api.select(open.id); });
				li.appendChild(go);
			}
			li.appendChild(ok);
			inbox.appendChild(li);
		});
	}

	api.on('frame', function (msg) {
		var c;
		switch (msg.type) {
		case 'typing':
			if (msg.from === 'customer')
				showTyping(str(msg.conversation));
			break;
		case 'message':
			c = api.current();
			if (c && msg.conversation === c.id && msg.message && msg.message.direction === 'in')
				typing.hidden = true;
			break;
		case 'ack':
			/* a note of mine (this tab or another): the transcript shows it */
			c = api.current();
			if (c && msg.conversation === c.id && msg.message && msg.message.direction === 'note')
				api.redraw();
			break;
		case 'mention':
			if (!msg.message || typeof msg.conversation !== 'string')
				break;
			T.mentions.unshift(msg);
			T.mentions = T.mentions.slice(0, 10);
			renderMentions();
			api.notice((str(msg.from_name) || str(msg.from)) + ' named you in a note: ' +
				   str(msg.message.text).slice(0, 140), 'warn');
			break;
		case 'welcome':
			T.mentions = [];
			renderMentions();
			break;
		default:
			break;
		}
	});
	api.on('select', function (c) {
		typing.hidden = true;
		tellSeen(c, lastIn(c));
		if (c.status !== 'assigned' && c.status !== 'wrapup')
			setNoteMode(false);
	});
	api.on('shown', function (x) { tellSeen(x.conversation, x.message); });
})();
