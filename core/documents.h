/* documents.h - the plugin document store: JSON under ordered keys, namespaced. */
#ifndef SB_CORE_DOCUMENTS_H
#define SB_CORE_DOCUMENTS_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

struct store;

struct doc_ns {
    const char *plugin;
    int64_t installation;
    const char *collection;
};

int doc_put(struct store *st, const struct doc_ns *ns, const char *key, json_object *value);
json_object *doc_get(struct store *st, const struct doc_ns *ns, const char *key);
int doc_delete(struct store *st, const struct doc_ns *ns, const char *key);
int doc_list(struct store *st, const struct doc_ns *ns, const char *from, const char *to,
             size_t limit, unsigned flags, sb_doc_cb cb, void *arg);
int doc_delete_range(struct store *st, const struct doc_ns *ns, const char *from, const char *to);
/* Count a plugin's documents (for the admin API). */
int64_t doc_count(struct store *st, const char *plugin, int64_t installation);

#endif
