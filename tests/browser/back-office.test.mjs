// The back office's journeys on headless Chromium against `brokeros serve`: a lead captured on
// the landing page is worked to a client by its sales agent; that client's onboarding waits for
// compliance, which decides the review (an admin may not: the API's rule, shown as it answers);
// finance reads deposits with their attempts, reconciles a settlement report, changes the
// routing rules and a provider's health; an admin edits jurisdiction rules, searches the audit
// trail and downloads it; partner managers make an IB, whose portal shows its earnings; a
// client joins a contest and marketing scores it; and no role reaches another role's screens
// or data. Screenshots of every screen go to target/screenshots/ (git-ignored).
//
// The tests run in order and share the server's data: each journey goes on from the last.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import {
  accessibilityViolations, apiCall, brokerosBinary, fieldError, fillProfileAndDocuments, navTo, newTab, screen, shoot, signIn,
  startBrowser, startServe,
} from './harness.mjs';

let serve;
let browser;
/** Tabs by who is signed in (each tab its own session), and what the journeys learn. */
const tabs = {};
const found = {};

before(async () => {
  serve = await startServe();
  browser = await startBrowser();
});

after(async () => {
  for (const [who, page] of Object.entries(tabs)) {
    assert.deepEqual(page.errors, [], `no script error in the ${who} tab`);
  }
  await browser?.stop();
  await serve?.stop();
});

/**
 * A tab signed in as `role` / `sub`, landed on its home screen `home`.
 * @returns {Promise<import('playwright-core').Page>}
 */
async function signedIn(name, role, sub, home) {
  const page = await newTab(browser.context);
  await page.goto(`${serve.origin}/`);
  await signIn(page, role, sub);
  await screen(page, home);
  tabs[name] = page;
  return page;
}

/** Goes to `hash` in `page` and waits for the screen `name`. */
async function open(page, hash, name) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await screen(page, name);
}

/** Reloads `page` until `locator` shows (what a workflow or a queue consumer writes later). */
async function eventually(page, locator, seconds = 20) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      await locator.waitFor({ timeout: 1500 });
      return;
    } catch (failure) {
      if (Date.now() > deadline) throw failure;
      await page.reload();
    }
  }
}

/** The form whose draft id starts with `id` (`lead-status-…`). */
const formOf = (page, id) => page.locator(`form[data-form^="${id}"]`);

/** What `page`'s form `id` shows at its top (the API's error without a field of the form). */
async function formError(page, id) {
  const error = formOf(page, id).locator('.form-error');
  await error.waitFor({ timeout: 10_000 });
  return error.innerText();
}

/** The notice a screen shows after an action (`?done=…`). */
async function notice(page, text) {
  await page.locator('main .notice', { hasText: text }).waitFor({ timeout: 15_000 });
}

