/*
 * admin.c - the integrator's API under /admin, behind the admin token:
 * plugins (with their descriptors), installations, settings, jobs, dead
 * jobs and replay, received events, schedules and the audit timeline.
 */
#include "admin.h"

#include "api.h"
#include "audit.h"
#include "cluster.h"
#include "documents.h"
#include "http.h"
#include "installations.h"
#include "intercom.h"
#include "jobs.h"
#include "jobs_admin.h"
#include "json_input.h"
#include "lifecycle.h"
#include "log.h"
#include "plugins.h"
#include "product_events.h"
#include "router.h"
#include "server.h"
#include "settings.h"
#include "store/store_events.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef void (*admin_fn)(struct server *srv, struct http_request *req,
                         const struct route_match *m);

static int64_t query_int(struct http_request *req, const char *name, int64_t fallback)
{
    int64_t v;
    const char *s = http_query_param(req, name);
    return s && str_to_i64(s, &v) ? v : fallback;
}

static int query_limit(struct http_request *req)
{
    int64_t limit = query_int(req, "limit", 100);
    return limit < 1 ? 1 : limit > 1000 ? 1000 : (int)limit;
}

/*
 * An optional id in the query (installation=, before=): false, after a 400,
 * when it is there but not a positive integer; *id is 0 when it is absent.
 */
static bool query_id(struct http_request *req, const char *name, int64_t *id)
{
    const char *s = http_query_param(req, name);
    *id = 0;
    if (!s)
        return true;
    if (str_to_i64(s, id) && *id > 0)
        return true;
    http_reply_error(req, 400, "bad_query", "%s must be a positive integer", name);
    return false;
}

static void reply_list(struct http_request *req, const char *key, json_object *items)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, key, items);
    http_reply_json(req, 200, o);
}

/* A page of items newest first; next_before (the cursor for ?before=) is null on the last page. */
static void reply_page(struct http_request *req, const char *key, json_object *items, int limit)
{
    size_t n = json_object_array_length(items);
    json_object *last = n ? json_object_array_get_idx(items, n - 1) : NULL;
    json_object *id = NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, key, items);
    json_object_object_add(o, "next_before",
                           n == (size_t)limit && json_object_object_get_ex(last, "id", &id)
                               ? json_object_get(id)
                               : NULL);
    http_reply_json(req, 200, o);
}

static struct installation *installation_param(struct server *srv, struct http_request *req,
                                               const struct route_match *m)
{
    int64_t id;
    struct installation *inst = NULL;
    if (str_to_i64(route_param(m, "id"), &id))
        inst = installations_get(srv->installations, id);
    if (!inst)
        http_reply_error(req, 404, "not_found", "no installation %s", route_param(m, "id"));
    return inst;
}

/* ---- plugins ---- */

static void list_plugins(struct server *srv, struct http_request *req, const struct route_match *m)
{
    (void)m;
    json_object *plugins = json_object_new_array();
    for (size_t i = 0; i < srv->plugins->n; i++)
        json_object_array_add(plugins, plugin_describe(srv->plugins->items[i]));
    json_object *refused = json_object_new_array();
    for (size_t i = 0; i < srv->plugins->n_refused; i++) {
        const struct plugin_refusal *r = &srv->plugins->refused[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(r->name));
        json_object_object_add(o, "path", json_object_new_string(r->path));
        json_object_object_add(o, "reason", json_object_new_string(r->reason));
        json_object_array_add(refused, o);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "plugins", plugins);
    json_object_object_add(o, "refused", refused);
    http_reply_json(req, 200, o);
}

static struct sb_plugin *plugin_param(struct server *srv, struct http_request *req,
                                      const struct route_match *m)
{
    struct sb_plugin *p = plugins_find(srv->plugins, route_param(m, "name"));
    if (!p)
        http_reply_error(req, 404, "not_found", "no plugin '%s' is loaded", route_param(m, "name"));
    return p;
}

