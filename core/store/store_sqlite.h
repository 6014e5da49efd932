/*
 * store_sqlite.h - the SQLite engine's own API, for the store files in
 * core/store/ only: the connection, cached statements and small step/bind
 * helpers. Nothing outside core/store/ includes this.
 *
 * store_db, store_stmt and store_exec first wait for a commit in flight on the
 * commit thread (store.h); the step helpers take statements from store_stmt,
 * so they need not.
 */
#ifndef SB_CORE_STORE_SQLITE_H
#define SB_CORE_STORE_SQLITE_H

#include "store/store.h"

#include <sqlite3.h>
#include <stdint.h>

sqlite3 *store_db(struct store *st);

/*
 * A prepared statement for a SQL string literal, cached by the literal's
 * address and reset before it is returned. NULL (with a log line) if the SQL
 * does not compile. Never finalize it.
 */
sqlite3_stmt *store_stmt(struct store *st, const char *sql);

/* Run a statement that returns no rows; logs and returns -1 on failure. */
int store_exec(struct store *st, const char *sql);
/* Step a cached statement to completion (no rows); -1 with a log line on error. */
int store_step_done(struct store *st, sqlite3_stmt *stmt);
/*
 * Step a statement that returns rows: 1 on a row (read it before the next
 * step or reset), 0 past the last, -1 with a log line on error. The caller
 * resets it (a failure's message survives the reset: store_last_error).
 */
int store_step_row(struct store *st, sqlite3_stmt *stmt);
/* The text of column i, or NULL. */
const char *store_col_text(sqlite3_stmt *stmt, int i);
/* Bind a string or NULL. */
int store_bind_text(sqlite3_stmt *stmt, int i, const char *s);
/*
 * Step a query of one integer value (a min, a count, an id) and reset it: 1
 * with the value in *out, 0 if there is no row or the value is NULL, -1 with
 * a log line on error.
 */
int store_step_int64(struct store *st, sqlite3_stmt *stmt, int64_t *out);

/*
 * The states in which a job or a delivery holds its key, as a condition on
 * column col, written exactly as the WHERE of the partial indexes
 * jobs_active_key and events_active_key: SQLite uses a partial index only
 * for a query that repeats its terms, and otherwise walks an installation's
 * whole history for each keyed row. The deliveries' are written with OR: an
 * IN list in a constraint or an index's WHERE builds a temporary table each
 * time a row is written (five per update of a jobs row), comparisons do not.
 */
#define STORE_JOBS_ACTIVE(col) col " IN ('queued', 'waiting', 'running', 'pending')"
#define STORE_DELIVERIES_ACTIVE(col)                                                        \
    "(" col " = 'queued' OR " col " = 'waiting' OR " col " = 'running' OR " col              \
    " = 'pending')"
/* events_unfinished's WHERE (the states an operator watches), as a condition on col. */
#define STORE_DELIVERIES_UNFINISHED(col)                                                    \
    "(" col " = 'queued' OR " col " = 'waiting' OR " col " = 'running' OR " col              \
    " = 'pending' OR " col " = 'dead')"
/*
 * The id of a new job or delivery: jobs and deliveries (events rows) share
 * one id space, so a job id names one row of either table. Two seeks to the
 * ends of the tables' primary keys, inside the insert's own transaction.
 */
#define STORE_NEXT_ID                                                                       \
    "(SELECT max(coalesce((SELECT max(id) FROM jobs), 0), "                                 \
    "coalesce((SELECT max(id) FROM events), 0)) + 1)"

#endif
