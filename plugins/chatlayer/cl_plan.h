/*
 * cl_plan.h - what one turn of the bot does, decided before anything is
 * sent: its replies (plain text), then an action (none, handover, close with
 * a reason), and the bot's new state. A turn saves its plan in the job's
 * checkpoint before it posts, so a retried or restarted turn carries out
 * the same plan instead of deciding again. As JSON:
 *   {"source": "flow"|"endpoint"|"failure", "flow": name or null,
 *    "replies": [text...], "action": "none"|"handover"|"close",
 *    "reason": text or null, "why": text or null (a handover's cause),
 *    "bot_state": any JSON (endpoint only)}
 * The external endpoint's protocol (cl_endpoint_request and
 * cl_plan_from_endpoint) and the handover note are here too. Pure.
 */
#ifndef CL_PLAN_H
#define CL_PLAN_H

#include <stddef.h>

#include <json-c/json.h>

#include "cl_flows.h"
#include "cl_message.h"
#include "cl_template.h"

/** The plan of a flow (NULL: none matched and no fallback: hand over). New reference. */
json_object *cl_plan_from_flow(const struct cl_flow *flow, const struct cl_vars *vars);
/** A handover without replies because of @p why (the endpoint failed, say). New reference. */
json_object *cl_plan_handover(const char *source, const char *why);

/**
 * The external bot's request: {"conversation_id", "message_id", "workspace_id",
 * "contact": {"id","name","email"}, "text", "state"} (state null at first).
 */
json_object *cl_endpoint_request(const struct cl_message *msg, const char *workspace_id,
                                 json_object *bot_state);
/**
 * The plan from the external bot's answer {"replies": [text...], "state": any,
 * "action": null | "handover" | {"type": "handover"} | {"type": "close",
 * "reason": text}}; NULL with the reason in @p err when it is malformed.
 */
json_object *cl_plan_from_endpoint(json_object *answer, char *err, size_t errlen);

/** The action of a plan. */
enum cl_action_type cl_plan_action(json_object *plan);

/**
 * The internal note a handover leaves for the human team: why, who the
 * contact is, and the transcript ({"from","text"} entries). HTML, escaped.
 * New string.
 */
char *cl_handover_note_html(json_object *transcript, const char *why, const char *contact_name,
                            const char *contact_email);

#endif
