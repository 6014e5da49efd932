/* format.js - times in the browser's time zone, numbers, and names the API spells as codes. */

const dateTime = new Intl.DateTimeFormat(undefined, {dateStyle: 'medium', timeStyle: 'medium'});
const clockTime = new Intl.DateTimeFormat(undefined, {timeStyle: 'medium'});
const number = new Intl.NumberFormat(undefined, {maximumFractionDigits: 2});

/** The admin API gives job, event and audit times in milliseconds... */
export function formatMs(ms) {
  if (!ms) return '—';
  return dateTime.format(new Date(ms));
}

/** ...and installation and settings times in seconds. */
export function formatSeconds(s) {
  return s ? formatMs(s * 1000) : '—';
}

export function formatClock(ms) {
  return clockTime.format(new Date(ms));
}

export function formatNumber(n) {
  return Number.isFinite(n) ? number.format(n) : '—';
}

/** A <time> element: readable text, machine-readable datetime. */
export function timeElement(h, ms) {
  if (!ms) return h('span', {}, '—');
  return h('time', {datetime: new Date(ms).toISOString()}, formatMs(ms));
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${hr} h`;
  if (hr) return `${hr} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/* The words the issue asks for: "authenticated (revoke)", "needs re-install", "revoked". */
const INSTALLATION_STATES = {
  active: 'authenticated',
  needs_reauth: 'needs re-install',
  revoked: 'revoked',
};

export function installationStateText(state) {
  return INSTALLATION_STATES[state] || state;
}

export const JOB_STATES = ['queued', 'waiting', 'running', 'pending', 'done', 'dead', 'cancelled',
  'skipped'];

/** Job states a replay accepts (README: dead, cancelled or skipped). */
export const REPLAYABLE_STATES = new Set(['dead', 'cancelled', 'skipped']);
