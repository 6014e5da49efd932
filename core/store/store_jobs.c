/* store_jobs.c - the jobs table's queries (see store_jobs.h), cached statements. */
#include "store/store_jobs.h"

#include "product_events.h"
#include "store/store_sqlite.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The states in which a job holds its key. */
/*
 * The states of jobs_active_key's partial index, written exactly as the index's WHERE: SQLite
 * uses a partial index only for a query that repeats its terms, and otherwise walks an
 * installation's whole history (jobs_by_installation) for each keyed job.
 */
#define ACTIVE_STATES "('queued', 'waiting', 'running', 'pending')"

static char *col_dup(sqlite3_stmt *q, int i)
{
    const char *s = store_col_text(q, i);
    return s ? xstrdup(s) : NULL;
}

/* ---- the queue ---- */

int64_t store_job_insert(struct store *st, const struct store_new_job *job)
{
    sqlite3_stmt *q = store_stmt(
        st,
        "INSERT INTO jobs (plugin, installation_id, type, key, payload, event_id, state, "
        "max_attempts, run_at, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?4 IS NOT NULL AND EXISTS (SELECT 1 FROM jobs "
        "WHERE plugin = ?1 AND installation_id = ?2 AND key = ?4 AND state IN " ACTIVE_STATES ") "
        "THEN 'waiting' ELSE 'queued' END, ?7, ?8, ?9, ?9)");
    if (!q)
        return 0;
    sqlite3_bind_text(q, 1, job->plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, job->installation);
    sqlite3_bind_text(q, 3, job->type, -1, SQLITE_STATIC);
    store_bind_text(q, 4, job->key);
    if (job->payload)
        sqlite3_bind_text(q, 5,
                          json_object_to_json_string_ext(job->payload,
                                                         JSON_C_TO_STRING_PLAIN
                                                             | JSON_C_TO_STRING_NOSLASHESCAPE),
                          -1, SQLITE_TRANSIENT);
    if (job->event_id)
        sqlite3_bind_int64(q, 6, job->event_id);
    sqlite3_bind_int(q, 7, job->max_attempts);
    sqlite3_bind_int64(q, 8, job->run_at);
    sqlite3_bind_int64(q, 9, job->created_at);
    if (store_step_done(st, q) != 0)
        return 0;
    return sqlite3_last_insert_rowid(store_db(st));
}

/* Only runnable rows are 'queued' (a busy key's later jobs wait as 'waiting'). */
static const char due_sql[] =
    "SELECT id, plugin, installation_id, type, key, payload, event_id, attempts, max_attempts, "
    "checkpoint FROM jobs WHERE state = 'queued' AND run_at <= ?1 ORDER BY run_at, id LIMIT ?2";

size_t store_jobs_due(struct store *st, int64_t now, struct store_job_row *rows, size_t max)
{
    sqlite3_stmt *q = store_stmt(st, due_sql);
    if (!q)
        return 0;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)max);
    size_t n = 0;
    while (n < max && sqlite3_step(q) == SQLITE_ROW) {
        struct store_job_row *r = &rows[n++];
        r->id = sqlite3_column_int64(q, 0);
        r->plugin = col_dup(q, 1);
        r->installation = sqlite3_column_int64(q, 2);
        r->type = col_dup(q, 3);
        r->key = col_dup(q, 4);
        r->payload = col_dup(q, 5);
        r->event_id = sqlite3_column_int64(q, 6);
        r->attempt = (uint32_t)sqlite3_column_int(q, 7) + 1;
        r->max_attempts = (uint32_t)sqlite3_column_int(q, 8);
        r->checkpoint = col_dup(q, 9);
    }
    sqlite3_reset(q);
    return n;
}

void store_job_row_clear(struct store_job_row *r)
{
    free(r->plugin);
    free(r->type);
    free(r->key);
    free(r->payload);
    free(r->checkpoint);
    memset(r, 0, sizeof *r);
}

int store_jobs_next_due(struct store *st, int64_t *run_at)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT min(run_at) FROM jobs WHERE state = 'queued'");
    return q ? store_step_int64(st, q, run_at) : -1;
}

int store_jobs_mark_running(struct store *st, const struct store_job_run *runs, size_t n,
                            int64_t now)
{
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET state = 'running', attempts = ?2, "
                                     "updated_at = ?3 WHERE id = ?1");
    if (!q)
        return -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(q, 1, runs[i].id);
        sqlite3_bind_int(q, 2, (int)runs[i].attempt);
        sqlite3_bind_int64(q, 3, now);
        if (store_step_done(st, q) != 0)
            return -1;
    }
    return 0;
}

