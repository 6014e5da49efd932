/*
 * turn.h - the commit turn and the callback scope: how the durable work of a
 * loop iteration becomes one transaction and one fsync, and nothing is
 * answered before it is committed.
 *
 * The scope: plugin callbacks run inside one (turn_scope_enter/leave). One
 * host transaction holds every document, job and audit write they make, and
 * is committed when the outermost scope ends - before any HTTP answer they
 * gave leaves (answers are held until then: replies.h) and before any
 * Intercom request they started can be sent (that happens on a later turn of
 * the loop). Callbacks invoked together (a dispatch round, a batch of
 * Intercom completions) share one commit, so plugins pay one fsync per
 * batch, not per write, and still "record progress before moving on".
 *
 * The turn: modules with durable work to gather join it at start-up, in
 * order, as participants. A module with such work calls turn_request(); the
 * turn then runs once at the end of the loop iteration, after the network
 * I/O (a low-priority event), inside one scope: each participant's gather,
 * in order, in the one transaction; the commit; the held answers released;
 * then each participant's settle, in order, told whether the commit held.
 * Data flows one way - loop, turn, store, reply: participants never call
 * back into the turn except to request another.
 */
#ifndef SB_CORE_TURN_H
#define SB_CORE_TURN_H

#include <stdbool.h>

struct server;

struct turn_participant {
    const char *name;
    /* Inside the turn's transaction: write what was gathered (a savepoint of it, if it
       must be all or nothing). */
    void (*gather)(void *arg);
    /* After the commit (committed false: nothing of the turn was kept). */
    void (*settle)(void *arg, bool committed);
    void *arg;
};

/* The turn of srv (its loop, store and held replies); before the store is opened. */
struct turn *turn_new(struct server *srv);
void turn_free(struct turn *turn);
/* Join at the end of the order (at start-up); leave before arg is freed. */
void turn_join(struct turn *turn, const struct turn_participant *participant);
void turn_leave(struct turn *turn, void *arg);

void turn_request(struct turn *turn);
/* Run the turn at once (a full batch, shutdown); false if the store could not open its
   transaction, in which case nothing was done. */
bool turn_now(struct turn *turn);

void turn_scope_enter(struct turn *turn);
/* True if the outermost scope committed (or this one is nested). */
bool turn_scope_leave(struct turn *turn);
/* Inside a scope: answers given now wait for its commit. */
bool turn_in_scope(const struct turn *turn);

#endif
