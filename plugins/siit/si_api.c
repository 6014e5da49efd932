/*
 * si_api.c - the product API siit-core serves (/api/siit/...). Every route
 * needs ?workspace_id= (the host refuses a missing or unknown workspace);
 * routes that only read work in every installation state. Errors are the
 * handler's FAIL with a status and a code, answered by the host in its one
 * JSON format.
 */
#include "si_api.h"

#include "plugin_kit.h"
#include "si_escalation.h"
#include "si_settings.h"
#include "si_teams.h"
#include "si_timeline.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000

/* ---- request helpers ---- */

static sb_status reply(si_state *st, const sb_http_request *req, int status, json_object *body)
{
    st->host->respond(st->self, req->reply, status, body);
    json_object_put(body); /* respond borrows it */
    return SB_OK;
}

static const char *param(const sb_http_request *req, const char *name)
{
    return sb_json_str(req->params, name);
}

/* The {id} of a /requests/{id}/... route, or NULL after filling a 400. */
static const char *request_id_param(const sb_http_request *req, sb_result *result)
{
    const char *id = param(req, "id");
    if (!si_id_valid(id)) {
        pk_refuse(result, 400, "invalid_request_id",
                  "a request id is 1-%d characters of letters, digits, '_', '-' and '.'",
                  SI_REQUEST_ID_MAX);
        return NULL;
    }
    return id;
}

/* ?limit= (1-MAX_LIMIT, default DEFAULT_LIMIT); false after filling a 400. */
static bool limit_param(const sb_http_request *req, size_t *limit, sb_result *result)
{
    *limit = DEFAULT_LIMIT;
    const char *text = sb_json_str(req->query, "limit");
    if (!text)
        return true;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < 1 || v > MAX_LIMIT) {
        pk_refuse(result, 400, "invalid_limit", "limit must be an integer 1-%d", MAX_LIMIT);
        return false;
    }
    *limit = (size_t)v;
    return true;
}

struct list {
    json_object *items;
    const struct si_settings *settings; /* teams only */
};

static int add_team(void *arg, const char *key, json_object *team)
{
    struct list *l = arg;
    (void)key;
    bool selected = si_team_selected(l->settings, sb_json_str(team, "id"));
    bool reachable = sb_json_bool(team, "reachable", false);
    json_object *out = json_object_new_object();
    sb_json_add_str(out, "id", sb_json_str(team, "id"));
    sb_json_add_str(out, "name", sb_json_str(team, "name"));
    sb_json_add_bool(out, "selected", selected);
    sb_json_add_bool(out, "reachable", reachable);
    sb_json_add_bool(out, "selectable", selected && reachable);
    if (!reachable)
        sb_json_add_str(out, "problem",
                        "the plugin's Intercom admin is not a member of this team; add it to the "
                        "team in Intercom, then re-sync (POST /api/siit/teams/sync)");
    json_object_array_add(l->items, out);
    return 0;
}

static int add_item(void *arg, const char *key, json_object *value)
{
    struct list *l = arg;
    (void)key;
    json_object_array_add(l->items, json_object_get(value));
    return 0;
}

/* {<member>: [...], "sync": <the last re-sync or null>} */
static sb_status list_collection(si_state *st, const sb_http_request *req, const char *collection,
                                 const char *member, sb_doc_cb add, sb_result *result)
{
    struct si_settings settings;
    si_settings_parse(st->host->settings_get(st->self, req->installation), &settings);
    struct list l = {.items = json_object_new_array(), .settings = &settings};
    int n = st->host->doc_list(st->self, req->installation, collection, NULL, NULL, 0, 0, add, &l);
    si_settings_release(&settings);
    if (n < 0) {
        json_object_put(l.items);
        return pk_refuse(result, 500, "store_error", "cannot read the %s", member);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, member, l.items);
    json_object *sync = si_get(st, req->installation, SI_DIRECTORY, "sync");
    json_object_object_add(body, "sync", sync);
    return reply(st, req, 200, body);
}

/* ---- teams and ticket types ---- */

sb_status si_route_teams(void *state, const sb_http_request *req, sb_result *result)
{
    return list_collection(state, req, SI_TEAMS, "teams", add_team, result);
}

sb_status si_route_ticket_types(void *state, const sb_http_request *req, sb_result *result)
{
    return list_collection(state, req, SI_TICKET_TYPES, "ticket_types", add_item, result);
}

sb_status si_route_directory_sync(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    if (si_directory_sync_enqueue(st, req->installation, result) != SB_OK) {
        result->http_status = 500;
        return SB_FAIL;
    }
    json_object *body = json_object_new_object();
    sb_json_add_str(body, "state", "queued");
    return reply(st, req, 202, body);
}

/* ---- escalations (not built yet in this step) ---- */

sb_status si_route_escalate(void *state, const sb_http_request *req, sb_result *result)
{
    (void)state;
    (void)req;
    return pk_refuse(result, 501, "not_implemented", "escalations are not built yet");
}

sb_status si_route_escalations(void *state, const sb_http_request *req, sb_result *result)
{
    return si_route_escalate(state, req, result);
}

sb_status si_route_escalation_get(void *state, const sb_http_request *req, sb_result *result)
{
    return si_route_escalate(state, req, result);
}

sb_status si_route_relink(void *state, const sb_http_request *req, sb_result *result)
{
    return si_route_escalate(state, req, result);
}

/* ---- timeline ---- */

sb_status si_route_timeline(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *request_id = request_id_param(req, result);
    size_t limit;
    if (!request_id || !limit_param(req, &limit, result))
        return SB_FAIL;
    const char *after = sb_json_str(req->query, "after");
    if (after && (strlen(after) != 12 || strspn(after, "0123456789") != 12))
        return pk_refuse(result, 400, "invalid_after",
                         "after must be the \"next\" value of the previous page");
    json_object *page = si_timeline_page(st, req->installation, request_id, after, limit);
    if (!page)
        return pk_refuse(result, 500, "store_error", "cannot read the timeline");
    sb_json_add_str(page, "request_id", request_id);
    return reply(st, req, 200, page);
}
