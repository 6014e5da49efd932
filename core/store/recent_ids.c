/*
 * recent_ids.c - the window of newest notification ids (see recent_ids.h): an
 * open-addressing table (linear probing, deletion by backward shift, at most
 * half full) over a ring that keeps the entries in the order they came, so
 * the oldest is the one to go.
 */
#include "store/recent_ids.h"

#include "hashmap.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint64_t hash; /* 0: an empty slot */
    int64_t row;
};

struct recent_ids {
    struct entry *slots;
    size_t mask; /* slots - 1, a power of two minus one */
    size_t count;
    struct entry *ring; /* the entries in the order they came */
    size_t capacity, oldest, in_ring;
};

/* Write to every page of a fresh allocation, so it is resident from now on. */
static void *touched(void *p, size_t bytes)
{
    for (size_t i = 0; i < bytes; i += 4096)
        ((volatile char *)p)[i] = 0;
    return p;
}

struct recent_ids *recent_ids_new(size_t capacity)
{
    struct recent_ids *r = xcalloc(1, sizeof *r);
    size_t slots = 16;
    while (slots < 2 * capacity)
        slots *= 2;
    r->slots = touched(xcalloc(slots, sizeof *r->slots), slots * sizeof *r->slots);
    r->mask = slots - 1;
    r->capacity = capacity;
    r->ring = touched(xcalloc(capacity, sizeof *r->ring), capacity * sizeof *r->ring);
    return r;
}

void recent_ids_free(struct recent_ids *r)
{
    if (!r)
        return;
    free(r->slots);
    free(r->ring);
    free(r);
}

/* splitmix64's finalizer: every input bit moves about half the output bits. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

uint64_t recent_ids_hash(const char *plugin, const char *notification_id)
{
    /* The map's hash over plugin, a separator (no byte of UTF-8 text is 0xff), the id. */
    uint64_t h = hashmap_hash(HASHMAP_HASH_START, plugin, strlen(plugin));
    h = hashmap_hash(h, "\xff", 1);
    h = mix(hashmap_hash(h, notification_id, strlen(notification_id)));
    return h ? h : 1;
}

static size_t home(const struct recent_ids *r, uint64_t hash)
{
    return (size_t)hash & r->mask;
}

static void table_put(struct recent_ids *r, uint64_t hash, int64_t row)
{
    size_t i = home(r, hash);
    while (r->slots[i].hash)
        i = (i + 1) & r->mask;
    r->slots[i] = (struct entry){hash, row};
    r->count++;
}

/* Remove (hash, row) - one of them if it is there twice; later entries of its run move back
   into the gap. */
static void table_remove(struct recent_ids *r, uint64_t hash, int64_t row)
{
    size_t i = home(r, hash);
    for (;; i = (i + 1) & r->mask) {
        if (!r->slots[i].hash)
            return;
        if (r->slots[i].hash == hash && r->slots[i].row == row)
            break;
    }
    for (size_t j = (i + 1) & r->mask; r->slots[j].hash; j = (j + 1) & r->mask) {
        /* j's entry may fill the gap at i unless its home lies cyclically in (i, j]. */
        size_t k = home(r, r->slots[j].hash);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        r->slots[i] = r->slots[j];
        i = j;
    }
    r->slots[i] = (struct entry){0, 0};
    r->count--;
}

void recent_ids_add(struct recent_ids *r, uint64_t hash, int64_t row)
{
    if (r->in_ring == r->capacity) { /* full: the oldest goes */
        struct entry old = r->ring[r->oldest];
        table_remove(r, old.hash, old.row);
        r->oldest = (r->oldest + 1) % r->capacity;
        r->in_ring--;
    }
    r->ring[(r->oldest + r->in_ring) % r->capacity] = (struct entry){hash, row};
    r->in_ring++;
    table_put(r, hash, row);
}

size_t recent_ids_find(const struct recent_ids *r, uint64_t hash, int64_t *rows, size_t max)
{
    size_t n = 0;
    for (size_t i = home(r, hash); r->slots[i].hash; i = (i + 1) & r->mask)
        if (r->slots[i].hash == hash) {
            if (n < max)
                rows[n] = r->slots[i].row;
            n++;
        }
    return n;
}

size_t recent_ids_count(const struct recent_ids *r)
{
    return r->count;
}

size_t recent_ids_capacity(const struct recent_ids *r)
{
    return r->capacity;
}
