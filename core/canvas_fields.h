/*
 * canvas_fields.h - what a Canvas Kit request says: the workspace and the
 * ids the plugin gets in sb_canvas_request, read the same way by the host
 * (canvas.c) and the testing kit.
 */
#ifndef SB_CORE_CANVAS_FIELDS_H
#define SB_CORE_CANVAS_FIELDS_H

#include <json-c/json.h>
#include <switchboard/switchboard.h>

/*
 * Ids as text, NULL when absent (Intercom sends some as numbers, turned
 * into text in the scratch space). Borrowed from the request and from the
 * struct itself: use it in place, do not copy it.
 */
struct canvas_fields {
    const char *workspace_id;    /* workspace_id, or app_id (Canvas Kit up to 1.2) */
    const char *conversation_id; /* conversation.id, or context.conversation_id */
    const char *admin_id;        /* admin.id */
    const char *contact_id;      /* contact.id */
    const char *component_id;    /* the submitted component */
    json_object *input_values;
    char scratch[5][32];
};

void canvas_fields_read(json_object *root, struct canvas_fields *out);

/* The request a plugin's canvas callback gets, borrowing from @p fields and @p root. */
sb_canvas_request canvas_fields_request(const struct canvas_fields *fields, json_object *root,
                                        const char *flow, sb_installation_id installation,
                                        sb_reply_token reply);

#endif
