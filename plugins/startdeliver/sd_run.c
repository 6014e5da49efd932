/* sd_run.c - a sync run: start or resume, phases in order, checkpoint, finish. */
#include "sd_run.h"

#include "sd_phases.h"
#include "sd_util.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_names[] = {"companies", "conversations", "skipped",
                                          "push",      "events",        "done"};

static const struct {
    const char *name;
    size_t offset;
} count_fields[] = {
    {"synced", offsetof(struct sd_counts, synced)},
    {"created", offsetof(struct sd_counts, created)},
    {"skipped", offsetof(struct sd_counts, skipped)},
    {"failed", offsetof(struct sd_counts, failed)},
    {"companies", offsetof(struct sd_counts, companies)},
    {"customers_created", offsetof(struct sd_counts, customers_created)},
    {"contacts_read", offsetof(struct sd_counts, contacts_read)},
    {"attributes_created", offsetof(struct sd_counts, attributes_created)},
    {"contacts_updated", offsetof(struct sd_counts, contacts_updated)},
    {"companies_updated", offsetof(struct sd_counts, companies_updated)},
    {"contacts_linked", offsetof(struct sd_counts, contacts_linked)},
    {"push_failed", offsetof(struct sd_counts, push_failed)},
    {"usage_events", offsetof(struct sd_counts, usage_events)},
    {"usage_unmatched", offsetof(struct sd_counts, usage_unmatched)},
};

static int64_t *count_at(struct sd_counts *c, size_t i)
{
    return (int64_t *)((char *)c + count_fields[i].offset);
}

static json_object *counts_json(const struct sd_counts *counts)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < PK_ARRAY_LEN(count_fields); i++)
        sb_json_add_int(o, count_fields[i].name, *count_at((struct sd_counts *)counts, i));
    return o;
}

static void counts_load(json_object *o, struct sd_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    for (size_t i = 0; i < PK_ARRAY_LEN(count_fields); i++)
        *count_at(counts, i) = sb_json_int(o, count_fields[i].name, 0);
}

static enum sd_phase phase_parse(const char *name)
{
    for (size_t i = 0; name && i < PK_ARRAY_LEN(phase_names); i++)
        if (strcmp(name, phase_names[i]) == 0)
            return (enum sd_phase)i;
    return SD_PHASE_COMPANIES;
}

/* ---- the list of runs ---- */

struct sd_run *sd_run_find(struct sd_plugin *sd, sb_installation_id inst)
{
    for (struct sd_run *r = sd->runs; r; r = r->next)
        if (r->inst == inst)
            return r;
    return NULL;
}

static void unlink_run(struct sd_run *run)
{
    for (struct sd_run **pp = &run->sd->runs; *pp; pp = &(*pp)->next) {
        if (*pp == run) {
            *pp = run->next;
            run->next = NULL;
            return;
        }
    }
}

static void destroy(struct sd_run *run)
{
    if (run->timer)
        run->sd->host->timer_cancel(run->sd->self, run->timer);
    if (run->phase_state_free)
        run->phase_state_free(run->phase_state);
    json_object_put(run->warnings);
    free(run->workspace_id);
    free(run->region);
    free(run->id);
    free(run->cursor);
    free(run);
}

/* The run is over for its job: free it now, or when its last callback arrives. */
static void release(struct sd_run *run)
{
    unlink_run(run);
    if (run->ops > 0)
        run->abandoned = true;
    else
        destroy(run);
}

void sd_run_free_all(struct sd_plugin *sd)
{
    while (sd->runs) {
        struct sd_run *run = sd->runs;
        sd->runs = run->next;
        destroy(run);
    }
}

void sd_run_op_begin(struct sd_run *run)
{
    run->ops++;
}

bool sd_run_op_end(struct sd_run *run, const sb_intercom_response *res)
{
    run->ops--;
    if (!run->abandoned && res && res->error_code && strcmp(res->error_code, "cancelled") == 0) {
        /* Only the host cancels our work, when it shuts the plugin down: leave the job
           to be re-queued at the next start, where the checkpoint resumes it. */
        run->abandoned = true;
        unlink_run(run);
    }
    if (!run->abandoned)
        return false;
    if (run->ops == 0)
        destroy(run);
    return true;
}

/* ---- checkpoint ---- */

json_object *sd_run_checkpoint(const struct sd_run *run)
{
    json_object *o = json_object_new_object();
    sb_json_add_str(o, "run", run->id);
    sb_json_add_str(o, "mode", run->full ? "full" : "incremental");
    sb_json_add_int(o, "since", run->since_s);
    sb_json_add_int(o, "started_at", run->started_ms);
    sb_json_add_str(o, "phase", phase_names[run->phase]);
    sb_json_add_str(o, "cursor", run->cursor);
    json_object_object_add(o, "counts", counts_json(&run->counts));
    json_object *progress = json_object_new_object();
    sb_json_add_int(progress, "pages", run->pages);
    sb_json_add_int(progress, "conversations", run->conversations);
    sb_json_add_int(progress, "total", run->total);
    json_object_object_add(o, "progress", progress);
    json_object_object_add(o, "warnings", json_object_get(run->warnings));
    return o;
}

