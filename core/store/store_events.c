/* store_events.c - the events table's queries (see store_events.h), cached statements. */
#include "store/store_events.h"

#include "store/recent_ids.h"
#include "store/store_jobs.h"
#include "store/store_sql.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Whether row holds this plugin's notification: 1, 0 (another, or gone), -1. */
static int row_holds(struct store *st, int64_t row, const char *plugin,
                     const char *notification_id)
{
    struct store_query *q = store_query(
        st, "SELECT 1 FROM events WHERE id = ?1 AND plugin = ?2 AND notification_id = ?3");
    if (!q)
        return -1;
    store_bind_int64(q, 1, row);
    store_bind_text_ref(q, 2, plugin, -1);
    store_bind_text_ref(q, 3, notification_id, -1);
    int found = store_step_row(st, q);
    store_reset(q);
    return found;
}

/*
 * Whether the window remembers a row that holds this notification: 1, 0, -1.
 * Each row it names for the hash is read, so neither a collision nor a row
 * rolled back, pruned or reused since is taken for a redelivery.
 */
static int remembered(struct store *st, struct recent_ids *recent, uint64_t hash,
                      const struct store_event *e)
{
    int64_t some[4], *rows = some;
    size_t n = recent_ids_find(recent, hash, some, ARRAY_LEN(some));
    if (n > ARRAY_LEN(some)) {
        rows = xcalloc(n, sizeof *rows);
        recent_ids_find(recent, hash, rows, n);
    }
    int found = 0;
    for (size_t i = 0; i < n && found == 0; i++)
        found = row_holds(st, rows[i], e->plugin, e->notification_id);
    if (rows != some)
        free(rows);
    return found;
}

int64_t store_event_insert(struct store *st, const struct store_event *e, bool *duplicate)
{
    struct recent_ids *recent = store_recent_ids(st);
    uint64_t hash = 0;
    if (recent) {
        hash = recent_ids_hash(e->plugin, e->notification_id);
        int seen = remembered(st, recent, hash, e);
        if (seen != 0) {
            *duplicate = seen > 0;
            return seen > 0 ? 0 : -1;
        }
    }
    int held = strcmp(e->outcome, "queued") == 0
                   ? store_key_lock(st, e->plugin, e->installation, e->key)
                   : 1;
    if (held < 0)
        return -1;
    /* The id is the next of the one space jobs and deliveries share (store_jobs.h). */
    struct store_query *q = store_query(
        st, "INSERT INTO events (id, plugin, notification_id, installation_id, workspace_id, topic, "
            "created_at, received_at, outcome, body, key, max_attempts, state, run_at, updated_at) "
            "VALUES (" STORE_NEXT_ID ", ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
            "CASE WHEN ?8 <> 'queued' THEN NULL WHEN ?12 = 0 OR CAST(?10 AS TEXT) IS NOT NULL "
            "AND EXISTS "
            "(SELECT 1 FROM events WHERE plugin = ?1 AND installation_id = ?3 AND key = ?10 AND "
            STORE_DELIVERIES_ACTIVE("state") ") THEN 'waiting' ELSE 'queued' END, "
            "CASE WHEN ?8 = 'queued' THEN CAST(?7 AS BIGINT) END, ?7) "
            STORE_DIALECT("", "ON CONFLICT (plugin, notification_id) DO NOTHING")
            STORE_RETURNING_ID);
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, e->plugin, -1);
    store_bind_text_ref(q, 2, e->notification_id, -1);
    if (e->installation)
        store_bind_int64(q, 3, e->installation);
    if (e->workspace_id)
        store_bind_text_ref(q, 4, e->workspace_id, -1);
    store_bind_text_ref(q, 5, e->topic, -1);
    store_bind_int64(q, 6, e->created_at);
    store_bind_int64(q, 7, e->received_at);
    store_bind_text_ref(q, 8, e->outcome, -1);
    store_bind_text_ref(q, 9, e->body, (int)e->body_len);
    if (e->key)
        store_bind_text_ref(q, 10, e->key, -1);
    store_bind_int64(q, 11, e->max_attempts);
    store_bind_int64(q, 12, held); /* not held: wait, the lock's holder decides */
    int64_t id = 0;
    int inserted = store_step_insert_id(st, q, &id);
    if (inserted < 0)
        return -1;
    *duplicate = inserted == 0;
    if (recent && inserted)
        recent_ids_add(recent, hash, id);
    return id;
}

/*
 * How far back the window is filled at start: Intercom sends a notification
 * again a minute after an answer it did not get, and not again after that.
 */
#define STORE_RECALL_HORIZON_MS (15 * 60 * 1000)

