// @ts-check
// One deposit: on the way to the provider's page (`?pay=1`: as soon as the provider gives its
// page, the browser goes there), and back from it, until the money arrived or was declined.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { badge, money, words } from '../../lib/format.js';
import { heading } from './client.js';

export const title = 'Deposit';

const FINAL = new Set(['credited', 'declined', 'expired', 'flagged']);
const POLL_MS = 700;

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const deposit = await api.deposit(ctx.params.id);
  const paying = ctx.query.get('pay') === '1';
  if (paying && deposit.payment_url) {
    // Replacing this entry: going back from the provider's page does not come here to be sent again.
    location.replace(deposit.payment_url);
    return h('p', { class: 'loading', role: 'status' }, 'Taking you to the payment page…');
  }
  const final = FINAL.has(deposit.status);
  if (!final) ctx.again(POLL_MS);
  const attempt = deposit.attempts.at(-1);
  return h(
    'section',
    { 'data-screen': 'client-deposit-status', class: 'narrow' },
    heading(`Deposit of ${money(deposit.amount.amount, deposit.amount.currency)}`),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Status'), h('dd', { 'data-testid': 'deposit-status' }, badge(deposit.status)),
      h('dt', null, 'Method'), h('dd', null, words(deposit.method)),
      attempt ? [h('dt', null, 'Provider'), h('dd', null, attempt.provider)] : null,
      deposit.funding ? [h('dt', null, 'Trading account'), h('dd', null, fundingText(deposit.funding))] : null,
      deposit.declined_because ? [h('dt', null, 'Why'), h('dd', null, deposit.declined_because)] : null,
    ),
    h('p', { role: 'status', class: final ? null : 'notice' }, statusText(deposit.status, paying)),
    h('div', { class: 'actions' },
      h('a', { class: 'button primary', href: '#/client/wallet' }, 'Wallet'),
      h('a', { class: 'button', href: '#/client/deposit' }, 'Deposits')),
  );
}

/** @param {string} status @param {boolean} paying */
function statusText(status, paying) {
  switch (status) {
    case 'credited': return 'The money has arrived.';
    case 'declined': return 'The payment was declined: nothing was taken.';
    case 'expired': return 'The payment was not completed in time.';
    case 'flagged': return 'The payment is held for a check by our team.';
    default: return paying ? 'Preparing the payment page…' : 'Waiting for the payment provider… this page updates by itself.';
  }
}

/** @param {{status: string, login?: number, reason?: string}} funding */
function fundingText(funding) {
  const account = funding.login ? ` ${funding.login}` : '';
  switch (funding.status) {
    case 'funded': return `Funded: on trading account${account}`;
    case 'pending': return `On its way to trading account${account}`;
    case 'returned': return `Kept in the wallet: ${funding.reason ?? ''}`;
    default: return `Kept in the wallet${funding.reason ? `: ${funding.reason}` : ''}`;
  }
}
