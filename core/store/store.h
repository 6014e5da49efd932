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
#include <stdint.h>

struct store;

/*
 * Open (creating folders and file) and apply pending migrations. The SQLite
 * engine runs in WAL mode with synchronous=FULL (durable commits), foreign
 * keys, an 8 MB page cache and a busy timeout; its WAL checkpoints run on a
 * helper thread with a connection of its own, and store_commit_async's
 * commits on a second helper thread (below).
 */
struct store *store_open(const char *path, char *err, size_t errlen);
/*
 * Which engine, and where its data lives: the configuration's storage group.
 * driver NULL or "sqlite": path is the database file (as store_open).
 * "postgresql": url is a libpq connection string (a postgresql:// URI or
 * key=value pairs) and may carry a password, so it is never logged or put in
 * an error message; several nodes may open the same database (cluster.h).
 */
/*
 * How many notifications a SQLite store remembers (store_events.h): the
 * newest, up to this many, are recognized when Intercom sends them again.
 */
#define STORE_REDELIVERY_WINDOW 65536
struct store_options {
    const char *driver;
    const char *path;
    const char *url;
    size_t redelivery_window; /* 0: STORE_REDELIVERY_WINDOW; SQLite only */
};
struct store *store_open_with(const struct store_options *options, char *err, size_t errlen);
/* "sqlite" or "postgresql": the engine of an open store. */
const char *store_driver(const struct store *st);
/*
 * Whether other processes (the nodes of a cluster) write the same database
 * at once: PostgreSQL. A SQLite file is one process's (store_open locks it).
 */
bool store_shared(const struct store *st);
/* The node this process runs as (store_nodes.h), recorded on the rows it runs; 0: none yet. */
void store_set_node(struct store *st, int64_t node);
int64_t store_node(const struct store *st);

/* A commit in flight is finished first (its done runs); both threads are joined. */
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
 * The commit thread. store_commit_async ends the outermost transaction on a
 * thread of the store's own, so the loop goes on (network I/O, parsing,
 * signatures) while the commit is written and fsynced:
 *
 * - On the commit thread, in order: background(arg) if not NULL (work that
 *   touches none of the loop's state, only what the caller set aside for it;
 *   it may write through the store, inside the transaction being committed -
 *   its own savepoints nest in it - as the thread holds the connection),
 *   then COMMIT (a failed one is rolled back, as store_commit does), then a
 *   notice on store_commit_fd.
 * - On the loop thread: store_commit_finish, when that fd is readable (or
 *   at once, to wait for the commit), calls done(arg, committed). done runs
 *   exactly once for every commit handed over, store_close included, as soon
 *   as the COMMIT has ended: on an engine the store syncs itself, before the
 *   commit is durable. What done answers waits for store_done_number's
 *   commit to be (store_durable); the rest of the loop's state may go on at
 *   once (a sync that fails later fails only those answers).
 * - The thread uses the loop's connection, which is opened NOMUTEX (one
 *   thread at a time): from the hand-over until the commit has ended, every
 *   other entry point of the store (and of store_sqlite.h: store_stmt,
 *   store_exec, store_db) first waits for it - code outside the turn simply
 *   waits for the fsync, as it did when commits ran on the loop - and then
 *   sees the committed data. store_in_transaction is false from the
 *   hand-over on.
 *
 * -1 (nothing done) outside a transaction, in a nested one, or while the
 * done of an earlier commit is still owed. Without the thread (it could not
 * be started: one warning at open) it runs background, commits and calls
 * done before returning.
 */
int store_commit_async(struct store *st, void (*background)(void *arg),
                       void (*done)(void *arg, bool committed), void *arg);
/* Readable once a handed-over commit has ended; -1 without the commit thread. */
int store_commit_fd(const struct store *st);
/* Within done: the number of its commit, for store_durable (0: durable already). */
int64_t store_done_number(const struct store *st);
/* Take the notice; if a commit's done is owed, wait for the commit and call it. */
void store_commit_finish(struct store *st);
/* The same from the notice's event: false (nothing done) if the commit has not ended yet, so
   the notice was an earlier one's (its own comes later). */
