/* canvas.c - POST /canvas/{plugin}/{initialize,submit}. */
#include "canvas.h"

#include "crypto.h"
#include "host.h"
#include "http.h"
#include "installations.h"
#include "json_input.h"
#include "log.h"
#include "plugins.h"
#include "replies.h"
#include "server.h"
#include "util.h"

#include <string.h>

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

static void answer_text(struct http_request *req, const char *text)
{
    http_reply_json(req, 200, canvas_text(text, "muted"));
}

void canvas_handle(struct server *srv, struct http_request *req, const char *plugin_name,
                   const char *flow)
{
    http_set_label(req, "canvas");
    struct sb_plugin *p = plugins_find(srv->plugins, plugin_name);
    if (!p || !p->running || !p->desc.canvas) {
        http_reply_error(req, 404, "unknown_plugin", "no running plugin '%s' with a Canvas Kit app",
                         plugin_name);
        return;
    }
    if (strcmp(flow, "initialize") != 0 && strcmp(flow, "submit") != 0) {
        http_reply_error(req, 404, "unknown_flow", "canvas flows are initialize and submit");
        return;
    }
    if (strcmp(http_method(req), "POST") != 0) {
        http_add_header(req, "Allow", "POST");
        http_reply_error(req, 405, "method_not_allowed", "Canvas Kit calls are POST");
        return;
    }
    if (!plugin_configured(p)) {
        http_reply_error(req, 503, "not_configured",
                         "plugin '%s' has no client_id/client_secret in the configuration",
                         p->name);
        return;
    }
    size_t len;
    const char *body = http_body(req, &len);
    const char *signature = http_header(req, "X-Body-Signature");
    if (!signature_valid(signature, p->cfg->client_secret, body, len, false)) {
        log_warn("canvas", "plugin %s: %s X-Body-Signature from %s (request %s)", p->name,
                 signature ? "wrong" : "missing", http_peer(req), http_request_id(req));
        http_reply_error(req, 401, "bad_signature",
                         signature ? "X-Body-Signature does not match the body"
                                   : "X-Body-Signature is missing");
        return;
    }
    char parse_error[128];
    json_object *root = json_parse_whole(body, len, parse_error, sizeof parse_error);
    if (!root || !json_object_is_type(root, json_type_object)) {
        log_warn("canvas", "plugin %s: request %s is not a JSON object (%s)", p->name,
                 http_request_id(req), root ? "wrong type" : parse_error);
        http_reply_error(req, 400, "malformed_request", "the body is not a JSON object (%s)",
                         root ? "wrong type" : parse_error);
        json_object_put(root);
        return;
    }
    char s1[32], s2[32], s3[32], s4[32], s5[32];
    /* workspace_id was app_id in Canvas Kit versions up to 1.2. */
    const char *workspace = id_string(root, "workspace_id", s1, sizeof s1);
    if (!workspace)
        workspace = id_string(root, "app_id", s1, sizeof s1);
    struct installation *inst =
        workspace ? installations_find(srv->installations, p->name, workspace) : NULL;
    if (!inst) {
        answer_text(req, "This workspace has not connected the app yet. Ask an admin to install "
                         "it, then reopen this conversation.");
        json_object_put(root);
        return;
    }
    if (inst->state != SB_INSTALLATION_ACTIVE) {
        answer_text(req, inst->state == SB_INSTALLATION_REVOKED
                             ? "This app is disconnected from the workspace."
                             : "The connection to this workspace has expired. Ask an admin to "
                               "install the app again.");
        json_object_put(root);
        return;
    }
    json_object *conversation = member(root, "conversation");
    json_object *context = member(root, "context");
    const char *conversation_id = id_string(conversation, "id", s2, sizeof s2);
    if (!conversation_id)
        conversation_id = id_string(context, "conversation_id", s2, sizeof s2);
    sb_canvas_request creq = {
        .installation = inst->id,
        .flow = flow,
        .body = root,
        .conversation_id = conversation_id,
        .admin_id = id_string(member(root, "admin"), "id", s3, sizeof s3),
        .contact_id = id_string(member(root, "contact"), "id", s4, sizeof s4),
        .component_id = id_string(root, "component_id", s5, sizeof s5),
        .input_values = member(root, "input_values"),
    };
    creq.reply = replies_open(srv->replies, req, p, REPLY_CANVAS, srv->cfg->canvas_deadline_ms);
    sb_result result = {0};
    p->callbacks++;
    host_scope_enter(srv);
    sb_status st = p->desc.canvas(p->state, &creq, &result);
    host_scope_leave(srv);
    replies_after_handler(srv->replies, creq.reply, st, &result);
    json_object_put(root);
}
