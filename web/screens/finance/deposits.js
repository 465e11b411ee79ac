// @ts-check
// A client's deposits with their attempts (the provider each was routed to and why, what the
// provider answered), their funding of the trading account, and a picture of deposits per day
// by provider. The API has no deposits-by-day endpoint and lists a client's newest 50 deposits:
// the picture is counted here from that list (days in UTC).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { stackedBarChart } from '../../lib/chart.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { badge, money, when, words } from '../../lib/format.js';
import { emptyState, table } from '../../lib/table.js';

export const title = 'Deposits';

/** The provider a deposit went to: its last attempt's, or none (declined before any). */
const providerOf = (/** @type {api.Deposit} */ d) => d.attempts[d.attempts.length - 1]?.provider ?? 'no provider';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const clientId = ctx.query.get('client');
  const bar = filterBar({
    ctx,
    path: '/finance/deposits',
    label: 'Choose a client',
    fields: [{ name: 'client', label: 'Client id', placeholder: 'client_…', hint: 'From the withdrawal queue, a lead\'s conversion or the client\'s own profile.' }],
  });
  return h(
    'section',
    { 'data-screen': 'finance-deposits' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Deposits'),
      h('p', { class: 'lead' }, 'A client\'s deposits, newest first, with each attempt: the provider routing chose and why, and what the provider answered.')),
    bar,
    clientId
      ? await filtered(bar, async () => depositsOf((await api.deposits(clientId)).items))
      : emptyState('No client chosen', 'Enter a client\'s id to see their deposits.'),
  );
}

/** @param {api.Deposit[]} deposits */
function depositsOf(deposits) {
  return h(
    'div',
    null,
    perDay(deposits),
    h('h2', null, 'Deposits'),
    table({
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
                    h('li', null, h('strong', null, a.provider), ': ', a.result ? badge(a.result.result) : badge('waiting'), a.result?.reason ? ` ${a.result.reason}` : '', h('p', { class: 'hint' }, a.reason)),
                  ),
                )
              : 'None',
        },
        { label: 'Funding', cell: (d) => (d.funding ? [badge(d.funding.status), d.funding.login ? ` account ${d.funding.login}` : '', d.funding.reason ? h('p', { class: 'hint' }, d.funding.reason) : null] : '—') },
      ],
    }),
  );
}

/**
 * Deposits per day (UTC) by provider: a bar per day of the listed deposits, stacked by
 * provider, and the counts in a table.
 * @param {api.Deposit[]} deposits
 */
function perDay(deposits) {
  if (deposits.length === 0) return null;
  const days = [...new Set(deposits.map((d) => d.created_at.slice(0, 10)))].sort();
  const providers = [...new Set(deposits.map(providerOf))].sort();
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const d of deposits) {
    const key = `${providerOf(d)}|${d.created_at.slice(0, 10)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const count = (/** @type {string} */ p, /** @type {string} */ day) => counts.get(`${p}|${day}`) ?? 0;
  return h(
    'div',
    null,
    h('h2', null, 'Deposits per day by provider'),
    h('p', { class: 'hint' }, 'Counted in this screen from the deposits listed below (the API has no per-day figures); days in UTC.'),
    h(
      'figure',
      { class: 'card' },
      stackedBarChart({
        title: `Deposits per day by provider: ${days.map((day) => `${day}: ${providers.map((p) => `${p} ${count(p, day)}`).join(', ')}`).join('; ')}`,
        categories: days.map((day) => day.slice(5)),
        series: providers.map((p) => ({ name: p, values: days.map((day) => count(p, day)) })),
      }),
    ),
    table({
      caption: 'Deposits per day by provider',
      rows: days,
      empty: '',
      rowId: (day) => day,
      columns: [{ label: 'Day', cell: (day) => day }, ...providers.map((p) => ({ label: p, cell: (/** @type {string} */ day) => String(count(p, day)), class: 'num' }))],
    }),
  );
}
