// @ts-check
// The client's overview: status, the next step, trading accounts with their balance and equity
// on the trading platform (GET /clients/{id}/accounts), and wallet balances.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { badge, money, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { heading, myClient } from './client.js';
import * as register from './register.js';

export const title = 'My account';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const client = await myClient();
  if (!client) return register.render(ctx);
  const approved = client.kyc_status === 'approved';
  const [wallet, accounts] = approved ? await Promise.all([api.wallet(client.id), api.tradingAccounts(client.id)]) : [null, null];
  return h(
    'section',
    { 'data-screen': 'client-home' },
    heading(`Hello, ${client.first_name}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Account'), h('dd', null, badge(client.status)),
      h('dt', null, 'Identity check'), h('dd', { 'data-testid': 'kyc-status' }, badge(client.kyc_status)),
      client.account_manager ? [h('dt', null, 'Your account manager'), h('dd', null, client.account_manager)] : null,
    ),
    nextStep(client),
    approved
      ? [
          h('h2', null, 'Trading accounts'),
          table({
            caption: 'Trading accounts',
            rows: accounts?.items ?? [],
            empty: 'No trading account yet.',
            rowId: (a) => String(a.login),
            columns: [
              { label: 'Login', cell: (a) => String(a.login) },
              { label: 'Group', cell: (a) => a.group },
              { label: 'Leverage', cell: (a) => `1:${a.leverage}` },
              { label: 'Balance', cell: (a) => money(a.money.balance, a.money.currency), class: 'num' },
              { label: 'Equity', cell: (a) => money(a.money.equity, a.money.currency), class: 'num' },
              { label: 'Free margin', cell: (a) => money(a.money.free_margin, a.money.currency), class: 'num' },
            ],
          }),
          h('h2', null, 'Wallet'),
          table({
            caption: 'Wallet balances',
            rows: wallet?.wallets ?? [],
            empty: 'Your wallet is empty: deposit to fund it.',
            columns: [
              { label: 'Currency', cell: (w) => w.currency },
              { label: 'Available', cell: (w) => money(w.available, w.currency), class: 'num' },
              { label: 'Reserved', cell: (w) => money(w.reserved, w.currency), class: 'num' },
            ],
          }),
        ]
      : null,
  );
}

/** @param {api.Client} client */
function nextStep(client) {
  const steps = {
    not_started: ['Verify your identity', 'Add your profile and an identity document, then start onboarding.', '#/client/profile', 'Profile and documents'],
    pending: ['Onboarding in progress', 'We are checking your documents.', '#/client/onboarding', 'See the status'],
    in_review: ['Onboarding in review', 'A compliance officer is looking at your documents.', '#/client/onboarding', 'See the status'],
    rejected: ['Onboarding not approved', 'Your identity check was not approved.', '#/client/onboarding', 'See why'],
    approved: ['Ready to trade', 'Fund your account by card or bank transfer.', '#/client/deposit', 'Deposit'],
  };
  const [title, text, href, action] = steps[/** @type {keyof steps} */ (client.kyc_status)] ?? [
    words(client.kyc_status), '', '#/client/onboarding', 'Onboarding',
  ];
  return h('div', { class: 'card next-step' }, h('h2', null, title), text ? h('p', null, text) : null, h('a', { class: 'button primary', href }, action));
}
