/*
 * omniroute agent console: park and snooze (docs/agent-protocol.md#park-and-snooze).
 *
 * "Park…" (next to Transfer, not for a live chat) parks the conversation
 * until the customer writes, or a time: it leaves the list and frees its
 * place. "Parked" in the side bar lists them (soonest back first) with
 * "Bring back"; they come back by themselves as `assigned`, and a notice
 * says why.
 */
(function () {
	'use strict';
	var api = window.omrConsole;
	var actions = document.querySelector('.conv-actions');
	var transfer = document.getElementById('transfer-open');
	if (!api || !actions || !transfer)
		return;

	var HOUR = 3600000;
	var P = { list: [] };

	var str = api.str;
	var node = api.node;
	function when(ms) {
		var d = new Date(ms);
		return d.toLocaleString([], { weekday: 'short', day: 'numeric', month: 'short',
					      hour: '2-digit', minute: '2-digit' });
	}

	/* ---- the button and its dialog ---- */

	var btn = node('button', 'btn', 'Park…');
	btn.type = 'button';
	btn.id = 'park-open';
	btn.title = 'Put it aside until the customer answers or a time; it comes back to you';
	actions.insertBefore(btn, transfer);

	var dlg = node('dialog', 'dialog park-dialog');
	dlg.id = 'park-dialog';
	dlg.setAttribute('aria-labelledby', 'park-title');
	var form = node('form', '');
	form.method = 'dialog';
	var h = node('h2', 'dialog-title', 'Park this conversation');
	h.id = 'park-title';
	form.appendChild(h);
	form.appendChild(node('p', 'hint', 'It leaves your list and frees its place; it comes back ' +
			      'to you when the customer writes, or at the time you choose, whichever is first.'));
	var fs = node('fieldset', 'choice park-choices');
	fs.appendChild(node('legend', '', 'Until'));
	var choices = [
		['reply', 'the customer answers'],
		['1h', 'in 1 hour'],
		['tomorrow', 'tomorrow at 9:00'],
		['3d', 'in 3 days'],
		['at', 'a time I choose']
	];
	choices.forEach(function (ch, i) {
		var l = node('label', 'radio park-choice');
		var r = node('input');
		r.type = 'radio';
		r.name = 'park-until';
		r.value = ch[0];
		r.id = 'park-' + ch[0];
		if (i === 0)
			r.checked = true;
		l.appendChild(r);
		l.appendChild(document.createTextNode(' ' + ch[1]));
		fs.appendChild(l);
	});
	var at = node('input');
	at.type = 'datetime-local';
	at.id = 'park-when';
	at.setAttribute('aria-label', 'Park until');
	fs.appendChild(at);
	form.appendChild(fs);
	var err = node('p', 'form-error');
	err.hidden = true;
	err.setAttribute('role', 'alert');
	form.appendChild(err);
	var row = node('div', 'form-actions');
	var cancel = node('button', 'btn', 'Cancel');
	cancel.type = 'button';
	var ok = node('button', 'btn btn-primary', 'Park');
	ok.type = 'submit';
	ok.id = 'park-submit';
	row.appendChild(cancel);
	row.appendChild(ok);
	form.appendChild(row);
	dlg.appendChild(form);
	document.body.appendChild(dlg);

	function parkable(c) { return c && c.status === 'assigned' && c.channel !== 'webchat'; }

	function renderButton(c) {
		btn.hidden = !parkable(c);
	}

	btn.addEventListener('click', function () {
		var c = api.current();
		if (!parkable(c))
			return;
		dlg.dataset.conversation = c.id;
		err.hidden = true;
		dlg.showModal();
		form.querySelector('input[name="park-until"]:checked').focus();
	});
	cancel.addEventListener('click', function () { dlg.close(); btn.focus(); });
	at.addEventListener('focus', function () { document.getElementById('park-at').checked = true; });

	function inMs(choice) {
		var now = new Date();
		if (choice === '1h')
			return HOUR;
		if (choice === '3d')
			return 72 * HOUR;
		if (choice === 'tomorrow') {
			var t = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0, 0);
			return t.getTime() - now.getTime();
		}
		if (choice === 'at') {
			var v = at.value ? new Date(at.value).getTime() : NaN;
			return v - now.getTime();
		}
		return 0;
	}

	form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var c = api.conversation(str(dlg.dataset.conversation));
		var choice = form.querySelector('input[name="park-until"]:checked').value;
		var ms = inMs(choice);
		if (choice !== 'reply' && !(ms >= 60000 && ms <= 30 * 24 * HOUR)) {
			err.textContent = 'Choose a time from a minute to 30 days ahead.';
			err.hidden = false;
			return;
		}
		var frame = { type: 'park', conversation: c ? c.id : '' };
		if (choice !== 'reply')
			frame.in_ms = Math.round(ms);
		if (c && api.request(frame))
			dlg.close();
	});

	/* ---- the parked list ---- */

	var box = node('section', 'parked');
	box.setAttribute('aria-labelledby', 'parked-title');
	box.setAttribute('data-testid', 'parked');
	box.hidden = true;
	var ph = node('h2', 'parked-title', 'Parked');
	ph.id = 'parked-title';
	var ul = node('ul', 'parked-list');
	box.appendChild(ph);
	box.appendChild(ul);
	var side = document.getElementById('conversation-list');
	if (side && side.parentNode)
		side.parentNode.insertBefore(box, side.nextSibling);

	function renderList() {
		while (ul.firstChild)
			ul.removeChild(ul.firstChild);
		box.hidden = !P.list.length;
		ph.textContent = 'Parked (' + P.list.length + ')';
		P.list.forEach(function (p) {
			var li = node('li', 'parked-item');
			li.setAttribute('data-testid', 'parked-item');
			li.dataset.conversation = p.conversation;
			li.appendChild(node('p', 'parked-who', str(p.customer) || 'Customer'));
			if (str(p.subject))
				li.appendChild(node('p', 'parked-subject', p.subject));
			li.appendChild(node('p', 'parked-until', p.on_reply ? 'until the customer answers' :
					    'until ' + when(p.until)));
			var back = node('button', 'btn btn-small', 'Bring back');
			back.type = 'button';
			back.setAttribute('aria-label', 'Bring back the conversation with ' +
					  (str(p.customer) || 'the customer'));
			back.addEventListener('click', function () {
				api.request({ type: 'unpark', conversation: p.conversation });
			});
			li.appendChild(back);
			ul.appendChild(li);
		});
	}

	var WHY = { time: 'its time came', answer: 'the customer answered', agent: 'you brought it back' };
	api.on('frame', function (msg) {
		var c;
		switch (msg.type) {
		case 'welcome':
			if (api.isAgent())
				api.send({ type: 'parked' });
			renderButton(api.current());
			break;
		case 'parked':
			P.list = Array.isArray(msg.conversations) ? msg.conversations.filter(function (p) {
				return p && typeof p.conversation === 'string';
			}) : [];
			renderList();
			break;
		case 'unassigned':
			if (msg.reason === 'parked') {
				api.notice('Parked ' + (msg.on_reply ? 'until the customer answers.' :
					   'until ' + when(msg.until) + ' (or the customer answers).'), 'ok');
				api.send({ type: 'parked' });
			}
			break;
		case 'assigned':
			c = msg.conversation;
			if (c && typeof c.unparked === 'string') {
				api.notice('Back from parking: ' + api.customerName(c.customer) + ' (' +
					   (WHY[c.unparked] || c.unparked) + ').', 'warn');
				api.send({ type: 'parked' });
			}
			break;
		case 'status':
			renderButton(api.current());
			break;
		default:
			break;
		}
	});
	api.on('select', renderButton);
})();
