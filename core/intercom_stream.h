/*
 * intercom_stream.h - the answer of an intercom_stream() request
 * (switchboard.h, since 1.2), read as it arrives: the bytes of a 2xx body
 * are kept as the transfer writes them, and read at the client's next
 * delivery round (inside the turn scope, never in libcurl's callbacks), each
 * element of the array going to the plugin's on_item as it completes
 * (json_stream.h); at the end the rest of the answer is the body done()
 * gets. The Intercom client (intercom.c) owns the request, its retries and
 * its completion; this file owns what was read and what it says.
 */
#ifndef SB_CORE_INTERCOM_STREAM_H
#define SB_CORE_INTERCOM_STREAM_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <switchboard/switchboard.h>

struct sb_plugin;
struct ic_stream;

enum ic_stream_state {
    IC_STREAM_READING, /* all well so far (or, at the end, read whole) */
    IC_STREAM_INVALID, /* the body is not JSON, or cut off, or over its bounds */
    IC_STREAM_STOPPED, /* the plugin's on_item returned something else than SB_OK */
    IC_STREAM_CANCELLED /* the request was cancelled while its elements went out */
};

/* @p array_path was checked (intercom_stream_problem); the strings are copied. */
struct ic_stream *ic_stream_new(struct sb_plugin *p, const char *array_path, sb_item_cb on_item,
                                void *arg);
void ic_stream_free(struct ic_stream *s);

/* A new attempt: whatever an earlier one received is dropped (none of it was handed out). */
void ic_stream_restart(struct ic_stream *s);
/* Bytes of the 2xx body, as the transfer writes them; kept until ic_stream_read(). */
void ic_stream_take(struct ic_stream *s, const char *data, size_t len);
/* Read what was taken, handing out the elements it completes. */
enum ic_stream_state ic_stream_read(struct ic_stream *s);
/*
 * The body ended: read the rest; on IC_STREAM_READING *rest is the answer
 * without the array's elements (a new reference; NULL for an empty body).
 */
enum ic_stream_state ic_stream_end(struct ic_stream *s, json_object **rest);

/* The request was cancelled: no further element goes out, even from bytes being read. */
void ic_stream_stop(struct ic_stream *s);

/* Elements handed out by this attempt: after the first, the host retries no more. */
size_t ic_stream_items(const struct ic_stream *s);
/* Why the reading failed, for done()'s error_message (never input bytes). */
const char *ic_stream_error(const struct ic_stream *s);

#endif
