/*
 * Unit tests: the commit turn (turn.c) - participants gather in the order
 * they joined inside one transaction and settle after its commit; a request
 * runs the turn once on the loop; scopes nest and commit at the outermost.
 * The commit on the store's commit thread: the loop runs on meanwhile, its
 * store calls wait for the commit, answers leave only after it, a
 * participant's background runs on that thread before it, transfers started
 * in the turn wait for it, store_close finishes it. A turn settles before its
 * commit is synced and the next one runs meanwhile; its answers and transfers
 * wait for the sync.
 */
#include "curl_loop.h"
#include "http.h"
#include "plugins.h"
#include "replies.h"
#include "server.h"
#include "store/store_sql.h"
#include "turn.h"
#include "unit.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * A slow disk: while syncs_held, the store's syncs of its log made off the
 * loop's thread (the sync thread's) stand still. This fdatasync stands in
 * for libc's in this program (the store calls it by name).
 */
static atomic_bool syncs_held;
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_released = PTHREAD_COND_INITIALIZER;
static pthread_t loop_thread_id;

int fdatasync(int fd)
{
    if (atomic_load(&syncs_held) && !pthread_equal(pthread_self(), loop_thread_id)) {
        pthread_mutex_lock(&sync_lock);
        while (atomic_load(&syncs_held))
            pthread_cond_wait(&sync_released, &sync_lock);
        pthread_mutex_unlock(&sync_lock);
    }
    return (int)syscall(SYS_fdatasync, fd);
}

static void hold_syncs(bool hold)
{
    pthread_mutex_lock(&sync_lock);
    atomic_store(&syncs_held, hold);
    pthread_cond_broadcast(&sync_released);
    pthread_mutex_unlock(&sync_lock);
}

static char log_text[256];

struct step {
    const char *name;
    struct store *st;
    int gathered;
};

static void gather(void *arg)
{
    struct step *s = arg;
    s->gathered++;
    size_t len = strlen(log_text);
    snprintf(log_text + len, sizeof log_text - len, "gather %s%s; ", s->name,
             store_in_transaction(s->st) ? " (in transaction)" : "");
}

static void settle(void *arg, bool committed)
{
    struct step *s = arg;
    size_t len = strlen(log_text);
    snprintf(log_text + len, sizeof log_text - len, "settle %s %s%s; ", s->name,
             committed ? "committed" : "failed",
             store_in_transaction(s->st) ? " (in transaction)" : "");
}

static void participants_in_order(void)
{
    char *dir = unit_tempdir(), path[512], err[256];
    snprintf(path, sizeof path, "%s/turn.db", dir);
    struct server srv = {0};
    srv.base = event_base_new();
    CHECK_INT(event_base_priority_init(srv.base, 3), 0);
    srv.store = store_open(path, err, sizeof err);
    CHECK(srv.store != NULL);
    if (!srv.store)
        return;
    srv.turn = turn_new(&srv);
    struct step dispatch = {"dispatch", srv.store, 0}, intake = {"intake", srv.store, 0};
    turn_join(srv.turn,
              &(struct turn_participant){"dispatch", gather, settle, &dispatch, NULL, NULL});
    turn_join(srv.turn, &(struct turn_participant){"intake", gather, settle, &intake, NULL, NULL});

    CHECK(turn_now(srv.turn));
    CHECK_STR(log_text, "gather dispatch (in transaction); gather intake (in transaction); "
                        "settle dispatch committed; settle intake committed; ");
    CHECK(!store_in_transaction(srv.store));

    /* Requests within one loop iteration run one turn (once the commit thread has given the
       connection back: the last turn settled as soon as its COMMIT had ended). */
    log_text[0] = '\0';
    turn_request(srv.turn);
    turn_request(srv.turn);
    int64_t until = time_now_ms() + 5000;
    while (dispatch.gathered < 2 && time_now_ms() < until)
        event_base_loop(srv.base, EVLOOP_ONCE);
    for (int i = 0; i < 5; i++)
        event_base_loop(srv.base, EVLOOP_NONBLOCK);
    CHECK_INT(dispatch.gathered, 2);
    CHECK_INT(intake.gathered, 2);

    /* A participant that left is not called again. */
    turn_leave(srv.turn, &dispatch);
    log_text[0] = '\0';
    CHECK(turn_now(srv.turn));
    CHECK_STR(log_text, "gather intake (in transaction); settle intake committed; ");

    /* Scopes nest; the outermost one commits. */
    CHECK(!turn_in_scope(srv.turn));
    turn_scope_enter(srv.turn);
    CHECK(turn_in_scope(srv.turn));
    CHECK(store_in_transaction(srv.store));
    turn_scope_enter(srv.turn);
    CHECK(turn_scope_leave(srv.turn));
    CHECK(store_in_transaction(srv.store));
    CHECK(turn_scope_leave(srv.turn));
    CHECK(!store_in_transaction(srv.store));
    CHECK(!turn_in_scope(srv.turn));
    CHECK(!turn_in_scope(NULL));

    turn_free(srv.turn);
    store_close(srv.store);
    event_base_free(srv.base);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK_INT(system(path), 0);
    free(dir);
}

