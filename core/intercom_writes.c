/* intercom_writes.c - typed Intercom writes (see intercom_writes.h). */
#include "intercom_writes.h"

#include "installations.h"
#include "intercom.h"
#include "log.h"
#include "plugins.h"
#include "server.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/*
 * "/<collection>/<id><suffix>" with the id percent-encoded as one path
 * segment, or NULL (logged) when the id cannot be one: empty, or a dot
 * segment that URL normalisation would turn into another path.
 */
static char *object_path(const struct sb_plugin *p, const char *service, const char *collection,
                         const char *id, const char *suffix)
{
    if (!id || !*id || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) {
        log_warn("intercom", "plugin %s: %s refused: the object id is missing or not an id",
                 p->name, service);
        return NULL;
    }
    struct buf b;
    buf_init(&b);
    buf_printf(&b, "/%s/", collection);
    buf_url_encode(&b, id);
    buf_puts(&b, suffix);
    return buf_steal(&b);
}

sb_request_id intercom_set_attributes(struct server *srv, struct sb_plugin *p, int64_t installation,
                                      sb_object_type type, const char *id, json_object *attributes,
                                      sb_intercom_cb cb, void *arg)
{
    static const char *const collections[] = {
        [SB_OBJECT_CONTACT] = "contacts",
        [SB_OBJECT_COMPANY] = "companies",
        [SB_OBJECT_CONVERSATION] = "conversations",
    };
    if ((unsigned)type >= ARRAY_LEN(collections)
        || !json_object_is_type(attributes, json_type_object)) {
        log_warn("intercom", "plugin %s: set_attributes refused: %s", p->name,
                 (unsigned)type >= ARRAY_LEN(collections) ? "unknown object type"
                                                          : "attributes must be a JSON object");
        return 0;
    }
    char *path = object_path(p, "set_attributes", collections[type], id, "");
    if (!path)
        return 0;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "custom_attributes", json_object_get(attributes));
    /* Setting the same values twice leaves the same object: safe to send again. */
    sb_intercom_request req = {.method = "PUT", .path = path, .body = body,
                               .flags = SB_INTERCOM_RETRY_SAFE};
    sb_request_id id_out = intercom_request(srv->intercom, p, installation, &req, cb, arg);
    json_object_put(body);
    free(path);
    return id_out;
}

sb_request_id intercom_conversation_reply(struct server *srv, struct sb_plugin *p,
                                          int64_t installation, const char *conversation_id,
                                          sb_reply_type type, const char *body_html,
                                          const char *admin_id, sb_intercom_cb cb, void *arg)
{
    if ((type != SB_REPLY_COMMENT && type != SB_REPLY_NOTE) || !body_html || !*body_html) {
        log_warn("intercom", "plugin %s: conversation_reply refused: %s", p->name,
                 type != SB_REPLY_COMMENT && type != SB_REPLY_NOTE ? "unknown reply type"
                                                                   : "the body is empty");
        return 0;
    }
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
    char *path = object_path(p, "conversation_reply", "conversations", conversation_id, "/reply");
    if (!path)
        return 0;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "message_type",
                           json_object_new_string(type == SB_REPLY_NOTE ? "note" : "comment"));
    json_object_object_add(body, "type", json_object_new_string("admin"));
    if (admin_id)
        json_object_object_add(body, "admin_id", json_object_new_string(admin_id));
    json_object_object_add(body, "body", json_object_new_string(body_html));
    /* Not RETRY_SAFE: after a time-out the reply may have been posted already. */
    sb_intercom_request req = {.method = "POST", .path = path, .body = body};
    sb_request_id id = intercom_request(srv->intercom, p, installation, &req, cb, arg);
    json_object_put(body);
    free(path);
    return id;
}
