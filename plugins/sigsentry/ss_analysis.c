/* ss_analysis.c - count records, group errors by signature. */
#include "ss_analysis.h"

#include "ss_signature.h"
#include "ss_util.h"

#include <stdlib.h>
#include <string.h>

void ss_analysis_init(struct ss_analysis *a, size_t max_signatures)
{
    memset(a, 0, sizeof *a);
    a->max_signatures = max_signatures ? max_signatures : 1;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* Rebuild the index at twice the size: keeps the load factor under one half. */
static void grow_index(struct ss_analysis *a)
{
    size_t n = a->n_slots ? a->n_slots * 2 : 64;
    size_t *slots = pk_xcalloc(n, sizeof *slots);
    for (size_t i = 0; i < a->n_stats; i++) {
        size_t pos = hash(a->stats[i].signature) & (n - 1);
        while (slots[pos])
            pos = (pos + 1) & (n - 1);
        slots[pos] = i + 1;
    }
    free(a->slots);
    a->slots = slots;
    a->n_slots = n;
}

static struct ss_signature_stat *find_or_add(struct ss_analysis *a, const char *signature,
                                             bool *added)
{
    *added = false;
    if (!a->n_slots || (a->n_stats + 1) * 2 > a->n_slots)
        grow_index(a);
    size_t pos = hash(signature) & (a->n_slots - 1);
    while (a->slots[pos]) {
        struct ss_signature_stat *st = &a->stats[a->slots[pos] - 1];
        if (strcmp(st->signature, signature) == 0)
            return st;
        pos = (pos + 1) & (a->n_slots - 1);
    }
    if (a->n_stats >= a->max_signatures)
        return NULL;
    if (a->n_stats == a->cap_stats) {
        a->cap_stats = a->cap_stats ? a->cap_stats * 2 : 32;
        a->stats = pk_xrealloc(a->stats, a->cap_stats * sizeof *a->stats);
    }
    struct ss_signature_stat *st = &a->stats[a->n_stats];
    memset(st, 0, sizeof *st);
    st->signature = pk_xstrdup(signature);
    a->slots[pos] = ++a->n_stats;
    *added = true;
    return st;
}

void ss_analysis_add(struct ss_analysis *a, const char *service, int64_t time_ms,
                     enum ss_level level, const char *message)
{
    a->records++;
    if ((unsigned)level < SS_LEVEL_COUNT)
        a->by_level[level]++;
    if (level < SS_LEVEL_ERROR)
        return;
    a->errors++;
    char signature[SS_SIGNATURE_MAX + 1];
    ss_signature(message, signature);
    bool added;
    struct ss_signature_stat *st = find_or_add(a, signature, &added);
    if (!st) {
        a->ungrouped++;
        return;
    }
    if (added) {
        st->sample = pk_xstrdup(message ? message : "");
        st->service = pk_xstrdup(service ? service : "");
        st->first_ms = st->last_ms = time_ms;
        st->level = level;
    }
    st->count++;
    if (time_ms < st->first_ms)
        st->first_ms = time_ms;
    if (time_ms > st->last_ms)
        st->last_ms = time_ms;
    if (level > st->level)
        st->level = level;
}

static int by_rank(const void *x, const void *y)
{
    const struct ss_signature_stat *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->first_ms != b->first_ms)
        return a->first_ms < b->first_ms ? -1 : 1;
    return strcmp(a->signature, b->signature);
}

void ss_analysis_sort(struct ss_analysis *a)
{
    if (a->n_stats > 1)
        qsort(a->stats, a->n_stats, sizeof *a->stats, by_rank);
    free(a->slots);
    a->slots = NULL;
    a->n_slots = 0;
}

json_object *ss_analysis_json(const struct ss_analysis *a, size_t top)
{
    json_object *o = json_object_new_object();
    sb_json_add_int(o, "records", a->records);
    json_object *levels = json_object_new_object();
    for (int l = 0; l < SS_LEVEL_COUNT; l++)
        sb_json_add_int(levels, ss_level_name((enum ss_level)l), a->by_level[l]);
    json_object_object_add(o, "by_level", levels);
    sb_json_add_int(o, "errors", a->errors);
    sb_json_add_int(o, "distinct_signatures", (int64_t)a->n_stats);
    sb_json_add_int(o, "ungrouped", a->ungrouped);
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < a->n_stats && i < top; i++) {
        const struct ss_signature_stat *st = &a->stats[i];
        json_object *e = json_object_new_object();
        sb_json_add_str(e, "signature", st->signature);
        sb_json_add_int(e, "count", st->count);
        sb_json_add_int(e, "first_seen", st->first_ms);
        sb_json_add_int(e, "last_seen", st->last_ms);
        sb_json_add_str(e, "level", ss_level_name(st->level));
        sb_json_add_str(e, "service", st->service);
        sb_json_add_str(e, "sample", st->sample);
        json_object_array_add(list, e);
    }
    json_object_object_add(o, "top", list);
    return o;
}

void ss_analysis_free(struct ss_analysis *a)
{
    for (size_t i = 0; i < a->n_stats; i++) {
        free(a->stats[i].signature);
        free(a->stats[i].sample);
        free(a->stats[i].service);
    }
    free(a->stats);
    free(a->slots);
    memset(a, 0, sizeof *a);
}
