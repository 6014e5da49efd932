/*
 * jobs.c - durable queue, dispatcher and schedules.
 *
 * State changes are group-committed in the commit turn (host.h) at the end
 * of each loop iteration: a dispatch round runs the handlers of its batch,
 * and the results collected since the last turn (including those of that
 * round) are written after it, all in the turn's one transaction, so one
 * fsync covers many jobs - and the webhooks received in the same iteration.
 * A job whose handler finished at once goes from 'queued' to its outcome in
 * that one write; one still running (PENDING) is marked 'running' in it. A
 * finished job keeps its active row until its result is written, which also
 * keeps its key blocked until the outcome is durable.
 */
#include "jobs.h"

#include "errors.h"
#include "hashmap.h"
#include "host.h"
#include "installations.h"
#include "job_outcome.h"
#include "log.h"
#include "plugins.h"
#include "product_events.h"
#include "server.h"
#include "settings.h"
#include "store/store_sqlite.h" /* until its queries move to core/store/ */
#include "util.h"
#include "webhooks.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

/*
 * Pruning deletes finished jobs and old events in small batches, each its own
 * short transaction, and comes back soon while a batch was full: a backlog is
 * worked off at up to PRUNE_BATCH rows per table every PRUNE_PAUSE_MS without
 * stalling the loop for more than a few milliseconds at a time.
 */
#define PRUNE_INTERVAL_S 3600
#define PRUNE_BATCH 500
#define PRUNE_PAUSE_MS 100
#define UNAVAILABLE_DELAY_MS 60000
#define DUE_RECHECK_MS 10
/* A checkpoint is progress to resume from, not a document store. */
#define CHECKPOINT_MAX_BYTES 65536

const char *const job_state_names[JOB_STATES] = {"queued", "waiting", "running",   "pending",
                                                 "done",   "dead",    "cancelled", "skipped"};

/* The states in which a job holds its key. */
#define ACTIVE_STATES "('queued', 'waiting', 'running', 'pending')"

struct running_job {
    struct jobs *jobs;
    int64_t id;
    struct sb_plugin *plugin;
    int64_t installation;
    char *key;                   /* NULL if the job has none */
    uint32_t attempt;
    uint32_t max_attempts;
    struct event *pending_timer; /* set while the plugin owes a job_complete */
};

/* HELD: back to 'queued' for later without counting the run (product_events.h). */
enum outcome { OUTCOME_DONE, OUTCOME_RETRY, OUTCOME_DEAD, OUTCOME_SKIPPED, OUTCOME_HELD };

struct completion {
    int64_t id;
    uint32_t attempt;            /* the run's number, recorded with its outcome */
    enum outcome outcome;
    int64_t run_at;
    char *error;
    char *error_code;            /* sb_result.code, with error */
    char *plugin;                /* with key: whose successor to promote */
    int64_t installation;
    char *key;
};

struct jobs {
    struct server *srv;
    struct hashmap *running; /* id -> running_job */
    int in_flight;
    bool dispatch_wanted;    /* the next turn runs a dispatch round */
    struct event *due_timer;
    struct event *retry_timer; /* the store failed: try again after a pause */
    struct event *schedule_timer;
    struct event *prune_timer;
    struct completion *done;
    size_t n_done, cap_done;
    size_t n_written;        /* the first n_written of done were written by the current turn */
    bool write_ok;
    size_t round_from, round_to; /* done[round_from, round_to): from this turn's dispatch round */
    bool results_owed;       /* results failed to be written: their rows may still say 'queued' */
    bool holding;            /* the store failed: nothing is handed out until retry_timer */
    int64_t pruned_jobs, pruned_events; /* by the prune in progress */
    bool stopped;
};

static void due_cb(evutil_socket_t fd, short what, void *arg);
static void retry_cb(evutil_socket_t fd, short what, void *arg);
static void drop_completions(struct jobs *jobs, size_t from, size_t to);
static void schedule_cb(evutil_socket_t fd, short what, void *arg);
static void prune_cb(evutil_socket_t fd, short what, void *arg);
static void finish(struct jobs *jobs, struct running_job *rj, sb_status status,
                   const sb_result *result);

struct jobs *jobs_new(struct server *srv)
{
    struct jobs *jobs = xcalloc(1, sizeof *jobs);
    jobs->srv = srv;
    jobs->running = hashmap_new();
    jobs->due_timer = evtimer_new(srv->base, due_cb, jobs);
    jobs->retry_timer = evtimer_new(srv->base, retry_cb, jobs);
    jobs->schedule_timer = evtimer_new(srv->base, schedule_cb, jobs);
    jobs->prune_timer = evtimer_new(srv->base, prune_cb, jobs);
    return jobs;
}

static void running_free(struct running_job *rj)
{
    if (rj->pending_timer)
        event_free(rj->pending_timer);
    free(rj->key);
    free(rj);
}

static void free_running(void *arg, void *value)
{
    (void)arg;
    running_free(value);
}

void jobs_free(struct jobs *jobs)
{
    if (!jobs)
        return;
    jobs->stopped = true;
    if (jobs->n_done)
        host_turn_now(jobs->srv);
    if (jobs->n_done) /* their jobs run again after the restart */
        log_error("jobs", "%zu job results could not be written before the stop", jobs->n_done);
    drop_completions(jobs, 0, jobs->n_done);
    hashmap_each(jobs->running, free_running, NULL);
    hashmap_free(jobs->running);
    event_free(jobs->due_timer);
    event_free(jobs->retry_timer);
    event_free(jobs->schedule_timer);
    event_free(jobs->prune_timer);
    free(jobs->done);
    free(jobs);
}

static void arm_timer(struct event *ev, int64_t delay_ms)
{
    if (delay_ms < 0)
        delay_ms = 0;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* ---- scheduling helpers ---- */

static int64_t backoff_ms(const struct config *cfg, uint32_t attempt)
{
    int64_t base = (int64_t)cfg->job_backoff_base_s * 1000;
    int64_t cap = (int64_t)cfg->job_backoff_cap_s * 1000;
    int64_t delay = base;
    for (uint32_t i = 1; i < attempt && delay < cap; i++)
        delay *= 2;
    if (delay > cap)
        delay = cap;
    /* Jitter in [delay/2, delay) spreads retries of jobs that failed together. */
    uint32_t r;
    if (crypto_random(&r, sizeof r) != 0)
        r = (uint32_t)rand();
    return delay / 2 + (int64_t)(r % (uint64_t)(delay / 2 + 1));
}

static int64_t insert_job(struct jobs *jobs, const char *plugin, int64_t installation,
                          const char *type, const char *key, json_object *payload,
                          int64_t event_id, int64_t delay_ms, int max_attempts)
{
    struct server *srv = jobs->srv;
    sqlite3_stmt *q = store_stmt(
        srv->store,
        "INSERT INTO jobs (plugin, installation_id, type, key, payload, event_id, state, "
        "max_attempts, run_at, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?4 IS NOT NULL AND EXISTS (SELECT 1 FROM jobs "
        "WHERE plugin = ?1 AND installation_id = ?2 AND key = ?4 AND state IN " ACTIVE_STATES ") "
        "THEN 'waiting' ELSE 'queued' END, ?7, ?8, ?9, ?9)");
    if (!q)
        return 0;
    int64_t now = time_now_ms();
    sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, installation);
    sqlite3_bind_text(q, 3, type, -1, SQLITE_STATIC);
    store_bind_text(q, 4, key);
    if (payload)
        sqlite3_bind_text(q, 5, json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                          -1, SQLITE_TRANSIENT);
    if (event_id)
        sqlite3_bind_int64(q, 6, event_id);
    sqlite3_bind_int(q, 7, max_attempts);
    sqlite3_bind_int64(q, 8, now + (delay_ms > 0 ? delay_ms : 0));
    sqlite3_bind_int64(q, 9, now);
    if (store_step_done(srv->store, q) != 0)
        return 0;
    return sqlite3_last_insert_rowid(store_db(srv->store));
}

