/*
 * memory_trim.c - after a busy spell, the page cache and the allocator's free
 * memory go back to the system (see memory_trim.h).
 */
#include "memory_trim.h"

#include "log.h"
#include "server.h"
#include "store/store.h"
#include "turn.h"
#include "util.h"
#include "webhooks.h"

#include <event2/event.h>
#include <malloc.h>
#include <stdlib.h>

struct memory_trim {
    struct server *srv;
    struct event *quiet; /* fires QUIET_MS after the last turn */
};

static void quiet_cb(evutil_socket_t fd, short what, void *arg)
{
    struct memory_trim *t = arg;
    (void)fd;
    (void)what;
    store_release_memory(t->srv->store);
    intake_release_memory(t->srv->intake);
    malloc_trim(0);
}

struct memory_trim *memory_trim_new(struct server *srv)
{
    struct memory_trim *t = xcalloc(1, sizeof *t);
    t->srv = srv;
    t->quiet = evtimer_new(srv->base, quiet_cb, t);
    return t;
}

void memory_trim_free(struct memory_trim *t)
{
    if (!t)
        return;
    turn_leave(t->srv->turn, t);
    event_free(t->quiet);
    free(t);
}

static void trim_gather(void *arg)
{
    (void)arg;
}

/* Every commit pushes the quiet moment back (a timer re-armed: no system call). */
void memory_trim_busy(struct memory_trim *t)
{
    if (!t)
        return;
    struct timeval tv = {QUIET_MS / 1000, (QUIET_MS % 1000) * 1000};
    evtimer_add(t->quiet, &tv);
}

static void trim_settle(void *arg, bool committed)
{
    (void)committed;
    memory_trim_busy(arg);
}

void memory_trim_join_turn(struct memory_trim *t)
{
    turn_join(t->srv->turn, &(struct turn_participant){"memory trim", trim_gather, trim_settle, t,
                                                          NULL, NULL});
}
