// @ts-check
// Filter bars of lists. The filters live in the screen's address (`#/sales/leads?status=new`),
// so a filtered list reloads, bookmarks and shares as it is: applying one navigates, and the
// screen reads `ctx.query`. The API checks the values: a filter it refuses (a country that is
// no ISO code, a malformed day) shows its `{code, message, field?}` next to that filter.

import { h, uid } from './dom.js';
import { ApiError } from './api.js';
import { utcDay } from './format.js';
import { emptyState } from './table.js';

/**
 * A period of UTC days from the address (`from`, `to`; the last `days` days, today included,
 * unless given) and its two filters, for a report the API bounds to `maxDays`.
 * @param {import('../routes.js').ScreenContext} ctx @param {number} days @param {number} maxDays
 * @returns {{period: {from: string, to: string}, fields: FilterField[]}}
 */
export function periodFilter(ctx, days, maxDays) {
  return {
    period: { from: ctx.query.get('from') ?? utcDay(days - 1), to: ctx.query.get('to') ?? utcDay(0) },
    fields: [
      { name: 'from', label: 'From (UTC day)', type: 'date', hint: `Up to ${maxDays} days; the last ${days} unless chosen.` },
      { name: 'to', label: 'To (UTC day)', type: 'date' },
    ],
  };
}

/**
 * @typedef {Object} FilterField
 * @property {string} name     the query parameter (and the API's field name, for its errors)
 * @property {string} label
 * @property {'text' | 'date' | 'select' | 'hidden'} [type]  hidden: kept from the address as it is
 * @property {Array<{value: string, label: string}>} [options]  for selects (`''` for any)
 * @property {string} [placeholder]
 * @property {string} [hint]
 */

/**
 * A filter form whose values come from and go to the address.
 * @param {{ctx: import('../routes.js').ScreenContext, path: string, fields: FilterField[], label: string}} options
 * @returns {HTMLFormElement}
 */
export function filterBar(options) {
  const { ctx, path, fields } = options;
  const controls = fields.map((field) => {
    const id = uid(`filter-${field.name}`);
    const value = ctx.query.get(field.name) ?? '';
    if (field.type === 'hidden') return h('input', { type: 'hidden', name: field.name, value });
    const common = { id, name: field.name, 'aria-describedby': `${id}-error` };
    const input =
      field.type === 'select'
        ? h('select', common, (field.options ?? []).map((o) => h('option', { value: o.value, selected: o.value === value }, o.label)))
        : h('input', { ...common, type: field.type ?? 'text', value, placeholder: field.placeholder });
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, field.label),
      field.hint ? h('p', { class: 'hint' }, field.hint) : null,
      input,
      h('p', { id: `${id}-error`, class: 'field-error', hidden: true }),
    );
  });
  const bar = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': options.label },
    controls,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'button primary' }, 'Apply'),
      h('a', { class: 'button', href: `#${path}` }, 'Clear'),
    ),
  );
  bar.addEventListener('submit', (event) => {
    event.preventDefault();
    const search = new URLSearchParams();
    for (const [name, value] of new FormData(bar)) {
      if (typeof value === 'string' && value.trim() !== '') search.set(name, value.trim());
    }
    const text = search.toString();
    ctx.go(`#${path}${text ? `?${text}` : ''}`);
  });
  return bar;
}

/**
 * Loads a filtered list; a filter the API refuses (400 naming a field of the bar) is shown next
 * to that filter, and the list says to change it; another 400, or a 404 of what the filters
 * name (an unknown jurisdiction, client or run), says so in the list's place.
 * @param {HTMLFormElement} bar
 * @param {() => Promise<HTMLElement>} load
 * @returns {Promise<HTMLElement>}
 */
export async function filtered(bar, load) {
  try {
    return await load();
  } catch (failure) {
    if (!refused(bar, failure)) throw failure;
    const named = failure instanceof ApiError && failure.field && bar.querySelector(`[name="${CSS.escape(failure.field)}"]`);
    const message = failure instanceof Error ? failure.message : String(failure);
    return h('div', { role: 'alert' }, emptyState('No results', `${named ? '' : `${message}. `}Change the filters and apply them again.`));
  }
}

/**
 * Shows a refusal of the filters (a 400 or 404) next to the filter it names; answers whether
 * `failure` was one (anything else is the caller's to handle).
 * @param {HTMLFormElement} bar @param {unknown} failure
 */
export function refused(bar, failure) {
  if (!(failure instanceof ApiError) || (failure.status !== 400 && failure.status !== 404)) return false;
  const input = failure.field ? bar.querySelector(`[name="${CSS.escape(failure.field)}"]`) : null;
  const error = input ? /** @type {HTMLElement | null} */ (bar.querySelector(`#${input.id}-error`)) : null;
  if (input && error) {
    input.setAttribute('aria-invalid', 'true');
    error.textContent = failure.message;
    error.hidden = false;
  }
  return true;
}

/**
 * The first and last instants of a UTC day (`2026-12-07`) as RFC 3339, for the API's `from`
 * and `to`; what is not a day is passed on as it is (the API says what it wants).
 * @param {string} day
 */
export function dayBounds(day) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return { from: day, to: day };
  return { from: `${day}T00:00:00Z`, to: `${day}T23:59:59.999Z` };
}
