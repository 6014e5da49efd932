/*
 * schedules.c - periodic schedules: their rows follow the installations and
 * their settings; a timer wakes at the earliest due one and enqueues a job
 * for each due schedule, advancing it in the same transaction.
 */
#include "schedules.h"

#include "installations.h"
#include "jobs.h"
#include "plugins.h"
#include "server.h"
#include "settings.h"
#include "store/store_jobs.h"
#include "store/store_schedules.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>

struct schedules {
    struct server *srv;
    struct event *timer;
    bool stopped;
};

static void fire_due(evutil_socket_t fd, short what, void *arg);

struct schedules *schedules_new(struct server *srv)
{
    struct schedules *sch = xcalloc(1, sizeof *sch);
    sch->srv = srv;
    sch->timer = evtimer_new(srv->base, fire_due, sch);
    return sch;
}

void schedules_free(struct schedules *sch)
{
    if (!sch)
        return;
    event_free(sch->timer);
    free(sch);
}

void schedules_stop(struct schedules *sch)
{
    if (!sch)
        return;
    sch->stopped = true;
    evtimer_del(sch->timer);
}

static int64_t schedule_interval_s(struct server *srv, struct sb_plugin *p, int64_t inst,
                                   const sb_schedule *s)
{
    int64_t interval = s->interval_s;
    if (s->interval_setting) {
        json_object *settings = settings_effective(srv, p, inst), *v;
        if (json_object_object_get_ex(settings, s->interval_setting, &v)
            && json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
            interval = json_object_get_int64(v) * (s->setting_unit_s ? s->setting_unit_s : 1);
        json_object_put(settings);
    }
    return interval > 0 ? interval : 3600;
}

void schedules_sync(struct schedules *sch, struct sb_plugin *p, const struct installation *inst)
{
    struct server *srv = sch->srv;
    if (!p->desc.schedules)
        return;
    for (const sb_schedule *s = p->desc.schedules; s->name; s++) {
        int64_t interval = schedule_interval_s(srv, p, inst->id, s);
        /* A new schedule runs soon; a changed interval counts from the last run. */
        if (store_schedule_upsert(srv->store, p->name, inst->id, s->name, interval,
                                  time_now_ms())
            != 0)
            return;
    }
    event_active(sch->timer, 0, 0);
}

void schedules_forget_installation(struct schedules *sch, int64_t installation)
{
    store_schedules_forget_installation(sch->srv->store, installation);
}

static int sync_one(void *arg, struct installation *inst)
{
    struct schedules *sch = arg;
    struct sb_plugin *p = plugins_find(sch->srv->plugins, inst->plugin);
    if (p && p->running && inst->state == SB_INSTALLATION_ACTIVE)
        schedules_sync(sch, p, inst);
    return 0;
}

void schedules_kick(struct schedules *sch)
{
    if (!sch->stopped)
        event_active(sch->timer, 0, 0);
}

void schedules_start(struct schedules *sch)
{
    installations_each(sch->srv->installations, NULL, sync_one, sch);
    event_active(sch->timer, 0, 0);
}

/* Enqueue one due schedule and advance it, atomically: a crash can neither skip nor repeat it. */
static void fire_schedule(struct schedules *sch, const struct store_schedule *due, int64_t now)
{
    struct server *srv = sch->srv;
    struct sb_plugin *p = plugins_find(srv->plugins, due->plugin);
    struct installation *in = installations_get(srv->installations, due->installation);
    bool usable = p && p->running && in && in->state == SB_INSTALLATION_ACTIVE;
    char *key = xasprintf("schedule:%s", due->name);
    int64_t next = due->next_run_at + due->interval_s * 1000;
    if (next <= now)
        next = now + due->interval_s * 1000; /* missed several while down: run once, not N times */
    if (store_begin(srv->store) != 0) {
        free(key);
        return;
    }
    /* Claimed first: on a cluster, of the nodes that saw it due, one runs it. */
    int rc = store_schedule_advance(srv->store, due->plugin, due->installation, due->name,
                                    due->next_run_at, next, now);
    rc = rc == 1 ? 0 : -1; /* not claimed: nothing to run, nothing to keep */
    /* Never stack a run behind a still-running one (a long sync); the next tick comes. */
    if (rc == 0 && usable
        && store_job_key_active(srv->store, due->plugin, due->installation, key) != 1) {
        json_object *payload = json_object_new_object();
        json_object_object_add(payload, "scheduled_at", json_object_new_int64(due->next_run_at));
        rc = jobs_insert(srv->jobs, due->plugin, due->installation, due->name, key, payload, 0)
                 ? 0
                 : -1;
        json_object_put(payload);
    }
    if (rc == 0)
        store_commit(srv->store);
    else
        store_rollback(srv->store);
    free(key);
}

static void fire_due(evutil_socket_t fd, short what, void *arg)
{
    struct schedules *sch = arg;
    (void)fd;
    (void)what;
    if (sch->stopped)
        return;
    struct store *st = sch->srv->store;
    int64_t now = time_now_ms();
    struct store_schedule *due;
    size_t n = store_schedules_due(st, now, &due);
    for (size_t i = 0; i < n; i++)
        fire_schedule(sch, &due[i], now);
    store_schedules_free(due, n);
    if (n)
        jobs_kick(sch->srv->jobs);
    int64_t next;
    if (store_schedules_next(st, &next) == 1) {
        struct timeval tv = {0, 0};
        int64_t delay = next - time_now_ms();
        if (delay > 0) {
            tv.tv_sec = (time_t)(delay / 1000);
            tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
        }
        evtimer_add(sch->timer, &tv);
    }
}
