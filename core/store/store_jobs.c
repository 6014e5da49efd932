/* store_jobs.c - the queue's queries, jobs and deliveries (see store_jobs.h), cached statements. */
#include "store/store_jobs.h"

#include "product_events.h"
#include "store/store_sql.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/*
 * The SQL of a statement that exists once per table of the queue: sql(table,
 * active), active being how that table's partial indexes name the states that
 * hold a key (store_sqlite.h).
 */
#define FOR_TABLE(delivery, sql)                                                            \
    ((delivery) ? sql("events", STORE_DELIVERIES_ACTIVE) : sql("jobs", STORE_JOBS_ACTIVE))

/*
 * The states of events_unfinished's partial index, written as its WHERE: a
 * query for one of them names them too, so it walks that index rather than
 * every delivery ever made.
 */
#define UNFINISHED STORE_DELIVERIES_UNFINISHED("state")

static char *col_dup(struct store_query *q, int i)
{
    const char *s = store_col_text(q, i);
    return s ? xstrdup(s) : NULL;
}

/* Changed rows of the last statement. */
static int changes(struct store *st)
{
    return store_changes(st);
}

/* ---- the queue ---- */

int store_key_lock(struct store *st, const char *plugin, int64_t installation, const char *key)
{
    if (!key || !store_shared(st))
        return 1;
    struct store_query *q = store_query(
        st, STORE_DIALECT("SELECT 1", "SELECT CASE WHEN pg_try_advisory_xact_lock("
                                      "hashtextextended(CAST(?1 AS TEXT) || '/' || "
                                      "CAST(?2 AS TEXT) || '/' || CAST(?3 AS TEXT), 0)) "
                                      "THEN 1 ELSE 0 END"));
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    store_bind_text_ref(q, 3, key, -1);
    int64_t held = 0;
    return store_step_int64(st, q, &held) == 1 ? (int)held : -1;
}

int64_t store_job_insert(struct store *st, const struct store_new_job *job)
{
    int held = store_key_lock(st, job->plugin, job->installation, job->key);
    if (held < 0)
        return 0;
    struct store_query *q = store_query(
        st,
        "INSERT INTO jobs (id, plugin, installation_id, type, key, payload, state, "
        "max_attempts, run_at, created_at, updated_at) "
        "VALUES (" STORE_NEXT_ID ", ?1, ?2, ?3, ?4, ?5, "
        "CASE WHEN ?9 = 0 OR CAST(?4 AS TEXT) IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM jobs WHERE plugin = ?1 AND installation_id = ?2 AND key = ?4 AND "
        STORE_JOBS_ACTIVE("state") ") THEN 'waiting' ELSE 'queued' END, ?6, ?7, ?8, ?8)"
        STORE_RETURNING_ID);
    if (!q)
        return 0;
    store_bind_text_ref(q, 1, job->plugin, -1);
    store_bind_int64(q, 2, job->installation);
    store_bind_text_ref(q, 3, job->type, -1);
    store_bind_text(q, 4, job->key);
    if (job->payload)
        store_bind_text(q, 5,
                        json_object_to_json_string_ext(job->payload,
                                                       JSON_C_TO_STRING_PLAIN
                                                           | JSON_C_TO_STRING_NOSLASHESCAPE));
    store_bind_int64(q, 6, job->max_attempts);
    store_bind_int64(q, 7, job->run_at);
    store_bind_int64(q, 8, job->created_at);
    store_bind_int64(q, 9, held); /* not held: wait, the lock's holder decides */
    int64_t id = 0;
    return store_step_insert_id(st, q, &id) == 1 ? id : 0;
}

/*
 * Only runnable rows are 'queued' (a busy key's later ones wait as
 * 'waiting'). Each table is read in (run_at, id) order from its partial
 * index, and the two are merged here, so a round reads only the rows it
 * hands out (plus one) however long either queue is.
 */
/*
 * On a shared database the rows are claimed as they are read: locked until
 * the turn's commit, by which time each has its outcome or is marked
 * running (jobs.c), and skipped meanwhile by every other node's read. The
 * partial indexes are named: SQLite's planner would rather take the state
 * index and sort every queued row, on each round.
 */