int64_t jobs_insert(struct jobs *jobs, const char *plugin, int64_t installation, const char *type,
                    const char *key, json_object *payload, int64_t event_id, int64_t delay_ms)
{
    return insert_job(jobs, plugin, installation, type, key, payload, event_id, delay_ms,
                      jobs->srv->cfg->job_max_attempts);
}

int64_t jobs_insert_host(struct jobs *jobs, const char *plugin, int64_t installation,
                         const char *type, json_object *payload, int max_attempts)
{
    return insert_job(jobs, plugin, installation, type, NULL, payload, 0, 0, max_attempts);
}

void jobs_kick(struct jobs *jobs)
{
    if (jobs->stopped)
        return;
    jobs->dispatch_wanted = true;
    host_turn_request(jobs->srv);
}

static void due_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    jobs_kick(arg);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct jobs *jobs = arg;
    (void)fd;
    (void)what;
    jobs->holding = false;
    jobs_kick(jobs);
}

/* ---- running a job ---- */

struct job_row {
    int64_t id;
    char *plugin;
    int64_t installation;
    char *type;
    char *key;
    char *payload;
    int64_t event_id;
    uint32_t attempt; /* this run's number */
    uint32_t max_attempts;
    char *checkpoint; /* what job_checkpoint saved, NULL if nothing */
};

static void job_row_free(struct job_row *r)
{
    free(r->plugin);
    free(r->type);
    free(r->key);
    free(r->payload);
    free(r->checkpoint);
}

static char *col_dup(sqlite3_stmt *q, int i)
{
    const char *s = store_col_text(q, i);
    return s ? xstrdup(s) : NULL;
}

/* Push a job back without counting an attempt (its plugin or installation is unavailable). */
static void postpone(struct jobs *jobs, int64_t id, const char *why)
{
    sqlite3_stmt *q = store_stmt(jobs->srv->store,
                                 "UPDATE jobs SET state = 'queued', run_at = ?2, last_error = ?3, "
                                 "updated_at = ?4 WHERE id = ?1");
    if (!q)
        return;
    int64_t now = time_now_ms();
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, now + UNAVAILABLE_DELAY_MS);
    sqlite3_bind_text(q, 3, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now);
    store_step_done(jobs->srv->store, q);
}

static int promote_next(struct jobs *jobs, const char *plugin, int64_t installation,
                        const char *key, int64_t now);

static void cancel_job(struct jobs *jobs, const struct job_row *row, const char *why)
{
    struct store *st = jobs->srv->store;
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET state = 'cancelled', last_error = ?2, "
                                     "updated_at = ?3, finished_at = ?3 WHERE id = ?1");
    if (!q || store_begin(st) != 0)
        return;
    int64_t now = time_now_ms();
    sqlite3_bind_int64(q, 1, row->id);
    sqlite3_bind_text(q, 2, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, now);
    if (store_step_done(st, q) == 0
        && (!row->key || promote_next(jobs, row->plugin, row->installation, row->key, now) == 0))
        store_commit(st);
    else
        store_rollback(st);
}

/* Deliver a webhook job: load its event (kept by the intake if it just came in), call on_event. */
static sb_status call_event(struct jobs *jobs, struct sb_plugin *p, const struct job_row *row,
                            sb_result *result)
{
    struct intake_envelope e;
    if (!intake_take_envelope(jobs->srv->intake, row->event_id, &e)) {
        sqlite3_stmt *q = store_stmt(jobs->srv->store,
                                     "SELECT body, topic, notification_id, created_at FROM events "
                                     "WHERE id = ?");
        if (!q)
            return sb_result_set(result, SB_RETRY, "cannot read the event");
        sqlite3_bind_int64(q, 1, row->event_id);
        if (sqlite3_step(q) != SQLITE_ROW) {
            sqlite3_reset(q);
            return sb_result_set(result, SB_FAIL, "event %lld no longer exists",
                                 (long long)row->event_id);
        }
        e.envelope = json_tokener_parse(store_col_text(q, 0));
        e.topic = col_dup(q, 1);
        e.notification_id = col_dup(q, 2);
        e.created_at = sqlite3_column_int64(q, 3);
        sqlite3_reset(q);
    }
    json_object *data = NULL, *item = NULL;
    if (e.envelope && json_object_object_get_ex(e.envelope, "data", &data))
        json_object_object_get_ex(data, "item", &item);
    sb_event ev = {
        .job = (sb_job_id)row->id,
        .installation = row->installation,
        .topic = e.topic,
        .notification_id = e.notification_id,
        .created_at = e.created_at,
        .item = item,
        .envelope = e.envelope,
        .attempt = row->attempt,
        .checkpoint = row->checkpoint ? json_tokener_parse(row->checkpoint) : NULL,
    };
    sb_status st = p->desc.on_event(p->state, &ev, result);
    json_object_put(ev.checkpoint);
    json_object_put(e.envelope);
    free(e.topic);
    free(e.notification_id);
    return st;
}

static sb_status call_job(struct sb_plugin *p, const struct job_row *row, sb_result *result)
{
    json_object *payload = row->payload ? json_tokener_parse(row->payload) : NULL;
    sb_job job = {
        .id = (sb_job_id)row->id,
        .installation = row->installation,
        .type = row->type,
        .key = row->key,
        .payload = payload,
        .attempt = row->attempt,
        .checkpoint = row->checkpoint ? json_tokener_parse(row->checkpoint) : NULL,
    };
    sb_status st = p->desc.on_job(p->state, &job, result);
    json_object_put(job.checkpoint);
    json_object_put(payload);
    return st;
}

static void pending_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct running_job *rj = arg;
    (void)fd;
    (void)what;
    sb_result result = {0};
    snprintf(result.message, sizeof result.message,
             "plugin did not complete the job within %d s", rj->jobs->srv->cfg->job_pending_timeout_s);
    log_warn("jobs", "job %lld (%s): %s", (long long)rj->id, rj->plugin->name, result.message);
    struct server *srv = rj->jobs->srv;
    host_scope_enter(srv);
    finish(rj->jobs, rj, SB_RETRY, &result);
    host_scope_leave(srv);
}

