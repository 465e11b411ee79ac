// @ts-check
// Audit search by entity and day, over what the API exposes: a lead's audit stream (its
// timeline, newest first), narrowed to a UTC day here, and downloadable as NDJSON. The API has
// no audit search of its own; the signed export of every stream is `brokeros audit export`
// (locally) or the nightly export in the audit bucket (AWS).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { AUDIT_COLUMNS } from '../../lib/audit.js';
import { download } from '../../lib/download.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { emptyState, table } from '../../lib/table.js';

export const title = 'Audit search';

/** Events read at most for one search (pages of 200, newest first). */
const MAX_PAGES = 10;

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const leadId = ctx.query.get('lead');
  const day = ctx.query.get('day') ?? '';
  const bar = filterBar({
    ctx,
    path: '/admin/audit',
    label: 'Search the audit trail',
    fields: [
      { name: 'lead', label: 'Lead id', placeholder: 'lead_…' },
      { name: 'day', label: 'Day (UTC)', type: 'date', hint: 'Empty: every day.' },
    ],
  });
  return h(
    'section',
    { 'data-screen': 'admin-audit' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Audit search'),
      h('p', { class: 'lead' }, 'Every change is an audit event of its entity, written with the change. The API exposes the stream of a lead (its timeline): search it by day and download what you find.')),
    bar,
    leadId
      ? await filtered(bar, async () => results(leadId, day))
      : emptyState('No entity chosen', 'Enter a lead\'s id. For every other entity, and for the signed export auditors verify, use brokeros audit export --entity KIND/ID (locally) or the nightly export in the audit bucket (AWS).'),
  );
}

/**
 * The lead's events of `day` (all without one), read page by page until the day is passed.
 * @param {string} leadId @param {string} day
 */
async function results(leadId, day) {
  /** @type {api.AuditEntry[]} */
  const found = [];
  /** @type {string | null | undefined} */
  let cursor = null;
  let pages = 0;
  do {
    const page = await api.leadTimeline(leadId, cursor, 200);
    found.push(...page.items.filter((e) => !day || e.at.slice(0, 10) === day));
    cursor = page.next;
    pages += 1;
    // Newest first: once an event is older than the day, the rest are too.
    if (day && page.items.some((e) => e.at.slice(0, 10) < day)) cursor = null;
  } while (cursor && pages < MAX_PAGES);
  const name = `audit-lead-${leadId}${day ? `-${day}` : ''}.ndjson`;
  return h(
    'div',
    null,
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'button',
          disabled: found.length === 0,
          onclick: () => download(name, found.map((e) => JSON.stringify(e)).join('\n') + '\n', 'application/x-ndjson'),
        },
        `Download ${found.length} events (NDJSON)`,
      ),
    ),
    cursor ? h('p', { class: 'notice' }, `The first ${MAX_PAGES * 200} events are shown: narrow the search to a day.`) : null,
    table({
      caption: `Audit events of ${leadId}${day ? ` on ${day}` : ''}, newest first`,
      rows: found,
      empty: day ? 'No event of this lead on that day.' : 'This lead has no event.',
      rowId: (e) => e.event_id,
      columns: AUDIT_COLUMNS,
    }),
  );
}
