// The branches of the web app the other journeys do not take:
//
// * Cognito's hosted-UI sign-in (web/lib/sign-in.js): `serve --web-config` serves a
//   config.json naming a stub hosted UI — a node HTTP server on a free loopback port whose
//   authorize endpoint sends the browser back with a code and the state it was given, and whose
//   token endpoint gives a token only for the code_verifier whose S256 digest the authorize
//   request carried (the token is minted with serve's key by `brokeros token`, so the API takes
//   it). The success path, a forged state and a failed exchange: the error shown, no session.
// * Maker-checker on a withdrawal above the second-approval limit (10,000.00 USD in the
//   default configuration: two different people, the second an admin): the same approver
//   again (from a tab that had not seen their own approval) is refused with the API's error
//   shown, a second finance approver is told the second approval is an admin's, and an admin
//   completes it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  accessibilityViolations, apiCall, fillProfileAndDocuments, freePort, mintToken, newTab, screen, shoot, signIn,
  startBrowser, startServe,
} from './harness.mjs';

let browser;
const closers = [];

before(async () => {
  browser = await startBrowser();
});

after(async () => {
  await browser?.stop();
  for (const close of closers.reverse()) await close();
});

/**
 * The stub hosted UI. `mode`: `ok`, `forge` (the authorize answer carries another state) or
 * `fail` (the token endpoint refuses). `token()` gives the token the exchange answers.
 */
