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
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]  sent as JSON when given
 * @returns {Promise<any>}
 */
async function call(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const signedIn = session.current();
  if (signedIn) headers.authorization = `Bearer ${signedIn.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { code: 'network', message: 'Broker OS cannot be reached: check your connection and try again.' });
  }
  const text = await response.text();
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
