// axe-core over the agent console and the supervisor view (WCAG 2 A and
// AA rules): no finding of impact serious or critical. Run by
// tests/e2e/test_a11y_console.py (E2E_BASE: the edge; E2E_AXE: axe.min.js;
// a web chat and a mail wait in the queue).
//
// Checked as drawn: the login page (and its error), alice's console with
// the view tabs, an offer, a web chat open with the reply box, the e-mail
// composer (To, Cc, subject, quote, signature), the transfer dialog, then
// the supervisor view's board and reports; sam (a supervisor only) monitoring
// alice's web chat.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { BASE, begin, dialogs, goAvailable, launch, login, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

const AXE = fs.readFileSync(process.env.E2E_AXE, 'utf8');

async function axe(page, what) {
	if (!(await page.evaluate(() => !!window.axe)))
		await page.evaluate(AXE);
	await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {}))));
	const found = await page.evaluate(async () => {
		const r = await window.axe.run(document, {
			runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
			resultTypes: ['violations'],
		});
		return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
			.map((v) => `${v.id} (${v.impact}): ${v.help}: ` +
			     v.nodes.slice(0, 6).map((n) => n.target.join(' ') + ' [' +
				(n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 160) + ']').join('; '));
	});
	assert.deepEqual(found, [], `axe over the console, ${what}`);
	ok(`axe: no serious or critical findings (${what})`);
}

async function main() {
	await launch();
	const A = await newPage('console', 1366, 768);

	begin('login page');
	await A.goto(BASE + '/console/');
	await A.locator('#login-agent').waitFor();
	await axe(A, 'login page');
	await A.locator('#login-agent').fill('alice');
	await A.locator('#login-password').fill('wrong password');
	await A.locator('#login-submit').click();
	await A.locator('#login-error:not([hidden])').first().waitFor();
	await axe(A, 'login page with an error');

	begin('agent console');
	await login(A, 'alice', 'alice');
	await A.locator('#view-tabs').waitFor();
	await axe(A, 'agent view, away, with the view tabs');
	await goAvailable(A);
	await A.locator('[data-testid="offer-card"]').first().waitFor();
	await axe(A, 'an offer');

	begin('web chat open');
	const chat = A.locator('[data-testid="offer-card"]', { hasText: 'Web chat' });
	await chat.first().locator('[data-testid="offer-accept"]').click();
	await A.locator('#transcript [data-testid="message"][data-direction="in"]').first().waitFor();
	await A.locator('#reply-text').fill('Hello, how can I help?');
	await A.locator('#reply-text').press('Enter');
	await A.locator('#transcript [data-testid="message"][data-direction="out"]').first().waitFor();
	await axe(A, 'a web chat with the reply box');

	begin('e-mail open');
	await A.locator('[data-testid="offer-card"] [data-testid="offer-accept"]').first().click();
	await A.locator('[data-testid="mail-composer"]:not([hidden])').waitFor();
	await A.locator('[data-testid="mail-cc-chip"]').first().waitFor();
	await A.locator('[data-testid="mail-quote"] summary').click();
	await axe(A, 'the e-mail composer with Cc and the quote open');
	await shot(A, 'a11y-email.png');

	begin('transfer dialog');
	await A.locator('#transfer-open').first().click();
	await A.locator('dialog[open], [role="dialog"]:not([hidden])').first().waitFor();
	await axe(A, 'the transfer dialog');
	await A.keyboard.press('Escape');

	begin('supervisor view');
	await A.locator('#tab-supervisor').click();
	await A.locator('#supervisor').waitFor({ state: 'visible' });
	await A.locator('#sup-queues tbody tr').first().waitFor();
	await axe(A, 'the supervisor board');
	await A.locator('#sup-tab-reports').click();
	await A.locator('#sup-reports').waitFor({ state: 'visible' });
	/* as loaded: while a report loads the old one is dimmed */
	await A.locator('#sup-reports[aria-busy="false"]').waitFor();
	await axe(A, 'the supervisor reports');
	await A.locator('#sup-tab-reasons').click();
	await A.locator('#rep-body .rep-remove').first().waitFor();
	await A.locator('#sup-reports[aria-busy="false"]').waitFor();
	await axe(A, 'the contact reasons');
	await shot(A, 'a11y-supervisor.png');

	begin('a supervisor alone, monitoring');
	const S = await newPage('supervisor', 1366, 768);
	await login(S, 'sam', 'sam');
	await S.locator('#supervisor').waitFor({ state: 'visible' });
	await S.locator('[data-testid="monitor-open"]').first().waitFor();
	await axe(S, 'a supervisor\'s own view');
	await S.locator('[data-testid="monitor-open"]').first().click();
	await S.locator('#monitor').waitFor({ state: 'visible' });
	await S.locator('#monitor-transcript [data-testid="message"]').first().waitFor();
	await axe(S, 'monitoring a conversation (whisper and barge box)');
	await shot(S, 'a11y-monitor.png');

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

run(main, { name: 'a11y console', timeoutMs: 120000, failurePrefix: 'a11y-failure-' });
