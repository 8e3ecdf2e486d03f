/*
 * omniroute agent console: searching past conversations and linking a
 * customer's identities (docs/search.md, docs/agent-protocol.md "Search
 * and linked identities"). Talks to console.js only through
 * window.omrConsole (request, openHistory, current, onFrame, ...).
 *
 * Keyboard: "/" (outside a text field) or Ctrl+K opens the search; Enter
 * searches; Arrow Down/Up walk the results, Enter opens one read-only;
 * "l" on a result links it to the current customer (after the
 * confirmation, which shows both); Escape closes.
 *
 * Text from customers is only ever inserted with textContent.
 */
(function () {
	'use strict';

	var C = window.omrConsole;
	if (!C)
		return;
	var PAGE = 20;
	var st = { q: '', offset: 0, results: [], total: 0, pending: null, viewing: null };

	var node = C.node, str = C.str;

	/* ---- the search panel: a button in the top bar, a panel below it ---- */

	var open = node('button', 'btn btn-quiet search-open', 'Search');
	open.type = 'button';
	open.id = 'search-open';
	open.setAttribute('aria-keyshortcuts', '/ Control+K');
	open.setAttribute('aria-expanded', 'false');
	open.setAttribute('aria-controls', 'search-panel');
	open.title = 'Search past conversations (/ or Ctrl+K)';

	var panel = node('section', 'search-panel');
	panel.id = 'search-panel';
	panel.hidden = true;
	panel.setAttribute('role', 'search');
	panel.setAttribute('aria-label', 'Search past conversations');
	var form = node('form', 'search-form');
	var label = node('label', 'sr-only', 'Search by name, e-mail, phone, conversation id or words');
	label.htmlFor = 'search-q';
	var input = node('input', 'search-q');
	input.id = 'search-q';
	input.type = 'search';
	input.maxLength = 256;
	input.autocomplete = 'off';
	input.placeholder = 'Name, e-mail, phone, c_… or words';
	input.setAttribute('aria-describedby', 'search-status');
	var go = node('button', 'btn btn-primary btn-small', 'Search');
	go.type = 'submit';
	var shut = node('button', 'btn btn-quiet btn-small', 'Close');
	shut.type = 'button';
	form.appendChild(label);
	form.appendChild(input);
	form.appendChild(go);
	form.appendChild(shut);
	var status = node('p', 'search-status');
	status.id = 'search-status';
	status.setAttribute('role', 'status');
	var list = node('ul', 'search-results');
	list.id = 'search-results';
	list.setAttribute('aria-label', 'Results');
	var more = node('button', 'btn btn-quiet btn-small search-more', 'More results');
	more.type = 'button';
	more.hidden = true;
	panel.appendChild(form);
	panel.appendChild(status);
	panel.appendChild(list);
	panel.appendChild(more);

	var bar = document.querySelector('.topbar');
	var end = bar ? bar.querySelector('.topbar-end') : null;
	if (bar)
		bar.insertBefore(open, end);
	var app = document.getElementById('app') || document.body;
	var ws = document.getElementById('workspace');
	app.insertBefore(panel, ws);

	function show() {
		panel.hidden = false;
		open.setAttribute('aria-expanded', 'true');
		input.focus();
		input.select();
	}
	function hide() {
		panel.hidden = true;
		open.setAttribute('aria-expanded', 'false');
		open.focus();
	}
	open.addEventListener('click', function () { if (panel.hidden) show(); else hide(); });
	shut.addEventListener('click', hide);

	function run(offset) {
		var q = input.value;
		if (!q.trim()) {
			status.textContent = 'Type a name, an address, a phone number, an id or words.';
			return;
		}
		st.q = q;
		st.offset = offset;
		st.pending = q;
		status.textContent = 'Searching…';
		C.request({ type: 'search', q: q, offset: offset, limit: PAGE });
	}
	form.addEventListener('submit', function (ev) {
		ev.preventDefault();
		run(0);
	});
	more.addEventListener('click', function () { run(st.offset + PAGE); });

	var MATCH = { id: 'id', address: 'address', phone: 'phone', name: 'name', text: 'words' };

	function current() { return C.current(); }

	/* the current conversation's customer may be linked with r's: the
	 * agent holds it, and r is another customer */
	function linkable(r) {
		var c = current(), me = C.me();
		return !!(c && c.customer && str(c.customer.id) && str(r.customer) &&
			  r.customer !== c.customer.id && me && c.agent === me.id &&
			  (c.status === 'assigned' || c.status === 'wrapup'));
	}

	function resultItem(r, i) {
		var li = node('li', 'search-result');
		var b = node('button', 'search-hit');
		b.type = 'button';
		b.setAttribute('data-testid', 'search-result');
		b.dataset.conversation = str(r.conversation);
		b.dataset.index = String(i);
		var top = node('span', 'search-top');
		top.appendChild(node('span', 'search-name', str(r.name) || 'Unknown customer'));
		top.appendChild(node('span', 'channel-tag channel-' + str(r.channel).replace(/[^a-z0-9_-]/gi, ''),
				     C.channelLabel(str(r.channel))));
		top.appendChild(node('span', 'search-match', MATCH[r.match] || ''));
		b.appendChild(top);
		var meta = [str(r.status), str(r.queue)].filter(Boolean).join(' · ');
		if (typeof r.created_at === 'number')
			meta += (meta ? ' · ' : '') + C.stamp(r.created_at);
		b.appendChild(node('span', 'search-meta', meta));
		if (str(r.preview))
			b.appendChild(node('span', 'search-preview', r.preview));
		b.setAttribute('aria-label', (str(r.name) || 'Unknown customer') + ', ' + meta +
			       (str(r.preview) ? ': ' + r.preview : '') + '. Enter opens it read-only.');
		b.addEventListener('click', function () { openResult(r); });
		b.addEventListener('keydown', function (ev) { resultKey(ev, r, i); });
		li.appendChild(b);
		if (linkable(r)) {
			var l = node('button', 'btn btn-quiet btn-small search-link', 'Link to current customer…');
			l.type = 'button';
			l.setAttribute('data-testid', 'search-link');
			l.setAttribute('aria-keyshortcuts', 'L');
			l.addEventListener('click', function () { confirmLink(r); });
			li.appendChild(l);
		}
		return li;
	}

	function render() {
		while (list.firstChild)
			list.removeChild(list.firstChild);
		st.results.forEach(function (r, i) { list.appendChild(resultItem(r, i)); });
		more.hidden = st.results.length >= st.total;
	}

	function hits() { return Array.prototype.slice.call(list.querySelectorAll('.search-hit')); }

	function resultKey(ev, r, i) {
		var h = hits();
		if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
			ev.preventDefault();
			var j = i + (ev.key === 'ArrowDown' ? 1 : -1);
			if (j < 0)
				input.focus();
			else if (h[j])
				h[j].focus();
		} else if ((ev.key === 'l' || ev.key === 'L') && linkable(r)) {
			ev.preventDefault();
			confirmLink(r);
		}
	}

	input.addEventListener('keydown', function (ev) {
		if (ev.key === 'ArrowDown') {
			var h = hits();
			if (h[0]) {
				ev.preventDefault();
				h[0].focus();
			}
		}
	});
	panel.addEventListener('keydown', function (ev) {
		if (ev.key === 'Escape') {
			ev.preventDefault();
			ev.stopPropagation();
			hide();
		}
	});

	/* a supervisor's view has no conversation pane: the result is read
	 * in the panel itself */
	var view = node('section', 'search-view');
	view.hidden = true;
	view.setAttribute('aria-label', 'Conversation, read-only');
	var viewTitle = node('h2', 'section-title');
	var viewList = node('ol', 'transcript search-transcript');
	viewList.tabIndex = 0;
	view.appendChild(viewTitle);
	view.appendChild(node('p', 'readonly-banner', 'Earlier conversation · read-only'));
	view.appendChild(viewList);
	panel.appendChild(view);

	function paneShown() {
		var w = document.getElementById('workspace');
		return !!(w && !w.hidden && w.offsetParent !== null);
	}

	function openResult(r) {
		if (paneShown()) {
			view.hidden = true;
			C.openHistory({ id: r.conversation, channel: r.channel, created_at: r.created_at });
			return;
		}
		st.viewing = r.conversation;
		viewTitle.textContent = (str(r.name) || 'Unknown customer') + ' · ' + C.channelLabel(str(r.channel));
		while (viewList.firstChild)
			viewList.removeChild(viewList.firstChild);
		viewList.appendChild(node('li', 'transcript-empty', 'Loading…'));
		view.hidden = false;
		C.request({ type: 'open', conversation: r.conversation });
	}

	function showInPanel(c) {
		while (viewList.firstChild)
			viewList.removeChild(viewList.firstChild);
		(Array.isArray(c.messages) ? c.messages : []).forEach(function (m) {
			if (!m || typeof m !== 'object')
				return;
			var li = node('li', 'search-msg');
			var who = str(m.author_name) || str(m.author);
			var head = node('span', 'search-meta', who +
				(typeof m.created_at === 'number' ? ' · ' + C.stamp(m.created_at) : ''));
			li.appendChild(head);
			li.appendChild(node('p', 'search-msg-text', str(m.text)));
			viewList.appendChild(li);
		});
		viewList.focus();
	}

	/* "/" or Ctrl+K, outside text fields */
	document.addEventListener('keydown', function (ev) {
		var t = ev.target, typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' ||
						     t.tagName === 'SELECT' || t.isContentEditable);
		var app = document.getElementById('app');
		if (!app || app.hidden)
			return;
		if ((ev.key === '/' && !typing && !ev.ctrlKey && !ev.altKey && !ev.metaKey) ||
		    (ev.key === 'k' && ev.ctrlKey && !ev.altKey && !ev.metaKey)) {
			ev.preventDefault();
			show();
		}
	});

	/* ---- linking: a confirmation that shows both customers ---- */

	var dlg = node('dialog', 'dialog link-dialog');
	dlg.id = 'link-dialog';
	dlg.setAttribute('aria-labelledby', 'link-title');
	var dTitle = node('h2', 'dialog-title', 'Link these identities?');
	dTitle.id = 'link-title';
	var dText = node('p', 'link-explain');
	var dBoth = node('div', 'link-both');
	var dActs = node('div', 'dialog-actions');
	var dOk = node('button', 'btn btn-primary', 'Link');
	dOk.type = 'button';
	dOk.setAttribute('data-testid', 'link-confirm');
	var dNo = node('button', 'btn', 'Cancel');
	dNo.type = 'button';
	dActs.appendChild(dOk);
	dActs.appendChild(dNo);
	dlg.appendChild(dTitle);
	dlg.appendChild(dText);
	dlg.appendChild(dBoth);
	dlg.appendChild(dActs);
	document.body.appendChild(dlg);
	var dAction = null;

	function card(title, name, id, lines) {
		var d = node('div', 'link-card');
		d.appendChild(node('h3', 'subsection-title', title));
		d.appendChild(node('p', 'customer-name', name || 'Unknown customer'));
		d.appendChild(node('p', 'link-id', id));
		var ul = node('ul', 'addresses');
		lines.forEach(function (l) { if (l) ul.appendChild(node('li', '', l)); });
		d.appendChild(ul);
		return d;
	}

	function ask(title, text, okText, a, b, action) {
		dTitle.textContent = title;
		dText.textContent = text;
		dOk.textContent = okText;
		while (dBoth.firstChild)
			dBoth.removeChild(dBoth.firstChild);
		dBoth.appendChild(a);
		dBoth.appendChild(b);
		dAction = action;
		if (typeof dlg.showModal === 'function')
			dlg.showModal();
		else
			dlg.setAttribute('open', '');
		dNo.focus();
	}
	function done() {
		dAction = null;
		if (dlg.open)
			dlg.close();
	}
	dNo.addEventListener('click', done);
	dOk.addEventListener('click', function () {
		var f = dAction;
		done();
		if (f)
			f();
	});

	function currentCard(c) {
		var cu = c.customer || {};
		return card('This customer', str(cu.name), str(cu.id),
			    (Array.isArray(cu.addresses) ? cu.addresses : []).concat([str(cu.email)]));
	}

	function confirmLink(r) {
		var c = current();
		if (!c || !linkable(r))
			return;
		ask('Link these identities?',
		    'Only when you have checked that they are the same person: each then sees the other\'s ' +
		    'conversations. Balances stay apart; you can unlink later.', 'Link',
		    currentCard(c),
		    card('Found', str(r.name), str(r.customer),
			 [C.channelLabel(str(r.channel)) + ' · ' + str(r.status), str(r.preview)]),
		    function () {
			    C.request({ type: 'link', customer: c.customer.id, other: r.customer,
					conversation: c.id });
		    });
	}

	/* ---- the panel: the linked identities, each with "Unlink" ---- */

	var box = node('div', 'linked-box');
	box.setAttribute('data-testid', 'linked-identities');
	box.hidden = true;
	box.appendChild(node('h3', 'subsection-title', 'Linked identities'));
	var linkedList = node('ul', 'linked-list');
	box.appendChild(linkedList);
	var prevTitle = document.getElementById('customer-previous');
	var body = document.getElementById('customer-body');
	if (body && prevTitle)
		body.insertBefore(box, prevTitle.previousElementSibling);

	function showLinked(c, cust) {
		while (linkedList.firstChild)
			linkedList.removeChild(linkedList.firstChild);
		var panelData = cust && cust.panel && typeof cust.panel === 'object' ? cust.panel : {};
		var linked = Array.isArray(panelData.linked) ? panelData.linked : [];
		var me = C.me();
		var mine = c && me && c.agent === me.id && (c.status === 'assigned' || c.status === 'wrapup');
		linked.forEach(function (l) {
			if (!l || !str(l.id))
				return;
			var li = node('li', 'linked-item');
			li.appendChild(node('span', 'linked-name', str(l.name) || 'Unknown customer'));
			var addrs = Array.isArray(l.addresses) ? l.addresses.filter(function (a) {
				return typeof a === 'string';
			}) : [];
			if (addrs.length)
				li.appendChild(node('span', 'linked-addr', addrs.join(', ')));
			if (mine) {
				var u = node('button', 'btn btn-quiet btn-small', 'Unlink…');
				u.type = 'button';
				u.setAttribute('data-testid', 'unlink');
				u.addEventListener('click', function () {
					ask('Unlink this identity?',
					    'Their conversations are no longer shown together.', 'Unlink',
					    currentCard(c), card('Linked', str(l.name), l.id, addrs),
					    function () {
						    C.request({ type: 'unlink', customer: cust.id, other: l.id,
								conversation: c.id });
					    });
				});
				li.appendChild(u);
			}
			linkedList.appendChild(li);
		});
		box.hidden = !linkedList.children.length;
	}

	/* ---- frames ---- */

	C.onFrame(function (msg) {
		if (msg.type === 'search_results') {
			if (msg.q !== st.pending)
				return;
			var page = Array.isArray(msg.results) ? msg.results : [];
			st.results = (msg.offset ? st.results : []).concat(page);
			st.total = typeof msg.total === 'number' ? msg.total : st.results.length;
			status.textContent = st.total ? st.total + (st.total === 1 ? ' conversation' : ' conversations') +
				' found' : 'Nothing found.';
			render();
		} else if (msg.type === 'error' && st.pending !== null &&
			   (msg.code === 'bad_query' || (msg.code === 'bad_request' && !msg.conversation))) {
			status.textContent = str(msg.message) || 'This cannot be searched.';
		} else if (msg.type === 'linked') {
			C.announce(msg.changed ? (msg.other && msg.linked && msg.linked.indexOf(msg.other) >= 0 ?
				'Identities linked.' : 'Identity unlinked.') : 'Nothing changed.');
			C.notice(msg.changed ? 'Done: the customer panel shows the linked conversations.' :
				 'Nothing changed: they were already so.', 'info');
			if (str(msg.conversation))
				C.request({ type: 'open', conversation: msg.conversation });
			if (!panel.hidden && st.results.length)
				render();
		} else if (msg.type === 'history' && st.viewing && msg.conversation &&
			   msg.conversation.id === st.viewing) {
			st.viewing = null;
			showInPanel(msg.conversation);
		} else if (msg.type === 'error' && st.viewing && msg.conversation === st.viewing) {
			st.viewing = null;
			while (viewList.firstChild)
				viewList.removeChild(viewList.firstChild);
			viewList.appendChild(node('li', 'transcript-empty', str(msg.message) || 'Not available.'));
		} else if (msg.type === 'customer_shown') {
			showLinked(msg.conversation, msg.customer);
		}
	});
})();
