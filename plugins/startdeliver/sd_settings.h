/*
 * sd_settings.h - the per-installation settings of startdeliver: the schema
 * the host validates and shows, and their typed form for the plugin.
 */
#ifndef SD_SETTINGS_H
#define SD_SETTINGS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <switchboard/switchboard.h>

#include "sd_rules.h"

/** The schema, ending with a {NULL} entry (the descriptor points at it). */
extern const sb_setting sd_settings_schema[];

struct sd_settings {
    bool create_users;          /* create product users for unmatched Intercom contacts */
    bool eu_data_hosting;       /* the integrator's statement; checked against /me (app.region) */
    bool events_as_usage;       /* Intercom events become usage events */
    bool advanced_push;         /* write product values into Intercom attributes */
    bool include_notes;         /* tickets' messages include the team's internal notes */
    int64_t sync_interval_hours;
    struct sd_rules rules;      /* overdue threshold and health thresholds */
};

/**
 * Typed settings from the host's effective settings object (settings_get).
 * Missing or mistyped members keep the schema's defaults, so a NULL object
 * yields exactly the defaults.
 */
void sd_settings_parse(json_object *settings, struct sd_settings *out);

/**
 * The warning to show when the EU data hosting setting disagrees with the
 * region Intercom reported for the workspace, or NULL when they agree.
 * Static text.
 */
const char *sd_region_mismatch(const struct sd_settings *settings, const char *region);

#endif