static void run_job(struct jobs *jobs, struct job_row *row)
{
    struct server *srv = jobs->srv;
    if (hashmap_get_u64(jobs->running, row->id))
        return; /* still running from an earlier round whose mark did not stick */
    struct sb_plugin *p = plugins_find(srv->plugins, row->plugin);
    if (!p || !p->running) {
        postpone(jobs, row->id, "plugin is not running");
        return;
    }
    /* A product event tells of something that happened: it is delivered even after its
       installation was revoked (the uninstall itself is such an event). */
    bool is_product = product_job_type(row->type);
    if (row->installation && !is_product) {
        struct installation *inst = installations_get(srv->installations, row->installation);
        if (!inst || inst->state == SB_INSTALLATION_REVOKED) {
            cancel_job(jobs, row, "installation revoked");
            return;
        }
        if (inst->state == SB_INSTALLATION_NEEDS_REAUTH) {
            postpone(jobs, row->id, "installation needs to be installed again");
            return;
        }
    }
    bool is_event = row->event_id != 0;
    if (!is_product && ((is_event && !p->desc.on_event) || (!is_event && !p->desc.on_job))) {
        cancel_job(jobs, row, is_event ? "plugin has no on_event handler"
                                       : "plugin has no on_job handler");
        return;
    }
    struct running_job *rj = xcalloc(1, sizeof *rj);
    rj->jobs = jobs;
    rj->id = row->id;
    rj->plugin = p;
    rj->installation = row->installation;
    rj->key = row->key ? xstrdup(row->key) : NULL;
    rj->attempt = row->attempt;
    rj->max_attempts = row->max_attempts;
    hashmap_put_u64(jobs->running, rj->id, rj);
    jobs->in_flight++;

    sb_result result = {0};
    p->callbacks++;
    sb_status st = is_product ? product_deliver(srv->products, p, row->id, row->payload, &result)
                   : is_event ? call_event(jobs, p, row, &result)
                              : call_job(p, row, &result);
    /* The handler may have completed the job itself (job_complete inside the call). */
    rj = hashmap_get_u64(jobs->running, row->id);
    if (!rj)
        return;
    if (st == SB_PENDING) {
        /*
         * Not written to the database: after a crash 'running' and 'pending' are
         * recovered alike, and an fsync per PENDING job would cost more than it tells.
         */
        if (!rj->pending_timer) {
            rj->pending_timer = evtimer_new(srv->base, pending_timeout_cb, rj);
            arm_timer(rj->pending_timer, (int64_t)srv->cfg->job_pending_timeout_s * 1000);
        }
        return;
    }
    finish(jobs, rj, st, &result);
}

static void queue_completion(struct jobs *jobs, const struct running_job *rj, enum outcome outcome,
                             int64_t run_at, const char *error, const char *error_code)
{
    if (jobs->n_done == jobs->cap_done) {
        jobs->cap_done = jobs->cap_done ? jobs->cap_done * 2 : 64;
        jobs->done = xrealloc(jobs->done, jobs->cap_done * sizeof *jobs->done);
    }
    struct completion *c = &jobs->done[jobs->n_done++];
    c->id = rj->id;
    c->attempt = outcome == OUTCOME_HELD ? rj->attempt - 1 : rj->attempt;
    c->outcome = outcome;
    c->run_at = run_at;
    c->error = error && *error ? xstrdup(error) : NULL;
    c->error_code = c->error && error_code && *error_code ? xstrdup(error_code) : NULL;
    c->plugin = rj->key ? xstrdup(rj->plugin->name) : NULL;
    c->installation = rj->installation;
    c->key = rj->key ? xstrdup(rj->key) : NULL;
    host_turn_request(jobs->srv);
}

/* The job's run ended (its outcome is queued for the turn's write): forget it. */
static void release(struct jobs *jobs, struct running_job *rj)
{
    hashmap_remove_u64(jobs->running, rj->id);
    running_free(rj);
    jobs->in_flight--;
}

static void finish(struct jobs *jobs, struct running_job *rj, sb_status status,
                   const sb_result *result)
{
    const char *msg = result && result->message[0] ? result->message : NULL;
    char code[sizeof result->code];
    errors_code_clean(result ? result->code : NULL, NULL, code, sizeof code);
    int64_t now = time_now_ms();
    switch (job_outcome_of(status, result, rj->attempt, rj->max_attempts)) {
    case JOB_OUTCOME_DONE:
        queue_completion(jobs, rj, OUTCOME_DONE, 0, NULL, NULL);
        break;
    case JOB_OUTCOME_EXHAUSTED: {
        char *why = xasprintf("gave up after %u attempts: %s", rj->attempt,
                              msg ? msg : "retry requested");
        log_warn("jobs", "job %lld (%s) is dead: %s", (long long)rj->id, rj->plugin->name, why);
        queue_completion(jobs, rj, OUTCOME_DEAD, 0, why, code);
        free(why);
        break;
    }
    case JOB_OUTCOME_RETRY: {
        int64_t delay = result && result->retry_after_s ? (int64_t)result->retry_after_s * 1000
                                                        : backoff_ms(jobs->srv->cfg, rj->attempt);
        log_info("jobs", "job %lld (%s) attempt %u failed (%s); retry in %lld ms",
                 (long long)rj->id, rj->plugin->name, rj->attempt, msg ? msg : "retry",
                 (long long)delay);
        queue_completion(jobs, rj, OUTCOME_RETRY, now + delay, msg ? msg : "retry requested",
                         code);
        break;
    }
    case JOB_OUTCOME_SKIPPED:
        log_info("jobs", "job %lld (%s) skipped: %s", (long long)rj->id, rj->plugin->name,
                 msg ? msg : "its object no longer exists");
        queue_completion(jobs, rj, OUTCOME_SKIPPED, 0, msg ? msg : "its object no longer exists",
                         code);
        break;
    case JOB_OUTCOME_FAILED:
        log_warn("jobs", "job %lld (%s) failed: %s", (long long)rj->id, rj->plugin->name,
                 msg ? msg : "(no message)");
        queue_completion(jobs, rj, OUTCOME_DEAD, 0, msg ? msg : "failed", code);
        break;
    }
    release(jobs, rj);
}

int jobs_hold(struct jobs *jobs, struct sb_plugin *p, uint64_t job_id, const char *why,
              int64_t recheck_ms)
{
    struct running_job *rj = hashmap_get_u64(jobs->running, job_id);
    if (!rj || rj->plugin != p)
        return -1;
    log_debug("jobs", "job %lld (%s) held: %s", (long long)rj->id, p->name, why);
    queue_completion(jobs, rj, OUTCOME_HELD, time_now_ms() + recheck_ms, why, NULL);
    release(jobs, rj);
    return 0;
}

