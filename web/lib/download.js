// @ts-check
// Saving what a screen read as a file (a statement's CSV, a signed audit export): the text is
// already in the page, read from the API with the session's token, so a plain link (which
// carries no token) would not do.

import { h } from './dom.js';

/**
 * @param {string} filename @param {string} text @param {string} type  `text/csv`, `application/json`
 */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
