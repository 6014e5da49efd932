/* doc_names.c - the document store's names (see doc_names.h). */
#include "doc_names.h"

#include <string.h>

const char *doc_names_problem(const char *collection, const char *key)
{
    if (!collection || !*collection || strlen(collection) > DOC_MAX_COLLECTION_BYTES)
        return "invalid collection name";
    if (key && (!*key || strlen(key) > DOC_MAX_KEY_BYTES))
        return "document keys must be 1..1024 bytes";
    return NULL;
}
