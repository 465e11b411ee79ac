// @ts-check
// Audit search by entity and day (`GET /audit/events`): an entity's stream of any audited type,
// oldest first, or a UTC day's events in time order (optionally of one type or one actor), page
// by page; and the signed download of what was searched (`GET /audit/export`: the entity's whole
// stream, or the day), a JSON file that `brokeros audit verify FILE.json --public-key KEY` checks.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { AUDIT_COLUMNS, ENTITY_TYPES } from '../../lib/audit.js';
import { download } from '../../lib/download.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { emptyState, pagedTable } from '../../lib/table.js';

export const title = 'Audit search';

/** @param {string} value @returns {value is api.AuditedEntityType} */
const isEntityType = (value) => Object.hasOwn(ENTITY_TYPES, value);

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const read = (/** @type {string} */ name) => ctx.query.get(name) ?? '';
  const type = read('entity_type');
  /** @type {api.AuditSearch} */
  const search = {
    // An unknown type goes to the API as typed: its refusal shows next to the field.
    entity_type: /** @type {api.AuditedEntityType} */ (type || undefined),
    entity_id: read('entity_id') || undefined,
    day: read('day') || undefined,
    actor_id: read('actor_id') || undefined,
  };
  const bar = filterBar({
    ctx,
    path: '/admin/audit',
    label: 'Search the audit trail',
    fields: [
      {
        name: 'entity_type',
        label: 'Entity type',
        type: 'select',
        options: [{ value: '', label: 'Any (with a day)' }, ...Object.entries(ENTITY_TYPES).map(([value, label]) => ({ value, label }))],
      },
      { name: 'entity_id', label: 'Entity id', placeholder: 'client_…', hint: 'With its type: the entity\'s whole stream.' },
      { name: 'day', label: 'Day (UTC)', type: 'date', hint: 'Alone: every event of the day.' },
      { name: 'actor_id', label: 'Actor', placeholder: 'admin-1', hint: 'Only this user\'s or process\'s events.' },
    ],
  });
  const asked = Boolean(search.entity_id || search.day || search.entity_type);
  return h(
    'section',
    { 'data-screen': 'admin-audit' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Audit search'),
      h('p', { class: 'lead' }, 'Every change is an audit event of its entity, written with the change and chained to the one before. Search an entity\'s stream or a day, and download it signed: auditors check the file with brokeros audit verify and the audit key.')),
    bar,
    asked
      ? await filtered(bar, async () => results(search))
      : emptyState('Nothing searched yet', 'Choose an entity type and enter its id, or choose a day.'),
  );
}

/** @param {api.AuditSearch} search */
async function results(search) {
  const entity = search.entity_type && search.entity_id ? `${ENTITY_TYPES[search.entity_type] ?? search.entity_type} ${search.entity_id}` : null;
  const caption = [
    entity ? `Audit events of ${entity}` : `Audit events${search.entity_type && isEntityType(search.entity_type) ? ` of ${ENTITY_TYPES[search.entity_type].toLowerCase()}s` : ''}`,
    search.day ? `on ${search.day}` : '',
    search.actor_id ? `by ${search.actor_id}` : '',
  ].filter(Boolean).join(' ') + ', oldest first';
  const list = await pagedTable({
    caption,
    empty: entity ? 'This entity has no audit event (check its type and id).' : 'No audit event matches.',
    rowId: (e) => e.id,
    columns: [
      ...(entity ? [] : [{ label: 'Entity', cell: (/** @type {api.AuditEvent} */ e) => `${e.entity_type} ${e.entity_id}` }]),
      ...AUDIT_COLUMNS,
    ],
    load: (cursor) => api.auditEvents({ ...search, cursor: cursor ?? undefined, limit: 50 }),
  });
  return h('div', null, exportButton(search), list);
}

/**
 * The signed download of the searched entity's whole stream or of the searched day.
 * @param {api.AuditSearch} search
 */
function exportButton(search) {
  /** @type {api.AuditSelection} */
  const selection = search.entity_type && search.entity_id
    ? { entity_type: search.entity_type, entity_id: search.entity_id }
    : { from: search.day, to: search.day };
  const what = 'entity_id' in selection ? 'the entity\'s whole stream' : `every event of ${search.day}`;
  const status = h('p', { class: 'hint', role: 'status' });
  const button = h('button', { type: 'button', class: 'button' }, 'Download signed export');
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Preparing the signed export…';
    try {
      const text = await api.auditExport(selection);
      const name = 'entity_id' in selection ? `${selection.entity_type}-${selection.entity_id}` : `${selection.from}-${selection.to}`;
      download(`audit-${name}.json`, text, 'application/json');
      status.textContent = `Downloaded ${what}, signed. Check it with: brokeros audit verify audit-${name}.json --public-key audit-key.pem`;
    } catch (failure) {
      if (!(failure instanceof api.ApiError)) throw failure;
      status.textContent = failure.message;
    } finally {
      button.disabled = false;
    }
  });
  return h('div', { class: 'actions' }, button, h('span', { class: 'hint' }, `Signed: ${what}.`), status);
}
