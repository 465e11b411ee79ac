// @ts-check
// Sign-in. Locally (`brokeros serve`): choose a role and who you are, and serve mints a token
// with its dev key. In AWS: Cognito's hosted UI.

import { h } from '../lib/dom.js';
import * as api from '../lib/api.js';
import * as session from '../lib/session.js';
import { form } from '../lib/form.js';
import { config, startCognito } from '../lib/sign-in.js';
import { homeOf } from '../routes.js';

export const title = 'Sign in';

/** Who signed in last in this tab: offered again when a session ends. */
const LAST_KEY = 'brokeros.dev-sign-in.last';

/** @param {import('../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const appConfig = await config();
  const failed = sessionStorage.getItem('brokeros.sign-in-error');
  sessionStorage.removeItem('brokeros.sign-in-error');
  const intro = h(
    'div',
    null,
    h('h1', null, 'Sign in'),
    failed ? h('p', { class: 'form-error', role: 'alert' }, failed) : null,
    sessionStorage.getItem('brokeros.return')
      ? h('p', { class: 'notice' }, 'Your session ended. Sign in again to go back where you were: what you typed is kept.')
      : null,
  );
  if (appConfig.sign_in === 'cognito' && appConfig.cognito) {
    const cognito = appConfig.cognito;
    return h(
      'section',
      { class: 'card narrow', 'data-screen': 'sign-in' },
      intro,
      h('button', { type: 'button', class: 'button primary', onclick: () => startCognito(cognito) }, 'Sign in with your Broker OS account'),
    );
  }
  const choices = await api.devSignInChoices();
  const last = JSON.parse(sessionStorage.getItem(LAST_KEY) ?? '{}');
  const subjects = new Map(choices.roles.map((r) => [r.role, r.subjects]));
  const suggestions = h('datalist', { id: 'dev-subjects' });
  /** @param {string} role */
  const suggest = (role) => {
    suggestions.replaceChildren(...(subjects.get(role) ?? []).map((s) => h('option', { value: s })));
  };
  const signInForm = form({
    id: 'dev-sign-in',
    submit: 'Sign in',
    fields: [
      {
        name: 'role',
        label: 'Role',
        type: 'select',
        options: choices.roles.map((r) => ({ value: r.role, label: r.role })),
        value: last.role,
      },
      {
        name: 'sub',
        label: 'Who you are',
        hint: 'A portal user for a client (a new name registers a new client), a staff id otherwise: the list suggests the configured ones.',
        autocomplete: 'off',
        required: true,
        value: last.sub,
      },
    ],
    onSubmit: async (values) => {
      const { token } = await api.devSignIn({ role: values.role, sub: values.sub });
      sessionStorage.setItem(LAST_KEY, JSON.stringify({ role: values.role, sub: values.sub }));
      session.signIn(token);
      const signedIn = session.current();
      ctx.go(session.takeReturn() ?? (signedIn ? homeOf(signedIn) : '#/'));
    },
  });
  const role = /** @type {HTMLSelectElement} */ (signInForm.querySelector('[name=role]'));
  const sub = /** @type {HTMLInputElement} */ (signInForm.querySelector('[name=sub]'));
  sub.setAttribute('list', 'dev-subjects');
  const firstOf = () => subjects.get(role.value)?.[0] ?? '';
  role.addEventListener('change', () => {
    suggest(role.value);
    sub.value = firstOf();
  });
  suggest(role.value);
  if (!sub.value) sub.value = firstOf();
  return h(
    'section',
    { class: 'card narrow', 'data-screen': 'sign-in' },
    intro,
    h('p', { class: 'hint' }, 'Local sign-in of brokeros serve: it mints a development token for the role you choose (only on 127.0.0.1).'),
    signInForm,
    suggestions,
  );
}
