/* si_settings.c - settings schema and its typed form. */
#include "si_settings.h"

#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

#define REQUEST_ID_PLACEHOLDER "{request_id}"

const char *const si_priorities[] = {"low", "medium", "high", "urgent", NULL};

const sb_setting si_settings_schema[] = {
    {.name = "default_ticket_type", .type = SB_SETTING_STRING, .default_value = "",
     .description = "Intercom ticket type id used when an escalation names none "
                    "(GET /api/siit/ticket_types lists them)"},
    {.name = "default_priority", .type = SB_SETTING_ENUM, .default_value = "medium",
     .allowed = si_priorities,
     .description = "priority of an escalation that names none"},
    {.name = "selectable_teams", .type = SB_SETTING_STRING_LIST, .default_value = "",
     .description = "Intercom team ids offered for escalation (GET /api/siit/teams lists the "
                    "workspace's teams); escalating to another team is refused"},
    {.name = "request_url_template", .type = SB_SETTING_STRING, .default_value = "",
     .description = "URL of a Siit request, with {request_id} in it, used when the request "
                    "reported no URL, e.g. https://acme.siit.io/requests/{request_id}"},
    {.name = NULL},
};

void si_settings_parse(json_object *raw, struct si_settings *out)
{
    memset(out, 0, sizeof *out);
    out->raw = raw;
    const char *type = sb_json_str(raw, "default_ticket_type");
    out->default_ticket_type = type ? type : "";
    const char *priority = sb_json_str(raw, "default_priority");
    out->default_priority = si_priority_valid(priority) ? priority : "medium";
    out->selectable_teams = sb_json_arr(raw, "selectable_teams");
    const char *tpl = sb_json_str(raw, "request_url_template");
    out->request_url_template = tpl ? tpl : "";
}

void si_settings_release(struct si_settings *s)
{
    json_object_put(s->raw);
    memset(s, 0, sizeof *s);
}

bool si_team_selected(const struct si_settings *s, const char *team_id)
{
    size_t n = s->selectable_teams ? json_object_array_length(s->selectable_teams) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(s->selectable_teams, i);
        if (json_object_is_type(t, json_type_string)
            && pk_str_eq(json_object_get_string(t), team_id))
            return true;
    }
    return false;
}

bool si_priority_valid(const char *priority)
{
    for (size_t i = 0; priority && si_priorities[i]; i++)
        if (strcmp(si_priorities[i], priority) == 0)
            return true;
    return false;
}

char *si_request_url(const struct si_settings *s, const char *request_id)
{
    const char *tpl = s->request_url_template;
    const char *at = strstr(tpl, REQUEST_ID_PLACEHOLDER);
    if (!*tpl || !at)
        return NULL;
    char *escaped = pk_xchecked(sb_url_escape(request_id));
    char *url = pk_xasprintf("%.*s%s%s", (int)(at - tpl), tpl, escaped,
                             at + strlen(REQUEST_ID_PLACEHOLDER));
    free(escaped);
    return url;
}
