// @ts-check
// Partner managers' IB applications: a new application (for a portal user, under a parent IB or
// as a master IB), the queue by status, and the decision — approval with the agreement's plans,
// a first referral code and the sub-IB allowance, or rejection with a reason.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { filterBar, filtered } from '../../lib/filter.js';
import { form } from '../../lib/form.js';
import { badge, when, words } from '../../lib/format.js';
import { pagedTable } from '../../lib/table.js';
import { doneNotice, goSaying } from '../../lib/notice.js';

export const title = 'IB applications';

const STATUSES = ['pending', 'approved', 'rejected'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const status = ctx.query.get('status') ?? 'pending';
  const plans = (await api.commissionPlans()).items.map((p) => p.id);
  const bar = filterBar({
    ctx,
    path: '/partners/applications',
    label: 'Filter applications',
    fields: [{ name: 'status', label: 'Status', type: 'select', options: STATUSES.map((s) => ({ value: s, label: words(s) })) }],
  });
  const apply = form({
    id: 'ib-application',
    legend: 'New application',
    submit: 'Submit application',
    fields: [
      { name: 'name', label: 'Partner name', required: true, hint: 'A person\'s or a company\'s name.' },
      { name: 'payout_currency', label: 'Payout currency', required: true, value: 'USD' },
      { name: 'user_id', label: 'Portal user', hint: 'Who signs in to the IB portal (portal-ldn).' },
      { name: 'parent_ib_id', label: 'Parent IB', hint: 'Empty: a master IB.' },
    ],
    onSubmit: async (values) => {
      const made = await api.submitIbApplication({
        name: values.name,
        payout_currency: values.payout_currency,
        user_id: values.user_id.trim() || undefined,
        parent_ib_id: values.parent_ib_id.trim() || undefined,
      });
      goSaying(ctx, '#/partners/applications', `Application ${made.id} submitted.`);
    },
  });
  return h(
    'section',
    { 'data-screen': 'partners-applications' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'IB applications'),
      h('p', { class: 'lead' }, 'Approving an application makes the IB: its wallet, referral codes and commission plans.')),
    doneNotice(ctx),
    bar,
    await filtered(bar, () =>
      pagedTable({
        caption: `${words(status)} applications`,
        empty: status === 'pending' ? 'No application waits: submit one below, or clients apply from the portal.' : `No ${status} application.`,
        load: (cursor) => api.ibApplications({ status, cursor }),
        rowId: (a) => a.id,
        columns: [
          { label: 'Partner', cell: (a) => [h('strong', null, a.name), h('br'), h('span', { class: 'hint id' }, a.id)] },
          { label: 'Portal user', cell: (a) => a.user_id ?? '—' },
          { label: 'Parent IB', cell: (a) => a.parent_ib ?? 'None (master)' },
          { label: 'Currency', cell: (a) => a.payout_currency },
          { label: 'Submitted', cell: (a) => [a.submitted_by, h('br'), h('span', { class: 'hint' }, when(a.created_at))] },
          { label: status === 'pending' ? 'Decision' : 'Status', cell: (a) => (a.status === 'pending' ? decision(ctx, a, plans) : badge(a.status)) },
        ],
      }),
    ),
    h('div', { class: 'card narrow' }, apply),
  );
}

/**
 * @param {import('../../routes.js').ScreenContext} ctx @param {api.IbApplication} application @param {string[]} plans
 */
function decision(ctx, application, plans) {
  const approve = form({
    id: `ib-approve-${application.id}`,
    submit: 'Approve',
    fields: [
      { name: 'plans', label: 'Plans', value: plans[0] ?? '', hint: `Comma-separated; stored: ${plans.join(', ') || 'none yet'}.` },
      { name: 'code', label: 'Referral code', hint: 'IB-LDN-1' },
      { name: 'campaign', label: 'Campaign', hint: 'gold-q4' },
      { name: 'sub_ib_allowance', label: 'Sub-IB allowance', type: 'number', inputmode: 'numeric', hint: 'Empty: the default.' },
    ],
    onSubmit: async (values) => {
      const codes = values.code.trim() ? [{ code: values.code.trim(), campaign: values.campaign.trim() }] : [];
      const made = await api.approveIbApplication(application.id, {
        plans: values.plans.split(',').map((p) => p.trim()).filter(Boolean),
        referral_codes: codes,
        sub_ib_allowance: values.sub_ib_allowance === '' ? undefined : Number(values.sub_ib_allowance),
      });
      goSaying(ctx, `#/partners/ibs/${encodeURIComponent(made.id)}`, `${made.name} is an IB.`);
    },
  });
  const reject = form({
    id: `ib-reject-${application.id}`,
    submit: 'Reject',
    fields: [{ name: 'reason', label: 'Reason to reject', type: 'textarea', required: true }],
    onSubmit: async (values) => {
      await api.rejectIbApplication(application.id, { reason: values.reason });
      goSaying(ctx, '#/partners/applications', `${application.name}: rejected.`);
    },
  });
  return h('div', { class: 'decision' }, h('details', null, h('summary', null, 'Approve…'), approve), h('details', null, h('summary', null, 'Reject…'), reject));
}
