/* cl_settings.c - typed channel settings and their checks. */
#include "cl_settings.h"

#include "plugin_kit.h"

#include <string.h>

static char *string_of(json_object *settings, const char *key)
{
    const char *s = sb_json_str(settings, key);
    return pk_xstrdup(s ? s : "");
}

void cl_settings_from_json(json_object *settings, struct cl_settings *out)
{
    memset(out, 0, sizeof *out);
    json_object *teams = sb_json_arr(settings, "bot_team_ids");
    size_t n = teams ? json_object_array_length(teams) : 0;
    out->bot_team_ids = pk_xcalloc(n ? n : 1, sizeof *out->bot_team_ids);
    for (size_t i = 0; i < n; i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(teams, i));
        if (id && *id)
            out->bot_team_ids[out->n_bot_teams++] = pk_xstrdup(id);
    }
    out->bot_admin_id = string_of(settings, "bot_admin_id");
    out->offload_team_id = string_of(settings, "offload_team_id");
    out->external = pk_str_eq(sb_json_str(settings, "bot"), "external");
    out->endpoint_url = string_of(settings, "endpoint_url");
    out->endpoint_key = string_of(settings, "endpoint_key");
}

void cl_settings_clear(struct cl_settings *settings)
{
    for (size_t i = 0; i < settings->n_bot_teams; i++)
        free(settings->bot_team_ids[i]);
    free(settings->bot_team_ids);
    free(settings->bot_admin_id);
    free(settings->offload_team_id);
    free(settings->endpoint_url);
    free(settings->endpoint_key);
    memset(settings, 0, sizeof *settings);
}

bool cl_settings_is_bot_team(const struct cl_settings *settings, const char *team_id)
{
    for (size_t i = 0; team_id && i < settings->n_bot_teams; i++)
        if (strcmp(settings->bot_team_ids[i], team_id) == 0)
            return true;
    return false;
}

/* Intercom's admin and team ids are decimal numbers. */
static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 20)
        return false;
    for (const char *c = id; *c; c++)
        if (*c < '0' || *c > '9')
            return false;
    return true;
}

void cl_settings_problem_add(json_object *list, const char *setting, const char *text)
{
    json_object *o = pk_xchecked(json_object_new_object());
    sb_json_add_str(o, "setting", setting);
    sb_json_add_str(o, "problem", text);
    json_object_array_add(list, o);
}

/* A setting not chosen yet: the integrator may be setting them one at a time. */
static void missing_add(json_object *list, const char *setting, const char *text)
{
    cl_settings_problem_add(list, setting, text);
    sb_json_add_bool(json_object_array_get_idx(list, json_object_array_length(list) - 1),
                     "missing", true);
}

json_object *cl_settings_problems(const struct cl_settings *s)
{
    json_object *list = pk_xchecked(json_object_new_array());
    if (s->n_bot_teams == 0)
        missing_add(list, "bot_team_ids", "no bot team: the bot answers no conversation");
    for (size_t i = 0; i < s->n_bot_teams; i++)
        if (!id_valid(s->bot_team_ids[i])) {
            char *text = pk_xasprintf("'%s' is not a team id (a number, as in the team's "
                                      "inbox URL)", s->bot_team_ids[i]);
            cl_settings_problem_add(list, "bot_team_ids", text);
            free(text);
        }
    if (!*s->bot_admin_id)
        missing_add(list, "bot_admin_id", "no bot agent: choose the admin the bot's messages are "
                                      "sent as (GET /api/chatlayer/admins)");
    else if (!id_valid(s->bot_admin_id))
        cl_settings_problem_add(list, "bot_admin_id", "not an admin id (a number)");
    if (!*s->offload_team_id)
        missing_add(list, "offload_team_id", "no offload team: a handover has no team to go to");
    else if (!id_valid(s->offload_team_id))
        cl_settings_problem_add(list, "offload_team_id", "not a team id (a number)");
    else if (cl_settings_is_bot_team(s, s->offload_team_id))
        cl_settings_problem_add(list, "offload_team_id",
                "the offload team is one of the bot teams: the bot would answer the "
                "conversations it hands over; pick a team the bot does not serve");
    if (s->external && !*s->endpoint_url)
        missing_add(list, "endpoint_url", "bot is \"external\" but no endpoint_url is set");
    else if (s->external && strncmp(s->endpoint_url, "https://", 8) != 0
             && strncmp(s->endpoint_url, "http://", 7) != 0)
        cl_settings_problem_add(list, "endpoint_url", "not an http:// or https:// URL");
    return list;
}
