// @ts-check
// Payment providers' health (who set it, when, why) and the statistics routing ranks them by
// (GET /payments/providers), and setting it by hand for an incident or a maintenance window:
// routing skips a provider that is down.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { badge, money, when, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { doneNotice, goSaying } from '../../lib/notice.js';

export const title = 'Provider health';

const HEALTH = ['up', 'degraded', 'down'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const overview = await api.providers();
  return h(
    'section',
    { 'data-screen': 'finance-providers' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Provider health'),
      h('p', { class: 'lead' }, 'Set a provider down for an incident or a maintenance, and up again after: routing reads it for every new deposit. The outage detector also sets it from failure rates.')),
    doneNotice(ctx),
    h(
      'div',
      { class: 'card narrow' },
      form({
        id: 'provider-health',
        legend: 'Set a provider\'s health',
        submit: 'Set health',
        fields: [
          { name: 'provider', label: 'Provider', type: 'select', options: overview.items.map((p) => ({ value: p.id, label: `${p.id} (${p.methods.join(', ')})` })) },
          { name: 'health', label: 'Health', type: 'select', options: HEALTH.map((v) => ({ value: v, label: words(v) })) },
          { name: 'note', label: 'Why', hint: 'An incident or a ticket: kept in the audit trail.' },
        ],
        onSubmit: async (values) => {
          const record = await api.setProviderHealth(values.provider, { health: /** @type {api.Body<'set_provider_health'>['health']} */ (values.health), note: values.note });
          goSaying(ctx, '#/finance/providers', `${record.provider_id} is ${record.health} since ${when(record.since)} (${record.note || 'no note'}).`);
        },
      }),
    ),
    table({
      caption: `Providers of the routing rules in force (v${overview.rules_version}) as of ${when(overview.as_of)}`,
      rows: overview.items,
      empty: 'No provider in the routing rules.',
      rowId: (p) => p.id,
      columns: [
        { label: 'Provider', cell: (p) => [h('strong', null, p.id), h('br'), h('span', { class: 'hint' }, p.name)] },
        { label: 'Methods', cell: (p) => p.methods.map(words).join(', ') },
        { label: 'Enabled in the rules', cell: (p) => (p.enabled ? 'Yes' : 'No') },
        { label: 'Health', cell: (p) => [badge(p.health), h('p', { class: 'hint' }, healthSet(p.health_set))] },
        {
          label: `Attempts (last ${overview.window_hours} h)`,
          cell: (p) => `${p.recent.succeeded} succeeded, ${p.recent.declined} declined, ${p.recent.failed} failed`,
        },
        {
          label: 'Volume today (UTC)',
          cell: (p) => {
            const volumes = Object.entries(p.volume_today);
            return volumes.length ? volumes.map(([currency, value]) => h('div', null, money(value, currency))) : 'None';
          },
          class: 'num',
        },
      ],
    }),
  );
}

/** @param {api.ProviderHealthRecord | null | undefined} record */
function healthSet(record) {
  if (!record) return 'Never set: up.';
  const by = record.set_by ? ` by ${record.set_by}` : '';
  return `Set${by} (${words(record.source)}) ${when(record.since)}: ${record.note}`;
}
