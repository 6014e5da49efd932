/*
 * jobs.c - the durable queue: insert, dispatch, run, finish, hold,
 * checkpoint, replay and cancel (schedules.c fires periodic jobs into it,
 * retention.c prunes its finished rows, jobs_admin.c shows them).
 *
 * State changes are group-committed in the commit turn (turn.h) at the end
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

#include "cluster.h"
#include "errors.h"
#include "hashmap.h"
#include "installations.h"
#include "job_outcome.h"
#include "log.h"
#include "plugins.h"
#include "product_events.h"
#include "server.h"
#include "store/store_jobs.h"
#include "turn.h"
#include "util.h"
#include "webhooks.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define UNAVAILABLE_DELAY_MS 60000
#define DUE_RECHECK_MS 10
#define DISPATCH_ROUND_MAX 256
/* A checkpoint is progress to resume from, not a document store. */
#define CHECKPOINT_MAX_BYTES 65536

const char *const job_state_names[JOB_STATES] = {"queued", "waiting", "running",   "pending",
                                                 "done",   "dead",    "cancelled", "skipped"};

struct running_job {
    struct jobs *jobs;
    int64_t id;
    struct sb_plugin *plugin;
    int64_t installation;
    char *key;                   /* NULL if the job has none */
    uint32_t attempt;
    uint32_t max_attempts;
    bool delivery;               /* a webhook delivery (its row is its event's) */
    struct event *pending_timer; /* set while the plugin owes a job_complete */
};

/* HELD: back to 'queued' for later without counting the run (product_events.h). */
enum outcome { OUTCOME_DONE, OUTCOME_RETRY, OUTCOME_DEAD, OUTCOME_SKIPPED, OUTCOME_HELD };

struct jobs {
    struct server *srv;
    struct hashmap *running; /* id -> running_job */
    int in_flight;
    bool dispatch_wanted;    /* the next turn runs a dispatch round */
    struct event *due_timer;
    struct event *retry_timer; /* the store failed: try again after a pause */
    struct store_job_result *done; /* outcomes waiting for the turn's write */
    size_t n_done, cap_done;
    size_t n_written;        /* the first n_written of done were written by the current turn */
    bool write_ok;
    size_t round_from, round_to; /* done[round_from, round_to): from this turn's dispatch round */
    bool results_owed;       /* results failed to be written: their rows may still say 'queued' */
    bool round_ran;          /* a dispatch round ran in this turn: what is due next changed */
    bool holding;            /* the store failed: nothing is handed out until retry_timer */
    bool stopped;
};

static void due_cb(evutil_socket_t fd, short what, void *arg);
static void retry_cb(evutil_socket_t fd, short what, void *arg);
static void drop_completions(struct jobs *jobs, size_t from, size_t to);
static void finish(struct jobs *jobs, struct running_job *rj, sb_status status,
                   const sb_result *result);

struct jobs *jobs_new(struct server *srv)
{
    struct jobs *jobs = xcalloc(1, sizeof *jobs);
    jobs->srv = srv;
    jobs->running = hashmap_new();
    jobs->due_timer = evtimer_new(srv->base, due_cb, jobs);
    jobs->retry_timer = evtimer_new(srv->base, retry_cb, jobs);
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
        turn_now(jobs->srv->turn);
    if (jobs->n_done) /* their jobs run again after the restart */
        log_error("jobs", "%zu job results could not be written before the stop", jobs->n_done);
    drop_completions(jobs, 0, jobs->n_done);
    turn_leave(jobs->srv->turn, jobs);
    hashmap_each(jobs->running, free_running, NULL);
    hashmap_free(jobs->running);
    event_free(jobs->due_timer);
    event_free(jobs->retry_timer);
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

/* ---- backoff and insertion ---- */

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
                          int64_t delay_ms, int max_attempts)
{
    int64_t now = time_now_ms();
    struct store_new_job job = {
        .plugin = plugin,
        .installation = installation,
        .type = type,
        .key = key,
        .payload = payload,
        .max_attempts = max_attempts,
        .run_at = now + (delay_ms > 0 ? delay_ms : 0),
        .created_at = now,
    };
    return store_job_insert(jobs->srv->store, &job);
}

