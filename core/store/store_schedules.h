/*
 * store_schedules.h - the schedules table: one row per (plugin, installation,
 * schedule name) with its interval and next run. Functions run in the
 * caller's transaction, if one is open; failures return -1 (or NULL) after
 * one log line.
 */
#ifndef SB_CORE_STORE_SCHEDULES_H
#define SB_CORE_STORE_SCHEDULES_H

#include "store/store.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Create a schedule, due at now; or update its interval: a changed interval
 * counts from the last run (or now), an unchanged one keeps its next run.
 */
int store_schedule_upsert(struct store *st, const char *plugin, int64_t installation,
                          const char *name, int64_t interval_s, int64_t now);

/* A due schedule. The strings are owned: store_schedules_free. */
struct store_schedule {
    char *plugin;
    int64_t installation;
    char *name;
    int64_t interval_s;
    int64_t next_run_at;
};
/* Up to 1,000 schedules due at now, into a new array *out: how many (0 on failure). */
size_t store_schedules_due(struct store *st, int64_t now, struct store_schedule **out);
void store_schedules_free(struct store_schedule *list, size_t n);
/*
 * Claim a due schedule's run at now: next due at next_run_at, if it is still
 * due at due_at as it was read. 1: claimed; 0: another node (or a change of
 * interval) moved it first, so this one must not run it; -1.
 */
int store_schedule_advance(struct store *st, const char *plugin, int64_t installation,
                           const char *name, int64_t due_at, int64_t next_run_at, int64_t now);
/* When the earliest schedule is due: 1 (in *next_run_at), 0 if there is none, -1. */
int store_schedules_next(struct store *st, int64_t *next_run_at);
/* Delete an installation's schedules. */
int store_schedules_forget_installation(struct store *st, int64_t installation);
/* The schedules (of one plugin, or all: NULL) as a JSON array, by plugin, installation, name. */
json_object *store_schedules_list(struct store *st, const char *plugin);

#endif
