/*
 * si_workflow.c - workflow runs: started by a matching report, one action per
 * "workflow" job (key: the request id), an approval that waits for a
 * decision or its deadline (a delayed job), a ticket that waits for its
 * escalation. Everything a run does is in its document (see si_workflow.h),
 * written in the same transaction as the timeline entries, product events
 * and jobs of the step, so a run resumes after a crash exactly where it
 * stood: a step either happened completely or not at all.
 *
 * Product events: workflow.started, approval.requested, request.priority_set,
 * requester.notified, workflow.finished (outcome completed, rejected or
 * failed), each with request_id, run_id and workflow.
 */
#include "si_workflow.h"

#include "plugin_kit.h"
#include "si_escalation.h"
#include "si_timeline.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- run documents ---- */

static json_object *run_get(si_state *st, sb_installation_id inst, const char *run_id)
{
    return si_get(st, inst, SI_RUNS, run_id);
}

/* Store @p run (borrowed) with its updated_at. 0 or -1. */
static int run_save(si_state *st, sb_installation_id inst, json_object *run)
{
    sb_json_add_int(run, "updated_at", si_now_s(st));
    return si_put(st, inst, SI_RUNS, sb_json_str(run, "id"), json_object_get(run));
}

static const char *run_id(json_object *run)
{
    return sb_json_str(run, "id");
}

static const char *run_request(json_object *run)
{
    return sb_json_str(run, "request_id");
}

static const char *run_workflow(json_object *run)
{
    return sb_json_str(run, "workflow");
}

static const char *run_state(json_object *run)
{
    const char *state = sb_json_str(run, "state");
    return state ? state : "";
}

static json_object *run_action(json_object *run)
{
    return json_object_array_get_idx(sb_json_arr(run, "actions"),
                                     (size_t)sb_json_int(run, "step", 0));
}

/* Record what the current step did in the run's history. */
static void history_add(si_state *st, json_object *run, const char *result, const char *text)
{
    json_object *history = sb_json_arr(run, "history");
    if (!history) {
        history = pk_xchecked(json_object_new_array());
        json_object_object_add(run, "history", history);
    }
    json_object *entry = pk_xchecked(json_object_new_object());
    sb_json_add_int(entry, "step", sb_json_int(run, "step", 0));
    sb_json_add_str(entry, "type", sb_json_str(run_action(run), "type"));
    sb_json_add_str(entry, "result", result);
    sb_json_add_str(entry, "text", text);
    sb_json_add_int(entry, "at", si_now_s(st));
    json_object_array_add(history, entry);
}

/* "48h", "30m", "2d" or "90s": a timeout as the configuration wrote it. */
static void format_duration(uint32_t s, char *out, size_t size)
{
    if (s % 86400 == 0)
        snprintf(out, size, "%" PRIu32 "d", s / 86400);
    else if (s % 3600 == 0)
        snprintf(out, size, "%" PRIu32 "h", s / 3600);
    else if (s % 60 == 0)
        snprintf(out, size, "%" PRIu32 "m", s / 60);
    else
        snprintf(out, size, "%" PRIu32 "s", s);
}

/* ---- what a step tells Siit: timeline entries and product events ---- */

/* {"run_id","workflow"} plus what the caller adds. New reference. */
static json_object *run_details(json_object *run)
{
    json_object *d = pk_xchecked(json_object_new_object());
    sb_json_add_str(d, "run_id", run_id(run));
    sb_json_add_str(d, "workflow", run_workflow(run));
    return d;
}

/* A timeline entry of the run's request; takes @p details. 0 or -1. */
static int timeline(si_state *st, sb_installation_id inst, json_object *run, const char *kind,
                    json_object *details, const char *fmt, ...) PK_PRINTF(6, 7);

static int timeline(si_state *st, sb_installation_id inst, json_object *run, const char *kind,
                    json_object *details, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    int rc = n < 0 ? -1 : si_timeline_add(st, inst, run_request(run), kind, text, details);
    free(n < 0 ? NULL : text);
    json_object_put(details);
    return rc;
}

/*
 * A product event about the run; takes @p data (request_id, run_id and
 * workflow are added). Without a product webhook configured the timeline
 * still tells the story, so that is a warning, not a failure.
 */