int store_job_promote_next(struct store *st, const char *plugin, int64_t installation,
                           const char *key, int64_t now)
{
    sqlite3_stmt *q = store_stmt(
        st,
        "UPDATE jobs SET state = 'queued', updated_at = ?4 WHERE id = (SELECT min(id) FROM jobs "
        "WHERE plugin = ?1 AND installation_id = ?2 AND key = ?3 AND state IN " ACTIVE_STATES
        " AND state = 'waiting') AND NOT EXISTS (SELECT 1 FROM jobs WHERE plugin = ?1 AND "
        "installation_id = ?2 AND key = ?3 AND state IN " ACTIVE_STATES " AND state <> 'waiting')");
    if (!q)
        return -1;
    sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, installation);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now);
    return store_step_done(st, q);
}

int store_jobs_record_results(struct store *st, const struct store_job_result *results,
                              size_t n, int64_t now)
{
    sqlite3_stmt *q = store_stmt(st,
                                 "UPDATE jobs SET state = ?2, attempts = ?6,"
                                 " run_at = coalesce(?3, run_at),"
                                 " last_error_code = CASE WHEN ?4 IS NULL THEN"
                                 " last_error_code ELSE ?7 END,"
                                 " last_error = coalesce(?4, last_error), updated_at = ?5,"
                                 " finished_at = CASE WHEN ?2 = 'queued' THEN NULL ELSE ?5 END,"
                                 /* Nothing is left to resume once it ended well. */
                                 " checkpoint = CASE WHEN ?2 IN ('done', 'skipped') THEN NULL"
                                 " ELSE checkpoint END"
                                 " WHERE id = ?1");
    if (!q)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const struct store_job_result *r = &results[i];
        bool again = strcmp(r->state, "queued") == 0;
        sqlite3_bind_int64(q, 1, r->id);
        sqlite3_bind_text(q, 2, r->state, -1, SQLITE_STATIC);
        if (again)
            sqlite3_bind_int64(q, 3, r->run_at);
        else
            sqlite3_bind_null(q, 3);
        store_bind_text(q, 4, r->error);
        sqlite3_bind_int64(q, 5, now);
        sqlite3_bind_int(q, 6, (int)r->attempt);
        store_bind_text(q, 7, r->error_code);
        if (store_step_done(st, q) != 0)
            return -1;
        /* After the row left 'running': promoting waits while its key has an active job. */
        if (r->key && !again && store_job_promote_next(st, r->plugin, r->installation, r->key, now) != 0)
            return -1;
    }
    return 0;
}

int store_job_postpone(struct store *st, int64_t id, int64_t run_at, const char *why,
                       int64_t now)
{
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET state = 'queued', run_at = ?2, "
                                     "last_error = ?3, updated_at = ?4 WHERE id = ?1");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, run_at);
    sqlite3_bind_text(q, 3, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now);
    return store_step_done(st, q);
}

int store_job_cancel(struct store *st, int64_t id, const char *why, int64_t now)
{
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET state = 'cancelled', last_error = ?2, "
                                     "updated_at = ?3, finished_at = ?3 WHERE id = ?1");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now);
    return store_step_done(st, q);
}

int store_job_set_checkpoint(struct store *st, int64_t id, const char *checkpoint)
{
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET checkpoint = ?2 WHERE id = ?1");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    store_bind_text(q, 2, checkpoint);
    return store_step_done(st, q);
}

int store_job_key_active(struct store *st, const char *plugin, int64_t installation,
                         const char *key)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT 1 FROM jobs WHERE plugin = ? AND installation_id = ?"
                                     " AND key = ? AND state IN " ACTIVE_STATES);
    if (!q)
        return -1;
    sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, installation);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
    int64_t one;
    return store_step_int64(st, q, &one);
}

int store_jobs_cancel_installation(struct store *st, int64_t installation, int64_t now)
{
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET state = 'cancelled', last_error = "
                                     "'installation revoked', finished_at = ?2, updated_at = ?2 "
                                     "WHERE installation_id = ?1 AND state IN ('queued', 'waiting')"
                                     " AND type NOT GLOB '" PRODUCT_JOB_PREFIX "*'");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, installation);
    sqlite3_bind_int64(q, 2, now);
    return store_step_done(st, q);
}

