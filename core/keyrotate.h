/*
 * keyrotate.h - `switchboard --rotate-key`: a new sealing key, every sealed
 * token re-sealed under it, safe across a crash at any point.
 *
 * Installation tokens are the only values sealed with the key (the OAuth
 * state is MACed with a key derived from it, so an install started before a
 * rotation must be started again). The rotation runs on a stopped server:
 * on SQLite store_open holds an exclusive lock on the database file, so it
 * is refused while a server (or another rotation) has the database open; on
 * PostgreSQL it is refused while any node's heartbeat is within its lease
 * (store_nodes.h): every node must be stopped first. Its steps,
 * each durable before the next:
 *
 *   1. open the database (the lock) and settle any earlier rotation that
 *      stopped half-way (keyrotate_recover);
 *   2. check that every stored token opens with the current key;
 *   3. write the new key to <key_file>.new (0600), fsync it and its folder;
 *   4. in one transaction, re-seal every token under the new key; commit
 *      (synchronous=FULL);
 *   5. rename <key_file>.new over <key_file>, fsync the folder; checkpoint
 *      the WAL so the old sealed copies leave the log.
 *
 * Killed before step 4's commit, the tokens are still under the old key and
 * the .new file is discarded at the next start; killed after it, they are
 * under the new key and the .new file is installed. Which of the two holds
 * is read from the tokens themselves: AES-GCM's tag tells, for each one,
 * whether a key opens it.
 *
 * Test-only hook (compiled in only when the tests are built,
 * SWITCHBOARD_TEST_HOOKS): SWITCHBOARD_TEST_PAUSE_AT=<step> makes the
 * rotation stop itself (SIGSTOP) at that step so a test can kill -9 it
 * there. Steps: key-writing (half of <key_file>.new written), key-written,
 * before-commit (every token re-sealed, transaction open), committed,
 * renamed (before the folder's fsync).
 */
#ifndef SB_CORE_KEYROTATE_H
#define SB_CORE_KEYROTATE_H

#include "config.h"
#include "crypto.h"

#include <stddef.h>
#include <stdio.h>

struct store;

/*
 * Rotate the key of cfg's database. Prints a one-line summary to out and
 * problems to stderr. Returns the exit status: 0 done, 1 failure (nothing
 * changed, or a state the next start settles).
 */
int keyrotate_run(const struct config *cfg, FILE *out);

/*
 * If <key_file>.new exists, a rotation stopped between steps 3 and 5: finish
 * it when the new key opens the stored tokens, undo it when the current key
 * (in key) does. On return key holds the key that opens them. Returns 0
 * (also when there was nothing to do) or -1 with a reason in err.
 */
int keyrotate_recover(struct store *st, const char *key_file, unsigned char key[SEAL_KEY_BYTES],
                      char *err, size_t errlen);

/*
 * At start-up: refuse a key that opens none of the stored tokens (a lost key
 * file silently recreated, or another workspace's key), which would otherwise
 * show only as every installation failing at its first call. Returns 0, or -1
 * with a reason in err. Tokens that open with no key are only logged.
 */
int keyrotate_check_key(struct store *st, const char *key_file,
                        const unsigned char key[SEAL_KEY_BYTES], char *err, size_t errlen);

/* Read a key file (64 hex characters, optional newline); -1 with a reason in err. */
int keyrotate_read_key(const char *path, unsigned char key[SEAL_KEY_BYTES], char *err,
                       size_t errlen);

#endif
