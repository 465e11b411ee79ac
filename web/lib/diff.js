// @ts-check
// What changed between two versions of a JSON document (routing rules, jurisdiction rules):
// each leaf as a path (`providers[quickcard].priority`), its value before and after. Arrays of
// objects with an `id` are matched by id, so inserting a provider is one addition, not a shift.

import { h } from './dom.js';
import { filterBar } from './filter.js';
import { table } from './table.js';

/**
 * @typedef {Object} Change
 * @property {string} path
 * @property {'added' | 'removed' | 'changed'} kind
 * @property {unknown} [before]
 * @property {unknown} [after]
 */

/**
 * @param {unknown} value @param {string} path @param {Map<string, unknown>} out
 * @returns {Map<string, unknown>} every leaf (a scalar, or an empty array or object) by its path
 */
function leaves(value, path, out) {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(path, value);
    const byId = value.every((v) => v && typeof v === 'object' && !Array.isArray(v) && 'id' in v);
    value.forEach((item, i) => leaves(item, `${path}[${byId ? item.id : i}]`, out));
  } else if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) out.set(path, value);
    for (const [key, item] of entries) leaves(item, path ? `${path}.${key}` : key, out);
  } else {
    out.set(path, value);
  }
  return out;
}

/**
 * The changes from `before` to `after`, in the order of their paths.
 * @param {unknown} before @param {unknown} after
 * @returns {Change[]}
 */
export function changes(before, after) {
  const was = leaves(before, '', new Map());
  const now = leaves(after, '', new Map());
  /** @type {Change[]} */
  const found = [];
  for (const path of new Set([...was.keys(), ...now.keys()])) {
    const a = was.get(path);
    const b = now.get(path);
    if (!was.has(path)) found.push({ path, kind: 'added', after: b });
    else if (!now.has(path)) found.push({ path, kind: 'removed', before: a });
    else if (JSON.stringify(a) !== JSON.stringify(b)) found.push({ path, kind: 'changed', before: a, after: b });
  }
  return found.sort((x, y) => x.path.localeCompare(y.path));
}

/** @param {unknown} value */
const shown = (value) => (value === undefined ? '' : h('code', null, JSON.stringify(value)));

/**
 * The changes as a table (field, before, after).
 * @param {{caption: string, changes: Change[], empty: string}} options
 */
export function diffTable(options) {
  return table({
    caption: options.caption,
    rows: options.changes,
    empty: options.empty,
    rowId: (c) => c.path,
    columns: [
      { label: 'Field', cell: (c) => h('code', { class: 'id' }, c.path) },
      { label: 'Change', cell: (c) => h('span', { class: `diff-${c.kind}` }, c.kind) },
      { label: 'Before', cell: (c) => shown(c.before) },
      { label: 'After', cell: (c) => shown(c.after) },
    ],
  });
}

/**
 * Which two versions to compare, from the address (`from`, `to`: version numbers; the last two
 * unless given), and the form that picks them.
 * @template {{version: number}} V
 * @param {import('../routes.js').ScreenContext} ctx @param {string} path
 * @param {V[]} versions  oldest first
 * @param {string[]} [keep]  other parameters of the address the picker keeps (a jurisdiction's id)
 * @returns {{from: V | undefined, to: V | undefined, picker: HTMLElement | null}}
 */
export function versionPicker(ctx, path, versions, keep = []) {
  if (versions.length < 2) return { from: undefined, to: undefined, picker: null };
  const byNumber = (/** @type {string | null} */ n) => versions.find((v) => String(v.version) === n);
  const to = byNumber(ctx.query.get('to')) ?? versions[versions.length - 1];
  const from = byNumber(ctx.query.get('from')) ?? versions[versions.indexOf(to) - 1] ?? versions[0];
  const options = versions.map((v) => ({ value: String(v.version), label: `v${v.version}` }));
  const picker = filterBar({
    ctx,
    path,
    label: 'Versions to compare',
    fields: [
      ...keep.map((name) => /** @type {const} */ ({ name, label: name, type: 'hidden' })),
      { name: 'from', label: 'From', type: 'select', options },
      { name: 'to', label: 'To', type: 'select', options },
    ],
  });
  /** @type {HTMLSelectElement} */ (picker.querySelector('[name=from]')).value = String(from.version);
  /** @type {HTMLSelectElement} */ (picker.querySelector('[name=to]')).value = String(to.version);
  return { from, to, picker };
}
