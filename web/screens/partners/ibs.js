// @ts-check
// Partner managers' IBs: the tree (master IBs and their sub-IBs at any depth, with standing)
// and the list of IBs with their codes and portal users; each opens to its details.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { badge, when } from '../../lib/format.js';
import { emptyState, pagedTable } from '../../lib/table.js';
import { treeList } from '../ib/common.js';

export const title = 'IBs and tree';

/** @param {string} id */
const ibLink = (id) => `#/partners/ibs/${encodeURIComponent(id)}`;

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const tree = await api.ibTree();
  return h(
    'section',
    { 'data-screen': 'partners-ibs' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'IBs and tree'),
      h('p', { class: 'lead' }, 'Who sits under whom now (moves are effective-dated: the details show each IB\'s history).')),
    h('h2', null, 'Tree'),
    tree.items.length ? h('div', { class: 'card' }, treeList(tree.items, null, ibLink)) : emptyState('No IB yet', 'Approve an application to make the first IB.'),
    h('h2', null, 'IBs'),
    await pagedTable({
      caption: 'IBs',
      empty: 'No IB yet.',
      load: (cursor) => api.ibs(cursor),
      rowId: (ib) => ib.id,
      columns: [
        { label: 'IB', cell: (ib) => [h('a', { href: ibLink(ib.id) }, ib.name), h('br'), h('span', { class: 'hint id' }, ib.id)] },
        { label: 'Standing', cell: (ib) => badge(ib.current_standing) },
        { label: 'Parent', cell: (ib) => ib.current_parent ?? 'None (master)' },
        { label: 'Portal user', cell: (ib) => ib.user_id ?? '—' },
        { label: 'Codes', cell: (ib) => ib.referral_codes.map((c) => c.code).join(', ') || '—' },
        { label: 'Since', cell: (ib) => when(ib.created_at) },
      ],
    }),
  );
}
