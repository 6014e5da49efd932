/*
 * turn.c - the commit turn and the callback scope (see turn.h): a
 * low-priority event that runs the participants' gathers in one
 * transaction, hands its commit to the store's commit thread, and when that
 * ends releases the held answers and settles the participants.
 */
#include "turn.h"

#include "curl_loop.h"
#include "http.h"
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
    struct event *commit_ev; /* the store's commit notice (made at the first hand-over) */
    int scope_depth; /* > 0 while callbacks run */
    bool committing; /* the turn's commit is in flight: from the hand-over to its done */
    bool settling;   /* its participants settle */
    bool wanted;     /* a turn was requested meanwhile: it runs as soon as they have settled */
    bool handing_over; /* inside store_commit_async (which, without its thread, ends at once) */
    bool draining;     /* turn_now waits for the commit: a wanted turn waits for the event */
    bool urgent;       /* wanted by turn_request (not only turn_request_quiet) */
    struct replies_held held; /* the answers that wait for the commit in flight */
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
    if (turn->commit_ev)
        event_free(turn->commit_ev);
    free(turn->held.tokens);
    free(turn->participants);
    free(turn);
}

/* Wait for the commit in flight and settle it; a turn it wanted is left to the event. */
static void finish_commit(struct turn *turn)
{
    turn->draining = true;
    while (turn->committing)
        store_commit_finish(turn->srv->store);
    turn->draining = false;
}

/* Joining and leaving wait for a commit in flight: the commit thread reads the list. */
void turn_join(struct turn *turn, const struct turn_participant *participant)
{
    finish_commit(turn);
    turn->participants = xrealloc(turn->participants,
                                  (turn->n_participants + 1) * sizeof *turn->participants);
    turn->participants[turn->n_participants++] = *participant;
}

void turn_leave(struct turn *turn, void *arg)
{
    finish_commit(turn);
    size_t kept = 0;
    for (size_t i = 0; i < turn->n_participants; i++)
        if (turn->participants[i].arg != arg)
            turn->participants[kept++] = turn->participants[i];
    turn->n_participants = kept;
}

/* ---- the scope ---- */

void turn_scope_enter(struct turn *turn)
{
    if (turn->scope_depth++ > 0)
        return;
    if (turn->srv->http) /* what its callbacks answer leaves after its commit */
        http_cork(turn->srv->http);
    if (store_begin(turn->srv->store) != 0)
        log_error("host", "cannot open the transaction for plugin callbacks");
}

static void log_not_committed(void)
{
    log_error("host", "the turn's writes could not be committed; what waited on them is "
                      "answered 503 or run again");
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
        log_not_committed();
    if (srv->replies)
        replies_release(srv->replies, committed);
    if (srv->http)
        http_uncork(srv->http);
    return committed;
}

bool turn_in_scope(const struct turn *turn)
{
    return turn && turn->scope_depth > 0;
}

/* ---- the turn ---- */

static void settle_all(struct turn *turn, bool committed)
{
    for (size_t i = 0; i < turn->n_participants; i++)
        turn->participants[i].settle(turn->participants[i].arg, committed);
}

/* Open the turn's scope and gather; false (scope closed, nothing done) if the store could not
   open the transaction: each participant's writes would otherwise commit on their own while
   being answered as failed. Outbound transfers started from here wait for the commit. */
static bool gather_all(struct turn *turn)
{
    curl_loop_hold();
    turn_scope_enter(turn);
    if (!store_in_transaction(turn->srv->store)) {
        turn_scope_leave(turn);
        curl_loop_release();
        return false;
    }
    for (size_t i = 0; i < turn->n_participants; i++)
        turn->participants[i].gather(turn->participants[i].arg);
    return true;
}

/* On the commit thread, before the COMMIT: the work the gathers set aside. */
static void background_all(void *arg)
{
    struct turn *turn = arg;
    for (size_t i = 0; i < turn->n_participants; i++)
        if (turn->participants[i].background)
            turn->participants[i].background(turn->participants[i].arg);
}

/* On the loop, while the commit thread works: the participants' own share of the turn. */
static void meanwhile_all(struct turn *turn)
{
    for (size_t i = 0; i < turn->n_participants; i++)
        if (turn->participants[i].meanwhile)
            turn->participants[i].meanwhile(turn->participants[i].arg);
}

