// End-to-end test of a WhatsApp template's variables in the agent console
// (headless Chromium driven by playwright-core), against a running
// omniroute.
//
// Run by tests/e2e/test_template_console.py, which starts Redis, the
// daemon with the whatsapp plugin (reply window 2 s) and a fake Graph API,
// and lets a customer write; it sets E2E_BASE, E2E_OUT (and E2E_CHROMIUM,
// E2E_PLAYWRIGHT).
//
// The scenario: alice logs in, goes available and accepts the offer; the
// reply window is closed; she picks order_update and gets a field per
// variable; "Send template" with a field empty says which is missing and
// sends nothing; filled in, the template goes and the transcript shows
// the text with the values (the test then checks the Graph API's JSON).

import assert from 'node:assert/strict';
import { BASE, acceptFirstOffer, begin, dialogs, launch, login, loginAvailable, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

if (!BASE) {
	console.error('template_e2e: set E2E_BASE (tests/e2e/test_template_console.py does)');
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
	ok('alice accepted the WhatsApp conversation');

	begin('the window is closed: templates');
	await A.locator('#window-bar').waitFor({ state: 'visible', timeout: 10000 });
	await A.locator('#window-template').selectOption('order_update');
	const vars = A.locator('[data-testid="template-vars"]');
	await vars.waitFor({ state: 'visible' });
	const labels = await vars.locator('label span').allTextContents();
	assert.deepEqual(labels, ['Header text', 'Text {{1}}', 'Text {{2}}', 'Text {{3}}',
				  'Button 0 (link suffix)'], 'one field per variable');
	ok(`the form: ${labels.join(', ')}`);

	begin('a variable missing: refused in the form');
	await A.locator('[data-testid="template-var-header"]').fill('B-778');
	await A.locator('[data-testid="template-var-1"]').fill('Kerry');
	await A.locator('[data-testid="template-var-2"]').fill('B-778');
	await A.locator('[data-testid="template-var-button_0"]').fill('B-778');
	await A.locator('#window-send').click();
	const err = A.locator('[data-testid="template-error"]');
	await A.waitForFunction(() => document.querySelector('[data-testid="template-error"]').textContent.length > 0);
	assert.equal((await err.textContent()).trim(), 'Fill in: Text {{3}}', 'the missing one named');
	assert.equal(await A.locator('[data-testid="template-var-3"]').getAttribute('aria-invalid'), 'true');
	await shot(A, 'template-1-missing.png');
	ok('the empty field is named and marked');

	begin('all filled in: sent');
	await A.locator('[data-testid="template-var-3"]').fill('on Monday');
	await A.locator('#window-send').click();
	const sent = A.locator('#transcript li', { hasText: 'Hello Kerry, your order B-778 ships on Monday.' });
	await sent.first().waitFor();
	assert.equal((await err.textContent()).trim(), '', 'no error left');
	await shot(A, 'template-2-sent.png');
	ok('the template is in the transcript with the values');

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

run(main, { name: 'template variables', timeoutMs: 90000, failurePrefix: 'template-failure-' });
