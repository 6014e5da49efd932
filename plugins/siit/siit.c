/*
 * siit - the service desk Siit escalates its requests into Intercom tickets,
 * runs workflows with approvals, and keeps a timeline of every Intercom
 * action per request (see README.md in this folder).
 *
 * This file is the plugin's face to the host: descriptor, route table,
 * lifecycle and the dispatch of webhooks and jobs.
 */
#include <stdlib.h>
#include <string.h>
#include <switchboard/switchboard.h>

#include "plugin_kit.h"
#include "si_api.h"
#include "si_escalation.h"
#include "si_plugin.h"
#include "si_settings.h"
#include "si_teams.h"
#include "si_tickets.h"
#include "si_workflow.h"

#define ANY_STATE (SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE)
#define ACTIVE SB_ROUTE_NEEDS_INSTALLATION

static const sb_route routes[] = {
    /* teams and ticket types (si_teams.c) */
    {"GET", "/teams", si_route_teams, ANY_STATE, NULL},
    {"POST", "/teams/sync", si_route_directory_sync, ACTIVE, NULL},
    {"GET", "/ticket_types", si_route_ticket_types, ANY_STATE, NULL},
    /* escalations, links and the timeline (si_api.c) */
    {"POST", "/requests/{id}/escalations", si_route_escalate, ACTIVE, NULL},
    {"GET", "/requests/{id}/escalations", si_route_escalations, ANY_STATE, NULL},
    {"GET", "/requests/{id}/escalations/{escalation_id}", si_route_escalation_get, ANY_STATE,
     NULL},
    {"POST", "/requests/{id}/relink", si_route_relink, ANY_STATE, NULL},
    {"GET", "/requests/{id}/timeline", si_route_timeline, ANY_STATE, NULL},
    /* workflows (si_workflow.c, si_requests.c) */
    {"POST", "/requests", si_route_request_reported, ACTIVE, NULL},
    {"POST", "/requests/{id}/tags", si_route_request_tagged, ACTIVE, NULL},
    {"POST", "/requests/{id}/approve", si_route_request_approve, ACTIVE, NULL},
    {"POST", "/requests/{id}/reject", si_route_request_reject, ACTIVE, NULL},
    {"GET", "/requests/{id}/workflows", si_route_request_workflows, ANY_STATE, NULL},
    {NULL, NULL, NULL, 0, NULL},
};

/* Ticket topics (si_tickets.c): a state change, and the ticket closed or resolved. */
static const char *const topics[] = {
    "ticket.state.updated",
    "ticket.closed",
    "ticket.resolved",
    NULL,
};

/* ---- lifecycle ---- */

static sb_status check_config(json_object *config, sb_result *result)
{
    json_object_object_foreach(config, key, value)
    {
        (void)value;
        if (strcmp(key, "workflows") != 0) {
            snprintf(result->where, sizeof result->where, "%s", key);
            return sb_result_set(result, SB_FAIL, "unknown option '%s'", key);
        }
    }
    return si_workflows_check(config, result);
}

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    /* Bundled with the host, so a host without these is a broken build. */
    if (!SB_HOST_HAS(host, result_from_error) || !SB_HOST_HAS(host, job_checkpoint)
        || !SB_HOST_HAS(host, product_event))
        return sb_result_set(result, SB_FAIL,
                             "the host lacks result_from_error, job_checkpoint or product_event");
    if (check_config(config, result) != SB_OK)
        return SB_FAIL;
    si_state *st = pk_xcalloc(1, sizeof *st);
    st->self = self;
    st->host = host;
    if (si_workflows_load(config, &st->workflows, result) != SB_OK) {
        free(st);
        return SB_FAIL;
    }
    *state = st;
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    si_state *st = state;
    si_workflows_free(st->workflows);
    free(st);
}

static sb_status on_installation(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result)
{
    si_state *st = state;
    if (event != SB_INSTALLED)
        return SB_OK;
    /* A fresh install lists the workspace's teams and ticket types for the picker. */
    return si_directory_sync_enqueue(st, inst->id, result);
}

static sb_status on_event(void *state, const sb_event *event, sb_result *result)
{
    return si_tickets_on_event(state, event, result);
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    si_state *st = state;
    if (strcmp(job->type, SI_JOB_ESCALATE) == 0)
        return si_escalation_on_job(st, job, result);
    if (strcmp(job->type, SI_JOB_SYNC_DIRECTORY) == 0)
        return si_directory_sync_job(st, job, result);
    if (strcmp(job->type, SI_JOB_WORKFLOW) == 0
        || strncmp(job->type, SI_JOB_WORKFLOW ":", strlen(SI_JOB_WORKFLOW ":")) == 0)
        return si_workflow_on_job(st, job, result);
    return sb_result_set(result, SB_FAIL, "unknown job type '%s'", job->type);
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "siit",
    .version = "1.0.0",
    .description = "Siit service-desk requests escalated to Intercom tickets, workflows with "
                   "approval, and a timeline of every Intercom action per request",
    .topics = topics,
    .routes = routes,
    .settings = si_settings_schema,
    .init = init,
    .shutdown = shutdown_plugin,
    .check_config = check_config,
    .on_installation = on_installation,
    .on_event = on_event,
    .on_job = on_job,
};

SB_PLUGIN_ENTRY(descriptor)
