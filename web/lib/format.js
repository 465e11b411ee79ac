// @ts-check
// How values read on screen. Amounts stay the API's decimal strings: grouping digits is done on
// the text, never through a float.

import { h } from './dom.js';

/**
 * `"12500.5"` → `"12,500.5"`; the text as it is when it is no decimal.
 * @param {string} amount
 */
export function amount(amount) {
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(amount);
  if (!match) return amount;
  const [, sign, whole, fraction = ''] = match;
  return sign + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + fraction;
}

/**
 * @param {string} value @param {string} currency
 * @returns {string} `2,500.00 USD`
 */
export function money(value, currency) {
  return `${amount(value)} ${currency}`;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** @param {string | null | undefined} iso */
export function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/** @param {string} code  snake_case → words */
export function words(code) {
  const text = code.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Statuses that went well, that wait, and that ended badly: the badge's colour. */
const GOOD = new Set(['approved', 'active', 'credited', 'completed', 'paid', 'funded', 'converted', 'succeeded', 'matched', 'ranked', 'published', 'up']);
const BAD = new Set(['rejected', 'declined', 'expired', 'review_expired', 'failed', 'payout_failed', 'flagged', 'cancelled', 'lost', 'disqualified', 'drawdown_exceeded', 'suspended', 'terminated', 'down']);

/**
 * A status as a badge: its words, coloured by outcome (the words carry the meaning).
 * @param {string} status
 */
export function badge(status) {
  const tone = GOOD.has(status) ? 'good' : BAD.has(status) ? 'bad' : 'waiting';
  return h('span', { class: `badge badge-${tone}` }, words(status));
}

/**
 * A fresh id for a request the API deduplicates (a deposit, a transfer, a withdrawal): kept
 * in the form's draft, so sending the form again cannot make a second one.
 * @param {string} prefix
 */
export function requestId(prefix) {
  return `${prefix}-${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

/**
 * An instant given in milliseconds since the epoch (the IB context's `from_msc`, `start_msc`).
 * @param {number | null | undefined} ms
 */
export function whenMillis(ms) {
  return typeof ms === 'number' ? when(new Date(ms).toISOString()) : '';
}

/**
 * A fact of a `dl.facts` list: its label and value.
 * @param {string} label @param {import('./dom.js').Children} value
 */
export function fact(label, value) {
  return [h('dt', null, label), h('dd', null, value)];
}

/**
 * The UTC day (`YYYY-MM-DD`) `daysAgo` days before today: a period's default bounds.
 * @param {number} daysAgo
 */
export function utcDay(daysAgo) {
  return new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
}

/**
 * `2026-12-10T10:00` of a datetime-local input as an RFC 3339 instant; other text as it is
 * (the API says what it wants).
 * @param {string} local
 */
export function instant(local) {
  const date = new Date(local);
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(local) && !Number.isNaN(date.getTime()) ? date.toISOString().replace('.000Z', 'Z') : local;
}

/**
 * An instant (RFC 3339, or milliseconds since the epoch) as a datetime-local input's value, in
 * the browser's time zone: `2026-12-10T10:00`.
 * @param {string | number} at
 */
export function localInput(at) {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return '';
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
