/*
 * ss_work.h - resumable multi-step work on one document, for jobs whose
 * effects must happen once although the job may run more than once.
 *
 * The document has a "steps" object mapping each step name to "pending",
 * "done", "failed" or "skipped", decided when the document is created. The
 * runner takes the first pending step (in the order of the step table),
 * runs it and, when its Intercom call succeeds, marks it done and saves the
 * document before moving on. A retried job therefore starts at the first
 * step whose success was not recorded. A step flagged tolerate_rejection
 * whose call Intercom rejects permanently (ss_attribute_error_is_permanent)
 * is marked "failed" with the reason in "<step>_error" and the work goes on.
 */
#ifndef SS_WORK_H
#define SS_WORK_H

#include "ss_plugin.h"

struct ss_work;

struct ss_step {
    const char *name;
    /**
     * Start the step. Return SB_PENDING after starting an Intercom call with
     * ss_work_call_done as its callback; SB_OK after finishing synchronously
     * (the step set its own state with ss_work_set_step); RETRY/FAIL to stop.
     */
    sb_status (*run)(struct ss_work *w, sb_result *result);
    bool tolerate_rejection;
    const char *what; /* for messages: "triage note", ... */
};

struct ss_work {
    struct ss_plugin *ss;
    sb_job_id job;
    sb_installation_id inst;
    const char *collection;
    char *key;                 /* owned */
    char *conversation_id;     /* owned */
    json_object *doc;          /* owned */
    const struct ss_step *steps; /* ends with a {NULL} entry */
    const struct ss_step *current;
};

/** A runner for @p doc (takes ownership) stored under (collection, key). */
struct ss_work *ss_work_new(struct ss_plugin *ss, sb_job_id job, sb_installation_id inst,
                            const char *collection, const char *key, const char *conversation_id,
                            json_object *doc, const struct ss_step *steps);
/**
 * Run the pending steps. Returns SB_PENDING when a call is under way (the
 * job is completed later), or the final status when everything finished
 * synchronously; the runner is freed in that case.
 */
sb_status ss_work_start(struct ss_work *w, sb_result *result);
/** The callback every step's Intercom call must use. */
void ss_work_call_done(void *arg, const sb_intercom_response *res);
/**
 * Start a step's note or comment on the conversation, as the installing
 * admin (@p html taken over). SB_PENDING, or SB_FAIL with @p result when the
 * host refused the call itself.
 */
sb_status ss_work_reply(struct ss_work *w, sb_reply_type type, char *html, sb_result *result);
/** Start a step's write of the conversation's custom attributes (borrowed); as ss_work_reply. */
sb_status ss_work_set_attributes(struct ss_work *w, json_object *attributes, sb_result *result);
/** Set a step's state ("done", "failed", "skipped") and save the document. */
int ss_work_set_step(struct ss_work *w, const char *step, const char *state);
/** A step's state, or "skipped" when the document does not plan it. */
const char *ss_step_state(json_object *doc, const char *step);

#endif