/* The URLs an integrator enters in the plugin's Intercom app (README "Connecting an Intercom app"). */
static json_object *plugin_urls(struct server *srv, const struct sb_plugin *p)
{
    static const struct {
        const char *name, *format;
        bool canvas_only;
    } urls[] = {
        {"oauth_install", "%s/oauth/%s/install", false},
        {"oauth_callback", "%s/oauth/%s/callback", false},
        {"webhook", "%s/webhooks/%s", false},
        {"uninstall", "%s/oauth/%s/uninstalled", false},
        {"canvas_initialize", "%s/canvas/%s/initialize", true},
        {"canvas_submit", "%s/canvas/%s/submit", true},
    };
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        if (urls[i].canvas_only && !p->desc.canvas)
            continue;
        char *url = xasprintf(urls[i].format, srv->cfg->public_url, p->name);
        json_object_object_add(o, urls[i].name, json_object_new_string(url));
        free(url);
    }
    return o;
}

static void get_plugin(struct server *srv, struct http_request *req, const struct route_match *m)
{
    struct sb_plugin *p = plugin_param(srv, req, m);
    if (!p)
        return;
    json_object *o = plugin_describe(p);
    json_object_object_add(o, "urls", plugin_urls(srv, p));
    json_object_object_add(o, "defaults", settings_redacted(p->desc.settings, p->defaults));
    json_object_object_add(o, "product", product_endpoint_json(srv->products, p));
    http_reply_json(req, 200, o);
}

/* ---- product webhooks ---- */

static void get_product(struct server *srv, struct http_request *req, const struct route_match *m)
{
    struct sb_plugin *p = plugin_param(srv, req, m);
    if (p)
        http_reply_json(req, 200, product_endpoint_json(srv->products, p));
}

static void enable_product(struct server *srv, struct http_request *req,
                           const struct route_match *m)
{
    struct sb_plugin *p = plugin_param(srv, req, m);
    if (!p)
        return;
    if (!p->cfg || !p->cfg->product.webhook_url) {
        http_reply_error(req, 409, "not_configured", "plugins.%s.product.webhook_url is not set",
                         p->name);
        return;
    }
    char err[160];
    if (product_endpoint_enable(srv->products, p, err, sizeof err) != 0) {
        http_reply_error(req, 500, "store_error", "%s", err);
        return;
    }
    http_reply_json(req, 200, product_endpoint_json(srv->products, p));
}

/* ---- installations ---- */

struct list_ctx {
    json_object *arr;
    const char *state;
};

static int add_installation(void *arg, struct installation *inst)
{
    struct list_ctx *ctx = arg;
    if (!ctx->state || strcmp(ctx->state, installation_state_name(inst->state)) == 0)
        json_object_array_add(ctx->arr, installation_json(inst));
    return 0;
}

/* An installation's effective settings as the admin API shows them (sensitive ones redacted). */
static json_object *shown_settings(struct server *srv, struct sb_plugin *p, int64_t installation)
{
    json_object *settings = settings_effective(srv, p, installation);
    json_object *shown = settings_redacted(p->desc.settings, settings);
    json_object_put(settings);
    return shown;
}

static void list_installations(struct server *srv, struct http_request *req,
                               const struct route_match *m)
{
    (void)m;
    struct list_ctx ctx = {json_object_new_array(), http_query_param(req, "state")};
    installations_each(srv->installations, http_query_param(req, "plugin"), add_installation, &ctx);
    reply_list(req, "installations", ctx.arr);
}

static void get_installation(struct server *srv, struct http_request *req,
                             const struct route_match *m)
{
    struct installation *inst = installation_param(srv, req, m);
    if (!inst)
        return;
    json_object *o = installation_json(inst);
    struct sb_plugin *p = plugins_find(srv->plugins, inst->plugin);
    if (p)
        json_object_object_add(o, "settings", shown_settings(srv, p, inst->id));
    json_object_object_add(o, "documents",
                           json_object_new_int64(doc_count(srv->store, inst->plugin, inst->id)));
    json_object_object_add(o, "rate_governor", intercom_governor_json(srv->intercom, inst->id));
    http_reply_json(req, 200, o);
}

