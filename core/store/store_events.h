/*
 * store_events.h - the events table: every webhook notification received,
 * once per (plugin, notification id), with its outcome and body; one
 * that is delivered to its plugin carries its delivery's state in the same
 * row (the queue's side of it is in store_jobs.h: a delivery is a job whose
 * id is its event's). Read back for the delivery, pruned when old and no
 * longer needed.
 * Functions run in the caller's transaction, if one is open; failures return
 * -1 after one log line.
 *
 * A notification sent again is recognized by a unique index on PostgreSQL,
 * which the nodes of a cluster share. On SQLite, whose one process writes
 * the file, by the window of the newest (store_options' redelivery_window,
 * and at start those of the last 15 minutes): a unique index over ids in no
 * order costs a random B-tree page in every commit and checkpoint, and
 * Intercom sends a notification again only a minute after an answer it did
 * not get. One older than the window would be stored and delivered again.
 */
#ifndef SB_CORE_STORE_EVENTS_H
#define SB_CORE_STORE_EVENTS_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A notification. The strings are borrowed (by the store, for the call; by a reader, for its callback). */
struct store_event {
    int64_t id;               /* 0 when inserting; the row's id when read */
    const char *plugin;
    const char *notification_id;
    int64_t installation;     /* 0: no installation (unrouted) */
    const char *workspace_id; /* NULL: none */
    const char *topic;
    int64_t created_at;       /* Intercom's, in seconds */
    int64_t received_at;
    const char *outcome;      /* queued, ignored, unrouted, revoked */
    const char *body;
    size_t body_len;
    /* Its delivery (outcome queued): inserting, key and max_attempts; reading, its state. */
    const char *key;          /* ordering key: one item's notifications are delivered in order */
    int max_attempts;
    const char *state;        /* NULL: not delivered */
};
/*
 * Insert a notification: its new id; or 0 with *duplicate set if this
 * plugin already has one with the same notification id (nothing written);
 * or -1. With outcome "queued" it is also a delivery, due at received_at:
 * 'waiting' behind an active delivery of the same key, 'queued' otherwise.
 */
int64_t store_event_insert(struct store *st, const struct store_event *event, bool *duplicate);
struct recent_ids;
/* Fill an empty window with the newest notifications stored (store_open): 0, or -1. */
int store_events_recall(struct store *st, struct recent_ids *recent);
/*
 * Read event id (topic, notification id, created_at, body; valid during the
 * call): 1 after calling use, 0 if there is no such event, -1.
 */
int store_event_read(struct store *st, int64_t id,
                     void (*use)(void *arg, const struct store_event *event), void *arg);
/*
 * Delete up to limit events received before a time that no job still needs
 * (queued, waiting, running, pending or dead): how many, or -1.
 */
int store_events_prune(struct store *st, int64_t received_before, int limit);

/* Which events the admin API lists: NULL or 0 fields match all. */
struct store_event_filter {
    const char *plugin;
    int64_t installation;
    const char *topic;
    int64_t before_id; /* only ids below it: the next page */
    int limit;
};
/*
 * Visit the matching events newest first (every field, body included) until
 * each returns non-zero (it must not call into the store): the number
 * visited, or -1.
 */
int store_events_each(struct store *st, const struct store_event_filter *filter,
                      int (*each)(void *arg, const struct store_event *event), void *arg);
/* Hand event id to each, as store_events_each does: 1, 0 if there is none, or -1. */
int store_event_by_id(struct store *st, int64_t id,
                      int (*each)(void *arg, const struct store_event *event), void *arg);

#endif
