/* store_documents.c - the documents table's queries (store_documents.h). */
#include "store/store_documents.h"

#include "documents.h"
#include "log.h"
#include "store/store_sql.h"
#include "util.h"

static void bind_ns(struct store_query *q, const struct doc_ns *ns)
{
    store_bind_text_ref(q, 1, ns->plugin, -1);
    store_bind_int64(q, 2, ns->installation);
    store_bind_text_ref(q, 3, ns->collection, -1);
}

int store_document_put(struct store *st, const struct doc_ns *ns, const char *key,
                       json_object *value)
{
    struct store_query *q = store_query(
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
    store_bind_text_ref(q, 4, key, -1);
    store_bind_text_ref(q, 5, text, (int)len);
    store_bind_int64(q, 6, time_now_ms());
    return store_step_done(st, q);
}

int store_document_get(struct store *st, const struct doc_ns *ns, const char *key,
                       json_object **value)
{
    *value = NULL;
    struct store_query *q = store_query(st, "SELECT value FROM documents WHERE plugin = ?1 AND "
                                     "installation_id = ?2 AND collection = ?3 AND key = ?4");
    if (!q)
        return -1;
    bind_ns(q, ns);
    store_bind_text_ref(q, 4, key, -1);
    int found = store_step_row(st, q);
    if (found == 1)
        *value = json_tokener_parse(store_col_text(q, 0));
    store_reset(q);
    return found;
}

int store_document_delete(struct store *st, const struct doc_ns *ns, const char *key)
{
    struct store_query *q = store_query(st, "DELETE FROM documents WHERE plugin = ?1 AND "
                                     "installation_id = ?2 AND collection = ?3 AND key = ?4");
    if (!q)
        return -1;
    bind_ns(q, ns);
    store_bind_text_ref(q, 4, key, -1);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st) > 0 ? 1 : 0;
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
                            "installation_id = ?2 AND collection = ?3 AND "
                            "(CAST(?4 AS TEXT) IS NULL OR key >= ?4) "
                            "AND (CAST(?5 AS TEXT) IS NULL OR key < ?5) ORDER BY key DESC LIMIT ?6"
                          : "SELECT key, value FROM documents WHERE plugin = ?1 AND "
                            "installation_id = ?2 AND collection = ?3 AND "
                            "(CAST(?4 AS TEXT) IS NULL OR key >= ?4) "
                            "AND (CAST(?5 AS TEXT) IS NULL OR key < ?5) ORDER BY key LIMIT ?6";
    struct store_query *q = store_query_new(st, sql);
    if (!q)
        return -1;
    bind_ns(q, ns);
    store_bind_text(q, 4, from);
    store_bind_text(q, 5, to);
    store_bind_int64(q, 6, limit ? (int64_t)limit : INT64_MAX);
    int visited = 0, more;
    while ((more = store_step_row(st, q)) == 1) {
        json_object *value = json_tokener_parse(store_col_text(q, 1));
        visited++;
        int stop = each(arg, store_col_text(q, 0), value);
        json_object_put(value);
        if (stop)
            break;
    }
    store_query_free(q);
    return more < 0 ? -1 : visited;
}

int store_documents_delete_range(struct store *st, const struct doc_ns *ns, const char *from,
                                 const char *to)
{
    struct store_query *q = store_query(st, "DELETE FROM documents WHERE plugin = ?1 AND "
                                            "installation_id = ?2 AND collection = ?3 AND "
                                            "(CAST(?4 AS TEXT) IS NULL OR key >= ?4) AND "
                                            "(CAST(?5 AS TEXT) IS NULL OR key < ?5)");
    if (!q)
        return -1;
    bind_ns(q, ns);
    store_bind_text(q, 4, from);
    store_bind_text(q, 5, to);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st);
}

int64_t store_documents_count(struct store *st, const char *plugin, int64_t installation)
{
    struct store_query *q = store_query(
        st, "SELECT count(*) FROM documents WHERE plugin = ? AND installation_id = ?");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, installation);
    int64_t n = store_step_row(st, q) == 1 ? store_col_int64(q, 0) : -1;
    store_reset(q);
    return n;
}
