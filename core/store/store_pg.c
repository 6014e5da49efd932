/*
 * store_pg.c - the PostgreSQL engine (store_engine.h), over libpq: one
 * connection, statements prepared once on the server and run with their
 * parameters in text form (blobs and counted text in binary), and the
 * schema's migrations, which one node at a time applies.
 *
 * Results come back whole (PQexecPrepared): the store's queries are bounded
 * (LIMITs, one row by key), and a result's rows are read in place until the
 * statement is reset.
 */
#include "store/store_engine.h"

#include "log.h"
#include "store/migrations.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's type oids the engine reads by (pg_type.h is a server header). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_TEXT 25

/* More than any of the store's statements has. */
#define MAX_PARAMETERS 64

/* The key of the advisory lock under which one node at a time migrates. */
#define MIGRATION_LOCK "358056747057"

struct pg_conn {
    struct store_conn base;
    PGconn *pg;
    int64_t changes;
    unsigned generation;  /* bumped when the session is replaced: statements prepare again */
    unsigned next_name;   /* the server-side names of prepared statements: s1, s2, ... */
    char last_error[512];
};

/* One parameter's value; text in num when it is a number. */
struct pg_param {
    const char *value; /* NULL: SQL NULL */
    int length;
    int format; /* 0 text, 1 binary */
    char *owned; /* a copy this statement frees */
    char num[24];
};

struct pg_query {
    struct store_query base;
    struct pg_conn *conn;
    char *sql;  /* the engine's text, to prepare again on a new session */
    char name[16];
    unsigned generation; /* the session it was prepared on */
    int n_params;
    struct pg_param *params;
    PGresult *res;
    int row;
    /* The last bytea column read, decoded. */
    unsigned char *blob;
    size_t blob_len;
    int blob_row, blob_col;
};

static const struct store_engine pg_engine;
static const struct store_query_ops pg_query_ops;

static struct pg_query *query_of(struct store_query *q)
{
    return (struct pg_query *)q;
}

/* libpq's message without its trailing newline. */
static void set_error(struct pg_conn *c, const char *what, const char *msg)
{
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        len--;
    snprintf(c->last_error, sizeof c->last_error, "%s%s%.*s", what ? what : "",
             what ? ": " : "", (int)len, msg);
}

static void set_result_error(struct pg_conn *c, const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    set_error(c, NULL, *msg ? msg : PQerrorMessage(c->pg));
}

/* A result that ended well, and its row count for store_changes. */
static bool result_ok(struct pg_conn *c, PGresult *res)
{
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
        set_result_error(c, res);
        return false;
    }
    const char *tuples = PQcmdTuples(res);
    c->changes = *tuples ? strtoll(tuples, NULL, 10) : 0;
    return true;
}

/*
 * A lost session (the server restarted, a network cut) is opened again
 * before the next statement, outside a transaction only: a transaction's
 * work died with its session, and its COMMIT must fail.
 */
static void reconnect_if_lost(struct pg_conn *c)
{
    if (PQstatus(c->pg) == CONNECTION_OK)
        return;
    PQreset(c->pg);
    if (PQstatus(c->pg) == CONNECTION_OK) {
        c->generation++;
        log_warn("store", "the PostgreSQL session was lost and is open again");
    }
}

static int pg_exec(struct store_conn *base, const char *sql, char *err, size_t errlen)
{
    struct pg_conn *c = (struct pg_conn *)base;
    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE || PQstatus(c->pg) != CONNECTION_OK)
        reconnect_if_lost(c);
    PGresult *res = PQexec(c->pg, sql);
    bool ok = result_ok(c, res);
    /* A COMMIT in a failed transaction answers ROLLBACK, not an error. */
    if (ok && strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        set_error(c, NULL, "the transaction failed earlier and was rolled back");
        ok = false;
    }
    PQclear(res);
    if (!ok)
        snprintf(err, errlen, "%s", c->last_error);
    return ok ? 0 : -1;
}

/* ---- statements ---- */

/*
 * The parameters a statement names ($N outside quotes), as prepare's types:
 * 0 (the server infers it) for each one used, text for a number skipped
 * (?1, ?3: SQLite allows the gap, the server cannot infer an unused one).
 */
