// @ts-check
// A deposit: the amount and method, then the provider's payment page and back.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { badge, money, requestId, when, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { PAYMENT_METHODS, heading, myClient, notYet, registerFirst } from './client.js';

export const title = 'Deposit';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const client = await myClient();
  if (!client) return registerFirst();
  if (client.kyc_status !== 'approved') {
    return notYet({
      screen: 'client-deposit',
      title: 'Deposit',
      text: 'Deposits open once your identity check is approved.',
      href: '#/client/onboarding',
      action: 'Onboarding',
    });
  }
  const accounts = client.trading_accounts ?? [];
  const currencies = [...new Set([...accounts.map((a) => a.currency), 'USD', 'EUR', 'GBP'])];
  const history = await api.deposits(client.id);
  return h(
    'section',
    { 'data-screen': 'client-deposit' },
    heading('Deposit', 'You pay on the payment provider\'s page and come back here. Money arrives in your wallet, and on your trading account in its currency.'),
    h(
      'div',
      { class: 'card narrow' },
      form({
        id: `deposit-${client.id}`,
        submit: 'Continue to payment',
        fields: [
          { name: 'deposit_id', label: 'Deposit', type: 'hidden', generate: () => requestId('dep') },
          { name: 'amount', label: 'Amount', inputmode: 'decimal', autocomplete: 'transaction-amount', hint: 'For example 250.00', required: true },
          { name: 'currency', label: 'Currency', type: 'select', options: currencies.map((c) => ({ value: c, label: c })) },
          { name: 'method', label: 'Pay by', type: 'select', options: PAYMENT_METHODS },
        ],
        onSubmit: async (values) => {
          const created = await api.createDeposit(client.id, {
            deposit_id: values.deposit_id,
            amount: values.amount.trim(),
            currency: values.currency,
            method: /** @type {api.Body<'create_deposit'>['method']} */ (values.method),
          });
          ctx.go(`#/client/deposits/${encodeURIComponent(created.id)}?pay=1`);
        },
      }),
    ),
    h('h2', null, 'Your deposits'),
    table({
      caption: 'Deposits',
      rows: history.items,
      empty: 'No deposit yet.',
      rowId: (d) => d.id,
      columns: [
        { label: 'Deposit', cell: (d) => h('a', { href: `#/client/deposits/${encodeURIComponent(d.id)}` }, d.id) },
        { label: 'Amount', cell: (d) => money(d.amount.amount, d.amount.currency), class: 'num' },
        { label: 'Method', cell: (d) => words(d.method) },
        { label: 'Status', cell: (d) => badge(d.status) },
        { label: 'Created', cell: (d) => when(d.created_at) },
      ],
    }),
  );
}
