// @ts-check
// Reconciliation: a provider's settlement report (CSV) uploaded and matched against the ledger
// (`POST /recon/{provider}`), then the run — counts by kind, totals per currency, and every
// mismatch with why. A run is in the address (`?run=…`), so it reloads and can be shared.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { form } from '../../lib/form.js';
import { badge, fact, money, when, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';

export const title = 'Reconciliation';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const rules = await api.routingRules();
  const providers = rules.items[rules.items.length - 1]?.providers ?? [];
  const runId = ctx.query.get('run');
  const upload = form({
    id: 'recon-upload',
    legend: 'Upload a settlement report',
    submit: 'Reconcile',
    fields: [
      { name: 'provider', label: 'Provider', required: true, hint: `The report's provider: ${providers.map((p) => p.id).join(', ')}.` },
      { name: 'report', label: 'Report (CSV)', type: 'file', noDraft: true, hint: 'Header: provider_reference,provider_transaction_id,type,amount,currency,fee,settled_at' },
    ],
    onSubmit: async (values) => {
      const file = /** @type {HTMLInputElement} */ (upload.querySelector('input[type=file]')).files?.[0];
      const reconciled = await api.reconcile(values.provider, file ? await file.text() : '');
      ctx.go(`#/finance/recon?run=${encodeURIComponent(reconciled.run.id)}`);
    },
  });
  upload.querySelector('input[type=file]')?.setAttribute('accept', '.csv,text/csv');
  const provider = /** @type {HTMLInputElement} */ (upload.querySelector('[name=provider]'));
  provider.setAttribute('list', 'recon-providers');
  const bar = filterBar({ ctx, path: '/finance/recon', label: 'Open a run', fields: [{ name: 'run', label: 'Run id', placeholder: 'recon_…' }] });
  return h(
    'section',
    { 'data-screen': 'finance-recon' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Reconciliation'),
      h('p', { class: 'lead' }, 'Match a provider\'s settlement report against the ledger: what the provider settled that the ledger lacks, what the ledger moved that the report lacks, and amounts, currencies or fees that differ.')),
    h('datalist', { id: 'recon-providers' }, providers.map((p) => h('option', { value: p.id }, p.name))),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, upload), h('div', { class: 'card' }, h('h2', null, 'A run'), bar)),
    runId ? await filtered(bar, async () => runView(await api.reconRun(runId))) : h('p', { class: 'hint' }, 'Upload a report, or open a run by its id.'),
  );
}

/** @param {{run: api.ReconRun, items: api.ReconItem[]}} result */
function runView({ run, items }) {
  const mismatches = items.filter((i) => i.kind !== 'matched');
  return h(
    'div',
    { 'data-testid': 'recon-run' },
    h('h2', null, `Run ${run.id}`),
    h(
      'dl',
      { class: 'facts' },
      fact('Result', run.all_matched ? badge('matched') : h('span', { class: 'badge badge-bad' }, 'Mismatches')),
      fact('Provider', run.provider),
      fact('Report', `${run.rows} rows settled ${when(run.period_from)} – ${when(run.period_to)}`),
      fact('Uploaded', `${run.created_by}, ${when(run.created_at)}`),
      fact('SHA-256', h('span', { class: 'id' }, run.report_sha256)),
    ),
    h(
      'div',
      { class: 'grid' },
      table({
        caption: 'Items by kind',
        rows: Object.entries(run.counts).filter(([, n]) => n > 0),
        empty: 'The report had no row and the ledger no movement in its period.',
        rowId: ([kind]) => kind,
        columns: [
          { label: 'Kind', cell: ([kind]) => words(kind) },
          { label: 'Items', cell: ([, n]) => String(n), class: 'num' },
        ],
      }),
      table({
        caption: 'Totals per currency',
        rows: Object.entries(run.totals),
        empty: 'No amount.',
        rowId: ([currency]) => currency,
        columns: [
          { label: 'Currency', cell: ([currency]) => currency },
          { label: 'Report', cell: ([c, t]) => money(t.report_amount, c), class: 'num' },
          { label: 'Ledger', cell: ([c, t]) => money(t.ledger_amount, c), class: 'num' },
          { label: 'Difference', cell: ([c, t]) => money(t.difference, c), class: 'num' },
        ],
      }),
    ),
    h('h2', null, 'Mismatches'),
    table({
      caption: `${mismatches.length} mismatches`,
      rows: mismatches,
      empty: 'Every row matched the ledger.',
      rowId: (i) => `${i.kind}:${i.reference}:${i.line ?? ''}`,
      columns: [
        { label: 'Kind', cell: (i) => h('span', { class: 'badge badge-bad' }, words(i.kind)) },
        { label: 'Reference', cell: (i) => [h('span', { class: 'id' }, i.reference), i.line ? h('span', { class: 'hint' }, ` (line ${i.line})`) : null] },
        { label: 'Report', cell: (i) => (i.report_amount ? money(i.report_amount, i.currency) : '—'), class: 'num' },
        { label: 'Ledger', cell: (i) => (i.ledger_amount ? money(i.ledger_amount, i.currency) : '—'), class: 'num' },
        { label: 'Why', cell: (i) => i.detail },
      ],
    }),
  );
}