static int parameter_types(const char *sql, Oid *types, int max)
{
    int highest = 0;
    char quote = 0;
    for (int i = 0; i < max; i++)
        types[i] = OID_TEXT;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            quote = *p == quote ? 0 : quote;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            continue;
        }
        if (*p != '$' || p[1] < '0' || p[1] > '9')
            continue;
        int number = (int)strtol(p + 1, NULL, 10);
        if (number >= 1 && number <= max) {
            types[number - 1] = 0;
            if (number > highest)
                highest = number;
        }
    }
    return highest;
}

static int prepare_on_server(struct pg_query *q)
{
    struct pg_conn *c = q->conn;
    snprintf(q->name, sizeof q->name, "s%u", ++c->next_name);
    Oid types[MAX_PARAMETERS];
    int n_types = parameter_types(q->sql, types, MAX_PARAMETERS);
    PGresult *res = PQprepare(c->pg, q->name, q->sql, n_types, types);
    bool ok = result_ok(c, res);
    PQclear(res);
    if (!ok)
        return -1;
    res = PQdescribePrepared(c->pg, q->name);
    ok = result_ok(c, res);
    int n = ok ? PQnparams(res) : 0;
    PQclear(res);
    if (!ok)
        return -1;
    if (n != q->n_params) {
        free(q->params);
        q->params = xcalloc(n > 0 ? (size_t)n : 1, sizeof *q->params);
        q->n_params = n;
    }
    q->generation = c->generation;
    return 0;
}

static struct store_query *pg_prepare(struct store_conn *base, const char *sql, char *err,
                                      size_t errlen)
{
    struct pg_conn *c = (struct pg_conn *)base;
    reconnect_if_lost(c);
    struct pg_query *q = xcalloc(1, sizeof *q);
    q->base.ops = &pg_query_ops;
    q->conn = c;
    q->sql = xstrdup(sql);
    q->blob_row = -1;
    if (prepare_on_server(q) != 0) {
        snprintf(err, errlen, "%s", c->last_error);
        free(q->sql);
        free(q->params);
        free(q);
        return NULL;
    }
    return &q->base;
}

static struct pg_param *param(struct pg_query *q, int i)
{
    if (i < 1 || i > q->n_params)
        return NULL; /* as SQLite: a statement may not use every parameter a shared binder sets */
    struct pg_param *p = &q->params[i - 1];
    free(p->owned);
    p->owned = NULL;
    return p;
}

static void pg_bind_int64(struct store_query *base, int i, int64_t value)
{
    struct pg_param *p = param(query_of(base), i);
    if (!p)
        return;
    p->length = snprintf(p->num, sizeof p->num, "%" PRId64, value);
    p->value = p->num;
    p->format = 0;
}

static void pg_bind_text(struct store_query *base, int i, const char *s, int len, bool copy)
{
    struct pg_param *p = param(query_of(base), i);
    if (!p)
        return;
    p->value = s;
    p->format = 0;
    if (!s)
        return;
    if (len >= 0) { /* counted, maybe not NUL-terminated: binary text is its bytes */
        p->format = 1;
        p->length = len;
    } else
        p->length = (int)strlen(s);
    if (copy) {
        p->owned = xmalloc((size_t)p->length + 1);
        memcpy(p->owned, s, (size_t)p->length);
        p->owned[p->length] = '\0';
        p->value = p->owned;
    }
}

static void pg_bind_blob(struct store_query *base, int i, const void *data, size_t len)
{
    struct pg_param *p = param(query_of(base), i);
    if (!p)
        return;
    p->value = data;
    p->length = (int)len;
    p->format = 1;
}

static void clear_result(struct pg_query *q)
{
    PQclear(q->res);
    q->res = NULL;
    free(q->blob);
    q->blob = NULL;
    q->blob_row = -1;
}

