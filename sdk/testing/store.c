/*
 * store.c - documents, the audit timeline and product events in memory, with
 * the host's semantics (core/documents.c over SQLite): keys ordered as bytes,
 * from <= key < to with NULL open ends, values kept as JSON text, and
 * transaction() undoing every write of a function that fails.
 */
#include "kit.h"

#include "doc_names.h"

#include <stdlib.h>
#include <string.h>

/* Byte order, as SQLite's BINARY collation compares keys. */
static int bytes_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int doc_cmp(sb_installation_id inst, const char *collection, const char *key,
                   const struct kit_doc *d)
{
    if (inst != d->inst)
        return inst < d->inst ? -1 : 1;
    int c = bytes_cmp(collection, d->collection);
    return c ? c : bytes_cmp(key, d->key);
}

/* Index of the first document not ordered before (inst, collection, key). */
static size_t lower_bound(const struct sbt_kit *kit, sb_installation_id inst,
                          const char *collection, const char *key)
{
    size_t lo = 0, hi = kit->n_docs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (doc_cmp(inst, collection, key, &kit->docs[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct kit_doc *find(struct sbt_kit *kit, sb_installation_id inst, const char *collection,
                            const char *key)
{
    size_t i = lower_bound(kit, inst, collection, key);
    return i < kit->n_docs && doc_cmp(inst, collection, key, &kit->docs[i]) == 0 ? &kit->docs[i]
                                                                                 : NULL;
}

/* Store @p value (NULL: delete) without undo bookkeeping; returns whether a document was there. */
static bool doc_set(struct sbt_kit *kit, sb_installation_id inst, const char *collection,
                    const char *key, const char *value)
{
    size_t i = lower_bound(kit, inst, collection, key);
    bool existed = i < kit->n_docs && doc_cmp(inst, collection, key, &kit->docs[i]) == 0;
    if (existed && value) {
        free(kit->docs[i].value);
        kit->docs[i].value = xstrdup(value);
    } else if (existed) {
        free(kit->docs[i].collection);
        free(kit->docs[i].key);
        free(kit->docs[i].value);
        memmove(&kit->docs[i], &kit->docs[i + 1], (kit->n_docs - i - 1) * sizeof *kit->docs);
        kit->n_docs--;
    } else if (value) {
        KIT_PUSH(kit, docs, (struct kit_doc){0});
        memmove(&kit->docs[i + 1], &kit->docs[i], (kit->n_docs - i - 1) * sizeof *kit->docs);
        kit->docs[i] = (struct kit_doc){inst, xstrdup(collection), xstrdup(key), xstrdup(value)};
    }
    return existed;
}

/* A write through the services: remembered for transaction() before it happens. */
static bool doc_write(struct sbt_kit *kit, sb_installation_id inst, const char *collection,
                      const char *key, const char *value)
{
    if (kit->tx_depth) {
        struct kit_doc *old = find(kit, inst, collection, key);
        kit_undo_push(kit, (struct undo){.kind = UNDO_DOC, .inst = inst,
                                         .collection = xstrdup(collection), .key = xstrdup(key),
                                         .old_value = old ? xstrdup(old->value) : NULL});
    }
    return doc_set(kit, inst, collection, key, value);
}

/* The host's checks: own installation, then names and key length (core/doc_names.c). */
static bool valid(struct sbt_kit *kit, sb_installation_id inst, const char *collection,
                  const char *key, bool key_needed, const char *call)
{
    if (!kit_own_installation(kit, inst, call) || (key_needed && !key))
        return false;
    const char *problem = doc_names_problem(collection, key);
    if (problem)
        kit_log(kit, SB_LOG_WARN, "%s: %s", call, problem);
    return problem == NULL;
}

static int h_doc_put(sb_plugin *self, sb_installation_id inst, const char *collection,
                     const char *key, json_object *value)
{
    struct sbt_kit *kit = kit_of(self, "doc_put");
    if (!kit || !valid(kit, inst, collection, key, true, "doc_put") || !value)
        return -1;
    doc_write(kit, inst, collection, key,
              json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN
                                                        | JSON_C_TO_STRING_NOSLASHESCAPE));
    return 0;
}

static json_object *h_doc_get(sb_plugin *self, sb_installation_id inst, const char *collection,
                              const char *key)
{
    struct sbt_kit *kit = kit_of(self, "doc_get");
    if (!kit || !valid(kit, inst, collection, key, true, "doc_get"))
        return NULL;
    struct kit_doc *d = find(kit, inst, collection, key);
    return d ? json_tokener_parse(d->value) : NULL;
}

static int h_doc_delete(sb_plugin *self, sb_installation_id inst, const char *collection,
                        const char *key)
{
    struct sbt_kit *kit = kit_of(self, "doc_delete");
    if (!kit || !valid(kit, inst, collection, key, true, "doc_delete"))
        return -1;
    if (!find(kit, inst, collection, key))
        return 0;
    doc_write(kit, inst, collection, key, NULL);
    return 1;
}

/* Copies of the documents with from <= key < to, in key order: callbacks may write meanwhile. */
static size_t range(struct sbt_kit *kit, sb_installation_id inst, const char *collection,
                    const char *from, const char *to, struct kit_doc **out)
{
    size_t i = lower_bound(kit, inst, collection, from ? from : "");
    size_t n = 0;
    *out = NULL;
    for (; i < kit->n_docs; i++) {
        const struct kit_doc *d = &kit->docs[i];
        if (d->inst != inst || strcmp(d->collection, collection) != 0
            || (to && bytes_cmp(d->key, to) >= 0))
            break;
        *out = xrealloc(*out, (n + 1) * sizeof **out);
        (*out)[n++] = (struct kit_doc){inst, NULL, xstrdup(d->key), xstrdup(d->value)};
    }
    return n;
}

static void free_range(struct kit_doc *docs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(docs[i].key);
        free(docs[i].value);
    }
    free(docs);
}

static int h_doc_list(sb_plugin *self, sb_installation_id inst, const char *collection,
                      const char *from, const char *to, size_t limit, unsigned flags,
                      sb_doc_cb cb, void *arg)
{
    struct sbt_kit *kit = kit_of(self, "doc_list");
    if (!kit || !valid(kit, inst, collection, NULL, false, "doc_list") || !cb)
        return -1;
    struct kit_doc *docs;
    size_t n = range(kit, inst, collection, from, to, &docs);
    int visited = 0;
    for (size_t i = 0; i < n && (!limit || (size_t)visited < limit); i++) {
        const struct kit_doc *d = &docs[(flags & SB_DOC_REVERSE) ? n - 1 - i : i];
        json_object *value = json_tokener_parse(d->value);
        visited++;
        int stop = cb(arg, d->key, value);
        json_object_put(value);
        if (stop)
            break;
    }
    free_range(docs, n);
    return visited;
}

static int h_doc_delete_range(sb_plugin *self, sb_installation_id inst, const char *collection,
                              const char *from, const char *to)
{
    struct sbt_kit *kit = kit_of(self, "doc_delete_range");
    if (!kit || !valid(kit, inst, collection, NULL, false, "doc_delete_range"))
        return -1;
    struct kit_doc *docs;
    size_t n = range(kit, inst, collection, from, to, &docs);
    for (size_t i = 0; i < n; i++)
        doc_write(kit, inst, collection, docs[i].key, NULL);
    free_range(docs, n);
    return (int)n;
}

size_t sbt_doc_count(const sbt_kit *kit, sb_installation_id inst, const char *collection)
{
    size_t n = 0;
    for (size_t i = 0; i < kit->n_docs; i++)
        n += kit->docs[i].inst == inst && strcmp(kit->docs[i].collection, collection) == 0;
    return n;
}

/* ---- transactions ---- */

void kit_undo_push(struct sbt_kit *kit, struct undo entry)
{
    if (kit->tx_depth)
        KIT_PUSH(kit, undo, entry);
    else
        json_object_put(entry.old_checkpoint);
}

static void undo_free(struct undo *u)
{
    free(u->collection);
    free(u->key);
    free(u->old_value);
    json_object_put(u->old_checkpoint);
}

static void pop_audit(struct sbt_kit *kit)
{
    struct kit_audit *a = &kit->audit[--kit->n_audit];
    free(a->subject);
    free(a->action);
    free(a->detail);
}

static void pop_product_event(struct sbt_kit *kit)
{
    sbt_product_event *e = &kit->product_events[--kit->n_product_events];
    free((char *)e->type);
    json_object_put(e->payload);
}

/* Undo the writes recorded after @p mark, newest first. */
static void roll_back(struct sbt_kit *kit, size_t mark)
{
    while (kit->n_undo > mark) {
        struct undo *u = &kit->undo[--kit->n_undo];
        switch (u->kind) {
        case UNDO_DOC: doc_set(kit, u->inst, u->collection, u->key, u->old_value); break;
        case UNDO_JOB_ADDED: kit_job_remove(kit, u->job); break;
        case UNDO_CHECKPOINT: {
            struct kit_job *job = kit_job(kit, u->job);
            if (job) {
                json_object_put(job->pub.checkpoint);
                job->pub.checkpoint = u->old_checkpoint;
                u->old_checkpoint = NULL;
            }
            break;
        }
        case UNDO_AUDIT: pop_audit(kit); break;
        case UNDO_PRODUCT_EVENT: pop_product_event(kit); break;
        }
        undo_free(u);
    }
}

/* The header's rule: 0 kept; fn's positive value or -1 for a negative one, writes undone. */
static int h_transaction(sb_plugin *self, int (*fn)(void *), void *arg)
{
    struct sbt_kit *kit = kit_of(self, "transaction");
    if (!kit || !fn)
        return -1;
    size_t mark = kit->n_undo;
    kit->tx_depth++;
    int rc = fn(arg);
    if (rc != 0)
        roll_back(kit, mark);
    if (--kit->tx_depth == 0) {
        /* The outermost group stands: nothing is left to undo. */
        for (size_t i = 0; i < kit->n_undo; i++)
            undo_free(&kit->undo[i]);
        kit->n_undo = 0;
    }
    if (rc < 0)
        kit_log(kit, SB_LOG_WARN, "transaction: the function failed (%d); its writes are undone",
                rc);
    return rc < 0 ? -1 : rc;
}

/* ---- audit ---- */

static int h_audit(sb_plugin *self, sb_installation_id inst, const char *subject,
                   const char *action, const char *detail)
{
    struct sbt_kit *kit = kit_of(self, "audit");
    if (!kit || !kit_own_installation(kit, inst, "audit") || !action || !*action)
        return -1;
    struct kit_audit a = {++kit->next_audit_id, inst, subject ? xstrdup(subject) : NULL,
                          xstrdup(action), detail ? xstrdup(detail) : NULL, kit->now_ms};
    KIT_PUSH(kit, audit, a);
    kit_undo_push(kit, (struct undo){.kind = UNDO_AUDIT});
    return 0;
}

static json_object *nullable_string(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

/* As core/audit.c: newest first; installation 0 reads every installation's timeline. */
static json_object *h_audit_list(sb_plugin *self, sb_installation_id inst, const char *subject,
                                 size_t limit)
{
    struct sbt_kit *kit = kit_of(self, "audit_list");
    if (!kit || !kit_own_installation(kit, inst, "audit_list"))
        return NULL;
    json_object *arr = json_object_new_array();
    size_t max = limit ? limit : 100;
    for (size_t i = kit->n_audit; i-- > 0 && json_object_array_length(arr) < max;) {
        const struct kit_audit *a = &kit->audit[i];
        if ((inst && a->inst != inst) || (subject && (!a->subject || strcmp(a->subject, subject))))
            continue;
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int64(a->id));
        json_object_object_add(e, "plugin", json_object_new_string(kit->desc.name));
        json_object_object_add(e, "installation_id", json_object_new_int64(a->inst));
        json_object_object_add(e, "subject", nullable_string(a->subject));
        json_object_object_add(e, "action", json_object_new_string(a->action));
        json_object_object_add(e, "detail", nullable_string(a->detail));
        json_object_object_add(e, "at", json_object_new_int64(a->at));
        json_object_array_add(arr, e);
    }
    return arr;
}

/* ---- product events ---- */

static int h_product_event(sb_plugin *self, sb_installation_id inst, const char *type,
                           json_object *payload)
{
    struct sbt_kit *kit = kit_of(self, "product_event");
    if (!kit || !kit_own_installation(kit, inst, "product_event") || !type || !*type)
        return -1;
    if (!kit->product_webhook) {
        kit_log(kit, SB_LOG_WARN, "product_event %s: no product webhook is configured", type);
        return -1;
    }
    json_object *copy = NULL;
    if (payload && json_object_deep_copy(payload, &copy, NULL) != 0)
        return -1;
    sbt_product_event e = {inst, xstrdup(type), copy};
    KIT_PUSH(kit, product_events, e);
    kit_undo_push(kit, (struct undo){.kind = UNDO_PRODUCT_EVENT});
    return 0;
}

void sbt_product_webhook(sbt_kit *kit, bool configured)
{
    kit->product_webhook = configured;
}

size_t sbt_product_event_count(const sbt_kit *kit)
{
    return kit->n_product_events;
}

const sbt_product_event *sbt_product_event_at(const sbt_kit *kit, size_t i)
{
    return i < kit->n_product_events ? &kit->product_events[i] : NULL;
}

void kit_install_store(sb_host *host)
{
    host->doc_put = h_doc_put;
    host->doc_get = h_doc_get;
    host->doc_delete = h_doc_delete;
    host->doc_list = h_doc_list;
    host->doc_delete_range = h_doc_delete_range;
    host->transaction = h_transaction;
    host->audit = h_audit;
    host->audit_list = h_audit_list;
    host->product_event = h_product_event;
}

void kit_store_free(struct sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_docs; i++) {
        free(kit->docs[i].collection);
        free(kit->docs[i].key);
        free(kit->docs[i].value);
    }
    free(kit->docs);
    while (kit->n_audit)
        pop_audit(kit);
    free(kit->audit);
    while (kit->n_product_events)
        pop_product_event(kit);
    free(kit->product_events);
    for (size_t i = 0; i < kit->n_undo; i++)
        undo_free(&kit->undo[i]);
    free(kit->undo);
}
