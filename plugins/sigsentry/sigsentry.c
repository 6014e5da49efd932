/*
 * sigsentry - auto-triage of Intercom conversations against a project's
 * logs, with an inbox panel (see README.md).
 *
 * This file is the descriptor and the lifecycle; the work is split by
 * responsibility: ss_triage_job.c (webhooks), ss_analyze.c (analyses),
 * ss_api.c (product API), ss_panel.c (Canvas Kit), ss_ingest.c and
 * ss_store.c (documents), and the pure rules in ss_triage.c, ss_signature.c,
 * ss_analysis.c, ss_template.c, ss_logline.c, ss_render.c.
 */
#include "ss_plugin.h"

#include "ss_util.h"

#include <stdlib.h>
#include <string.h>

static const char *const topics[] = {"conversation.user.created", "conversation.user.replied",
                                     NULL};

static const char *const posting_modes[] = {"internal", "public", "both", NULL};
static const char *const thresholds[] = {"disabled", "critical", "high", "medium", "low", NULL};

static const sb_setting settings[] = {
    {.name = "posting_mode", .type = SB_SETTING_ENUM, .default_value = "internal",
     .allowed = posting_modes,
     .description = "where the triage goes: an internal note, a public reply, or both"},
    {.name = "auto_analyze_threshold", .type = SB_SETTING_ENUM, .default_value = "high",
     .allowed = thresholds,
     .description = "lowest severity that starts an analysis on its own (disabled: never)"},
    {.name = "time_buffer_hours", .type = SB_SETTING_INT, .default_value = "2", .min = 1,
     .max = 168, .description = "hours of logs before the conversation's start in the window"},
    {.name = "attribute_severity", .type = SB_SETTING_STRING, .default_value = "",
     .description = "conversation attribute that receives the severity (empty: none)"},
    {.name = "attribute_affected_service", .type = SB_SETTING_STRING, .default_value = "",
     .description = "conversation attribute that receives the affected service (empty: none)"},
    {.name = "attribute_analysis_url", .type = SB_SETTING_STRING, .default_value = "",
     .description = "conversation attribute that receives the latest analysis URL (empty: none)"},
    {.name = "public_reply_template", .type = SB_SETTING_STRING,
     .default_value = "Hi {{customer_name}}, thanks for letting us know. We have logged this as "
                      "a {{severity}} severity issue and our team is looking into it now.",
     .description = "customer-facing reply for posting modes public and both; {{placeholders}} "
                    "as in the README"},
    {.name = "triage_keywords", .type = SB_SETTING_STRING_LIST, .default_value = NULL,
     .description = "\"phrase=weight\" entries added to the triage keywords (weight 0 removes)"},
    {.name = NULL},
};

static const sb_schedule schedules[] = {
    {.name = SS_JOB_PRUNE_LOGS, .interval_s = 3600},
    {.name = NULL},
};

static sb_status check_config(json_object *config, sb_result *result)
{
    struct ss_options options;
    char err[256];
    bool ok = ss_options_parse(config, &options, err, sizeof err);
    ss_options_clear(&options);
    return ok ? SB_OK : sb_result_set(result, SB_FAIL, "%s", err);
}

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    /* Bundled with the host, so a host without these is a broken build. */
    if (!SB_HOST_HAS(host, result_from_error) || !SB_HOST_HAS(host, set_attributes)
        || !SB_HOST_HAS(host, conversation_reply))
        return sb_result_set(result, SB_FAIL,
                             "the host lacks result_from_error, set_attributes or "
                             "conversation_reply");
    struct ss_plugin *ss = pk_xcalloc(1, sizeof *ss);
    char err[256];
    if (!ss_options_parse(config, &ss->options, err, sizeof err)) {
        ss_options_clear(&ss->options);
        free(ss);
        return sb_result_set(result, SB_FAIL, "%s", err);
    }
    ss->self = self;
    ss->host = host;
    *state = ss;
    host->log(self, SB_LOG_INFO, "ready: %zu triage keywords, thresholds %d/%d/%d",
              ss->options.rules.n, ss->options.rules.critical_score, ss->options.rules.high_score,
              ss->options.rules.medium_score);
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    struct ss_plugin *ss = state;
    ss_options_clear(&ss->options);
    free(ss);
}

static sb_status on_installation(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result)
{
    struct ss_plugin *ss = state;
    (void)result;
    switch (event) {
    case SB_INSTALLED:
        ss_binding_set(ss, inst->id, true, "installed");
        break;
    case SB_UNINSTALLED: {
        /* Keep the reason of a disconnect made through the product API. */
        json_object *binding = ss_get(ss, inst->id, SS_BINDING, "state");
        if (sb_json_bool(binding, "active", true))
            ss_binding_set(ss, inst->id, false, "uninstalled in Intercom or revoked by an admin");
        json_object_put(binding);
        break;
    }
    case SB_SETTINGS_CHANGED: {
        struct ss_settings typed;
        ss_settings_of(ss, inst->id, &typed);
        json_object *problems = ss_settings_problems(&typed, &ss->options.rules);
        for (size_t i = 0; i < json_object_array_length(problems); i++)
            ss->host->log(ss->self, SB_LOG_WARN, "workspace %s: %s", inst->workspace_id,
                          json_object_get_string(json_object_array_get_idx(problems, i)));
        json_object_put(problems);
        ss_settings_clear(&typed);
        break;
    }
    case SB_NEEDS_REAUTH:
        break; /* the installation's state says it; jobs wait for the new token */
    }
    return SB_OK;
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    struct ss_plugin *ss = state;
    if (strcmp(job->type, SS_JOB_POST_ANALYSIS) == 0)
        return ss_post_analysis_job(ss, job, result);
    if (strcmp(job->type, SS_JOB_PRUNE_LOGS) == 0) {
        int deleted = ss_logs_prune(ss, job->installation);
        if (deleted < 0)
            return sb_result_set(result, SB_RETRY, "could not delete expired log records");
        if (deleted > 0)
            ss->host->log(ss->self, SB_LOG_INFO,
                          "installation %lld: %d expired log records deleted",
                          (long long)job->installation, deleted);
        return SB_OK;
    }
    return sb_result_set(result, SB_FAIL, "unknown job type %s", job->type);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "sigsentry",
    .version = "1.0.0",
    .description = "Auto-triage of conversations against a project's logs, with an inbox panel",
    .topics = topics,
    .routes = ss_routes,
    .settings = settings,
    .schedules = schedules,
    .init = init,
    .shutdown = shutdown_plugin,
    .check_config = check_config,
    .on_installation = on_installation,
    .on_event = ss_on_event,
    .on_job = on_job,
    .canvas = ss_canvas,
};

SB_PLUGIN_ENTRY(descriptor)
