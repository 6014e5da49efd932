/*
 * store_sqlite.c - the SQLite engine (store_engine.h): the connection, its
 * statements, the schema's migrations (PRAGMA user_version) and the WAL
 * checkpoint thread.
 */
#include "store/store_engine.h"
#include "store/store_sqlite.h"

#include "log.h"
#include "store/migrations.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * WAL checkpoints run on a helper thread with a connection of its own, not
 * on the loop: SQLite's automatic checkpoint would copy ~4 MB of pages into
 * the database file and fsync it inside whichever commit crossed the
 * threshold, stalling every request of that loop turn. The writer's WAL
 * hook wakes the thread once the log holds CHECKPOINT_FRAMES frames (the
 * threshold of SQLite's own wal_autocheckpoint); its PASSIVE checkpoint
 * never blocks the writer, and the writer starts the log over once
 * everything in it is copied. Should the thread fall far behind (the log
 * past CHECKPOINT_BACKSTOP frames), the writer checkpoints itself, as SQLite
 * would, so the log stays bounded.
 */
#define CHECKPOINT_FRAMES 1000
#define CHECKPOINT_BACKSTOP (16 * CHECKPOINT_FRAMES)

struct checkpointer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    sqlite3 *db;
    bool wanted, stop;
    /* store_log_stats, under lock. */
    uint64_t runs, writer_runs;
    int64_t run_us;
    int64_t frames;
};

struct sqlite_conn {
    struct store_conn base;
    sqlite3 *db;
    struct checkpointer *ckpt; /* NULL: SQLite checkpoints in the commit, as it does alone */
    int wal_fd; /* the log, for sqlite_sync; -1 for :memory: (synchronous=FULL then) */
    int lock_fd; /* holds flock(LOCK_EX) on the database file while open; -1 for :memory: */
};

struct sqlite_query {
    struct store_query base;
    sqlite3_stmt *stmt;
};

static const struct store_engine sqlite_engine;
static const struct store_query_ops sqlite_query_ops;

static sqlite3 *db_of(struct store_conn *c)
{
    return ((struct sqlite_conn *)c)->db;
}

static sqlite3_stmt *stmt_of(struct store_query *q)
{
    return ((struct sqlite_query *)q)->stmt;
}

/*
 * SQLite's message, plus the system's reason when the failure came from the
 * file system: "disk I/O error" alone does not tell a full disk from a
 * read-only one.
 */
static void describe_error(sqlite3 *db, const char *msg, char *out, size_t outlen)
{
    int primary = sqlite3_errcode(db) & 0xff;
    int sys_errno = sqlite3_system_errno(db);
    if (sys_errno != 0
        && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN || primary == SQLITE_FULL
            || primary == SQLITE_READONLY))
        snprintf(out, outlen, "%s (%s)", msg ? msg : sqlite3_errmsg(db), strerror(sys_errno));
    else
        snprintf(out, outlen, "%s", msg ? msg : sqlite3_errmsg(db));
}

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        describe_error(db, msg, err, errlen);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int read_user_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

/* The journal mode SQLite actually runs in (WAL can be refused, on some file systems). */
static bool in_wal_mode(sqlite3 *db)
{
    sqlite3_stmt *s;
    bool wal = false;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(s, 0);
            wal = mode && strcmp(mode, "wal") == 0;
        }
        sqlite3_finalize(s);
    }
    return wal;
}

static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    int have = read_user_version(db);
    int want = migrations_count();
    if (have < 0) {
        snprintf(err, errlen, "cannot read the schema version of %s", path);
        return -1;
    }
    if (have > want) {
        snprintf(err, errlen,
                 "%s has schema version %d but this switchboard knows only up to %d; "
                 "use a newer switchboard",
                 path, have, want);
        return -1;
    }
    for (int v = have + 1; v <= want; v++) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
        char step_err[160];
        if (exec_sql(db, "BEGIN IMMEDIATE", step_err, sizeof step_err) != 0
            || exec_sql(db, migrations_step(v), step_err, sizeof step_err) != 0
            || exec_sql(db, sql, step_err, sizeof step_err) != 0
            || exec_sql(db, "COMMIT", step_err, sizeof step_err) != 0) {
            exec_sql(db, "ROLLBACK", sql, sizeof sql);
            snprintf(err, errlen, "migration %d of %s failed: %s", v, path, step_err);
            return -1;
        }
        log_info("store", "%s: applied migration %d", path, v);
    }
    return 0;
}

