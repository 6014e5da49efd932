/* hashmap.h - an open-addressing map from byte-string keys to pointers. */
#ifndef SB_CORE_HASHMAP_H
#define SB_CORE_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct hashmap;

struct hashmap *hashmap_new(void);
/* Frees the map and its key copies; values are the caller's. */
void hashmap_free(struct hashmap *m);
/* Insert or replace; returns the previous value or NULL. The key is copied. */
void *hashmap_put(struct hashmap *m, const void *key, size_t len, void *value);
void *hashmap_get(const struct hashmap *m, const void *key, size_t len);
/* Remove; returns the value or NULL. */
void *hashmap_remove(struct hashmap *m, const void *key, size_t len);
size_t hashmap_count(const struct hashmap *m);
/* Visit every entry; fn must not change the map. */
void hashmap_each(const struct hashmap *m, void (*fn)(void *arg, void *value), void *arg);

/*
 * The map's hash, FNV-1a, over @len bytes continuing from @h: HASHMAP_HASH_START begins a key;
 * the result of one piece continues into the next, for a key made of several pieces.
 */
#define HASHMAP_HASH_START UINT64_C(14695981039346656037)
uint64_t hashmap_hash(uint64_t h, const void *bytes, size_t len);

/* Conveniences for the two key kinds the core uses. */
#define hashmap_put_u64(m, k, v) hashmap_put((m), &(uint64_t){(uint64_t)(k)}, sizeof(uint64_t), (v))
#define hashmap_get_u64(m, k) hashmap_get((m), &(uint64_t){(uint64_t)(k)}, sizeof(uint64_t))
#define hashmap_remove_u64(m, k) hashmap_remove((m), &(uint64_t){(uint64_t)(k)}, sizeof(uint64_t))

#endif
