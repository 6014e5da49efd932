/* sd_settings.c - settings schema and its typed form. */
#include "sd_settings.h"

#include "sd_util.h"

#include <string.h>

/* Defaults, as numbers for sd_settings_parse and as text for the schema. */
#define DEFAULT_INTERVAL_H 24
#define DEFAULT_OVERDUE_H 24
#define DEFAULT_FAIR_OVERDUE 1
#define DEFAULT_POOR_OVERDUE 3
#define DEFAULT_FAIR_UNRESOLVED 10
#define STR2(x) #x
#define STR(x) STR2(x)

const sb_setting sd_settings_schema[] = {
    {.name = "create_users", .type = SB_SETTING_BOOL, .default_value = "false",
     .description = "create users for Intercom contacts that match no user; when off, their "
                    "tickets are skipped and counted"},
    {.name = "eu_data_hosting", .type = SB_SETTING_BOOL, .default_value = "false",
     .description = "the workspace is hosted in the EU; checked against the region Intercom "
                    "reports, which decides the API host"},
    {.name = "events_as_usage", .type = SB_SETTING_BOOL, .default_value = "false",
     .description = "import each matched user's Intercom events as usage events"},
    {.name = "advanced_push", .type = SB_SETTING_BOOL, .default_value = "false",
     .description = "write usage health, last login, health score and custom fields into "
                    "Intercom contact and company attributes"},
    {.name = "include_notes", .type = SB_SETTING_BOOL, .default_value = "false",
     .description = "show the team's internal notes among a ticket's messages"},
    {.name = "sync_interval_hours", .type = SB_SETTING_INT,
     .default_value = STR(DEFAULT_INTERVAL_H), .min = 1, .max = 168,
     .description = "hours between scheduled syncs"},
    {.name = "overdue_threshold_hours", .type = SB_SETTING_INT,
     .default_value = STR(DEFAULT_OVERDUE_H), .min = 1, .max = 8760,
     .description = "hours a customer may wait for an answer before the ticket is overdue"},
    {.name = "health_fair_overdue", .type = SB_SETTING_INT,
     .default_value = STR(DEFAULT_FAIR_OVERDUE), .min = 1, .max = 1000000,
     .description = "overdue tickets that make a customer's support health Fair"},
    {.name = "health_poor_overdue", .type = SB_SETTING_INT,
     .default_value = STR(DEFAULT_POOR_OVERDUE), .min = 1, .max = 1000000,
     .description = "overdue tickets that make a customer's support health Poor"},
    {.name = "health_fair_unresolved", .type = SB_SETTING_INT,
     .default_value = STR(DEFAULT_FAIR_UNRESOLVED), .min = 0, .max = 1000000,
     .description = "unresolved (open or overdue) tickets that make support health Fair; "
                    "0 turns this rule off"},
    {.name = NULL},
};

static int64_t positive(json_object *settings, const char *key, int64_t fallback)
{
    int64_t v = sb_json_int(settings, key, fallback);
    return v > 0 ? v : fallback;
}

void sd_settings_parse(json_object *settings, struct sd_settings *out)
{
    memset(out, 0, sizeof *out);
    out->create_users = sb_json_bool(settings, "create_users", false);
    out->eu_data_hosting = sb_json_bool(settings, "eu_data_hosting", false);
    out->events_as_usage = sb_json_bool(settings, "events_as_usage", false);
    out->advanced_push = sb_json_bool(settings, "advanced_push", false);
    out->include_notes = sb_json_bool(settings, "include_notes", false);
    out->sync_interval_hours = positive(settings, "sync_interval_hours", DEFAULT_INTERVAL_H);
    out->rules.overdue_after_s =
        positive(settings, "overdue_threshold_hours", DEFAULT_OVERDUE_H) * 3600;
    out->rules.fair_overdue = positive(settings, "health_fair_overdue", DEFAULT_FAIR_OVERDUE);
    out->rules.poor_overdue = positive(settings, "health_poor_overdue", DEFAULT_POOR_OVERDUE);
    int64_t unresolved = sb_json_int(settings, "health_fair_unresolved", DEFAULT_FAIR_UNRESOLVED);
    out->rules.fair_unresolved = unresolved >= 0 ? unresolved : DEFAULT_FAIR_UNRESOLVED;
}

const char *sd_region_mismatch(const struct sd_settings *settings, const char *region)
{
    bool eu = region && strcmp(region, "EU") == 0;
    if (eu == settings->eu_data_hosting)
        return NULL;
    return eu ? "Intercom reports this workspace in the EU region but eu_data_hosting is off; "
                "requests follow Intercom and go to the EU host"
              : "eu_data_hosting is on but Intercom reports this workspace outside the EU; "
                "requests follow Intercom and go to its regional host";
}
