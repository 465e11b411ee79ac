// The client's journey on headless Chromium against `brokeros serve`: register, onboard with a
// document that passes KYC, deposit through the simulated provider's page, transfer to the
// wallet, request a withdrawal that finance approves in its screen; a client cannot reach the
// finance screen nor its data; an expired session returns to sign-in keeping what was typed.
// Screenshots of every screen (the client's also at a phone's size) and the first-load
// measurements go to target/screenshots/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DESKTOP, PHONE, accessibilityViolations, fieldError, fillProfileAndDocuments, firstLoad, navTo, newTab, screen,
  shoot, signIn, startBrowser, startServe,
  writeMeasurements,
} from './harness.mjs';

let serve;
let browser;
const measurements = {};

before(async () => {
  serve = await startServe();
  browser = await startBrowser();
});

after(async () => {
  await browser?.stop();
  await serve?.stop();
});

test('a client registers, onboards, deposits, transfers and withdraws; finance approves', async () => {
  const client = await newTab(browser.context);
  measurements.sign_in = await firstLoad(browser.context, client, `${serve.origin}/`, 'sign-in');
  await shoot(client, 'sign-in', { phone: true });

  await signIn(client, 'client', 'portal-zoe');
  await client.getByRole('heading', { name: 'Open your account' }).waitFor();
  // A missing required field: the API's error, next to the field.
  await client.locator('[name=first_name]').fill('Zoe');
  await client.getByRole('button', { name: 'Register' }).click();
  assert.match(await fieldError(client, 'country'), /country/);
  await shoot(client, 'client-register-error', { phone: true });
  await client.locator('[name=last_name]').fill('Adams');
  await client.locator('[name=email]').fill('zoe.adams@example.com');
  await client.locator('[name=country]').fill('GB');
  await client.getByRole('button', { name: 'Register' }).click();
  await screen(client, 'client-home');
  await shoot(client, 'client-home-registered', { phone: true });

  // Profile and documents: a passport that passes the simulated KYC, a proof of address.
  await fillProfileAndDocuments(client, { dateOfBirth: '1990-01-15', passport: '533401372', proofOfAddress: 'UTIL-1' });
  await shoot(client, 'client-profile', { phone: true });

  await client.getByRole('link', { name: 'Next: start onboarding' }).click();
  await screen(client, 'client-onboarding');
  await client.getByRole('button', { name: 'Start onboarding' }).click();
  await client.locator('[data-testid=kyc-status]', { hasText: 'Approved' }).waitFor({ timeout: 20_000 });
  await shoot(client, 'client-onboarding', { phone: true });

  await navTo(client, 'Overview');
  await screen(client, 'client-home');
  await client.getByRole('cell', { name: '1:100' }).waitFor();
  await shoot(client, 'client-home', { phone: true });
  measurements.client_home = await firstLoad(browser.context, client, `${serve.origin}/#/client`, 'client-home');

  // Deposit: the form, the simulated provider's page, and back.
  await navTo(client, 'Deposit');
  await screen(client, 'client-deposit');
  await client.locator('[name=amount]').fill('25.001');
  await client.getByRole('button', { name: 'Continue to payment' }).click();
  assert.match(await fieldError(client, 'amount'), /2 decimals/);
  await shoot(client, 'client-deposit-error', { phone: true });
  await client.locator('[name=amount]').fill('2500.00');
  await client.getByRole('button', { name: 'Continue to payment' }).click();
  await client.waitForURL(/\/simulated-psp\//, { timeout: 15_000 });
  assert.equal(await client.getByTestId('amount').innerText(), '2500.00 USD');
  await shoot(client, 'provider-payment-page', { phone: true });
  await client.getByRole('link', { name: 'Return to Broker OS' }).click();
  await screen(client, 'client-deposit-status');
  await client.locator('[data-testid=deposit-status]', { hasText: 'Credited' }).waitFor({ timeout: 20_000 });
  await client.getByText('Funded: on trading account').waitFor({ timeout: 10_000 });
  await shoot(client, 'client-deposit-status', { phone: true });

  // The overview reads the trading account's money from the platform.
  await navTo(client, 'Overview');
  await screen(client, 'client-home');
  const account = client.locator('tbody tr[data-row]').first();
  await account.waitFor();
  assert.match(await account.innerText(), /2,500\.00 USD/, 'balance and equity after the funding');

  // The deposit funded the trading account: 2000.00 back to the wallet.
  await navTo(client, 'Transfer');
  await screen(client, 'client-transfer');
  await client.locator('[name=amount]').fill('2000.00');
  await client.getByRole('button', { name: 'Transfer', exact: true }).click();
  await client.getByRole('cell', { name: 'Completed' }).waitFor();
  await shoot(client, 'client-transfer', { phone: true });

  await navTo(client, 'Wallet');
  await screen(client, 'client-wallet');
  await client.getByRole('cell', { name: '2,000.00 USD' }).first().waitFor();
  await shoot(client, 'client-wallet', { phone: true });

  // A withdrawal over the auto-approval limit (1,000.00 USD) waits for finance. First the
  // session expires mid-form: sign-in again, and the form comes back as it was typed.
  await navTo(client, 'Withdrawals');
  await screen(client, 'client-withdrawals');
  await client.locator('[name=amount]').fill('1500.00');
  await client.evaluate(() => sessionStorage.setItem('brokeros.token', 'expired.token.here'));
  await client.locator('[name=destination]').fill('4111111111111111');
  await client.getByRole('button', { name: 'Request withdrawal' }).click();
  await screen(client, 'sign-in');
  await client.getByText('Your session ended').waitFor();
  await shoot(client, 'sign-in-after-expiry');
  await signIn(client, 'client', 'portal-zoe');
  await screen(client, 'client-withdrawals');
  assert.equal(await client.locator('[name=amount]').inputValue(), '1500.00', 'the draft came back');
  await client.locator('[name=destination]').fill('4111111111111111');
  await client.getByRole('button', { name: 'Request withdrawal' }).click();
  await client.getByRole('cell', { name: 'Awaiting approval' }).waitFor({ timeout: 15_000 });
  await shoot(client, 'client-withdrawals', { phone: true });
  const withdrawalId = await client.locator('tbody tr[data-row]').first().getAttribute('data-row');

  // Finance, in another tab (another session): the queue shows who requested and what it needs.
  const finance = await newTab(browser.context);
  await finance.goto(`${serve.origin}/`);
  await signIn(finance, 'finance', 'finance-1');
  await screen(finance, 'finance-withdrawals');
  const row = finance.locator(`tr[data-row="${withdrawalId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /portal-zoe/);
  assert.match(await row.innerText(), /One, by finance or an admin/);
  assert.match(await row.innerText(), /You may approve/);
  await shoot(finance, 'finance-withdrawals');
  await row.getByRole('button', { name: 'Approve' }).click();
  await finance.getByText(`${withdrawalId}: approved`).waitFor();
  await finance.locator('#queue-status').selectOption('paid');
  await finance.locator(`tr[data-row="${withdrawalId}"]`).waitFor({ timeout: 15_000 }).catch(async () => {
    // The payout follows the approval asynchronously: look again.
    await finance.reload();
    await finance.locator(`tr[data-row="${withdrawalId}"]`).waitFor({ timeout: 15_000 });
  });
  await shoot(finance, 'finance-withdrawals-paid');

  await client.reload();
  await screen(client, 'client-withdrawals');
  await client.locator(`tr[data-row="${withdrawalId}"]`).getByText('Paid').waitFor();

  assert.deepEqual(client.errors, [], 'no script error in the client tab');
  assert.deepEqual(finance.errors, [], 'no script error in the finance tab');
  await finance.close();
  await client.close();
});

test('a client cannot reach the finance screen nor its data', async () => {
  const client = await newTab(browser.context);
  await client.goto(`${serve.origin}/`);
  // By keyboard, at a phone's size: the form submits with Enter, the new screen's heading
  // takes the focus, and the navigation opens from its button.
  await client.setViewportSize(PHONE);
  await client.locator('input[name=sub]').focus();
  await client.keyboard.press('Control+A');
  await client.keyboard.type('portal-nosy');
  await client.keyboard.press('Enter');
  await client.getByRole('heading', { name: 'Open your account' }).waitFor();
  assert.equal(await client.evaluate(() => document.activeElement?.tagName), 'H1');
  const menu = client.getByRole('button', { name: 'Menu' });
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  await menu.focus();
  await client.keyboard.press('Enter');
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await client.locator('nav#nav').getByRole('link', { name: 'Overview' }).waitFor();
  await shoot(client, 'client-menu.phone');
  await client.setViewportSize(DESKTOP);
  assert.equal(await client.getByRole('link', { name: 'Withdrawal approvals' }).count(), 0, 'no finance link');
  await client.evaluate(() => { location.hash = '#/finance/withdrawals'; });
  await screen(client, 'not-allowed');
  await shoot(client, 'not-allowed', { phone: true });
  const answer = await client.evaluate(async () => {
    const token = sessionStorage.getItem('brokeros.token');
    const response = await fetch('/finance/withdrawals?status=awaiting_approval', { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: await response.json() };
  });
  assert.equal(answer.status, 403);
  assert.equal(answer.body.code, 'forbidden');
  await client.close();
});

test('every screen passes axe-core\'s WCAG 2.1 A and AA checks', () => {
  assert.deepEqual(accessibilityViolations, []);
});

test('first load measured', () => {
  for (const [name, load] of Object.entries(measurements)) {
    console.log(`first load of ${name} (${load.url}): ${load.transferred_bytes} bytes (${load.app_file_bytes} app files, ${load.api_bytes} API) in ${load.requests} requests; usable after ${load.time_to_interactive_ms} ms`);
    assert.ok(load.app_file_bytes <= 200 * 1024, `${name}: the first screen's files stay within 200 KB`);
    assert.ok(load.time_to_interactive_ms !== null, `${name}: the first screen was marked usable`);
  }
  assert.deepEqual(Object.keys(measurements).sort(), ['client_home', 'sign_in']);
  writeMeasurements({ measured_at: new Date().toISOString(), ...measurements });
});
