// End-to-end test of the console's supervisor view in a real browser
// (headless Chromium driven by playwright-core), against a running
// omniroute.
//
// Run by tests/e2e/test_supervisor_console.py, which starts Redis and the
// daemon (users: alice and bob, agents; sam, a supervisor of every queue)
// and sets:
//   E2E_BASE   http://127.0.0.1:<edge port>   (console at /console/, chat demo at /chat-demo/)
//   E2E_OUT    directory for screenshots
//   E2E_CHROMIUM (optional) the browser, default /usr/bin/chromium
//   E2E_PLAYWRIGHT (optional) where playwright-core is installed
//
// The scenario, with sam, alice and the visitors each in their own browser
// context: sam logs in and gets the supervisor view (no presence switch,
// no offers); alice logs in (away); two visitors ask billing questions and
// sam sees them wait, with why (the routing rule); sam pulls the second to
// alice and sets alice available: she is offered the pulled one first and
// accepts it, and sam's counts follow. Sam monitors it (alice is told),
// sees the visitor's messages and alice's reply live, whispers to alice
// (her console shows it as a whisper; the visitor's websocket never gets
// it) and barges in (the visitor gets it, with sam's name). Sam's
// connection drops: the view comes back live by itself. Sam reassigns the
// conversation to another queue, stops monitoring with Esc and sets alice
// away. Nothing shows customer text as HTML; the view fits 1280 px.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const { chromium } = process.env.E2E_PLAYWRIGHT ?
	await import(pathToFileURL(path.join(process.env.E2E_PLAYWRIGHT, 'index.mjs')).href) :
	await import('playwright-core');

const BASE = process.env.E2E_BASE;
const OUT = process.env.E2E_OUT || path.join(process.cwd(), 'screenshots');
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const OVERALL_MS = Number(process.env.E2E_TIMEOUT_MS || 120000);
const STEP_MS = 15000;

const ANNA = 'Anna <img src=x onerror=alert(1)>';   /* a name is text, never HTML */
const ZOE = 'Zoe';
const WHISPER = 'Offer a 10% discount';
const BARGE = 'Hello Zoe, I am Sam, Alice\'s lead';
const REPLY = 'Ik kijk even mee';

if (!BASE) {
	console.error('supervisor_e2e: set E2E_BASE (tests/e2e/test_supervisor_console.py does)');
	process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });

let browser = null;
let step = 'start';
const t0 = Date.now();

function ok(what) {
	console.log(`ok ${((Date.now() - t0) / 1000).toFixed(1)}s: ${what}`);
}

function begin(what) {
	step = what;
}

const watchdog = setTimeout(() => {
	console.error(`FAIL: overall timeout of ${OVERALL_MS / 1000} s, during: ${step}`);
	process.exit(1);
}, OVERALL_MS);

async function shot(page, name) {
	const file = path.join(OUT, name);
	await page.screenshot({ path: file });
	ok(`screenshot ${file}`);
}

const dialogs = [];
const problems = [];

function watch(name, page) {
	page.setDefaultTimeout(STEP_MS);
	page.on('dialog', (d) => {
		dialogs.push(`${name}: ${d.type()} ${d.message()}`);
		d.dismiss().catch(() => {});
	});
	page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
			problems.push(`${name}: ${m.text()}`);
	});
}

async function login(page, user, password) {
	await page.goto(BASE + '/console/');
	await page.locator('#login-agent').fill(user);
	await page.locator('#login-password').fill(password);
	await page.locator('#login-submit').click();
	await page.locator('#app').waitFor({ state: 'visible' });
	await page.locator('#conn[data-state="online"]').waitFor();
}

/* A web chat visitor on the demo chat page, in a context of their own;
 * every frame its websocket receives is kept. */
async function visitor(name) {
	const ctx = await browser.newContext({ viewport: { width: 720, height: 760 } });
	await ctx.addInitScript((n) => {
		try { window.localStorage.setItem('omniroute.chat.name', n); } catch (e) { /* ignore */ }
	}, name);
	const page = await ctx.newPage();
	watch(`chat ${name}`, page);
	const frames = [];
	page.on('websocket', (ws) => {
		ws.on('framereceived', (f) => frames.push(String(f.payload)));
	});
	await page.goto(BASE + '/chat-demo/');
	await page.locator('#conn[data-state="online"]').waitFor();
	return { page, frames };
}

async function say(v, text) {
	await v.page.locator('#text').fill(text);
	await v.page.locator('#text').press('Enter');
	await v.page.locator('#log li.msg.from-visitor:not(.pending)', { hasText: text }).waitFor();
}

