/*
 * metrics.js - the Prometheus text of /metrics read into samples, and a ring
 * buffer of rates derived from counters between two polls.
 */

/* name{label="value",...} value  (the exposition format's sample line) */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value) {
  return value.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
}

/** Map of metric name -> [{labels: {...}, value: Number}]. Comments and junk lines are skipped. */
export function parsePrometheus(text) {
  const metrics = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(LABEL)) labels[l[1]] = unescapeLabel(l[2]);
    const value = Number(m[4]);
    if (!metrics.has(m[1])) metrics.set(m[1], []);
    metrics.get(m[1]).push({labels, value});
  }
  return metrics;
}

/** The sum of a metric's samples whose labels include @p match (all samples without one). */
export function sum(metrics, name, match = {}) {
  let total = 0;
  for (const s of metrics.get(name) || []) {
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}

/** The last @p capacity values, oldest first, in constant memory. */
export class RingBuffer {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = new Array(capacity);
    this.start = 0;
    this.length = 0;
  }

  push(item) {
    const end = (this.start + this.length) % this.capacity;
    this.items[end] = item;
    if (this.length < this.capacity) this.length += 1;
    else this.start = (this.start + 1) % this.capacity;
  }

  toArray() {
    const out = [];
    for (let i = 0; i < this.length; i++) out.push(this.items[(this.start + i) % this.capacity]);
    return out;
  }

  last() {
    return this.length ? this.items[(this.start + this.length - 1) % this.capacity] : undefined;
  }
}

/**
 * Per-second rates of counters between consecutive scrapes. A counter that
 * went down (the server restarted) starts over rather than showing a negative rate.
 */
export class RateTracker {
  constructor(capacity) {
    this.previous = null;
    this.series = new Map();
    this.capacity = capacity;
  }

  /** @p counters: {seriesName: counterValue}; @p at: milliseconds. */
  add(at, counters) {
    if (this.previous) {
      const seconds = (at - this.previous.at) / 1000;
      for (const [name, value] of Object.entries(counters)) {
        const before = this.previous.counters[name];
        if (before === undefined || seconds <= 0) continue;
        const rate = value >= before ? (value - before) / seconds : 0;
        if (!this.series.has(name)) this.series.set(name, new RingBuffer(this.capacity));
        this.series.get(name).push({at, value: rate});
      }
    }
    this.previous = {at, counters};
  }

  points(name) {
    const ring = this.series.get(name);
    return ring ? ring.toArray() : [];
  }
}
