/*
 * store_sql.h - the statement API the store's area files (core/store/
 * store_<area>.c) write their queries with, the same on every engine. Nothing
 * outside core/store/ includes this.
 *
 * SQL is written in the dialect both engines share: numbered parameters
 * (?1, ?2, ... or plain ?), ON CONFLICT upserts, RETURNING, partial indexes,
 * coalesce, integers for times and flags. Where the engines differ, a
 * fragment names both spellings with STORE_DIALECT; each engine keeps its own
 * when the statement is prepared.
 *
 * store_query, store_exec and store_changes first wait for a commit in flight
 * on the commit thread (store.h); the step helpers take statements from
 * store_query, so they need not.
 */
#ifndef SB_CORE_STORE_SQL_H
#define SB_CORE_STORE_SQL_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_query;

/*
 * A prepared statement for a SQL string literal, cached by the literal's
 * address, with no bindings and not yet run. NULL (with a log line) if the
 * SQL does not compile. Never freed by the caller.
 */
struct store_query *store_query(struct store *st, const char *sql);

/*
 * Parameters are numbered from 1; one left unbound is NULL. A text or blob
 * bound with _ref is borrowed: it must stay valid until the statement has
 * been stepped to its end or reset (the hot paths' bodies, not copied).
 * len < 0: up to the NUL.
 */
void store_bind_int64(struct store_query *q, int i, int64_t value);
void store_bind_text(struct store_query *q, int i, const char *s); /* copied; NULL binds NULL */
void store_bind_text_ref(struct store_query *q, int i, const char *s, int len);
void store_bind_blob_ref(struct store_query *q, int i, const void *data, size_t len);

/*
 * Step a statement that returns rows: 1 on a row (read it before the next
 * step or reset), 0 past the last, -1 with a log line on error. The caller
 * resets it (a failure's message survives the reset: store_last_error).
 */
int store_step_row(struct store *st, struct store_query *q);
/* Step to completion (rows are skipped) and reset; -1 with a log line on error. */
int store_step_done(struct store *st, struct store_query *q);
/*
 * Step a query of one integer value (a min, a count, an id) and reset it: 1
 * with the value in *out, 0 if there is no row or the value is NULL, -1 with
 * a log line on error.
 */
int store_step_int64(struct store *st, struct store_query *q, int64_t *out);
/*
 * Step an INSERT of one row that ends with STORE_RETURNING_ID, and reset it:
 * 1 with the new row's id in *out, 0 if no row was added (ON CONFLICT DO
 * NOTHING), -1 with a log line on error. Not for an upsert that may update.
 */
int store_step_insert_id(struct store *st, struct store_query *q, int64_t *out);
/*
 * A statement of its own, not cached: for a scan whose callback may run the
 * same query again while this one is open. Freed with store_query_free.
 */
struct store_query *store_query_new(struct store *st, const char *sql);
void store_query_free(struct store_query *q);
/* Forget the rows and bindings; the statement can be bound and run again. */
void store_reset(struct store_query *q);

/* The current row's column i (from 0). NULL reads 0, NULL or 0 bytes. */
int64_t store_col_int64(struct store_query *q, int i);
int store_col_int(struct store_query *q, int i);
bool store_col_null(struct store_query *q, int i);
const char *store_col_text(struct store_query *q, int i);
/* The length of column i's text or blob, in bytes. */
size_t store_col_bytes(struct store_query *q, int i);
const void *store_col_blob(struct store_query *q, int i);

/*
 * The window of the newest notifications (recent_ids.h) on an engine whose
 * events table has no unique index on them (SQLite); NULL where it has one.
 * Like store_query, it first waits for a commit in flight: the window is the
 * connection holder's.
 */
struct recent_ids *store_recent_ids(struct store *st);

/* Rows the last INSERT, UPDATE or DELETE changed. */
int64_t store_changes(struct store *st);
/* Run SQL (one or more statements) that returns no rows; logs and returns -1 on failure. */
int store_exec(struct store *st, const char *sql);

/*
 * A fragment each engine spells its own way: the SQLite text, then the
 * PostgreSQL text. The markers are bytes no SQL contains; an engine keeps
 * its own part when it prepares the statement (store_engine.h).
 */
#define STORE_DIALECT(sqlite, postgresql) "\x01" sqlite "\x02" postgresql "\x03"

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
 * one id space, so a job id names one row of either table. On SQLite, two
 * seeks to the ends of the tables' primary keys, inside the insert's own
 * transaction (one writer at a time); on PostgreSQL, where several nodes
 * insert at once, a sequence both tables draw from.
 */
#define STORE_NEXT_ID                                                                       \
    STORE_DIALECT("(SELECT max(coalesce((SELECT max(id) FROM jobs), 0), "                   \
                  "coalesce((SELECT max(id) FROM events), 0)) + 1)",                        \
                  "nextval('store_ids')")
/*
 * How an INSERT hands back its row's id (store_step_insert_id): PostgreSQL
 * returns it; SQLite's RETURNING buffers the row in a temporary table on
 * every run (a few microseconds, more with bigger pages), so there the
 * connection's last rowid is read instead.
 */
#define STORE_RETURNING_ID STORE_DIALECT("", " RETURNING id")
/* A text column's value begins with prefix (a literal with no wildcard in it). */
#define STORE_STARTS_WITH(prefix) STORE_DIALECT("GLOB '" prefix "*'", "LIKE '" prefix "%'")
/* Use a named index (SQLite's planner needs the hint; PostgreSQL's has none). */
#define STORE_INDEXED_BY(index) STORE_DIALECT(" INDEXED BY " index, "")

#endif
