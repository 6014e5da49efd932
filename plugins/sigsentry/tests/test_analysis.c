/* test_analysis.c - counting and grouping of a window's records. */
#include "ss_analysis.h"
#include "unit.h"

static void test_counts_and_order(void)
{
    struct ss_analysis a;
    ss_analysis_init(&a, 100);
    /* 3 x timeout (ids differ), 2 x declined, 1 x critical crash, plus noise. */
    ss_analysis_add(&a, "checkout-api", 5000, SS_LEVEL_ERROR, "timeout calling bank after 3000ms");
    ss_analysis_add(&a, "checkout-api", 1000, SS_LEVEL_ERROR, "card 4242 declined");
    ss_analysis_add(&a, "checkout-api", 2000, SS_LEVEL_INFO, "order 17 created");
    ss_analysis_add(&a, "checkout-api", 3000, SS_LEVEL_ERROR, "timeout calling bank after 2500ms");
    ss_analysis_add(&a, "checkout-api", 4000, SS_LEVEL_CRITICAL, "worker 7 crashed");
    ss_analysis_add(&a, "checkout-api", 6000, SS_LEVEL_WARN, "slow query 900ms");
    ss_analysis_add(&a, "checkout-api", 7000, SS_LEVEL_CRITICAL, "timeout calling bank after 10ms");
    ss_analysis_add(&a, "checkout-api", 8000, SS_LEVEL_ERROR, "card 1111 declined");
    ss_analysis_add(&a, "checkout-api", 9000, SS_LEVEL_DEBUG, "tick");
    ss_analysis_sort(&a);

    CHECK_INT(a.records, 9);
    CHECK_INT(a.errors, 6);
    CHECK_INT(a.by_level[SS_LEVEL_DEBUG], 1);
    CHECK_INT(a.by_level[SS_LEVEL_INFO], 1);
    CHECK_INT(a.by_level[SS_LEVEL_WARN], 1);
    CHECK_INT(a.by_level[SS_LEVEL_ERROR], 4);
    CHECK_INT(a.by_level[SS_LEVEL_CRITICAL], 2);
    CHECK_INT(a.n_stats, 3);

    CHECK_STR(a.stats[0].signature, "timeout calling bank after <n>ms");
    CHECK_INT(a.stats[0].count, 3);
    CHECK_INT(a.stats[0].first_ms, 3000);
    CHECK_INT(a.stats[0].last_ms, 7000);
    CHECK_INT(a.stats[0].level, SS_LEVEL_CRITICAL);
    CHECK_STR(a.stats[0].sample, "timeout calling bank after 3000ms"); /* the first one fed */

    CHECK_STR(a.stats[1].signature, "card <n> declined");
    CHECK_INT(a.stats[1].count, 2);
    CHECK_INT(a.stats[1].first_ms, 1000);
    CHECK_INT(a.stats[1].last_ms, 8000);

    CHECK_STR(a.stats[2].signature, "worker <n> crashed");
    CHECK_INT(a.stats[2].count, 1);

    json_object *j = ss_analysis_json(&a, 2);
    int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    CHECK_STR(json_object_to_json_string_ext(j, flags),
              "{\"records\":9,\"by_level\":{\"debug\":1,\"info\":1,\"warn\":1,\"error\":4,"
              "\"critical\":2},\"errors\":6,\"distinct_signatures\":3,\"ungrouped\":0,\"top\":["
              "{\"signature\":\"timeout calling bank after <n>ms\",\"count\":3,\"first_seen\":3000,"
              "\"last_seen\":7000,\"level\":\"critical\",\"service\":\"checkout-api\","
              "\"sample\":\"timeout calling bank after 3000ms\"},"
              "{\"signature\":\"card <n> declined\",\"count\":2,\"first_seen\":1000,"
              "\"last_seen\":8000,\"level\":\"error\",\"service\":\"checkout-api\","
              "\"sample\":\"card 4242 declined\"}]}");
    json_object_put(j);
    ss_analysis_free(&a);
}

static void test_ties_and_cap(void)
{
    struct ss_analysis a;
    ss_analysis_init(&a, 2);
    ss_analysis_add(&a, "s", 20, SS_LEVEL_ERROR, "beta");
    ss_analysis_add(&a, "s", 10, SS_LEVEL_ERROR, "alpha");
    ss_analysis_add(&a, "s", 10, SS_LEVEL_ERROR, "gamma"); /* a third signature: not grouped */
    ss_analysis_add(&a, "s", 30, SS_LEVEL_ERROR, "gamma");
    ss_analysis_add(&a, "s", 40, SS_LEVEL_ERROR, "beta");
    ss_analysis_add(&a, "s", 40, SS_LEVEL_ERROR, "alpha");
    ss_analysis_sort(&a);
    CHECK_INT(a.n_stats, 2);
    CHECK_INT(a.ungrouped, 2);
    CHECK_INT(a.errors, 6);
    /* Equal counts: the one seen first leads. */
    CHECK_STR(a.stats[0].signature, "alpha");
    CHECK_STR(a.stats[1].signature, "beta");
    ss_analysis_free(&a);

    ss_analysis_init(&a, 10);
    ss_analysis_add(&a, "s", 10, SS_LEVEL_ERROR, "b");
    ss_analysis_add(&a, "s", 10, SS_LEVEL_ERROR, "a");
    ss_analysis_sort(&a);
    CHECK_STR(a.stats[0].signature, "a"); /* then by text */
    ss_analysis_free(&a);
}

static void test_many_signatures(void)
{
    struct ss_analysis a;
    ss_analysis_init(&a, 10000);
    char msg[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 500; i++) {
            snprintf(msg, sizeof msg, "failure kind %c%c%c", 'a' + i % 26, 'a' + (i / 26) % 26,
                     'a' + i / 676);
            ss_analysis_add(&a, "s", round * 1000 + i, SS_LEVEL_ERROR, msg);
        }
    }
    ss_analysis_sort(&a);
    CHECK_INT(a.n_stats, 500);
    for (size_t i = 0; i < a.n_stats; i++)
        CHECK_INT(a.stats[i].count, 3);
    ss_analysis_free(&a);

    ss_analysis_init(&a, 10);
    ss_analysis_sort(&a);
    json_object *j = ss_analysis_json(&a, 10);
    CHECK_INT(json_object_array_length(json_object_object_get(j, "top")), 0);
    json_object_put(j);
    ss_analysis_free(&a);
}

int main(void)
{
    RUN(test_counts_and_order);
    RUN(test_ties_and_cap);
    RUN(test_many_signatures);
    UNIT_DONE();
}