#define CLAIM STORE_DIALECT("", " FOR UPDATE SKIP LOCKED")
static const char due_jobs_sql[] =
    "SELECT id, plugin, installation_id, type, key, payload, 0, attempts, max_attempts, "
    "checkpoint, run_at FROM jobs" STORE_INDEXED_BY("jobs_due") " WHERE state = 'queued' AND "
    "run_at <= ?1 ORDER BY run_at, id LIMIT ?2" CLAIM;
static const char due_deliveries_sql[] =
    "SELECT id, plugin, installation_id, 'webhook', key, NULL, id, attempts, max_attempts, "
    "checkpoint, run_at FROM events" STORE_INDEXED_BY("events_due") " WHERE state = 'queued' AND "
    "run_at <= ?1 ORDER BY run_at, id LIMIT ?2" CLAIM;

/* A cursor over one table's due rows: 1 on a row, 0 at the end (or on an error, logged). */
static int due_next(struct store *st, struct store_query *q)
{
    return q ? store_step_row(st, q) == 1 : 0;
}

/* Whether a's row comes before b's: earlier run_at, then lower id. */
static bool due_before(struct store_query *a, struct store_query *b)
{
    int64_t ra = store_col_int64(a, 10), rb = store_col_int64(b, 10);
    return ra != rb ? ra < rb : store_col_int64(a, 0) < store_col_int64(b, 0);
}

size_t store_jobs_due(struct store *st, int64_t now, struct store_job_row *rows, size_t max)
{
    struct store_query *jobs = store_query(st, due_jobs_sql);
    struct store_query *deliveries = jobs ? store_query(st, due_deliveries_sql) : NULL;
    if (!deliveries)
        return 0;
    store_bind_int64(jobs, 1, now);
    store_bind_int64(jobs, 2, (int64_t)max);
    store_bind_int64(deliveries, 1, now);
    store_bind_int64(deliveries, 2, (int64_t)max);
    int more_jobs = due_next(st, jobs), more_deliveries = due_next(st, deliveries);
    size_t n = 0;
    while (n < max && (more_jobs || more_deliveries)) {
        bool take_job = more_jobs && (!more_deliveries || due_before(jobs, deliveries));
        struct store_query *q = take_job ? jobs : deliveries;
        struct store_job_row *r = &rows[n++];
        r->id = store_col_int64(q, 0);
        r->plugin = col_dup(q, 1);
        r->installation = store_col_int64(q, 2);
        r->type = col_dup(q, 3);
        r->key = col_dup(q, 4);
        r->payload = col_dup(q, 5);
        r->event_id = store_col_int64(q, 6);
        r->attempt = (uint32_t)store_col_int(q, 7) + 1;
        r->max_attempts = (uint32_t)store_col_int(q, 8);
        r->checkpoint = col_dup(q, 9);
        if (take_job)
            more_jobs = due_next(st, jobs);
        else
            more_deliveries = due_next(st, deliveries);
    }
    store_reset(jobs);
    store_reset(deliveries);
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
    struct store_query *j = store_query(
        st, "SELECT min(run_at) FROM jobs" STORE_INDEXED_BY("jobs_due") " WHERE state = 'queued'");
    struct store_query *d =
        j ? store_query(st, "SELECT min(run_at) FROM events" STORE_INDEXED_BY("events_due")
                                " WHERE state = 'queued'")
          : NULL;
    if (!d)
        return -1;
    int64_t jobs_at = 0, deliveries_at = 0;
    int has_job = store_step_int64(st, j, &jobs_at);
    int has_delivery = store_step_int64(st, d, &deliveries_at);
    if (has_job < 0 || has_delivery < 0)
        return -1;
    if (!has_job && !has_delivery)
        return 0;
    *run_at = !has_job ? deliveries_at
              : !has_delivery || jobs_at < deliveries_at ? jobs_at
                                                         : deliveries_at;
    return 1;
}

