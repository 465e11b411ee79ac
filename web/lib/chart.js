// @ts-check
// Charts as inline SVG: no library, readable by screen readers (role="img" with a title, and
// the numbers are always in a table or text beside the picture).

import { svg } from './dom.js';

/**
 * @typedef {Object} Bar
 * @property {string} label  under the bar
 * @property {string} value  a decimal string, as the API gives it
 * @property {string} [text] what the bar's tooltip says (the value otherwise)
 */

/**
 * Vertical bars from zero (negative values go below the axis).
 * Bar heights are drawn from the decimal strings as numbers: pixels, never money arithmetic.
 * @param {{title: string, bars: Bar[], width?: number, height?: number}} options
 * @returns {SVGElement}
 */
export function barChart(options) {
  const width = options.width ?? 480;
  const height = options.height ?? 160;
  const labelRoom = 18;
  const plot = height - labelRoom - 4;
  const values = options.bars.map((b) => Number(b.value));
  const top = Math.max(0, ...values);
  const bottom = Math.min(0, ...values);
  const span = top - bottom || 1;
  const y = (/** @type {number} */ v) => 2 + ((top - v) / span) * plot;
  const slot = width / Math.max(1, options.bars.length);
  const barWidth = Math.max(2, slot * 0.7);
  const showLabels = slot >= 28;
  return svg(
    'svg',
    { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': options.title },
    svg('title', null, options.title),
    svg('line', { x1: 0, x2: width, y1: y(0), y2: y(0), class: 'chart-axis' }),
    options.bars.map((bar, i) => {
      const v = values[i];
      const x = i * slot + (slot - barWidth) / 2;
      return svg(
        'g',
        null,
        svg(
          'rect',
          { x, y: Math.min(y(v), y(0)), width: barWidth, height: Math.max(1, Math.abs(y(v) - y(0))), class: v < 0 ? 'chart-bar negative' : 'chart-bar' },
          svg('title', null, `${bar.label}: ${bar.text ?? bar.value}`),
        ),
        showLabels ? svg('text', { x: x + barWidth / 2, y: height - 4, 'text-anchor': 'middle', class: 'chart-label' }, bar.label) : null,
      );
    }),
  );
}
