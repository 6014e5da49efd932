/*
 * Unit tests: retention (retention.c) prunes as a participant of the commit
 * turn - finished jobs and old events go in batches, each batch inside a turn's
 * transaction; jobs still needed and recent rows stay; a backlog larger than
 * a batch is worked off over several turns.
 */
#include "config.h"
#include "retention.h"
#include "server.h"
#include "store/store.h"
#include "store/store_events.h"
#include "store/store_jobs.h"
#include "turn.h"
#include "unit.h"

#include <event2/event.h>

#define DAY_MS 86400000LL

/* n jobs of one type, ended 'done' at finished_at. */
static void add_finished_jobs(struct store *st, int n, int64_t finished_at)
{
    for (int i = 0; i < n; i++) {
        struct store_new_job job = {.plugin = "p", .installation = 1, .type = "old",
                                    .max_attempts = 3, .run_at = 1, .created_at = 1};
        int64_t id = store_job_insert(st, &job);
        struct store_job_result done = {.id = id, .attempt = 1, .state = "done"};
        CHECK_INT(store_jobs_record_results(st, &done, 1, finished_at), 0);
    }
}

/* Counts what one turn's pruning gather sees: that it runs inside the transaction. */
struct spy {
    struct store *st;
    int turns, outside_transaction;
};

static void spy_gather(void *arg)
{
    struct spy *s = arg;
    s->turns++;
    s->outside_transaction += !store_in_transaction(s->st);
}

static int count_event(void *arg, const struct store_event *event)
{
    (void)event;
    (*(int *)arg)++;
    return 0;
}

static void spy_settle(void *arg, bool committed)
{
    (void)arg;
    (void)committed;
}

static void backlog_pruned_in_turns(void)
{
    char *dir = unit_tempdir(), path[512], err[256];
    snprintf(path, sizeof path, "%s/retention.db", dir);
    struct config cfg = {0};
    cfg.job_retention_days = 7;
    cfg.event_retention_days = 7;
    struct server srv = {0};
    srv.cfg = &cfg;
    srv.base = event_base_new();
    CHECK_INT(event_base_priority_init(srv.base, 3), 0);
    srv.store = store_open(path, err, sizeof err);
    CHECK(srv.store != NULL);
    if (!srv.store)
        return;
    int64_t now = time_now_ms();
    /* 1,200 jobs finished ten days ago (more than two batches), 3 yesterday; one still queued. */
    CHECK_INT(store_begin(srv.store), 0);
    add_finished_jobs(srv.store, 1200, now - 10 * DAY_MS);
    add_finished_jobs(srv.store, 3, now - DAY_MS);
    struct store_new_job queued = {.plugin = "p", .installation = 1, .type = "live",
                                   .max_attempts = 3, .run_at = now + DAY_MS, .created_at = 1};
    CHECK(store_job_insert(srv.store, &queued) > 0);
    /* And 350 events received ten days ago: four batches of events (100, 100, 100, 50). */
    for (int i = 0; i < 350; i++) {
        char id[32];
        snprintf(id, sizeof id, "n%d", i);
        struct store_event old = {.plugin = "p", .notification_id = id, .installation = 1,
                                  .topic = "ping", .received_at = now - 10 * DAY_MS,
                                  .outcome = "ignored", .body = "{}", .body_len = 2};
        bool duplicate;
        CHECK(store_event_insert(srv.store, &old, &duplicate) > 0);
    }
    CHECK_INT(store_commit(srv.store), 0);
    CHECK_INT(store_jobs_count_state(srv.store, "done"), 1203);

    srv.turn = turn_new(&srv);
    struct retention *r = retention_new(&srv);
    retention_join_turn(r);
    struct spy spy = {srv.store, 0, 0};
    turn_join(srv.turn,
              &(struct turn_participant){"spy", spy_gather, spy_settle, &spy, NULL, NULL});
    retention_start(r, 0);
    /* Jobs in three batches (500, 500, 200), events in four (100 each, then 50): four turns,
       100 ms apart, the last when the events' batch was not full. */
    int events = -1;
    struct store_event_filter all = {.limit = 1000};
    for (int i = 0; i < 200; i++) {
        if (store_jobs_count_state(srv.store, "done") == 3 && events == 0)
            break;
        event_base_loop(srv.base, EVLOOP_ONCE);
        events = 0;
        store_events_each(srv.store, &all, count_event, &events);
    }
    CHECK_INT(store_jobs_count_state(srv.store, "done"), 3);
    CHECK_INT(store_jobs_count_state(srv.store, "queued"), 1);
    CHECK_INT(spy.turns, 4);
    CHECK_INT(spy.outside_transaction, 0);
    CHECK(!store_in_transaction(srv.store));
    events = 0;
    CHECK_INT(store_events_each(srv.store, &all, count_event, &events), 0);
    CHECK_INT(events, 0);

    retention_stop(r);
    retention_free(r);
    turn_free(srv.turn);
    store_close(srv.store);
    event_base_free(srv.base);
    free(dir);
}

int main(void)
{
    RUN(backlog_pruned_in_turns);
    UNIT_DONE();
}
