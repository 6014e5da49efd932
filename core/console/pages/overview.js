/*
 * pages/overview.js - health, plugins loaded and refused, the job queue, and
 * request rates from /metrics drawn over the last minutes. Polls every few
 * seconds; the rates live in a ring buffer kept while the tab is open.
 */
import {api, fetchText} from '../api.js';
import {lineChart} from '../charts.js';
import {h, replace} from '../dom.js';
import {formatDuration, formatNumber} from '../format.js';
import {parsePrometheus, RateTracker, sum} from '../metrics.js';

const POLL_MS = 5000;
const WINDOW_MS = 5 * 60 * 1000;
/* Module-level: the history survives a visit to another page. */
const rates = new RateTracker(Math.ceil(WINDOW_MS / POLL_MS) + 1);

const CHARTS = [
  ['webhooks', 'Webhooks per second'],
  ['intercom', 'Intercom requests per second'],
  ['rate_limited', 'Intercom 429s per second'],
];

function stat(term, value, link) {
  return [h('dt', {}, term), h('dd', {}, link ? h('a', {href: link}, value) : value)];
}

function healthView(health) {
  return h('dl', {class: 'stats'},
    stat('Status', h('span', {class: `badge ${health.status === 'ok' ? 'good' : 'bad'}`},
      health.status)),
    stat('Version', health.version),
    stat('Uptime', formatDuration(health.uptime_s)));
}

function pluginsView(list) {
  const loaded = list.plugins.map((p) => h('li', {},
    h('a', {href: '#/plugins'}, p.name), ` ${p.version} — ${p.state}`,
    p.configured ? '' : h('span', {class: 'badge warn'}, 'not configured')));
  const refused = list.refused.map((r) => h('li', {},
    h('strong', {}, r.name), ': ', h('span', {class: 'reason'}, r.reason)));
  return [
    h('p', {}, `${list.plugins.length} loaded, ${list.refused.length} refused`),
    loaded.length ? h('ul', {class: 'plain'}, loaded) : null,
    refused.length ? [h('h3', {}, 'Refused'), h('ul', {class: 'plain refused'}, refused)] : null,
  ];
}

function jobsView(metrics) {
  const state = (s) => sum(metrics, 'switchboard_jobs', {state: s});
  return h('dl', {class: 'stats'},
    stat('Queue depth', formatNumber(state('queued') + state('waiting')), '#/jobs?state=queued'),
    stat('Running', formatNumber(state('running')), '#/jobs?state=running'),
    stat('Dead jobs', formatNumber(state('dead')), '#/jobs?state=dead'),
    stat('Intercom requests waiting', formatNumber(sum(metrics, 'switchboard_intercom_queued'))));
}

function record(metrics) {
  rates.add(Date.now(), {
    webhooks: sum(metrics, 'switchboard_webhooks_total'),
    intercom: sum(metrics, 'switchboard_intercom_requests_total'),
    rate_limited: sum(metrics, 'switchboard_intercom_rate_limited_total'),
  });
}

function section(title, body) {
  return h('section', {class: 'card', 'aria-labelledby': `h-${title}`},
    h('h2', {id: `h-${title}`}, title), body);
}

export async function render(ctx) {
  const health = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  const plugins = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  const jobs = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  const charts = h('div', {class: 'charts'});
  ctx.main.append(
    h('h1', {}, 'Overview'),
    h('div', {class: 'grid'},
      section('Health', health),
      section('Plugins', plugins),
      section('Jobs', jobs)),
    section('Request rates', [
      h('p', {class: 'muted'}, `Last ${WINDOW_MS / 60000} minutes, from /metrics every ${POLL_MS / 1000} s.`),
      charts]));

  await ctx.every(POLL_MS, async () => {
    const [healthText, pluginList, metricsText] = await Promise.all([
      fetchText('/healthz', {signal: ctx.signal}).catch((error) => {
        /* 503 while stopping still carries the JSON status */
        if (error.status === 503) return JSON.stringify({status: 'stopping'});
        throw error;
      }),
      api('/admin/plugins', {signal: ctx.signal}),
      fetchText('/metrics', {signal: ctx.signal}),
    ]);
    const metrics = parsePrometheus(metricsText);
    record(metrics);
    ctx.clearAlert();
    replace(health, healthView(JSON.parse(healthText)));
    replace(plugins, pluginsView(pluginList));
    replace(jobs, jobsView(metrics));
    replace(charts, CHARTS.map(([key, title]) => lineChart(title, rates.points(key), WINDOW_MS)));
  });
}
