/*
 * doc_names.h - which collection names and document keys the document store
 * accepts: one rule for the host's store (documents.c) and the testing kit's.
 */
#ifndef SB_CORE_DOC_NAMES_H
#define SB_CORE_DOC_NAMES_H

#define DOC_MAX_COLLECTION_BYTES 128
#define DOC_MAX_KEY_BYTES 1024

/*
 * NULL if @p collection (1..128 bytes) and @p key (1..1024 bytes; NULL for
 * calls that take none) are acceptable, else why not.
 */
const char *doc_names_problem(const char *collection, const char *key);

#endif
