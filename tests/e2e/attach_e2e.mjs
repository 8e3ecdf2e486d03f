// End-to-end test of attaching files in the agent console (attach.js), run
// by tests/e2e/test_attach_console.py (E2E_BASE: the edge).
//
// Alice logs in and goes available; a visitor on the demo page (the widget) asks a
// question; alice accepts, picks a PDF with the paper-clip button: the
// reply box shows its name and size, then "ready"; she sends it with a
// text; her transcript shows the file, and the visitor's page shows it as
// a link whose bytes are the PDF's. A program named like a PDF is refused
// in the reply box with the server's reason.

import assert from 'node:assert/strict';
import { BASE, begin, dialogs, launch, login, loginAvailable, newPage, ok, problems, run, shot } from './e2e_harness.mjs';

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(70000, 0x41), Buffer.from('\n%%EOF\n')]);

async function main() {
	await launch();
	const A = await newPage('console', 1280, 900);
	const B = await newPage('chat', 720, 860);

	begin('login');
	await loginAvailable(A, 'alice', 'alice');

	begin('visitor');
	await B.goto(BASE + '/chat-demo/');
	await B.locator('#conn[data-state="online"]').waitFor();
	await B.locator('#text').fill('Can you send me the quote?');
	await B.locator('#text').press('Enter');
	await B.locator('#log li.msg.from-visitor:not(.pending)').waitFor();

	begin('accept');
	const card = A.locator('[data-testid="offer-card"]').first();
	await card.locator('[data-testid="offer-accept"]').click();
	await A.locator('#transcript [data-testid="message"][data-direction="in"]').first().waitFor();
	ok('alice has the conversation');

	begin('attach a PDF');
	assert.ok(await A.locator('#attach-button').isVisible(), 'the reply box has an attach button');
	const chooser = A.waitForEvent('filechooser');
	await A.locator('#attach-button').click();
	await (await chooser).setFiles({ name: 'quote.pdf', mimeType: 'application/pdf', buffer: PDF });
	const item = A.locator('[data-testid="attach-item"]', { hasText: 'quote.pdf' });
	await item.waitFor();
	await A.locator('[data-testid="attach-item"][data-state="ready"]').waitFor();
	assert.match(await item.textContent(), /68\.4 kB · ready/, 'name, size and ready are shown');
	ok('the PDF is uploaded: ' + (await item.textContent()));
	await shot(A, 'attach-ready.png');

	begin('send it');
	await A.locator('#reply-text').fill('Here is the quote.');
	await A.locator('#reply-text').press('Enter');
	await A.locator('[data-testid="attach-item"]').waitFor({ state: 'detached' });
	await A.locator('#transcript [data-testid="attachment"]', { hasText: 'quote.pdf' }).waitFor();
	ok('the transcript shows the sent file');

	begin('the visitor gets a link');
	const link = B.locator('#log li.msg a', { hasText: 'quote.pdf' });
	await link.waitFor();
	const href = await link.getAttribute('href');
	const got = await B.evaluate(async (u) => {
		const r = await fetch(u);
		return { status: r.status, bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
	}, href);
	assert.equal(got.status, 200, 'the link opens');
	assert.ok(Buffer.from(got.bytes).equals(PDF), 'the visitor fetches the same bytes');
	ok('the visitor fetched the PDF through its link: ' + got.bytes.length + ' bytes');
	await shot(B, 'attach-visitor.png');

	begin('a refused file');
	const chooser2 = A.waitForEvent('filechooser');
	await A.locator('#attach-button').click();
	await (await chooser2).setFiles({ name: 'invoice.pdf', mimeType: 'application/pdf',
					 buffer: Buffer.from('MZ\x90\x00 not a pdf at all') });
	const bad = A.locator('[data-testid="attach-item"][data-state="failed"]', { hasText: 'invoice.pdf' });
	await bad.waitFor();
	assert.match(await bad.textContent(), /type/, 'the reason is shown');
	ok('refused: ' + (await bad.textContent()));

	assert.deepEqual(dialogs, [], 'no dialogs');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

run(main, { name: 'attach', timeoutMs: 100000, failurePrefix: 'attach-failure-' });
