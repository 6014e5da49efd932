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
 * (oldest first) as a line over the last @p windowMs (or the shorter history),
 * and the latest and peak values as text for those who cannot see the line.
 */
export function lineChart(title, points, windowMs, unit = '/s') {
  const now = Date.now();
  const visible = points.filter((p) => p.at >= now - windowMs);
  const peak = Math.max(0, ...visible.map((p) => p.value));
  /* The x axis grows with the history up to the window, so a fresh page is not a flat corner. */
  const from = visible.length > 1 ? Math.max(now - windowMs, visible[0].at) : now - windowMs;
  const span = Math.max(1, now - from);
  const top = peak > 0 ? peak * 1.15 : 1; /* headroom: the peak is not drawn on the frame */
  const x = (at) => PAD + ((at - from) / span) * (WIDTH - 2 * PAD);
  const y = (v) => HEIGHT - PAD - (v / top) * (HEIGHT - 2 * PAD);
  const path = visible
    .map((p, i) => `${i ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`)
    .join(' ');
  const latest = visible.length ? visible[visible.length - 1].value : null;
  const summary = latest === null
    ? 'collecting…'
    : `now ${formatNumber(latest)}${unit}, peak ${formatNumber(peak)}${unit}`;
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