static void installation_activity(struct server *srv, struct http_request *req,
                                  const struct route_match *m)
{
    struct installation *inst = installation_param(srv, req, m);
    if (!inst)
        return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "installation_id", json_object_new_int64(inst->id));
    json_object_object_add(o, "jobs", jobs_activity(srv->store, inst->id));
    http_reply_json(req, 200, o);
}

static void revoke_installation(struct server *srv, struct http_request *req,
                                const struct route_match *m)
{
    struct installation *inst = installation_param(srv, req, m);
    if (!inst)
        return;
    if (lifecycle_revoke(srv, inst, "revoked by an administrator", true) != 0) {
        http_reply_error(req, 500, "store_error", "could not revoke; see the log");
        return;
    }
    http_reply_json(req, 200, installation_json(inst));
}

/* The installation of the route's {id} with its plugin, or NULL after a 404 or 409. */
static struct installation *settings_target(struct server *srv, struct http_request *req,
                                            const struct route_match *m, struct sb_plugin **p)
{
    struct installation *inst = installation_param(srv, req, m);
    if (!inst)
        return NULL;
    *p = plugins_find(srv->plugins, inst->plugin);
    if (!*p) {
        http_reply_error(req, 409, "plugin_not_loaded", "plugin '%s' is not loaded", inst->plugin);
        return NULL;
    }
    return inst;
}

static void reply_settings(struct server *srv, struct http_request *req, struct sb_plugin *p,
                           const struct installation *inst)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "settings", shown_settings(srv, p, inst->id));
    json_object_object_add(o, "schema", settings_schema_json(p->desc.settings));
    http_reply_json(req, 200, o);
}

static void get_settings(struct server *srv, struct http_request *req, const struct route_match *m)
{
    struct sb_plugin *p;
    struct installation *inst = settings_target(srv, req, m, &p);
    if (inst)
        reply_settings(srv, req, p, inst);
}

static void put_settings(struct server *srv, struct http_request *req, const struct route_match *m)
{
    struct sb_plugin *p;
    struct installation *inst = settings_target(srv, req, m, &p);
    if (!inst)
        return;
    size_t len;
    const char *raw = http_body(req, &len);
    char parse_error[128];
    json_object *changes = json_parse_whole(raw, len, parse_error, sizeof parse_error);
    if (!changes || !json_object_is_type(changes, json_type_object)) {
        http_reply_error(req, 400, "malformed_json", "expected a JSON object of settings (%s)",
                         changes ? "wrong type" : parse_error);
        json_object_put(changes);
        return;
    }
    struct buf err;
    buf_init(&err);
    int rc = settings_update(srv, p, inst->id, changes, &err);
    json_object_put(changes);
    if (rc != 0) {
        http_reply_error(req, 422, "invalid_settings", "%s", err.data ? err.data : "invalid");
        buf_free(&err);
        return;
    }
    buf_free(&err);
    lifecycle_settings_changed(srv, inst);
    reply_settings(srv, req, p, inst);
}

/* ---- jobs ---- */

static void list_jobs(struct server *srv, struct http_request *req, const struct route_match *m)
{
    struct job_filter filter = {
        .state = http_query_param(req, "state"),
        .plugin = http_query_param(req, "plugin"),
        .type = http_query_param(req, "type"),
        .limit = query_limit(req),
    };
    if (m->pattern && strstr(m->pattern, "/dead"))
        filter.state = "dead";
    bool known = !filter.state;
    for (int i = 0; filter.state && i < JOB_STATES; i++)
        known |= strcmp(filter.state, job_state_names[i]) == 0;
    if (!known) {
        http_reply_error(req, 400, "bad_state",
                         "state must be queued, waiting, running, pending, done, dead, "
                         "cancelled or skipped");
        return;
    }
    if (!query_id(req, "installation", &filter.installation)
        || !query_id(req, "before", &filter.before_id))
        return;
    reply_page(req, "jobs", jobs_list(srv->store, &filter), filter.limit);
}

