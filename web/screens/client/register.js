// @ts-check
// Registration of a portal user as a client (POST /clients).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { heading, myClient } from './client.js';

export const title = 'Register';

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  if (await myClient()) {
    ctx.go('#/client');
    return h('p', null, 'You are registered.');
  }
  return h(
    'section',
    { class: 'narrow', 'data-screen': 'client-register' },
    heading('Open your account', 'Tell us who you are; identity documents come next.'),
    form({
      id: 'client-register',
      submit: 'Register',
      fields: [
        { name: 'first_name', label: 'First name', autocomplete: 'given-name', required: true },
        { name: 'last_name', label: 'Last name', autocomplete: 'family-name', required: true },
        { name: 'email', label: 'Email', type: 'email', autocomplete: 'email', required: true },
        { name: 'phone', label: 'Phone', type: 'tel', autocomplete: 'tel', hint: 'With the country code: +44 20 7946 0000.' },
        { name: 'country', label: 'Country of residence', autocomplete: 'country', hint: 'Two letters: GB, DE, FR…', required: true },
      ],
      onSubmit: async (values) => {
        /** @type {Record<string, unknown>} */
        const body = {};
        for (const [name, value] of Object.entries(values)) if (value.trim()) body[name] = value.trim();
        await api.registerClient(/** @type {api.Body<'register_client'>} */ (body));
        ctx.go('#/client');
      },
    }),
  );
}
