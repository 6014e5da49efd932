/* store_documents.c - the documents table's queries (store_documents.h). */
#include "store/store_documents.h"

#include "documents.h"
#include "log.h"
#include "store/store_sqlite.h"
#include "util.h"

static void bind_ns(sqlite3_stmt *q, const struct doc_ns *ns)
{
    sqlite3_bind_text(q, 1, ns->plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, ns->installation);
    sqlite3_bind_text(q, 3, ns->collection, -1, SQLITE_STATIC);
}

int store_document_put(struct store *st, const struct doc_ns *ns, const char *key,
                       json_object *value)
{
    sqlite3_stmt *q = store_stmt(
        st, "INSERT INTO documents (plugin, installation_id, collection, key, value, updated_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
            "ON CONFLICT (plugin, installation_id, collection, key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at");
    if (!q)
        return -1;
    bind_ns(q, ns);
    size_t len;
    const char *text = json_object_to_json_string_length(
        value, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    sqlite3_bind_text(q, 4, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, text, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, time_now_ms());
    return store_step_done(st, q);
}

int store_document_get(struct store *st, const struct doc_ns *ns, const char *key,
                       json_object **value)
{
    *value = NULL;
    sqlite3_stmt *q = store_stmt(st, "SELECT value FROM documents WHERE plugin = ?1 AND "
                                     "installation_id = ?2 AND collection = ?3 AND key = ?4");
    if (!q)
        return -1;
    bind_ns(q, ns);
    sqlite3_bind_text(q, 4, key, -1, SQLITE_STATIC);
    int found = store_step_row(st, q);
    if (found == 1)
        *value = json_tokener_parse(store_col_text(q, 0));
    sqlite3_reset(q);
    return found;
}

int store_document_delete(struct store *st, const struct doc_ns *ns, const char *key)
{
    sqlite3_stmt *q = store_stmt(st, "DELETE FROM documents WHERE plugin = ?1 AND "
                                     "installation_id = ?2 AND collection = ?3 AND key = ?4");
    if (!q)
        return -1;
    bind_ns(q, ns);
    sqlite3_bind_text(q, 4, key, -1, SQLITE_STATIC);
    if (store_step_done(st, q) != 0)
        return -1;
    return sqlite3_changes(store_db(st)) > 0 ? 1 : 0;
}

/*
 * Scans prepare their own statement rather than a cached one: the callback
 * runs plugin code, which may itself scan the store while this one is open.
 */
int store_documents_scan(struct store *st, const struct doc_ns *ns, const char *from,
                         const char *to, size_t limit, bool reverse,
                         int (*each)(void *arg, const char *key, json_object *value), void *arg)
{
    const char *sql = reverse
                          ? "SELECT key, value FROM documents WHERE plugin = ?1 AND "
                            "installation_id = ?2 AND collection = ?3 AND (?4 IS NULL OR key >= ?4) "
                            "AND (?5 IS NULL OR key < ?5) ORDER BY key DESC LIMIT ?6"
                          : "SELECT key, value FROM documents WHERE plugin = ?1 AND "
                            "installation_id = ?2 AND collection = ?3 AND (?4 IS NULL OR key >= ?4) "
                            "AND (?5 IS NULL OR key < ?5) ORDER BY key LIMIT ?6";
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL) != SQLITE_OK) {
        log_error("documents", "cannot scan: %s", store_last_error(st));
        return -1;
    }
    bind_ns(q, ns);
    store_bind_text(q, 4, from);
    store_bind_text(q, 5, to);
    sqlite3_bind_int64(q, 6, limit ? (sqlite3_int64)limit : -1);
    int visited = 0, more;
    while ((more = store_step_row(st, q)) == 1) {
        json_object *value = json_tokener_parse(store_col_text(q, 1));
        visited++;
        int stop = each(arg, store_col_text(q, 0), value);
        json_object_put(value);
        if (stop)
            break;
    }
    sqlite3_finalize(q);
    return more < 0 ? -1 : visited;
}

int store_documents_delete_range(struct store *st, const struct doc_ns *ns, const char *from,
                                 const char *to)
{
    sqlite3_stmt *q = store_stmt(st, "DELETE FROM documents WHERE plugin = ?1 AND "
                                     "installation_id = ?2 AND collection = ?3 AND "
                                     "(?4 IS NULL OR key >= ?4) AND (?5 IS NULL OR key < ?5)");
    if (!q)
        return -1;
    bind_ns(q, ns);
    store_bind_text(q, 4, from);
    store_bind_text(q, 5, to);
    if (store_step_done(st, q) != 0)
        return -1;
    return sqlite3_changes(store_db(st));
}

int64_t store_documents_count(struct store *st, const char *plugin, int64_t installation)
{
    sqlite3_stmt *q = store_stmt(
        st, "SELECT count(*) FROM documents WHERE plugin = ? AND installation_id = ?");
    if (!q)
        return -1;
    sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, installation);
    int64_t n = store_step_row(st, q) == 1 ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q);
    return n;
}
