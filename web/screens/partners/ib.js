// @ts-check
// One IB for partner managers: its standing and plans over time, referral codes and links, its
// accrual legs of a period, and standing changes (suspend, reinstate, terminate, each with a
// reason; the API says which follow which).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { form } from '../../lib/form.js';
import { badge, fact, whenMillis, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { doneNotice, goSaying } from '../../lib/notice.js';
import { currentMonth, legsTable } from '../ib/common.js';

export const title = 'IB';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const ib = await api.ib(ctx.params.id);
  const here = `/partners/ibs/${encodeURIComponent(ib.id)}`;
  const period = ctx.query.get('period') ?? currentMonth();
  const bar = filterBar({
    ctx,
    path: here,
    label: 'Accruals of a period',
    fields: [{ name: 'period', label: 'Period', placeholder: period, hint: 'monthly:2026-03, weekly:2026-W10, daily:2026-03-02' }],
  });
  const standing = form({
    id: `ib-standing-${ib.id}`,
    legend: 'Change standing',
    submit: 'Change standing',
    fields: [
      { name: 'change', label: 'Change', type: 'select', options: ['suspend', 'reinstate', 'terminate'].map((c) => ({ value: c, label: words(c) })) },
      { name: 'reason', label: 'Reason', type: 'textarea', required: true },
    ],
    onSubmit: async (values) => {
      const change = /** @type {'suspend' | 'reinstate' | 'terminate'} */ (values.change);
      const changed = await api.changeIbStanding(ib.id, change, { reason: values.reason });
      goSaying(ctx, `#${here}`, `${changed.name} is ${changed.current_standing}.`);
    },
  });
  return h(
    'section',
    { 'data-screen': 'partners-ib' },
    h('p', null, h('a', { href: '#/partners/ibs' }, '← IBs and tree')),
    h('header', { class: 'screen-head' }, h('h1', null, ib.name), h('p', { class: 'lead' }, badge(ib.current_standing), ` ${ib.id}`)),
    doneNotice(ctx),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'card' },
        h(
          'dl',
          { class: 'facts' },
          fact('Portal user', ib.user_id ?? '—'),
          fact('Payout', ib.currency),
          fact('Parent', ib.current_parent ?? 'None (master IB)'),
          fact('Sub-IBs', `${ib.invitations_issued} invited of ${ib.sub_ib_allowance} allowed`),
        ),
        table({
          caption: 'Standing over time',
          rows: ib.standing,
          empty: '',
          rowId: (s) => String(s.from_msc),
          columns: [
            { label: 'From', cell: (s) => whenMillis(s.from_msc) },
            { label: 'Standing', cell: (s) => badge(String(s.value)) },
          ],
        }),
        table({
          caption: 'Plans over time',
          rows: ib.plans,
          empty: '',
          rowId: (s) => String(s.from_msc),
          columns: [
            { label: 'From', cell: (s) => whenMillis(s.from_msc) },
            { label: 'Plans', cell: (s) => (Array.isArray(s.value) ? s.value.join(', ') : String(s.value)) },
          ],
        }),
      ),
      h('div', { class: 'card' }, standing),
    ),
    table({
      caption: 'Referral codes',
      rows: ib.referral_codes,
      empty: 'No referral code.',
      rowId: (c) => c.code,
      columns: [
        { label: 'Code', cell: (c) => h('strong', null, c.code) },
        { label: 'Campaign', cell: (c) => c.campaign },
        { label: 'Link', cell: (c) => h('span', { class: 'id' }, c.link) },
      ],
    }),
    h('h2', null, 'Accruals'),
    bar,
    await filtered(bar, async () => {
      const legs = await api.ibAccruals(ib.id, period);
      return legsTable(`Accrual legs of ${legs.period}`, legs.items, 'No leg in this period: the IB\'s clients and sub-IBs traded nothing it earns on.');
    }),
  );
}
