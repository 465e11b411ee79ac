// @ts-check
// The IB portal's home: how many clients and sub-IBs, earnings per period (accrued by kind, what
// was paid, the statement once built) as a bar chart and a table, referral links, and the legs
// of a period with their explanations.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { barChart } from '../../lib/chart.js';
import { filterBar, filtered, refused } from '../../lib/filter.js';
import { amount, badge, fact, money } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { legsTable } from './common.js';

export const title = 'Earnings';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const periods = ctx.query.get('periods') ?? '6';
  const bar = filterBar({
    ctx,
    path: '/ib',
    label: 'Periods and legs',
    fields: [
      { name: 'periods', label: 'Periods shown', placeholder: '6', hint: '1 to 31, the current one included.' },
      { name: 'period', label: 'Legs of period', placeholder: 'monthly:2026-03' },
    ],
  });
  const links = await api.myReferralLinks();
  let me;
  try {
    me = await api.ibMe(periods);
  } catch (failure) {
    // A refused number of periods shows next to its filter, and the default periods below it.
    if (!refused(bar, failure)) throw failure;
    me = await api.ibMe('6');
  }
  const earnings = me.dashboard.earnings;
  const earned = /** @type {api.EarningsPeriod[]} */ (earnings.periods);
  const oldestFirst = [...earned].reverse();
  const currency = earnings.currency;
  const legsOf = ctx.query.get('period') ?? earned[0]?.period;
  const d = me.dashboard;
  return h(
    'section',
    { 'data-screen': 'ib-home' },
    h('header', { class: 'screen-head' }, h('h1', null, me.name), h('p', { class: 'lead' }, badge(me.current_standing), ` Paid in ${currency}, ${earnings.period_kind} statements.`)),
    h(
      'dl',
      { class: 'facts' },
      fact('Your clients', String(d.direct_clients)),
      fact('Clients of your network', String(d.subtree_clients)),
      fact('Sub-IBs', `${d.direct_sub_ibs} direct, ${d.sub_ibs} in all`),
    ),
    bar,
    h('h2', null, 'Earnings per period'),
    h(
      'figure',
      { class: 'card' },
      h('figcaption', { class: 'hint' }, `Accrued per period, ${currency}`),
      barChart({
        title: `Accrued per period in ${currency}: ${oldestFirst.map((p) => `${label(p.period)} ${p.accrued.total}`).join(', ')}`,
        bars: oldestFirst.map((p) => ({ label: label(p.period), value: p.accrued.total, text: amount(p.accrued.total) })),
        values: true,
      }),
    ),
    table({
      caption: 'Earnings per period, newest first',
      rows: earned,
      empty: 'No period yet.',
      rowId: (p) => p.period,
      columns: [
        { label: 'Period', cell: (p) => h('a', { href: `#/ib?period=${encodeURIComponent(p.period)}` }, label(p.period)) },
        { label: 'Commission', cell: (p) => money(p.accrued.commission, currency), class: 'num' },
        { label: 'CPA', cell: (p) => money(p.accrued.cpa, currency), class: 'num' },
        { label: 'Revenue share', cell: (p) => money(p.accrued.revenue_share, currency), class: 'num' },
        { label: 'Accrued', cell: (p) => h('strong', null, money(p.accrued.total, currency)), class: 'num' },
        { label: 'Paid', cell: (p) => money(p.paid, currency), class: 'num' },
        { label: 'Statement', cell: (p) => (p.statement ? badge(String(p.statement.status ?? 'built')) : 'Not built yet') },
      ],
    }),
    h('h2', null, 'Referral links'),
    table({
      caption: 'Your referral links',
      rows: links.items,
      empty: 'No referral link yet: your partner manager adds them.',
      rowId: (l) => l.code,
      columns: [
        { label: 'Code', cell: (l) => h('strong', null, l.code) },
        { label: 'Campaign', cell: (l) => l.campaign },
        { label: 'Link', cell: (l) => h('span', { class: 'id' }, l.link) },
      ],
    }),
    legsOf
      ? [
          h('h2', null, `Legs of ${label(legsOf)}`),
          await filtered(bar, async () => {
            const legs = await api.myAccruals(legsOf);
            return legsTable(`What you earned on in ${label(legsOf)}`, legs.items, 'Nothing in this period yet: legs appear as your clients\' deals close.');
          }),
        ]
      : null,
  );
}

/** `monthly:2026-12` → `2026-12`. @param {string} period */
function label(period) {
  return period.split(':').pop() ?? period;
}
