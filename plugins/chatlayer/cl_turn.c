/*
 * cl_turn.c - one user message through the bot (the "message" job).
 *
 * A turn reads the conversation's document, decides its plan (cl_plan.h)
 * from the flows or from the external endpoint, and saves the plan with the
 * user's message in one write: the checkpoint {"plan", "step"} and the
 * conversation document commit together. Then it carries the plan out one
 * Intercom call at a time - each reply as the bot agent, then the handover
 * (an internal note with the transcript, then the assignment to the offload
 * team) or the close (with the reason as the message to the user) - and
 * advances the checkpoint after each call, so a retry or a restart after a
 * crash resumes at the first step not done instead of posting twice.
 *
 * The endpoint is called through outbound_request; a failure or a malformed
 * answer is retried through the job queue (RETRY with the endpoint's
 * backoff) and, at the last of options.endpoint_attempts, becomes a
 * handover, so the user is never left without an answer.
 */
#include "cl_plugin.h"

#include "cl_plan.h"
#include "cl_template.h"
#include "plugin_kit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEN_MAX 50
#define POSTED_MAX 50

struct cl_turn {
    struct cl_turn *prev, *next; /* in cl_plugin.turns while waiting */
    struct cl_plugin *cl;
    sb_job_id job;
    uint32_t attempt;
    sb_installation_id inst;
    char *workspace_id;
    struct cl_settings settings;
    struct cl_message msg;
    json_object *plan;
    size_t step; /* the next step of the plan */
};

static void turn_link(struct cl_turn *t)
{
    t->next = t->cl->turns;
    if (t->next)
        t->next->prev = t;
    t->cl->turns = t;
}

static void turn_free(struct cl_turn *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else if (t->cl->turns == t)
        t->cl->turns = t->next;
    if (t->next)
        t->next->prev = t->prev;
    cl_settings_clear(&t->settings);
    cl_message_clear(&t->msg);
    json_object_put(t->plan);
    free(t->workspace_id);
    free(t);
}

void cl_turns_free(struct cl_plugin *cl)
{
    while (cl->turns)
        turn_free(cl->turns);
}

/* End a waiting turn: tell the host how the job ended and forget the turn. */
static void turn_end(struct cl_turn *t, sb_status status, const sb_result *result)
{
    sb_result ok = {0};
    t->cl->host->job_complete(t->cl->self, t->job, status, result ? result : &ok);
    turn_free(t);
}

static size_t reply_count(const struct cl_turn *t)
{
    json_object *replies = sb_json_arr(t->plan, "replies");
    return replies ? json_object_array_length(replies) : 0;
}

/* Replies, then the action's calls: a handover is a note and an assignment, a close one call. */
static size_t step_count(const struct cl_turn *t)
{
    enum cl_action_type action = cl_plan_action(t->plan);
    return reply_count(t) + (action == CL_ACTION_HANDOVER ? 2 : action == CL_ACTION_CLOSE ? 1 : 0);
}

static int64_t now_ms(struct cl_plugin *cl)
{
    return cl->host->now_ms(cl->self);
}

static void save_checkpoint(struct cl_turn *t)
{
    json_object *cp = pk_xchecked(json_object_new_object());
    json_object_object_add(cp, "plan", json_object_get(t->plan));
    sb_json_add_int(cp, "step", (int64_t)t->step);
    t->cl->host->job_checkpoint(t->cl->self, t->job, cp);
    json_object_put(cp);
}

/* The conversation's document as it is now (a new one if it has none). */
static json_object *conversation_of(struct cl_turn *t)
{
    json_object *conv = cl_conversation_get(t->cl, t->inst, t->msg.conversation_id);
    return conv ? conv : cl_conversation_new(t->msg.conversation_id, now_ms(t->cl));
}

static void transcript_add(struct cl_turn *t, json_object *conv, const char *from, const char *text)
{
    json_object *entry = pk_xchecked(json_object_new_object());
    sb_json_add_int(entry, "at", now_ms(t->cl));
    sb_json_add_str(entry, "from", from);
    sb_json_add_str(entry, "text", text);
    cl_list_push(conv, "transcript", entry, t->cl->options.transcript_max);
}

/*
 * The plan is decided: record the user's message and the plan in the
 * conversation and the checkpoint, together (one callback, one transaction).
 */
