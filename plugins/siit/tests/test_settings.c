/* test_settings.c - siit's settings: defaults, the team selection, the request URL template. */
#include "si_settings.h"

#include "unit.h"

#include <stdlib.h>
#include <string.h>

static void test_defaults_from_nothing(void)
{
    struct si_settings s;
    si_settings_parse(NULL, &s);
    CHECK_STR(s.default_ticket_type, "");
    CHECK_STR(s.default_priority, "medium");
    CHECK(!si_team_selected(&s, "12"));
    CHECK(si_request_url(&s, "R-1") == NULL);
    si_settings_release(&s);
}

static void test_selection_and_template(void)
{
    struct si_settings s;
    si_settings_parse(json_tokener_parse("{\"default_ticket_type\":\"7\",\"default_priority\":\"high\","
                                         "\"selectable_teams\":[\"12\",\"34\"],"
                                         "\"request_url_template\":\"https://acme.siit.io/r/{request_id}?x=1\"}"),
                      &s);
    CHECK_STR(s.default_ticket_type, "7");
    CHECK_STR(s.default_priority, "high");
    CHECK(si_team_selected(&s, "12"));
    CHECK(si_team_selected(&s, "34"));
    CHECK(!si_team_selected(&s, "1"));
    CHECK(!si_team_selected(&s, NULL));
    char *url = si_request_url(&s, "R 1/2");
    CHECK_STR(url, "https://acme.siit.io/r/R%201%2F2?x=1");
    free(url);
    si_settings_release(&s);
}

static void test_bad_values_fall_back(void)
{
    struct si_settings s;
    /* A template without the placeholder builds nothing rather than one URL for every request. */
    si_settings_parse(json_tokener_parse("{\"default_priority\":\"whenever\","
                                         "\"request_url_template\":\"https://acme.siit.io/\"}"),
                      &s);
    CHECK_STR(s.default_priority, "medium");
    CHECK(si_request_url(&s, "R-1") == NULL);
    si_settings_release(&s);
    CHECK(si_priority_valid("urgent"));
    CHECK(!si_priority_valid("URGENT"));
    CHECK(!si_priority_valid(NULL));
}

int main(void)
{
    RUN(test_defaults_from_nothing);
    RUN(test_selection_and_template);
    RUN(test_bad_values_fall_back);
    UNIT_DONE();
}
