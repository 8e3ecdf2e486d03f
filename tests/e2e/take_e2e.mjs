// Taking back a declined offer in the console (run by
// tests/e2e/test_take_console.py, which starts the daemon where only alice
// takes billing; it sets E2E_BASE, E2E_OUT, E2E_CHROMIUM, E2E_PLAYWRIGHT).
//
// alice is available; a visitor asks about an invoice; alice rejects the
// offer by mistake; "Missed and declined" lists it with "Take it back"; a
// click brings the offer back and the console accepts it: the chat is in
// her list and the visitor is told she joined.

import assert from 'node:assert/strict';

import { BASE, begin, dialogs, launch, loginAvailable, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

if (!BASE) {
	console.error('take_e2e: set E2E_BASE (tests/e2e/test_take_console.py does)');
	process.exit(2);
}

async function main() {
	await launch();
	const A = await newPage('console', 1400, 860);
	const V = await newPage('visitor', 1000, 800);

	begin('alice is available, the visitor asks');
	await loginAvailable(A, 'alice', 'alice');
	await V.addInitScript(() => window.localStorage.setItem('omniroute.chat.name', 'Anna Jansen'));
	await V.goto(BASE + '/chat-demo/');
	await V.locator('#conn[data-state="online"]').waitFor();
	await V.locator('#text').fill('Goedemiddag, een vraag over mijn factuur');
	await V.locator('#text').press('Enter');
	ok('the visitor asked');

	begin('alice declines the offer');
	const card = A.locator('[data-testid="offer-card"]').first();
	await card.waitFor({ state: 'visible' });
	await card.locator('[data-testid="offer-reject"]').click();
	await card.waitFor({ state: 'detached' });
	const item = A.locator('[data-testid="takeback-item"]');
	await item.waitFor({ state: 'visible' });
	assert.match(await item.textContent(), /Anna Jansen/, 'the declined chat is listed by the customer');
	assert.match(await item.textContent(), /You declined it/, 'with why');
	await shot(A, 'take-1-listed.png');
	ok('"Missed and declined" lists it');

	begin('take it back');
	await item.locator('[data-testid="takeback-take"]').click();
	await A.locator('[data-testid="conversation-item"]', { hasText: 'Anna Jansen' }).waitFor();
	await item.waitFor({ state: 'detached' });
	await shot(A, 'take-2-taken.png');
	ok('the chat is alice\'s again and the entry is gone');

	begin('the visitor hears it');
	await V.locator('#log li.event-joined', { hasText: 'Alice' }).waitFor();
	ok('the visitor is told alice joined');

	assert.deepEqual(dialogs, [], 'no alert() or confirm()');
	assert.deepEqual(problems, [], 'no page errors');
}

run(main, { name: 'take back', timeoutMs: 120000, failurePrefix: 'take-failure-' });
