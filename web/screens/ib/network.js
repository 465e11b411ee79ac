// @ts-check
// The IB portal's network: sub-IBs at any depth as a tree, and the referred clients of the IB
// or of one of its sub-IBs (contact data masked by the API).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { badge, when, words } from '../../lib/format.js';
import { emptyState, table } from '../../lib/table.js';
import { treeList } from './common.js';

export const title = 'Sub-IBs and clients';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const of = ctx.query.get('ib');
  const [subIbs, clients] = await Promise.all([api.mySubIbs(), api.myIbClients(of)]);
  const own = of ? null : clients.ib_id;
  const root = own ?? subIbs.items.find((s) => s.level === 1)?.parent ?? null;
  const whose = of ? (subIbs.items.find((s) => s.id === of)?.name ?? of) : 'you';
  return h(
    'section',
    { 'data-screen': 'ib-network' },
    h('header', { class: 'screen-head' }, h('h1', null, 'Sub-IBs and clients')),
    h('h2', null, 'Sub-IBs'),
    subIbs.items.length
      ? h('div', { class: 'card' }, treeList(subIbs.items, root, (id) => `#/ib/network?ib=${encodeURIComponent(id)}`))
      : emptyState('No sub-IB yet', 'Invite partners under you: each invitation counts against your allowance.'),
    h('h2', null, of ? `Clients of ${whose}` : 'Your clients'),
    of ? h('p', null, h('a', { href: '#/ib/network' }, '← Your own clients')) : null,
    table({
      caption: `Clients referred by ${whose} (contact data masked)`,
      rows: clients.items,
      empty: 'No referred client yet: share your referral links.',
      rowId: (c) => c.client_id,
      columns: [
        { label: 'Client', cell: (c) => [[c.first_name, c.last_name_initial && `${c.last_name_initial}.`].filter(Boolean).join(' ') || c.client_id, h('br'), h('span', { class: 'hint id' }, c.client_id)] },
        { label: 'Contact', cell: (c) => [c.email ?? '', c.phone ? [h('br'), c.phone] : null] },
        { label: 'Country', cell: (c) => c.country ?? '' },
        { label: 'Status', cell: (c) => (c.status ? badge(c.status) : '') },
        { label: 'KYC', cell: (c) => (c.kyc_status ? badge(c.kyc_status) : '') },
        { label: 'Since', cell: (c) => when(c.registered_at) },
        { label: 'Attributed by', cell: (c) => (c.attributed_by ? words(String(c.attributed_by)) : '') },
      ],
    }),
  );
}
