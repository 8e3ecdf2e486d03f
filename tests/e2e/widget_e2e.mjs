// The embeddable chat widget in headless Chromium (run by tests/e2e/test_widget.py,
// which starts the daemon, the web site with hostile CSS and alice, the agent).
//
// From the environment:
//   E2E_BASE   http://127.0.0.1:<edge port>
//   E2E_PAGE   the web site: /page?<data- attributes>, /signal/NAME, /wait/NAME
//   E2E_AXE    axe.min.js
//   E2E_ID_GOOD, E2E_ID_EXPIRED, E2E_ID_FORGED   identity tokens

import assert from 'node:assert/strict';
import fs from 'node:fs';

import { launch, newPage, ok, begin, shot, run, dialogs, problems, STEP_MS } from './e2e_harness.mjs';

const PAGE = process.env.E2E_PAGE;
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const AXE = fs.readFileSync(process.env.E2E_AXE, 'utf8');

function pageUrl(attrs) {
	return PAGE + '/page?' + new URLSearchParams(attrs).toString();
}

async function signal(name) {
	const r = await fetch(PAGE + '/signal/' + name);
	assert.equal(r.status, 200, `signal ${name}`);
}

async function waitFor(name) {
	const r = await fetch(PAGE + '/wait/' + name);
	assert.equal(r.status, 200, `alice got to "${name}"`);
}

/* axe-core over the widget (its shadow root included): no serious or
 * critical findings */
async function axe(page, what) {
	if (!(await page.evaluate(() => !!window.axe)))
		await page.evaluate(AXE);
	/* the panel fades in: its colours are checked as drawn at the end */
	await page.evaluate(() => {
		const root = document.querySelector('omniroute-chat')?.shadowRoot;
		return Promise.all((root && root.getAnimations ? root.getAnimations() : []).map((a) => a.finished));
	});
	const found = await page.evaluate(async () => {
		const r = await window.axe.run({ include: [['omniroute-chat']] },
			{ resultTypes: ['violations'] });
		return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
	});
	assert.deepEqual(found, [], `axe over the widget, ${what}`);
	ok(`axe: no serious or critical findings (${what})`);
}

/* the widget is where it should be and legible, whatever the page's CSS says */
async function intact(page) {
	const r = await page.evaluate(() => {
		const host = document.querySelector('omniroute-chat');
		const hs = getComputedStyle(host);
		const launcher = host.shadowRoot.getElementById('launcher');
		const lb = launcher.getBoundingClientRect();
		return { position: hs.position, display: hs.display, visibility: hs.visibility,
			 opacity: hs.opacity, w: lb.width, h: lb.height, right: innerWidth - lb.right,
			 bottom: innerHeight - lb.bottom,
			 font: parseFloat(getComputedStyle(launcher).fontSize) };
	});
	assert.equal(r.position, 'fixed', 'the host stays fixed');
	assert.notEqual(r.display, 'none', 'the host is displayed');
	assert.equal(r.visibility, 'visible', 'the host is visible');
	assert.equal(r.opacity, '1', 'the host is opaque');
	assert.ok(r.w >= 56 && r.h >= 56, `the launcher keeps its size (${r.w}x${r.h})`);
	assert.ok(r.right >= 10 && r.right <= 40 && r.bottom >= 10 && r.bottom <= 40,
		  `the launcher sits in the bottom right corner (${r.right}, ${r.bottom})`);
	assert.ok(r.font >= 13, `text keeps its size (${r.font}px)`);
}

async function activeId(page) {
	return page.evaluate(() => {
		const host = document.querySelector('omniroute-chat');
		const a = host && host.shadowRoot.activeElement;
		return a ? a.id : null;
	});
}

async function openChat(page) {
	await page.locator('#launcher').click();
	await page.locator('#panel').waitFor({ state: 'visible' });
}

async function say(page, text) {
	await page.locator('#text').fill(text);
	await page.locator('#text').press('Enter');
	await page.locator('#log li.msg.from-visitor:not(.pending)', { hasText: text }).waitFor();
}

/* a page of its own whose widget shows the chat (not the offline form),
 * asking again while the server's answer of a few seconds ago says nobody */
async function chatPage(name, attrs, want = '#text') {
	const page = await newPage(name, 1280, 800);
	const deadline = Date.now() + 30000;
	for (;;) {
		await page.goto(pageUrl(attrs));
		await openChat(page);
		await page.locator('#conn[data-state="online"]').waitFor();
		try {
			await page.locator(want).waitFor({ state: 'visible', timeout: 2500 });
			return page;
		} catch (e) {
			if (Date.now() > deadline)
				throw e;
		}
	}
}