int64_t jobs_insert(struct jobs *jobs, const char *plugin, int64_t installation, const char *type,
                    const char *key, json_object *payload, int64_t delay_ms)
{
    return insert_job(jobs, plugin, installation, type, key, payload, delay_ms,
                      jobs->srv->cfg->job_max_attempts);
}

int64_t jobs_insert_host(struct jobs *jobs, const char *plugin, int64_t installation,
                         const char *type, json_object *payload, int max_attempts)
{
    return insert_job(jobs, plugin, installation, type, NULL, payload, 0, max_attempts);
}

void jobs_kick(struct jobs *jobs)
{
    if (jobs->stopped)
        return;
    jobs->dispatch_wanted = true;
    turn_request(jobs->srv->turn);
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

/* Push a job back without counting an attempt (its plugin or installation is unavailable). */
static void postpone(struct jobs *jobs, int64_t id, const char *why)
{
    int64_t now = time_now_ms();
    store_job_postpone(jobs->srv->store, id, now + UNAVAILABLE_DELAY_MS, why, now);
}

static void cancel_job(struct jobs *jobs, const struct store_job_row *row, const char *why)
{
    struct store *st = jobs->srv->store;
    if (store_begin(st) != 0)
        return;
    int64_t now = time_now_ms();
    if (store_job_cancel(st, row->id, why, now) == 0
        && (!row->key
            || store_job_promote_next(st, row->plugin, row->installation, row->key, now) == 0))
        store_commit(st);
    else
        store_rollback(st);
}

/* Deliver a webhook job: the intake hands over its event, then on_event. */
static sb_status call_event(struct jobs *jobs, struct sb_plugin *p, const struct store_job_row *row,
                            sb_result *result)
{
    struct intake_event e;
    int found = intake_job_event(jobs->srv->intake, row->event_id, &e);
    if (found < 0)
        return sb_result_set(result, SB_RETRY, "cannot read the event");
    if (found == 0)
        return sb_result_set(result, SB_FAIL, "event %lld no longer exists",
                             (long long)row->event_id);
    if (!e.envelope) { /* (checked at intake: only a body changed in the database since) */
        intake_event_clear(&e);
        return sb_result_set(result, SB_FAIL, "event %lld: its stored body is not JSON",
                             (long long)row->event_id);
    }
    sb_event ev = {
        .job = (sb_job_id)row->id,
        .installation = row->installation,
        .topic = e.topic,
        .notification_id = e.notification_id,
        .created_at = e.created_at,
        .item = e.item,
        .envelope = e.envelope,
        .attempt = row->attempt,
        .checkpoint = row->checkpoint ? json_tokener_parse(row->checkpoint) : NULL,
    };
    sb_status st = p->desc.on_event(p->state, &ev, result);
    json_object_put(ev.checkpoint);
    intake_event_clear(&e);
    return st;
}

static sb_status call_job(struct sb_plugin *p, const struct store_job_row *row, sb_result *result)
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
    turn_scope_enter(srv->turn);
    finish(rj->jobs, rj, SB_RETRY, &result);
    turn_scope_leave(srv->turn);
}

static void run_job(struct jobs *jobs, struct store_job_row *row)
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
    rj->delivery = row->event_id != 0;
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
    /* The row's state for each outcome: HELD and RETRY are due again at run_at. */
    static const char *const states[] = {"done", "queued", "dead", "skipped", "queued"};
    struct store_job_result *c = &jobs->done[jobs->n_done++];
    c->id = rj->id;
    c->attempt = outcome == OUTCOME_HELD ? rj->attempt - 1 : rj->attempt;
    c->state = states[outcome];
    c->run_at = run_at;
    c->error = error && *error ? xstrdup(error) : NULL;
    c->error_code = c->error && error_code && *error_code ? xstrdup(error_code) : NULL;
    c->plugin = rj->key ? xstrdup(rj->plugin->name) : NULL;
    c->installation = rj->installation;
    c->key = rj->key ? xstrdup(rj->key) : NULL;
    c->delivery = rj->delivery;
    turn_request(jobs->srv->turn);
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
    return store_job_set_checkpoint(jobs->srv->store, rj->id, text);
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

