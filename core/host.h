/* host.h - lifetime hooks of the services table's own state (timers, loop_post queue). */
#ifndef SB_CORE_HOST_H
#define SB_CORE_HOST_H

#include <event2/event.h>

struct sb_plugin;

void host_init_post(struct event_base *base);
void host_free_post(void);
/* Cancel the timers of one plugin (before its shutdown), or of all (NULL) at exit. */
void host_cancel_timers(struct sb_plugin *p);

#endif
