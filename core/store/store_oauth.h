/*
 * store_oauth.h - the oauth_states table: one row per install started, so
 * that each signed state is used once. Times are seconds since the epoch.
 * Every call runs in the caller's transaction, if one is open.
 */
#ifndef SB_CORE_STORE_OAUTH_H
#define SB_CORE_STORE_OAUTH_H

#include <stdint.h>

struct store;

/* Record a new state's nonce (hex) for plugin. 0, or -1 with a log line. */
int store_oauth_state_insert(struct store *st, const char *nonce, const char *plugin,
                             int64_t created_at, int64_t expires_at);
/*
 * Mark the state used at used_at: 1 when it was recorded for plugin and not
 * used yet, 0 when it was not (unknown, another plugin's, or used), -1 with a
 * log line.
 */
int store_oauth_state_consume(struct store *st, const char *nonce, const char *plugin,
                              int64_t used_at);
/* Forget the states that expired before expired_before: how many, or -1 with a log line. */
int64_t store_oauth_states_prune(struct store *st, int64_t expired_before);

#endif