const today = () => new Date().toISOString().slice(0, 10);
/** An RFC 3339 time `minutes` from now, to the second. */
const fromNow = (minutes) => new Date(Date.now() + minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

test('a lead from the landing page is worked to a client by its sales agent', async () => {
  const visitor = await newTab(browser.context);
  tabs.visitor = visitor;
  await visitor.goto(`${serve.origin}/#/landing?utm_source=google&utm_campaign=winter`);
  await screen(visitor, 'landing');
  await shoot(visitor, 'landing', { phone: true });
  // Nothing typed: the API names the first missing field, next to it.
  await visitor.getByRole('button', { name: 'Contact me' }).click();
  assert.match(await fieldError(visitor, 'first_name'), /first_name/);
  await shoot(visitor, 'landing-error');
  await visitor.locator('[name=first_name]').fill('Lena');
  await visitor.locator('[name=last_name]').fill('Park');
  await visitor.locator('[name=email]').fill('lena.park@example.com');
  await visitor.locator('[name=country]').fill('GB');
  await visitor.getByRole('button', { name: 'Contact me' }).click();
  await screen(visitor, 'landing-thanks');
  found.leadId = await visitor.getByTestId('lead-id').innerText();
  assert.match(found.leadId, /^lead_/);
  await shoot(visitor, 'landing-thanks');

  // Whose lead it is: an admin sees every lead, and its agent.
  const admin = await signedIn('admin', 'admin', 'admin-1', 'finance-withdrawals');
  await open(admin, `#/sales/leads/${found.leadId}`, 'sales-lead');
  const agent = await admin.getByTestId('lead-assignee').innerText();
  assert.match(agent, /^sales-/);
  assert.match(await admin.locator('main').innerText(), /google/, 'the campaign of the landing page is on the lead');

  const sales = await signedIn('sales', 'sales', agent, 'sales-leads');
  await sales.locator(`tr[data-row="${found.leadId}"] a`).click();
  await screen(sales, 'sales-lead');
  // A new lead cannot be qualified yet: the API's lifecycle says so in the form.
  await sales.locator('select[name=status]').selectOption('qualified');
  await sales.getByRole('button', { name: 'Change status' }).click();
  assert.match(await formError(sales, 'lead-status-'), /a new lead cannot become qualified/);
  await shoot(sales, 'sales-lead-error');
  await sales.locator('select[name=status]').selectOption('contacted');
  await sales.getByRole('button', { name: 'Change status' }).click();
  await notice(sales, 'Status: contacted.');
  assert.equal(await sales.getByTestId('lead-status').innerText(), 'Contacted');

  await sales.locator('textarea[name=text]').fill('Prefers email, mornings');
  await sales.getByRole('button', { name: 'Add note' }).click();
  await notice(sales, 'Note added.');
  await sales.getByRole('cell', { name: /Prefers email, mornings/ }).waitFor();

  await sales.locator('[name=title]').fill('Send the account form');
  await sales.locator('[name=due_at]').fill('2030-01-15T10:00');
  await sales.getByRole('button', { name: 'Add task' }).click();
  await notice(sales, 'Task added.');
  await sales.getByRole('button', { name: 'Complete' }).click();
  await notice(sales, 'Task done: Send the account form.');
  assert.match(await sales.locator('main').innerText(), /Tasks \(0 open\)/);

  await sales.locator('select[name=status]').selectOption('qualified');
  await sales.getByRole('button', { name: 'Change status' }).click();
  await notice(sales, 'Status: qualified.');
  await sales.locator('[name=user_id]').fill('portal-lena');
  await sales.getByRole('button', { name: 'Convert to a client' }).click();
  await notice(sales, 'Converted: client');
  found.clientId = await sales.getByTestId('client-id').innerText();
  assert.match(found.clientId, /^client_/);
  assert.equal(await sales.getByTestId('lead-status').innerText(), 'Converted');
  await shoot(sales, 'sales-lead');

  // The pipeline: the funnel counts the converted lead; filters are the API's, and so are their errors.
  await sales.locator('a', { hasText: '← Lead pipeline' }).click();
  await screen(sales, 'sales-leads');
  assert.match(await sales.locator('tr[data-row="converted"]').innerText(), /1/);
  await sales.locator('svg.chart').waitFor();
  await shoot(sales, 'sales-leads', { phone: true });
  await sales.locator('select[name=status]').selectOption('converted');
  await sales.getByRole('button', { name: 'Apply' }).click();
  await sales.locator('caption', { hasText: 'Converted leads, newest first' }).waitFor();
  await sales.locator(`tr[data-row="${found.leadId}"]`).waitFor();
  await sales.locator('input[name=country]').fill('XX');
  await sales.getByRole('button', { name: 'Apply' }).click();
  assert.match(await fieldError(sales, 'country'), /ISO 3166-1/);
  await shoot(sales, 'sales-leads-filter-error');

  // The portal user the lead was converted for is that client.
  const client = await signedIn('client', 'client', 'portal-lena', 'client-home');
  assert.match(await client.locator('main').innerText(), /Lena/);
});

test('compliance decides the review the client\'s onboarding waits for; an admin may not', async () => {
  const client = tabs.client;
  // A passport number ending -REVIEW: the simulated KYC provider cannot decide it.
  await fillProfileAndDocuments(client, { dateOfBirth: '1988-04-02', passport: '533401372-REVIEW', proofOfAddress: 'UTIL-9' });
  await client.getByRole('link', { name: 'Next: start onboarding' }).click();
  await screen(client, 'client-onboarding');
  await client.getByRole('button', { name: 'Start onboarding' }).click();

  const compliance = await signedIn('compliance', 'compliance', 'compliance-1', 'compliance-reviews');
  const row = compliance.locator('tr', { hasText: found.clientId });
  await eventually(compliance, row);
  await shoot(compliance, 'compliance-reviews');
  await row.getByRole('link').click();
  await screen(compliance, 'compliance-review');
  found.reviewHash = await compliance.evaluate(() => location.hash);
  const details = await compliance.getByTestId('kyc-check').innerText();
  assert.match(details, /Document needs review/);
  assert.match(details, /No hit on the lists checked/);

  // A rejection needs a reason: the API's error, next to the field.
  await compliance.locator('select[name=decision]').selectOption('reject');
  await compliance.getByRole('button', { name: 'Record decision' }).click();
  assert.match(await fieldError(compliance, 'reason'), /a rejection needs a reason/);
  await shoot(compliance, 'compliance-review-error');

  // Maker-checker as the API enforces it: an admin decides escalated reviews only.
  const admin = tabs.admin;
  await open(admin, found.reviewHash, 'compliance-review');
  await admin.getByRole('button', { name: 'Record decision' }).click();
  assert.match(await formError(admin, 'review-'), /only compliance officers decide compliance reviews/);

  await compliance.locator('select[name=decision]').selectOption('approve');
  await compliance.locator('textarea[name=reason]').fill('Passport checked by hand');
  await shoot(compliance, 'compliance-review');
  await compliance.getByRole('button', { name: 'Record decision' }).click();
  await screen(compliance, 'compliance-reviews');
  await notice(compliance, ': approved');

  // The onboarding goes on: the client's screen follows it by itself.
  await client.locator('[data-testid=kyc-status]', { hasText: 'Approved' }).waitFor({ timeout: 20_000 });
});

test('finance: deposits with their attempts per day, a reconciliation, routing rules and provider health', async () => {
  const client = tabs.client;
  for (const [id, amount, method] of [['dep-web-1', '300.00', 'card'], ['dep-web-2', '40.00', 'e_wallet']]) {
    const made = await apiCall(client, 'POST', `/clients/${found.clientId}/deposits`, { deposit_id: id, amount, currency: 'USD', method });
    assert.ok([201, 202].includes(made.status), `deposit ${id}: ${JSON.stringify(made.body)}`);
  }
  const deadline = Date.now() + 20_000;
  while ((await apiCall(client, 'GET', '/deposits/dep-web-1')).body.status !== 'credited') {
    assert.ok(Date.now() < deadline, 'the card deposit is credited within 20 s');
    await client.waitForTimeout(500);
  }

  const finance = await signedIn('finance', 'finance', 'finance-1', 'finance-withdrawals');
  await navTo(finance, 'Deposits');
  await screen(finance, 'finance-deposits');
  await finance.locator('input[name=client]').fill('client_nobody');
  await finance.getByRole('button', { name: 'Apply' }).click();
  await finance.getByText(/not found/).waitFor();
  await finance.locator('input[name=client]').fill(found.clientId);
  await finance.getByRole('button', { name: 'Apply' }).click();
  const deposit = finance.locator('tr[data-row="dep-web-1"]');
  await deposit.waitFor();
  assert.match(await deposit.innerText(), /Credited/);
  assert.match(await deposit.innerText(), /rules v1/, 'each attempt says why routing chose its provider');
  await finance.locator('svg.chart-stacked').waitFor();
  assert.match(await finance.getByTestId('deposits-per-day').innerText(), /Credited/, 'the API counts the credited deposits of the period');
  assert.match(await finance.locator('main').innerText(), new RegExp(`${today()}`), 'the per-day table has today');
  await shoot(finance, 'finance-deposits');

  await navTo(finance, 'Reconciliation');
  await screen(finance, 'finance-recon');
  await finance.locator('[name=provider]').fill('quickcard');
  await finance.locator('input[type=file]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('not,a,report\n') });
  await finance.getByRole('button', { name: 'Reconcile' }).click();
  assert.match(await formError(finance, 'recon-upload'), /header must be exactly/);
  const settled = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const report = [
    'provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at',
    `dep-web-1,ptx-9001,deposit,300.00,USD,3.70,${settled}`,
    `dep-unknown,ptx-9002,deposit,5.00,USD,0.00,${settled}`,
  ].join('\n');
  await finance.locator('input[type=file]').setInputFiles({ name: 'settlement.csv', mimeType: 'text/csv', buffer: Buffer.from(`${report}\n`) });
  await finance.getByRole('button', { name: 'Reconcile' }).click();
  const run = finance.getByTestId('recon-run');
  await run.waitFor({ timeout: 15_000 });
  assert.match(await run.innerText(), /Missing in ledger/);
  assert.match(await run.innerText(), /dep-unknown/);
  await shoot(finance, 'finance-recon');

  await navTo(finance, 'Payment routing');
  await screen(finance, 'finance-routing');
  const editor = finance.locator('textarea[name=document]');
  const next = JSON.parse(await editor.inputValue());
  assert.equal(next.version, 2, 'the editor starts from the rules in force, as the next version');
  await editor.fill(JSON.stringify({ ...next, version: 1 }));
  await finance.getByRole('button', { name: 'Put in force' }).click();
  assert.match(await formError(finance, 'routing-'), /version/);
  await editor.fill(JSON.stringify({ ...next, max_attempts: 2 }, null, 2));
  await finance.getByRole('button', { name: 'Put in force' }).click();
  await notice(finance, 'Version 2 is in force.');
  const change = finance.locator('tr[data-row="max_attempts"]');
  await change.waitFor();
  assert.match(await change.innerText(), /3\s+2/);
  await shoot(finance, 'finance-routing');

  await navTo(finance, 'Provider health');
  await screen(finance, 'finance-providers');
  await finance.locator('select[name=provider]').selectOption('globalpay');
  await finance.locator('select[name=health]').selectOption('down');
  await finance.locator('input[name=note]').fill('INC-42 acquirer outage');
  await finance.getByRole('button', { name: 'Set health' }).click();
  await notice(finance, 'globalpay is down');
  const provider = await finance.locator('tr[data-row="globalpay"]').innerText();
  assert.match(provider, /Down/, 'the table reads the health in force');
  assert.match(provider, /by finance-1/, 'and who set it');
  assert.match(provider, /INC-42 acquirer outage/);
  await shoot(finance, 'finance-providers');
  await finance.locator('select[name=provider]').selectOption('globalpay');
  await finance.locator('select[name=health]').selectOption('up');
  await finance.locator('input[name=note]').fill('INC-42 resolved');
  await finance.getByRole('button', { name: 'Set health' }).click();
  await notice(finance, 'globalpay is up');
});

test('admin: users and roles, jurisdiction rules, audit search by entity and day, and its download', async () => {
  const admin = tabs.admin;
  await navTo(admin, 'Users and roles');
  await screen(admin, 'admin-users');
  assert.match(await admin.locator('tr[data-row="sales"]').innerText(), /sales-1/);
  // The users and roles in use: the audit trail's actors of the last 7 days.
  const compliance = await admin.locator('tr[data-row="user:compliance-1"]').innerText();
  assert.match(compliance, /compliance/, 'compliance-1 acted as compliance (the review decision)');
  assert.match(await admin.locator('tr[data-row^="user:sales-"]').first().innerText(), /\bsales\b/, 'the agent who worked the lead');
  assert.ok(await admin.locator('tr[data-row^="system:public:"]').count() >= 1, 'the landing page captured as the public channel');
  await shoot(admin, 'admin-users');

  await navTo(admin, 'Jurisdiction rules');
  await screen(admin, 'compliance-jurisdictions');
  const editor = admin.locator('textarea[name=document]');
  const next = JSON.parse(await editor.inputValue());
  await editor.fill('{"id": "eu",');
  await admin.getByRole('button', { name: 'Put in force' }).click();
  await formError(admin, 'jurisdiction-');
  await editor.fill(JSON.stringify({ ...next, minimum_age: 19 }, null, 2));
  await admin.getByRole('button', { name: 'Put in force' }).click();
  await notice(admin, 'Version 2 is in force.');
  assert.match(await admin.locator('tr[data-row="minimum_age"]').innerText(), /18\s+19/);
  await shoot(admin, 'compliance-jurisdictions');

  await navTo(admin, 'Audit search');
  await screen(admin, 'admin-audit');
  // A type the API does not know is refused next to its field.
  await admin.evaluate(() => { location.hash = '#/admin/audit?entity_type=spaceship&entity_id=x'; });
  assert.match(await fieldError(admin, 'entity_type'), /not an audited entity type/);
  // A client's stream, oldest first: conversion made it, onboarding changed it.
  await admin.locator('select[name=entity_type]').selectOption('client');
  await admin.locator('input[name=entity_id]').fill(found.clientId);
  await admin.getByRole('button', { name: 'Apply' }).click();
  await admin.getByRole('cell', { name: /Converted|Created|Registered/ }).first().waitFor();
  const events = await admin.locator('main tbody tr').count();
  assert.ok(events >= 2, `the client's events: ${events}`);
  const first = await admin.locator('main tbody tr').first().innerText();
  assert.match(first, /sales-/, `its first event is the agent's conversion: ${first}`);
  await shoot(admin, 'admin-audit');
  // The signed download, checked by the CLI with the serve's audit key; one byte changed fails.
  const [download] = await Promise.all([
    admin.waitForEvent('download'),
    admin.getByRole('button', { name: 'Download signed export' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `audit-client-${found.clientId}.json`);
  const file = await download.path();
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(bundle.ndjson.trim().split('\n').length, events);
  const key = `${serve.dataDir}/audit-key.pem`;
  writeFileSync(key, execFileSync(brokerosBinary(), ['audit', 'public-key', '--data-dir', serve.dataDir]));
  const downloaded = `${serve.dataDir}/download.json`;
  writeFileSync(downloaded, readFileSync(file));
  assert.match(execFileSync(brokerosBinary(), ['audit', 'verify', downloaded, '--public-key', key], { encoding: 'utf8' }), new RegExp(`^OK: ${events} events`));
  writeFileSync(downloaded, JSON.stringify({ ...bundle, ndjson: bundle.ndjson.replace('"client.', '"clienT.') }));
  assert.throws(() => execFileSync(brokerosBinary(), ['audit', 'verify', downloaded, '--public-key', key], { stdio: 'pipe' }), /FAILED|Command failed/);
  // A day's events of every entity, narrowed to an actor.
  await admin.evaluate((day) => { location.hash = `#/admin/audit?day=${day}&actor_id=admin-1`; }, today());
  await screen(admin, 'admin-audit');
  await admin.getByRole('cell', { name: /^jurisdiction eu$/ }).first().waitFor();
});

test('partner managers make an IB, whose portal shows its earnings, network and statements', async () => {
  const partners = await signedIn('partners', 'partners', 'pm-1', 'partners-applications');
  const plan = await apiCall(partners, 'POST', '/partners/plans', {
    id: 'standard', version: 1, effective_from: '2030-01-01T00:00:00Z', currency: 'USD', period: 'monthly',
    earn_on: 'close', min_lots: '0.1', min_hold_seconds: 60, exclude_hedged: true,
    rules: [{ id: 'other', priority: 0, match: {}, earns: { per_lot: '5' } }],
    levels: { mode: 'fixed', percents: ['100'] },
  });
  assert.equal(plan.status, 201, JSON.stringify(plan.body));
  await partners.reload();
  await screen(partners, 'partners-applications');
  await partners.locator('[name=name]').fill('Lisbon Partners');
  await partners.locator('[name=user_id]').fill('portal-lis');
  await partners.getByRole('button', { name: 'Submit application' }).click();
  await notice(partners, 'submitted');
  const row = partners.locator('tr', { hasText: 'Lisbon Partners' });
  await shoot(partners, 'partners-applications');
  await row.getByText('Approve…').click();
  await row.locator('[name=plans]').fill('nope');
  await row.getByRole('button', { name: 'Approve' }).click();
  assert.match(await fieldError(row, 'plans'), /nope/);
  await row.locator('[name=plans]').fill('standard');
  await row.locator('[name=code]').fill('IB-LIS-1');
  await row.locator('[name=campaign]').fill('web');
  await row.getByRole('button', { name: 'Approve' }).click();
  await screen(partners, 'partners-ib');
  await notice(partners, 'Lisbon Partners is an IB.');
  assert.match(await partners.locator('main').innerText(), /IB-LIS-1/);
  await shoot(partners, 'partners-ib');
  await navTo(partners, 'IBs and tree');
  await screen(partners, 'partners-ibs');
  await partners.locator('ul.tree').getByRole('link', { name: 'Lisbon Partners' }).waitFor();
  await shoot(partners, 'partners-ibs');

  const ib = await signedIn('ib', 'ib', 'portal-lis', 'ib-home');
  await ib.locator('svg.chart').waitFor();
  assert.equal(await ib.locator('table:has(caption:text("Earnings per period")) tbody tr').count(), 6);
  assert.match(await ib.locator('main').innerText(), /IB-LIS-1/);
  await shoot(ib, 'ib-home', { phone: true });
  await navTo(ib, 'Sub-IBs and clients');
  await screen(ib, 'ib-network');
  await shoot(ib, 'ib-network');
  await navTo(ib, 'Statements');
  await screen(ib, 'ib-statements');
  await shoot(ib, 'ib-statements');
});

test('a client joins a contest that marketing published, and its leaderboard is charted', async () => {
  const marketing = await signedIn('marketing', 'marketing', 'mkt-1', 'contests');
  const stored = await apiCall(marketing, 'POST', '/contests', {
    id: 'web-cup', version: 1, name: 'Web FX Cup', mode: 'live', currency: 'USD',
    registration: { from: fromNow(-60), until: fromNow(60 * 24 * 10) },
    period: { from: fromNow(-10), until: fromNow(60 * 24 * 30) },
    eligibility: { kyc: 'approved', min_deposit: '100.00' },
    contest_account: { group: 'contest\\usd', leverage: 100 },
    metric: { kind: 'return' }, rules: { min_trades: 5, min_hold_seconds: 60 },
    prizes: { pool: '1000.00', payment: { kind: 'cash' }, tiers: [{ from_rank: 1, to_rank: 1, share: '0.5' }] },
  });
  assert.equal(stored.status, 201, JSON.stringify(stored.body));
  await marketing.reload();
  await screen(marketing, 'contests');
  await marketing.getByRole('link', { name: 'Web FX Cup' }).click();
  await screen(marketing, 'contest');
  await marketing.getByRole('button', { name: 'Publish' }).click();
  await notice(marketing, 'Published.');

  const client = tabs.client;
  await navTo(client, 'Contests');
  await screen(client, 'contests');
  await shoot(client, 'contests');
  await client.getByRole('link', { name: 'Web FX Cup' }).click();
  await screen(client, 'contest');
  await client.getByRole('button', { name: 'Enter the contest' }).click();
  await notice(client, 'You are in, with account');
  await client.getByTestId('my-entry').waitFor();
  await shoot(client, 'contest', { phone: true });

  await marketing.getByRole('button', { name: 'Score now' }).click();
  await notice(marketing, 'Scoring started');
  await eventually(marketing, marketing.getByTestId('leaderboard').getByRole('cell', { name: /Lena P\./ }));
  await marketing.getByTestId('leaderboard').locator('svg.chart').waitFor();
  await shoot(marketing, 'contest-marketing');
});

test('a role cannot reach another role\'s screens nor their data', async () => {
  const refusals = [
    // [tab, a screen of another role, the API call behind it]
    ['sales', 'Review queue', '#/compliance/reviews', '/compliance/reviews?status=pending'],
    ['compliance', 'Lead pipeline', '#/sales/leads', '/leads'],
    ['finance', 'Audit search', `#/sales/leads/${found.leadId}`, `/leads/${found.leadId}/timeline`],
    ['ib', 'IBs and tree', '#/partners/ibs', '/partners/ibs'],
    ['client', 'Deposits', '#/finance/deposits', `/clients/${found.clientId}/kyc/checks`],
    ['partners', 'Payment routing', '#/finance/routing', '/payments/routing'],
  ];
  for (const [who, link, hash, path] of refusals) {
    const page = tabs[who];
    assert.equal(await page.locator('nav#nav').getByRole('link', { name: link, exact: true }).count(), 0, `${who}: no ${link} link`);
    await open(page, hash, 'not-allowed');
    const answer = await apiCall(page, 'GET', path);
    assert.equal(answer.status, 403, `${who}: GET ${path} is refused`);
    assert.equal(answer.body.code, 'forbidden');
  }
  await shoot(tabs.sales, 'not-allowed-sales');
});

test('every back-office screen shot passes axe-core (WCAG 2.1 A and AA)', () => {
  assert.deepEqual(accessibilityViolations, []);
});
