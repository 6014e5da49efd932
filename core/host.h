/*
 * host.h - the services table plugins receive (sb_host, host.c: each entry
 * checks its plugin handle and forwards to the module that owns the service)
 * and the lifetime of the table's own state: plugin timers and the loop_post
 * queue. Callbacks it starts run in a scope of the commit turn (turn.h).
 */
#ifndef SB_CORE_HOST_H
#define SB_CORE_HOST_H

#include <event2/event.h>

struct sb_plugin;

void host_init_post(struct event_base *base);
void host_free_post(void);
/* Cancel the timers of one plugin (before its shutdown), or of all (NULL) at exit. */
void host_cancel_timers(struct sb_plugin *p);

/* The services table every plugin receives; main.c hands it to the loader (plugins_load). */
struct sb_host;
extern const struct sb_host host_services;

#endif
