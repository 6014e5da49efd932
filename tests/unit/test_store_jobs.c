/*
 * Unit tests: the queue's (jobs and webhook deliveries), schedules' and events' store functions
 * (store_jobs, store_schedules, store_events) on a real SQLite file: key
 * order, promotion, results, replays, dispatch order, duplicates and pruning.
 */
#include "store/store_events.h"
#include "store/store_jobs.h"
#include "store/store_nodes.h"
#include "store/store_schedules.h"
#include "store/store_sqlite.h"
#include "unit.h"
#include "unit_store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static struct store *open_db(const char *name)
{
    return unit_store_open(dir, name);
}

static int64_t add_job(struct store *st, const char *key, int64_t run_at)
{
    struct store_new_job job = {.plugin = "p", .installation = 1, .type = "t", .key = key,
                                .max_attempts = 3, .run_at = run_at, .created_at = 1};
    return store_job_insert(st, &job);
}

/* A notification received at received_at: a delivery (keyed by key) if outcome is "queued". */
static int64_t add_event(struct store *st, const char *id, const char *outcome, const char *key,
                         int64_t received_at)
{
    struct store_event ev = {.plugin = "p", .notification_id = id, .installation = 1,
                             .workspace_id = "ws", .topic = "t", .created_at = 7,
                             .received_at = received_at, .outcome = outcome, .body = "{}",
                             .body_len = 2, .key = key, .max_attempts = 3};
    bool dup = true;
    int64_t event = store_event_insert(st, &ev, &dup);
    return dup ? 0 : event;
}

/* A job's column as text ("" when null), read through the admin view. */
static const char *job_field(struct store *st, int64_t id, const char *field, char *out,
                             size_t outlen)
{
    json_object *o = store_job_get(st, id), *v = NULL;
    snprintf(out, outlen, "%s",
             o && json_object_object_get_ex(o, field, &v) && v ? json_object_get_string(v) : "");
    json_object_put(o);
    return out;
}

static const char *state_of(struct store *st, int64_t id)
{
    static char buf[32];
    return job_field(st, id, "state", buf, sizeof buf);
}

