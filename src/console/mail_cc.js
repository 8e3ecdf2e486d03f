/*
 * omniroute agent console: Cc of an e-mail reply (loaded after
 * agent_email.js, whose composer it adds a line to; hooked in through
 * window.omrConsole; docs/console.md, docs/agent-protocol.md "Cc on e-mail").
 *
 * The Cc line lists the addresses the reply goes to beside the customer,
 * each removable; it starts with the Cc of the customer's last mail (as a
 * mail program's "reply all"), an address is added by typing it and Enter
 * (or comma, or the Add button). The reply frame carries them as `cc`;
 * the list starts again from the customer's mail after a reply is sent.
 * A sent reply shows its Cc under it.
 */
(function () {
	'use strict';

	var C = window.omrConsole;
	var box = document.querySelector('[data-testid="mail-composer"]');
	if (!C || !box)
		return;
	var S = C.S, node = C.node, str = C.str;
	var MAX = 20; /* the core takes at most 20 (docs/agent-protocol.md) */
	/* what the core takes: a bare local@domain, ASCII */
	var ADDR = /^(?!\.)(?!.*\.\.)[A-Za-z0-9!#$%&'*+\/=?^_`{|}~.-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
	var lists = new Map(); /* conversation id -> the agent's Cc, once shown */

	var line = node('div', 'mail-line mail-cc');
	line.setAttribute('data-testid', 'mail-cc');
	var label = node('span', 'mail-label', 'Cc: ');
	label.id = 'mail-cc-label';
	var chips = node('ul', 'cc-chips');
	chips.setAttribute('aria-labelledby', 'mail-cc-label');
	var input = document.createElement('input');
	input.type = 'email';
	input.id = 'mail-cc-input';
	input.className = 'cc-input';
	input.placeholder = 'Add Cc address';
	input.autocomplete = 'off';
	input.setAttribute('aria-label', 'Add a Cc address');
	input.setAttribute('data-testid', 'mail-cc-input');
	var add = node('button', 'btn-link cc-add', 'Add');
	add.type = 'button';
	add.setAttribute('data-testid', 'mail-cc-add');
	var err = node('span', 'cc-error');
	err.setAttribute('role', 'status');
	err.setAttribute('data-testid', 'mail-cc-error');
	[label, chips, input, add, err].forEach(function (n) { line.appendChild(n); });
	/* after the To line */
	box.insertBefore(line, box.firstChild ? box.firstChild.nextSibling : null);

	function current() {
		var c = C.current();
		return c && c.channel === 'email' && c.status === 'assigned' ? c : null;
	}

	function customerAddress(c) {
		var a = ((c.customer || {}).addresses || []).filter(function (x) {
			return /^email:/.test(str(x));
		})[0];
		return (a ? a.slice(6) : str((c.customer || {}).email)).toLowerCase();
	}

	/* the Cc of the customer's last mail, valid ones, not the customer */
	function prefill(c) {
		var me = customerAddress(c), out = [];
		for (var i = c.messages.length - 1; i >= 0; i--) {
			var m = c.messages[i];
			if (m.direction !== 'in')
				continue;
			var cc = m.meta && Array.isArray(m.meta.cc) ? m.meta.cc : [];
			cc.forEach(function (a) {
				a = str(a).toLowerCase();
				if (ADDR.test(a) && a !== me && out.indexOf(a) < 0 && out.length < MAX)
					out.push(a);
			});
			break;
		}
		return out;
	}

	function listOf(c) {
		if (!lists.has(c.id))
			lists.set(c.id, prefill(c));
		return lists.get(c.id);
	}

	function render() {
		var c = current();
		line.hidden = !c;
		if (!c)
			return;
		C.clear(chips);
		listOf(c).forEach(function (a, i) {
			var li = node('li', 'cc-chip');
			li.setAttribute('data-testid', 'mail-cc-chip');
			li.appendChild(node('span', 'cc-addr', a));
			var x = node('button', 'cc-remove', '×');
			x.type = 'button';
			x.setAttribute('aria-label', 'Remove ' + a + ' from Cc');
			x.addEventListener('click', function () {
				listOf(c).splice(i, 1);
				render();
				input.focus();
			});
			li.appendChild(x);
			chips.appendChild(li);
		});
		chips.hidden = !listOf(c).length;
	}

	/* the text typed in: added when it is an address; 1 when nothing is
	 * left that could not be added */
	function take() {
		var c = current(), words = input.value.split(/[\s,;]+/).filter(Boolean), bad = [];
		if (!c)
			return 1;
		var list = listOf(c);
		words.forEach(function (w) {
			w = w.replace(/^<|>$/g, '').toLowerCase();
			if (!ADDR.test(w) || w.length > 254)
				bad.push(w);
			else if (list.indexOf(w) < 0 && list.length >= MAX)
				bad.push(w);
			else if (list.indexOf(w) < 0)
				list.push(w);
		});
		input.value = bad.join(', ');
		err.textContent = !bad.length ? '' : list.length >= MAX ?
			'At most ' + MAX + ' Cc addresses.' : 'Not a mail address: ' + bad.join(', ');
		render();
		return !bad.length;
	}

	input.addEventListener('keydown', function (ev) {
		if (ev.isComposing)
			return;
		if (ev.key === 'Enter' || ev.key === ',' || ev.key === ';') {
			ev.preventDefault(); /* not the form's submit */
			ev.stopPropagation();
			take();
		} else if (ev.key === 'Backspace' && !input.value) {
			var c = current();
			if (c && listOf(c).length) {
				listOf(c).pop();
				render();
			}
		}
	});
	input.addEventListener('blur', function () { if (input.value.trim()) take(); });
	add.addEventListener('click', function () { take(); input.focus(); });

	C.on('selected', function () { err.textContent = ''; input.value = ''; render(); });
	C.on('frame', function (msg) {
		if (msg.type === 'status' || msg.type === 'welcome' || msg.type === 'assigned')
			render();
	});

	C.on('reply', function (entry, m) {
		var c = entry && entry.c;
		if (!c || c.channel !== 'email' || c.status !== 'assigned' || m.template)
			return;
		if (input.value.trim())
			take();
		var list = listOf(c);
		if (list.length)
			m.cc = list.slice();
		lists.delete(c.id); /* the next answer starts from the customer's Cc again */
		window.setTimeout(render, 0);
	});

	/* a sent reply says whom it went to in Cc */
	C.on('message-node', function (li, m, c) {
		var cc = m.meta && Array.isArray(m.meta.cc) ? m.meta.cc : [];
		c = c || C.conversation(str(m.conversation)); /* an ack's node is drawn without it */
		if (!c || c.channel !== 'email' || m.direction !== 'out' || !cc.length)
			return;
		var p = node('p', 'mail-cc-sent', 'Cc: ' + cc.map(str).join(', '));
		p.setAttribute('data-testid', 'mail-cc-sent');
		var text = li.querySelector('.text');
		if (text)
			text.parentNode.insertBefore(p, text);
		else
			li.appendChild(p);
	});

	window.omrMailCc = { valid: function (a) { return ADDR.test(str(a)); } };
})();
