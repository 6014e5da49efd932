/*
 * store_oauth.h - the oauth_states table (stand-in on branch w-jobs: only the
 * prune retention needs; the w-store branch brings the whole area).
 */
#ifndef SB_CORE_STORE_OAUTH_H
#define SB_CORE_STORE_OAUTH_H

#include "store/store.h"

#include <stdint.h>

/* Forget the states that expired before expired_before (seconds): how many, or -1 with a log line. */
int64_t store_oauth_states_prune(struct store *st, int64_t expired_before);

#endif
