/* cl_plan.c - a turn's plan from a flow or from the external bot, and the handover note. */
#include "cl_plan.h"

#include "plugin_kit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENDPOINT_REPLIES_MAX 10
#define ENDPOINT_TEXT_MAX 4000

static json_object *plan_new(const char *source, const char *flow, enum cl_action_type action)
{
    json_object *plan = pk_xchecked(json_object_new_object());
    sb_json_add_str(plan, "source", source);
    sb_json_add_str(plan, "flow", flow);
    json_object_object_add(plan, "replies", pk_xchecked(json_object_new_array()));
    sb_json_add_str(plan, "action", cl_action_name(action));
    sb_json_add_str(plan, "reason", NULL);
    sb_json_add_str(plan, "why", NULL);
    return plan;
}

static void add_reply(json_object *plan, const char *text)
{
    json_object_array_add(sb_json_arr(plan, "replies"), pk_xchecked(json_object_new_string(text)));
}

json_object *cl_plan_from_flow(const struct cl_flow *flow, const struct cl_vars *vars)
{
    if (!flow)
        return cl_plan_handover("flow", "no flow matched the message and there is no fallback");
    json_object *plan = plan_new("flow", flow->name, flow->action);
    for (size_t i = 0; i < flow->n_replies; i++) {
        char *text = cl_template_render(flow->replies[i], vars);
        add_reply(plan, text);
        free(text);
    }
    if (flow->action == CL_ACTION_CLOSE) {
        char *reason = cl_template_render(flow->reason, vars);
        sb_json_add_str(plan, "reason", reason);
        free(reason);
    }
    if (flow->action == CL_ACTION_HANDOVER) {
        char *why = pk_xasprintf("the flow \"%s\" hands over", flow->name);
        sb_json_add_str(plan, "why", why);
        free(why);
    }
    return plan;
}

json_object *cl_plan_handover(const char *source, const char *why)
{
    json_object *plan = plan_new(source, NULL, CL_ACTION_HANDOVER);
    sb_json_add_str(plan, "why", why);
    return plan;
}

json_object *cl_endpoint_request(const struct cl_message *msg, const char *workspace_id,
                                 json_object *bot_state)
{
    json_object *o = pk_xchecked(json_object_new_object());
    json_object *contact = pk_xchecked(json_object_new_object());
    sb_json_add_str(contact, "id", msg->author_id);
    sb_json_add_str(contact, "name", msg->author_name);
    sb_json_add_str(contact, "email", msg->author_email);
    sb_json_add_str(o, "conversation_id", msg->conversation_id);
    sb_json_add_str(o, "message_id", msg->message_id);
    sb_json_add_str(o, "workspace_id", workspace_id);
    json_object_object_add(o, "contact", contact);
    sb_json_add_str(o, "text", msg->text);
    json_object_object_add(o, "state", bot_state ? json_object_get(bot_state) : NULL);
    return o;
}

static bool text_valid(json_object *v)
{
    return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0
           && json_object_get_string_len(v) <= ENDPOINT_TEXT_MAX;
}

json_object *cl_plan_from_endpoint(json_object *answer, char *err, size_t errlen)
{
    if (!json_object_is_type(answer, json_type_object)) {
        snprintf(err, errlen, "the bot endpoint did not answer a JSON object");
        return NULL;
    }
    json_object *replies = sb_json_get(answer, "replies");
    size_t n = json_object_is_type(replies, json_type_array) ? json_object_array_length(replies) : 0;
    if (replies && (!json_object_is_type(replies, json_type_array) || n > ENDPOINT_REPLIES_MAX)) {
        snprintf(err, errlen, "\"replies\" must be a list of at most %d texts", ENDPOINT_REPLIES_MAX);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!text_valid(json_object_array_get_idx(replies, i))) {
            snprintf(err, errlen, "replies[%zu] must be a text of 1 to %d bytes", i,
                     ENDPOINT_TEXT_MAX);
            return NULL;
        }
    json_object *action = sb_json_get(answer, "action");
    enum cl_action_type type = CL_ACTION_NONE;
    json_object *reason = NULL;
    if (action) {
        const char *name = json_object_is_type(action, json_type_string) ? json_object_get_string(action)
                                                                         : sb_json_str(action, "type");
        if (!cl_action_from_name(name, &type)) {
            snprintf(err, errlen, "unknown action (known: handover, close)");
            return NULL;
        }
        reason = sb_json_get(action, "reason");
        if (type == CL_ACTION_CLOSE && !text_valid(reason)) {
            snprintf(err, errlen, "close needs a reason: a text of 1 to %d bytes", ENDPOINT_TEXT_MAX);
            return NULL;
        }
    }
    json_object *plan = plan_new("endpoint", NULL, type);
    for (size_t i = 0; i < n; i++)
        add_reply(plan, json_object_get_string(json_object_array_get_idx(replies, i)));
    if (type == CL_ACTION_CLOSE)
        sb_json_add_str(plan, "reason", json_object_get_string(reason));
    if (type == CL_ACTION_HANDOVER)
        sb_json_add_str(plan, "why", "the bot endpoint hands over");
    json_object *state = sb_json_get(answer, "state");
    json_object_object_add(plan, "bot_state", state ? json_object_get(state) : NULL);
    return plan;
}

enum cl_action_type cl_plan_action(json_object *plan)
{
    enum cl_action_type type = CL_ACTION_NONE;
    cl_action_from_name(sb_json_str(plan, "action"), &type);
    return type;
}

/* Append @p s HTML-escaped to the growing @p html. */
static char *append_escaped(char *html, const char *prefix, const char *s, const char *suffix)
{
    char *escaped = pk_xchecked(sb_html_escape(s));
    char *next = pk_xasprintf("%s%s%s%s", html, prefix, escaped, suffix);
    free(escaped);
    free(html);
    return next;
}

char *cl_handover_note_html(json_object *transcript, const char *why, const char *contact_name,
                            const char *contact_email)
{
    char *html = pk_xstrdup("<p><b>Handed over by the Chatlayer bot</b></p>");
    html = append_escaped(html, "<p>Why: ", why ? why : "the bot handed over", "</p>");
    if (contact_name || contact_email) {
        char *who = pk_xasprintf("%s%s%s%s", contact_name ? contact_name : "",
                                 contact_name && contact_email ? " <" : "",
                                 contact_email ? contact_email : "",
                                 contact_name && contact_email ? ">" : "");
        html = append_escaped(html, "<p>Contact: ", who, "</p>");
        free(who);
    }
    size_t n = json_object_is_type(transcript, json_type_array) ? json_object_array_length(transcript)
                                                                : 0;
    if (n == 0)
        return append_escaped(html, "<p>", "No transcript.", "</p>");
    html = append_escaped(html, "<p>Transcript:</p>", "", "<ul>");
    for (size_t i = 0; i < n; i++) {
        json_object *entry = json_object_array_get_idx(transcript, i);
        const char *from = pk_str_eq(sb_json_str(entry, "from"), "bot") ? "Bot" : "User";
        char *line = pk_xasprintf("%s: %s", from, sb_json_str(entry, "text") ? sb_json_str(entry, "text") : "");
        html = append_escaped(html, "<li>", line, "</li>");
        free(line);
    }
    char *done = pk_xasprintf("%s</ul>", html);
    free(html);
    return done;
}