static void plan_commit(struct cl_turn *t)
{
    json_object *conv = conversation_of(t);
    if (sb_json_int(conv, "turns", 0) == 0)
        cl_count(t->cl, t->inst, "handled");
    if (pk_str_eq(sb_json_str(conv, "status"), "closed"))
        sb_json_add_str(conv, "status", "active"); /* the user wrote again: reopened */
    transcript_add(t, conv, "user", t->msg.text);
    cl_list_push(conv, "seen", pk_xchecked(json_object_new_string(t->msg.message_id)), SEEN_MAX);
    sb_json_add_int(conv, "turns", sb_json_int(conv, "turns", 0) + 1);
    sb_json_add_int(conv, "updated_at", now_ms(t->cl));
    sb_json_add_str(conv, "last_flow", sb_json_str(t->plan, "flow"));
    json_object *bot_state;
    if (json_object_object_get_ex(t->plan, "bot_state", &bot_state))
        json_object_object_add(conv, "bot_state", json_object_get(bot_state));
    cl_conversation_put(t->cl, t->inst, conv);
    json_object_put(conv);
    t->step = 0;
    save_checkpoint(t);
}

/* Every step done: the conversation takes the action's status. */
static void turn_finish(struct cl_turn *t)
{
    enum cl_action_type action = cl_plan_action(t->plan);
    json_object *conv = conversation_of(t);
    if (action == CL_ACTION_HANDOVER) {
        sb_json_add_str(conv, "status", "handed_over");
        sb_json_add_int(conv, "handed_over_at", now_ms(t->cl));
        sb_json_add_str(conv, "why", sb_json_str(t->plan, "why"));
        cl_count(t->cl, t->inst, "handed_over");
        t->cl->host->audit(t->cl->self, t->inst, t->msg.conversation_id, "handed_over",
                           sb_json_str(t->plan, "why"));
    } else if (action == CL_ACTION_CLOSE) {
        sb_json_add_str(conv, "status", "closed");
        sb_json_add_int(conv, "closed_at", now_ms(t->cl));
        sb_json_add_str(conv, "close_reason", sb_json_str(t->plan, "reason"));
        cl_count(t->cl, t->inst, "closed");
        t->cl->host->audit(t->cl->self, t->inst, t->msg.conversation_id, "closed",
                           sb_json_str(t->plan, "reason"));
    }
    sb_json_add_int(conv, "updated_at", now_ms(t->cl));
    cl_conversation_put(t->cl, t->inst, conv);
    json_object_put(conv);
}

/* The id of the newest part the bot agent wrote, from a call's conversation answer; NULL if none. */
static const char *bot_part_id(json_object *conversation, const char *bot_admin_id)
{
    json_object *parts = sb_json_arr(sb_json_obj(conversation, "conversation_parts"),
                                     "conversation_parts");
    for (size_t i = parts ? json_object_array_length(parts) : 0; i > 0; i--) {
        json_object *part = json_object_array_get_idx(parts, i - 1);
        if (pk_str_eq(sb_json_str(sb_json_obj(part, "author"), "id"), bot_admin_id))
            return sb_json_str(part, "id");
    }
    return NULL;
}

static void run_steps(struct cl_turn *t);

static void step_done(void *arg, const sb_intercom_response *res)
{
    struct cl_turn *t = arg;
    struct cl_plugin *cl = t->cl;
    if (res->kind != SB_ERR_NONE) {
        sb_result result = {0};
        char what[96];
        snprintf(what, sizeof what, "step %zu of the bot's turn in conversation %s", t->step + 1,
                 t->msg.conversation_id);
        sb_status status = cl->host->result_from_error(cl->self, res, what, &result);
        cl->host->log(cl->self, SB_LOG_WARN, "%s", result.message);
        turn_end(t, status, &result);
        return;
    }
    /* What the bot posted is kept: its text for the transcript, its id to know its echo. */
    json_object *conv = conversation_of(t);
    size_t replies = reply_count(t);
    const char *text = t->step < replies
                           ? json_object_get_string(
                                 json_object_array_get_idx(sb_json_arr(t->plan, "replies"), t->step))
                       : cl_plan_action(t->plan) == CL_ACTION_CLOSE ? sb_json_str(t->plan, "reason")
                                                                    : NULL;
    if (text)
        transcript_add(t, conv, "bot", text);
    const char *part = bot_part_id(res->body, t->settings.bot_admin_id);
    if (part)
        cl_list_push(conv, "posted", pk_xchecked(json_object_new_string(part)), POSTED_MAX);
    sb_json_add_int(conv, "updated_at", now_ms(cl));
    cl_conversation_put(cl, t->inst, conv);
    json_object_put(conv);
    t->step++;
    save_checkpoint(t);
    run_steps(t);
}

