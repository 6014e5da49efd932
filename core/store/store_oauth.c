/* store_oauth.c - the oauth_states table's queries (store_oauth.h). */
#include "store/store_oauth.h"

#include "store/store_sql.h"

int store_oauth_state_insert(struct store *st, const char *nonce, const char *plugin,
                             int64_t created_at, int64_t expires_at)
{
    struct store_query *q = store_query(st, "INSERT INTO oauth_states (nonce, plugin, created_at,"
                                     " expires_at) VALUES (?, ?, ?, ?)");
    if (!q)
        return -1;
    store_bind_text(q, 1, nonce);
    store_bind_text_ref(q, 2, plugin, -1);
    store_bind_int64(q, 3, created_at);
    store_bind_int64(q, 4, expires_at);
    return store_step_done(st, q);
}

int store_oauth_state_consume(struct store *st, const char *nonce, const char *plugin,
                              int64_t used_at)
{
    struct store_query *q = store_query(st, "UPDATE oauth_states SET used_at = ? WHERE nonce = ? "
                                     "AND plugin = ? AND used_at IS NULL");
    if (!q)
        return -1;
    store_bind_int64(q, 1, used_at);
    store_bind_text(q, 2, nonce);
    store_bind_text_ref(q, 3, plugin, -1);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st) == 1 ? 1 : 0;
}

int64_t store_oauth_states_prune(struct store *st, int64_t expired_before)
{
    struct store_query *q = store_query(st, "DELETE FROM oauth_states WHERE expires_at < ?");
    if (!q)
        return -1;
    store_bind_int64(q, 1, expired_before);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st);
}
