/*
 * store_products.h - product webhooks (product_events.h): the
 * product_endpoints table (a plugin's endpoint disabled after a 410, and
 * why) and the deliveries, which are rows of the jobs table whose type starts
 * with PRODUCT_JOB_PREFIX. Times are ms since the epoch. Every call runs in
 * the caller's transaction, if one is open.
 */
#ifndef SB_CORE_STORE_PRODUCTS_H
#define SB_CORE_STORE_PRODUCTS_H

#include <stdint.h>

struct store;

/*
 * Whether plugin's endpoint is disabled: 1 with since (and, when why is not
 * NULL, the reason, caller frees, NULL if none) filled, 0 when enabled, -1
 * with a log line.
 */
int store_product_endpoint_disabled(struct store *st, const char *plugin, int64_t *since,
                                    char **why);
/* Disable the endpoint at at: 1 if it was enabled, 0 if it already was disabled, -1. */
int store_product_endpoint_disable(struct store *st, const char *plugin, int64_t at,
                                   const char *why);
/* Enable the endpoint (enabled_at = at). 0, or -1 with a log line. */
int store_product_endpoint_enable(struct store *st, const char *plugin, int64_t at);

/* Make plugin's held deliveries (queued, to run after now) due now. 0, or -1 with a log line. */
int store_product_deliveries_release(struct store *st, const char *plugin, int64_t now);
/*
 * Count plugin's deliveries still to be sent (queued, waiting, running or
 * pending) and the dead ones. 0, or -1 with a log line (counts then 0).
 */
int store_product_deliveries_count(struct store *st, const char *plugin, int64_t *unsent,
                                   int64_t *dead);

#endif
