// End-to-end test of the agent's tools of issue 17 in a real browser
// (headless Chromium driven by playwright-core), against a running
// omniroute: canned responses, internal notes with @mention, typing and
// seen both ways (console and the demo chat page), park and its return.
//
// Run by tests/e2e/test_agent_tools_console.py, which starts Redis and the
// daemon (with a canned responses file, the e-mail channel and the test
// clock) and delivers one e-mail for alice; it sets E2E_BASE, E2E_ADMIN,
// E2E_TOKEN, E2E_OUT (and E2E_CHROMIUM, E2E_PLAYWRIGHT).

import assert from 'node:assert/strict';
import { BASE, begin, dialogs, launch, login, loginAvailable, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

const ADMIN = process.env.E2E_ADMIN;
const TOKEN = process.env.E2E_TOKEN;
if (!BASE || !ADMIN) {
	console.error('agent_tools_e2e: set E2E_BASE and E2E_ADMIN (tests/e2e/test_agent_tools_console.py does)');
	process.exit(2);
}

async function advanceClock(ms) {
	const r = await fetch(ADMIN + '/api/v1/debug/clock', {
		method: 'POST', headers: { Authorization: 'Bearer ' + TOKEN, 'Content-Type': 'application/json' },
		body: JSON.stringify({ advance_ms: ms })
	});
	assert.equal(r.status, 200, 'the test clock moves');
}

async function acceptNext(A) {
	const card = A.locator('[data-testid="offer-card"]').first();
	await card.waitFor({ state: 'visible' });
	await card.locator('[data-testid="offer-accept"]').click();
	await card.waitFor({ state: 'detached' });
}

async function main() {
	await launch();
	const A = await newPage('alice', 1440, 900);
	const B = await newPage('bob', 1366, 768);
	const V = await newPage('visitor', 1000, 800);

	begin('log-ins');
	await loginAvailable(A, 'alice', 'alice');
	await login(B, 'bob', 'bob');
	ok('alice (available) and bob are logged in');

	begin('the e-mail');
	await acceptNext(A);
	await A.locator('[data-testid="conversation-item"]').first().waitFor();
	ok('alice took the e-mail');

	begin('the visitor writes');
	await V.addInitScript(() => window.localStorage.setItem('omniroute.chat.name', 'Anna Jansen'));
	await V.goto(BASE + '/chat-demo/');
	await V.locator('#conn[data-state="online"]').waitFor();
	await V.locator('#text').fill('Hello, I have a question about my invoice');
	await V.locator('#text').press('Enter');
	await V.locator('.msg.from-visitor:not(.pending)').first().waitFor();
	await acceptNext(A);
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Anna Jansen' }).click();
	await A.locator('#conv-title', { hasText: 'Anna Jansen' }).waitFor();
	ok('alice has the chat with Anna open');

	begin('seen: the agent saw the visitor\'s message');
	await V.locator('.msg.from-visitor .state', { hasText: 'Seen' }).waitFor();
	ok('the demo page shows "Seen"');

	begin('typing: visitor to agent');
	await V.locator('#text').pressSequentially('I am still', { delay: 30 });
	const line = A.locator('[data-testid="typing"]');
	await line.waitFor({ state: 'visible' });
	assert.match(await line.textContent(), /Anna Jansen is typing/);
	ok('the console shows "Anna Jansen is typing…"');

	begin('canned response with /');
	const reply = A.locator('#reply-text');
	await reply.click();
	await reply.pressSequentially('/hel', { delay: 40 });
	const box = A.locator('[data-testid="canned-box"]');
	await box.waitFor({ state: 'visible' });
	const items = A.locator('[data-testid="canned-item"]');
	assert.equal(await items.first().getAttribute('data-shortcut'), 'hello', 'the hello response first');
	await shot(A, 'tools-1-canned.png');
	await reply.press('ArrowDown');
	await reply.press('ArrowUp');
	await reply.press('Enter');
	await box.waitFor({ state: 'hidden' });
	const filled = await reply.inputValue();
	assert.match(filled, /^Hello Anna, this is Alice \(ref c_[0-9a-z]+\)\.$/,
		     `variables filled in (got ${JSON.stringify(filled)})`);
	ok(`inserted: "${filled}"`);
	await reply.pressSequentially(' /xyz', { delay: 20 });
	await box.waitFor({ state: 'visible' });
	await reply.press('Escape');
	await box.waitFor({ state: 'hidden' });
	assert.ok((await reply.inputValue()).endsWith(' /xyz'), 'the typed text stays');
	for (let i = 0; i < 5; i++)
		await reply.press('Backspace');
	ok('Escape closes the list and keeps the text');

	begin('typing: agent to visitor');
	const vt = V.locator('[data-testid="typing"]');
	await vt.waitFor({ state: 'visible' });
	assert.match(await vt.textContent(), /is typing/);
	ok(`the demo page (the widget) shows "${await vt.textContent()}"`);

	begin('send, and the visitor sees it');
	await reply.press('Enter');
	await V.locator('.msg.from-agent', { hasText: 'Hello Anna, this is Alice' }).waitFor();
	await A.locator('[data-testid="message"][data-status="read"]', { hasText: 'Hello Anna' }).waitFor();
	ok('the visitor got it; the console shows it read (the page is visible)');

	begin('an internal note naming bob');
	await A.locator('[data-testid="note-mode"]').check();
	await reply.pressSequentially('@bo', { delay: 40 });
	await A.locator('#mention-list li', { hasText: 'Bob' }).waitFor();
	await reply.press('Enter');
	await reply.pressSequentially('can you check her last invoice?', { delay: 5 });
	assert.equal(await reply.inputValue(), '@bob can you check her last invoice?');
	await reply.press('Enter');
	const note = A.locator('[data-testid="message"][data-direction="note"]', { hasText: 'check her last invoice' });
	await note.waitFor();
	assert.match(await note.textContent(), /Internal note/);
	const men = B.locator('[data-testid="mention"]');
	await men.waitFor({ state: 'visible' });
	assert.match(await men.textContent(), /Alice de Vries named you/);
	assert.match(await men.textContent(), /check her last invoice/);
	await shot(B, 'tools-2-mention.png');
	await A.locator('[data-testid="note-mode"]').uncheck();
	ok('the note is in alice\'s transcript, marked internal; bob is told');
	await V.waitForTimeout(500);
	assert.equal(await V.locator('.msg', { hasText: 'last invoice' }).count(), 0, 'the visitor never sees the note');
	ok('the visitor never sees it');

	begin('park the e-mail until the customer answers, bring it back');
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Eva' }).click();
	await A.locator('#conv-title', { hasText: 'Eva' }).waitFor();
	await A.locator('#park-open').click();
	await A.locator('#park-dialog').waitFor({ state: 'visible' });
	await A.locator('#park-reply').check();
	await A.locator('#park-submit').click();
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Eva' }).waitFor({ state: 'detached' });
	const parked = A.locator('[data-testid="parked-item"]');
	await parked.waitFor({ state: 'visible' });
	assert.match(await parked.textContent(), /until the customer answers/);
	await shot(A, 'tools-3-parked.png');
	await parked.getByRole('button', { name: /Bring back/ }).click();
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Eva' }).waitFor();
	await parked.waitFor({ state: 'detached' });
	ok('parked (out of the list, in "Parked"), brought back');

	begin('park for an hour; it comes back at its time');
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Eva' }).click();
	await A.locator('#conv-title', { hasText: 'Eva' }).waitFor();
	await A.locator('#park-open').click();
	await A.locator('#park-1h').check();
	await A.locator('#park-submit').click();
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Eva' }).waitFor({ state: 'detached' });
	await A.locator('[data-testid="parked-item"]').waitFor({ state: 'visible' });
	await advanceClock(3601000);
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Eva' }).waitFor();
	await A.locator('[data-testid="notice"]', { hasText: 'Back from parking' }).first().waitFor();
	await A.locator('[data-testid="parked-item"]').waitFor({ state: 'detached' });
	await shot(A, 'tools-4-back.png');
	ok('back in her list an hour later (test clock), with a notice');

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

run(main, { name: 'agent tools', timeoutMs: 180000, failurePrefix: 'tools-failure-' });