int sd_run_save(struct sd_run *run)
{
    json_object *checkpoint = sd_run_checkpoint(run);
    /* The job carries it too, so the admin API shows the run's progress like any job's. */
    if (run->job && run->sd->host->job_checkpoint(run->sd->self, run->job, checkpoint) != 0) {
        json_object_put(checkpoint);
        return -1;
    }
    return sd_put_owned(run->sd, run->inst, SD_SYNC, "checkpoint", checkpoint);
}

static void load_checkpoint(struct sd_run *run, json_object *cp)
{
    run->id = pk_xstrdup(sb_json_str(cp, "run") ? sb_json_str(cp, "run") : "0");
    const char *mode = sb_json_str(cp, "mode");
    run->full = !mode || strcmp(mode, "full") == 0;
    run->since_s = sb_json_int(cp, "since", 0);
    run->started_ms = sb_json_int(cp, "started_at", 0);
    run->phase = phase_parse(sb_json_str(cp, "phase"));
    run->cursor = sd_strdup_or_null(sb_json_str(cp, "cursor"));
    counts_load(sb_json_obj(cp, "counts"), &run->counts);
    json_object *progress = sb_json_obj(cp, "progress");
    run->pages = sb_json_int(progress, "pages", 0);
    run->conversations = sb_json_int(progress, "conversations", 0);
    run->total = sb_json_int(progress, "total", 0);
    json_object *warnings = sb_json_arr(cp, "warnings");
    run->warnings = warnings ? json_object_get(warnings) : json_object_new_array();
}

void sd_run_set_cursor(struct sd_run *run, const char *cursor)
{
    char *copy = sd_strdup_or_null(cursor);
    free(run->cursor);
    run->cursor = copy;
}

int sd_run_transaction(struct sd_run *run, int (*fn)(void *arg), void *arg)
{
    return run->sd->host->transaction(run->sd->self, fn, arg);
}

/* ---- finishing ---- */

static json_object *last_doc(const struct sd_run *run, const char *result, const char *error)
{
    json_object *o = json_object_new_object();
    sb_json_add_str(o, "run", run->id);
    sb_json_add_str(o, "mode", run->full ? "full" : "incremental");
    sb_json_add_int(o, "started_at", run->started_ms);
    sb_json_add_int(o, "finished_at", run->sd->host->now_ms(run->sd->self));
    sb_json_add_str(o, "result", result);
    sb_json_add_str(o, "error", error);
    json_object_object_add(o, "counts", counts_json(&run->counts));
    json_object_object_add(o, "warnings", json_object_get(run->warnings));
    return o;
}

static int count_doc(void *arg, const char *key, json_object *value)
{
    (void)key;
    (void)value;
    (*(int64_t *)arg)++;
    return 0;
}

static int64_t count_collection(struct sd_run *run, const char *collection)
{
    int64_t n = 0;
    run->sd->host->doc_list(run->sd->self, run->inst, collection, NULL, NULL, 0, 0, count_doc, &n);
    return n;
}

static int finish_tx(void *arg)
{
    struct sd_run *run = arg;
    const char *result = json_object_array_length(run->warnings) ? "partial" : "ok";
    json_object *last = last_doc(run, result, NULL);
    json_object *totals = json_object_new_object();
    static const char *const collections[] = {SD_TICKETS, SD_SKIPPED, SD_USERS, SD_CUSTOMERS};
    for (size_t i = 0; i < PK_ARRAY_LEN(collections); i++)
        sb_json_add_int(totals, collections[i], count_collection(run, collections[i]));
    json_object_object_add(last, "totals", totals);
    json_object *watermark = json_object_new_object();
    sb_json_add_str(watermark, "run", run->id);
    sb_json_add_int(watermark, "started_at", run->started_ms);
    if (sd_put_owned(run->sd, run->inst, SD_SYNC, "last", last) != 0
        || sd_put_owned(run->sd, run->inst, SD_SYNC, "watermark", watermark) != 0
        || sd_delete(run->sd, run->inst, SD_SYNC, "checkpoint") != 0)
        return -1;
    return 0;
}

static void complete_job(struct sd_run *run, sb_status status, const char *message)
{
    sb_result result = {0};
    if (message)
        snprintf(result.message, sizeof result.message, "%s", message);
    if (run->sd->host->job_complete(run->sd->self, run->job, status, &result) != 0)
        run->sd->host->log(run->sd->self, SB_LOG_WARN,
                           "sync of installation %lld: job %llu was no longer running",
                           (long long)run->inst, (unsigned long long)run->job);
}

