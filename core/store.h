/* store.h - the SQLite database: opening, migrations, cached statements, transactions. */
#ifndef SB_CORE_STORE_H
#define SB_CORE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

struct store;

/*
 * Open (creating folders and file), set WAL, synchronous=FULL (durable
 * commits), foreign keys, an 8 MB page cache and a busy timeout, then apply
 * pending migrations. WAL checkpoints run on a helper thread (store.c).
 */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *st);
sqlite3 *store_db(struct store *st);
int store_schema_version(struct store *st);
int store_latest_version(void);

/*
 * A prepared statement for a SQL string literal, cached by the literal's
 * address and reset before it is returned. NULL (with a log line) if the SQL
 * does not compile. Never finalize it.
 */
sqlite3_stmt *store_stmt(struct store *st, const char *sql);

/*
 * Transactions nest: the outermost is BEGIN IMMEDIATE, inner ones are
 * savepoints. Every begin is paired with one commit or rollback.
 */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);
bool store_in_transaction(struct store *st);

/* Run a statement that returns no rows; logs and returns -1 on failure. */
int store_exec(struct store *st, const char *sql);
/* Step a cached statement to completion (no rows); -1 with a log line on error. */
int store_step_done(struct store *st, sqlite3_stmt *stmt);
/* The text of column i, or NULL. */
const char *store_col_text(sqlite3_stmt *stmt, int i);
/* Bind a string or NULL. */
int store_bind_text(sqlite3_stmt *stmt, int i, const char *s);

#endif
