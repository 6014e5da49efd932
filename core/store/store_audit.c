/* store_audit.c - the audit table's queries (store_audit.h). */
#include "store/store_audit.h"

#include "store/store_sqlite.h"
#include "util.h"

int store_audit_append(struct store *st, const char *plugin, int64_t installation,
                       const char *subject, const char *action, const char *detail)
{
    sqlite3_stmt *q = store_stmt(st, "INSERT INTO audit (plugin, installation_id, subject, "
                                     "action, detail, at) VALUES (?, ?, ?, ?, ?, ?)");
    if (!q)
        return -1;
    sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, installation);
    store_bind_text(q, 3, subject);
    sqlite3_bind_text(q, 4, action, -1, SQLITE_STATIC);
    store_bind_text(q, 5, detail);
    sqlite3_bind_int64(q, 6, time_now_ms());
    return store_step_done(st, q);
}

int store_audit_each(struct store *st, const struct store_audit_filter *filter,
                     int (*each)(void *arg, const struct store_audit_entry *entry), void *arg)
{
    sqlite3_stmt *q = store_stmt(
        st, "SELECT id, plugin, installation_id, subject, action, detail, at FROM audit "
            "WHERE (?1 IS NULL OR plugin = ?1) AND (?2 = 0 OR installation_id = ?2) "
            "AND (?3 IS NULL OR subject = ?3) AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5");
    if (!q)
        return -1;
    store_bind_text(q, 1, filter->plugin);
    sqlite3_bind_int64(q, 2, filter->installation);
    store_bind_text(q, 3, filter->subject);
    sqlite3_bind_int64(q, 4, filter->before_id);
    sqlite3_bind_int64(q, 5, filter->limit ? (sqlite3_int64)filter->limit : 100);
    int visited = 0, row;
    while ((row = store_step_row(st, q)) == 1) {
        struct store_audit_entry entry = {
            .id = sqlite3_column_int64(q, 0),
            .plugin = store_col_text(q, 1),
            .installation = sqlite3_column_int64(q, 2),
            .subject = store_col_text(q, 3),
            .action = store_col_text(q, 4),
            .detail = store_col_text(q, 5),
            .at = sqlite3_column_int64(q, 6),
        };
        visited++;
        if (each(arg, &entry))
            break;
    }
    sqlite3_reset(q);
    return row < 0 ? -1 : visited;
}
