// The agent console's problems of issue 17, one assertion (at least) per
// problem that failed before its fix. Run by tests/e2e/test_console_problems.py
// (which documents the nine); from the environment:
//   E2E_BASE       http://127.0.0.1:<edge port>
//   E2E_LMTP_PORT  the e-mail plugin's LMTP port
//   E2E_OUT, E2E_CHROMIUM, E2E_PLAYWRIGHT as for every script (e2e_harness.mjs)

import assert from 'node:assert/strict';
import { BASE, begin, dialogs, launch, login, newPage, ok, problems, run, shot, STEP_MS, watch } from './e2e_harness.mjs';
import { lmtpDeliver } from './e2e_lmtp.mjs';

const LMTP_PORT = Number(process.env.E2E_LMTP_PORT);
const QUESTION = 'Hallo, ik heb een vraag over mijn factuur';
const QUESTION2 = 'Goedemiddag, nog een vraag over de factuur van maart';

if (!BASE || !LMTP_PORT) {
	console.error('console_problems_e2e: set E2E_BASE and E2E_LMTP_PORT (test_console_problems.py does)');
	process.exit(2);
}

/* The console's context: notifications allowed; window.__notes records
 * every desktop notification, window.__blur pretends the agent works in
 * another window. */
async function consolePage(browser, width, height) {
	const ctx = await browser.newContext({ viewport: { width, height } });
	await ctx.grantPermissions(['notifications'], { origin: BASE });
	await ctx.addInitScript(() => {
		const N = window.Notification;
		window.__notes = [];
		window.__asked = 0;
		function Spy(title, opts) {
			window.__notes.push({ title, body: opts && opts.body });
			return new N(title, opts);
		}
		Object.defineProperty(Spy, 'permission', { get: () => N.permission });
		Spy.requestPermission = (...a) => { window.__asked++; return N.requestPermission(...a); };
		window.Notification = Spy;
		const hasFocus = document.hasFocus.bind(document);
		document.hasFocus = () => (window.__blur ? false : hasFocus());
	});
	const page = await ctx.newPage();
	watch('console', page);
	return page;
}

async function visitor(width, height, name) {
	const page = await newPage(name, width, height);
	await page.goto(BASE + '/chat-demo/');
	await page.locator('#conn[data-state="online"]').waitFor();
	return page;
}

async function say(page, text) {
	await page.locator('#text').fill(text);
	await page.locator('#text').press('Enter');
	await page.locator('#log li.msg.from-visitor:not(.pending)', { hasText: text }).waitFor();
}

function box(page, sel) {
	return page.locator(sel).first().boundingBox();
}

