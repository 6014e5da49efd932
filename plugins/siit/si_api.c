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

static const char *param(const sb_http_request *req, const char *name)
{
    return sb_json_str(req->params, name);
}

/* The {id} of a /requests/{id}/... route, or NULL after filling a 400. */
static const char *request_id_param(const sb_http_request *req, sb_result *result)
{
    return si_request_id_checked(param(req, "id"), result);
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
    return si_reply(st, req, 200, body);
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
    return si_reply(st, req, 202, body);
}

/* ---- escalations ---- */

/* What the product sees of an escalation (the stored document less the plugin's own members). */
static json_object *escalation_view(json_object *esc)
{
    static const char *const shown[] = {
        "id",         "request_id", "state",      "origin",           "run_id",
        "team_id",    "admin_id",   "ticket_type_id", "priority",      "subject",
        "requester",  "request_url", "contact_id", "ticket_id",        "ticket_url",
        "reason",     "code",       "last_error", "assignment_error", "created_at",
        "updated_at"};
    json_object *out = json_object_new_object();
    for (size_t i = 0; i < PK_ARRAY_LEN(shown); i++) {
        json_object *v = sb_json_get(esc, shown[i]);
        if (v)
            json_object_object_add(out, shown[i], json_object_get(v));
    }
    return out;
}

/* The escalation {escalation_id} of request {id}, or NULL after filling a 4xx. */
static json_object *escalation_of(si_state *st, const sb_http_request *req,
                                  const char *request_id, const char *escalation_id,
                                  sb_result *result)
{
    json_object *esc = si_id_valid(escalation_id)
                           ? si_get(st, req->installation, SI_ESCALATIONS, escalation_id)
                           : NULL;
    if (!esc || !pk_str_eq(sb_json_str(esc, "request_id"), request_id)) {
        json_object_put(esc);
        pk_refuse(result, 404, "unknown_escalation", "request %s has no escalation %s",
                  request_id, escalation_id ? escalation_id : "");
        return NULL;
    }
    return esc;
}

sb_status si_route_escalate(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *request_id = request_id_param(req, result);
    if (!request_id)
        return SB_FAIL;
    if (!json_object_is_type(req->body, json_type_object))
        return pk_refuse(result, 400, "invalid_request",
                         "the body must be a JSON object: team_id or admin_id, ticket_type_id, "
                         "priority, subject, message, requester {email, name}");
    const char *key = req->header ? req->header(req, "Idempotency-Key") : NULL;
    char id[SI_ESCALATION_ID_SIZE];
    bool replayed = false;
    if (si_escalation_start_keyed(st, req->installation, request_id, req->body, "api", NULL, key,
                                  id, sizeof id, &replayed, result)
        != SB_OK)
        return SB_FAIL;
    json_object *esc = si_get(st, req->installation, SI_ESCALATIONS, id);
    json_object *body = json_object_new_object();
    sb_json_add_str(body, "id", id);
    sb_json_add_str(body, "request_id", request_id);
    sb_json_add_str(body, "state", esc ? sb_json_str(esc, "state") : "queued");
    if (replayed)
        sb_json_add_bool(body, "replayed", true);
    json_object_put(esc);
    return si_reply(st, req, 202, body);
}

struct escalation_list {
    si_state *st;
    sb_installation_id inst;
    json_object *items;
};

static int add_escalation(void *arg, const char *key, json_object *value)
{
    struct escalation_list *l = arg;
    (void)value;
    const char *bar = strchr(key, '|');
    json_object *esc = bar ? si_get(l->st, l->inst, SI_ESCALATIONS, bar + 1) : NULL;
    if (esc)
        json_object_array_add(l->items, escalation_view(esc));
    json_object_put(esc);
    return 0;
}

/* A request's escalations; their keys "esc_<n>" sort as text, so order by number here. */
static int by_creation(const void *a, const void *b)
{
    json_object *const *x = a, *const *y = b;
    const char *ix = sb_json_str(*x, "id"), *iy = sb_json_str(*y, "id");
    long nx = ix ? strtol(ix + 4, NULL, 10) : 0, ny = iy ? strtol(iy + 4, NULL, 10) : 0;
    return (nx > ny) - (nx < ny);
}

