/*
 * store.c - the engine-neutral store: opening the configured engine, the
 * statement cache, nested transactions, the commit thread and the statement
 * API of store_sql.h, over an engine's connection (store_engine.h).
 */
#include "store/store_engine.h"

#include "log.h"
#include "store/migrations.h"
#include "store/recent_ids.h"
#include "store/store_events.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct query_slot {
    const char *sql; /* key: the literal's address */
    struct store_query *q;
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
 *
 * After the handed-over commit the thread may keep the connection for
 * transactions of its own (store_set_chain): up to CHAIN_MAX, while the loop
 * has not asked for it back (wait_idle does). Their results reach the loop by
 * the chain's own means; the connection's release is counted on the eventfd
 * too.
 *
 * The sync thread: on an engine whose commits are not durable by themselves
 * (engine->sync), a commit made on the loop is synced before it returns, and
 * one made on the commit thread is numbered and handed to the sync thread, so
 * the commit thread writes the next while the last is synced - one sync then
 * covers every commit written before it. A commit is acknowledged (the
 * answers that wait on it are sent: store_durable) only once synced; a failed
 * sync fails the commits it covered. A handed-over commit's done runs as soon
 * as the commit has ended, before it is synced, so the loop's next turn
 * overlaps the sync: what it answers waits for store_done_number's sync.
 */
#define CHAIN_MAX 256
#define SYNC_RING 4096 /* outcomes kept per commit number, for store_durable */
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
    bool ended;       /* under lock: the handed-over commit has ended (committed is its result) */
    bool (*chain)(void *arg); /* store_set_chain; changed only while the thread is idle */
    void (*wake_loop_work)(void *arg);
    void (*durable_notice)(void *arg);
    void *chain_arg;
    int64_t turn_seq; /* the handed-over commit's number (0: durable when it ended) */
    int64_t held_us;  /* under lock: store_sharing's commit_thread_held_us */
    /* The sync thread (none: sync_running false, commits sync at once), under lock. */
    pthread_t sync_thread;
    bool sync_running;
    pthread_cond_t sync_wake; /* a commit to sync, or sync_stop */
    bool sync_stop;           /* set once the commit thread has ended */
    int64_t written_seq;      /* the last commit written (numbered) */
    int64_t synced_seq;       /* every commit up to it is settled: synced, or failed */
    bool sync_failed[SYNC_RING]; /* by commit number, once settled */
};

struct store {
    struct store_conn *conn;
    const struct store_engine *engine;
    struct query_slot *slots;
    size_t n_slots; /* power of two */
    size_t n_used;
    int depth;      /* open transaction levels (the loop's; 0 while a commit is in flight) */
    struct committer *committer; /* NULL: store_commit_async commits at once */
    atomic_bool committing; /* the commit thread has the connection */
    atomic_bool want_back;  /* the loop waits for the connection: chain no more */
    bool done_owed;         /* a handed-over commit's done has not run yet (loop only) */
    int64_t done_number;    /* while that done runs: its commit's number (store_done_number) */
    int64_t last_seq;       /* the number of the last commit made on the commit thread */
    int64_t node;           /* store_set_node */
    struct recent_ids *recent; /* store_recent_ids */
    int64_t waited_us;      /* store_sharing's loop_waited_us (loop only) */
    /* store_syncs: from whichever thread syncs (the sync thread, or the one that commits). */
    atomic_uint_least64_t syncs, sync_us;
    atomic_uint_least64_t syncs_within[STORE_SYNC_BUCKETS]; /* by the first bucket they fit */
};

const double store_sync_bucket_seconds[STORE_SYNC_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1};

/* The log's sync, timed for store_syncs: 0, or -1 (errno set) if it failed. */
static int sync_log(struct store *st)
{
    int64_t since_us = time_mono_us();
    int rc = st->engine->sync(st->conn);
    int saved = errno;
    uint64_t took_us = (uint64_t)(time_mono_us() - since_us);
    atomic_fetch_add_explicit(&st->syncs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->sync_us, took_us, memory_order_relaxed);
    for (size_t i = 0; i < STORE_SYNC_BUCKETS; i++)
        if ((double)took_us <= store_sync_bucket_seconds[i] * 1e6) {
            atomic_fetch_add_explicit(&st->syncs_within[i], 1, memory_order_relaxed);
            break;
        }
    errno = saved;
    return rc;
}