static int pg_step(struct store_query *base)
{
    struct pg_query *q = query_of(base);
    struct pg_conn *c = q->conn;
    if (!q->res) {
        if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
            reconnect_if_lost(c);
        if (q->generation != c->generation && prepare_on_server(q) != 0)
            return -1;
        const char *values[q->n_params > 0 ? q->n_params : 1];
        int lengths[q->n_params > 0 ? q->n_params : 1], formats[q->n_params > 0 ? q->n_params : 1];
        for (int i = 0; i < q->n_params; i++) {
            values[i] = q->params[i].value;
            lengths[i] = q->params[i].length;
            formats[i] = q->params[i].format;
        }
        q->res = PQexecPrepared(c->pg, q->name, q->n_params, values, lengths, formats, 0);
        if (!result_ok(c, q->res)) {
            clear_result(q);
            return -1;
        }
        q->row = -1;
    }
    q->row++;
    return q->row < PQntuples(q->res) ? 1 : 0;
}

static void pg_reset(struct store_query *base)
{
    struct pg_query *q = query_of(base);
    clear_result(q);
    for (int i = 0; i < q->n_params; i++) {
        free(q->params[i].owned);
        q->params[i] = (struct pg_param){0};
    }
}

static bool pg_col_null(struct store_query *base, int i)
{
    struct pg_query *q = query_of(base);
    return !q->res || q->row < 0 || q->row >= PQntuples(q->res) || i >= PQnfields(q->res)
           || PQgetisnull(q->res, q->row, i);
}

static const char *pg_col_text(struct store_query *base, int i)
{
    struct pg_query *q = query_of(base);
    return pg_col_null(base, i) ? NULL : PQgetvalue(q->res, q->row, i);
}

static int64_t pg_col_int64(struct store_query *base, int i)
{
    struct pg_query *q = query_of(base);
    const char *text = pg_col_text(base, i);
    if (!text)
        return 0;
    if (PQftype(q->res, i) == OID_BOOL)
        return text[0] == 't';
    return strtoll(text, NULL, 10);
}

/* Decode a bytea column (text results spell it \x<hex>) once per row. */
static bool decode_blob(struct pg_query *q, int i)
{
    if (q->blob_row == q->row && q->blob_col == i)
        return true;
    free(q->blob);
    q->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(q->res, q->row, i), &q->blob_len);
    if (!q->blob)
        return false;
    q->blob_row = q->row;
    q->blob_col = i;
    return true;
}

static size_t pg_col_bytes(struct store_query *base, int i)
{
    struct pg_query *q = query_of(base);
    if (pg_col_null(base, i))
        return 0;
    if (PQftype(q->res, i) == OID_BYTEA)
        return decode_blob(q, i) ? q->blob_len : 0;
    return (size_t)PQgetlength(q->res, q->row, i);
}

static const void *pg_col_blob(struct store_query *base, int i)
{
    struct pg_query *q = query_of(base);
    if (pg_col_null(base, i))
        return NULL;
    if (PQftype(q->res, i) == OID_BYTEA)
        return decode_blob(q, i) ? q->blob : NULL;
    return PQgetvalue(q->res, q->row, i);
}

static void pg_finalize(struct store_query *base)
{
    struct pg_query *q = query_of(base);
    pg_reset(base);
    /* The session's prepared statement goes with the connection. */
    free(q->params);
    free(q->sql);
    free(q);
}

/* ---- the connection ---- */

static int64_t pg_changes(struct store_conn *base)
{
    return ((struct pg_conn *)base)->changes;
}

static const char *pg_last_error(struct store_conn *base)
{
    return ((struct pg_conn *)base)->last_error;
}