/* Same key: the second waits; a final result of the first lets it run. */
static void keyed_jobs_wait_then_promote(void)
{
    struct store *st = open_db("keys.db");
    int64_t a = add_job(st, "k", 10), b = add_job(st, "k", 10), c = add_job(st, NULL, 5);
    int64_t d = add_job(st, "other", 10);
    CHECK(a > 0 && b > a && c > b && d > c);
    CHECK_STR(state_of(st, a), "queued");
    CHECK_STR(state_of(st, b), "waiting");
    CHECK_STR(state_of(st, c), "queued");
    CHECK_STR(state_of(st, d), "queued");

    /* Due: queued rows only, by run_at then id, at most max. */
    struct store_job_row rows[4] = {0};
    size_t n = store_jobs_due(st, 10, rows, 4);
    CHECK_INT(n, 3);
    CHECK_INT(rows[0].id, c);
    CHECK_INT(rows[1].id, a);
    CHECK_INT(rows[2].id, d);
    CHECK_STR(rows[1].key, "k");
    CHECK(rows[0].key == NULL);
    CHECK_INT(rows[1].attempt, 1);
    for (size_t i = 0; i < n; i++)
        store_job_row_clear(&rows[i]);
    CHECK_INT(store_jobs_due(st, 9, rows, 4), 1); /* only c is due at 9 */
    store_job_row_clear(&rows[0]);

    int64_t due = 0;
    CHECK_INT(store_jobs_next_due(st, &due), 1);
    CHECK_INT(due, 5);

    /* A retry is not final: b still waits. */
    char err[] = "busy", code[] = "rate_limited", plugin[] = "p", key[] = "k";
    struct store_job_result retry = {.id = a, .attempt = 1, .state = "queued", .run_at = 99,
                                     .error = err, .error_code = code, .plugin = plugin,
                                     .installation = 1, .key = key};
    CHECK_INT(store_jobs_record_results(st, &retry, 1, 20), 0);
    CHECK_STR(state_of(st, a), "queued");
    CHECK_STR(state_of(st, b), "waiting");
    char buf[64];
    CHECK_STR(job_field(st, a, "run_at", buf, sizeof buf), "99");
    CHECK_STR(job_field(st, a, "last_error_code", buf, sizeof buf), "rate_limited");

    /* Running, with a checkpoint; then done: the checkpoint goes, the error stays, b runs. */
    struct store_job_run run = {a, 2, false};
    CHECK_INT(store_jobs_mark_running(st, &run, 1, 30), 0);
    CHECK_STR(state_of(st, a), "running");
    CHECK_INT(store_job_set_checkpoint(st, a, "{\"page\":2}"), 0);
    CHECK_STR(job_field(st, a, "checkpoint", buf, sizeof buf), "{ \"page\": 2 }");
    struct store_job_result done = {.id = a, .attempt = 2, .state = "done", .plugin = plugin,
                                    .installation = 1, .key = key};
    CHECK_INT(store_jobs_record_results(st, &done, 1, 40), 0);
    CHECK_STR(state_of(st, a), "done");
    CHECK_STR(job_field(st, a, "checkpoint", buf, sizeof buf), "");
    CHECK_STR(job_field(st, a, "last_error", buf, sizeof buf), "busy");
    CHECK_STR(job_field(st, a, "finished_at", buf, sizeof buf), "40");
    CHECK_STR(state_of(st, b), "queued");
    CHECK_INT(store_job_key_active(st, "p", 1, "k"), 1);
    CHECK_INT(store_job_key_active(st, "p", 1, "nobody"), 0);
    store_close(st);
}

/* Replays go behind the key's active job, oldest first; only finished jobs replay. */
static void replays_keep_key_order(void)
{
    struct store *st = open_db("replay.db");
    int64_t a = add_job(st, "k", 1), b = add_job(st, "k", 1), c = add_job(st, "k", 1);
    char plugin[] = "p", key[] = "k", why[] = "gave up";
    struct store_job_result dead[] = {
        {.id = a, .attempt = 3, .state = "dead", .error = why, .plugin = plugin, .installation = 1,
         .key = key},
    };
    CHECK_INT(store_jobs_record_results(st, dead, 1, 5), 0);
    CHECK_STR(state_of(st, b), "queued"); /* promoted */
    dead[0].id = b;
    CHECK_INT(store_jobs_record_results(st, dead, 1, 6), 0);
    CHECK_STR(state_of(st, c), "queued");
    /* c still holds the key: both dead jobs wait behind it. */
    CHECK_INT(store_jobs_replay_dead(st, "p", 7), 2);
    CHECK_STR(state_of(st, a), "waiting");
    CHECK_STR(state_of(st, b), "waiting");
    CHECK_INT(store_job_replay(st, c, 8), 0); /* not dead */
    CHECK_INT(store_jobs_replay_dead(st, "p", 9), 0);

    /* Cancel an installation: queued and waiting go, product deliveries stay. */
    struct store_new_job product = {.plugin = "p", .installation = 1, .type = "product:x",
                                    .max_attempts = 3, .run_at = 1, .created_at = 1};
    int64_t d = store_job_insert(st, &product);
    CHECK_INT(store_jobs_cancel_installation(st, 1, 10), 0);
    CHECK_STR(state_of(st, a), "cancelled");
    CHECK_STR(state_of(st, c), "cancelled");
    CHECK_STR(state_of(st, d), "queued");
    CHECK_INT(store_job_replay(st, c, 11), 1);
    CHECK_STR(state_of(st, c), "queued");

    /* After a crash: running rows come back. */
    struct store_job_run run = {c, 1, false};
    CHECK_INT(store_jobs_mark_running(st, &run, 1, 12), 0);
    CHECK_INT(store_nodes_expire(st, 1000, 30000), 1); /* run by no live node */
    CHECK_STR(state_of(st, c), "queued");

    /* The counts by state and the listing's cursor. */
    CHECK_INT(store_jobs_count_state(st, "queued"), 2);
    CHECK_INT(store_jobs_count_state(st, "cancelled"), 2);
    struct job_filter f = {.state = "cancelled", .limit = 1};
    json_object *page = store_jobs_list(st, &f);
    CHECK_INT(json_object_array_length(page), 1);
    CHECK_INT(json_object_get_int64(
                  json_object_object_get(json_object_array_get_idx(page, 0), "id")),
              b);
    json_object_put(page);
    f.before_id = b;
    page = store_jobs_list(st, &f);
    CHECK_INT(json_object_get_int64(
                  json_object_object_get(json_object_array_get_idx(page, 0), "id")),
              a);
    json_object_put(page);
    store_close(st);
}