static void finish(struct sd_run *run)
{
    struct sd_plugin *sd = run->sd;
    if (sd_run_transaction(run, finish_tx, run) != 0) {
        sd_run_fail(run, SB_RETRY, "cannot record the end of the sync");
        return;
    }
    char detail[256];
    snprintf(detail, sizeof detail,
             "%s sync: %lld synced, %lld created, %lld skipped, %lld failed%s",
             run->full ? "full" : "incremental", (long long)run->counts.synced,
             (long long)run->counts.created, (long long)run->counts.skipped,
             (long long)run->counts.failed,
             json_object_array_length(run->warnings) ? " (partial: see warnings)" : "");
    sd->host->audit(sd->self, run->inst, "sync", "finished", detail);
    sd->host->log(sd->self, SB_LOG_INFO, "installation %lld: %s in %lld ms", (long long)run->inst,
                  detail, (long long)(sd->host->now_ms(sd->self) - run->started_ms));
    complete_job(run, SB_OK, NULL);
    release(run);
}

void sd_run_fail(struct sd_run *run, sb_status status, const char *fmt, ...)
{
    struct sd_plugin *sd = run->sd;
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* A retried job resumes from the checkpoint. A permanent failure drops it instead, so
       the next run starts afresh (from the last successful run) rather than failing on the
       same step again; nothing is lost, it is only read again. */
    sd_put_owned(sd, run->inst, SD_SYNC, "last", last_doc(run, "failed", message));
    if (status == SB_FAIL)
        sd_delete(sd, run->inst, SD_SYNC, "checkpoint");
    sd->host->audit(sd->self, run->inst, "sync", "failed", message);
    sd->host->log(sd->self, SB_LOG_WARN, "installation %lld: sync failed in phase %s: %s",
                  (long long)run->inst, phase_names[run->phase], message);
    complete_job(run, status, message);
    release(run);
}

sb_status sd_run_classify(struct sd_run *run, const sb_intercom_response *res, const char *what,
                          char *message, size_t len)
{
    if (sd_installation_lost(res)) {
        /* A run does not wait for the workspace to install again: it ends, and the next run
           starts from the last successful one. */
        snprintf(message, len, "%s: the installation needs to be installed again (%s)", what,
                 sb_error_kind_name(res->kind));
        return SB_FAIL;
    }
    sb_result result = {0};
    sb_status status = run->sd->host->result_from_error(run->sd->self, res, what, &result);
    snprintf(message, len, "%s", result.message);
    return status;
}

bool sd_installation_lost(const sb_intercom_response *res)
{
    return res->kind == SB_ERR_NEEDS_REAUTH || res->kind == SB_ERR_REVOKED;
}

void sd_run_fail_response(struct sd_run *run, const sb_intercom_response *res, const char *what)
{
    char message[256];
    sb_status status = sd_run_classify(run, res, what, message, sizeof message);
    sd_run_fail(run, status, "%s", message);
}

void sd_run_stop_with(struct sd_run *run, sb_status status, const char *reason)
{
    run->stop_status = status;
    snprintf(run->stop_reason, sizeof run->stop_reason, "%s", reason);
}

void sd_run_warn(struct sd_run *run, const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_object_array_add(run->warnings, json_object_new_string(message));
    run->sd->host->log(run->sd->self, SB_LOG_WARN, "installation %lld: %s", (long long)run->inst,
                       message);
    run->sd->host->audit(run->sd->self, run->inst, "sync", "warning", message);
}

/* ---- phases ---- */

static bool phase_enabled(const struct sd_run *run, enum sd_phase phase)
{
    switch (phase) {
    case SD_PHASE_PUSH:
        return run->settings.advanced_push;
    case SD_PHASE_EVENTS:
        return run->settings.events_as_usage;
    default:
        return true;
    }
}

static void start_phase(struct sd_run *run)
{
    switch (run->phase) {
    case SD_PHASE_COMPANIES:
        sd_companies_start(run);
        break;
    case SD_PHASE_CONVERSATIONS:
        sd_conversations_start(run);
        break;
    case SD_PHASE_SKIPPED:
        sd_skipped_start(run);
        break;
    case SD_PHASE_PUSH:
        sd_push_start(run);
        break;
    case SD_PHASE_EVENTS:
        sd_events_start(run);
        break;
    case SD_PHASE_DONE:
    default:
        finish(run);
        break;
    }
}

void sd_run_phase_done(struct sd_run *run)
{
    if (run->phase_state_free)
        run->phase_state_free(run->phase_state);
    run->phase_state = NULL;
    run->phase_state_free = NULL;
    do
        run->phase++;
    while (run->phase < SD_PHASE_DONE && !phase_enabled(run, run->phase));
    sd_run_set_cursor(run, NULL);
    if (run->phase < SD_PHASE_DONE && sd_run_save(run) != 0) {
        sd_run_fail(run, SB_RETRY, "cannot record the sync's progress");
        return;
    }
    start_phase(run);
}

