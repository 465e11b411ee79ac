// @ts-check
// A part of a screen that follows something still moving (a withdrawal being checked, a
// payout on its way): it loads and draws itself again until nothing moves or the screen is
// left, without re-rendering the rest (a form being typed in keeps its focus).

import { h, replace } from './dom.js';

/**
 * @template T
 * @param {{load: () => Promise<T>, draw: (data: T) => Node, moving: (data: T) => boolean, signal: AbortSignal, every?: number}} options
 * @returns {Promise<HTMLElement>} the part, drawn once already
 */
export async function live(options) {
  const part = h('div', { 'aria-live': 'polite' });
  const redraw = async () => {
    const data = await options.load();
    if (options.signal.aborted) return;
    replace(part, options.draw(data));
    if (options.moving(data)) setTimeout(() => void redraw().catch(() => {}), options.every ?? 1500);
  };
  await redraw();
  return part;
}
