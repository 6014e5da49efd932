/* store_keys.c - key rotation's queries and SQLite steps (store_keys.h). */
#include "store/store_keys.h"

#include "store/store_sql.h"

int store_keys_each_sealed_token(struct store *st,
                                 int (*each)(void *arg, const struct store_sealed_token *token),
                                 void *arg)
{
    struct store_query *q = store_query(
        st, "SELECT id, plugin, workspace_id, token FROM installations"
            " WHERE token IS NOT NULL ORDER BY id");
    if (!q)
        return -1;
    int more;
    while ((more = store_step_row(st, q)) == 1) {
        struct store_sealed_token token = {
            .id = store_col_int64(q, 0),
            .plugin = store_col_text(q, 1),
            .workspace_id = store_col_text(q, 2),
            .sealed = store_col_blob(q, 3),
            .len = (size_t)store_col_bytes(q, 3),
        };
        if (each(arg, &token))
            break;
    }
    store_reset(q);
    return more < 0 ? -1 : 0;
}

int store_keys_replace_sealed_token(struct store *st, int64_t id, const unsigned char *sealed,
                                    size_t len)
{
    struct store_query *q = store_query(st, "UPDATE installations SET token = ?2 WHERE id = ?1");
    if (!q)
        return -1;
    store_bind_int64(q, 1, id);
    store_bind_blob_ref(q, 2, sealed, len);
    return store_step_done(st, q);
}

int store_keys_zero_deleted_content(struct store *st)
{
    return store_exec(st, STORE_DIALECT("PRAGMA secure_delete = ON", ""));
}

int store_keys_flush_log(struct store *st)
{
    /* PostgreSQL: a vacuum drops the dead row versions that held the old tokens. */
    return store_exec(st, STORE_DIALECT("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM installations"));
}
