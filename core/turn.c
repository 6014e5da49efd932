/*
 * turn.c - the commit turn and the callback scope (see turn.h): a
 * low-priority event that runs the participants' gathers in one
 * transaction, commits, releases the held answers, then settles them.
 */
#include "turn.h"

#include "log.h"
#include "replies.h"
#include "server.h"
#include "store/store.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>

#define TURN_RETRY_MS 100 /* the store could not open a transaction */

struct turn {
    struct server *srv;
    struct event *ev;
    int scope_depth; /* > 0 while callbacks run */
    struct turn_participant *participants; /* in the order they joined */
    size_t n_participants;
};

static void turn_cb(evutil_socket_t fd, short what, void *arg);

struct turn *turn_new(struct server *srv)
{
    struct turn *turn = xcalloc(1, sizeof *turn);
    turn->srv = srv;
    turn->ev = event_new(srv->base, -1, 0, turn_cb, turn);
    event_priority_set(turn->ev, 2); /* after network I/O: see startup.c */
    return turn;
}

void turn_free(struct turn *turn)
{
    if (!turn)
        return;
    event_free(turn->ev);
    free(turn->participants);
    free(turn);
}

void turn_join(struct turn *turn, const struct turn_participant *participant)
{
    turn->participants = xrealloc(turn->participants,
                                  (turn->n_participants + 1) * sizeof *turn->participants);
    turn->participants[turn->n_participants++] = *participant;
}

void turn_leave(struct turn *turn, void *arg)
{
    size_t kept = 0;
    for (size_t i = 0; i < turn->n_participants; i++)
        if (turn->participants[i].arg != arg)
            turn->participants[kept++] = turn->participants[i];
    turn->n_participants = kept;
}

/* ---- the scope ---- */

void turn_scope_enter(struct turn *turn)
{
    if (turn->scope_depth++ == 0 && store_begin(turn->srv->store) != 0)
        log_error("host", "cannot open the transaction for plugin callbacks");
}

bool turn_scope_leave(struct turn *turn)
{
    if (--turn->scope_depth > 0)
        return true;
    struct server *srv = turn->srv;
    bool committed = false;
    if (store_in_transaction(srv->store))
        committed = store_commit(srv->store) == 0;
    if (!committed)
        log_error("host", "the turn's writes could not be committed; what waited on them is "
                          "answered 503 or run again");
    if (srv->replies)
        replies_release(srv->replies, committed);
    return committed;
}

bool turn_in_scope(const struct turn *turn)
{
    return turn && turn->scope_depth > 0;
}

/* ---- the turn ---- */

bool turn_now(struct turn *turn)
{
    turn_scope_enter(turn);
    if (!store_in_transaction(turn->srv->store)) {
        /* Without the turn's transaction each participant's writes would commit on their
           own while being answered as failed: do nothing instead. */
        turn_scope_leave(turn);
        return false;
    }
    for (size_t i = 0; i < turn->n_participants; i++)
        turn->participants[i].gather(turn->participants[i].arg);
    bool committed = turn_scope_leave(turn);
    for (size_t i = 0; i < turn->n_participants; i++)
        turn->participants[i].settle(turn->participants[i].arg, committed);
    return true;
}

static void turn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct turn *turn = arg;
    (void)fd;
    (void)what;
    if (!turn_now(turn)) {
        struct timeval tv = {0, TURN_RETRY_MS * 1000};
        event_add(turn->ev, &tv);
    }
}

void turn_request(struct turn *turn)
{
    if (turn)
        event_active(turn->ev, 0, 0);
}
