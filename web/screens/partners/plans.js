// @ts-check
// Commission plans for partner managers: every plan with its versions, one plan's versions
// with what changed between two, its next version (the document as JSON, prefilled from the
// one in force, taking effect in five minutes: a version never takes effect in the past), its
// assignment to an IB, and a new plan. A new plan's simple parts are fields; its rules and
// level split, nested by nature, are JSON.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { versionedDocument } from '../../lib/document-form.js';
import { form } from '../../lib/form.js';
import { instant, localInput, whenMillis, words } from '../../lib/format.js';
import { doneNotice, goSaying } from '../../lib/notice.js';
import { table } from '../../lib/table.js';

export const title = 'Commission plans';

/** How far ahead a new version's prefilled effective time is. */
const AHEAD_MS = 5 * 60 * 1000;

const DEFAULT_RULES = [
  { id: 'majors', priority: 10, match: { symbol_groups: ['majors'] }, earns: { per_lot: '7.00' } },
  { id: 'everything-else', priority: 0, match: {}, earns: { commission_share: '25' } },
];
const DEFAULT_LEVELS = { mode: 'fixed', percents: ['80', '20'] };

/** @param {string} id */
const planHash = (id) => `#/partners/plans?id=${encodeURIComponent(id)}`;

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const plans = (await api.commissionPlans()).items;
  const chosen = ctx.query.get('id') ?? plans[0]?.id ?? null;
  return h(
    'section',
    { 'data-screen': 'partners-plans' },
    h('header', { class: 'screen-head' },
      h('h1', null, 'Commission plans'),
      h('p', { class: 'lead' }, 'What a deal earns and who in the chain gets it. A plan changes by versions that take effect from a later time: what deals already earned never changes.')),
    doneNotice(ctx),
    table({
      caption: 'Plans',
      rows: plans,
      empty: 'No plan yet: store the first one below.',
      rowId: (p) => p.id,
      columns: [
        { label: 'Plan', cell: (p) => (p.id === chosen ? h('strong', null, p.id) : h('a', { href: planHash(p.id) }, p.id)) },
        { label: 'Versions', cell: (p) => String(p.versions.length), class: 'num' },
        { label: 'Latest takes effect', cell: (p) => whenMillis(p.versions[p.versions.length - 1]?.effective_from_msc) },
      ],
    }),
    chosen ? await planPart(ctx, chosen) : null,
    h('div', { class: 'card' }, newPlanForm(ctx)),
  );
}

/** @param {import('../../routes.js').ScreenContext} ctx @param {string} id */
async function planPart(ctx, id) {
  const [plan, ibs] = await Promise.all([api.commissionPlan(id), api.ibs()]);
  /** @type {Array<Record<string, any> & {version: number}>} */
  const versions = plan.versions.map((v) => /** @type {any} */ (v));
  return [
    h('h2', null, `Plan ${id}`),
    versionedDocument({
      ctx,
      hash: planHash(id),
      keep: ['id'],
      versions,
      caption: `Versions of ${id}, newest first`,
      columns: [
        { label: 'Takes effect', cell: (v) => whenOf(v.effective_from) },
        { label: 'Period', cell: (v) => words(String(v.period ?? 'monthly')) },
        { label: 'Rules', cell: (v) => String((v.rules ?? []).length), class: 'num' },
      ],
      formId: `plan-${id}`,
      hint: 'The version in force with its number plus 1; effective_from must be after the last version’s and not in the past (prefilled: five minutes from now).',
      next: (next) => ({ ...next, effective_from: new Date(Date.now() + AHEAD_MS).toISOString().replace(/\.\d+Z$/, 'Z') }),
      put: api.putCommissionPlan,
    }),
    h(
      'div',
      { class: 'card' },
      form({
        id: `plan-assign-${id}`,
        legend: 'Assign to an IB',
        submit: 'Change the IB’s plans',
        fields: [
          {
            name: 'ib',
            label: 'IB',
            type: 'select',
            options: ibs.items.map((ib) => ({ value: ib.id, label: `${ib.name} (${ib.id})` })),
          },
          { name: 'plans', label: 'Plans', value: id, hint: 'Comma-separated: the IB’s whole agreement from then on (plans of one kind of period).' },
          { name: 'effective_at', label: 'From', type: 'datetime-local', hint: 'Empty: now. Never in the past.' },
        ],
        onSubmit: async (values) => {
          const ib = await api.changeIbPlans(values.ib, {
            plans: values.plans.split(',').map((p) => p.trim()).filter(Boolean),
            effective_at: values.effective_at ? instant(values.effective_at) : undefined,
          });
          goSaying(ctx, planHash(id), `${ib.name} has plans ${values.plans} from then on.`);
        },
      }),
    ),
  ];
}

