/*
 * retention.h - what is kept and for how long: finished jobs
 * (jobs.retention_days), received webhook events no job needs any more
 * (events.retention_days) and expired OAuth states are pruned, starting a
 * minute after start and then every hour, in batches inside the commit turn.
 */
#ifndef SB_CORE_RETENTION_H
#define SB_CORE_RETENTION_H

#include <stdint.h>

struct server;

/* A minute after start: not in the way of start-up, soon enough to see. */
#define RETENTION_FIRST_PRUNE_MS 60000

struct retention *retention_new(struct server *srv);
void retention_free(struct retention *r);
void retention_start(struct retention *r, int64_t first_prune_ms);
void retention_stop(struct retention *r);
/* Join the commit turn (turn.h) as its last participant, "pruning". */
void retention_join_turn(struct retention *r);

#endif
