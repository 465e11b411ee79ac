// @ts-check
// What the IB portal and partner management share: commission legs as a table, the current
// monthly period's label (the default period to look at), and the IB tree as a nested list.

import { h } from '../../lib/dom.js';
import { amount, badge, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';

/**
 * An accrual leg as `GET …/accruals` lists it: the contract leaves its items bare objects, so
 * their shape is written here.
 * @typedef {Object} StoredLeg
 * @property {{server: string, deal: number, level: number, kind: string, client: string, login: number, currency: string, amount: string, reversal: boolean, explanation: {level_fraction: string, capped: boolean, note?: unknown, basis?: Record<string, unknown>}}} leg
 * @property {unknown} [late_from]
 */

/** `monthly:2026-12` of today (UTC). */
export function currentMonth() {
  return `monthly:${new Date().toISOString().slice(0, 7)}`;
}

/** @type {Array<import('../../lib/table.js').Column<StoredLeg>>} */
const LEG_COLUMNS = [
  { label: 'Deal', cell: (l) => `${l.leg.server} #${l.leg.deal}` },
  { label: 'Client', cell: (l) => [l.leg.client, h('br'), h('span', { class: 'hint' }, `account ${l.leg.login}`)] },
  { label: 'Kind', cell: (l) => [words(l.leg.kind), l.leg.reversal ? [' ', badge('reversed')] : null] },
  { label: 'Level', cell: (l) => String(l.leg.level), class: 'num' },
  { label: 'Amount', cell: (l) => `${amount(String(l.leg.amount))} ${l.leg.currency}`, class: 'num' },
  {
    label: 'Why',
    cell: (l) => [
      `${l.leg.explanation.level_fraction} of the basis`,
      l.leg.explanation.capped ? ', capped per deal' : '',
      l.leg.explanation.note ? h('p', { class: 'hint' }, typeof l.leg.explanation.note === 'string' ? l.leg.explanation.note : JSON.stringify(l.leg.explanation.note)) : null,
    ],
  },
];

/**
 * The legs of a period, each with what it earned and why.
 * @param {string} caption @param {Array<Record<string, unknown>>} legs  the accruals' items @param {string} empty
 */
export function legsTable(caption, legs, empty) {
  return table({
    caption,
    rows: /** @type {StoredLeg[]} */ (legs),
    empty,
    rowId: (l) => `${l.leg.server}:${l.leg.deal}:${l.leg.level}:${l.leg.kind}${l.leg.reversal ? ':x' : ''}`,
    columns: LEG_COLUMNS,
  });
}

/**
 * The IBs under `parent` as a nested list (a tree's items come depth first, each naming its
 * parent).
 * @param {Array<{id: string, name: string, parent?: string | null, standing: string}>} items
 * @param {string | null} parent
 * @param {(id: string) => string} link  where an IB's name leads
 * @returns {HTMLElement | null}
 */
export function treeList(items, parent, link) {
  const children = items.filter((i) => (i.parent ?? null) === parent);
  if (children.length === 0) return null;
  return h(
    'ul',
    { class: 'tree' },
    children.map((i) => h('li', null, h('a', { href: link(i.id) }, i.name), ' ', badge(i.standing), treeList(items, i.id, link))),
  );
}
