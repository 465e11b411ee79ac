// @ts-check
// Audit events as people read them (a lead's timeline, the admin's audit search): what
// happened, who did it, and each field's value before and after.

import { h } from './dom.js';
import { when, words } from './format.js';

/** Fields every change touches: shown in the event's time already. */
const NOISE = new Set(['updated_at']);
/** Changes shown at once; the rest behind "more". */
const SHOWN = 5;

/**
 * A value in a sentence: a note's text, a task's title, a count of items, compact JSON.
 * @param {unknown} value
 */
export function summary(value) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return `${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') {
    const record = /** @type {Record<string, unknown>} */ (value);
    for (const key of ['text', 'title', 'name', 'id']) {
      if (typeof record[key] === 'string') return `“${record[key]}”`;
    }
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 79)}…` : json;
  }
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return when(value);
  return String(value);
}

/**
 * One change in words: `status: new → contacted`; a record that changed (a task completed) by
 * the fields that changed in it.
 * @param {{field: string, before: unknown, after: unknown}} change
 * @returns {string}
 */
function changeText(change) {
  const { before, after } = change;
  if (before === null || before === undefined) return summary(after);
  if (isRecord(before) && isRecord(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    return `${summary(after)}: ${keys.map((k) => `${words(k).toLowerCase()} ${changeText({ field: k, before: before[k], after: after[k] })}`).join(', ')}`;
  }
  return `${summary(before)} → ${summary(after)}`;
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
const isRecord = (value) => Boolean(value) && typeof value === 'object' && !Array.isArray(value);

/**
 * The changes of an event as a list (`status: new → contacted`).
 * @param {import('./api.js').AuditEntry} entry
 */
export function changeList(entry) {
  const changes = entry.changes.filter((c) => !NOISE.has(c.field));
  /** @param {{field: string, before: unknown, after: unknown}} c */
  const item = (c) =>
    h('li', null, h('span', { class: 'hint' }, `${words(c.field)}: `), changeText(c));
  if (changes.length === 0) return '';
  const first = h('ul', { class: 'plain' }, changes.slice(0, SHOWN).map(item));
  if (changes.length <= SHOWN) return first;
  return [first, h('details', null, h('summary', null, `${changes.length - SHOWN} more`), h('ul', { class: 'plain' }, changes.slice(SHOWN).map(item)))];
}

/** @param {import('./api.js').AuditEntry} entry */
export function actor(entry) {
  return entry.actor.role ? `${entry.actor.id} (${entry.actor.role})` : entry.actor.id;
}

/**
 * The columns of an audit table.
 * @type {Array<import('./table.js').Column<import('./api.js').AuditEntry>>}
 */
export const AUDIT_COLUMNS = [
  { label: 'When', cell: (e) => when(e.at) },
  { label: 'What', cell: (e) => words(e.action.replace(/^[a-z_]+\./, '')) },
  { label: 'Who', cell: (e) => actor(e) },
  { label: 'Changes', cell: (e) => changeList(e) },
];
