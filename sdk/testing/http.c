/*
 * http.c - product-API and Canvas Kit requests fed to the plugin, and the
 * answers it gives (respond, respond_raw) or the host would give for it:
 * the host's route table (core/router.c), answers, installation refusals
 * and JSON errors (core/answers.c) and canvas fields (core/canvas_fields.c).
 */
#include "kit.h"

#include "answers.h"
#include "canvas_fields.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The host's one JSON error format. */
static void reply_error(struct kit_reply *r, int status, const char *code, const char *message)
{
    json_object *body = answer_error_body(status, code, message, "sbt-request");
    reply_json(r, status, body);
    json_object_put(body);
}

/* An error canvas, as the host answers for a canvas handler. */
static void reply_canvas_text(struct kit_reply *r, const char *text)
{
    json_object *canvas = canvas_text(text, "error");
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

/* What the host answers when the handler returned without answering. */
static void after_handler(struct kit_reply *r, bool canvas, sb_status status,
                          const sb_result *result)
{
    r->pub.handler_ran = true;
    r->pub.handler_status = status;
    struct plugin_answer answer;
    if (r->pub.answered || !answer_after_handler(canvas, status, result, &answer))
        return;
    if (canvas)
        reply_canvas_text(r, answer.message);
    else
        reply_error(r, answer.status, answer.code, answer.message);
    answer_free(&answer);
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

static bool is_json_type(const char *content_type)
{
    return content_type && (strncmp(content_type, "application/json", 16) == 0
                            || strstr(content_type, "+json") != NULL);
}

/* What a handler gets: the SDK's request, and the header lines its header() reads. */
struct kit_api_request {
    sb_http_request pub; /* first: header() gets a pointer to it */
    const char *const *headers;
};

static const char *kit_request_header(const sb_http_request *req, const char *name)
{
    const struct kit_api_request *kreq = (const struct kit_api_request *)req;
    size_t n = name ? strlen(name) : 0;
    for (const char *const *h = kreq->headers; n && h && *h; h++) {
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':') {
            const char *value = *h + n + 1;
            return value + strspn(value, " \t");
        }
    }
    return NULL;
}

const sbt_reply *sbt_api_raw(sbt_kit *kit, const char *method, const char *target,
                             const char *content_type, const char *body, size_t len)
{
    return sbt_api_headers(kit, method, target, NULL, content_type, body, len);
}

const sbt_reply *sbt_api_headers(sbt_kit *kit, const char *method, const char *target,
                                 const char *const *headers, const char *content_type,
                                 const char *body, size_t len)
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
    struct plugin_answer refusal;
    if (route && !r->pub.answered
        && answer_workspace_refusal(kit->desc.name, route->flags, workspace,
                                    inst ? &inst->state : NULL, &refusal)) {
        reply_error(r, refusal.status, refusal.code, refusal.message);
        answer_free(&refusal);
    }
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
        struct kit_api_request kreq = {.pub = {
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
            .header = kit_request_header,
        }, .headers = headers};
        sb_result *result = kit_fresh_result(kit);
        sb_status st = route->handler(kit->state, &kreq.pub, result);
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

const sbt_reply *sbt_canvas(sbt_kit *kit, const char *flow, const char *body_json)
{
    struct kit_reply *r = reply_new(kit);
    r->canvas = true;
    json_object *root = kit_parse(body_json ? body_json : "{}", "canvas body");
    struct canvas_fields fields;
    canvas_fields_read(root, &fields);
    const char *workspace = fields.workspace_id;
    sb_installation_id inst_id = workspace ? kit->host.installation_find(&kit->handle, workspace) : 0;
    struct kit_installation *inst = inst_id ? kit_installation(kit, inst_id) : NULL;
    json_object *unavailable = NULL;
    if (!kit->started || !kit->desc.canvas)
        reply_error(r, 404, "unknown_plugin", "the plugin has no canvas");
    else if ((unavailable = answer_canvas_unavailable(inst ? &inst->state : NULL)))
        reply_json(r, 200, unavailable);
    json_object_put(unavailable);
    if (r->pub.answered) {
        json_object_put(root);
        return &r->pub;
    }
    sb_canvas_request req = canvas_fields_request(&fields, root, flow, inst_id, r->pub.token);
    sb_result *result = kit_fresh_result(kit);
    sb_status st = kit->desc.canvas(kit->state, &req, result);
    after_handler(r, true, st, result);
    json_object_put(root);
    return &r->pub;
}

/* ---- the services ---- */

/* The host shows Intercom a 200 canvas whatever happens; an invalid one becomes an error canvas. */
static void reply_canvas(struct sbt_kit *kit, struct kit_reply *r, json_object *body)
{
    size_t size;
    const char *problem = canvas_problem(body, &size);
    if (problem) {
        kit_log(kit, SB_LOG_WARN, "the plugin returned an invalid canvas (%zu bytes): %s", size,
                problem);
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
