/* store_oauth.c - the oauth_states table's queries (see store_oauth.h). */
#include "store/store_oauth.h"

#include "store/store_sqlite.h"

int64_t store_oauth_states_prune(struct store *st, int64_t expired_before)
{
    sqlite3_stmt *q = store_stmt(st, "DELETE FROM oauth_states WHERE expires_at < ?");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, expired_before);
    if (store_step_done(st, q) != 0)
        return -1;
    return sqlite3_changes64(store_db(st));
}