/* ---- the commit thread ---- */

/* A gate the commit thread waits at (in a background): the commit is "slow" until opened. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int permits; /* each lets one commit through */
    int opens_after_ms; /* > 0: a helper thread opens it (the loop is blocked meanwhile) */
    pthread_t opener;
};

static void gate_init(struct gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->permits = 0;
    g->opens_after_ms = 0;
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->permits++;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* False if it stayed shut for 5 s (the test then fails instead of hanging). */
static bool gate_pass(struct gate *g)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&g->lock);
    int rc = 0;
    while (!g->permits && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g->cond, &g->lock, &until);
    bool passed = g->permits > 0;
    if (passed)
        g->permits--;
    pthread_mutex_unlock(&g->lock);
    return passed;
}

/* Stands for a slow fsync while the loop thread is itself blocked in the store. */
static void *opener_main(void *arg)
{
    struct gate *g = arg;
    struct timespec pause = {0, (long)g->opens_after_ms * 1000000L};
    nanosleep(&pause, NULL);
    gate_open(g);
    return NULL;
}

static void gate_open_later(struct gate *g, int ms)
{
    g->opens_after_ms = ms;
    CHECK_INT(pthread_create(&g->opener, NULL, opener_main, g), 0);
}

static void gate_join_opener(struct gate *g)
{
    pthread_join(g->opener, NULL);
    g->opens_after_ms = 0;
}

struct writer {
    struct store *st;
    const char *path;
    struct gate *gate;
    bool fail;             /* gather breaks the transaction: the COMMIT fails */
    sb_reply_token answer; /* gather answers it (inside the turn's scope) */
    struct replies *replies;
    struct sb_plugin *plugin;
    int gathered, settled, committed;
    /* set by background on the commit thread, read back by settle */
    bool background_on_loop_thread, gate_passed;
    bool background_writes;         /* background inserts a row itself, in the transaction */
    bool meanwhile_on_loop_thread;
    bool meanwhile_before_gate;     /* the background was still held when meanwhile ran */
    int meanwhile_ran;
    int background_made, settle_read; /* what background made, as settle found it */
    long long rows_seen_by_background;
    long long rows_seen_by_settle;
    pthread_t loop_thread;
    char order[256];
    /* gather starts a transfer of fetch_url on it (a plugin's request) */
    struct curl_loop *fetch_loop;
    const char *fetch_url;
    struct curl_transfer transfer;
    CURL *easy;
    int fetched;     /* its done ran */
    struct http_request *answer_in_settle; /* settle answers it (200) */
    int answer_client_fd;                  /* ... whose client end this is */
    bool answer_left_in_settle;            /* the client had it before settle returned */
    int settled_when_fetched;
};

static void note(struct writer *w, const char *what)
{
    size_t len = strlen(w->order);
    snprintf(w->order + len, sizeof w->order - len, "%s; ", what);
}

/* Rows of table t on a connection of its own: what is committed. */
static long long committed_rows(const char *path)
{
    sqlite3 *db;
    long long n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW)
                n = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
        }
    }
    sqlite3_close(db);
    return n;
}

static void writer_gather(void *arg)
{
    struct writer *w = arg;
    w->gathered++;
    note(w, "gather");
    CHECK_INT(store_exec(w->st, "INSERT INTO t(v) VALUES (1)"), 0);
    if (w->fail) /* a deferred foreign key: the COMMIT itself fails */
        CHECK_INT(store_exec(w->st, "INSERT INTO child(parent) VALUES (404)"), 0);
    if (w->fetch_url) {
        w->easy = curl_transfer_easy(&w->transfer, w->fetch_url, "GET", "file", 5000, 5000);
        CHECK_INT(curl_loop_add(w->fetch_loop, w->easy, &w->transfer), CURLM_OK);
        w->fetch_url = NULL;
    }
    if (w->answer) {
        CHECK_INT(replies_json(w->replies, w->plugin, w->answer, 200,
                               json_object_new_string("done")), 0);
        w->answer = 0;
    }
}