static void product_event(si_state *st, sb_installation_id inst, json_object *run,
                          const char *type, json_object *data)
{
    sb_json_add_str(data, "request_id", run_request(run));
    sb_json_add_str(data, "run_id", run_id(run));
    sb_json_add_str(data, "workflow", run_workflow(run));
    if (st->host->product_event(st->self, inst, type, data) != 0)
        st->host->log(st->self, SB_LOG_WARN, "run %s: product event %s not sent (is "
                                             "plugins.siit.product.webhook_url set?)",
                      run_id(run), type);
    json_object_put(data);
}

/* ---- moving a run on ---- */

/* End the run with @p outcome ("completed", "rejected", "failed"). 0 or -1. */
static int finish(si_state *st, sb_installation_id inst, json_object *run, const char *outcome,
                  const char *reason)
{
    sb_json_add_str(run, "state", outcome);
    sb_json_add_str(run, "outcome", outcome);
    sb_json_add_str(run, "reason", reason);
    sb_json_add_int(run, "finished_at", si_now_s(st));
    json_object *details = run_details(run);
    sb_json_add_str(details, "outcome", outcome);
    sb_json_add_str(details, "reason", reason);
    if (timeline(st, inst, run, "workflow_finished", details, "Workflow \"%s\" %s%s%s",
                 run_workflow(run), outcome, reason ? ": " : "", reason ? reason : "")
        != 0)
        return -1;
    json_object *data = pk_xchecked(json_object_new_object());
    sb_json_add_str(data, "outcome", outcome);
    sb_json_add_str(data, "reason", reason);
    product_event(st, inst, run, "workflow.finished", data);
    return 0;
}

/* Queue the job that runs the current step (key: the request, so steps keep their order). */
static int enqueue_step(si_state *st, sb_installation_id inst, json_object *run)
{
    json_object *payload = pk_xchecked(json_object_new_object());
    sb_json_add_str(payload, "run_id", run_id(run));
    sb_json_add_int(payload, "step", sb_json_int(run, "step", 0));
    sb_job_id job = st->host->job_enqueue(st->self, inst, SI_JOB_WORKFLOW, run_request(run),
                                          payload, 0);
    json_object_put(payload);
    return job ? 0 : -1;
}

/* The current step is done: on to the next one, or the run is complete. 0 or -1. */
static int advance(si_state *st, sb_installation_id inst, json_object *run)
{
    int64_t next = sb_json_int(run, "step", 0) + 1;
    sb_json_add_int(run, "step", next);
    if ((size_t)next >= json_object_array_length(sb_json_arr(run, "actions")))
        return finish(st, inst, run, "completed", NULL);
    sb_json_add_str(run, "state", "running");
    return enqueue_step(st, inst, run);
}

/* ---- the actions ---- */

static int step_approval(si_state *st, sb_installation_id inst, json_object *run,
                         json_object *action)
{
    const char *approver = sb_json_str(action, "approver");
    uint32_t timeout_s = (uint32_t)sb_json_int(action, "timeout_s", SI_APPROVAL_TIMEOUT_DEFAULT_S);
    int64_t now = si_now_s(st);
    char timeout[24];
    format_duration(timeout_s, timeout, sizeof timeout);

    json_object *approval = pk_xchecked(json_object_new_object());
    sb_json_add_str(approval, "approver", approver);
    sb_json_add_int(approval, "requested_at", now);
    sb_json_add_int(approval, "expires_at", now + timeout_s);
    sb_json_add_str(approval, "decision", NULL);
    json_object_object_add(run, "approval", approval);
    sb_json_add_str(run, "state", "waiting_approval");
    history_add(st, run, "requested", approver);

    json_object *details = run_details(run);
    sb_json_add_str(details, "approver", approver);
    sb_json_add_int(details, "expires_at", now + timeout_s);
    if (timeline(st, inst, run, "approval_requested", details,
                 "Approval requested from %s (workflow \"%s\"); rejected without a decision "
                 "within %s",
                 approver, run_workflow(run), timeout)
        != 0)
        return -1;
    json_object *data = pk_xchecked(json_object_new_object());
    sb_json_add_str(data, "approver", approver);
    sb_json_add_int(data, "expires_at", now + timeout_s);
    product_event(st, inst, run, "approval.requested", data);

    /* No key: a keyed job would hold the request's other jobs back until its deadline. */
    json_object *payload = pk_xchecked(json_object_new_object());
    sb_json_add_str(payload, "run_id", run_id(run));
    sb_json_add_int(payload, "step", sb_json_int(run, "step", 0));
    sb_job_id job = st->host->job_enqueue(st->self, inst, SI_JOB_APPROVAL_TIMEOUT, NULL, payload,
                                          timeout_s);
    json_object_put(payload);
    return job ? 0 : -1;
}