/* On the loop thread, once the turn's commit has ended (store_commit_finish). */
static void turn_committed(void *arg, bool committed)
{
    struct turn *turn = arg;
    struct server *srv = turn->srv;
    if (!committed)
        log_not_committed();
    turn->committing = false;
    curl_loop_release();
    /* The answers settled here leave once the next commit (if wanted) is under way. */
    if (srv->http)
        http_cork(srv->http);
    if (srv->replies)
        replies_release_held(srv->replies, &turn->held, committed);
    else
        turn->held.n = 0; /* shutting down: replies_free answered them */
    turn->settling = true;
    settle_all(turn, committed);
    turn->settling = false;
    if (turn->wanted) {
        turn->wanted = false;
        if (turn->handing_over || turn->draining)
            event_active(turn->ev, 0, 0); /* not from inside a hand-over or a wait: no recursion */
        else
            turn_cb(-1, 0, turn);
    }
    if (srv->http)
        http_uncork(srv->http);
}

static void commit_notice_cb(evutil_socket_t fd, short what, void *arg)
{
    struct turn *turn = arg;
    (void)fd;
    (void)what;
    store_commit_poll(turn->srv->store);
    /* The connection came back from a chain (store_set_chain): a turn wanted meanwhile runs. */
    if (turn->wanted && !turn->committing && !turn->settling && !turn->draining
        && !store_busy(turn->srv->store)) {
        turn->wanted = false;
        turn_cb(-1, 0, turn);
    }
}

/* After gather_all: the scope ends, its answers go with the commit to the commit thread. */
static void hand_over(struct turn *turn)
{
    struct server *srv = turn->srv;
    if (turn->scope_depth > 1) {
        /* Run from inside a callback scope: the outermost scope commits, as ever. */
        background_all(turn);
        meanwhile_all(turn);
        bool committed = turn_scope_leave(turn);
        curl_loop_release();
        settle_all(turn, committed);
        return;
    }
    int fd = store_commit_fd(srv->store);
    if (fd >= 0 && !turn->commit_ev) {
        turn->commit_ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, commit_notice_cb, turn);
        event_add(turn->commit_ev, NULL);
    }
    turn->scope_depth = 0;
    if (srv->replies)
        replies_hold_for_commit(srv->replies, &turn->held);
    turn->committing = true;
    turn->handing_over = true;
    if (store_commit_async(srv->store, background_all, turn_committed, turn) != 0) {
        log_error("host", "the turn's commit could not be handed over");
        while (store_in_transaction(srv->store)) /* a gather left a savepoint open */
            store_rollback(srv->store);
        turn_committed(turn, false);
    }
    /* The scope's cork (turn_scope_enter): the last turn's answers leave now that this one is
       being written. */
    if (srv->http)
        http_uncork(srv->http);
    if (turn->committing)
        meanwhile_all(turn); /* (without the thread the commit has ended already) */
    turn->handing_over = false;
}

bool turn_now(struct turn *turn)
{
    finish_commit(turn);
    if (!gather_all(turn))
        return false;
    hand_over(turn);
    finish_commit(turn);
    return true;
}

void turn_finish(struct turn *turn)
{
    if (turn)
        finish_commit(turn);
}

static void turn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct turn *turn = arg;
    (void)fd;
    (void)what;
    /* (The store busy with a chain after the commit: its release notice runs the turn.) */
    if (turn->committing || turn->settling || store_busy(turn->srv->store)) {
        turn->wanted = true;
        if (turn->urgent) /* no chain (store_set_chain) after the commit: this turn first */
            store_ask_back(turn->srv->store);
        return;
    }
    turn->urgent = false;
    if (!gather_all(turn)) {
        struct timeval tv = {0, TURN_RETRY_MS * 1000};
        event_add(turn->ev, &tv);
        return;
    }
    hand_over(turn);
}

void turn_start(struct turn *turn)
{
    if (!turn)
        return;
    if (turn->committing || turn->settling || turn->handing_over || turn->draining
        || turn->scope_depth > 0 || store_busy(turn->srv->store))
        turn_request_quiet(turn);
    else
        turn_cb(-1, 0, turn);
}

void turn_request_quiet(struct turn *turn)
{
    if (!turn)
        return;
    if (turn->committing || turn->settling)
        turn->wanted = true;
    else
        event_active(turn->ev, 0, 0);
}

void turn_request(struct turn *turn)
{
    if (!turn)
        return;
    turn->urgent = true;
    if (turn->committing || turn->settling)
        store_ask_back(turn->srv->store);
    turn_request_quiet(turn);
}
