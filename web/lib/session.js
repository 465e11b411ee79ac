// @ts-check
// Who is signed in: the token in sessionStorage (gone with the tab), and what its claims say.
// The API verifies the token; the app reads its claims only to choose what to show.

const TOKEN_KEY = 'brokeros.token';
const RETURN_KEY = 'brokeros.return';

/** The roles of Broker OS (shared/lib/kernel/src/principal.rs), in the order the app lists them. */
export const ROLES = /** @type {const} */ ([
  'client', 'ib', 'sales', 'compliance', 'finance', 'partners', 'marketing', 'admin',
]);

/** @typedef {typeof ROLES[number]} Role */

/**
 * @typedef {Object} Session
 * @property {string} token  the bearer token the API gets
 * @property {string} sub    the subject (a portal user, a staff member)
 * @property {Role[]} roles  the Broker OS roles its groups grant
 * @property {number} expiresAt  milliseconds since the epoch
 */

/**
 * The claims of a JWT, not verified (the API does that).
 * @param {string} token
 * @returns {Record<string, unknown>}
 */
export function claimsOf(token) {
  const payload = token.split('.')[1] ?? '';
  const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
  const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/**
 * The session of a token, or `null` when it is not one the app can use.
 * @param {string} token
 * @returns {Session | null}
 */
export function sessionOf(token) {
  try {
    const claims = claimsOf(token);
    const groups = claims['cognito:groups'];
    const names = Array.isArray(groups) ? groups : [];
    const roles = ROLES.filter((role) => names.includes(role));
    const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
    if (typeof claims.sub !== 'string' || roles.length === 0) return null;
    return { token, sub: claims.sub, roles, expiresAt: exp };
  } catch {
    return null;
  }
}

/** @returns {Session | null} the signed-in session, if its token has not expired */
export function current() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const session = token ? sessionOf(token) : null;
  if (!session || session.expiresAt <= Date.now()) return null;
  return session;
}

/** @param {string} token */
export function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/**
 * Remembers where to go back after signing in (the screen a 401 interrupted).
 * @param {string} hash
 */
export function rememberReturn(hash) {
  if (hash && !hash.startsWith('#/sign-in')) sessionStorage.setItem(RETURN_KEY, hash);
}

/** @returns {string | null} where to go after signing in, once */
export function takeReturn() {
  const hash = sessionStorage.getItem(RETURN_KEY);
  sessionStorage.removeItem(RETURN_KEY);
  return hash;
}
