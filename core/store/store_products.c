/* store_products.c - product webhooks' queries (store_products.h). */
#include "store/store_products.h"

#include "product_events.h"
#include "store/store_sql.h"
#include "util.h"

/* The states in which a delivery still has to be sent. */
#define UNSENT_STATES "('queued', 'waiting', 'running', 'pending')"

int store_product_endpoint_disabled(struct store *st, const char *plugin, int64_t *since,
                                    char **why)
{
    *since = 0;
    if (why)
        *why = NULL;
    struct store_query *q = store_query(
        st, "SELECT disabled_at, disabled_reason FROM product_endpoints "
            "WHERE plugin = ? AND disabled_at IS NOT NULL");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    int disabled = store_step_row(st, q);
    if (disabled == 1) {
        *since = store_col_int64(q, 0);
        if (why) {
            const char *reason = store_col_text(q, 1);
            *why = reason ? xstrdup(reason) : NULL;
        }
    }
    store_reset(q);
    return disabled;
}

int store_product_endpoint_disable(struct store *st, const char *plugin, int64_t at,
                                   const char *why)
{
    struct store_query *q = store_query(
        st, "INSERT INTO product_endpoints (plugin, disabled_at, disabled_reason) VALUES (?1, ?2, "
            "?3) ON CONFLICT (plugin) DO UPDATE SET disabled_at = excluded.disabled_at, "
            "disabled_reason = excluded.disabled_reason "
            "WHERE product_endpoints.disabled_at IS NULL");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, at);
    store_bind_text_ref(q, 3, why, -1);
    if (store_step_done(st, q) != 0)
        return -1;
    return store_changes(st) > 0 ? 1 : 0;
}

int store_product_endpoint_enable(struct store *st, const char *plugin, int64_t at)
{
    struct store_query *q = store_query(st, "UPDATE product_endpoints SET disabled_at = NULL, "
                                     "disabled_reason = NULL, enabled_at = ?2 WHERE plugin = ?1");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, at);
    return store_step_done(st, q);
}

int store_product_deliveries_release(struct store *st, const char *plugin, int64_t now)
{
    /* Held deliveries wait with a late run_at. */
    struct store_query *q = store_query(
        st, "UPDATE jobs SET run_at = ?2, updated_at = ?2 WHERE "
            "plugin = ?1 AND state = 'queued' AND type " STORE_STARTS_WITH(PRODUCT_JOB_PREFIX)
            " AND run_at > ?2");
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    store_bind_int64(q, 2, now);
    return store_step_done(st, q);
}

static int count_deliveries(struct store *st, const char *plugin, const char *sql, int64_t *n)
{
    *n = 0;
    struct store_query *q = store_query(st, sql);
    if (!q)
        return -1;
    store_bind_text_ref(q, 1, plugin, -1);
    int counted = store_step_row(st, q);
    if (counted == 1)
        *n = store_col_int64(q, 0);
    store_reset(q);
    return counted == 1 ? 0 : -1;
}

int store_product_deliveries_count(struct store *st, const char *plugin, int64_t *unsent,
                                   int64_t *dead)
{
    int unsent_rc = count_deliveries(st, plugin,
                                     "SELECT count(*) FROM jobs WHERE plugin = ? AND state IN "
                                     UNSENT_STATES " AND type "
                                     STORE_STARTS_WITH(PRODUCT_JOB_PREFIX),
                                     unsent);
    int dead_rc = count_deliveries(st, plugin,
                                   "SELECT count(*) FROM jobs WHERE plugin = ? AND state = 'dead' "
                                   "AND type " STORE_STARTS_WITH(PRODUCT_JOB_PREFIX),
                                   dead);
    return unsent_rc == 0 && dead_rc == 0 ? 0 : -1;
}