static void writer_background(void *arg)
{
    struct writer *w = arg;
    w->background_on_loop_thread = pthread_equal(pthread_self(), w->loop_thread);
    w->rows_seen_by_background = committed_rows(w->path);
    w->gate_passed = w->gate ? gate_pass(w->gate) : true;
    w->background_made = w->gathered * 10;
    if (w->background_writes) { /* the commit thread holds the connection: no wait, a savepoint */
        CHECK(store_in_transaction(w->st));
        CHECK_INT(store_begin(w->st), 0);
        CHECK_INT(store_exec(w->st, "INSERT INTO t(v) VALUES (2)"), 0);
        CHECK_INT(store_commit(w->st), 0);
        CHECK(store_in_transaction(w->st)); /* the turn's, still open */
    }
}

static void writer_meanwhile(void *arg)
{
    struct writer *w = arg;
    w->meanwhile_ran++;
    w->meanwhile_on_loop_thread = pthread_equal(pthread_self(), w->loop_thread);
    /* (Ungated, the background may be writing gate_passed right now: not read.) */
    w->meanwhile_before_gate = w->gate && !w->gate_passed && w->settled == 0;
    note(w, "meanwhile");
}

static void writer_settle(void *arg, bool committed)
{
    struct writer *w = arg;
    w->settled++;
    w->committed += committed;
    w->rows_seen_by_settle = committed_rows(w->path);
    w->settle_read = w->background_made;
    note(w, committed ? "settle committed" : "settle failed");
    if (w->answer_in_settle) {
        http_reply(w->answer_in_settle, 200, "text/plain", "ok", 2);
        w->answer_in_settle = NULL;
        char got[64];
        w->answer_left_in_settle = recv(w->answer_client_fd, got, sizeof got, MSG_DONTWAIT) > 0;
    }
}

struct fixture {
    char *dir;
    char path[512];
    struct server srv;
    struct writer w;
    struct gate gate;
};

static bool fixture_open(struct fixture *f, bool gated)
{
    memset(f, 0, sizeof *f);
    char err[256];
    f->dir = unit_tempdir();
    snprintf(f->path, sizeof f->path, "%s/commit.db", f->dir);
    f->srv.base = event_base_new();
    CHECK_INT(event_base_priority_init(f->srv.base, 3), 0);
    f->srv.store = store_open(f->path, err, sizeof err);
    CHECK(f->srv.store != NULL);
    if (!f->srv.store)
        return false;
    CHECK(store_commit_fd(f->srv.store) >= 0); /* the commit thread runs */
    CHECK_INT(store_exec(f->srv.store,
                         "CREATE TABLE t(v INTEGER); CREATE TABLE parent(id INTEGER PRIMARY KEY);"
                         "CREATE TABLE child(parent INTEGER REFERENCES parent(id) "
                         "DEFERRABLE INITIALLY DEFERRED)"),
              0);
    f->srv.turn = turn_new(&f->srv);
    gate_init(&f->gate);
    f->w.st = f->srv.store;
    f->w.path = f->path;
    f->w.gate = gated ? &f->gate : NULL;
    f->w.loop_thread = pthread_self();
    turn_join(f->srv.turn, &(struct turn_participant){"writer", writer_gather, writer_settle,
                                                      &f->w, writer_background,
                                                      writer_meanwhile});
    return true;
}

static void fixture_close(struct fixture *f)
{
    turn_free(f->srv.turn);
    store_close(f->srv.store);
    event_base_free(f->srv.base);
    pthread_mutex_destroy(&f->gate.lock);
    pthread_cond_destroy(&f->gate.cond);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    CHECK_INT(system(cmd), 0);
    free(f->dir);
}

/* Run the loop until the writer has settled n times (or 5 s passed). */
static void loop_until_settled(struct fixture *f, int n)
{
    int64_t until = time_now_ms() + 5000;
    while (f->w.settled < n && time_now_ms() < until)
        event_base_loop(f->srv.base, EVLOOP_ONCE);
    CHECK_INT(f->w.settled, n);
}

