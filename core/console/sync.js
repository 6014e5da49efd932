/*
 * sync.js - which jobs of an installation are its syncs or imports, how far a
 * running one got, and how the last one ended. The admin API knows jobs, not
 * syncs: a sync is a job whose type is one of the plugin's schedules (the
 * periodic sync) or names a sync or an import (a contact import, say).
 */

const FINISHED = new Set(['done', 'dead', 'cancelled', 'skipped']);
const UNDERWAY = new Set(['queued', 'waiting', 'running', 'pending']);

export function isSyncJob(job, plugin) {
  const scheduled = plugin && plugin.schedules.some((s) => s.name === job.type);
  return scheduled || /sync|import/i.test(job.type);
}

/**
 * {done, total} from a checkpoint that tells progress ({done, total} as the
 * timebook import saves it, or {progress: {conversations, total}} as a
 * startdeliver run does); null when it tells none.
 */
export function progressOf(checkpoint) {
  if (!checkpoint || typeof checkpoint !== 'object') return null;
  const p = checkpoint.progress && typeof checkpoint.progress === 'object'
    ? {done: checkpoint.progress.conversations ?? checkpoint.progress.done,
      total: checkpoint.progress.total}
    : {done: checkpoint.done, total: checkpoint.total};
  if (!Number.isFinite(p.done)) return null;
  return {done: p.done, total: Number.isFinite(p.total) && p.total > 0 ? p.total : null};
}

/** The newest sync job underway in @p jobs (newest first), or null. */
export function runningSync(jobs, plugin) {
  return jobs.find((j) => UNDERWAY.has(j.state) && isSyncJob(j, plugin)) || null;
}

/** The newest finished sync job in @p jobs (newest first), or null. */
export function lastSync(jobs, plugin) {
  return jobs.find((j) => FINISHED.has(j.state) && isSyncJob(j, plugin)) || null;
}

/** "ok", "failed: why", "cancelled", "skipped: why". */
export function resultText(job) {
  switch (job.state) {
    case 'done': return 'ok';
    case 'dead': return `failed: ${job.last_error || 'no reason given'}`;
    case 'skipped': return `skipped: ${job.last_error || 'no reason given'}`;
    default: return job.state;
  }
}
