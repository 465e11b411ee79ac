// @ts-check
// Payment routing rules: every version (the last in force), what changed between two, and the
// next version (audited; deposits route by it from then on). Compliance reads them; finance and
// admins change them — the API refuses the others, and says so in the form.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { versionedDocument } from '../../lib/document-form.js';
import { doneNotice } from '../../lib/notice.js';
import { table } from '../../lib/table.js';

export const title = 'Payment routing';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const rules = await api.routingRules();
  const latest = rules.items[rules.items.length - 1];
  return h(
    'section',
    { 'data-screen': 'finance-routing' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Payment routing'),
      h('p', { class: 'lead' }, 'Which provider takes a deposit: providers with their methods, countries, limits and fees, and rules that prefer or pin them. Every version is kept.')),
    doneNotice(ctx),
    table({
      caption: `Providers of v${latest.version} (in force)`,
      rows: latest.providers,
      empty: 'No provider: no deposit can be routed.',
      rowId: (p) => p.id,
      columns: [
        { label: 'Provider', cell: (p) => [h('strong', null, p.id), h('br'), h('span', { class: 'hint' }, p.name)] },
        { label: 'Enabled', cell: (p) => (p.enabled ? 'Yes' : 'No') },
        { label: 'Methods', cell: (p) => p.methods.join(', ') },
        { label: 'Currencies', cell: (p) => Object.keys(p.currencies ?? {}).join(', ') },
        { label: 'Fee', cell: (p) => `${p.percent_fee}%`, class: 'num' },
        { label: 'Priority', cell: (p) => String(p.priority), class: 'num' },
      ],
    }),
    h('h2', null, 'Versions'),
    versionedDocument({
      ctx,
      hash: '#/finance/routing',
      versions: rules.items,
      caption: 'Every version, newest first',
      columns: [
        { label: 'Providers', cell: (v) => String(v.providers.length), class: 'num' },
        { label: 'Rules', cell: (v) => String((v.rules ?? []).length), class: 'num' },
        { label: 'Attempts at most', cell: (v) => String(v.max_attempts), class: 'num' },
      ],
      formId: 'routing',
      hint: 'The version in force, to change (finance and admins). Its version must be the one in force plus 1.',
      put: api.putRoutingRules,
    }),
  );
}
