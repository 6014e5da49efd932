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
 * in order, in the one transaction; the commit; then each participant's
 * settle, in order, told whether the commit held; the held answers released
 * once it is durable.
 * Data flows one way - loop, turn, store, reply: participants never call
 * back into the turn except to request another.
 *
 * Threads: the turn's COMMIT runs on the store's commit thread
 * (store_commit_async), and so does each participant's background, before
 * it. Everything else - gather, meanwhile, settle, the scope, every request -
 * runs on the loop thread, which meanwhile goes on with network I/O, parsing
 * and signature checks (and the participants' meanwhile), and with whatever
 * else it must do: a store call waits for the commit (store.h); a
 * background may write through the store, in the turn's transaction. While the commit is in flight (and while its
 * participants settle) a request only marks a turn as wanted; it runs as
 * soon as the settles end, so the next commit follows at once. The
 * participants settle as soon as the COMMIT has ended, before its sync, so
 * the next turn's gathers overlap the sync; what goes outside waits for it.
 * The answers held during the turn go with its commit
 * (replies_hold_for_commit) and leave only once it is durable: 200 if it
 * held, 503 if its commit or its sync failed (a settle that answers does the
 * same: store_done_number); outbound transfers started (or queued) from its
 * gathers on are held back until then too (curl_loop_hold), so a plugin's
 * request never leaves before the progress it recorded is durable. Both are
 * let go in commit order. turn_now and turn_finish wait for the commit in
 * flight, settle it, and let go of everything it and those before it held.
 * Safe because the two threads never
 * share anything unguarded: the hand-over and the end of the commit go
 * through the store's lock, a background touches only what its gather set
 * aside (and settle reads it back after), and joining or leaving waits for
 * the commit (the thread reads the list).
 */
#ifndef SB_CORE_TURN_H
#define SB_CORE_TURN_H

#include <stdbool.h>
#include <stdint.h>

struct server;

struct turn_participant {
    const char *name;
    /* Inside the turn's transaction: write what was gathered (a savepoint of it, if it
       must be all or nothing). */
    void (*gather)(void *arg);
    /* After the commit (committed false: nothing of the turn was kept). */
    void (*settle)(void *arg, bool committed);
    void *arg;
    /* Optional (NULL: none). Runs on the commit thread before the COMMIT, after every
       gather; touches only what its gather set aside for it and the store (in the turn's
       transaction: a savepoint, if it must be all or nothing), never loop state; settle
       reads back what it found. (Intake's background writes its rows this way.) */
    void (*background)(void *arg);
    /* Optional (NULL: none). Runs on the loop right after the hand-over, while the commit
       thread runs the backgrounds and the COMMIT: CPU work on what gather set aside that the
       background does not touch (the two threads share no field), read back in settle. */
    void (*meanwhile)(void *arg);
};

/* The turn of srv (its loop, store and held replies); before the store is opened. */
struct turn *turn_new(struct server *srv);
void turn_free(struct turn *turn);
/* Join at the end of the order (at start-up); leave before arg is freed. */
void turn_join(struct turn *turn, const struct turn_participant *participant);
void turn_leave(struct turn *turn, void *arg);

void turn_request(struct turn *turn);
/* As turn_request, but for work a chain after the commit may take instead (store_set_chain):
   the turn waits for the chain to end rather than cutting it short. */
void turn_request_quiet(struct turn *turn);
/* Start the turn now, if nothing is in flight (else as turn_request): from a request handler
   that has gathered enough to be worth a commit before the loop iteration ends. */
void turn_start(struct turn *turn);
/* Run the turn at once (a full batch, shutdown), after the commit in flight has ended and
   settled; it returns when this turn has settled too. False if the store could not open its
   transaction, in which case nothing was done. Not from a settle. */
bool turn_now(struct turn *turn);
/* Wait for the commit in flight, if any, and settle it (shutdown, before the store closes). */
void turn_finish(struct turn *turn);

/* Microseconds the loop has spent in the participants' gathers, holding the store's
   connection (store_sharing has the commit thread's share). */
int64_t turn_gathers_us(const struct turn *turn);

void turn_scope_enter(struct turn *turn);
/* True if the outermost scope committed (or this one is nested). */
bool turn_scope_leave(struct turn *turn);
/* Inside a scope: answers given now wait for its commit. */
bool turn_in_scope(const struct turn *turn);

#endif
