/* test_triage.c - the triage rules on a table of conversations. */
#include "ss_triage.h"
#include "unit.h"

#include <stdlib.h>

static const char *const billing_alias[] = {"billing engine"};

static const struct ss_service_ref project[] = {
    {"auth-service", NULL, 0},
    {"checkout-api", NULL, 0},
    {"payments-worker", billing_alias, 1},
    {"search", NULL, 0},
};

struct example {
    const char *text;
    enum ss_severity severity;
    int score;
    const char *service; /* "" when not identified */
    enum ss_service_reason reason;
    const char *explanation;
};

/* Every expected value follows from the built-in table (README, "Triage rules"). */
static const struct example examples[] = {
    {"Checkout is down for everyone!", SS_SEVERITY_CRITICAL, 12, "checkout-api",
     SS_SERVICE_MENTIONED, "\"down\" +7, \"everyone\" +5 (score 12; critical from 12)"},
    {"Our integration keeps failing with a 502 error, urgent", SS_SEVERITY_HIGH, 9, "",
     SS_SERVICE_NONE,
     "\"urgent\" +3, \"error\" +2, \"failing\" +2, \"502\" +2 (score 9; high from 7)"},
    {"Search results are wrong and sometimes I get a timeout", SS_SEVERITY_MEDIUM, 4, "search",
     SS_SERVICE_MENTIONED, "\"timeout\" +2, \"wrong\" +2 (score 4; medium from 3)"},
    {"The dashboard is slow today", SS_SEVERITY_MEDIUM, 3, "", SS_SERVICE_NONE,
     "\"slow\" +3 (score 3; medium from 3)"},
    {"How do I change my billing address?", SS_SEVERITY_LOW, -2, "", SS_SERVICE_NONE,
     "\"billing\" +2, \"how do i\" -4 (score -2; medium from 3)"},
    {"We had an outage and possible data loss on the auth service", SS_SEVERITY_CRITICAL, 20,
     "auth-service", SS_SERVICE_MENTIONED,
     "\"outage\" +10, \"data loss\" +10 (score 20; critical from 12)"},
    {"Feature request: dark mode for search", SS_SEVERITY_LOW, -5, "search", SS_SERVICE_MENTIONED,
     "\"feature request\" -5 (score -5; medium from 3)"},
    {"I can't log in, the login page shows Error 500", SS_SEVERITY_HIGH, 9, "", SS_SERVICE_NONE,
     "\"can t log in\" +5, \"error\" +2, \"500\" +2 (score 9; high from 7)"},
    {"The app crashes when I upload a photo", SS_SEVERITY_MEDIUM, 5, "", SS_SERVICE_NONE,
     "\"crashes\" +5 (score 5; medium from 3)"},
    {"Payments fail for all customers at checkout, error 500", SS_SEVERITY_CRITICAL, 13,
     "payments-worker", SS_SERVICE_MENTIONED,
     "\"all customers\" +5, \"payments\" +2, \"error\" +2, \"fail\" +2, \"500\" +2 "
     "(score 13; critical from 12)"},
    {"The billing engine is stuck", SS_SEVERITY_MEDIUM, 4, "payments-worker",
     SS_SERVICE_MENTIONED, "\"billing\" +2, \"stuck\" +2 (score 4; medium from 3)"},
    {"We saw some downtime, erroneous totals", SS_SEVERITY_LOW, 0, "", SS_SERVICE_NONE,
     "no keyword matched (score 0; medium from 3)"},
    {"", SS_SEVERITY_LOW, 0, "", SS_SERVICE_NONE, "no keyword matched (score 0; medium from 3)"},
    {"SEARCH is DOWN. search, search!", SS_SEVERITY_HIGH, 7, "search", SS_SERVICE_MENTIONED,
     "\"down\" +7 (score 7; high from 7)"},
};

