// End-to-end test of the console's search and identity linking in a real
// browser (headless Chromium driven by playwright-core), against a running
// omniroute. Run by tests/e2e/test_search_console.py (see there), which
// sets E2E_BASE, E2E_OUT (and E2E_CHROMIUM, E2E_PLAYWRIGHT).

import assert from 'node:assert/strict';
import { BASE, acceptFirstOffer, begin, dialogs, launch, login, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

if (!BASE) {
	console.error('search_e2e: set E2E_BASE (tests/e2e/test_search_console.py does)');
	process.exit(2);
}

async function main() {
	await launch();
	const A = await newPage('console', 1366, 768);

	begin('console login and the new chat');
	await login(A, 'alice', 'alice');
	const toggle = A.locator('#presence-toggle');
	if (await toggle.getAttribute('aria-checked') !== 'true')
		await toggle.click();
	await acceptFirstOffer(A);
	await A.locator('#customer-previous-empty').waitFor({ state: 'visible' });
	ok('alice has the chat of "E. J.", a first contact');

	begin('search with the keyboard');
	await A.keyboard.press('Control+k');
	const q = A.locator('#search-q');
	await q.waitFor({ state: 'visible' });
	assert.equal(await A.evaluate(() => document.activeElement.id), 'search-q', 'Ctrl+K focuses the search box');
	await q.fill('eva jans');
	await A.keyboard.press('Enter');
	const hit = A.locator('[data-testid="search-result"]').first();
	await hit.waitFor({ state: 'visible' });
	assert.equal(await A.locator('[data-testid="search-result"]').count(), 1, 'one result');
	assert.ok((await hit.textContent()).includes('Eva Jansen'), 'the result names Eva');
	assert.ok((await hit.textContent()).includes('Mijn factuur van juli'), 'with a preview');
	await shot(A, 'search-1-results.png');
	await A.keyboard.press('ArrowDown');
	assert.equal(await A.evaluate(() => document.activeElement.dataset.testid), 'search-result',
		     'Arrow Down walks to the result');
	await A.keyboard.press('Enter');
	await A.locator('#history .readonly-banner').waitFor({ state: 'visible' });
	await A.locator('#history-transcript', { hasText: 'Mijn factuur van juli klopt niet' }).waitFor();
	await shot(A, 'search-2-readonly.png');
	ok('the result opens read-only with its messages');
	await A.keyboard.press('Escape');
	await A.locator('#history').waitFor({ state: 'hidden' });
	ok('Escape goes back to the conversation');

	begin('link, after a confirmation that shows both');
	const link = A.locator('[data-testid="search-link"]').first();
	await link.waitFor({ state: 'visible' });
	await link.click();
	const dlg = A.locator('#link-dialog');
	await dlg.waitFor({ state: 'visible' });
	const both = await dlg.textContent();
	assert.ok(both.includes('E. J.') && both.includes('Eva Jansen'), 'the confirmation shows both customers');
	await shot(A, 'search-3-confirm.png');
	await A.locator('[data-testid="link-confirm"]').click();
	const linked = A.locator('[data-testid="linked-identities"]');
	await linked.waitFor({ state: 'visible' });
	assert.ok((await linked.textContent()).includes('Eva Jansen'), 'the panel names the linked identity');
	await A.locator('[data-testid="previous-conversation"]').first().waitFor();
	assert.equal(await A.locator('[data-testid="previous-conversation"]').count(), 1,
		     'Eva\'s earlier conversation follows');
	await shot(A, 'search-4-linked.png');
	ok('linked: the history follows');

	begin('unlink');
	await A.locator('[data-testid="unlink"]').click();
	await dlg.waitFor({ state: 'visible' });
	await A.locator('[data-testid="link-confirm"]').click();
	await linked.waitFor({ state: 'hidden' });
	await A.locator('#customer-previous-empty').waitFor({ state: 'visible' });
	ok('unlinked: the history goes back');

	begin('a supervisor reads a result in the search panel');
	const B = await newPage('supervisor', 1440, 900);
	await login(B, 'sam', 'sam');
	await B.locator('#search-open').click();
	await B.locator('#search-q').fill('juli');
	await B.keyboard.press('Enter');
	const sHit = B.locator('[data-testid="search-result"]').first();
	await sHit.waitFor({ state: 'visible' });
	assert.equal(await B.locator('[data-testid="search-link"]').count(), 0,
		     'nothing to link without a conversation of his own');
	await sHit.click();
	await B.locator('.search-view', { hasText: 'Mijn factuur van juli klopt niet' }).waitFor();
	await shot(B, 'search-5-supervisor.png');
	ok('the supervisor reads it read-only in the panel');

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

run(main, { name: 'search', timeoutMs: 90000, failurePrefix: 'search-failure-' });
