/*
 * si_workflow.h - siit's workflows: the configuration
 * (plugins.siit.options.workflows), the runs it starts when Siit reports a
 * request or a tag, and the product-API routes that drive them.
 *
 * Configuration (libconfig; checked by check_config, every error naming its
 * element in sb_result.where):
 *
 *   workflows = (
 *     { name = "Specialist handoff";
 *       trigger = { tag = "customer-support"; };      # or { service = "Customer issue"; }
 *       actions = (
 *         { type = "approval"; approver = "Support manager"; timeout = "48h"; },
 *         { type = "create_intercom_ticket"; team_id = "5017691"; ticket_type_id = "3";
 *           priority = "high"; },
 *         { type = "set_priority"; priority = "high"; },
 *         { type = "notify_requester"; message = "Hi {{requester.name}}, ..."; }
 *       ); }
 *   );
 *
 * Runs (si_workflow.c): one per (request, workflow), started by the first
 * matching report and never again. A run is the document
 *   runs "<request id>|<seq, 3 digits>" -> {"id" (= the key),"request_id","workflow",
 *        "trigger","actions" (a copy of the workflow's actions when it
 *        started, so a configuration change never alters a run under way),
 *        "step","state","approval","escalation_id","history":[..],
 *        "outcome","reason","started_at","updated_at","finished_at"}
 * and it advances one action per job of type "workflow" (key: the request
 * id, so one request's steps run one at a time, in order). Its states:
 * running, waiting_approval, waiting_escalation, completed, rejected,
 * timed_out, failed. '|' cannot occur in a request id, so "<request id>|" is
 * an exact key range of one request's runs, in start order.
 */
#ifndef SI_WORKFLOW_H
#define SI_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <switchboard/switchboard.h>

#include "si_plugin.h"

/* ---- configuration (si_workflow_config.c; pure, no host calls) ---- */

enum si_trigger_kind {
    SI_TRIGGER_SERVICE = 0, /* a request created with this service */
    SI_TRIGGER_TAG = 1      /* this tag added to a request */
};

struct si_workflow {
    char *name;
    enum si_trigger_kind trigger;
    char *trigger_value;
    /**
     * The actions, normalised: an array of {"type":"approval","approver",
     * "timeout_s"}, {"type":"create_intercom_ticket","team_id"|"admin_id",
     * "ticket_type_id","priority","subject","message"} (absent members are
     * left out), {"type":"set_priority","priority"},
     * {"type":"notify_requester","message"}. Runs keep a copy.
     */
    json_object *actions;
};

struct si_workflows {
    size_t count;
    struct si_workflow *items;
};

/** Limits of the configuration. */
#define SI_WORKFLOWS_MAX 64
#define SI_WORKFLOW_ACTIONS_MAX 16
#define SI_APPROVAL_TIMEOUT_DEFAULT_S (48u * 3600u)
#define SI_APPROVAL_TIMEOUT_MAX_S (90u * 24u * 3600u)

/** The {{placeholders}} a subject or message may use, NULL-terminated (see README). */
extern const char *const si_workflow_placeholders[];

sb_status si_workflows_check(json_object *options, sb_result *result); /* check_config; sets result->where */
sb_status si_workflows_load(json_object *options, struct si_workflows **out, sb_result *result);
void si_workflows_free(struct si_workflows *wf);

/**
 * A duration: a whole number of seconds (an integer, or a string of digits)
 * or a string of digits followed by s, m, h or d ("90s", "30m", "48h",
 * "2d"). Returns false for anything else, for 0 and for more than @p max_s.
 */
bool si_duration_parse(json_object *value, uint32_t max_s, uint32_t *out_s);

/* ---- texts (si_workflow_text.c; pure) ---- */

/**
 * Placeholders in @p tmpl that si_workflow_placeholders lacks, as "a, b"
 * (each once, in order), NULL if none. Caller frees.
 */
char *si_workflow_text_unknown(const char *tmpl);
/**
 * @p tmpl (NULL: "") with {{request.*}}, {{requester.*}} and {{workflow.name}}
 * replaced from @p request (the request document) and @p workflow; a value
 * the request lacks renders as "". Caller frees.
 */
char *si_workflow_text_render(const char *tmpl, json_object *request, const char *workflow);

/* ---- runs (si_workflow.c) ---- */

/** Document collection of the runs (requests: SI_REQUESTS, written by si_requests.c). */
#define SI_RUNS "runs"
/** A run id, "<request id>|<seq>", with its NUL: at most SI_WORKFLOWS_MAX runs per request. */
#define SI_RUN_ID_SIZE (SI_REQUEST_ID_MAX + 5)
/** The approval's deadline: a delayed job without a key (a keyed one would hold the request's
    other jobs back until it ran). SI_JOB_WORKFLOW ("workflow") advances a run by one action. */
#define SI_JOB_APPROVAL_TIMEOUT SI_JOB_WORKFLOW ":approval_timeout"

/**
 * Start every workflow whose trigger is (@p kind, @p value) for the request,
 * unless it already ran for it. Adds each new run id to @p started (an
 * array). Returns 0, or -1 when the store failed (nothing started then).
 */
int si_workflows_trigger(si_state *st, sb_installation_id inst, json_object *request,
                         enum si_trigger_kind kind, const char *value, json_object *started);

/**
 * The runs of a request, in start order (an array of run documents), or NULL
 * when the store failed. New reference.
 */
json_object *si_workflow_runs(si_state *st, sb_installation_id inst, const char *request_id);

/**
 * Decide the approval a run of the request waits for (@p run_id NULL: the
 * one run that waits). Approved: the run goes on with its next action;
 * rejected: it ends "rejected". @p by and @p comment may be NULL. Returns
 * SB_OK with the run after the decision in *run_out (new reference), or
 * SB_FAIL with http_status 409 (no approval pending, or several and no
 * run_id), 404 (an unknown run_id) or 500.
 */
sb_status si_workflow_decide(si_state *st, sb_installation_id inst, const char *request_id,
                             const char *run_id, bool approve, const char *by,
                             const char *comment, json_object **run_out, sb_result *result);

/* siit-core calls this when an escalation started with a run_id has ended ("created" or "failed"). */
void si_workflow_escalation_done(si_state *st, sb_installation_id inst, const char *run_id,
                                 const char *escalation_id, bool created, const char *reason);
/* Jobs of type "workflow" (and any "workflow:*") go to: */
sb_status si_workflow_on_job(si_state *st, const sb_job *job, sb_result *result);

/* Product-API route handlers (siit.c's route table, SB_ROUTE_NEEDS_INSTALLATION). */
sb_status si_route_request_reported(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_request_tagged(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_request_approve(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_request_reject(void *state, const sb_http_request *req, sb_result *result);
sb_status si_route_request_workflows(void *state, const sb_http_request *req, sb_result *result);

#endif