static void test_examples(void)
{
    struct ss_rules rules;
    ss_rules_builtin(&rules);
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *e = &examples[i];
        struct ss_triage t;
        ss_triage_text(&rules, e->text, project, sizeof project / sizeof project[0], &t);
        char *why = ss_triage_explain_score(&rules, &t);
        if (t.severity != e->severity || t.score != e->score || strcmp(t.service, e->service) != 0
            || t.service_reason != e->reason || strcmp(why, e->explanation) != 0)
            fprintf(stderr, "example %zu: \"%s\" -> %s %d '%s' (%d) %s\n", i, e->text,
                    ss_severity_name(t.severity), t.score, t.service, (int)t.service_reason, why);
        CHECK_INT(t.severity, e->severity);
        CHECK_INT(t.score, e->score);
        CHECK_STR(t.service, e->service);
        CHECK_INT(t.service_reason, e->reason);
        CHECK_STR(why, e->explanation);
        free(why);
    }
    ss_rules_free(&rules);
}

static void test_service_explanations(void)
{
    struct ss_rules rules;
    ss_rules_builtin(&rules);
    struct ss_triage t;
    ss_triage_text(&rules, "the auth service rejects me", project, 4, &t);
    /* The full name and the name without "service" both occur at the same place. */
    CHECK_STR(t.service_phrase, "auth service");
    CHECK_INT(t.service_mentions, 2);
    char *why = ss_triage_explain_service(&t);
    CHECK_STR(why, "named in the conversation (\"auth service\", 2 mentions)");
    free(why);

    ss_triage_text(&rules, "SEARCH is DOWN. search, search!", project, 4, &t);
    CHECK_INT(t.service_mentions, 3);

    ss_triage_text(&rules, "nothing named here", project, 4, &t);
    why = ss_triage_explain_service(&t);
    CHECK_STR(why, "no known service is named in the conversation");
    free(why);

    /* One known service: chosen when nothing is named. */
    const struct ss_service_ref single[] = {{"monolith", NULL, 0}};
    ss_triage_text(&rules, "Everything is slow", single, 1, &t);
    CHECK_STR(t.service, "monolith");
    CHECK_INT(t.service_reason, SS_SERVICE_ONLY_ONE);
    why = ss_triage_explain_service(&t);
    CHECK_STR(why, "the project's only service");
    free(why);

    /* A name without generic words that two services share says nothing. */
    const struct ss_service_ref twins[] = {{"checkout-api", NULL, 0}, {"checkout-worker", NULL, 0}};
    ss_triage_text(&rules, "checkout is broken", twins, 2, &t);
    CHECK_STR(t.service, "");
    ss_triage_text(&rules, "the checkout worker is broken", twins, 2, &t);
    CHECK_STR(t.service, "checkout-worker");
    /* ... nor one that is another service's whole name. */
    const struct ss_service_ref nested[] = {{"checkout", NULL, 0}, {"checkout-api", NULL, 0}};
    ss_triage_text(&rules, "checkout fails", nested, 2, &t);
    CHECK_STR(t.service, "checkout");
    CHECK_INT(t.service_mentions, 1);

    /* Equal mentions: the earlier one wins. */
    ss_triage_text(&rules, "search and checkout both fail", project, 4, &t);
    CHECK_STR(t.service, "search");
    ss_triage_text(&rules, "checkout and search both fail", project, 4, &t);
    CHECK_STR(t.service, "checkout-api");
    /* More mentions beat an earlier one. */
    ss_triage_text(&rules, "checkout, then search, search again", project, 4, &t);
    CHECK_STR(t.service, "search");
    ss_rules_free(&rules);
}

