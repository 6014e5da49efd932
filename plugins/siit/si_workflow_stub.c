/*
 * si_workflow_stub.c - TEMPORARY: lets the plugin link until si_workflow.c,
 * si_workflow_config.c and si_requests.c land (siit-workflows deletes this).
 * Every workflow route answers 501 (si_workflow_config.c has landed).
 */
#include "si_workflow.h"

#include "plugin_kit.h"

void si_workflow_escalation_done(si_state *st, sb_installation_id inst, const char *run_id,
                                 const char *escalation_id, bool created, const char *reason)
{
    (void)st;
    (void)inst;
    (void)run_id;
    (void)escalation_id;
    (void)created;
    (void)reason;
}

sb_status si_workflow_on_job(si_state *st, const sb_job *job, sb_result *result)
{
    (void)st;
    return sb_result_set(result, SB_FAIL, "workflows are not built yet (job '%s')", job->type);
}

static sb_status not_implemented(void *state, const sb_http_request *req, sb_result *result)
{
    (void)state;
    (void)req;
    return pk_refuse(result, 501, "not_implemented", "workflows are not built yet");
}

sb_status si_route_request_reported(void *state, const sb_http_request *req, sb_result *result)
{
    return not_implemented(state, req, result);
}

sb_status si_route_request_tagged(void *state, const sb_http_request *req, sb_result *result)
{
    return not_implemented(state, req, result);
}

sb_status si_route_request_approve(void *state, const sb_http_request *req, sb_result *result)
{
    return not_implemented(state, req, result);
}

sb_status si_route_request_reject(void *state, const sb_http_request *req, sb_result *result)
{
    return not_implemented(state, req, result);
}

sb_status si_route_request_workflows(void *state, const sb_http_request *req, sb_result *result)
{
    return not_implemented(state, req, result);
}