static sb_request_id parts_request(struct cl_turn *t, json_object *body, unsigned flags)
{
    char *path = pk_xasprintf("/conversations/%s/parts", t->msg.conversation_id);
    sb_intercom_request req = {.method = "POST", .path = path, .body = body, .flags = flags};
    sb_request_id id = t->cl->host->intercom_request(t->cl->self, t->inst, &req, step_done, t);
    free(path);
    return id;
}

/* Start the call of the current step; the last step done, finish the turn. */
static void run_steps(struct cl_turn *t)
{
    struct cl_plugin *cl = t->cl;
    size_t replies = reply_count(t);
    if (t->step >= step_count(t)) {
        turn_finish(t);
        turn_end(t, SB_OK, NULL);
        return;
    }
    sb_request_id id;
    const char *bot = t->settings.bot_admin_id;
    if (t->step < replies) {
        const char *text = json_object_get_string(
            json_object_array_get_idx(sb_json_arr(t->plan, "replies"), t->step));
        char *html = cl_text_html(text);
        id = cl->host->conversation_reply(cl->self, t->inst, t->msg.conversation_id,
                                          SB_REPLY_COMMENT, html, bot, step_done, t);
        free(html);
    } else if (cl_plan_action(t->plan) == CL_ACTION_CLOSE) {
        char *html = cl_text_html(sb_json_str(t->plan, "reason"));
        json_object *body = pk_xchecked(json_object_new_object());
        sb_json_add_str(body, "message_type", "close");
        sb_json_add_str(body, "type", "admin");
        sb_json_add_str(body, "admin_id", bot);
        sb_json_add_str(body, "body", html);
        id = parts_request(t, body, 0); /* not retried: its body is a message to the user */
        json_object_put(body);
        free(html);
    } else if (t->step == replies) {
        /* The handover's note first, so the team finds the transcript when the conversation arrives. */
        json_object *conv = conversation_of(t);
        char *html = cl_handover_note_html(sb_json_arr(conv, "transcript"),
                                           sb_json_str(t->plan, "why"), t->msg.author_name,
                                           t->msg.author_email);
        id = cl->host->conversation_reply(cl->self, t->inst, t->msg.conversation_id,
                                          SB_REPLY_NOTE, html, bot, step_done, t);
        free(html);
        json_object_put(conv);
    } else {
        json_object *body = pk_xchecked(json_object_new_object());
        sb_json_add_str(body, "message_type", "assignment");
        sb_json_add_str(body, "type", "team");
        sb_json_add_str(body, "admin_id", bot);
        sb_json_add_str(body, "assignee_id", t->settings.offload_team_id);
        id = parts_request(t, body, SB_INTERCOM_RETRY_SAFE); /* assigning twice changes nothing */
        json_object_put(body);
    }
    if (!id) {
        sb_result result = {0};
        sb_result_fail(&result, SB_FAIL, "plugin_error", "the host refused step %zu of the turn",
                       t->step + 1);
        turn_end(t, SB_FAIL, &result);
    }
}

static void endpoint_done(void *arg, const sb_outbound_response *res)
{
    struct cl_turn *t = arg;
    struct cl_plugin *cl = t->cl;
    char why[200] = "";
    if (res->kind != SB_ERR_NONE)
        snprintf(why, sizeof why, "%s", res->error_message ? res->error_message
                                                            : sb_error_kind_name(res->kind));
    else
        t->plan = cl_plan_from_endpoint(res->json, why, sizeof why);
    if (!t->plan) {
        cl->host->log(cl->self, SB_LOG_WARN, "conversation %s: bot endpoint, attempt %u of %u: %s",
                      t->msg.conversation_id, t->attempt, cl->options.endpoint_attempts, why);
        if (t->attempt < cl->options.endpoint_attempts) {
            sb_result result = {0};
            uint32_t wait = cl->options.endpoint_backoff_s << (t->attempt - 1);
            result.retry_after_s = res->retry_after_s > wait ? res->retry_after_s : wait;
            sb_result_fail(&result, SB_RETRY, "endpoint_failed", "bot endpoint: %s", why);
            turn_end(t, SB_RETRY, &result);
            return;
        }
        char *handover = pk_xasprintf("the bot endpoint failed %u times (last: %s)", t->attempt, why);
        t->plan = cl_plan_handover("failure", handover);
        free(handover);
    }
    plan_commit(t);
    run_steps(t);
}