#define MARK_RUNNING_SQL(table, active)                                                     \
    "UPDATE " table " SET state = 'running', attempts = ?2, updated_at = ?3, node_id = ?4 "      \
    "WHERE id = ?1"

int store_jobs_mark_running(struct store *st, const struct store_job_run *runs, size_t n,
                            int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        struct store_query *q = store_query(st, FOR_TABLE(runs[i].delivery, MARK_RUNNING_SQL));
        if (!q)
            return -1;
        store_bind_int64(q, 1, runs[i].id);
        store_bind_int64(q, 2, (int)runs[i].attempt);
        store_bind_int64(q, 3, now);
        store_bind_int64(q, 4, store_node(st));
        if (store_step_done(st, q) != 0)
            return -1;
    }
    return 0;
}

#define PROMOTE_NEXT_SQL(table, active)                                                     \
    "UPDATE " table " SET state = 'queued', updated_at = ?4 WHERE id = (SELECT min(id) FROM " \
    table " WHERE plugin = ?1 AND installation_id = ?2 AND key = ?3 AND " active("state")     \
    " AND state = 'waiting') AND NOT EXISTS (SELECT 1 FROM " table                            \
    " WHERE plugin = ?1 AND installation_id = ?2 AND key = ?3 AND " active("state")           \
    " AND state <> 'waiting')"

static int promote_next_in(struct store *st, bool delivery, const char *plugin,
                           int64_t installation, const char *key, int64_t now)
{
    int held = store_key_lock(st, plugin, installation, key);
    if (held <= 0)
        return held; /* not held: its holder promotes, or the next tick does */
    struct store_query *q = store_query(st, FOR_TABLE(delivery, PROMOTE_NEXT_SQL));
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    store_bind_text_ref(q, 3, key, -1);
    store_bind_int64(q, 4, now);
    return store_step_done(st, q);
}

int store_job_promote_next(struct store *st, const char *plugin, int64_t installation,
                           const char *key, int64_t now)
{
    return promote_next_in(st, false, plugin, installation, key, now) == 0
                   && promote_next_in(st, true, plugin, installation, key, now) == 0
               ? 0
               : -1;
}

#define RECORD_RESULT_SQL(table, active)                                                    \
    "UPDATE " table " SET state = ?2, attempts = ?6, run_at = coalesce(?3, run_at),"          \
    " last_error_code = CASE WHEN CAST(?4 AS TEXT) IS NULL THEN last_error_code ELSE ?7 END," \
    " last_error = coalesce(?4, last_error), updated_at = ?5,"                                \
    " finished_at = CASE WHEN ?2 = 'queued' THEN NULL ELSE CAST(?5 AS BIGINT) END,"           \
    /* Nothing is left to resume once it ended well. */                                       \
    " checkpoint = CASE WHEN ?2 IN ('done', 'skipped') THEN NULL ELSE checkpoint END"         \
    " WHERE id = ?1"

/*
 * Whether any row of the table waits on a key: 1, 0 or -1. Results never add
 * one, so a batch of results asks once, and skips promoting when none waits
 * (the usual case: a promotion is a statement per keyed result).
 */
static int any_waiting(struct store *st, bool delivery)
{
    struct store_query *q = store_query(
        st, delivery ? "SELECT 1 FROM events WHERE state = 'waiting' AND " UNFINISHED " LIMIT 1"
                     : "SELECT 1 FROM jobs WHERE state = 'waiting' LIMIT 1");
    int64_t one;
    return q ? store_step_int64(st, q, &one) : -1;
}

