// @ts-check
// Jurisdiction rules (KYC/AML per residence country): every version of one jurisdiction, what
// changed between two of them, and the next version (audited; it applies to new checks). The
// API lists no jurisdictions: `eu` and `row` are the embedded ones, others exist once put.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { versionedDocument } from '../../lib/document-form.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { doneNotice } from '../../lib/notice.js';

export const title = 'Jurisdiction rules';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const id = ctx.query.get('id') ?? 'eu';
  const bar = filterBar({
    ctx,
    path: '/compliance/jurisdictions',
    label: 'Choose a jurisdiction',
    fields: [{ name: 'id', label: 'Jurisdiction', placeholder: 'eu', hint: 'eu and row (rest of the world) come with Broker OS.' }],
  });
  return h(
    'section',
    { 'data-screen': 'compliance-jurisdictions' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Jurisdiction rules'),
      h('p', { class: 'lead' }, 'Who may be onboarded where, with which documents, screening thresholds and risk points. A new version applies to checks from then on; every version is kept.')),
    doneNotice(ctx),
    bar,
    await filtered(bar, async () => {
      const { items } = await api.jurisdictionHistory(id);
      return h(
        'div',
        null,
        versionedDocument({
          ctx,
          hash: `#/compliance/jurisdictions?id=${encodeURIComponent(id)}`,
          keep: ['id'],
          versions: items,
          caption: `${items[items.length - 1].name} (${id}): versions, the last in force`,
          columns: [
            { label: 'Name', cell: (v) => v.name },
            { label: 'Countries', cell: (v) => (v.rest_of_world ? 'Rest of the world' : `${(v.countries ?? []).length} countries`) },
            { label: 'Minimum age', cell: (v) => String(v.minimum_age), class: 'num' },
          ],
          formId: `jurisdiction-${id}`,
          hint: 'The version in force, to change. Its version must be the one in force plus 1.',
          put: api.putJurisdiction,
        }),
      );
    }),
  );
}
