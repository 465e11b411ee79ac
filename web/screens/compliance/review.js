// @ts-check
// One compliance review: the client, the KYC check that asked for it — its decision's risk
// reasons, the document result, the screening lists and their hits — the client's profile and
// documents, and the decision (approve, or reject with a reason). Who may decide is the API's
// rule (compliance; an escalated review also an admin): a refusal shows as it answers it.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { badge, fact, when, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { goSaying } from '../../lib/notice.js';

export const title = 'Review';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const review = await api.review(ctx.params.id);
  const [client, kyc, checks] = await Promise.all([
    api.client(review.client_id),
    api.kyc(review.client_id),
    api.kycChecks(review.client_id),
  ]);
  const check = checks.items.find((c) => c.id === review.check_id);
  const others = checks.items.filter((c) => c.id !== review.check_id);
  const name = [client.first_name, client.last_name].filter(Boolean).join(' ');
  return h(
    'section',
    { 'data-screen': 'compliance-review' },
    h('p', null, h('a', { href: '#/compliance/reviews' }, '← Review queue')),
    h('header', { class: 'screen-head' },
      h('h1', null, `Review of ${name}`),
      h('p', { class: 'lead' }, badge(review.status), ` ${words(review.level)} level, waiting since ${when(review.created_at)}`)),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'card' },
        h('h2', null, 'Client'),
        h(
          'dl',
          { class: 'facts' },
          fact('Client', h('span', { class: 'id' }, client.id)),
          fact('Country', client.country),
          fact('KYC status', badge(kyc.kyc_status)),
          fact('Onboarding', h('span', { class: 'id' }, review.onboarding_id)),
          ...Object.entries(kyc.profile ?? client.profile ?? {}).map(([k, v]) => fact(words(k), typeof v === 'boolean' ? (v ? 'Yes' : 'No') : typeof v === 'object' ? JSON.stringify(v) : String(v))),
        ),
      ),
      review.status === 'pending' ? decision(ctx, review) : decided(review),
    ),
    check ? checkDetails(check) : h('p', { class: 'notice' }, `The check ${review.check_id} is not among the client's checks.`),
    h('h2', null, 'Documents'),
    table({
      caption: 'Documents (numbers masked)',
      rows: kyc.documents ?? [],
      empty: 'No document on file.',
      rowId: (d) => d.id,
      columns: [
        { label: 'Type', cell: (d) => words(d.type) },
        { label: 'Issued by', cell: (d) => d.issuing_country },
        { label: 'Number', cell: (d) => d.number },
        { label: 'Added', cell: (d) => when(d.added_at) },
      ],
    }),
    others.length
      ? [
          h('h2', null, 'Other checks of this client'),
          table({
            caption: 'Earlier and later KYC checks',
            rows: others,
            empty: '',
            rowId: (c) => c.id,
            columns: [
              { label: 'Check', cell: (c) => h('span', { class: 'id' }, c.id) },
              { label: 'Why', cell: (c) => words(c.trigger?.kind ?? '') },
              { label: 'Outcome', cell: (c) => (c.decision ? badge(c.decision.outcome) : badge(c.status)) },
              { label: 'When', cell: (c) => when(c.created_at) },
            ],
          }),
        ]
      : null,
  );
}

/** @param {api.KycCheck} check */
function checkDetails(check) {
  const d = check.decision;
  const matches = check.screening?.matches ?? [];
  return h(
    'div',
    { 'data-testid': 'kyc-check' },
    h('h2', null, 'The KYC check'),
    h(
      'dl',
      { class: 'facts' },
      fact('Check', h('span', { class: 'id' }, check.id)),
      fact('Outcome', d ? badge(d.outcome) : badge(check.status)),
      d ? fact('Risk score', String(d.risk_score)) : null,
      d?.verification_level ? fact('Verification level', words(d.verification_level)) : null,
      d?.leverage_cap ? fact('Leverage cap', `1:${d.leverage_cap}`) : null,
      fact('Jurisdiction rules', `${check.jurisdiction.id} v${check.jurisdiction.version}`),
      check.document_result ? fact('Document', [badge(check.document_result.outcome), ' ', check.document_result.labels.map(words).join(', ')]) : null,
    ),
    table({
      caption: 'Risk reasons',
      rows: d?.reasons ?? [],
      empty: 'The check gave no reason.',
      rowId: (r) => r.code,
      columns: [
        { label: 'Reason', cell: (r) => words(r.code) },
        { label: 'Detail', cell: (r) => r.detail },
        { label: 'Effect', cell: (r) => words(r.effect) },
        { label: 'Points', cell: (r) => String(r.points), class: 'num' },
      ],
    }),
    h('h2', null, 'Screening'),
    table({
      caption: `Hits on ${(check.screening?.lists ?? []).join(', ') || 'the lists'}`,
      rows: matches,
      empty: `No hit on the lists checked (${(check.screening?.lists ?? []).join(', ') || 'none'}).`,
      rowId: (m) => `${m.list}:${m.entry_id}`,
      columns: [
        { label: 'List', cell: (m) => m.list },
        { label: 'Listed name', cell: (m) => m.listed_name },
        { label: 'Matched', cell: (m) => m.matched_name },
        { label: 'Score', cell: (m) => `${m.score} (${words(m.strength)})`, class: 'num' },
        { label: 'Programs', cell: (m) => m.programs.join(', ') },
        { label: 'Why', cell: (m) => m.reason },
      ],
    }),
  );
}

/** @param {import('../../routes.js').ScreenContext} ctx @param {api.Review} review */
function decision(ctx, review) {
  return h(
    'div',
    { class: 'card' },
    form({
      id: `review-${review.id}`,
      legend: 'Decide',
      submit: 'Record decision',
      fields: [
        {
          name: 'decision',
          label: 'Decision',
          type: 'select',
          options: [
            { value: 'approve', label: 'Approve: the onboarding goes on' },
            { value: 'reject', label: 'Reject: the onboarding ends' },
          ],
        },
        { name: 'reason', label: 'Reason', type: 'textarea', hint: 'Kept with the decision; a rejection needs one.' },
      ],
      onSubmit: async (values) => {
        const decided = await api.decideReview(review.id, {
          decision: values.decision === 'reject' ? 'reject' : 'approve',
          reason: values.reason.trim() || undefined,
        });
        goSaying(ctx, '#/compliance/reviews', `${decided.id}: ${decided.status}`);
      },
    }),
  );
}

/** @param {api.Review} review */
function decided(review) {
  return h(
    'div',
    { class: 'card' },
    h('h2', null, 'Decision'),
    h(
      'dl',
      { class: 'facts' },
      fact('Status', badge(review.status)),
      fact('By', review.decided_by ?? '—'),
      fact('When', when(review.decided_at) || '—'),
      fact('Reason', review.reason ?? '—'),
    ),
  );
}
