// End-to-end test of the agent console in a real browser (headless Chromium
// driven by playwright-core), against a running omniroute.
//
// Run by tests/e2e/test_console.py, which starts Redis and the daemon and
// sets:
//   E2E_BASE   http://127.0.0.1:<edge port>   (console at /console/, chat demo at /chat-demo/)
//   E2E_ADMIN  http://127.0.0.1:<admin port>  (admin API)
//   E2E_TOKEN  the admin bearer token
//   E2E_OUT    directory for screenshots
//   E2E_CHROMIUM (optional) the browser, default /usr/bin/chromium
//   E2E_PLAYWRIGHT (optional) where playwright-core is installed
//   E2E_LMTP_PORT the e-mail plugin's LMTP port
//
// The scenario: alice logs in and goes available; a visitor asks a Dutch
// billing question on the demo chat page; alice gets the offer (with a
// countdown), accepts, sees the message, replies; the visitor sees the
// reply; the visitor sends HTML, which the console shows as text; a reload
// of the console needs the password again and brings the conversation
// back; alice closes the conversation and completes the wrap-up, which the
// admin API shows.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { BASE, begin, dialogs, launch, login, newPage, ok, problems, run, shot, STEP_MS, until } from './e2e_harness.mjs';
import { lmtpDeliver } from './e2e_lmtp.mjs';

/* a PNG of one transparent pixel (68 bytes) */
const PNG_1PX = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489' +
	'0000000b49444154789c6360000200000500017a5eab3f0000000049454e44ae426082', 'hex');
const ADMIN = process.env.E2E_ADMIN;
const TOKEN = process.env.E2E_TOKEN;
const WEBHOOKS = process.env.E2E_WEBHOOKS;
const WA_SECRET = process.env.E2E_WA_SECRET;
const LMTP_PORT = Number(process.env.E2E_LMTP_PORT);

const AGENT = 'alice';
const PASSWORD = 'alice';
const QUESTION = 'Hallo, ik heb een vraag over mijn factuur';
const REPLY = 'Ik kijk het voor u na';
const HOSTILE = '<img src=x onerror=alert(1)>';
const REPLY2 = 'Een ogenblik, ik zoek het op';

if (!BASE || !ADMIN || !TOKEN) {
	console.error('console_e2e: set E2E_BASE, E2E_ADMIN and E2E_TOKEN (tests/e2e/test_console.py does)');
	process.exit(2);
}

async function adminGet(p) {
	const r = await fetch(ADMIN + p, { headers: { Authorization: 'Bearer ' + TOKEN } });
	const text = await r.text();
	let body = null;
	try { body = JSON.parse(text); } catch (e) { body = text; }
	return { status: r.status, body };
}

