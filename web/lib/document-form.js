// @ts-check
// Versioned JSON documents (routing rules, jurisdiction rules): their versions, what changed
// between two, and the next version edited as text — prefilled from the one in force with its
// version plus one, sent as typed. The API checks it, JSON syntax included, and its error names
// the document's path (`providers[2].id`), shown with the message at the top of the form.

import { ApiError } from './api.js';
import { changes, diffTable, versionPicker } from './diff.js';
import { h } from './dom.js';
import { form } from './form.js';
import { goSaying } from './notice.js';
import { table } from './table.js';

/**
 * @param {{id: string, legend: string, submit: string, current: Record<string, any>, next?: (next: Record<string, any>) => Record<string, any>, hint: string, send: (text: string) => Promise<void>}} options
 * @returns {HTMLFormElement}
 */
function documentForm(options) {
  const bumped = { ...options.current, version: Number(options.current.version) + 1 };
  const next = options.next ? options.next(bumped) : bumped;
  const element = form({
    id: options.id,
    legend: options.legend,
    submit: options.submit,
    fields: [{ name: 'document', label: 'Next version (JSON)', type: 'textarea', value: JSON.stringify(next, null, 2), hint: options.hint }],
    onSubmit: async (values) => {
      try {
        await options.send(values.document);
      } catch (failure) {
        if (failure instanceof ApiError && failure.field && failure.field !== 'document') {
          throw new ApiError(failure.status, { code: failure.code, message: `${failure.field}: ${failure.message}` });
        }
        throw failure;
      }
    },
  });
  element.querySelector('textarea')?.classList.add('code');
  element.querySelector('textarea')?.setAttribute('rows', '18');
  element.querySelector('textarea')?.setAttribute('spellcheck', 'false');
  return element;
}

/**
 * A versioned document's screen part: every version (newest first, the last in force), what
 * changed between two of them (chosen in the address), and the editor of the next version.
 * @template {Record<string, any> & {version: number}} V
 * @param {{
 *   ctx: import('../routes.js').ScreenContext,
 *   hash: string,
 *   keep?: string[],
 *   versions: V[],
 *   caption: string,
 *   columns: Array<import('./table.js').Column<V>>,
 *   formId: string,
 *   hint: string,
 *   next?: (next: Record<string, any>) => Record<string, any>,
 *   put: (text: string) => Promise<unknown>,
 * }} options  hash: the screen's address with what it keeps (`#/compliance/jurisdictions?id=eu`);
 *   keep: the parameters of that address the version picker keeps; next: what else the next
 *   version's prefill changes beyond its number (a plan's effective time)
 */
export function versionedDocument(options) {
  const { ctx, versions } = options;
  const latest = versions[versions.length - 1];
  const { from, to, picker } = versionPicker(ctx, options.hash.replace(/^#/, '').split('?')[0], versions, options.keep);
  return [
    table({
      caption: options.caption,
      rows: [...versions].reverse(),
      empty: '',
      rowId: (v) => String(v.version),
      columns: [{ label: 'Version', cell: (v) => `v${v.version}${v === latest ? ' (in force)' : ''}` }, ...options.columns],
    }),
    h('h2', null, 'What changed'),
    picker,
    from && to
      ? diffTable({ caption: `From v${from.version} to v${to.version}`, changes: changes(from, to), empty: 'The two versions are the same.' })
      : h('p', { class: 'hint' }, 'One version only: nothing to compare yet.'),
    h(
      'div',
      { class: 'card' },
      documentForm({
        id: `${options.formId}-v${latest.version}`,
        legend: `Edit: version ${latest.version + 1}`,
        submit: 'Put in force',
        current: latest,
        next: options.next,
        hint: options.hint,
        send: async (text) => {
          await options.put(text);
          goSaying(ctx, options.hash, `Version ${latest.version + 1} is in force.`);
        },
      }),
    ),
  ];
}
