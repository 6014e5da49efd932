/*
 * jobs.c - the durable job queue as plugins see it: job_enqueue records,
 * the test runs what is due (same-key jobs one at a time, in creation
 * order), statuses end jobs as the host ends them, checkpoints come back on
 * the next attempt. Webhook deliveries are jobs that call on_event.
 */
#include "kit.h"

#include "abi.h"
#include "job_outcome.h"

#include <stdlib.h>
#include <string.h>

struct kit_job *kit_job(struct sbt_kit *kit, sb_job_id id)
{
    for (size_t i = 0; i < kit->n_jobs; i++)
        if (kit->jobs[i]->pub.id == id)
            return kit->jobs[i];
    return NULL;
}

static void job_free(struct kit_job *job)
{
    free(job->type);
    free(job->key);
    free(job->notification_id);
    json_object_put(job->pub.payload);
    json_object_put(job->pub.checkpoint);
    json_object_put(job->envelope);
    free(job);
}

void kit_job_remove(struct sbt_kit *kit, sb_job_id id)
{
    for (size_t i = 0; i < kit->n_jobs; i++)
        if (kit->jobs[i]->pub.id == id) {
            job_free(kit->jobs[i]);
            memmove(&kit->jobs[i], &kit->jobs[i + 1], (kit->n_jobs - i - 1) * sizeof *kit->jobs);
            kit->n_jobs--;
            return;
        }
}

static struct kit_job *job_add(struct sbt_kit *kit, sb_installation_id inst, const char *type,
                               const char *key, json_object *payload, uint32_t delay_s)
{
    struct kit_job *job = xcalloc(1, sizeof *job);
    job->type = xstrdup(type);
    job->key = key ? xstrdup(key) : NULL;
    json_object *copy = NULL;
    if (payload)
        json_object_deep_copy(payload, &copy, NULL);
    job->pub = (sbt_job){.id = ++kit->next_job_id, .installation = inst, .type = job->type,
                         .key = job->key, .payload = copy, .state = SBT_JOB_QUEUED,
                         .due_ms = kit->now_ms + (int64_t)delay_s * 1000};
    job->created_at = kit->now_ms / 1000;
    KIT_PUSH(kit, jobs, job);
    kit_undo_push(kit, (struct undo){.kind = UNDO_JOB_ADDED, .job = job->pub.id});
    return job;
}

/* How a status ends (or requeues) a job: the host's rule (core/job_outcome.c). */
static void job_settle(struct sbt_kit *kit, struct kit_job *job, sb_status status,
                       const sb_result *result)
{
    sbt_job *j = &job->pub;
    j->status = status;
    j->result = *result;
    if (status == SB_PENDING) { /* the handler finishes it later, with job_complete */
        j->state = SBT_JOB_PENDING;
        return;
    }
    switch (job_outcome_of(status, result, j->attempt, kit->max_attempts)) {
    case JOB_OUTCOME_DONE:
        j->state = SBT_JOB_DONE;
        break;
    case JOB_OUTCOME_RETRY: {
        uint32_t wait_s = result->retry_after_s ? result->retry_after_s
                                                : 1u << (j->attempt < 20 ? j->attempt - 1 : 19);
        j->state = SBT_JOB_QUEUED;
        j->due_ms = kit->now_ms + (int64_t)wait_s * 1000;
        return;
    }
    case JOB_OUTCOME_SKIPPED:
        j->state = SBT_JOB_SKIPPED;
        break;
    case JOB_OUTCOME_EXHAUSTED:
    case JOB_OUTCOME_FAILED:
        j->state = SBT_JOB_DEAD;
        break;
    }
    /* A checkpoint lives until the job ends ok or skipped (a dead job keeps it for a replay). */
    if (j->state == SBT_JOB_DONE || j->state == SBT_JOB_SKIPPED) {
        json_object_put(j->checkpoint);
        j->checkpoint = NULL;
    }
}

