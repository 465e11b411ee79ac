// @ts-check
// The API client: one function per call. Every call sends the session's bearer token; an error
// answer becomes an ApiError carrying the API's {code, message, field?}; a 401 ends the session
// first. Each call's body and answer are typed by the API's contract: ./api-schema.d.ts is
// generated from it (`brokeros openapi`; tests/run.sh fails when it is stale), so tsc checks
// the screens against what the API reads and answers.

import * as session from './session.js';

/** @typedef {import('./api-schema').operations} Operations */
/** @typedef {import('./api-schema').components['schemas']} Schemas */
/**
 * The JSON answer of operation `O` when it succeeds (its 200, 201 or 202).
 * @template {keyof Operations} O
 * @typedef {Operations[O]['responses'] extends {200: {content: {'application/json': infer A}}} ? A
 *   : Operations[O]['responses'] extends {201: {content: {'application/json': infer A}}} ? A
 *   : Operations[O]['responses'] extends {202: {content: {'application/json': infer A}}} ? A
 *   : never} Answer
 */
/**
 * The JSON body operation `O` reads.
 * @template {keyof Operations} O
 * @typedef {NonNullable<Operations[O]['requestBody']> extends {content: {'application/json': infer B}} ? B : never} Body
 */

// What the screens name (the contract's schemas, as the operations answer them).
/** @typedef {Answer<'get_client'>} Client */
/** @typedef {Answer<'get_deposit'>} Deposit */
/** @typedef {Schemas['Endpoint']} Place  a transfer's side: a wallet or a trading account */
/** @typedef {Answer<'get_withdrawal'>} Withdrawal */
/** @typedef {Answer<'list_tasks'>['items'][number]} LeadTask */
/**
 * An event of an entity's audit stream. The contract leaves its actor and changes bare objects:
 * their shape here is what the audit trail writes.
 * @typedef {Schemas['TimelineEntry']} AuditEntry
 */
/** @typedef {NonNullable<Operations['list_leads']['parameters']['query']>} LeadFilter */
/** @typedef {Schemas['AuditEvent']} AuditEvent  an audit event as stored */
/** @typedef {NonNullable<Operations['audit_events']['parameters']['query']>} AuditSearch */
/** @typedef {NonNullable<AuditSearch['entity_type']>} AuditedEntityType  every type the audit search accepts */
/** @typedef {NonNullable<Operations['audit_export']['parameters']['query']>} AuditSelection */
/** @typedef {Schemas['ActorInUse']} ActorInUse */
/** @typedef {Answer<'get_review'>} Review */
/** @typedef {Answer<'client_kyc_checks'>['items'][number]} KycCheck */
/** @typedef {Answer<'recon_run'>['run']} ReconRun */
/** @typedef {Answer<'recon_run'>['items'][number]} ReconItem */
/** @typedef {Schemas['ProviderHealthRecord']} ProviderHealthRecord */
/** @typedef {Schemas['DepositDayRow']} DepositDayRow */
/** @typedef {Answer<'applications'>['items'][number]} IbApplication */
/** @typedef {Schemas['IbStatement']} IbStatement */
/**
 * A period of an IB's earnings (`GET /ib/me`'s dashboard): the contract leaves them bare objects,
 * their shape here is what the dashboard writes.
 * @typedef {Object} EarningsPeriod
 * @property {string} period  `monthly:2026-12`
 * @property {string} starts_at
 * @property {string} ends_at
 * @property {{commission: string, cpa: string, revenue_share: string, total: string}} accrued
 * @property {string} paid
 * @property {number} legs
 * @property {Record<string, string>} lots
 * @property {Record<string, any> | null} statement
 */
