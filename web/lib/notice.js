// @ts-check
// What a screen says after an action: the action navigates to the screen with `?done=…`, and
// the screen shows it as a status notice (so a reload or "back" does not repeat the action).

import { h } from './dom.js';

/**
 * Goes to `hash` saying `message` there.
 * @param {import('../routes.js').ScreenContext} ctx @param {string} hash  `#/sales/leads/ID`, with or without a query
 * @param {string} message
 */
export function goSaying(ctx, hash, message) {
  ctx.go(`${hash}${hash.includes('?') ? '&' : '?'}done=${encodeURIComponent(message)}`);
}

/**
 * The notice of the action that led here, if any.
 * @param {import('../routes.js').ScreenContext} ctx
 */
export function doneNotice(ctx) {
  const done = ctx.query.get('done');
  return done ? h('p', { class: 'notice', role: 'status' }, done) : null;
}
