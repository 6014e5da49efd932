/* store_installations.c - the installations table's queries (store_installations.h). */
#include "store/store_installations.h"

#include "log.h"
#include "store/store_sql.h"

#define INSTALLATION_COLUMNS                                                                \
    "id, plugin, workspace_id, workspace_name, admin_id, admin_email, region, state, "       \
    "installed_at, updated_at"

/* Visit each row of q, read as INSTALLATION_COLUMNS, until each returns non-zero; 0 or -1. */
static int visit_rows(struct store *st, struct store_query *q,
                      int (*each)(void *arg, const struct store_installation_row *row), void *arg)
{
    int more;
    while ((more = store_step_row(st, q)) == 1) {
        struct store_installation_row row = {
            .id = store_col_int64(q, 0),
            .plugin = store_col_text(q, 1),
            .workspace_id = store_col_text(q, 2),
            .workspace_name = store_col_text(q, 3),
            .admin_id = store_col_text(q, 4),
            .admin_email = store_col_text(q, 5),
            .region = store_col_text(q, 6),
            .state = store_col_text(q, 7),
            .installed_at = store_col_int64(q, 8),
            .updated_at = store_col_int64(q, 9),
        };
        if (each(arg, &row))
            break;
    }
    store_reset(q);
    return more < 0 ? -1 : 0;
}

int store_installations_each(struct store *st, int64_t updated_since,
                             int (*each)(void *arg, const struct store_installation_row *row),
                             void *arg)
{
    struct store_query *q = store_query(st, "SELECT " INSTALLATION_COLUMNS " FROM installations "
                                            "WHERE updated_at >= ?1 ORDER BY id");
    if (!q)
        return -1;
    store_bind_int64(q, 1, updated_since);
    return visit_rows(st, q, each, arg);
}

int store_installation_lookup(struct store *st, int64_t id, const char *plugin,
                              const char *workspace_id,
                              int (*each)(void *arg, const struct store_installation_row *row),
                              void *arg)
{
    struct store_query *q = store_query(st, "SELECT " INSTALLATION_COLUMNS " FROM installations "
                                            "WHERE id = ?1 OR (plugin = ?2 AND workspace_id = ?3)");
    if (!q)
        return -1;
    store_bind_int64(q, 1, id);
    store_bind_text(q, 2, plugin);
    store_bind_text(q, 3, workspace_id);
    return visit_rows(st, q, each, arg);
}

int store_installation_save(struct store *st, const struct store_installation_row *row,
                            const unsigned char *sealed_token, size_t sealed_len, int64_t *id)
{
    *id = 0;
    struct store_query *q = store_query(
        st,
        "INSERT INTO installations (plugin, workspace_id, workspace_name, region, admin_id, "
        "admin_email, token, state, installed_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?8) "
        "ON CONFLICT (plugin, workspace_id) DO UPDATE SET workspace_name = excluded.workspace_name,"
        " region = excluded.region, admin_id = excluded.admin_id,"
        " admin_email = excluded.admin_email, token = excluded.token, state = 'active',"
        " updated_at = excluded.updated_at, revoked_at = NULL "
        "RETURNING id");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, row->plugin, -1);
    store_bind_text_ref(q, 2, row->workspace_id, -1);
    store_bind_text(q, 3, row->workspace_name);
    store_bind_text_ref(q, 4, row->region, -1);
    store_bind_text(q, 5, row->admin_id);
    store_bind_text(q, 6, row->admin_email);
    store_bind_blob_ref(q, 7, sealed_token, sealed_len);
    store_bind_int64(q, 8, row->updated_at);
    if (store_step_row(st, q) == 1)
        *id = store_col_int64(q, 0);
    else
        log_error("installations", "cannot save installation: %s", store_last_error(st));
    store_reset(q);
    return *id ? 0 : -1;
}

int store_installation_sealed_token(struct store *st, int64_t id,
                                    void (*use)(void *arg, const unsigned char *sealed,
                                                size_t len),
                                    void *arg)
{
    struct store_query *q = store_query(st, "SELECT token FROM installations WHERE id = ?");
    if (!q)
        return -1;
    store_bind_int64(q, 1, id);
    int found = store_step_row(st, q);
    if (found == 1 && store_col_null(q, 0))
        found = 0; /* revoked: the token is NULL */
    if (found == 1)
        use(arg, store_col_blob(q, 0), (size_t)store_col_bytes(q, 0));
    store_reset(q);
    return found;
}

int store_installation_set_state(struct store *st, int64_t id, const char *state,
                                 int64_t updated_at)
{
    struct store_query *q = store_query(
        st,
        "UPDATE installations SET state = ?2, updated_at = ?3,"
        " token = CASE WHEN ?2 = 'revoked' THEN NULL ELSE token END,"
        " revoked_at = CASE WHEN ?2 = 'revoked' THEN ?3 ELSE revoked_at END WHERE id = ?1");
    if (!q)
        return -1;
    store_bind_int64(q, 1, id);
    store_bind_text_ref(q, 2, state, -1);
    store_bind_int64(q, 3, updated_at);
    return store_step_done(st, q);
}
