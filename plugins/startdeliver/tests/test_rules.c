/* Ticket status and support health: every boundary of the rules in sd_rules.h. */
#include "unit.h"

#include "sd_rules.h"

#define HOUR 3600
#define NOW 1800000000

static const struct sd_rules rules = {
    .overdue_after_s = 24 * HOUR, .fair_overdue = 1, .poor_overdue = 3, .fair_unresolved = 10};

static void test_closed_is_resolved_whatever_the_wait(void)
{
    CHECK_INT(sd_ticket_status("closed", 0, NOW, &rules), SD_TICKET_RESOLVED);
    CHECK_INT(sd_ticket_status("closed", NOW - 100 * HOUR, NOW, &rules), SD_TICKET_RESOLVED);
}

static void test_overdue_starts_exactly_at_the_threshold(void)
{
    CHECK_INT(sd_ticket_status("open", NOW - 24 * HOUR + 1, NOW, &rules), SD_TICKET_OPEN);
    CHECK_INT(sd_ticket_status("open", NOW - 24 * HOUR, NOW, &rules), SD_TICKET_OVERDUE);
    CHECK_INT(sd_ticket_status("snoozed", NOW - 30 * HOUR, NOW, &rules), SD_TICKET_OVERDUE);
}

static void test_not_waiting_is_never_overdue(void)
{
    CHECK_INT(sd_ticket_status("open", 0, NOW, &rules), SD_TICKET_OPEN);
    CHECK_INT(sd_ticket_status(NULL, 0, NOW, &rules), SD_TICKET_OPEN);
}

static void test_status_names_round_trip(void)
{
    for (int s = SD_TICKET_OPEN; s <= SD_TICKET_RESOLVED; s++)
        CHECK_INT(sd_ticket_status_parse(sd_ticket_status_name((enum sd_ticket_status)s)), s);
    CHECK_INT(sd_ticket_status_parse("closed"), -1);
    CHECK_INT(sd_ticket_status_parse(NULL), -1);
}

static enum sd_health health(int64_t open, int64_t overdue, int64_t resolved)
{
    struct sd_ticket_counts c = {open, overdue, resolved};
    return sd_support_health(&c, &rules);
}

static void test_health_boundaries(void)
{
    CHECK_INT(health(0, 0, 0), SD_HEALTH_GOOD);
    CHECK_INT(health(9, 0, 500), SD_HEALTH_GOOD);   /* 9 unresolved, below 10 */
    CHECK_INT(health(10, 0, 0), SD_HEALTH_FAIR);    /* 10 unresolved reach Fair */
    CHECK_INT(health(0, 1, 0), SD_HEALTH_FAIR);     /* 1 overdue reaches Fair */
    CHECK_INT(health(0, 2, 0), SD_HEALTH_FAIR);
    CHECK_INT(health(0, 3, 0), SD_HEALTH_POOR);     /* 3 overdue reach Poor */
    CHECK_INT(health(50, 3, 0), SD_HEALTH_POOR);
}

static void test_unresolved_rule_can_be_off(void)
{
    struct sd_rules off = rules;
    off.fair_unresolved = 0;
    struct sd_ticket_counts many_open = {1000, 0, 0};
    CHECK_INT(sd_support_health(&many_open, &off), SD_HEALTH_GOOD);
}

static void test_poor_wins_over_a_higher_fair_threshold(void)
{
    struct sd_rules odd = rules;
    odd.fair_overdue = 5;
    odd.poor_overdue = 2;
    struct sd_ticket_counts c = {0, 2, 0};
    CHECK_INT(sd_support_health(&c, &odd), SD_HEALTH_POOR);
}

static void test_health_reason_names_the_threshold(void)
{
    char reason[160];
    struct sd_ticket_counts poor = {0, 4, 0}, fair = {12, 0, 0}, good = {2, 0, 7};
    sd_health_reason(&poor, &rules, SD_HEALTH_POOR, reason, sizeof reason);
    CHECK_STR(reason, "4 overdue tickets reach the Poor threshold of 3");
    sd_health_reason(&fair, &rules, SD_HEALTH_FAIR, reason, sizeof reason);
    CHECK_STR(reason, "12 unresolved tickets reach the Fair threshold of 10");
    sd_health_reason(&good, &rules, SD_HEALTH_GOOD, reason, sizeof reason);
    CHECK_STR(reason, "0 overdue and 2 unresolved tickets are below every threshold");
    CHECK_STR(sd_health_name(SD_HEALTH_FAIR), "Fair");
}

static void test_counts_add(void)
{
    struct sd_ticket_counts c = {0};
    sd_ticket_counts_add(&c, SD_TICKET_OPEN);
    sd_ticket_counts_add(&c, SD_TICKET_OVERDUE);
    sd_ticket_counts_add(&c, SD_TICKET_OVERDUE);
    sd_ticket_counts_add(&c, SD_TICKET_RESOLVED);
    CHECK_INT(c.open, 1);
    CHECK_INT(c.overdue, 2);
    CHECK_INT(c.resolved, 1);
}

int main(void)
{
    RUN(test_closed_is_resolved_whatever_the_wait);
    RUN(test_overdue_starts_exactly_at_the_threshold);
    RUN(test_not_waiting_is_never_overdue);
    RUN(test_status_names_round_trip);
    RUN(test_health_boundaries);
    RUN(test_unresolved_rule_can_be_off);
    RUN(test_poor_wins_over_a_higher_fair_threshold);
    RUN(test_health_reason_names_the_threshold);
    RUN(test_counts_add);
    UNIT_DONE();
}