static void copy_event(void *arg, const struct store_event *e)
{
    snprintf(arg, 128, "%s|%s|%lld|%.*s", e->topic, e->notification_id, (long long)e->created_at,
             (int)e->body_len, e->body);
}

/* Duplicates are told apart; pruning keeps events a job may still need. */
static void events_dedup_and_prune(void)
{
    struct store *st = open_db("events.db");
    struct store_event ev = {.plugin = "p", .notification_id = "n1", .installation = 1,
                             .workspace_id = "ws", .topic = "t", .created_at = 7,
                             .received_at = 100, .outcome = "queued", .body = "{\"a\":1}xx",
                             .body_len = 7};
    bool dup = true;
    int64_t first = store_event_insert(st, &ev, &dup);
    CHECK(first > 0);
    CHECK(!dup);
    CHECK_INT(store_event_insert(st, &ev, &dup), 0);
    CHECK(dup);
    ev.notification_id = "n2";
    int64_t second = store_event_insert(st, &ev, &dup);
    CHECK(second > first);
    ev.notification_id = "n3";
    ev.received_at = 500;
    int64_t recent = store_event_insert(st, &ev, &dup);
    CHECK(recent > second);

    char text[128] = "";
    CHECK_INT(store_event_read(st, first, copy_event, text), 1);
    CHECK_STR(text, "t|n1|7|{\"a\":1}");
    CHECK_INT(store_event_read(st, 999, copy_event, text), 0);

    /* first's delivery is still queued; second's is done; recent is too new; an ignored
       notification has no delivery to wait for. */
    CHECK_STR(state_of(st, first), "queued");
    int64_t ignored = add_event(st, "n4", "ignored", NULL, 100);
    CHECK(ignored > recent);
    CHECK_STR(state_of(st, ignored), ""); /* no delivery: not a job */
    struct store_job_result done = {.id = second, .attempt = 1, .state = "done", .delivery = true};
    CHECK_INT(store_jobs_record_results(st, &done, 1, 50), 0);
    CHECK_STR(state_of(st, second), "done");
    CHECK_INT(store_events_prune(st, 200, 10), 2);
    CHECK_INT(store_event_read(st, second, copy_event, text), 0);
    CHECK_INT(store_event_read(st, ignored, copy_event, text), 0);
    CHECK_INT(store_event_read(st, first, copy_event, text), 1);
    CHECK_INT(store_event_read(st, recent, copy_event, text), 1);
    done.delivery = false;

    /* Finished jobs: by finished_at, at most limit per call. */
    for (int i = 0; i < 3; i++) {
        done.id = add_job(st, NULL, 1);
        CHECK_INT(store_jobs_record_results(st, &done, 1, 60 + i), 0);
    }
    CHECK_INT(store_jobs_prune_finished(st, 62, 1), 1); /* finished at 60 */
    CHECK_INT(store_jobs_prune_finished(st, 62, 1), 1); /* and 61 */
    CHECK_INT(store_jobs_prune_finished(st, 62, 1), 0);
    store_close(st);
}

