/* intercom_writes.c - typed Intercom writes (see intercom_writes.h). */
#include "intercom_writes.h"

#include "installations.h"
#include "intercom.h"
#include "intercom_shapes.h"
#include "log.h"
#include "plugins.h"
#include "server.h"

#include <string.h>

/* Send a built request, or log why it was refused and return 0. */
static sb_request_id send_shape(struct server *srv, struct sb_plugin *p, int64_t installation,
                                const char *service, const char *refusal,
                                struct intercom_shape *shape, sb_intercom_cb cb, void *arg)
{
    if (refusal) {
        log_warn("intercom", "plugin %s: %s refused: %s", p->name, service, refusal);
        return 0;
    }
    sb_intercom_request req = {.method = shape->method, .path = shape->path, .body = shape->body,
                               .flags = shape->flags};
    sb_request_id id = intercom_request(srv->intercom, p, installation, &req, cb, arg);
    intercom_shape_free(shape);
    return id;
}

sb_request_id intercom_set_attributes(struct server *srv, struct sb_plugin *p, int64_t installation,
                                      sb_object_type type, const char *id, json_object *attributes,
                                      sb_intercom_cb cb, void *arg)
{
    struct intercom_shape shape;
    const char *refusal = intercom_shape_set_attributes(type, id, attributes, &shape);
    return send_shape(srv, p, installation, "set_attributes", refusal, &shape, cb, arg);
}

sb_request_id intercom_conversation_reply(struct server *srv, struct sb_plugin *p,
                                          int64_t installation, const char *conversation_id,
                                          sb_reply_type type, const char *body_html,
                                          const char *admin_id, sb_intercom_cb cb, void *arg)
{
    if (!admin_id) {
        /* Unknown or foreign installations go on: intercom_request reports them (REVOKED). */
        struct installation *inst = installations_get(srv->installations, installation);
        if (inst && strcmp(inst->plugin, p->name) == 0) {
            if (!inst->admin_id || !*inst->admin_id) {
                log_warn("intercom", "plugin %s: conversation_reply refused: no admin_id given "
                                     "and installation %lld has none",
                         p->name, (long long)installation);
                return 0;
            }
            admin_id = inst->admin_id;
        }
    }
    struct intercom_shape shape;
    const char *refusal = intercom_shape_conversation_reply(conversation_id, type, body_html,
                                                            admin_id, &shape);
    return send_shape(srv, p, installation, "conversation_reply", refusal, &shape, cb, arg);
}
