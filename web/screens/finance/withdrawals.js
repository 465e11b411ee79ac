// @ts-check
// Finance's withdrawal approvals: the queue by status (oldest first, paged), with the
// maker-checker rule of each withdrawal in view — who requested it, what it needs, who approved
// so far, and whether the signed-in person may approve — and approve / reject.

import { h, replace, uid } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { badge, money, when, words } from '../../lib/format.js';
import { pagedTable } from '../../lib/table.js';

export const title = 'Withdrawal approvals';

const STATUSES = ['awaiting_approval', 'requested', 'approved', 'paid', 'rejected', 'expired', 'payout_failed'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const status = ctx.query.get('status') ?? 'awaiting_approval';
  const done = ctx.query.get('done');
  const filter = h(
    'form',
    { class: 'actions filter', role: 'search', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
    h('label', { for: 'queue-status' }, 'Status'),
    h(
      'select',
      {
        id: 'queue-status',
        onchange: (/** @type {Event} */ e) => ctx.go(`#/finance/withdrawals?status=${/** @type {HTMLSelectElement} */ (e.target).value}`),
      },
      STATUSES.map((s) => h('option', { value: s, selected: s === status }, words(s))),
    ),
  );
  const deciding = status === 'awaiting_approval';
  return h(
    'section',
    { 'data-screen': 'finance-withdrawals' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Withdrawal approvals'),
      h('p', { class: 'lead' }, 'Maker-checker: nobody approves their own request or approves twice; above the second-approval limit two people approve, the second an admin.')),
    done ? h('p', { class: 'notice', role: 'status' }, done) : null,
    filter,
    await pagedTable({
      caption: `${words(status)} withdrawals, oldest first`,
      empty: deciding ? 'Nothing waits for approval.' : `No ${words(status).toLowerCase()} withdrawal.`,
      load: (cursor) => api.withdrawalQueue({ status, cursor }),
      rowId: (w) => w.id,
      columns: [
        { label: 'Withdrawal', cell: (w) => [h('strong', { class: 'id' }, w.id), h('br'), h('span', { class: 'hint id' }, w.client_id)] },
        { label: 'Amount', cell: (w) => money(w.amount.amount, w.amount.currency), class: 'num' },
        { label: 'Requested', cell: (w) => [w.requested_by, h('br'), h('span', { class: 'hint' }, when(w.requested_at))] },
        { label: 'Why it waits', cell: (w) => (w.reasons.length ? h('ul', { class: 'plain' }, w.reasons.map((r) => h('li', null, r))) : '') },
        { label: 'Approvals', cell: (w) => approvals(w) },
        { label: deciding ? 'Decision' : 'Status', cell: (w) => (deciding ? decision(ctx, w) : badge(w.status)) },
      ],
    }),
  );
}

/** @param {api.Withdrawal} w */
function approvals(w) {
  const needs = {
    none: 'None: approved by the rules',
    one: 'One, by finance or an admin',
    two: 'Two different people, the second an admin',
  }[w.requirement ?? 'none'] ?? words(String(w.requirement));
  const given = w.approvals;
  return [
    h('span', null, needs),
    given.length
      ? h('ul', { class: 'plain' }, given.map((a) => h('li', null, `✓ ${a.by} (${a.role}), ${when(a.at)}`)))
      : h('p', { class: 'hint' }, 'None yet'),
  ];
}

/**
 * Whether the signed-in person may approve `w`, and if not, why (the API decides all the same).
 * @param {import('../../routes.js').ScreenContext} ctx @param {api.Withdrawal} w
 * @returns {string | null} why not
 */
function whyNot(ctx, w) {
  const me = ctx.session.sub;
  if (w.requested_by === me) return 'You requested it: someone else approves.';
  const given = w.approvals;
  if (given.some((a) => a.by === me)) return 'You approved it already.';
  if (w.requirement === 'two' && given.length === 1 && !ctx.session.roles.includes('admin')) {
    return 'The second approval is an admin\'s.';
  }
  return null;
}

/** @param {import('../../routes.js').ScreenContext} ctx @param {api.Withdrawal} w */
function decision(ctx, w) {
  const refused = whyNot(ctx, w);
  const noteId = uid('why-not');
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const approve = h(
    'button',
    { type: 'button', class: 'button primary', disabled: Boolean(refused), 'aria-describedby': refused ? noteId : null, 'data-action': 'approve' },
    'Approve',
  );
  approve.addEventListener('click', async () => {
    approve.disabled = true;
    error.hidden = true;
    try {
      const decided = await api.approveWithdrawal(w.id);
      ctx.go(`#/finance/withdrawals?done=${encodeURIComponent(`${w.id}: ${words(decided.status).toLowerCase()}`)}`);
    } catch (failure) {
      approve.disabled = false;
      replace(error, failure instanceof Error ? failure.message : String(failure));
      error.hidden = false;
    }
  });
  const reject = form({
    id: `reject-${w.id}`,
    submit: 'Reject',
    fields: [{ name: 'reason', label: 'Reason to reject', type: 'textarea', required: true }],
    onSubmit: async (values) => {
      await api.rejectWithdrawal(w.id, { reason: values.reason });
      ctx.go(`#/finance/withdrawals?done=${encodeURIComponent(`${w.id}: rejected`)}`);
    },
  });
  return h(
    'div',
    { class: 'decision' },
    h('p', { id: noteId, class: refused ? 'hint' : 'hint you-may' }, refused ?? 'You may approve.'),
    h('div', { class: 'actions' }, approve),
    error,
    h('details', null, h('summary', null, 'Reject…'), reject),
  );
}
