/* mock_host.c - see mock_host.h. */
#include "mock_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct doc {
    sb_installation_id inst;
    char *collection;
    char *key;
    char *value;
};

static struct doc *docs;
static size_t n_docs;
static int64_t now_ms = 1800000000000;
static json_object *settings;
/* A transaction's undo log: a full copy of the store, restored on failure. */
static struct doc *saved;
static size_t n_saved;
static int depth;

static struct doc *find(sb_installation_id inst, const char *collection, const char *key)
{
    for (size_t i = 0; i < n_docs; i++)
        if (docs[i].inst == inst && strcmp(docs[i].collection, collection) == 0
            && strcmp(docs[i].key, key) == 0)
            return &docs[i];
    return NULL;
}

static void free_docs(struct doc *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(d[i].collection);
        free(d[i].key);
        free(d[i].value);
    }
    free(d);
}

static struct doc *copy_docs(const struct doc *d, size_t n)
{
    struct doc *c = calloc(n ? n : 1, sizeof *c);
    for (size_t i = 0; i < n; i++)
        c[i] = (struct doc){d[i].inst, strdup(d[i].collection), strdup(d[i].key),
                            strdup(d[i].value)};
    return c;
}

void mock_host_reset(void)
{
    free_docs(docs, n_docs);
    docs = NULL;
    n_docs = 0;
    now_ms = 1800000000000;
    settings = NULL;
}

void mock_host_set_now_ms(int64_t ms)
{
    now_ms = ms;
}

void mock_host_set_settings(json_object *s)
{
    settings = s;
}

int mock_host_count(sb_installation_id inst, const char *collection)
{
    int n = 0;
    for (size_t i = 0; i < n_docs; i++)
        n += docs[i].inst == inst && strcmp(docs[i].collection, collection) == 0;
    return n;
}

static void h_log(sb_plugin *self, sb_log_level level, const char *fmt, ...)
{
    (void)self;
    (void)level;
    (void)fmt;
}

static int64_t h_now_ms(sb_plugin *self)
{
    (void)self;
    return now_ms;
}

static json_object *h_settings_get(sb_plugin *self, sb_installation_id id)
{
    (void)self;
    (void)id;
    return settings ? json_object_get(settings) : json_object_new_object();
}

static int h_doc_put(sb_plugin *self, sb_installation_id inst, const char *collection,
                     const char *key, json_object *value)
{
    (void)self;
    if (!key || !*key || !value)
        return -1;
    const char *text = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
    struct doc *d = find(inst, collection, key);
    if (d) {
        free(d->value);
        d->value = strdup(text);
        return 0;
    }
    docs = realloc(docs, (n_docs + 1) * sizeof *docs);
    docs[n_docs++] = (struct doc){inst, strdup(collection), strdup(key), strdup(text)};
    return 0;
}

static json_object *h_doc_get(sb_plugin *self, sb_installation_id inst, const char *collection,
                              const char *key)
{
    (void)self;
    struct doc *d = key ? find(inst, collection, key) : NULL;
    return d ? json_tokener_parse(d->value) : NULL;
}

static int h_doc_delete(sb_plugin *self, sb_installation_id inst, const char *collection,
                        const char *key)
{
    (void)self;
    struct doc *d = find(inst, collection, key);
    if (!d)
        return 0;
    free(d->collection);
    free(d->key);
    free(d->value);
    *d = docs[--n_docs];
    return 1;
}

static int by_key(const void *a, const void *b)
{
    return strcmp((*(struct doc *const *)a)->key, (*(struct doc *const *)b)->key);
}

static int h_doc_list(sb_plugin *self, sb_installation_id inst, const char *collection,
                      const char *from, const char *to, size_t limit, unsigned flags, sb_doc_cb cb,
                      void *arg)
{
    (void)self;
    /* Snapshot the matching keys and values, so callbacks may write. */
    struct doc *match = NULL;
    size_t n = 0;
    for (size_t i = 0; i < n_docs; i++) {
        struct doc *d = &docs[i];
        if (d->inst != inst || strcmp(d->collection, collection) != 0
            || (from && strcmp(d->key, from) < 0) || (to && strcmp(d->key, to) >= 0))
            continue;
        match = realloc(match, (n + 1) * sizeof *match);
        match[n++] = (struct doc){d->inst, strdup(d->collection), strdup(d->key), strdup(d->value)};
    }
    struct doc **order = calloc(n ? n : 1, sizeof *order);
    for (size_t i = 0; i < n; i++)
        order[i] = &match[i];
    qsort(order, n, sizeof *order, by_key);
    int visited = 0;
    for (size_t i = 0; i < n && (!limit || (size_t)visited < limit); i++) {
        struct doc *d = order[(flags & SB_DOC_REVERSE) ? n - 1 - i : i];
        json_object *value = json_tokener_parse(d->value);
        visited++;
        int stop = cb(arg, d->key, value);
        json_object_put(value);
        if (stop)
            break;
    }
    free(order);
    free_docs(match, n);
    return visited;
}

static int h_transaction(sb_plugin *self, int (*fn)(void *), void *arg)
{
    (void)self;
    if (depth++ == 0) {
        saved = copy_docs(docs, n_docs);
        n_saved = n_docs;
    }
    int rc = fn(arg);
    if (--depth == 0) {
        if (rc != 0) {
            free_docs(docs, n_docs);
            docs = saved;
            n_docs = n_saved;
        } else {
            free_docs(saved, n_saved);
        }
        saved = NULL;
    }
    return rc;
}

static int h_audit(sb_plugin *self, sb_installation_id inst, const char *subject,
                   const char *action, const char *detail)
{
    (void)self, (void)inst, (void)subject, (void)action, (void)detail;
    return 0;
}

static const sb_host host = {
    .struct_size = sizeof(sb_host),
    .abi_major = SB_ABI_MAJOR,
    .abi_minor = SB_ABI_MINOR,
    .log = h_log,
    .now_ms = h_now_ms,
    .settings_get = h_settings_get,
    .doc_put = h_doc_put,
    .doc_get = h_doc_get,
    .doc_delete = h_doc_delete,
    .doc_list = h_doc_list,
    .transaction = h_transaction,
    .audit = h_audit,
};

const sb_host *mock_host(void)
{
    return &host;
}

sb_plugin *mock_plugin(void)
{
    static char handle;
    return (sb_plugin *)&handle;
}
