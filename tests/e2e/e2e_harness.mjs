// What the browser end-to-end scripts (console_e2e.mjs, supervisor_e2e.mjs)
// share: playwright-core and the headless Chromium, the step log and the
// overall watchdog, screenshots, watching pages for dialogs, page errors
// and CSP violations, the console's login, and the PASS/FAIL ending (with
// screenshots of every page on a failure).
//
// From the environment (set by tests/e2e/e2e_harness.py):
//   E2E_BASE   http://127.0.0.1:<edge port>   (console at /console/, chat demo at /chat-demo/)
//   E2E_OUT    directory for screenshots
//   E2E_CHROMIUM (optional) the browser, default /usr/bin/chromium
//   E2E_PLAYWRIGHT (optional) where playwright-core is installed
//   E2E_TIMEOUT_MS (optional) the overall timeout, default the script's

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/* E2E_PLAYWRIGHT: the playwright-core directory, when node_modules is not
 * next to this file (a build directory outside the source tree) */
const { chromium } = process.env.E2E_PLAYWRIGHT ?
	await import(pathToFileURL(path.join(process.env.E2E_PLAYWRIGHT, 'index.mjs')).href) :
	await import('playwright-core');

export const BASE = process.env.E2E_BASE;
export const OUT = process.env.E2E_OUT || path.join(process.cwd(), 'screenshots');
const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
export const STEP_MS = 15000;

/* what watch() saw: each script asserts at its end that both are empty */
export const dialogs = [];
export const problems = [];

let browser = null;
let step = 'start';
const t0 = Date.now();

export function ok(what) {
	console.log(`ok ${((Date.now() - t0) / 1000).toFixed(1)}s: ${what}`);
}

/* names the step a failure or the watchdog reports */
export function begin(what) {
	step = what;
}

/* waits until cond() holds (polled; it may be async), or fails naming what */
export async function until(cond, what, ms = STEP_MS) {
	const deadline = Date.now() + ms;
	while (!(await cond())) {
		if (Date.now() > deadline)
			throw new Error(`not within ${ms} ms: ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

export async function shot(page, name) {
	const file = path.join(OUT, name);
	await page.screenshot({ path: file });
	ok(`screenshot ${file}`);
}

export async function launch() {
	browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		       '--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	return browser;
}

/* the step timeout; dialogs (dismissed), page errors and CSP violations
 * are kept in dialogs and problems */
export function watch(name, page) {
	page.setDefaultTimeout(STEP_MS);
	page.on('dialog', (d) => {
		dialogs.push(`${name}: ${d.type()} ${d.message()}`);
		d.dismiss().catch(() => {});
	});
	page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
	page.on('console', (m) => {
		/* a CSP violation means the page relies on something the server forbids */
		if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()))
			problems.push(`${name}: ${m.text()}`);
	});
}

/* a page in a browser context of its own (pages share nothing), watched */
export async function newPage(name, width, height) {
	const ctx = await browser.newContext({ viewport: { width, height } });
	const page = await ctx.newPage();
	watch(name, page);
	return page;
}

export async function login(page, user, password) {
	await page.goto(BASE + '/console/');
	await page.locator('#login-agent').fill(user);
	await page.locator('#login-password').fill(password);
	await page.locator('#login-submit').click();
	await page.locator('#app').waitFor({ state: 'visible' });
	await page.locator('#conn[data-state="online"]').waitFor();
}

/* the presence switch on: offers come */
export async function goAvailable(page) {
	const toggle = page.locator('#presence-toggle');
	if (await toggle.getAttribute('aria-checked') !== 'true')
		await toggle.click();
	await page.locator('#presence-toggle[aria-checked="true"]').waitFor();
}

/* Logs in and goes available. */
export async function loginAvailable(page, user, password) {
	await login(page, user, password);
	await goAvailable(page);
}

/* Accepts the first offer and waits for its conversation in the list. */
export async function acceptFirstOffer(page) {
	const card = page.locator('[data-testid="offer-card"]').first();
	await card.waitFor({ state: 'visible' });
	await card.locator('[data-testid="offer-accept"]').click();
	await page.locator('[data-testid="conversation-item"]').first().waitFor();
}

/* Runs main() within the overall timeout (E2E_TIMEOUT_MS, else
 * timeoutMs) and exits: 0 with "PASS: <name> end-to-end", else 1 with the
 * step it failed in and screenshots of every page, <failurePrefix>N.png. */
export async function run(main, { name, timeoutMs, failurePrefix }) {
	fs.mkdirSync(OUT, { recursive: true });
	const overallMs = Number(process.env.E2E_TIMEOUT_MS || timeoutMs);
	const watchdog = setTimeout(() => {
		console.error(`FAIL: overall timeout of ${overallMs / 1000} s, during: ${step}`);
		process.exit(1);
	}, overallMs);
	try {
		await main();
		clearTimeout(watchdog);
		await browser.close();
		console.log(`PASS: ${name} end-to-end`);
		process.exit(0);
	} catch (e) {
		console.error(`FAIL during "${step}": ${e && e.message ? e.message : e}`);
		if (browser) {
			try {
				const pages = browser.contexts().flatMap((c) => c.pages());
				for (let i = 0; i < pages.length; i++)
					await pages[i].screenshot({ path: path.join(OUT, `${failurePrefix}${i}.png`) }).catch(() => {});
				console.error(`screenshots of the failure in ${OUT}`);
			} catch (e2) { /* ignore */ }
			await browser.close().catch(() => {});
		}
		process.exit(1);
	}
}
