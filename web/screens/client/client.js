// @ts-check
// What the client portal's screens share: the signed-in portal user's client record.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';

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

/** What a client screen shows before registration. */
export function registerFirst() {
  return h(
    'section',
    { class: 'card narrow' },
    h('h1', null, 'Open your account'),
    h('p', null, 'You have not registered yet: it takes a minute.'),
    h('p', null, h('a', { class: 'button primary', href: '#/client/register' }, 'Register')),
  );
}

/**
 * A screen's heading with its lead text.
 * @param {string} title @param {string} [lead]
 */
export function heading(title, lead) {
  return h('header', { class: 'screen-head' }, h('h1', null, title), lead ? h('p', { class: 'lead' }, lead) : null);
}
