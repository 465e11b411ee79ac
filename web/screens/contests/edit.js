// @ts-check
// A contest definition written by marketing: a new contest (stored as a draft, version 1) or
// the next version of one (a draft changes freely; once it runs the API keeps what a ranking
// depends on), and publishing it with the same click. Each part of the definition is a field
// named by its path in the document (`registration.from`, `prizes.tiers[1].share`), so the
// API's error shows next to the field it names; the prize table is a row per tier. What the
// form does not show (the hedging review's thresholds) is kept from the version edited.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { instant, localInput, words } from '../../lib/format.js';
import { goSaying } from '../../lib/notice.js';

export const title = (/** @type {import('../../routes.js').ScreenContext} */ ctx) => (ctx.params.id ? 'Edit contest' : 'New contest');

const METRICS = ['return', 'profit', 'volume', 'return_over_drawdown'];
const TIE_BREAKS = ['higher_profit', 'higher_volume', 'lower_drawdown', 'more_trades', 'fewer_trades'];
const DAY = 24 * 3600 * 1000;

/** @typedef {Record<string, any>} Definition  a ContestDefinition document */

/**
 * A new contest's sensible start: registration from now for two weeks, running from tomorrow
 * for four, ranked by return, 90 % of a pool shared by the first three.
 * @returns {Definition}
 */
function fresh() {
  const now = Date.now();
  const iso = (/** @type {number} */ ms) => new Date(ms).toISOString();
  return {
    id: '',
    version: 0,
    name: '',
    mode: 'live',
    currency: 'USD',
    registration: { from: iso(now), until: iso(now + 14 * DAY) },
    period: { from: iso(now + DAY), until: iso(now + 29 * DAY) },
    eligibility: { accounts: 'any', groups: [], countries: [], kyc: 'approved', one_entry_per_person: true },
    metric: { kind: 'return' },
    rules: { min_trades: 5, min_hold_seconds: 60 },
    tie_breaks: ['higher_profit'],
    prizes: {
      pool: '1000.00',
      payment: { kind: 'cash' },
      tiers: [
        { from_rank: 1, to_rank: 1, share: '0.5' },
        { from_rank: 2, to_rank: 3, share: '0.2' },
      ],
    },
  };
}

/** @param {string} text a comma-separated list @returns {string[]} */
const list = (text) => text.split(',').map((v) => v.trim()).filter(Boolean);
/** @param {string} text @returns {string | undefined} empty: absent */
const optional = (text) => (text.trim() === '' ? undefined : text.trim());
/** @param {string} text @returns {number | string | undefined} a whole number as a number; other text as typed (the API says what it wants) */
const whole = (text) => (text.trim() === '' ? undefined : /^\d+$/.test(text.trim()) ? Number(text.trim()) : text.trim());

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const id = ctx.params.id;
  const current = id ? await api.marketingContest(id) : null;
  /** @type {Definition} */
  const base = current ? current.definition : fresh();
  const editable = !current || current.status !== 'cancelled';
  const holder = h('div', { class: 'card' });
  let tierCount = Math.max(1, Number(sessionStorage.getItem(tierKey(id)) ?? base.prizes.tiers.length));

  const draw = () => {
    sessionStorage.setItem(tierKey(id), String(tierCount));
    const element = definitionForm(ctx, current, base, tierCount);
    // The tier buttons sit in the form above its submit button (type=button: they submit nothing).
    element.insertBefore(tierButtons(), element.querySelector('.actions'));
    holder.replaceChildren(element);
  };
  const tierButtons = () =>
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'button', onclick: () => ((tierCount += 1), draw()) }, 'Add a prize tier'),
      tierCount > 1 ? h('button', { type: 'button', class: 'button', onclick: () => ((tierCount -= 1), draw()) }, 'Remove the last tier') : null,
    );
  if (editable) draw();

  return h(
    'section',
    { 'data-screen': 'contest-edit' },
    h('p', null, h('a', { href: current ? `#/contests/${encodeURIComponent(current.id)}` : '#/contests' }, current ? `← ${base.name}` : '← Contests')),
    h(
      'header',
      { class: 'screen-head' },
      h('h1', null, current ? `Edit ${base.name}` : 'New contest'),
      h(
        'p',
        { class: 'lead' },
        current
          ? `Version ${current.version} is ${current.status === 'draft' ? 'a draft' : current.status}: saving stores version ${current.version + 1}. Before the contest starts anything may change; once it runs, only its name, description, a later registration close and higher prizes.`
          : 'Saved as a draft (version 1): nobody sees it until it is published, which can be done now or from the contest later.',
      ),
    ),
    editable ? holder : h('p', { class: 'notice' }, 'A cancelled contest does not change.'),
  );
}

/** @param {string | undefined} id */
const tierKey = (id) => `brokeros.contest-tiers.${id ?? 'new'}`;

