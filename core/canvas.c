/* canvas.c - POST /canvas/{plugin}/{initialize,submit}. */
#include "canvas.h"

#include "answers.h"
#include "canvas_fields.h"
#include "crypto.h"
#include "http.h"
#include "installations.h"
#include "json_input.h"
#include "log.h"
#include "plugins.h"
#include "replies.h"
#include "server.h"
#include "turn.h"
#include "util.h"

#include <string.h>

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
    struct canvas_fields fields;
    canvas_fields_read(root, &fields);
    struct installation *inst =
        fields.workspace_id
            ? installations_find(srv->installations, p->name, fields.workspace_id)
            : NULL;
    json_object *unavailable = answer_canvas_unavailable(inst ? &inst->state : NULL);
    if (unavailable) {
        http_reply_json(req, 200, unavailable);
        json_object_put(root);
        return;
    }
    sb_canvas_request creq = canvas_fields_request(
        &fields, root, flow, inst->id,
        replies_open(srv->replies, req, p, REPLY_CANVAS, srv->cfg->canvas_deadline_ms));
    sb_result result = {0};
    p->callbacks++;
    turn_scope_enter(srv->turn);
    sb_status st = p->desc.canvas(p->state, &creq, &result);
    turn_scope_leave(srv->turn);
    replies_after_handler(srv->replies, creq.reply, st, &result);
    json_object_put(root);
}
