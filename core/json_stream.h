/*
 * json_stream.h - an incremental JSON reader for large answers (a
 * conversation of thousands of parts): fed the body in chunks as they
 * arrive, it hands out each element of one array, named by a dot path of
 * object members ("conversation_parts.conversation_parts"), as soon as that
 * element is complete, parsed alone by json-c; everything else - the
 * skeleton: the document with that array left empty - is kept and handed
 * over parsed at the end. Memory: the skeleton plus one element, however
 * long the array.
 *
 * The grammar is json_input.h's, strict RFC 8259 (UTF-8 checked, nesting at
 * most 64 deep, nothing after the value), so the skeleton with its elements
 * put back is what json_parse_whole() returns for the whole body. Two rules
 * of its own keep that true: a member on the path that appears twice in one
 * object is refused (json-c would keep the last, but the first one's
 * elements would already be out), and an element or the skeleton over its
 * size bound is refused. json_input.c stays a separate scanner: it checks a
 * complete buffer, recursively, on the webhook hot path; this one resumes at
 * any byte.
 */
#ifndef SB_CORE_JSON_STREAM_H
#define SB_CORE_JSON_STREAM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Nesting deeper than this is refused, as json_input.c does. */
#define JSON_STREAM_MAX_DEPTH 64
/* A path has at most this many members, each at most this long. */
#define JSON_STREAM_MAX_PATH_PARTS 16
#define JSON_STREAM_MAX_MEMBER 64

enum json_stream_status {
    JSON_STREAM_OK = 0,
    JSON_STREAM_INVALID,   /* not JSON (or cut off, at finish) */
    JSON_STREAM_DUPLICATE, /* a member on the path appears twice in one object */
    JSON_STREAM_TOO_LARGE, /* an element or the skeleton is over its bound */
    JSON_STREAM_STOPPED    /* the element callback returned non-zero */
};

/*
 * One element of the array, complete: @p item is borrowed for the call (NULL
 * for a JSON null, as json-c has no object for it; take a reference to keep
 * it), @p index counts from 0. Non-zero stops the reader: nothing more is
 * handed out. The callback must not feed or free the stream.
 */
typedef int (*json_stream_item_fn)(void *arg, json_object *item, size_t index);

struct json_stream;

/* Whether @p array_path is one json_stream_new() takes: 1 to 16 members of 1 to 64 bytes. */
bool json_stream_path_valid(const char *array_path);

/*
 * A reader for the array at @p array_path (members separated by dots; NULL:
 * no array, the whole document is skeleton). @p max_item and @p max_skeleton
 * bound the bytes of one element and of the skeleton (without insignificant
 * whitespace). Returns NULL only for a path (not NULL) json_stream_path_valid()
 * refuses.
 */
struct json_stream *json_stream_new(const char *array_path, size_t max_item, size_t max_skeleton,
                                    json_stream_item_fn on_item, void *arg);

/*
 * The next @p len bytes of the body. Elements completed by them are handed
 * out before it returns. After anything but JSON_STREAM_OK the reader is
 * done: later calls return the same status and hand out nothing.
 */
enum json_stream_status json_stream_feed(struct json_stream *js, const void *data, size_t len);

/*
 * The body ended: on JSON_STREAM_OK *skeleton is the document without the
 * array's elements (a new reference; a whole document of `null` is refused,
 * as json_parse_whole() does). Otherwise *skeleton is NULL and
 * json_stream_error() says why.
 */
enum json_stream_status json_stream_finish(struct json_stream *js, json_object **skeleton);

/* Why the reader stopped ("... at byte N", never input bytes); "" while all is well. */
const char *json_stream_error(const struct json_stream *js);
/* Elements handed out so far. */
size_t json_stream_items(const struct json_stream *js);
void json_stream_free(struct json_stream *js);

#endif
