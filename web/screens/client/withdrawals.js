// @ts-check
// Withdrawal requests from the wallet (POST …/withdrawals) and their history.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { badge, money, requestId, when, words } from '../../lib/format.js';
import { live } from '../../lib/live.js';
import { table } from '../../lib/table.js';
import { PAYMENT_METHODS, heading, myClient, registerFirst } from './client.js';

export const title = 'Withdrawals';

/** Statuses the workflow moves on from by itself (checks, payout): the history follows them. */
const MOVING = new Set(['requested', 'approved']);

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const client = await myClient();
  if (!client) return registerFirst();
  const wallet = await api.wallet(client.id);
  const balances = wallet.wallets.filter((w) => w.total !== '0.00' || w.available !== '0.00');
  const requested = ctx.query.get('requested');
  return h(
    'section',
    { 'data-screen': 'client-withdrawals' },
    heading('Withdrawals', 'Paid from your wallet: bring money from a trading account with a transfer first.'),
    requested ? h('p', { class: 'notice', role: 'status' }, `Withdrawal ${requested} requested: its status is below.`) : null,
    h(
      'div',
      { class: 'card narrow' },
      h('p', { class: 'hint' }, balances.length
        ? `Available: ${balances.map((w) => money(w.available, w.currency)).join(', ')}`
        : 'Your wallet is empty.'),
      form({
        id: `withdrawal-${client.id}`,
        submit: 'Request withdrawal',
        fields: [
          { name: 'withdrawal_id', label: 'Withdrawal', type: 'hidden', generate: () => requestId('wd') },
          { name: 'amount', label: 'Amount', inputmode: 'decimal', hint: 'For example 150.00', required: true },
          { name: 'currency', label: 'Currency', type: 'select', options: (wallet.wallets.length ? wallet.wallets.map((w) => w.currency) : ['USD']).map((c) => ({ value: c, label: c })) },
          { name: 'method', label: 'Paid to', type: 'select', options: PAYMENT_METHODS },
          { name: 'destination', label: 'Card, account or address', autocomplete: 'off', required: true, noDraft: true, hint: 'Where the money goes: the card you deposited with, your IBAN, your wallet address.' },
        ],
        onSubmit: async (values) => {
          const withdrawal = await api.createWithdrawal(client.id, {
            withdrawal_id: values.withdrawal_id,
            amount: values.amount.trim(),
            currency: values.currency,
            method: /** @type {api.Body<'create_withdrawal'>['method']} */ (values.method),
            destination: values.destination.trim(),
          });
          ctx.go(`#/client/withdrawals?requested=${encodeURIComponent(withdrawal.id)}`);
        },
      }),
    ),
    h('h2', null, 'Your withdrawals'),
    await live({
      load: () => api.withdrawals(client.id),
      moving: (history) => history.items.some((w) => MOVING.has(w.status)),
      signal: ctx.signal,
      draw: (history) =>
        table({
          caption: 'Withdrawals',
          rows: history.items,
          empty: 'No withdrawal yet.',
          rowId: (w) => w.id,
          columns: [
            { label: 'Requested', cell: (w) => when(w.requested_at) },
            { label: 'Amount', cell: (w) => money(w.amount.amount, w.amount.currency), class: 'num' },
            { label: 'To', cell: (w) => `${words(w.method)} ${w.destination}` },
            { label: 'Status', cell: (w) => badge(w.status) },
            { label: 'Why', cell: (w) => w.reasons.join('; ') },
          ],
        }),
    }),
  );
}