int jobs_checkpoint(struct jobs *jobs, struct sb_plugin *p, uint64_t job_id,
                    json_object *checkpoint)
{
    struct running_job *rj = hashmap_get_u64(jobs->running, job_id);
    if (!rj || rj->plugin != p) {
        log_warn("jobs", "plugin %s saved a checkpoint for job %llu, which it is not running",
                 p->name, (unsigned long long)job_id);
        return -1;
    }
    size_t len = 0;
    const char *text = checkpoint ? json_object_to_json_string_length(
                                        checkpoint,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                        &len)
                                  : NULL;
    if (len > CHECKPOINT_MAX_BYTES) {
        log_warn("jobs", "plugin %s: the checkpoint of job %llu is %zu bytes, over the %d allowed",
                 p->name, (unsigned long long)job_id, len, CHECKPOINT_MAX_BYTES);
        return -1;
    }
    /* In the callback's transaction: it commits with the writes it describes, or not at all. */
    sqlite3_stmt *q = store_stmt(jobs->srv->store, "UPDATE jobs SET checkpoint = ?2 WHERE id = ?1");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, rj->id);
    store_bind_text(q, 2, text);
    return store_step_done(jobs->srv->store, q);
}

int jobs_complete(struct jobs *jobs, struct sb_plugin *p, uint64_t job_id, sb_status status,
                  const sb_result *result)
{
    struct running_job *rj = hashmap_get_u64(jobs->running, job_id);
    if (!rj || rj->plugin != p) {
        log_warn("jobs", "plugin %s completed job %llu, which it is not running", p->name,
                 (unsigned long long)job_id);
        return -1;
    }
    if (status == SB_PENDING) {
        log_warn("jobs", "plugin %s completed job %llu with PENDING; use OK, RETRY or FAIL",
                 p->name, (unsigned long long)job_id);
        return -1;
    }
    finish(jobs, rj, status, result);
    return 0;
}

/* ---- dispatch and flush ---- */

/* Only runnable rows are 'queued' (a busy key's later jobs wait as 'waiting'). */
static const char due_sql[] =
    "SELECT id, plugin, installation_id, type, key, payload, event_id, attempts, max_attempts, "
    "checkpoint FROM jobs WHERE state = 'queued' AND run_at <= ?1 ORDER BY run_at, id LIMIT ?2";

static size_t select_due(struct jobs *jobs, struct job_row *rows, size_t max)
{
    struct store *st = jobs->srv->store;
    sqlite3_stmt *q = store_stmt(st, due_sql);
    if (!q)
        return 0;
    sqlite3_bind_int64(q, 1, time_now_ms());
    sqlite3_bind_int64(q, 2, (sqlite3_int64)max);
    size_t n = 0;
    while (n < max && sqlite3_step(q) == SQLITE_ROW) {
        struct job_row *r = &rows[n++];
        r->id = sqlite3_column_int64(q, 0);
        r->plugin = col_dup(q, 1);
        r->installation = sqlite3_column_int64(q, 2);
        r->type = col_dup(q, 3);
        r->key = col_dup(q, 4);
        r->payload = col_dup(q, 5);
        r->event_id = sqlite3_column_int64(q, 6);
        r->attempt = (uint32_t)sqlite3_column_int(q, 7) + 1;
        r->max_attempts = (uint32_t)sqlite3_column_int(q, 8);
        r->checkpoint = col_dup(q, 9);
    }
    sqlite3_reset(q);
    return n;
}

/* Mark the jobs of a round that are still running (their handlers said PENDING). */
static int mark_running(struct jobs *jobs, struct job_row *rows, size_t n)
{
    struct store *st = jobs->srv->store;
    if (store_begin(st) != 0)
        return -1;
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET state = 'running', attempts = ?2, "
                                     "updated_at = ?3 WHERE id = ?1");
    int64_t now = time_now_ms();
    for (size_t i = 0; q && i < n; i++) {
        if (!hashmap_get_u64(jobs->running, rows[i].id))
            continue;
        sqlite3_bind_int64(q, 1, rows[i].id);
        sqlite3_bind_int(q, 2, (int)rows[i].attempt);
        sqlite3_bind_int64(q, 3, now);
        if (store_step_done(st, q) != 0)
            q = NULL;
    }
    if (!q) {
        store_rollback(st);
        return -1;
    }
    return store_commit(st);
}

static void arm_due_timer(struct jobs *jobs)
{
    sqlite3_stmt *q = store_stmt(jobs->srv->store,
                                 "SELECT min(run_at) FROM jobs WHERE state = 'queued'");
    if (!q)
        return;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        int64_t delay = sqlite3_column_int64(q, 0) - time_now_ms();
        /* Due already: it became due after the round looked (the commit's fsync lies
           between), or no slot was free. Come back shortly rather than never. */
        arm_timer(jobs->due_timer, delay > 0 ? delay : DUE_RECHECK_MS);
    }
    sqlite3_reset(q);
}

/* One round: hand out up to 256 due jobs; true if there may be more. */
static bool dispatch_round(struct jobs *jobs)
{
    int max = jobs->srv->cfg->job_max_in_flight;
    if (jobs->stopped || jobs->in_flight >= max)
        return false;
    size_t budget = (size_t)(max - jobs->in_flight);
    if (budget > 256)
        budget = 256;
    struct job_row *rows = xcalloc(budget, sizeof *rows);
    size_t n = select_due(jobs, rows, budget);
    /*
     * Handlers, their writes and the marks go in the turn's commit. Nothing of
     * the round is durable before that commit, so a 'running' mark written
     * ahead of the handlers would say nothing more: a job whose handler
     * finished at once goes from 'queued' to its outcome in one write (its
     * result, written later in this turn), and only the jobs still running
     * are marked, after their handlers returned.
     */
    host_scope_enter(jobs->srv);
    for (size_t i = 0; i < n; i++)
        run_job(jobs, &rows[i]);
    if (n && mark_running(jobs, rows, n) != 0)
        log_error("jobs", "cannot mark %zu running jobs", n);
    host_scope_leave(jobs->srv);
    for (size_t i = 0; i < budget; i++)
        job_row_free(&rows[i]);
    free(rows);
    return n == budget;
}

static void completion_free(struct completion *c)
{
    free(c->error);
    free(c->error_code);
    free(c->plugin);
    free(c->key);
}

/* A keyed job finished for good: the oldest job waiting behind it becomes runnable. */
static int promote_next(struct jobs *jobs, const char *plugin, int64_t installation,
                        const char *key, int64_t now)
{
    sqlite3_stmt *q = store_stmt(
        jobs->srv->store,
        "UPDATE jobs SET state = 'queued', updated_at = ?4 WHERE id = (SELECT min(id) FROM jobs "
        "WHERE plugin = ?1 AND installation_id = ?2 AND key = ?3 AND state = 'waiting') "
        "AND NOT EXISTS (SELECT 1 FROM jobs WHERE plugin = ?1 AND installation_id = ?2 "
        "AND key = ?3 AND state IN ('queued', 'running', 'pending'))");
    if (!q)
        return -1;
    sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, installation);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, now);
    return store_step_done(jobs->srv->store, q);
}

