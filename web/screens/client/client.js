// @ts-check
// What the client portal's screens share: the signed-in portal user's client record.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { words } from '../../lib/format.js';

/**
 * The signed-in user's client, or `null` before they registered (the API answers 404).
 * @returns {Promise<api.Client | null>}
 */
export async function myClient() {
  try {
    return await api.me();
  } catch (failure) {
    if (failure instanceof api.ApiError && failure.status === 404) return null;
    throw failure;
  }
}

/**
 * A screen that cannot be used yet, saying why and what to do first.
 * @param {{screen: string, title: string, text: string, href: string, action: string}} options
 */
export function notYet(options) {
  return h(
    'section',
    { class: 'card narrow', 'data-screen': options.screen },
    h('h1', null, options.title),
    h('p', null, options.text),
    h('p', null, h('a', { class: 'button primary', href: options.href }, options.action)),
  );
}

/** What a client screen shows before registration. */
export function registerFirst() {
  return notYet({
    screen: 'client-not-registered',
    title: 'Open your account',
    text: 'You have not registered yet: it takes a minute.',
    href: '#/client/register',
    action: 'Register',
  });
}

/** How a client pays in and is paid out (the API's payment methods), as select options. */
export const PAYMENT_METHODS = ['card', 'bank_transfer', 'crypto', 'e_wallet'].map((value) => ({
  value,
  label: words(value),
}));

/**
 * A screen's heading with its lead text.
 * @param {string} title @param {string} [lead]
 */
export function heading(title, lead) {
  return h('header', { class: 'screen-head' }, h('h1', null, title), lead ? h('p', { class: 'lead' }, lead) : null);
}
