/*
 * sd_api.h - the product API of startdeliver (/api/startdeliver/...): the
 * product pushes users and customers and reads tickets, support health and
 * usage; the integrator starts syncs, reads the status and revokes.
 */
#ifndef SD_API_H
#define SD_API_H

#include "sd_plugin.h"

/** The routes, ending with a {NULL} entry. */
extern const sb_route sd_routes[];

/**
 * Key of the sync jobs. The host gives scheduled jobs the key
 * "schedule:<name>"; on-demand syncs use the same one, so the two kinds run
 * one at a time and the scheduler never stacks a run behind a running one.
 */
#define SD_SYNC_JOB_KEY "schedule:sync"
#define SD_SYNC_JOB "sync"

#endif
