/*
 * http.c - product-API and Canvas Kit requests fed to the plugin, and the
 * answers it gives (respond, respond_raw) or the host would give for it:
 * the same route table (core/router.c), installation checks and JSON errors
 * as core/api.c and core/replies.c.
 */
#include "kit.h"

#include "errors.h"

#include <stdlib.h>
#include <string.h>
#include <switchboard/helpers.h>

static struct kit_reply *reply_new(struct sbt_kit *kit)
{
    struct kit_reply *r = xcalloc(1, sizeof *r);
    r->pub.token = (sb_reply_token)kit->n_replies + 1;
    r->pub.body = "";
    KIT_PUSH(kit, replies, r);
    return r;
}

static void reply_set(struct kit_reply *r, int status, const char *content_type, const char *data,
                      size_t len)
{
    r->pub.answered = true;
    r->pub.status = status < 100 || status > 599 ? 500 : status;
    r->content_type = xstrdup(content_type);
    r->body = xmalloc(len + 1);
    memcpy(r->body, data, len);
    r->body[len] = '\0';
    r->pub.content_type = r->content_type;
    r->pub.body = r->body;
    r->pub.body_len = len;
    r->pub.json = json_tokener_parse(r->body);
}

static void reply_json(struct kit_reply *r, int status, json_object *body)
{
    size_t len = 0;
    const char *text = body ? json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len)
                            : "";
    reply_set(r, status, "application/json", text, len);
}

/* The host's one JSON error format (core/http.c http_reply_error). */
static void reply_error(struct kit_reply *r, int status, const char *code, const char *message)
{
    json_object *err = json_object_new_object();
    json_object_object_add(err, "status", json_object_new_int(status));
    json_object_object_add(err, "code", json_object_new_string(code));
    json_object_object_add(err, "message", json_object_new_string(message));
    json_object_object_add(err, "request_id", json_object_new_string("sbt-request"));
    json_object *root = json_object_new_object();
    json_object_object_add(root, "error", err);
    reply_json(r, status, root);
    json_object_put(root);
}

static void reply_canvas_text(struct kit_reply *r, const char *text)
{
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_text(text, "error"));
    json_object *canvas = sb_canvas(components);
    reply_json(r, 200, canvas);
    json_object_put(canvas);
}

static struct kit_reply *open_reply(struct sbt_kit *kit, sb_reply_token token, const char *call)
{
    struct kit_reply *r = token && token <= kit->n_replies ? kit->replies[token - 1] : NULL;
    if (!r || r->pub.answered) {
        kit_log(kit, SB_LOG_WARN, "%s for reply %llu, which is not open (answered already?)", call,
                (unsigned long long)token);
        return NULL;
    }
    return r;
}

/* What the host answers when the handler returned without answering (core/replies.c). */
static void after_handler(struct kit_reply *r, bool canvas, sb_status status,
                          const sb_result *result)
{
    r->pub.handler_ran = true;
    r->pub.handler_status = status;
    if (r->pub.answered || status == SB_PENDING)
        return;
    const char *msg = result->message[0] ? result->message : NULL;
    if (canvas) {
        reply_canvas_text(r, status == SB_OK ? "This panel has nothing to show."
                                             : "This panel could not be loaded. Please try again.");
    } else if (status == SB_OK) {
        reply_error(r, 500, "plugin_error", "the plugin returned no answer");
    } else {
        int http = status == SB_RETRY ? 503
                   : result->http_status >= 400 && result->http_status <= 599 ? result->http_status
                                                                              : 500;
        char code[sizeof result->code];
        errors_code_clean(result->code, "plugin_error", code, sizeof code);
        reply_error(r, http, code, msg ? msg : "the plugin failed");
    }
}

/* ---- product API ---- */

