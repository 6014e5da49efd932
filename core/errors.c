/* errors.c - the host's side of the error vocabulary (see errors.h). */
#include "errors.h"

#include <stdio.h>
#include <string.h>

sb_error_kind errors_kind_for_status(int status)
{
    if (status >= 200 && status < 300)
        return SB_ERR_NONE;
    switch (status) {
    case 0: return SB_ERR_NETWORK;
    case 401: return SB_ERR_NEEDS_REAUTH;
    case 403: return SB_ERR_FORBIDDEN;
    case 404:
    case 410: return SB_ERR_NOT_FOUND;
    case 429: return SB_ERR_RATE_LIMITED;
    default: break;
    }
    /* 1xx and 3xx are answers a client cannot use either: the other side's fault. */
    return status >= 400 && status < 500 ? SB_ERR_INVALID_REQUEST : SB_ERR_SERVER_ERROR;
}

sb_status errors_result_from_response(const sb_intercom_response *response, const char *what,
                                      sb_result *result)
{
    sb_error_kind kind = response ? response->kind : SB_ERR_INVALID_REQUEST;
    sb_status status = sb_error_status(kind);
    if (status == SB_OK || !result)
        return status;
    const char *code = response && response->error_code ? response->error_code
                                                        : sb_error_kind_name(kind);
    const char *text = response ? response->error_message : "no response to classify";
    char http[24] = "";
    if (response && response->status)
        snprintf(http, sizeof http, " (HTTP %d)", response->status);
    snprintf(result->message, sizeof result->message, "%s%s%s%s%s%s", what ? what : "",
             what ? ": " : "", code, text ? ": " : "", text ? text : "", http);
    snprintf(result->code, sizeof result->code, "%s", sb_error_kind_name(kind));
    result->retry_after_s = response ? response->retry_after_s : 0;
    /* A job about something that is gone ends 'skipped', neither retried nor dead. */
    if (kind == SB_ERR_NOT_FOUND)
        result->http_status = 404;
    else if (kind == SB_ERR_REVOKED)
        result->http_status = 410;
    return status;
}

void errors_code_clean(const char *code, const char *fallback, char *out, size_t outlen)
{
    if (!outlen)
        return;
    if (!code || !*code)
        code = fallback ? fallback : "";
    size_t n = 0;
    for (; code[n] && n + 1 < outlen; n++) {
        char c = code[n];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            c = '_';
        out[n] = c;
    }
    out[n] = '\0';
}
