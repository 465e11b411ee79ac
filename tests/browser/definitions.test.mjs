// The screens that write definitions: marketing's contest editor (a new contest as a draft, the
// API's validation error next to the field it names, a prize tier added as a row, saved and
// published, then its next version) and partner managers' commission plans (a new plan, a
// nested part's error at its field, the next version with what changed, the plan assigned to
// an IB). Screenshots of each go to target/screenshots/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessibilityViolations, apiCall, fieldError, navTo, newTab, screen, shoot, signIn, startBrowser, startServe,
} from './harness.mjs';

let serve;
let browser;
const pages = [];

before(async () => {
  serve = await startServe();
  browser = await startBrowser();
});

after(async () => {
  for (const page of pages) assert.deepEqual(page.errors, [], 'no script error');
  await browser?.stop();
  await serve?.stop();
});

async function signedIn(role, sub, home) {
  const page = await newTab(browser.context);
  await page.goto(`${serve.origin}/`);
  await signIn(page, role, sub);
  await screen(page, home);
  pages.push(page);
  return page;
}

/** A datetime-local value `days` from now, in the browser's zone (UTC here). */
const localDays = (days) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 16);

test('marketing writes a contest definition: a draft, a field error, a prize tier added, published, a new version', async () => {
  const marketing = await signedIn('marketing', 'mkt-1', 'contests');
  await navTo(marketing, 'New contest');
  await screen(marketing, 'contest-edit');
  await shoot(marketing, 'contest-new', { phone: true });
  await marketing.locator('[name=id]').fill('screen-cup');
  await marketing.locator('[name=name]').fill('Screen Cup');
  // The contest ending before it starts: the API's error, next to the field it names.
  await marketing.locator('[name="period.until"]').fill(localDays(0.5));
  await marketing.getByRole('button', { name: 'Save the draft' }).click();
  assert.match(await fieldError(marketing, 'period.until'), /period.until must be after period.from/);
  const none = await apiCall(marketing, 'GET', '/marketing/contests');
  assert.equal(none.body.items.length, 0, 'nothing stored');
  await shoot(marketing, 'contest-new-error');

  await marketing.locator('[name="period.until"]').fill(localDays(20));
  // An error of one item of a list (eligibility.countries[1]) lands at the list's field.
  await marketing.locator('[name="eligibility.countries"]').fill('DE, Germany');
  await marketing.getByRole('button', { name: 'Save the draft' }).click();
  assert.match(await fieldError(marketing, 'eligibility.countries'), /ISO 3166 alpha-2/);
  await marketing.locator('[name="eligibility.countries"]').fill('');
  await marketing.getByRole('button', { name: 'Add a prize tier' }).click();
  await marketing.locator('[name="prizes.tiers[2].from_rank"]').fill('4');
  await marketing.locator('[name="prizes.tiers[2].to_rank"]').fill('10');
  await marketing.locator('[name="prizes.tiers[2].amount"]').fill('10.00');
  assert.equal(await marketing.locator('[name=name]').inputValue(), 'Screen Cup', 'what was typed stays when a row is added');
  await marketing.locator('[name=publish]').check();
  await marketing.getByRole('button', { name: 'Save the draft' }).click();
  await screen(marketing, 'contest');
  await marketing.locator('main .notice', { hasText: 'Saved as a draft. Published.' }).waitFor();
  const stored = await apiCall(marketing, 'GET', '/marketing/contests/screen-cup');
  assert.equal(stored.body.status, 'published');
  assert.deepEqual(stored.body.definition.prizes.tiers.map((t) => [t.from_rank, t.to_rank, t.amount ?? t.share]), [[1, 1, '0.5'], [2, 3, '0.2'], [4, 10, '10.00']]);
  assert.equal(stored.body.definition.name, 'Screen Cup');
  await shoot(marketing, 'contest-published');

  // The next version: the form starts from the one in force.
  await marketing.getByRole('link', { name: 'Edit the definition' }).click();
  await screen(marketing, 'contest-edit');
  assert.equal(await marketing.locator('[name="prizes.tiers[2].to_rank"]').inputValue(), '10');
  await shoot(marketing, 'contest-edit', { phone: true });
  await marketing.locator('[name=name]').fill('Screen Cup 2026');
  await marketing.getByRole('button', { name: 'Save the new version' }).click();
  await screen(marketing, 'contest');
  await marketing.locator('main .notice', { hasText: 'Version 2 saved.' }).waitFor();
  const next = await apiCall(marketing, 'GET', '/marketing/contests/screen-cup');
  assert.equal(next.body.version, 2);
  assert.equal(next.body.definition.name, 'Screen Cup 2026');
  await shoot(marketing, 'contest-version-2');
});

