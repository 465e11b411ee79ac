// @ts-check
// Forms: labelled fields, the API's {code, message, field?} shown next to the field it names
// (or at the form's top), and a draft of what was typed kept in sessionStorage, so a session
// that expires mid-form loses nothing: the form comes back filled after signing in.
//
// The API validates (one piece of logic): forms send what was typed and show what it answers.

import { h, replace, uid } from './dom.js';
import { ApiError } from './api.js';

/**
 * @typedef {Object} Field
 * @property {string} name        the API's field name: an error's `field` finds its input by it
 * @property {string} label
 * @property {'text' | 'email' | 'tel' | 'date' | 'datetime-local' | 'number' | 'file' | 'select' | 'textarea' | 'checkbox' | 'hidden'} [type]
 * @property {Array<{value: string, label: string}>} [options]  for selects
 * @property {string} [value]     the initial value (a draft's wins)
 * @property {() => string} [generate]  the initial value of a hidden field without a draft (a request id)
 * @property {string} [hint]
 * @property {boolean} [required] marks the label; the API checks
 * @property {string} [autocomplete]
 * @property {string} [inputmode]
 * @property {string[]} [errorFields]  other names the API may give this field's errors
 * @property {boolean} [noDraft]  never kept in sessionStorage (a card number)
 */

/** @typedef {Record<string, string>} Values  what was typed, by field name ('true'/'' for checkboxes) */

/**
 * @typedef {Object} FormOptions
 * @property {string} id            names the draft; unique per form
 * @property {Field[]} fields
 * @property {string} submit        the button's label
 * @property {(values: Values) => Promise<void>} onSubmit  throws ApiError to show it
 * @property {string} [legend]
 */

const DRAFT_PREFIX = 'brokeros.draft.';

/** @param {string} id @returns {Values} */
function readDraft(id) {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFT_PREFIX + id) ?? '{}');
  } catch {
    return {};
  }
}

/**
 * @param {FormOptions} options
 * @returns {HTMLFormElement}
 */
export function form(options) {
  const draft = readDraft(options.id);
  const formError = h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
  /** @type {Map<string, {input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, error: HTMLElement, field: Field}>} */
  const controls = new Map();

  const rows = options.fields.map((field) => {
    const id = uid(`f-${field.name.replace(/\W/g, '-')}`);
    const hintId = field.hint ? `${id}-hint` : null;
    const errorId = `${id}-error`;
    const initial = draft[field.name] ?? field.value ?? (field.generate ? field.generate() : '');
    const common = {
      id,
      name: field.name,
      'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
      autocomplete: field.autocomplete,
      inputmode: field.inputmode,
    };
    /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */
    let input;
    if (field.type === 'select') {
      input = h('select', common, (field.options ?? []).map((o) => h('option', { value: o.value }, o.label)));
      input.value = initial || (field.options?.[0]?.value ?? '');
    } else if (field.type === 'textarea') {
      input = h('textarea', { ...common, rows: 3 });
      input.value = initial;
    } else if (field.type === 'checkbox') {
      input = h('input', { ...common, type: 'checkbox' });
      input.checked = initial === 'true';
    } else {
      input = h('input', { ...common, type: field.type ?? 'text' });
      input.value = initial;
    }
    const error = h('p', { id: errorId, class: 'field-error', hidden: true });
    controls.set(field.name, { input, error, field });
    if (field.type === 'hidden') return input;
    const label = h('label', { for: id }, field.label, field.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null);
    const hint = field.hint ? h('p', { id: hintId, class: 'hint' }, field.hint) : null;
    const className = field.type === 'checkbox' ? 'field field-checkbox' : 'field';
    return field.type === 'checkbox'
      ? h('div', { class: className }, input, label, hint, error)
      : h('div', { class: className }, label, hint, input, error);
  });

  /** @returns {Values} */
  const values = () => {
    /** @type {Values} */
    const out = {};
    for (const [name, { input }] of controls) {
      out[name] = input instanceof HTMLInputElement && input.type === 'checkbox' ? String(input.checked) : input.value;
    }
    return out;
  };
  const saveDraft = () => {
    /** @type {Values} */
    const kept = {};
    for (const [name, value] of Object.entries(values())) {
      if (!controls.get(name)?.field.noDraft) kept[name] = value;
    }
    sessionStorage.setItem(DRAFT_PREFIX + options.id, JSON.stringify(kept));
  };
  const clearErrors = () => {
    formError.hidden = true;
    for (const { input, error } of controls.values()) {
      input.removeAttribute('aria-invalid');
      error.hidden = true;
      error.textContent = '';
    }
  };
  /** @param {unknown} failure */
  const showError = (failure) => {
    const message = failure instanceof Error ? failure.message : String(failure);
    const named = failure instanceof ApiError && failure.field ? controlFor(controls, failure.field) : null;
    if (named && named.field.type !== 'hidden') {
      named.input.setAttribute('aria-invalid', 'true');
      named.error.textContent = message;
      named.error.hidden = false;
      named.input.focus();
    } else {
      replace(formError, message);
      formError.hidden = false;
      formError.focus();
    }
  };

  const button = h('button', { type: 'submit', class: 'button primary' }, options.submit);
  const element = h(
    'form',
    { class: 'form', novalidate: true, 'data-form': options.id, oninput: saveDraft, onchange: saveDraft },
    options.legend ? h('h2', null, options.legend) : null,
    formError,
    rows,
    h('div', { class: 'actions' }, button),
  );
  saveDraft();
  element.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await options.onSubmit(values());
      sessionStorage.removeItem(DRAFT_PREFIX + options.id);
    } catch (failure) {
      // A 401 already left for the sign-in screen; the draft brings this form back.
      if (!(failure instanceof ApiError && failure.status === 401)) showError(failure);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
  return element;
}

/**
 * The control an error's `field` names: by name, by one of its `errorFields`, by the path
 * without its last index (`eligibility.countries[1]` → `eligibility.countries`), or by the last
 * part of a dotted path (`profile.date_of_birth`) without its index.
 * @template T
 * @param {Map<string, T & {field: Field}>} controls
 * @param {string} field
 */
function controlFor(controls, field) {
  // `referral_codes[0].campaign` → `campaign`; `plans[1]` → `plans`.
  const last = (field.split('.').pop() ?? field).replace(/\[\d+\]$/, '');
  const list = field.replace(/\[\d+\]$/, '');
  for (const [name, control] of controls) {
    if (name === field || control.field.errorFields?.includes(field)) return control;
  }
  return controls.get(list) ?? controls.get(last) ?? null;
}

/**
 * Forgets a form's draft (after what it asked for was done elsewhere).
 * @param {string} id
 */
export function dropDraft(id) {
  sessionStorage.removeItem(DRAFT_PREFIX + id);
}