async function stubHostedUi(token) {
  const stub = { mode: 'ok', codes: new Map(), exchanges: [], origin: '' };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://stub');
    if (req.method === 'GET' && url.pathname === '/oauth2/authorize') {
      const p = url.searchParams;
      assert.equal(p.get('response_type'), 'code');
      assert.equal(p.get('code_challenge_method'), 'S256');
      const code = randomUUID();
      stub.codes.set(code, { challenge: p.get('code_challenge'), redirect: p.get('redirect_uri'), client: p.get('client_id') });
      const back = new URL(p.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', stub.mode === 'forge' ? 'forged-state' : p.get('state'));
      res.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/oauth2/token') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const issued = stub.codes.get(form.get('code'));
      const digest = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
      const verified = Boolean(issued) && digest === issued.challenge && form.get('redirect_uri') === issued.redirect &&
        form.get('client_id') === issued.client && form.get('grant_type') === 'authorization_code';
      stub.exchanges.push({ verified });
      stub.codes.delete(form.get('code'));
      const cors = { 'access-control-allow-origin': '*', 'content-type': 'application/json' };
      if (!verified || stub.mode === 'fail') {
        res.writeHead(400, cors).end(JSON.stringify({ error: 'invalid_grant' }));
        return;
      }
      res.writeHead(200, cors).end(JSON.stringify({ id_token: token(), access_token: token(), token_type: 'Bearer', expires_in: 3600 }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((ready) => server.listen(0, '127.0.0.1', () => ready(null)));
  stub.origin = `http://127.0.0.1:${server.address().port}`;
  closers.push(() => new Promise((closed) => server.close(() => closed(null))));
  return stub;
}

test('Cognito hosted-UI sign-in: PKCE code exchange signs in; a forged state or a failed exchange does not', async () => {
  let serve;
  const stub = await stubHostedUi(() => mintToken(serve.dataDir, 'finance', 'finance-1'));
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'brokeros-web-config-'));
  closers.push(async () => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'config.json');
  const app = `http://127.0.0.1:${port}/`;
  writeFileSync(configFile, JSON.stringify({
    sign_in: 'cognito',
    cognito: { domain: stub.origin, client_id: 'web-client', redirect_uri: app, logout_uri: app },
  }));
  serve = await startServe({ port, args: ['--web-config', configFile] });
  closers.push(() => serve.stop());

  const page = await newTab(browser.context);
  await page.goto(app);
  await screen(page, 'sign-in');
  assert.equal(await page.locator('select[name=role]').count(), 0, 'no dev sign-in with Cognito configured');
  await shoot(page, 'sign-in-cognito');
  await page.getByRole('button', { name: 'Sign in with your Broker OS account' }).click();
  // Back from the hosted UI, the code exchanged for a token the API takes: finance's queue.
  await screen(page, 'finance-withdrawals');
  assert.deepEqual(stub.exchanges, [{ verified: true }], 'one exchange, with the verifier of the challenge sent');
  assert.equal(new URL(page.url()).search, '', 'the code is out of the address bar');
  assert.ok(await page.evaluate(() => sessionStorage.getItem('brokeros.token')), 'a session');
  const queue = await apiCall(page, 'GET', '/finance/withdrawals?status=awaiting_approval');
  assert.equal(queue.status, 200, 'the API takes the token the exchange gave');
  await shoot(page, 'finance-withdrawals-after-cognito');

  /** A sign-in the stub answers in `mode`: the error shown, no session; the tab. */
  const refused = async (mode, error) => {
    const tab = await newTab(browser.context);
    stub.mode = mode;
    await tab.goto(app);
    await screen(tab, 'sign-in');
    await tab.getByRole('button', { name: 'Sign in with your Broker OS account' }).click();
    await tab.getByRole('alert').filter({ hasText: error }).waitFor();
    assert.equal(await tab.evaluate(() => sessionStorage.getItem('brokeros.token')), null, `${mode}: no session`);
    return tab;
  };
  // A forged state: refused before any exchange.
  const forged = await refused('forge', 'does not match the sign-in this tab started');
  assert.equal(stub.exchanges.length, 1, 'no exchange for a forged state');
  await shoot(forged, 'sign-in-cognito-forged-state');
  // A failed exchange.
  const failed = await refused('fail', 'could not be completed (400)');
  assert.equal(stub.exchanges.length, 2);
  for (const tab of [page, forged, failed]) assert.deepEqual(tab.errors.filter((e) => !/400/.test(e)), []);
});

/** Polls `read` (an API read) until `done(answer)` holds. */
async function until(read, done, what) {
  for (let i = 0; i < 60; i += 1) {
    const answer = await read();
    if (done(answer)) return answer;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not after 30 s`);
}

test('a withdrawal above the second-approval limit needs two different approvers, the second an admin', async () => {
  const serve = await startServe();
  closers.push(() => serve.stop());
  const tab = async (role, sub, home) => {
    const page = await newTab(browser.context);
    await page.goto(`${serve.origin}/`);
    await signIn(page, role, sub);
    if (home) await screen(page, home);
    return page;
  };

  // A client with 11,000.00 USD in the wallet: registered and onboarded in the portal, the
  // rest through the API the portal's screens call.
  const client = await tab('client', 'portal-max');
  await client.getByRole('heading', { name: 'Open your account' }).waitFor();
  await client.locator('[name=first_name]').fill('Max');
  await client.locator('[name=last_name]').fill('Berg');
  await client.locator('[name=email]').fill('max.berg@example.com');
  await client.locator('[name=country]').fill('GB');
  await client.getByRole('button', { name: 'Register' }).click();
  await screen(client, 'client-home');
  await fillProfileAndDocuments(client, { dateOfBirth: '1985-03-02', passport: '644512983', proofOfAddress: 'UTIL-9' });
  await client.getByRole('link', { name: 'Next: start onboarding' }).click();
  await screen(client, 'client-onboarding');
  await client.getByRole('button', { name: 'Start onboarding' }).click();
  await client.locator('[data-testid=kyc-status]', { hasText: 'Approved' }).waitFor({ timeout: 20_000 });
  const me = await apiCall(client, 'GET', '/me');
  const clientId = me.body.id;
  assert.ok(clientId, JSON.stringify(me.body));
  const deposit = await apiCall(client, 'POST', `/clients/${clientId}/deposits`, { deposit_id: 'dep-big', amount: '12000.00', currency: 'USD', method: 'card' });
  assert.equal(deposit.status, 201, JSON.stringify(deposit.body));
  await until(() => apiCall(client, 'GET', '/deposits/dep-big'), (a) => a.body.funding?.status === 'funded', 'the deposit funded');
  const accounts = await apiCall(client, 'GET', `/clients/${clientId}/accounts`);
  const login = accounts.body.items[0].login;
  const transfer = await apiCall(client, 'POST', `/clients/${clientId}/transfers`, {
    transfer_id: 'tr-big', from: { account: login }, to: { wallet: 'USD' }, amount: '11000.00', currency: 'USD',
  });
  assert.equal(transfer.status, 201, JSON.stringify(transfer.body));
  const requested = await apiCall(client, 'POST', `/clients/${clientId}/withdrawals`, {
    withdrawal_id: 'wd-big', amount: '10500.00', currency: 'USD', method: 'card', destination: '4111111111111111',
  });
  assert.equal(requested.status, 202, JSON.stringify(requested.body));

  // finance-1 has the queue open in two tabs; approves in the first.
  const first = await tab('finance', 'finance-1', 'finance-withdrawals');
  const row = (page) => page.locator('tr[data-row="wd-big"]');
  for (let i = 0; i < 40 && (await row(first).count()) === 0; i += 1) {
    await new Promise((r) => setTimeout(r, 500));
    await first.reload();
    await screen(first, 'finance-withdrawals');
  }
  assert.match(await row(first).innerText(), /Two different people, the second an admin/);
  const stale = await tab('finance', 'finance-1', 'finance-withdrawals');
  await row(stale).waitFor();
  await row(first).getByRole('button', { name: 'Approve' }).click();
  await first.getByText('wd-big: awaiting approval').waitFor();
  assert.match(await row(first).innerText(), /✓ finance-1 \(finance\)/);
  assert.match(await row(first).innerText(), /You approved it already/);
  await shoot(first, 'finance-withdrawals-first-approval');

  // The same approver again, from the tab that had not seen it: the API refuses, its error shown.
  await row(stale).getByRole('button', { name: 'Approve' }).click();
  const refusal = row(stale).locator('p.field-error[role=alert]');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /must come from another person/);
  await shoot(stale, 'finance-withdrawals-same-approver');
  const still = await apiCall(stale, 'GET', '/withdrawals/wd-big');
  assert.equal(still.body.status, 'awaiting_approval');
  assert.equal(still.body.approvals.length, 1, 'the refused approval added nothing');

  // Another finance approver may not give the second approval: an admin's.
  const second = await tab('finance', 'finance-2', 'finance-withdrawals');
  assert.match(await row(second).innerText(), /The second approval is an admin's/);
  assert.ok(await row(second).getByRole('button', { name: 'Approve' }).isDisabled());
  const refused = await apiCall(second, 'POST', '/withdrawals/wd-big/approve', {});
  assert.equal(refused.status, 403, JSON.stringify(refused.body));

  // An admin completes it.
  const admin = await tab('admin', 'admin-1');
  await admin.evaluate(() => { location.hash = '#/finance/withdrawals'; });
  await screen(admin, 'finance-withdrawals');
  await row(admin).getByRole('button', { name: 'Approve' }).click();
  await admin.getByText(/wd-big: (approved|paid)/).waitFor();
  const done = await until(() => apiCall(admin, 'GET', '/withdrawals/wd-big'), (a) => ['approved', 'paid'].includes(a.body.status), 'approved');
  assert.deepEqual(done.body.approvals.map((a) => a.by), ['finance-1', 'admin-1']);
  await shoot(admin, 'finance-withdrawals-second-approval');
  for (const page of [client, first, stale, second, admin]) assert.deepEqual(page.errors, []);
});

test('the screens shot here pass axe-core (WCAG 2.1 A and AA)', () => {
  assert.deepEqual(accessibilityViolations, []);
});
