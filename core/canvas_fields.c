/* canvas_fields.c - the fields of a Canvas Kit request (see canvas_fields.h). */
#include "canvas_fields.h"

#include <stdio.h>

/* A string, or a number turned into one (Intercom sends some ids as numbers). */
static const char *id_string(json_object *o, const char *key, char *scratch, size_t len)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (json_object_is_type(v, json_type_int)) {
        snprintf(scratch, len, "%lld", (long long)json_object_get_int64(v));
        return scratch;
    }
    return NULL;
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o)
        json_object_object_get_ex(o, key, &v);
    return v;
}

void canvas_fields_read(json_object *root, struct canvas_fields *out)
{
    char(*s)[sizeof out->scratch[0]] = out->scratch;
    out->workspace_id = id_string(root, "workspace_id", s[0], sizeof s[0]);
    if (!out->workspace_id) /* app_id in Canvas Kit versions up to 1.2 */
        out->workspace_id = id_string(root, "app_id", s[0], sizeof s[0]);
    out->conversation_id = id_string(member(root, "conversation"), "id", s[1], sizeof s[1]);
    if (!out->conversation_id)
        out->conversation_id =
            id_string(member(root, "context"), "conversation_id", s[1], sizeof s[1]);
    out->admin_id = id_string(member(root, "admin"), "id", s[2], sizeof s[2]);
    out->contact_id = id_string(member(root, "contact"), "id", s[3], sizeof s[3]);
    out->component_id = id_string(root, "component_id", s[4], sizeof s[4]);
    out->input_values = member(root, "input_values");
}

sb_canvas_request canvas_fields_request(const struct canvas_fields *fields, json_object *root,
                                        const char *flow, sb_installation_id installation,
                                        sb_reply_token reply)
{
    return (sb_canvas_request){
        .reply = reply,
        .installation = installation,
        .flow = flow,
        .body = root,
        .conversation_id = fields->conversation_id,
        .admin_id = fields->admin_id,
        .contact_id = fields->contact_id,
        .component_id = fields->component_id,
        .input_values = fields->input_values,
    };
}