/* Write the results collected so far (a savepoint of the turn's transaction). */
static void write_completions(struct jobs *jobs)
{
    jobs->n_written = jobs->n_done;
    jobs->write_ok = true;
    if (!jobs->n_written)
        return;
    struct store *st = jobs->srv->store;
    int64_t now = time_now_ms();
    bool ok = store_begin(st) == 0;
    sqlite3_stmt *q = ok ? store_stmt(st,
                                      "UPDATE jobs SET state = ?2, attempts = ?6,"
                                      " run_at = coalesce(?3, run_at),"
                                      " last_error_code = CASE WHEN ?4 IS NULL THEN"
                                      " last_error_code ELSE ?7 END,"
                                      " last_error = coalesce(?4, last_error), updated_at = ?5,"
                                      " finished_at = CASE WHEN ?2 = 'queued' THEN NULL ELSE ?5 END,"
                                      /* Nothing is left to resume once it ended well. */
                                      " checkpoint = CASE WHEN ?2 IN ('done', 'skipped') THEN NULL"
                                      " ELSE checkpoint END"
                                      " WHERE id = ?1")
                         : NULL;
    for (size_t i = 0; q && i < jobs->n_written; i++) {
        struct completion *c = &jobs->done[i];
        static const char *const states[] = {"done", "queued", "dead", "skipped", "queued"};
        sqlite3_bind_int64(q, 1, c->id);
        sqlite3_bind_text(q, 2, states[c->outcome], -1, SQLITE_STATIC);
        bool again = c->outcome == OUTCOME_RETRY || c->outcome == OUTCOME_HELD;
        if (again)
            sqlite3_bind_int64(q, 3, c->run_at);
        else
            sqlite3_bind_null(q, 3);
        store_bind_text(q, 4, c->error);
        sqlite3_bind_int64(q, 5, now);
        sqlite3_bind_int(q, 6, (int)c->attempt);
        store_bind_text(q, 7, c->error_code);
        if (store_step_done(st, q) != 0) {
            q = NULL;
            break;
        }
        /* After the row left 'running': promote_next waits while its key has an active job. */
        if (c->key && !again
            && promote_next(jobs, c->plugin, c->installation, c->key, now) != 0)
            q = NULL;
    }
    if (q && store_commit(st) == 0)
        return;
    if (ok && store_in_transaction(st))
        store_rollback(st);
    jobs->write_ok = false;
}

static void drop_completions(struct jobs *jobs, size_t from, size_t to)
{
    if (from == to)
        return; /* (done may still be NULL) */
    for (size_t i = from; i < to; i++)
        completion_free(&jobs->done[i]);
    memmove(jobs->done + from, jobs->done + to, (jobs->n_done - to) * sizeof *jobs->done);
    jobs->n_done -= to - from;
}

void jobs_turn(struct jobs *jobs)
{
    if (!jobs)
        return;
    jobs->round_from = jobs->round_to = jobs->n_done;
    /* While results are owed, their jobs may still look queued: handing them out would run them twice. */
    if (jobs->dispatch_wanted && !jobs->results_owed && !jobs->holding && !jobs->stopped
        && jobs->in_flight < jobs->srv->cfg->job_max_in_flight) {
        jobs->dispatch_wanted = false;
        if (dispatch_round(jobs))
            jobs->dispatch_wanted = true;
        jobs->round_to = jobs->n_done;
    }
    write_completions(jobs);
}

void jobs_turn_done(struct jobs *jobs, bool committed)
{
    if (!jobs)
        return;
    if (jobs->n_written) {
        if (jobs->write_ok && committed) {
            drop_completions(jobs, 0, jobs->n_written);
            jobs->results_owed = false;
            jobs->dispatch_wanted = true; /* retries due now, promoted successors */
        } else {
            if (!committed && jobs->round_to > jobs->round_from) {
                /* Their handlers' writes went with the turn and their rows are still
                   queued: these jobs run again rather than being recorded as done. */
                log_error("jobs", "the commit failed: %zu jobs will run again",
                          jobs->round_to - jobs->round_from);
                drop_completions(jobs, jobs->round_from, jobs->round_to);
            }
            /* Keep the other results and try again shortly: losing them would re-run jobs. */
            jobs->results_owed = jobs->n_done > 0;
            if (jobs->results_owed)
                log_error("jobs", "cannot record %zu job results; retrying", jobs->n_done);
            /* Either way the store is failing: pause, rather than run handlers again at once. */
            jobs->holding = true;
            struct timeval tv = {1, 0};
            evtimer_add(jobs->retry_timer, &tv);
        }
        jobs->n_written = 0;
    }
    if (jobs->stopped || jobs->holding) /* the retry timer comes back */
        return;
    if (jobs->dispatch_wanted && jobs->in_flight < jobs->srv->cfg->job_max_in_flight)
        host_turn_request(jobs->srv);
    arm_due_timer(jobs);
}

/* ---- schedules ---- */

static int64_t schedule_interval_s(struct server *srv, struct sb_plugin *p, int64_t inst,
                                   const sb_schedule *s)
{
    int64_t interval = s->interval_s;
    if (s->interval_setting) {
        json_object *settings = settings_effective(srv, p, inst), *v;
        if (json_object_object_get_ex(settings, s->interval_setting, &v)
            && json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
            interval = json_object_get_int64(v) * (s->setting_unit_s ? s->setting_unit_s : 1);
        json_object_put(settings);
    }
    return interval > 0 ? interval : 3600;
}

void jobs_sync_schedules(struct jobs *jobs, struct sb_plugin *p, const struct installation *inst)
{
    struct server *srv = jobs->srv;
    if (!p->desc.schedules)
        return;
    for (const sb_schedule *s = p->desc.schedules; s->name; s++) {
        int64_t interval = schedule_interval_s(srv, p, inst->id, s);
        /* A new schedule runs soon; a changed interval counts from the last run. */
        sqlite3_stmt *q = store_stmt(
            srv->store,
            "INSERT INTO schedules (plugin, installation_id, name, interval_s, next_run_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (plugin, installation_id, name) DO UPDATE SET"
            " next_run_at = CASE WHEN interval_s = excluded.interval_s THEN next_run_at"
            "   ELSE coalesce(last_run_at, ?5) + excluded.interval_s * 1000 END,"
            " interval_s = excluded.interval_s");
        if (!q)
            return;
        sqlite3_bind_text(q, 1, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, inst->id);
        sqlite3_bind_text(q, 3, s->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, interval);
        sqlite3_bind_int64(q, 5, time_now_ms());
        store_step_done(srv->store, q);
    }
    event_active(jobs->schedule_timer, 0, 0);
}

static int sync_one(void *arg, struct installation *inst)
{
    struct jobs *jobs = arg;
    struct sb_plugin *p = plugins_find(jobs->srv->plugins, inst->plugin);
    if (p && p->running && inst->state == SB_INSTALLATION_ACTIVE)
        jobs_sync_schedules(jobs, p, inst);
    return 0;
}

static bool schedule_job_active(struct store *st, const char *plugin, int64_t inst,
                                const char *key)
{
    sqlite3_stmt *q = store_stmt(st, "SELECT 1 FROM jobs WHERE plugin = ? AND installation_id = ?"
                                     " AND key = ? AND state IN " ACTIVE_STATES);
    if (!q)
        return false;
    sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, inst);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
    bool active = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_reset(q);
    return active;
}

