/*
 * charts.js - a small line chart drawn as SVG nodes (attributes only, no
 * style attributes: the CSP forbids inline style).
 */
import {h} from './dom.js';
import {formatClock, formatNumber} from './format.js';

const WIDTH = 300;
const HEIGHT = 80;
const PAD = 4;

/**
 * A figure with an <svg role="img"> named @p title, the points {at, value}
 * (oldest first) as a line over @p windowMs ending now, and the latest value
 * as text for those who cannot see the line.
 */
export function lineChart(title, points, windowMs, unit = '/s') {
  const now = Date.now();
  const max = Math.max(1e-9, ...points.map((p) => p.value));
  const x = (at) => PAD + ((at - (now - windowMs)) / windowMs) * (WIDTH - 2 * PAD);
  const y = (v) => HEIGHT - PAD - (v / max) * (HEIGHT - 2 * PAD);
  const visible = points.filter((p) => p.at >= now - windowMs);
  const path = visible
    .map((p, i) => `${i ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`)
    .join(' ');
  const latest = visible.length ? visible[visible.length - 1].value : null;
  const summary = latest === null
    ? 'collecting…'
    : `now ${formatNumber(latest)}${unit}, peak ${formatNumber(max < 1e-6 ? 0 : max)}${unit}`;
  const svg = h('svg:svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: 'img',
    'aria-label': title,
    class: 'chart',
    preserveAspectRatio: 'none',
  },
  h('svg:line', {x1: PAD, y1: HEIGHT - PAD, x2: WIDTH - PAD, y2: HEIGHT - PAD, class: 'axis'}),
  path ? h('svg:path', {d: path, class: 'series'}) : null);
  const first = visible.length ? formatClock(visible[0].at) : '';
  return h('figure', {class: 'chart-figure'},
    h('figcaption', {}, h('strong', {}, title), ' ', h('span', {class: 'muted'}, summary)),
    svg,
    first ? h('p', {class: 'chart-range muted'}, `since ${first}`) : null);
}
