/*
 * startup.c - the start-up order, the top-level router and shutdown of one
 * server (see startup.h).
 */
#include "startup.h"

#include "admin.h"
#include "api.h"
#include "canvas.h"
#include "cluster.h"
#include "console.h"
#include "crypto.h"
#include "host.h"
#include "http.h"
#include "installations.h"
#include "intercom.h"
#include "outbound.h"
#include "jobs.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "plugins.h"
#include "product_events.h"
#include "replies.h"
#include "memory_trim.h"
#include "retention.h"
#include "router.h"
#include "schedules.h"
#include "store/store.h"
#include "turn.h"
#include "util.h"
#include "webhooks.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- top-level routing ---- */

enum top_route { R_HEALTH, R_METRICS, R_WEBHOOK, R_OAUTH, R_CANVAS, R_API, R_ADMIN,
                 R_CONSOLE_INDEX, R_CONSOLE, R_FAVICON };

static struct router *top_routes;

static void setup_routes(void)
{
    static const struct {
        const char *pattern;
        enum top_route route;
    } table[] = {
        {"/healthz", R_HEALTH},
        {"/metrics", R_METRICS},
        {"/webhooks/{plugin}", R_WEBHOOK},
        {"/oauth/{plugin}/{action}", R_OAUTH},
        {"/canvas/{plugin}/{flow}", R_CANVAS},
        {"/api/{plugin}/*", R_API},
        {"/admin/*", R_ADMIN},
        {"/", R_CONSOLE_INDEX},
        {"/console/*", R_CONSOLE},
        {"/favicon.ico", R_FAVICON},
    };
    top_routes = router_new();
    for (size_t i = 0; i < ARRAY_LEN(table); i++)
        router_add(top_routes, "*", table[i].pattern, (void *)(uintptr_t)(table[i].route + 1));
}

static void health(struct server *srv, struct http_request *req)
{
    http_set_label(req, "health");
    if (strcmp(http_method(req), "GET") != 0 && !http_is_head(req)) {
        http_reply_error(req, 405, "method_not_allowed", "use GET");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(srv->stopping ? "stopping" : "ok"));
    json_object_object_add(o, "version", json_object_new_string(SB_SDK_VERSION));
    json_object_object_add(o, "plugins", json_object_new_int64((int64_t)srv->plugins->n));
    json_object_object_add(o, "plugins_refused",
                           json_object_new_int64((int64_t)srv->plugins->n_refused));
    json_object_object_add(o, "uptime_s",
                           json_object_new_int64((time_now_ms() - srv->started_ms) / 1000));
    http_reply_json(req, srv->stopping ? 503 : 200, o);
}

static void dispatch(struct http_request *req, void *arg)
{
    struct server *srv = arg;
    struct route_match m;
    enum router_result found = router_match(top_routes, http_method(req), http_path(req), &m, NULL);
    if (found == ROUTE_BAD_PATH) {
        http_reply_error(req, 400, "bad_path",
                         "the path has a malformed escape, an escaped control byte or too many "
                         "segments");
        return;
    }
    if (found != ROUTE_FOUND) {
        http_reply_error(req, 404, "not_found", "no route for %s %s", http_method(req),
                         http_path(req));
        return;
    }
    const char *plugin = route_param(&m, "plugin");
    switch ((enum top_route)((uintptr_t)m.data - 1)) {
    case R_HEALTH: health(srv, req); break;
    case R_METRICS: metrics_handle(srv, req); break;
    case R_WEBHOOK: webhooks_handle(srv, req, plugin); break;
    case R_OAUTH: oauth_handle(srv, req, plugin, route_param(&m, "action")); break;
    case R_CANVAS: canvas_handle(srv, req, plugin, route_param(&m, "flow")); break;
    case R_API: api_handle(srv, req, plugin, route_param(&m, "*")); break;
    case R_ADMIN: admin_handle(srv, req); break;
    case R_CONSOLE_INDEX: console_handle(req, NULL); break;
    case R_CONSOLE: console_handle(req, route_param(&m, "*")); break;
    /* Browsers ask for it on every page here (the OAuth ones too): the console's icon. */
    case R_FAVICON: console_handle(req, "icon.svg"); break;
    }
    router_match_free(&m);
}

