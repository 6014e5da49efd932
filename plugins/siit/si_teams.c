/*
 * si_teams.c - teams and ticket types. A re-sync reads GET /me (the admin the
 * plugin acts as), GET /teams and GET /ticket_types, then replaces the stored
 * lists in one callback, so a reader never sees half a sync. A team is
 * reachable when that admin is one of its members (the team's admin_ids or
 * the admin's team_ids): Intercom hides the other teams from that admin's
 * pickers, which is the seed's "team missing from the destination picker".
 */
#include "si_teams.h"

#include "plugin_kit.h"
#include "si_settings.h"

#include <stdlib.h>
#include <string.h>

#define SYNC_KEY "sync"

struct sync {
    si_state *st;
    sb_job_id job;
    sb_installation_id inst;
    json_object *me;    /* GET /me */
    json_object *teams; /* GET /teams */
};

static void sync_free(struct sync *s)
{
    json_object_put(s->me);
    json_object_put(s->teams);
    free(s);
}

sb_status si_directory_sync_enqueue(si_state *st, sb_installation_id inst, sb_result *result)
{
    /* One key per installation: syncs run one at a time, in order. */
    if (st->host->job_enqueue(st->self, inst, SI_JOB_SYNC_DIRECTORY, SI_JOB_SYNC_DIRECTORY, NULL,
                              0)
        == 0)
        return sb_result_fail(result, SB_RETRY, "store_error", "cannot queue the team re-sync");
    return SB_OK;
}

static bool id_in(json_object *ids, const char *id)
{
    size_t n = json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    for (size_t i = 0; i < n; i++)
        if (pk_str_eq(json_object_get_string(json_object_array_get_idx(ids, i)), id))
            return true;
    return false;
}

/* Replace the stored list of @collection with @items, keyed by their "id". */
static int store_list(struct sync *s, const char *collection, json_object *items,
                      json_object *(*shape)(struct sync *s, json_object *item))
{
    si_state *st = s->st;
    if (st->host->doc_delete_range(st->self, s->inst, collection, NULL, NULL) < 0)
        return -1;
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        const char *id = sb_json_str(item, "id");
        if (!si_id_valid(id))
            continue; /* not a key we could store; Intercom's ids are digits */
        if (si_put(st, s->inst, collection, id, shape(s, item)) != 0)
            return -1;
    }
    return 0;
}

static json_object *team_doc(struct sync *s, json_object *team)
{
    const char *admin_id = sb_json_str(s->me, "id");
    const char *team_id = sb_json_str(team, "id");
    bool reachable = id_in(sb_json_arr(team, "admin_ids"), admin_id)
                     || id_in(sb_json_arr(s->me, "team_ids"), team_id);
    json_object *doc = json_object_new_object();
    sb_json_add_str(doc, "id", team_id);
    sb_json_add_str(doc, "name", sb_json_str(team, "name"));
    sb_json_add_bool(doc, "reachable", reachable);
    return doc;
}

static json_object *ticket_type_doc(struct sync *s, json_object *type)
{
    (void)s;
    json_object *doc = json_object_new_object();
    sb_json_add_str(doc, "id", sb_json_str(type, "id"));
    sb_json_add_str(doc, "name", sb_json_str(type, "name"));
    sb_json_add_str(doc, "category", sb_json_str(type, "category"));
    sb_json_add_bool(doc, "archived", sb_json_bool(type, "archived", false));
    return doc;
}

/* Record the last sync's outcome; a failed sync keeps the lists of the last good one. */
static void record_sync(struct sync *s, const char *state, const char *error)
{
    json_object *doc = json_object_new_object();
    sb_json_add_int(doc, "synced_at", si_now_s(s->st));
    sb_json_add_str(doc, "state", state);
    sb_json_add_str(doc, "admin_id", sb_json_str(s->me, "id"));
    sb_json_add_str(doc, "error", error);
    si_put(s->st, s->inst, SI_DIRECTORY, SYNC_KEY, doc);
}

static void finish(struct sync *s, sb_status status, const sb_result *result)
{
    s->st->host->job_complete(s->st->self, s->job, status, result);
    sync_free(s);
}

static void failed(struct sync *s, const sb_intercom_response *response, const char *what)
{
    sb_result result = {0};
    sb_status status = s->st->host->result_from_error(s->st->self, response, what, &result);
    record_sync(s, "failed", result.message);
    finish(s, status, &result);
}

static void on_ticket_types(void *arg, const sb_intercom_response *response)
{
    struct sync *s = arg;
    if (response->kind != SB_ERR_NONE) {
        failed(s, response, "listing ticket types (GET /ticket_types)");
        return;
    }
    sb_result result = {0};
    if (store_list(s, SI_TEAMS, sb_json_arr(s->teams, "teams"), team_doc) != 0
        || store_list(s, SI_TICKET_TYPES, sb_json_arr(response->body, "data"), ticket_type_doc)
               != 0) {
        finish(s, sb_result_fail(&result, SB_RETRY, "store_error", "cannot store the teams"),
               &result);
        return;
    }
    record_sync(s, "ok", NULL);
    s->st->host->audit(s->st->self, s->inst, "teams", "synced",
                       "teams and ticket types read from Intercom");
    finish(s, SB_OK, &result);
}

static void on_teams(void *arg, const sb_intercom_response *response)
{
    struct sync *s = arg;
    if (response->kind != SB_ERR_NONE) {
        failed(s, response, "listing teams (GET /teams)");
        return;
    }
    s->teams = json_object_get(response->body);
    sb_intercom_request req = {.method = "GET", .path = "/ticket_types"};
    if (!s->st->host->intercom_request(s->st->self, s->inst, &req, on_ticket_types, s)) {
        sb_result result = {0};
        finish(s, sb_result_set(&result, SB_RETRY, "cannot send GET /ticket_types"), &result);
    }
}

static void on_me(void *arg, const sb_intercom_response *response)
{
    struct sync *s = arg;
    if (response->kind != SB_ERR_NONE) {
        failed(s, response, "reading the plugin's admin (GET /me)");
        return;
    }
    s->me = json_object_get(response->body);
    sb_intercom_request req = {.method = "GET", .path = "/teams"};
    if (!s->st->host->intercom_request(s->st->self, s->inst, &req, on_teams, s)) {
        sb_result result = {0};
        finish(s, sb_result_set(&result, SB_RETRY, "cannot send GET /teams"), &result);
    }
}

sb_status si_directory_sync_job(si_state *st, const sb_job *job, sb_result *result)
{
    struct sync *s = pk_xcalloc(1, sizeof *s);
    s->st = st;
    s->job = job->id;
    s->inst = job->installation;
    sb_intercom_request req = {.method = "GET", .path = "/me"};
    if (!st->host->intercom_request(st->self, job->installation, &req, on_me, s)) {
        sync_free(s);
        return sb_result_set(result, SB_RETRY, "cannot send GET /me");
    }
    return SB_PENDING;
}
