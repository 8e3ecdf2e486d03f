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
// away. Alice wraps up her conversation with a reason. Sam opens the
// Reports tab with the keyboard: today's queues report shows what the test
// did (written to $E2E_REPORT_OUT for the Python side to check against the
// admin API), with a chart of one bar per queue and a series per hour; a
// period of 401 days is refused, plainly; the agents report; the contact
// reasons (a chart of one bar per reason), and "Download CSV" saves a real
// file (in $E2E_DOWNLOADS) with the wrap-up's reason. Nothing shows
// customer text as HTML; the view fits 1280 px.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BASE, OUT, begin, dialogs, launch, login, newPage, ok, problems, run, shot, watch } from './e2e_harness.mjs';

const ANNA = 'Anna <img src=x onerror=alert(1)>';   /* a name is text, never HTML */
const ZOE = 'Zoe';
const WHISPER = 'Offer a 10% discount';
const BARGE = 'Hello Zoe, I am Sam, Alice\'s lead';
const REPLY = 'Ik kijk even mee';
const REASON = 'invoice unclear';      /* alice's wrap-up of anna's conversation */
const SEEDED_REASON = 'connection down'; /* bob's, before the browser (test_supervisor_console.py) */
const DOWNLOADS = process.env.E2E_DOWNLOADS || OUT;
const REPORT_OUT = process.env.E2E_REPORT_OUT || '';

if (!BASE) {
	console.error('supervisor_e2e: set E2E_BASE (tests/e2e/test_supervisor_console.py does)');
	process.exit(2);
}

let browser = null;

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
		for (const n of document.querySelectorAll('#supervisor, #sup-board, #monitor, .sup-table, .topbar, ' +
							  '#sup-reports, #rep-form, .rep-card, .rep-kpis')) {
			if (n.offsetParent !== null && n.scrollWidth > n.clientWidth + 1)
				bad.push(`${n.id || n.className} ${n.scrollWidth} > ${n.clientWidth}`);
		}
		/* the charts are drawn within their cards */
		for (const c of document.querySelectorAll('.rep-chart')) {
			const r = c.getBoundingClientRect(), p = c.closest('.rep-card').getBoundingClientRect();
			if (r.width > 0 && (r.left < p.left - 1 || r.right > p.right + 1))
				bad.push(`chart ${c.dataset.testid} ${r.left}-${r.right} outside ${p.left}-${p.right}`);
		}
		return bad;
	});
}

/* a report table's figures: {key: {field: number}} */
async function figures(page, testid) {
	return page.locator(`[data-testid="${testid}"]`).evaluateAll((rows) => {
		const out = {};
		for (const r of rows) {
			const f = {};
			for (const c of r.querySelectorAll('[data-field]')) {
				const t = c.textContent.trim().replace(/,/g, '');
				if (/^-?\d+$/.test(t))
					f[c.dataset.field] = Number(t);
			}
			out[r.dataset.key] = f;
		}
		return out;
	});
}

/* RFC 4180, as the server writes it: rows of fields */
function parseCsv(text) {
	const rows = [];
	let row = [], field = '', i = 0, quoted = false;
	while (i < text.length) {
		const ch = text[i];
		if (quoted) {
			if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
			if (ch === '"') { quoted = false; i++; continue; }
			field += ch; i++; continue;
		}
		if (ch === '"' && field === '') { quoted = true; i++; continue; }
		if (ch === ',') { row.push(field); field = ''; i++; continue; }
		if (ch === '\r' && text[i + 1] === '\n') { i++; continue; }
		if (ch === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; continue; }
		field += ch; i++;
	}
	assert.equal(quoted, false, 'the CSV ends outside a quoted field');
	if (field !== '' || row.length) { row.push(field); rows.push(row); }
	return rows;
}

