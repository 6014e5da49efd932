/* store_schedules.c - the schedules table's queries (see store_schedules.h), cached statements. */
#include "store/store_schedules.h"

#include "store/store_sql.h"
#include "util.h"

#include <stdlib.h>

/* ?1 plugin, ?2 installation, ?3 name: the key of a schedule's row. */
static void bind_schedule(struct store_query *q, const char *plugin, int64_t installation,
                          const char *name)
{
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    store_bind_text_ref(q, 3, name, -1);
}

int store_schedule_upsert(struct store *st, const char *plugin, int64_t installation,
                          const char *name, int64_t interval_s, int64_t now)
{
    struct store_query *q = store_query(
        st,
        "INSERT INTO schedules (plugin, installation_id, name, interval_s, next_run_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (plugin, installation_id, name) DO UPDATE SET"
        " next_run_at = CASE"
        " WHEN schedules.interval_s = excluded.interval_s THEN schedules.next_run_at"
        "   ELSE coalesce(schedules.last_run_at, ?5) + excluded.interval_s * 1000 END,"
        " interval_s = excluded.interval_s");
    if (!q)
        return -1;
    bind_schedule(q, plugin, installation, name);
    store_bind_int64(q, 4, interval_s);
    store_bind_int64(q, 5, now);
    return store_step_done(st, q);
}

size_t store_schedules_due(struct store *st, int64_t now, struct store_schedule **out)
{
    *out = NULL;
    struct store_query *q = store_query(st, "SELECT plugin, installation_id, name, interval_s, "
                                     "next_run_at FROM schedules WHERE next_run_at <= ? LIMIT 1000");
    if (!q)
        return 0;
    store_bind_int64(q, 1, now);
    struct store_schedule *due = NULL;
    size_t n = 0, cap = 0;
    while (store_step_row(st, q) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            due = xrealloc(due, cap * sizeof *due);
        }
        const char *plugin = store_col_text(q, 0), *name = store_col_text(q, 2);
        due[n].plugin = xstrdup(plugin ? plugin : "");
        due[n].installation = store_col_int64(q, 1);
        due[n].name = xstrdup(name ? name : "");
        due[n].interval_s = store_col_int64(q, 3);
        due[n].next_run_at = store_col_int64(q, 4);
        n++;
    }
    store_reset(q);
    *out = due;
    return n;
}

void store_schedules_free(struct store_schedule *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].plugin);
        free(list[i].name);
    }
    free(list);
}

int store_schedule_advance(struct store *st, const char *plugin, int64_t installation,
                           const char *name, int64_t due_at, int64_t next_run_at, int64_t now)
{
    /* A compare-and-set: of two nodes that read the schedule due, the second changes nothing. */
    struct store_query *q = store_query(st, "UPDATE schedules SET next_run_at = ?4, "
                                            "last_run_at = ?5 WHERE plugin = ?1 AND "
                                            "installation_id = ?2 AND name = ?3 AND "
                                            "next_run_at = ?6");
    if (!q)
        return -1;
    bind_schedule(q, plugin, installation, name);
    store_bind_int64(q, 4, next_run_at);
    store_bind_int64(q, 5, now);
    store_bind_int64(q, 6, due_at);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st) == 1 ? 1 : 0;
}

int store_schedules_next(struct store *st, int64_t *next_run_at)
{
    struct store_query *q = store_query(st, "SELECT min(next_run_at) FROM schedules");
    return q ? store_step_int64(st, q, next_run_at) : -1;
}

int store_schedules_forget_installation(struct store *st, int64_t installation)
{
    struct store_query *q = store_query(st, "DELETE FROM schedules WHERE installation_id = ?");
    if (!q)
        return -1;
    store_bind_int64(q, 1, installation);
    return store_step_done(st, q);
}

json_object *store_schedules_list(struct store *st, const char *plugin)
{
    json_object *arr = json_object_new_array();
    struct store_query *q = store_query(
        st, "SELECT plugin, installation_id, name, interval_s, next_run_at, "
            "last_run_at FROM schedules WHERE (CAST(?1 AS TEXT) IS NULL OR plugin = ?1) "
            "ORDER BY plugin, installation_id, name");
    if (!q)
        return arr;
    store_bind_text(q, 1, plugin);
    while (store_step_row(st, q) == 1) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "plugin", json_object_new_string(store_col_text(q, 0)));
        json_object_object_add(o, "installation_id",
                               json_object_new_int64(store_col_int64(q, 1)));
        json_object_object_add(o, "name", json_object_new_string(store_col_text(q, 2)));
        json_object_object_add(o, "interval_s", json_object_new_int64(store_col_int64(q, 3)));
        json_object_object_add(o, "next_run_at",
                               json_object_new_int64(store_col_int64(q, 4)));
        json_object_object_add(o, "last_run_at",
                               store_col_null(q, 5)
                                   ? NULL
                                   : json_object_new_int64(store_col_int64(q, 5)));
        json_object_array_add(arr, o);
    }
    store_reset(q);
    return arr;
}