static void job_run(struct sbt_kit *kit, struct kit_job *job)
{
    sbt_job *j = &job->pub;
    j->attempt++;
    j->completed = false;
    j->state = SBT_JOB_PENDING; /* running: job_complete and job_checkpoint are allowed */
    sb_result *result = kit_fresh_result(kit);
    sb_status status;
    if (j->webhook) {
        sb_event event = {
            .job = j->id,
            .installation = j->installation,
            .topic = j->type,
            .notification_id = job->notification_id,
            .created_at = job->created_at,
            .item = j->payload,
            .envelope = job->envelope,
            .attempt = j->attempt,
            .checkpoint = j->checkpoint,
        };
        status = kit->desc.on_event(kit->state, &event, result);
    } else {
        sb_job run = {
            .id = j->id,
            .installation = j->installation,
            .type = j->type,
            .key = j->key,
            .payload = j->payload,
            .attempt = j->attempt,
            .checkpoint = j->checkpoint,
        };
        status = kit->desc.on_job(kit->state, &run, result);
    }
    /* job_complete() inside the handler already settled it. */
    if (!j->completed)
        job_settle(kit, job, status, result);
}

/* Due, and no older unfinished job with the same key comes first. */
static bool runnable(const struct sbt_kit *kit, size_t i)
{
    const sbt_job *j = &kit->jobs[i]->pub;
    if (j->state != SBT_JOB_QUEUED || j->due_ms > kit->now_ms)
        return false;
    for (size_t k = 0; j->key && k < i; k++) {
        const sbt_job *older = &kit->jobs[k]->pub;
        if (older->key && strcmp(older->key, j->key) == 0
            && (older->state == SBT_JOB_QUEUED || older->state == SBT_JOB_PENDING))
            return false;
    }
    return true;
}

sb_job_id sbt_run_next(sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_jobs; i++)
        if (runnable(kit, i)) {
            struct kit_job *job = kit->jobs[i];
            job_run(kit, job);
            return job->pub.id;
        }
    return 0;
}

size_t sbt_run_due(sbt_kit *kit)
{
    size_t ran = 0;
    while (sbt_run_next(kit))
        ran++;
    return ran;
}

static bool can_run(struct sbt_kit *kit, sb_installation_id inst, bool webhook)
{
    if (!kit->started) {
        kit_log(kit, SB_LOG_ERROR, "the plugin is not started (sbt_start)");
        return false;
    }
    if (webhook ? !kit->desc.on_event : !kit->desc.on_job) {
        kit_log(kit, SB_LOG_ERROR, "the plugin has no %s", webhook ? "on_event" : "on_job");
        return false;
    }
    return kit_own_installation(kit, inst, webhook ? "webhook" : "job");
}

sb_job_id sbt_webhook(sbt_kit *kit, sb_installation_id inst, const char *topic,
                      const char *item_json)
{
    struct kit_installation *installation = kit_installation(kit, inst);
    if (!topic || !installation || !can_run(kit, inst, true))
        return 0;
    json_object *item = kit_parse(item_json ? item_json : "{}", "webhook item");
    struct kit_job *job = job_add(kit, inst, topic, NULL, NULL, 0);
    job->pub.webhook = true;
    job->pub.payload = json_object_get(item); /* shared with the envelope's data.item */
    job->notification_id = xasprintf("notif_%llu", (unsigned long long)job->pub.id);
    job->envelope = json_object_new_object();
    json_object *data = json_object_new_object();
    json_object_object_add(data, "type", json_object_new_string("notification_event_data"));
    json_object_object_add(data, "item", item);
    json_object_object_add(job->envelope, "type", json_object_new_string("notification_event"));
    json_object_object_add(job->envelope, "app_id",
                           json_object_new_string(installation->workspace_id));
    json_object_object_add(job->envelope, "id", json_object_new_string(job->notification_id));
    json_object_object_add(job->envelope, "topic", json_object_new_string(topic));
    json_object_object_add(job->envelope, "created_at", json_object_new_int64(job->created_at));
    json_object_object_add(job->envelope, "data", data);
    job_run(kit, job);
    return job->pub.id;
}

sb_job_id sbt_job_run(sbt_kit *kit, sb_installation_id inst, const char *type, const char *key,
                      const char *payload_json)
{
    if (!type || !*type || !can_run(kit, inst, false))
        return 0;
    json_object *payload = kit_parse(payload_json, "job payload");
    struct kit_job *job = job_add(kit, inst, type, key, payload, 0);
    json_object_put(payload);
    job_run(kit, job);
    return job->pub.id;
}

