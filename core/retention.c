/*
 * retention.c - pruning. It deletes finished jobs and old events in small
 * batches, each its own short transaction (outside the commit turn), and
 * comes back soon while a batch was full: a backlog is worked off at up to
 * PRUNE_BATCH rows per table every PRUNE_PAUSE_MS without stalling the loop
 * for more than a few milliseconds at a time. Expired OAuth states go once
 * the backlog is gone.
 */
#include "retention.h"

#include "log.h"
#include "server.h"
#include "store/store_events.h"
#include "store/store_jobs.h"
#include "store/store_oauth.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>

#define PRUNE_FIRST_MS 60000
#define PRUNE_INTERVAL_S 3600
#define PRUNE_BATCH 500
#define PRUNE_PAUSE_MS 100
#define DAY_MS 86400000
/* An OAuth state is kept a day past its expiry. */
#define OAUTH_STATE_GRACE_S 86400

struct retention {
    struct server *srv;
    struct event *timer;
    int64_t pruned_jobs, pruned_events; /* by the prune in progress */
};

static void prune(evutil_socket_t fd, short what, void *arg);

struct retention *retention_new(struct server *srv)
{
    struct retention *r = xcalloc(1, sizeof *r);
    r->srv = srv;
    r->timer = evtimer_new(srv->base, prune, r);
    return r;
}

void retention_free(struct retention *r)
{
    if (!r)
        return;
    event_free(r->timer);
    free(r);
}

static void arm(struct retention *r, int64_t delay_ms)
{
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(r->timer, &tv);
}

void retention_start(struct retention *r)
{
    arm(r, PRUNE_FIRST_MS);
}

void retention_stop(struct retention *r)
{
    if (r)
        evtimer_del(r->timer);
}

static void prune(evutil_socket_t fd, short what, void *arg)
{
    struct retention *r = arg;
    (void)fd;
    (void)what;
    struct server *srv = r->srv;
    int64_t now = time_now_ms();
    int jobs_deleted = store_jobs_prune_finished(
        srv->store, now - (int64_t)srv->cfg->job_retention_days * DAY_MS, PRUNE_BATCH);
    int events_deleted = store_events_prune(
        srv->store, now - (int64_t)srv->cfg->event_retention_days * DAY_MS, PRUNE_BATCH);
    r->pruned_jobs += jobs_deleted > 0 ? jobs_deleted : 0;
    r->pruned_events += events_deleted > 0 ? events_deleted : 0;
    if (jobs_deleted >= PRUNE_BATCH || events_deleted >= PRUNE_BATCH) {
        arm(r, PRUNE_PAUSE_MS); /* more to do */
        return;
    }
    if (r->pruned_jobs || r->pruned_events)
        log_info("jobs", "pruned %lld finished jobs and %lld events", (long long)r->pruned_jobs,
                 (long long)r->pruned_events);
    r->pruned_jobs = r->pruned_events = 0;
    store_oauth_states_prune(srv->store, now / 1000 - OAUTH_STATE_GRACE_S);
    arm(r, (int64_t)PRUNE_INTERVAL_S * 1000);
}