int store_job_replay(struct store *st, int64_t id, int64_t now)
{
    /* Replayed behind any job that now holds its key, so one key still runs one at a time. */
    sqlite3_stmt *q = store_stmt(
        st, "UPDATE jobs SET state = CASE WHEN key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs a "
            "WHERE a.plugin = jobs.plugin AND a.installation_id = jobs.installation_id AND a.key = "
            "jobs.key AND a.state IN " ACTIVE_STATES ") THEN 'waiting' ELSE 'queued' END, "
            "attempts = 0, run_at = ?2, updated_at = ?2, finished_at = NULL WHERE id = ?1 AND "
            "state IN ('dead', 'cancelled', 'skipped')");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now);
    if (store_step_done(st, q) != 0)
        return -1;
    return sqlite3_changes(store_db(st)) > 0;
}

int64_t store_jobs_replay_dead(struct store *st, const char *plugin, int64_t now)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT id FROM jobs WHERE state = 'dead' AND plugin = ? "
                                     "ORDER BY id");
    if (!q)
        return -1;
    store_bind_text(q, 1, plugin);
    struct buf ids; /* collected first: the updates would disturb the running SELECT */
    buf_init(&ids);
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        buf_append(&ids, &id, sizeof id);
        n++;
    }
    sqlite3_reset(q);
    int64_t replayed = 0;
    for (size_t i = 0; i < n && replayed >= 0; i++) {
        int64_t id;
        memcpy(&id, ids.data + i * sizeof id, sizeof id);
        int one = store_job_replay(st, id, now);
        replayed = one < 0 ? -1 : replayed + one;
    }
    buf_free(&ids);
    return replayed;
}

int store_jobs_requeue_interrupted(struct store *st)
{
    if (store_exec(st, "UPDATE jobs SET state = 'queued' WHERE state IN ('running', 'pending')")
        != 0)
        return -1;
    return sqlite3_changes(store_db(st));
}

int store_jobs_release_stuck_keys(struct store *st)
{
    return store_exec(
        st, "UPDATE jobs SET state = 'queued' WHERE id IN (SELECT min(w.id) FROM jobs w "
            "WHERE w.state = 'waiting' GROUP BY w.plugin, w.installation_id, w.key) AND NOT "
            "EXISTS (SELECT 1 FROM jobs a WHERE a.plugin = jobs.plugin AND a.installation_id = "
            "jobs.installation_id AND a.key = jobs.key AND a.state IN " ACTIVE_STATES
            " AND a.state <> 'waiting')");
}

int store_jobs_prune_finished(struct store *st, int64_t finished_before, int limit)
{
    /* (Named: without statistics SQLite would rather walk every 'done' row of jobs_by_state.) */
    sqlite3_stmt *q = store_stmt(
        st, "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_finished "
            "WHERE state IN ('done', 'cancelled', 'skipped') AND finished_at < ?1 LIMIT ?2)");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, finished_before);
    sqlite3_bind_int(q, 2, limit);
    if (store_step_done(st, q) != 0)
        return -1;
    return sqlite3_changes(store_db(st));
}

/* ---- admin views ---- */

static json_object *row_json(sqlite3_stmt *q)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(sqlite3_column_int64(q, 0)));
    json_object_object_add(o, "plugin", json_object_new_string(store_col_text(q, 1)));
    json_object_object_add(o, "installation_id", json_object_new_int64(sqlite3_column_int64(q, 2)));
    json_object_object_add(o, "type", json_object_new_string(store_col_text(q, 3)));
    const char *key = store_col_text(q, 4), *payload = store_col_text(q, 5);
    json_object_object_add(o, "key", key ? json_object_new_string(key) : NULL);
    json_object_object_add(o, "payload", payload ? json_tokener_parse(payload) : NULL);
    json_object_object_add(o, "event_id", sqlite3_column_type(q, 6) == SQLITE_NULL
                                              ? NULL
                                              : json_object_new_int64(sqlite3_column_int64(q, 6)));
    json_object_object_add(o, "state", json_object_new_string(store_col_text(q, 7)));
    json_object_object_add(o, "attempts", json_object_new_int(sqlite3_column_int(q, 8)));
    json_object_object_add(o, "max_attempts", json_object_new_int(sqlite3_column_int(q, 9)));
    json_object_object_add(o, "run_at", json_object_new_int64(sqlite3_column_int64(q, 10)));
    const char *err = store_col_text(q, 11);
    json_object_object_add(o, "last_error", err ? json_object_new_string(err) : NULL);
    json_object_object_add(o, "created_at", json_object_new_int64(sqlite3_column_int64(q, 12)));
    json_object_object_add(o, "updated_at", json_object_new_int64(sqlite3_column_int64(q, 13)));
    json_object_object_add(o, "finished_at", sqlite3_column_type(q, 14) == SQLITE_NULL
                                                 ? NULL
                                                 : json_object_new_int64(sqlite3_column_int64(q, 14)));
    const char *checkpoint = store_col_text(q, 15), *code = store_col_text(q, 16);
    json_object_object_add(o, "checkpoint", checkpoint ? json_tokener_parse(checkpoint) : NULL);
    json_object_object_add(o, "last_error_code", code ? json_object_new_string(code) : NULL);
    return o;
}

