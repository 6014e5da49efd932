/*
 * jobs_admin.h - the admin API's and /metrics' views of the job queue and the
 * schedules: read from the store, as JSON (the filter: store/store_jobs.h).
 */
#ifndef SB_CORE_JOBS_ADMIN_H
#define SB_CORE_JOBS_ADMIN_H

#include "jobs.h"
#include "store/store_jobs.h"

#include <json-c/json.h>
#include <stdint.h>

struct store;

/* Newest first. */
json_object *jobs_list(struct store *st, const struct job_filter *filter);
json_object *jobs_get(struct store *st, int64_t job_id);
/*
 * An installation's activity: per job type, the newest job ("latest", with
 * its checkpoint while it runs) and the newest finished one ("last_finished").
 */
json_object *jobs_activity(struct store *st, int64_t installation);
json_object *jobs_schedules(struct store *st, const char *plugin);
/* Counts by state, for /metrics (only the states an operator watches; the others 0). */
void jobs_counts(struct store *st, int64_t counts[JOB_STATES]);

#endif
