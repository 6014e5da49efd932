/*
 * store_documents.h - the documents table: plugins' JSON documents under
 * (plugin, installation, collection, key). Keys order as bytes, so a range
 * [from, to) is one walk of the key index. Names are checked by the caller
 * (documents.c); every call runs in the caller's transaction, if one is open.
 */
#ifndef SB_CORE_STORE_DOCUMENTS_H
#define SB_CORE_STORE_DOCUMENTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct doc_ns; /* documents.h: plugin, installation, collection (borrowed) */

/* Insert or replace a document, stamped now. 0, or -1 with a log line. */
int store_document_put(struct store *st, const struct doc_ns *ns, const char *key,
                       json_object *value);
/*
 * The document into *value (a new reference; NULL if it does not parse): 1
 * when there is one, 0 when there is none, -1 with a log line.
 */
int store_document_get(struct store *st, const struct doc_ns *ns, const char *key,
                       json_object **value);
/* 1 when it was there, 0 when it was not, -1 with a log line. */
int store_document_delete(struct store *st, const struct doc_ns *ns, const char *key);

/*
 * Visit the documents with from <= key < to (NULL: open end) in key order
 * (descending when reverse), at most limit (0: all), until each returns
 * non-zero. value is a new reference the store drops after the call (NULL if
 * it does not parse); key is valid during the call. each may use the store,
 * scans included. The number visited, or -1 with a log line.
 */
int store_documents_scan(struct store *st, const struct doc_ns *ns, const char *from,
                         const char *to, size_t limit, bool reverse,
                         int (*each)(void *arg, const char *key, json_object *value), void *arg);
/* Delete the documents with from <= key < to: how many, or -1 with a log line. */
int store_documents_delete_range(struct store *st, const struct doc_ns *ns, const char *from,
                                 const char *to);
/* How many documents a plugin keeps for an installation, in all collections; -1 on failure. */
int64_t store_documents_count(struct store *st, const char *plugin, int64_t installation);

#endif