void store_syncs(const struct store *st, struct store_syncs *out)
{
    /* Read the buckets first: a sync counted meanwhile never makes them exceed the count. */
    uint64_t within = 0;
    for (size_t i = 0; i < STORE_SYNC_BUCKETS; i++) {
        within += atomic_load_explicit(&st->syncs_within[i], memory_order_relaxed);
        out->at_most[i] = within;
    }
    out->seconds = (double)atomic_load_explicit(&st->sync_us, memory_order_relaxed) / 1e6;
    out->count = atomic_load_explicit(&st->syncs, memory_order_relaxed);
    if (out->count < within)
        out->count = within;
}

/* ROLLBACK the outermost transaction; the engine may already have rolled back on its own
   (e.g. disk full), which is fine. */
static void rollback_outermost(struct store *st)
{
    char err[256];
    if (st->engine->exec(st->conn, "ROLLBACK", err, sizeof err) != 0
        && st->engine->in_transaction(st->conn))
        log_error("store", "rollback failed: %s", err);
}

/*
 * Set on the commit thread: while it holds the connection (a background, the
 * COMMIT) the store's entry points are its own to use, without waiting.
 */
static _Thread_local bool on_commit_thread;

/* After a commit, on an engine that needs it: sync now, or number the commit for the sync
   thread (on the commit thread, st->last_seq). 0, or -1 if the sync failed. */
