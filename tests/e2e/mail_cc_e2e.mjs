// End-to-end test of the Cc of an e-mail reply in the agent console
// (mail_cc.js), run by tests/e2e/test_mail_cc_console.py (E2E_BASE: the
// edge; the customer's mail, with a Cc, is in the queue already).
//
// Alice logs in and accepts the mail; the composer's Cc line holds the
// Cc of the customer's mail (bob, team); she removes team, adds carol by
// typing and Enter, is told that "not an address" is none, and sends with
// Ctrl+Enter; her transcript shows the sent reply's Cc. The test checks
// the mail at the SMTP server.

import assert from 'node:assert/strict';
import { begin, dialogs, goAvailable, launch, login, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

async function main() {
	await launch();
	const A = await newPage('console', 1366, 768);

	begin('login');
	await login(A, 'alice', 'alice');
	await goAvailable(A);

	begin('accept the mail');
	await A.locator('[data-testid="offer-card"] [data-testid="offer-accept"]').first().click();
	await A.locator('#transcript [data-testid="message"][data-direction="in"]').first().waitFor();
	await A.locator('[data-testid="mail-composer"]').waitFor();
	const chips = A.locator('[data-testid="mail-cc-chip"]');
	await chips.first().waitFor();
	assert.deepEqual(await A.locator('[data-testid="mail-cc-chip"] .cc-addr').allTextContents(),
			 ['bob@example.org', 'team@example.net'], 'the customer\'s Cc is prefilled');
	ok('prefilled: ' + (await A.locator('[data-testid="mail-cc-chip"] .cc-addr').allTextContents()).join(', '));

	begin('edit the Cc');
	await A.getByRole('button', { name: 'Remove team@example.net from Cc' }).click();
	const input = A.locator('[data-testid="mail-cc-input"]');
	await input.fill('not an address');
	await input.press('Enter');
	await A.locator('[data-testid="mail-cc-error"]', { hasText: 'Not a mail address' }).waitFor();
	ok('refused: ' + (await A.locator('[data-testid="mail-cc-error"]').textContent()));
	await input.fill('Carol@Example.com');
	await input.press('Enter');
	assert.deepEqual(await A.locator('[data-testid="mail-cc-chip"] .cc-addr').allTextContents(),
			 ['bob@example.org', 'carol@example.com'], 'team removed, carol added');
	assert.equal(await A.locator('[data-testid="mail-cc-error"]').textContent(), '', 'no error left');
	assert.equal(await A.locator('#transcript [data-direction="out"]').count(), 0,
		     'Enter in the Cc box sends nothing');
	await shot(A, 'mail-cc-composer.png');

	begin('send');
	await A.locator('#reply-text').fill('Beste Eva,\n\nDe offerte volgt.\n\nAlice');
	await A.locator('#reply-text').press('Control+Enter');
	const sent = A.locator('#transcript [data-testid="mail-cc-sent"]');
	await sent.waitFor();
	assert.equal(await sent.textContent(), 'Cc: bob@example.org, carol@example.com',
		     'the sent reply shows its Cc');
	ok('sent: ' + (await sent.textContent()));
	/* the next answer starts from the customer's Cc again */
	assert.deepEqual(await A.locator('[data-testid="mail-cc-chip"] .cc-addr').allTextContents(),
			 ['bob@example.org', 'team@example.net'], 'the Cc is the customer\'s again');

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

run(main, { name: 'mail cc', timeoutMs: 90000, failurePrefix: 'mail-cc-failure-' });
