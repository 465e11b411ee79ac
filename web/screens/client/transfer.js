// @ts-check
// Internal transfers between the client's trading accounts and wallet (POST …/transfers), and
// their history (newest first, paged).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { badge, money, requestId, when } from '../../lib/format.js';
import { pagedTable } from '../../lib/table.js';
import { heading, myClient, notYet, registerFirst } from './client.js';

export const title = 'Transfer';

/** @param {api.Place} place */
function placeText(place) {
  return 'account' in place ? `Trading account ${place.account}` : `Wallet ${place.wallet}`;
}

/**
 * `account:100001` / `wallet:USD` → the API's place.
 * @param {string} value @returns {api.Place}
 */
function placeOf(value) {
  const [kind, id] = value.split(':');
  return kind === 'account' ? { account: Number(id) } : { wallet: id };
}

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const client = await myClient();
  if (!client) return registerFirst();
  const accounts = client.trading_accounts ?? [];
  if (accounts.length === 0) {
    return notYet({
      screen: 'client-transfer',
      title: 'Transfer',
      text: 'Transfers move money between your trading accounts and your wallet: you will have a trading account once onboarding approves you.',
      href: '#/client/onboarding',
      action: 'Onboarding',
    });
  }
  const places = [
    ...accounts.map((a) => ({ value: `account:${a.login}`, label: `Trading account ${a.login} (${a.currency})`, currency: a.currency })),
    ...[...new Set(accounts.map((a) => a.currency))].map((c) => ({ value: `wallet:${c}`, label: `Wallet ${c}`, currency: c })),
  ];
  const transferForm = form({
    id: `transfer-${client.id}`,
    submit: 'Transfer',
    fields: [
      { name: 'transfer_id', label: 'Transfer', type: 'hidden', generate: () => requestId('tr') },
      { name: 'from', label: 'From', type: 'select', options: places, errorFields: ['from.account', 'from.wallet'] },
      { name: 'to', label: 'To', type: 'select', options: places, value: places.find((p) => p.value.startsWith('wallet:'))?.value, errorFields: ['to.account', 'to.wallet'] },
      { name: 'amount', label: 'Amount', inputmode: 'decimal', hint: 'In the currency of the account it leaves, for example 100.00', required: true },
    ],
    onSubmit: async (values) => {
      const currency = places.find((p) => p.value === values.from)?.currency ?? '';
      const transfer = await api.createTransfer(client.id, {
        transfer_id: values.transfer_id,
        from: placeOf(values.from),
        to: placeOf(values.to),
        amount: values.amount.trim(),
        currency,
      });
      ctx.go(`#/client/transfer?done=${encodeURIComponent(transfer.id)}`);
    },
  });
  const done = ctx.query.get('done');
  return h(
    'section',
    { 'data-screen': 'client-transfer' },
    heading('Transfer', 'Between your trading accounts and your wallet, in the same currency. Withdrawals are paid from the wallet.'),
    done ? h('p', { class: 'notice', role: 'status' }, `Transfer ${done} sent: its status is below.`) : null,
    h('div', { class: 'card narrow' }, transferForm),
    h('h2', null, 'Your transfers'),
    await pagedTable({
      caption: 'Transfers, newest first',
      empty: 'No transfer yet.',
      load: (cursor) => api.transfers(client.id, cursor),
      rowId: (t) => t.id,
      columns: [
        { label: 'When', cell: (t) => when(t.created_at) },
        { label: 'From', cell: (t) => placeText(t.from) },
        { label: 'To', cell: (t) => placeText(t.to) },
        { label: 'Amount', cell: (t) => money(t.amount.amount, t.amount.currency), class: 'num' },
        { label: 'Status', cell: (t) => [badge(t.status), t.failure ? ` ${t.failure.reason}` : ''] },
      ],
    }),
  );
}
