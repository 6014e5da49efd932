/*
 * retention.c - pruning, a participant of the commit turn. When its timer is
 * due it asks for a turn and deletes one small batch of finished jobs and of
 * old events inside the turn's transaction (sharing its commit and fsync
 * instead of paying one of its own), and comes back soon while a batch was
 * full: a backlog is worked off at up to PRUNE_BATCH jobs and
 * PRUNE_BATCH_EVENTS events every PRUNE_PAUSE_MS, adding no more than a few
 * milliseconds to any turn. (Events are fewer per batch: each carries its
 * ~2 KB body, and 500 of them held a turn's webhooks ~10 ms.)
 * Expired OAuth states go once the backlog is gone.
 */
#include "retention.h"

#include "log.h"
#include "server.h"
#include "store/store_events.h"
#include "store/store_jobs.h"
#include "store/store_oauth.h"
#include "turn.h"
#include "util.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>

#define PRUNE_INTERVAL_S 3600
#define PRUNE_BATCH 500
#define PRUNE_BATCH_EVENTS 100
#define PRUNE_PAUSE_MS 100
#define DAY_MS 86400000
/* An OAuth state is kept a day past its expiry. */
#define OAUTH_STATE_GRACE_S 86400

struct retention {
    struct server *srv;
    struct event *timer;
    bool due;        /* the timer fired: the next turn prunes */
    bool pruning;    /* this turn's gather deleted a batch */
    bool more;       /* ... and a table had more than a batch to delete */
    int64_t batch_jobs, batch_events;   /* deleted by this turn's batch */
    int64_t pruned_jobs, pruned_events; /* by the prune in progress, committed */
};

static void prune_due(evutil_socket_t fd, short what, void *arg);

struct retention *retention_new(struct server *srv)
{
    struct retention *r = xcalloc(1, sizeof *r);
    r->srv = srv;
    r->timer = evtimer_new(srv->base, prune_due, r);
    return r;
}

void retention_free(struct retention *r)
{
    if (!r)
        return;
    turn_leave(r->srv->turn, r);
    event_free(r->timer);
    free(r);
}

static void arm(struct retention *r, int64_t delay_ms)
{
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(r->timer, &tv);
}

void retention_start(struct retention *r, int64_t first_prune_ms)
{
    arm(r, first_prune_ms);
}

void retention_stop(struct retention *r)
{
    if (r)
        evtimer_del(r->timer);
}

static void prune_due(evutil_socket_t fd, short what, void *arg)
{
    struct retention *r = arg;
    (void)fd;
    (void)what;
    r->due = true;
    turn_request(r->srv->turn);
}

static void prune_gather(void *arg)
{
    struct retention *r = arg;
    if (!r->due)
        return;
    r->due = false;
    r->pruning = true;
    struct server *srv = r->srv;
    int64_t now = time_now_ms();
    int jobs_deleted = store_jobs_prune_finished(
        srv->store, now - (int64_t)srv->cfg->job_retention_days * DAY_MS, PRUNE_BATCH);
    int events_deleted = store_events_prune(
        srv->store, now - (int64_t)srv->cfg->event_retention_days * DAY_MS, PRUNE_BATCH_EVENTS);
    r->batch_jobs = jobs_deleted > 0 ? jobs_deleted : 0;
    r->batch_events = events_deleted > 0 ? events_deleted : 0;
    r->more = jobs_deleted >= PRUNE_BATCH || events_deleted >= PRUNE_BATCH_EVENTS;
    if (!r->more)
        store_oauth_states_prune(srv->store, now / 1000 - OAUTH_STATE_GRACE_S);
}

static void prune_settle(void *arg, bool committed)
{
    struct retention *r = arg;
    if (!r->pruning)
        return;
    r->pruning = false;
    if (!committed) { /* nothing was deleted: the same batch again soon */
        arm(r, PRUNE_PAUSE_MS);
        return;
    }
    r->pruned_jobs += r->batch_jobs;
    r->pruned_events += r->batch_events;
    if (r->more) {
        arm(r, PRUNE_PAUSE_MS);
        return;
    }
    if (r->pruned_jobs || r->pruned_events)
        log_info("jobs", "pruned %lld finished jobs and %lld events", (long long)r->pruned_jobs,
                 (long long)r->pruned_events);
    r->pruned_jobs = r->pruned_events = 0;
    arm(r, (int64_t)PRUNE_INTERVAL_S * 1000);
}

void retention_join_turn(struct retention *r)
{
    turn_join(r->srv->turn,
              &(struct turn_participant){"pruning", prune_gather, prune_settle, r, NULL, NULL});
}