json_object *si_request_escalations(si_state *st, sb_installation_id inst, const char *request_id)
{
    char *from = pk_xasprintf("%s|", request_id);
    char *to = pk_xasprintf("%s}", request_id);
    struct escalation_list l = {.st = st, .inst = inst, .items = json_object_new_array()};
    int n = st->host->doc_list(st->self, inst, SI_REQUEST_ESCALATIONS, from, to, 0, 0,
                               add_escalation, &l);
    free(from);
    free(to);
    if (n < 0) {
        json_object_put(l.items);
        return NULL;
    }
    json_object_array_sort(l.items, by_creation);
    return l.items;
}

sb_status si_route_escalations(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *request_id = request_id_param(req, result);
    if (!request_id)
        return SB_FAIL;
    json_object *items = si_request_escalations(st, req->installation, request_id);
    if (!items)
        return pk_refuse(result, 500, "store_error", "cannot read the escalations");
    json_object *body = json_object_new_object();
    sb_json_add_str(body, "request_id", request_id);
    json_object_object_add(body, "escalations", items);
    return si_reply(st, req, 200, body);
}

sb_status si_route_escalation_get(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *request_id = request_id_param(req, result);
    if (!request_id)
        return SB_FAIL;
    json_object *esc = escalation_of(st, req, request_id, param(req, "escalation_id"), result);
    if (!esc)
        return SB_FAIL;
    json_object *body = escalation_view(esc);
    json_object_put(esc);
    return si_reply(st, req, 200, body);
}

/* The newest escalation of a request with a ticket, or NULL. New reference. */
static json_object *latest_with_ticket(si_state *st, sb_installation_id inst,
                                       const char *request_id)
{
    json_object *items = si_request_escalations(st, inst, request_id);
    json_object *found = NULL;
    for (size_t i = items ? json_object_array_length(items) : 0; i > 0 && !found; i--) {
        json_object *view = json_object_array_get_idx(items, i - 1);
        if (sb_json_str(view, "ticket_id"))
            found = si_get(st, inst, SI_ESCALATIONS, sb_json_str(view, "id"));
    }
    json_object_put(items);
    return found;
}

/*
 * POST /requests/{id}/relink [{"escalation_id"}]: send escalation.created again for the
 * escalation's ticket (default: the request's newest escalation with a ticket).
 */
sb_status si_route_relink(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *request_id = request_id_param(req, result);
    if (!request_id)
        return SB_FAIL;
    if (req->body && !json_object_is_type(req->body, json_type_object))
        return pk_refuse(result, 400, "invalid_request",
                         "the body must be empty or a JSON object {\"escalation_id\"}");
    json_object *esc;
    if (sb_json_get(req->body, "escalation_id")) {
        esc = escalation_of(st, req, request_id, sb_json_str(req->body, "escalation_id"), result);
        if (!esc)
            return SB_FAIL;
    } else if (!(esc = latest_with_ticket(st, req->installation, request_id))) {
        return pk_refuse(result, 409, "no_ticket",
                         "request %s has no escalation with an Intercom ticket to link",
                         request_id);
    }
    if (!sb_json_str(esc, "ticket_id")) {
        json_object_put(esc);
        return pk_refuse(result, 409, "no_ticket",
                         "the escalation has no Intercom ticket yet (state %s)",
                         sb_json_str(esc, "state") ? sb_json_str(esc, "state") : "?");
    }
    int rc = si_escalation_send_link(st, req->installation, esc, true);
    json_object *body = rc == 0 ? escalation_view(esc) : NULL;
    json_object_put(esc);
    if (rc != 0)
        return pk_refuse(result, 503, "product_webhook_missing",
                         "no product webhook is configured for siit: the link cannot be sent");
    sb_json_add_bool(body, "link_sent", true);
    return si_reply(st, req, 200, body);
}

/* ---- timeline ---- */

sb_status si_route_timeline(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *request_id = request_id_param(req, result);
    size_t limit;
    if (!request_id || !pk_query_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &limit, result))
        return SB_FAIL;
    const char *after = sb_json_str(req->query, "after");
    if (after && (strlen(after) != 12 || strspn(after, "0123456789") != 12))
        return pk_refuse(result, 400, "invalid_after",
                         "after must be the \"next\" value of the previous page");
    json_object *page = si_timeline_page(st, req->installation, request_id, after, limit);
    if (!page)
        return pk_refuse(result, 500, "store_error", "cannot read the timeline");
    sb_json_add_str(page, "request_id", request_id);
    return si_reply(st, req, 200, page);
}
