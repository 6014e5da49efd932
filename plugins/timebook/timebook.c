/*
 * timebook - tagged Intercom conversations become feedback tickets in a
 * product-discovery tool's inbox, and Intercom's contacts are mirrored for it
 * (see README.md in this folder).
 *
 * This file is the plugin's face to the host: descriptor, lifecycle and the
 * dispatch of events and jobs. Feedback is tb_feedback.c, the contact mirror
 * tb_contacts.c and its import tb_import.c, the product API tb_api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <switchboard/switchboard.h>

#include "tb_api.h"
#include "tb_contacts.h"
#include "tb_feedback.h"
#include "tb_import.h"
#include "tb_plugin.h"
#include "tb_settings.h"
#include "tb_triggers.h"

static const char *const topics[] = {
    /* a tag applied: tags_added names it */
    "conversation_part.tag.created",
    /* conversation updates whose tags carry applied_at: a missed tag notification is caught */
    "conversation.admin.replied", "conversation.admin.noted", "conversation.user.replied",
    /* the contact mirror */
    "contact.user.created", "contact.lead.created", "contact.user.updated",
    "contact.lead.updated", "contact.lead.signed_up", "contact.lead.added_email",
    "contact.email.updated", "contact.unarchive", "contact.merged", "contact.deleted",
    "contact.archived",
    NULL,
};

/* No options: one that is set is a mistake worth a clear refusal, not silence. */
static sb_status check_config(json_object *config, sb_result *result)
{
    if (!json_object_is_type(config, json_type_object))
        return SB_OK; /* absent */
    json_object_object_foreach(config, key, value)
    {
        (void)value;
        snprintf(result->where, sizeof result->where, "%s", key);
        return sb_result_set(result, SB_FAIL, "timebook takes no options ('%s')", key);
    }
    return SB_OK;
}

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    if (check_config(config, result) != SB_OK)
        return SB_FAIL;
    /* Bundled with the host, so a host without these is a broken build. */
    if (!SB_HOST_HAS(host, result_from_error) || !SB_HOST_HAS(host, job_checkpoint)
        || !SB_HOST_HAS(host, product_event) || !SB_HOST_HAS(host, settings_set))
        return sb_result_set(result, SB_FAIL, "the host lacks result_from_error, job_checkpoint, "
                                              "product_event or settings_set");
    struct tb_plugin *tb = pk_xcalloc(1, sizeof *tb);
    tb->self = self;
    tb->host = host;
    *state = tb;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    struct tb_plugin *tb = state;
    /* The host cancelled our walks already; their jobs resume from checkpoints at next start. */
    tb_import_free_all(tb);
    free(tb);
}

static sb_status on_installation(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result)
{
    struct tb_plugin *tb = state;
    if (event == SB_UNINSTALLED || event == SB_NEEDS_REAUTH) {
        /* A walk of this installation would only fail now; it resumes when the job runs again. */
        return SB_OK;
    }
    struct tb_settings s;
    tb_settings_of(tb, inst->id, &s);
    int rc = tb_triggers_sync(tb, inst->id, &s);
    if (rc == 0)
        rc = tb_contacts_follow_settings(tb, inst->id, &s, event == SB_INSTALLED);
    tb_settings_free(&s);
    if (rc != 0)
        return sb_result_fail(result, SB_FAIL, "store_error",
                              "cannot record the settings of installation %lld",
                              (long long)inst->id);
    return SB_OK;
}

static sb_status on_event(void *state, const sb_event *event, sb_result *result)
{
    struct tb_plugin *tb = state;
    if (strncmp(event->topic, "contact.", 8) == 0)
        return tb_contacts_event(tb, event, result);
    return tb_feedback_event(tb, event, result);
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    struct tb_plugin *tb = state;
    if (strcmp(job->type, TB_IMPORT_JOB) == 0)
        return tb_import_job(tb, job, result);
    return sb_result_set(result, SB_FAIL, "unknown job type '%s'", job->type);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "timebook",
    .version = "1.0.0",
    .description = "Tagged Intercom conversations become feedback tickets in a product's inbox; "
                   "Intercom contacts mirrored for the product",
    .topics = topics,
    .routes = tb_routes,
    .settings = tb_settings_schema,
    .init = init,
    .shutdown = shutdown_plugin,
    .check_config = check_config,
    .on_installation = on_installation,
    .on_event = on_event,
    .on_job = on_job,
};

SB_PLUGIN_ENTRY(descriptor)
