/*
 * store.c - SQLite connection, migrations, statement cache, nested
 * transactions and the commit thread.
 */
#include "store/store_sqlite.h"

#include "log.h"
#include "store/migrations.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <unistd.h>

struct stmt_slot {
    const char *sql; /* key: the literal's address */
    sqlite3_stmt *stmt;
};

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
};

/*
 * The commit thread (store.h, store_commit_async): it runs the outermost
 * COMMIT - and the CPU work handed with it - on the loop's own connection,
 * so the loop reads and parses the next requests while the commit is
 * written and fsynced. The connection is NOMUTEX: exactly one thread uses it
 * at a time. The loop hands it over by setting store.committing under lock
 * and takes it back when the thread clears it (release/acquire, then the
 * lock); every entry point that touches the connection waits for that first
 * (wait_idle). The thread then counts the finished commit on an eventfd the
 * loop watches, and the loop calls its done (store_commit_finish).
 */
struct committer {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the thread: a commit was handed over, or stop */
    pthread_cond_t idle; /* the loop: the commit finished */
    int notify_fd;       /* eventfd, readable once a commit has finished */
    bool stop;
    /* The commit in flight: written by the loop before the hand-over, read by the thread
       while it runs, and back by the loop after it. */
    void (*background)(void *arg);
    void (*done)(void *arg, bool committed);
    void *arg;
    bool committed;
};

struct store {
    sqlite3 *db;
    struct stmt_slot *slots;
    size_t n_slots; /* power of two */
    size_t n_used;
    int depth;      /* open transaction levels (the loop's; 0 while a commit is in flight) */
    struct checkpointer *ckpt; /* NULL: SQLite checkpoints in the commit, as it does alone */
    struct committer *committer; /* NULL: store_commit_async commits at once */
    atomic_bool committing; /* the commit thread has the connection */
    bool done_owed;         /* a handed-over commit's done has not run yet (loop only) */
    int lock_fd;    /* holds flock(LOCK_EX) on the database file while open; -1 for :memory: */
};

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

/* ROLLBACK the outermost transaction; SQLite may already have rolled back on its own (e.g.
   disk full), which is fine. */
static void rollback_outermost(sqlite3 *db)
{
    char err[256];
    if (exec_sql(db, "ROLLBACK", err, sizeof err) != 0 && sqlite3_get_autocommit(db) == 0)
        log_error("store", "rollback failed: %s", err);
}

/* COMMIT the outermost transaction; on failure it is rolled back: it has ended either way. */
static int commit_outermost(sqlite3 *db)
{
    char err[256];
    if (exec_sql(db, "COMMIT", err, sizeof err) == 0)
        return 0;
    log_error("store", "commit failed: %s", err);
    rollback_outermost(db);
    return -1;
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
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("store", "WAL checkpoint failed: %s", sqlite3_errmsg(c->db));
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    struct checkpointer *c = arg;
    (void)name;
    if (frames >= CHECKPOINT_BACKSTOP)
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    else if (frames >= CHECKPOINT_FRAMES) {
        pthread_mutex_lock(&c->lock);
        c->wanted = true;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
    }
    return SQLITE_OK;
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
    /* Replaces SQLite's own automatic checkpoint (which is a WAL hook too). */
    sqlite3_wal_hook(db, wal_hook, c);
    return c;
}

static void checkpointer_stop(struct checkpointer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c);
}

/* ---- the commit thread ---- */

/*
 * Set on the commit thread: while it holds the connection (a background, the
 * COMMIT) the store's entry points are its own to use, without waiting.
 */
static _Thread_local bool on_commit_thread;

static void *commit_main(void *arg)
{
    struct store *st = arg;
    struct committer *c = st->committer;
    on_commit_thread = true;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!atomic_load_explicit(&st->committing, memory_order_relaxed) && !c->stop)
            pthread_cond_wait(&c->wake, &c->lock);
        if (!atomic_load_explicit(&st->committing, memory_order_relaxed))
            break; /* stopped, nothing handed over */
        pthread_mutex_unlock(&c->lock);
        if (c->background)
            c->background(c->arg);
        st->depth = 0; /* the transaction ends here, either way */
        bool committed = commit_outermost(st->db) == 0;
        pthread_mutex_lock(&c->lock);
        c->committed = committed;
        /* The notice first: once committing is seen cleared, it can be taken. Only fails if
           the counter would overflow, which one unread commit cannot do. */
        uint64_t one = 1;
        if (write(c->notify_fd, &one, sizeof one) != (ssize_t)sizeof one)
            log_error("store", "cannot signal a finished commit: %s", strerror(errno));
        atomic_store_explicit(&st->committing, false, memory_order_release);
        pthread_cond_broadcast(&c->idle);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* Start the commit thread (st->committer); on any failure commits stay synchronous. */