test('partner managers store a plan, its next version with what changed, and assign it to an IB', async () => {
  const partners = await signedIn('partners', 'pm-1', 'partners-applications');
  await navTo(partners, 'Commission plans');
  await screen(partners, 'partners-plans');
  const form = partners.locator('form[data-form="plan-new"]');
  await form.locator('[name=id]').fill('screens');
  // A rule without what it earns: the API's error, at the rules' field with its path.
  await form.locator('[name=rules]').fill('[{"id": "all", "priority": 0, "match": {}}]');
  await form.getByRole('button', { name: 'Store the plan' }).click();
  assert.match(await fieldError(form, 'rules'), /rules\[0\]/);
  assert.equal((await apiCall(partners, 'GET', '/partners/plans')).body.items.length, 0, 'nothing stored');
  await shoot(partners, 'partners-plans-error');
  await form.locator('[name=rules]').fill('[{"id": "all", "priority": 0, "match": {}, "earns": {"per_lot": "7.00"}}]');
  await form.getByRole('button', { name: 'Store the plan' }).click();
  await partners.locator('main .notice', { hasText: 'Plan screens is stored.' }).waitFor();

  // Version 2, prefilled from version 1 with a time five minutes ahead: 8.00 a lot.
  const editor = partners.locator('form[data-form^="plan-screens-v1"] textarea');
  const text = await editor.inputValue();
  assert.match(text, /"version": 2/);
  await editor.fill(text.replace('"7.00"', '"8.00"'));
  await partners.getByRole('button', { name: 'Put in force' }).click();
  await partners.locator('main .notice', { hasText: 'Version 2 is in force.' }).waitFor();
  const changed = partners.locator('table', { has: partners.locator('caption', { hasText: 'From v1 to v2' }) });
  await changed.getByRole('cell', { name: 'rules[all].earns.per_lot' }).waitFor();
  assert.match(await changed.innerText(), /"7\.00"\s+"8\.00"/);

  // An IB to assign it to.
  const application = await apiCall(partners, 'POST', '/partners/applications', { name: 'Porto Partners', payout_currency: 'USD', user_id: 'portal-opo' });
  assert.equal(application.status, 201, JSON.stringify(application.body));
  const approved = await apiCall(partners, 'POST', `/partners/applications/${application.body.id}/approve`, {
    plans: ['screens'], referral_codes: [{ code: 'IB-OPO-1', campaign: 'web' }],
  });
  assert.equal(approved.status, 201, JSON.stringify(approved.body));
  await partners.reload();
  await screen(partners, 'partners-plans');
  const assign = partners.locator('form[data-form="plan-assign-screens"]');
  await assign.locator('[name=ib]').selectOption(approved.body.id);
  await assign.locator('[name=plans]').fill('screens, nope');
  await assign.getByRole('button', { name: 'Change the IB’s plans' }).click();
  assert.match(await fieldError(assign, 'plans'), /nope/);
  await assign.locator('[name=plans]').fill('screens');
  await assign.getByRole('button', { name: 'Change the IB’s plans' }).click();
  await partners.locator('main .notice', { hasText: 'Porto Partners has plans screens' }).waitFor();
  const ib = await apiCall(partners, 'GET', `/partners/ibs/${approved.body.id}`);
  assert.equal(ib.body.plans.length, 2, 'the agreement changed from now on');
  await shoot(partners, 'partners-plans', { phone: true });
});

test('the screens shot here pass axe-core (WCAG 2.1 A and AA)', () => {
  assert.deepEqual(accessibilityViolations, []);
});