/* Enqueue one due schedule and advance it, atomically: a crash can neither skip nor repeat it. */
static void fire_schedule(struct jobs *jobs, const char *plugin, int64_t inst, const char *name,
                          int64_t interval_s, int64_t next_run_at, int64_t now)
{
    struct server *srv = jobs->srv;
    struct sb_plugin *p = plugins_find(srv->plugins, plugin);
    struct installation *in = installations_get(srv->installations, inst);
    bool usable = p && p->running && in && in->state == SB_INSTALLATION_ACTIVE;
    char *key = xasprintf("schedule:%s", name);
    int64_t next = next_run_at + interval_s * 1000;
    if (next <= now)
        next = now + interval_s * 1000; /* missed several while down: run once, not N times */
    if (store_begin(srv->store) != 0) {
        free(key);
        return;
    }
    int rc = 0;
    /* Never stack a run behind a still-running one (a long sync); the next tick comes. */
    if (usable && !schedule_job_active(srv->store, plugin, inst, key)) {
        json_object *payload = json_object_new_object();
        json_object_object_add(payload, "scheduled_at", json_object_new_int64(next_run_at));
        rc = jobs_insert(jobs, plugin, inst, name, key, payload, 0, 0) ? 0 : -1;
        json_object_put(payload);
    }
    sqlite3_stmt *q = store_stmt(srv->store, "UPDATE schedules SET next_run_at = ?4, "
                                             "last_run_at = ?5 WHERE plugin = ?1 AND "
                                             "installation_id = ?2 AND name = ?3");
    if (rc == 0 && q) {
        sqlite3_bind_text(q, 1, plugin, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, inst);
        sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, next);
        sqlite3_bind_int64(q, 5, now);
        rc = store_step_done(srv->store, q);
    }
    if (rc == 0 && q)
        store_commit(srv->store);
    else
        store_rollback(srv->store);
    free(key);
}

static void schedule_cb(evutil_socket_t fd, short what, void *arg)
{
    struct jobs *jobs = arg;
    (void)fd;
    (void)what;
    if (jobs->stopped)
        return;
    struct store *st = jobs->srv->store;
    int64_t now = time_now_ms();
    sqlite3_stmt *q = store_stmt(st, "SELECT plugin, installation_id, name, interval_s, "
                                     "next_run_at FROM schedules WHERE next_run_at <= ? LIMIT 1000");
    if (!q)
        return;
    sqlite3_bind_int64(q, 1, now);
    struct due {
        char *plugin, *name;
        int64_t inst, interval, next;
    } *due = NULL;
    size_t n = 0, cap = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            due = xrealloc(due, cap * sizeof *due);
        }
        due[n].plugin = col_dup(q, 0);
        due[n].inst = sqlite3_column_int64(q, 1);
        due[n].name = col_dup(q, 2);
        due[n].interval = sqlite3_column_int64(q, 3);
        due[n].next = sqlite3_column_int64(q, 4);
        n++;
    }
    sqlite3_reset(q);
    for (size_t i = 0; i < n; i++) {
        fire_schedule(jobs, due[i].plugin, due[i].inst, due[i].name, due[i].interval, due[i].next,
                      now);
        free(due[i].plugin);
        free(due[i].name);
    }
    free(due);
    if (n)
        jobs_kick(jobs);
    q = store_stmt(st, "SELECT min(next_run_at) FROM schedules");
    if (q && sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        arm_timer(jobs->schedule_timer, sqlite3_column_int64(q, 0) - time_now_ms());
    if (q)
        sqlite3_reset(q);
}

/* ---- maintenance ---- */

static void prune_cb(evutil_socket_t fd, short what, void *arg)
{
    struct jobs *jobs = arg;
    (void)fd;
    (void)what;
    struct server *srv = jobs->srv;
    int64_t now = time_now_ms();
    int jobs_deleted = 0, events_deleted = 0;
    /* (Named: without statistics SQLite would rather walk every 'done' row of jobs_by_state.) */
    sqlite3_stmt *q = store_stmt(
        srv->store, "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_finished "
                    "WHERE state IN ('done', 'cancelled', 'skipped') AND finished_at < ?1 LIMIT ?2)");
    if (q) {
        sqlite3_bind_int64(q, 1, now - (int64_t)srv->cfg->job_retention_days * 86400000);
        sqlite3_bind_int(q, 2, PRUNE_BATCH);
        if (store_step_done(srv->store, q) == 0)
            jobs_deleted = sqlite3_changes(store_db(srv->store));
    }
    /* Events are kept while a job that may still need them refers to them. */
    q = store_stmt(srv->store,
                   "DELETE FROM events WHERE id IN (SELECT e.id FROM events e INDEXED BY "
                   "events_by_received WHERE e.received_at < ?1 AND NOT EXISTS (SELECT 1 FROM "
                   "jobs j INDEXED BY jobs_by_event WHERE j.event_id = e.id AND j.state IN "
                   "('queued', 'waiting', 'running', 'pending', 'dead')) LIMIT ?2)");
    if (q) {
        sqlite3_bind_int64(q, 1, now - (int64_t)srv->cfg->event_retention_days * 86400000);
        sqlite3_bind_int(q, 2, PRUNE_BATCH);
        if (store_step_done(srv->store, q) == 0)
            events_deleted = sqlite3_changes(store_db(srv->store));
    }
    jobs->pruned_jobs += jobs_deleted;
    jobs->pruned_events += events_deleted;
    if (jobs_deleted >= PRUNE_BATCH || events_deleted >= PRUNE_BATCH) {
        arm_timer(jobs->prune_timer, PRUNE_PAUSE_MS); /* more to do */
        return;
    }
    if (jobs->pruned_jobs || jobs->pruned_events)
        log_info("jobs", "pruned %lld finished jobs and %lld events",
                 (long long)jobs->pruned_jobs, (long long)jobs->pruned_events);
    jobs->pruned_jobs = jobs->pruned_events = 0;
    q = store_stmt(srv->store, "DELETE FROM oauth_states WHERE expires_at < ?");
    if (q) {
        sqlite3_bind_int64(q, 1, now / 1000 - 86400);
        store_step_done(srv->store, q);
    }
    arm_timer(jobs->prune_timer, (int64_t)PRUNE_INTERVAL_S * 1000);
}

/* ---- lifecycle ---- */

