/* test_settings.c - typed binding settings, their problems, and the options. */
#include "ss_settings.h"
#include "unit.h"

static void test_from_json(void)
{
    json_object *j = json_tokener_parse(
        "{\"posting_mode\":\"both\",\"auto_analyze_threshold\":\"medium\",\"time_buffer_hours\":6,"
        "\"attribute_severity\":\"severity\",\"attribute_affected_service\":\"\","
        "\"attribute_analysis_url\":\"sigsentry_analysis_url\",\"public_reply_template\":\"Hi\","
        "\"triage_keywords\":[\"downtime=6\",\"broken entry\"]}");
    struct ss_settings s;
    ss_settings_from_json(j, &s);
    CHECK_INT(s.posting_mode, SS_POST_BOTH);
    CHECK_INT(s.threshold, SS_SEVERITY_MEDIUM);
    CHECK_INT(s.buffer_hours, 6);
    CHECK_STR(s.attribute_severity, "severity");
    CHECK(s.attribute_affected_service == NULL); /* empty: not mapped */
    CHECK_STR(s.attribute_analysis_url, "sigsentry_analysis_url");
    CHECK_STR(s.reply_template, "Hi");
    CHECK_INT(s.n_keywords, 2);

    struct ss_rules base, rules;
    ss_rules_builtin(&base);
    json_object *problems = json_object_new_array();
    ss_settings_rules(&s, &base, &rules, problems);
    CHECK_INT(rules.n, base.n + 1);
    CHECK_INT(json_object_array_length(problems), 1);
    json_object_put(problems);
    ss_rules_free(&rules);

    problems = ss_settings_problems(&s, &base);
    CHECK_INT(json_object_array_length(problems), 1);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(problems, 0)),
              "triage_keywords: \"broken entry\" is not phrase=weight");
    json_object_put(problems);
    ss_settings_clear(&s);
    json_object_put(j);

    j = json_tokener_parse("{\"auto_analyze_threshold\":\"disabled\","
                           "\"public_reply_template\":\"{{severity}} {{sevrity}}\"}");
    ss_settings_from_json(j, &s);
    CHECK_INT(s.posting_mode, SS_POST_INTERNAL);
    CHECK_INT(s.threshold, SS_THRESHOLD_DISABLED);
    CHECK_INT(s.buffer_hours, 2);
    problems = ss_settings_problems(&s, &base);
    CHECK_INT(json_object_array_length(problems), 1);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(problems, 0)),
              "public_reply_template: unknown placeholder(s) sevrity; they are sent as written");
    json_object_put(problems);
    ss_settings_clear(&s);
    json_object_put(j);
    ss_rules_free(&base);
}

static void test_thresholds(void)
{
    /* threshold x severity: reached exactly when severity >= threshold. */
    static const int expected[5][4] = {
        /* low medium high critical */
        {0, 0, 0, 0}, /* disabled */
        {1, 1, 1, 1}, /* low */
        {0, 1, 1, 1}, /* medium */
        {0, 0, 1, 1}, /* high */
        {0, 0, 0, 1}, /* critical */
    };
    const int thresholds[5] = {SS_THRESHOLD_DISABLED, SS_SEVERITY_LOW, SS_SEVERITY_MEDIUM,
                               SS_SEVERITY_HIGH, SS_SEVERITY_CRITICAL};
    for (int t = 0; t < 5; t++)
        for (int s = 0; s < 4; s++)
            CHECK_INT(ss_threshold_reached(thresholds[t], (enum ss_severity)s), expected[t][s]);
    CHECK_STR(ss_threshold_name(SS_THRESHOLD_DISABLED), "disabled");
    CHECK_STR(ss_threshold_name(SS_SEVERITY_HIGH), "high");
    CHECK_STR(ss_posting_mode_name(SS_POST_PUBLIC), "public");
}

static void test_options(void)
{
    struct ss_options o;
    char err[256];
    CHECK(ss_options_parse(NULL, &o, err, sizeof err));
    CHECK_INT(o.analysis_max_records, 200000);
    CHECK_INT(o.top_signatures, 10);
    CHECK_INT(o.rules.critical_score, 12);
    size_t builtin = o.rules.n;
    ss_options_clear(&o);

    json_object *j = json_tokener_parse(
        "{\"keywords\":[\"segfault=6\",\"down=0\"],\"critical_score\":20,\"high_score\":10,"
        "\"medium_score\":4,\"top_signatures\":3,\"analysis_max_records\":5000,"
        "\"panel_analyses\":2}");
    CHECK(ss_options_parse(j, &o, err, sizeof err));
    CHECK_INT(o.rules.n, builtin);
    CHECK_INT(o.rules.critical_score, 20);
    CHECK_INT(o.top_signatures, 3);
    CHECK_INT(o.analysis_max_records, 5000);
    CHECK_INT(o.panel_analyses, 2);
    ss_options_clear(&o);
    json_object_put(j);

    j = json_tokener_parse("{\"builtin_keywords\":false,\"keywords\":[\"fire=12\"]}");
    CHECK(ss_options_parse(j, &o, err, sizeof err));
    CHECK_INT(o.rules.n, 1);
    ss_options_clear(&o);
    json_object_put(j);

    static const struct {
        const char *json, *error;
    } bad[] = {
        {"{\"nope\":1}", "unknown option \"nope\""},
        {"{\"keywords\":\"x=1\"}", "options.keywords must be a list of \"phrase=weight\" strings"},
        {"{\"keywords\":[\"x\"]}", "options.keywords[0]: \"x\" is not phrase=weight"},
        {"{\"keywords\":[1]}", "options.keywords[0] must be a string"},
        {"{\"top_signatures\":0}", "options.top_signatures must be an integer from 1 to 50"},
        {"{\"builtin_keywords\":1}", "options.builtin_keywords must be true or false"},
        {"{\"high_score\":20}",
         "options: critical_score (12) > high_score (20) > medium_score (3) must hold"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_tokener_parse(bad[i].json);
        CHECK(!ss_options_parse(j, &o, err, sizeof err));
        CHECK_STR(err, bad[i].error);
        ss_options_clear(&o);
        json_object_put(j);
    }
}

int main(void)
{
    RUN(test_from_json);
    RUN(test_thresholds);
    RUN(test_options);
    UNIT_DONE();
}
