/*
 * recent_ids.h - the newest notification ids, in memory: what recognizes a
 * redelivered notification without a unique index over random ids (each a
 * random page of a B-tree in every commit's log and checkpoint).
 *
 * An entry is a 64-bit hash of (plugin, notification id) and the events row
 * that holds it. A hash says "maybe": the caller reads the row to be sure,
 * so a collision costs a read, never a lost notification. The window keeps
 * the newest `capacity` entries (the oldest go first); Intercom redelivers a
 * notification about a minute after an answer it did not get, so the window
 * only has to span minutes.
 *
 * Rows rolled back, pruned or reused stay in the window until their turn to
 * go: the caller's read tells them apart, so the window need not follow
 * transactions. Its memory is taken and touched when it is made, so the
 * server's footprint is the same idle as under load. Not thread-safe: the
 * holder of the store's connection uses it.
 */
#ifndef SB_CORE_STORE_RECENT_IDS_H
#define SB_CORE_STORE_RECENT_IDS_H

#include <stddef.h>
#include <stdint.h>

struct recent_ids;

/* A window of @capacity entries (> 0): 16 bytes an entry in its ring and twice that, at
   least, in its table (at most half full): 3 MB for 65,536 entries. */
struct recent_ids *recent_ids_new(size_t capacity);
void recent_ids_free(struct recent_ids *r);

/* The hash of (plugin, notification id), never 0. */
uint64_t recent_ids_hash(const char *plugin, const char *notification_id);

/* Remember that @row holds the notification of @hash (the oldest entry goes if full); an
   entry already there for the same pair is kept too, and goes in its own turn. */
void recent_ids_add(struct recent_ids *r, uint64_t hash, int64_t row);
/*
 * The rows remembered for @hash, in no set order, into @rows (at most @max): how many there
 * are in all (more than @max: call again with more room).
 */
size_t recent_ids_find(const struct recent_ids *r, uint64_t hash, int64_t *rows, size_t max);
size_t recent_ids_count(const struct recent_ids *r);
size_t recent_ids_capacity(const struct recent_ids *r);

#endif