/*
 * Mark the jobs of a round that are still running (their handlers said
 * PENDING). On a shared database, every job of the round: should its result
 * fail to be written in this turn, the row must not look queued to the other
 * nodes once the turn commits (this node retries the result; were it to die,
 * its lease hands the row over).
 */
static int mark_running(struct jobs *jobs, const struct store_job_row *rows, size_t n)
{
    struct store *st = jobs->srv->store;
    bool every = store_shared(st);
    struct store_job_run runs[DISPATCH_ROUND_MAX];
    size_t n_runs = 0;
    for (size_t i = 0; i < n; i++)
        if (every || hashmap_get_u64(jobs->running, rows[i].id))
            runs[n_runs++] = (struct store_job_run){rows[i].id, rows[i].attempt,
                                                    rows[i].event_id != 0};
    if (store_begin(st) != 0)
        return -1;
    if (store_jobs_mark_running(st, runs, n_runs, time_now_ms()) != 0) {
        store_rollback(st);
        return -1;
    }
    return store_commit(st);
}

static void arm_due_timer(struct jobs *jobs)
{
    int64_t run_at;
    if (store_jobs_next_due(jobs->srv->store, &run_at) == 1) {
        int64_t delay = run_at - time_now_ms();
        /* Due already: it became due after the round looked (the commit's fsync lies
           between), or no slot was free. Come back shortly rather than never. */
        arm_timer(jobs->due_timer, delay > 0 ? delay : DUE_RECHECK_MS);
    }
}

/* One round: hand out up to DISPATCH_ROUND_MAX due jobs; true if there may be more. */
static bool dispatch_round(struct jobs *jobs)
{
    int max = jobs->srv->cfg->job_max_in_flight;
    if (jobs->stopped || jobs->in_flight >= max)
        return false;
    size_t budget = (size_t)(max - jobs->in_flight);
    if (budget > DISPATCH_ROUND_MAX)
        budget = DISPATCH_ROUND_MAX;
    struct store_job_row *rows = xcalloc(budget, sizeof *rows);
    size_t n = store_jobs_due(jobs->srv->store, time_now_ms(), rows, budget);
    /*
     * Handlers, their writes and the marks go in the turn's commit (this runs
     * inside it). Nothing of the round is durable before that commit, so a
     * 'running' mark written ahead of the handlers would say nothing more: a
     * job whose handler finished at once goes from 'queued' to its outcome in
     * one write (its result, written later in this turn), and only the jobs
     * still running are marked, after their handlers returned (on a shared
     * database every one: mark_running).
     */
    for (size_t i = 0; i < n; i++)
        run_job(jobs, &rows[i]);
    if (n && mark_running(jobs, rows, n) != 0)
        log_error("jobs", "cannot mark %zu running jobs", n);
    for (size_t i = 0; i < budget; i++)
        store_job_row_clear(&rows[i]);
    free(rows);
    return n == budget;
}

static void completion_free(struct store_job_result *c)
{
    free(c->error);
    free(c->error_code);
    free(c->plugin);
    free(c->key);
}