/** @typedef {Answer<'public_contest'> | Answer<'contest'>} Contest  as clients see it, or marketing */
/** @typedef {Schemas['ContestDefinition']} ContestDefinition  what `POST /contests` reads */
/**
 * A row of a contest's leaderboard: the contract leaves them bare objects, their shape here is
 * what scoring writes.
 * @typedef {Object} LeaderboardRow
 * @property {number} [rank]
 * @property {string} entrant
 * @property {string} name
 * @property {string} login
 * @property {string} country
 * @property {string} status
 * @property {string} metric
 * @property {string} return
 * @property {string} profit
 * @property {number} trades
 */

/** An error answer of the API: its status and `{code, message, field?}`. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{code?: string, message?: string, field?: string}} body
   */
  constructor(status, body) {
    super(body.message ?? `request failed (${status})`);
    this.status = status;
    this.code = body.code ?? 'error';
    this.field = body.field;
  }
}

let base = '';
/** @type {() => void} */
let onUnauthorized = () => {};

/**
 * Where the API is (empty: this origin) and what a 401 does.
 * @param {{api?: string, unauthorized: () => void}} options
 */
export function configure(options) {
  base = (options.api ?? '').replace(/\/$/, '');
  onUnauthorized = options.unauthorized;
}

/**
 * @typedef {Object} CallOptions
 * @property {Record<string, string>} [headers]  more request headers (`Idempotency-Key`)
 * @property {string} [text]         a body sent as it is (a CSV report, a JSON document as typed), instead of `body`
 * @property {string} [contentType]  the type of `text` (JSON unless given)
 * @property {'json' | 'text'} [answer]  `text`: the answer's body as text (a CSV), not JSON
 */

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]  sent as JSON when given
 * @param {CallOptions} [options]
 * @returns {Promise<any>}
 */