/*
 * Deliveries (events rows with a state) and jobs are one queue: one id space,
 * dispatch in (run_at, id) order across both, keys within each table, and the
 * admin views, counts, replays, cancels and crash recovery see both.
 */
static void deliveries_share_the_queue(void)
{
    struct store *st = open_db("deliveries.db");
    int64_t job = add_job(st, "item:1", 20);
    int64_t e1 = add_event(st, "n1", "queued", "item:1", 10);
    int64_t e2 = add_event(st, "n2", "queued", "item:1", 10);
    int64_t e3 = add_event(st, "n3", "queued", NULL, 30);
    int64_t job2 = add_job(st, NULL, 10);
    CHECK(job > 0 && e1 > job && e2 > e1 && e3 > e2 && job2 > e3);
    /* Keys order rows within their table: the job does not hold back the delivery. */
    CHECK_STR(state_of(st, e1), "queued");
    CHECK_STR(state_of(st, e2), "waiting");
    char buf[64];
    CHECK_STR(job_field(st, e1, "type", buf, sizeof buf), "webhook");
    CHECK_INT(atoll(job_field(st, e1, "event_id", buf, sizeof buf)), e1);
    CHECK_STR(job_field(st, job, "event_id", buf, sizeof buf), "");

    struct store_job_row rows[8] = {0};
    size_t n = store_jobs_due(st, 100, rows, 8);
    CHECK_INT(n, 4);
    CHECK_INT(rows[0].id, e1);      /* run_at 10 */
    CHECK_INT(rows[0].event_id, e1);
    CHECK_STR(rows[0].type, "webhook");
    CHECK_INT(rows[1].id, job2);    /* run_at 10, a higher id */
    CHECK_INT(rows[1].event_id, 0);
    CHECK_INT(rows[2].id, job);     /* 20 */
    CHECK_INT(rows[3].id, e3);      /* 30 */
    for (size_t i = 0; i < n; i++)
        store_job_row_clear(&rows[i]);
    CHECK_INT(store_jobs_due(st, 100, rows, 2), 2); /* the limit holds across both */
    store_job_row_clear(&rows[0]);
    store_job_row_clear(&rows[1]);
    int64_t due = 0;
    CHECK_INT(store_jobs_next_due(st, &due), 1);
    CHECK_INT(due, 10);

    /* A delivery runs, keeps a checkpoint, fails for good; its key's next one runs. */
    struct store_job_run run = {e1, 1, true};
    CHECK_INT(store_jobs_mark_running(st, &run, 1, 40), 0);
    CHECK_STR(state_of(st, e1), "running");
    CHECK_INT(store_job_set_checkpoint(st, e1, "{\"at\":1}"), 0);
    CHECK_STR(job_field(st, e1, "checkpoint", buf, sizeof buf), "{ \"at\": 1 }");
    char plugin[] = "p", key[] = "item:1", why[] = "nope";
    struct store_job_result dead = {.id = e1, .attempt = 1, .state = "dead", .error = why,
                                    .plugin = plugin, .installation = 1, .key = key,
                                    .delivery = true};
    CHECK_INT(store_jobs_record_results(st, &dead, 1, 50), 0);
    CHECK_STR(state_of(st, e1), "dead");
    CHECK_STR(state_of(st, e2), "queued");
    CHECK_STR(state_of(st, job), "queued");
    CHECK_INT(store_jobs_count_state(st, "queued"), 4); /* job, job2, e2, e3 */
    CHECK_INT(store_jobs_count_state(st, "dead"), 1);

    /* The listing merges both tables newest first, and filters by type. */
    struct job_filter all = {.limit = 10};
    json_object *list = store_jobs_list(st, &all);
    CHECK_INT(json_object_array_length(list), 5);
    CHECK_INT(json_object_get_int64(json_object_object_get(json_object_array_get_idx(list, 0), "id")),
              job2);
    CHECK_INT(json_object_get_int64(json_object_object_get(json_object_array_get_idx(list, 1), "id")),
              e3);
    json_object_put(list);
    struct job_filter webhooks = {.type = "webhook", .installation = 1, .limit = 10};
    list = store_jobs_list(st, &webhooks);
    CHECK_INT(json_object_array_length(list), 3);
    json_object_put(list);
    CHECK_INT(store_job_newest_finished(st, 1, "webhook"), e1);
    CHECK_INT(store_job_newest_finished(st, 1, "t"), 0);

    /* Replay the dead delivery: behind e2, which holds its key now. */
    CHECK_INT(store_jobs_replay_dead(st, "p", 60), 1);
    CHECK_STR(state_of(st, e1), "waiting");
    CHECK_INT(store_job_replay(st, e1, 61), 0); /* not dead any more */

    /* Crash recovery and revocation reach deliveries too. */
    run = (struct store_job_run){e2, 1, true};
    CHECK_INT(store_jobs_mark_running(st, &run, 1, 70), 0);
    CHECK_INT(store_nodes_expire(st, 1000, 30000), 1); /* run by no live node */
    CHECK_STR(state_of(st, e2), "queued");
    CHECK_INT(store_job_postpone(st, e3, 500, "later", 71), 0);
    CHECK_STR(job_field(st, e3, "run_at", buf, sizeof buf), "500");
    CHECK_INT(store_job_cancel(st, e2, "gone", 72), 0);
    CHECK_STR(state_of(st, e2), "cancelled");
    CHECK_INT(store_job_promote_next(st, "p", 1, "item:1", 73), 0);
    CHECK_STR(state_of(st, e1), "queued");
    CHECK_INT(store_jobs_cancel_installation(st, 1, 80), 0);
    CHECK_STR(state_of(st, e1), "cancelled");
    CHECK_STR(state_of(st, e3), "cancelled");
    CHECK_STR(state_of(st, job), "cancelled");
    store_close(st);
}