/* no horizontal scrolling: the page, the board and its tables fit */
async function fits(page) {
	return page.evaluate(() => {
		const bad = [];
		const de = document.documentElement;
		if (de.scrollWidth > de.clientWidth)
			bad.push(`page ${de.scrollWidth} > ${de.clientWidth}`);
		for (const n of document.querySelectorAll('#supervisor, #sup-board, #monitor, .sup-table, .topbar')) {
			if (n.offsetParent !== null && n.scrollWidth > n.clientWidth + 1)
				bad.push(`${n.id || n.className} ${n.scrollWidth} > ${n.clientWidth}`);
		}
		return bad;
	});
}

async function main() {
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		       '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	const samCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const aliceCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const S = await samCtx.newPage();
	const A = await aliceCtx.newPage();
	watch('sam', S);
	watch('alice', A);

	/* sam's websocket goes through a route: the test sees what the page
	 * sends, and can drop the connection */
	const samWs = { sent: [], current: null, opened: 0 };
	await S.routeWebSocket(/\/agent$/, (ws) => {
		const server = ws.connectToServer();
		samWs.opened++;
		samWs.current = { ws, server };
		ws.onMessage((m) => {
			try { samWs.sent.push(JSON.parse(m)); } catch (e) { /* not JSON */ }
			server.send(m);
		});
		server.onMessage((m) => ws.send(m));
	});
	const sent = (pred) => samWs.sent.filter(pred).length;
	const wallboardOn = (f) => f.type === 'wallboard' && f.on === true;

	/* ---- sam logs in: the supervisor view is the main screen ---- */
	begin('sam logs in');
	await login(S, 'sam', 'sam');
	await S.locator('#supervisor').waitFor({ state: 'visible' });
	assert.equal(await S.locator('#workspace').isVisible(), false, 'no agent workspace for a supervisor');
	assert.equal(await S.locator('#presence-toggle').isVisible(), false, 'no presence switch for a supervisor');
	assert.equal(await S.locator('#view-tabs').isVisible(), false, 'no view tabs: sam is no agent');
	const queueRows = S.locator('[data-testid="sup-queue"]');
	await queueRows.nth(2).waitFor();
	assert.deepEqual(await queueRows.evaluateAll((rs) => rs.map((r) => r.dataset.queue)),
			 ['general', 'billing', 'tech'], 'every queue on the board');
	const billing = S.locator('[data-testid="sup-queue"][data-queue="billing"]');
	const tech = S.locator('[data-testid="sup-queue"][data-queue="tech"]');
	const aliceRow = S.locator('[data-testid="sup-agent"][data-agent="alice"]');
	await aliceRow.and(S.locator('[data-state="offline"]')).waitFor();
	assert.equal(sent(wallboardOn), 1, 'the page asked for the wallboard once');
	assert.equal((await billing.locator('[data-field="waiting"]').textContent()).trim(), '0', 'nobody waits');
	ok('sam sees the supervisor view: 3 queues, alice offline, nobody waiting');

	/* ---- alice logs in (away): sam sees it ---- */
	begin('alice logs in');
	await login(A, 'alice', 'alice');
	await A.locator('#presence-toggle[aria-checked="false"]').waitFor();
	await aliceRow.and(S.locator('[data-state="away"]')).waitFor();
	assert.equal((await billing.locator('[data-field="agents"] [data-state="away"] b').textContent()).trim(), '1',
		     'billing counts one agent away');
	ok('alice logged in: sam sees her away, without asking');

	/* ---- visitors arrive: the counts follow ---- */
	begin('visitors arrive');
	const anna = await visitor(ANNA);
	await say(anna, 'Goedemiddag, een vraag over mijn factuur');
	await billing.locator('[data-field="waiting"]', { hasText: /^1$/ }).waitFor();
	const annaRow = S.locator('[data-testid="sup-waiting"]', { hasText: 'Anna' });
	await annaRow.waitFor();
	assert.equal((await annaRow.locator('[data-field="customer"] .row-title').textContent()), ANNA,
		     'the customer\'s name, as text');
	assert.equal(await S.locator('#supervisor img').count(), 0, 'no <img> from a customer\'s name');
	const why = await annaRow.locator('[data-field="routing"]').textContent();
	assert.ok(why.includes('Rule: dutch billing') && why.includes('NL'), `why it waits there (${why})`);
	assert.match(await annaRow.locator('[data-field="where"]').textContent(), /billing\s*Web chat/,
		     'its queue and channel');
	/* the waits count by themselves, from the server's clock */
	const wait1 = (await annaRow.locator('[data-field="wait"]').textContent()).trim();
	assert.match(wait1, /^\d+:\d\d$/, `a wait (${wait1})`);
	await S.waitForFunction((w) => {
		const n = document.querySelector('[data-testid="sup-waiting"] [data-field="wait"]');
		return n && n.textContent.trim() !== w;
	}, wait1, { timeout: 5000 });
	ok(`anna waits in billing: the board shows it live, with why ("${why.trim().slice(0, 60)}…")`);

	const zoe = await visitor(ZOE);
	await say(zoe, 'Mijn factuur klopt niet');
	await billing.locator('[data-field="waiting"]', { hasText: /^2$/ }).waitFor();
	const zoeRow = S.locator('[data-testid="sup-waiting"]', { hasText: ZOE });
	await zoeRow.waitFor();
	const zoeConv = await zoeRow.getAttribute('data-conversation');
	const annaConv = await annaRow.getAttribute('data-conversation');
	assert.match(zoeConv || '', /^c_/, 'the waiting row names its conversation');
	assert.notEqual(zoeConv, annaConv, 'two conversations');
	assert.equal((await billing.locator('[data-field="longest"]').textContent()).trim().length > 0, true);
	ok('zoe waits too: billing shows 2 waiting');

	/* ---- pull zoe's conversation to alice; set alice available ---- */
	begin('pull');
	const pullSelect = zoeRow.locator('select[data-role="pull-agent"]');
	assert.deepEqual(await pullSelect.locator('option').evaluateAll((os) => os.map((o) => o.value)), ['alice'],
			 'the agents who serve billing');
	await pullSelect.selectOption('alice');
	await zoeRow.locator('button[data-role="pull"]').click();
	await S.locator('[data-testid="notice"]', { hasText: 'Pulled Zoe to Alice' }).waitFor();
	await zoeRow.locator('.tag-pulled', { hasText: 'pulled to Alice' }).waitFor();
	assert.equal(sent((f) => f.type === 'pull' && f.conversation === zoeConv && f.agent === 'alice'), 1,
		     'one pull frame');
	ok('sam pulled zoe\'s conversation to alice (done)');

	begin('set available');
	await aliceRow.locator('button[data-action="available"]').click();
	await S.locator('[data-testid="notice"]', { hasText: 'Alice is set available' }).waitFor();
	await A.locator('#presence-toggle[aria-checked="true"]').waitFor();
	const card = A.locator('[data-testid="offer-card"]').first();
	await card.waitFor({ state: 'visible' });
	assert.ok((await card.textContent()).includes(ZOE), 'alice is offered the pulled conversation first');
	assert.equal(await A.locator('[data-testid="offer-card"]').count(), 1, 'one offer: she takes one chat at a time');
	await card.locator('[data-testid="offer-accept"]').click();
	await A.locator(`[data-testid="conversation-item"][data-conversation="${zoeConv}"]`).waitFor();
	ok('sam set alice available: she got zoe\'s conversation first, and accepted it');

	begin('counts after the accept');
	await billing.locator('[data-field="waiting"]', { hasText: /^1$/ }).waitFor();
	await aliceRow.and(S.locator('[data-state="busy"]')).waitFor();
	await zoeRow.waitFor({ state: 'detached' });
	await aliceRow.locator(`[data-testid="monitor-open"][data-conversation="${zoeConv}"]`).waitFor();
	assert.ok((await aliceRow.locator('[data-field="conversations"]').textContent()).includes(ZOE),
		  'alice\'s row lists zoe\'s conversation');
	assert.ok((await aliceRow.locator('[data-field="load"]').textContent()).includes('Web chat 1'), 'her load');
	assert.equal((await billing.locator('[data-field="agents"] [data-state="busy"] b').textContent()).trim(), '1',
		     'billing counts one agent busy');
	const sla = billing.locator('[data-field="sla"]');
	await sla.and(S.locator('[data-level="ok"]')).waitFor();
	assert.ok((await sla.textContent()).includes('100 %'), 'answered within the SLA: 100 %, green');
	assert.match((await aliceRow.locator('[data-field="state"]').textContent()), /Busy\s*for \d+ (s|min)/,
		     'her state, and for how long');
	assert.deepEqual(await fits(S), [], 'the board fits 1280 px: no horizontal scrolling');
	await shot(S, 'supervisor-board.png');
	ok('billing: 1 waiting, alice busy with zoe, SLA 100 %');

	/* ---- monitor (with the keyboard) ---- */
	begin('monitor');
	await aliceRow.locator(`[data-testid="monitor-open"][data-conversation="${zoeConv}"]`).focus();
	await S.keyboard.press('Enter');
	const pane = S.locator('#monitor');
	await pane.waitFor({ state: 'visible' });
	const mt = S.locator('#monitor-transcript');
	await mt.locator('[data-testid="message"][data-direction="in"]', { hasText: 'Mijn factuur klopt niet' }).waitFor();
	assert.equal((await S.locator('[data-testid="monitor-status"]').textContent()).trim(), 'with Alice', 'with whom it is');
	assert.ok((await S.locator('#monitor-title').textContent()).includes(ZOE), 'whose conversation');
	await A.locator('#conv-meta [data-testid="monitored-badge"]', { hasText: 'is monitoring' }).waitFor();
	await A.locator(`[data-testid="conversation-item"][data-conversation="${zoeConv}"] [data-testid="monitored-badge"]`).waitFor();
	ok('sam monitors zoe\'s conversation; alice sees a badge');

	begin('live transcript');
	await say(zoe, 'Hallo? Is daar iemand?');
	await mt.locator('[data-testid="message"][data-direction="in"]', { hasText: 'Is daar iemand' }).waitFor();
	await A.locator('#reply-text').fill(REPLY);
	await A.locator('#reply-text').press('Enter');
	await mt.locator('[data-testid="message"][data-direction="out"]', { hasText: REPLY }).waitFor();
	ok('the visitor\'s message and alice\'s reply reach the monitor live');

	/* ---- whisper: alice sees it, the visitor never ---- */
	begin('whisper');
	await S.locator('#whisper-text').fill(WHISPER);
	await S.locator('#whisper-text').press('Enter');
	await mt.locator('[data-kind="whisper"]:not([data-status="sending"])', { hasText: WHISPER }).waitFor();
	const aw = A.locator('#transcript [data-testid="message"][data-kind="whisper"]', { hasText: WHISPER });
	await aw.waitFor();
	assert.equal(await aw.getAttribute('data-direction'), 'note', 'a note');
	assert.match(await aw.locator('.meta').textContent(), /Whisper from\s*Sam Supervisor/,
		     'alice\'s console shows who whispered');
	await A.locator('#conv-meta [data-testid="monitored-badge"]', { hasText: 'Sam Supervisor is monitoring' }).waitFor();
	ok('alice sees "Whisper from Sam Supervisor"');

	/* ---- barge: the visitor gets it, with sam's name ---- */
	begin('barge');
	await S.locator('#barge-text').fill(BARGE);
	await S.locator('#barge-send').click();
	const zb = zoe.page.locator('#log li.msg.from-agent', { hasText: BARGE });
	await zb.waitFor();
	assert.equal((await zb.locator('.who').textContent()).trim(), 'Sam Supervisor', 'with the supervisor\'s name');
	await mt.locator('[data-kind="barge"]:not([data-status="sending"])', { hasText: BARGE }).waitFor();
	const ab = A.locator('#transcript [data-testid="message"][data-kind="barge"]', { hasText: BARGE });
	await ab.waitFor();
	assert.match(await ab.locator('.meta').textContent(), /Supervisor\s*Sam Supervisor/, 'alice sees it is sam\'s');
	ok('the visitor got sam\'s message; alice\'s transcript shows it as the supervisor\'s');

	/* the whisper never reached the visitor: not on the websocket, not on the page */
	await A.waitForTimeout(500);
	assert.ok(zoe.frames.some((f) => f.includes('I am Sam')) && zoe.frames.some((f) => f.includes(REPLY)),
		  'the visitor\'s frames are recorded: the barge and alice\'s reply are there');
	assert.deepEqual(zoe.frames.filter((f) => f.includes('discount') || f.includes('whisper')), [],
			 'no frame to the visitor mentions the whisper');
	assert.equal(await zoe.page.locator('#log', { hasText: 'discount' }).count(), 0, 'the chat page shows no whisper');
	assert.deepEqual(await fits(S), [], 'with the monitor open the view still fits 1280 px');
	await shot(S, 'supervisor-monitor.png');
	await shot(A, 'console-whisper.png');
	ok('the visitor\'s websocket never saw the whisper');

	/* ---- the connection drops: the view comes back live by itself ---- */
	begin('reconnect');
	const opened = samWs.opened;
	samWs.current.ws.close({ code: 4000, reason: 'e2e: connection dropped' });
	samWs.current.server.close({ code: 1000, reason: 'e2e: connection dropped' });
	await S.locator('#conn[data-state="online"]').waitFor();
	await S.locator('#sup-live[data-state="live"]').waitFor();
	assert.ok(samWs.opened > opened, 'a new connection');
	assert.equal(sent(wallboardOn), 2, 'the wallboard asked for again after the reconnect');
	assert.equal(sent((f) => f.type === 'monitor' && f.conversation === zoeConv), 2, 'and the monitor');
	assert.equal(await S.locator('#login-view').isVisible(), false, 'without a login form');
	await S.locator('#whisper-text:not([disabled])').waitFor();
	ok('after a dropped connection: logged in again, wallboard and monitor asked for again');

	/* ---- reassign to another queue ---- */
	begin('reassign');
	await S.locator('#reassign-target').selectOption('queue:tech');
	await S.locator('#reassign-note').fill('Her router, not the invoice');
	await S.locator('#reassign-submit').click();
	await S.locator('[data-testid="notice"]', { hasText: 'Reassigned Zoe to the queue tech' }).waitFor();
	await tech.locator('[data-field="waiting"]', { hasText: /^1$/ }).waitFor();
	await S.locator('[data-testid="sup-waiting"][data-queue="tech"]', { hasText: ZOE }).waitFor();
	await mt.locator('[data-testid="monitor-event"]', { hasText: 'Alice no longer has it: transferred' }).waitFor();
	await A.locator(`[data-testid="conversation-item"][data-conversation="${zoeConv}"]`).waitFor({ state: 'detached' });
	await A.locator('[data-testid="notice"]', { hasText: 'transferred by Sam Supervisor' }).waitFor();
	assert.equal(await S.locator('#whisper-text').isDisabled(), true, 'no whisper while nobody has it');
	ok('sam reassigned zoe to tech: the board (live after the reconnect) and alice follow');

	/* alice's capacity is free again: anna is offered to her */
	begin('anna is taken');
	const annaCard = A.locator('[data-testid="offer-card"]', { hasText: 'Anna' }).first();
	await annaCard.waitFor({ state: 'visible' });
	await annaCard.locator('[data-testid="offer-accept"]').click();
	await billing.locator('[data-field="waiting"]', { hasText: /^0$/ }).waitFor();
	await aliceRow.locator(`[data-testid="monitor-open"][data-conversation="${annaConv}"]`).waitFor();
	ok('anna\'s conversation went to alice: billing 0 waiting');

	/* ---- stop monitoring with Esc ---- */
	begin('stop monitoring');
	await S.locator('#monitor-transcript').focus();
	await S.keyboard.press('Escape');
	await pane.waitFor({ state: 'hidden' });
	assert.equal(sent((f) => f.type === 'unmonitor' && f.conversation === zoeConv), 1, 'unmonitor sent');
	ok('Esc stops monitoring');

	/* ---- set alice away ---- */
	begin('set away');
	await aliceRow.locator('button[data-action="away"]').click();
	await aliceRow.and(S.locator('[data-state="away"]')).waitFor();
	await A.locator('#presence-toggle[aria-checked="false"]').waitFor();
	await A.locator('#presence-banner-text', { hasText: 'by Sam Supervisor' }).waitFor();
	ok('sam set alice away: her console says by whom');
	assert.deepEqual(await fits(S), [], 'the view fits 1280 px');
	await shot(S, 'supervisor-view.png');

	assert.equal(await S.locator('img').count(), 0, 'no <img> anywhere in the supervisor view');
	assert.deepEqual(dialogs, [], 'no dialog fired at any time');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

try {
	await main();
	clearTimeout(watchdog);
	await browser.close();
	console.log('PASS: supervisor console end-to-end');
	process.exit(0);
} catch (e) {
	console.error(`FAIL during "${step}": ${e && e.message ? e.message : e}`);
	if (browser) {
		try {
			const pages = browser.contexts().flatMap((c) => c.pages());
			for (let i = 0; i < pages.length; i++)
				await pages[i].screenshot({ path: path.join(OUT, `supervisor-failure-${i}.png`) }).catch(() => {});
			console.error(`screenshots of the failure in ${OUT}`);
		} catch (e2) { /* ignore */ }
		await browser.close().catch(() => {});
	}
	process.exit(1);
}
