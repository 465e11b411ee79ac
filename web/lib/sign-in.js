// @ts-check
// How the app signs in, as /config.json says: "dev" (brokeros serve mints a token for a chosen
// role, loopback only) or "cognito" (the user pool's hosted UI, authorization code + PKCE).

import * as session from './session.js';

/**
 * @typedef {Object} CognitoConfig
 * @property {string} domain        the hosted UI's origin, https://…
 * @property {string} client_id
 * @property {string} redirect_uri  this app's address
 * @property {string} logout_uri
 */
/**
 * @typedef {Object} AppConfig
 * @property {'dev' | 'cognito'} sign_in
 * @property {string} [api]         the API's origin when it is not this one
 * @property {CognitoConfig} [cognito]
 */

/** @type {Promise<AppConfig> | null} */
let loaded = null;

/** @returns {Promise<AppConfig>} /config.json, read once */
export function config() {
  loaded ??= fetch('/config.json', { headers: { accept: 'application/json' } }).then((r) => {
    if (!r.ok) throw new Error(`/config.json answered ${r.status}`);
    return r.json();
  });
  return loaded;
}

const VERIFIER_KEY = 'brokeros.pkce.verifier';
const STATE_KEY = 'brokeros.pkce.state';

/** @param {Uint8Array} bytes */
function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {number} length */
function randomText(length) {
  return base64url(crypto.getRandomValues(new Uint8Array(length)));
}

/**
 * Sends the browser to the hosted UI; the verifier and state wait in sessionStorage.
 * @param {CognitoConfig} cognito
 */
export async function startCognito(cognito) {
  const verifier = randomText(32);
  const state = randomText(16);
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  sessionStorage.setItem(STATE_KEY, state);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: cognito.client_id,
    redirect_uri: cognito.redirect_uri,
    scope: 'openid email profile',
    state,
    code_challenge_method: 'S256',
    code_challenge: base64url(new Uint8Array(digest)),
  });
  location.assign(`${cognito.domain}/oauth2/authorize?${params}`);
}

/**
 * Back from the hosted UI with `?code=…&state=…`: exchanges the code for tokens and signs in
 * with the ID token (it carries `cognito:groups`, as the API's authorizer expects). Answers
 * whether there was a code to take.
 * @param {CognitoConfig} cognito
 * @returns {Promise<boolean>}
 */
export async function finishCognito(cognito) {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code) return false;
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  const expected = sessionStorage.getItem(STATE_KEY);
  sessionStorage.removeItem(VERIFIER_KEY);
  sessionStorage.removeItem(STATE_KEY);
  // The code is single-use: take it out of the address bar whatever happens next.
  history.replaceState(null, '', location.pathname + location.hash);
  if (!verifier || params.get('state') !== expected) {
    throw new Error('The sign-in answer does not match the sign-in this tab started: sign in again.');
  }
  const response = await fetch(`${cognito.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: cognito.client_id,
      code,
      redirect_uri: cognito.redirect_uri,
      code_verifier: verifier,
    }),
  });
  if (!response.ok) throw new Error(`The sign-in could not be completed (${response.status}): sign in again.`);
  const tokens = await response.json();
  session.signIn(tokens.id_token);
  return true;
}

/**
 * Ends the session; with Cognito, at the hosted UI too.
 * @param {AppConfig} appConfig
 */
export function signOut(appConfig) {
  session.signOut();
  const cognito = appConfig.cognito;
  if (appConfig.sign_in === 'cognito' && cognito) {
    const params = new URLSearchParams({ client_id: cognito.client_id, logout_uri: cognito.logout_uri });
    location.assign(`${cognito.domain}/logout?${params}`);
  } else {
    location.hash = '#/sign-in';
  }
}