/* Write the results collected so far (a savepoint of the turn's transaction). */
static void write_completions(struct jobs *jobs)
{
    jobs->n_written = jobs->n_done;
    jobs->write_ok = true;
    if (!jobs->n_written)
        return;
    struct store *st = jobs->srv->store;
    if (store_begin(st) != 0) {
        jobs->write_ok = false;
        return;
    }
    if (store_jobs_record_results(st, jobs->done, jobs->n_written, time_now_ms()) == 0
        && store_commit(st) == 0)
        return;
    if (store_in_transaction(st))
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

/* ---- the commit turn's participants (turn.h) ---- */

/* Dispatch: a round hands out due jobs; their handlers' writes and marks join the turn. */
static void dispatch_gather(void *arg)
{
    struct jobs *jobs = arg;
    jobs->round_from = jobs->round_to = jobs->n_done;
    /* While results are owed, their jobs may still look queued: handing them out would run them twice. */
    if (jobs->dispatch_wanted && !jobs->results_owed && !jobs->holding && !jobs->stopped
        && jobs->in_flight < jobs->srv->cfg->job_max_in_flight) {
        jobs->dispatch_wanted = false;
        jobs->round_ran = true;
        if (dispatch_round(jobs))
            jobs->dispatch_wanted = true;
        jobs->round_to = jobs->n_done;
    }
}

static void dispatch_settle(void *arg, bool committed)
{
    struct jobs *jobs = arg;
    if (!committed && jobs->round_to > jobs->round_from) {
        /* Their handlers' writes went with the turn and their rows are still
           queued: these jobs run again rather than being recorded as done. */
        log_error("jobs", "the commit failed: %zu jobs will run again",
                  jobs->round_to - jobs->round_from);
        drop_completions(jobs, jobs->round_from, jobs->round_to);
    }
}

/* Results: every outcome collected since the last turn (this round's too) is written. */
static void results_gather(void *arg)
{
    write_completions(arg);
}

static void results_settle(void *arg, bool committed)
{
    struct jobs *jobs = arg;
    bool written = jobs->n_written > 0;
    if (jobs->n_written) {
        if (jobs->write_ok && committed) {
            drop_completions(jobs, 0, jobs->n_written);
            jobs->results_owed = false;
            jobs->dispatch_wanted = true; /* retries due now, promoted successors */
        } else {
            /* Keep the results (but this round's, dropped by dispatch_settle) and try again
               shortly: losing them would re-run jobs. */
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
        turn_request(jobs->srv->turn);
    /* Only a round or results change what is due next (the rest kicks a round). */
    if (jobs->round_ran || written)
        arm_due_timer(jobs);
    jobs->round_ran = false;
}

void jobs_join_turn(struct jobs *jobs)
{
    turn_join(jobs->srv->turn, &(struct turn_participant){"job dispatch", dispatch_gather,
                                                          dispatch_settle, jobs, NULL, NULL});
    turn_join(jobs->srv->turn, &(struct turn_participant){"job results", results_gather,
                                                          results_settle, jobs, NULL, NULL});
}

/* ---- lifecycle ---- */

int jobs_start(struct jobs *jobs)
{
    struct server *srv = jobs->srv;
    /* A crash leaves 'running' and 'pending' rows whose outcome was never recorded: the
       rows of nodes that are gone (on SQLite, every earlier run: cluster.h) are queued. */
    int recovered = cluster_recover(srv->cluster);
    if (recovered < 0)
        return -1;
    if (recovered)
        log_info("jobs", "requeued %d jobs interrupted by the last shutdown", recovered);
    /* A key whose head job vanished (e.g. deleted by hand) must not wait forever. */
    store_jobs_release_stuck_keys(srv->store);
    jobs_kick(jobs);
    return 0;
}

void jobs_stop(struct jobs *jobs)
{
    jobs->stopped = true;
    evtimer_del(jobs->due_timer);
    evtimer_del(jobs->retry_timer);
    if (jobs->n_done)
        turn_now(jobs->srv->turn); /* stopped: writes the results, hands nothing out */
}

int jobs_in_flight(const struct jobs *jobs)
{
    return jobs->in_flight;
}

int jobs_replay(struct jobs *jobs, int64_t job_id, char *err, size_t errlen)
{
    int replayed = store_job_replay(jobs->srv->store, job_id, time_now_ms());
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
    /* In one transaction: each replay sees the ones before it, so dead jobs sharing a key
       queue up behind each other. */
    if (store_begin(st) != 0)
        return -1;
    int64_t replayed = store_jobs_replay_dead(st, plugin, time_now_ms());
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
    /* Product events are still delivered: they tell of what happened before. */
    return store_jobs_cancel_installation(jobs->srv->store, installation, time_now_ms());
}