/**
 * @param {import('../../routes.js').ScreenContext} ctx @param {api.Contest | null} current
 * @param {Definition} base @param {number} tierCount
 */
function definitionForm(ctx, current, base, tierCount) {
  const e = base.eligibility ?? {};
  const r = base.rules ?? {};
  const text = (/** @type {unknown} */ v) => (v === undefined || v === null ? '' : String(v));
  /** @type {import('../../lib/form.js').Field[]} */
  const fields = [
    current
      ? { name: 'id', label: 'Contest id', type: 'hidden', value: current.id }
      : { name: 'id', label: 'Contest id', required: true, autocomplete: 'off', hint: 'Lowercase letters, digits and dashes: its address and its key (summer-cup).' },
    { name: 'name', label: 'Name', required: true, value: base.name },
    { name: 'description', label: 'Description', type: 'textarea', value: text(base.description) },
    { name: 'mode', label: 'Accounts', type: 'select', value: base.mode, options: [{ value: 'live', label: 'Live' }, { value: 'demo', label: 'Demo' }] },
    { name: 'currency', label: 'Currency', required: true, value: base.currency, hint: 'Of every amount here and of the entry accounts.' },
    { name: 'registration.from', label: 'Registration opens', type: 'datetime-local', required: true, value: localInput(base.registration.from) },
    { name: 'registration.until', label: 'Registration closes', type: 'datetime-local', required: true, value: localInput(base.registration.until) },
    { name: 'period.from', label: 'Contest starts', type: 'datetime-local', required: true, value: localInput(base.period.from) },
    { name: 'period.until', label: 'Contest ends', type: 'datetime-local', required: true, value: localInput(base.period.until) },
    { name: 'metric.kind', label: 'Ranked by', type: 'select', value: base.metric.kind, options: METRICS.map((m) => ({ value: m, label: words(m) })) },
    { name: 'metric.min_drawdown', label: 'Least drawdown divided by', value: text(base.metric.min_drawdown), hint: 'Return over drawdown only: a fraction (0.02).' },
    { name: 'tie_breaks', label: 'Tie-breaks, in order', value: (base.tie_breaks ?? []).join(', '), hint: `Comma-separated: ${TIE_BREAKS.join(', ')}.` },
    {
      name: 'eligibility.accounts',
      label: 'Entry accounts',
      type: 'select',
      value: e.accounts ?? 'any',
      options: [
        { value: 'any', label: 'Any account' },
        { value: 'new', label: 'Opened after registration opened' },
        { value: 'existing', label: 'Opened before registration opened' },
      ],
    },
    { name: 'eligibility.countries', label: 'Countries', value: (e.countries ?? []).join(', '), hint: 'ISO codes, comma-separated (DE, AT); empty: every country.' },
    { name: 'eligibility.groups', label: 'Account groups', value: (e.groups ?? []).join(', '), hint: 'Comma-separated; empty: every group.' },
    { name: 'eligibility.kyc', label: 'KYC', type: 'select', value: e.kyc ?? 'none', options: [{ value: 'none', label: 'Not required' }, { value: 'approved', label: 'Approved' }] },
    { name: 'eligibility.min_deposit', label: 'Least balance at entry', value: text(e.min_deposit), hint: 'In the contest currency; empty: none.' },
    { name: 'eligibility.one_entry_per_person', label: 'One entry per person', type: 'checkbox', value: String(e.one_entry_per_person ?? true) },
    { name: 'contest_account.group', label: 'Dedicated account group', value: text(base.contest_account?.group), hint: 'Opens an account in this group for each entry; empty: entrants use an account they hold.' },
    { name: 'contest_account.leverage', label: 'Dedicated account leverage', type: 'number', value: text(base.contest_account?.leverage ?? 100) },
    { name: 'enrollment.campaign', label: 'Enrol by campaign', value: text(base.enrollment?.campaign), hint: 'Clients who came through this campaign are entered when they open an account.' },
    { name: 'rules.min_trades', label: 'Trades to be ranked', type: 'number', value: text(r.min_trades ?? 1) },
    { name: 'rules.min_hold_seconds', label: 'Least hold (seconds)', type: 'number', value: text(r.min_hold_seconds ?? 0), hint: 'A trade closed sooner does not count.' },
    { name: 'rules.max_counted_trades', label: 'Trades counted at most', type: 'number', value: text(r.max_counted_trades) },
    { name: 'rules.max_lots_per_trade', label: 'Largest trade counted (lots)', value: text(r.max_lots_per_trade) },
    { name: 'rules.disqualify_drawdown', label: 'Disqualifying drawdown', value: text(r.disqualify_drawdown), hint: 'A fraction (0.5): a deeper drawdown disqualifies.' },
    { name: 'rules.min_return_for_prize', label: 'Least return for a prize', value: text(r.min_return_for_prize), hint: 'A fraction (0.02).' },
    { name: 'prizes.pool', label: 'Prize pool', value: text(base.prizes.pool), hint: 'Needed by tiers that share it; each tier pays every rank a fixed amount or a share of the pool (a fraction: 0.25).' },
    {
      name: 'prizes.payment.kind',
      label: 'Prizes paid as',
      type: 'select',
      value: base.prizes.payment.kind,
      options: [{ value: 'cash', label: 'Cash to the wallet' }, { value: 'credit', label: 'Trading credit' }],
    },
    { name: 'prizes.payment.volume_lots', label: 'Lots to trade before credit is withdrawable', value: text(base.prizes.payment.volume_lots), hint: 'Credit only.' },
  ];
  for (let i = 0; i < tierCount; i += 1) {
    const tier = base.prizes.tiers[i] ?? {};
    const at = `prizes.tiers[${i}]`;
    fields.push(
      { name: `${at}.from_rank`, label: 'From rank', type: 'number', value: text(tier.from_rank) },
      { name: `${at}.to_rank`, label: 'To rank', type: 'number', value: text(tier.to_rank) },
      { name: `${at}.amount`, label: 'Amount per rank', value: text(tier.amount) },
      { name: `${at}.share`, label: 'Or share of the pool', value: text(tier.share) },
    );
  }
  if (!current || current.status === 'draft') {
    fields.push({ name: 'publish', label: 'Publish it now', type: 'checkbox', value: 'false', hint: 'Clients see it and may enter while registration is open.' });
  }
  const element = form({
    id: `contest-${current?.id ?? 'new'}-v${current?.version ?? 0}`,
    legend: current ? `Version ${current.version + 1}` : 'The contest',
    submit: current ? 'Save the new version' : 'Save the draft',
    fields,
    onSubmit: async (v) => {
      const tiers = [];
      for (let i = 0; i < tierCount; i += 1) {
        const at = `prizes.tiers[${i}]`;
        tiers.push({ from_rank: whole(v[`${at}.from_rank`]), to_rank: whole(v[`${at}.to_rank`]), amount: optional(v[`${at}.amount`]), share: optional(v[`${at}.share`]) });
      }
      const group = optional(v['contest_account.group']);
      const campaign = optional(v['enrollment.campaign']);
      const definition = {
        ...base,
        id: v.id.trim(),
        version: (current?.version ?? 0) + 1,
        name: v.name,
        description: optional(v.description),
        mode: v.mode,
        currency: v.currency.trim(),
        registration: { from: instant(v['registration.from']), until: instant(v['registration.until']) },
        period: { from: instant(v['period.from']), until: instant(v['period.until']) },
        metric: { kind: v['metric.kind'], min_drawdown: optional(v['metric.min_drawdown']) },
        tie_breaks: list(v.tie_breaks),
        eligibility: {
          accounts: v['eligibility.accounts'],
          countries: list(v['eligibility.countries']),
          groups: list(v['eligibility.groups']),
          kyc: v['eligibility.kyc'],
          min_deposit: optional(v['eligibility.min_deposit']),
          one_entry_per_person: v['eligibility.one_entry_per_person'] === 'true',
        },
        contest_account: group ? { group, leverage: whole(v['contest_account.leverage']) } : undefined,
        enrollment: campaign ? { campaign } : undefined,
        rules: {
          min_trades: whole(v['rules.min_trades']),
          min_hold_seconds: whole(v['rules.min_hold_seconds']),
          max_counted_trades: whole(v['rules.max_counted_trades']),
          max_lots_per_trade: optional(v['rules.max_lots_per_trade']),
          disqualify_drawdown: optional(v['rules.disqualify_drawdown']),
          min_return_for_prize: optional(v['rules.min_return_for_prize']),
        },
        prizes: {
          pool: optional(v['prizes.pool']),
          payment: v['prizes.payment.kind'] === 'credit' ? { kind: 'credit', volume_lots: optional(v['prizes.payment.volume_lots']) } : { kind: 'cash' },
          tiers,
        },
      };
      const saved = await api.putContest(definition);
      sessionStorage.removeItem(tierKey(current?.id));
      let said = current ? `Version ${saved.version} saved.` : 'Saved as a draft.';
      if (v.publish === 'true') {
        await api.publishContest(saved.id);
        said = `${said} Published.`;
      }
      goSaying(ctx, `#/contests/${encodeURIComponent(saved.id)}`, said);
    },
  });
  // Each prize tier as one row (a fieldset named by its number).
  for (let i = 0; i < tierCount; i += 1) {
    const parts = ['from_rank', 'to_rank', 'amount', 'share'].map((part) => element.querySelector(`[name="prizes.tiers[${i}].${part}"]`)?.closest('.field'));
    const row = h('fieldset', { class: 'row-editor', 'data-tier': String(i) }, h('legend', null, `Prize tier ${i + 1}`));
    parts[0]?.before(row);
    for (const part of parts) if (part) row.append(part);
  }
  return element;
}
