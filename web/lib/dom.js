// @ts-check
// Building the DOM without a framework: h() makes an element, its attributes, listeners and
// children in one expression; screens return the tree they build.

/** @typedef {Node | string | number | null | undefined | false} Child */
/** @typedef {Child | Child[] | Array<Child | Child[]>} Children  nested arrays are flattened */
/** @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attrs */

/**
 * An HTML element: `h('a', {href: '#/client', class: 'button'}, 'Overview')`. Attributes whose
 * value is `false`, `null` or `undefined` are left out, `true` sets an empty one; `on…`
 * functions become listeners (`onclick`, `onsubmit`, `oninput`).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * An SVG element, as h() makes HTML ones (charts).
 * @param {string} tag
 * @param {Attrs | null} [attrs]
 * @param {...Children} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs, ...children) {
  const element = /** @type {SVGElement} */ (document.createElementNS(SVG, tag));
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

/**
 * @param {Element} element
 * @param {Attrs | null | undefined} attrs
 */
function setAttributes(element, attrs) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

/**
 * Appends children (nested arrays flattened; `null`, `undefined` and `false` skipped).
 * @param {Element | DocumentFragment} element
 * @param {Children[]} children
 */
export function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Replaces an element's children.
 * @param {Element} element
 * @param {...Children} children
 */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** A unique id for labels and descriptions. */
let counter = 0;
/** @param {string} prefix */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}