int jobs_start(struct jobs *jobs)
{
    struct server *srv = jobs->srv;
    /* A crash leaves 'running' and 'pending' rows whose outcome was never recorded. */
    if (store_exec(srv->store, "UPDATE jobs SET state = 'queued' WHERE state IN "
                               "('running', 'pending')")
        != 0)
        return -1;
    int recovered = sqlite3_changes(store_db(srv->store));
    if (recovered)
        log_info("jobs", "requeued %d jobs interrupted by the last shutdown", recovered);
    /* A key whose head job vanished (e.g. deleted by hand) must not wait forever. */
    store_exec(srv->store,
               "UPDATE jobs SET state = 'queued' WHERE id IN (SELECT min(w.id) FROM jobs w "
               "WHERE w.state = 'waiting' GROUP BY w.plugin, w.installation_id, w.key) AND NOT "
               "EXISTS (SELECT 1 FROM jobs a WHERE a.plugin = jobs.plugin AND a.installation_id = "
               "jobs.installation_id AND a.key = jobs.key AND a.state IN ('queued', 'running', "
               "'pending'))");
    installations_each(srv->installations, NULL, sync_one, jobs);
    event_active(jobs->schedule_timer, 0, 0);
    arm_timer(jobs->prune_timer, 60000);
    jobs_kick(jobs);
    return 0;
}

void jobs_stop(struct jobs *jobs)
{
    jobs->stopped = true;
    evtimer_del(jobs->due_timer);
    evtimer_del(jobs->retry_timer);
    evtimer_del(jobs->schedule_timer);
    evtimer_del(jobs->prune_timer);
    if (jobs->n_done)
        host_turn_now(jobs->srv); /* stopped: writes the results, hands nothing out */
}

int jobs_in_flight(const struct jobs *jobs)
{
    return jobs->in_flight;
}

/* One dead, cancelled or skipped job back to queued: 1 if it was one, 0 if not, -1 on error. */
static int replay_one(struct store *st, int64_t job_id)
{
    /* Replayed behind any job that now holds its key, so one key still runs one at a time. */
    sqlite3_stmt *q = store_stmt(
        st, "UPDATE jobs SET state = CASE WHEN key IS NOT NULL AND EXISTS (SELECT 1 FROM jobs a "
            "WHERE a.plugin = jobs.plugin AND a.installation_id = jobs.installation_id AND a.key = "
            "jobs.key AND a.state IN " ACTIVE_STATES ") THEN 'waiting' ELSE 'queued' END, "
            "attempts = 0, run_at = ?2, updated_at = ?2, finished_at = NULL WHERE id = ?1 AND "
            "state IN ('dead', 'cancelled', 'skipped')");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, job_id);
    sqlite3_bind_int64(q, 2, time_now_ms());
    if (store_step_done(st, q) != 0)
        return -1;
    return sqlite3_changes(store_db(st)) > 0;
}

int jobs_replay(struct jobs *jobs, int64_t job_id, char *err, size_t errlen)
{
    int replayed = replay_one(jobs->srv->store, job_id);
    if (replayed < 0) {
        snprintf(err, errlen, "database error");
        return -1;
    }
    if (replayed == 0) {
        snprintf(err, errlen, "job %lld is not dead, cancelled or skipped", (long long)job_id);
        return -1;
    }
    log_info("jobs", "job %lld replayed", (long long)job_id);
    jobs_kick(jobs);
    return 0;
}

int64_t jobs_replay_dead(struct jobs *jobs, const char *plugin)
{
    struct store *st = jobs->srv->store;
    /*
     * One job at a time, oldest first, in one transaction: each replay sees the
     * ones before it, so dead jobs sharing a key queue up behind each other.
     */
    sqlite3_stmt *q = store_stmt(st, "SELECT id FROM jobs WHERE state = 'dead' AND plugin = ? "
                                     "ORDER BY id");
    if (!q || store_begin(st) != 0)
        return -1;
    store_bind_text(q, 1, plugin);
    struct buf ids; /* collected first: the updates would disturb the running SELECT */
    buf_init(&ids);
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        buf_append(&ids, &id, sizeof id);
        n++;
    }
    sqlite3_reset(q);
    int64_t replayed = 0;
    for (size_t i = 0; i < n && replayed >= 0; i++) {
        int64_t id;
        memcpy(&id, ids.data + i * sizeof id, sizeof id);
        int one = replay_one(st, id);
        replayed = one < 0 ? -1 : replayed + one;
    }
    buf_free(&ids);
    if (replayed < 0) {
        store_rollback(st);
        return -1;
    }
    if (store_commit(st) != 0) /* it rolled back */
        return -1;
    log_info("jobs", "%lld dead job%s of %s replayed", (long long)replayed,
             replayed == 1 ? "" : "s", plugin);
    if (replayed)
        jobs_kick(jobs);
    return replayed;
}

int jobs_cancel_installation(struct jobs *jobs, int64_t installation)
{
    struct store *st = jobs->srv->store;
    /* Product events are still delivered: they tell of what happened before. */
    sqlite3_stmt *q = store_stmt(st, "UPDATE jobs SET state = 'cancelled', last_error = "
                                     "'installation revoked', finished_at = ?2, updated_at = ?2 "
                                     "WHERE installation_id = ?1 AND state IN ('queued', 'waiting')"
                                     " AND type NOT GLOB '" PRODUCT_JOB_PREFIX "*'");
    if (!q)
        return -1;
    sqlite3_bind_int64(q, 1, installation);
    sqlite3_bind_int64(q, 2, time_now_ms());
    if (store_step_done(st, q) != 0)
        return -1;
    q = store_stmt(st, "DELETE FROM schedules WHERE installation_id = ?");
    if (q) {
        sqlite3_bind_int64(q, 1, installation);
        store_step_done(st, q);
    }
    return 0;
}

/* ---- admin views ---- */

static json_object *row_json(sqlite3_stmt *q)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(sqlite3_column_int64(q, 0)));
    json_object_object_add(o, "plugin", json_object_new_string(store_col_text(q, 1)));
    json_object_object_add(o, "installation_id", json_object_new_int64(sqlite3_column_int64(q, 2)));
    json_object_object_add(o, "type", json_object_new_string(store_col_text(q, 3)));
    const char *key = store_col_text(q, 4), *payload = store_col_text(q, 5);
    json_object_object_add(o, "key", key ? json_object_new_string(key) : NULL);
    json_object_object_add(o, "payload", payload ? json_tokener_parse(payload) : NULL);
    json_object_object_add(o, "event_id", sqlite3_column_type(q, 6) == SQLITE_NULL
                                              ? NULL
                                              : json_object_new_int64(sqlite3_column_int64(q, 6)));
    json_object_object_add(o, "state", json_object_new_string(store_col_text(q, 7)));
    json_object_object_add(o, "attempts", json_object_new_int(sqlite3_column_int(q, 8)));
    json_object_object_add(o, "max_attempts", json_object_new_int(sqlite3_column_int(q, 9)));
    json_object_object_add(o, "run_at", json_object_new_int64(sqlite3_column_int64(q, 10)));
    const char *err = store_col_text(q, 11);
    json_object_object_add(o, "last_error", err ? json_object_new_string(err) : NULL);
    json_object_object_add(o, "created_at", json_object_new_int64(sqlite3_column_int64(q, 12)));
    json_object_object_add(o, "updated_at", json_object_new_int64(sqlite3_column_int64(q, 13)));
    json_object_object_add(o, "finished_at", sqlite3_column_type(q, 14) == SQLITE_NULL
                                                 ? NULL
                                                 : json_object_new_int64(sqlite3_column_int64(q, 14)));
    const char *checkpoint = store_col_text(q, 15), *code = store_col_text(q, 16);
    json_object_object_add(o, "checkpoint", checkpoint ? json_tokener_parse(checkpoint) : NULL);
    json_object_object_add(o, "last_error_code", code ? json_object_new_string(code) : NULL);
    return o;
}

