// @ts-check
// The IB portal's statements: one per paid period, with what was accrued, carried and paid, and
// each downloadable as CSV (read with the session's token, saved as a file).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { download } from '../../lib/download.js';
import { badge, money, whenMillis, words } from '../../lib/format.js';
import { pagedTable } from '../../lib/table.js';

export const title = 'Statements';

/** @param {import('../../routes.js').ScreenContext} _ctx */
export async function render(_ctx) {
  return h(
    'section',
    { 'data-screen': 'ib-statements' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Statements'),
      h('p', { class: 'lead' }, 'A statement per closed period: what you earned, what was carried from or to other periods, and what was paid to your wallet.')),
    await pagedTable({
      caption: 'Your statements, newest first',
      empty: 'No statement yet: one is built when a period you earned in is paid out.',
      load: (cursor) => api.myStatements(cursor),
      rowId: (s) => s.id,
      columns: [
        { label: 'Period', cell: (s) => `${words(s.lines.period.kind)} from ${whenMillis(s.lines.period.start_msc)}` },
        { label: 'Accrued', cell: (s) => money(String(s.lines.accrued), s.lines.currency), class: 'num' },
        { label: 'Carried in', cell: (s) => money(String(s.lines.carried_in), s.lines.currency), class: 'num' },
        { label: 'Paid', cell: (s) => money(String(s.lines.paid), s.lines.currency), class: 'num' },
        { label: 'Carried out', cell: (s) => money(String(s.lines.carried_out), s.lines.currency), class: 'num' },
        { label: 'Status', cell: (s) => badge(s.status) },
        { label: 'CSV', cell: (s) => csvButton(s) },
      ],
    }),
  );
}

/** @param {api.IbStatement} statement */
function csvButton(statement) {
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'button', class: 'button' }, 'Download');
  button.addEventListener('click', async () => {
    error.hidden = true;
    try {
      download(`statement-${statement.id}.csv`, await api.myStatementCsv(statement.id), 'text/csv');
    } catch (failure) {
      error.textContent = failure instanceof Error ? failure.message : String(failure);
      error.hidden = false;
    }
  });
  return h('div', null, button, error);
}