static void schedules_rows(void)
{
    struct store *st = open_db("schedules.db");
    CHECK_INT(store_schedule_upsert(st, "p", 1, "hourly", 3600, 1000), 0);
    CHECK_INT(store_schedule_upsert(st, "p", 2, "daily", 86400, 1000), 0);
    int64_t next = 0;
    CHECK_INT(store_schedules_next(st, &next), 1);
    CHECK_INT(next, 1000); /* new: due at once */

    struct store_schedule *due;
    size_t n = store_schedules_due(st, 1000, &due);
    CHECK_INT(n, 2);
    store_schedules_free(due, n);
    CHECK_INT(store_schedule_advance(st, "p", 1, "hourly", 1000, 1000 + 3600000, 1000), 1);
    CHECK_INT(store_schedule_advance(st, "p", 2, "daily", 1000, 1000 + 86400000, 1000), 1);
    /* A second node that read it due at 1000 too finds it claimed. */
    CHECK_INT(store_schedule_advance(st, "p", 1, "hourly", 1000, 1000 + 3600000, 1001), 0);
    CHECK_INT(store_schedules_due(st, 2000, &due), 0);
    free(due);

    /* The same interval keeps the next run; a new one counts from the last run. */
    CHECK_INT(store_schedule_upsert(st, "p", 1, "hourly", 3600, 5000), 0);
    CHECK_INT(store_schedules_next(st, &next), 1);
    CHECK_INT(next, 1000 + 3600000);
    CHECK_INT(store_schedule_upsert(st, "p", 1, "hourly", 60, 5000), 0);
    CHECK_INT(store_schedules_next(st, &next), 1);
    CHECK_INT(next, 1000 + 60000);

    json_object *list = store_schedules_list(st, NULL);
    CHECK_INT(json_object_array_length(list), 2);
    CHECK_STR(json_object_get_string(
                  json_object_object_get(json_object_array_get_idx(list, 0), "name")),
              "hourly");
    json_object_put(list);
    CHECK_INT(store_schedules_forget_installation(st, 1), 0);
    list = store_schedules_list(st, "p");
    CHECK_INT(json_object_array_length(list), 1);
    json_object_put(list);
    store_close(st);
}

