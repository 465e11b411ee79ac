// @ts-check
// A landing page's lead form (public, no sign-in): `POST /leads` with a random Idempotency-Key
// kept with the form's draft, so sending it again (a double click, a retry after a network
// error) captures one lead. The campaign's UTM parameters and an IB's referral code come from
// the page's address (`#/landing?utm_source=google&ref=IB-LDN-1`).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';

export const title = 'Open a trading account';

const FROM_ADDRESS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export function render(ctx) {
  const done = ctx.query.get('thanks');
  if (done) {
    return h(
      'section',
      { class: 'card narrow', 'data-screen': 'landing-thanks' },
      h('h1', null, 'Thank you'),
      h('p', { role: 'status' }, 'We received your details: an account manager will contact you shortly.'),
      h('p', { class: 'hint' }, 'Reference ', h('span', { class: 'id', 'data-testid': 'lead-id' }, done)),
    );
  }
  const campaign = Object.fromEntries(FROM_ADDRESS.filter((n) => ctx.query.get(n)).map((n) => [n, ctx.query.get(n)]));
  const referral = ctx.query.get('ref');
  return h(
    'section',
    { class: 'card narrow', 'data-screen': 'landing' },
    h('h1', null, 'Trade forex and CFDs'),
    h('p', { class: 'lead' }, 'Leave your details and an account manager will help you open your account.'),
    form({
      id: 'landing-lead',
      submit: 'Contact me',
      fields: [
        { name: 'idempotency_key', label: 'Request id', type: 'hidden', generate: () => crypto.randomUUID() },
        { name: 'first_name', label: 'First name', required: true, autocomplete: 'given-name' },
        { name: 'last_name', label: 'Last name', autocomplete: 'family-name' },
        { name: 'email', label: 'Email', type: 'email', autocomplete: 'email', hint: 'An email or a phone number, so we can reach you.' },
        { name: 'phone', label: 'Phone', type: 'tel', autocomplete: 'tel' },
        { name: 'country', label: 'Country', required: true, autocomplete: 'country', hint: 'Two letters: GB, DE, ES…' },
        {
          name: 'marketing_consent',
          label: 'Send me market news and offers',
          type: 'checkbox',
          hint: 'We email you a link to confirm first; you can stop them at any time.',
        },
      ],
      onSubmit: async (values) => {
        /** @type {Record<string, unknown>} */
        const body = { ...campaign, source: 'landing_page', landing_page: '#/landing', marketing_consent: values.marketing_consent === 'true' };
        for (const name of ['first_name', 'last_name', 'email', 'phone', 'country']) {
          if (values[name].trim() !== '') body[name] = values[name];
        }
        if (referral) body.referral_code = referral;
        const captured = await api.captureLead(/** @type {api.Body<'capture_lead'>} */ (body), values.idempotency_key);
        ctx.go(`#/landing?thanks=${encodeURIComponent(captured.lead_id)}`);
      },
    }),
  );
}
