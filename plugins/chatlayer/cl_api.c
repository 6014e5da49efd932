/*
 * cl_api.c - the product API (/api/chatlayer/...), behind the plugin's API
 * key, every route for one installation (?workspace_id=):
 *   GET  /channel                 webhook URL, settings, their problems, the last check
 *   POST /channel/check           check the settings against the workspace now
 *   GET  /admins                  the workspace's admins, the bot agent marked
 *   GET  /conversations/{id}      the bot's state and transcript of a conversation
 *   GET  /stats                   conversations handled, handed over, closed
 * Reading works in every installation state (SB_ROUTE_ANY_STATE); the
 * routes that ask Intercom need an active installation.
 */
#include "cl_channel.h"
#include "cl_plugin.h"

#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

#define ANY_STATE (SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE)

static sb_status answer(struct cl_plugin *cl, sb_reply_token reply, int status, json_object *body)
{
    cl->host->respond(cl->self, reply, status, body);
    json_object_put(body); /* respond borrows it */
    return SB_OK;
}

static void answer_failure(struct cl_plugin *cl, sb_reply_token reply,
                           const sb_intercom_response *failure, const char *what)
{
    sb_result r = {0};
    cl->host->result_from_error(cl->self, failure, what, &r);
    json_object *error = pk_xchecked(json_object_new_object());
    sb_json_add_str(error, "code", r.code[0] ? r.code : "intercom_error");
    sb_json_add_str(error, "message", r.message);
    json_object *body = pk_xchecked(json_object_new_object());
    json_object_object_add(body, "error", error);
    answer(cl, reply, 502, body);
}

static sb_status get_channel(void *state, const sb_http_request *req, sb_result *result)
{
    struct cl_plugin *cl = state;
    (void)result;
    struct cl_settings s;
    cl_settings_of(cl, req->installation, &s);
    json_object *settings = pk_xchecked(json_object_new_object());
    json_object *teams = pk_xchecked(json_object_new_array());
    for (size_t i = 0; i < s.n_bot_teams; i++)
        json_object_array_add(teams, pk_xchecked(json_object_new_string(s.bot_team_ids[i])));
    json_object_object_add(settings, "bot_team_ids", teams);
    sb_json_add_str(settings, "bot_admin_id", s.bot_admin_id);
    sb_json_add_str(settings, "offload_team_id", s.offload_team_id);
    sb_json_add_str(settings, "bot", s.external ? "external" : "flows");
    sb_json_add_str(settings, "endpoint_url", s.endpoint_url);
    sb_json_add_bool(settings, "endpoint_key_set", *s.endpoint_key != '\0');
    json_object *body = pk_xchecked(json_object_new_object());
    char *url = cl_webhook_url(cl);
    sb_json_add_str(body, "webhook_url", url);
    free(url);
    json_object *topics = pk_xchecked(json_object_new_array());
    json_object_array_add(topics, pk_xchecked(json_object_new_string("conversation.user.created")));
    json_object_array_add(topics, pk_xchecked(json_object_new_string("conversation.user.replied")));
    json_object_object_add(body, "webhook_topics", topics);
    json_object_object_add(body, "settings", settings);
    json_object_object_add(body, "problems", cl_settings_problems(&s));
    json_object_object_add(body, "last_check", cl_channel_last_check(cl, req->installation));
    sb_json_add_int(body, "flows", (int64_t)cl->options.n_flows);
    cl_settings_clear(&s);
    return answer(cl, req->reply, 200, body);
}

struct pending_answer {
    struct cl_plugin *cl;
    sb_reply_token reply;
    char *bot_admin_id;
};

static void channel_checked(void *arg, json_object *result, const sb_intercom_response *failure)
{
    struct pending_answer *p = arg;
    if (result)
        answer(p->cl, p->reply, 200, json_object_get(result));
    else
        answer_failure(p->cl, p->reply, failure, "checking the channel");
    free(p);
}

