// @ts-check
// The API client: one function per call, typed by JSDoc (to be replaced by types generated
// from /openapi.json). Every call sends the session's bearer token; an error answer becomes an
// ApiError carrying the API's {code, message, field?}; a 401 ends the session first.

import * as session from './session.js';

/** @typedef {{amount: string, currency: string}} Money  decimal strings, never floats */
/** @template T @typedef {{items: T[], next?: string | null}} Page */

/**
 * @typedef {Object} TradingAccount
 * @property {number} login
 * @property {string} currency
 * @property {string} group
 * @property {number} leverage
 * @property {string} opened_at
 */
/**
 * @typedef {Object} Document
 * @property {string} id
 * @property {string} type
 * @property {string} issuing_country
 * @property {string} number  masked
 * @property {string} added_at
 */
/**
 * @typedef {Object} Client
 * @property {string} id
 * @property {string} first_name
 * @property {string} [last_name]
 * @property {string} [email]
 * @property {string} [phone]
 * @property {string} country
 * @property {string} status
 * @property {string} kyc_status
 * @property {string} [account_manager]
 * @property {Record<string, string | boolean>} [profile]
 * @property {Document[]} [documents]
 * @property {TradingAccount[]} [trading_accounts]
 */
/**
 * @typedef {Object} Onboarding
 * @property {string} id
 * @property {string} product
 * @property {string} status
 * @property {string} started_at
 * @property {string} [finished_at]
 * @property {TradingAccount} [account]
 * @property {string} [reason]
 */
/**
 * @typedef {Object} Kyc
 * @property {string} kyc_status
 * @property {Onboarding[]} onboardings
 * @property {Document[]} documents
 * @property {Record<string, unknown>} [profile]  the KYC profile
 */
/**
 * @typedef {Object} WalletBalance
 * @property {string} currency
 * @property {string} available
 * @property {string} reserved
 * @property {string} total
 */
/**
 * @typedef {Object} Wallet
 * @property {WalletBalance[]} wallets
 * @property {Array<{deposit_id: string, amount: string, currency: string, status: string, created_at: string}>} deposits
 * @property {Array<{withdrawal_id: string, amount: string, currency: string, status: string, requested_at: string}>} withdrawals
 */
/**
 * @typedef {Object} WalletEntry
 * @property {string} transfer_id
 * @property {string} amount
 * @property {string} bucket
 * @property {{type: string}} kind
 * @property {string} memo
 * @property {string} posted_at
 * @property {{available: string, reserved: string}} balance_after
 */
/**
 * @typedef {Object} Deposit
 * @property {string} id
 * @property {Money} amount
 * @property {string} method
 * @property {string} status
 * @property {Array<{number: number, provider: string, reason: string, result?: {result: string, reason?: string}}>} attempts
 * @property {string} [payment_url]
 * @property {{status: string, login?: number, reason?: string}} [funding]
 * @property {string} [declined_because]
 * @property {string} created_at
 */
/** @typedef {{wallet: string} | {account: number}} Place */
/**
 * @typedef {Object} Transfer
 * @property {string} id
 * @property {Place} from
 * @property {Place} to
 * @property {Money} amount
 * @property {string} status
 * @property {string} [reason]
 * @property {string} created_at
 */
/**
 * @typedef {Object} Withdrawal
 * @property {string} id
 * @property {string} client_id
 * @property {Money} amount
 * @property {string} method
 * @property {string} destination  masked
 * @property {string} status
 * @property {string} requested_by
 * @property {string} requested_at
 * @property {'none' | 'one' | 'two' | null} requirement
 * @property {Array<{by: string, role: string, at: string}>} approvals
 * @property {string[]} reasons
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

/** @returns {Promise<Client>} the signed-in portal user's client (404 before registration) */
export const me = () => call('GET', '/me');
/** @param {Record<string, unknown>} body @returns {Promise<Client>} */
export const registerClient = (body) => call('POST', '/clients', body);
/** @param {string} id @returns {Promise<Client>} */
export const client = (id) => call('GET', `/clients/${seg(id)}`);
/** @param {string} id @param {Record<string, unknown>} profile @returns {Promise<Client>} */
export const setProfile = (id, profile) => call('PUT', `/clients/${seg(id)}/profile`, profile);
/** @param {string} id @param {{type: string, issuing_country: string, number: string}} body @returns {Promise<Client>} */
export const addDocument = (id, body) => call('POST', `/clients/${seg(id)}/documents`, body);
/** @param {string} id @param {{product: string}} body @returns {Promise<Onboarding>} */
export const startOnboarding = (id, body) => call('POST', `/clients/${seg(id)}/onboarding`, body);
/** @param {string} id @returns {Promise<Kyc>} */
export const kyc = (id) => call('GET', `/clients/${seg(id)}/kyc`);
/** @param {string} id @returns {Promise<Wallet>} */
export const wallet = (id) => call('GET', `/clients/${seg(id)}/wallet`);
/**
 * A trading account with its money as the platform reports it now (decimal strings, in `currency`).
 * @typedef {Object} TradingAccountBalance
 * @property {number} login
 * @property {string} group
 * @property {number} leverage
 * @property {string} currency
 * @property {string} [opened_at]
 * @property {{balance: string, credit: string, floating_profit: string, equity: string, margin: string, free_margin: string, currency: string}} money
 */