/*
 * The queue's hot statements (insert, dispatch, marks, results, promotion, key checks) walk
 * their own indexes, never an installation's whole history: every statement the calls below
 * leave in the cache is asked for its plan. A keyed statement that missed jobs_active_key
 * (its partial index is used only when the query repeats the index's terms) would search
 * jobs_by_installation* and slow every keyed job as the table grows.
 */
static void hot_statements_walk_their_indexes(void)
{
    struct store *st = open_db("plans.db");
    int64_t a = add_job(st, "k", 10), b = add_job(st, "k", 10);
    CHECK(a > 0 && b > a && add_job(st, NULL, 10) > b);
    struct store_job_row rows[4];
    size_t n = store_jobs_due(st, 20, rows, 4);
    for (size_t i = 0; i < n; i++)
        store_job_row_clear(&rows[i]);
    int64_t due;
    CHECK_INT(store_jobs_next_due(st, &due), 1);
    struct store_job_run run = {a, 1, false};
    CHECK_INT(store_jobs_mark_running(st, &run, 1, 30), 0);
    CHECK_INT(store_job_set_checkpoint(st, a, "{}"), 0);
    char plugin[] = "p", key[] = "k";
    struct store_job_result done = {.id = a, .attempt = 1, .state = "done", .plugin = plugin,
                                    .installation = 1, .key = key};
    CHECK_INT(store_jobs_record_results(st, &done, 1, 40), 0);
    CHECK_INT(store_job_promote_next(st, "p", 1, "k", 41), 0);
    CHECK_INT(store_job_key_active(st, "p", 1, "k"), 1);
    CHECK_INT(store_job_postpone(st, b, 50, "held", 42), 0);
    /* The same for deliveries: inserted behind a key, dispatched, run, finished. */
    int64_t e1 = add_event(st, "n1", "queued", "item:1", 10), e2 = add_event(st, "n2", "queued", "item:1", 10);
    CHECK(e1 > 0 && e2 > e1);
    n = store_jobs_due(st, 20, rows, 4);
    for (size_t i = 0; i < n; i++)
        store_job_row_clear(&rows[i]);
    run = (struct store_job_run){e1, 1, true};
    CHECK_INT(store_jobs_mark_running(st, &run, 1, 30), 0);
    char item[] = "item:1";
    struct store_job_result delivered = {.id = e1, .attempt = 1, .state = "done",
                                         .plugin = plugin, .installation = 1, .key = item,
                                         .delivery = true};
    CHECK_INT(store_jobs_record_results(st, &delivered, 1, 40), 0);
    CHECK_STR(state_of(st, e2), "queued");
    /* What /metrics and the console ask on every view: the watched states' counts and lists. */
    CHECK_INT(store_jobs_count_state(st, "dead"), 0);
    struct job_filter dead = {.state = "dead", .limit = 10};
    json_object_put(store_jobs_list(st, &dead));

    sqlite3 *db = store_sqlite_db(st);
    if (!db) { /* PostgreSQL plans its own way */
        printf("skipped on PostgreSQL: SQLite's query plans\n");
        store_close(st);
        return;
    }
    char *sql[64];
    size_t n_sql = 0;
    for (sqlite3_stmt *q = sqlite3_next_stmt(db, NULL); q && n_sql < 64; q = sqlite3_next_stmt(db, q))
        if (strstr(sqlite3_sql(q), "jobs") || strstr(sqlite3_sql(q), "events"))
            sql[n_sql++] = strdup(sqlite3_sql(q));
    CHECK(n_sql >= 8);
    for (size_t i = 0; i < n_sql; i++) {
        char explain[4096];
        snprintf(explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql[i]);
        sqlite3_stmt *plan = NULL;
        CHECK_INT(sqlite3_prepare_v2(db, explain, -1, &plan, NULL), SQLITE_OK);
        while (plan && sqlite3_step(plan) == SQLITE_ROW) {
            const char *step = (const char *)sqlite3_column_text(plan, 3);
            bool whole_history = strstr(step, "SCAN jobs") || strstr(step, "jobs_by_installation")
                                 || strstr(step, "SCAN events")
                                 || strstr(step, "events_by_installation");
            if (whole_history)
                fprintf(stderr, "  plan of %s:\n    %s\n", sql[i], step);
            CHECK(!whole_history);
        }
        sqlite3_finalize(plan);
        free(sql[i]);
    }
    store_close(st);
}