async function main() {
	await launch();

	/* ---- the launcher, under hostile CSS ---- */
	begin('launcher');
	const V = await newPage('visitor', 1280, 800);
	const attrs = { prechat: 'name,email*', greeting: 'Welkom bij de winkel!', colour: '#0b6e4f',
			language: 'en' };
	await V.goto(pageUrl(attrs));
	await V.locator('#launcher').waitFor({ state: 'visible' });
	await intact(V);
	assert.equal(await V.locator('#panel').isVisible(), false, 'closed at first');
	ok('the launcher is there, in its corner, whatever the page CSS says');
	await axe(V, 'launcher');

	begin('open and pre-chat form');
	await openChat(V);
	assert.equal(await V.locator('#launcher').getAttribute('aria-expanded'), 'true', 'aria-expanded');
	await V.locator('#prechat').waitFor({ state: 'visible' });
	assert.equal(await activeId(V), 'pre-name', 'opening puts the focus on the first field');
	assert.equal(await V.locator('#text').isVisible(), false, 'no chat before the form');
	await axe(V, 'pre-chat form');
	await V.locator('#prechat button[type="submit"]').click();
	assert.match(await V.locator('#pre-email-err').textContent(), /fill this in/, 'e-mail is required');
	assert.equal(await activeId(V), 'pre-email', 'the focus goes to the field to fix');
	await V.locator('#pre-name').fill('Wim');
	await V.locator('#pre-email').fill('wim at example');
	await V.locator('#prechat button[type="submit"]').click();
	assert.match(await V.locator('#pre-email-err').textContent(), /e-mail address/, 'a bad address');
	await V.locator('#pre-email').fill('wim@example.com');
	await V.locator('#pre-email').press('Enter');
	await V.locator('#text').waitFor({ state: 'visible' });
	assert.equal(await activeId(V), 'text', 'then the focus is in the message box');
	await V.locator('#conn[data-state="online"]').waitFor();
	assert.equal(await V.locator('#greeting').textContent(), 'Welkom bij de winkel!', 'the greeting');
	ok('pre-chat form: required field, bad address, then the chat');

	begin('send, alice answers');
	await say(V, 'Hallo vanuit de widget');
	const answer = V.locator('#log li.msg.from-agent', { hasText: 'Hoi Wim, hoe kan ik helpen?' });
	await answer.waitFor();
	assert.equal(await V.locator('#badge').isVisible(), false, 'no badge while open');
	ok('the visitor writes; alice (a real agent client) answers');
	await shot(V, 'widget-chat.png');
	await axe(V, 'chat with messages');
	const colours = await V.evaluate(() => {
		const li = document.querySelector('omniroute-chat').shadowRoot
			.querySelector('#log li.from-visitor');
		const cs = getComputedStyle(li);
		return [cs.backgroundColor, cs.color];
	});
	assert.deepEqual(colours, ['rgb(11, 110, 79)', 'rgb(255, 255, 255)'],
			 'data-colour, with white text on it (the better contrast)');

	begin('a file');
	await V.locator('#attach').waitFor({ state: 'visible' });
	await V.locator('#file').setInputFiles({ name: 'page.html', mimeType: 'text/html',
						 buffer: Buffer.from('<p>x</p>') });
	await V.locator('#error', { hasText: 'cannot be sent' }).waitFor();
	await V.locator('#text').fill('Hier is de bon');
	await V.locator('#file').setInputFiles({ name: 'bon.png', mimeType: 'image/png',
						 buffer: Buffer.from(PNG, 'base64') });
	await V.locator('#log li.msg.from-visitor:not(.pending)', { hasText: 'bon.png' }).waitFor();
	assert.equal(await V.locator('#error').isVisible(), false, 'the error is gone');
	ok('a type the server does not take is refused in the page; a picture is sent and stored');

	begin('unread badge');
	await V.keyboard.press('Escape');
	await V.locator('#panel').waitFor({ state: 'hidden' });
	assert.equal(await activeId(V), 'launcher', 'Escape closes and the focus goes back to the launcher');
	await signal('closed');
	await V.locator('#badge', { hasText: '2' }).waitFor();
	assert.match(await V.locator('#launcher').getAttribute('aria-label'), /2 unread messages/,
		     'the launcher says how many are unread');
	await intact(V);
	await shot(V, 'widget-badge.png');
	await openChat(V);
	await V.locator('#log li.msg.from-agent', { hasText: 'Ik wacht even.' }).waitFor();
	assert.equal(await V.locator('#badge').isVisible(), false, 'opened: the badge is gone');
	ok('closed, alice\'s two messages show as 2 on the launcher; opened, read');

	begin('reconnect after the daemon restarts');
	await signal('drop');
	await V.locator('#conn[data-state="offline"]').waitFor({ timeout: 30000 });
	await V.locator('#text').fill('Na de onderbreking');
	await V.locator('#text').press('Enter');
	await V.locator('#log li.msg.from-visitor.pending', { hasText: 'Na de onderbreking' }).waitFor();
	/* the daemon starts again only now: back sooner, it could take the
	 * message before the page showed it waiting */
	await signal('written');
	await waitFor('restarted');
	await V.locator('#conn[data-state="online"]').waitFor({ timeout: 60000 });
	await V.locator('#log li.msg.from-visitor:not(.pending)', { hasText: 'Na de onderbreking' })
		.waitFor({ timeout: 30000 });
	await V.locator('#log li.msg.from-agent', { hasText: 'Welkom terug' }).waitFor({ timeout: 60000 });
	assert.equal(await V.locator('#log li.msg', { hasText: 'Na de onderbreking' }).count(), 1,
		     'shown once');
	assert.equal(await V.locator('#log li.msg', { hasText: 'Hoi Wim' }).count(), 1,
		     'the history is not doubled');
	ok('the widget reconnects, resends what was written meanwhile, and alice answers it');

	/* ---- nobody there: the offline form ---- */
	begin('offline form');
	await signal('away');
	await waitFor('is_away');
	const O = await chatPage('offline visitor', { language: 'nl' }, '#offline');
	assert.equal(await O.locator('#text').isVisible(), false, 'no chat box when nobody is there');
	assert.match(await O.locator('#offline-intro').textContent(), /niemand beschikbaar/,
		     'in Dutch (data-language="nl")');
	await axe(O, 'offline form');
	await O.locator('#off-send').click();
	assert.equal(await activeId(O), 'off-email', 'the e-mail address is needed');
	await O.locator('#off-name').fill('Olga');
	await O.locator('#off-email').fill('olga@example.com');
	await O.locator('#off-text').fill('Bel me terug over de levering');
	await O.locator('#off-send').click();
	await O.locator('#offline-done', { hasText: 'olga@example.com' }).waitFor();
	assert.equal(await activeId(O), 'offline-done', 'the focus goes to the confirmation');
	await shot(O, 'widget-offline.png');
	ok('nobody available: the offline form is sent (an e-mail-like conversation)');

	/* ---- signed identity ---- */
	begin('signed identity');
	await signal('back');
	await waitFor('is_back');
	const S = await chatPage('signed visitor', { identity: process.env.E2E_ID_GOOD });
	assert.equal(await S.locator('#prechat').isVisible(), false, 'no pre-chat form');
	await say(S, 'Ik ben Eva');
	ok('a signed-in visitor chats (the test checks the link to Eva)');

	const warnings = [];
	const X = await newPage('expired identity', 1280, 800);
	X.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
	await X.goto(pageUrl({ identity: process.env.E2E_ID_EXPIRED, open: 'true', offline: 'off' }));
	await X.locator('#conn[data-state="online"]').waitFor();
	await say(X, 'Verlopen token');
	const F = await newPage('forged identity', 1280, 800);
	F.on('console', (m) => { if (m.type() === 'warning') warnings.push(m.text()); });
	await F.goto(pageUrl({ identity: process.env.E2E_ID_FORGED, open: 'true', offline: 'off' }));
	await F.locator('#conn[data-state="online"]').waitFor();
	await say(F, 'Vervalste token');
	/* and a token handed over later, by the page's script */
	await F.evaluate((t) => window.OmniChat.identify(t), process.env.E2E_ID_FORGED);
	await F.locator('#conn[data-state="online"]').waitFor();
	await say(F, 'Later vervalst');
	assert.ok(warnings.some((w) => /expired/.test(w)) && warnings.some((w) => /signature/.test(w)),
		  `the page's console says why (${JSON.stringify(warnings)})`);
	ok('an expired and a forged token are refused; the chat goes on anonymous');

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors');
}

await run(main, { name: 'widget', timeoutMs: 280000, failurePrefix: 'widget-failure-' });
void STEP_MS;
