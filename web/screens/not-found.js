// @ts-check
// An address the app has no screen for.

import { h } from '../lib/dom.js';

export const title = 'Not found';

export function render() {
  return h(
    'section',
    { class: 'card narrow' },
    h('h1', null, 'Not found'),
    h('p', null, 'There is no screen at this address.'),
    h('p', null, h('a', { class: 'button', href: '#/' }, 'Back to your screens')),
  );
}