static int make_durable(struct store *st)
{
    struct committer *c = st->committer;
    st->last_seq = 0;
    if (!st->engine->sync)
        return 0;
    if (on_commit_thread && c->sync_running) {
        pthread_mutex_lock(&c->lock);
        st->last_seq = ++c->written_seq;
        pthread_cond_signal(&c->sync_wake);
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    if (sync_log(st) == 0)
        return 0;
    log_error("store", "cannot sync the database log: %s; the commit is not acknowledged",
              strerror(errno));
    return -1;
}

/* COMMIT the outermost transaction; on failure it is rolled back: it has ended either way. */
static int commit_outermost(struct store *st)
{
    char err[256];
    if (st->engine->exec(st->conn, "COMMIT", err, sizeof err) == 0)
        return make_durable(st);
    log_error("store", "commit failed: %s", err);
    rollback_outermost(st);
    return -1;
}

/* ---- the commit thread ---- */

/* Count an event on the loop's eventfd. Only fails if the counter would overflow, which
   the two notices of a hand-over cannot do. */
static void notify_loop(struct committer *c)
{
    uint64_t one = 1;
    if (write(c->notify_fd, &one, sizeof one) != (ssize_t)sizeof one)
        log_error("store", "cannot signal a finished commit: %s", strerror(errno));
}

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
        int64_t taken_us = time_mono_us();
        if (c->background)
            c->background(c->arg);
        st->depth = 0; /* the transaction ends here, either way */
        bool committed = commit_outermost(st) == 0;
        pthread_mutex_lock(&c->lock);
        c->committed = committed;
        c->turn_seq = committed ? st->last_seq : 0;
        c->ended = true;
        notify_loop(c);
        pthread_cond_broadcast(&c->idle);
        pthread_mutex_unlock(&c->lock);
        for (int i = 0; c->chain && i < CHAIN_MAX
                        && !atomic_load_explicit(&st->want_back, memory_order_relaxed);
             i++)
            if (!c->chain(c->chain_arg))
                break;
        int64_t released_us = time_mono_us();
        pthread_mutex_lock(&c->lock);
        c->held_us += released_us - taken_us;
        atomic_store_explicit(&st->committing, false, memory_order_release);
        pthread_cond_broadcast(&c->idle);
        /* After the release: a loop that takes this notice finds the connection free. (A
           notice taken late, after a later hand-over, finds that commit not ended yet.) */
        notify_loop(c);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* 1 durable, 0 not yet, -1 its sync failed; under the lock. */
static int durable_locked(const struct committer *c, int64_t seq)
{
    if (seq <= 0)
        return 1;
    if (seq > c->synced_seq)
        return 0;
    return c->sync_failed[seq % SYNC_RING] ? -1 : 1;
}

/* Under the lock, with commits written: sync them (the lock is let go meanwhile), settle
   them and tell the loop. */
static void sync_round(struct store *st, struct committer *c)
{
    int64_t target = c->written_seq;
    pthread_mutex_unlock(&c->lock);
    bool ok = sync_log(st) == 0;
    if (!ok)
        log_error("store", "cannot sync the database log: %s; its last commits are not "
                           "acknowledged", strerror(errno));
    pthread_mutex_lock(&c->lock);
    for (int64_t seq = c->synced_seq + 1; seq <= target; seq++)
        c->sync_failed[seq % SYNC_RING] = !ok;
    c->synced_seq = target;
    pthread_cond_broadcast(&c->idle);
    notify_loop(c);
    if (c->durable_notice)
        c->durable_notice(c->chain_arg);
}

static void *sync_main(void *arg)
{
    struct store *st = arg;
    struct committer *c = st->committer;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (c->synced_seq == c->written_seq && !c->sync_stop)
            pthread_cond_wait(&c->sync_wake, &c->lock);
        if (c->synced_seq == c->written_seq)
            break; /* stopped, and every commit settled */
        sync_round(st, c);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int store_durable(struct store *st, int64_t seq)
{
    struct committer *c = st->committer;
    if (!c || seq <= 0)
        return 1;
    pthread_mutex_lock(&c->lock);
    int d = durable_locked(c, seq);
    pthread_mutex_unlock(&c->lock);
    return d;
}

void store_wait_durable(struct store *st, int64_t seq)
{
    struct committer *c = st->committer;
    if (!c || seq <= 0)
        return;
    pthread_mutex_lock(&c->lock);
    while (durable_locked(c, seq) == 0 && c->sync_running)
        pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

int64_t store_commit_number(const struct store *st)
{
    return on_commit_thread ? st->last_seq : 0;
}

static void stop_syncer(struct committer *c);

/* Start the commit thread (st->committer); on any failure commits stay synchronous. */
static void committer_start(struct store *st)
{
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
    pthread_cond_init(&c->sync_wake, NULL);
    st->committer = c; /* before the threads, which read it */
    if (st->engine->sync) {
        c->sync_running = pthread_create(&c->sync_thread, NULL, sync_main, st) == 0;
        if (!c->sync_running)
            log_warn("store", "no sync thread; the commit thread syncs each commit itself");
        else /* (a name for top -H, perf and /proc, nothing more) */
            pthread_setname_np(c->sync_thread, "sb-sync");
    }
    if (pthread_create(&c->thread, NULL, commit_main, st) == 0) {
        pthread_setname_np(c->thread, "sb-commit");
    } else {
        log_warn("store", "no commit thread; commits run on the loop");
        st->committer = NULL;
        stop_syncer(c);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->wake);
        pthread_cond_destroy(&c->idle);
        pthread_cond_destroy(&c->sync_wake);
        close(c->notify_fd);
        free(c);
    }
}

/* The sync thread settles every commit written, then ends. */
static void stop_syncer(struct committer *c)
{
    if (!c->sync_running)
        return;
    thread_stop(c->sync_thread, &c->lock, &c->sync_wake, &c->sync_stop);
    c->sync_running = false;
}

static void committer_stop(struct committer *c)
{
    if (!c)
        return;
    thread_stop(c->thread, &c->lock, &c->wake, &c->stop);
    stop_syncer(c); /* after: the commit thread's last commits are synced */
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    pthread_cond_destroy(&c->idle);
    pthread_cond_destroy(&c->sync_wake);
    close(c->notify_fd);
    free(c);
}

/* The loop is about to wait for the connection: no more chains, and a background or chain
   that waits for more work of the loop's stops waiting (store_set_chain's wake). */
static void ask_back(struct store *st)
{
    struct committer *c = st->committer;
    atomic_store_explicit(&st->want_back, true, memory_order_relaxed);
    if (c->wake_loop_work)
        c->wake_loop_work(c->chain_arg);
}

void store_ask_back(struct store *st)
{
    if (st->committer && atomic_load_explicit(&st->committing, memory_order_acquire))
        ask_back(st);
}

bool store_wanted_back(const struct store *st)
{
    return atomic_load_explicit(&st->want_back, memory_order_relaxed);
}

static void wait_idle_slow(struct store *st)
{
    struct committer *c = st->committer;
    int64_t since_us = time_mono_us();
    ask_back(st);
    pthread_mutex_lock(&c->lock);
    while (atomic_load_explicit(&st->committing, memory_order_relaxed))
        pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
    st->waited_us += time_mono_us() - since_us;
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
        done(arg, commit_outermost(st) == 0);
        return 0;
    }
    /* The transaction stays open for the background (it may write in it); the thread ends
       it. From here the loop sees none (store_in_transaction). */
    c->background = background;
    c->done = done;
    c->arg = arg;
    st->done_owed = true;
    atomic_store_explicit(&st->want_back, false, memory_order_relaxed);
    pthread_mutex_lock(&c->lock);
    c->ended = false;
    atomic_store_explicit(&st->committing, true, memory_order_relaxed);
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

int store_commit_fd(const struct store *st)
{
    return st->committer ? st->committer->notify_fd : -1;
}

/* Take the notices; then, if a done is owed: wait for its commit to end (or, without wait,
   return false if it has not), and call it. */
static bool finish(struct store *st, bool wait)
{
    struct committer *c = st->committer;
    if (!c)
        return true;
    uint64_t count; /* none to take if the done already ran, from an earlier call */
    if (read(c->notify_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        log_error("store", "cannot read the commit notice: %s", strerror(errno));
    if (!st->done_owed)
        return true;
    /* The handed-over commit, not a chain after it: its done may run meanwhile (the loop's
       next use of the connection waits for the chain, as ever), and before its sync. */
    pthread_mutex_lock(&c->lock);
    bool ended = c->ended;
    pthread_mutex_unlock(&c->lock);
    if (!ended) {
        if (!wait)
            return false;
        int64_t since_us = time_mono_us();
        ask_back(st);
        pthread_mutex_lock(&c->lock);
        while (!c->ended)
            pthread_cond_wait(&c->idle, &c->lock);
        pthread_mutex_unlock(&c->lock);
        st->waited_us += time_mono_us() - since_us;
    }
    st->done_owed = false;
    pthread_mutex_lock(&c->lock);
    bool committed = c->committed && durable_locked(c, c->turn_seq) != -1;
    st->done_number = committed ? c->turn_seq : 0;
    pthread_mutex_unlock(&c->lock);
    c->done(c->arg, committed);
    st->done_number = 0;
    return true;
}

int64_t store_done_number(const struct store *st)
{
    return st->done_number;
}

void store_commit_finish(struct store *st)
{
    finish(st, true);
}

bool store_commit_poll(struct store *st)
{
    return finish(st, false);
}

bool store_busy(const struct store *st)
{
    return atomic_load_explicit(&st->committing, memory_order_acquire);
}

void store_sharing(const struct store *st, struct store_sharing *out)
{
    struct committer *c = st->committer;
    out->loop_waited_us = st->waited_us;
    out->commit_thread_held_us = 0;
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    out->commit_thread_held_us = c->held_us;
    pthread_mutex_unlock(&c->lock);
}

void store_log_stats(const struct store *st, struct store_log_stats *out)
{
    memset(out, 0, sizeof *out);
    if (st->engine->log_stats)
        st->engine->log_stats(st->conn, out);
}

void store_set_chain(struct store *st, bool (*chain)(void *arg), void (*wake)(void *arg),
                     void (*durable)(void *arg), void *arg)
{
    struct committer *c = st->committer;
    if (!c)
        return;
    wait_idle(st); /* the commit thread reads them only while it has the connection */
    pthread_mutex_lock(&c->lock); /* the sync thread, under the lock */
    c->chain = chain;
    c->wake_loop_work = wake;
    c->durable_notice = durable;
    c->chain_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

struct store *store_open_with(const struct store_options *options, char *err, size_t errlen)
{
    struct store_conn *conn;
    if (!options->driver || strcmp(options->driver, "sqlite") == 0)
        conn = store_sqlite_open(options->path, err, errlen);
    else if (strcmp(options->driver, "postgresql") == 0)
        conn = store_pg_open(options, err, errlen);
    else {
        snprintf(err, errlen, "unknown storage driver \"%s\"", options->driver);
        return NULL;
    }
    if (!conn)
        return NULL;
    struct store *st = xcalloc(1, sizeof *st);
    st->conn = conn;
    st->engine = conn->engine;
    st->n_slots = 256;
    st->slots = xcalloc(st->n_slots, sizeof *st->slots);
    if (!st->engine->shared) {
        st->recent = recent_ids_new(options->redelivery_window ? options->redelivery_window
                                                               : STORE_REDELIVERY_WINDOW);
        if (store_events_recall(st, st->recent) != 0) {
            snprintf(err, errlen, "cannot read the newest notifications: %s",
                     st->engine->last_error(st->conn));
            store_close(st);
            return NULL;
        }
    }
    committer_start(st);
    return st;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
    struct store_options options = {.driver = "sqlite", .path = path};
    return store_open_with(&options, err, errlen);
}

const char *store_driver(const struct store *st)
{
    return st->engine->name;
}

bool store_shared(const struct store *st)
{
    return st->engine->shared;
}

void store_set_node(struct store *st, int64_t node)
{
    st->node = node;
}

int64_t store_node(const struct store *st)
{
    return st->node;
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
    for (size_t i = 0; i < st->n_slots; i++)
        if (st->slots[i].q)
            st->slots[i].q->ops->finalize(st->slots[i].q);
    free(st->slots);
    recent_ids_free(st->recent);
    st->engine->close(st->conn);
    free(st);
}

struct recent_ids *store_recent_ids(struct store *st)
{
    wait_idle(st); /* the commit thread's background may be adding to it */
    return st->recent;
}

struct store_conn *store_conn(struct store *st)
{
    wait_idle(st);
    return st->conn;
}

int store_schema_version(struct store *st)
{
    wait_idle(st);
    return st->engine->schema_version(st->conn);
}

int store_latest_version(void)
{
    return migrations_count();
}

/* ---- the statement cache ---- */

static size_t slot_index(const struct store *st, const char *sql)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 7) & (st->n_slots - 1);
}

static void grow_slots(struct store *st)
{
    struct query_slot *old = st->slots;
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

struct store_query *store_query(struct store *st, const char *sql)
{
    wait_idle(st);
    size_t i = slot_index(st, sql);
    while (st->slots[i].sql) {
        if (st->slots[i].sql == sql) {
            struct store_query *q = st->slots[i].q;
            q->ops->reset(q);
            return q;
        }
        i = (i + 1) & (st->n_slots - 1);
    }
    struct store_query *q = store_query_new(st, sql);
    if (!q)
        return NULL;
    if ((st->n_used + 1) * 2 > st->n_slots) {
        grow_slots(st);
        i = slot_index(st, sql);
        while (st->slots[i].sql)
            i = (i + 1) & (st->n_slots - 1);
    }
    st->slots[i].sql = sql;
    st->slots[i].q = q;
    st->n_used++;
    return q;
}

struct store_query *store_query_new(struct store *st, const char *sql)
{
    wait_idle(st);
    char *text = store_sql_for(sql, st->engine->dialect, st->engine->dollar_parameters);
    char err[512];
    struct store_query *q = st->engine->prepare(st->conn, text, err, sizeof err);
    free(text);
    if (!q)
        log_error("store", "cannot prepare statement: %s (%.80s)", err, sql);
    return q;
}

void store_query_free(struct store_query *q)
{
    if (q)
        q->ops->finalize(q);
}

int store_exec(struct store *st, const char *sql)
{
    wait_idle(st);
    char *text = store_sql_for(sql, st->engine->dialect, false);
    char err[512];
    int rc = st->engine->exec(st->conn, text, err, sizeof err);
    if (rc != 0)
        log_error("store", "%s (%.80s)", err, sql);
    free(text);
    return rc;
}

int64_t store_changes(struct store *st)
{
    wait_idle(st);
    return st->engine->changes(st->conn);
}

/* ---- transactions ---- */

int store_begin(struct store *st)
{
    wait_idle(st);
    char sql[48];
    if (st->depth == 0)
        snprintf(sql, sizeof sql, "%s", st->engine->begin_sql);
    else
        snprintf(sql, sizeof sql, "SAVEPOINT sp%d", st->depth);
    char err[256];
    if (st->engine->exec(st->conn, sql, err, sizeof err) != 0) {
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
        return commit_outermost(st);
    }
    char sql[48], err[256];
    snprintf(sql, sizeof sql, "RELEASE sp%d", st->depth - 1);
    if (st->engine->exec(st->conn, sql, err, sizeof err) != 0) {
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
        rollback_outermost(st);
        return;
    }
    char sql[64], err[256];
    snprintf(sql, sizeof sql, "ROLLBACK TO sp%d; RELEASE sp%d", st->depth - 1, st->depth - 1);
    /* The engine may already have rolled back on its own (e.g. disk full): that is fine. */
    if (st->engine->exec(st->conn, sql, err, sizeof err) != 0
        && st->engine->in_transaction(st->conn))
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
    return st->engine->last_error(st->conn);
}

void store_release_memory(struct store *st)
{
    wait_idle(st);
    st->engine->release_memory(st->conn);
}

/* ---- statements (store_sql.h) ---- */

void store_bind_int64(struct store_query *q, int i, int64_t value)
{
    q->ops->bind_int64(q, i, value);
}

void store_bind_text(struct store_query *q, int i, const char *s)
{
    q->ops->bind_text(q, i, s, -1, true);
}

void store_bind_text_ref(struct store_query *q, int i, const char *s, int len)
{
    q->ops->bind_text(q, i, s, len, false);
}

void store_bind_blob_ref(struct store_query *q, int i, const void *data, size_t len)
{
    q->ops->bind_blob(q, i, data, len);
}

void store_reset(struct store_query *q)
{
    q->ops->reset(q);
}

int store_step_row(struct store *st, struct store_query *q)
{
    int rc = q->ops->step(q);
    if (rc < 0)
        log_error("store", "statement failed: %s", st->engine->last_error(st->conn));
    return rc;
}

int store_step_done(struct store *st, struct store_query *q)
{
    int rc;
    while ((rc = store_step_row(st, q)) == 1)
        ;
    q->ops->reset(q);
    return rc;
}

int store_step_int64(struct store *st, struct store_query *q, int64_t *out)
{
    int rc = store_step_row(st, q), found = rc < 0 ? -1 : 0;
    if (rc == 1 && !q->ops->col_null(q, 0)) {
        *out = q->ops->col_int64(q, 0);
        found = 1;
    }
    q->ops->reset(q);
    return found;
}

int store_step_insert_id(struct store *st, struct store_query *q, int64_t *out)
{
    if (!st->engine->last_insert_id)
        return store_step_int64(st, q, out);
    if (store_step_done(st, q) != 0)
        return -1;
    if (st->engine->changes(st->conn) == 0)
        return 0;
    *out = st->engine->last_insert_id(st->conn);
    return 1;
}

int64_t store_col_int64(struct store_query *q, int i)
{
    return q->ops->col_int64(q, i);
}

int store_col_int(struct store_query *q, int i)
{
    return (int)q->ops->col_int64(q, i);
}

bool store_col_null(struct store_query *q, int i)
{
    return q->ops->col_null(q, i);
}

const char *store_col_text(struct store_query *q, int i)
{
    return q->ops->col_text(q, i);
}

size_t store_col_bytes(struct store_query *q, int i)
{
    return q->ops->col_bytes(q, i);
}

const void *store_col_blob(struct store_query *q, int i)
{
    return q->ops->col_blob(q, i);
}
