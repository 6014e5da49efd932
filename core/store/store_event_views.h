/*
 * store_event_views.h - the events table as the admin API reads it: received
 * webhook notifications, newest first, by page (intake, which writes them,
 * has its own store file). Reads only; they run in the caller's
 * transaction, if one is open.
 */
#ifndef SB_CORE_STORE_EVENT_VIEWS_H
#define SB_CORE_STORE_EVENT_VIEWS_H

#include <stdbool.h>
#include <stdint.h>

struct store;

/* One received event; its strings are borrowed, valid during the callback. */
struct store_event_row {
    int64_t id;
    const char *plugin;
    const char *notification_id;
    bool has_installation; /* false: the event matched no installation */
    int64_t installation;
    const char *workspace_id; /* may be NULL */
    const char *topic;
    int64_t created_at;       /* Intercom's, seconds */
    int64_t received_at;      /* ours, ms */
    const char *outcome;      /* queued, ignored, unrouted, revoked */
    const char *body;         /* the notification as received (JSON) */
};

/* Which events to visit: NULL or 0 fields match all. */
struct store_event_filter {
    const char *plugin;
    int64_t installation;
    const char *topic;
    int64_t before_id; /* only ids below it: the next page */
    int limit;
};

/*
 * Visit the matching events newest first until each returns non-zero (it must
 * not call into the store). The number visited, or -1 with a log line.
 */
int store_events_each(struct store *st, const struct store_event_filter *filter,
                      int (*each)(void *arg, const struct store_event_row *row), void *arg);
/*
 * Hand event id to each: 1 when there is one, 0 when there is none, -1 with
 * a log line.
 */
int store_event_by_id(struct store *st, int64_t id,
                      int (*each)(void *arg, const struct store_event_row *row), void *arg);

#endif
