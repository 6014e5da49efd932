/*
 * sd_run.h - one sync of one installation: a single durable job that walks
 * its phases in order and completes the job at the end.
 *
 *   companies      scroll every Intercom company; map companies to customers
 *   conversations  full: GET /conversations, incremental: POST
 *                  /conversations/search on updated_at; each conversation
 *                  becomes a ticket (or is skipped)
 *   skipped        conversations skipped earlier whose contact now matches a
 *                  user (or create_users was switched on) become tickets
 *   push           advanced_push: product values into Intercom attributes
 *   events         events_as_usage: Intercom events into usage events
 *
 * Progress is checkpointed in the "sync" collection ("checkpoint") in the
 * same transaction as the records each step writes, so a crash resumes the
 * run at its last committed step with the same counts and no duplicates.
 * The first run is full; later runs read what changed since the start of the
 * last successful run (less options.incremental_overlap_s for clock skew).
 */
#ifndef SD_RUN_H
#define SD_RUN_H

#include "sd_plugin.h"
#include "sd_records.h"

enum sd_phase {
    SD_PHASE_COMPANIES = 0,
    SD_PHASE_CONVERSATIONS,
    SD_PHASE_SKIPPED,
    SD_PHASE_PUSH,
    SD_PHASE_EVENTS,
    SD_PHASE_DONE
};

/** What a run did; checkpointed, so the counts survive a crash exactly. */
struct sd_counts {
    int64_t synced;             /* tickets written */
    int64_t created;            /* users created for unmatched contacts */
    int64_t skipped;            /* conversations skipped: no user matched */
    int64_t failed;             /* conversations that could not become tickets */
    int64_t companies;          /* companies read */
    int64_t customers_created;  /* customers created for unmatched companies */
    int64_t contacts_read;      /* contacts fetched to match by email */
    int64_t attributes_created; /* data attributes created in Intercom */
    int64_t contacts_updated;   /* contacts whose attributes were written */
    int64_t companies_updated;  /* companies whose attributes were written */
    int64_t contacts_linked;    /* users found in Intercom by search */
    int64_t push_failed;        /* attribute writes that Intercom refused */
    int64_t usage_events;       /* usage events imported */
    int64_t usage_unmatched;    /* events no usage mapping matched (not imported) */
};

struct sd_run {
    struct sd_plugin *sd;
    struct sd_run *next;
    sb_installation_id inst;
    sb_job_id job;
    struct sd_settings settings;
    char *workspace_id;
    char *region;
    struct sd_env env;           /* records view for this run's installation */

    /* checkpointed */
    char *id;                    /* the run's start time in ms, as text */
    bool full;
    int64_t since_s;             /* incremental: conversations updated after this */
    int64_t started_ms;
    enum sd_phase phase;
    char *cursor;                /* where the current phase resumes; NULL: its start */
    struct sd_counts counts;
    int64_t pages;               /* conversation pages committed */
    int64_t conversations;       /* conversations read */
    int64_t total;               /* conversations to read, as Intercom counted them */
    json_object *warnings;       /* array of strings: phases that could not finish */

    /* in flight */
    sb_status stop_status;       /* SB_OK, or why the current walk was stopped */
    char stop_reason[256];
    int ops;                     /* requests and walks whose callbacks are still due */
    bool abandoned;              /* the host cancelled our work (shutdown) */
    sb_timer_id timer;           /* a later step is due (sd_run_later) */
    void (*later)(struct sd_run *run);
    void *phase_state;           /* owned by the current phase */
    void (*phase_state_free)(void *state);
};

/** on_job for the "sync" job type. */
sb_status sd_sync_job(struct sd_plugin *sd, const sb_job *job, sb_result *result);

/** The running sync of an installation, or NULL. */
struct sd_run *sd_run_find(struct sd_plugin *sd, sb_installation_id inst);
/** Free every run without completing its job (shutdown: the host re-queues the jobs). */
void sd_run_free_all(struct sd_plugin *sd);

/** The checkpoint document of a run (also what the status route shows as progress). */
json_object *sd_run_checkpoint(const struct sd_run *run);
/** Write the checkpoint; call it inside the transaction that commits the step. */
int sd_run_save(struct sd_run *run);
/** Replace the phase cursor (NULL: the phase's start). */
void sd_run_set_cursor(struct sd_run *run, const char *cursor);

/** The current phase finished: move to the next one (or finish the run). */
void sd_run_phase_done(struct sd_run *run);
/** Note that a phase could not finish; the run goes on and ends "partial". */
void sd_run_warn(struct sd_run *run, const char *fmt, ...) SB_PRINTF(2, 3);
/** Stop the current walk for a reason its done callback then ends the run with. */
void sd_run_stop_with(struct sd_run *run, sb_status status, const char *reason);
/** End the run: the job gets @p status (RETRY resumes from the checkpoint). */
void sd_run_fail(struct sd_run *run, sb_status status, const char *fmt, ...) SB_PRINTF(3, 4);
/**
 * How a failed Intercom call ends a run, with why in @p message: FAIL when the installation
 * was lost (the workspace must install again), else the host's classifier (result_from_error).
 */
sb_status sd_run_classify(struct sd_run *run, const sb_intercom_response *res, const char *what,
                          char *message, size_t len);
/** The failure says the installation cannot act any more (token gone, or revoked). */
bool sd_installation_lost(const sb_intercom_response *res);
/** End the run because of a failed Intercom call (chooses RETRY or FAIL by its error). */
void sd_run_fail_response(struct sd_run *run, const sb_intercom_response *res, const char *what);

/** An Intercom call or walk is about to be made for the run. */
void sd_run_op_begin(struct sd_run *run);
/**
 * Its callback arrived. Returns true when the caller must drop the result
 * and not touch the run any more: the host cancelled the run's work (the run
 * is freed once its last callback arrived). A "cancelled" response marks the
 * run abandoned.
 */
bool sd_run_op_end(struct sd_run *run, const sb_intercom_response *res);

/** Call @p fn(run) on a later loop turn (between batches, so the loop stays responsive). */
void sd_run_later(struct sd_run *run, void (*fn)(struct sd_run *run));

/** Run @p fn(run, arg) in one transaction; 0 on commit. */
int sd_run_transaction(struct sd_run *run, int (*fn)(void *arg), void *arg);

#endif