int store_jobs_record_results(struct store *st, const struct store_job_result *results,
                              size_t n, int64_t now)
{
    int waiting[2] = {-2, -2}; /* jobs, deliveries; -2: not asked yet */
    for (size_t i = 0; i < n; i++) {
        const struct store_job_result *r = &results[i];
        struct store_query *q = store_query(st, FOR_TABLE(r->delivery, RECORD_RESULT_SQL));
        if (!q)
            return -1;
        bool again = strcmp(r->state, "queued") == 0;
        store_bind_int64(q, 1, r->id);
        store_bind_text_ref(q, 2, r->state, -1);
        if (again)
            store_bind_int64(q, 3, r->run_at);
        else
            store_bind_text(q, 3, NULL);
        store_bind_text(q, 4, r->error);
        store_bind_int64(q, 5, now);
        store_bind_int64(q, 6, (int)r->attempt);
        store_bind_text(q, 7, r->error_code);
        if (store_step_done(st, q) != 0)
            return -1;
        /* After the row left 'running': promoting waits while its key has an active row. */
        if (!r->key || again)
            continue;
        /* (On a shared database another node may add one until the key's lock is held.) */
        int *w = &waiting[r->delivery];
        if (store_shared(st))
            *w = 1;
        else if (*w == -2 && (*w = any_waiting(st, r->delivery)) < 0)
            return -1;
        if (*w && promote_next_in(st, r->delivery, r->plugin, r->installation, r->key, now) != 0)
            return -1;
    }
    return 0;
}

/*
 * Run a by-id statement that exists once per table on the table that holds
 * the id: the jobs table first, then events (a delivery). 0 or -1.
 */
static int by_id_in_either(struct store *st, const char *jobs_sql, const char *events_sql,
                           void (*bind)(struct store_query *q, const void *arg), const void *arg)
{
    const char *sql[2] = {jobs_sql, events_sql};
    for (int t = 0; t < 2; t++) {
        struct store_query *q = store_query(st, sql[t]);
        if (!q)
            return -1;
        bind(q, arg);
        if (store_step_done(st, q) != 0)
            return -1;
        if (changes(st) > 0)
            return 0;
    }
    return 0;
}

struct change {
    int64_t id;
    int64_t at;      /* now, or a run_at */
    int64_t now;
    const char *text; /* a reason, or a checkpoint */
};

/* Each statement takes the parameters it names (?1 id, ?2 at, ?3 text, ?4 now); SQLite
   refuses, harmlessly, a binding of one it does not use. */
static void bind_change(struct store_query *q, const void *arg)
{
    const struct change *c = arg;
    store_bind_int64(q, 1, c->id);
    store_bind_int64(q, 2, c->at);
    store_bind_text(q, 3, c->text);
    store_bind_int64(q, 4, c->now);
}

#define POSTPONE_SQL(table)                                                                 \
    "UPDATE " table " SET state = 'queued', run_at = ?2, last_error = ?3, updated_at = ?4 "   \
    "WHERE id = ?1"

int store_job_postpone(struct store *st, int64_t id, int64_t run_at, const char *why,
                       int64_t now)
{
    struct change c = {id, run_at, now, why};
    return by_id_in_either(st, POSTPONE_SQL("jobs"), POSTPONE_SQL("events"), bind_change, &c);
}

#define CANCEL_SQL(table)                                                                   \
    "UPDATE " table " SET state = 'cancelled', last_error = ?3, updated_at = ?2, "            \
    "finished_at = ?2 WHERE id = ?1"

int store_job_cancel(struct store *st, int64_t id, const char *why, int64_t now)
{
    struct change c = {id, now, now, why};
    return by_id_in_either(st, CANCEL_SQL("jobs"), CANCEL_SQL("events"), bind_change, &c);
}

#define CHECKPOINT_SQL(table)                                                               \
    "UPDATE " table " SET checkpoint = ?3 WHERE id = ?1"

int store_job_set_checkpoint(struct store *st, int64_t id, const char *checkpoint)
{
    struct change c = {id, 0, 0, checkpoint};
    return by_id_in_either(st, CHECKPOINT_SQL("jobs"), CHECKPOINT_SQL("events"), bind_change,
                           &c);
}

int store_job_key_active(struct store *st, const char *plugin, int64_t installation,
                         const char *key)
{
    struct store_query *q = store_query(
        st, "SELECT 1 FROM jobs WHERE plugin = ? AND installation_id = ?"
            " AND key = ? AND " STORE_JOBS_ACTIVE("state"));
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    store_bind_text_ref(q, 3, key, -1);
    int64_t one;
    return store_step_int64(st, q, &one);
}

