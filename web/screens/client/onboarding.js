// @ts-check
// Onboarding: start it (POST /clients/{id}/onboarding) and follow its status (GET …/kyc).

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { form } from '../../lib/form.js';
import { badge, when, words } from '../../lib/format.js';
import { table } from '../../lib/table.js';
import { heading, myClient, registerFirst } from './client.js';

export const title = 'Onboarding';

/** Statuses of an onboarding that is still being decided: the screen looks again. */
const RUNNING = new Set(['running']);
const POLL_MS = 1500;

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const client = await myClient();
  if (!client) return registerFirst();
  const kyc = await api.kyc(client.id);
  const onboardings = kyc.onboardings ?? [];
  const running = onboardings.some((o) => RUNNING.has(o.status));
  if (running) ctx.again(POLL_MS);
  const canStart = !running && kyc.kyc_status !== 'approved';
  return h(
    'section',
    { 'data-screen': 'client-onboarding' },
    heading('Onboarding', 'We check your identity and documents, then open your trading account.'),
    h('dl', { class: 'facts' }, h('dt', null, 'Identity check'), h('dd', { 'data-testid': 'kyc-status' }, badge(kyc.kyc_status))),
    running ? h('p', { class: 'notice', role: 'status' }, 'Checking… this page updates by itself.') : null,
    canStart
      ? h(
          'div',
          { class: 'card narrow' },
          form({
            id: `onboarding-${client.id}`,
            legend: 'Start onboarding',
            submit: 'Start onboarding',
            fields: [
              {
                name: 'product',
                label: 'What you want to trade',
                type: 'select',
                options: [
                  { value: 'forex', label: 'Forex' },
                  { value: 'cfd', label: 'CFDs' },
                  { value: 'crypto_cfd', label: 'Crypto CFDs' },
                ],
              },
            ],
            onSubmit: async (values) => {
              await api.startOnboarding(client.id, { product: values.product });
              ctx.refresh();
            },
          }),
        )
      : null,
    h('h2', null, 'History'),
    table({
      caption: 'Onboardings',
      rows: onboardings,
      empty: 'Not started yet: complete your profile and documents, then start onboarding here.',
      columns: [
        { label: 'Product', cell: (o) => words(o.product) },
        { label: 'Status', cell: (o) => badge(o.status) },
        { label: 'Started', cell: (o) => when(o.started_at) },
        { label: 'Finished', cell: (o) => when(o.finished_at) },
        { label: 'Trading account', cell: (o) => (o.account ? `${o.account.login} (${o.account.currency})` : '') },
      ],
    }),
  );
}
