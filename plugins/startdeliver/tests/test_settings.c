/* Settings: the schema's defaults parse to the documented values; the region check. */
#include "unit.h"

#include "sd_settings.h"

static void test_defaults_without_settings(void)
{
    struct sd_settings s;
    sd_settings_parse(NULL, &s);
    CHECK(!s.create_users);
    CHECK(!s.eu_data_hosting);
    CHECK(!s.events_as_usage);
    CHECK(!s.advanced_push);
    CHECK(!s.include_notes);
    CHECK_INT(s.sync_interval_hours, 24);
    CHECK_INT(s.rules.overdue_after_s, 24 * 3600);
    CHECK_INT(s.rules.fair_overdue, 1);
    CHECK_INT(s.rules.poor_overdue, 3);
    CHECK_INT(s.rules.fair_unresolved, 10);
}

/* The schema's default texts must mean what sd_settings_parse assumes. */
static void test_schema_defaults_agree_with_parse(void)
{
    json_object *o = json_object_new_object();
    for (const sb_setting *s = sd_settings_schema; s->name; s++) {
        if (s->type == SB_SETTING_BOOL)
            json_object_object_add(o, s->name,
                                   json_object_new_boolean(strcmp(s->default_value, "true") == 0));
        else if (s->type == SB_SETTING_INT)
            json_object_object_add(o, s->name, json_object_new_int64(atoll(s->default_value)));
        CHECK(s->description != NULL);
    }
    struct sd_settings from_schema, defaults;
    sd_settings_parse(o, &from_schema);
    sd_settings_parse(NULL, &defaults);
    CHECK(memcmp(&from_schema, &defaults, sizeof defaults) == 0);
    json_object_put(o);
}

static void test_values_are_read(void)
{
    json_object *o = json_tokener_parse(
        "{\"create_users\":true,\"eu_data_hosting\":true,\"events_as_usage\":true,"
        "\"advanced_push\":true,\"include_notes\":true,\"sync_interval_hours\":6,"
        "\"overdue_threshold_hours\":48,"
        "\"health_fair_overdue\":2,\"health_poor_overdue\":5,\"health_fair_unresolved\":0}");
    struct sd_settings s;
    sd_settings_parse(o, &s);
    CHECK(s.create_users && s.eu_data_hosting && s.events_as_usage && s.advanced_push
          && s.include_notes);
    CHECK_INT(s.sync_interval_hours, 6);
    CHECK_INT(s.rules.overdue_after_s, 48 * 3600);
    CHECK_INT(s.rules.fair_overdue, 2);
    CHECK_INT(s.rules.poor_overdue, 5);
    CHECK_INT(s.rules.fair_unresolved, 0);
    json_object_put(o);
}

static void test_region_mismatch(void)
{
    struct sd_settings s;
    sd_settings_parse(NULL, &s);
    CHECK(sd_region_mismatch(&s, "US") == NULL);
    CHECK(sd_region_mismatch(&s, "AU") == NULL);
    CHECK_CONTAINS(sd_region_mismatch(&s, "EU"), "eu_data_hosting is off");
    s.eu_data_hosting = true;
    CHECK(sd_region_mismatch(&s, "EU") == NULL);
    CHECK_CONTAINS(sd_region_mismatch(&s, "US"), "outside the EU");
}

int main(void)
{
    RUN(test_defaults_without_settings);
    RUN(test_schema_defaults_agree_with_parse);
    RUN(test_values_are_read);
    RUN(test_region_mismatch);
    UNIT_DONE();
}
