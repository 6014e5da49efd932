/*
 * cl_channel.c - the channel's settings checked against the workspace:
 * the bot agent must be one of its admins (GET /admins) and the teams must
 * exist (GET /teams). The host validates settings against the schema alone
 * and tells the plugin after a change (SB_SETTINGS_CHANGED), with no way to
 * wait for Intercom there; so the plugin checks on install and after every
 * change in a job, keeps the outcome ("channel"/"check") for the product
 * API, writes problems to the log and the audit timeline, and the product
 * API's POST /channel/check runs the same check on demand.
 */
#include "cl_channel.h"

#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

#define CHECK_KEY "check"

struct check {
    struct cl_plugin *cl;
    sb_installation_id inst;
    struct cl_settings settings;
    json_object *admins; /* GET /admins' list, once fetched */
    cl_check_done done;
    void *arg;
};

char *cl_webhook_url(struct cl_plugin *cl)
{
    return pk_xasprintf("%s/webhooks/chatlayer", cl->host->public_url(cl->self));
}

static json_object *find_by_id(json_object *list, const char *id)
{
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *o = json_object_array_get_idx(list, i);
        if (pk_str_eq(sb_json_str(o, "id"), id))
            return o;
    }
    return NULL;
}

/* The outcome, from the settings' own problems and what Intercom lists. */
static json_object *outcome(struct check *c, json_object *teams)
{
    struct cl_plugin *cl = c->cl;
    json_object *problems = cl_settings_problems(&c->settings);
    json_object *bot = *c->settings.bot_admin_id ? find_by_id(c->admins, c->settings.bot_admin_id)
                                                 : NULL;
    if (*c->settings.bot_admin_id && !bot) {
        char *text = pk_xasprintf("admin %s is not an admin of this workspace (GET /admins)",
                                  c->settings.bot_admin_id);
        cl_settings_problem_add(problems, "bot_admin_id", text);
        free(text);
    }
    for (size_t i = 0; i < c->settings.n_bot_teams; i++)
        if (!find_by_id(teams, c->settings.bot_team_ids[i])) {
            char *text = pk_xasprintf("team %s is not a team of this workspace (GET /teams)",
                                      c->settings.bot_team_ids[i]);
            cl_settings_problem_add(problems, "bot_team_ids", text);
            free(text);
        }
    if (*c->settings.offload_team_id && !find_by_id(teams, c->settings.offload_team_id)) {
        char *text = pk_xasprintf("team %s is not a team of this workspace (GET /teams)",
                                  c->settings.offload_team_id);
        cl_settings_problem_add(problems, "offload_team_id", text);
        free(text);
    }
    json_object *o = pk_xchecked(json_object_new_object());
    sb_json_add_bool(o, "valid", json_object_array_length(problems) == 0);
    json_object_object_add(o, "problems", problems);
    json_object *agent = NULL;
    if (bot) {
        agent = pk_xchecked(json_object_new_object());
        sb_json_add_str(agent, "id", sb_json_str(bot, "id"));
        sb_json_add_str(agent, "name", sb_json_str(bot, "name"));
        sb_json_add_str(agent, "email", sb_json_str(bot, "email"));
    }
    json_object_object_add(o, "bot_agent", agent);
    sb_json_add_int(o, "checked_at", cl->host->now_ms(cl->self));
    return o;
}

static void check_end(struct check *c, json_object *result, const sb_intercom_response *failure)
{
    if (result) {
        c->cl->host->doc_put(c->cl->self, c->inst, CL_CHANNEL, CHECK_KEY, result);
        json_object *problems = sb_json_arr(result, "problems");
        for (size_t i = 0; i < json_object_array_length(problems); i++) {
            json_object *p = json_object_array_get_idx(problems, i);
            c->cl->host->log(c->cl->self, SB_LOG_WARN, "installation %lld: %s: %s",
                             (long long)c->inst, sb_json_str(p, "setting"), sb_json_str(p, "problem"));
        }
        c->cl->host->audit(c->cl->self, c->inst, "channel",
                           sb_json_bool(result, "valid", false) ? "checked" : "misconfigured",
                           json_object_to_json_string_ext(problems, JSON_C_TO_STRING_PLAIN));
    }
    c->done(c->arg, result, failure);
    json_object_put(result);
    json_object_put(c->admins);
    cl_settings_clear(&c->settings);
    free(c);
}

static void teams_done(void *arg, const sb_intercom_response *res)
{
    struct check *c = arg;
    if (res->kind != SB_ERR_NONE) {
        check_end(c, NULL, res);
        return;
    }
    check_end(c, outcome(c, sb_json_arr(res->body, "teams")), NULL);
}

static void admins_done(void *arg, const sb_intercom_response *res)
{
    struct check *c = arg;
    if (res->kind != SB_ERR_NONE) {
        check_end(c, NULL, res);
        return;
    }
    c->admins = json_object_get(sb_json_arr(res->body, "admins"));
    sb_intercom_request req = {.method = "GET", .path = "/teams"};
    if (!c->cl->host->intercom_request(c->cl->self, c->inst, &req, teams_done, c))
        check_end(c, NULL, res);
}

int cl_channel_check(struct cl_plugin *cl, sb_installation_id inst, cl_check_done done, void *arg)
{
    struct check *c = pk_xcalloc(1, sizeof *c);
    c->cl = cl;
    c->inst = inst;
    c->done = done;
    c->arg = arg;
    cl_settings_of(cl, inst, &c->settings);
    sb_intercom_request req = {.method = "GET", .path = "/admins"};
    if (cl->host->intercom_request(cl->self, inst, &req, admins_done, c))
        return 0;
    cl_settings_clear(&c->settings);
    free(c);
    return -1;
}

json_object *cl_channel_last_check(struct cl_plugin *cl, sb_installation_id inst)
{
    return cl->host->doc_get(cl->self, inst, CL_CHANNEL, CHECK_KEY);
}

/* ---- the check_channel job ---- */

struct check_job {
    struct cl_plugin *cl;
    sb_job_id job;
};

static void job_checked(void *arg, json_object *result, const sb_intercom_response *failure)
{
    struct check_job *j = arg;
    sb_result r = {0};
    sb_status status = SB_OK;
    if (!result)
        status = j->cl->host->result_from_error(j->cl->self, failure, "checking the channel", &r);
    j->cl->host->job_complete(j->cl->self, j->job, status, &r);
    free(j);
}

sb_status cl_channel_check_job(struct cl_plugin *cl, const sb_job *job, sb_result *result)
{
    struct check_job *j = pk_xcalloc(1, sizeof *j);
    j->cl = cl;
    j->job = job->id;
    if (cl_channel_check(cl, job->installation, job_checked, j) == 0)
        return SB_PENDING;
    free(j);
    return sb_result_set(result, SB_FAIL, "the host refused GET /admins");
}