bool store_commit_poll(struct store *st);
/* The commit thread has the connection (a commit, or a chain after it): using the store now
   would wait. */
bool store_busy(const struct store *st);
/* How the one connection was shared since the store opened, in microseconds: how long the
   commit thread held it (hand-overs and the chains after them, its short waits for more
   included), and how long the loop stood blocked waiting for it to come back. */
struct store_sharing {
    int64_t commit_thread_held_us;
    int64_t loop_waited_us;
};
void store_sharing(const struct store *st, struct store_sharing *out);
/*
 * The log's syncs since the store opened (on an engine whose commits are not
 * durable by themselves: SQLite's fdatasync of its log; none on PostgreSQL),
 * for a histogram: how many, their total time, and how many took at most
 * each of store_sync_bucket_seconds (cumulative). A commit is answered only
 * once synced, so this is the disk's share of every acknowledgement.
 */
#define STORE_SYNC_BUCKETS 10
extern const double store_sync_bucket_seconds[STORE_SYNC_BUCKETS];
struct store_syncs {
    uint64_t count;
    double seconds;
    uint64_t at_most[STORE_SYNC_BUCKETS];
};
void store_syncs(const struct store *st, struct store_syncs *out);
/*
 * The database log's checkpoints since the store opened: SQLite copies the
 * pages of its log (WAL) back into the database file on a thread of its own,
 * or, should that fall far behind, in the writer's commit (which then stalls);
 * and how many frames (pages) the log held after the last commit. Zeros on
 * PostgreSQL, whose server checkpoints by itself.
 */
struct store_log_stats {
    uint64_t checkpoints;        /* by the checkpoint thread */
    uint64_t writer_checkpoints; /* by the writer, the log past its backstop */
    double checkpoint_seconds;   /* both kinds */
    int64_t frames;
};
void store_log_stats(const struct store *st, struct store_log_stats *out);
/*
 * After each handed-over commit the commit thread may run transactions of its
 * own on the connection before giving it back: chain(arg), on that thread,
 * begins, writes and commits one and returns true, or returns false if it has
 * nothing to do. It runs a few times in a row at most, and no more once the
 * loop waits for the connection. What chain wrote is its own to report to the
 * loop (store_commit_fd counts only the commit and the release). NULL: none.
 * Without the commit thread it is never called.
 *
 * A background or a chain may wait for more work from the loop (rows still
 * being read) while it holds the connection, but only until
 * store_wanted_back: before the loop waits for the connection it sets that
 * and calls wake(arg) (from the loop thread), which must wake such a wait.
 */
void store_set_chain(struct store *st, bool (*chain)(void *arg), void (*wake)(void *arg),
                     void (*durable)(void *arg), void *arg);
/*
 * A commit is acknowledged once it is durable: on the commit thread, right
 * after a commit, store_commit_number names it (0: durable already), as
 * store_done_number does a handed-over one; from the loop, store_durable says
 * 1 (durable), 0 (not yet: durable(arg) is called, on another thread, and
 * store_commit_fd counts a notice, each time more commits are), or -1 (its
 * sync failed: treat it as not committed).
 */
int64_t store_commit_number(const struct store *st);
int store_durable(struct store *st, int64_t number);
/* Wait until store_durable(number) is no longer 0 (shutdown). */
void store_wait_durable(struct store *st, int64_t number);
/* The loop waits for the connection: a background or chain must not wait for it. */
bool store_wanted_back(const struct store *st);
/* From the loop: it will want the connection soon (as waiting for it would say). */
void store_ask_back(struct store *st);

/*
 * The engine's message for the last call that failed (valid until the next
 * call), for callers that put the reason into their own error text.
 */
const char *store_last_error(struct store *st);

/* Give back the memory the engine keeps for speed (its page cache); reads refill it. */
void store_release_memory(struct store *st);

#endif
