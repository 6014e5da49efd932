/* hashmap.c - linear probing with tombstones; FNV-1a hashes. */
#include "hashmap.h"

#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    void *key; /* NULL: empty; TOMBSTONE: deleted */
    size_t len;
    uint64_t hash;
    void *value;
};

static char tombstone_marker;
#define TOMBSTONE ((void *)&tombstone_marker)

struct hashmap {
    struct entry *entries;
    size_t cap;   /* power of two */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
};

uint64_t hashmap_hash(uint64_t h, const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t hash_bytes(const void *key, size_t len)
{
    return hashmap_hash(HASHMAP_HASH_START, key, len);
}

struct hashmap *hashmap_new(void)
{
    struct hashmap *m = xcalloc(1, sizeof *m);
    m->cap = 16;
    m->entries = xcalloc(m->cap, sizeof *m->entries);
    return m;
}

void hashmap_free(struct hashmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->entries[i].key && m->entries[i].key != TOMBSTONE)
            free(m->entries[i].key);
    free(m->entries);
    free(m);
}

static struct entry *find(const struct hashmap *m, const void *key, size_t len, uint64_t h)
{
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct entry *e = &m->entries[i];
        if (!e->key)
            return NULL;
        if (e->key != TOMBSTONE && e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
}

static void rehash(struct hashmap *m, size_t cap)
{
    struct entry *old = m->entries;
    size_t old_cap = m->cap;
    m->entries = xcalloc(cap, sizeof *m->entries);
    m->cap = cap;
    m->used = m->count;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].key || old[i].key == TOMBSTONE)
            continue;
        size_t j = old[i].hash & (cap - 1);
        while (m->entries[j].key)
            j = (j + 1) & (cap - 1);
        m->entries[j] = old[i];
    }
    free(old);
}

void *hashmap_put(struct hashmap *m, const void *key, size_t len, void *value)
{
    uint64_t h = hash_bytes(key, len);
    struct entry *e = find(m, key, len, h);
    if (e) {
        void *prev = e->value;
        e->value = value;
        return prev;
    }
    if ((m->used + 1) * 4 > m->cap * 3)
        rehash(m, m->count * 2 + 1 > m->cap / 2 ? m->cap * 2 : m->cap);
    size_t i = h & (m->cap - 1);
    while (m->entries[i].key && m->entries[i].key != TOMBSTONE)
        i = (i + 1) & (m->cap - 1);
    if (!m->entries[i].key)
        m->used++;
    m->entries[i].key = xmalloc(len ? len : 1);
    memcpy(m->entries[i].key, key, len);
    m->entries[i].len = len;
    m->entries[i].hash = h;
    m->entries[i].value = value;
    m->count++;
    return NULL;
}

void *hashmap_get(const struct hashmap *m, const void *key, size_t len)
{
    struct entry *e = find(m, key, len, hash_bytes(key, len));
    return e ? e->value : NULL;
}

void *hashmap_remove(struct hashmap *m, const void *key, size_t len)
{
    struct entry *e = find(m, key, len, hash_bytes(key, len));
    if (!e)
        return NULL;
    void *value = e->value;
    free(e->key);
    e->key = TOMBSTONE;
    e->value = NULL;
    m->count--;
    return value;
}

size_t hashmap_count(const struct hashmap *m)
{
    return m->count;
}

void hashmap_each(const struct hashmap *m, void (*fn)(void *, void *), void *arg)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->entries[i].key && m->entries[i].key != TOMBSTONE)
            fn(arg, m->entries[i].value);
}
