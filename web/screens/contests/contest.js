// @ts-check
// One contest: its rules and prizes, the leaderboard of its latest scoring snapshot (a chart of
// the leaders' results and the full table, a page at a time), joining it as a client (an
// account of yours, or a dedicated one the platform opens), and for marketing its entrants,
// publication and a scoring run now. Who may enter is the API's rule: a refusal shows as it
// answers it (registration closed, KYC, minimum deposit, already entered…).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { barChart } from '../../lib/chart.js';
import { form } from '../../lib/form.js';
import { badge, fact, money, when, words } from '../../lib/format.js';
import { pagedTable, table } from '../../lib/table.js';
import { doneNotice, goSaying } from '../../lib/notice.js';

export const title = 'Contest';

/** Leaders the chart shows. */
const CHART_ROWS = 10;

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const id = ctx.params.id;
  const manages = ctx.session.roles.some((r) => r === 'marketing' || r === 'admin');
  const isClient = ctx.session.roles.includes('client');
  const contest = manages ? await api.marketingContest(id) : await api.contest(id);
  const d = contest.definition;
  const board = contest.status === 'draft' ? null : await api.leaderboard(id);
  return h(
    'section',
    { 'data-screen': 'contest' },
    h('p', null, h('a', { href: '#/contests' }, '← Contests')),
    h('header', { class: 'screen-head' }, h('h1', null, d.name), h('p', { class: 'lead' }, badge(contest.status), contest.phase ? [' ', badge(contest.phase)] : null)),
    doneNotice(ctx),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'card' },
        h(
          'dl',
          { class: 'facts' },
          fact('Registration', `${when(d.registration.from)} – ${when(d.registration.until)}`),
          fact('Runs', `${when(d.period.from)} – ${when(d.period.until)}`),
          fact('Accounts', `${words(d.mode)}, ${d.currency}`),
          fact('Ranked by', words(d.metric.kind)),
          fact('Who may enter', eligibility(d.eligibility)),
        ),
      ),
      table({
        caption: d.prizes.pool ? `Prizes: a pool of ${money(d.prizes.pool, d.currency)}` : 'Prizes',
        rows: d.prizes.tiers,
        empty: 'No prize.',
        rowId: (t) => `${t.from_rank}-${t.to_rank}`,
        columns: [
          { label: 'Ranks', cell: (t) => (t.from_rank === t.to_rank ? `#${t.from_rank}` : `#${t.from_rank} – #${t.to_rank}`) },
          { label: 'Prize', cell: (t) => (t.amount ? money(t.amount, d.currency) : t.share ? `${t.share} of the pool` : '—'), class: 'num' },
        ],
      }),
    ),
    isClient && contest.status === 'published' ? await joining(ctx, id, contest) : null,
    manages ? managing(ctx, id, contest) : null,
    h('h2', null, 'Leaderboard'),
    board ? await leaderboard(id, d.metric.kind, board) : h('p', { class: 'hint' }, 'A draft has no leaderboard: publish it first.'),
    manages
      ? [
          h('h2', null, 'Entrants'),
          await pagedTable({
            caption: 'Entrants, newest first',
            empty: 'Nobody entered yet.',
            load: (cursor) => api.contestEntrants(id, cursor),
            rowId: (e) => e.id,
            columns: [
              { label: 'Entrant', cell: (e) => [e.display_name, h('br'), h('span', { class: 'hint id' }, e.id)] },
              { label: 'Account', cell: (e) => String(e.login) },
              { label: 'Status', cell: (e) => badge(e.status) },
              { label: 'Opening balance', cell: (e) => (e.opening_balance ? money(e.opening_balance, d.currency) : '—'), class: 'num' },
              { label: 'Entered', cell: (e) => when(e.registered_at) },
            ],
          }),
        ]
      : null,
  );
}

