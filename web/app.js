// @ts-check
// The shell: signs in (or finishes a Cognito sign-in), routes `#/…` to one screen module at a
// time (loaded when first needed), and shows in the navigation only the areas of the signed-in
// roles. A route of another role renders "not allowed" (the API refuses its data anyway).

import { h, replace } from './lib/dom.js';
import * as session from './lib/session.js';
import * as api from './lib/api.js';
import { config, finishCognito, signOut } from './lib/sign-in.js';
import { ROUTES, allowed, homeOf, matchPath } from './routes.js';

/** @typedef {import('./routes.js').ScreenContext} ScreenContext */
/** @typedef {import('./routes.js').Route} Route */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));
const navToggle = /** @type {HTMLButtonElement} */ (document.getElementById('nav-toggle'));

let rendering = 0;
/** @type {AbortController | null} */
let leaving = null;

/** @param {{focus?: boolean}} [options]  focus: the heading takes the focus (not when a screen updates itself) */
async function render(options = {}) {
  const focus = options.focus ?? true;
  const turn = ++rendering;
  leaving?.abort();
  leaving = new AbortController();
  const signal = leaving.signal;
  const [path, search = ''] = location.hash.replace(/^#/, '').split('?');
  const signedIn = session.current();
  drawChrome(signedIn, path);
  if (!signedIn && !ROUTES.some((r) => r.public && matchPath(r.path, path))) {
    session.rememberReturn(location.hash);
    // Without a hashchange event: this render goes on with the new address.
    history.replaceState(null, '', '#/sign-in');
    return render(options);
  }
  if (signedIn && (path === '' || path === '/')) {
    history.replaceState(null, '', homeOf(signedIn));
    return render(options);
  }
  let route = null;
  let params = null;
  for (const candidate of ROUTES) {
    params = matchPath(candidate.path, path);
    if (params) {
      route = candidate;
      break;
    }
  }
  /** @type {ScreenContext} */
  const ctx = {
    params: params ?? {},
    query: new URLSearchParams(search),
    session: /** @type {import("./lib/session.js").Session} */ (signedIn),
    go: (hash) => {
      if (location.hash === hash) render();
      else location.hash = hash;
    },
    refresh: () => void render({ focus: false }),
    again: (ms) => {
      const timer = setTimeout(() => render({ focus: false }), ms);
      signal.addEventListener('abort', () => clearTimeout(timer));
    },
    signal,
  };
  let screen;
  try {
    if (!route) screen = await import('./screens/not-found.js');
    else if (!allowed(route, signedIn)) screen = await import('./screens/not-allowed.js');
    else screen = await route.load();
    const element = await screen.render(ctx);
    if (turn !== rendering) return;
    const title = typeof screen.title === 'function' ? screen.title(ctx) : screen.title;
    document.title = `${title} · Broker OS`;
    replace(main, element);
  } catch (failure) {
    if (turn !== rendering) return;
    // A 401 already went to sign-in.
    if (failure instanceof api.ApiError && failure.status === 401) return;
    document.title = 'Something went wrong · Broker OS';
    replace(
      main,
      h('h1', null, 'Something went wrong'),
      h('p', { class: 'form-error', role: 'alert' }, failure instanceof Error ? failure.message : String(failure)),
      h('p', null, h('button', { type: 'button', class: 'button', onclick: () => render() }, 'Try again')),
    );
  }
  // The new screen's heading takes the focus, so keyboard and screen reader users start there.
  const heading = main.querySelector('h1');
  if (heading && focus) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

/**
 * The navigation of the signed-in roles' areas and who is signed in.
 * @param {session.Session | null} signedIn @param {string} path
 */
function drawChrome(signedIn, path) {
  if (!signedIn) {
    replace(nav);
    replace(who);
    navToggle.hidden = true;
    return;
  }
  /** @type {Map<string, Route[]>} */
  const areas = new Map();
  for (const route of ROUTES) {
    if (!route.nav || !allowed(route, signedIn)) continue;
    const area = route.area ?? '';
    areas.set(area, [...(areas.get(area) ?? []), route]);
  }
  replace(
    nav,
    [...areas].map(([area, routes]) =>
      h(
        'div',
        { class: 'nav-area' },
        area ? h('p', { class: 'nav-area-title' }, area) : null,
        h(
          'ul',
          null,
          routes.map((r) =>
            h('li', null, h('a', { href: `#${r.path}`, 'aria-current': path === r.path ? 'page' : null }, r.nav)),
          ),
        ),
      ),
    ),
  );
  navToggle.hidden = areas.size === 0;
  replace(
    who,
    h('span', { class: 'who-name' }, signedIn.sub),
    h('span', { class: 'who-roles' }, signedIn.roles.join(', ')),
    h('button', { type: 'button', class: 'button link', onclick: async () => signOut(await config()) }, 'Sign out'),
  );
}

// The skip link moves the focus without touching the hash (the router's).
document.querySelector('.skip')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
navToggle.addEventListener('click', () => {
  const open = navToggle.getAttribute('aria-expanded') !== 'true';
  navToggle.setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('nav-open', open);
});
nav.addEventListener('click', (event) => {
  if (event.target instanceof HTMLAnchorElement) {
    navToggle.setAttribute('aria-expanded', 'false');
    document.body.classList.remove('nav-open');
  }
});

async function start() {
  const appConfig = await config();
  api.configure({
    api: appConfig.api,
    // The session ended (expired, revoked): back to sign-in, and then to this screen, where
    // the forms' drafts bring back what was typed.
    unauthorized: () => {
      session.signOut();
      session.rememberReturn(location.hash);
      location.hash = '#/sign-in';
    },
  });
  if (appConfig.sign_in === 'cognito' && appConfig.cognito) {
    try {
      if (await finishCognito(appConfig.cognito)) {
        const signedIn = session.current();
        location.replace(session.takeReturn() ?? (signedIn ? homeOf(signedIn) : '#/sign-in'));
      }
    } catch (failure) {
      sessionStorage.setItem('brokeros.sign-in-error', failure instanceof Error ? failure.message : String(failure));
    }
  }
  window.addEventListener('hashchange', () => render());
  await render();
  // The first screen is usable: the browser tests read this mark as the time to interactive.
  performance.mark('brokeros:first-screen');
  document.body.dataset.ready = 'true';
}

start();
