// @ts-check
// Compliance's review queue: the onboardings the KYC checks could not decide, by status (pending
// first come, first reviewed; the API pages it oldest first).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { badge, when, words } from '../../lib/format.js';
import { pagedTable } from '../../lib/table.js';
import { doneNotice } from '../../lib/notice.js';

export const title = 'Review queue';

const STATUSES = ['pending', 'approved', 'rejected', 'escalated', 'expired', 'cancelled'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const status = ctx.query.get('status') ?? 'pending';
  const bar = filterBar({
    ctx,
    path: '/compliance/reviews',
    label: 'Filter reviews',
    fields: [{ name: 'status', label: 'Status', type: 'select', options: STATUSES.map((s) => ({ value: s, label: words(s) })) }],
  });
  return h(
    'section',
    { 'data-screen': 'compliance-reviews' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Review queue'),
      h('p', { class: 'lead' }, 'Onboardings the automatic checks could not decide. Compliance officers decide them; an escalated review (its deadline passed) also an admin.')),
    doneNotice(ctx),
    bar,
    await filtered(bar, () =>
      pagedTable({
        caption: `${words(status)} reviews, oldest first`,
        empty: status === 'pending' ? 'Nothing waits for a decision.' : `No ${status} review.`,
        load: (cursor) => api.reviewQueue({ status, cursor }),
        rowId: (r) => r.id,
        columns: [
          { label: 'Review', cell: (r) => h('a', { class: 'id', href: `#/compliance/reviews/${encodeURIComponent(r.id)}` }, r.id) },
          { label: 'Client', cell: (r) => h('span', { class: 'id' }, r.client_id) },
          { label: 'Level', cell: (r) => words(r.level) },
          { label: 'Status', cell: (r) => badge(r.status) },
          { label: 'Waiting since', cell: (r) => when(r.created_at) },
          { label: 'Decided', cell: (r) => (r.decided_by ? `${r.decided_by}, ${when(r.decided_at)}` : '—') },
        ],
      }),
    ),
  );
}
