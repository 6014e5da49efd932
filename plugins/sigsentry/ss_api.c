/*
 * ss_api.c - the product API (/api/sigsentry/...): the binding, its project
 * and log sources, triage results and analyses. Every route but the
 * analysis page needs the plugin's API key and ?workspace_id=; the
 * analysis page is public and found by its random id (the URL posted in
 * notes and written to the conversation). Errors are the handler's FAIL
 * with a status and a code, which the host answers in its one JSON format.
 * Every route but the page carries SB_ROUTE_NEEDS_INSTALLATION, so the
 * host refuses a missing or unknown workspace; only posting an analysis
 * needs it active: the others add SB_ROUTE_ANY_STATE, so the binding, its
 * project, logs and results stay readable and writable in every state, a
 * re-install finds them and the product loses no logs.
 */
#include "ss_plugin.h"

#include "ss_logline.h"
#include "ss_render.h"
#include "ss_util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROJECT_NAME_MAX 200
#define PROJECT_ID_MAX 64
#define RETENTION_DEFAULT_DAYS 14
#define RETENTION_MAX_DAYS 3650
#define ALIASES_MAX 20
#define ALIAS_MAX 64
#define ANALYSES_PAGE_DEFAULT 20
#define ANALYSES_PAGE_MAX 100

static sb_status answer(struct ss_plugin *ss, const sb_http_request *req, int status,
                        json_object *body)
{
    ss->host->respond(ss->self, req->reply, status, body);
    json_object_put(body); /* respond borrows it */
    return SB_OK;
}

/* The binding's project when the path names it; refuses with 404 otherwise. */
static json_object *project_of(struct ss_plugin *ss, const sb_http_request *req,
                               sb_result *result)
{
    const char *wanted = sb_json_str(req->params, "project");
    json_object *project = ss_project_get(ss, req->installation);
    if (project && pk_str_eq(sb_json_str(project, "id"), wanted))
        return project;
    json_object_put(project);
    pk_refuse(result, 404, "unknown_project", "this workspace's binding has no project '%s'",
              wanted ? wanted : "");
    return NULL;
}

static bool slug_valid(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-'
            && s[i] != '_')
            return false;
    return true;
}

/* ---- binding ---- */

static json_object *binding_json(struct ss_plugin *ss, sb_installation_id inst)
{
    sb_installation view;
    json_object *o = json_object_new_object();
    if (ss->host->installation_get(ss->self, inst, &view) != 0)
        return o;
    sb_json_add_str(o, "workspace_id", view.workspace_id);
    sb_json_add_str(o, "workspace_name", view.workspace_name);
    sb_json_add_str(o, "installation_state", sb_installation_state_name(view.state));
    sb_json_add_bool(o, "active", ss_binding_active(ss, inst));
    json_object *state = ss_get(ss, inst, SS_BINDING, "state");
    json_object_object_add(o, "changed_at",
                           state ? json_object_new_int64(sb_json_int(state, "changed_at", 0))
                                 : NULL);
    sb_json_add_str(o, "reason", sb_json_str(state, "reason"));
    json_object_put(state);
    json_object *settings = ss->host->settings_get(ss->self, inst);
    struct ss_settings typed;
    ss_settings_from_json(settings, &typed);
    json_object_object_add(o, "settings", settings);
    json_object_object_add(o, "problems", ss_settings_problems(&typed, &ss->options.rules));
    ss_settings_clear(&typed);
    json_object *project = ss_project_get(ss, inst);
    if (project)
        json_object_object_del(project, "next_seq");
    json_object_object_add(o, "project", project);
    return o;
}

static sb_status get_binding(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    (void)result;
    return answer(ss, req, 200, binding_json(ss, req->installation));
}

static sb_status disconnect(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    const char *reason = sb_json_str(req->body, "reason");
    char *why = pk_xasprintf("disconnected through the product API%s%s", reason ? ": " : "",
                             reason ? reason : "");
    sb_installation view;
    bool revoked = ss->host->installation_get(ss->self, req->installation, &view) == 0
                   && view.state == SB_INSTALLATION_REVOKED;
    /* Record our reason first: the uninstall hook keeps an existing inactive state. */
    if (!revoked && (ss_binding_set(ss, req->installation, false, why) != 0
                     || ss->host->installation_revoke(ss->self, req->installation, why) != 0)) {
        free(why);
        return pk_refuse(result, 500, "disconnect_failed", "the binding could not be disconnected");
    }
    free(why);
    return answer(ss, req, 200, binding_json(ss, req->installation));
}

