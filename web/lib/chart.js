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

/** Bars stay bars when there are few of them (one day, one period). */
const MAX_BAR_WIDTH = 64;

/**
 * Vertical bars from zero (negative values go below the axis).
 * Bar heights are drawn from the decimal strings as numbers: pixels, never money arithmetic.
 * @param {{title: string, bars: Bar[], width?: number, height?: number, values?: boolean}} options
 *   values: each bar's text above it (a few bars whose numbers matter: a funnel)
 * @returns {SVGElement}
 */
export function barChart(options) {
  const width = options.width ?? 480;
  const height = options.height ?? 160;
  const labelRoom = 18;
  const valueRoom = options.values ? 16 : 0;
  const plot = height - labelRoom - 4 - valueRoom;
  const values = options.bars.map((b) => Number(b.value));
  const top = Math.max(0, ...values);
  const bottom = Math.min(0, ...values);
  // All zero: the bars sit on a bottom axis, not at the top.
  const ceiling = top === bottom ? top + 1 : top;
  const span = ceiling - bottom;
  const y = (/** @type {number} */ v) => 2 + valueRoom + ((ceiling - v) / span) * plot;
  const slot = width / Math.max(1, options.bars.length);
  const barWidth = Math.max(2, Math.min(slot * 0.7, MAX_BAR_WIDTH));
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
        options.values ? svg('text', { x: x + barWidth / 2, y: Math.min(y(v), y(0)) - 4, 'text-anchor': 'middle', class: 'chart-value' }, bar.text ?? bar.value) : null,
      );
    }),
  );
}

/**
 * @typedef {Object} Series  one stacked part of every bar (a provider's deposits per day)
 * @property {string} name
 * @property {number[]} values  counts, one per category
 */

/** Distinct fills for stacked series (style.css `chart-series-N`); more series reuse them. */
const SERIES_FILLS = 6;

/**
 * Stacked vertical bars of counts, one per category, with a legend naming each series' fill.
 * Counts only (whole numbers of things): amounts of money are never added up here.
 * @param {{title: string, categories: string[], series: Series[], width?: number, height?: number}} options
 * @returns {SVGElement}
 */
export function stackedBarChart(options) {
  const width = options.width ?? 480;
  const legendRoom = 18 * Math.ceil(options.series.length / 3);
  const height = (options.height ?? 160) + legendRoom;
  const labelRoom = 18;
  const valueRoom = 16;
  const plot = height - legendRoom - labelRoom - valueRoom - 4;
  const totals = options.categories.map((_, i) => options.series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const top = Math.max(1, ...totals);
  const base = legendRoom + valueRoom + plot + 2;
  const slot = width / Math.max(1, options.categories.length);
  const barWidth = Math.max(2, Math.min(slot * 0.7, MAX_BAR_WIDTH));
  const fill = (/** @type {number} */ i) => `chart-bar chart-series-${i % SERIES_FILLS}`;
  return svg(
    'svg',
    { class: 'chart chart-stacked', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': options.title },
    svg('title', null, options.title),
    options.series.map((s, i) =>
      svg(
        'g',
        null,
        svg('rect', { x: (i % 3) * (width / 3) + 4, y: Math.floor(i / 3) * 18 + 4, width: 10, height: 10, class: fill(i) }),
        svg('text', { x: (i % 3) * (width / 3) + 18, y: Math.floor(i / 3) * 18 + 13, class: 'chart-label' }, s.name),
      ),
    ),
    svg('line', { x1: 0, x2: width, y1: base, y2: base, class: 'chart-axis' }),
    options.categories.map((category, c) => {
      const x = c * slot + (slot - barWidth) / 2;
      let below = base;
      const parts = options.series.map((s, i) => {
        const count = s.values[c] ?? 0;
        const h = (count / top) * plot;
        below -= h;
        return count
          ? svg('rect', { x, y: below, width: barWidth, height: h, class: fill(i) }, svg('title', null, `${category}, ${s.name}: ${count}`))
          : null;
      });
      return svg(
        'g',
        null,
        parts,
        svg('text', { x: x + barWidth / 2, y: below - 4, 'text-anchor': 'middle', class: 'chart-value' }, String(totals[c])),
        slot >= 28 ? svg('text', { x: x + barWidth / 2, y: height - 4, 'text-anchor': 'middle', class: 'chart-label' }, category) : null,
      );
    }),
  );
}