/* Run the loop without blocking until the writer has gathered n times. */
static void loop_until_gathered(struct fixture *f, int n)
{
    int64_t until = time_now_ms() + 5000;
    while (f->w.gathered < n && time_now_ms() < until)
        event_base_loop(f->srv.base, EVLOOP_NONBLOCK);
    CHECK_INT(f->w.gathered, n);
}

static bool timer_fired;

static void open_gate_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fixture *f = arg;
    (void)fd;
    (void)what;
    timer_fired = true;
    CHECK_INT(f->w.settled, 0); /* the commit is still in flight */
    gate_open(&f->gate);
}

/* The loop runs (a timer fires) while the commit thread is held; background before COMMIT. */
static void loop_runs_during_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, true))
        return;
    struct event *timer = evtimer_new(f.srv.base, open_gate_cb, &f);
    struct timeval ms = {0, 1000};
    evtimer_add(timer, &ms);
    turn_request(f.srv.turn);
    loop_until_settled(&f, 1);
    CHECK(timer_fired);
    CHECK(f.w.gate_passed);
    CHECK(!f.w.background_on_loop_thread);
    CHECK_INT(f.w.rows_seen_by_background, 0); /* before the COMMIT */
    CHECK_INT(f.w.rows_seen_by_settle, 1);     /* after it */
    CHECK_INT(f.w.settle_read, 10);            /* settle reads back what it made */
    CHECK_INT(f.w.committed, 1);
    CHECK(!store_in_transaction(f.srv.store));
    event_free(timer);
    fixture_close(&f);
}

/*
 * Meanwhile runs on the loop while the commit thread is held in the
 * background; a background may write in the turn's transaction (a savepoint
 * of it), and the loop sees no transaction of its own meanwhile.
 */
static void meanwhile_overlaps_the_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, true))
        return;
    f.w.background_writes = true;
    struct event *timer = evtimer_new(f.srv.base, open_gate_cb, &f);
    struct timeval ms = {0, 20000};
    evtimer_add(timer, &ms);
    turn_request(f.srv.turn);
    loop_until_settled(&f, 1);
    CHECK_INT(f.w.meanwhile_ran, 1);
    CHECK(f.w.meanwhile_on_loop_thread);
    CHECK(f.w.meanwhile_before_gate);
    CHECK_STR(f.w.order, "gather; meanwhile; settle committed; ");
    CHECK_INT(f.w.rows_seen_by_settle, 2); /* gather's row and the background's */
    CHECK(!store_in_transaction(f.srv.store));
    event_free(timer);
    fixture_close(&f);
}

/* A store call from the loop during the commit waits for it, then sees its rows. */
static void store_call_waits_for_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, true))
        return;
    turn_request(f.srv.turn);
    loop_until_gathered(&f, 1);
    CHECK(!store_in_transaction(f.srv.store)); /* handed over */
    gate_open_later(&f.gate, 50);
    struct store_query *s = store_query(f.srv.store, "SELECT count(*) FROM t");
    CHECK_INT(committed_rows(f.path), 1); /* the commit had ended when store_query returned */
    int64_t n = 0;
    CHECK_INT(store_step_int64(f.srv.store, s, &n), 1);
    CHECK_INT(n, 1);
    gate_join_opener(&f.gate);
    CHECK_INT(f.w.settled, 0); /* its done runs from the loop's notice */
    loop_until_settled(&f, 1);
    CHECK_INT(f.w.committed, 1);
    fixture_close(&f);
}

/* Requests during a commit run one turn after it; turn_now waits for it, then runs. */
static void turns_during_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, true))
        return;
    turn_request(f.srv.turn);
    loop_until_gathered(&f, 1);
    turn_request(f.srv.turn);
    turn_request(f.srv.turn);
    for (int i = 0; i < 10; i++)
        event_base_loop(f.srv.base, EVLOOP_NONBLOCK);
    CHECK_INT(f.w.gathered, 1);
    gate_open(&f.gate);
    loop_until_settled(&f, 1);
    gate_open(&f.gate); /* the wanted turn's commit */
    loop_until_settled(&f, 2);
    for (int i = 0; i < 10; i++)
        event_base_loop(f.srv.base, EVLOOP_NONBLOCK);
    CHECK_INT(f.w.gathered, 2);
    CHECK_STR(f.w.order, "gather; meanwhile; settle committed; "
              "gather; meanwhile; settle committed; ");

    f.w.order[0] = '\0';
    turn_request(f.srv.turn);
    loop_until_gathered(&f, 3);
    gate_open(&f.gate);             /* one commit goes through at once, */
    gate_open_later(&f.gate, 20); /* the other after a while: turn_now waits for both */
    CHECK(turn_now(f.srv.turn));
    gate_join_opener(&f.gate);
    CHECK_STR(f.w.order, "gather; meanwhile; settle committed; "
              "gather; meanwhile; settle committed; ");
    CHECK_INT(f.w.committed, 4);
    CHECK_INT(committed_rows(f.path), 4);
    fixture_close(&f);
}