static sb_status ask_endpoint(struct cl_turn *t, sb_result *result)
{
    struct cl_plugin *cl = t->cl;
    json_object *conv = cl_conversation_get(cl, t->inst, t->msg.conversation_id);
    json_object *request = cl_endpoint_request(&t->msg, t->workspace_id, sb_json_get(conv, "bot_state"));
    json_object_put(conv);
    const char *body = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
    char *auth = *t->settings.endpoint_key ? pk_xasprintf("Authorization: Bearer %s",
                                                          t->settings.endpoint_key)
                                           : NULL;
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json", auth,
                             NULL};
    sb_outbound_request req = {.method = "POST", .url = t->settings.endpoint_url, .headers = headers,
                               .body = body, .body_len = strlen(body),
                               .timeout_ms = cl->options.endpoint_timeout_ms};
    sb_request_id id = cl->host->outbound_request(cl->self, &req, endpoint_done, t);
    json_object_put(request);
    free(auth);
    if (!id)
        return sb_result_fail(result, SB_FAIL, "plugin_error", "the host refused the endpoint call");
    return SB_PENDING;
}

/* Why this message gets no answer, or NULL if the bot should answer it. */
static const char *silence_reason(json_object *conv, const struct cl_message *msg)
{
    if (pk_str_eq(sb_json_str(conv, "status"), "handed_over"))
        return "handed over to a human: the bot stays silent";
    if (cl_list_has(conv, "seen", msg->message_id))
        return "already answered (a repeated delivery)";
    if (cl_list_has(conv, "posted", msg->message_id))
        return "the bot's own message";
    return NULL;
}

static sb_status turn_start(struct cl_turn *t, const sb_job *job, sb_result *result)
{
    struct cl_plugin *cl = t->cl;
    json_object *saved = sb_json_obj(job->checkpoint, "plan");
    if (saved) {
        /* A retry or a restart: carry out the saved plan from its first step not done. */
        t->plan = json_object_get(saved);
        t->step = (size_t)sb_json_int(job->checkpoint, "step", 0);
        cl->host->log(cl->self, SB_LOG_INFO, "conversation %s: resuming the turn at step %zu",
                      t->msg.conversation_id, t->step + 1);
        return SB_PENDING;
    }
    json_object *conv = cl_conversation_get(cl, t->inst, t->msg.conversation_id);
    const char *silent = silence_reason(conv, &t->msg);
    if (silent)
        cl->host->log(cl->self, SB_LOG_INFO, "conversation %s: message %s not answered: %s",
                      t->msg.conversation_id, t->msg.message_id, silent);
    json_object_put(conv);
    if (silent)
        return SB_OK;
    if (t->settings.external)
        return ask_endpoint(t, result);
    struct cl_vars vars = {t->msg.conversation_id, t->msg.author_name, t->msg.author_email};
    t->plan = cl_plan_from_flow(cl_flows_match(&cl->options, t->msg.text), &vars);
    plan_commit(t);
    return SB_PENDING;
}

sb_status cl_turn_job(struct cl_plugin *cl, const sb_job *job, sb_result *result)
{
    struct cl_turn *t = pk_xcalloc(1, sizeof *t);
    t->cl = cl;
    t->job = job->id;
    t->attempt = job->attempt;
    t->inst = job->installation;
    if (!cl_message_from_json(job->payload, &t->msg)) {
        turn_free(t);
        return sb_result_fail(result, SB_FAIL, "invalid_payload", "job %llu: not a message payload",
                              (unsigned long long)job->id);
    }
    sb_installation inst;
    if (cl->host->installation_get(cl->self, job->installation, &inst) != 0) {
        turn_free(t);
        return sb_result_set(result, SB_OK, "installation %lld is gone", (long long)job->installation);
    }
    t->workspace_id = pk_xstrdup(inst.workspace_id);
    cl_settings_of(cl, job->installation, &t->settings);
    json_object *problems = cl_settings_problems(&t->settings);
    if (json_object_array_length(problems) > 0) {
        sb_status st = sb_result_fail(result, SB_FAIL, "channel_not_configured",
                                      "conversation %s not answered: %s: %s (fix the settings, "
                                      "then replay this job)",
                                      t->msg.conversation_id,
                                      sb_json_str(json_object_array_get_idx(problems, 0), "setting"),
                                      sb_json_str(json_object_array_get_idx(problems, 0), "problem"));
        json_object_put(problems);
        turn_free(t);
        return st;
    }
    json_object_put(problems);
    sb_status st = turn_start(t, job, result);
    if (st != SB_PENDING) {
        turn_free(t);
        return st;
    }
    if (t->plan && t->step >= step_count(t)) {
        /* Nothing to send (or all of it sent before a crash): the turn ends now. */
        turn_finish(t);
        turn_free(t);
        return SB_OK;
    }
    turn_link(t);
    if (t->plan)
        run_steps(t); /* the endpoint's turns run from its callback */
    return SB_PENDING;
}