/* The escalation's spec: the action's destination, type and priority, texts from the request. */
static json_object *escalation_spec(json_object *action, json_object *request,
                                    const char *workflow)
{
    json_object *spec = pk_xchecked(json_object_new_object());
    static const char *const copied[] = {"team_id", "admin_id", "ticket_type_id", "priority"};
    for (size_t i = 0; i < PK_ARRAY_LEN(copied); i++)
        if (sb_json_str(action, copied[i]))
            sb_json_add_str(spec, copied[i], sb_json_str(action, copied[i]));
    const char *subject = sb_json_str(action, "subject");
    char *text = si_workflow_text_render(subject ? subject : "{{request.subject}}", request,
                                         workflow);
    if (*text)
        sb_json_add_str(spec, "subject", text);
    free(text);
    const char *message = sb_json_str(action, "message");
    if (message) {
        text = si_workflow_text_render(message, request, workflow);
        sb_json_add_str(spec, "message", text);
        free(text);
    }
    json_object *requester = sb_json_obj(request, "requester");
    if (requester)
        json_object_object_add(spec, "requester", json_object_get(requester));
    if (sb_json_str(request, "url"))
        sb_json_add_str(spec, "request_url", sb_json_str(request, "url"));
    return spec;
}

static sb_status step_ticket(si_state *st, sb_installation_id inst, json_object *run,
                             json_object *action, json_object *request, sb_result *result)
{
    json_object *spec = escalation_spec(action, request, run_workflow(run));
    char escalation_id[SI_ESCALATION_ID_SIZE] = "";
    sb_result refusal = {0};
    sb_status status = si_escalation_start(st, inst, run_request(run), spec, "workflow",
                                           run_id(run), escalation_id, sizeof escalation_id,
                                           &refusal);
    json_object_put(spec);
    if (status == SB_OK) {
        sb_json_add_str(run, "state", "waiting_escalation");
        sb_json_add_str(run, "escalation_id", escalation_id);
        history_add(st, run, "escalation_queued", escalation_id);
        return SB_OK;
    }
    if (status != SB_FAIL) { /* the store: try the step again */
        *result = refusal;
        return SB_RETRY;
    }
    /* Refused (a team that is not selectable, say): the run cannot go on. */
    history_add(st, run, "escalation_refused", refusal.message);
    json_object *details = run_details(run);
    sb_json_add_str(details, "code", refusal.code);
    sb_json_add_str(details, "reason", refusal.message);
    if (timeline(st, inst, run, "escalation_failed", details,
                 "Intercom ticket not created (workflow \"%s\"): %s", run_workflow(run),
                 refusal.message)
            != 0
        || finish(st, inst, run, "failed", refusal.message) != 0)
        return sb_result_set(result, SB_RETRY, "run %s: cannot record the refused escalation",
                             run_id(run));
    return SB_OK;
}

static int step_set_priority(si_state *st, sb_installation_id inst, json_object *run,
                             json_object *action, json_object *request)
{
    const char *priority = sb_json_str(action, "priority");
    /* The request document says what Siit was last told. */
    if (request) {
        sb_json_add_str(request, "priority", priority);
        if (si_put(st, inst, SI_REQUESTS, run_request(run), json_object_get(request)) != 0)
            return -1;
    }
    history_add(st, run, "done", priority);
    json_object *details = run_details(run);
    sb_json_add_str(details, "priority", priority);
    if (timeline(st, inst, run, "priority_set", details, "Priority set to %s (workflow \"%s\")",
                 priority, run_workflow(run))
        != 0)
        return -1;
    json_object *data = pk_xchecked(json_object_new_object());
    sb_json_add_str(data, "priority", priority);
    product_event(st, inst, run, "request.priority_set", data);
    return advance(st, inst, run);
}

static int step_notify(si_state *st, sb_installation_id inst, json_object *run,
                       json_object *action, json_object *request)
{
    char *text = si_workflow_text_render(sb_json_str(action, "message"), request,
                                         run_workflow(run));
    history_add(st, run, "done", text);
    json_object *details = run_details(run);
    sb_json_add_str(details, "message", text);
    int rc = timeline(st, inst, run, "requester_notified", details,
                      "Requester notified (workflow \"%s\"): %s", run_workflow(run), text);
    if (rc == 0) {
        json_object *data = pk_xchecked(json_object_new_object());
        json_object *requester = sb_json_obj(request, "requester");
        json_object_object_add(data, "requester",
                               requester ? json_object_get(requester) : NULL);
        sb_json_add_str(data, "message", text);
        product_event(st, inst, run, "requester.notified", data);
        rc = advance(st, inst, run);
    }
    free(text);
    return rc;
}