/** @param {api.Contest['definition']['eligibility']} e */
function eligibility(e = {}) {
  return [
    e.kyc ? `KYC ${e.kyc}` : null,
    e.min_deposit ? `deposited at least ${e.min_deposit}` : null,
    e.countries?.length ? `from ${e.countries.join(', ')}` : null,
    e.accounts && e.accounts !== 'any' ? `${words(e.accounts)} accounts` : null,
    e.one_entry_per_person ? 'one entry per person' : null,
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * The leaders as a chart (their results by the contest's metric) and every row as a table.
 * @param {string} id @param {string} metric  what ranks them (`return`, `profit`…)
 * @param {Awaited<ReturnType<typeof api.leaderboard>>} first
 */
async function leaderboard(id, metric, first) {
  const leaders = first.items.slice(0, CHART_ROWS);
  const published = typeof first.published_at === 'string' ? `, published ${when(first.published_at)}` : '';
  return h(
    'div',
    { 'data-testid': 'leaderboard' },
    h('p', { class: 'hint' }, first.snapshot ? `Snapshot ${first.snapshot}${published}${first.final ? ' (final)' : ''}; ${first.entrants ?? first.items.length} entrants.` : 'Not scored yet: the leaderboard appears after the first scoring run.'),
    leaders.length
      ? h(
          'figure',
          { class: 'card' },
          h('figcaption', { class: 'hint' }, `The first ${leaders.length} of the leaderboard by ${words(metric)} (unranked ones have too few trades or left the rules)`),
          barChart({
            title: `Leaders by ${words(metric)}: ${leaders.map((r) => `${r.rank ? `#${r.rank}` : 'unranked'} ${r.name} ${r.metric}`).join(', ')}`,
            bars: leaders.map((r) => ({ label: r.rank ? `#${r.rank} ${r.name}` : r.name, value: r.metric })),
            values: true,
          }),
        )
      : null,
    await pagedTable({
      caption: 'Leaderboard',
      empty: 'No entrant ranked yet.',
      load: async (cursor) => (cursor ? api.leaderboard(id, cursor) : first),
      rowId: (r) => r.entrant,
      columns: [
        { label: 'Rank', cell: (r) => (r.rank ? `#${r.rank}` : '—'), class: 'num' },
        { label: 'Trader', cell: (r) => [r.name, h('br'), h('span', { class: 'hint' }, `${r.login}, ${r.country}`)] },
        { label: 'Status', cell: (r) => badge(r.status) },
        { label: 'Result', cell: (r) => r.metric, class: 'num' },
        { label: 'Return', cell: (r) => r.return, class: 'num' },
        { label: 'Profit', cell: (r) => r.profit, class: 'num' },
        { label: 'Trades', cell: (r) => String(r.trades), class: 'num' },
      ],
    }),
  );
}

/**
 * A client's entry: what they entered with, or the form to enter.
 * @param {import('../../routes.js').ScreenContext} ctx @param {string} id @param {api.Contest} contest
 */
async function joining(ctx, id, contest) {
  const [mine, me] = await Promise.all([api.myContestEntries(), api.me().catch(() => null)]);
  const entry = mine.items.find((e) => e.contest_id === id);
  if (entry) {
    return h('div', { class: 'card', 'data-testid': 'my-entry' }, h('h2', null, 'Your entry'), h('p', null, `You entered with account ${entry.login} on ${when(entry.registered_at)}: `, badge(entry.status)));
  }
  if (!contest.registration_open) return h('p', { class: 'notice' }, 'Registration is not open.');
  const accounts = me?.trading_accounts ?? [];
  return h(
    'div',
    { class: 'card narrow' },
    form({
      id: `contest-entry-${id}`,
      legend: 'Take part',
      submit: 'Enter the contest',
      fields: [
        {
          name: 'login',
          label: 'With',
          type: 'select',
          options: [
            ...accounts.map((a) => ({ value: String(a.login), label: `Account ${a.login} (${a.currency}, ${a.group})` })),
            { value: 'contest', label: 'A new contest account' },
          ],
          hint: 'An account of yours, or a dedicated one opened for the contest.',
        },
      ],
      onSubmit: async (values) => {
        const entered = await api.enterContest(id, values.login === 'contest' ? { open_contest_account: true } : { login: Number(values.login) });
        goSaying(ctx, `#/contests/${encodeURIComponent(id)}`, `You are in, with account ${entered.login}.`);
      },
    }),
  );
}

/**
 * Marketing's actions: publish a draft, edit the definition (a new version), score now.
 * @param {import('../../routes.js').ScreenContext} ctx @param {string} id @param {api.Contest} contest
 */
function managing(ctx, id, contest) {
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  /** @param {string} label @param {() => Promise<string>} act */
  const action = (label, act) => {
    const button = h('button', { type: 'button', class: 'button' }, label);
    button.addEventListener('click', async () => {
      button.disabled = true;
      error.hidden = true;
      try {
        goSaying(ctx, `#/contests/${encodeURIComponent(id)}`, await act());
      } catch (failure) {
        button.disabled = false;
        error.textContent = failure instanceof Error ? failure.message : String(failure);
        error.hidden = false;
      }
    });
    return button;
  };
  return h(
    'div',
    { class: 'card' },
    h('h2', null, 'Manage'),
    h(
      'div',
      { class: 'actions' },
      contest.status === 'draft' ? action('Publish', async () => (await api.publishContest(id), 'Published.')) : null,
      contest.status !== 'cancelled' ? h('a', { class: 'button', href: `#/contests/${encodeURIComponent(id)}/edit` }, 'Edit the definition') : null,
      contest.status === 'published' ? action('Score now', async () => (await api.scoreContest(id), 'Scoring started: the leaderboard updates when it ends.')) : null,
    ),
    error,
  );
}
