/* store_audit.c - the audit table's queries (store_audit.h). */
#include "store/store_audit.h"

#include "store/store_sql.h"
#include "util.h"

int store_audit_append(struct store *st, const char *plugin, int64_t installation,
                       const char *subject, const char *action, const char *detail)
{
    struct store_query *q = store_query(st, "INSERT INTO audit (plugin, installation_id, subject, "
                                     "action, detail, at) VALUES (?, ?, ?, ?, ?, ?)");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    store_bind_text(q, 3, subject);
    store_bind_text_ref(q, 4, action, -1);
    store_bind_text(q, 5, detail);
    store_bind_int64(q, 6, time_now_ms());
    return store_step_done(st, q);
}

int store_audit_each(struct store *st, const struct store_audit_filter *filter,
                     int (*each)(void *arg, const struct store_audit_entry *entry), void *arg)
{
    struct store_query *q = store_query(
        st, "SELECT id, plugin, installation_id, subject, action, detail, at FROM audit "
            "WHERE (CAST(?1 AS TEXT) IS NULL OR plugin = ?1) AND (?2 = 0 OR installation_id = ?2) "
            "AND (CAST(?3 AS TEXT) IS NULL OR subject = ?3) AND (?4 = 0 OR id < ?4) "
            "ORDER BY id DESC LIMIT ?5");
    if (!q)
        return -1;
    store_bind_text(q, 1, filter->plugin);
    store_bind_int64(q, 2, filter->installation);
    store_bind_text(q, 3, filter->subject);
    store_bind_int64(q, 4, filter->before_id);
    store_bind_int64(q, 5, filter->limit ? (int64_t)filter->limit : 100);
    int visited = 0, row;
    while ((row = store_step_row(st, q)) == 1) {
        struct store_audit_entry entry = {
            .id = store_col_int64(q, 0),
            .plugin = store_col_text(q, 1),
            .installation = store_col_int64(q, 2),
            .subject = store_col_text(q, 3),
            .action = store_col_text(q, 4),
            .detail = store_col_text(q, 5),
            .at = store_col_int64(q, 6),
        };
        visited++;
        if (each(arg, &entry))
            break;
    }
    store_reset(q);
    return row < 0 ? -1 : visited;
}