static sb_status check_channel(void *state, const sb_http_request *req, sb_result *result)
{
    struct cl_plugin *cl = state;
    struct pending_answer *p = pk_xcalloc(1, sizeof *p);
    p->cl = cl;
    p->reply = req->reply;
    if (cl_channel_check(cl, req->installation, channel_checked, p) == 0)
        return SB_PENDING;
    free(p);
    return pk_refuse(result, 500, "plugin_error", "the host refused GET /admins");
}

static void admins_listed(void *arg, const sb_intercom_response *res)
{
    struct pending_answer *p = arg;
    if (res->kind != SB_ERR_NONE) {
        answer_failure(p->cl, p->reply, res, "listing the admins");
    } else {
        json_object *admins = pk_xchecked(json_object_new_array());
        json_object *list = sb_json_arr(res->body, "admins");
        for (size_t i = 0; list && i < json_object_array_length(list); i++) {
            json_object *a = json_object_array_get_idx(list, i);
            json_object *o = pk_xchecked(json_object_new_object());
            sb_json_add_str(o, "id", sb_json_str(a, "id"));
            sb_json_add_str(o, "name", sb_json_str(a, "name"));
            sb_json_add_str(o, "email", sb_json_str(a, "email"));
            sb_json_add_bool(o, "bot_agent", pk_str_eq(sb_json_str(a, "id"), p->bot_admin_id));
            json_object_array_add(admins, o);
        }
        json_object *body = pk_xchecked(json_object_new_object());
        json_object_object_add(body, "admins", admins);
        answer(p->cl, p->reply, 200, body);
    }
    free(p->bot_admin_id);
    free(p);
}

static sb_status list_admins(void *state, const sb_http_request *req, sb_result *result)
{
    struct cl_plugin *cl = state;
    struct cl_settings s;
    cl_settings_of(cl, req->installation, &s);
    struct pending_answer *p = pk_xcalloc(1, sizeof *p);
    p->cl = cl;
    p->reply = req->reply;
    p->bot_admin_id = pk_xstrdup(s.bot_admin_id);
    cl_settings_clear(&s);
    sb_intercom_request ir = {.method = "GET", .path = "/admins"};
    if (cl->host->intercom_request(cl->self, req->installation, &ir, admins_listed, p))
        return SB_PENDING;
    free(p->bot_admin_id);
    free(p);
    return pk_refuse(result, 500, "plugin_error", "the host refused GET /admins");
}

static sb_status get_conversation(void *state, const sb_http_request *req, sb_result *result)
{
    struct cl_plugin *cl = state;
    const char *id = sb_json_str(req->params, "conversation");
    if (!cl_id_valid(id))
        return pk_refuse(result, 400, "invalid_conversation_id",
                         "a conversation id is 1 to 64 letters, digits, '_' or '-'");
    json_object *conv = cl_conversation_get(cl, req->installation, id);
    if (!conv)
        return pk_refuse(result, 404, "unknown_conversation",
                         "the bot has not handled conversation %s", id);
    json_object_object_del(conv, "seen"); /* bookkeeping, not state */
    return answer(cl, req->reply, 200, conv);
}

static sb_status get_stats(void *state, const sb_http_request *req, sb_result *result)
{
    struct cl_plugin *cl = state;
    (void)result;
    return answer(cl, req->reply, 200, cl_counts(cl, req->installation));
}

const sb_route cl_routes[] = {
    {"GET", "/channel", get_channel, ANY_STATE, NULL},
    {"POST", "/channel/check", check_channel, SB_ROUTE_NEEDS_INSTALLATION, NULL},
    {"GET", "/admins", list_admins, SB_ROUTE_NEEDS_INSTALLATION, NULL},
    {"GET", "/conversations/{conversation}", get_conversation, ANY_STATE, NULL},
    {"GET", "/stats", get_stats, ANY_STATE, NULL},
    {NULL, NULL, NULL, 0, NULL},
};
