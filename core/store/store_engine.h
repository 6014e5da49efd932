/*
 * store_engine.h - what an engine (SQLite, PostgreSQL) gives the store: a
 * connection with statements, transactions and its schema's migrations. The
 * engine-neutral part (store.c: nested transactions, the statement cache,
 * the commit thread) is written against this alone, as are the area files
 * (store_sql.h). Nothing outside core/store/ includes this.
 */
#ifndef SB_CORE_STORE_ENGINE_H
#define SB_CORE_STORE_ENGINE_H

#include "store/store_sql.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A prepared statement: the engine's own struct begins with this. */
struct store_query_ops;
struct store_query {
    const struct store_query_ops *ops;
};

struct store_query_ops {
    void (*bind_int64)(struct store_query *q, int i, int64_t value);
    /* copy: the engine keeps its own copy; otherwise s is borrowed (store_sql.h). */
    void (*bind_text)(struct store_query *q, int i, const char *s, int len, bool copy);
    void (*bind_blob)(struct store_query *q, int i, const void *data, size_t len);
    /* 1: a row, 0: no more rows, -1: failed (the connection's last_error says why). */
    int (*step)(struct store_query *q);
    void (*reset)(struct store_query *q);
    int64_t (*col_int64)(struct store_query *q, int i);
    bool (*col_null)(struct store_query *q, int i);
    const char *(*col_text)(struct store_query *q, int i);
    size_t (*col_bytes)(struct store_query *q, int i);
    const void *(*col_blob)(struct store_query *q, int i);
    void (*finalize)(struct store_query *q);
};

/* An engine's connection: the engine's own struct begins with this. */
struct store_conn {
    const struct store_engine *engine;
};

struct store_engine {
    const char *name; /* store_driver's answer */
    /* The outermost BEGIN (inner levels are SAVEPOINT spN on every engine). */
    const char *begin_sql;
    /* Which part of a STORE_DIALECT fragment is this engine's (0 SQLite, 1 PostgreSQL), and
       whether parameters are spelled $N. */
    int dialect;
    bool dollar_parameters;
    /* Other processes may write the database at once (store_shared). */
    bool shared;
    /* Compile sql (already in this engine's dialect: store_sql_for); NULL and err on failure. */
    struct store_query *(*prepare)(struct store_conn *c, const char *sql, char *err,
                                   size_t errlen);
    /* Run statements that return no rows; -1 and err on failure. */
    int (*exec)(struct store_conn *c, const char *sql, char *err, size_t errlen);
    int64_t (*changes)(struct store_conn *c);
    /* The id of the row the last INSERT added (store_step_insert_id); NULL: the engine reads
       it from STORE_RETURNING_ID's row. */
    int64_t (*last_insert_id)(struct store_conn *c);
    /* Make every commit so far durable, on any thread (it must not use the connection); 0 or
       -1. NULL: a commit is durable when it returns. */
    int (*sync)(struct store_conn *c);
    /* The message of the last call that failed. */
    const char *(*last_error)(struct store_conn *c);
    /* A transaction is open (an engine may end one by itself on a failure). */
    bool (*in_transaction)(struct store_conn *c);
    int (*schema_version)(struct store_conn *c);
    void (*release_memory)(struct store_conn *c);
    /* Optional (NULL: zeros): store_log_stats, from any thread, without the connection. */
    void (*log_stats)(struct store_conn *c, struct store_log_stats *out);
    void (*close)(struct store_conn *c);
};

/*
 * Open an engine's connection and bring its schema up to date; NULL with err
 * on failure. The engines' files define these.
 */
struct store_conn *store_sqlite_open(const char *path, char *err, size_t errlen);
struct store_conn *store_pg_open(const struct store_options *options, char *err,
                                 size_t errlen);

/* The store's connection, once a commit in flight has ended. */
struct store_conn *store_conn(struct store *st);

/*
 * The engine's own text of sql (STORE_DIALECT fragments resolved: part 0 is
 * SQLite's, part 1 PostgreSQL's), allocated; the caller frees it. With
 * numbered_parameters, each ?N becomes $N and each plain ? the next $N
 * (PostgreSQL's spelling); quoted text is left alone.
 */
char *store_sql_for(const char *sql, int part, bool numbered_parameters);

#endif
