/*
 * omniroute agent console: offer alerts and keyboard shortcuts (loaded
 * after console.js, hooked in through window.omrConsole; docs/console.md).
 *
 * - A new offer plays a short tone (Web Audio, nothing downloaded) unless
 *   the agent switched the sound off (the "Sound" button in the top bar,
 *   remembered in localStorage), shows a desktop notification when the
 *   console is not in front (permission asked once, when the agent first
 *   goes available: a click, as browsers want), and makes the tab's title
 *   blink while an offer is open.
 * - Alt+A / Alt+R accept / reject the first offer from anywhere, even while
 *   typing; Alt+C closes the selected conversation (after a confirmation),
 *   Alt+T opens the transfer, Alt+W goes to the wrap-up.
 * - "Close conversation" asks first; the presence switch reads what the
 *   agent is (Available / Away).
 */
(function () {
	'use strict';

	var C = window.omrConsole;
	if (!C)
		return;
	var S = C.S, el = C.el, node = C.node;
	var KEY = 'omniroute.console.';
	var BLINK_MS = 1000;

	function load(name) {
		try { return window.localStorage.getItem(KEY + name); } catch (e) { return null; }
	}
	function save(name, value) {
		try { window.localStorage.setItem(KEY + name, value); } catch (e) { /* works without */ }
	}

	/* ---- the sound: a toggle in the top bar, on by default ---- */

	var A = { audio: null, sounds: 0, notified: 0, blink: null, blinkOn: false, seen: new Set() };
	var soundBtn = node('button', 'btn btn-quiet sound-toggle', 'Sound');
	soundBtn.type = 'button';
	soundBtn.id = 'sound-toggle';
	soundBtn.setAttribute('data-testid', 'sound-toggle');
	soundBtn.title = 'A tone when an offer arrives';

	function soundOn() {
		return load('sound') !== 'off';
	}
	function renderSound() {
		soundBtn.setAttribute('aria-pressed', soundOn() ? 'true' : 'false');
		soundBtn.dataset.sounds = String(A.sounds);
	}
	soundBtn.addEventListener('click', function () {
		save('sound', soundOn() ? 'off' : 'on');
		renderSound();
		C.announce(soundOn() ? 'Offer sound on.' : 'Offer sound off.');
	});
	var end = document.querySelector('.topbar-end');
	if (end)
		end.insertBefore(soundBtn, end.firstChild);
	renderSound();

	/* browsers start audio only after a gesture: made on the first one */
	function unlock() {
		if (A.audio || !(window.AudioContext || window.webkitAudioContext))
			return;
		try {
			A.audio = new (window.AudioContext || window.webkitAudioContext)();
		} catch (e) {
			A.audio = null;
		}
	}
	document.addEventListener('pointerdown', unlock, true);
	document.addEventListener('keydown', unlock, true);

	/* two short tones, 880 then 1320 Hz */
	function tone() {
		if (!soundOn())
			return;
		unlock();
		if (!A.audio)
			return;
		try {
			if (A.audio.state === 'suspended')
				A.audio.resume();
			var t = A.audio.currentTime;
			[[880, 0], [1320, 0.18]].forEach(function (p) {
				var o = A.audio.createOscillator(), g = A.audio.createGain();
				o.frequency.value = p[0];
				g.gain.setValueAtTime(0.0001, t + p[1]);
				g.gain.exponentialRampToValueAtTime(0.25, t + p[1] + 0.02);
				g.gain.exponentialRampToValueAtTime(0.0001, t + p[1] + 0.16);
				o.connect(g);
				g.connect(A.audio.destination);
				o.start(t + p[1]);
				o.stop(t + p[1] + 0.17);
			});
			A.sounds++;
			renderSound();
		} catch (e) { /* no sound, the rest still alerts */ }
	}

	/* ---- the desktop notification: permission asked once ---- */

	function askOnce() {
		if (!('Notification' in window) || Notification.permission !== 'default' || load('notify-asked'))
			return;
		save('notify-asked', '1');
		try {
			var p = Notification.requestPermission();
			if (p && p.then)
				p.then(function () {}, function () {});
		} catch (e) { /* old browsers: no notifications */ }
	}
	el.presenceToggle.addEventListener('click', askOnce);

	function notify(o) {
		if (!('Notification' in window) || Notification.permission !== 'granted')
			return;
		if (document.visibilityState === 'visible' && document.hasFocus())
			return; /* in front: the card, the tone and the title do */
		var conv = o.conversation || {};
		var body = C.customerName(conv.customer) + (C.str(conv.preview) ? ': ' + conv.preview.slice(0, 120) : '');
		try {
			var n = new Notification('New ' + C.channelLabel(conv.channel) + ' offer', {
				body: body, tag: 'omniroute-offer-' + o.offer, requireInteraction: false
			});
			n.onclick = function () {
				window.focus();
				n.close();
			};
			A.notified++;
		} catch (e) { /* e.g. a browser that wants a service worker */ }
	}

	/* ---- the blinking title ---- */

	function blink() {
		if (!S.offers.size) {
			window.clearInterval(A.blink);
			A.blink = null;
			if (A.blinkOn)
				document.title = A.title;
			A.blinkOn = false;
			return;
		}
		if (!A.blinkOn)
			A.title = document.title;
		A.blinkOn = !A.blinkOn;
		var first = C.firstOffer();
		var who = first ? C.customerName((first.o.conversation || {}).customer) : '';
		document.title = A.blinkOn ? '\u25cf New offer: ' + who : A.title;
	}

	function startBlink() {
		if (A.blink)
			return;
		A.blinkOn = false;
		blink();
		A.blink = window.setInterval(blink, BLINK_MS);
	}

	C.on('frame', function (msg) {
		if (msg.type === 'offer' && typeof msg.offer === 'string' && S.offers.has(msg.offer) &&
		    !A.seen.has(msg.offer)) {
			A.seen.add(msg.offer);
			tone();
			notify(msg);
			startBlink();
		} else if (msg.type === 'welcome' && S.offers.size) {
			startBlink();
		}
	});

	/* ---- close asks first ---- */

	var confirmBox = node('div', 'close-confirm');
	confirmBox.setAttribute('role', 'alertdialog');
	confirmBox.setAttribute('aria-labelledby', 'close-confirm-text');
	confirmBox.setAttribute('data-testid', 'close-confirm');
	confirmBox.hidden = true;
	var confirmText = node('p', 'close-confirm-text');
	confirmText.id = 'close-confirm-text';
	var confirmYes = node('button', 'btn btn-danger', 'Close it');
	confirmYes.type = 'button';
	confirmYes.setAttribute('data-testid', 'close-confirm-yes');
	var confirmNo = node('button', 'btn', 'Keep it open');
	confirmNo.type = 'button';
	confirmBox.appendChild(confirmText);
	confirmBox.appendChild(confirmYes);
	confirmBox.appendChild(confirmNo);
	var head = el.conversation.querySelector('.conv-head');
	if (head)
		head.parentNode.insertBefore(confirmBox, head.nextSibling);
	var confirmed = false;

	function askClose() {
		var entry = S.selected ? S.convs.get(S.selected) : null;
		if (!entry || entry.c.status !== 'assigned' || el.closeConversation.hidden ||
		    el.closeConversation.disabled)
			return;
		confirmText.textContent = 'Close the conversation with ' + C.customerName(entry.c.customer) +
			'? The customer is told it has ended.';
		confirmBox.dataset.conversation = entry.c.id;
		confirmBox.hidden = false;
		confirmNo.focus();
	}
	function hideConfirm() {
		confirmBox.hidden = true;
	}
	/* before console.js's own click handler: capture on the document */
	document.addEventListener('click', function (ev) {
		if (ev.target !== el.closeConversation || confirmed)
			return;
		ev.stopPropagation();
		ev.preventDefault();
		askClose();
	}, true);
	confirmYes.addEventListener('click', function () {
		hideConfirm();
		if (confirmBox.dataset.conversation !== S.selected)
			return;
		confirmed = true;
		try {
			el.closeConversation.click();
		} finally {
			confirmed = false;
		}
	});
	confirmNo.addEventListener('click', function () {
		hideConfirm();
		el.closeConversation.focus();
	});
	confirmBox.addEventListener('keydown', function (ev) {
		if (ev.key === 'Escape') {
			ev.preventDefault();
			ev.stopPropagation();
			hideConfirm();
			el.closeConversation.focus();
		}
	});
	C.on('selected', function (entry) {
		if (!entry || confirmBox.dataset.conversation !== entry.c.id)
			hideConfirm();
	});

	/* ---- Alt shortcuts, from anywhere (also while typing) ---- */

	var ALT_KEYS = { KeyA: 'accept', KeyR: 'reject', KeyC: 'close', KeyT: 'transfer', KeyW: 'wrapup' };

	document.addEventListener('keydown', function (ev) {
		if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.repeat || el.app.hidden || S.view === 'supervisor')
			return;
		/* ev.code: Alt+letter types another character on some layouts */
		var what = ALT_KEYS[ev.code];
		if (!what || (el.transferDialog.open && what !== 'transfer'))
			return;
		ev.preventDefault();
		var offer = C.firstOffer();
		switch (what) {
		case 'accept':
			if (offer)
				C.acceptOffer(offer.o.offer);
			break;
		case 'reject':
			if (offer)
				C.rejectOffer(offer.o.offer);
			break;
		case 'close':
			askClose();
			break;
		case 'transfer':
			if (!el.transferOpen.hidden && !el.transferOpen.disabled)
				el.transferOpen.click();
			break;
		case 'wrapup':
			if (!el.wrapupForm.hidden)
				el.wrapupReason.focus();
			break;
		}
	}, true);

	el.transferOpen.setAttribute('aria-keyshortcuts', 'Alt+T');
	el.closeConversation.setAttribute('aria-keyshortcuts', 'Alt+C');
	el.wrapupReason.setAttribute('aria-keyshortcuts', 'Alt+W');
	C.on('offer-card', function (li) {
		var a = li.querySelector('[data-testid="offer-accept"]');
		var r = li.querySelector('[data-testid="offer-reject"]');
		if (a)
			a.title = 'Accept (A, or Alt+A while typing)';
		if (r)
			r.title = 'Reject (R, or Alt+R while typing)';
	});

	/* ---- the switch reads what the agent is ---- */

	var label = el.presenceToggle.querySelector('.switch-label');
	function renderSwitch() {
		var on = el.presenceToggle.getAttribute('aria-checked') === 'true';
		if (label)
			label.textContent = on ? 'Available' : 'Away';
	}
	/* the switch's name stays "Available" (on or off) for screen readers */
	el.presenceToggle.setAttribute('aria-label', 'Available');
	if (label)
		label.setAttribute('aria-hidden', 'true');
	new MutationObserver(renderSwitch).observe(el.presenceToggle, { attributes: true,
		attributeFilter: ['aria-checked'] });
	renderSwitch();

	/* ---- the load chips: a short name too, for narrower windows (agent.css) ---- */

	var SHORT = { 'Web chat': 'Chat', 'E-mail': 'Mail', WhatsApp: 'WA', Messenger: 'Msgr',
		      Instagram: 'IG', Phone: 'Tel' };
	function shorten() {
		Array.prototype.forEach.call(el.capacity.querySelectorAll('.capacity-item'), function (item) {
			if (item.querySelector('.cap-long'))
				return;
			var m = /^(.*) (\d+\/\d+)$/.exec(item.textContent);
			if (!m || !SHORT.hasOwnProperty(m[1]))
				return;
			C.clear(item);
			item.appendChild(node('span', 'cap-long', m[1]));
			var short = node('span', 'cap-short', SHORT[m[1]]);
			short.setAttribute('aria-hidden', 'true');
			item.appendChild(short);
			item.appendChild(document.createTextNode(' ' + m[2]));
		});
	}
	new MutationObserver(shorten).observe(el.capacity, { childList: true });

	window.omrAlerts = A; /* for the browser tests: counts of tones and notifications */
})();
