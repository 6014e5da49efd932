/* store_nodes.c - the nodes table's queries (store_nodes.h). */
#include "store/store_nodes.h"

#include "store/store.h"
#include "store/store_sql.h"

/* A job's or delivery's node is alive: registered, not stopped. */
#define NODE_ALIVE(col) col " IN (SELECT id FROM nodes WHERE stopped_at IS NULL)"

int64_t store_node_register(struct store *st, const char *name, const char *host, int64_t pid,
                            int64_t now)
{
    /* Bound by name: ?1 is the name, ?2 the time (the SQLite form reads no name). */
    struct store_query *gone =
        store_shared(st)
            ? store_query(st, "UPDATE nodes SET stopped_at = ?2 WHERE stopped_at IS NULL AND "
                              "name = ?1")
            : store_query(st, "UPDATE nodes SET stopped_at = ?2 WHERE stopped_at IS NULL");
    if (!gone)
        return 0;
    store_bind_text_ref(gone, 1, name, -1);
    store_bind_int64(gone, 2, now);
    if (store_step_done(st, gone) != 0)
        return 0;
    struct store_query *q = store_query(
        st, "INSERT INTO nodes (name, host, pid, started_at, heartbeat_at) VALUES (?1, ?2, ?3, "
            "?4, ?4) RETURNING id");
    if (!q)
        return 0;
    store_bind_text_ref(q, 1, name, -1);
    store_bind_text(q, 2, host);
    store_bind_int64(q, 3, pid);
    store_bind_int64(q, 4, now);
    int64_t id = 0;
    return store_step_int64(st, q, &id) == 1 ? id : 0;
}

int store_node_heartbeat(struct store *st, int64_t node, int64_t now)
{
    struct store_query *q = store_query(
        st, "UPDATE nodes SET heartbeat_at = ?2 WHERE id = ?1 AND stopped_at IS NULL");
    if (!q)
        return -1;
    store_bind_int64(q, 1, node);
    store_bind_int64(q, 2, now);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st) == 1 ? 1 : 0;
}

int store_node_stopped(struct store *st, int64_t node, int64_t now)
{
    struct store_query *q =
        store_query(st, "UPDATE nodes SET stopped_at = ?2 WHERE id = ?1 AND stopped_at IS NULL");
    if (!q)
        return -1;
    store_bind_int64(q, 1, node);
    store_bind_int64(q, 2, now);
    return store_step_done(st, q);
}

/* A row some node was running whose node is gone: back to the queue, due as it was. */
#define REQUEUE_ORPHANS_SQL(table)                                                           \
    "UPDATE " table " SET state = 'queued', node_id = NULL WHERE (state = 'running' OR "     \
    "state = 'pending') AND NOT coalesce(" NODE_ALIVE("node_id") ", FALSE)"

int store_nodes_expire(struct store *st, int64_t now, int64_t lease_ms)
{
    struct store_query *q = store_query(
        st, "UPDATE nodes SET stopped_at = ?1 WHERE stopped_at IS NULL AND heartbeat_at < ?2");
    if (!q)
        return -1;
    store_bind_int64(q, 1, now);
    store_bind_int64(q, 2, now - lease_ms);
    if (store_step_done(st, q) != 0)
        return -1;
    struct store_query *jobs = store_query(st, REQUEUE_ORPHANS_SQL("jobs"));
    if (!jobs || store_step_done(st, jobs) != 0)
        return -1;
    int64_t n = store_changes(st);
    struct store_query *deliveries = store_query(st, REQUEUE_ORPHANS_SQL("events"));
    if (!deliveries || store_step_done(st, deliveries) != 0)
        return -1;
    return (int)(n + store_changes(st));
}

int store_nodes_alive(struct store *st, int64_t now, int64_t lease_ms)
{
    struct store_query *q = store_query(
        st, "SELECT count(*) FROM nodes WHERE stopped_at IS NULL AND heartbeat_at >= ?1");
    if (!q)
        return -1;
    store_bind_int64(q, 1, now - lease_ms);
    int64_t n = 0;
    return store_step_int64(st, q, &n) < 0 ? -1 : (int)n;
}

json_object *store_nodes_list(struct store *st, int limit)
{
    json_object *arr = json_object_new_array();
    struct store_query *q = store_query(
        st, "SELECT id, name, host, pid, started_at, heartbeat_at, stopped_at, "
            "(SELECT count(*) FROM jobs WHERE node_id = nodes.id AND (state = 'running' OR "
            "state = 'pending')) + (SELECT count(*) FROM events WHERE node_id = nodes.id AND "
            "(state = 'running' OR state = 'pending')) FROM nodes ORDER BY id DESC LIMIT ?1");
    if (!q)
        return arr;
    store_bind_int64(q, 1, limit);
    while (store_step_row(st, q) == 1) {
        json_object *o = json_object_new_object();
        const char *host = store_col_text(q, 2);
        json_object_object_add(o, "id", json_object_new_int64(store_col_int64(q, 0)));
        json_object_object_add(o, "name", json_object_new_string(store_col_text(q, 1)));
        json_object_object_add(o, "host", host ? json_object_new_string(host) : NULL);
        json_object_object_add(o, "pid", json_object_new_int64(store_col_int64(q, 3)));
        json_object_object_add(o, "started_at", json_object_new_int64(store_col_int64(q, 4)));
        json_object_object_add(o, "heartbeat_at", json_object_new_int64(store_col_int64(q, 5)));
        json_object_object_add(o, "stopped_at", store_col_null(q, 6)
                                                    ? NULL
                                                    : json_object_new_int64(store_col_int64(q, 6)));
        json_object_object_add(o, "running", json_object_new_int64(store_col_int64(q, 7)));
        json_object_array_add(arr, o);
    }
    store_reset(q);
    return arr;
}
