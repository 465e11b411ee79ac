// @ts-check
// Where a role without screens of its own lands.

import { h } from '../lib/dom.js';

export const title = 'Welcome';

/** @param {import('../routes.js').ScreenContext} ctx */
export function render(ctx) {
  return h(
    'section',
    null,
    h('h1', null, 'Welcome'),
    h('p', null, `Signed in as ${ctx.session.sub} (${ctx.session.roles.join(', ')}).`),
    h('p', null, 'The screens of this role are not in the web app yet: the API serves it meanwhile (README, "Try the API locally").'),
  );
}
