/*
 * errors.h - the one error vocabulary (sb_error_kind) on the host's side:
 * which kind an HTTP answer is, the result a failed call becomes
 * (sb_host.result_from_error), and the machine-readable codes that reach
 * the host's JSON errors.
 */
#ifndef SB_CORE_ERRORS_H
#define SB_CORE_ERRORS_H

#include <stddef.h>
#include <switchboard/switchboard.h>

/*
 * The kind of an HTTP answer from Intercom or another service: NONE for
 * 2xx, then 401 NEEDS_REAUTH, 403 FORBIDDEN, 404/410 NOT_FOUND, 429
 * RATE_LIMITED, other 4xx INVALID_REQUEST, 5xx and anything else
 * SERVER_ERROR. Status 0 (no answer arrived) is NETWORK.
 */
sb_error_kind errors_kind_for_status(int status);

/*
 * Fill @p result for a failed call (see sb_host.result_from_error) and
 * return sb_error_status() of its kind. A response without a failure
 * returns SB_OK and leaves @p result alone.
 */
sb_status errors_result_from_response(const sb_intercom_response *response, const char *what,
                                      sb_result *result);

/*
 * Copy @p code into @p out as a code of the host's JSON errors: [a-z0-9_],
 * capitals lowered, any other byte made '_', cut to fit. An empty or NULL
 * code gives @p fallback.
 */
void errors_code_clean(const char *code, const char *fallback, char *out, size_t outlen);

#endif
