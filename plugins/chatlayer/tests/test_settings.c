/* test_settings.c - typed channel settings and the checks the schema cannot express. */
#include "cl_settings.h"
#include "unit.h"

#include <switchboard/helpers.h>

static json_object *problems_of(const char *settings_json, struct cl_settings *s)
{
    json_object *j = json_tokener_parse(settings_json);
    cl_settings_from_json(j, s);
    json_object_put(j);
    return cl_settings_problems(s);
}

static const char *setting_at(json_object *problems, size_t i)
{
    return sb_json_str(json_object_array_get_idx(problems, i), "setting");
}

static void test_valid(void)
{
    struct cl_settings s;
    json_object *p = problems_of("{\"bot_team_ids\":[\"11\",\"12\"],\"bot_admin_id\":\"7\","
                                 "\"offload_team_id\":\"13\",\"bot\":\"flows\",\"endpoint_url\":\"\","
                                 "\"endpoint_key\":\"\"}", &s);
    CHECK_INT(json_object_array_length(p), 0);
    CHECK(cl_settings_is_bot_team(&s, "12"));
    CHECK(!cl_settings_is_bot_team(&s, "13"));
    CHECK(!cl_settings_is_bot_team(&s, NULL));
    CHECK(!s.external);
    json_object_put(p);
    cl_settings_clear(&s);
}

static void test_offload_is_bot_team(void)
{
    struct cl_settings s;
    json_object *p = problems_of("{\"bot_team_ids\":[\"11\",\"12\"],\"bot_admin_id\":\"7\","
                                 "\"offload_team_id\":\"12\"}", &s);
    CHECK_INT(json_object_array_length(p), 1);
    CHECK_STR(setting_at(p, 0), "offload_team_id");
    CHECK_CONTAINS(sb_json_str(json_object_array_get_idx(p, 0), "problem"),
                   "the offload team is one of the bot teams");
    json_object_put(p);
    cl_settings_clear(&s);
}

static void test_missing_and_malformed(void)
{
    struct cl_settings s;
    json_object *p = problems_of("{}", &s);
    CHECK_INT(json_object_array_length(p), 3);
    CHECK_STR(setting_at(p, 0), "bot_team_ids");
    CHECK_STR(setting_at(p, 1), "bot_admin_id");
    CHECK_STR(setting_at(p, 2), "offload_team_id");
    json_object_put(p);
    cl_settings_clear(&s);

    p = problems_of("{\"bot_team_ids\":[\"team-a\"],\"bot_admin_id\":\"x7\",\"offload_team_id\":\"3\","
                    "\"bot\":\"external\",\"endpoint_url\":\"ftp://bot\"}", &s);
    CHECK_INT(json_object_array_length(p), 3);
    CHECK_STR(setting_at(p, 0), "bot_team_ids");
    CHECK_STR(setting_at(p, 1), "bot_admin_id");
    CHECK_STR(setting_at(p, 2), "endpoint_url");
    CHECK(s.external);
    json_object_put(p);
    cl_settings_clear(&s);

    p = problems_of("{\"bot_team_ids\":[\"1\"],\"bot_admin_id\":\"7\",\"offload_team_id\":\"3\","
                    "\"bot\":\"external\"}", &s);
    CHECK_INT(json_object_array_length(p), 1);
    CHECK_CONTAINS(sb_json_str(json_object_array_get_idx(p, 0), "problem"), "no endpoint_url");
    json_object_put(p);
    cl_settings_clear(&s);
}

int main(void)
{
    RUN(test_valid);
    RUN(test_offload_is_bot_team);
    RUN(test_missing_and_malformed);
    UNIT_DONE();
}
