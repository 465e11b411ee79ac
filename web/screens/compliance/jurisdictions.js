// @ts-check
// Jurisdiction rules (KYC/AML per residence country): every version of one jurisdiction, what
// changed between two of them, and the next version (audited; it applies to new checks). The
// API lists no jurisdictions: `eu` and `row` are the embedded ones, others exist once put.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { changes, diffTable, versionPicker } from '../../lib/diff.js';
import { documentForm } from '../../lib/document-form.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { table } from '../../lib/table.js';

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
  const done = ctx.query.get('done');
  return h(
    'section',
    { 'data-screen': 'compliance-jurisdictions' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Jurisdiction rules'),
      h('p', { class: 'lead' }, 'Who may be onboarded where, with which documents, screening thresholds and risk points. A new version applies to checks from then on; every version is kept.')),
    done ? h('p', { class: 'notice', role: 'status' }, done) : null,
    bar,
    await filtered(bar, async () => {
      const { items } = await api.jurisdictionHistory(id);
      const latest = items[items.length - 1];
      const { from, to, picker } = versionPicker(ctx, '/compliance/jurisdictions', items, ['id']);
      return h(
        'div',
        null,
        table({
          caption: `${latest.name} (${id}): versions, the last in force`,
          rows: [...items].reverse(),
          empty: '',
          rowId: (v) => String(v.version),
          columns: [
            { label: 'Version', cell: (v) => `v${v.version}${v === latest ? ' (in force)' : ''}` },
            { label: 'Name', cell: (v) => v.name },
            { label: 'Countries', cell: (v) => (v.rest_of_world ? 'Rest of the world' : `${(v.countries ?? []).length} countries`) },
            { label: 'Minimum age', cell: (v) => String(v.minimum_age), class: 'num' },
          ],
        }),
        h('h2', null, 'What changed'),
        picker,
        from && to
          ? diffTable({ caption: `From v${from.version} to v${to.version}`, changes: changes(from, to), empty: 'The two versions are the same.' })
          : h('p', { class: 'hint' }, 'One version only: nothing to compare yet.'),
        h(
          'div',
          { class: 'card' },
          documentForm({
            id: `jurisdiction-${id}-v${latest.version}`,
            legend: `Edit: version ${latest.version + 1}`,
            submit: 'Put in force',
            current: latest,
            hint: 'The version in force, to change. Its version must be the one in force plus 1.',
            send: async (text) => {
              await api.putJurisdiction(text);
              ctx.go(`#/compliance/jurisdictions?id=${encodeURIComponent(id)}&done=${encodeURIComponent(`Version ${latest.version + 1} is in force.`)}`);
            },
          }),
        ),
      );
    }),
  );
}
