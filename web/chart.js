// Colour classes for counts (route segments, cercles, regions) and a small bar chart in inline SVG.
// No chart library: a few rectangles and two axis labels are all the charts here need.
import { escapeHtml } from './util.js';

/// ColorBrewer YlOrBr, 5 classes: sequential and safe for the common colour-vision deficiencies
/// (areas).
export const CLASS_COLORS = ['#fee391', '#fec44f', '#fe9929', '#d95f0e', '#993404'];
/// ColorBrewer RdPu, 5 classes, for lines drawn over shaded areas (route risk).
export const LINE_COLORS = ['#fcc5c0', '#fa9fb5', '#f768a1', '#c51b8a', '#7a0177'];
/// The colour of a zero count.
export const ZERO_COLOR = '#f4f4f1';

/// Upper bounds of at most 5 classes of the positive `values` (quantiles, whole numbers, ascending,
/// the last one the maximum); [] when no value is positive.
export function classBreaks(values) {
  const positive = values.filter((v) => v > 0).sort((a, b) => a - b);
  const breaks = [];
  for (let i = 1; i <= CLASS_COLORS.length; i++) {
    const bound = positive[Math.ceil((positive.length * i) / CLASS_COLORS.length) - 1];
    if (bound !== undefined && bound !== breaks.at(-1)) breaks.push(bound);
  }
  return breaks;
}

/// The colour of `count` with class upper bounds `breaks`.
export function classColor(count, breaks, colors = CLASS_COLORS) {
  if (count <= 0) return ZERO_COLOR;
  const index = breaks.findIndex((bound) => count <= bound);
  return colors[index === -1 ? breaks.length - 1 : index];
}

/// The MapLibre expression of classColor for the number `input` (an expression).
export function classExpression(input, breaks, colors = CLASS_COLORS) {
  const steps = [1, colors[0], ...breaks.slice(0, -1).flatMap((bound, i) => [bound + 1, colors[i + 1]])];
  return ['step', input, ZERO_COLOR, ...steps];
}

/// Legend items (li) for the classes: "0", "1–4", "5–12"...; each li carries data-min, data-max and
/// data-color.
export function classLegend(breaks, colors = CLASS_COLORS) {
  const item = (min, max, color) => `<li data-min="${min}" data-max="${max}" data-color="${color}">` +
    `<span class="swatch" style="background:${color}"></span>${min === max ? min : `${min}–${max}`}</li>`;
  return [item(0, 0, ZERO_COLOR), ...breaks.map((max, i) => item(i === 0 ? 1 : breaks[i - 1] + 1, max, colors[i]))].join('');
}

/// A bar chart as SVG markup. `bars` are [{ title, parts: [{ value, color, data: {name: value} }] }],
/// each bar a stack of its parts from the bottom; `first` and `last` label the ends of the x axis.
/// Each part is a rect with its data as data-* attributes; each bar has a title (the tooltip).
export function barChart(bars, { width = 264, height = 110, first = '', last = '', label = '' } = {}) {
  const top = 12;
  const bottom = 16;
  const plot = height - top - bottom;
  const max = Math.max(1, ...bars.map((bar) => bar.parts.reduce((sum, p) => sum + p.value, 0)));
  const step = width / Math.max(bars.length, 1);
  const gap = step > 4 ? 1 : 0;
  const groups = bars.map((bar, i) => {
    let y = top + plot;
    const rects = bar.parts.filter((p) => p.value > 0).map((p) => {
      const h = (p.value / max) * plot;
      y -= h;
      const data = Object.entries(p.data ?? {}).map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`).join('');
      return `<rect x="${(i * step).toFixed(2)}" y="${y.toFixed(2)}" width="${Math.max(step - gap, 0.5).toFixed(2)}" ` +
        `height="${h.toFixed(2)}" fill="${p.color}"${data}/>`;
    });
    // A full-height transparent rect keeps the tooltip reachable on short bars.
    return `<g data-index="${i}"><title>${escapeHtml(bar.title)}</title>` +
      `<rect x="${(i * step).toFixed(2)}" y="${top}" width="${step.toFixed(2)}" height="${plot}" fill="transparent"/>${rects.join('')}</g>`;
  });
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(label)}">
    <line x1="0" y1="${top + plot + 0.5}" x2="${width}" y2="${top + plot + 0.5}" stroke="#9aa4ad"/>
    <text x="0" y="9" class="axis">${max}</text>
    ${groups.join('')}
    <text x="0" y="${height - 3}" class="axis">${escapeHtml(first)}</text>
    <text x="${width}" y="${height - 3}" class="axis" text-anchor="end">${escapeHtml(last)}</text>
  </svg>`;
}