int store_jobs_cancel_installation(struct store *st, int64_t installation, int64_t now)
{
    struct store_query *q = store_query(st, "UPDATE jobs SET state = 'cancelled', last_error = "
                                     "'installation revoked', finished_at = ?2, updated_at = ?2 "
                                     "WHERE installation_id = ?1 AND state IN ('queued', 'waiting')"
                                     " AND type NOT " STORE_STARTS_WITH(PRODUCT_JOB_PREFIX));
    struct store_query *d =
        q ? store_query(st, "UPDATE events SET state = 'cancelled', last_error = "
                            "'installation revoked', finished_at = ?2, updated_at = "
                            "?2 WHERE installation_id = ?1 AND state IN ('queued', "
                            "'waiting')")
          : NULL;
    if (!d)
        return -1;
    store_bind_int64(q, 1, installation);
    store_bind_int64(q, 2, now);
    store_bind_int64(d, 1, installation);
    store_bind_int64(d, 2, now);
    return store_step_done(st, q) == 0 && store_step_done(st, d) == 0 ? 0 : -1;
}

/*
 * Replayed behind any row that now holds its key, so one key still runs one at a time;
 * waiting too when ?3 is set (another node holds the key's lock: store_key_lock).
 */
#define REPLAY_SQL(table, active)                                                           \
    "UPDATE " table " SET state = CASE WHEN CAST(?3 AS TEXT) IS NOT NULL OR key IS NOT NULL "  \
    "AND EXISTS (SELECT 1 FROM " table                                                        \
    " a WHERE a.plugin = " table ".plugin AND a.installation_id = " table ".installation_id "  \
    "AND a.key = " table ".key AND " active("a.state") ") THEN 'waiting' ELSE "               \
    "'queued' END, attempts = 0, run_at = ?2, updated_at = ?2, finished_at = NULL WHERE id = " \
    "?1 AND state IN ('dead', 'cancelled', 'skipped')"

/* On a shared database, the lock of the key of the job or delivery id (store_key_lock). */
static int lock_key_of(struct store *st, int64_t id)
{
    if (!store_shared(st))
        return 1;
    struct store_query *q = store_query(
        st, "SELECT plugin, installation_id, key FROM jobs WHERE id = ?1 AND key IS NOT NULL "
            "UNION ALL SELECT plugin, installation_id, key FROM events WHERE id = ?1 AND key IS "
            "NOT NULL");
    if (!q)
        return -1;
    store_bind_int64(q, 1, id);
    int found = store_step_row(st, q);
    char *plugin = found == 1 ? xstrdup(store_col_text(q, 0)) : NULL;
    char *key = found == 1 ? xstrdup(store_col_text(q, 2)) : NULL;
    int64_t installation = found == 1 ? store_col_int64(q, 1) : 0;
    store_reset(q);
    int rc = found < 0 ? -1 : store_key_lock(st, plugin, installation, key);
    free(plugin);
    free(key);
    return rc;
}

int store_job_replay(struct store *st, int64_t id, int64_t now)
{
    int held = lock_key_of(st, id);
    if (held < 0)
        return -1;
    struct change c = {id, now, now, held ? NULL : "wait"};
    if (by_id_in_either(st, REPLAY_SQL("jobs", STORE_JOBS_ACTIVE),
                        REPLAY_SQL("events", STORE_DELIVERIES_ACTIVE), bind_change, &c) != 0)
        return -1;
    return changes(st) > 0;
}

