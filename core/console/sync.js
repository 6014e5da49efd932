/*
 * sync.js - an installation's syncs and imports read from its activity
 * (GET /admin/installations/{id}/activity: per job type the newest job and
 * the newest finished one). A sync is a job type that names a sync or an
 * import (startdeliver's "sync", timebook's "contacts_import").
 */

const UNDERWAY = new Set(['queued', 'waiting', 'running', 'pending']);

export function isSyncType(type) {
  return /sync|import/i.test(type);
}

/** The activity entries that are syncs: [{type, latest, last_finished}]. */
export function syncEntries(activity) {
  return activity.jobs.filter((entry) => isSyncType(entry.type));
}

/** The entry's newest job when it is still to finish, else null. */
export function underwayJob(entry) {
  return entry.latest && UNDERWAY.has(entry.latest.state) ? entry.latest : null;
}

/**
 * {done, total} from a checkpoint that tells progress ({done, total} as the
 * timebook import saves it, or {progress: {conversations, total}} as a
 * startdeliver run does); total is null when unknown; null when it tells nothing.
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

/** "ok", "failed: why", "skipped: why", "cancelled". */
export function resultText(job) {
  switch (job.state) {
    case 'done': return 'ok';
    case 'dead': return `failed: ${job.last_error || 'no reason given'}`;
    case 'skipped': return `skipped: ${job.last_error || 'no reason given'}`;
    default: return job.state;
  }
}