static void *checkpoint_main(void *arg)
{
    struct checkpointer *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        if (!c->wanted) {
            pthread_cond_wait(&c->wake, &c->lock);
            continue;
        }
        c->wanted = false;
        pthread_mutex_unlock(&c->lock);
        int64_t since_us = time_mono_us();
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store", "WAL checkpoint failed: %s", sqlite3_errmsg(c->db));
        pthread_mutex_lock(&c->lock);
        c->runs++;
        c->run_us += time_mono_us() - since_us;
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct checkpointer *c = arg;
    (void)name;
    int64_t writer_us = -1;
    if (frames >= CHECKPOINT_BACKSTOP) {
        int64_t since_us = time_mono_us();
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        writer_us = time_mono_us() - since_us;
    }
    pthread_mutex_lock(&c->lock);
    c->frames = frames;
    if (writer_us >= 0) {
        c->writer_runs++;
        c->run_us += writer_us;
    } else if (frames >= CHECKPOINT_FRAMES) {
        c->wanted = true;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    return SQLITE_OK;
}

/*
 * The log's file, for sqlite_sync: "<path>-wal", created as SQLite would (with
 * the database's permissions) if no commit has made it yet; SQLite keeps
 * using that file, and only removes it when the last connection closes.
 */
static int open_log(const char *path, int db_fd, char *why, size_t whylen)
{
    struct stat st;
    if (fstat(db_fd, &st) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return -1;
    }
    char *wal = xasprintf("%s-wal", path);
    int fd = open(wal, O_RDWR | O_CREAT | O_CLOEXEC, st.st_mode & 0777);
    if (fd < 0)
        snprintf(why, whylen, "%s: %s", wal, strerror(errno));
    free(wal);
    return fd;
}

/* Start the checkpoint thread; on any failure SQLite keeps checkpointing by itself. */
static struct checkpointer *checkpointer_start(sqlite3 *db, const char *path)
{
    if (strcmp(path, ":memory:") == 0 || !sqlite3_threadsafe())
        return NULL;
    struct checkpointer *c = xcalloc(1, sizeof *c);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL)
            != SQLITE_OK
        || sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
        log_warn("store", "no checkpoint thread (%s); checkpoints run in commits",
                 c->db ? sqlite3_errmsg(c->db) : "no memory");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
        log_warn("store", "no checkpoint thread; checkpoints run in commits");
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->wake);
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    pthread_setname_np(c->thread, "sb-checkpoint");
    /* Replaces SQLite's own automatic checkpoint (which is a WAL hook too). */
    sqlite3_wal_hook(db, wal_hook, c);
    return c;
}

