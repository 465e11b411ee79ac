// @ts-check
// Contests: the published ones (clients, and anyone on the public API), and for marketing and
// admins every contest, drafts and cancelled ones too, by status.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { badge, money, when, words } from '../../lib/format.js';
import { pagedTable } from '../../lib/table.js';

export const title = 'Contests';

const STATUSES = ['draft', 'published', 'cancelled'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const manages = ctx.session.roles.some((r) => r === 'marketing' || r === 'admin');
  const status = ctx.query.get('status') ?? '';
  const bar = manages
    ? filterBar({
        ctx,
        path: '/contests',
        label: 'Filter contests',
        fields: [{ name: 'status', label: 'Status', type: 'select', options: [{ value: '', label: 'Any' }, ...STATUSES.map((s) => ({ value: s, label: words(s) }))] }],
      })
    : null;
  /** @param {string | null} cursor */
  const load = (cursor) => (manages ? api.marketingContests({ status: status || undefined, cursor }) : api.contests(cursor));
  const list = () =>
    pagedTable({
      caption: manages ? 'Every contest, newest first' : 'Contests, latest start first',
      empty: manages ? 'No contest yet: create one with New contest.' : 'No contest is open right now: come back soon.',
      load,
      rowId: (c) => c.id,
      columns: [
        { label: 'Contest', cell: (c) => [h('a', { href: `#/contests/${encodeURIComponent(c.id)}` }, c.definition.name), h('br'), h('span', { class: 'hint' }, `${words(c.definition.mode)}, ${c.definition.currency}`)] },
        { label: 'Status', cell: (c) => [badge(c.status), c.phase ? [' ', badge(c.phase)] : null] },
        { label: 'Registration', cell: (c) => `${when(c.definition.registration.from)} – ${when(c.definition.registration.until)}` },
        { label: 'Runs', cell: (c) => `${when(c.definition.period.from)} – ${when(c.definition.period.until)}` },
        { label: 'Ranked by', cell: (c) => words(c.definition.metric.kind) },
        { label: 'Prize pool', cell: (c) => (c.definition.prizes.pool ? money(c.definition.prizes.pool, c.definition.currency) : '—'), class: 'num' },
      ],
    });
  return h(
    'section',
    { 'data-screen': 'contests' },
    h('header', { class: 'screen-head' }, h('h1', null, 'Contests'), h('p', { class: 'lead' }, 'Trading contests: who ranks where, and how to take part.')),
    bar,
    bar ? await filtered(bar, list) : await list(),
  );
}
