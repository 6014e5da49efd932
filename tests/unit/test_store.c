/* Unit tests: store.c, migrations.c and documents.c on a real SQLite file. */
#include "documents.h"
#include "store/migrations.h"
#include "store/store_events.h"
#include "store/store_sql.h"
#include "util.h"
#include "unit.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *dir;

static struct store *open_db(const char *name)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct store *st = store_open(path, err, sizeof err);
    if (!st)
        fprintf(stderr, "store_open: %s\n", err);
    return st;
}

static void migrations_apply_once(void)
{
    struct store *st = open_db("m.db");
    CHECK(st != NULL);
    CHECK_INT(store_schema_version(st), store_latest_version());
    store_close(st);
    st = open_db("m.db"); /* a second start applies nothing and keeps the data */
    CHECK_INT(store_schema_version(st), store_latest_version());
    struct store_query *q =
        store_query(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
    CHECK(store_step_row(st, q) == 1);
    CHECK(store_col_int(q, 0) >= 8);
    store_reset(q);
    q = store_query(st, "PRAGMA journal_mode");
    CHECK(store_step_row(st, q) == 1);
    CHECK_STR(store_col_text(q, 0), "wal");
    store_reset(q);
    /* NORMAL: the store syncs the log itself after each commit (store_sqlite.c). */
    q = store_query(st, "PRAGMA synchronous");
    CHECK(store_step_row(st, q) == 1);
    CHECK_INT(store_col_int(q, 0), 1);
    store_reset(q);
    /* The prune reads these by name (INDEXED BY). */
    q = store_query(st, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN "
                       "('jobs_finished', 'events_by_received', 'events_due')");
    CHECK(store_step_row(st, q) == 1);
    CHECK_INT(store_col_int(q, 0), 3);
    store_reset(q);
    store_close(st);
}

/* A database file of the tests' folder at an old schema version: steps 1 to version applied
   by hand, as a switchboard of that version left it; NULL (a failed check) if not. */
static sqlite3 *at_version(const char *name, int version)
{
    char path[512], sql[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    for (int v = 1; v <= version; v++)
        CHECK(sqlite3_exec(db, migrations_step(v), NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    return db;
}

/* Migration 3 rebuilds jobs for the 'skipped' state: every row, id and index survives. */
static void skipped_state_migration_keeps_jobs(void)
{
    sqlite3 *db = at_version("v2.db", 2);
    CHECK(sqlite3_exec(db,
                       "INSERT INTO jobs (id, plugin, type, key, state, attempts, max_attempts,"
                       " run_at, last_error, created_at, updated_at) VALUES"
                       " (7, 'p', 'webhook', 'item:1', 'dead', 8, 8, 1, 'gave up', 1, 2),"
                       " (9, 'p', 'webhook', 'item:1', 'queued', 0, 8, 5, NULL, 3, 3);"
                       "INSERT INTO jobs (plugin, type, state, max_attempts, run_at, created_at,"
                       " updated_at) VALUES ('p', 'x', 'skipped', 1, 1, 1, 1);",
                       NULL, NULL, NULL)
          != SQLITE_OK); /* version 2 knows no 'skipped' */
    sqlite3_close(db);
    struct store *st = open_db("v2.db");
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT(store_schema_version(st), store_latest_version());
    struct store_query *q = store_query(st, "SELECT group_concat(id || ':' || state || ':' || "
                                     "coalesce(last_error, '-'), ',') FROM jobs ORDER BY id");
    CHECK(store_step_row(st, q) == 1);
    /* (Migration 7 renumbers jobs above the largest id of either table: 9 here.) */
    CHECK_STR(store_col_text(q, 0), "16:dead:gave up,18:queued:-");
    store_reset(q);
    CHECK(store_exec(st, "UPDATE jobs SET state = 'skipped' WHERE id = 16") == 0);
    q = store_query(st, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                       "'jobs' AND name IN ('jobs_due', 'jobs_active_key', 'jobs_by_state', "
                       "'jobs_finished')");
    CHECK(store_step_row(st, q) == 1);
    CHECK_INT(store_col_int(q, 0), 4);
    store_reset(q);
    store_close(st);
}

/*
 * Migration 7 moves each webhook delivery from its jobs row into its event's
 * row (state, attempts, errors, checkpoint, times), drops those jobs rows, and
 * renumbers the remaining jobs above every event, so one id names one row. A
 * queued event whose job was pruned (it finished) reads as a done delivery.
 */
static void deliveries_move_into_their_events(void)
{
    sqlite3 *db = at_version("v6.db", 6);
    CHECK(sqlite3_exec(db,
                       "INSERT INTO events (id, plugin, notification_id, installation_id, topic,"
                       " received_at, outcome, body) VALUES"
                       " (1, 'p', 'n1', 1, 't', 10, 'queued', '{}'),"
                       " (2, 'p', 'n2', 1, 't', 11, 'ignored', '{}'),"
                       " (3, 'p', 'n3', 1, 't', 12, 'queued', '{}'),"
                       " (4, 'p', 'n4', 1, 't', 13, 'queued', '{}');" /* its job was pruned */
                       "INSERT INTO jobs (id, plugin, installation_id, type, key, event_id, state,"
                       " attempts, max_attempts, run_at, last_error, last_error_code, checkpoint,"
                       " created_at, updated_at, finished_at) VALUES"
                       " (1, 'p', 1, 'sync', NULL, NULL, 'queued', 0, 8, 5, NULL, NULL, NULL, 1,"
                       "  1, NULL),"
                       " (2, 'p', 1, 'webhook', 'item:9', 1, 'dead', 8, 8, 6, 'gave up', 'x',"
                       "  '{\"a\":1}', 10, 20, 20),"
                       " (4, 'p', 1, 'webhook', 'item:9', 3, 'waiting', 0, 8, 12, NULL, NULL, NULL,"
                       "  12, 12, NULL);",
                       NULL, NULL, NULL)
          == SQLITE_OK);
    sqlite3_close(db);
    struct store *st = open_db("v6.db");
    CHECK(st != NULL);
    if (!st)
        return;
    struct store_query *q = store_query(
        st, "SELECT group_concat(id || ':' || coalesce(state, '-') || ':' "
            "|| coalesce(key, '-') || ':' || attempts || ':' || "
            "coalesce(last_error, '-') || ':' || coalesce(checkpoint, "
            "'-'), ',') FROM (SELECT * FROM events ORDER BY id)");
    CHECK(store_step_row(st, q) == 1);
    CHECK_STR(store_col_text(q, 0),
              "1:dead:item:9:8:gave up:{\"a\":1},2:-:-:0:-:-,3:waiting:item:9:0:-:-,"
              "4:done:-:0:-:-");
    store_reset(q);
    q = store_query(st, "SELECT group_concat(id || ':' || type, ',') FROM jobs");
    CHECK(store_step_row(st, q) == 1);
    CHECK_STR(store_col_text(q, 0), "5:sync"); /* 1 + 4, the largest id left */
    store_reset(q);
    store_close(st);
}

static long long file_size(const char *name)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* The log is checkpointed by the store's helper thread, and it is gone after a clean close. */
static void wal_checkpointed_in_background(void)
{
    struct store *st = open_db("wal.db");
    static char blob[32768];
    memset(blob, 'x', sizeof blob - 1);
    /* 400 commits of 32 KB: over 3,000 pages through the log, three checkpoint thresholds. */
    struct store_query *q = store_query(
        st, "INSERT INTO audit (plugin, installation_id, action, detail, "
            "at) VALUES ('p', 1, 'a', ?, 1)");
    for (int i = 0; i < 400; i++) {
        CHECK_INT(store_begin(st), 0);
        store_bind_text_ref(q, 1, blob, -1);
        CHECK_INT(store_step_done(st, q), 0);
        CHECK_INT(store_commit(st), 0);
    }
    /* The writer never waited for a checkpoint; the thread copies the pages meanwhile. */
    for (int i = 0; i < 1000 && file_size("wal.db") < 8 << 20; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    CHECK(file_size("wal.db") >= 8 << 20);
    store_close(st);
    CHECK_INT(file_size("wal.db-wal"), -1); /* the last close checkpointed all and removed it */
}

static void newer_schema_is_refused(void)
{
    struct store *st = open_db("new.db");
    CHECK_INT(store_exec(st, "PRAGMA user_version = 999"), 0);
    store_close(st);
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/new.db", dir);
    CHECK(store_open(path, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "schema version 999");
}

static void nested_transactions(void)
{
    struct store *st = open_db("tx.db");
    CHECK_INT(store_begin(st), 0);
    CHECK_INT(store_exec(st, "INSERT INTO audit (plugin, installation_id, action, at) VALUES ('p', 1, 'outer', 1)"), 0);
    CHECK_INT(store_begin(st), 0);
    CHECK_INT(store_exec(st, "INSERT INTO audit (plugin, installation_id, action, at) VALUES ('p', 1, 'inner', 1)"), 0);
    store_rollback(st); /* only the inner one */
    CHECK(store_in_transaction(st));
    CHECK_INT(store_commit(st), 0);
    CHECK(!store_in_transaction(st));
    struct store_query *q = store_query(st, "SELECT group_concat(action) FROM audit");
    CHECK(store_step_row(st, q) == 1);
    CHECK_STR(store_col_text(q, 0), "outer");
    store_reset(q);
    store_close(st);
}

static int collect(void *arg, const char *key, json_object *value)
{
    char *out = arg;
    strcat(out, key);
    strcat(out, "=");
    strcat(out, json_object_get_string(value));
    strcat(out, ";");
    return 0;
}

static int stop_after_one(void *arg, const char *key, json_object *value)
{
    (void)arg, (void)key, (void)value;
    return 1;
}

static void documents(void)
{
    struct store *st = open_db("docs.db");
    struct doc_ns a = {"plug", 1, "logs"}, b = {"plug", 2, "logs"}, c = {"other", 1, "logs"};
    const char *keys[] = {"api|0003", "api|0001", "web|0002", "api|0002"};
    for (int i = 0; i < 4; i++) {
        json_object *v = json_object_new_int(i);
        CHECK_INT(doc_put(st, &a, keys[i], v), 0);
        json_object_put(v);
    }
    json_object *v = json_object_new_string("b");
    doc_put(st, &b, "api|0001", v);
    doc_put(st, &c, "api|0001", v);
    json_object_put(v);
    char out[512] = "";
    CHECK_INT(doc_list(st, &a, "api|", "api}", 0, 0, collect, out), 3);
    CHECK_STR(out, "api|0001=1;api|0002=3;api|0003=0;");
    out[0] = '\0';
    CHECK_INT(doc_list(st, &a, NULL, NULL, 2, SB_DOC_REVERSE, collect, out), 2);
    CHECK_STR(out, "web|0002=2;api|0003=0;");
    CHECK_INT(doc_list(st, &a, NULL, NULL, 0, 0, stop_after_one, NULL), 1);
    json_object *got = doc_get(st, &b, "api|0001");
    CHECK_STR(json_object_get_string(got), "b"); /* namespaces do not leak */
    json_object_put(got);
    v = json_object_new_int(42);
    doc_put(st, &a, "api|0001", v); /* replace */
    json_object_put(v);
    got = doc_get(st, &a, "api|0001");
    CHECK_INT(json_object_get_int(got), 42);
    json_object_put(got);
    CHECK_INT(doc_delete(st, &a, "api|0001"), 1);
    CHECK_INT(doc_delete(st, &a, "api|0001"), 0);
    CHECK(doc_get(st, &a, "api|0001") == NULL);
    CHECK_INT(doc_delete_range(st, &a, "api|", "api}"), 2);
    CHECK_INT(doc_count(st, "plug", 1), 1);
    CHECK_INT(doc_count(st, "other", 1), 1);
    v = json_object_new_int(1);
    CHECK_INT(doc_put(st, &a, "", v), -1);
    json_object_put(v);
    struct doc_ns bad = {"plug", 1, ""};
    CHECK(doc_get(st, &bad, "k") == NULL);
    store_close(st);
}


/* store_step_insert_id: the new row's id (SQLite: its last rowid), or 0 when ON CONFLICT DO
   NOTHING added none. */
static void insert_gives_the_id(void)
{
    struct store *st = open_db("ids.db");
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT(store_exec(st, "CREATE TABLE n (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"), 0);
    const char *sql = "INSERT INTO n (id, name) VALUES ((SELECT coalesce(max(id), 0) + 7 FROM n), "
                      "?1) ON CONFLICT (name) DO NOTHING" STORE_RETURNING_ID;
    const char *names[] = {"a", "b", "a", "c"};
    int64_t want[] = {7, 14, 0, 21};
    for (int i = 0; i < 4; i++) {
        struct store_query *q = store_query(st, sql);
        CHECK(q != NULL);
        if (!q)
            break;
        store_bind_text(q, 1, names[i]);
        int64_t id = -1;
        CHECK_INT(store_step_insert_id(st, q, &id), want[i] ? 1 : 0);
        if (want[i])
            CHECK_INT(id, want[i]);
    }
    store_close(st);
}

/* Insert notification id of plugin, received at received_at: its row, 0 if it was taken for a
   redelivery, -1 on failure. */
static int64_t notify(struct store *st, const char *plugin, const char *id, int64_t received_at)
{
    struct store_event ev = {.plugin = plugin, .notification_id = id, .topic = "t",
                             .received_at = received_at, .outcome = "ignored", .body = "{}",
                             .body_len = 2};
    bool duplicate = false;
    int64_t row = store_event_insert(st, &ev, &duplicate);
    CHECK(duplicate == (row == 0));
    return row;
}

static int count_rows(struct store *st, const char *sql)
{
    struct store_query *q = store_query(st, sql);
    int n = q && store_step_row(st, q) == 1 ? store_col_int(q, 0) : -1;
    if (q)
        store_reset(q);
    return n;
}

/*
 * SQLite recognizes a notification sent again by the window of the newest
 * (store_events.h), not by a unique index: across plugins, rolled-back
 * transactions and savepoints, rows reused or pruned, and a restart.
 */
static void redeliveries_recognized_without_an_index(void)
{
    struct store *st = open_db("redeliver.db");
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT(count_rows(st, "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'events' "
                             "AND (name LIKE 'sqlite_autoindex%' OR sql LIKE '%UNIQUE%')"),
              0);
    int64_t now = time_now_ms();
    int64_t first = notify(st, "p", "n1", now);
    CHECK(first > 0);
    CHECK_INT(notify(st, "p", "n1", now), 0);
    CHECK(notify(st, "q", "n1", now) > first); /* another plugin's is another notification */

    /* Rolled back: the same notification is new again, and recognized once stored. */
    CHECK_INT(store_begin(st), 0);
    int64_t undone = notify(st, "p", "n2", now);
    CHECK(undone > 0);
    CHECK_INT(notify(st, "p", "n2", now), 0); /* within its own transaction */
    store_rollback(st);
    int64_t redone = notify(st, "p", "n2", now);
    CHECK_INT(redone, undone); /* the rolled-back row's id, given again */
    CHECK_INT(notify(st, "p", "n2", now), 0);

    /* A savepoint rolled back, inside a transaction that commits. */
    CHECK_INT(store_begin(st), 0);
    CHECK(notify(st, "p", "n3", now) > 0);
    CHECK_INT(store_begin(st), 0);
    CHECK(notify(st, "p", "n4", now) > 0);
    store_rollback(st);
    CHECK_INT(store_begin(st), 0);
    CHECK(notify(st, "p", "n5", now) > 0);
    CHECK_INT(store_commit(st), 0); /* released into the outer one */
    CHECK(notify(st, "p", "n4", now) > 0);
    CHECK_INT(store_commit(st), 0);
    CHECK_INT(notify(st, "p", "n3", now), 0);
    CHECK_INT(notify(st, "p", "n4", now), 0);
    CHECK_INT(notify(st, "p", "n5", now), 0);

    /* A row rolled back and its id reused by another notification: the window still names the
       row for the first, and reading it tells them apart. */
    CHECK_INT(store_begin(st), 0);
    int64_t gone = notify(st, "p", "n6", now);
    store_rollback(st);
    CHECK_INT(notify(st, "p", "n7", now), gone);
    CHECK(notify(st, "p", "n6", now) > gone);
    CHECK_INT(notify(st, "p", "n6", now), 0);

    /* Pruned (retention): new again. */
    CHECK_INT(store_exec(st, "DELETE FROM events WHERE notification_id = 'n1' AND plugin = 'p'"),
              0);
    CHECK(notify(st, "p", "n1", now) > 0);

    /* After a restart the newest are recalled; those older than the horizon are not. */
    CHECK(notify(st, "p", "old", now - 16 * 60 * 1000) > 0);
    CHECK_INT(notify(st, "p", "old", now), 0);
    store_close(st);
    st = open_db("redeliver.db");
    CHECK(st != NULL);
    if (!st)
        return;
    for (int i = 1; i <= 7; i++) {
        char id[8];
        snprintf(id, sizeof id, "n%d", i);
        CHECK_INT(notify(st, "p", id, now), 0);
    }
    CHECK_INT(notify(st, "q", "n1", now), 0);
    CHECK(notify(st, "p", "old", now) > 0); /* (an older one Intercom no longer sends) */
    CHECK_INT(count_rows(st, "SELECT count(*) FROM events WHERE notification_id = 'old'"), 2);
    CHECK_INT(count_rows(st, "SELECT count(*) FROM events WHERE notification_id <> 'old'"), 8);
    store_close(st);
}

/* A window of a few: the newest are recognized, one pushed out of it is stored again. */
static void redelivery_window_keeps_the_newest(void)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/window.db", dir);
    struct store_options options = {.driver = "sqlite", .path = path, .redelivery_window = 4};
    struct store *st = store_open_with(&options, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    int64_t now = time_now_ms() - 1000; /* a millisecond apart each, in the order sent */
    const char *ids[] = {"a", "b", "c", "d", "e", "f"};
    for (int i = 0; i < 6; i++)
        CHECK(notify(st, "p", ids[i], now + i) > 0);
    for (int i = 2; i < 6; i++)
        CHECK_INT(notify(st, "p", ids[i], now + 6), 0);
    CHECK(notify(st, "p", "a", now + 7) > 0); /* older than the window */
    store_close(st);
    /* At start, the newest 4 received: a (again), f, e, d; c is out. */
    st = store_open_with(&options, err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT(notify(st, "p", "a", now), 0);
    CHECK_INT(notify(st, "p", "d", now), 0);
    CHECK(notify(st, "p", "c", now) > 0);
    store_close(st);
}

/* Migration 9 rebuilds events without the unique index: every row, column and index kept. */
static void events_rebuilt_without_the_unique_index(void)
{
    sqlite3 *db = at_version("v8.db", 8);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO events (id, plugin, notification_id, installation_id, workspace_id,"
             " topic, created_at, received_at, outcome, body, state, key, attempts, max_attempts,"
             " run_at, last_error, node_id) VALUES"
             " (3, 'p', 'n1', 1, 'w', 't', 5, %lld, 'queued', '{\"a\":1}', 'dead', 'k', 8, 8,"
             "  6, 'gave up', 2),"
             " (4, 'p', 'n2', 1, 'w', 't', 5, %lld, 'ignored', '{}', NULL, NULL, 0, 0, NULL,"
             "  NULL, NULL);",
             (long long)time_now_ms(), (long long)time_now_ms());
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    struct store *st = open_db("v8.db");
    CHECK(st != NULL);
    if (!st)
        return;
    CHECK_INT(store_schema_version(st), 9);
    struct store_query *q = store_query(
        st, "SELECT group_concat(id || ':' || notification_id || ':' || coalesce(state, '-') "
            "|| ':' || attempts || ':' || coalesce(last_error, '-') || ':' || body || ':' || "
            "coalesce(node_id, '-'), ',') FROM (SELECT * FROM events ORDER BY id)");
    CHECK(store_step_row(st, q) == 1);
    CHECK_STR(store_col_text(q, 0), "3:n1:dead:8:gave up:{\"a\":1}:2,4:n2:-:0:-:{}:-");
    store_reset(q);
    CHECK_INT(count_rows(st, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                             "tbl_name = 'events' AND name IN ('events_by_time', "
                             "'events_by_received', 'events_due', 'events_active_key', "
                             "'events_unfinished', 'events_by_installation')"),
              6);
    CHECK_INT(count_rows(st, "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'events' "
                             "AND name LIKE 'sqlite_autoindex%'"),
              0);
    /* The start-up's read of the newest is served by this index alone. */
    CHECK_INT(count_rows(st, "SELECT count(*) FROM pragma_index_info('events_by_received')"), 3);
    /* The migrated rows are recalled at start: sent again, they are recognized. */
    CHECK_INT(notify(st, "p", "n1", time_now_ms()), 0);
    CHECK_INT(notify(st, "p", "n2", time_now_ms()), 0);
    CHECK(notify(st, "p", "n3", time_now_ms()) > 4);
    store_close(st);
}

int main(void)
{
    dir = unit_tempdir();
    RUN(migrations_apply_once);
    RUN(insert_gives_the_id);
    RUN(skipped_state_migration_keeps_jobs);
    RUN(deliveries_move_into_their_events);
    RUN(newer_schema_is_refused);
    RUN(nested_transactions);
    RUN(wal_checkpointed_in_background);
    RUN(documents);
    RUN(redeliveries_recognized_without_an_index);
    RUN(redelivery_window_keeps_the_newest);
    RUN(events_rebuilt_without_the_unique_index);
    free(dir);
    UNIT_DONE();
}
