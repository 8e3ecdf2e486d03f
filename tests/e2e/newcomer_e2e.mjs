// A newcomer's first chat (run by tests/e2e/test_newcomer.py, which starts
// the daemon on the shipped configuration and a web site whose page is
// README.md's one line).
//
// From the environment:
//   E2E_BASE      http://127.0.0.1:<edge port> (the console)
//   E2E_PAGE      the one-line page
//   E2E_QUESTION  what the visitor asks
//
// bob logs in and goes available (with nobody available the widget
// offers its leave-a-message form instead); the visitor opens the widget
// and asks; bob accepts, types /hello, takes the shipped greeting with Enter and sends it
// with Enter; the visitor reads it in the widget.

import assert from 'node:assert/strict';

import { BASE, acceptFirstOffer, begin, dialogs, launch, loginAvailable, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

const PAGE = process.env.E2E_PAGE;
const QUESTION = process.env.E2E_QUESTION;

if (!BASE || !PAGE || !QUESTION) {
	console.error('newcomer_e2e: set E2E_BASE, E2E_PAGE and E2E_QUESTION (tests/e2e/test_newcomer.py does)');
	process.exit(2);
}

async function main() {
	await launch();
	const V = await newPage('visitor', 1000, 800);
	const A = await newPage('console', 1400, 860);

	begin('bob is available');
	await loginAvailable(A, 'bob', 'bob');
	ok('bob is logged in and available');

	begin('the one-line page');
	await V.goto(PAGE);
	await V.locator('#launcher').waitFor({ state: 'visible' });
	await V.locator('#launcher').click();
	await V.locator('#text').waitFor({ state: 'visible' });
	await V.locator('#conn[data-state="online"]').waitFor();
	await V.locator('#text').fill(QUESTION);
	await V.locator('#text').press('Enter');
	await V.locator('#log li.msg.from-visitor:not(.pending)', { hasText: QUESTION }).waitFor();
	ok('the widget is on the page and the question is taken');

	begin('bob answers with a canned response');
	await acceptFirstOffer(A);
	const reply = A.locator('#reply-text');
	await reply.click();
	await reply.pressSequentially('/hello', { delay: 40 });
	await A.locator('[data-testid="canned-box"]').waitFor({ state: 'visible' });
	assert.equal(await A.locator('[data-testid="canned-item"]').first().getAttribute('data-shortcut'),
		     'hello', 'the shipped greeting first');
	await reply.press('Enter');
	await A.locator('[data-testid="canned-box"]').waitFor({ state: 'hidden' });
	const filled = await reply.inputValue();
	assert.match(filled, /^Hello \S+, this is Bob\. How can I help you\?$/,
		     `the greeting, filled in (got ${JSON.stringify(filled)})`);
	await shot(A, 'newcomer-1-canned.png');
	await reply.press('Enter');
	ok(`bob sent "${filled}"`);

	begin('the visitor reads it');
	await V.locator('#log li.msg.from-agent', { hasText: filled }).waitFor();
	await shot(V, 'newcomer-2-widget.png');
	ok('the widget shows bob\'s answer');

	assert.deepEqual(dialogs, [], 'no alert() or confirm()');
	assert.deepEqual(problems, [], 'no page errors');
}

run(main, { name: 'newcomer', timeoutMs: 200000, failurePrefix: 'newcomer-failure-' });
