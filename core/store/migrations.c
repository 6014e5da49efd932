/*
 * migrations.c - the schema, as numbered steps. A step is never edited once
 * released; changes are new steps appended at the end.
 */
#include "store/migrations.h"

#include "util.h"

static const char *const steps[] = {
    /* 1: core tables */
    "CREATE TABLE installations ("
    "  id INTEGER PRIMARY KEY,"
    "  plugin TEXT NOT NULL,"
    "  workspace_id TEXT NOT NULL,"
    "  workspace_name TEXT,"
    "  region TEXT NOT NULL DEFAULT 'US',"
    "  admin_id TEXT,"
    "  admin_email TEXT,"
    "  token BLOB," /* AES-256-GCM sealed; NULL once revoked */
    "  state TEXT NOT NULL DEFAULT 'active'"
    "    CHECK (state IN ('active', 'needs_reauth', 'revoked')),"
    "  installed_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  UNIQUE (plugin, workspace_id));"
    "CREATE TABLE oauth_states ("
    "  nonce TEXT PRIMARY KEY,"
    "  plugin TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER);"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  plugin TEXT NOT NULL,"
    "  notification_id TEXT NOT NULL,"
    "  installation_id INTEGER,"
    "  workspace_id TEXT,"
    "  topic TEXT NOT NULL,"
    "  created_at INTEGER,"
    "  received_at INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL," /* queued, ignored, unrouted, revoked */
    "  body TEXT NOT NULL,"
    "  UNIQUE (plugin, notification_id));"
    "CREATE INDEX events_by_time ON events (plugin, id);"
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY,"
    "  plugin TEXT NOT NULL,"
    "  installation_id INTEGER NOT NULL DEFAULT 0,"
    "  type TEXT NOT NULL,"
    "  key TEXT,"
    "  payload TEXT,"
    "  event_id INTEGER,"
    "  state TEXT NOT NULL"
    "    CHECK (state IN ('queued', 'waiting', 'running', 'pending', 'done', 'dead',"
    "                     'cancelled')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  max_attempts INTEGER NOT NULL,"
    "  run_at INTEGER NOT NULL," /* ms since the epoch */
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  finished_at INTEGER);"
    /* Partial indexes keep finished jobs, the bulk of the table, out of the hot paths. */
    "CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'queued';"
    /* 'waiting': behind an older job with the same key; promoted when that one finishes. */
    "CREATE INDEX jobs_active_key ON jobs (plugin, installation_id, key, id)"
    "  WHERE key IS NOT NULL AND state IN ('queued', 'waiting', 'running', 'pending');"
    "CREATE INDEX jobs_by_state ON jobs (state, id);"
    "CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('done', 'cancelled');"
    "CREATE TABLE schedules ("
    "  plugin TEXT NOT NULL,"
    "  installation_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  interval_s INTEGER NOT NULL,"
    "  next_run_at INTEGER NOT NULL," /* ms */
    "  last_run_at INTEGER,"
    "  PRIMARY KEY (plugin, installation_id, name));"
    "CREATE TABLE settings ("
    "  plugin TEXT NOT NULL,"
    "  installation_id INTEGER NOT NULL,"
    "  body TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (plugin, installation_id));"
    "CREATE TABLE documents ("
    "  plugin TEXT NOT NULL,"
    "  installation_id INTEGER NOT NULL,"
    "  collection TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (plugin, installation_id, collection, key)) WITHOUT ROWID;"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  plugin TEXT NOT NULL,"
    "  installation_id INTEGER NOT NULL,"
    "  subject TEXT,"
    "  action TEXT NOT NULL,"
    "  detail TEXT,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX audit_timeline ON audit (plugin, installation_id, id);"
    "CREATE INDEX audit_by_subject ON audit (plugin, installation_id, subject, id);",
    /*
     * 2: indexes for pruning. Old events were found by scanning the whole events
     * table (no index on received_at), and for each one every unfinished job was
     * scanned for a reference to it (none on event_id): an hourly stall of the
     * loop that grew with the tables (seconds at a million rows).
     */
    "CREATE INDEX events_by_received ON events (received_at);"
    "CREATE INDEX jobs_by_event ON jobs (event_id) WHERE event_id IS NOT NULL;",
    /*
     * 3: the 'skipped' job state - a job whose object no longer exists at
     * Intercom ends there with its reason, neither done nor dead. SQLite cannot
     * change a CHECK constraint in place, so the table is rebuilt (same columns,
     * same ids) and its indexes made again.
     */
    "CREATE TABLE jobs_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  plugin TEXT NOT NULL,"
    "  installation_id INTEGER NOT NULL DEFAULT 0,"
    "  type TEXT NOT NULL,"
    "  key TEXT,"
    "  payload TEXT,"
    "  event_id INTEGER,"
    "  state TEXT NOT NULL"
    "    CHECK (state IN ('queued', 'waiting', 'running', 'pending', 'done', 'dead',"
    "                     'cancelled', 'skipped')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  max_attempts INTEGER NOT NULL,"
    "  run_at INTEGER NOT NULL,"
    "  last_error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  finished_at INTEGER);"
    "INSERT INTO jobs_v3 (id, plugin, installation_id, type, key, payload, event_id, state,"
    "  attempts, max_attempts, run_at, last_error, created_at, updated_at, finished_at)"
    "  SELECT id, plugin, installation_id, type, key, payload, event_id, state, attempts,"
    "  max_attempts, run_at, last_error, created_at, updated_at, finished_at FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v3 RENAME TO jobs;"
    "CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'queued';"
    "CREATE INDEX jobs_active_key ON jobs (plugin, installation_id, key, id)"
    "  WHERE key IS NOT NULL AND state IN ('queued', 'waiting', 'running', 'pending');"
    "CREATE INDEX jobs_by_state ON jobs (state, id);"
    "CREATE INDEX jobs_finished ON jobs (finished_at)"
    "  WHERE state IN ('done', 'cancelled', 'skipped');"
    "CREATE INDEX jobs_by_event ON jobs (event_id) WHERE event_id IS NOT NULL;",
    /*
     * 4: SDK 1.1 - a job's checkpoint (job_checkpoint: JSON the plugin saves
     * to resume from, handed back on every later attempt, cleared when the job
     * ends done or skipped) and the machine-readable code of its last error
     * (sb_result.code).
     */
    "ALTER TABLE jobs ADD COLUMN checkpoint TEXT;"
    "ALTER TABLE jobs ADD COLUMN last_error_code TEXT;",
    /*
     * 5: SDK 1.1 product events - deliveries are jobs the host runs itself
     * (type 'product:<event type>'); a plugin's product webhook that answered
     * 410 Gone stays disabled, its deliveries held, until an integrator
     * enables it again.
     */
    "CREATE TABLE product_endpoints ("
    "  plugin TEXT PRIMARY KEY,"
    "  disabled_at INTEGER," /* ms; NULL: enabled */
    "  disabled_reason TEXT,"
    "  enabled_at INTEGER);",
    /*
     * 6: the console's views of one installation read an index instead of the
     * whole table: its jobs newest first, and the newest of each type.
     * installation_id and type never change, so state changes touch neither.
     */
    "CREATE INDEX jobs_by_installation ON jobs (installation_id, id);"
    "CREATE INDEX jobs_by_installation_type ON jobs (installation_id, type, id);",
    /*
     * 7: a webhook delivery is its events row, not a jobs row beside it: the
     * event carries its delivery's state (NULL for a notification that was
     * not delivered: ignored, unrouted, revoked; outcome 'queued' is a delivery), so intake writes one row and
     * the delivery's outcome updates it. Jobs and deliveries share one id
     * space (a delivery's job id is its event id), so the jobs left in their
     * table are renumbered above every event. The delivery's indexes are
     * partial: finished deliveries, the bulk of the table, are in none of them.
     */
    /* (Comparisons joined by OR, not IN lists: see STORE_DELIVERIES_ACTIVE.) */
    "ALTER TABLE events ADD COLUMN state TEXT"
    "  CHECK (state = 'queued' OR state = 'waiting' OR state = 'running' OR state = 'pending'"
    "         OR state = 'done' OR state = 'dead' OR state = 'cancelled' OR state = 'skipped');"
    "ALTER TABLE events ADD COLUMN key TEXT;"
    "ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE events ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE events ADD COLUMN run_at INTEGER;"
    "ALTER TABLE events ADD COLUMN last_error TEXT;"
    "ALTER TABLE events ADD COLUMN last_error_code TEXT;"
    "ALTER TABLE events ADD COLUMN checkpoint TEXT;"
    "ALTER TABLE events ADD COLUMN updated_at INTEGER;"
    "ALTER TABLE events ADD COLUMN finished_at INTEGER;"
    "UPDATE events SET (state, key, attempts, max_attempts, run_at, last_error, last_error_code,"
    "  checkpoint, updated_at, finished_at) = (SELECT j.state, j.key, j.attempts, j.max_attempts,"
    "  j.run_at, j.last_error, j.last_error_code, j.checkpoint, j.updated_at, j.finished_at"
    "  FROM jobs j WHERE j.event_id = events.id ORDER BY j.id DESC LIMIT 1)"
    "  WHERE id IN (SELECT event_id FROM jobs WHERE event_id IS NOT NULL);"
    /* A queued event without a job: its job finished and was pruned. */
    "UPDATE events SET state = 'done', max_attempts = 1, run_at = received_at,"
    "  updated_at = received_at, finished_at = received_at"
    "  WHERE outcome = 'queued' AND state IS NULL;"
    "DELETE FROM jobs WHERE event_id IS NOT NULL;"
    "DROP INDEX jobs_by_event;"
    "ALTER TABLE jobs DROP COLUMN event_id;"
    "UPDATE jobs SET id = id + (SELECT max(m) FROM (SELECT max(id) AS m FROM jobs"
    "  UNION ALL SELECT max(id) FROM events));"
    "CREATE INDEX events_due ON events (run_at, id) WHERE state = 'queued';"
    "CREATE INDEX events_active_key ON events (plugin, installation_id, key, id)"
    "  WHERE key IS NOT NULL AND (state = 'queued' OR state = 'waiting' OR state = 'running'"
    "                             OR state = 'pending');"
    "CREATE INDEX events_unfinished ON events (state, id)"
    "  WHERE (state = 'queued' OR state = 'waiting' OR state = 'running' OR state = 'pending'"
    "         OR state = 'dead');"
    /* (On outcome, which never changes: a delivery's state changes leave this index alone.) */
    "CREATE INDEX events_by_installation ON events (installation_id, id)"
    "  WHERE outcome = 'queued';",
    /* 8: the nodes of a cluster (one, on SQLite), and which one runs a job or delivery */
    "CREATE TABLE nodes ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  host TEXT,"
    "  pid INTEGER,"
    "  started_at INTEGER NOT NULL,"
    "  heartbeat_at INTEGER NOT NULL,"
    "  stopped_at INTEGER);"
    "CREATE INDEX nodes_live ON nodes (heartbeat_at) WHERE stopped_at IS NULL;"
    "ALTER TABLE jobs ADD COLUMN node_id INTEGER;"
    "ALTER TABLE events ADD COLUMN node_id INTEGER;",
    /*
     * 9: events without the unique index on (plugin, notification_id): the store recognizes
     * a notification sent again by its window of the newest (store_events.h). SQLite drops
     * a constraint only by rebuilding the table; the columns keep their order.
     */
    "CREATE TABLE events_new ("
    "  id INTEGER PRIMARY KEY,"
    "  plugin TEXT NOT NULL,"
    "  notification_id TEXT NOT NULL,"
    "  installation_id INTEGER,"
    "  workspace_id TEXT,"
    "  topic TEXT NOT NULL,"
    "  created_at INTEGER,"
    "  received_at INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  state TEXT"
    "    CHECK (state = 'queued' OR state = 'waiting' OR state = 'running' OR state = 'pending'"
    "           OR state = 'done' OR state = 'dead' OR state = 'cancelled' OR state = 'skipped'),"
    "  key TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  max_attempts INTEGER NOT NULL DEFAULT 0,"
    "  run_at INTEGER,"
    "  last_error TEXT,"
    "  last_error_code TEXT,"
    "  checkpoint TEXT,"
    "  updated_at INTEGER,"
    "  finished_at INTEGER,"
    "  node_id INTEGER);"
    "INSERT INTO events_new SELECT * FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events_new RENAME TO events;"
    "CREATE INDEX events_by_time ON events (plugin, id);"
    /* Covering the start-up's read of the newest (store_events_recall): an index's pages,
       not the bodies'. Appended to, as received_at grows. */
    "CREATE INDEX events_by_received ON events (received_at, plugin, notification_id);"
    "CREATE INDEX events_due ON events (run_at, id) WHERE state = 'queued';"
    "CREATE INDEX events_active_key ON events (plugin, installation_id, key, id)"
    "  WHERE key IS NOT NULL AND (state = 'queued' OR state = 'waiting' OR state = 'running'"
    "                             OR state = 'pending');"
    "CREATE INDEX events_unfinished ON events (state, id)"
    "  WHERE (state = 'queued' OR state = 'waiting' OR state = 'running' OR state = 'pending'"
    "         OR state = 'dead');"
    "CREATE INDEX events_by_installation ON events (installation_id, id)"
    "  WHERE outcome = 'queued';",
};

_Static_assert(ARRAY_LEN(steps) == MIGRATIONS_COUNT, "a step for every version, on both engines");

int migrations_count(void)
{
    return (int)ARRAY_LEN(steps);
}

const char *migrations_step(int version)
{
    return version >= 1 && version <= migrations_count() ? steps[version - 1] : NULL;
}
