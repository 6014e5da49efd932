/*
 * cl_settings.h - an installation's channel settings, typed, and the checks
 * the settings schema cannot express: the offload team must not be a bot
 * team (the bot would answer the conversations it handed over), a bot agent
 * must be chosen, the external bot needs its URL. Whether the bot agent is
 * an admin of the workspace needs Intercom (GET /admins): cl_channel.c.
 * Pure.
 */
#ifndef CL_SETTINGS_H
#define CL_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

struct cl_settings {
    char **bot_team_ids;
    size_t n_bot_teams;
    char *bot_admin_id;    /* "" when not chosen */
    char *offload_team_id; /* "" when not chosen */
    bool external;         /* bot = "external": the endpoint decides, not the flows */
    char *endpoint_url;
    char *endpoint_key;    /* sensitive: sent as a bearer token, never logged */
};

/** Read the effective settings (settings_get's object); missing members read as empty. */
void cl_settings_from_json(json_object *settings, struct cl_settings *out);
void cl_settings_clear(struct cl_settings *settings);

/**
 * What stops the channel from working, as an array of {"setting","problem"},
 * with "missing": true on a setting not chosen yet (empty when nothing does).
 * The others are wrong values, which check_settings refuses. New reference.
 */
json_object *cl_settings_problems(const struct cl_settings *settings);

/** Append {"setting": @p setting, "problem": @p text} to @p problems. */
void cl_settings_problem_add(json_object *problems, const char *setting, const char *text);

/** True if @p team_id (NULL: none) is one of the bot teams. */
bool cl_settings_is_bot_team(const struct cl_settings *settings, const char *team_id);

#endif
