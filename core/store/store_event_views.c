/* store_event_views.c - the admin API's reads of the events table (store_event_views.h). */
#include "store/store_event_views.h"

#include "store/store_sqlite.h"

/* Both queries select these columns in this order. */
static void read_row(sqlite3_stmt *q, struct store_event_row *row)
{
    row->id = sqlite3_column_int64(q, 0);
    row->plugin = store_col_text(q, 1);
    row->notification_id = store_col_text(q, 2);
    row->has_installation = sqlite3_column_type(q, 3) != SQLITE_NULL;
    row->installation = sqlite3_column_int64(q, 3);
    row->workspace_id = store_col_text(q, 4);
    row->topic = store_col_text(q, 5);
    row->created_at = sqlite3_column_int64(q, 6);
    row->received_at = sqlite3_column_int64(q, 7);
    row->outcome = store_col_text(q, 8);
    row->body = store_col_text(q, 9);
}

/* Step q to its end, each row to each until it stops; the number visited or -1. */
static int visit_rows(struct store *st, sqlite3_stmt *q,
                      int (*each)(void *arg, const struct store_event_row *row), void *arg)
{
    int visited = 0, more;
    while ((more = store_step_row(st, q)) == 1) {
        struct store_event_row row;
        read_row(q, &row);
        visited++;
        if (each(arg, &row))
            break;
    }
    sqlite3_reset(q);
    return more < 0 ? -1 : visited;
}

int store_events_each(struct store *st, const struct store_event_filter *filter,
                      int (*each)(void *arg, const struct store_event_row *row), void *arg)
{
    sqlite3_stmt *q = store_stmt(
        st,
        "SELECT id, plugin, notification_id, installation_id, workspace_id, topic, created_at, "
        "received_at, outcome, body FROM events WHERE (?1 IS NULL OR plugin = ?1) AND "
        "(?2 = 0 OR installation_id = ?2) AND (?3 IS NULL OR topic = ?3) AND (?4 = 0 OR id < ?4) "
        "ORDER BY id DESC LIMIT ?5");
    if (!q)
        return -1;
    store_bind_text(q, 1, filter->plugin);
    sqlite3_bind_int64(q, 2, filter->installation);
    store_bind_text(q, 3, filter->topic);
    sqlite3_bind_int64(q, 4, filter->before_id);
    sqlite3_bind_int(q, 5, filter->limit);
    return visit_rows(st, q, each, arg);
}

int store_event_by_id(struct store *st, int64_t id,
                      int (*each)(void *arg, const struct store_event_row *row), void *arg)
{
    sqlite3_stmt *q = store_stmt(st,
                                 "SELECT id, plugin, notification_id, installation_id, "
                                 "workspace_id, topic, created_at, received_at, outcome, body "
                                 "FROM events WHERE id = ?");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    return visit_rows(st, q, each, arg);
}