/* Nodes: a live node's running rows stay; a node whose lease ran out gives them back. */
static void nodes_lease_and_recovery(void)
{
    struct store *st = open_db("nodes.db");
    int64_t a = store_node_register(st, "a", "host", 11, 1000);
    CHECK(a > 0);
    store_set_node(st, a);
    int64_t job = add_job(st, NULL, 1000), delivery = add_event(st, "n1", "queued", NULL, 1000);
    struct store_job_run runs[] = {{job, 1, false}, {delivery, 1, true}};
    CHECK_INT(store_jobs_mark_running(st, runs, 2, 1000), 0);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)a);
    char got[32];
    CHECK_STR(job_field(st, job, "node_id", got, sizeof got), buf);
    CHECK_STR(job_field(st, delivery, "node_id", got, sizeof got), buf);

    /* Alive (its heartbeat within the lease): nothing moves. */
    CHECK_INT(store_node_heartbeat(st, a, 20000), 1);
    CHECK_INT(store_nodes_expire(st, 40000, 30000), 0);
    CHECK_STR(state_of(st, job), "running");
    /* Its lease ran out: another node's expiry stops it and queues its rows. */
    CHECK_INT(store_nodes_expire(st, 50001, 30000), 2);
    CHECK_STR(state_of(st, job), "queued");
    CHECK_STR(state_of(st, delivery), "queued");
    CHECK_STR(job_field(st, job, "node_id", got, sizeof got), "");
    /* The node finds out at its next heartbeat. */
    CHECK_INT(store_node_heartbeat(st, a, 50002), 0);

    /* A restart of "b" stops the earlier "b" (on SQLite: every earlier node). */
    int64_t b1 = store_node_register(st, "b", NULL, 12, 60000);
    int64_t b2 = store_node_register(st, "b", NULL, 13, 61000);
    CHECK(b1 > a && b2 > b1);
    json_object *nodes = store_nodes_list(st, 10);
    CHECK_INT(json_object_array_length(nodes), 3);
    json_object *newest = json_object_array_get_idx(nodes, 0);
    json_object *older = json_object_array_get_idx(nodes, 1), *v;
    CHECK(json_object_object_get_ex(newest, "stopped_at", &v) && v == NULL);
    CHECK(json_object_object_get_ex(older, "stopped_at", &v) && json_object_get_int64(v) == 61000);
    json_object_put(nodes);
    store_close(st);
}

int main(void)
{
    dir = unit_tempdir();
    RUN(keyed_jobs_wait_then_promote);
    RUN(replays_keep_key_order);
    RUN(events_dedup_and_prune);
    RUN(deliveries_share_the_queue);
    RUN(schedules_rows);
    RUN(nodes_lease_and_recovery);
    RUN(hot_statements_walk_their_indexes);
    free(dir);
    UNIT_DONE();
}