int64_t store_jobs_replay_dead(struct store *st, const char *plugin, int64_t now)
{
    struct store_query *q = store_query(
        st, "SELECT id FROM jobs WHERE state = 'dead' AND plugin = ?1 "
            "UNION ALL SELECT id FROM events WHERE state = 'dead' AND "
            "plugin = ?1 ORDER BY id");
    if (!q)
        return -1;
    store_bind_text(q, 1, plugin);
    struct buf ids; /* collected first: the updates would disturb the running SELECT */
    buf_init(&ids);
    size_t n = 0;
    while (store_step_row(st, q) == 1) {
        int64_t id = store_col_int64(q, 0);
        buf_append(&ids, &id, sizeof id);
        n++;
    }
    store_reset(q);
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

#define RELEASE_STUCK_SQL(table, active)                                                    \
    "UPDATE " table " SET state = 'queued' WHERE id IN (SELECT min(w.id) FROM " table " w "   \
    "WHERE w.state = 'waiting' GROUP BY w.plugin, w.installation_id, w.key) AND NOT EXISTS "  \
    "(SELECT 1 FROM " table " a WHERE a.plugin = " table ".plugin AND a.installation_id = "   \
    table ".installation_id AND a.key = " table ".key AND " active("a.state")                 \
    " AND a.state <> 'waiting')"

/* The most keys a shared database's release settles at a time (one transaction each). */
#define RELEASE_KEYS_MAX 100

struct waiting_key {
    char *plugin, *key;
    int64_t installation;
};

/*
 * On a shared database, key by key, each in a transaction of its own under
 * the key's lock (store_key_lock), so a release never races another node's
 * decision for the key: a set-based UPDATE's snapshot could miss a row that
 * node is about to commit.
 */
static int release_stuck_shared(struct store *st, bool delivery)
{
    struct store_query *q = store_query(
        st, delivery ? "SELECT DISTINCT plugin, installation_id, key FROM events WHERE "
                       "state = 'waiting' AND " UNFINISHED " LIMIT ?1"
                     : "SELECT DISTINCT plugin, installation_id, key FROM jobs WHERE "
                       "state = 'waiting' LIMIT ?1");
    if (!q)
        return -1;
    store_bind_int64(q, 1, RELEASE_KEYS_MAX);
    struct waiting_key keys[RELEASE_KEYS_MAX];
    size_t n = 0;
    while (n < RELEASE_KEYS_MAX && store_step_row(st, q) == 1) {
        keys[n].plugin = xstrdup(store_col_text(q, 0));
        keys[n].installation = store_col_int64(q, 1);
        keys[n].key = xstrdup(store_col_text(q, 2));
        n++;
    }
    store_reset(q);
    int64_t now = time_now_ms();
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            bool ok = store_begin(st) == 0
                      && promote_next_in(st, delivery, keys[i].plugin, keys[i].installation,
                                         keys[i].key, now) == 0
                      && store_commit(st) == 0;
            if (!ok && store_in_transaction(st))
                store_rollback(st);
            rc = ok ? 0 : -1;
        }
        free(keys[i].plugin);
        free(keys[i].key);
    }
    return rc;
}

int store_jobs_release_stuck_keys(struct store *st)
{
    if (store_shared(st))
        return release_stuck_shared(st, false) == 0 && release_stuck_shared(st, true) == 0 ? 0
                                                                                          : -1;
    return store_exec(st, RELEASE_STUCK_SQL("jobs", STORE_JOBS_ACTIVE)) == 0
                   && store_exec(st, RELEASE_STUCK_SQL("events", STORE_DELIVERIES_ACTIVE)) == 0
               ? 0
               : -1;
}

int store_jobs_prune_finished(struct store *st, int64_t finished_before, int limit)
{
    /* (Named: without statistics SQLite would rather walk every 'done' row of jobs_by_state.) */
    struct store_query *q = store_query(
        st, "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs "
            STORE_INDEXED_BY("jobs_finished") " WHERE state IN ('done', 'cancelled', 'skipped') "
            "AND finished_at < ?1 LIMIT ?2)");
    if (!q)
        return -1;
    store_bind_int64(q, 1, finished_before);
    store_bind_int64(q, 2, limit);
    if (store_step_done(st, q) != 0)
        return -1;
    return changes(st);
}

/* ---- admin views ---- */

