/*
 * store.h - the durable state's engine: opening (with migrations), closing and
 * transactions. Engine-neutral: nothing here names SQLite, so a second engine
 * can implement it. The queries live beside it, one file per area
 * (store_<area>.h), behind functions named for what they do; only the files in
 * core/store/ touch the engine's own API (store_sqlite.h).
 */
#ifndef SB_CORE_STORE_H
#define SB_CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/*
 * Open (creating folders and file) and apply pending migrations. The SQLite
 * engine runs in WAL mode with synchronous=FULL (durable commits), foreign
 * keys, an 8 MB page cache and a busy timeout; its WAL checkpoints run on a
 * helper thread (store.c).
 */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *st);
int store_schema_version(struct store *st);
int store_latest_version(void);

/*
 * Transactions nest: the outermost is BEGIN IMMEDIATE, inner ones are
 * savepoints. Every begin is paired with one commit or rollback.
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
bool store_in_transaction(struct store *st);

/*
 * The engine's message for the last call that failed (valid until the next
 * call), for callers that put the reason into their own error text.
 */
const char *store_last_error(struct store *st);

/* Give back the memory the engine keeps for speed (its page cache); reads refill it. */
void store_release_memory(struct store *st);

#endif
