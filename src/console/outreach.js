/*
 * outreach.js: "Start conversation" in the customer panel
 * (docs/agent-protocol.md#start). The console (console.js) calls
 * omrOutreach.show(customer, send) when it shows a customer, hands it the
 * "started" frames and the errors of its "start" frames; the server starts
 * the conversation with the same core function as the admin API and the
 * signals (channel rules, opt-outs), and offers it to this agent ("to me")
 * or puts it in a queue.
 */
(function () {
	'use strict';
	var cur = null, sendFn = null, pending = null, box = null, n = 0;

	function mk(tag, attrs, text) {
		var e = document.createElement(tag);
		Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
		if (text) e.textContent = text;
		return e;
	}

	function say(text, kind) {
		var s = box.querySelector('.start-status');
		s.textContent = text;
		s.className = 'start-status ' + (kind || '');
	}

	function channels(cust) {
		var seen = {}, out = [];
		(Array.isArray(cust.addresses) ? cust.addresses : []).forEach(function (a) {
			var ch = String(a).split(':')[0];
			if (ch && !seen[ch]) { seen[ch] = 1; out.push(ch); }
		});
		return out;
	}

	function build() {
		box = mk('div', { id: 'customer-start-box', 'data-testid': 'customer-start-box' });
		var open = mk('button', { type: 'button', class: 'btn btn-quiet btn-small',
					  'data-testid': 'customer-start' }, 'Start conversation');
		var form = mk('form', { class: 'start-form', hidden: '' });
		var ch = mk('select', { name: 'channel', 'data-testid': 'start-channel' });
		var text = mk('textarea', { name: 'text', rows: '3', placeholder: 'Message',
					    'data-testid': 'start-text' });
		var tmpl = mk('input', { name: 'template', placeholder: 'or a template name (WhatsApp)',
					 'data-testid': 'start-template' });
		var subj = mk('input', { name: 'subject', placeholder: 'Subject (e-mail)',
					 'data-testid': 'start-subject' });
		var to = mk('select', { name: 'to', 'data-testid': 'start-to' });
		to.appendChild(mk('option', { value: 'me' }, 'to me'));
		to.appendChild(mk('option', { value: 'queue' }, 'to the queue'));
		var go = mk('button', { type: 'submit', class: 'btn btn-small',
					'data-testid': 'start-send' }, 'Send');
		[ch, text, tmpl, subj, to, go].forEach(function (e) { form.appendChild(e); });
		box.appendChild(open);
		box.appendChild(form);
		box.appendChild(mk('p', { class: 'start-status', 'data-testid': 'start-status' }));
		open.addEventListener('click', function () { form.hidden = !form.hidden; });
		form.addEventListener('submit', function (ev) {
			ev.preventDefault();
			if (!cur || !sendFn) return;
			var f = { type: 'start', customer: cur.id, to: to.value,
				  client_msg_id: 'start-' + Date.now() + '-' + (++n) };
			if (ch.value) f.channel = ch.value;
			if (tmpl.value.trim()) f.template = { name: tmpl.value.trim() };
			else f.text = text.value;
			if (subj.value.trim()) f.subject = subj.value.trim();
			pending = f.client_msg_id;
			go.disabled = true;
			say('Starting…');
			sendFn(f);
		});
		return box;
	}

	window.omrOutreach = {
		/* the customer shown in the panel (and the console's send) */
		show: function (cust, send) {
			var panel = document.getElementById('customer-start');
			if (!panel) return;
			if (!box) panel.appendChild(build());
			sendFn = send;
			cur = cust && cust.id ? cust : null;
			box.hidden = !cur;
			if (!cur) return;
			var sel = box.querySelector('select[name=channel]');
			sel.textContent = '';
			sel.appendChild(mk('option', { value: '' }, 'their usual channel'));
			channels(cur).forEach(function (c) { sel.appendChild(mk('option', { value: c }, c)); });
		},
		onStarted: function (msg) {
			if (!box || msg.client_msg_id !== pending) return;
			pending = null;
			box.querySelector('button[type=submit]').disabled = false;
			box.querySelector('form').hidden = true;
			say('Started on ' + (msg.channel || 'their channel') + ': ' + msg.conversation, 'ok');
		},
		/* true when the error was about a start of ours */
		onError: function (msg) {
			if (!box || !msg.client_msg_id || msg.client_msg_id !== pending) return false;
			pending = null;
			box.querySelector('button[type=submit]').disabled = false;
			say((msg.message || 'Not started') + ' (' + (msg.code || 'error') + ')', 'warn');
			return true;
		}
	};
}());
