/* intercom_shapes.c - Intercom's request and answer shapes (see intercom_shapes.h). */
#include "intercom_shapes.h"

#include "json_stream.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

bool intercom_method_valid(const char *m)
{
    return m && (strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0
                 || strcmp(m, "DELETE") == 0 || strcmp(m, "PATCH") == 0);
}

const char *intercom_call_problem(const sb_intercom_request *req, bool has_callbacks)
{
    if (!req || !intercom_method_valid(req->method))
        return "method must be GET, POST, PUT, PATCH or DELETE";
    if (!req->path || req->path[0] != '/')
        return "path must start with '/'";
    if (!has_callbacks)
        return "a callback is required";
    return NULL;
}

const char *intercom_stream_problem(const sb_intercom_request *req, const char *array_path,
                                    bool has_callbacks)
{
    const char *why = intercom_call_problem(req, has_callbacks);
    if (!why && !json_stream_path_valid(array_path))
        why = "array_path must be 1 to 16 object members separated by dots, each 1 to 64 bytes";
    return why;
}

void intercom_shape_free(struct intercom_shape *shape)
{
    free(shape->path);
    json_object_put(shape->body);
    *shape = (struct intercom_shape){0};
}

/*
 * "/<collection>/<id><suffix>" with the id percent-encoded as one path
 * segment, or NULL when the id cannot be one: empty, or a dot segment that
 * URL normalisation would turn into another path.
 */
static char *object_path(const char *collection, const char *id, const char *suffix)
{
    if (!id || !*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return NULL;
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "/%s/", collection);
    buf_url_encode(&b, id);
    buf_puts(&b, suffix);
    return buf_steal(&b);
}

#define BAD_OBJECT_ID "the object id is missing or not an id"

const char *intercom_shape_set_attributes(sb_object_type type, const char *id,
                                          json_object *attributes, struct intercom_shape *out)
{
    static const char *const collections[] = {
        [SB_OBJECT_CONTACT] = "contacts",
        [SB_OBJECT_COMPANY] = "companies",
        [SB_OBJECT_CONVERSATION] = "conversations",
    };
    if ((unsigned)type >= ARRAY_LEN(collections))
        return "unknown object type";
    if (!json_object_is_type(attributes, json_type_object))
        return "attributes must be a JSON object";
    char *path = object_path(collections[type], id, "");
    if (!path)
        return BAD_OBJECT_ID;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "custom_attributes", json_object_get(attributes));
    /* Setting the same values twice leaves the same object: safe to send again. */
    *out = (struct intercom_shape){.method = "PUT", .path = path, .body = body,
                                   .flags = SB_INTERCOM_RETRY_SAFE};
    return NULL;
}

const char *intercom_shape_conversation_reply(const char *conversation_id, sb_reply_type type,
                                              const char *body_html, const char *admin_id,
                                              struct intercom_shape *out)
{
    if (type != SB_REPLY_COMMENT && type != SB_REPLY_NOTE)
        return "unknown reply type";
    if (!body_html || !*body_html)
        return "the body is empty";
    char *path = object_path("conversations", conversation_id, "/reply");
    if (!path)
        return BAD_OBJECT_ID;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "message_type",
                           json_object_new_string(type == SB_REPLY_NOTE ? "note" : "comment"));
    json_object_object_add(body, "type", json_object_new_string("admin"));
    if (admin_id)
        json_object_object_add(body, "admin_id", json_object_new_string(admin_id));
    json_object_object_add(body, "body", json_object_new_string(body_html));
    /* Not RETRY_SAFE: after a time-out the reply may have been posted already. */
    *out = (struct intercom_shape){.method = "POST", .path = path, .body = body};
    return NULL;
}

json_object *intercom_page_items(json_object *body)
{
    static const char *const keys[] = {"data", "conversations", "contacts", "companies",
                                       "events", "tickets", "admins", "teams"};
    json_object *v;
    for (size_t i = 0; body && i < ARRAY_LEN(keys); i++)
        if (json_object_object_get_ex(body, keys[i], &v) && json_object_is_type(v, json_type_array))
            return v;
    return NULL;
}

const char *intercom_page_next(json_object *body)
{
    json_object *pages, *next, *after;
    if (!body || !json_object_object_get_ex(body, "pages", &pages)
        || !json_object_object_get_ex(pages, "next", &next) || !next)
        return NULL;
    if (json_object_is_type(next, json_type_string))
        return json_object_get_string_len(next) ? json_object_get_string(next) : NULL;
    if (json_object_object_get_ex(next, "starting_after", &after)
        && json_object_is_type(after, json_type_string) && json_object_get_string_len(after))
        return json_object_get_string(after);
    return NULL;
}

/* The path of a full URL (pages.next on /events), or NULL for a plain cursor. */
static const char *url_path(const char *cursor)
{
    if (strncmp(cursor, "http://", 7) != 0 && strncmp(cursor, "https://", 8) != 0)
        return NULL;
    const char *p = strchr(cursor + 8, '/');
    return p ? p : "/";
}

void intercom_page_request(const char *method, const char *path, json_object *body,
                           const char *cursor, char **path_out, json_object **body_out)
{
    const char *next_url = cursor ? url_path(cursor) : NULL;
    *body_out = body ? json_object_get(body) : NULL;
    if (next_url) {
        *path_out = xstrdup(next_url);
    } else if (cursor && strcmp(method, "GET") == 0) {
        struct buf b;
        buf_init(&b);
        buf_printf(&b, "%s%cstarting_after=", path, strchr(path, '?') ? '&' : '?');
        buf_url_encode(&b, cursor);
        *path_out = buf_steal(&b);
    } else {
        *path_out = xstrdup(path);
        if (cursor) {
            json_object_put(*body_out);
            json_object *copy = NULL;
            json_object_deep_copy(body, &copy, NULL);
            json_object *paged = copy ? copy : json_object_new_object();
            json_object *pagination;
            if (!json_object_object_get_ex(paged, "pagination", &pagination)
                || !json_object_is_type(pagination, json_type_object)) {
                pagination = json_object_new_object();
                json_object_object_add(paged, "pagination", pagination);
            }
            json_object_object_add(pagination, "starting_after", json_object_new_string(cursor));
            *body_out = paged;
        }
    }
}

void intercom_error_fields(json_object *body, const char **code, const char **message)
{
    json_object *errors, *first, *v;
    *code = *message = NULL;
    if (!body || !json_object_object_get_ex(body, "errors", &errors)
        || !json_object_is_type(errors, json_type_array) || json_object_array_length(errors) == 0)
        return;
    first = json_object_array_get_idx(errors, 0);
    if (json_object_object_get_ex(first, "code", &v))
        *code = json_object_get_string(v);
    if (json_object_object_get_ex(first, "message", &v))
        *message = json_object_get_string(v);
}
