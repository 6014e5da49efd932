/* store_keys.c - key rotation's queries and SQLite steps (store_keys.h). */
#include "store/store_keys.h"

#include "store/store_sqlite.h"

int store_keys_each_sealed_token(struct store *st,
                                 int (*each)(void *arg, const struct store_sealed_token *token),
                                 void *arg)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT id, plugin, workspace_id, token FROM installations"
                                     " WHERE token IS NOT NULL ORDER BY id");
    if (!q)
        return -1;
    int more;
    while ((more = store_step_row(st, q)) == 1) {
        struct store_sealed_token token = {
            .id = sqlite3_column_int64(q, 0),
            .plugin = store_col_text(q, 1),
            .workspace_id = store_col_text(q, 2),
            .sealed = sqlite3_column_blob(q, 3),
            .len = (size_t)sqlite3_column_bytes(q, 3),
        };
        if (each(arg, &token))
            break;
    }
    sqlite3_reset(q);
    return more < 0 ? -1 : 0;
}

int store_keys_replace_sealed_token(struct store *st, int64_t id, const unsigned char *sealed,
                                    size_t len)
{
    sqlite3_stmt *q = store_stmt(st, "UPDATE installations SET token = ?2 WHERE id = ?1");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_blob(q, 2, sealed, (int)len, SQLITE_TRANSIENT);
    return store_step_done(st, q);
}

int store_keys_zero_deleted_content(struct store *st)
{
    return store_exec(st, "PRAGMA secure_delete = ON");
}

int store_keys_flush_log(struct store *st)
{
    return sqlite3_wal_checkpoint_v2(store_db(st), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL)
                   == SQLITE_OK
               ? 0
               : -1;
}