/** @param {unknown} at  a version's effective_from: milliseconds or RFC 3339 */
function whenOf(at) {
  return typeof at === 'number' ? whenMillis(at) : whenMillis(Date.parse(String(at)));
}

/** @param {import('../../routes.js').ScreenContext} ctx */
function newPlanForm(ctx) {
  const element = form({
    id: 'plan-new',
    legend: 'New plan',
    submit: 'Store the plan',
    fields: [
      { name: 'id', label: 'Plan id', required: true, autocomplete: 'off', hint: 'Its key: lowercase letters, digits and dashes (standard).' },
      { name: 'effective_from', label: 'Takes effect', type: 'datetime-local', required: true, value: localInput(Date.now() + AHEAD_MS) },
      { name: 'currency', label: 'Currency', value: 'USD', hint: 'Of the fixed amounts (per lot, cap per deal, CPA).' },
      {
        name: 'period',
        label: 'Payout period',
        type: 'select',
        value: 'monthly',
        options: ['monthly', 'weekly', 'daily'].map((p) => ({ value: p, label: words(p) })),
        hint: 'Fixed for the plan’s life.',
      },
      {
        name: 'earn_on',
        label: 'Deals earn on',
        type: 'select',
        value: 'close',
        options: [{ value: 'close', label: 'Close' }, { value: 'open', label: 'Open' }, { value: 'both', label: 'Both' }],
      },
      { name: 'min_lots', label: 'Least lots of a deal', value: '0.1' },
      { name: 'min_hold_seconds', label: 'Least hold (seconds)', type: 'number', value: '60', hint: 'A position closed sooner earns nothing on its close.' },
      { name: 'exclude_hedged', label: 'Hedged volume earns nothing', type: 'checkbox', value: 'true' },
      {
        name: 'rules',
        label: 'Rules (JSON)',
        type: 'textarea',
        value: JSON.stringify(DEFAULT_RULES, null, 2),
        hint: 'Each: an id, a priority, what it matches (symbol_groups, symbols, account_groups; empty matches any) and what it earns (per_lot, commission_share or spread_share).',
      },
      {
        name: 'levels',
        label: 'Split along the chain (JSON)',
        type: 'textarea',
        value: JSON.stringify(DEFAULT_LEVELS, null, 2),
        hint: 'Level 0 is the client’s IB: fixed percents per level, or share_of_above; cap_per_deal optional. Empty: level 0 gets it all.',
      },
    ],
    onSubmit: async (v) => {
      const id = v.id.trim();
      /** @type {Record<string, unknown>} */
      const document = {
        id,
        version: 1,
        effective_from: instant(v.effective_from),
        currency: v.currency.trim(),
        period: v.period,
        earn_on: v.earn_on,
        min_lots: v.min_lots.trim(),
        min_hold_seconds: /^\d+$/.test(v.min_hold_seconds) ? Number(v.min_hold_seconds) : v.min_hold_seconds,
        exclude_hedged: v.exclude_hedged === 'true',
        rules: json('rules', v.rules),
      };
      if (v.levels.trim()) document.levels = json('levels', v.levels);
      try {
        await api.putCommissionPlan(document);
      } catch (failure) {
        // A nested part's error names its path in the JSON (rules[1].earns): shown at its field.
        const part = failure instanceof api.ApiError && failure.field ? /^(rules|levels)\b/.exec(failure.field)?.[1] : null;
        if (part && failure instanceof api.ApiError && failure.field !== part) {
          throw new api.ApiError(failure.status, { code: failure.code, field: part, message: `${failure.field}: ${failure.message}` });
        }
        throw failure;
      }
      goSaying(ctx, planHash(id), `Plan ${id} is stored.`);
    },
  });
  for (const area of element.querySelectorAll('textarea')) {
    area.classList.add('code');
    area.setAttribute('rows', '8');
    area.setAttribute('spellcheck', 'false');
  }
  return element;
}

/**
 * A JSON part of the form, parsed; its syntax error shown at its field.
 * @param {string} field @param {string} text
 */
function json(field, text) {
  try {
    return JSON.parse(text);
  } catch (failure) {
    throw new api.ApiError(400, { code: 'invalid_json', field, message: `${field} is not JSON: ${failure instanceof Error ? failure.message : failure}` });
  }
}
