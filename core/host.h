/* host.h - lifetime hooks of the services table's own state (timers, loop_post queue). */
#ifndef SB_CORE_HOST_H
#define SB_CORE_HOST_H

#include <event2/event.h>
#include <stdbool.h>

struct sb_plugin;
struct server;

/*
 * Plugin callbacks run inside a scope: one host transaction holds every
 * document, job and audit write they make, and is committed when the
 * outermost scope ends - before any HTTP answer they gave leaves (answers
 * are held until then) and before any Intercom request they started can be
 * sent (that happens on a later turn of the loop). Callbacks invoked
 * together (a dispatch round, a batch of Intercom completions) share one
 * commit, so plugins pay one fsync per batch, not per write, and still
 * "record progress before moving on".
 */
void host_scope_enter(struct server *srv);
/* True if the outermost scope committed (or this one is nested). */
bool host_scope_leave(struct server *srv);

/*
 * The commit turn: the durable work a loop iteration gathers - due jobs to
 * hand out and job results to record (jobs.c), notifications received
 * (webhooks.c) - is done once at its end, after the network I/O (a
 * low-priority event), inside one scope: one transaction, one fsync for all
 * of it. Webhook answers, held plugin answers and job bookkeeping follow the
 * commit. A module with such work calls host_turn_request().
 */
void host_turn_init(struct server *srv);
void host_turn_free(struct server *srv);
void host_turn_request(struct server *srv);
/* Run the turn at once (a full batch, shutdown); false if the store could not open its
   transaction, in which case nothing was done. */
bool host_turn_now(struct server *srv);

void host_init_post(struct event_base *base);
void host_free_post(void);
/* Cancel the timers of one plugin (before its shutdown), or of all (NULL) at exit. */
void host_cancel_timers(struct sb_plugin *p);

/* The services table every plugin receives; main.c hands it to the loader (plugins_load). */
struct sb_host;
extern const struct sb_host host_services;

#endif
