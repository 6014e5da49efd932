/* api.c - route product-API calls to plugin handlers. */
#include "api.h"

#include "answers.h"
#include "crypto.h"
#include "http.h"
#include "installations.h"
#include "json_input.h"
#include "log.h"
#include "plugins.h"
#include "replies.h"
#include "router.h"
#include "server.h"
#include "turn.h"
#include "util.h"

#include <string.h>

bool bearer_matches(struct http_request *req, const char *expected)
{
    const char *auth = http_header(req, "Authorization");
    if (!auth || !expected || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *given = auth + 7;
    return ct_equal(given, strlen(given), expected, strlen(expected));
}

/* What a handler gets: the SDK's request, and the HTTP request its header() reads. */
struct api_request {
    sb_http_request pub; /* first: header() gets a pointer to it */
    struct http_request *http;
};

static const char *api_request_header(const sb_http_request *req, const char *name)
{
    const struct api_request *areq = (const struct api_request *)req;
    return req && name ? http_header(areq->http, name) : NULL;
}

static void add_query(void *arg, const char *k, const char *v)
{
    json_object_object_add(arg, k, json_object_new_string(v));
}

static bool is_json(const char *content_type)
{
    return content_type && (str_starts_with(content_type, "application/json")
                            || strstr(content_type, "+json") != NULL);
}

void reply_route_miss(struct http_request *req, enum router_result r, char *allowed,
                      const char *fmt, ...)
{
    if (r == ROUTE_NO_METHOD) {
        http_add_header(req, "Allow", allowed);
        http_reply_error(req, 405, "method_not_allowed", "allowed: %s", allowed);
        free(allowed);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    http_reply_error(req, r == ROUTE_BAD_PATH ? 400 : 404,
                     r == ROUTE_BAD_PATH ? "bad_path" : "not_found", "%s", message);
    free(message);
}

void api_handle(struct server *srv, struct http_request *req, const char *plugin_name,
                const char *rest)
{
    http_set_label(req, "api");
    struct sb_plugin *p = plugins_find(srv->plugins, plugin_name);
    if (!p || !p->running) {
        http_reply_error(req, 404, "unknown_plugin", "no plugin named '%s' is running",
                         plugin_name);
        return;
    }
    struct route_match m;
    char *allowed = NULL;
    enum router_result found =
        router_match(p->routes, http_method(req), *rest ? rest : "/", &m, &allowed);
    if (found != ROUTE_FOUND) {
        reply_route_miss(req, found, allowed, "plugin '%s' has no route %s %s", p->name,
                         http_method(req), rest);
        return;
    }
    const sb_route *route = m.data;
    if (!(route->flags & SB_ROUTE_PUBLIC)) {
        if (!p->cfg->api_key) {
            router_match_free(&m);
            http_reply_error(req, 503, "not_configured",
                             "plugin '%s' has no api_key in the configuration, so its product "
                             "API is closed",
                             p->name);
            return;
        }
        if (!bearer_matches(req, p->cfg->api_key)) {
            router_match_free(&m);
            log_warn("api", "plugin %s: bad or missing API key from %s (request %s)", p->name,
                     http_peer(req), http_request_id(req));
            http_add_header(req, "WWW-Authenticate", "Bearer");
            http_reply_error(req, 401, "unauthorized", "a valid API key is required");
            return;
        }
    }
    size_t len;
    const char *raw = http_body(req, &len);
    const char *ctype = http_header(req, "Content-Type");
    json_object *body = NULL;
    if (len && is_json(ctype)) {
        char parse_error[128];
        body = json_parse_whole(raw, len, parse_error, sizeof parse_error);
        if (!body) {
            router_match_free(&m);
            http_reply_error(req, 400, "malformed_json", "the body is not valid JSON: %s",
                             parse_error);
            return;
        }
    }
    /* The product names a workspace by its Intercom id; the plugin gets our installation id. */
    const char *workspace = http_query_param(req, "workspace_id");
    if (!workspace)
        workspace = http_header(req, "X-Switchboard-Workspace");
    struct installation *inst =
        workspace ? installations_find(srv->installations, p->name, workspace) : NULL;
    struct plugin_answer refusal;
    if (answer_workspace_refusal(p->name, route->flags, workspace, inst ? &inst->state : NULL,
                                 &refusal)) {
        router_match_free(&m);
        json_object_put(body);
        http_reply_error(req, refusal.status, refusal.code, "%s", refusal.message);
        answer_free(&refusal);
        return;
    }
    json_object *params = json_object_new_object();
    for (int i = 0; i < m.n_params; i++) {
        const char *n = m.names[i];
        char name[64];
        if (n[0] == '{') /* "{id}" -> "id" */
            snprintf(name, sizeof name, "%.*s", (int)strlen(n) - 2, n + 1);
        else
            snprintf(name, sizeof name, "%s", n);
        json_object_object_add(params, name, json_object_new_string(m.values[i]));
    }
    json_object *query = json_object_new_object();
    http_query_each(req, add_query, query);
    struct api_request areq = {
        .pub = {
            .installation = inst ? inst->id : 0,
            .method = http_method(req),
            .path = http_path(req),
            .request_id = http_request_id(req),
            .params = params,
            .query = query,
            .body = body,
            .raw_body = raw,
            .raw_body_len = len,
            .content_type = ctype,
            .route_arg = route->arg,
            .header = api_request_header,
        },
        .http = req,
    };
    sb_http_request *preq = &areq.pub;
    preq->reply = replies_open(srv->replies, req, p, REPLY_API, srv->cfg->api_deadline_ms);
    sb_result result = {0};
    p->callbacks++;
    /* Answers given inside are held until the scope commits, so req stays valid here. */
    turn_scope_enter(srv->turn);
    sb_status st = route->handler(p->state, preq, &result);
    turn_scope_leave(srv->turn);
    replies_after_handler(srv->replies, preq->reply, st, &result);
    router_match_free(&m);
    json_object_put(params);
    json_object_put(query);
    json_object_put(body);
}
