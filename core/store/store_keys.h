/*
 * store_keys.h - what key rotation (keyrotate.h) needs of the store: every
 * sealed token of the installations table, re-sealed ones written back, and
 * the engine's part in leaving no old sealed copy behind (deleted content
 * zeroed, the write-ahead log emptied). Calls run in the caller's
 * transaction, if one is open; the reason of a failure is store_last_error.
 */
#ifndef SB_CORE_STORE_KEYS_H
#define SB_CORE_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* One stored token as sealed; borrowed, valid during the callback. */
struct store_sealed_token {
    int64_t id; /* the installation */
    const char *plugin;
    const char *workspace_id;
    const unsigned char *sealed;
    size_t len;
};

/*
 * Visit every installation that has a token, in id order, until each returns
 * non-zero (it must not call into the store). 0, or -1.
 */
int store_keys_each_sealed_token(struct store *st,
                                 int (*each)(void *arg, const struct store_sealed_token *token),
                                 void *arg);
/* Replace an installation's sealed token. 0, or -1 with a log line. */
int store_keys_replace_sealed_token(struct store *st, int64_t id, const unsigned char *sealed,
                                    size_t len);
/* From now on (this connection) deleted or overwritten content is zeroed in the file. 0, or -1. */
int store_keys_zero_deleted_content(struct store *st);
/*
 * Copy every committed change into the database file and empty the
 * write-ahead log, so no old page stays in it. 0, or -1.
 */
int store_keys_flush_log(struct store *st);

#endif
