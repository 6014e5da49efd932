/* job_outcome.c - how a returned status ends a job (see job_outcome.h). */
#include "job_outcome.h"

#include <stddef.h>

enum job_outcome job_outcome_of(sb_status status, const sb_result *result, uint32_t attempt,
                                uint32_t max_attempts)
{
    switch (status) {
    case SB_OK:
        return JOB_OUTCOME_DONE;
    case SB_RETRY:
    case SB_PENDING: /* not a final answer: a transient failure */
        return attempt >= max_attempts ? JOB_OUTCOME_EXHAUSTED : JOB_OUTCOME_RETRY;
    default:
        /* What the job is about is gone (a deleted conversation): nothing to retry or replay. */
        if (status == SB_FAIL && result
            && (result->http_status == 404 || result->http_status == 410))
            return JOB_OUTCOME_SKIPPED;
        return JOB_OUTCOME_FAILED;
    }
}
