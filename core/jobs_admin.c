/* jobs_admin.c - the admin views of jobs and schedules (see jobs_admin.h). */
#include "jobs_admin.h"

#include "store/store_schedules.h"
#include "util.h"

#include <string.h>

json_object *jobs_list(struct store *st, const struct job_filter *filter)
{
    return store_jobs_list(st, filter);
}

json_object *jobs_get(struct store *st, int64_t job_id)
{
    return store_job_get(st, job_id);
}

struct activity {
    struct store *st;
    int64_t installation;
    json_object *list;
};

static int add_type(void *arg, const char *type, int64_t newest_id)
{
    struct activity *a = arg;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "latest", store_job_get(a->st, newest_id));
    int64_t last_id = store_job_newest_finished(a->st, a->installation, type);
    json_object_object_add(o, "last_finished", last_id > 0 ? store_job_get(a->st, last_id) : NULL);
    json_object_array_add(a->list, o);
    return 0;
}

json_object *jobs_activity(struct store *st, int64_t installation)
{
    /* The newest job of each type, and the newest that has finished (the last result). */
    struct activity a = {st, installation, json_object_new_array()};
    store_jobs_each_type(st, installation, add_type, &a);
    return a.list;
}

json_object *jobs_schedules(struct store *st, const char *plugin)
{
    return store_schedules_list(st, plugin);
}

void jobs_counts(struct store *st, int64_t counts[JOB_STATES])
{
    /* Finished states can hold millions of rows: count only the ones an operator watches. */
    memset(counts, 0, JOB_STATES * sizeof counts[0]);
    static const int watched[] = {0, 1, 2, 5}; /* queued, waiting, running, dead */
    for (size_t i = 0; i < ARRAY_LEN(watched); i++) {
        int64_t n = store_jobs_count_state(st, job_state_names[watched[i]]);
        if (n < 0)
            return;
        counts[watched[i]] = n;
    }
}
