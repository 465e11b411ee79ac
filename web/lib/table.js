// @ts-check
// Tables with a caption, an empty state and, for the API's paged lists ({items, next}), a
// "More" button that appends the next page. On a phone each row reads as a card (style.css:
// every cell carries its column's label).

import { h, replace } from './dom.js';

/**
 * @template T
 * @typedef {Object} Column
 * @property {string} label
 * @property {(row: T) => import('./dom.js').Children} cell
 * @property {string} [class]
 */

/**
 * @template T
 * @param {{caption: string, columns: Column<T>[], rows: T[], empty: string, rowId?: (row: T) => string}} options
 * @returns {HTMLElement}
 */
export function table(options) {
  if (options.rows.length === 0) return emptyState(options.caption, options.empty);
  const body = h('tbody');
  appendRows(body, options.columns, options.rows, options.rowId);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      h('caption', null, options.caption),
      h('thead', null, h('tr', null, options.columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      body,
    ),
  );
}

/**
 * @template T
 * @param {HTMLElement} body @param {Column<T>[]} columns @param {T[]} rows
 * @param {(row: T) => string} [rowId]
 */
function appendRows(body, columns, rows, rowId) {
  for (const row of rows) {
    body.append(
      h(
        'tr',
        { 'data-row': rowId ? rowId(row) : null },
        columns.map((c) => h('td', { 'data-label': c.label, class: c.class }, c.cell(row))),
      ),
    );
  }
}

/**
 * @param {string} caption @param {string} text
 */
export function emptyState(caption, text) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, caption), h('p', null, text));
}

/**
 * A paged list: the first page now, the next on "More".
 * @template T
 * @param {{caption: string, columns: Column<T>[], empty: string, load: (cursor: string | null) => Promise<{items: T[], next?: string | null}>, rowId?: (row: T) => string}} options
 * @returns {Promise<HTMLElement>}
 */
export async function pagedTable(options) {
  const first = await options.load(null);
  const element = table({ ...options, rows: first.items });
  if (first.items.length === 0) return element;
  const body = /** @type {HTMLElement} */ (element.querySelector('tbody'));
  const more = h('div', { class: 'actions' });
  /** @param {string | null | undefined} next */
  const offer = (next) => {
    replace(more);
    if (!next) return;
    const button = h('button', { type: 'button', class: 'button' }, 'More');
    button.addEventListener('click', async () => {
      button.disabled = true;
      const page = await options.load(next);
      appendRows(body, options.columns, page.items, options.rowId);
      offer(page.next);
    });
    more.append(button);
  };
  offer(first.next);
  return h('div', null, element, more);
}