sb_job_id sbt_schedule_run(sbt_kit *kit, sb_installation_id inst, const char *name)
{
    for (const sb_schedule *s = kit->schedules; s && s->name; s++)
        if (name && strcmp(s->name, name) == 0)
            return sbt_job_run(kit, inst, name, NULL, NULL);
    kit_log(kit, SB_LOG_ERROR, "the plugin declares no schedule '%s'", name ? name : "(null)");
    return 0;
}

const sbt_job *sbt_job_get(const sbt_kit *kit, sb_job_id id)
{
    struct kit_job *job = kit_job((struct sbt_kit *)kit, id);
    return job ? &job->pub : NULL;
}

size_t sbt_job_count(const sbt_kit *kit)
{
    return kit->n_jobs;
}

const sbt_job *sbt_job_at(const sbt_kit *kit, size_t i)
{
    return i < kit->n_jobs ? &kit->jobs[i]->pub : NULL;
}

size_t sbt_jobs_in_state(const sbt_kit *kit, const char *type, sbt_job_state state)
{
    size_t n = 0;
    for (size_t i = 0; i < kit->n_jobs; i++)
        n += kit->jobs[i]->pub.state == state && (!type || strcmp(kit->jobs[i]->type, type) == 0);
    return n;
}

void sbt_set_max_attempts(sbt_kit *kit, uint32_t attempts)
{
    kit->max_attempts = attempts ? attempts : 1;
}

/* ---- the services ---- */

static sb_job_id h_job_enqueue(sb_plugin *self, sb_installation_id inst, const char *type,
                               const char *key, json_object *payload, uint32_t delay_s)
{
    struct sbt_kit *kit = kit_of(self, "job_enqueue");
    if (!kit)
        return 0;
    if (!kit->desc.on_job) {
        kit_log(kit, SB_LOG_WARN, "the plugin enqueued a job but has no on_job handler");
        return 0;
    }
    if (!type || !*type || !kit_own_installation(kit, inst, "job_enqueue"))
        return 0;
    return job_add(kit, inst, type, key, payload, delay_s)->pub.id;
}

static int h_job_complete(sb_plugin *self, sb_job_id id, sb_status status, const sb_result *result)
{
    struct sbt_kit *kit = kit_of(self, "job_complete");
    struct kit_job *job = kit ? kit_job(kit, id) : NULL;
    if (!job || job->pub.state != SBT_JOB_PENDING || job->pub.completed || status == SB_PENDING) {
        if (kit)
            kit_log(kit, SB_LOG_WARN, "job_complete for job %llu, which is not waiting",
                    (unsigned long long)id);
        return -1;
    }
    /* The plugin's sb_result is read only as far as its minor has it, like the host does. */
    sb_result copy;
    abi_copy_in(&copy, sizeof copy, result, kit->desc.abi_minor, ABI_RESULT);
    job->pub.completed = true;
    job_settle(kit, job, status, &copy);
    return 0;
}

static int h_job_checkpoint(sb_plugin *self, sb_job_id id, json_object *checkpoint)
{
    struct sbt_kit *kit = kit_of(self, "job_checkpoint");
    struct kit_job *job = kit ? kit_job(kit, id) : NULL;
    /* Only while the job runs or waits for job_complete, as the host allows. */
    if (!job || job->pub.state != SBT_JOB_PENDING || job->pub.completed) {
        if (kit)
            kit_log(kit, SB_LOG_WARN, "job_checkpoint for job %llu, which is not running",
                    (unsigned long long)id);
        return -1;
    }
    json_object *copy = NULL;
    if (checkpoint && json_object_deep_copy(checkpoint, &copy, NULL) != 0)
        return -1;
    kit_undo_push(kit, (struct undo){.kind = UNDO_CHECKPOINT, .job = id,
                                     .old_checkpoint = json_object_get(job->pub.checkpoint)});
    json_object_put(job->pub.checkpoint);
    job->pub.checkpoint = copy;
    return 0;
}

void kit_install_jobs(sb_host *host)
{
    host->job_enqueue = h_job_enqueue;
    host->job_complete = h_job_complete;
    host->job_checkpoint = h_job_checkpoint;
}

void kit_jobs_free(struct sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_jobs; i++)
        job_free(kit->jobs[i]);
    free(kit->jobs);
}