static json_object *row_json(struct store_query *q)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(store_col_int64(q, 0)));
    json_object_object_add(o, "plugin", json_object_new_string(store_col_text(q, 1)));
    json_object_object_add(o, "installation_id", json_object_new_int64(store_col_int64(q, 2)));
    json_object_object_add(o, "type", json_object_new_string(store_col_text(q, 3)));
    const char *key = store_col_text(q, 4), *payload = store_col_text(q, 5);
    json_object_object_add(o, "key", key ? json_object_new_string(key) : NULL);
    json_object_object_add(o, "payload", payload ? json_tokener_parse(payload) : NULL);
    json_object_object_add(o, "event_id", store_col_null(q, 6)
                                              ? NULL
                                              : json_object_new_int64(store_col_int64(q, 6)));
    json_object_object_add(o, "state", json_object_new_string(store_col_text(q, 7)));
    json_object_object_add(o, "attempts", json_object_new_int(store_col_int(q, 8)));
    json_object_object_add(o, "max_attempts", json_object_new_int(store_col_int(q, 9)));
    json_object_object_add(o, "run_at", json_object_new_int64(store_col_int64(q, 10)));
    const char *err = store_col_text(q, 11);
    json_object_object_add(o, "last_error", err ? json_object_new_string(err) : NULL);
    json_object_object_add(o, "created_at", json_object_new_int64(store_col_int64(q, 12)));
    json_object_object_add(o, "updated_at", json_object_new_int64(store_col_int64(q, 13)));
    json_object_object_add(o, "finished_at", store_col_null(q, 14)
                                                 ? NULL
                                                 : json_object_new_int64(store_col_int64(q, 14)));
    const char *checkpoint = store_col_text(q, 15), *code = store_col_text(q, 16);
    json_object_object_add(o, "checkpoint", checkpoint ? json_tokener_parse(checkpoint) : NULL);
    json_object_object_add(o, "last_error_code", code ? json_object_new_string(code) : NULL);
    /* The node running it (or that ran it last); null if none has. */
    json_object_object_add(o, "node_id", store_col_null(q, 17)
                                             ? NULL
                                             : json_object_new_int64(store_col_int64(q, 17)));
    return o;
}

#define JOB_COLUMNS                                                                        \
    "id, plugin, installation_id, type, key, payload, NULL, state, attempts, "             \
    "max_attempts, run_at, last_error, created_at, updated_at, finished_at, checkpoint, "    \
    "last_error_code, node_id"
/* A delivery's row as a job's (JOB_COLUMNS' order): type "webhook", event_id its own id. */
#define DELIVERY_COLUMNS                                                                   \
    "id, plugin, installation_id, 'webhook', key, NULL, id, state, attempts, "             \
    "max_attempts, run_at, last_error, received_at, updated_at, finished_at, checkpoint, "   \
    "last_error_code, node_id"

/*
 * The filters both tables share; ?1 state, ?2 plugin, ?3 installation, ?4 before, ?5 type.
 * A delivery is of type "webhook": an events row whose outcome is "queued" (one with another
 * outcome was not delivered and has no state).
 */
#define JOB_FILTERS                                                                        \
    " AND (CAST(?2 AS TEXT) IS NULL OR plugin = ?2) AND (?3 = 0 OR installation_id = ?3)"   \
    " AND (CAST(?5 AS TEXT) IS NULL OR type = ?5) AND id < ?4"
#define DELIVERY_FILTERS                                                                   \
    " AND outcome = 'queued' AND (CAST(?2 AS TEXT) IS NULL OR plugin = ?2)"                 \
    " AND (?3 = 0 OR installation_id = ?3)"                                                 \
    " AND (CAST(?5 AS TEXT) IS NULL OR ?5 = 'webhook') AND id < ?4"
static bool unfinished_state(const char *state)
{
    static const char *const states[] = {"queued", "waiting", "running", "pending", "dead"};
    for (size_t i = 0; i < ARRAY_LEN(states); i++)
        if (strcmp(state, states[i]) == 0)
            return true;
    return false;
}

/* Newest first across both tables: SQLite merges the two, each read in id order. */
#define JOB_LIST(jobs_where, deliveries_where)                                             \
    "SELECT " JOB_COLUMNS " FROM jobs WHERE " jobs_where JOB_FILTERS                        \
    " UNION ALL SELECT " DELIVERY_COLUMNS " FROM events WHERE " deliveries_where            \
    DELIVERY_FILTERS " ORDER BY 1 DESC LIMIT ?6"

