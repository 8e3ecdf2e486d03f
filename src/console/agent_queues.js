/*
 * omniroute agent console: the queues the agent serves and how long
 * customers wait (loaded after console.js, hooked in through
 * window.omrConsole; docs/console.md).
 *
 * - "Waiting" above the conversation list: per queue the agent serves, how
 *   many wait and the longest wait (`queue_info` frames), coloured by the
 *   queue's service level: within, close to it (3/4 used), past it.
 * - Per conversation in the list: since when the customer waits for an
 *   answer (their oldest message after the last reply), same colours.
 * - A transferred conversation's offer says from whom, with the note.
 */
(function () {
	'use strict';

	var C = window.omrConsole;
	if (!C)
		return;
	var S = C.S, el = C.el, node = C.node, str = C.str;
	var Q = { queues: [], skew: 0 };

	/* ---- the panel ---- */

	var box = node('section', 'queue-info');
	box.setAttribute('aria-labelledby', 'queue-info-title');
	box.setAttribute('data-testid', 'queue-info');
	box.hidden = true;
	var title = node('h2', 'section-title', 'Waiting in your queues');
	title.id = 'queue-info-title';
	var list = node('ul', 'queue-info-list');
	box.appendChild(title);
	box.appendChild(list);
	var conversations = document.querySelector('.sidebar .conversations');
	if (conversations) {
		conversations.parentNode.insertBefore(box, conversations);
	}

	function serverNow() {
		return Date.now() + Q.skew;
	}

	function clock(ms) {
		var s = Math.max(0, Math.floor(ms / 1000));
		var m = Math.floor(s / 60);
		if (m >= 60)
			return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
		return m + ':' + String(s % 60).padStart(2, '0');
	}

	/* ok / warn (3/4 of the answer time used) / late; '' without an SLA */
	function slaState(waited, within) {
		if (!(within > 0))
			return '';
		return waited > within ? 'late' : waited >= within * 0.75 ? 'warn' : 'ok';
	}
	var SLA_WORD = { ok: 'within the service level', warn: 'close to the service level',
			 late: 'past the service level' };

	function setWait(span, since, within) {
		var waited = serverNow() - since;
		var st = slaState(waited, within);
		span.textContent = clock(waited);
		span.dataset.sla = st || 'none';
		span.title = st ? 'Waiting ' + clock(waited) + ': ' + SLA_WORD[st] : '';
	}

	function renderQueues() {
		C.clear(list);
		Q.queues.forEach(function (q) {
			var li = node('li', 'queue-info-item');
			li.dataset.queue = str(q.name);
			li.appendChild(node('span', 'queue-info-name', str(q.name)));
			var n = Number(q.waiting) || 0;
			var count = node('span', 'queue-info-count', n + ' waiting');
			count.setAttribute('data-testid', 'queue-waiting');
			li.appendChild(count);
			if (n > 0 && q.oldest_queued_at > 0) {
				var w = node('span', 'queue-info-wait');
				w.setAttribute('data-testid', 'queue-longest');
				w.dataset.since = String(q.oldest_queued_at);
				w.dataset.within = String(q.sla_within_ms || 0);
				li.appendChild(node('span', 'sr-only', ', longest '));
				li.appendChild(w);
			}
			list.appendChild(li);
		});
		box.hidden = Q.queues.length === 0 || S.view === 'supervisor';
		tick();
	}

	function tick() {
		document.querySelectorAll('.queue-info-wait, .conv-waiting').forEach(function (span) {
			setWait(span, Number(span.dataset.since), Number(span.dataset.within));
		});
	}

	/* ---- per conversation: waiting for an answer since ---- */

	function waitingSince(c) {
		var since = 0;
		for (var i = c.messages.length - 1; i >= 0; i--) {
			var m = c.messages[i];
			if (m.direction === 'out')
				break;
			if (m.direction === 'in' && typeof m.created_at === 'number')
				since = m.created_at;
		}
		return since;
	}

	function queueWithin(name) {
		var q = S.queues.filter(function (x) { return x.name === name; })[0];
		return q && q.sla_within_ms > 0 ? q.sla_within_ms : 0;
	}

	C.on('list-item', function (b, entry) {
		var c = entry.c;
		var since = c.status === 'assigned' ? waitingSince(c) : 0;
		if (!since)
			return;
		var w = node('span', 'conv-waiting');
		w.setAttribute('data-testid', 'conv-waiting');
		w.dataset.since = String(since);
		w.dataset.within = String(queueWithin(c.queue));
		var top = b.querySelector('.conv-item-top');
		var label = node('span', 'sr-only', 'waiting for your answer ');
		(top || b).appendChild(label);
		(top || b).appendChild(w);
		setWait(w, since, Number(w.dataset.within));
		w.title = 'Waiting for your answer since ' + new Date(since).toLocaleTimeString() +
			(w.title ? ' (' + w.title + ')' : '');
	});

	/* ---- a transferred conversation's offer ---- */

	C.on('offer-card', function (li, entry) {
		var conv = entry.o.conversation || {};
		var t = conv.transfer;
		if (!t || typeof t !== 'object')
			return;
		var kind = li.querySelector('.offer-kind');
		var from = str(t.name) || C.personName(str(t.by)) || str(t.by) || 'a colleague';
		if (kind)
			kind.textContent = 'Transferred from ' + from;
		li.classList.add('is-transfer');
		li.setAttribute('aria-label', 'Transfer from ' + from + ': ' + C.channelLabel(conv.channel) +
				' with ' + C.customerName(conv.customer));
		if (str(t.note)) {
			var p = node('p', 'offer-note');
			p.setAttribute('data-testid', 'offer-transfer-note');
			p.appendChild(node('span', 'offer-note-label', 'Note: '));
			p.appendChild(document.createTextNode(t.note));
			var customer = li.querySelector('.offer-customer');
			li.insertBefore(p, customer ? customer.nextSibling : null);
		}
	});

	C.on('frame', function (msg) {
		switch (msg.type) {
		case 'queue_info':
			if (!Array.isArray(msg.queues))
				return;
			if (typeof msg.now === 'number')
				Q.skew = msg.now - Date.now();
			Q.queues = msg.queues.filter(function (q) { return q && typeof q.name === 'string'; });
			renderQueues();
			break;
		case 'welcome':
			renderQueues();
			break;
		}
	});

	window.setInterval(tick, 1000);
	window.omrQueues = Q;
})();
