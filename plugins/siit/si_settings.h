/*
 * si_settings.h - the per-installation settings of siit: the schema the host
 * validates and shows, and their typed form for the plugin.
 */
#ifndef SI_SETTINGS_H
#define SI_SETTINGS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <switchboard/switchboard.h>

/** The schema, ending with a {NULL} entry (the descriptor points at it). */
extern const sb_setting si_settings_schema[];

/** The priorities a Siit request and an escalation may carry. NULL-terminated. */
extern const char *const si_priorities[];

struct si_settings {
    json_object *raw;                 /* owned: the host's effective settings */
    const char *default_ticket_type;  /* "" when unset */
    const char *default_priority;     /* one of si_priorities */
    json_object *selectable_teams;    /* borrowed from raw: array of team ids (strings) */
    const char *request_url_template; /* "" when unset; "{request_id}" is replaced */
};

/** Typed settings from @p raw (taken over; NULL gives the defaults). Release with si_settings_release. */
void si_settings_parse(json_object *raw, struct si_settings *out);
void si_settings_release(struct si_settings *s);

/** True when @p team_id is one of the selectable teams. */
bool si_team_selected(const struct si_settings *s, const char *team_id);
/** True when @p priority is one of si_priorities. */
bool si_priority_valid(const char *priority);
/**
 * The request's URL from the template, its id URL-escaped, or NULL when no template is set.
 * Caller frees.
 */
char *si_request_url(const struct si_settings *s, const char *request_id);

#endif