/* ---- later ---- */

static void later_cb(void *arg)
{
    struct sd_run *run = arg;
    void (*fn)(struct sd_run *) = run->later;
    run->timer = 0;
    run->later = NULL;
    fn(run);
}

void sd_run_later(struct sd_run *run, void (*fn)(struct sd_run *run))
{
    run->later = fn;
    run->timer = run->sd->host->timer_add(run->sd->self, 0, later_cb, run);
    if (!run->timer)
        sd_run_fail(run, SB_RETRY, "cannot schedule the next step");
}

/* ---- the job ---- */

static struct sd_run *new_run(struct sd_plugin *sd, const sb_job *job,
                              const sb_installation *inst)
{
    struct sd_run *run = pk_xcalloc(1, sizeof *run);
    run->sd = sd;
    run->inst = job->installation;
    run->job = job->id;
    run->workspace_id = pk_xstrdup(inst->workspace_id ? inst->workspace_id : "");
    run->region = pk_xstrdup(inst->region ? inst->region : "US");
    sd_settings_of(sd, job->installation, &run->settings);
    run->env = (struct sd_env){sd, run->inst, &run->settings, run->workspace_id, run->region,
                               NULL};
    return run;
}

sb_status sd_sync_job(struct sd_plugin *sd, const sb_job *job, sb_result *result)
{
    if (!job->installation)
        return sb_result_set(result, SB_FAIL, "a sync needs an installation");
    struct sd_run *running = sd_run_find(sd, job->installation);
    if (running) {
        /* The host gave up waiting for the job (jobs.pending_timeout_s) and ran it again
           while the walk goes on: the new delivery takes over the same run. */
        sd->host->log(sd->self, SB_LOG_INFO,
                      "installation %lld: job %llu joins the sync already running",
                      (long long)job->installation, (unsigned long long)job->id);
        running->job = job->id;
        return SB_PENDING;
    }
    sb_installation inst;
    if (sd->host->installation_get(sd->self, job->installation, &inst) != 0)
        return sb_result_set(result, SB_FAIL, "installation %lld is unknown",
                             (long long)job->installation);
    if (inst.state != SB_INSTALLATION_ACTIVE)
        return sb_result_set(result, SB_FAIL, "installation %lld is not active",
                             (long long)job->installation);

    struct sd_run *run = new_run(sd, job, &inst);
    json_object *cp = sd_get(sd, run->inst, SD_SYNC, "checkpoint");
    if (cp) {
        load_checkpoint(run, cp);
        json_object_put(cp);
        sd->host->log(sd->self, SB_LOG_INFO,
                      "installation %lld: resuming %s sync %s in phase %s (%lld conversations "
                      "read)",
                      (long long)run->inst, run->full ? "full" : "incremental", run->id,
                      phase_names[run->phase], (long long)run->conversations);
    } else {
        json_object *mark = sd_get(sd, run->inst, SD_SYNC, "watermark");
        run->started_ms = sd->host->now_ms(sd->self);
        run->id = pk_xasprintf("%lld", (long long)run->started_ms);
        run->full = !mark || sb_json_bool(job->payload, "full", false);
        if (!run->full) {
            /* Intercom's times are whole seconds: an update in the very second the last run
               started may have come after its read, so that second is read again. */
            run->since_s =
                sb_json_int(mark, "started_at", 0) / 1000 - 1 - sd->incremental_overlap_s;
            if (run->since_s < 0)
                run->since_s = 0;
        }
        json_object_put(mark);
        run->warnings = json_object_new_array();
        run->phase = SD_PHASE_COMPANIES;
        if (sd_run_save(run) != 0) {
            destroy(run);
            return sb_result_set(result, SB_RETRY, "cannot record the start of the sync");
        }
        sd->host->log(sd->self, SB_LOG_INFO, "installation %lld: %s sync %s started",
                      (long long)run->inst, run->full ? "full" : "incremental", run->id);
    }
    const char *mismatch = sd_region_mismatch(&run->settings, run->region);
    if (mismatch)
        sd->host->log(sd->self, SB_LOG_WARN, "installation %lld: %s", (long long)run->inst,
                      mismatch);
    run->next = sd->runs;
    sd->runs = run;
    /* Phases call back later; even one that finishes at once completes the job through
       job_complete, which the host accepts inside the handler. */
    run->env.run_id = run->id;
    if (phase_enabled(run, run->phase))
        start_phase(run);
    else
        sd_run_phase_done(run); /* resumed in a phase its settings have switched off since */
    return SB_PENDING;
}