/** @param {string} id @returns {Promise<{client_id: string, items: TradingAccountBalance[]}>} */
export const tradingAccounts = (id) => call('GET', `/clients/${seg(id)}/accounts`);
/**
 * @param {string} id @param {string} currency @param {string | null} [cursor]
 * @returns {Promise<Page<WalletEntry>>} newest first
 */
export const walletTransactions = (id, currency, cursor) =>
  call('GET', `/clients/${seg(id)}/wallet/${seg(currency)}/transactions${query({ cursor, limit: 20 })}`);
/** @param {string} id @param {{deposit_id: string, amount: string, currency: string, method: string}} body @returns {Promise<Deposit>} */
export const createDeposit = (id, body) => call('POST', `/clients/${seg(id)}/deposits`, body);
/** @param {string} id @returns {Promise<Page<Deposit>>} */
export const deposits = (id) => call('GET', `/clients/${seg(id)}/deposits`);
/** @param {string} depositId @returns {Promise<Deposit>} */
export const deposit = (depositId) => call('GET', `/deposits/${seg(depositId)}`);
/** @param {string} id @param {{transfer_id: string, from: Place, to: Place, amount: string, currency: string}} body @returns {Promise<Transfer>} */
export const createTransfer = (id, body) => call('POST', `/clients/${seg(id)}/transfers`, body);
/** @param {string} id @param {string | null} [cursor] @returns {Promise<Page<Transfer>>} newest first */
export const transfers = (id, cursor) => call('GET', `/clients/${seg(id)}/transfers${query({ cursor, limit: 20 })}`);
/** @param {string} id @param {{withdrawal_id: string, amount: string, currency: string, method: string, destination: string}} body @returns {Promise<Withdrawal>} */
export const createWithdrawal = (id, body) => call('POST', `/clients/${seg(id)}/withdrawals`, body);
/** @param {string} id @returns {Promise<Page<Withdrawal>>} */
export const withdrawals = (id) => call('GET', `/clients/${seg(id)}/withdrawals`);

// Finance.

