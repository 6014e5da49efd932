/*
 * retention.h - what is kept and for how long: finished jobs
 * (jobs.retention_days), received webhook events no job needs any more
 * (events.retention_days) and expired OAuth states are pruned, starting a
 * minute after start and then every hour.
 */
#ifndef SB_CORE_RETENTION_H
#define SB_CORE_RETENTION_H

struct server;

struct retention *retention_new(struct server *srv);
void retention_free(struct retention *r);
void retention_start(struct retention *r);
void retention_stop(struct retention *r);

#endif