function overlaps(a, b) {
	return a && b && a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

async function main() {
	const browser = await launch();
	const A = await consolePage(browser, 1366, 768);

	/* the agent's websocket through a route: a frame can be held back (a
	 * late delivery after an outage) */
	const wsCtl = { hold: null, held: [], current: null };
	await A.routeWebSocket(/\/agent$/, (ws) => {
		const server = ws.connectToServer();
		wsCtl.current = ws;
		ws.onMessage((m) => server.send(m));
		server.onMessage((m) => {
			const f = typeof m === 'string' ? JSON.parse(m) : null;
			if (f && wsCtl.hold && wsCtl.hold(f)) {
				wsCtl.held.push(m);
				return;
			}
			ws.send(m);
		});
	});

	/* ---- 9: the switch says what the agent is ---- */
	begin('login');
	await login(A, 'alice', 'alice');
	const label = A.locator('#presence-toggle .switch-label');
	await A.locator('#presence-toggle[aria-checked="false"]').waitFor();
	assert.equal(await label.textContent(), 'Away', '9: the switch reads "Away" while away');
	await A.locator('#presence-toggle').click();
	await A.locator('#presence-toggle[aria-checked="true"]').waitFor();
	assert.equal(await label.textContent(), 'Available', '9: and "Available" while available');
	assert.equal(await A.evaluate(() => window.__asked), 0,
		     '1: notifications already allowed: not asked again');
	ok('9: the switch reads Away / Available');

	/* ---- 4: the top bar fits, at 1280, 1366 and 1440 ---- */
	begin('top bar');
	for (const [w, h] of [[1280, 800], [1366, 768], [1440, 900]]) {
		await A.setViewportSize({ width: w, height: h });
		const m = await A.evaluate(() => {
			const out = document.getElementById('logout').getBoundingClientRect();
			const items = Array.from(document.querySelectorAll('.capacity-item'));
			const cap = document.getElementById('capacity').getBoundingClientRect();
			return { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
				 bodyScroll: document.body.scrollWidth, outRight: out.right, outWidth: out.width,
				 topbarHeight: document.querySelector('.topbar').getBoundingClientRect().height,
				 lines: new Set(items.map((i) => Math.round(i.getBoundingClientRect().top))).size,
				 items: items.length,
				 clipped: items.filter((i) => i.getBoundingClientRect().right > cap.right + 0.5).length };
		});
		assert.ok(m.scroll <= m.client && m.bodyScroll <= m.client,
			  `4: no horizontal scrolling at ${w} px (${JSON.stringify(m)})`);
		assert.ok(m.outRight <= m.client && m.outWidth > 40, `4: "Sign out" is whole at ${w} px`);
		assert.ok(m.items === 7 && m.lines === 1 && m.clipped === 0,
			  `4: the seven load chips whole, on one line at ${w} px (${JSON.stringify(m)})`);
		assert.ok(m.topbarHeight <= 60, `4: the top bar is one row at ${w} px (${m.topbarHeight})`);
		await shot(A, `problems-topbar-${w}.png`);
	}
	await A.setViewportSize({ width: 1366, height: 768 });
	ok('4: the top bar fits 1280, 1366 and 1440 px');

	/* ---- 1: an offer alerts: tone, notification, blinking title ---- */
	begin('offer alerts');
	await A.evaluate(() => { window.__blur = true; });
	const B = await visitor(720, 860, 'chat');
	await say(B, QUESTION);
	const card = A.locator('[data-testid="offer-card"]').first();
	await card.waitFor({ state: 'visible' });
	const firstOffer = await card.getAttribute('data-offer');
	await A.waitForFunction(() => window.omrAlerts && window.omrAlerts.sounds >= 1);
	const notes = await A.evaluate(() => window.__notes);
	assert.equal(notes.length, 1, '1: one desktop notification for the offer');
	assert.match(notes[0].title, /offer/i, '1: it says it is an offer');
	assert.ok(notes[0].body.includes('factuur'), '1: with the question');
	const titles = new Set();
	for (let i = 0; i < 12; i++) {
		titles.add(await A.title());
		await A.waitForTimeout(250);
	}
	assert.ok([...titles].some((t) => t.startsWith('\u25cf New offer')) && titles.size >= 2,
		  `1: the title blinks (${[...titles].join(' | ')})`);
	ok(`1: tone, notification and a blinking title (${[...titles].join(' | ')})`);
	/* the sound can be switched off, and stays off */
	const sound = A.locator('#sound-toggle');
	assert.equal(await sound.getAttribute('aria-pressed'), 'true', '1: the sound is on by default');
	await sound.click();
	assert.equal(await sound.getAttribute('aria-pressed'), 'false', '1: a click turns it off');
	assert.equal(await A.evaluate(() => localStorage.getItem('omniroute.console.sound')), 'off',
		     '1: remembered');
	await sound.click();
	ok('1: the sound toggle works');

	/* ---- 6: the visitor is told an agent has it ---- */
	await B.locator('#queue', { hasText: 'about to join' }).waitFor();
	ok('6: the visitor hears an agent is about to join (no stale queue position)');

	/* ---- 5: a missed offer comes back to the only agent ---- */
	begin('missed offer comes back');
	await A.locator(`[data-testid="offer-card"][data-offer="${firstOffer}"]`).waitFor({ state: 'detached', timeout: 15000 });
	const again = A.locator(`[data-testid="offer-card"]:not([data-offer="${firstOffer}"])`).first();
	await again.waitFor({ state: 'visible', timeout: 8000 });
	assert.ok((await again.textContent()).includes('factuur'), '5: for the same conversation');
	ok('5: the missed offer came back at once to the only agent who can take it');

	/* ---- 3: Alt+A accepts while typing ---- */
	begin('Alt+A while typing');
	await A.locator('#presence-reason').click();
	await A.keyboard.type('lunch');
	await A.keyboard.press('Alt+KeyA');
	const items = A.locator('[data-testid="conversation-item"]');
	await items.first().waitFor();
	const conv1 = await items.first().getAttribute('data-conversation');
	assert.equal(await A.locator('#presence-reason').inputValue(), 'lunch', '3: the field kept its text');
	await A.evaluate(() => { window.__blur = false; });
	await A.locator('#presence-reason').fill('');
	ok('3: Alt+A accepted the offer while typing');

	/* ---- 6: "Alice joined" ---- */
	begin('visitor hears who joined');
	await B.locator('#log li.event-joined', { hasText: 'Alice joined' }).waitFor();
	assert.equal(await B.locator('#queue').isVisible(), false, '6: no queue position after the accept');
	ok('6: the visitor sees "Alice joined the chat."');

	/* ---- 5: waiting for an answer since, with the SLA's colour ---- */
	begin('waiting since');
	const waiting = items.first().locator('[data-testid="conv-waiting"]');
	await waiting.waitFor();
	await A.locator('[data-testid="conv-waiting"][data-sla="late"]').waitFor({ timeout: 8000 });
	ok(`5: the conversation shows how long the customer waits (${await waiting.textContent()}), past the SLA in red`);
	await A.locator('#reply-text').fill('Ik kijk het voor u na');
	await A.locator('#reply-text').press('Enter');
	await B.locator('#log li.msg.from-agent', { hasText: 'Ik kijk het voor u na' }).waitFor();
	await waiting.waitFor({ state: 'detached' });
	ok('5: answered: no longer waiting');

	/* ---- 5: the queues: waiting count and longest wait ---- */
	begin('queue information');
	await A.locator('#presence-toggle').click();
	await A.locator('#presence-toggle[aria-checked="false"]').waitFor();
	const B2 = await visitor(720, 860, 'chat 2');
	await say(B2, QUESTION2);
	const billing = A.locator('[data-testid="queue-info"] li[data-queue="billing"]');
	await billing.locator('[data-testid="queue-waiting"]', { hasText: '1 waiting' }).waitFor({ timeout: 10000 });
	await billing.locator('[data-testid="queue-longest"][data-sla="late"]').waitFor({ timeout: 10000 });
	ok(`5: "billing: ${await billing.locator('[data-testid="queue-waiting"]').textContent()}, longest ` +
	   `${await billing.locator('[data-testid="queue-longest"]').textContent()}", past the SLA`);
	await shot(A, 'problems-queues.png');

	/* ---- 3: Alt+A while typing in the reply box ---- */
	begin('Alt+A in the reply box');
	await A.locator('#presence-toggle').click();
	await A.locator('[data-testid="offer-card"]').first().waitFor();
	await A.locator('#reply-text').click();
	await A.keyboard.type('Een moment');
	await A.keyboard.press('Alt+KeyA');
	await A.locator('[data-testid="conversation-item"]').nth(1).waitFor();
	await billing.locator('[data-testid="queue-waiting"]', { hasText: '0 waiting' }).waitFor({ timeout: 10000 });
	ok('3: Alt+A accepted from the reply box; the queue is empty again');
	const conv2 = await A.evaluate((c1) => Array.from(document.querySelectorAll('[data-testid="conversation-item"]'))
		.map((b) => b.dataset.conversation).filter((id) => id !== c1)[0], conv1);
	await B2.locator('#log li.event-joined', { hasText: 'Alice joined' }).waitFor();

	/* ---- 9: a late message goes in its place in time ---- */
	begin('late message');
	await A.locator(`[data-testid="conversation-item"][data-conversation="${conv2}"]`).click();
	let heldOne = false;
	wsCtl.hold = (f) => {
		if (!heldOne && f.type === 'message' && f.message && f.message.text === 'eerste') {
			heldOne = true;
			return true;
		}
		return false;
	};
	await say(B2, 'eerste');
	await say(B2, 'tweede');
	const inbound = A.locator('#transcript [data-testid="message"][data-direction="in"]');
	await inbound.filter({ hasText: 'tweede' }).waitFor();
	wsCtl.hold = null;
	for (const m of wsCtl.held.splice(0))
		wsCtl.current.send(m);
	await inbound.filter({ hasText: 'eerste' }).waitFor();
	const order = (await inbound.allTextContents()).map((t) => (t.includes('eerste') ? 'eerste' :
		t.includes('tweede') ? 'tweede' : '')).filter(Boolean);
	assert.deepEqual(order, ['eerste', 'tweede'], '9: the late message is shown before the later one');
	ok('9: a message delivered late is shown in its place in time');

	/* ---- 9: the conversation id's contrast, role=log ---- */
	begin('contrast and roles');
	const contrast = await A.evaluate(() => {
		const rgb = (css) => css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
		const lum = (c) => {
			c = c.map((v) => {
				v /= 255;
				return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
			});
			return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
		};
		const el = document.querySelector('#conv-meta .conv-id');
		if (!el)
			return null;
		let bg = null;
		for (let n = el; n && !bg; n = n.parentElement) {
			const b = getComputedStyle(n).backgroundColor;
			if (b && !/rgba\(0, 0, 0, 0\)|transparent/.test(b))
				bg = b;
		}
		const s = getComputedStyle(el);
		/* the text as drawn: its colour over the background by its opacity */
		const a = Number(s.opacity), b = rgb(bg || 'rgb(255, 255, 255)');
		const drawn = rgb(s.color).map((v, i) => v * a + b[i] * (1 - a));
		const fg = lum(drawn), back = lum(b);
		return (Math.max(fg, back) + 0.05) / (Math.min(fg, back) + 0.05);
	});
	assert.ok(contrast !== null && contrast >= 4.5, `9: the conversation id has a contrast of 4.5:1 at least (${contrast})`);
	const roles = await A.evaluate(() => ({
		ol: document.getElementById('transcript').getAttribute('role'),
		parent: document.getElementById('transcript').parentElement.getAttribute('role'),
	}));
	assert.deepEqual(roles, { ol: null, parent: 'log' }, '9: role=log on a wrapper, the <ol> stays a list');
	ok(`9: conversation id contrast ${contrast.toFixed(2)}:1; role=log on the wrapper`);

	/* ---- 3 and 7: Alt+T transfers; the colleague's card says from whom ---- */
	begin('transfer');
	const Bob = await consolePage(browser, 1280, 800);
	await login(Bob, 'bob', 'bob');
	await Bob.locator('#presence-toggle').click();
	await Bob.locator('#presence-toggle[aria-checked="true"]').waitFor();
	await A.locator(`[data-testid="conversation-item"][data-conversation="${conv1}"]`).click();
	await A.locator('#reply-text').click();
	await A.keyboard.press('Alt+KeyT');
	await A.locator('#transfer-dialog[open]').waitFor();
	await A.locator('#transfer-kind-agent').check();
	await A.locator('#transfer-agent').selectOption('bob');
	await A.locator('#transfer-note').fill('Klant wil een creditnota voor maart');
	await A.locator('#transfer-submit').click();
	const bobCard = Bob.locator('[data-testid="offer-card"]').first();
	await bobCard.waitFor({ state: 'visible' });
	assert.equal((await bobCard.locator('.offer-kind').textContent()).trim(), 'Transferred from Alice',
		     '7: the card says who transferred it');
	assert.ok((await bobCard.locator('[data-testid="offer-transfer-note"]').textContent()).includes('creditnota'),
		  '7: with the note');
	await shot(Bob, 'problems-transfer-card.png');
	await bobCard.locator('[data-testid="offer-accept"]').click();
	await Bob.locator('[data-testid="conversation-item"]').first().waitFor();
	ok('3/7: Alt+T opened the transfer; bob\'s card reads "Transferred from Alice" with the note');

	/* ---- 2 and 8: e-mail ---- */
	begin('e-mail');
	const lmtp = await lmtpDeliver(LMTP_PORT, 'eva@example.net', [
		'From: Eva Jansen <eva@example.net>', 'To: support@example.com',
		'Subject: Vraag over factuur', 'Message-ID: <e2e-problems-1@example.net>',
		'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '',
		'Beste klantenservice,', '',
		'Mijn factuur van maart is hoger dan die van februari en ik begrijp niet',
		'goed waarom dat zo is, want ik heb niets aan mijn abonnement veranderd',
		'sinds vorig jaar.', '',
		'Groet,', 'Eva', '',
		'Op 1 maart 2026 schreef Klantenservice <support@example.com>:',
		'> Dank voor uw bericht over de factuur.',
		'> Met vriendelijke groet, Klantenservice']);
	assert.ok(lmtp.startsWith('250'), `LMTP: ${lmtp}`);
	const mailCard = A.locator('[data-testid="offer-card"]', { hasText: 'Eva' }).first();
	await mailCard.waitFor({ state: 'visible' });
	await mailCard.locator('[data-testid="offer-accept"]').click();
	const mail = A.locator('#transcript [data-testid="message"][data-direction="in"]', { hasText: 'februari' }).first();
	await mail.waitFor();
	const mailText = await mail.locator('.text').textContent();
	assert.ok(mailText.includes('ik begrijp niet goed waarom dat zo is, want ik heb niets aan mijn abonnement veranderd sinds'),
		  `8: the hard-wrapped lines are one paragraph (${JSON.stringify(mailText)})`);
	assert.ok(mailText.includes('Groet,\nEva'), '8: short lines stay as they are');
	const full = mail.locator('[data-testid="mail-full"]');
	assert.equal(await full.getAttribute('open'), null, '8: the whole mail is there, closed');
	await full.locator('summary').click();
	assert.ok((await full.textContent()).includes('Dank voor uw bericht'), '8: it opens on the quoted history');
	ok('8: reflowed paragraphs; the whole mail with its quoted history opens');

	const composer = A.locator('[data-testid="mail-composer"]');
	await composer.waitFor();
	const head = await composer.textContent();
	assert.ok(head.includes('To: Eva Jansen <eva@example.net>'), `2: To (${head})`);
	assert.ok(head.includes('Subject: Re: Vraag over factuur'), '2: the subject');
	const quote = composer.locator('[data-testid="mail-quote"]');
	assert.equal(await quote.getAttribute('open'), null, '2: the quoted mail is collapsed');
	assert.ok((await quote.textContent()).includes('> Mijn factuur van maart'), '2: and quoted');
	assert.ok(await A.locator('#mail-signature').isChecked(), '2: the queue\'s signature is offered');
	await A.locator('#reply-text').click();
	await A.keyboard.type('Beste Eva,');
	await A.keyboard.press('Enter');
	await A.keyboard.type('Wij zoeken het uit.');
	assert.equal(await A.locator('#reply-text').inputValue(), 'Beste Eva,\nWij zoeken het uit.',
		     '2: Enter is a new line in an e-mail');
	const outMail = A.locator('#transcript [data-testid="message"][data-direction="out"]', { hasText: 'Wij zoeken' });
	assert.equal(await outMail.count(), 0, '2: nothing was sent by Enter');
	await A.keyboard.press('Control+Enter');
	await outMail.first().waitFor();
	const sent = await outMail.first().locator('.text').textContent();
	assert.ok(sent.startsWith('Beste Eva,\nWij zoeken het uit.\n\n-- \nMet vriendelijke groet,\nAlice de Vries'),
		  `2: Ctrl+Enter sent it, with the signature (${JSON.stringify(sent)})`);
	ok('2: Enter is a new line, Ctrl+Enter sends; To, subject, quoted mail and signature shown');

	begin('e-mail failure');
	const failed = A.locator('#transcript [data-testid="message"][data-direction="out"][data-status="failed"]',
				 { hasText: 'Wij zoeken' }).first();
	await failed.waitFor({ timeout: 20000 });
	const why = (await failed.locator('.fail-text').textContent()).trim();
	assert.ok(/^Failed: The (reply|mail server)/.test(why) && !/SMTP/.test(why), `8: said in words (${why})`);
	assert.ok((await failed.locator('.fail-details').textContent()).length > 'Details'.length,
		  '8: the server\'s reason under Details');
	const mailItem = A.locator('[data-testid="conversation-item"]', { hasText: 'Eva' });
	await mailItem.locator('[data-testid="failed-mark"]').waitFor();
	const before = await outMail.count();
	await failed.locator('[data-testid="email-retry"]').click();
	await A.waitForFunction((n) => document.querySelectorAll('#transcript [data-testid="message"][data-direction="out"]').length > n,
				before);
	await shot(A, 'problems-email.png');
	ok(`8: a failed reply: "${why}", Retry sends it again, the list marks it`);

	/* ---- 9 and 3: Close asks first, apart from Transfer; Alt+C, Alt+W ---- */
	begin('close');
	await A.locator(`[data-testid="conversation-item"][data-conversation="${conv2}"]`).click();
	const t = await box(A, '#transfer-open'), c = await box(A, '#close-conversation');
	assert.ok(c.x - (t.x + t.width) >= 24, `9: Close stands apart from Transfer (${c.x - (t.x + t.width)} px)`);
	await A.locator('#close-conversation').click();
	const confirm = A.locator('[data-testid="close-confirm"]');
	await confirm.waitFor({ state: 'visible' });
	await A.waitForTimeout(300);
	assert.equal(await A.locator(`[data-testid="conversation-item"][data-conversation="${conv2}"]`).getAttribute('data-status'),
		     'assigned', '9: not closed before the confirmation');
	await A.keyboard.press('Escape');
	await confirm.waitFor({ state: 'hidden' });
	await A.locator('#reply-text').click();
	await A.keyboard.press('Alt+KeyC');
	await confirm.waitFor({ state: 'visible' });
	await A.locator('[data-testid="close-confirm-yes"]').click();
	await A.locator('#wrapup-form').waitFor({ state: 'visible' });
	await A.keyboard.press('Alt+KeyW');
	assert.equal(await A.evaluate(() => document.activeElement.id), 'wrapup-reason', '3: Alt+W goes to the wrap-up');
	ok('9/3: Close asked first (Alt+C too); Alt+W went to the wrap-up');

	/* ---- 6: the visitor is told; a new message is a new chat, visibly ---- */
	begin('visitor after close');
	await B2.locator('#log li.event-ended', { hasText: 'ended' }).waitFor();
	await say(B2, 'Toch nog een vraag over de factuur');
	await B2.locator('#log li.event-new').waitFor();
	const newCard = A.locator('[data-testid="offer-card"]').first();
	await newCard.waitFor({ state: 'visible' });
	ok('6: the visitor saw the chat end; their next message started a new chat, shown as such');

	/* ---- 3: Alt+R rejects while typing ---- */
	begin('Alt+R');
	await A.locator('#wrapup-notes').click();
	await A.keyboard.type('klant tevreden');
	await A.keyboard.press('Alt+KeyR');
	await newCard.waitFor({ state: 'detached' });
	assert.equal(await A.locator('#wrapup-notes').inputValue(), 'klant tevreden', '3: the notes kept their text');
	ok('3: Alt+R rejected the offer while typing');

	/* ---- 9: notices leave the header's buttons free ---- */
	begin('notices');
	await A.locator('#wrapup-reason').selectOption('invoice unclear');
	await A.locator('#wrapup-outcome').selectOption('resolved');
	await A.locator('#wrapup-submit').click();
	const notice = A.locator('[data-testid="notice"]', { hasText: 'Wrap-up saved' }).first();
	await notice.waitFor();
	await A.locator('#conversation').waitFor({ state: 'visible' });
	const nb = await notice.boundingBox();
	for (const sel of ['#conversation .conv-head', '#transfer-open', '#close-conversation']) {
		const b = await box(A, sel);
		assert.ok(!overlaps(nb, b), `9: the notice does not cover ${sel} (${JSON.stringify([nb, b])})`);
	}
	await shot(A, 'problems-notice.png');
	ok('9: the notice leaves the header, Transfer and Close free');

	/* ---- 9: the bot's display name ---- */
	begin('bot name');
	const C = await visitor(720, 860, 'bot chat');
	await C.locator('#text').fill('When are you open?');
	await C.locator('#text').press('Enter');
	const botMsg = C.locator('#log li.msg.from-bot').first();
	await botMsg.waitFor();
	assert.equal((await botMsg.locator('.who').textContent()).trim(), 'Virtual assistant',
		     '9: the customer sees the bot\'s display name');
	ok('9: the bot is "Virtual assistant" to the customer');

	assert.deepEqual(dialogs, [], 'no dialog fired');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

await run(main, { name: 'console problems', timeoutMs: 200000, failurePrefix: 'problems-failure-' });
