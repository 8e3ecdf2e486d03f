// End-to-end test of the customer panel in a real browser (headless
// Chromium driven by playwright-core), against a running omniroute.
//
// Run by tests/e2e/test_owner_console.py, which starts Redis and the
// daemon, has bob handle the customer's first contact (wrapped up as
// "invoice unclear", outcome follow_up: an open promise, and the balance
// goes down) and the customer write again; it sets E2E_BASE, E2E_OUT (and
// E2E_CHROMIUM, E2E_PLAYWRIGHT).
//
// The scenario: alice logs in, goes available and accepts the offer; the
// customer panel shows no contact person yet, the relationship as words
// (not the balance's number), the open promise and the last contact
// reason; alice clicks "Make me their contact person" and the panel shows
// her as the contact person (the test then checks the admin API).

import assert from 'node:assert/strict';
import { BASE, acceptFirstOffer, begin, dialogs, launch, login, loginAvailable, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

if (!BASE) {
	console.error('owner_e2e: set E2E_BASE (tests/e2e/test_owner_console.py does)');
	process.exit(2);
}

async function main() {
	await launch();
	const A = await newPage('console', 1400, 860);

	begin('console login');
	await loginAvailable(A, 'alice', 'alice');
	ok('alice is logged in and available');

	begin('offer');
	await acceptFirstOffer(A);
	ok('alice accepted the customer\'s conversation');

	begin('the customer panel');
	const owner = A.locator('[data-testid="customer-owner"]');
	await owner.waitFor({ state: 'visible' });
	assert.equal((await owner.textContent()).trim(), 'None', 'no contact person yet');
	const trend = A.locator('[data-testid="customer-trend"]');
	await trend.waitFor({ state: 'visible' });
	const t = (await trend.textContent()).trim();
	assert.match(t, /^Slipping · ↓ declining$/, `the relationship in words (got ${JSON.stringify(t)})`);
	assert.doesNotMatch(t, /\d/, 'not the balance as a number');
	const promises = A.locator('[data-testid="customer-promises"] li');
	assert.equal(await promises.count(), 1, 'one open promise');
	assert.ok((await promises.first().textContent()).includes('Follow up: invoice unclear'),
		  'the promise names its reason');
	const reasons = A.locator('[data-testid="customer-reasons"] li');
	assert.deepEqual(await reasons.allTextContents(), ['invoice unclear'], 'the last contact reason');
	await shot(A, 'owner-1-panel.png');
	ok(`the panel: no owner, "${t}", the promise and the reason`);

	begin('make me their contact person');
	const own = A.locator('[data-testid="customer-own"]');
	await own.waitFor({ state: 'visible' });
	await own.click();
	await A.locator('[data-testid="customer-owner"]', { hasText: 'You' }).waitFor();
	await own.waitFor({ state: 'hidden' });
	await shot(A, 'owner-2-owned.png');
	ok('alice is their contact person; the button is gone');

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

run(main, { name: 'customer panel', timeoutMs: 90000, failurePrefix: 'owner-failure-' });
