/*
 * schedules.h - plugins' periodic schedules (sb_descriptor.schedules): one
 * row per active installation and schedule, each due run enqueued as a job
 * keyed "schedule:<name>" (never stacked behind a run still going).
 */
#ifndef SB_CORE_SCHEDULES_H
#define SB_CORE_SCHEDULES_H

#include <stdint.h>

struct server;
struct sb_plugin;
struct installation;

struct schedules *schedules_new(struct server *srv);
void schedules_free(struct schedules *sch);
/* Create the rows of every active installation and fire the due ones (after jobs_start). */
void schedules_start(struct schedules *sch);
/* Fire nothing more. */
void schedules_stop(struct schedules *sch);
/* Create or update the rows of one installation (after install or a settings change). */
void schedules_sync(struct schedules *sch, struct sb_plugin *p, const struct installation *inst);
/* Look for due schedules now (other nodes of a cluster add and move them too). */
void schedules_kick(struct schedules *sch);
/* An installation was revoked: its schedules go. */
void schedules_forget_installation(struct schedules *sch, int64_t installation);

#endif