static void get_job(struct server *srv, struct http_request *req, const struct route_match *m)
{
    int64_t id;
    json_object *job = str_to_i64(route_param(m, "id"), &id) ? jobs_get(srv->store, id) : NULL;
    if (!job) {
        http_reply_error(req, 404, "not_found", "no job %s", route_param(m, "id"));
        return;
    }
    http_reply_json(req, 200, job);
}

static void replay_job(struct server *srv, struct http_request *req, const struct route_match *m)
{
    int64_t id;
    char err[160];
    json_object *job = str_to_i64(route_param(m, "id"), &id) ? jobs_get(srv->store, id) : NULL;
    if (!job) {
        http_reply_error(req, 404, "not_found", "no job %s", route_param(m, "id"));
        return;
    }
    json_object_put(job);
    if (jobs_replay(srv->jobs, id, err, sizeof err) != 0) {
        http_reply_error(req, 409, "not_replayable", "%s", err);
        return;
    }
    http_reply_json(req, 200, jobs_get(srv->store, id));
}

static void replay_dead_jobs(struct server *srv, struct http_request *req,
                             const struct route_match *m)
{
    (void)m;
    const char *name = http_query_param(req, "plugin");
    if (!name || !*name) {
        http_reply_error(req, 400, "bad_query", "plugin= names the plugin whose dead jobs to replay");
        return;
    }
    if (!plugins_find(srv->plugins, name)) {
        http_reply_error(req, 404, "not_found", "no plugin '%s' is loaded", name);
        return;
    }
    int64_t replayed = jobs_replay_dead(srv->jobs, name);
    if (replayed < 0) {
        http_reply_error(req, 500, "store_error", "could not replay; see the log");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "plugin", json_object_new_string(name));
    json_object_object_add(o, "replayed", json_object_new_int64(replayed));
    http_reply_json(req, 200, o);
}

static void get_cluster(struct server *srv, struct http_request *req,
                        const struct route_match *m)
{
    (void)m;
    http_reply_json(req, 200, cluster_json(srv->cluster));
}

static void list_schedules(struct server *srv, struct http_request *req,
                           const struct route_match *m)
{
    (void)m;
    reply_list(req, "schedules", jobs_schedules(srv->store, http_query_param(req, "plugin")));
}

/* ---- events and audit ---- */

static json_object *event_json(const struct store_event *row, bool with_body)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(row->id));
    json_object_object_add(o, "plugin", json_object_new_string(row->plugin));
    json_object_object_add(o, "notification_id", json_object_new_string(row->notification_id));
    json_object_object_add(o, "installation_id",
                           row->installation ? json_object_new_int64(row->installation) : NULL);
    json_object_object_add(o, "workspace_id",
                           row->workspace_id ? json_object_new_string(row->workspace_id) : NULL);
    json_object_object_add(o, "topic", json_object_new_string(row->topic));
    json_object_object_add(o, "created_at", json_object_new_int64(row->created_at));
    json_object_object_add(o, "received_at", json_object_new_int64(row->received_at));
    json_object_object_add(o, "outcome", json_object_new_string(row->outcome));
    /* A delivered notification is its own job (GET /admin/jobs/{id}): its state, or null. */
    json_object_object_add(o, "delivery_state",
                           row->state ? json_object_new_string(row->state) : NULL);
    if (with_body)
        json_object_object_add(o, "body", json_tokener_parse(row->body));
    return o;
}

struct event_list {
    json_object *arr;
    bool with_body;
};

static int add_event(void *arg, const struct store_event *row)
{
    struct event_list *list = arg;
    json_object_array_add(list->arr, event_json(row, list->with_body));
    return 0;
}

static int keep_event(void *arg, const struct store_event *row)
{
    *(json_object **)arg = event_json(row, true);
    return 1;
}