static bool pg_in_transaction(struct store_conn *base)
{
    PGTransactionStatusType s = PQtransactionStatus(((struct pg_conn *)base)->pg);
    return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

static int read_version(struct pg_conn *c)
{
    PGresult *res = PQexec(c->pg, "SELECT version FROM store_schema");
    int v = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        v = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
    else
        set_result_error(c, res);
    PQclear(res);
    return v;
}

static int pg_schema_version(struct store_conn *base)
{
    return read_version((struct pg_conn *)base);
}

static void pg_release_memory(struct store_conn *base)
{
    (void)base; /* results are freed as statements are reset; nothing is kept */
}

static void pg_close(struct store_conn *base)
{
    struct pg_conn *c = (struct pg_conn *)base;
    PQfinish(c->pg);
    free(c);
}

/*
 * Bring the schema up to date. Nodes starting together take turns on an
 * advisory lock; each step and its version change commit together.
 */
static int migrate(struct pg_conn *c, char *err, size_t errlen)
{
    char why[600];
    if (pg_exec(&c->base,
                "SELECT pg_advisory_lock(" MIGRATION_LOCK ");"
                "CREATE TABLE IF NOT EXISTS store_schema (version BIGINT NOT NULL);",
                why, sizeof why)
        != 0) {
        snprintf(err, errlen, "cannot prepare the schema: %s", why);
        return -1;
    }
    int have = read_version(c), want = migrations_count(), rc = 0;
    if (have < 0) {
        snprintf(err, errlen, "cannot read the schema version: %s", c->last_error);
        rc = -1;
    } else if (have > want) {
        snprintf(err, errlen,
                 "the database has schema version %d but this switchboard knows only up to %d; "
                 "use a newer switchboard",
                 have, want);
        rc = -1;
    }
    for (int v = have + 1; rc == 0 && v <= want; v++) {
        char set[96];
        snprintf(set, sizeof set,
                 v == 1 ? "INSERT INTO store_schema VALUES (%d)"
                        : "UPDATE store_schema SET version = %d",
                 v);
        if (pg_exec(&c->base, "BEGIN", why, sizeof why) != 0
            || pg_exec(&c->base, migrations_pg_step(v), why, sizeof why) != 0
            || pg_exec(&c->base, set, why, sizeof why) != 0
            || pg_exec(&c->base, "COMMIT", why, sizeof why) != 0) {
            char ignored[64];
            pg_exec(&c->base, "ROLLBACK", ignored, sizeof ignored);
            snprintf(err, errlen, "migration %d failed: %s", v, why);
            rc = -1;
        } else
            log_info("store", "PostgreSQL: applied migration %d", v);
    }
    pg_exec(&c->base, "SELECT pg_advisory_unlock(" MIGRATION_LOCK ")", why, sizeof why);
    return rc;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

struct store_conn *store_pg_open(const struct store_options *options, char *err, size_t errlen)
{
    if (!options->url || !*options->url) {
        snprintf(err, errlen, "storage driver \"postgresql\" needs a url");
        return NULL;
    }
    struct pg_conn *c = xcalloc(1, sizeof *c);
    c->base.engine = &pg_engine;
    /* The url may hold a password: errors say what libpq says, never the url. */
    c->pg = PQconnectdb(options->url);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        set_error(c, NULL, c->pg ? PQerrorMessage(c->pg) : "no memory");
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s", c->last_error);
        PQfinish(c->pg);
        free(c);
        return NULL;
    }
    PQsetNoticeProcessor(c->pg, ignore_notice, NULL);
    char why[512];
    /* Times and text come back the same on every server, whatever its defaults. */
    if (pg_exec(&c->base, "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC';", why, sizeof why)
            != 0
        || migrate(c, err, errlen) != 0) {
        if (!*err)
            snprintf(err, errlen, "cannot set up the PostgreSQL session: %s", why);
        PQfinish(c->pg);
        free(c);
        return NULL;
    }
    return &c->base;
}

static const struct store_query_ops pg_query_ops = {
    .bind_int64 = pg_bind_int64,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .reset = pg_reset,
    .col_int64 = pg_col_int64,
    .col_null = pg_col_null,
    .col_text = pg_col_text,
    .col_bytes = pg_col_bytes,
    .col_blob = pg_col_blob,
    .finalize = pg_finalize,
};

static const struct store_engine pg_engine = {
    .name = "postgresql",
    .begin_sql = "BEGIN",
    .dialect = 1,
    .dollar_parameters = true,
    .shared = true,
    .prepare = pg_prepare,
    .exec = pg_exec,
    .changes = pg_changes,
    .last_error = pg_last_error,
    .in_transaction = pg_in_transaction,
    .schema_version = pg_schema_version,
    .release_memory = pg_release_memory,
    .close = pg_close,
};