static void parse_query(const char *query, json_object *out)
{
    char *copy = xstrdup(query);
    for (char *save = NULL, *pair = strtok_r(copy, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        char *value = eq ? eq + 1 : pair + strlen(pair);
        if (eq)
            *eq = '\0';
        if (url_decode(pair, true) && url_decode(value, true))
            json_object_object_add(out, pair, json_object_new_string(value));
    }
    free(copy);
}

/* SB_ROUTE_NEEDS_INSTALLATION: the host answers for the handler (core/api.c). */
static bool refused_for_installation(struct kit_reply *r, const char *workspace,
                                     const struct kit_installation *inst)
{
    if (!workspace || !*workspace)
        reply_error(r, 400, "installation_required",
                    "this route needs a workspace: ?workspace_id= or X-Switchboard-Workspace");
    else if (!inst)
        reply_error(r, 404, "unknown_installation", "the workspace has not installed the plugin");
    else if (inst->state == SB_INSTALLATION_REVOKED)
        reply_error(r, 409, "installation_revoked", "the workspace uninstalled the plugin");
    else if (inst->state == SB_INSTALLATION_NEEDS_REAUTH)
        reply_error(r, 409, "installation_needs_reauth", "the workspace must install it again");
    return r->pub.answered;
}

static bool is_json_type(const char *content_type)
{
    return content_type && (strncmp(content_type, "application/json", 16) == 0
                            || strstr(content_type, "+json") != NULL);
}

const sbt_reply *sbt_api_raw(sbt_kit *kit, const char *method, const char *target,
                             const char *content_type, const char *body, size_t len)
{
    struct kit_reply *r = reply_new(kit);
    if (!kit->started) {
        reply_error(r, 404, "unknown_plugin", "the plugin is not started (sbt_start)");
        return &r->pub;
    }
    char *path = xstrdup(target && *target ? target : "/");
    char *query_text = strchr(path, '?');
    if (query_text)
        *query_text++ = '\0';
    json_object *query = json_object_new_object();
    if (query_text)
        parse_query(query_text, query);
    struct route_match m;
    char *allowed = NULL;
    enum router_result found = router_match(kit->router, method, path, &m, &allowed);
    if (found == ROUTE_NO_METHOD) {
        char *message = xasprintf("allowed: %s", allowed);
        reply_error(r, 405, "method_not_allowed", message);
        free(message);
        free(allowed);
    } else if (found != ROUTE_FOUND) {
        reply_error(r, found == ROUTE_BAD_PATH ? 400 : 404,
                    found == ROUTE_BAD_PATH ? "bad_path" : "not_found", "the plugin has no such route");
    }
    json_object *json = NULL;
    if (!r->pub.answered && len && is_json_type(content_type)) {
        enum json_tokener_error jerr;
        json = json_tokener_parse_verbose(body, &jerr);
        if (!json)
            reply_error(r, 400, "malformed_json", "the body is not valid JSON");
    }
    const sb_route *route = found == ROUTE_FOUND ? m.data : NULL;
    json_object *ws = NULL;
    json_object_object_get_ex(query, "workspace_id", &ws);
    const char *workspace = ws ? json_object_get_string(ws) : NULL;
    sb_installation_id inst_id = workspace ? kit->host.installation_find(&kit->handle, workspace) : 0;
    struct kit_installation *inst = inst_id ? kit_installation(kit, inst_id) : NULL;
    if (route && !r->pub.answered && (route->flags & SB_ROUTE_NEEDS_INSTALLATION))
        refused_for_installation(r, workspace, inst);
    if (route && !r->pub.answered && workspace && !inst)
        reply_error(r, 404, "unknown_workspace", "the workspace has not installed the plugin");
    if (route && !r->pub.answered) {
        json_object *params = json_object_new_object();
        for (int i = 0; i < m.n_params; i++) {
            const char *n = m.names[i];
            char name[64];
            snprintf(name, sizeof name, "%.*s", n[0] == '{' ? (int)strlen(n) - 2 : (int)strlen(n),
                     n[0] == '{' ? n + 1 : n);
            json_object_object_add(params, name, json_object_new_string(m.values[i]));
        }
        char *full_path = xasprintf("/api/%s%s", kit->desc.name, path);
        sb_http_request req = {
            .reply = r->pub.token,
            .installation = inst_id,
            .method = method,
            .path = full_path,
            .request_id = "sbt-request",
            .params = params,
            .query = query,
            .body = json,
            .raw_body = body ? body : "",
            .raw_body_len = body ? len : 0,
            .content_type = content_type,
            .route_arg = route->arg,
        };
        sb_result *result = kit_fresh_result(kit);
        sb_status st = route->handler(kit->state, &req, result);
        after_handler(r, false, st, result);
        free(full_path);
        json_object_put(params);
    }
    if (found == ROUTE_FOUND)
        router_match_free(&m);
    json_object_put(json);
    json_object_put(query);
    free(path);
    return &r->pub;
}

const sbt_reply *sbt_api(sbt_kit *kit, const char *method, const char *target, const char *body)
{
    return sbt_api_raw(kit, method, target, body ? "application/json" : NULL, body,
                       body ? strlen(body) : 0);
}

/* ---- Canvas Kit ---- */

/* A member that is an id, string or number (Intercom sends both), as text. */
static const char *id_string(json_object *o, const char *key, char *buf, size_t len)
{
    json_object *v = sb_json_get(o, key);
    if (!v)
        return NULL;
    if (json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    if (!json_object_is_type(v, json_type_int))
        return NULL;
    snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
    return buf;
}

const sbt_reply *sbt_canvas(sbt_kit *kit, const char *flow, const char *body_json)
{
    struct kit_reply *r = reply_new(kit);
    r->canvas = true;
    json_object *root = kit_parse(body_json ? body_json : "{}", "canvas body");
    char s1[32], s2[32], s3[32], s4[32], s5[32];
    const char *workspace = id_string(root, "workspace_id", s1, sizeof s1);
    sb_installation_id inst_id = workspace ? kit->host.installation_find(&kit->handle, workspace) : 0;
    struct kit_installation *inst = inst_id ? kit_installation(kit, inst_id) : NULL;
    if (!kit->started || !kit->desc.canvas)
        reply_error(r, 404, "not_found", "the plugin has no canvas");
    else if (!inst)
        reply_canvas_text(r, "This workspace has not connected the app yet. Ask an admin to "
                             "install it, then reopen this conversation.");
    else if (inst->state != SB_INSTALLATION_ACTIVE)
        reply_canvas_text(r, inst->state == SB_INSTALLATION_REVOKED
                                 ? "This app is disconnected from the workspace."
                                 : "The connection to this workspace has expired. Ask an admin "
                                   "to install the app again.");
    if (r->pub.answered) {
        json_object_put(root);
        return &r->pub;
    }
    const char *conversation_id = id_string(sb_json_obj(root, "conversation"), "id", s2, sizeof s2);
    if (!conversation_id)
        conversation_id = id_string(sb_json_obj(root, "context"), "conversation_id", s2, sizeof s2);
    sb_canvas_request req = {
        .reply = r->pub.token,
        .installation = inst_id,
        .flow = flow,
        .body = root,
        .conversation_id = conversation_id,
        .admin_id = id_string(sb_json_obj(root, "admin"), "id", s3, sizeof s3),
        .contact_id = id_string(sb_json_obj(root, "contact"), "id", s4, sizeof s4),
        .component_id = id_string(root, "component_id", s5, sizeof s5),
        .input_values = sb_json_obj(root, "input_values"),
    };
    sb_result *result = kit_fresh_result(kit);
    sb_status st = kit->desc.canvas(kit->state, &req, result);
    after_handler(r, true, st, result);
    json_object_put(root);
    return &r->pub;
}

/* ---- the services ---- */

/* The host shows Intercom a 200 canvas whatever happens; one without "canvas" becomes an error canvas. */
static void reply_canvas(struct sbt_kit *kit, struct kit_reply *r, json_object *body)
{
    if (!sb_json_obj(sb_json_obj(body, "canvas"), "content")) {
        kit_log(kit, SB_LOG_WARN, "the plugin returned an invalid canvas (no canvas.content)");
        reply_canvas_text(r, "This panel could not be shown (invalid canvas).");
        return;
    }
    reply_json(r, 200, body);
}

static int h_respond(sb_plugin *self, sb_reply_token token, int status, json_object *body)
{
    struct sbt_kit *kit = kit_of(self, "respond");
    struct kit_reply *r = kit ? open_reply(kit, token, "respond") : NULL;
    if (r && r->canvas)
        reply_canvas(kit, r, body);
    else if (r)
        reply_json(r, status, body);
    /* ABI 1.0 handed the body over; 1.1 lends it (see respond in switchboard.h). */
    if (kit && kit->desc.abi_minor == 0)
        json_object_put(body);
    return r ? 0 : -1;
}

static int h_respond_raw(sb_plugin *self, sb_reply_token token, int status,
                         const char *content_type, const void *data, size_t len)
{
    struct sbt_kit *kit = kit_of(self, "respond_raw");
    struct kit_reply *r = kit ? open_reply(kit, token, "respond_raw") : NULL;
    if (!r)
        return -1;
    if (r->canvas) {
        /* Canvas answers must be JSON the host can check: parsed, they go the JSON way. */
        char *text = data ? xstrndup(data, len) : NULL;
        json_object *body = text ? json_tokener_parse(text) : NULL;
        free(text);
        reply_canvas(kit, r, body);
        json_object_put(body);
        return 0;
    }
    reply_set(r, status, content_type ? content_type : "application/octet-stream",
              data ? data : "", data ? len : 0);
    return 0;
}

void kit_install_http(sb_host *host)
{
    host->respond = h_respond;
    host->respond_raw = h_respond_raw;
}

void kit_http_free(struct sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_replies; i++) {
        struct kit_reply *r = kit->replies[i];
        free(r->content_type);
        free(r->body);
        json_object_put(r->pub.json);
        free(r);
    }
    free(kit->replies);
}
