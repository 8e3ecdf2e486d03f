/*
 * omniroute agent console: e-mail (loaded after console.js, hooked in
 * through window.omrConsole; docs/console.md).
 *
 * - The composer of an e-mail conversation: Enter is a new line, Ctrl+Enter
 *   (or the button) sends; it shows To and the subject the reply goes out
 *   with, the customer's last mail quoted (collapsed), and the queue's
 *   signature (welcome.queues[].signature, routing.yaml), added when ticked.
 * - A mail's full text (with the quoted history the console otherwise cuts)
 *   opens under it; hard-wrapped lines are joined into paragraphs.
 * - A reply that failed says so in words, with the server's reason under
 *   "Details", a Retry button (sends the text again), and a mark in the list.
 */
(function () {
	'use strict';

	var C = window.omrConsole;
	if (!C)
		return;
	var S = C.S, el = C.el, node = C.node, str = C.str;

	function selectedEntry() {
		return S.selected && S.historyId === null ? S.convs.get(S.selected) : null;
	}
	function isEmail(entry) {
		return !!entry && entry.c.channel === 'email';
	}

	/* ---- text: hard-wrapped lines joined into paragraphs ---- */

	/* A paragraph's lines are joined when each but its last is long (a mail
	 * program wrapped them at 72-78 columns) and none is quoted or a list
	 * item; short lines (an address, a greeting) stay as they are. */
	function reflow(text) {
		return String(text).split(/\n{2,}/).map(function (para) {
			var lines = para.split('\n');
			if (lines.length < 2)
				return para;
			var wrapped = lines.slice(0, -1).every(function (l) {
				return l.length >= 60 && l.length <= 100 && !/^\s*(>|[-*•]\s|\d+[.)]\s)/.test(l);
			});
			return wrapped && !/^\s*>/.test(lines[lines.length - 1]) ?
				lines.map(function (l) { return l.trim(); }).join(' ') : para;
		}).join('\n\n');
	}

	/* ---- failures in words ---- */

	function failText(error) {
		var e = str(error);
		if (/^bounced/i.test(e))
			return 'The customer’s mail server sent this reply back (bounced): the address may be wrong or the mailbox full.';
		if (/SMTP 5\d\d/.test(e))
			return 'The mail server refused this reply.';
		if (/SMTP 4\d\d|timeout|connect|resolve|TLS|storage unavailable/i.test(e))
			return 'The reply could not be sent: the mail server could not be reached.';
		if (/could not take/i.test(e))
			return 'The reply could not be sent to this address.';
		return 'The reply could not be sent.';
	}

	function retry(c, m) {
		var again = { cmid: 'r' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10),
			      conversation: c.id, text: str(m.text), at: Date.now(), failed: false, why: '',
			      cc: m.meta && Array.isArray(m.meta.cc) ? m.meta.cc : undefined };
		S.outbox.push(again);
		C.renderSelected(true);
		C.sendReply(again);
	}

	function decorateFailed(li, m, c) {
		if (!c || c.channel !== 'email' || m.direction !== 'out' || m.status !== 'failed' || !str(m.error))
			return;
		var state = li.querySelector('.state');
		if (!state)
			return;
		C.clear(state);
		state.title = '';
		state.appendChild(node('span', 'fail-text', 'Failed: ' + failText(m.error)));
		var det = node('details', 'fail-details');
		det.appendChild(node('summary', '', 'Details'));
		det.appendChild(node('code', '', str(m.error).slice(0, 500)));
		state.appendChild(det);
		if (c.status === 'assigned' && !c._monitor) {
			var b = node('button', 'btn-link', 'Retry');
			b.type = 'button';
			b.setAttribute('data-testid', 'email-retry');
			b.addEventListener('click', function () { retry(c, m); });
			state.appendChild(b);
		}
	}

	C.on('message-node', function (li, m, c) {
		if (!c || c.channel !== 'email')
			return;
		var meta = m.meta && typeof m.meta === 'object' ? m.meta : {};
		var text = li.querySelector('.text');
		if (text && m.direction === 'in') {
			text.textContent = reflow(str(m.text));
			var full = str(meta.full_text);
			if (full && full !== str(m.text)) {
				var d = node('details', 'mail-full');
				d.setAttribute('data-testid', 'mail-full');
				d.appendChild(node('summary', '', 'Show the whole mail (quoted history, signature)'));
				d.appendChild(node('pre', 'mail-full-text', full));
				text.parentNode.insertBefore(d, text.nextSibling);
			}
		}
		decorateFailed(li, m, c);
	});

	/* the status of a reply changes in place: again then */
	C.on('frame', function (msg) {
		if (msg.type !== 'message' || !msg.message || msg.message.status !== 'failed')
			return;
		var entry = S.convs.get(msg.conversation);
		if (!isEmail(entry))
			return;
		C.renderList();
		if (S.selected === entry.c.id && S.historyId === null) {
			var li = el.transcript.querySelector('[data-message-id="' + String(msg.message.id).replace(/"/g, '') + '"]');
			var m = entry.c.messages.filter(function (x) { return x.id === msg.message.id; })[0];
			if (li && m)
				decorateFailed(li, m, entry.c);
		}
	});

	/* a mark in the list: the last reply failed */
	C.on('list-item', function (b, entry) {
		var c = entry.c;
		if (c.channel !== 'email')
			return;
		var out = c.messages.filter(function (m) { return m.direction === 'out'; });
		var last = out[out.length - 1];
		if (last && last.status === 'failed') {
			var mark = node('span', 'status-tag status-failed', 'Reply failed');
			mark.setAttribute('data-testid', 'failed-mark');
			var mid = b.querySelector('.conv-item-mid');
			(mid || b).appendChild(mark);
		}
	});

	/* ---- the composer ---- */

	var box = node('div', 'mail-head');
	box.setAttribute('data-testid', 'mail-composer');
	box.hidden = true;
	var to = node('p', 'mail-line');
	var subject = node('p', 'mail-line');
	var quote = node('details', 'mail-quote');
	quote.setAttribute('data-testid', 'mail-quote');
	var quoteText = node('pre', 'mail-quote-text');
	quote.appendChild(node('summary', '', 'Previous mail (quoted)'));
	quote.appendChild(quoteText);
	var sigLabel = node('label', 'mail-sig');
	var sigBox = document.createElement('input');
	sigBox.type = 'checkbox';
	sigBox.id = 'mail-signature';
	sigBox.checked = true;
	sigLabel.appendChild(sigBox);
	var sigText = node('span', 'mail-sig-text');
	sigLabel.appendChild(sigText);
	[to, subject, quote, sigLabel].forEach(function (n) { box.appendChild(n); });
	el.replyText.parentNode.insertBefore(box, el.replyText);
	var hint = document.getElementById('reply-hint');
	var hintText = hint ? hint.textContent : '';

	function line(p, label, value) {
		C.clear(p);
		p.appendChild(node('span', 'mail-label', label));
		p.appendChild(document.createTextNode(value));
	}

	function lastMail(c) {
		for (var i = c.messages.length - 1; i >= 0; i--)
			if (c.messages[i].direction === 'in')
				return c.messages[i];
		return null;
	}

	function address(c) {
		var cust = c.customer || {};
		var a = (Array.isArray(cust.addresses) ? cust.addresses : []).filter(function (x) {
			return /^email:/.test(str(x));
		})[0];
		return a ? a.slice(6) : str(cust.email);
	}

	function signature(c) {
		var q = S.queues.filter(function (x) { return x.name === c.queue; })[0];
		return q ? str(q.signature) : '';
	}

	function renderComposer(entry) {
		var mail = isEmail(entry) && entry.c.status === 'assigned';
		box.hidden = !mail;
		el.replyForm.classList.toggle('is-mail', mail);
		if (hint)
			hint.textContent = mail ? 'Ctrl+Enter sends · Enter new line' : hintText;
		el.replyText.rows = mail ? 5 : 3;
		if (!mail)
			return;
		var c = entry.c, last = lastMail(c);
		var meta = last && last.meta && typeof last.meta === 'object' ? last.meta : {};
		var subj = str(meta.subject) || str((c.attrs || {}).subject);
		line(to, 'To: ', C.customerName(c.customer) + (address(c) ? ' <' + address(c) + '>' : ''));
		line(subject, 'Subject: ', 'Re: ' + (subj.replace(/^\s*((re|aw|fwd?|fw)\s*:\s*)+/i, '') || 'Your message'));
		var q = last ? str(meta.full_text) || str(last.text) : '';
		quote.hidden = !q;
		quoteText.textContent = q.split('\n').map(function (l) { return '> ' + l; }).join('\n');
		quote.open = false;
		var sig = signature(c);
		sigLabel.hidden = !sig;
		sigText.textContent = ' Add the signature: ' + sig.split('\n')[0] + (sig.indexOf('\n') >= 0 ? ' …' : '');
	}

	C.on('selected', function (entry) { renderComposer(entry); });
	C.on('frame', function (msg) {
		if (msg.type === 'status' || msg.type === 'welcome')
			renderComposer(selectedEntry());
	});

	C.on('reply', function (entry, m) {
		var sig = isEmail(entry) && !sigLabel.hidden && sigBox.checked ? signature(entry.c) : '';
		if (sig && !m.template)
			m.text += '\n\n-- \n' + sig;
	});

	/* Enter: a new line in a mail; Ctrl+Enter sends. Captured on the form,
	 * before console.js's own Enter handler on the text box. */
	el.replyForm.addEventListener('keydown', function (ev) {
		if (ev.target !== el.replyText || ev.key !== 'Enter' || ev.isComposing || !isEmail(selectedEntry()))
			return;
		ev.stopPropagation();
		if (ev.ctrlKey || ev.metaKey) {
			ev.preventDefault();
			C.submitReply();
		}
	}, true);

	window.omrEmail = { reflow: reflow, failText: failText };
})();
