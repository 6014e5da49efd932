/*
 * ss_intercom.c - the Intercom writes sigsentry makes, and how their
 * failures end a job. Notes and replies are not marked retry-safe: if
 * Intercom stored one but the answer was lost, sending it again would post
 * it twice, so such a failure goes back to the job queue, whose retry
 * re-reads the progress documents first. Attribute writes are idempotent
 * and may be retried by the host.
 */
#include "ss_plugin.h"

#include "ss_util.h"

#include <stdio.h>
#include <string.h>

bool ss_post_reply(struct ss_plugin *ss, sb_installation_id inst, const char *conversation_id,
                   const char *message_type, const char *html, ss_call_done done, void *arg,
                   sb_result *result)
{
    sb_installation view;
    if (ss->host->installation_get(ss->self, inst, &view) != 0 || !view.admin_id) {
        sb_result_set(result, SB_FAIL, "the installation has no admin to write as");
        return false;
    }
    json_object *body = json_object_new_object();
    sb_json_add_str(body, "message_type", message_type);
    sb_json_add_str(body, "type", "admin");
    sb_json_add_str(body, "admin_id", view.admin_id);
    sb_json_add_str(body, "body", html);
    char path[160];
    snprintf(path, sizeof path, "/conversations/%s/reply", conversation_id);
    sb_intercom_request req = {.method = "POST", .path = path, .body = body};
    ss->host->intercom_request(ss->self, inst, &req, done, arg);
    json_object_put(body); /* serialized by the host already */
    return true;
}

void ss_put_attributes(struct ss_plugin *ss, sb_installation_id inst, const char *conversation_id,
                       json_object *attributes, ss_call_done done, void *arg)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "custom_attributes", json_object_get(attributes));
    char path[128];
    snprintf(path, sizeof path, "/conversations/%s", conversation_id);
    sb_intercom_request req = {.method = "PUT", .path = path, .body = body,
                               .flags = SB_INTERCOM_RETRY_SAFE};
    ss->host->intercom_request(ss->self, inst, &req, done, arg);
    json_object_put(body);
}

sb_status ss_call_failure(const sb_intercom_response *res, const char *what, sb_result *result)
{
    const char *code = res->error_code ? res->error_code : "error";
    sb_status status = SB_FAIL;
    if (strcmp(code, "revoked") == 0)
        status = SB_OK; /* disconnected meanwhile: nothing is left to do for this binding */
    else if (res->status == 0 || res->status == 429 || res->status >= 500
        || strcmp(code, "needs_reauth") == 0)
        status = SB_RETRY;
    return sb_result_set(result, status, "%s: %s%s%s (HTTP %d)", what, code,
                         res->error_message ? ": " : "",
                         res->error_message ? res->error_message : "", res->status);
}

bool ss_conversation_gone(const sb_intercom_response *res)
{
    /* Other 404s (admin_not_found, conversation_attribute_not_found) are about something else. */
    return res->error_code && res->status == 404 && strcmp(res->error_code, "not_found") == 0;
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
    /* 400/404/422: the attribute does not exist, has another type, ... */
    return res->status >= 400 && res->status < 500 && res->status != 401 && res->status != 429;
}