static void test_rule_entries(void)
{
    struct ss_rules rules;
    ss_rules_builtin(&rules);
    size_t builtin = rules.n;
    char err[256];
    struct ss_triage t;

    CHECK(ss_rules_apply(&rules, "downtime=6", err, sizeof err));
    CHECK_INT(rules.n, builtin + 1);
    ss_triage_text(&rules, "We saw some downtime", NULL, 0, &t);
    CHECK_INT(t.score, 6);
    CHECK_INT(t.severity, SS_SEVERITY_MEDIUM);

    /* Replace a weight (phrases are normalised like the text), then remove a keyword. */
    CHECK(ss_rules_apply(&rules, " SLOW = 9 ", err, sizeof err));
    CHECK_INT(rules.n, builtin + 1);
    ss_triage_text(&rules, "so slow", NULL, 0, &t);
    CHECK_INT(t.score, 9);
    CHECK(ss_rules_apply(&rules, "Can't log in=8", err, sizeof err));
    ss_triage_text(&rules, "I can't log in", NULL, 0, &t);
    CHECK_INT(t.score, 8);
    CHECK(ss_rules_apply(&rules, "down=0", err, sizeof err));
    CHECK_INT(rules.n, builtin);
    ss_triage_text(&rules, "it is down", NULL, 0, &t);
    CHECK_INT(t.score, 0);
    CHECK(ss_rules_apply(&rules, "never-there=0", err, sizeof err)); /* removing nothing is fine */
    CHECK_INT(rules.n, builtin);

    CHECK(!ss_rules_apply(&rules, "no weight", err, sizeof err));
    CHECK_STR(err, "\"no weight\" is not phrase=weight");
    CHECK(!ss_rules_apply(&rules, "x=abc", err, sizeof err));
    CHECK_STR(err, "\"x=abc\": the weight must be an integer from -100 to 100");
    CHECK(!ss_rules_apply(&rules, "x=101", err, sizeof err));
    CHECK(!ss_rules_apply(&rules, "x=", err, sizeof err));
    CHECK(!ss_rules_apply(&rules, "!!!=3", err, sizeof err));
    CHECK_STR(err, "\"!!!=3\": the phrase has no letters or digits");
    CHECK(ss_rules_apply(&rules, "a=b=-100", err, sizeof err)); /* the last '=' splits */
    ss_triage_text(&rules, "a b", NULL, 0, &t);
    CHECK_INT(t.score, -100);

    /* Thresholds are the rules' too. */
    rules.critical_score = 30;
    ss_triage_text(&rules, "outage for everyone", NULL, 0, &t);
    CHECK_INT(t.score, 15);
    CHECK_INT(t.severity, SS_SEVERITY_HIGH);
    CHECK(ss_rules_thresholds_valid(&rules));
    rules.high_score = 30;
    CHECK(!ss_rules_thresholds_valid(&rules));

    struct ss_rules copy;
    ss_rules_copy(&copy, &rules);
    CHECK_INT(copy.n, rules.n);
    CHECK_INT(copy.critical_score, 30);
    ss_rules_free(&copy);
    ss_rules_free(&rules);

    ss_rules_empty(&rules);
    ss_triage_text(&rules, "outage outage", NULL, 0, &t);
    CHECK_INT(t.score, 0);
    CHECK_INT(t.n_matches, 0);
    ss_rules_free(&rules);
}

static void test_normalize(void)
{
    char *n = ss_normalize_text("  Can't   LOG-in!!\nNow ");
    CHECK_STR(n, " can t log in now ");
    free(n);
    n = ss_normalize_text("");
    CHECK_STR(n, " ");
    free(n);
    n = ss_normalize_text("Größe");
    CHECK_STR(n, " größe ");
    free(n);
}

static void test_window_and_names(void)
{
    int64_t start, end;
    ss_triage_window(10 * 3600 * 1000LL, 2, 11 * 3600 * 1000LL, &start, &end);
    CHECK_INT(start, 8 * 3600 * 1000LL);
    CHECK_INT(end, 11 * 3600 * 1000LL);
    /* A clock behind the conversation never makes an empty window. */
    ss_triage_window(10 * 3600 * 1000LL, 1, 9 * 3600 * 1000LL, &start, &end);
    CHECK_INT(end, 10 * 3600 * 1000LL);

    enum ss_severity s;
    CHECK(ss_severity_parse("high", &s) && s == SS_SEVERITY_HIGH);
    CHECK(!ss_severity_parse("disabled", &s));
    CHECK_STR(ss_severity_name(SS_SEVERITY_CRITICAL), "critical");
}

int main(void)
{
    RUN(test_examples);
    RUN(test_service_explanations);
    RUN(test_rule_entries);
    RUN(test_normalize);
    RUN(test_window_and_names);
    UNIT_DONE();
}