/* ---- projects ---- */

static bool read_retention(const sb_http_request *req, int64_t *days, sb_result *result)
{
    json_object *v;
    if (!json_object_object_get_ex(req->body, "retention_days", &v))
        return true;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1
        || json_object_get_int64(v) > RETENTION_MAX_DAYS) {
        pk_refuse(result, 400, "invalid_request", "retention_days must be an integer from 1 to %d",
                  RETENTION_MAX_DAYS);
        return false;
    }
    *days = json_object_get_int64(v);
    return true;
}

static bool read_name(const sb_http_request *req, bool required, const char **name,
                      sb_result *result)
{
    json_object *v;
    if (!json_object_object_get_ex(req->body, "name", &v)) {
        if (required)
            pk_refuse(result, 400, "invalid_request", "\"name\" is required");
        return !required;
    }
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0
        || json_object_get_string_len(v) > PROJECT_NAME_MAX) {
        pk_refuse(result, 400, "invalid_request", "\"name\" must be a string of 1 to %d bytes",
                  PROJECT_NAME_MAX);
        return false;
    }
    *name = json_object_get_string(v);
    return true;
}

static bool body_is_object(const sb_http_request *req, sb_result *result)
{
    if (req->body && json_object_is_type(req->body, json_type_object))
        return true;
    pk_refuse(result, 400, "invalid_request", "the body must be a JSON object");
    return false;
}

static sb_status create_project(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    if (!body_is_object(req, result))
        return SB_FAIL;
    json_object *existing = ss_project_get(ss, req->installation);
    if (existing) {
        sb_status st = pk_refuse(result, 409, "project_exists",
                                 "this workspace's binding already has project '%s'",
                                 sb_json_str(existing, "id") ? sb_json_str(existing, "id") : "");
        json_object_put(existing);
        return st;
    }
    const char *name = NULL, *id = sb_json_str(req->body, "id");
    int64_t days = RETENTION_DEFAULT_DAYS;
    if (!read_name(req, true, &name, result) || !read_retention(req, &days, result))
        return SB_FAIL;
    char generated[PROJECT_ID_MAX + 1];
    if (id && !slug_valid(id, PROJECT_ID_MAX))
        return pk_refuse(result, 400, "invalid_request",
                         "\"id\" must be 1 to %d of a-z, 0-9, '-' and '_'", PROJECT_ID_MAX);
    if (!id) {
        char hex[13];
        if (!ss_random_hex(hex, 6))
            return pk_refuse(result, 500, "no_randomness", "could not make a project id");
        snprintf(generated, sizeof generated, "prj_%s", hex);
        id = generated;
    }
    int64_t now = ss_now_ms(ss);
    json_object *project = json_object_new_object();
    sb_json_add_str(project, "id", id);
    sb_json_add_str(project, "name", name);
    sb_json_add_int(project, "retention_days", days);
    sb_json_add_int(project, "created_at", now);
    sb_json_add_int(project, "updated_at", now);
    sb_json_add_int(project, "next_seq", 1);
    if (ss_put(ss, req->installation, SS_PROJECT, "project", json_object_get(project)) != 0) {
        json_object_put(project);
        return pk_refuse(result, 503, "store_error", "the project could not be saved");
    }
    ss->host->audit(ss->self, req->installation, "project", "created", id);
    json_object_object_del(project, "next_seq");
    return answer(ss, req, 201, project);
}

static sb_status get_project(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    json_object *project = project_of(ss, req, result);
    if (!project)
        return SB_FAIL;
    json_object_object_del(project, "next_seq");
    json_object *services = ss_services_list(ss, req->installation);
    sb_json_add_int(project, "services", (int64_t)json_object_array_length(services));
    json_object_put(services);
    return answer(ss, req, 200, project);
}

static sb_status update_project(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    if (!body_is_object(req, result))
        return SB_FAIL;
    json_object *project = project_of(ss, req, result);
    if (!project)
        return SB_FAIL;
    const char *name = NULL;
    int64_t days = sb_json_int(project, "retention_days", RETENTION_DEFAULT_DAYS);
    if (!read_name(req, false, &name, result) || !read_retention(req, &days, result)) {
        json_object_put(project);
        return SB_FAIL;
    }
    if (name)
        sb_json_add_str(project, "name", name);
    sb_json_add_int(project, "retention_days", days);
    sb_json_add_int(project, "updated_at", ss_now_ms(ss));
    if (ss_put(ss, req->installation, SS_PROJECT, "project", json_object_get(project)) != 0) {
        json_object_put(project);
        return pk_refuse(result, 503, "store_error", "the project could not be saved");
    }
    json_object_object_del(project, "next_seq");
    return answer(ss, req, 200, project);
}