/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Page<Withdrawal>>} oldest first */
export const withdrawalQueue = (filter) =>
  call('GET', `/finance/withdrawals${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Withdrawal>} */
export const approveWithdrawal = (id) => call('POST', `/withdrawals/${seg(id)}/approve`, {});
/** @param {string} id @param {{reason: string}} body @returns {Promise<Withdrawal>} */
export const rejectWithdrawal = (id, body) => call('POST', `/withdrawals/${seg(id)}/reject`, body);

// Lead capture (public: a landing page's form).

/**
 * @param {Record<string, unknown>} body  the lead's fields (`POST /leads`)
 * @param {string} idempotencyKey  random, one per form: a retry of the same form is the same capture
 * @returns {Promise<{lead_id: string, received_at: string}>}
 */
export const captureLead = (body, idempotencyKey) =>
  call('POST', '/leads', body, { headers: { 'idempotency-key': idempotencyKey } });

// Sales: the lead pipeline.

/**
 * @typedef {Object} Lead
 * @property {string} id
 * @property {string} first_name
 * @property {string} [last_name]
 * @property {string} [email]
 * @property {string} [phone]
 * @property {string} country
 * @property {string} [language]
 * @property {string} status  new, contacted, qualified, converted, lost
 * @property {string} [lost_reason]
 * @property {number} score
 * @property {Array<{rule: string, points: number}>} score_reasons
 * @property {string} assignee
 * @property {string} assignment_rule
 * @property {string} [client_id]
 * @property {string} [referral_code]
 * @property {boolean} marketing_consent
 * @property {number} open_tasks
 * @property {number} touch_count
 * @property {{at: string, source: string, landing_page?: string, utm: Record<string, string>}} first_touch
 * @property {string} created_at
 * @property {string} updated_at
 */
/**
 * @typedef {Object} LeadTask
 * @property {string} id
 * @property {string} title
 * @property {string} [due_at]
 * @property {string} created_by
 * @property {string} created_at
 * @property {string} [completed_at]
 */
/**
 * @typedef {Object} AuditEntry  an event of an entity's audit stream (a lead's timeline)
 * @property {string} event_id
 * @property {string} at
 * @property {string} action
 * @property {{id: string, kind: string, role?: string}} actor
 * @property {Array<{field: string, before: unknown, after: unknown}>} changes
 */
/**
 * @typedef {Object} LeadFilter
 * @property {string} [status]
 * @property {string} [country]
 * @property {string} [assignee]
 * @property {string} [from]  RFC 3339
 * @property {string} [to]    RFC 3339
 * @property {string | null} [cursor]
 * @property {number} [limit]
 */

/** @param {LeadFilter} filter @returns {Promise<Page<Lead>>} newest first */
export const leads = (filter) =>
  call('GET', `/leads${query({ limit: 20, ...filter })}`);
/**
 * @typedef {Object} LeadFunnel  the leads of a brand by status, every status in lifecycle order
 * @property {string} brand
 * @property {string} [assignee]
 * @property {string} [country]
 * @property {Array<{status: string, count: number}>} statuses
 * @property {number} total
 * @property {'status_index_counts' | 'leads_read'} counted_by
 */
/**
 * @param {{country?: string, assignee?: string, from?: string, to?: string}} filter
 * @returns {Promise<LeadFunnel>}
 */
export const leadFunnel = (filter) => call('GET', `/leads/funnel${query(filter)}`);
/** @param {string} id @returns {Promise<Lead>} */
export const lead = (id) => call('GET', `/leads/${seg(id)}`);
/** @param {string} id @param {{status: string, reason?: string}} body @returns {Promise<Lead>} */
export const changeLeadStatus = (id, body) => call('POST', `/leads/${seg(id)}/status`, body);
/** @param {string} id @param {{assignee: string}} body @returns {Promise<Lead>} */
export const reassignLead = (id, body) => call('POST', `/leads/${seg(id)}/assign`, body);
/** @param {string} id @param {{text: string}} body */
export const addLeadNote = (id, body) => call('POST', `/leads/${seg(id)}/notes`, body);
/** @param {string} id @returns {Promise<{items: LeadTask[]}>} */
export const leadTasks = (id) => call('GET', `/leads/${seg(id)}/tasks`);
/** @param {string} id @param {{title: string, due_at?: string}} body @returns {Promise<LeadTask>} */
export const addLeadTask = (id, body) => call('POST', `/leads/${seg(id)}/tasks`, body);
/** @param {string} id @param {string} taskId @returns {Promise<LeadTask>} */
export const completeLeadTask = (id, taskId) => call('POST', `/leads/${seg(id)}/tasks/${seg(taskId)}/complete`, {});
/** @param {string} id @param {string | null} [cursor] @param {number} [limit] @returns {Promise<Page<AuditEntry>>} newest first */
export const leadTimeline = (id, cursor, limit = 20) => call('GET', `/leads/${seg(id)}/timeline${query({ cursor, limit })}`);
/** @param {string} id @param {{user_id?: string}} body @returns {Promise<Client>} the new client */
export const convertLead = (id, body) => call('POST', `/leads/${seg(id)}/convert`, body);

// Compliance.

/**
 * @typedef {Object} Review
 * @property {string} id
 * @property {string} client_id
 * @property {string} onboarding_id
 * @property {string} check_id
 * @property {'compliance' | 'escalated'} level
 * @property {string} status
 * @property {string} created_at
 * @property {string} [decided_by]
 * @property {string} [decided_at]
 * @property {string} [reason]
 */
/**
 * @typedef {Object} KycCheck
 * @property {string} id
 * @property {string} status
 * @property {string} product
 * @property {string} created_at
 * @property {{id: string, version: number}} jurisdiction
 * @property {{outcome: string, risk_score: number, verification_level?: string, leverage_cap?: number, reasons: Array<{code: string, detail: string, effect: string, points: number}>}} [decision]
 * @property {{outcome: string, labels: string[]}} [document_result]
 * @property {{lists: string[], matches: Array<{list: string, entry_id: string, listed_name: string, matched_name: string, score: number, strength: string, programs: string[], reason: string}>}} [screening]
 * @property {{kind: string}} trigger
 */

/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Page<Review>>} oldest first */
export const reviewQueue = (filter) =>
  call('GET', `/compliance/reviews${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Review>} */
export const review = (id) => call('GET', `/compliance/reviews/${seg(id)}`);
/** @param {string} id @param {{decision: 'approve' | 'reject', reason?: string}} body @returns {Promise<Review>} */
export const decideReview = (id, body) => call('POST', `/compliance/reviews/${seg(id)}/decision`, body);
/** @param {string} clientId @returns {Promise<{items: KycCheck[]}>} */
export const kycChecks = (clientId) => call('GET', `/clients/${seg(clientId)}/kyc/checks`);
/** @param {string} id @returns {Promise<{items: Array<Record<string, any> & {id: string, version: number, name: string}>}>} oldest first */
export const jurisdictionHistory = (id) => call('GET', `/compliance/jurisdictions/${seg(id)}`);
/** @param {string} document  the next version, as typed (the API checks it) */
export const putJurisdiction = (document) => call('PUT', '/compliance/jurisdictions', undefined, { text: document });

// Finance: routing, provider health, reconciliation.

/** @typedef {Record<string, any> & {version: number, providers: Array<{id: string, name: string, enabled: boolean, methods: string[], currencies?: Record<string, unknown>, percent_fee: string, priority: number}>}} RoutingDocument */
/**
 * @typedef {Object} ReconItem
 * @property {string} kind  matched, amount_mismatch, missing_in_ledger, …
 * @property {string} reference
 * @property {number} [line]
 * @property {string} [provider_transaction_id]
 * @property {string} [type]
 * @property {string} currency
 * @property {string} [report_amount]
 * @property {string} [report_fee]
 * @property {string} [ledger_amount]
 * @property {string} [ledger_fee]
 * @property {string} detail
 */
/**
 * @typedef {Object} ReconRun
 * @property {string} id
 * @property {string} provider
 * @property {boolean} all_matched
 * @property {number} rows
 * @property {Record<string, number>} counts
 * @property {Record<string, {report_amount: string, report_fees: string, ledger_amount: string, ledger_fees: string, difference: string}>} totals
 * @property {string} period_from
 * @property {string} period_to
 * @property {string} created_by
 * @property {string} created_at
 * @property {string} report_sha256
 */

/** @returns {Promise<{in_force: number | null, items: RoutingDocument[]}>} every version, oldest first */
export const routingRules = () => call('GET', '/payments/routing');
/** @param {string} document  the next version, as typed (the API checks it) */
export const putRoutingRules = (document) => call('PUT', '/payments/routing', undefined, { text: document });
/**
 * A provider's health as set: by whom (`set_by`: a user, or the outage detector), when and why.
 * @typedef {{provider_id: string, health: string, note: string, source: string, since: string, set_by?: string}} ProviderHealthRecord
 */
/**
 * @typedef {Object} ProviderOverview
 * @property {string} id
 * @property {string} name
 * @property {boolean} enabled
 * @property {string[]} methods
 * @property {string} health                      what routing reads (`up` when never set)
 * @property {ProviderHealthRecord} [health_set]  absent when never set
 * @property {{succeeded: number, declined: number, failed: number}} recent  over `window_hours`
 * @property {Record<string, string>} volume_today  per currency, decimal strings
 */
/**
 * One UTC day's deposits of a provider (absent: none was asked), status and currency.
 * @typedef {{day: string, provider?: string, status: string, currency: string, count: number, amount: string}} DepositDayRow
 */
/**
 * Deposits per UTC day by provider, `from` to `to` (days, both included, at most 93).
 * @param {{from: string, to: string}} period @returns {Promise<{from: string, to: string, items: DepositDayRow[]}>}
 */
export const depositsPerDay = (period) => call('GET', `/payments/deposits/daily?${new URLSearchParams(period)}`);
/** @returns {Promise<{rules_version: number, window_hours: number, as_of: string, items: ProviderOverview[]}>} */
export const providers = () => call('GET', '/payments/providers');
/**
 * @param {string} provider @param {{health: string, note: string}} body
 * @returns {Promise<ProviderHealthRecord>}
 */
export const setProviderHealth = (provider, body) => call('PUT', `/payments/providers/${seg(provider)}/health`, body);
/** @param {string} provider @param {string} report  the settlement report's CSV @returns {Promise<{run: ReconRun, items: ReconItem[]}>} */
export const reconcile = (provider, report) =>
  call('POST', `/recon/${seg(provider)}`, undefined, { text: report, contentType: 'text/csv' });
/** @param {string} id @returns {Promise<{run: ReconRun, items: ReconItem[]}>} */
export const reconRun = (id) => call('GET', `/recon/runs/${seg(id)}`);

// Partner management and the IB portal.

/** @typedef {{from_msc: number, value: any}} Dated  an effective-dated value */
/**
 * @typedef {Object} IbApplication
 * @property {string} id
 * @property {string} name
 * @property {string} payout_currency
 * @property {string} status
 * @property {string} [user_id]
 * @property {string} [client_id]
 * @property {string} [parent_ib_id]
 * @property {string} submitted_by
 * @property {string} created_at
 * @property {string} [reason]
 */
/**
 * @typedef {Object} Ib
 * @property {string} id
 * @property {string} name
 * @property {string} currency
 * @property {string} current_standing
 * @property {string | null} current_parent
 * @property {string} [user_id]
 * @property {number} sub_ib_allowance
 * @property {number} invitations_issued
 * @property {Array<{code: string, campaign: string, link: string}>} referral_codes
 * @property {Dated[]} standing
 * @property {Dated[]} plans
 * @property {Dated[]} parent
 * @property {string} created_at
 */
/**
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
/**
 * @typedef {Ib & {dashboard: {direct_clients: number, direct_sub_ibs: number, sub_ibs: number, subtree_clients: number, earnings: {currency: string, period_kind: string, periods: EarningsPeriod[]}}}} IbDashboard
 */
/**
 * @typedef {Object} IbStatement
 * @property {string} id
 * @property {string} status
 * @property {{period: {start_msc: number, kind: string}, currency: string, accrued: string, paid: string, carried_in: string, carried_out: string, commission: string, cpa: string}} lines
 */

/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Page<IbApplication>>} */
export const ibApplications = (filter) =>
  call('GET', `/partners/applications${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {{name: string, payout_currency: string, user_id?: string, parent_ib_id?: string}} body @returns {Promise<IbApplication>} */
export const submitIbApplication = (body) => call('POST', '/partners/applications', body);
/** @param {string} id @param {{plans: string[], referral_codes: Array<{code: string, campaign: string}>, sub_ib_allowance?: number}} body @returns {Promise<Ib>} */
export const approveIbApplication = (id, body) => call('POST', `/partners/applications/${seg(id)}/approve`, body);
/** @param {string} id @param {{reason: string}} body @returns {Promise<IbApplication>} */
export const rejectIbApplication = (id, body) => call('POST', `/partners/applications/${seg(id)}/reject`, body);
/** @param {string | null} [cursor] @returns {Promise<Page<Ib>>} */
export const ibs = (cursor) => call('GET', `/partners/ibs${query({ cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Ib>} */
export const ib = (id) => call('GET', `/partners/ibs/${seg(id)}`);
/**
 * An IB's standing changed: `suspend`, `reinstate` or `terminate`, with a reason.
 * @param {string} id @param {'suspend' | 'reinstate' | 'terminate'} change @param {{reason: string}} body @returns {Promise<Ib>}
 */
export const changeIbStanding = (id, change, body) => call('POST', `/partners/ibs/${seg(id)}/${change}`, body);
/**
 * An IB's accrual legs of a period (partner managers).
 * @param {string} id @param {string} period  `monthly:2026-03`, `weekly:2026-W10`, `daily:2026-03-02`
 * @returns {Promise<{ib_id: string, period: string, items: any[], next_cursor: string | null}>}
 */
export const ibAccruals = (id, period) => call('GET', `/partners/ibs/${seg(id)}/accruals${query({ period, limit: 100 })}`);
/** @returns {Promise<{items: Array<{id: string, name: string, level: number, parent: string | null, standing: string}>}>} depth first */
export const ibTree = () => call('GET', '/partners/tree');
/** @returns {Promise<Page<{id: string, versions: Array<{version: number, effective_from_msc: number, sha256: string}>}>>} */
export const commissionPlans = () => call('GET', '/partners/plans');
/** @param {string} periods  how many, the current one included (the API checks it) @returns {Promise<IbDashboard>} the signed-in IB */
export const ibMe = (periods) => call('GET', `/ib/me${query({ periods })}`);
/** @returns {Promise<{items: Array<{id: string, name: string, level: number, parent: string | null, standing: string, created_at: string}>}>} at any depth */
export const mySubIbs = () => call('GET', '/ib/me/sub-ibs');
/** @param {string | null} [ib]  a sub-IB's (the caller's own otherwise) @returns {Promise<{ib_id: string, items: Array<Record<string, any>>}>} masked contact data */
export const myIbClients = (ib) => call('GET', `/ib/me/clients${query({ ib })}`);
/** @returns {Promise<{items: Array<{code: string, campaign: string, link: string}>}>} */
export const myReferralLinks = () => call('GET', '/ib/me/referral-links');
/** @param {string} period @returns {Promise<{ib_id: string, period: string, items: any[], next_cursor: string | null}>} the signed-in IB's legs */
export const myAccruals = (period) => call('GET', `/ib/me/accruals${query({ period, limit: 100 })}`);
/** @param {string | null} [cursor] @returns {Promise<Page<IbStatement>>} */
export const myStatements = (cursor) => call('GET', `/ib/me/statements${query({ cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<string>} the statement as CSV */
export const myStatementCsv = (id) => call('GET', `/ib/me/statements/${seg(id)}/csv`, undefined, { answer: 'text' });

// Contests.

/**
 * @typedef {Object} Contest
 * @property {string} id
 * @property {number} version
 * @property {string} status  draft, published, cancelled
 * @property {string} [phase]  upcoming, registration_open, running, ended
 * @property {boolean} [registration_open]
 * @property {Record<string, any> & {name: string, currency: string, mode: string, period: {from: string, until: string}, registration: {from: string, until: string}, metric: {kind: string}, prizes: {pool?: string, tiers: Array<Record<string, any>>}, eligibility: Record<string, any>}} definition
 */
/**
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
/**
 * @typedef {Object} Entrant
 * @property {string} id
 * @property {string} contest_id
 * @property {number} login
 * @property {string} status
 * @property {string} display_name
 * @property {string} registered_at
 * @property {string} [opening_balance]
 */

/** @param {string | null} [cursor] @returns {Promise<Page<Contest>>} published contests, latest start first */
export const contests = (cursor) => call('GET', `/contests${query({ cursor, limit: 20 })}`);
/** @param {{status?: string, cursor?: string | null}} filter @returns {Promise<Page<Contest>>} every contest, drafts too (marketing) */
export const marketingContests = (filter) =>
  call('GET', `/marketing/contests${query({ status: filter.status, cursor: filter.cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<Contest>} */
export const contest = (id) => call('GET', `/contests/${seg(id)}`);
/** @param {string} id @param {string | null} [cursor] @returns {Promise<Page<LeaderboardRow> & {snapshot?: number, final?: boolean, entrants?: number, published_at?: unknown}>} */
export const leaderboard = (id, cursor) => call('GET', `/contests/${seg(id)}/leaderboard${query({ cursor, limit: 50 })}`);
/** @returns {Promise<Page<Entrant>>} the signed-in client's entries */
export const myContestEntries = () => call('GET', '/contests/mine');
/** @param {string} id @param {{login: number} | {open_contest_account: true}} body @returns {Promise<Entrant>} */
export const enterContest = (id, body) => call('POST', `/contests/${seg(id)}/entries`, body);
/** @param {string} id @param {string | null} [cursor] @returns {Promise<Page<Entrant>>} */
export const contestEntrants = (id, cursor) => call('GET', `/contests/${seg(id)}/entries${query({ cursor, limit: 20 })}`);
/** @param {string} id @returns {Promise<{execution: string}>} a scoring run now (marketing, admin) */
export const scoreContest = (id) => call('POST', `/contests/${seg(id)}/scoring`, {});
/** @param {string} id @returns {Promise<Contest>} a draft published (marketing, admin) */
export const publishContest = (id) => call('POST', `/contests/${seg(id)}/publish`, {});
/** @param {string} id @returns {Promise<Contest>} any contest, drafts too (marketing, admin) */
export const marketingContest = (id) => call('GET', `/marketing/contests/${seg(id)}`);