/* ---- start-up ---- */

static int load_secrets(struct server *srv)
{
    char err[512];
    char *hex = NULL;
    if (secret_file_load_or_create(srv->cfg->key_file, SEAL_KEY_BYTES, &hex, err, sizeof err) != 0) {
        log_error("main", "key file: %s", err);
        return -1;
    }
    bool ok = strlen(hex) == 2 * SEAL_KEY_BYTES && hex_decode(hex, srv->seal_key, SEAL_KEY_BYTES);
    OPENSSL_cleanse(hex, strlen(hex));
    free(hex);
    if (!ok) {
        log_error("main", "key file %s must hold %d hex characters", srv->cfg->key_file,
                  2 * SEAL_KEY_BYTES);
        return -1;
    }
    const char *env = srv->cfg->admin_token_env ? getenv(srv->cfg->admin_token_env) : NULL;
    if (env && *env) {
        srv->admin_token = xstrdup(env);
        return 0;
    }
    if (secret_file_load_or_create(srv->cfg->admin_token_file, 24, &srv->admin_token, err,
                                   sizeof err)
        != 0) {
        log_error("main", "admin token: %s", err);
        return -1;
    }
    log_info("main", "admin API token is in %s", srv->cfg->admin_token_file);
    return 0;
}

void server_print_report(const struct config_report *r)
{
    if (r->warnings.len)
        fprintf(stderr, "%s", r->warnings.data);
    if (r->errors.len)
        fprintf(stderr, "%s", r->errors.data);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct server *srv = arg;
    (void)what;
    if (srv->stopping)
        return;
    log_info("main", "received %s; shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv->stopping = true;
    http_server_stop(srv->http);
    jobs_stop(srv->jobs);
    schedules_stop(srv->schedules);
    retention_stop(srv->retention);
    event_base_loopexit(srv->base, NULL);
}

static void shutdown_server(struct server *srv)
{
    turn_finish(srv->turn); /* the loop stopped: a commit in flight is not yet answered */
    if (srv->jobs)
        jobs_stop(srv->jobs);
    schedules_stop(srv->schedules);
    retention_stop(srv->retention);
    plugins_shutdown(srv->plugins);
    intake_free(srv->intake);
    srv->intake = NULL;
    replies_free(srv->replies);
    srv->replies = NULL;
    http_server_free(srv->http);
    srv->http = NULL; /* (a commit still settling corks no answer on it) */
    product_events_free(srv->products); /* before jobs_free: deliveries complete into jobs */
    srv->products = NULL;
    jobs_free(srv->jobs);
    srv->jobs = NULL;
    schedules_free(srv->schedules);
    srv->schedules = NULL;
    retention_free(srv->retention);
    srv->retention = NULL;
    memory_trim_free(srv->memory_trim);
    srv->memory_trim = NULL;
    intercom_free(srv->intercom);
    outbound_free(srv->outbound);
    srv->outbound = NULL;
    plugins_free(srv->plugins);
    installations_free(srv->installations);
    metrics_free(srv->metrics);
    /* Last, once every result is written: the others then requeue only what never ended. */
    cluster_stop(srv->cluster);
    srv->cluster = NULL;
    store_close(srv->store);
    turn_free(srv->turn);
    srv->turn = NULL;
    host_cancel_timers(NULL);
    host_free_post();
    admin_free();
    router_free(top_routes);
    top_routes = NULL;
    free(srv->admin_token);
    OPENSSL_cleanse(srv->seal_key, sizeof srv->seal_key);
    crypto_release_thread();
}

int server_start(struct server *srv, struct config_report *report,
                 const struct server_start_options *opt)
{
    evthread_use_pthreads(); /* loop_post may wake the loop from a plugin's thread */
    struct event_config *ecfg = event_config_new();
    /* Batch epoll_ctl changes per loop iteration: event toggles that cancel out cost nothing. */
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    srv->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    /* 0: unused, 1: network and timers (the default), 2: batched commits after the I/O. */
    if (!srv->base || event_base_priority_init(srv->base, 3) != 0) {
        log_error("main", "cannot create the event loop");
        return EXIT_STARTUP;
    }
    host_init_post(srv->base);
    srv->turn = turn_new(srv);
    char err[512];
    if (load_secrets(srv) != 0)
        return EXIT_STARTUP;
    struct store_options storage;
    config_store_options(srv->cfg, &storage);
    srv->store = store_open_with(&storage, err, sizeof err);
    if (!srv->store) {
        log_error("main", "database: %s", err);
        return EXIT_STARTUP;
    }
    srv->installations = installations_load(srv, err, sizeof err);
    srv->intercom = srv->installations ? intercom_new(srv, err, sizeof err) : NULL;
    srv->outbound = srv->intercom ? outbound_new(srv, err, sizeof err) : NULL;
    if (!srv->installations || !srv->intercom || !srv->outbound) {
        log_error("main", "%s", err);
        return EXIT_STARTUP;
    }
    intercom_on_unauthorized(srv->intercom, lifecycle_intercom_unauthorized, srv);
    srv->metrics = metrics_new();
    srv->replies = replies_new(srv);
    srv->intake = intake_new(srv);
    srv->jobs = jobs_new(srv);
    srv->schedules = schedules_new(srv);
    srv->retention = retention_new(srv);
    srv->memory_trim = memory_trim_new(srv);
    srv->products = product_events_new(srv);
    /* The commit turn's participants, in its order: a dispatch round and the job results,
       then the notifications received, then a batch of pruning when one is due; the last
       only notes that the server is busy (memory is given back once it is quiet). */
    jobs_join_turn(srv->jobs);
    intake_join_turn(srv->intake);
    retention_join_turn(srv->retention);
    memory_trim_join_turn(srv->memory_trim);
    admin_init();
    setup_routes();

    srv->plugins = plugins_load(srv, opt->services, true, report);
    config_log_warnings(report);
    if (report->n_errors) {
        server_print_report(report);
        fprintf(stderr, "switchboard: configuration has %d error%s\n", report->n_errors,
                report->n_errors == 1 ? "" : "s");
        return EXIT_CONFIG;
    }
    if (opt->strict_plugins && srv->plugins->n_refused) {
        log_error("main", "--strict-plugins: %zu plugin%s refused; exiting",
                  srv->plugins->n_refused, srv->plugins->n_refused == 1 ? " was" : "s were");
        return EXIT_STARTUP;
    }

    struct http_limits limits = {
        .max_body_bytes = srv->cfg->max_body_bytes,
        .max_connections = srv->cfg->max_connections,
        .header_timeout_s = srv->cfg->header_timeout_s,
        .body_timeout_s = srv->cfg->body_timeout_s,
        .keepalive_timeout_s = srv->cfg->keepalive_timeout_s,
    };
    srv->http = http_server_new(srv->base, &limits, dispatch, metrics_observe, srv);
    if (!opt->no_listen
        && http_server_listen(srv->http, srv->cfg->listen_host, srv->cfg->listen_port, err,
                              sizeof err)
               != 0) {
        log_error("main", "%s", err);
        return EXIT_STARTUP;
    }
    srv->cluster = cluster_start(srv, err, sizeof err);
    if (!srv->cluster) {
        log_error("main", "%s", err);
        return EXIT_STARTUP;
    }
    if (jobs_start(srv->jobs) != 0)
        return EXIT_STARTUP;
    schedules_start(srv->schedules);
    retention_start(srv->retention, RETENTION_FIRST_PRUNE_MS);
    return 0;
}

void server_run(struct server *srv)
{
    struct event *sigint = evsignal_new(srv->base, SIGINT, on_signal, srv);
    struct event *sigterm = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    log_info("main", "switchboard %s listening on http://%s:%d (%zu plugins, %zu refused)",
             SB_SDK_VERSION, srv->cfg->listen_host, http_server_port(srv->http),
             srv->plugins->n, srv->plugins->n_refused);
    event_base_dispatch(srv->base);
    event_free(sigint);
    event_free(sigterm);
    log_info("main", "stopped");
}

void server_stop(struct server *srv)
{
    shutdown_server(srv);
    if (srv->base)
        event_base_free(srv->base);
    srv->base = NULL;
}