int store_events_recall(struct store *st, struct recent_ids *recent)
{
    /* Newest first, so the read stops at the window's size; added oldest first, so the
       oldest are the first to go. */
    struct store_query *q = store_query(
        st, "SELECT id, plugin, notification_id FROM events"
            STORE_INDEXED_BY("events_by_received")
            " WHERE received_at >= ?1 ORDER BY received_at DESC LIMIT ?2");
    if (!q)
        return -1;
    size_t room = recent_ids_capacity(recent), n = 0;
    store_bind_int64(q, 1, time_now_ms() - STORE_RECALL_HORIZON_MS);
    store_bind_int64(q, 2, (int64_t)room);
    /* Room for all at once: only the pages the rows fill become resident. */
    struct { uint64_t hash; int64_t row; } *newest = xmalloc(room * sizeof *newest);
    int more;
    while ((more = store_step_row(st, q)) == 1) {
        newest[n].row = store_col_int64(q, 0);
        newest[n].hash = recent_ids_hash(store_col_text(q, 1), store_col_text(q, 2));
        n++;
    }
    store_reset(q);
    if (more < 0) {
        free(newest);
        return -1;
    }
    while (n > 0) {
        n--;
        recent_ids_add(recent, newest[n].hash, newest[n].row);
    }
    free(newest);
    return 0;
}

int store_event_read(struct store *st, int64_t id,
                     void (*use)(void *arg, const struct store_event *event), void *arg)
{
    struct store_query *q = store_query(
        st, "SELECT body, topic, notification_id, created_at FROM events WHERE id = ?");
    if (!q)
        return -1;
    store_bind_int64(q, 1, id);
    if (store_step_row(st, q) != 1) {
        store_reset(q);
        return 0;
    }
    struct store_event e = {
        .body = store_col_text(q, 0),
        .body_len = (size_t)store_col_bytes(q, 0),
        .topic = store_col_text(q, 1),
        .notification_id = store_col_text(q, 2),
        .created_at = store_col_int64(q, 3),
    };
    use(arg, &e);
    store_reset(q);
    return 1;
}

int store_events_prune(struct store *st, int64_t received_before, int limit)
{
    /* An event is kept while its delivery may still run (a dead one can be replayed). */
    struct store_query *q = store_query(st,
                   "DELETE FROM events WHERE id IN (SELECT id FROM events "
                   STORE_INDEXED_BY("events_by_received") " WHERE received_at < ?1 "
                   "AND (state IS NULL OR state IN ('done', 'cancelled', 'skipped')) LIMIT ?2)");
    if (!q)
        return -1;
    store_bind_int64(q, 1, received_before);
    store_bind_int64(q, 2, limit);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st);
}

/* ---- the admin API's reads ---- */

/* Both queries select these columns in this order. */
static void read_row(struct store_query *q, struct store_event *row)
{
    row->id = store_col_int64(q, 0);
    row->plugin = store_col_text(q, 1);
    row->notification_id = store_col_text(q, 2);
    row->installation = store_col_int64(q, 3); /* NULL (unrouted) reads 0 */
    row->workspace_id = store_col_text(q, 4);
    row->topic = store_col_text(q, 5);
    row->created_at = store_col_int64(q, 6);
    row->received_at = store_col_int64(q, 7);
    row->outcome = store_col_text(q, 8);
    row->body = store_col_text(q, 9);
    row->body_len = (size_t)store_col_bytes(q, 9);
    row->key = store_col_text(q, 10);
    row->state = store_col_text(q, 11);
}

/* Step q to its end, each row to each until it stops; the number visited or -1. */
static int visit_rows(struct store *st, struct store_query *q,
                      int (*each)(void *arg, const struct store_event *row), void *arg)
{
    int visited = 0, more;
    while ((more = store_step_row(st, q)) == 1) {
        struct store_event row = {0};
        read_row(q, &row);
        visited++;
        if (each(arg, &row))
            break;
    }
    store_reset(q);
    return more < 0 ? -1 : visited;
}

int store_events_each(struct store *st, const struct store_event_filter *filter,
                      int (*each)(void *arg, const struct store_event *row), void *arg)
{
    struct store_query *q = store_query(
        st,
        "SELECT id, plugin, notification_id, installation_id, workspace_id, topic, created_at, "
        "received_at, outcome, body, key, state FROM events "
        "WHERE (CAST(?1 AS TEXT) IS NULL OR plugin = ?1) AND (?2 = 0 OR installation_id = ?2) "
        "AND (CAST(?3 AS TEXT) IS NULL OR topic = ?3) AND (?4 = 0 OR id < ?4) "
        "ORDER BY id DESC LIMIT ?5");
    if (!q)
        return -1;
    store_bind_text(q, 1, filter->plugin);
    store_bind_int64(q, 2, filter->installation);
    store_bind_text(q, 3, filter->topic);
    store_bind_int64(q, 4, filter->before_id);
    store_bind_int64(q, 5, filter->limit);
    return visit_rows(st, q, each, arg);
}

int store_event_by_id(struct store *st, int64_t id,
                      int (*each)(void *arg, const struct store_event *row), void *arg)
{
    struct store_query *q = store_query(st,
                                 "SELECT id, plugin, notification_id, installation_id, "
                                 "workspace_id, topic, created_at, received_at, outcome, body, "
                                 "key, state FROM events WHERE id = ?");
    if (!q)
        return -1;
    store_bind_int64(q, 1, id);
    return visit_rows(st, q, each, arg);
}
