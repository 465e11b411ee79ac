// @ts-check
// The wallet: balances per currency, and a currency's transactions (newest first, paged),
// with the balance after each as a picture.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { barChart } from '../../lib/chart.js';
import { money, when, words } from '../../lib/format.js';
import { pagedTable, table } from '../../lib/table.js';
import { heading, myClient, registerFirst } from './client.js';

export const title = 'Wallet';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const client = await myClient();
  if (!client) return registerFirst();
  const wallet = await api.wallet(client.id);
  const currencies = wallet.wallets.map((w) => w.currency);
  const currency = ctx.query.get('currency') ?? currencies[0] ?? null;
  const balances = table({
    caption: 'Balances',
    rows: wallet.wallets,
    empty: 'Your wallet is empty: a deposit or a transfer from a trading account fills it.',
    rowId: (w) => w.currency,
    columns: [
      { label: 'Currency', cell: (w) => h('a', { href: `#/client/wallet?currency=${w.currency}`, 'aria-current': w.currency === currency ? 'true' : null }, w.currency) },
      { label: 'Available', cell: (w) => money(w.available, w.currency), class: 'num' },
      { label: 'Reserved', cell: (w) => money(w.reserved, w.currency), class: 'num' },
      { label: 'Total', cell: (w) => money(w.total, w.currency), class: 'num' },
    ],
  });
  return h(
    'section',
    { 'data-screen': 'client-wallet' },
    heading('Wallet', 'Money held for you outside the trading accounts. Reserved: withdrawals waiting to be paid.'),
    balances,
    h('div', { class: 'actions' },
      h('a', { class: 'button primary', href: '#/client/deposit' }, 'Deposit'),
      h('a', { class: 'button', href: '#/client/transfer' }, 'Transfer'),
      h('a', { class: 'button', href: '#/client/withdrawals' }, 'Withdraw')),
    currency ? await transactions(client.id, currency) : null,
  );
}

/** @param {string} clientId @param {string} currency */
async function transactions(clientId, currency) {
  const first = await api.walletTransactions(clientId, currency);
  // The picture: the available balance after each of the latest entries, oldest on the left.
  const days = new Set(first.items.map((entry) => entry.posted_at.slice(0, 10)));
  // Entries of one day are told apart by their time, others by their day.
  const label = days.size === 1
    ? (/** @type {string} */ iso) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : (/** @type {string} */ iso) => new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
  const bars = [...first.items].reverse().map((entry) => ({
    label: label(entry.posted_at),
    value: entry.balance_after?.available ?? '0',
    text: `${money(entry.balance_after?.available ?? '0', currency)} after ${entry.memo}`,
  }));
  let served = false;
  return h(
    'div',
    null,
    h('h2', null, `${currency} transactions`),
    bars.length > 1 ? barChart({ title: `Available ${currency} balance after each of the latest transactions`, bars }) : null,
    await pagedTable({
      caption: `${currency} transactions, newest first`,
      empty: 'No transactions yet.',
      // The first page is already read (for the picture).
      load: async (cursor) => {
        if (!served && cursor === null) {
          served = true;
          return first;
        }
        return api.walletTransactions(clientId, currency, cursor);
      },
      columns: [
        { label: 'When', cell: (e) => when(e.posted_at) },
        { label: 'What', cell: (e) => e.memo },
        { label: 'Kind', cell: (e) => `${words(e.kind.type)} (${e.bucket})` },
        { label: 'Amount', cell: (e) => money(e.amount, currency), class: 'num' },
        { label: 'Available after', cell: (e) => (e.balance_after ? money(e.balance_after.available, currency) : '—'), class: 'num' },
      ],
    }),
  );
}