static void committer_start(struct store *st)
{
    if (!sqlite3_threadsafe())
        return;
    struct committer *c = xcalloc(1, sizeof *c);
    c->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->notify_fd < 0) {
        log_warn("store", "no commit thread (%s); commits run on the loop", strerror(errno));
        free(c);
        return;
    }
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_cond_init(&c->idle, NULL);
    st->committer = c; /* before the thread, which reads it */
    if (pthread_create(&c->thread, NULL, commit_main, st) != 0) {
        log_warn("store", "no commit thread; commits run on the loop");
        st->committer = NULL;
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->wake);
        pthread_cond_destroy(&c->idle);
        close(c->notify_fd);
        free(c);
    }
}

static void committer_stop(struct committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->idle);
    close(c->notify_fd);
    free(c);
}

static void wait_idle_slow(struct store *st)
{
    struct committer *c = st->committer;
    pthread_mutex_lock(&c->lock);
    while (atomic_load_explicit(&st->committing, memory_order_relaxed))
        pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

/*
 * Before the loop touches the connection: wait for a commit in flight. One
 * atomic load when there is none (the hot paths); it pairs with the
 * thread's release, so whatever the thread did to the connection is seen.
 */
static inline void wait_idle(struct store *st)
{
    if (atomic_load_explicit(&st->committing, memory_order_acquire) && !on_commit_thread)
        wait_idle_slow(st);
}

int store_commit_async(struct store *st, void (*background)(void *arg),
                       void (*done)(void *arg, bool committed), void *arg)
{
    if (st->depth != 1 || st->done_owed)
        return -1;
    struct committer *c = st->committer;
    if (!c) {
        if (background)
            background(arg);
        st->depth = 0;
        done(arg, commit_outermost(st->db) == 0);
        return 0;
    }
    /* The transaction stays open for the background (it may write in it); the thread ends
       it. From here the loop sees none (store_in_transaction). */
    c->background = background;
    c->done = done;
    c->arg = arg;
    st->done_owed = true;
    pthread_mutex_lock(&c->lock);
    atomic_store_explicit(&st->committing, true, memory_order_relaxed);
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int store_commit_fd(const struct store *st)
{
    return st->committer ? st->committer->notify_fd : -1;
}

void store_commit_finish(struct store *st)
{
    struct committer *c = st->committer;
    if (!c)
        return;
    wait_idle(st);
    uint64_t count; /* none to take if the done already ran, from an earlier call */
    if (read(c->notify_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        log_error("store", "cannot read the commit notice: %s", strerror(errno));
    if (!st->done_owed)
        return;
    st->done_owed = false;
    c->done(c->arg, c->committed);
}

struct store *store_open(const char *path, char *err, size_t errlen)
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
     * WAL lets readers run beside the writer; synchronous=FULL makes every
     * commit survive power loss, which an acknowledged webhook must. An 8 MB
     * page cache (SQLite's default is 2 MB) holds the pages that keyed inserts
     * land on at random - notification ids, plugin document keys - once those
     * indexes outgrow 2 MB; it is filled on demand and never exceeds 8 MB.
     */
    char pragma_err[512], why[400];
    bool set_up = exec_sql(db,
                           "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                           "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
                           "PRAGMA cache_size = -8192;",
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
    struct store *st = xcalloc(1, sizeof *st);
    st->db = db;
    st->lock_fd = lock_fd;
    st->n_slots = 256;
    st->slots = xcalloc(st->n_slots, sizeof *st->slots);
    st->ckpt = checkpointer_start(db, path);
    committer_start(st);
    return st;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    /* A commit in flight is written and its done runs, before anything is torn down (a done
       may hand over another). */
    while (st->done_owed)
        store_commit_finish(st);
    committer_stop(st->committer);
    /* First, so that closing the last connection checkpoints the whole log. */
    checkpointer_stop(st->ckpt);
    sqlite3_wal_hook(st->db, NULL, NULL);
    for (size_t i = 0; i < st->n_slots; i++)
        if (st->slots[i].stmt)
            sqlite3_finalize(st->slots[i].stmt);
    free(st->slots);
    sqlite3_close(st->db);
    if (st->lock_fd >= 0)
        close(st->lock_fd); /* after the close, which may still checkpoint */
    free(st);
}

sqlite3 *store_db(struct store *st)
{
    wait_idle(st);
    return st->db;
}

int store_schema_version(struct store *st)
{
    wait_idle(st);
    return read_user_version(st->db);
}

int store_latest_version(void)
{
    return migrations_count();
}

static size_t slot_index(const struct store *st, const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & (st->n_slots - 1);
}

static void grow_slots(struct store *st)
{
    struct stmt_slot *old = st->slots;
    size_t old_n = st->n_slots;
    st->n_slots *= 2;
    st->slots = xcalloc(st->n_slots, sizeof *st->slots);
    for (size_t i = 0; i < old_n; i++) {
        if (!old[i].sql)
            continue;
        size_t j = slot_index(st, old[i].sql);
        while (st->slots[j].sql)
            j = (j + 1) & (st->n_slots - 1);
        st->slots[j] = old[i];
    }
    free(old);
}

sqlite3_stmt *store_stmt(struct store *st, const char *sql)
{
    wait_idle(st);
    size_t i = slot_index(st, sql);
    while (st->slots[i].sql) {
        if (st->slots[i].sql == sql) {
            sqlite3_stmt *s = st->slots[i].stmt;
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            return s;
        }
        i = (i + 1) & (st->n_slots - 1);
    }
    sqlite3_stmt *s;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        log_error("store", "cannot prepare statement: %s (%.80s)", sqlite3_errmsg(st->db), sql);
        return NULL;
    }
    if ((st->n_used + 1) * 2 > st->n_slots) {
        grow_slots(st);
        i = slot_index(st, sql);
        while (st->slots[i].sql)
            i = (i + 1) & (st->n_slots - 1);
    }
    st->slots[i].sql = sql;
    st->slots[i].stmt = s;
    st->n_used++;
    return s;
}

int store_exec(struct store *st, const char *sql)
{
    char err[512];
    wait_idle(st);
    if (exec_sql(st->db, sql, err, sizeof err) != 0) {
        log_error("store", "%s (%.80s)", err, sql);
        return -1;
    }
    return 0;
}

int store_begin(struct store *st)
{
    wait_idle(st);
    char sql[48];
    if (st->depth == 0)
        snprintf(sql, sizeof sql, "BEGIN IMMEDIATE");
    else
        snprintf(sql, sizeof sql, "SAVEPOINT sp%d", st->depth);
    char err[256];
    if (exec_sql(st->db, sql, err, sizeof err) != 0) {
        log_error("store", "cannot begin a transaction: %s", err);
        return -1;
    }
    st->depth++;
    return 0;
}

int store_commit(struct store *st)
{
    wait_idle(st);
    if (st->depth <= 0)
        return -1;
    if (st->depth == 1) {
        st->depth = 0;
        return commit_outermost(st->db);
    }
    char sql[48], err[256];
    snprintf(sql, sizeof sql, "RELEASE sp%d", st->depth - 1);
    if (exec_sql(st->db, sql, err, sizeof err) != 0) {
        log_error("store", "commit failed: %s", err);
        store_rollback(st);
        return -1;
    }
    st->depth--;
    return 0;
}

void store_rollback(struct store *st)
{
    wait_idle(st);
    if (st->depth <= 0)
        return;
    if (st->depth == 1) {
        st->depth = 0;
        rollback_outermost(st->db);
        return;
    }
    char sql[64], err[256];
    snprintf(sql, sizeof sql, "ROLLBACK TO sp%d; RELEASE sp%d", st->depth - 1, st->depth - 1);
    /* SQLite may already have rolled back on its own (e.g. disk full): that is fine. */
    if (exec_sql(st->db, sql, err, sizeof err) != 0 && sqlite3_get_autocommit(st->db) == 0)
        log_error("store", "rollback failed: %s", err);
    st->depth--;
}

bool store_in_transaction(struct store *st)
{
    /* The loop: none from the hand-over on. The commit thread: its background's, until it
       commits. */
    if (!on_commit_thread && atomic_load_explicit(&st->committing, memory_order_acquire))
        return false;
    return st->depth > 0;
}

const char *store_last_error(struct store *st)
{
    wait_idle(st);
    return sqlite3_errmsg(st->db);
}

int store_step_done(struct store *st, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        log_error("store", "statement failed: %s", sqlite3_errmsg(st->db));
        sqlite3_reset(stmt);
        return -1;
    }
    sqlite3_reset(stmt);
    return 0;
}

int store_step_row(struct store *st, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    log_error("store", "statement failed: %s", sqlite3_errmsg(st->db));
    return -1;
}

const char *store_col_text(sqlite3_stmt *stmt, int i)
{
    return (const char *)sqlite3_column_text(stmt, i);
}

int store_bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    return s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, i);
}

int store_step_int64(struct store *st, sqlite3_stmt *stmt, int64_t *out)
{
    int rc = sqlite3_step(stmt), found = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(stmt, 0);
        found = 1;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_error("store", "statement failed: %s", sqlite3_errmsg(st->db));
        found = -1;
    }
    sqlite3_reset(stmt);
    return found;
}

void store_release_memory(struct store *st)
{
    wait_idle(st);
    sqlite3_db_release_memory(st->db);
}

struct store *store_open_with(const struct store_options *options, char *err, size_t errlen)
{
    if (!options->driver || strcmp(options->driver, "sqlite") == 0)
        return store_open(options->path, err, errlen);
    snprintf(err, errlen, "unknown storage driver \"%s\"", options->driver);
    return NULL;
}

const char *store_driver(const struct store *st)
{
    (void)st;
    return "sqlite";
}
