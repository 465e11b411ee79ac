// @ts-check
// A screen of another role's area.

import { h } from '../lib/dom.js';
import { homeOf } from '../routes.js';

export const title = 'Not allowed';

/** @param {import('../routes.js').ScreenContext} ctx */
export function render(ctx) {
  return h(
    'section',
    { class: 'card narrow', 'data-screen': 'not-allowed' },
    h('h1', null, 'Not allowed'),
    h('p', null, `This screen is not open to your role (${ctx.session.roles.join(', ')}).`),
    h('p', null, h('a', { class: 'button', href: homeOf(ctx.session) }, 'Back to your screens')),
  );
}