/* store_close with a commit in flight writes it and runs its done. */
static void close_finishes_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, true))
        return;
    turn_request(f.srv.turn);
    loop_until_gathered(&f, 1);
    gate_open_later(&f.gate, 20);
    store_close(f.srv.store);
    gate_join_opener(&f.gate);
    CHECK_INT(f.w.settled, 1);
    CHECK_INT(f.w.committed, 1);
    CHECK_INT(committed_rows(f.path), 1);
    char err[256];
    f.srv.store = store_open(f.path, err, sizeof err); /* for fixture_close */
    CHECK(f.srv.store != NULL);
    fixture_close(&f);
}

static void fetched(void *owner, CURLcode result)
{
    struct writer *w = owner;
    CHECK_INT(result, CURLE_OK);
    w->fetched++;
    w->settled_when_fetched = w->settled;
}

/* The writer's next gather starts a transfer of url (the database file itself). */
static void fetch_in_next_gather(struct fixture *f, char *url, size_t cap)
{
    snprintf(url, cap, "file://%s", f->path);
    f->w.fetch_loop = curl_loop_new(f->srv.base, 4, NULL, NULL);
    f->w.fetch_url = url;
    f->w.transfer.done = fetched;
    f->w.transfer.owner = &f->w;
}

static void fetch_free(struct fixture *f)
{
    curl_easy_cleanup(f->w.easy);
    buf_free(&f->w.transfer.body);
    curl_loop_free(f->w.fetch_loop);
}

/* A transfer started in the turn leaves only after its commit. */
static void transfers_wait_for_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, true))
        return;
    char url[600];
    fetch_in_next_gather(&f, url, sizeof url);
    turn_request(f.srv.turn);
    loop_until_gathered(&f, 1);
    for (int i = 0; i < 10; i++)
        event_base_loop(f.srv.base, EVLOOP_NONBLOCK);
    CHECK_INT(f.w.fetched, 0); /* held: the commit is in flight */
    gate_open(&f.gate);
    loop_until_settled(&f, 1);
    int64_t until = time_now_ms() + 5000;
    while (!f.w.fetched && time_now_ms() < until)
        event_base_loop(f.srv.base, EVLOOP_ONCE);
    CHECK_INT(f.w.fetched, 1);
    CHECK_INT(f.w.settled_when_fetched, 1);
    fetch_free(&f);
    fixture_close(&f);
}


/* ---- the chain after the commit (store_set_chain) ---- */

struct chain {
    struct store *st;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int runs_left;       /* transactions it still writes */
    int ran;             /* transactions it wrote */
    atomic_bool wait_for_loop; /* the first run waits until the loop wants the connection */
    atomic_bool waiting;       /* ... and is waiting now */
    bool on_loop_thread; /* any run on the loop's thread */
    pthread_t loop_thread;
    int64_t last_number; /* store_commit_number after its last commit */
    atomic_int woken, durable_notices;
};

static bool chain_run(void *arg)
{
    struct chain *c = arg;
    if (pthread_equal(pthread_self(), c->loop_thread))
        c->on_loop_thread = true;
    if (c->wait_for_loop) {
        pthread_mutex_lock(&c->lock);
        c->waiting = true;
        while (!store_wanted_back(c->st))
            pthread_cond_wait(&c->wake, &c->lock);
        pthread_mutex_unlock(&c->lock);
        c->wait_for_loop = false;
        return false;
    }
    if (c->runs_left == 0)
        return false;
    c->runs_left--;
    CHECK_INT(store_begin(c->st), 0);
    CHECK_INT(store_exec(c->st, "INSERT INTO t(v) VALUES (3)"), 0);
    CHECK_INT(store_commit(c->st), 0);
    c->last_number = store_commit_number(c->st);
    c->ran++;
    return true;
}

