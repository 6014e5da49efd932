/*
 * chatlayer - Intercom as a bot channel: user messages in conversations
 * assigned to a bot team reach a bot (flows from the configuration, or the
 * vendor's external endpoint), its replies are posted as the bot agent, and
 * it hands conversations over to a human team or closes them with a reason
 * (see README.md).
 *
 * This file is the descriptor and the lifecycle; the work is split by
 * responsibility: cl_event.c (webhooks), cl_turn.c (one message through the
 * bot), cl_channel.c (the settings against Intercom), cl_api.c (product
 * API), cl_store.c (documents), and the pure rules in cl_flows.c,
 * cl_template.c, cl_plan.c, cl_message.c and cl_settings.c.
 */
#include "cl_channel.h"
#include "cl_plugin.h"

#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

static const char *const topics[] = {"conversation.user.created", "conversation.user.replied",
                                     NULL};

static const char *const bot_kinds[] = {"flows", "external", NULL};

static const sb_setting settings[] = {
    {.name = "bot_team_ids", .type = SB_SETTING_STRING_LIST, .default_value = NULL,
     .description = "ids of the teams whose conversations the bot answers"},
    {.name = "bot_admin_id", .type = SB_SETTING_STRING, .default_value = "",
     .description = "the bot agent: the admin the bot's messages are sent as "
                    "(GET /api/chatlayer/admins lists them)"},
    {.name = "offload_team_id", .type = SB_SETTING_STRING, .default_value = "",
     .description = "the team a handover assigns the conversation to; must not be a bot team"},
    {.name = "bot", .type = SB_SETTING_ENUM, .default_value = "flows", .allowed = bot_kinds,
     .description = "who answers: the configuration's flows, or the external endpoint"},
    {.name = "endpoint_url", .type = SB_SETTING_STRING, .default_value = "",
     .description = "bot = external: the bot engine's URL (its host in outbound_hosts)"},
    {.name = "endpoint_key", .type = SB_SETTING_STRING, .default_value = "",
     .flags = SB_SETTING_SENSITIVE,
     .description = "bot = external: sent as Authorization: Bearer (empty: none)"},
    {.name = NULL},
};

static sb_status check_config(json_object *config, sb_result *result)
{
    struct cl_options options;
    char err[200];
    if (cl_options_parse(config, &options, err, sizeof err, result->where, sizeof result->where)) {
        cl_options_clear(&options);
        return SB_OK;
    }
    /* The host prefixes the element's file, line and path (result->where). */
    return sb_result_fail(result, SB_FAIL, "invalid_options", "%s", err);
}

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    /* Bundled with the host, so a host without these is a broken build. */
    if (!SB_HOST_HAS(host, conversation_reply) || !SB_HOST_HAS(host, outbound_request)
        || !SB_HOST_HAS(host, result_from_error) || !SB_HOST_HAS(host, job_checkpoint))
        return sb_result_set(result, SB_FAIL,
                             "the host lacks conversation_reply, outbound_request, "
                             "result_from_error or job_checkpoint");
    struct cl_plugin *cl = pk_xcalloc(1, sizeof *cl);
    char err[200], where[128];
    if (!cl_options_parse(config, &cl->options, err, sizeof err, where, sizeof where)) {
        free(cl);
        return sb_result_set(result, SB_FAIL, "%s%s%s", where, where[0] ? ": " : "", err);
    }
    cl->self = self;
    cl->host = host;
    *state = cl;
    host->log(self, SB_LOG_INFO, "ready: %zu flows%s", cl->options.n_flows,
              cl->options.has_fallback ? " and a fallback" : ", no fallback (unmatched: handover)");
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    struct cl_plugin *cl = state;
    cl_turns_free(cl);
    cl_options_clear(&cl->options);
    free(cl);
}

static sb_status on_installation(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result)
{
    struct cl_plugin *cl = state;
    if (event != SB_INSTALLED && event != SB_SETTINGS_CHANGED)
        return SB_OK;
    /* The schema checked the types; the rest needs Intercom: a job checks it (cl_channel.c). */
    struct cl_settings s;
    cl_settings_of(cl, inst->id, &s);
    json_object *problems = cl_settings_problems(&s);
    for (size_t i = 0; i < json_object_array_length(problems); i++) {
        json_object *p = json_object_array_get_idx(problems, i);
        cl->host->log(cl->self, SB_LOG_WARN, "workspace %s: %s: %s", inst->workspace_id,
                      sb_json_str(p, "setting"), sb_json_str(p, "problem"));
    }
    json_object_put(problems);
    cl_settings_clear(&s);
    if (!cl->host->job_enqueue(cl->self, inst->id, CL_JOB_CHECK_CHANNEL, "channel", NULL, 0))
        return sb_result_set(result, SB_RETRY, "could not queue the channel check");
    return SB_OK;
}

/*
 * Refuse wrong values before they are stored (an offload team that is a bot
 * team, ids that are not ids); settings not chosen yet are allowed, so the
 * integrator can set them one at a time, and stay listed as problems.
 */
static sb_status check_settings(void *state, sb_installation_id inst, json_object *settings,
                                sb_result *result)
{
    (void)state;
    (void)inst;
    struct cl_settings s;
    cl_settings_from_json(settings, &s);
    json_object *problems = cl_settings_problems(&s);
    sb_status st = SB_OK;
    for (size_t i = 0; i < json_object_array_length(problems) && st == SB_OK; i++) {
        json_object *p = json_object_array_get_idx(problems, i);
        if (sb_json_bool(p, "missing", false))
            continue;
        snprintf(result->where, sizeof result->where, "%s", sb_json_str(p, "setting"));
        st = sb_result_set(result, SB_FAIL, "%s", sb_json_str(p, "problem"));
    }
    json_object_put(problems);
    cl_settings_clear(&s);
    return st;
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    struct cl_plugin *cl = state;
    if (strcmp(job->type, CL_JOB_MESSAGE) == 0)
        return cl_turn_job(cl, job, result);
    if (strcmp(job->type, CL_JOB_CHECK_CHANNEL) == 0)
        return cl_channel_check_job(cl, job, result);
    return sb_result_set(result, SB_FAIL, "unknown job type %s", job->type);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "chatlayer",
    .version = "1.0.0",
    .description = "Intercom as a bot channel: flows or an external bot, handover and close",
    .topics = topics,
    .routes = cl_routes,
    .settings = settings,
    .init = init,
    .shutdown = shutdown_plugin,
    .check_config = check_config,
    .on_installation = on_installation,
    .on_event = cl_on_event,
    .on_job = on_job,
    .check_settings = check_settings,
};

SB_PLUGIN_ENTRY(descriptor)