/* ---- log sources ---- */

static sb_status ingest_logs(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    json_object *project = project_of(ss, req, result);
    if (!project)
        return SB_FAIL;
    if (!req->raw_body || req->raw_body_len == 0) {
        json_object_put(project);
        return pk_refuse(result, 400, "empty_body",
                         "send log records as NDJSON: one "
                         "{\"time\",\"service\",\"level\",\"message\"} object per line");
    }
    bool stored;
    json_object *report = ss_ingest(ss, req->installation, project, req->raw_body,
                                    req->raw_body_len, &stored);
    json_object_put(project);
    if (!stored) {
        json_object_put(report);
        return pk_refuse(result, 503, "store_error", "the log records could not be stored; retry");
    }
    int64_t accepted = sb_json_int(report, "accepted", 0);
    int64_t rejected = sb_json_int(report, "rejected", 0);
    /* Nothing usable in a non-empty batch is the sender's mistake; partial batches are 200. */
    return answer(ss, req, accepted == 0 && rejected > 0 ? 422 : 200, report);
}

static sb_status list_services(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    json_object *project = project_of(ss, req, result);
    if (!project)
        return SB_FAIL;
    json_object_put(project);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "services", ss_services_list(ss, req->installation));
    return answer(ss, req, 200, o);
}

static sb_status put_service(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    if (!body_is_object(req, result))
        return SB_FAIL;
    json_object *project = project_of(ss, req, result);
    if (!project)
        return SB_FAIL;
    json_object_put(project);
    char name[SS_SERVICE_MAX + 1];
    if (!ss_service_normalize(sb_json_str(req->params, "service"), name))
        return pk_refuse(result, 400, "invalid_request",
                         "a service name is 1-64 characters of a-z, 0-9, '.', '_' or '-'");
    json_object *aliases = sb_json_arr(req->body, "aliases");
    size_t n = aliases ? json_object_array_length(aliases) : 0;
    if (!aliases || n > ALIASES_MAX)
        return pk_refuse(result, 400, "invalid_request",
                         "\"aliases\" must be a list of at most %d strings", ALIASES_MAX);
    json_object *clean = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(aliases, i);
        if (!json_object_is_type(a, json_type_string) || json_object_get_string_len(a) == 0
            || json_object_get_string_len(a) > ALIAS_MAX) {
            json_object_put(clean);
            return pk_refuse(result, 400, "invalid_request",
                             "aliases[%zu] must be a string of 1 to %d bytes", i, ALIAS_MAX);
        }
        json_object_array_add(clean, json_object_new_string(json_object_get_string(a)));
    }
    json_object *svc = ss_get(ss, req->installation, SS_SERVICES, name);
    if (!svc) {
        /* Declared before it logs anything: triage knows it from now on. */
        svc = json_object_new_object();
        sb_json_add_str(svc, "name", name);
        sb_json_add_int(svc, "records", 0);
        json_object_object_add(svc, "first_seen", NULL);
        json_object_object_add(svc, "last_seen", NULL);
    }
    json_object_object_add(svc, "aliases", clean);
    if (ss_put(ss, req->installation, SS_SERVICES, name, json_object_get(svc)) != 0) {
        json_object_put(svc);
        return pk_refuse(result, 503, "store_error", "the service could not be saved");
    }
    return answer(ss, req, 200, svc);
}

/* ---- conversations ---- */

static const char *conversation_param(const sb_http_request *req, sb_result *result)
{
    const char *id = sb_json_str(req->params, "conversation");
    if (ss_conversation_id_valid(id))
        return id;
    pk_refuse(result, 400, "invalid_request", "not a conversation id");
    return NULL;
}

static sb_status get_triage(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    const char *conversation;
    if (!(conversation = conversation_param(req, result)))
        return SB_FAIL;
    json_object *triage = ss_get(ss, req->installation, SS_TRIAGE, conversation);
    if (!triage)
        return pk_refuse(result, 404, "not_triaged", "conversation %s has not been triaged",
                         conversation);
    return answer(ss, req, 200, triage);
}