/* Run the current step of @p run (state running). */
static sb_status run_step(si_state *st, sb_installation_id inst, json_object *run,
                          sb_result *result)
{
    json_object *action = run_action(run);
    const char *type = sb_json_str(action, "type");
    json_object *request = si_get(st, inst, SI_REQUESTS, run_request(run));
    sb_status status = SB_OK;
    int rc = 0;
    if (pk_str_eq(type, "approval"))
        rc = step_approval(st, inst, run, action);
    else if (pk_str_eq(type, "create_intercom_ticket"))
        status = step_ticket(st, inst, run, action, request, result);
    else if (pk_str_eq(type, "set_priority"))
        rc = step_set_priority(st, inst, run, action, request);
    else if (pk_str_eq(type, "notify_requester"))
        rc = step_notify(st, inst, run, action, request);
    else /* only a document written by hand gets here */
        rc = finish(st, inst, run, "failed", "unknown action type");
    json_object_put(request);
    if (status == SB_OK && rc != 0)
        status = sb_result_set(result, SB_RETRY, "run %s: the store failed during step %" PRId64,
                               run_id(run), sb_json_int(run, "step", 0));
    return status;
}

/* ---- starting runs ---- */

static int collect_run(void *arg, const char *key, json_object *value)
{
    (void)key;
    json_object_array_add(arg, json_object_get(value));
    return 0;
}

json_object *si_workflow_runs(si_state *st, sb_installation_id inst, const char *request_id)
{
    /* One request's runs: "<id>|" up to "<id>}" ('}' follows '|'). */
    char *from = pk_xasprintf("%s|", request_id);
    char *to = pk_xasprintf("%s}", request_id);
    json_object *runs = pk_xchecked(json_object_new_array());
    int n = st->host->doc_list(st->self, inst, SI_RUNS, from, to, 0, 0, collect_run, runs);
    free(from);
    free(to);
    if (n < 0) {
        json_object_put(runs);
        return NULL;
    }
    return runs;
}

static bool already_ran(json_object *runs, const char *workflow)
{
    for (size_t i = 0; i < json_object_array_length(runs); i++)
        if (pk_str_eq(run_workflow(json_object_array_get_idx(runs, i)), workflow))
            return true;
    return false;
}

static int start_run(si_state *st, sb_installation_id inst, const char *request_id,
                     const struct si_workflow *wf, size_t seq, json_object *started)
{
    static const char *const trigger_names[] = {"service", "tag"};
    char id[SI_RUN_ID_SIZE];
    snprintf(id, sizeof id, "%s|%03zu", request_id, seq);
    int64_t now = si_now_s(st);
    json_object *run = pk_xchecked(json_object_new_object());
    sb_json_add_str(run, "id", id);
    sb_json_add_str(run, "request_id", request_id);
    sb_json_add_str(run, "workflow", wf->name);
    json_object *trigger = pk_xchecked(json_object_new_object());
    sb_json_add_str(trigger, trigger_names[wf->trigger], wf->trigger_value);
    json_object_object_add(run, "trigger", trigger);
    /* A deep copy: a configuration reloaded later never changes a run under way. */
    json_object *actions = NULL;
    if (json_object_deep_copy(wf->actions, &actions, NULL) != 0)
        pk_xchecked(NULL);
    json_object_object_add(run, "actions", actions);
    sb_json_add_int(run, "step", 0);
    sb_json_add_str(run, "state", "running");
    json_object_object_add(run, "history", pk_xchecked(json_object_new_array()));
    sb_json_add_int(run, "started_at", now);

    json_object *details = run_details(run);
    json_object_object_add(details, "trigger", json_object_get(trigger));
    int rc = timeline(st, inst, run, "workflow_started", details,
                      "Workflow \"%s\" started: %s \"%s\"%s", wf->name, trigger_names[wf->trigger],
                      wf->trigger_value, wf->trigger == SI_TRIGGER_TAG ? " added" : "");
    if (rc == 0) {
        json_object *data = pk_xchecked(json_object_new_object());
        json_object_object_add(data, "trigger", json_object_get(trigger));
        product_event(st, inst, run, "workflow.started", data);
        rc = enqueue_step(st, inst, run) == 0 && run_save(st, inst, run) == 0 ? 0 : -1;
    }
    if (rc == 0)
        json_object_array_add(started, json_object_new_string(id));
    json_object_put(run);
    return rc;
}

