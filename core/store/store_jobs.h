/*
 * store_jobs.h - the durable queue's rows. Inserting a job, reading the due
 * ones, marking runs and recording outcomes (with the key's next job
 * promoted), holds, checkpoints, cancels and replays, the recovery after a
 * crash, the prune of finished jobs, and the admin views of the rows.
 *
 * The queue has two tables: jobs, and webhook deliveries - an events row
 * whose state is set (store_events.h inserts them: intake writes one row per
 * notification). Both share one id space, so a job id names one row of
 * either, and everything here that takes an id finds its table; a delivery
 * reads as a job of type "webhook" whose event_id is its own id. Keys order
 * rows within their table (a delivery's key is its item's).
 *
 * Every function runs in the caller's transaction, if one is open (the
 * commit turn's, a callback's scope, or none: its own statement). Failures
 * return -1 (or NULL, or 0 where an id is returned) after one log line.
 */
#ifndef SB_CORE_STORE_JOBS_H
#define SB_CORE_STORE_JOBS_H

#include "store/store.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the queue ---- */

struct store_new_job {
    const char *plugin;
    int64_t installation;
    const char *type;
    const char *key;     /* NULL: none */
    json_object *payload; /* NULL: none */
    int max_attempts;
    int64_t run_at;
    int64_t created_at;
};
/*
 * Insert a job: 'waiting' if a job of the same (plugin, installation, key) is
 * still active, 'queued' otherwise. Its id, or 0.
 */
int64_t store_job_insert(struct store *st, const struct store_new_job *job);

/* A runnable job as the dispatcher reads it. The strings are owned: store_job_row_clear. */
struct store_job_row {
    int64_t id;
    char *plugin;
    int64_t installation;
    char *type;
    char *key;        /* NULL if the job has none */
    char *payload;    /* JSON text, NULL if none */
    int64_t event_id; /* a webhook delivery: its event (= id); 0: a job */
    uint32_t attempt; /* this run's number: the attempts made so far + 1 */
    uint32_t max_attempts;
    char *checkpoint; /* what the plugin saved, NULL if nothing */
};
/*
 * On a shared database (store_shared), try to take the lock that orders one
 * key's rows across nodes, held until the transaction ends: whatever decides
 * whether a keyed row waits or runs (an insert, a promotion, a replay) takes
 * it first, so two nodes never decide for one key at once. It never waits
 * (two nodes' turns taking keys in different orders would deadlock): when
 * another transaction holds it, a new row waits and a promotion is left to
 * that transaction or to the next node's tick (store_jobs_release_stuck_keys).
 * 1: held (always on SQLite, whose one writer decides alone, and for no
 * key); 0: another transaction holds it; -1: failed.
 */
int store_key_lock(struct store *st, const char *plugin, int64_t installation, const char *key);

/* Up to max 'queued' jobs due at now, the earliest first, into rows: how many. */
size_t store_jobs_due(struct store *st, int64_t now, struct store_job_row *rows, size_t max);
void store_job_row_clear(struct store_job_row *row);
/* When the earliest 'queued' job is due: 1 (in *run_at), 0 if there is none, -1. */
int store_jobs_next_due(struct store *st, int64_t *run_at);

/* A run still going after its handler returned. */
struct store_job_run {
    int64_t id;
    uint32_t attempt;
    bool delivery; /* a webhook delivery (an events row) */
};
/* Mark runs 'running' with their attempt counts; -1 at the first failure. */
int store_jobs_mark_running(struct store *st, const struct store_job_run *runs, size_t n,
                            int64_t now);

/* The outcome of a run. The strings belong to the caller; the store only reads them. */
struct store_job_result {
    int64_t id;
    uint32_t attempt;  /* recorded as the job's attempts */
    const char *state; /* "done", "dead", "skipped", or "queued": due again at run_at */
    int64_t run_at;
    char *error;       /* NULL keeps the row's last error (and its code) */
    char *error_code;
    char *plugin;      /* with key: whose next job to promote once this one is final */
    int64_t installation;
    char *key;
    bool delivery;     /* a webhook delivery (an events row) */
};
/*
 * Record outcomes in order. After a final one (not 'queued') of a keyed job,
 * the oldest job waiting on its key becomes 'queued'. A checkpoint is cleared
 * when the job ends 'done' or 'skipped'. -1 at the first failure.
 */
int store_jobs_record_results(struct store *st, const struct store_job_result *results,
                              size_t n, int64_t now);
/*
 * A keyed job or delivery ended for good: the oldest one waiting on its key
 * (in either table) becomes 'queued' (0 or -1).
 */
int store_job_promote_next(struct store *st, const char *plugin, int64_t installation,
                           const char *key, int64_t now);

/* Back to 'queued', due at run_at, without counting an attempt, with why as its last error. */
int store_job_postpone(struct store *st, int64_t id, int64_t run_at, const char *why,
                       int64_t now);
/* One job 'cancelled' with why as its last error (its successor: store_job_promote_next). */
int store_job_cancel(struct store *st, int64_t id, const char *why, int64_t now);
/* Save (checkpoint NULL: clear) a job's checkpoint, JSON text. */
int store_job_set_checkpoint(struct store *st, int64_t id, const char *checkpoint);
/* Whether a job (not a delivery) of this (plugin, installation, key) is active: 1, 0, or -1. */
int store_job_key_active(struct store *st, const char *plugin, int64_t installation,
                         const char *key);
/*
 * Cancel the 'queued' and 'waiting' jobs and deliveries of an installation,
 * all but product deliveries (they tell of what happened before).
 */
int store_jobs_cancel_installation(struct store *st, int64_t installation, int64_t now);

/*
 * A dead, cancelled or skipped job back to 'queued' (or 'waiting' behind its
 * key's active job) with a fresh attempt count: 1 if it was one, 0 if not, -1.
 */
int store_job_replay(struct store *st, int64_t id, int64_t now);
/* Every dead job of a plugin replayed so, oldest first, each behind those before: how many, or -1. */
int64_t store_jobs_replay_dead(struct store *st, const char *plugin, int64_t now);

/*
 * A key with waiting jobs but no active one (its head deleted by hand, or,
 * on a shared database, one whose order a node could not settle at once:
 * store_key_lock): its oldest runs.
 */
int store_jobs_release_stuck_keys(struct store *st);

/*
 * Delete up to limit done, cancelled or skipped jobs finished before a time:
 * how many, or -1 (deliveries go with their events: store_events_prune).
 */
int store_jobs_prune_finished(struct store *st, int64_t finished_before, int limit);

/* ---- admin views ---- */

struct job_filter {
    const char *state, *plugin, *type; /* NULL: any */
    int64_t installation;              /* 0: any */
    int64_t before_id;                 /* the cursor: only older jobs; 0: from the newest */
    int limit;                         /* 0: 100 */
};
/* The jobs that match, newest first, as a JSON array (empty if the store failed). */
json_object *store_jobs_list(struct store *st, const struct job_filter *filter);
/* One job as JSON, NULL if there is none (or the store failed). */
json_object *store_job_get(struct store *st, int64_t id);
/* Each job type of an installation (by name) with its newest job's id; each's non-zero stops. */
int store_jobs_each_type(struct store *st, int64_t installation,
                         int (*each)(void *arg, const char *type, int64_t newest_id), void *arg);
/* The id of the newest finished job of this type, 0 if none, -1. */
int64_t store_job_newest_finished(struct store *st, int64_t installation, const char *type);
/* How many jobs are in a state, or -1. */
int64_t store_jobs_count_state(struct store *st, const char *state);

#endif