static void chain_wake(void *arg)
{
    struct chain *c = arg;
    c->woken++;
    pthread_mutex_lock(&c->lock);
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

static void chain_durable(void *arg)
{
    struct chain *c = arg;
    c->durable_notices++;
}

static void chain_init(struct chain *c, struct fixture *f)
{
    memset(c, 0, sizeof *c);
    c->st = f->srv.store;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    c->loop_thread = pthread_self();
}

static void chain_done(struct chain *c, struct fixture *f)
{
    store_set_chain(f->srv.store, NULL, NULL, NULL, NULL);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
}

/*
 * After the turn's commit the commit thread runs the chain's transactions
 * before it gives the connection back; each counts once the sync thread has
 * synced it (store_durable), and the loop meanwhile has the turn's settle.
 */
static void chain_runs_after_the_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, false))
        return;
    struct chain c;
    chain_init(&c, &f);
    c.runs_left = 3;
    store_set_chain(f.srv.store, chain_run, chain_wake, chain_durable, &c);
    turn_request(f.srv.turn);
    loop_until_settled(&f, 1);
    CHECK_INT(f.w.committed, 1);
    /* (Not a store call: that would ask the connection back and cut the chain short.) */
    int64_t until = time_now_ms() + 5000;
    while (store_busy(f.srv.store) && time_now_ms() < until)
        usleep(1000);
    CHECK(!store_busy(f.srv.store));
    CHECK_INT(c.ran, 3);
    CHECK(!c.on_loop_thread);
    CHECK(c.last_number > 0); /* SQLite: synced by the sync thread */
    store_wait_durable(f.srv.store, c.last_number);
    CHECK_INT(store_durable(f.srv.store, c.last_number), 1);
    CHECK(c.durable_notices >= 1);
    CHECK_INT(committed_rows(f.path), 4); /* the turn's row and the chain's three */
    /* A commit made on the loop is durable when it returns: nothing to wait for. */
    CHECK_INT(store_begin(f.srv.store), 0);
    CHECK_INT(store_exec(f.srv.store, "INSERT INTO t(v) VALUES (4)"), 0);
    CHECK_INT(store_commit(f.srv.store), 0);
    CHECK_INT(store_commit_number(f.srv.store), 0);
    CHECK_INT(store_durable(f.srv.store, 0), 1);
    chain_done(&c, &f);
    fixture_close(&f);
}

/* A turn, then a chain after its commit that waits for the loop's work: false if it never
   came to wait (the fixture is closed then). The turn settles before the chain starts, as
   soon as its COMMIT has ended. */
static bool chain_waiting_after_a_turn(struct fixture *f, struct chain *c)
{
    if (!fixture_open(f, false))
        return false;
    chain_init(c, f);
    c->wait_for_loop = true;
    store_set_chain(f->srv.store, chain_run, chain_wake, chain_durable, c);
    turn_request(f->srv.turn);
    loop_until_settled(f, 1);
    /* (Not a store call: that would ask the connection back before the chain began.) */
    int64_t until = time_now_ms() + 5000;
    while (!c->waiting && time_now_ms() < until)
        usleep(1000);
    CHECK(c->waiting);
    CHECK(store_busy(f->srv.store));
    if (c->waiting)
        return true;
    chain_done(c, f);
    fixture_close(f);
    return false;
}

/* A chain waiting for the loop's work gives the connection back as soon as the loop asks. */
static void loop_call_ends_the_chain(void)
{
    struct fixture f;
    struct chain c;
    if (!chain_waiting_after_a_turn(&f, &c))
        return;
    CHECK_INT(store_exec(f.srv.store, "INSERT INTO t(v) VALUES (5)"), 0);
    CHECK(c.woken >= 1);
    CHECK(!c.wait_for_loop);
    CHECK(!store_busy(f.srv.store));
    CHECK_INT(committed_rows(f.path), 2);
    chain_done(&c, &f);
    fixture_close(&f);
}

/* A turn requested (not quietly) while the chain holds the connection runs once it is back. */
static void turn_waits_for_the_chain(void)
{
    struct fixture f;
    struct chain c;
    if (!chain_waiting_after_a_turn(&f, &c))
        return;
    turn_request(f.srv.turn); /* asks the chain to stop */
    loop_until_settled(&f, 2);
    CHECK(c.woken >= 1);
    CHECK_INT(f.w.gathered, 2);
    CHECK_INT(f.w.committed, 2);
    chain_done(&c, &f);
    fixture_close(&f);
}

