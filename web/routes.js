// @ts-check
// Every screen of the app: its path, who may open it, its place in the navigation, and its
// module (loaded when first opened). A new screen is a line here and a module in
// web/screens/<area>/.

/** @typedef {import('./lib/session.js').Session} Session */
/** @typedef {import('./lib/session.js').Role} Role */

/**
 * @typedef {Object} ScreenContext
 * @property {Record<string, string>} params  the route's `:name` parts
 * @property {URLSearchParams} query          after `?` in the hash
 * @property {Session} session        the signed-in session (absent on public screens)
 * @property {(hash: string) => void} go      navigate (`#/client/wallet`)
 * @property {() => void} refresh             render the current screen again (the focus stays)
 * @property {(ms: number) => void} again     refresh after `ms` unless the screen was left (polling)
 * @property {AbortSignal} signal             aborted when the screen is left (stop polling)
 */
/**
 * A screen module exports `title` and `render(ctx)`, which answers the screen's element.
 * @typedef {{title: string | ((ctx: ScreenContext) => string), render: (ctx: ScreenContext) => Promise<Node> | Node}} Screen
 */
/**
 * @typedef {Object} Route
 * @property {string} path              `/client/deposits/:id`
 * @property {() => Promise<Screen>} load
 * @property {Role[]} [roles]   who may open it; none: anyone signed in (or public)
 * @property {boolean} [public]         shown without a session
 * @property {string} [area]            its group in the navigation
 * @property {string} [nav]             its link's text; no link without it
 */

/** @type {Route[]} Every screen: add a screen here and in web/screens/<area>/. */
export const ROUTES = [
  { path: '/sign-in', public: true, load: () => import('./screens/sign-in.js') },
  { path: '/home', load: () => import('./screens/home.js') },

  { path: '/client', roles: ['client'], area: 'My account', nav: 'Overview', load: () => import('./screens/client/home.js') },
  { path: '/client/register', roles: ['client'], load: () => import('./screens/client/register.js') },
  { path: '/client/profile', roles: ['client'], area: 'My account', nav: 'Profile and documents', load: () => import('./screens/client/profile.js') },
  { path: '/client/onboarding', roles: ['client'], area: 'My account', nav: 'Onboarding', load: () => import('./screens/client/onboarding.js') },
  { path: '/client/wallet', roles: ['client'], area: 'Money', nav: 'Wallet', load: () => import('./screens/client/wallet.js') },
  { path: '/client/deposit', roles: ['client'], area: 'Money', nav: 'Deposit', load: () => import('./screens/client/deposit.js') },
  { path: '/client/deposits/:id', roles: ['client'], load: () => import('./screens/client/deposit-status.js') },
  { path: '/client/transfer', roles: ['client'], area: 'Money', nav: 'Transfer', load: () => import('./screens/client/transfer.js') },
  { path: '/client/withdrawals', roles: ['client'], area: 'Money', nav: 'Withdrawals', load: () => import('./screens/client/withdrawals.js') },

  { path: '/finance/withdrawals', roles: ['finance', 'admin'], area: 'Finance', nav: 'Withdrawal approvals', load: () => import('./screens/finance/withdrawals.js') },
  { path: '/finance/deposits', roles: ['finance', 'admin'], area: 'Finance', nav: 'Deposits', load: () => import('./screens/finance/deposits.js') },
  { path: '/finance/recon', roles: ['finance', 'admin'], area: 'Finance', nav: 'Reconciliation', load: () => import('./screens/finance/recon.js') },
  { path: '/finance/routing', roles: ['finance', 'admin'], area: 'Finance', nav: 'Payment routing', load: () => import('./screens/finance/routing.js') },
  { path: '/finance/providers', roles: ['finance', 'admin'], area: 'Finance', nav: 'Provider health', load: () => import('./screens/finance/providers.js') },

  { path: '/landing', public: true, load: () => import('./screens/public/landing.js') },
  { path: '/sales/leads', roles: ['sales', 'admin'], area: 'Sales', nav: 'Lead pipeline', load: () => import('./screens/sales/leads.js') },
  { path: '/sales/leads/:id', roles: ['sales', 'admin'], load: () => import('./screens/sales/lead.js') },

  { path: '/compliance/reviews', roles: ['compliance', 'admin'], area: 'Compliance', nav: 'Review queue', load: () => import('./screens/compliance/reviews.js') },
  { path: '/compliance/reviews/:id', roles: ['compliance', 'admin'], load: () => import('./screens/compliance/review.js') },
  { path: '/compliance/jurisdictions', roles: ['compliance', 'admin'], area: 'Compliance', nav: 'Jurisdiction rules', load: () => import('./screens/compliance/jurisdictions.js') },

  { path: '/admin/users', roles: ['admin'], area: 'Admin', nav: 'Users and roles', load: () => import('./screens/admin/users.js') },
  { path: '/admin/audit', roles: ['admin'], area: 'Admin', nav: 'Audit search', load: () => import('./screens/admin/audit.js') },

  { path: '/partners/applications', roles: ['partners', 'admin'], area: 'Partners', nav: 'IB applications', load: () => import('./screens/partners/applications.js') },
  { path: '/partners/ibs', roles: ['partners', 'admin'], area: 'Partners', nav: 'IBs and tree', load: () => import('./screens/partners/ibs.js') },
  { path: '/partners/ibs/:id', roles: ['partners', 'admin'], load: () => import('./screens/partners/ib.js') },
  { path: '/partners/plans', roles: ['partners', 'admin'], area: 'Partners', nav: 'Commission plans', load: () => import('./screens/partners/plans.js') },

  { path: '/ib', roles: ['ib'], area: 'IB portal', nav: 'Earnings', load: () => import('./screens/ib/home.js') },
  { path: '/ib/network', roles: ['ib'], area: 'IB portal', nav: 'Sub-IBs and clients', load: () => import('./screens/ib/network.js') },
  { path: '/ib/statements', roles: ['ib'], area: 'IB portal', nav: 'Statements', load: () => import('./screens/ib/statements.js') },

  { path: '/contests', roles: ['client', 'marketing', 'admin'], area: 'Contests', nav: 'Contests', load: () => import('./screens/contests/list.js') },
  { path: '/contests/new', roles: ['marketing', 'admin'], area: 'Contests', nav: 'New contest', load: () => import('./screens/contests/edit.js') },
  { path: '/contests/:id/edit', roles: ['marketing', 'admin'], load: () => import('./screens/contests/edit.js') },
  { path: '/contests/:id', roles: ['client', 'marketing', 'admin'], load: () => import('./screens/contests/contest.js') },
];

/**
 * The first navigation link of a role: where it lands after signing in.
 * @param {Session} signedIn
 */
export function homeOf(signedIn) {
  const first = ROUTES.find((r) => r.nav && allowed(r, signedIn));
  return first ? `#${first.path}` : '#/home';
}

/** @param {Route} route @param {Session | null} signedIn */
export function allowed(route, signedIn) {
  if (route.public) return true;
  if (!signedIn) return false;
  return !route.roles || route.roles.some((role) => signedIn.roles.includes(role));
}

/**
 * @param {string} pattern @param {string} path
 * @returns {Record<string, string> | null}
 */
export function matchPath(pattern, path) {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  /** @type {Record<string, string>} */
  const params = {};
  for (let i = 0; i < want.length; i += 1) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}

