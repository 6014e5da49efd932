/*
 * job_outcome.h - how the status a job's handler returns (or gives to
 * job_complete) ends the job: one rule for the host's queue (jobs.c) and
 * the testing kit. How long a retry waits stays with each: the host's
 * backoff is configured and jittered, the kit's runs on the test's clock.
 */
#ifndef SB_CORE_JOB_OUTCOME_H
#define SB_CORE_JOB_OUTCOME_H

#include <stdint.h>
#include <switchboard/switchboard.h>

enum job_outcome {
    JOB_OUTCOME_DONE,      /* SB_OK */
    JOB_OUTCOME_RETRY,     /* SB_RETRY before the last attempt: runs again */
    JOB_OUTCOME_EXHAUSTED, /* SB_RETRY on the last attempt: dead */
    JOB_OUTCOME_SKIPPED,   /* SB_FAIL about something gone (http_status 404 or 410) */
    JOB_OUTCOME_FAILED,    /* any other SB_FAIL: dead */
};

/*
 * The outcome of run @p attempt (1-based) of a job allowed @p max_attempts.
 * SB_PENDING given as a final answer counts as SB_RETRY, any unknown status
 * as SB_FAIL; @p result may be NULL.
 */
enum job_outcome job_outcome_of(sb_status status, const sb_result *result, uint32_t attempt,
                                uint32_t max_attempts);

#endif