static sb_status list_analyses(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    const char *conversation;
    if (!(conversation = conversation_param(req, result)))
        return SB_FAIL;
    size_t limit;
    if (!pk_query_limit(req, ANALYSES_PAGE_DEFAULT, ANALYSES_PAGE_MAX, &limit, result))
        return SB_FAIL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "analyses", ss_analyses_recent(ss, req->installation, conversation,
                                                             limit));
    return answer(ss, req, 200, o);
}

static sb_status run_analysis(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    const char *conversation = conversation_param(req, result);
    if (!conversation)
        return SB_FAIL;
    /* The installation is active (the route flag); the binding may still have been
       disconnected by a revoke that failed half-way. */
    if (!ss_binding_active(ss, req->installation))
        return pk_refuse(result, 409, "binding_inactive",
                         "the binding is disconnected; analyses are not posted to Intercom");
    struct ss_analysis_request ar;
    json_object *triage = ss_analysis_request_for(ss, req->installation, conversation, 0, &ar);
    char service[SS_SERVICE_MAX + 1];
    const char *wanted = sb_json_str(req->body, "service");
    if (wanted) {
        if (!ss_service_normalize(wanted, service)) {
            json_object_put(triage);
            return pk_refuse(result, 400, "invalid_request", "\"service\" is not a service name");
        }
        ar.service = service;
    }
    ar.trigger = "api";
    json_object *analysis = ss_analysis_run(ss, req->installation, &ar);
    json_object_put(triage);
    if (!analysis)
        return pk_refuse(result, 503, "store_error", "the analysis could not be stored");
    return answer(ss, req, 201, analysis);
}

/* ---- the public analysis page ---- */

static bool analysis_id_valid(const char *id)
{
    if (!id || strlen(id) != 32)
        return false;
    for (const char *p = id; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
            return false;
    return true;
}

static sb_status analysis_page(void *state, const sb_http_request *req, sb_result *result)
{
    struct ss_plugin *ss = state;
    const char *id = sb_json_str(req->params, "analysis");
    sb_installation_id inst = 0;
    json_object *analysis = analysis_id_valid(id) ? ss_analysis_by_id(ss, id, &inst) : NULL;
    bool as_json = pk_str_eq(sb_json_str(req->query, "format"), "json");
    if (!analysis) {
        if (as_json)
            return pk_refuse(result, 404, "not_found", "no such analysis");
        const char *page = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Not "
                           "found</title></head><body><p>No such analysis.</p></body></html>\n";
        ss->host->respond_raw(ss->self, req->reply, 404, "text/html; charset=utf-8", page,
                              strlen(page));
        return SB_OK;
    }
    if (as_json) {
        /* Progress bookkeeping is not part of what the product shows. */
        json_object_object_del(analysis, "steps");
        json_object_object_del(analysis, "url_attribute");
        json_object_object_del(analysis, "url_attribute_error");
        return answer(ss, req, 200, analysis);
    }
    char *html = ss_render_analysis_page(analysis);
    ss->host->respond_raw(ss->self, req->reply, 200, "text/html; charset=utf-8", html,
                          strlen(html));
    free(html);
    json_object_put(analysis);
    return SB_OK;
}

/* The binding, its project, logs and results are served in any state (the host checks presence). */
#define ANY_STATE (SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE)

const sb_route ss_routes[] = {
    {"GET", "/binding", get_binding, ANY_STATE, NULL},
    {"POST", "/disconnect", disconnect, ANY_STATE, NULL},
    {"POST", "/projects", create_project, ANY_STATE, NULL},
    {"GET", "/projects/{project}", get_project, ANY_STATE, NULL},
    {"PUT", "/projects/{project}", update_project, ANY_STATE, NULL},
    {"POST", "/projects/{project}/logs", ingest_logs, ANY_STATE, NULL},
    {"GET", "/projects/{project}/services", list_services, ANY_STATE, NULL},
    {"PUT", "/projects/{project}/services/{service}", put_service, ANY_STATE, NULL},
    {"GET", "/conversations/{conversation}/triage", get_triage, ANY_STATE, NULL},
    {"GET", "/conversations/{conversation}/analyses", list_analyses, ANY_STATE, NULL},
    {"POST", "/conversations/{conversation}/analyses", run_analysis, SB_ROUTE_NEEDS_INSTALLATION,
     NULL},
    {"GET", "/analyses/{analysis}", analysis_page, SB_ROUTE_PUBLIC, NULL},
    {NULL, NULL, NULL, 0, NULL},
};
