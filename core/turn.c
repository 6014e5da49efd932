/*
 * turn.c - the commit turn and the callback scope (see turn.h): a
 * low-priority event that runs the participants' gathers in one
 * transaction, hands its commit to the store's commit thread, and when that
 * ends settles the participants and may run the next turn; the answers held
 * for the commit leave once it is durable (store_done_number), which the
 * next turn does not wait for.
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
#include <string.h>

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
    /* The holds of ended commits that wait for their sync (their answers, their outbound
       transfers), in commit order. */
    struct awaiting_sync {
        int64_t number; /* store_durable */
        bool failed;    /* the commit failed: released as such, in its turn */
        struct replies_held held;
    } *awaiting;
    size_t n_awaiting, cap_awaiting;
    struct turn_participant *participants; /* in the order they joined */
    size_t n_participants;
    int64_t gathers_us; /* turn_gathers_us */
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
    /* Holds still waiting for a sync (the store was closed first): ended, none outlives it. */
    for (size_t i = 0; i < turn->n_awaiting; i++)
        curl_loop_release();
    for (size_t i = 0; i < turn->cap_awaiting; i++)
        free(turn->awaiting[i].held.tokens);
    free(turn->awaiting);
    free(turn->participants);
    free(turn);
}

/* A turn's hold ends: its transfers leave, its answers are sent (or failed). */
static void release(struct turn *turn, struct replies_held *held, bool durable)
{
    curl_loop_release();
    if (turn->srv->replies)
        replies_release_held(turn->srv->replies, held, durable);
    held->n = 0; /* (without replies, shutting down: replies_free answered them) */
}

/* End the holds whose commits are durable (or failed), in order; with wait, all. */
static void release_synced(struct turn *turn, bool wait)
{
    struct store *st = turn->srv->store;
    size_t done = 0;
    while (done < turn->n_awaiting) {
        struct awaiting_sync *a = &turn->awaiting[done];
        if (wait && !a->failed)
            store_wait_durable(st, a->number);
        int durable = a->failed ? -1 : store_durable(st, a->number);
        if (durable == 0)
            break;
        release(turn, &a->held, durable == 1);
        done++;
    }
    /* The spent entries go behind the waiting ones, their buffers kept for reuse. */
    for (size_t k = 0; k < done; k++) {
        struct awaiting_sync spent = turn->awaiting[0];
        memmove(turn->awaiting, turn->awaiting + 1, (turn->n_awaiting - 1) * sizeof spent);
        turn->awaiting[--turn->n_awaiting] = spent;
    }
}

/*
 * A turn's commit has ended (number: store_done_number; 0 for one that is
 * durable already): its hold (held: its answers, possibly none) ends now if
 * no earlier one waits and it failed or is durable, else in order once it is.
 */
static void release_when_synced(struct turn *turn, struct replies_held *held, bool committed,
                                int64_t number)
{
    int durable = committed ? store_durable(turn->srv->store, number) : -1;
    if (!turn->n_awaiting && durable != 0) {
        release(turn, held, durable == 1);
        return;
    }
    if (turn->n_awaiting == turn->cap_awaiting) {
        size_t cap = turn->cap_awaiting ? 2 * turn->cap_awaiting : 4;
        turn->awaiting = xrealloc(turn->awaiting, cap * sizeof *turn->awaiting);
        memset(turn->awaiting + turn->cap_awaiting, 0,
               (cap - turn->cap_awaiting) * sizeof *turn->awaiting);
        turn->cap_awaiting = cap;
    }
    /* Swapped: the entry takes these answers, held keeps the entry's spare buffer. */
    struct awaiting_sync *a = &turn->awaiting[turn->n_awaiting++];
    struct replies_held spare = a->held;
    a->number = number;
    a->failed = !committed;
    a->held = *held;
    *held = spare;
    held->n = 0;
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
    turn_scope_enter(turn);
    if (!store_in_transaction(turn->srv->store)) {
        turn_scope_leave(turn);
        return false;
    }
    curl_loop_hold();
    int64_t since_us = time_mono_us();
    for (size_t i = 0; i < turn->n_participants; i++)
        turn->participants[i].gather(turn->participants[i].arg);
    turn->gathers_us += time_mono_us() - since_us;
    return true;
}

int64_t turn_gathers_us(const struct turn *turn)
{
    return turn ? turn->gathers_us : 0;
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
    /* The answers settled here leave once the next commit (if wanted) is under way. */
    if (srv->http)
        http_cork(srv->http);
    release_when_synced(turn, &turn->held, committed, store_done_number(srv->store));
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
    if (turn->n_awaiting) /* (the notice may be a sync's) */
        release_synced(turn, false);
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
        struct replies_held none = {0}; /* (the outermost scope's commit sends its answers) */
        release_when_synced(turn, &none, committed, 0);
        free(none.tokens);
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
    release_synced(turn, true);
    return true;
}

void turn_finish(struct turn *turn)
{
    if (!turn)
        return;
    finish_commit(turn);
    release_synced(turn, true);
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
