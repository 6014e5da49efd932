/*
 * store_audit.h - the audit table: each installation's timeline of what
 * plugins and the host did, append-only. Every call runs in the caller's
 * transaction, if one is open.
 */
#ifndef SB_CORE_STORE_AUDIT_H
#define SB_CORE_STORE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* One entry; its strings are borrowed, valid during the callback. */
struct store_audit_entry {
    int64_t id;
    const char *plugin;
    int64_t installation;
    const char *subject; /* may be NULL */
    const char *action;
    const char *detail;  /* may be NULL */
    int64_t at;          /* ms since the epoch */
};

/* Which entries to visit: NULL or 0 fields match all. */
struct store_audit_filter {
    const char *plugin;
    int64_t installation;
    const char *subject;
    int64_t before_id; /* only ids below it: the next page of a newest-first walk */
    size_t limit;      /* 0: 100 */
};

/* Append an entry stamped now; subject and detail may be NULL. 0, or -1 with a log line. */
int store_audit_append(struct store *st, const char *plugin, int64_t installation,
                       const char *subject, const char *action, const char *detail);

/*
 * Visit the matching entries newest first until each returns non-zero (it
 * must not call into the store). The number visited, or -1 with a log line.
 */
int store_audit_each(struct store *st, const struct store_audit_filter *filter,
                     int (*each)(void *arg, const struct store_audit_entry *entry), void *arg);

#endif