#define JOB_COLUMNS                                                                        \
    "id, plugin, installation_id, type, key, payload, event_id, state, attempts, "         \
    "max_attempts, run_at, last_error, created_at, updated_at, finished_at, checkpoint, "    \
    "last_error_code"

/* The filters every listing shares; ?1 state, ?2 plugin, ?3 installation, ?4 before, ?5 type. */
#define JOB_FILTERS                                                                        \
    " AND (?2 IS NULL OR plugin = ?2) AND (?3 = 0 OR installation_id = ?3)"                 \
    " AND (?5 IS NULL OR type = ?5) AND id < ?4 ORDER BY id DESC LIMIT ?6"

json_object *store_jobs_list(struct store *st, const struct job_filter *f)
{
    /*
     * One statement per leading filter, so each walks its index (jobs_by_state,
     * jobs_by_installation, jobs_by_installation_type) newest first instead of
     * the whole table.
     */
    const char *sql =
        f->state ? "SELECT " JOB_COLUMNS " FROM jobs WHERE state = ?1" JOB_FILTERS
        : f->installation && f->type
            ? "SELECT " JOB_COLUMNS " FROM jobs WHERE installation_id = ?3 AND type = ?5" JOB_FILTERS
        : f->installation ? "SELECT " JOB_COLUMNS " FROM jobs WHERE installation_id = ?3" JOB_FILTERS
                          : "SELECT " JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL" JOB_FILTERS;
    json_object *arr = json_object_new_array();
    sqlite3_stmt *q = store_stmt(st, sql);
    if (!q)
        return arr;
    store_bind_text(q, 1, f->state);
    store_bind_text(q, 2, f->plugin);
    sqlite3_bind_int64(q, 3, f->installation);
    sqlite3_bind_int64(q, 4, f->before_id > 0 ? f->before_id : INT64_MAX);
    store_bind_text(q, 5, f->type);
    sqlite3_bind_int(q, 6, f->limit > 0 ? f->limit : 100);
    while (sqlite3_step(q) == SQLITE_ROW)
        json_object_array_add(arr, row_json(q));
    sqlite3_reset(q);
    return arr;
}

json_object *store_job_get(struct store *st, int64_t id)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?");
    if (!q)
        return NULL;
    sqlite3_bind_int64(q, 1, id);
    json_object *o = sqlite3_step(q) == SQLITE_ROW ? row_json(q) : NULL;
    sqlite3_reset(q);
    return o;
}

int store_jobs_each_type(struct store *st, int64_t installation,
                         int (*each)(void *arg, const char *type, int64_t newest_id), void *arg)
{
    sqlite3_stmt *q = store_stmt(
        st, "SELECT type, max(id) FROM jobs WHERE installation_id = ? GROUP BY type ORDER BY type");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, installation);
    while (sqlite3_step(q) == SQLITE_ROW)
        if (each(arg, store_col_text(q, 0), sqlite3_column_int64(q, 1)) != 0)
            break;
    sqlite3_reset(q);
    return 0;
}

int64_t store_job_newest_finished(struct store *st, int64_t installation, const char *type)
{
    sqlite3_stmt *q = store_stmt(
        st, "SELECT id FROM jobs WHERE installation_id = ?1 AND type = ?2 AND "
            "state IN ('done', 'dead', 'cancelled', 'skipped') ORDER BY id DESC LIMIT 1");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, installation);
    store_bind_text(q, 2, type);
    int64_t id = 0;
    return store_step_int64(st, q, &id) < 0 ? -1 : id;
}

int64_t store_jobs_count_state(struct store *st, const char *state)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT count(*) FROM jobs WHERE state = ?");
    if (!q)
        return -1;
    sqlite3_bind_text(q, 1, state, -1, SQLITE_STATIC);
    int64_t count = 0;
    return store_step_int64(st, q, &count) < 0 ? -1 : count;
}
