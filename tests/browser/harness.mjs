// The browser tests' harness: a `brokeros serve` of the already-built binary on a free loopback
// port over a fresh data directory, Debian's chromium driven by playwright-core (pinned in
// tools/package.json), screenshots and measurements under target/screenshots/ (git-ignored).

import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where screenshots and first-load.json go: git-ignored (/target). */
export const SHOTS = join(repo, 'target', 'screenshots');

export const CHROMIUM = process.env.BROKEROS_CHROMIUM ?? '/usr/bin/chromium';

/** The binary `cargo build -p brokeros` made. */
export function brokerosBinary() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, 'target');
  const binary = process.env.BROKEROS_BIN ?? join(target, 'debug', 'brokeros');
  if (!existsSync(binary)) throw new Error(`no brokeros binary at ${binary}: run cargo build -p brokeros first (or set BROKEROS_BIN)`);
  return binary;
}

/**
 * Starts `brokeros serve` on a fresh data directory (on a free port unless `port` is given,
 * with `args` more); answers its origin and a stop().
 * @param {{port?: number, args?: string[]}} [options]
 * @returns {Promise<{origin: string, dataDir: string, stop: () => Promise<void>}>}
 */
export async function startServe(options = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'brokeros-browser-'));
  const args = ['serve', '--port', String(options.port ?? 0), '--data-dir', dataDir, ...(options.args ?? [])];
  const child = spawn(brokerosBinary(), args, {
    env: { ...process.env, RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = createInterface({ input: child.stderr });
  const origin = await new Promise((resolveOrigin, reject) => {
    const timer = setTimeout(() => reject(new Error('brokeros serve did not say where it listens within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`brokeros serve exited (${code}) before listening`)));
    lines.on('line', (line) => {
      const found = /listening on (http:\/\/\S+)/.exec(line);
      if (found) {
        clearTimeout(timer);
        resolveOrigin(found[1]);
      }
    });
  });
  return {
    origin,
    dataDir,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * `brokeros token` for `role` / `sub` over `dataDir` (a token serve accepts).
 * @param {string} dataDir @param {string} role @param {string} sub
 */
export function mintToken(dataDir, role, sub) {
  return execFileSync(brokerosBinary(), ['token', '--role', role, '--sub', sub, '--data-dir', dataDir], { encoding: 'utf8' }).trim();
}

/** A free loopback port (the listener that found it is closed again). */
export async function freePort() {
  const server = createServer();
  await new Promise((ready) => server.listen(0, '127.0.0.1', () => ready(null)));
  const address = server.address();
  await new Promise((closed) => server.close(() => closed(null)));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * Chromium with a fresh profile. Without the background-networking flags the browser reaches
 * out to Google's services, which this machine's closed network refuses.
 */
export async function startBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium chromium-driver (tests/run.sh does it as root)`);
  }
  const { chromium } = await import('../../tools/node_modules/playwright-core/index.mjs');
  const profile = mkdtempSync(join(tmpdir(), 'brokeros-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context,
    stop: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/**
 * A new tab (its own sessionStorage, so its own session) that fails the test on a page error.
 * @param {import('playwright-core').BrowserContext} context
 */
export async function newTab(context) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|403|404|409|400)/.test(m.text())) errors.push(m.text());
  });
  page.errors = errors;
  return page;
}

const AXE = readFileSync(join(repo, 'tools', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** What axe-core found against WCAG 2.1 A and AA on every screen shot, by screen. */
export const accessibilityViolations = [];

/**
 * Runs axe-core (tools/package.json) on the page as it is: labels, names, contrast, ARIA.
 * Evaluated over the DevTools protocol, so the page's Content-Security-Policy stays in force.
 * @param {import('playwright-core').Page} page @param {string} name
 */
async function checkAccessibility(page, name) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    // @ts-ignore: axe is the script evaluated above
    const result = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  });
  for (const violation of violations) accessibilityViolations.push(`${name}: ${violation}`);
}

/**
 * A full-page screenshot `<name>.png`, and `<name>.phone.png` at a phone's size when asked,
 * each with the accessibility check.
 * @param {import('playwright-core').Page} page @param {string} name @param {{phone?: boolean}} [options]
 */
export async function shoot(page, name, options = {}) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  await checkAccessibility(page, name);
  if (options.phone) {
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SHOTS, `${name}.phone.png`), fullPage: true });
    await checkAccessibility(page, `${name} (phone)`);
    await page.setViewportSize(DESKTOP);
  }
}

/**
 * Waits for the app's screen `name` (its root's data-screen) to be shown.
 * @param {import('playwright-core').Page} page @param {string} name
 */
export async function screen(page, name) {
  await page.locator(`[data-screen="${name}"]`).first().waitFor({ timeout: 15_000 });
}

/**
 * The first load of `url` in `page` with an empty cache: bytes transferred (the encoded sizes
 * of every response, CDP's Network.loadingFinished), split into the app's files and API calls,
 * and the time from navigation to the first screen usable (the app's `brokeros:first-screen`
 * mark).
 * @param {import('playwright-core').BrowserContext} context
 * @param {import('playwright-core').Page} page @param {string} url @param {string} screenName
 */
export async function firstLoad(context, page, url, screenName) {
  // Away first, so the load below is a new document even when only the hash differs.
  await page.goto('about:blank');
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const urls = new Map();
  const sizes = { files: 0, api: 0, requests: 0 };
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  cdp.on('Network.loadingFinished', (e) => {
    const path = new URL(urls.get(e.requestId) ?? url).pathname;
    const isFile = path === '/' || path.startsWith('/ui/') || path === '/config.json';
    sizes[isFile ? 'files' : 'api'] += e.encodedDataLength;
    sizes.requests += 1;
  });
  await page.goto(url);
  await screen(page, screenName);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  const interactiveMs = await page.evaluate(() => performance.getEntriesByName('brokeros:first-screen')[0]?.startTime ?? null);
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  await cdp.detach();
  return {
    url: new URL(url).pathname + new URL(url).hash,
    transferred_bytes: sizes.files + sizes.api,
    app_file_bytes: sizes.files,
    api_bytes: sizes.api,
    requests: sizes.requests,
    time_to_interactive_ms: interactiveMs === null ? null : Math.round(interactiveMs),
  };
}

/** @param {object} measurements */
export function writeMeasurements(measurements) {
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(join(SHOTS, 'first-load.json'), `${JSON.stringify(measurements, null, 2)}\n`);
}

/**
 * Signs in with the dev sign-in as `role` / `sub` in `page` (on the sign-in screen).
 * @param {import('playwright-core').Page} page @param {string} role @param {string} sub
 */
export async function signIn(page, role, sub) {
  await page.locator('select[name=role]').selectOption(role);
  await page.locator('input[name=sub]').fill(sub);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Follows the navigation's link `name`. @param {import('playwright-core').Page} page @param {string} name */
export async function navTo(page, name) {
  await page.locator('nav#nav').getByRole('link', { name, exact: true }).click();
}

/**
 * The text of the field error shown next to the input named `name`.
 * @param {import('playwright-core').Page | import('playwright-core').Locator} scope @param {string} name
 */
export async function fieldError(scope, name) {
  const input = scope.locator(`[name="${name}"][aria-invalid="true"]`);
  await assert.doesNotReject(input.waitFor({ timeout: 10_000 }));
  const described = (await input.getAttribute('aria-describedby')).split(' ').pop();
  const page = 'page' in scope ? scope.page() : scope;
  return page.locator(`#${described}`).innerText();
}

/**
 * An API call from `page` with its tab's session (what a screen's call sends): the answer's
 * status and JSON body. For the set-up no screen makes (a commission plan, a contest
 * definition) and for checking what the API refuses.
 * @param {import('playwright-core').Page} page @param {string} method @param {string} path @param {unknown} [body]
 * @returns {Promise<{status: number, body: any}>}
 */
export async function apiCall(page, method, path, body) {
  return page.evaluate(
    async ([method, path, body]) => {
      const token = sessionStorage.getItem('brokeros.token');
      const headers = { accept: 'application/json', authorization: `Bearer ${token}` };
      if (body !== null) headers['content-type'] = 'application/json';
      const response = await fetch(path, { method, headers, body: body === null ? undefined : JSON.stringify(body) });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    [method, path, body ?? null],
  );
}

/**
 * A client's KYC profile and documents in the portal's screen: born on `dateOfBirth`, British,
 * a passport numbered `passport` (the simulated KYC provider decides by its ending: -REVIEW,
 * -FAIL) and a proof of address numbered `proofOfAddress`.
 * @param {import('playwright-core').Page} page
 * @param {{dateOfBirth: string, passport: string, proofOfAddress: string}} kyc
 */
export async function fillProfileAndDocuments(page, kyc) {
  await navTo(page, 'Profile and documents');
  await screen(page, 'client-profile');
  await page.locator('[name=date_of_birth]').fill(kyc.dateOfBirth);
  await page.locator('[name=nationality]').fill('GB');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByText('Profile saved.').waitFor();
  await page.locator('[name=number]').fill(kyc.passport);
  await page.getByRole('button', { name: 'Add document' }).click();
  await page.getByText('Document added.').waitFor();
  await page.locator('[name=type]').selectOption('proof_of_address');
  await page.locator('[name=number]').fill(kyc.proofOfAddress);
  await page.getByRole('button', { name: 'Add document' }).click();
  await page.getByRole('cell', { name: 'Proof of address' }).waitFor();
}
