/*
 * ss_intercom.c - how failed Intercom calls end sigsentry's jobs. The host
 * does not retry notes and replies (if Intercom stored one but the answer
 * was lost, sending it again would post it twice), so such a failure goes
 * back to the job queue, whose retry re-reads the progress documents first.
 * Attribute writes are idempotent and the host retries them.
 */
#include "ss_plugin.h"

#include "ss_util.h"

sb_status ss_call_failure(struct ss_plugin *ss, const sb_intercom_response *res, const char *what,
                          sb_result *result)
{
    sb_status status = ss->host->result_from_error(ss->self, res, what, result);
    /* Only a conversation that is gone ends a job 'skipped' (ss_skip_gone_conversation); a
       404 about something else (admin_not_found) stays a dead job to replay once fixed. */
    result->http_status = 0;
    if (res->kind == SB_ERR_REVOKED)
        return SB_OK; /* disconnected meanwhile: nothing is left to do for this binding */
    return status;
}

bool ss_conversation_gone(const sb_intercom_response *res)
{
    /* Other 404s (admin_not_found, conversation_attribute_not_found) are about something else. */
    return res->kind == SB_ERR_NOT_FOUND && pk_str_eq(res->error_code, "not_found");
}

sb_status ss_skip_gone_conversation(struct ss_plugin *ss, sb_installation_id inst,
                                    const char *conversation_id, sb_result *result)
{
    sb_result_set(result, SB_FAIL, "conversation %s no longer exists at Intercom (404)",
                  conversation_id);
    if (ss->host->audit(ss->self, inst, conversation_id, "skipped", result->message) != 0)
        return sb_result_set(result, SB_RETRY, "could not record that conversation %s is gone",
                             conversation_id);
    ss->host->log(ss->self, SB_LOG_INFO, "skipped: %s", result->message);
    result->http_status = 404; /* the host ends the job 'skipped', with the message as reason */
    return SB_FAIL;
}

bool ss_attribute_error_is_permanent(const sb_intercom_response *res)
{
    /* 400/403/404/422: the attribute does not exist, has another type, ... */
    return res->kind == SB_ERR_INVALID_REQUEST || res->kind == SB_ERR_FORBIDDEN
           || res->kind == SB_ERR_NOT_FOUND;
}