async function main() {
	const browser = await launch();
	/* two contexts: the agent and the visitor share nothing */
	const A = await newPage('console', 1400, 860);
	const B = await newPage('chat', 720, 860);

	/* The console's websocket goes through a route, so that the test can
	 * lose an ack and drop the connection. */
	const agentWs = { opened: 0, dropAcks: false, dropped: 0, current: null };
	await A.routeWebSocket(/\/agent$/, (ws) => {
		const server = ws.connectToServer();
		agentWs.opened++;
		agentWs.current = { ws, server };
		ws.onMessage((m) => server.send(m));
		server.onMessage((m) => {
			/* a lost ack: the ack, and the delivery update that would
			 * also tell the console its reply arrived */
			const f = typeof m === 'string' ? JSON.parse(m) : null;
			if (agentWs.dropAcks && f && (f.type === 'ack' ||
			    (f.type === 'message' && f.message && f.message.direction === 'out'))) {
				agentWs.dropped++;
				return;
			}
			ws.send(m);
		});
	});

	/* ---- the agent logs in and goes available ---- */
	begin('console login');
	await login(A, AGENT, PASSWORD);
	ok('alice is logged in');

	begin('presence');
	const toggle = A.locator('#presence-toggle');
	if (await toggle.getAttribute('aria-checked') !== 'true')
		await toggle.click();
	await A.locator('#presence-toggle[aria-checked="true"]').waitFor();
	ok('alice is available');

	/* ---- the visitor asks a Dutch billing question ---- */
	begin('visitor sends the question');
	await B.goto(BASE + '/chat-demo/');
	await B.locator('#conn[data-state="online"]').waitFor();
	await B.locator('#text').fill(QUESTION);
	await B.locator('#text').press('Enter');
	await B.locator('#log li.msg.from-visitor:not(.pending)', { hasText: QUESTION }).waitFor();
	ok('the visitor\'s question is stored (acked)');

	/* ---- the offer, with a live countdown ---- */
	begin('offer');
	const card = A.locator('[data-testid="offer-card"]').first();
	await card.waitFor({ state: 'visible' });
	assert.ok((await card.textContent()).includes('factuur'),
		  'the offer card shows a preview of the question');
	const countdown = card.locator('[data-testid="offer-countdown"]');
	const c1 = await countdown.textContent();
	assert.match(c1, /^\d+ s left$/, `countdown text (got ${JSON.stringify(c1)})`);
	await A.waitForTimeout(1300);
	const c2 = await countdown.textContent();
	assert.ok(parseInt(c2, 10) < parseInt(c1, 10), `the countdown runs (${c1} -> ${c2})`);
	ok(`offer shown with a countdown (${c1} -> ${c2})`);
	await card.locator('[data-testid="offer-accept"]').click();

	begin('accept');
	const item = A.locator('[data-testid="conversation-item"]');
	await item.first().waitFor();
	assert.equal(await item.count(), 1, 'one conversation in the list');
	const convId = await item.first().getAttribute('data-conversation');
	assert.match(convId || '', /^c_/, 'the conversation item carries the conversation id');
	const inbound = A.locator('#transcript [data-testid="message"][data-direction="in"]');
	await inbound.filter({ hasText: QUESTION }).first().waitFor();
	await card.waitFor({ state: 'detached' });
	ok(`accepted; ${convId} shows the visitor's message`);
	await shot(A, 'console-accepted.png');

	/* ---- the agent replies, the visitor sees it ---- */
	begin('reply');
	await A.locator('#reply-text').fill(REPLY);
	await A.locator('#reply-text').press('Enter');
	const out = A.locator('#transcript [data-testid="message"][data-direction="out"]', { hasText: REPLY });
	await out.first().waitFor();
	await A.locator('#transcript [data-testid="message"][data-direction="out"]:not([data-status="sending"])',
			{ hasText: REPLY }).first().waitFor();
	assert.equal(await A.locator('#reply-text').inputValue(), '', 'the reply box is empty after sending');
	ok('the reply is acknowledged');
	await B.locator('#log li.msg.from-agent', { hasText: REPLY }).waitFor();
	ok('the visitor sees the reply');

	/* ---- hostile text stays text ---- */
	begin('hostile text');
	await B.locator('#text').fill(HOSTILE);
	await B.locator('#text').press('Enter');
	const hostile = inbound.filter({ hasText: HOSTILE }).first();
	await hostile.waitFor();
	const text = await hostile.locator('.text').textContent();
	assert.ok(text.includes(HOSTILE), `the console shows the literal text (got ${JSON.stringify(text)})`);
	assert.equal(await A.locator('#transcript img').count(), 0, 'no <img> element in the transcript');
	assert.equal(await A.locator('img').count(), 0, 'no <img> element anywhere in the console');
	await A.waitForTimeout(500);
	assert.deepEqual(dialogs, [], 'no dialog (alert) fired');
	ok('HTML from the visitor is shown as text, nothing executed');
	await shot(B, 'chat-visitor.png');

	/* ---- a lost ack and a dropped connection: automatic re-login, resend once ---- */
	begin('lost ack');
	agentWs.dropAcks = true;
	await A.locator('#reply-text').fill(REPLY2);
	await A.locator('#reply-text').press('Enter');
	const reply2 = A.locator('#transcript [data-testid="message"][data-direction="out"]', { hasText: REPLY2 });
	await A.locator('#transcript [data-testid="message"][data-status="sending"]', { hasText: REPLY2 }).waitFor();
	await B.locator('#log li.msg.from-agent', { hasText: REPLY2 }).waitFor();
	/* the visitor's copy and the agent's ack leave on different sockets:
	 * the visitor may see the reply before the ack reaches the route */
	await until(() => agentWs.dropped >= 1, 'the ack was dropped on its way to the console');
	assert.equal(await reply2.getAttribute('data-status'), 'sending', 'without its ack the reply stays "sending"');
	ok('the reply reached the visitor, its ack was lost: the console still shows it sending');
	begin('reconnect');
	const opened = agentWs.opened;
	agentWs.dropAcks = false;
	agentWs.current.ws.close({ code: 4000, reason: 'e2e: connection dropped' });
	agentWs.current.server.close({ code: 1000, reason: 'e2e: connection dropped' });
	await A.locator('#transcript [data-testid="message"][data-direction="out"]:not([data-status="sending"])',
			{ hasText: REPLY2 }).first().waitFor();
	assert.ok(agentWs.opened > opened, 'the console opened a new connection');
	assert.equal(await A.locator('#login-view').isVisible(), false, 'no login form: it logged in again by itself');
	await A.locator('#conn[data-state="online"]').waitFor();
	assert.equal(await reply2.count(), 1, 'the console shows the resent reply once');
	await A.waitForTimeout(500);
	assert.equal(await B.locator('#log li.msg.from-agent', { hasText: REPLY2 }).count(), 1,
		     'the visitor got the resent reply once');
	ok('reconnected and logged in again by itself; the unacked reply was resent once, stored once');

	/* ---- reload: the tab's session token logs in again, no password kept ---- */
	begin('reload');
	await A.reload();
	await A.locator('#app').waitFor({ state: 'visible' });
	await A.locator('#conn[data-state="online"]').waitFor();
	assert.equal(await A.locator('#login-view').isVisible(), false, 'after a reload no login form: the session holds');
	const stored = await A.evaluate(() => {
		const dump = (s) => Object.keys(s).map((k) => [k, s.getItem(k)]);
		return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie };
	});
	assert.deepEqual(stored.session.map(([k]) => k), ['omniroute.console.session'],
			 'sessionStorage holds the session token only');
	assert.ok(/^[A-Za-z0-9_-]{43}$/.test(stored.session[0][1]) && stored.session[0][1] !== PASSWORD,
		  'a 32-byte token, not the password');
	assert.equal(stored.cookie, '', 'no cookies');
	for (const [k, v] of stored.local)
		assert.ok(!/pass|session/i.test(k) && (v !== PASSWORD || k === 'omniroute.console.agent'),
			  `localStorage holds no password and no session (${k})`);
	ok('after a reload: still logged in by the session token; no password stored');
	await A.locator(`[data-testid="conversation-item"][data-conversation="${convId}"]`).waitFor();
	await inbound.filter({ hasText: HOSTILE }).first().waitFor();
	await A.locator('#transcript [data-testid="message"][data-direction="out"]', { hasText: REPLY }).first().waitFor();
	assert.equal(await A.locator('#transcript img').count(), 0, 'still no <img> after the reload');
	ok('after the reload the conversation and its history are back');

	/* ---- close and wrap up ---- */
	begin('close');
	await A.locator('#close-conversation').click();
	await A.locator('[data-testid="close-confirm-yes"]').click(); /* Close asks first */
	await A.locator('#wrapup-form').waitFor({ state: 'visible' });
	assert.equal(await A.locator('#reply-text').isVisible(), false, 'no reply box after close');
	ok('closed: the wrap-up form is shown');
	begin('wrap-up');
	await A.locator('#wrapup-reason').selectOption('invoice unclear');
	await A.locator('#wrapup-outcome').selectOption('resolved');
	await A.locator('#wrapup-notes').fill('Explained the invoice lines.');
	await shot(A, 'console-wrapup-form.png');
	await A.locator('#wrapup-submit').click();
	await A.locator('[data-testid="conversation-item"]').first().waitFor({ state: 'detached' });
	ok('wrap-up done: the conversation left the list');
	await shot(A, 'console-wrapup.png');

	begin('admin API');
	let conv = null;
	const deadline = Date.now() + 5000;
	for (;;) {
		const r = await adminGet('/api/v1/conversations/' + encodeURIComponent(convId));
		assert.equal(r.status, 200, `GET /api/v1/conversations/${convId}: ${JSON.stringify(r.body)}`);
		conv = r.body && r.body.conversation && typeof r.body.conversation === 'object' ?
			r.body.conversation : r.body;
		if ((conv.status === 'closed' && conv.wrapup) || Date.now() > deadline)
			break;
		await new Promise((res) => setTimeout(res, 200));
	}
	assert.equal(conv.status, 'closed', 'the admin API shows the conversation closed');
	assert.ok(conv.wrapup && typeof conv.wrapup === 'object', `wrapup recorded (${JSON.stringify(conv.wrapup)})`);
	assert.equal(conv.wrapup.reason, 'invoice unclear', 'the wrap-up reason is recorded');
	assert.equal(conv.wrapup.outcome, 'resolved', 'the wrap-up outcome is recorded');
	ok('the admin API shows status closed and wrapup.reason "invoice unclear"');

	/* ---- the bot answers, then hands over on the visitor's request ---- */
	begin('bot answers');
	const botCtx = await browser.newContext({ viewport: { width: 720, height: 860 } });
	const C = await botCtx.newPage();
	C.setDefaultTimeout(STEP_MS);
	C.on('pageerror', (e) => problems.push(`bot chat: page error: ${e.message}`));
	C.on('dialog', (d) => { dialogs.push(`bot chat: ${d.type()}`); d.dismiss().catch(() => {}); });
	await C.goto(BASE + '/chat-demo/');
	await C.locator('#conn[data-state="online"]').waitFor();
	await C.locator('#text').fill('When are you open?');
	await C.locator('#text').press('Enter');
	const botMsg = C.locator('#log li.msg.from-bot', { hasText: 'Monday to Friday' });
	await botMsg.waitFor();
	const quick = botMsg.locator('.quick button', { hasText: 'Talk to a person' });
	await quick.waitFor();
	assert.equal(await A.locator('[data-testid="offer-card"]').count(), 0,
		     'no agent is offered what the bot handles');
	ok('the bot answers with quick replies; no agent is bothered');
	await shot(C, 'chat-bot.png');

	begin('bot hands over');
	await quick.click();
	await C.locator('#log li.msg.from-visitor', { hasText: 'Talk to a person' }).waitFor();
	assert.equal(await C.locator('#log .quick').count(), 0, 'the quick replies are gone once used');
	await C.locator('#log li.msg.from-bot', { hasText: 'Let me get you a person' }).waitFor();
	const botCard = A.locator('[data-testid="offer-card"]').first();
	await botCard.waitFor({ state: 'visible' });
	const cardNote = await botCard.locator('[data-testid="handoff-note"]').textContent();
	assert.ok(cardNote.includes('the customer asked for a person') && cardNote.includes('opening hours'),
		  `the offer says why the bot handed over (${cardNote})`);
	await botCard.locator('[data-testid="offer-accept"]').click();
	const metaNote = A.locator('#conv-meta [data-testid="handoff-note"]');
	await metaNote.waitFor();
	await A.locator('#transcript [data-testid="message"][data-author="bot"]',
			{ hasText: 'Monday to Friday' }).first().waitFor();
	ok(`accepted: the agent sees "${await metaNote.textContent()}" and the bot's transcript`);
	await shot(A, 'console-bot-handoff.png');
	await botCtx.close();

	/* ---- WhatsApp: after the reply window, only a template ---- */
	begin('whatsapp message');
	const wa = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{
		field: 'messages', value: { messaging_product: 'whatsapp',
			metadata: { display_phone_number: '15550001111', phone_number_id: '1234567' },
			contacts: [{ profile: { name: 'Wanda' }, wa_id: '31699999999' }],
			messages: [{ from: '31699999999', id: 'wamid.E2E1', timestamp: '1732531200',
				     type: 'text', text: { body: 'Is mijn bestelling al verzonden?' } }] } }] }] });
	const sig = 'sha256=' + crypto.createHmac('sha256', WA_SECRET).update(wa).digest('hex');
	const hook = await fetch(WEBHOOKS + '/webhooks/whatsapp', { method: 'POST', body: wa,
		headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': sig } });
	assert.equal(hook.status, 200, 'the signed WhatsApp webhook is taken');
	const waCard = A.locator('[data-testid="offer-card"]', { hasText: 'Wanda' }).first();
	await waCard.waitFor({ state: 'visible' });
	await waCard.locator('[data-testid="offer-accept"]').click();
	await A.locator('#transcript [data-testid="message"][data-direction="in"]',
			{ hasText: 'bestelling' }).first().waitFor();
	assert.equal(await A.locator('#window-bar').isVisible(), false, 'inside the window: free text');
	ok('the WhatsApp conversation is accepted; free text allowed');

	begin('whatsapp window closes');
	await A.locator('#window-bar').waitFor({ state: 'visible', timeout: 10000 });
	assert.equal(await A.locator('#reply-text').isDisabled(), true, 'no free text after the window');
	const opts = await A.locator('#window-template option').allTextContents();
	assert.ok(opts.length === 1 && opts[0].startsWith('follow_up'), `the templates (${opts})`);
	await shot(A, 'console-window-closed.png');
	await A.locator('#window-send').click();
	await A.locator('#transcript [data-testid="message"][data-direction="out"]:not([data-status="sending"])',
			{ hasText: 'Hello again!' }).first().waitFor();
	ok('after the window: the console offers the templates, and one is sent');

	/* ---- e-mail: subject and attachments shown; a failed reply says why ---- */
	begin('e-mail message');
	const reply = await lmtpDeliver(LMTP_PORT, 'eva@example.net', [
		'From: Eva Jansen <eva@example.net>', 'To: support@example.com',
		'Subject: Dubbele afschrijving', 'Message-ID: <e2e-mail-1@example.net>',
		'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"', '',
		'--b', 'Content-Type: text/plain; charset=utf-8', '',
		'Er is twee keer afgeschreven, zie het afschrift.', '',
		'--b', 'Content-Type: application/pdf; name="afschrift.pdf"',
		'Content-Disposition: attachment; filename="afschrift.pdf"',
		'Content-Transfer-Encoding: base64', '',
		Buffer.alloc(1500, 7).toString('base64').replace(/.{76}/g, '$&\r\n'),
		'--b', 'Content-Type: image/png; name="scherm.png"',
		'Content-Disposition: attachment; filename="scherm.png"',
		'Content-Transfer-Encoding: base64', '', PNG_1PX.toString('base64'), '--b--']);
	assert.ok(reply.startsWith('250'), `LMTP: ${reply}`);
	const mailCard = A.locator('[data-testid="offer-card"]', { hasText: 'Eva' }).first();
	await mailCard.waitFor({ state: 'visible' });
	await mailCard.locator('[data-testid="offer-accept"]').click();
	const mailMsg = A.locator('#transcript [data-testid="message"][data-direction="in"]',
				  { hasText: 'twee keer' }).first();
	await mailMsg.waitFor();
	assert.equal((await mailMsg.locator('.subject').textContent()).trim(),
		     'Subject: Dubbele afschrijving', 'the subject is shown');
	const atts = mailMsg.locator('[data-testid="attachment"]');
	assert.deepEqual((await atts.allTextContents()).map(t => t.trim()),
			 ['afschrift.pdf (application/pdf, 1.5 KB)', 'scherm.png (image/png, 68 B)'],
			 'the attachments are listed');
	/* their links give the files the customer sent, from this server */
	const pdfHref = await atts.nth(0).locator('a.attachment-name').getAttribute('href');
	assert.ok(/^\/files\/[0-9a-f]+\/[0-9a-f]{64}$/.test(pdfHref), `a link to the stored file (${pdfHref})`);
	const pdf = await A.context().request.get(new URL(pdfHref, BASE).href);
	assert.equal(pdf.status(), 200, 'the PDF is served');
	assert.deepEqual([...(await pdf.body())], [...Buffer.alloc(1500, 7)], 'the bytes the customer sent');
	assert.equal(pdf.headers()['content-disposition'], "attachment; filename*=UTF-8''afschrift.pdf",
		     'as a download with its name');
	/* an image opens in a new tab */
	const pngLink = atts.nth(1).locator('a.attachment-name');
	const pngHref = await pngLink.getAttribute('href');
	const [tab] = await Promise.all([A.context().waitForEvent('page'), pngLink.click()]);
	await tab.waitForLoadState();
	assert.ok(tab.url().endsWith(pngHref), `clicking opens it in a new tab (${tab.url()})`);
	const size = await tab.evaluate(() => { const i = document.querySelector('img');
		return i ? [i.naturalWidth, i.naturalHeight] : null; });
	assert.deepEqual(size, [1, 1], 'showing the image');
	await tab.close();
	ok('an e-mail shows its subject and its attachments, which open');

	begin('e-mail reply fails');
	await A.locator('#reply-text').fill('We kijken ernaar.');
	await A.locator('#reply-text').press('Control+Enter'); /* e-mail: Enter is a new line */
	const failed = A.locator('#transcript [data-testid="message"][data-direction="out"][data-status="failed"]',
				 { hasText: 'We kijken ernaar.' }).first();
	await failed.waitFor({ timeout: 15000 });
	const why = (await failed.locator('.state').textContent()).trim();
	assert.ok(why.startsWith('Failed: SMTP') || why.startsWith('Failed: '), `the reason is shown (${why})`);
	assert.ok(why.length > 'Failed: '.length + 5, `with the reason itself (${why})`);
	await shot(A, 'console-email.png');
	ok(`a reply the smarthost did not take says why: "${why}"`);

	/* ---- sign out: the session ends on the server; a reload asks again ---- */
	begin('sign out');
	const token = await A.evaluate(() => sessionStorage.getItem('omniroute.console.session'));
	await A.locator('#logout').click();
	if (!(await A.locator('#login-view').isVisible())) /* a wrap-up pending: confirm */
		await A.locator('#logout').click();
	await A.locator('#login-view').waitFor({ state: 'visible' });
	assert.equal(await A.evaluate(() => sessionStorage.length), 0, 'the token is dropped');
	await A.reload();
	await A.locator('#login-view').waitFor({ state: 'visible' });
	const refused = await A.evaluate((t) => new Promise((resolve) => {
		const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/agent',
					 'omniroute.agent.v1');
		ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', session: t }));
		ws.onmessage = (ev) => { resolve(JSON.parse(ev.data)); ws.close(); };
		ws.onerror = () => resolve(null);
	}), token);
	assert.equal(refused && refused.code, 'session_expired', 'the server refuses the signed-out token');
	ok('signed out: the token is gone here and refused by the server; a reload asks for the password');

	assert.deepEqual(dialogs, [], 'no dialog fired at any time');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

await run(main, { name: 'console', timeoutMs: 60000, failurePrefix: 'failure-' });