int si_workflows_trigger(si_state *st, sb_installation_id inst, json_object *request,
                         enum si_trigger_kind kind, const char *value, json_object *started)
{
    const char *request_id = sb_json_str(request, "id");
    if (!st->workflows || !value || !request_id)
        return 0;
    json_object *runs = si_workflow_runs(st, inst, request_id);
    if (!runs)
        return -1;
    size_t seq = json_object_array_length(runs);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < st->workflows->count; i++) {
        const struct si_workflow *wf = &st->workflows->items[i];
        if (wf->trigger != kind || strcasecmp(wf->trigger_value, value) != 0
            || already_ran(runs, wf->name))
            continue;
        rc = start_run(st, inst, request_id, wf, ++seq, started);
    }
    json_object_put(runs);
    return rc;
}

/* ---- decisions, deadlines and escalations ---- */

sb_status si_workflow_decide(si_state *st, sb_installation_id inst, const char *request_id,
                             const char *wanted, bool approve, const char *by,
                             const char *comment, json_object **run_out, sb_result *result)
{
    *run_out = NULL;
    json_object *runs = si_workflow_runs(st, inst, request_id);
    if (!runs)
        return pk_refuse(result, 500, "store_error", "cannot read the request's workflow runs");
    json_object *run = NULL;
    size_t waiting = 0;
    bool known = !wanted;
    for (size_t i = 0; i < json_object_array_length(runs); i++) {
        json_object *r = json_object_array_get_idx(runs, i);
        if (wanted && !pk_str_eq(run_id(r), wanted))
            continue;
        known = true;
        if (strcmp(run_state(r), "waiting_approval") == 0) {
            waiting++;
            run = r;
        }
    }
    sb_status status = SB_OK;
    if (!known)
        status = pk_refuse(result, 404, "unknown_run", "request %s has no workflow run %s",
                           request_id, wanted);
    else if (waiting == 0)
        status = pk_refuse(result, 409, "no_pending_approval",
                           "no workflow of request %s is waiting for an approval", request_id);
    else if (waiting > 1)
        status = pk_refuse(result, 409, "several_pending_approvals",
                           "%zu workflows of request %s wait for an approval: name one with "
                           "run_id (GET /requests/%s/workflows lists them)",
                           waiting, request_id, request_id);
    if (status != SB_OK) {
        json_object_put(runs);
        return status;
    }
    run = json_object_get(run);
    json_object_put(runs);

    json_object *approval = sb_json_obj(run, "approval");
    sb_json_add_str(approval, "decision", approve ? "approved" : "rejected");
    sb_json_add_str(approval, "decided_by", by);
    sb_json_add_str(approval, "comment", comment);
    sb_json_add_int(approval, "decided_at", si_now_s(st));
    history_add(st, run, approve ? "approved" : "rejected", by);
    json_object *details = run_details(run);
    sb_json_add_str(details, "by", by);
    sb_json_add_str(details, "comment", comment);
    int rc = timeline(st, inst, run, approve ? "approved" : "rejected", details,
                      "%s%s%s (workflow \"%s\")%s%s", approve ? "Approved" : "Rejected",
                      by ? " by " : "", by ? by : "", run_workflow(run), comment ? ": " : "",
                      comment ? comment : "");
    if (rc == 0) {
        char *reason = pk_xasprintf("rejected%s%s", by ? " by " : "", by ? by : "");
        rc = approve ? advance(st, inst, run) : finish(st, inst, run, "rejected", reason);
        free(reason);
    }
    if (rc != 0 || run_save(st, inst, run) != 0) {
        json_object_put(run);
        return pk_refuse(result, 500, "store_error", "cannot record the decision");
    }
    *run_out = run;
    return SB_OK;
}

