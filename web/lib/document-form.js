// @ts-check
// Editing a versioned JSON document (routing rules, jurisdiction rules): the next version as
// text, prefilled from the one in force with its version plus one, sent as typed. The API
// checks it — JSON syntax included — and its error names the document's path (`providers[2].id`),
// shown with the message at the top of the form.

import { ApiError } from './api.js';
import { form } from './form.js';

/**
 * @param {{id: string, legend: string, submit: string, current: Record<string, any>, hint: string, send: (text: string) => Promise<void>}} options
 * @returns {HTMLFormElement}
 */
export function documentForm(options) {
  const next = { ...options.current, version: Number(options.current.version) + 1 };
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