static void checkpointer_stop(struct checkpointer *c)
{
    if (!c)
        return;
    thread_stop(c->thread, &c->lock, &c->wake, &c->stop);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

struct store_conn *store_sqlite_open(const char *path, char *err, size_t errlen)
{
    /*
     * No memory statistics (nothing reads them): with them on, every SQLite
     * allocation and free takes a global mutex, ~5 % of webhook intake. Only
     * possible before SQLite initializes; later calls are refused, harmlessly.
     */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (strcmp(path, ":memory:") != 0 && mkdir_parents(path) != 0) {
        snprintf(err, errlen, "cannot create the folder of %s: %s", path, strerror(errno));
        return NULL;
    }
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        char why[320] = "no memory";
        if (db)
            describe_error(db, NULL, why, sizeof why);
        snprintf(err, errlen, "cannot open %s: %s", path, why);
        sqlite3_close(db);
        return NULL;
    }
    /* SQLite falls back to read-only by itself; every write would then fail later. */
    if (sqlite3_db_readonly(db, "main") == 1) {
        snprintf(err, errlen, "cannot open %s for writing: %s", path,
                 access(path, W_OK) != 0 ? strerror(errno) : "it is read-only");
        sqlite3_close(db);
        return NULL;
    }
    /*
     * One process per database: a second server, or --rotate-key beside a
     * running server, is refused. flock on the file itself, which SQLite's
     * own (fcntl) locks never touch; the kernel drops it when the process
     * dies, even by kill -9.
     */
    int lock_fd = -1;
    if (strcmp(path, ":memory:") != 0) {
        lock_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK)
                snprintf(err, errlen, "%s is in use by another switchboard process", path);
            else
                snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
            if (lock_fd >= 0)
                close(lock_fd);
            sqlite3_close(db);
            return NULL;
        }
    }
    sqlite3_busy_timeout(db, 5000);
    /*
     * WAL lets readers run beside the writer. An 8 MB page cache (SQLite's
     * default is 2 MB) holds the pages that keyed inserts land on at random -
     * notification ids, plugin document keys - once those indexes outgrow
     * 2 MB; it is filled on demand and never exceeds 8 MB.
     *
     * Every commit must survive power loss, as an acknowledged webhook must:
     * migrations run with synchronous=FULL; after them the connection runs
     * with NORMAL, which writes a commit to the log without syncing it, and
     * the store syncs the log itself (sqlite_sync) before the commit counts -
     * at once on the loop, and on a thread of its own for the commit thread's
     * commits, so the next commit is written while the last one syncs
     * (store.c). Should the sync fail, nothing after it is acknowledged.
     */
    char pragma_err[512], why[400];
    bool set_up = exec_sql(db,
                           "PRAGMA journal_mode = WAL;"
                           "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                           "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192;",
                           why, sizeof why) == 0;
    if (!set_up) /* the first read or write of the file: name it, say why */
        snprintf(pragma_err, sizeof pragma_err, "cannot open %s: %s", path, why);
    if (!set_up || migrate(db, path, pragma_err, sizeof pragma_err) != 0) {
        snprintf(err, errlen, "%s", pragma_err);
        sqlite3_close(db);
        if (lock_fd >= 0)
            close(lock_fd);
        return NULL;
    }
    int wal_fd = -1;
    if (lock_fd >= 0 && in_wal_mode(db) && (wal_fd = open_log(path, lock_fd, why, sizeof why)) < 0) {
        snprintf(err, errlen, "cannot open the log of %s: %s", path, why);
        sqlite3_close(db);
        close(lock_fd);
        return NULL;
    }
    if (wal_fd >= 0 && exec_sql(db, "PRAGMA synchronous = NORMAL", why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, why);
        close(wal_fd);
        sqlite3_close(db);
        close(lock_fd);
        return NULL;
    }
    struct sqlite_conn *c = xcalloc(1, sizeof *c);
    c->base.engine = &sqlite_engine;
    c->db = db;
    c->lock_fd = lock_fd;
    c->wal_fd = wal_fd;
    c->ckpt = checkpointer_start(db, path);
    return &c->base;
}

static void sqlite_close(struct store_conn *base)
{
    struct sqlite_conn *c = (struct sqlite_conn *)base;
    /* First, so that closing the last connection checkpoints the whole log. */
    checkpointer_stop(c->ckpt);
    sqlite3_wal_hook(c->db, NULL, NULL);
    sqlite3_close(c->db);
    if (c->wal_fd >= 0)
        close(c->wal_fd);
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* after the close, which may still checkpoint */
    free(c);
}

sqlite3 *store_sqlite_db(struct store *st)
{
    struct store_conn *c = store_conn(st);
    return c->engine == &sqlite_engine ? db_of(c) : NULL;
}

/* ---- statements ---- */

static struct store_query *sqlite_prepare(struct store_conn *c, const char *sql, char *err,
                                          size_t errlen)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v3(db_of(c), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL)
        != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db_of(c)));
        return NULL;
    }
    struct sqlite_query *q = xcalloc(1, sizeof *q);
    q->base.ops = &sqlite_query_ops;
    q->stmt = stmt;
    return &q->base;
}

static void sqlite_bind_int64(struct store_query *q, int i, int64_t value)
{
    sqlite3_bind_int64(stmt_of(q), i, value);
}

static void sqlite_bind_text(struct store_query *q, int i, const char *s, int len, bool copy)
{
    if (s)
        sqlite3_bind_text(stmt_of(q), i, s, len, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt_of(q), i);
}

static void sqlite_bind_blob(struct store_query *q, int i, const void *data, size_t len)
{
    sqlite3_bind_blob(stmt_of(q), i, data, (int)len, SQLITE_STATIC);
}