/* The approval's deadline passed: reject it, unless it was decided meanwhile. */
static sb_status approval_timeout(si_state *st, sb_installation_id inst, json_object *run,
                                  int64_t step, sb_result *result)
{
    if (strcmp(run_state(run), "waiting_approval") != 0 || sb_json_int(run, "step", -1) != step)
        return SB_OK; /* decided in time */
    json_object *action = run_action(run);
    char timeout[24];
    format_duration((uint32_t)sb_json_int(action, "timeout_s", 0), timeout, sizeof timeout);
    json_object *approval = sb_json_obj(run, "approval");
    sb_json_add_str(approval, "decision", "timed_out");
    sb_json_add_int(approval, "decided_at", si_now_s(st));
    history_add(st, run, "timed_out", timeout);
    char *reason = pk_xasprintf("no decision from %s within %s", sb_json_str(approval, "approver"),
                                timeout);
    json_object *details = run_details(run);
    sb_json_add_str(details, "approver", sb_json_str(approval, "approver"));
    int rc = timeline(st, inst, run, "approval_timed_out", details,
                      "Approval timed out (workflow \"%s\"): %s; rejected", run_workflow(run),
                      reason);
    if (rc == 0)
        rc = finish(st, inst, run, "rejected", reason);
    free(reason);
    if (rc != 0)
        return sb_result_set(result, SB_RETRY, "run %s: cannot record the timeout", run_id(run));
    return SB_OK;
}

void si_workflow_escalation_done(si_state *st, sb_installation_id inst, const char *id,
                                 const char *escalation_id, bool created, const char *reason)
{
    json_object *run = id ? run_get(st, inst, id) : NULL;
    if (!run || strcmp(run_state(run), "waiting_escalation") != 0
        || !pk_str_eq(sb_json_str(run, "escalation_id"), escalation_id)) {
        st->host->log(st->self, SB_LOG_WARN, "escalation %s ended, but run %s does not wait for it",
                      escalation_id ? escalation_id : "?", id ? id : "?");
        json_object_put(run);
        return;
    }
    int rc;
    if (created) {
        history_add(st, run, "ticket_created", escalation_id);
        rc = advance(st, inst, run);
    } else {
        history_add(st, run, "escalation_failed", reason);
        char *why = pk_xasprintf("the Intercom ticket was not created: %s",
                                 reason ? reason : "unknown reason");
        rc = finish(st, inst, run, "failed", why);
        free(why);
    }
    if (rc != 0 || run_save(st, inst, run) != 0)
        st->host->log(st->self, SB_LOG_ERROR, "run %s: cannot record the end of escalation %s",
                      id, escalation_id);
    json_object_put(run);
}

/* ---- the jobs ---- */

struct job_work {
    si_state *st;
    const sb_job *job;
    sb_result *result;
    sb_status status;
};

/* One job's work as one group of writes: undone together when it does not end OK. */
static int job_work(void *arg)
{
    struct job_work *w = arg;
    const sb_job *job = w->job;
    const char *id = sb_json_str(job->payload, "run_id");
    int64_t step = sb_json_int(job->payload, "step", -1);
    json_object *run = id ? run_get(w->st, job->installation, id) : NULL;
    if (!run) {
        /* Nothing to resume: a payload written by hand, or an installation's data deleted. */
        w->status = sb_result_set(w->result, SB_FAIL, "no workflow run %s", id ? id : "(none)");
        w->result->http_status = 404;
        return 1;
    }
    if (strcmp(job->type, SI_JOB_APPROVAL_TIMEOUT) == 0)
        w->status = approval_timeout(w->st, job->installation, run, step, w->result);
    else if (strcmp(run_state(run), "running") == 0 && sb_json_int(run, "step", -1) == step)
        w->status = run_step(w->st, job->installation, run, w->result);
    else /* this step already ran (a job delivered again) */
        w->status = SB_OK;
    if (w->status == SB_OK && run_save(w->st, job->installation, run) != 0)
        w->status = sb_result_set(w->result, SB_RETRY, "run %s: cannot save it", id);
    json_object_put(run);
    return w->status == SB_OK ? 0 : 1;
}

sb_status si_workflow_on_job(si_state *st, const sb_job *job, sb_result *result)
{
    if (strcmp(job->type, SI_JOB_WORKFLOW) != 0 && strcmp(job->type, SI_JOB_APPROVAL_TIMEOUT) != 0)
        return sb_result_set(result, SB_FAIL, "unknown job type '%s'", job->type);
    struct job_work w = {.st = st, .job = job, .result = result, .status = SB_OK};
    int rc = st->host->transaction(st->self, job_work, &w);
    if (rc < 0 && w.status == SB_OK)
        return sb_result_set(result, SB_RETRY, "the store failed");
    return w.status;
}
