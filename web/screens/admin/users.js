// @ts-check
// Users and roles. Who holds an account is the identity provider's: in AWS the Cognito user
// pool's members, their roles its groups; locally `brokeros serve` signs anyone in as any role,
// and its dev sign-in names the subjects it knows. Who used them is the audit trail's: the users
// and roles in use over a period (`GET /audit/actors`, the last 7 days unless chosen). The roles
// and what each may do are Broker OS's (the API enforces them).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { filterBar, filtered, periodFilter } from '../../lib/filter.js';
import { when, words } from '../../lib/format.js';
import { ROLES } from '../../lib/session.js';
import { config } from '../../lib/sign-in.js';
import { table } from '../../lib/table.js';

/** Days of the users in use unless the address says otherwise. */
const DEFAULT_DAYS = 7;

export const title = 'Users and roles';

/** What each role may do (README, "Who does what"). */
const MAY = {
  client: 'Their own profile, documents, onboarding, wallet, deposits, transfers, withdrawals, contest entries',
  ib: 'Its own subtree, clients (masked), referral links, accruals and statements',
  sales: 'The leads assigned to them (status, notes, tasks, timeline, conversion) and the clients they manage',
  compliance: 'The review queue and its decisions, KYC checks, jurisdiction rules; reads the routing rules and the audit trail (search, signed download, users in use)',
  finance: 'Withdrawal approvals, deposits, routing rules, provider health, reconciliation, commission statements, contest prizes',
  partners: 'IB applications, commission plans, the IB tree, accruals, payouts',
  marketing: 'Contests: definitions, publishing, enrolments, disqualifications, scoring, prize proposals',
  admin: 'Everything, plus lead assignment and escalated reviews',
};

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const appConfig = await config();
  const local = appConfig.sign_in === 'dev';
  const known = local ? await api.devSignInChoices() : null;
  const subjects = new Map((known?.roles ?? []).map((r) => [r.role, r.subjects]));
  const { period, fields } = periodFilter(ctx, DEFAULT_DAYS, 31);
  const bar = filterBar({ ctx, path: '/admin/users', label: 'Choose the period of the users in use', fields });
  return h(
    'section',
    { 'data-screen': 'admin-users' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Users and roles'),
      h('p', { class: 'lead' }, `You are ${ctx.session.sub} (${ctx.session.roles.join(', ')}).`)),
    h(
      'div',
      { class: 'card' },
      h('h2', null, 'Where users live'),
      local
        ? h('p', null, 'This is brokeros serve: its sign-in mints a development token for any role and name, so there is no user list. The names below are the ones it knows: the configured sales agents (lead assignment), and the portal users and staff it has seen.')
        : h('p', null, 'Users are the members of the Cognito user pool, and their roles its groups (one group per role below). Add or remove people and roles in the Cognito console or with aws cognito-idp admin-add-user-to-group / admin-remove-user-from-group; the API lists no users.'),
    ),
    table({
      caption: 'Roles',
      rows: [...ROLES],
      empty: '',
      rowId: (role) => role,
      columns: [
        { label: 'Role', cell: (role) => h('strong', null, role) },
        { label: 'May', cell: (role) => MAY[role] },
        ...(local ? [{ label: 'Known here', cell: (/** @type {string} */ role) => (subjects.get(role) ?? []).join(', ') || '—' }] : []),
      ],
    }),
    h('h2', null, 'Users and roles in use'),
    h('p', null, 'Every user, workflow and system part that changed something, from the audit trail: the roles it acted with, how many changes and when.'),
    bar,
    await filtered(bar, async () => inUse(await api.auditActors(period))),
  );
}

/** @param {Awaited<ReturnType<typeof api.auditActors>>} actors */
function inUse(actors) {
  return table({
    caption: `Who acted from ${actors.from} to ${actors.to} (UTC)`,
    rows: actors.items,
    empty: 'Nobody changed anything in this period.',
    rowId: (a) => `${a.kind}:${a.id}`,
    columns: [
      { label: 'Who', cell: (a) => h('strong', { class: 'id' }, a.id) },
      { label: 'Kind', cell: (a) => words(a.kind) },
      { label: 'Roles', cell: (a) => a.roles.join(', ') || '—' },
      { label: 'Changes', cell: (a) => String(a.events), class: 'num' },
      { label: 'First', cell: (a) => when(a.first_at) },
      { label: 'Last', cell: (a) => when(a.last_at) },
    ],
  });
}
