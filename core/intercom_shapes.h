/*
 * intercom_shapes.h - what the requests to Intercom and its answers look
 * like, apart from sending them: which calls a plugin may make, the
 * requests of the typed writes, a list page's items and next cursor and the
 * request for the page after it, and the code and message of an error.list.
 * The host (intercom.c, intercom_writes.c) and the testing kit build and
 * read them here, so a plugin's tests see the requests the host sends.
 */
#ifndef SB_CORE_INTERCOM_SHAPES_H
#define SB_CORE_INTERCOM_SHAPES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <switchboard/switchboard.h>

/* GET, POST, PUT, PATCH or DELETE. */
bool intercom_method_valid(const char *method);

/*
 * Why a plugin's intercom_request or intercom_paginate is refused (a wrong
 * method, a path not starting with '/', no callback), or NULL.
 */
const char *intercom_call_problem(const sb_intercom_request *req, bool has_callbacks);

/*
 * intercom_stream: why a call is refused (intercom_call_problem's reasons,
 * or an array path json_stream.h cannot follow), or NULL; and the bound on
 * one element of a streamed answer, and on the rest of it (switchboard.h).
 */
const char *intercom_stream_problem(const sb_intercom_request *req, const char *array_path,
                                    bool has_callbacks);
#define INTERCOM_STREAM_MAX_BYTES ((size_t)16 << 20)

/* A request the host builds for a plugin; path and body are owned. */
struct intercom_shape {
    const char *method;
    char *path;
    json_object *body;
    unsigned flags;
};
void intercom_shape_free(struct intercom_shape *shape);

/*
 * PUT /contacts|companies|conversations/{id} {"custom_attributes": attributes},
 * retry-safe. NULL, or why the call is refused (@p out untouched).
 */
const char *intercom_shape_set_attributes(sb_object_type type, const char *id,
                                          json_object *attributes, struct intercom_shape *out);
/*
 * POST /conversations/{id}/reply, a comment or a note as admin @p admin_id
 * (NULL: none named); not retry-safe. NULL, or why the call is refused.
 */
const char *intercom_shape_conversation_reply(const char *conversation_id, sb_reply_type type,
                                              const char *body_html, const char *admin_id,
                                              struct intercom_shape *out);

/* A list page's items: its first array among data, conversations, contacts... (borrowed). */
json_object *intercom_page_items(json_object *body);
/* pages.next: {"starting_after": cursor} on most lists, a full URL on /events; NULL at the end. */
const char *intercom_page_next(json_object *body);
/*
 * The path and body (new, owned) that fetch the page after @p cursor of a
 * walk of @p method @p path @p body: a URL cursor's own path, GETs with
 * starting_after in the query, others with pagination.starting_after in a
 * copy of the body. A NULL cursor gives the first page.
 */
void intercom_page_request(const char *method, const char *path, json_object *body,
                           const char *cursor, char **path_out, json_object **body_out);

/* The first error of an error.list body: its code and message (borrowed; NULL if absent). */
void intercom_error_fields(json_object *body, const char **code, const char **message);

#endif
