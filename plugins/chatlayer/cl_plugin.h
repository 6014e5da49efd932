/*
 * cl_plugin.h - the chatlayer plugin's state, its documents and the entry
 * points its host-facing files share. Everything runs on the host's loop
 * thread.
 *
 * Documents per installation:
 *   conversations  <conversation id> -> the bot's conversation (cl_store.c):
 *                  {"conversation_id","status":"active"|"handed_over"|"closed",
 *                   "turns","started_at","updated_at","last_flow","bot_state",
 *                   "transcript":[{"at","from":"user"|"bot","text"}],
 *                   "seen":[message ids],"posted":[part ids the bot posted],
 *                   "handed_over_at","closed_at","close_reason","why"}
 *   stats          "counts" -> {"handled","handed_over","closed"}
 *   channel        "check" -> the last check of the settings against
 *                  Intercom (cl_channel.c)
 */
#ifndef CL_PLUGIN_H
#define CL_PLUGIN_H

#include <switchboard/switchboard.h>

#include "cl_flows.h"
#include "cl_message.h"
#include "cl_settings.h"

#define CL_CONVERSATIONS "conversations"
#define CL_STATS "stats"
#define CL_CHANNEL "channel"

/** Job types (on_job). */
#define CL_JOB_MESSAGE "message"      /* one user message, keyed by its conversation */
#define CL_JOB_CHECK_CHANNEL "check_channel"

struct cl_turn;

struct cl_plugin {
    sb_plugin *self;
    const sb_host *host;
    struct cl_options options;
    struct cl_turn *turns; /* turns waiting for Intercom or the endpoint (cl_turn.c) */
};

/* ---- cl_event.c: webhooks ---- */

sb_status cl_on_event(void *state, const sb_event *ev, sb_result *result);

/* ---- cl_turn.c: one user message through the bot ---- */

sb_status cl_turn_job(struct cl_plugin *cl, const sb_job *job, sb_result *result);
/** Free the turns still waiting (at shutdown). */
void cl_turns_free(struct cl_plugin *cl);

/* ---- cl_store.c: documents ---- */

/** The conversation's document, or NULL. New reference. */
json_object *cl_conversation_get(struct cl_plugin *cl, sb_installation_id inst, const char *id);
/** A new conversation document. */
json_object *cl_conversation_new(const char *id, int64_t now_ms);
/** Store it (borrowed); 0 or -1. */
int cl_conversation_put(struct cl_plugin *cl, sb_installation_id inst, json_object *conv);
/** Append to a bounded array member (keeping the newest @p max). */
void cl_list_push(json_object *o, const char *key, json_object *value, size_t max);
/** True if the array member @p key holds the string @p value. */
bool cl_list_has(json_object *o, const char *key, const char *value);
/** Add one to counter @p name ("handled", "handed_over", "closed"); 0 or -1. */
int cl_count(struct cl_plugin *cl, sb_installation_id inst, const char *name);
/** The counters, zeros included. New reference. */
json_object *cl_counts(struct cl_plugin *cl, sb_installation_id inst);
/** The installation's typed settings (clear with cl_settings_clear). */
void cl_settings_of(struct cl_plugin *cl, sb_installation_id inst, struct cl_settings *out);

/* ---- cl_channel.c: the settings against Intercom ---- */

/** Check the settings against GET /admins and the teams, store the result; job or API. */
sb_status cl_channel_check_job(struct cl_plugin *cl, const sb_job *job, sb_result *result);
/** The URL to register as the Intercom app's webhook. New string. */
char *cl_webhook_url(struct cl_plugin *cl);

/* ---- cl_api.c: the product API ---- */

extern const sb_route cl_routes[];

#endif