#define JOB_COLUMNS                                                                        \
    "id, plugin, installation_id, type, key, payload, event_id, state, attempts, "         \
    "max_attempts, run_at, last_error, created_at, updated_at, finished_at, checkpoint, "    \
    "last_error_code"

/* The filters every listing shares; ?1 state, ?2 plugin, ?3 installation, ?4 before, ?5 type. */
#define JOB_FILTERS                                                                        \
    " AND (?2 IS NULL OR plugin = ?2) AND (?3 = 0 OR installation_id = ?3)"                 \
    " AND (?5 IS NULL OR type = ?5) AND id < ?4 ORDER BY id DESC LIMIT ?6"

json_object *jobs_list(struct jobs *jobs, const struct job_filter *f)
{
    /*
     * One statement per leading filter, so each walks its index (jobs_by_state,
     * jobs_by_installation, jobs_by_installation_type) newest first instead of
     * the whole table.
     */
    const char *sql =
        f->state ? "SELECT " JOB_COLUMNS " FROM jobs WHERE state = ?1" JOB_FILTERS
        : f->installation && f->type
            ? "SELECT " JOB_COLUMNS " FROM jobs WHERE installation_id = ?3 AND type = ?5" JOB_FILTERS
        : f->installation ? "SELECT " JOB_COLUMNS " FROM jobs WHERE installation_id = ?3" JOB_FILTERS
                          : "SELECT " JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL" JOB_FILTERS;
    json_object *arr = json_object_new_array();
    sqlite3_stmt *q = store_stmt(jobs->srv->store, sql);
    if (!q)
        return arr;
    store_bind_text(q, 1, f->state);
    store_bind_text(q, 2, f->plugin);
    sqlite3_bind_int64(q, 3, f->installation);
    sqlite3_bind_int64(q, 4, f->before_id > 0 ? f->before_id : INT64_MAX);
    store_bind_text(q, 5, f->type);
    sqlite3_bind_int(q, 6, f->limit > 0 ? f->limit : 100);
    while (sqlite3_step(q) == SQLITE_ROW)
        json_object_array_add(arr, row_json(q));
    sqlite3_reset(q);
    return arr;
}

json_object *jobs_activity(struct jobs *jobs, int64_t installation)
{
    struct store *st = jobs->srv->store;
    /* The newest job of each type, and the newest that has finished (the last result). */
    sqlite3_stmt *types = store_stmt(
        st, "SELECT type, max(id) FROM jobs WHERE installation_id = ? GROUP BY type ORDER BY type");
    sqlite3_stmt *finished = store_stmt(
        st, "SELECT id FROM jobs WHERE installation_id = ?1 AND type = ?2 AND "
            "state IN ('done', 'dead', 'cancelled', 'skipped') ORDER BY id DESC LIMIT 1");
    json_object *arr = json_object_new_array();
    if (!types || !finished)
        return arr;
    sqlite3_bind_int64(types, 1, installation);
    while (sqlite3_step(types) == SQLITE_ROW) {
        json_object *o = json_object_new_object();
        const char *type = store_col_text(types, 0);
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(o, "latest", jobs_get(jobs, sqlite3_column_int64(types, 1)));
        sqlite3_bind_int64(finished, 1, installation);
        store_bind_text(finished, 2, type);
        int64_t last_id =
            sqlite3_step(finished) == SQLITE_ROW ? sqlite3_column_int64(finished, 0) : 0;
        sqlite3_reset(finished);
        json_object_object_add(o, "last_finished", last_id ? jobs_get(jobs, last_id) : NULL);
        json_object_array_add(arr, o);
    }
    sqlite3_reset(types);
    return arr;
}

json_object *jobs_get(struct jobs *jobs, int64_t job_id)
{
    sqlite3_stmt *q = store_stmt(jobs->srv->store, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?");
    if (!q)
        return NULL;
    sqlite3_bind_int64(q, 1, job_id);
    json_object *o = sqlite3_step(q) == SQLITE_ROW ? row_json(q) : NULL;
    sqlite3_reset(q);
    return o;
}

json_object *jobs_schedules(struct jobs *jobs, const char *plugin)
{
    json_object *arr = json_object_new_array();
    sqlite3_stmt *q = store_stmt(jobs->srv->store,
                                 "SELECT plugin, installation_id, name, interval_s, next_run_at, "
                                 "last_run_at FROM schedules WHERE (?1 IS NULL OR plugin = ?1) "
                                 "ORDER BY plugin, installation_id, name");
    if (!q)
        return arr;
    store_bind_text(q, 1, plugin);
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "plugin", json_object_new_string(store_col_text(q, 0)));
        json_object_object_add(o, "installation_id",
                               json_object_new_int64(sqlite3_column_int64(q, 1)));
        json_object_object_add(o, "name", json_object_new_string(store_col_text(q, 2)));
        json_object_object_add(o, "interval_s", json_object_new_int64(sqlite3_column_int64(q, 3)));
        json_object_object_add(o, "next_run_at",
                               json_object_new_int64(sqlite3_column_int64(q, 4)));
        json_object_object_add(o, "last_run_at",
                               sqlite3_column_type(q, 5) == SQLITE_NULL
                                   ? NULL
                                   : json_object_new_int64(sqlite3_column_int64(q, 5)));
        json_object_array_add(arr, o);
    }
    sqlite3_reset(q);
    return arr;
}

void jobs_counts(struct jobs *jobs, int64_t counts[JOB_STATES])
{
    /* Finished states can hold millions of rows: count only the ones an operator watches. */
    memset(counts, 0, JOB_STATES * sizeof counts[0]);
    static const int watched[] = {0, 1, 2, 5}; /* queued, waiting, running, dead */
    for (size_t i = 0; i < ARRAY_LEN(watched); i++) {
        sqlite3_stmt *q = store_stmt(jobs->srv->store, "SELECT count(*) FROM jobs WHERE state = ?");
        if (!q)
            return;
        sqlite3_bind_text(q, 1, job_state_names[watched[i]], -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            counts[watched[i]] = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
    }
}
