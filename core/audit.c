/* audit.c - append-only timeline rows. */
#include "audit.h"

#include "store/store_sqlite.h" /* until its queries move to core/store/ */
#include "util.h"

int audit_append(struct store *st, const char *plugin, int64_t installation, const char *subject,
                 const char *action, const char *detail)
{
    if (!action || !*action)
        return -1;
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

json_object *audit_list(struct store *st, const char *plugin, int64_t installation,
                        const char *subject, int64_t before_id, size_t limit)
{
    json_object *arr = json_object_new_array();
    sqlite3_stmt *q = store_stmt(
        st, "SELECT id, plugin, installation_id, subject, action, detail, at FROM audit "
            "WHERE (?1 IS NULL OR plugin = ?1) AND (?2 = 0 OR installation_id = ?2) "
            "AND (?3 IS NULL OR subject = ?3) AND (?4 = 0 OR id < ?4) ORDER BY id DESC LIMIT ?5");
    if (!q)
        return arr;
    store_bind_text(q, 1, plugin);
    sqlite3_bind_int64(q, 2, installation);
    store_bind_text(q, 3, subject);
    sqlite3_bind_int64(q, 4, before_id);
    sqlite3_bind_int64(q, 5, limit ? (sqlite3_int64)limit : 100);
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int64(sqlite3_column_int64(q, 0)));
        json_object_object_add(e, "plugin", json_object_new_string(store_col_text(q, 1)));
        json_object_object_add(e, "installation_id",
                               json_object_new_int64(sqlite3_column_int64(q, 2)));
        const char *subj = store_col_text(q, 3), *detail = store_col_text(q, 5);
        json_object_object_add(e, "subject", subj ? json_object_new_string(subj) : NULL);
        json_object_object_add(e, "action", json_object_new_string(store_col_text(q, 4)));
        json_object_object_add(e, "detail", detail ? json_object_new_string(detail) : NULL);
        json_object_object_add(e, "at", json_object_new_int64(sqlite3_column_int64(q, 6)));
        json_object_array_add(arr, e);
    }
    sqlite3_reset(q);
    return arr;
}
