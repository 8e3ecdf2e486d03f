/*
 * omniroute agent console: take back a missed or declined offer
 * (docs/agent-protocol.md#take-back, docs/console.md).
 *
 * An offer that expired or that the agent rejected is listed under the
 * switch ("Missed and declined") with "Take it back" while the server
 * would allow it by default (offers.reject_cooldown, 2 minutes; a server
 * configured shorter refuses later takes, and the notice says so). A click sends `take`; the conversation comes
 * as an offer at once, and this file accepts that offer for the agent.
 * An error (someone else has it, it ended) is said in a notice and the
 * entry goes. Talks to console.js only through window.omrConsole.
 */
(function () {
	'use strict';
	var api = window.omrConsole;
	var side = document.getElementById('conversation-list');
	if (!api || !side)
		return;

	var KEEP_MS = 120000; /* offers.reject_cooldown's default */
	var node = api.node, str = api.str;
	var T = { offers: {}, missed: [], taking: {} };

	var box = node('section', 'takeback');
	box.id = 'takeback';
	box.setAttribute('data-testid', 'takeback');
	box.setAttribute('aria-label', 'Missed and declined offers');
	box.hidden = true;
	var title = node('h2', 'takeback-title', 'Missed and declined');
	var list = node('ul', 'takeback-list');
	box.appendChild(title);
	box.appendChild(list);
	side.parentNode.insertBefore(box, side);

	var TAKING_MS = 60000; /* a take's offer comes at once; after this, none is waited for */

	function prune() {
		var now = Date.now();
		T.missed = T.missed.filter(function (m) { return m.until > now; });
		Object.keys(T.taking).forEach(function (id) {
			if (now - T.taking[id] > TAKING_MS)
				delete T.taking[id];
		});
	}

	function render() {
		prune();
		while (list.firstChild)
			list.removeChild(list.firstChild);
		box.hidden = !T.missed.length;
		T.missed.forEach(function (m) {
			var li = node('li', 'takeback-item');
			li.setAttribute('data-testid', 'takeback-item');
			li.dataset.conversation = m.id;
			li.appendChild(node('p', 'takeback-who', m.who + ' · ' + api.channelLabel(m.channel)));
			li.appendChild(node('p', 'takeback-why', m.why === 'rejected' ? 'You declined it' : 'The offer expired'));
			var take = node('button', 'btn btn-small', T.taking[m.id] ? 'Taking…' : 'Take it back');
			take.type = 'button';
			take.setAttribute('data-testid', 'takeback-take');
			take.disabled = !!T.taking[m.id];
			take.addEventListener('click', function () {
				T.taking[m.id] = Date.now();
				api.send({ type: 'take', conversation: m.id });
				render();
			});
			var drop = node('button', 'btn btn-quiet btn-small', 'Dismiss');
			drop.type = 'button';
			drop.addEventListener('click', function () { forget(m.id); });
			li.appendChild(take);
			li.appendChild(drop);
			list.appendChild(li);
		});
	}

	function forget(id) {
		T.missed = T.missed.filter(function (m) { return m.id !== id; });
		delete T.taking[id];
		render();
	}

	api.on('frame', function (msg) {
		var c, o;
		switch (msg.type) {
		case 'offer':
			c = msg.conversation || {};
			T.offers[msg.offer] = { id: str(c.id), who: api.customerName(c.customer), channel: str(c.channel) };
			prune();
			if (T.taking[c.id]) {
				forget(c.id);
				api.acceptOffer(msg.offer);
			}
			break;
		case 'revoked':
			o = T.offers[msg.offer];
			delete T.offers[msg.offer];
			if (!o || !o.id || (msg.reason !== 'expired' && msg.reason !== 'rejected'))
				break;
			T.missed = T.missed.filter(function (m) { return m.id !== o.id; });
			T.missed.unshift({ id: o.id, who: o.who, channel: o.channel, why: msg.reason,
					   until: Date.now() + KEEP_MS });
			T.missed = T.missed.slice(0, 5);
			render();
			break;
		case 'assigned':
			c = msg.conversation || {};
			if (c.id)
				forget(c.id);
			if (msg.offer)
				delete T.offers[msg.offer];
			break;
		case 'error':
			if (msg.conversation && T.taking[msg.conversation]) {
				api.notice('Could not take it back: ' + str(msg.message), 'warn');
				forget(msg.conversation);
			}
			break;
		}
	});
	window.setInterval(function () {
		if (T.missed.length)
			render();
	}, 10000);
}());
