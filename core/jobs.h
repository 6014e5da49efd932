/*
 * jobs.h - the durable job queue (schedules.h fires periodic jobs into it,
 * retention.h prunes it, jobs_admin.h shows it).
 *
 * A job is a row: queued -> running -> done, or back to queued with backoff
 * on RETRY, or dead after max attempts / FAIL (replayable). Jobs with the
 * same (plugin, installation, key) run one at a time in creation order: a
 * job whose key is busy is inserted as 'waiting' and promoted to 'queued'
 * when the one before it finishes, so the dispatcher only ever looks at
 * runnable rows.
 * Jobs left running or pending by a crash are queued again at start.
 */
#ifndef SB_CORE_JOBS_H
#define SB_CORE_JOBS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

struct server;
struct sb_plugin;

struct jobs *jobs_new(struct server *srv);
void jobs_free(struct jobs *jobs);
/* Recover jobs a crash left running, start dispatching. */
int jobs_start(struct jobs *jobs);
/* Stop taking new jobs (in-flight ones may still complete). */
void jobs_stop(struct jobs *jobs);

/*
 * Insert a queued job (inside the caller's transaction, if any). Returns the
 * id or 0. Call jobs_kick afterwards (after the commit) to run it soon.
 * (Webhook deliveries are inserted by the intake with their events:
 * store_events.h; the queue runs them as jobs for on_event.)
 */
int64_t jobs_insert(struct jobs *jobs, const char *plugin, int64_t installation, const char *type,
                    const char *key, json_object *payload, int64_t delay_ms);
/*
 * A job the host runs itself instead of calling the plugin (a product
 * delivery, see product_events.h), with its own attempt budget.
 */
int64_t jobs_insert_host(struct jobs *jobs, const char *plugin, int64_t installation,
                         const char *type, json_object *payload, int max_attempts);
void jobs_kick(struct jobs *jobs);
/* Join the commit turn (turn.h): a dispatch round, then the results to record. */
void jobs_join_turn(struct jobs *jobs);

/* A plugin finishes a job whose handler returned SB_PENDING. */
int jobs_complete(struct jobs *jobs, struct sb_plugin *p, uint64_t job_id, sb_status status,
                  const sb_result *result);
/*
 * End a running job's run without counting it: back to 'queued', due again
 * after recheck_ms unless something releases it sooner (a disabled product
 * webhook holds its deliveries this way).
 */
int jobs_hold(struct jobs *jobs, struct sb_plugin *p, uint64_t job_id, const char *why,
              int64_t recheck_ms);
/*
 * A plugin saves (NULL: clears) the checkpoint of a job or webhook delivery
 * it is running, in the current transaction; handed back in sb_job/sb_event
 * on later attempts, cleared when the job ends done or skipped.
 */
int jobs_checkpoint(struct jobs *jobs, struct sb_plugin *p, uint64_t job_id,
                    json_object *checkpoint);
/* Dead (or cancelled) job -> queued with a fresh attempt count. */
int jobs_replay(struct jobs *jobs, int64_t job_id, char *err, size_t errlen);
/* Every dead job of a plugin, replayed as jobs_replay does: how many, or -1. */
int64_t jobs_replay_dead(struct jobs *jobs, const char *plugin);
/* An installation was revoked: cancel what it still has queued. */
int jobs_cancel_installation(struct jobs *jobs, int64_t installation);

#define JOB_STATES 8
extern const char *const job_state_names[JOB_STATES];
int jobs_in_flight(const struct jobs *jobs);

#endif
