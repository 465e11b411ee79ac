// @ts-check
// Audit events as people read them (a lead's timeline, the admin's audit search): what
// happened, who did it, and each field's value before and after.

import { h } from './dom.js';
import { when, words } from './format.js';

/**
 * What an audit table shows of an event: a lead's timeline entry or an event of the audit search.
 * @typedef {{at: string, action: string, actor: {id: string, kind: string, role?: string | null}, changes: Array<{field: string, before?: unknown, after?: unknown}>}} AuditLike
 */

/**
 * Every entity type the audit search accepts, in words (tsc checks it against the contract's list).
 * @type {Record<import('./api.js').AuditedEntityType, string>}
 */
export const ENTITY_TYPES = {
  lead: 'Lead',
  client: 'Client',
  onboarding: 'Onboarding',
  review: 'Compliance review',
  notification: 'Notification',
  kyc_check: 'KYC check',
  jurisdiction: 'Jurisdiction rules',
  deposit: 'Deposit',
  transfer: 'Transfer',
  payment_routing: 'Payment routing rules',
  psp_health: 'Payment provider health',
  withdrawal: 'Withdrawal',
  ledger_entry: 'Ledger entry',
  recon_run: 'Reconciliation run',
  approval: 'Approval',
  ib_application: 'IB application',
  ib: 'IB',
  ib_invitation: 'IB invitation',
  ib_client: 'IB client attribution',
  ib_lead: 'IB lead referrals',
  commission_plan: 'Commission plan',
  ib_deal_feed: 'IB deal feed',
  ib_quarantined_deal: 'IB quarantined deal',
  ib_payout_run: 'IB payout run',
  ib_statement: 'IB statement',
  ib_payout_sequence: 'IB payout sequence',
  ib_carried_balance: 'IB carried balance',
  contest: 'Contest',
  contest_entrant: 'Contest entrant',
  contest_prizes: 'Contest prizes',
  contest_feed: 'Contest deal feed',
  contest_leaderboard: 'Contest leaderboard',
  contest_flag: 'Contest hedging flag',
  pamm_offer: 'PAMM offer',
  pamm_fund: 'PAMM fund',
  pamm_request: 'PAMM request',
  pamm_rollover: 'PAMM rollover',
  copy_strategy: 'Copy strategy',
  copy_subscription: 'Copy subscription',
  copy_trade: 'Copied trade',
  copy_feed: 'Copy deal feed',
};

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
 * @param {{field: string, before?: unknown, after?: unknown}} change
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
 * @param {AuditLike} entry
 */
export function changeList(entry) {
  const changes = entry.changes.filter((c) => !NOISE.has(c.field));
  /** @param {{field: string, before?: unknown, after?: unknown}} c */
  const item = (c) =>
    h('li', null, h('span', { class: 'hint' }, `${words(c.field)}: `), changeText(c));
  if (changes.length === 0) return '';
  const first = h('ul', { class: 'plain' }, changes.slice(0, SHOWN).map(item));
  if (changes.length <= SHOWN) return first;
  return [first, h('details', null, h('summary', null, `${changes.length - SHOWN} more`), h('ul', { class: 'plain' }, changes.slice(SHOWN).map(item)))];
}

/** @param {AuditLike} entry */
export function actor(entry) {
  return entry.actor.role ? `${entry.actor.id} (${entry.actor.role})` : entry.actor.id;
}

/**
 * The columns of an audit table.
 * @type {Array<import('./table.js').Column<AuditLike>>}
 */
export const AUDIT_COLUMNS = [
  { label: 'When', cell: (e) => when(e.at) },
  { label: 'What', cell: (e) => words(e.action.replace(/^[a-z_]+\./, '')) },
  { label: 'Who', cell: (e) => h('span', { class: 'id' }, actor(e)) },
  { label: 'Changes', cell: (e) => changeList(e) },
];
