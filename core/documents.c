/*
 * documents.c - the plugin document store: names checked here, documents
 * kept by the store (store_documents.h) under (plugin, installation,
 * collection, key), keys ordered as bytes.
 */
#include "documents.h"

#include "doc_names.h"
#include "log.h"
#include "store/store_documents.h"

static bool valid_names(const struct doc_ns *ns, const char *key)
{
    const char *problem = doc_names_problem(ns->collection, key);
    if (problem)
        log_warn("documents", "plugin %s: %s", ns->plugin, problem);
    return problem == NULL;
}

int doc_put(struct store *st, const struct doc_ns *ns, const char *key, json_object *value)
{
    if (!valid_names(ns, key) || !value)
        return -1;
    return store_document_put(st, ns, key, value);
}

json_object *doc_get(struct store *st, const struct doc_ns *ns, const char *key)
{
    if (!valid_names(ns, key))
        return NULL;
    json_object *value;
    store_document_get(st, ns, key, &value);
    return value;
}

int doc_delete(struct store *st, const struct doc_ns *ns, const char *key)
{
    if (!valid_names(ns, key))
        return -1;
    return store_document_delete(st, ns, key);
}

int doc_list(struct store *st, const struct doc_ns *ns, const char *from, const char *to,
             size_t limit, unsigned flags, sb_doc_cb cb, void *arg)
{
    if (!valid_names(ns, NULL) || !cb)
        return -1;
    return store_documents_scan(st, ns, from, to, limit, (flags & SB_DOC_REVERSE) != 0, cb, arg);
}

int doc_delete_range(struct store *st, const struct doc_ns *ns, const char *from, const char *to)
{
    if (!valid_names(ns, NULL))
        return -1;
    return store_documents_delete_range(st, ns, from, to);
}

int64_t doc_count(struct store *st, const char *plugin, int64_t installation)
{
    return store_documents_count(st, plugin, installation);
}
