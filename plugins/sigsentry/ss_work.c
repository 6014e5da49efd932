/* ss_work.c - run a document's pending steps once each (see ss_work.h). */
#include "ss_work.h"

#include "ss_util.h"

#include <stdlib.h>
#include <string.h>

struct ss_work *ss_work_new(struct ss_plugin *ss, sb_job_id job, sb_installation_id inst,
                            const char *collection, const char *key, const char *conversation_id,
                            json_object *doc, const struct ss_step *steps)
{
    struct ss_work *w = pk_xcalloc(1, sizeof *w);
    w->ss = ss;
    w->job = job;
    w->inst = inst;
    w->collection = collection;
    w->key = pk_xstrdup(key);
    w->conversation_id = pk_xstrdup(conversation_id);
    w->doc = doc;
    w->steps = steps;
    return w;
}

static void work_free(struct ss_work *w)
{
    free(w->key);
    free(w->conversation_id);
    json_object_put(w->doc);
    free(w);
}

const char *ss_step_state(json_object *doc, const char *step)
{
    const char *state = sb_json_str(sb_json_obj(doc, "steps"), step);
    return state ? state : "skipped";
}

int ss_work_set_step(struct ss_work *w, const char *step, const char *state)
{
    json_object *steps = sb_json_obj(w->doc, "steps");
    if (!steps) {
        steps = json_object_new_object();
        json_object_object_add(w->doc, "steps", steps);
    }
    sb_json_add_str(steps, step, state);
    return ss_put(w->ss, w->inst, w->collection, w->key, json_object_get(w->doc));
}

/* Run steps until one is under way or all are finished. */
static sb_status advance(struct ss_work *w, sb_result *result)
{
    for (;;) {
        const struct ss_step *step = w->steps;
        while (step->name && strcmp(ss_step_state(w->doc, step->name), "pending") != 0)
            step++;
        if (!step->name)
            return SB_OK;
        w->current = step;
        sb_status st = step->run(w, result);
        if (st == SB_PENDING)
            return SB_PENDING;
        if (st != SB_OK)
            return st;
        if (strcmp(ss_step_state(w->doc, step->name), "pending") == 0)
            return sb_result_set(result, SB_FAIL, "step %s finished without a state", step->name);
    }
}

sb_status ss_work_start(struct ss_work *w, sb_result *result)
{
    sb_status st = advance(w, result);
    if (st != SB_PENDING)
        work_free(w);
    return st;
}

static void finish(struct ss_work *w, sb_status status, const sb_result *result)
{
    if (w->job)
        w->ss->host->job_complete(w->ss->self, w->job, status, result);
    work_free(w);
}

/*
 * The conversation was deleted in Intercom: no pending step can succeed, now
 * or on a retry. They are marked skipped with the reason, saved, and the job
 * ends as skipped (ss_skip_gone_conversation).
 */
static sb_status skip_the_rest(struct ss_work *w, sb_result *result)
{
    sb_status st = ss_skip_gone_conversation(w->ss, w->inst, w->conversation_id, result);
    if (st == SB_RETRY)
        return st;
    json_object *steps = sb_json_obj(w->doc, "steps");
    for (const struct ss_step *step = w->steps; steps && step->name; step++)
        if (strcmp(ss_step_state(w->doc, step->name), "pending") == 0)
            sb_json_add_str(steps, step->name, "skipped");
    sb_json_add_str(w->doc, "skipped_reason", result->message);
    if (ss_put(w->ss, w->inst, w->collection, w->key, json_object_get(w->doc)) != 0) {
        result->http_status = 0;
        return sb_result_set(result, SB_RETRY, "could not save progress");
    }
    return st;
}

sb_status ss_work_reply(struct ss_work *w, sb_reply_type type, char *html, sb_result *result)
{
    sb_request_id started = w->ss->host->conversation_reply(
        w->ss->self, w->inst, w->conversation_id, type, html, NULL, ss_work_call_done, w);
    free(html);
    if (started)
        return SB_PENDING;
    /* The ids are checked before: what is left is an installation without an admin (logged). */
    return sb_result_set(result, SB_FAIL, "the host refused to post the %s (no admin to write as?)",
                         w->current->what);
}

sb_status ss_work_set_attributes(struct ss_work *w, json_object *attributes, sb_result *result)
{
    if (w->ss->host->set_attributes(w->ss->self, w->inst, SB_OBJECT_CONVERSATION,
                                    w->conversation_id, attributes, ss_work_call_done, w))
        return SB_PENDING;
    return sb_result_set(result, SB_FAIL, "the host refused the %s (see its log)",
                         w->current->what);
}

void ss_work_call_done(void *arg, const sb_intercom_response *res)
{
    struct ss_work *w = arg;
    const struct ss_step *step = w->current;
    sb_result result = {0};
    if (!res->error_code) {
        if (ss_work_set_step(w, step->name, "done") != 0) {
            /* The effect happened but is not recorded: a retry may repeat it. Say so. */
            w->ss->host->log(w->ss->self, SB_LOG_ERROR,
                             "%s of conversation %s was sent but its progress could not be saved",
                             step->what, w->conversation_id);
            finish(w, sb_result_set(&result, SB_RETRY, "could not save progress"), &result);
            return;
        }
        w->ss->host->audit(w->ss->self, w->inst, w->conversation_id, step->name, step->what);
    } else if (ss_conversation_gone(res)) {
        finish(w, skip_the_rest(w, &result), &result);
        return;
    } else if (step->tolerate_rejection && ss_attribute_error_is_permanent(res)) {
        char *key = pk_xasprintf("%s_error", step->name);
        char *why = pk_xasprintf("%s (HTTP %d): %s", res->error_code, res->status,
                                 res->error_message ? res->error_message : "");
        sb_json_add_str(w->doc, key, why);
        w->ss->host->log(w->ss->self, SB_LOG_WARN, "conversation %s: %s rejected: %s",
                         w->conversation_id, step->what, why);
        w->ss->host->audit(w->ss->self, w->inst, w->conversation_id, "failed", why);
        free(key);
        free(why);
        if (ss_work_set_step(w, step->name, "failed") != 0) {
            finish(w, sb_result_set(&result, SB_RETRY, "could not save progress"), &result);
            return;
        }
    } else {
        sb_status st = ss_call_failure(w->ss, res, step->what, &result);
        if (st == SB_OK)
            w->ss->host->log(w->ss->self, SB_LOG_INFO, "conversation %s: %s", w->conversation_id,
                             result.message);
        finish(w, st, &result);
        return;
    }
    sb_status st = advance(w, &result);
    if (st != SB_PENDING)
        finish(w, st, &result);
}
