/*
 * startdeliver - Intercom conversations as support tickets of a customer
 * success product, support health per customer, and the product's values
 * pushed back into Intercom (see README.md in this folder).
 *
 * This file is the plugin's face to the host: descriptor, options,
 * lifecycle and job dispatch. The sync itself is sd_run.c and its phases;
 * the product API is sd_api.c.
 */
#include <stdlib.h>
#include <string.h>
#include <switchboard/switchboard.h>

#include "sd_api.h"
#include "sd_plugin.h"
#include "sd_run.h"
#include "sd_settings.h"
#include "sd_util.h"
#include "sd_webhook.h"

#define DEFAULT_OVERLAP_S 300
#define MAX_OVERLAP_S 86400

static const sb_schedule schedules[] = {
    {.name = SD_SYNC_JOB, .interval_s = 24 * 3600, .interval_setting = "sync_interval_hours",
     .setting_unit_s = 3600},
    {.name = NULL},
};

/* ---- options ---- */

/*
 * options { incremental_overlap_s = 300; }: an incremental run asks for
 * conversations updated since the start of the last successful run less this
 * margin, so a clock behind Intercom's cannot lose updates. Re-reading a
 * conversation is harmless (tickets are keyed by conversation).
 */
static sb_status parse_options(json_object *config, int64_t *overlap_s, sb_result *result)
{
    *overlap_s = DEFAULT_OVERLAP_S;
    if (!config)
        return SB_OK;
    json_object_object_foreach(config, key, value)
    {
        if (strcmp(key, "incremental_overlap_s") != 0)
            return sb_result_set(result, SB_FAIL, "unknown option '%s'", key);
        if (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < 0
            || json_object_get_int64(value) > MAX_OVERLAP_S)
            return sb_result_set(result, SB_FAIL,
                                 "incremental_overlap_s must be an integer 0-%d", MAX_OVERLAP_S);
        *overlap_s = json_object_get_int64(value);
    }
    return SB_OK;
}

static sb_status check_config(json_object *config, sb_result *result)
{
    int64_t overlap;
    return parse_options(config, &overlap, result);
}

/* ---- lifecycle ---- */

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    /* Bundled with the host, so a host without these is a broken build. */
    if (!SB_HOST_HAS(host, result_from_error) || !SB_HOST_HAS(host, set_attributes)
        || !SB_HOST_HAS(host, intercom_stream))
        return sb_result_set(result, SB_FAIL,
                             "the host lacks result_from_error, set_attributes or intercom_stream");
    int64_t overlap;
    if (parse_options(config, &overlap, result) != SB_OK)
        return SB_FAIL;
    struct sd_plugin *sd = pk_xcalloc(1, sizeof *sd);
    sd->self = self;
    sd->host = host;
    sd->incremental_overlap_s = overlap;
    *state = sd;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    struct sd_plugin *sd = state;
    /* The host cancelled our requests already; runs left are re-queued jobs at next start. */
    sd_run_free_all(sd);
    free(sd);
}

static sb_status on_installation(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result)
{
    struct sd_plugin *sd = state;
    (void)result;
    if (event != SB_INSTALLED && event != SB_SETTINGS_CHANGED)
        return SB_OK;
    struct sd_settings settings;
    sd_settings_of(sd, inst->id, &settings);
    const char *mismatch = sd_region_mismatch(&settings, inst->region);
    if (mismatch) {
        sd->host->log(sd->self, SB_LOG_WARN, "installation %lld: %s", (long long)inst->id,
                      mismatch);
        sd->host->audit(sd->self, inst->id, "settings", "region_mismatch", mismatch);
    }
    return SB_OK;
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    struct sd_plugin *sd = state;
    if (strcmp(job->type, SD_SYNC_JOB) == 0)
        return sd_sync_job(sd, job, result);
    if (strcmp(job->type, SD_CONVERSATION_JOB) == 0)
        return sd_conversation_job(sd, job, result);
    return sb_result_set(result, SB_FAIL, "unknown job type '%s'", job->type);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "startdeliver",
    .version = "1.0.0",
    .description = "Intercom conversations as support tickets, support health per customer, "
                   "product data pushed back into Intercom",
    .topics = sd_webhook_topics,
    .routes = sd_routes,
    .settings = sd_settings_schema,
    .schedules = schedules,
    .init = init,
    .shutdown = shutdown_plugin,
    .check_config = check_config,
    .on_installation = on_installation,
    .on_event = sd_on_event,
    .on_job = on_job,
};

SB_PLUGIN_ENTRY(descriptor)