/* ---- answers held by the turn ---- */

static struct http_request *incoming;

static void take_request(struct http_request *req, void *arg)
{
    (void)arg;
    incoming = req;
}

/* What the client has received so far (nothing: ""). */
static const char *client_read(int fd, char *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

/* A client on a socket pair, and the request it sent, which a plugin owes an answer
   (f->w.answer, opened for plugin): NULL (nothing left open) if it never arrived. */
static struct http_server *request_owed(struct fixture *f, struct sb_plugin *plugin,
                                        int *client_fd)
{
    int fds[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    struct http_limits limits = {1 << 20, 16, 5, 5, 5, 0};
    struct http_server *http = http_server_new(f->srv.base, &limits, take_request, NULL, NULL);
    CHECK(http_server_adopt(http, fds[0]));
    const char *ask = "GET /api/x HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK_INT(write(fds[1], ask, strlen(ask)), (long long)strlen(ask));
    incoming = NULL;
    int64_t until = time_now_ms() + 5000;
    while (!incoming && time_now_ms() < until)
        event_base_loop(f->srv.base, EVLOOP_ONCE);
    CHECK(incoming != NULL);
    if (!incoming) {
        http_server_free(http);
        close(fds[1]);
        return NULL;
    }
    f->w.plugin = plugin;
    f->w.answer = replies_open(f->srv.replies, incoming, plugin, REPLY_API, 5000);
    *client_fd = fds[1];
    return http;
}

static void answer_after_commit(struct fixture *f, bool fail, const char *status_line)
{
    char name[] = "spy";
    struct sb_plugin plugin = {.name = name};
    int client;
    struct http_server *http = request_owed(f, &plugin, &client);
    if (!http)
        return;
    int settled = f->w.settled;
    f->w.fail = fail;
    turn_request(f->srv.turn);
    loop_until_gathered(f, f->w.gathered + 1);
    char got[512];
    for (int i = 0; i < 10; i++)
        event_base_loop(f->srv.base, EVLOOP_NONBLOCK);
    CHECK_STR(client_read(client, got, sizeof got), ""); /* held: the commit is in flight */
    /* A scope entered meanwhile waits for that commit; its own commit and release leave the
       turn's answer to the turn. */
    gate_open_later(&f->gate, 20);
    turn_scope_enter(f->srv.turn);
    CHECK(turn_scope_leave(f->srv.turn));
    gate_join_opener(&f->gate);
    CHECK_STR(client_read(client, got, sizeof got), "");
    CHECK_INT(f->w.settled, settled);
    loop_until_settled(f, settled + 1);
    int64_t until = time_now_ms() + 5000;
    while (!client_read(client, got, sizeof got)[0] && time_now_ms() < until)
        event_base_loop(f->srv.base, EVLOOP_NONBLOCK);
    CHECK(strncmp(got, status_line, strlen(status_line)) == 0);
    CHECK_INT(replies_open_count(f->srv.replies), 0);
    f->w.fail = false;
    http_server_free(http);
    close(client);
}

/* A corked server keeps answers until uncorked; the turn corks its settle's answers and
   uncorks them once the next commit is handed over, or at the end of the settle. */
static void answers_of_a_settle_are_corked(void)
{
    struct fixture f;
    if (!fixture_open(&f, false))
        return;
    int fds[2];
    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    struct http_limits limits = {1 << 20, 16, 5, 5, 5, 0};
    struct http_server *http = http_server_new(f.srv.base, &limits, take_request, NULL, NULL);
    CHECK(http_server_adopt(http, fds[0]));
    char got[512];
    const char *ask = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int round = 0; round < 2; round++) {
        CHECK_INT(write(fds[1], ask, strlen(ask)), (long long)strlen(ask));
        incoming = NULL;
        int64_t until = time_now_ms() + 5000;
        while (!incoming && time_now_ms() < until)
            event_base_loop(f.srv.base, EVLOOP_ONCE);
        CHECK(incoming != NULL);
        if (!incoming)
            break;
        if (round == 0) { /* by hand */
            http_cork(http);
            http_reply(incoming, 200, "text/plain", "ok", 2);
            CHECK_STR(client_read(fds[1], got, sizeof got), "");
            http_uncork(http);
        } else { /* in a turn's settle */
            f.srv.http = http;
            f.w.answer_in_settle = incoming;
            f.w.answer_client_fd = fds[1];
            turn_request(f.srv.turn);
            loop_until_settled(&f, 1);
            CHECK(!f.w.answer_left_in_settle); /* corked while the participants settle */
            f.srv.http = NULL;
        }
        until = time_now_ms() + 5000;
        while (!client_read(fds[1], got, sizeof got)[0] && time_now_ms() < until)
            event_base_loop(f.srv.base, EVLOOP_NONBLOCK);
        CHECK(strncmp(got, "HTTP/1.1 200", 12) == 0);
        CHECK(strstr(got, "\r\n\r\nok") != NULL);
        for (int i = 0; i < 5; i++) /* the connection reads the next request */
            event_base_loop(f.srv.base, EVLOOP_NONBLOCK);
    }
    http_server_free(http);
    close(fds[1]);
    fixture_close(&f);
}

/* Answers given in the turn leave after its commit: 200 if it held, 503 if it failed. */
static void answers_wait_for_commit(void)
{
    struct fixture f;
    if (!fixture_open(&f, true))
        return;
    f.srv.replies = replies_new(&f.srv);
    f.w.replies = f.srv.replies;
    answer_after_commit(&f, false, "HTTP/1.1 200");
    CHECK_INT(f.w.committed, 1);
    answer_after_commit(&f, true, "HTTP/1.1 503");
    CHECK_INT(f.w.settled, 2);
    CHECK_INT(f.w.committed, 1);
    CHECK_INT(committed_rows(f.path), 1); /* the failed turn's row was rolled back */
    CHECK(!store_in_transaction(f.srv.store));
    replies_free(f.srv.replies);
    f.srv.replies = NULL;
    fixture_close(&f);
}

/*
 * With the sync slow, a turn settles as soon as its COMMIT has ended and the
 * next turn runs meanwhile; the first turn's answer and its outbound request
 * wait until the sync has made it durable.
 */
static void answers_and_transfers_wait_for_the_sync(void)
{
    struct fixture f;
    if (!fixture_open(&f, false))
        return;
    f.srv.replies = replies_new(&f.srv);
    f.w.replies = f.srv.replies;
    char name[] = "spy";
    struct sb_plugin plugin = {.name = name};
    int client = -1;
    struct http_server *http = request_owed(&f, &plugin, &client);
    char url[600];
    fetch_in_next_gather(&f, url, sizeof url);

    hold_syncs(true);
    turn_request(f.srv.turn);
    loop_until_settled(&f, 1);
    CHECK_INT(f.w.committed, 1);
    turn_request(f.srv.turn); /* the next turn does not wait for the first one's sync */
    loop_until_settled(&f, 2);
    CHECK_INT(f.w.committed, 2);
    char got[512];
    for (int i = 0; i < 10; i++)
        event_base_loop(f.srv.base, EVLOOP_NONBLOCK);
    CHECK_STR(client_read(client, got, sizeof got), ""); /* not durable yet */
    CHECK_INT(f.w.fetched, 0);
    CHECK_INT(replies_open_count(f.srv.replies), 1);

    hold_syncs(false);
    int64_t until = time_now_ms() + 5000;
    while ((!got[0] || !f.w.fetched) && time_now_ms() < until) {
        event_base_loop(f.srv.base, EVLOOP_NONBLOCK);
        if (!got[0])
            client_read(client, got, sizeof got);
    }
    CHECK(strncmp(got, "HTTP/1.1 200", 12) == 0);
    CHECK_INT(f.w.fetched, 1);
    CHECK_INT(replies_open_count(f.srv.replies), 0);
    CHECK_INT(committed_rows(f.path), 2);

    fetch_free(&f);
    if (http) {
        http_server_free(http);
        close(client);
    }
    replies_free(f.srv.replies);
    f.srv.replies = NULL;
    fixture_close(&f);
}

int main(void)
{
    loop_thread_id = pthread_self();
    RUN(participants_in_order);
    RUN(loop_runs_during_commit);
    RUN(meanwhile_overlaps_the_commit);
    RUN(store_call_waits_for_commit);
    RUN(turns_during_commit);
    RUN(close_finishes_commit);
    RUN(transfers_wait_for_commit);
    RUN(answers_wait_for_commit);
    RUN(chain_runs_after_the_commit);
    RUN(loop_call_ends_the_chain);
    RUN(turn_waits_for_the_chain);
    RUN(answers_of_a_settle_are_corked);
    RUN(answers_and_transfers_wait_for_the_sync);
    UNIT_DONE();
}
