/*
 * omniroute agent console: canned responses (docs/agent-protocol.md#canned-responses).
 *
 * Typing "/" at the start of the reply box or after a space, then letters,
 * opens a list of the responses that fit the conversation (its language
 * and queue), filtered by shortcut and title: arrows move, Enter or Tab
 * inserts (variables filled in), Escape closes. "My responses…" manages
 * the agent's own (saved on the server, on every tab).
 *
 * The list is asked for (`canned`) after each welcome and again when the
 * picker opens a minute later. Text is only ever set with textContent.
 */
(function () {
	'use strict';
	var api = window.omrConsole;
	var reply = document.getElementById('reply-text');
	if (!api || !reply)
		return;

	var REFRESH_MS = 60000;
	var MAX_SHOWN = 8;
	var VARS = /\{\{|\}\}|\{([a-z_]+\.[a-z_]+)\}/g;
	var C = { shared: [], personal: [], at: 0, open: false, items: [], active: 0, start: 0 };

	var str = api.str;
	var node = api.node;
	function firstWord(s) { return str(s).trim().split(/\s+/)[0] || ''; }

	/* ---- the list ---- */

	var box = node('div', 'canned-box');
	box.id = 'canned-box';
	box.hidden = true;
	box.setAttribute('data-testid', 'canned-box');
	var list = node('ul', 'canned-list');
	list.id = 'canned-list';
	list.setAttribute('role', 'listbox');
	list.setAttribute('aria-label', 'Canned responses');
	var foot = node('div', 'canned-foot');
	var hint = node('p', 'hint', '↑↓ choose · Enter or Tab inserts · Esc closes');
	var manage = node('button', 'btn btn-quiet btn-small', 'My responses…');
	manage.type = 'button';
	foot.appendChild(hint);
	foot.appendChild(manage);
	box.appendChild(list);
	box.appendChild(foot);
	reply.parentNode.insertBefore(box, reply);
	reply.setAttribute('aria-autocomplete', 'list');
	reply.setAttribute('aria-controls', 'canned-list');

	function fits(r, c) {
		var lang = str(c && c.language);
		var queue = str(c && c.queue);
		if (r.language && r.language !== lang)
			return false;
		if (Array.isArray(r.queues) && r.queues.indexOf(queue) < 0)
			return false;
		return true;
	}

	/* the responses for conversation c: per shortcut the one in its
	 * language before the one without; the agent's own after */
	function available(c) {
		var best = {}, order = [];
		C.shared.forEach(function (r) {
			if (!fits(r, c))
				return;
			var have = best[r.shortcut];
			if (!have) {
				order.push(r.shortcut);
				best[r.shortcut] = r;
			} else if (!have.language && r.language) {
				best[r.shortcut] = r;
			}
		});
		var out = order.map(function (k) { return best[k]; });
		C.personal.forEach(function (r) {
			out.push({ shortcut: r.shortcut, title: r.title, text: r.text, personal: true });
		});
		return out;
	}

	function fill(text, c) {
		var me = api.me() || {};
		var cust = (c && c.customer) || {};
		var name = str(cust.name) || 'customer';
		var values = {
			'customer.name': name,
			'customer.first_name': firstWord(name),
			'customer.email': str(cust.email) || str(cust.claimed_email),
			'agent.name': str(me.name) || str(me.id),
			'agent.first_name': firstWord(str(me.name) || str(me.id)),
			'conversation.id': str(c && c.id),
			'conversation.queue': str(c && c.queue)
		};
		return str(text).replace(VARS, function (all, v) {
			if (all === '{{')
				return '{';
			if (all === '}}')
				return '}';
			return values.hasOwnProperty(v) ? values[v] : all;
		});
	}

	/* "/abc" right before the caret, at the start or after white space */
	function token() {
		var pos = reply.selectionStart;
		if (pos !== reply.selectionEnd)
			return null;
		var m = /(^|\s)\/([a-z0-9_-]{0,32})$/.exec(reply.value.slice(0, pos));
		if (!m)
			return null;
		return { start: pos - m[2].length - 1, word: m[2] };
	}

	function close() {
		C.open = false;
		box.hidden = true;
		reply.removeAttribute('aria-activedescendant');
		/* open or not: the list's own hidden state (a textarea takes no
		 * aria-expanded: axe, WCAG 4.1.2) */
	}

	function render() {
		while (list.firstChild)
			list.removeChild(list.firstChild);
		C.items.slice(0, MAX_SHOWN).forEach(function (r, i) {
			var li = node('li', 'canned-item' + (i === C.active ? ' is-active' : ''));
			li.id = 'canned-opt-' + i;
			li.setAttribute('role', 'option');
			li.setAttribute('aria-selected', i === C.active ? 'true' : 'false');
			li.setAttribute('data-testid', 'canned-item');
			li.dataset.shortcut = r.shortcut;
			li.appendChild(node('span', 'canned-short', '/' + r.shortcut));
			li.appendChild(node('span', 'canned-title', str(r.title) + (r.personal ? ' (mine)' : '')));
			li.appendChild(node('span', 'canned-text', fill(r.text, api.current()).slice(0, 120)));
			li.addEventListener('mousedown', function (ev) {
				ev.preventDefault();
				C.active = i;
				insert();
			});
			list.appendChild(li);
		});
		if (!C.items.length)
			list.appendChild(node('li', 'canned-empty', 'No canned response starts with that.'));
		if (C.items.length)
			reply.setAttribute('aria-activedescendant', 'canned-opt-' + C.active);
	}

	function update() {
		var c = api.current();
		var t = c && c.status === 'assigned' ? token() : null;
		if (!t) {
			close();
			return;
		}
		if (Date.now() - C.at > REFRESH_MS) {
			C.at = Date.now();
			api.send({ type: 'canned' });
		}
		var w = t.word.toLowerCase();
		var all = available(c);
		C.items = all.filter(function (r) { return r.shortcut.indexOf(w) === 0; }).concat(
			all.filter(function (r) {
				return r.shortcut.indexOf(w) !== 0 && w && (r.shortcut.indexOf(w) > 0 ||
					str(r.title).toLowerCase().indexOf(w) >= 0);
			}));
		C.start = t.start;
		C.active = Math.min(C.active, Math.max(0, Math.min(C.items.length, MAX_SHOWN) - 1));
		C.open = true;
		box.hidden = false;
		render();
	}

	function insert() {
		var r = C.items[C.active];
		if (!r)
			return close();
		var text = fill(r.text, api.current());
		var end = reply.selectionStart;
		reply.value = reply.value.slice(0, C.start) + text + reply.value.slice(end);
		var at = C.start + text.length;
		reply.setSelectionRange(at, at);
		close();
		reply.dispatchEvent(new Event('input', { bubbles: true })); /* the draft */
		api.announce('Inserted ' + str(r.title) + '.');
		reply.focus();
	}

	reply.addEventListener('input', function () { C.active = C.open ? C.active : 0; update(); });
	reply.addEventListener('click', update);
	/* a click in the list blurs the box first: close a moment later, and
	 * only if the focus did not come back meanwhile */
	reply.addEventListener('blur', function () {
		window.setTimeout(function () {
			if (document.activeElement !== reply)
				close();
		}, 150);
	});
	/* before the console's own keys (Enter sends): capture phase */
	reply.addEventListener('keydown', function (ev) {
		if (!C.open)
			return;
		var n = Math.min(C.items.length, MAX_SHOWN);
		var handled = true;
		if (ev.key === 'ArrowDown' && n)
			C.active = (C.active + 1) % n;
		else if (ev.key === 'ArrowUp' && n)
			C.active = (C.active - 1 + n) % n;
		else if ((ev.key === 'Enter' || ev.key === 'Tab') && !ev.shiftKey && n)
			insert();
		else if (ev.key === 'Escape')
			close();
		else
			handled = false;
		if (handled) {
			ev.preventDefault();
			ev.stopImmediatePropagation();
			if (C.open)
				render();
		}
	}, true);

	/* ---- my responses ---- */

	var dlg = node('dialog', 'dialog canned-dialog');
	dlg.id = 'canned-dialog';
	dlg.setAttribute('aria-labelledby', 'canned-dialog-title');
	var h = node('h2', 'dialog-title', 'My canned responses');
	h.id = 'canned-dialog-title';
	var mine = node('ul', 'canned-mine');
	mine.setAttribute('data-testid', 'canned-mine');
	var form = node('form', 'canned-form');
	form.setAttribute('novalidate', '');
	function field(label, input, id) {
		var f = node('div', 'field');
		var l = node('label', '', label);
		l.htmlFor = id;
		input.id = id;
		f.appendChild(l);
		f.appendChild(input);
		form.appendChild(f);
		return input;
	}
	var inShort = field('Shortcut (a-z, 0-9, _ and -)', node('input'), 'canned-shortcut');
	inShort.maxLength = 32;
	inShort.pattern = '[a-z0-9_-]{1,32}';
	var inTitle = field('Title', node('input'), 'canned-title');
	inTitle.maxLength = 80;
	var inText = field('Text ({customer.first_name}, {agent.name}, {conversation.id}, …)',
			   node('textarea'), 'canned-text');
	inText.rows = 4;
	inText.maxLength = 4000;
	var err = node('p', 'form-error');
	err.hidden = true;
	err.setAttribute('role', 'alert');
	form.appendChild(err);
	var bar = node('div', 'form-actions');
	var save = node('button', 'btn btn-primary', 'Save');
	save.type = 'submit';
	var done = node('button', 'btn', 'Close');
	done.type = 'button';
	bar.appendChild(done);
	bar.appendChild(save);
	form.appendChild(bar);
	dlg.appendChild(h);
	dlg.appendChild(mine);
	dlg.appendChild(form);
	document.body.appendChild(dlg);

	function renderMine() {
		while (mine.firstChild)
			mine.removeChild(mine.firstChild);
		if (!C.personal.length)
			mine.appendChild(node('li', 'hint', 'None yet.'));
		C.personal.forEach(function (r) {
			var li = node('li', 'canned-mine-item');
			li.appendChild(node('span', 'canned-short', '/' + r.shortcut));
			li.appendChild(node('span', 'canned-title', str(r.title)));
			var del = node('button', 'btn btn-quiet btn-small', 'Delete');
			del.type = 'button';
			del.setAttribute('aria-label', 'Delete /' + r.shortcut);
			del.addEventListener('click', function () {
				api.request({ type: 'canned_delete', shortcut: r.shortcut });
			});
			li.appendChild(del);
			mine.appendChild(li);
		});
	}

	manage.addEventListener('mousedown', function (ev) { ev.preventDefault(); });
	manage.addEventListener('click', function () {
		close();
		renderMine();
		err.hidden = true;
		dlg.showModal();
		inShort.focus();
	});
	done.addEventListener('click', function () { dlg.close(); reply.focus(); });
	form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		var sc = inShort.value.trim();
		if (!/^[a-z0-9_-]{1,32}$/.test(sc) || !inText.value.trim()) {
			err.textContent = 'A shortcut of a-z, 0-9, _ and - and a text, please.';
			err.hidden = false;
			return;
		}
		err.hidden = true;
		if (api.request({ type: 'canned_save', shortcut: sc, title: inTitle.value.trim(),
				  text: inText.value })) {
			inShort.value = inTitle.value = inText.value = '';
			inShort.focus();
		}
	});

	api.on('frame', function (msg) {
		if (msg.type === 'welcome' && api.isAgent()) {
			C.at = Date.now();
			api.send({ type: 'canned' });
		} else if (msg.type === 'canned') {
			C.shared = Array.isArray(msg.responses) ? msg.responses.filter(function (r) {
				return r && typeof r.shortcut === 'string' && typeof r.text === 'string';
			}) : [];
			C.personal = Array.isArray(msg.personal) ? msg.personal.filter(function (r) {
				return r && typeof r.shortcut === 'string' && typeof r.text === 'string';
			}) : [];
			if (dlg.open)
				renderMine();
			if (C.open)
				update();
		} else if (msg.type === 'error' && dlg.open && /shortcut|text|title|canned|keep/.test(str(msg.message))) {
			err.textContent = str(msg.message);
			err.hidden = false;
		}
	});
	api.on('select', close);
})();