static int sqlite_step(struct store_query *q)
{
    int rc = sqlite3_step(stmt_of(q));
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void sqlite_reset(struct store_query *q)
{
    sqlite3_reset(stmt_of(q));
    sqlite3_clear_bindings(stmt_of(q));
}

static int64_t sqlite_col_int64(struct store_query *q, int i)
{
    return sqlite3_column_int64(stmt_of(q), i);
}

static bool sqlite_col_null(struct store_query *q, int i)
{
    return sqlite3_column_type(stmt_of(q), i) == SQLITE_NULL;
}

static const char *sqlite_col_text(struct store_query *q, int i)
{
    return (const char *)sqlite3_column_text(stmt_of(q), i);
}

static size_t sqlite_col_bytes(struct store_query *q, int i)
{
    return (size_t)sqlite3_column_bytes(stmt_of(q), i);
}

static const void *sqlite_col_blob(struct store_query *q, int i)
{
    return sqlite3_column_blob(stmt_of(q), i);
}

static void sqlite_finalize(struct store_query *q)
{
    sqlite3_finalize(stmt_of(q));
    free(q);
}

/* ---- the connection ---- */

static int sqlite_exec(struct store_conn *c, const char *sql, char *err, size_t errlen)
{
    return exec_sql(db_of(c), sql, err, errlen);
}

/*
 * Make every commit written so far durable: fdatasync the log. A commit's
 * frames are in the file (synchronous=NORMAL wrote them) before it returns,
 * and the kernel flushes the file's pages whichever descriptor asks, so this
 * one, opened by the store, serves; it never touches the connection, so it
 * may run on another thread while the connection writes the next commit.
 */
static int sqlite_sync(struct store_conn *base)
{
    struct sqlite_conn *c = (struct sqlite_conn *)base;
    return c->wal_fd < 0 || fdatasync(c->wal_fd) == 0 ? 0 : -1;
}

static int64_t sqlite_last_insert_id(struct store_conn *c)
{
    return sqlite3_last_insert_rowid(((struct sqlite_conn *)c)->db);
}

static int64_t sqlite_changes(struct store_conn *c)
{
    return sqlite3_changes64(db_of(c));
}

static const char *sqlite_last_error(struct store_conn *c)
{
    return sqlite3_errmsg(db_of(c));
}

/* SQLite may roll a transaction back by itself on a failure (a full disk, say). */
static bool sqlite_in_transaction(struct store_conn *c)
{
    return sqlite3_get_autocommit(db_of(c)) == 0;
}

static int sqlite_schema_version(struct store_conn *c)
{
    return read_user_version(db_of(c));
}

static void sqlite_release_memory(struct store_conn *c)
{
    sqlite3_db_release_memory(db_of(c));
}

static void sqlite_log_stats(struct store_conn *base, struct store_log_stats *out)
{
    struct checkpointer *c = ((struct sqlite_conn *)base)->ckpt;
    if (!c)
        return; /* (SQLite checkpoints in its commits, uncounted) */
    pthread_mutex_lock(&c->lock);
    out->checkpoints = c->runs;
    out->writer_checkpoints = c->writer_runs;
    out->checkpoint_seconds = (double)c->run_us / 1e6;
    out->frames = c->frames;
    pthread_mutex_unlock(&c->lock);
}

static const struct store_query_ops sqlite_query_ops = {
    .bind_int64 = sqlite_bind_int64,
    .bind_text = sqlite_bind_text,
    .bind_blob = sqlite_bind_blob,
    .step = sqlite_step,
    .reset = sqlite_reset,
    .col_int64 = sqlite_col_int64,
    .col_null = sqlite_col_null,
    .col_text = sqlite_col_text,
    .col_bytes = sqlite_col_bytes,
    .col_blob = sqlite_col_blob,
    .finalize = sqlite_finalize,
};

static const struct store_engine sqlite_engine = {
    .name = "sqlite",
    .begin_sql = "BEGIN IMMEDIATE",
    .dialect = 0,
    .dollar_parameters = false,
    .prepare = sqlite_prepare,
    .exec = sqlite_exec,
    .changes = sqlite_changes,
    .last_insert_id = sqlite_last_insert_id,
    .sync = sqlite_sync,
    .last_error = sqlite_last_error,
    .in_transaction = sqlite_in_transaction,
    .schema_version = sqlite_schema_version,
    .release_memory = sqlite_release_memory,
    .log_stats = sqlite_log_stats,
    .close = sqlite_close,
};
