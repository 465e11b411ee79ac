// @ts-check
// The client's KYC profile (PUT /clients/{id}/profile) and identity documents
// (POST /clients/{id}/documents).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { when, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { heading, myClient, registerFirst } from './client.js';

export const title = 'Profile and documents';

/** @param {string[]} codes */
const choices = (codes) => codes.map((value) => ({ value, label: words(value) }));

const DOCUMENT_TYPES = ['passport', 'national_id', 'driving_licence', 'residence_permit', 'proof_of_address', 'proof_of_funds'];
const SOURCES_OF_FUNDS = ['salary', 'savings', 'business', 'investments', 'inheritance', 'crypto', 'other'];

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const client = await myClient();
  if (!client) return registerFirst();
  /** @type {Record<string, unknown>} */
  const profile = client.profile ?? {};
  /** @param {string} name */
  const current = (name) => (profile[name] === undefined ? undefined : String(profile[name]));
  const profileForm = form({
    id: `profile-${client.id}`,
    legend: 'Your profile',
    submit: 'Save profile',
    fields: [
      { name: 'client_type', label: 'Account for', type: 'select', options: [{ value: 'individual', label: 'Myself (individual)' }, { value: 'corporate', label: 'A company (corporate)' }], value: current('client_type') },
      { name: 'date_of_birth', label: 'Date of birth', type: 'date', autocomplete: 'bday', value: current('date_of_birth'), hint: 'Individuals only.' },
      { name: 'company_name', label: 'Company name', autocomplete: 'organization', value: current('company_name'), hint: 'Companies only.' },
      { name: 'nationality', label: 'Nationality', hint: 'Two letters: GB, DE…', value: current('nationality'), required: true },
      { name: 'residence_country', label: 'Country of residence', hint: 'Two letters.', autocomplete: 'country', value: current('residence_country') ?? client.country, required: true },
      { name: 'source_of_funds', label: 'Source of funds', type: 'select', options: choices(SOURCES_OF_FUNDS), value: current('source_of_funds') },
      { name: 'pep_declared', label: 'I am a politically exposed person (or close to one)', type: 'checkbox', value: current('pep_declared') },
    ],
    onSubmit: async (values) => {
      /** @type {Record<string, unknown>} */
      const body = { ...values, pep_declared: values.pep_declared === 'true' };
      for (const name of ['date_of_birth', 'company_name']) if (!values[name]) delete body[name];
      // The form's strings as the contract's fields: the API checks them (a 400 names the field).
      const saved = await api.setProfile(client.id, /** @type {api.Body<'set_profile'>} */ (body));
      const effect = saved.profile_change.effect;
      ctx.go(effect && effect !== 'none' ? '#/client/onboarding' : '#/client/profile?saved=1');
    },
  });
  const documentForm = form({
    id: `document-${client.id}`,
    legend: 'Add a document',
    submit: 'Add document',
    fields: [
      { name: 'type', label: 'Document', type: 'select', options: choices(DOCUMENT_TYPES) },
      { name: 'issuing_country', label: 'Issuing country', hint: 'Two letters.', value: client.country, required: true },
      { name: 'number', label: 'Document number', autocomplete: 'off', required: true, noDraft: true },
    ],
    onSubmit: async (values) => {
      await api.addDocument(client.id, { type: /** @type {api.Body<'add_document'>['type']} */ (values.type), issuing_country: values.issuing_country, number: values.number });
      ctx.go('#/client/profile?added=1');
    },
  });
  const documents = client.documents ?? [];
  const ready = Boolean(client.profile) && documents.length > 0;
  return h(
    'section',
    { 'data-screen': 'client-profile' },
    heading('Profile and documents', 'What the identity check looks at.'),
    ctx.query.get('saved') ? h('p', { class: 'notice', role: 'status' }, 'Profile saved.') : null,
    ctx.query.get('added') ? h('p', { class: 'notice', role: 'status' }, 'Document added.') : null,
    h(
      'div',
      { class: 'grid' },
      h('div', { class: 'card' }, profileForm),
      h(
        'div',
        null,
        table({
          caption: 'Your documents',
          rows: documents,
          empty: 'No document yet: add an identity document (a passport) and a proof of address.',
          columns: [
            { label: 'Document', cell: (d) => words(d.type) },
            { label: 'Country', cell: (d) => d.issuing_country },
            { label: 'Number', cell: (d) => d.number },
            { label: 'Added', cell: (d) => when(d.added_at) },
          ],
        }),
        h('div', { class: 'card' }, documentForm),
      ),
    ),
    ready && client.kyc_status === 'not_started'
      ? h('p', { class: 'actions' }, h('a', { class: 'button primary', href: '#/client/onboarding' }, 'Next: start onboarding'))
      : null,
  );
}
