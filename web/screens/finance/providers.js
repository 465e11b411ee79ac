// @ts-check
// Payment providers' health as ops set it by hand (an incident, a maintenance window): routing
// skips a provider that is down. The API answers what was set but has no read of the current
// health: it shows in each deposit's attempts ("health up" in the routing reason), and the last
// change made here is said after it.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { when, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { doneNotice, goSaying } from '../../lib/notice.js';

export const title = 'Provider health';

const HEALTH = ['up', 'degraded', 'down'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const rules = await api.routingRules();
  const latest = rules.items[rules.items.length - 1];
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
          { name: 'provider', label: 'Provider', type: 'select', options: latest.providers.map((p) => ({ value: p.id, label: `${p.id} (${p.methods.join(', ')})` })) },
          { name: 'health', label: 'Health', type: 'select', options: HEALTH.map((v) => ({ value: v, label: words(v) })) },
          { name: 'note', label: 'Why', hint: 'An incident or a ticket: kept in the audit trail.' },
        ],
        onSubmit: async (values) => {
          const record = await api.setProviderHealth(values.provider, { health: values.health, note: values.note });
          goSaying(ctx, '#/finance/providers', `${record.provider_id} is ${record.health} since ${when(record.since)} (${record.note || 'no note'}).`);
        },
      }),
    ),
    table({
      caption: `Providers of the routing rules in force (v${latest.version})`,
      rows: latest.providers,
      empty: 'No provider in the routing rules.',
      rowId: (p) => p.id,
      columns: [
        { label: 'Provider', cell: (p) => [h('strong', null, p.id), h('br'), h('span', { class: 'hint' }, p.name)] },
        { label: 'Methods', cell: (p) => p.methods.join(', ') },
        { label: 'Enabled in the rules', cell: (p) => (p.enabled ? 'Yes' : 'No') },
      ],
    }),
    h('p', { class: 'hint' }, 'The API has no read of the current health: each deposit\'s attempt says what routing saw ("health up"), under Finance → Deposits.'),
  );
}
