// @ts-check
// Deposits per UTC day by provider over a period (GET /payments/deposits/daily: counts and
// amounts per currency and status, counted by the API), and a client's deposits with their
// attempts (the provider each was routed to and why, what the provider answered) and their
// funding of the trading account.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { stackedBarChart } from '../../lib/chart.js';
import { filterBar, filtered, periodFilter } from '../../lib/filter.js';
import { badge, money, when, words } from '../../lib/format.js';
import { emptyState, table } from '../../lib/table.js';

export const title = 'Deposits';

/** Days the picture covers unless the address says otherwise: the last two weeks. */
const DEFAULT_DAYS = 14;

const NO_PROVIDER = 'no provider';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const clientId = ctx.query.get('client');
  const { period, fields } = periodFilter(ctx, DEFAULT_DAYS, 93);
  const bar = filterBar({
    ctx,
    path: '/finance/deposits',
    label: 'Choose a period and a client',
    fields: [
      ...fields,
      { name: 'client', label: 'Client id', placeholder: 'client_…', hint: 'From the withdrawal queue, a lead\'s conversion or the client\'s own profile.' },
    ],
  });
  return h(
    'section',
    { 'data-screen': 'finance-deposits' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Deposits'),
      h('p', { class: 'lead' }, 'Deposits per day by provider, and a client\'s deposits, newest first, with each attempt: the provider routing chose and why, and what the provider answered.')),
    bar,
    await filtered(bar, async () => {
      const [report, deposits] = await Promise.all([api.depositsPerDay(period), clientId ? api.deposits(clientId) : null]);
      return h(
        'div',
        null,
        perDay(report),
        h('h2', null, 'A client\'s deposits'),
        deposits ? depositsOf(deposits.items) : emptyState('No client chosen', 'Enter a client\'s id to see their deposits.'),
      );
    }),
  );
}

/** @param {api.Deposit[]} deposits */
function depositsOf(deposits) {
  return table({
    caption: 'Deposits, newest first (the newest 50)',
    rows: deposits,
    empty: 'This client has made no deposit yet.',
    rowId: (d) => d.id,
    columns: [
      { label: 'Deposit', cell: (d) => [h('strong', { class: 'id' }, d.id), h('br'), h('span', { class: 'hint' }, when(d.created_at))] },
      { label: 'Amount', cell: (d) => money(d.amount.amount, d.amount.currency), class: 'num' },
      { label: 'Method', cell: (d) => words(d.method) },
      { label: 'Status', cell: (d) => [badge(d.status), d.declined_because ? h('p', { class: 'hint' }, d.declined_because) : null] },
      {
        label: 'Attempts',
        cell: (d) =>
          d.attempts.length
            ? h(
                'ol',
                { class: 'attempts' },
                d.attempts.map((a) =>
                  h('li', null, h('strong', null, a.provider), ': ', a.result ? badge(a.result.result) : badge('waiting'), a.result && 'reason' in a.result ? ` ${a.result.reason}` : '', h('p', { class: 'hint' }, a.reason)),
                ),
              )
            : 'None',
      },
      { label: 'Funding', cell: (d) => (d.funding ? [badge(d.funding.status), 'login' in d.funding ? ` account ${d.funding.login}` : '', 'reason' in d.funding ? h('p', { class: 'hint' }, d.funding.reason) : null] : '—') },
    ],
  });
}

/**
 * Deposits per day (UTC) by provider: a bar per day stacked by provider (counts), and the
 * API's rows with their amounts in a table.
 * @param {{from: string, to: string, items: api.DepositDayRow[]}} report
 */
function perDay(report) {
  const caption = `Deposits per day by provider, ${report.from} to ${report.to} (UTC)`;
  const rows = report.items;
  const providerOf = (/** @type {api.DepositDayRow} */ row) => row.provider ?? NO_PROVIDER;
  const days = [...new Set(rows.map((r) => r.day))].sort();
  const providers = [...new Set(rows.map(providerOf))].sort();
  const count = (/** @type {string} */ provider, /** @type {string} */ day) =>
    rows.filter((r) => r.day === day && providerOf(r) === provider).reduce((sum, r) => sum + r.count, 0);
  return h(
    'div',
    { 'data-testid': 'deposits-per-day' },
    h('h2', null, 'Deposits per day by provider'),
    rows.length
      ? h(
          'figure',
          { class: 'card' },
          stackedBarChart({
            title: `Deposits per day by provider: ${days.map((day) => `${day}: ${providers.map((p) => `${p} ${count(p, day)}`).join(', ')}`).join('; ')}`,
            categories: days.map((day) => day.slice(5)),
            series: providers.map((p) => ({ name: p, values: days.map((day) => count(p, day)) })),
          }),
        )
      : null,
    table({
      caption,
      rows,
      empty: 'No deposit in this period: choose other days.',
      rowId: (r) => `${r.day}|${providerOf(r)}|${r.status}|${r.currency}`,
      columns: [
        { label: 'Day', cell: (r) => r.day },
        { label: 'Provider', cell: (r) => providerOf(r) },
        { label: 'Status', cell: (r) => badge(r.status) },
        { label: 'Deposits', cell: (r) => String(r.count), class: 'num' },
        { label: 'Amount', cell: (r) => money(r.amount, r.currency), class: 'num' },
      ],
    }),
  );
}