static void list_events(struct server *srv, struct http_request *req, const struct route_match *m)
{
    (void)m;
    struct store_event_filter filter = {
        .plugin = http_query_param(req, "plugin"),
        .topic = http_query_param(req, "topic"),
        .limit = query_limit(req),
    };
    if (!query_id(req, "installation", &filter.installation)
        || !query_id(req, "before", &filter.before_id))
        return;
    struct event_list list = {json_object_new_array(), query_int(req, "body", 0) != 0};
    store_events_each(srv->store, &filter, add_event, &list);
    reply_page(req, "events", list.arr, filter.limit);
}

static void get_event(struct server *srv, struct http_request *req, const struct route_match *m)
{
    int64_t id;
    json_object *o = NULL;
    if (str_to_i64(route_param(m, "id"), &id))
        store_event_by_id(srv->store, id, keep_event, &o);
    if (!o) {
        http_reply_error(req, 404, "not_found", "no event %s", route_param(m, "id"));
        return;
    }
    http_reply_json(req, 200, o);
}

static void list_audit(struct server *srv, struct http_request *req, const struct route_match *m)
{
    (void)m;
    int64_t installation, before;
    if (!query_id(req, "installation", &installation) || !query_id(req, "before", &before))
        return;
    int limit = query_limit(req);
    reply_page(req, "audit",
               audit_list(srv->store, http_query_param(req, "plugin"), installation,
                          http_query_param(req, "subject"), before, (size_t)limit),
               limit);
}

/* ---- routing ---- */

static struct router *admin_routes;

static const struct {
    const char *method, *pattern;
    admin_fn fn;
} routes[] = {
    {"GET", "/admin/plugins", list_plugins},
    {"GET", "/admin/plugins/{name}", get_plugin},
    {"GET", "/admin/plugins/{name}/product", get_product},
    {"POST", "/admin/plugins/{name}/product/enable", enable_product},
    {"GET", "/admin/installations", list_installations},
    {"GET", "/admin/installations/{id}", get_installation},
    {"GET", "/admin/installations/{id}/activity", installation_activity},
    {"POST", "/admin/installations/{id}/revoke", revoke_installation},
    {"GET", "/admin/installations/{id}/settings", get_settings},
    {"PUT", "/admin/installations/{id}/settings", put_settings},
    {"GET", "/admin/jobs", list_jobs},
    {"GET", "/admin/jobs/dead", list_jobs},
    {"POST", "/admin/jobs/dead/replay", replay_dead_jobs}, /* before {id}: "dead" is no id */
    {"GET", "/admin/jobs/{id}", get_job},
    {"POST", "/admin/jobs/{id}/replay", replay_job},
    {"GET", "/admin/schedules", list_schedules},
    {"GET", "/admin/cluster", get_cluster},
    {"GET", "/admin/events", list_events},
    {"GET", "/admin/events/{id}", get_event},
    {"GET", "/admin/audit", list_audit},
};

void admin_init(void)
{
    if (admin_routes)
        return;
    admin_routes = router_new();
    for (size_t i = 0; i < ARRAY_LEN(routes); i++)
        router_add(admin_routes, routes[i].method, routes[i].pattern, (void *)&routes[i]);
}

void admin_free(void)
{
    router_free(admin_routes);
    admin_routes = NULL;
}

void admin_handle(struct server *srv, struct http_request *req)
{
    http_set_label(req, "admin");
    if (!bearer_matches(req, srv->admin_token)) {
        log_warn("admin", "refused %s %s from %s: bad or missing admin token", http_method(req),
                 http_path(req), http_peer(req));
        http_add_header(req, "WWW-Authenticate", "Bearer");
        http_reply_error(req, 401, "unauthorized", "the admin token is required");
        return;
    }
    struct route_match m;
    char *allowed = NULL;
    enum router_result r = router_match(admin_routes, http_method(req), http_path(req), &m, &allowed);
    if (r != ROUTE_FOUND) {
        reply_route_miss(req, r, allowed, "no admin route %s %s", http_method(req),
                         http_path(req));
        return;
    }
    const struct {
        const char *method, *pattern;
        admin_fn fn;
    } *route = m.data;
    route->fn(srv, req, &m);
    router_match_free(&m);
}
