/*
 * cl_event.c - webhooks: a user message in a conversation assigned to a bot
 * team becomes a "message" job keyed by the conversation, so one
 * conversation's messages reach the bot one at a time and in order while
 * other conversations run alongside. Everything else is ignored here:
 * teammates' replies and notes, the bot's own messages echoed back,
 * conversations of other teams.
 */
#include "cl_plugin.h"

#include "plugin_kit.h"

#include <string.h>

sb_status cl_on_event(void *state, const sb_event *ev, sb_result *result)
{
    struct cl_plugin *cl = state;
    struct cl_message msg;
    char why[160];
    if (!cl_message_from_item(ev->item, &msg, why, sizeof why)) {
        cl->host->log(cl->self, SB_LOG_INFO, "%s ignored: %s", ev->topic, why);
        return SB_OK;
    }
    struct cl_settings settings;
    cl_settings_of(cl, ev->installation, &settings);
    const char *ignored = NULL;
    if (pk_str_eq(msg.author_id, settings.bot_admin_id) && !cl_message_from_contact(&msg))
        ignored = "the bot's own message";
    else if (!cl_message_from_contact(&msg))
        ignored = "not written by the contact";
    else if (!cl_message_for_bot(&msg))
        ignored = "not a message with text (a note or an event)";
    else if (!cl_settings_is_bot_team(&settings, msg.team_id))
        ignored = "not assigned to a bot team";
    sb_status status = SB_OK;
    if (ignored) {
        cl->host->log(cl->self, SB_LOG_INFO, "conversation %s: part %s ignored: %s",
                      msg.conversation_id, msg.message_id, ignored);
    } else {
        json_object *payload = cl_message_to_json(&msg);
        if (!cl->host->job_enqueue(cl->self, ev->installation, CL_JOB_MESSAGE, msg.conversation_id,
                                   payload, 0))
            status = sb_result_set(result, SB_RETRY, "could not queue the message of conversation %s",
                                   msg.conversation_id);
        json_object_put(payload);
    }
    cl_settings_clear(&settings);
    cl_message_clear(&msg);
    return status;
}