/* ---- alice wraps up anna's conversation; sam's reports ---- */
async function reports(S, A, annaConv, sent) {
	begin('wrap-up with a reason');
	const item = A.locator(`[data-testid="conversation-item"][data-conversation="${annaConv}"]`);
	await item.click();
	await A.locator('#close-conversation').click();
	await A.locator('[data-testid="close-confirm-yes"]').click(); /* Close asks first */
	await A.locator('#wrapup-form').waitFor({ state: 'visible' });
	await A.locator('#wrapup-reason').selectOption(REASON);
	await A.locator('#wrapup-outcome').selectOption('resolved');
	await A.locator('#wrapup-submit').click();
	await item.waitFor({ state: 'detached' });
	ok(`alice wrapped up anna's conversation: "${REASON}"`);

	/* the Reports tab, with the keyboard */
	begin('reports: the tab');
	await S.locator('#sup-tab-board').focus();
	await S.keyboard.press('ArrowRight');
	await S.locator('#sup-reports').waitFor({ state: 'visible' });
	assert.equal(await S.locator('#sup-tab-reports').getAttribute('aria-selected'), 'true', 'the Reports tab is selected');
	assert.equal(await S.evaluate(() => document.activeElement && document.activeElement.id), 'sup-tab-reports',
		     'the focus is on the Reports tab');
	assert.equal(await S.locator('#sup-board').isVisible(), false, 'the live board is behind its tab');
	const queueRows = S.locator('[data-testid="rep-queue"]');
	await queueRows.nth(2).waitFor();
	const today = await S.locator('#rep-to').inputValue();
	assert.match(today, /^\d{4}-\d\d-\d\d$/, `a day (${today})`);
	assert.equal(await S.locator('#rep-from').inputValue(), today, 'today by default');
	assert.equal(sent((f) => f.type === 'report' && f.report === 'queues' && f.format === 'json' &&
			  f.from === today && f.to === today && f.interval === 'hour' && /^rep-/.test(f.id)), 1,
		     'one report frame: today\'s queues, per hour');
	assert.deepEqual(await queueRows.evaluateAll((rs) => rs.map((r) => r.dataset.key)), ['general', 'billing', 'tech'],
			 'every queue in the report');
	const q = await figures(S, 'rep-queue');
	/* what this test did: anna and zoe asked billing, alice answered both,
	 * zoe was reassigned to tech, anna wrapped up; bob's conversation was
	 * in general, wrapped up */
	assert.ok(q.billing.offered >= 2, `billing offered at least anna and zoe (${JSON.stringify(q.billing)})`);
	assert.equal(q.billing.answered, 2, 'billing: anna and zoe answered');
	assert.equal(q.billing.handled, 1, 'billing: anna wrapped up');
	assert.equal(q.billing.transfers, 1, 'billing: zoe transferred out');
	assert.equal(q.tech.offered, 1, 'tech: zoe transferred in');
	assert.equal(q.tech.answered, 0, 'tech: nobody answered');
	assert.equal(q.general.handled, 1, 'general: bob\'s conversation');
	const total = await S.locator('#rep-body tfoot [data-field="offered"]').textContent();
	assert.equal(Number(total.trim()), q.general.offered + q.billing.offered + q.tech.offered, 'the total row adds up');
	const billingSla = S.locator('[data-testid="rep-queue"][data-key="billing"] [data-field="sla"]');
	assert.match(await billingSla.textContent(), /100 %.*target 80 %/, 'billing: SLA attainment vs its target');
	assert.equal(await billingSla.locator('[data-level="ok"]').count(), 1, 'on target');
	/* the charts: a bar per queue, offered as in the table; a series per hour */
	const chart = S.locator('svg[data-testid="rep-chart-queues"]');
	const bars = await chart.locator('.bar-group').evaluateAll((gs) => gs.map((g) => [g.dataset.key,
		Number(g.querySelector('rect.bar[data-series="offered"]').dataset.value),
		g.querySelectorAll('rect.bar').length]));
	assert.deepEqual(bars, ['general', 'billing', 'tech'].map((k) => [k, q[k].offered, 2]),
			 'one group per queue: offered and answered within the SLA');
	const series = S.locator('svg[data-testid="rep-chart-series"]');
	assert.equal(await series.locator('.bar-group').count(), 24, 'the series: 24 hours of today');
	assert.equal(await series.locator('rect.bar[data-series="offered"]').evaluateAll((rs) =>
		rs.reduce((n, r) => n + Number(r.dataset.value), 0)), q.general.offered + q.billing.offered + q.tech.offered,
		     'the hours add up to the day');
	assert.deepEqual(await fits(S), [], 'the reports fit 1280 px: no horizontal scrolling');
	if (REPORT_OUT)
		fs.writeFileSync(REPORT_OUT, JSON.stringify({ today, queues: q }));
	await S.setViewportSize({ width: 1280, height: 1500 });
	await shot(S, 'supervisor-reports.png');
	await S.setViewportSize({ width: 1280, height: 800 });
	ok(`today's queues report (${today}): ${JSON.stringify(q)}`);

	/* a period the server refuses: said plainly, at the field */
	begin('reports: a refused period');
	const long = new Date(Date.parse(today + 'T00:00:00Z') - 400 * 86400000).toISOString().slice(0, 10);
	await S.locator('#rep-from').fill(long);
	await S.locator('#rep-show').click();
	const err = S.locator('#rep-error');
	await err.waitFor({ state: 'visible' });
	assert.match(await err.textContent(), /401 days; at most 400/, `why (${await err.textContent()})`);
	assert.equal(await S.locator('#rep-from').getAttribute('aria-invalid'), 'true', 'the from field is marked');
	assert.equal(await queueRows.count(), 0, 'no figures of another period are left on screen');
	await S.locator('#rep-today').click();
	await queueRows.nth(2).waitFor();
	assert.equal(await err.isVisible(), false, 'the error goes with a good period');
	assert.equal(await S.locator('#rep-from').inputValue(), today, 'Today: from today');
	ok('401 days are refused, plainly; "Today" brings the figures back');

	/* the agents, then the contact reasons: the report selector with the keyboard */
	begin('reports: agents');
	await S.locator('#rep-kind-queues').focus();
	await S.keyboard.press('ArrowRight');
	const agentRows = S.locator('[data-testid="rep-agent"]');
	await agentRows.first().waitFor();
	const ag = await figures(S, 'rep-agent');
	assert.equal(ag.alice.accepted, 2, 'alice accepted zoe and anna');
	assert.equal(ag.alice.handled, 1, 'alice handled anna');
	assert.equal(ag.bob.handled, 1, 'bob handled his');
	assert.equal(await S.locator('svg[data-testid="rep-chart-agents"] .bar-group').count(), await agentRows.count(),
		     'a bar group per agent');
	ok(`the agents report: ${JSON.stringify(ag)}`);

	begin('reports: contact reasons');
	await S.keyboard.press('ArrowRight');
	const reasonRows = S.locator('[data-testid="rep-reason"]');
	await reasonRows.first().waitFor();
	assert.equal(await S.locator('#rep-kind-reasons').isChecked(), true, 'contact reasons chosen');
	assert.equal(await S.locator('#rep-interval').isDisabled(), true, 'no series for contact reasons');
	const rs = await figures(S, 'rep-reason');
	assert.equal((rs[REASON] || {}).count, 1, `"${REASON}" once (${JSON.stringify(rs)})`);
	assert.equal((rs[SEEDED_REASON] || {}).count, 1, `"${SEEDED_REASON}" once`);
	const counted = Object.keys(rs).filter((k) => rs[k].count > 0);
	const rbars = await S.locator('svg[data-testid="rep-chart-reasons"] rect.bar').evaluateAll((b) =>
		b.map((r) => [r.closest('.bar-group').dataset.key, Number(r.dataset.value)]));
	assert.deepEqual(rbars.sort(), counted.map((k) => [k, rs[k].count]).sort(), 'one bar per reason, as counted');
	await S.locator('[data-testid="rep-queue"][data-key="billing"]').waitFor({ state: 'detached' });
	assert.equal(await S.locator('[data-testid="rep-by-channel"][data-key="webchat"] [data-field="total"]').textContent(), '2',
		     'by channel: two web chats');
	/* the first thing on the page: the avoidable reasons, by the hours they cost */
	assert.equal(await S.locator('#rep-body > .sup-card').first().evaluate((n) => n.classList.contains('rep-remove')), true,
		     'contacts to remove first: the first card');
	const rm = await S.locator('[data-testid="rep-remove"]').evaluateAll((rows) => rows.map((r) => r.dataset.key));
	assert.deepEqual(rm, [REASON], `only the avoidable reason is listed (${JSON.stringify(rm)})`);
	assert.match(await S.locator(`[data-testid="rep-remove"][data-key="${REASON}"] [data-field="treatment"]`).textContent(),
		     /^Eliminate/, 'with its suggested treatment');
	ok(`contact reasons: ${JSON.stringify(rs)}`);

	begin('reports: download CSV');
	const [dl] = await Promise.all([S.waitForEvent('download'), S.locator('#rep-csv').click()]);
	const name = dl.suggestedFilename();
	assert.equal(name, `contact-reasons-${today}-${today}.csv`, 'named after the report and its days');
	const file = path.join(DOWNLOADS, name);
	await dl.saveAs(file);
	const rows = parseCsv(fs.readFileSync(file, 'utf8'));
	assert.deepEqual(rows[0], ['section', 'group', 'name', 'count', 'previous', 'change'], 'a header row');
	assert.ok(rows.slice(1).every((r) => r.length === rows[0].length), 'every record has the header\'s fields');
	assert.ok(rows.some((r) => r[0] === 'reason' && r[2] === REASON && r[3] === '1'),
		  `the wrap-up's reason is in it (${JSON.stringify(rows)})`);
	assert.equal(sent((f) => f.type === 'report' && f.report === 'contact-reasons' && f.format === 'csv' &&
			  f.from === today && f.to === today && !('interval' in f)), 1, 'the CSV asked for once');
	assert.equal(await S.locator('#rep-csv').textContent(), 'Download CSV', 'the button is back');
	ok(`downloaded ${file}: ${rows.length - 1} records`);

	/* the Contact reasons tab: the same report over the last four weeks,
	 * what to remove first on top */
	begin('contact reasons: the tab');
	const asked = sent((f) => f.type === 'report' && f.report === 'contact-reasons' && f.format === 'json');
	await S.locator('#sup-tab-reasons').click();
	assert.equal(await S.locator('#sup-tab-reasons').getAttribute('aria-selected'), 'true', 'the tab is selected');
	assert.equal(await S.locator('#sup-tab-reports').getAttribute('aria-selected'), 'false', 'Reports is not');
	const from28 = new Date(Date.parse(today + 'T00:00:00Z') - 27 * 86400000).toISOString().slice(0, 10);
	await S.waitForFunction((f) => document.querySelector('#rep-body').dataset.from === f, from28);
	assert.equal(await S.locator('#rep-from').inputValue(), from28, 'the last four weeks');
	assert.equal(sent((f) => f.type === 'report' && f.report === 'contact-reasons' && f.format === 'json' &&
			  f.from === from28 && f.to === today), 1, 'asked for once');
	assert.equal(sent((f) => f.type === 'report' && f.report === 'contact-reasons' && f.format === 'json'),
		     asked + 1, 'and only that');
	assert.equal(await S.locator('#rep-body > .sup-card').first().evaluate((n) => n.classList.contains('rep-remove')), true,
		     'contacts to remove first: the first card');
	assert.deepEqual(await S.locator('[data-testid="rep-remove"]').evaluateAll((rows) => rows.map((r) => r.dataset.key)),
			 [REASON], 'the avoidable reason to act on');
	await S.keyboard.press('ArrowLeft');
	assert.equal(await S.locator('#sup-tab-reports').getAttribute('aria-selected'), 'true', 'ArrowLeft: Reports');
	ok(`contact reasons from ${from28} to ${today}`);

	/* back to the live board with the keyboard */
	begin('reports: back to the board');
	await S.locator('#sup-tab-reports').focus();
	await S.keyboard.press('ArrowLeft');
	await S.locator('#sup-board').waitFor({ state: 'visible' });
	assert.equal(await S.locator('#sup-reports').isVisible(), false, 'the reports are behind their tab');
	await S.locator('[data-testid="sup-queue"][data-queue="billing"]').waitFor();
	assert.deepEqual(await fits(S), [], 'the board still fits 1280 px');
	ok('back on the live board');
}

async function main() {
	browser = await launch();
	const S = await newPage('sam', 1280, 800);
	const A = await newPage('alice', 1280, 800);

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
	/* today's service level is read afresh every 30 s (OMR_WALLBOARD_TOTALS_MS),
	 * not at every change: it may take that long to show */
	const sla = billing.locator('[data-field="sla"]');
	await sla.and(S.locator('[data-level="ok"]')).waitFor({ timeout: 35000 });
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

	await reports(S, A, annaConv, sent);

	assert.equal(await S.locator('img').count(), 0, 'no <img> anywhere in the supervisor view');
	assert.deepEqual(dialogs, [], 'no dialog fired at any time');
	assert.deepEqual(problems, [], 'no page errors or CSP violations');
}

await run(main, { name: 'supervisor console', timeoutMs: 150000, failurePrefix: 'supervisor-failure-' });