json_object *store_jobs_list(struct store *st, const struct job_filter *f)
{
    /*
     * One statement per leading filter, so each table walks its index
     * (jobs_by_state / events_unfinished, jobs_by_installation(_type) /
     * events_by_installation) newest first instead of the whole table.
     */
    const char *sql =
        f->state && unfinished_state(f->state)
            ? JOB_LIST("state = ?1", "state = ?1 AND " UNFINISHED)
        : f->state ? JOB_LIST("state = ?1", "state = ?1")
        : f->installation && f->type
            ? JOB_LIST("installation_id = ?3 AND type = ?5", "installation_id = ?3")
        : f->installation ? JOB_LIST("installation_id = ?3", "installation_id = ?3")
                          : JOB_LIST("CAST(?1 AS TEXT) IS NULL", "CAST(?1 AS TEXT) IS NULL");
    json_object *arr = json_object_new_array();
    struct store_query *q = store_query(st, sql);
    if (!q)
        return arr;
    store_bind_text(q, 1, f->state);
    store_bind_text(q, 2, f->plugin);
    store_bind_int64(q, 3, f->installation);
    store_bind_int64(q, 4, f->before_id > 0 ? f->before_id : INT64_MAX);
    store_bind_text(q, 5, f->type);
    store_bind_int64(q, 6, f->limit > 0 ? f->limit : 100);
    while (store_step_row(st, q) == 1)
        json_object_array_add(arr, row_json(q));
    store_reset(q);
    return arr;
}

json_object *store_job_get(struct store *st, int64_t id)
{
    struct store_query *q = store_query(
        st, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1 UNION ALL "
            "SELECT " DELIVERY_COLUMNS " FROM events WHERE id = ?1 AND "
            "outcome = 'queued'");
    if (!q)
        return NULL;
    store_bind_int64(q, 1, id);
    json_object *o = store_step_row(st, q) == 1 ? row_json(q) : NULL;
    store_reset(q);
    return o;
}

int store_jobs_each_type(struct store *st, int64_t installation,
                         int (*each)(void *arg, const char *type, int64_t newest_id), void *arg)
{
    struct store_query *q = store_query(
        st, "SELECT type, max(id) FROM jobs WHERE installation_id = ?1 GROUP BY type UNION ALL "
            "SELECT 'webhook', max(id) FROM events WHERE installation_id = ?1 AND outcome = "
            "'queued' HAVING max(id) IS NOT NULL ORDER BY 1");
    if (!q)
        return -1;
    store_bind_int64(q, 1, installation);
    while (store_step_row(st, q) == 1)
        if (each(arg, store_col_text(q, 0), store_col_int64(q, 1)) != 0)
            break;
    store_reset(q);
    return 0;
}

int64_t store_job_newest_finished(struct store *st, int64_t installation, const char *type)
{
    struct store_query *q = store_query(
        st, "SELECT max(id) FROM (SELECT max(id) AS id FROM jobs WHERE installation_id = ?1 AND "
            "type = ?2 AND state IN ('done', 'dead', 'cancelled', 'skipped') UNION ALL SELECT "
            "max(id) FROM events WHERE ?2 = 'webhook' AND installation_id = ?1 AND state IN "
            "('done', 'dead', 'cancelled', 'skipped')) AS newest");
    if (!q)
        return -1;
    store_bind_int64(q, 1, installation);
    store_bind_text(q, 2, type);
    int64_t id = 0;
    return store_step_int64(st, q, &id) < 0 ? -1 : id;
}

int64_t store_jobs_count_state(struct store *st, const char *state)
{
    struct store_query *q = store_query(
        st, unfinished_state(state)
                ? "SELECT (SELECT count(*) FROM jobs WHERE state = ?1) + (SELECT count(*) FROM "
                  "events WHERE state = ?1 AND " UNFINISHED ")"
                : "SELECT (SELECT count(*) FROM jobs WHERE state = ?1) + (SELECT count(*) FROM "
                  "events WHERE state = ?1)");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, state, -1);
    int64_t count = 0;
    return store_step_int64(st, q, &count) < 0 ? -1 : count;
}