async function call(method, path, body, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json', ...options.headers };
  const signedIn = session.current();
  if (signedIn) headers.authorization = `Bearer ${signedIn.token}`;
  const sent = options.text ?? (body === undefined ? undefined : JSON.stringify(body));
  if (sent !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  let response;
  try {
    response = await fetch(base + path, { method, headers, body: sent });
  } catch {
    throw new ApiError(0, { code: 'network', message: 'Broker OS cannot be reached: check your connection and try again.' });
  }
  const text = await response.text();
  if (response.ok && options.answer === 'text') return text;
  const json = text ? safeJson(text) : null;
  if (response.ok) return json;
  if (response.status === 401) onUnauthorized();
  throw new ApiError(response.status, json ?? {});
}

/** @param {string} text */
function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

/** @param {string} value */
const seg = (value) => encodeURIComponent(value);

/**
 * A query string of the given parameters, leaving out empty ones.
 * @param {Record<string, string | number | null | undefined>} params
 */
function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

// Sign-in (brokeros serve only: the CLI's router, not the API).

/** @returns {Promise<{roles: Array<{role: string, subjects: string[]}>}>} */
export const devSignInChoices = () => call('GET', '/dev/sign-in');
/** @param {{role: string, sub: string}} body @returns {Promise<{token: string}>} */
export const devSignIn = (body) => call('POST', '/dev/sign-in', body);

// The client portal.

/** @returns {Promise<Answer<'me'>>} the signed-in portal user's client (404 before registration) */
export const me = () => call('GET', '/me');
/** @param {Body<'register_client'>} body @returns {Promise<Answer<'register_client'>>} */
export const registerClient = (body) => call('POST', '/clients', body);
/** @param {string} id @returns {Promise<Answer<'get_client'>>} */
export const client = (id) => call('GET', `/clients/${seg(id)}`);
/** @param {string} id @param {Body<'set_profile'>} profile @returns {Promise<Answer<'set_profile'>>} */
export const setProfile = (id, profile) => call('PUT', `/clients/${seg(id)}/profile`, profile);
/** @param {string} id @param {Body<'add_document'>} body @returns {Promise<Answer<'add_document'>>} */
export const addDocument = (id, body) => call('POST', `/clients/${seg(id)}/documents`, body);
/** @param {string} id @param {Body<'start_onboarding'>} body @returns {Promise<Answer<'start_onboarding'>>} */
export const startOnboarding = (id, body) => call('POST', `/clients/${seg(id)}/onboarding`, body);
/** @param {string} id @returns {Promise<Answer<'client_kyc'>>} */
export const kyc = (id) => call('GET', `/clients/${seg(id)}/kyc`);
/** @param {string} id @returns {Promise<Answer<'wallet_balances'>>} */
export const wallet = (id) => call('GET', `/clients/${seg(id)}/wallet`);
/** @param {string} id @returns {Promise<Answer<'trading_accounts'>>} */
export const tradingAccounts = (id) => call('GET', `/clients/${seg(id)}/accounts`);
/**
 * @param {string} id @param {string} currency @param {string | null} [cursor]
 * @returns {Promise<Answer<'wallet_transactions'>>} newest first
 */
export const walletTransactions = (id, currency, cursor) =>
  call('GET', `/clients/${seg(id)}/wallet/${seg(currency)}/transactions${query({ cursor, limit: 20 })}`);
/** @param {string} id @param {Body<'create_deposit'>} body @returns {Promise<Answer<'create_deposit'>>} */
export const createDeposit = (id, body) => call('POST', `/clients/${seg(id)}/deposits`, body);
/** @param {string} id @returns {Promise<Answer<'list_deposits'>>} */
export const deposits = (id) => call('GET', `/clients/${seg(id)}/deposits`);
/** @param {string} depositId @returns {Promise<Answer<'get_deposit'>>} */
export const deposit = (depositId) => call('GET', `/deposits/${seg(depositId)}`);
/** @param {string} id @param {Body<'create_transfer'>} body @returns {Promise<Answer<'create_transfer'>>} */
export const createTransfer = (id, body) => call('POST', `/clients/${seg(id)}/transfers`, body);
/** @param {string} id @param {string | null} [cursor] @returns {Promise<Answer<'list_transfers'>>} newest first */
export const transfers = (id, cursor) => call('GET', `/clients/${seg(id)}/transfers${query({ cursor, limit: 20 })}`);
/** @param {string} id @param {Body<'create_withdrawal'>} body @returns {Promise<Answer<'create_withdrawal'>>} */
export const createWithdrawal = (id, body) => call('POST', `/clients/${seg(id)}/withdrawals`, body);
/** @param {string} id @returns {Promise<Answer<'list_withdrawals'>>} */
export const withdrawals = (id) => call('GET', `/clients/${seg(id)}/withdrawals`);

// Finance.

/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Answer<'withdrawal_queue'>>} oldest first */
export const withdrawalQueue = (filter) =>
  call('GET', `/finance/withdrawals${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Answer<'approve_withdrawal'>>} */
export const approveWithdrawal = (id) => call('POST', `/withdrawals/${seg(id)}/approve`, {});
/** @param {string} id @param {Body<'reject_withdrawal'>} body @returns {Promise<Answer<'reject_withdrawal'>>} */
export const rejectWithdrawal = (id, body) => call('POST', `/withdrawals/${seg(id)}/reject`, body);

// Lead capture (public: a landing page's form).

/**
 * @param {Body<'capture_lead'>} body  the lead's fields (`POST /leads`)
 * @param {string} idempotencyKey  random, one per form: a retry of the same form is the same capture
 * @returns {Promise<Answer<'capture_lead'>>}
 */
export const captureLead = (body, idempotencyKey) =>
  call('POST', '/leads', body, { headers: { 'idempotency-key': idempotencyKey } });

// Sales: the lead pipeline.


/** @param {LeadFilter} filter @returns {Promise<Answer<'list_leads'>>} newest first */
export const leads = (filter) =>
  call('GET', `/leads${query({ limit: 20, ...filter })}`);
/**
 * @param {{country?: string, assignee?: string, from?: string, to?: string}} filter
 * @returns {Promise<Answer<'lead_funnel'>>}
 */
export const leadFunnel = (filter) => call('GET', `/leads/funnel${query(filter)}`);
/** @param {string} id @returns {Promise<Answer<'get_lead'>>} */
export const lead = (id) => call('GET', `/leads/${seg(id)}`);
/** @param {string} id @param {Body<'change_status'>} body @returns {Promise<Answer<'change_status'>>} */
export const changeLeadStatus = (id, body) => call('POST', `/leads/${seg(id)}/status`, body);
/** @param {string} id @param {Body<'reassign'>} body @returns {Promise<Answer<'reassign'>>} */
export const reassignLead = (id, body) => call('POST', `/leads/${seg(id)}/assign`, body);
/** @param {string} id @param {Body<'add_note'>} body */
export const addLeadNote = (id, body) => call('POST', `/leads/${seg(id)}/notes`, body);
/** @param {string} id @returns {Promise<Answer<'list_tasks'>>} */
export const leadTasks = (id) => call('GET', `/leads/${seg(id)}/tasks`);
/** @param {string} id @param {Body<'add_task'>} body @returns {Promise<Answer<'add_task'>>} */
export const addLeadTask = (id, body) => call('POST', `/leads/${seg(id)}/tasks`, body);
/** @param {string} id @param {string} taskId @returns {Promise<Answer<'complete_task'>>} */
export const completeLeadTask = (id, taskId) => call('POST', `/leads/${seg(id)}/tasks/${seg(taskId)}/complete`, {});
/** @param {string} id @param {string | null} [cursor] @param {number} [limit] @returns {Promise<Answer<'timeline'>>} newest first */
export const leadTimeline = (id, cursor, limit = 20) => call('GET', `/leads/${seg(id)}/timeline${query({ cursor, limit })}`);
/** @param {AuditSearch} search @returns {Promise<Answer<'audit_events'>>} oldest first; a page may hold fewer than `limit` when filters apply */
export const auditEvents = (search) => call('GET', `/audit/events${query(search)}`);
/**
 * A signed download of an entity's stream or of days, as its JSON text (`brokeros audit verify FILE.json` checks it).
 * @param {AuditSelection} selection @returns {Promise<string>}
 */
export const auditExport = (selection) => call('GET', `/audit/export${query(selection)}`, undefined, { answer: 'text' });
/** @param {{from: string, to: string}} period  UTC days @returns {Promise<Answer<'audit_actors'>>} */
export const auditActors = (period) => call('GET', `/audit/actors${query(period)}`);
/** @param {string} id @param {Body<'convert'>} body @returns {Promise<Answer<'convert'>>} the new client */
export const convertLead = (id, body) => call('POST', `/leads/${seg(id)}/convert`, body);

// Compliance.


/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Answer<'review_queue'>>} oldest first */
export const reviewQueue = (filter) =>
  call('GET', `/compliance/reviews${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Answer<'get_review'>>} */
export const review = (id) => call('GET', `/compliance/reviews/${seg(id)}`);
/** @param {string} id @param {Body<'decide_review'>} body @returns {Promise<Answer<'decide_review'>>} */
export const decideReview = (id, body) => call('POST', `/compliance/reviews/${seg(id)}/decision`, body);
/** @param {string} clientId @returns {Promise<Answer<'client_kyc_checks'>>} */
export const kycChecks = (clientId) => call('GET', `/clients/${seg(clientId)}/kyc/checks`);
/** @param {string} id @returns {Promise<Answer<'jurisdiction_history'>>} oldest first */
export const jurisdictionHistory = (id) => call('GET', `/compliance/jurisdictions/${seg(id)}`);
/** @param {string} document  the next version, as typed (the API checks it) */
export const putJurisdiction = (document) => call('PUT', '/compliance/jurisdictions', undefined, { text: document });

// Finance: routing, provider health, reconciliation.


/** @returns {Promise<Answer<'routing_rules'>>} every version, oldest first */
export const routingRules = () => call('GET', '/payments/routing');
/** @param {string} document  the next version, as typed (the API checks it) */
export const putRoutingRules = (document) => call('PUT', '/payments/routing', undefined, { text: document });
/**
 * Deposits per UTC day by provider, `from` to `to` (days, both included, at most 93).
 * @param {{from: string, to: string}} period @returns {Promise<Answer<'deposits_per_day'>>}
 */
export const depositsPerDay = (period) => call('GET', `/payments/deposits/daily?${new URLSearchParams(period)}`);
/** @returns {Promise<Answer<'providers'>>} */
export const providers = () => call('GET', '/payments/providers');
/**
 * @param {string} provider @param {Body<'set_provider_health'>} body
 * @returns {Promise<Answer<'set_provider_health'>>}
 */
export const setProviderHealth = (provider, body) => call('PUT', `/payments/providers/${seg(provider)}/health`, body);
/** @param {string} provider @param {string} report  the settlement report's CSV @returns {Promise<Answer<'reconcile'>>} */
export const reconcile = (provider, report) =>
  call('POST', `/recon/${seg(provider)}`, undefined, { text: report, contentType: 'text/csv' });
/** @param {string} id @returns {Promise<Answer<'recon_run'>>} */
export const reconRun = (id) => call('GET', `/recon/runs/${seg(id)}`);

// Partner management and the IB portal.


/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Answer<'applications'>>} */
export const ibApplications = (filter) =>
  call('GET', `/partners/applications${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {Body<'create_application'>} body @returns {Promise<Answer<'create_application'>>} */
export const submitIbApplication = (body) => call('POST', '/partners/applications', body);
/** @param {string} id @param {Body<'approve_application'>} body @returns {Promise<Answer<'approve_application'>>} */
export const approveIbApplication = (id, body) => call('POST', `/partners/applications/${seg(id)}/approve`, body);
/** @param {string} id @param {Body<'reject_application'>} body @returns {Promise<Answer<'reject_application'>>} */
export const rejectIbApplication = (id, body) => call('POST', `/partners/applications/${seg(id)}/reject`, body);
/** @param {string | null} [cursor] @returns {Promise<Answer<'ibs'>>} */
export const ibs = (cursor) => call('GET', `/partners/ibs${query({ cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Answer<'ib'>>} */
export const ib = (id) => call('GET', `/partners/ibs/${seg(id)}`);
/**
 * An IB's standing changed: `suspend`, `reinstate` or `terminate`, with a reason.
 * @param {string} id @param {'suspend' | 'reinstate' | 'terminate'} change @param {Body<'suspend'>} body @returns {Promise<Answer<'suspend'>>}
 */
export const changeIbStanding = (id, change, body) => call('POST', `/partners/ibs/${seg(id)}/${change}`, body);
/**
 * An IB's accrual legs of a period (partner managers).
 * @param {string} id @param {string} period  `monthly:2026-03`, `weekly:2026-W10`, `daily:2026-03-02`
 * @returns {Promise<Answer<'ib_accruals'>>}
 */
export const ibAccruals = (id, period) => call('GET', `/partners/ibs/${seg(id)}/accruals${query({ period, limit: 100 })}`);
/** @returns {Promise<Answer<'tree'>>} depth first */
export const ibTree = () => call('GET', '/partners/tree');
/** @returns {Promise<Answer<'plan_list'>>} */
export const commissionPlans = () => call('GET', '/partners/plans');
/** @param {string} id @returns {Promise<Answer<'plan'>>} every version's document, oldest first */
export const commissionPlan = (id) => call('GET', `/partners/plans/${seg(id)}`);
/**
 * A commission plan's next version (the first creates it), a document as typed or built.
 * @param {string | Record<string, unknown>} document @returns {Promise<Answer<'put_plan'>>}
 */
export const putCommissionPlan = (document) =>
  call('POST', '/partners/plans', undefined, { text: typeof document === 'string' ? document : JSON.stringify(document) });
/** @param {string} id @param {Body<'change_plans'>} body @returns {Promise<Answer<'change_plans'>>} the IB's plans from then on */
export const changeIbPlans = (id, body) => call('POST', `/partners/ibs/${seg(id)}/plans`, body);
/** @param {string} periods  how many, the current one included (the API checks it) @returns {Promise<Answer<'ib_dashboard'>>} the signed-in IB */
export const ibMe = (periods) => call('GET', `/ib/me${query({ periods })}`);
/** @returns {Promise<Answer<'sub_ibs'>>} at any depth */
export const mySubIbs = () => call('GET', '/ib/me/sub-ibs');
/** @param {string | null} [ib]  a sub-IB's (the caller's own otherwise) @returns {Promise<Answer<'ib_clients'>>} masked contact data */
export const myIbClients = (ib) => call('GET', `/ib/me/clients${query({ ib })}`);
/** @returns {Promise<Answer<'referral_links'>>} */
export const myReferralLinks = () => call('GET', '/ib/me/referral-links');
/** @param {string} period @returns {Promise<Answer<'my_accruals'>>} the signed-in IB's legs */
export const myAccruals = (period) => call('GET', `/ib/me/accruals${query({ period, limit: 100 })}`);
/** @param {string | null} [cursor] @returns {Promise<Answer<'my_statements'>>} */
export const myStatements = (cursor) => call('GET', `/ib/me/statements${query({ cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<string>} the statement as CSV */
export const myStatementCsv = (id) => call('GET', `/ib/me/statements/${seg(id)}/csv`, undefined, { answer: 'text' });

// Contests.


/** @param {string | null} [cursor] @returns {Promise<Answer<'public_contests'>>} published contests, latest start first */
export const contests = (cursor) => call('GET', `/contests${query({ cursor, limit: 20 })}`);
/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Answer<'contests'>>} every contest, drafts too (marketing) */
export const marketingContests = (filter) =>
  call('GET', `/marketing/contests${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Answer<'public_contest'>>} */
export const contest = (id) => call('GET', `/contests/${seg(id)}`);
/** @param {string} id @param {string | null} [cursor] @returns {Promise<Omit<Answer<'leaderboard'>, 'items'> & {items: LeaderboardRow[]}>} */
export const leaderboard = (id, cursor) => call('GET', `/contests/${seg(id)}/leaderboard${query({ cursor, limit: 50 })}`);
/** @returns {Promise<Answer<'my_entries'>>} the signed-in client's entries */
export const myContestEntries = () => call('GET', '/contests/mine');
/** @param {string} id @param {Body<'register'>} body @returns {Promise<Answer<'register'>>} */
export const enterContest = (id, body) => call('POST', `/contests/${seg(id)}/entries`, body);
/** @param {string} id @param {string | null} [cursor] @returns {Promise<Answer<'entrants'>>} */
export const contestEntrants = (id, cursor) => call('GET', `/contests/${seg(id)}/entries${query({ cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Answer<'score_now'>>} a scoring run now (marketing, admin) */
export const scoreContest = (id) => call('POST', `/contests/${seg(id)}/scoring`, {});
/** @param {string} id @returns {Promise<Answer<'publish'>>} a draft published (marketing, admin) */
export const publishContest = (id) => call('POST', `/contests/${seg(id)}/publish`, {});
/** @param {string} id @returns {Promise<Answer<'contest'>>} any contest, drafts too (marketing, admin) */
export const marketingContest = (id) => call('GET', `/marketing/contests/${seg(id)}`);
/**
 * A contest definition's next version (version 1 creates the contest as a draft).
 * @param {Record<string, unknown>} definition  a ContestDefinition, as typed: the API checks it @returns {Promise<Answer<'put_version'>>}
 */
export const putContest = (definition) => call('POST', '/contests', definition);
