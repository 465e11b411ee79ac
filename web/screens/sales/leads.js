// @ts-check
// Sales' lead pipeline: the funnel of the leads the filters select (the API's counts by
// status, `GET /leads/funnel`, as a picture and as a table), and the leads themselves, newest
// first, a page at a time by the API's cursor. A sales agent sees the leads assigned to them (the API scopes the list); an admin all.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { barChart } from '../../lib/chart.js';
import { dayBounds, filterBar, filtered } from '../../lib/filter.js';
import { badge, when, words } from '../../lib/format.js';
import { pagedTable, table } from '../../lib/table.js';

export const title = 'Lead pipeline';

/** The lifecycle in order (new → contacted → qualified → converted; lost from any open one). */
export const LEAD_STATUSES = ['new', 'contacted', 'qualified', 'converted', 'lost'];

/**
 * The API's filter from the address: status, country, a day range, an assignee (admins).
 * @param {URLSearchParams} q
 * @returns {api.LeadFilter}
 */
function filterOf(q) {
  const from = q.get('from');
  const to = q.get('to');
  return {
    status: q.get('status') ?? undefined,
    country: q.get('country') ?? undefined,
    assignee: q.get('assignee') ?? undefined,
    from: from ? dayBounds(from).from : undefined,
    to: to ? dayBounds(to).to : undefined,
  };
}

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const isAdmin = ctx.session.roles.includes('admin');
  const bar = filterBar({
    ctx,
    path: '/sales/leads',
    label: 'Filter leads',
    fields: /** @type {import('../../lib/filter.js').FilterField[]} */ ([
      { name: 'status', label: 'Status', type: 'select', options: [{ value: '', label: 'Any' }, ...LEAD_STATUSES.map((s) => ({ value: s, label: words(s) }))] },
      { name: 'country', label: 'Country', placeholder: 'GB' },
      { name: 'from', label: 'Created from', type: 'date' },
      { name: 'to', label: 'Created until', type: 'date' },
      isAdmin ? { name: 'assignee', label: 'Agent', placeholder: 'sales-1' } : null,
    ].filter((f) => f !== null)),
  });
  const filter = filterOf(ctx.query);
  const content = await filtered(bar, async () => {
    const { status, ...withoutStatus } = filter;
    const counts = (await api.leadFunnel(withoutStatus)).statuses;
    const list = await pagedTable({
      caption: status ? `${words(status)} leads, newest first` : 'Leads, newest first',
      empty: isAdmin
        ? 'No lead matches these filters: change them, or wait for the landing pages to bring some.'
        : 'No lead assigned to you matches these filters: new leads are assigned to agents in turn.',
      load: (cursor) => api.leads({ ...filter, cursor: cursor ?? undefined }),
      rowId: (l) => l.id,
      columns: [
        { label: 'Lead', cell: (l) => [h('a', { href: `#/sales/leads/${encodeURIComponent(l.id)}` }, [l.first_name, l.last_name].filter(Boolean).join(' ')), h('br'), h('span', { class: 'hint' }, l.email ?? l.phone ?? '')] },
        { label: 'Status', cell: (l) => badge(l.status) },
        { label: 'Score', cell: (l) => String(l.score), class: 'num' },
        { label: 'Country', cell: (l) => l.country },
        { label: 'Source', cell: (l) => l.first_touch?.utm?.source ?? l.first_touch?.source ?? '' },
        { label: 'Agent', cell: (l) => l.assignee },
        { label: 'Open tasks', cell: (l) => String(l.open_tasks), class: 'num' },
        { label: 'Created', cell: (l) => when(l.created_at) },
      ],
    });
    return h('div', null, funnelPicture(counts), h('h2', null, 'Leads'), list);
  });
  return h(
    'section',
    { 'data-screen': 'sales-leads' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Lead pipeline'),
      h('p', { class: 'lead' }, isAdmin ? 'Every agent\'s leads.' : 'The leads assigned to you: open one to work it.')),
    bar,
    content,
  );
}

/**
 * The funnel: bars of counts by status, and the same numbers as a table for screen readers
 * and for anyone who would rather read them.
 * @param {Array<{status: string, count: number}>} counts
 */
function funnelPicture(counts) {
  const text = (/** @type {{count: number}} */ c) => String(c.count);
  return h(
    'div',
    { class: 'grid funnel' },
    h(
      'figure',
      { class: 'card' },
      h('figcaption', null, h('h2', null, 'Funnel')),
      barChart({
        title: `Leads by status: ${counts.map((c) => `${words(c.status)} ${text(c)}`).join(', ')}`,
        bars: counts.map((c) => ({ label: words(c.status), value: String(c.count), text: text(c) })),
        values: true,
      }),
    ),
    table({
      caption: 'Leads by status',
      rows: counts,
      empty: '',
      rowId: (c) => c.status,
      columns: [
        { label: 'Status', cell: (c) => words(c.status) },
        { label: 'Leads', cell: (c) => text(c), class: 'num' },
      ],
    }),
  );
}
