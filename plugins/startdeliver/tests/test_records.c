/*
 * Records on the SDK's testing kit: indexes follow users, conversations land in exactly
 * one of tickets and skipped, users are created once, health counts follow
 * the product's current user-to-customer mapping, companies map to customers.
 */
#include "unit.h"

#include "sd_records.h"
#include "sd_util.h"

#include <switchboard/testing.h>

#define NOW_S 1800000000

static struct sd_plugin plugin;
static struct sd_settings settings;
static struct sd_env env;

/* The record code needs only the host table: a descriptor with nothing but a lifecycle. */
static sb_status records_init(sb_plugin *self, const sb_host *host, json_object *config,
                              void **state, sb_result *result)
{
    (void)self, (void)host, (void)config, (void)result;
    *state = NULL;
    return SB_OK;
}

static void records_shutdown(void *state)
{
    (void)state;
}

static const sb_plugin_descriptor records_descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "startdeliver",
    .version = "test",
    .init = records_init,
    .shutdown = records_shutdown,
};

static sbt_kit *kit;
static sb_installation_id inst;

static void setup(bool create_users)
{
    char err[256];
    sbt_free(kit);
    kit = sbt_new(&records_descriptor, err, sizeof err);
    if (!kit || sbt_start(kit, NULL) != SB_OK) {
        fprintf(stderr, "testing kit: %s\n", kit ? sbt_result(kit)->message : err);
        exit(2);
    }
    sbt_clock_set(kit, (int64_t)NOW_S * 1000);
    inst = sbt_install(kit, "ws1");
    plugin = (struct sd_plugin){.self = sbt_plugin(kit), .host = sbt_host(kit)};
    sd_settings_parse(NULL, &settings);
    settings.create_users = create_users;
    env = (struct sd_env){&plugin, inst, &settings, "ws1", "EU", "run-1"};
}

static void store(enum sd_record_kind kind, const char *text)
{
    json_object *in = json_tokener_parse(text);
    char err[200];
    json_object *fields = sd_record_from_input(kind, in, NULL, err, sizeof err);
    CHECK(fields != NULL);
    bool created;
    CHECK_INT(sd_record_store(&env, kind, fields, "product", NULL, &created), 0);
    json_object_put(fields);
    json_object_put(in);
}

static json_object *doc(const char *collection, const char *key)
{
    return sd_get(&plugin, inst, collection, key);
}

static bool exists(const char *collection, const char *key)
{
    json_object *d = doc(collection, key);
    json_object_put(d);
    return d != NULL;
}

static const char *field(const char *collection, const char *key, const char *name)
{
    static char buf[256];
    json_object *d = doc(collection, key);
    const char *v = sb_json_str(d, name);
    snprintf(buf, sizeof buf, "%s", v ? v : "(null)");
    json_object_put(d);
    return buf;
}

static struct sd_conversation conversation(const char *id, const char *state,
                                           int64_t waiting_since, const char *contact,
                                           const char *external_id)
{
    return (struct sd_conversation){.id = (char *)id, .state = (char *)state, .title = "t",
                                    .created_at = 1, .updated_at = 2,
                                    .waiting_since = waiting_since, .contact_id = (char *)contact,
                                    .contact_external_id = (char *)external_id};
}

static enum sd_placement place(struct sd_conversation c, const struct sd_contact *contact)
{
    char why[256];
    return sd_place_ticket(&env, &c, contact, why, sizeof why);
}

static void test_indexes_follow_the_user(void)
{
    setup(false);
    store(SD_RECORD_USER, "{\"id\":\"u1\",\"email\":\"ann@x.io\",\"customer_id\":\"acme\"}");
    CHECK_STR(field(SD_USER_EMAILS, "ann@x.io", "user_id"), "u1");
    CHECK(exists(SD_CUSTOMER_USERS, "acme|u1"));
    store(SD_RECORD_USER, "{\"id\":\"u1\",\"email\":\"ann@y.io\",\"customer_id\":\"beta\"}");
    CHECK(!exists(SD_USER_EMAILS, "ann@x.io"));
    CHECK_STR(field(SD_USER_EMAILS, "ann@y.io", "user_id"), "u1");
    CHECK(!exists(SD_CUSTOMER_USERS, "acme|u1"));
    CHECK(exists(SD_CUSTOMER_USERS, "beta|u1"));
    /* u2 takes ann@y.io; when u1 moves on it must not remove u2's entry */
    store(SD_RECORD_USER, "{\"id\":\"u2\",\"email\":\"ann@y.io\"}");
    store(SD_RECORD_USER, "{\"id\":\"u1\",\"email\":\"ann@z.io\"}");
    CHECK_STR(field(SD_USER_EMAILS, "ann@y.io", "user_id"), "u2");
    CHECK_INT(sbt_doc_count(kit, inst, SD_CUSTOMER_USERS), 0);
    CHECK_STR(field(SD_USERS, "u1", "origin"), "product");
}

static void test_matched_ticket_links_the_contact(void)
{
    setup(false);
    store(SD_RECORD_USER, "{\"id\":\"u1\",\"email\":\"ann@x.io\",\"customer_id\":\"acme\"}");
    CHECK_INT(place(conversation("100", "open", 0, "c1", "u1"), NULL), SD_PLACED);
    CHECK_STR(field(SD_TICKETS, "100", "user_id"), "u1");
    CHECK_STR(field(SD_TICKETS, "100", "matched_by"), "external_id");
    CHECK_STR(field(SD_TICKETS, "100", "link"),
              "https://app.eu.intercom.com/a/inbox/ws1/inbox/conversation/100");
    CHECK(exists(SD_USER_TICKETS, "u1|100"));
    CHECK_STR(field(SD_USERS, "u1", "intercom_contact_id"), "c1");
    /* by email when the external id is unknown */
    struct sd_contact contact = {.id = "c2", .email = "ANN@x.io"};
    CHECK_INT(place(conversation("101", "closed", 0, "c2", "nobody"), &contact), SD_PLACED);
    CHECK_STR(field(SD_TICKETS, "101", "matched_by"), "email");
    CHECK_STR(field(SD_USERS, "u1", "intercom_contact_id"), "c1"); /* the first link stays */
}

static void test_skipped_then_matched(void)
{
    setup(false);
    struct sd_contact contact = {.id = "c9", .email = "bob@x.io"};
    CHECK_INT(place(conversation("200", "open", 0, "c9", NULL), &contact), SD_NOT_PLACED);
    CHECK(exists(SD_SKIPPED, "200"));
    CHECK(!exists(SD_TICKETS, "200"));
    CHECK_INT(sbt_doc_count(kit, inst, SD_USERS), 0);
    store(SD_RECORD_USER, "{\"id\":\"u7\",\"email\":\"bob@x.io\"}");
    CHECK_INT(place(conversation("200", "open", 0, "c9", NULL), &contact), SD_PLACED);
    CHECK(!exists(SD_SKIPPED, "200"));
    CHECK_STR(field(SD_TICKETS, "200", "user_id"), "u7");
    /* the other way: a ticket whose user no longer matches becomes skipped */
    setup(false);
    store(SD_RECORD_USER, "{\"id\":\"u8\"}");
    CHECK_INT(place(conversation("300", "open", 0, "c8", "u8"), NULL), SD_PLACED);
    CHECK_INT(place(conversation("300", "open", 0, "c8", "u-other"), NULL), SD_NOT_PLACED);
    CHECK(!exists(SD_TICKETS, "300"));
    CHECK(!exists(SD_USER_TICKETS, "u8|300"));
    CHECK(exists(SD_SKIPPED, "300"));
}

static void test_created_once_with_company_customer(void)
{
    setup(true);
    json_object *company = json_tokener_parse(
        "{\"id\":\"co1\",\"company_id\":\"acme\",\"name\":\"Acme\"}");
    CHECK_INT(sd_company_store(&env, company), SD_COMPANY_CREATED_CUSTOMER);
    CHECK_INT(sd_company_store(&env, company), SD_COMPANY_CREATED_CUSTOMER); /* same run */
    env.run_id = "run-2";
    CHECK_INT(sd_company_store(&env, company), SD_COMPANY_MATCHED);
    json_object_put(company);
    CHECK_STR(field(SD_CUSTOMERS, "acme", "origin"), "intercom");
    CHECK_STR(field(SD_CUSTOMERS, "acme", "intercom_company_id"), "co1");

    struct sd_contact contact = {.id = "c5", .email = "Dee@X.io", .name = "Dee",
                                 .company_id = "co1"};
    CHECK_INT(place(conversation("400", "open", 0, "c5", NULL), &contact), SD_PLACED_NEW_USER);
    CHECK_INT(place(conversation("401", "open", 0, "c5", NULL), &contact), SD_PLACED);
    CHECK_INT(sbt_doc_count(kit, inst, SD_USERS), 1);
    /* the created user matches by email from now on, so it is found, not recreated */
    CHECK_STR(field(SD_USERS, "intercom-c5", "email"), "dee@x.io");
    CHECK_STR(field(SD_USERS, "intercom-c5", "customer_id"), "acme");
    CHECK_STR(field(SD_USERS, "intercom-c5", "origin"), "intercom");
    CHECK_STR(field(SD_TICKETS, "401", "user_id"), "intercom-c5");
    /* the product taking the record over makes it a product record */
    store(SD_RECORD_USER, "{\"id\":\"intercom-c5\",\"email\":\"dee@x.io\"}");
    CHECK_STR(field(SD_USERS, "intercom-c5", "origin"), "product");
    CHECK_STR(field(SD_USERS, "intercom-c5", "intercom_contact_id"), "c5");
    /* no contact at all cannot be a ticket */
    CHECK_INT(place(conversation("402", "open", 0, NULL, NULL), NULL), SD_PLACE_FAILED);
}

static void test_companies_unmatched_without_create(void)
{
    setup(false);
    store(SD_RECORD_CUSTOMER, "{\"id\":\"acme\"}");
    json_object *a = json_tokener_parse("{\"id\":\"co1\",\"company_id\":\"acme\"}");
    json_object *b = json_tokener_parse("{\"id\":\"co2\",\"company_id\":\"zeta\"}");
    json_object *bad = json_tokener_parse("{\"company_id\":\"zeta\"}");
    CHECK_INT(sd_company_store(&env, a), SD_COMPANY_MATCHED);
    CHECK_INT(sd_company_store(&env, b), SD_COMPANY_UNMATCHED);
    CHECK_INT(sd_company_store(&env, bad), SD_COMPANY_INVALID);
    CHECK_STR(field(SD_COMPANIES, "co2", "customer_id"), "(null)");
    CHECK_STR(field(SD_CUSTOMERS, "acme", "intercom_company_id"), "co1");
    CHECK_INT(sbt_doc_count(kit, inst, SD_CUSTOMERS), 1);
    json_object_put(a);
    json_object_put(b);
    json_object_put(bad);
}

static void test_health_follows_the_product_mapping(void)
{
    setup(false);
    store(SD_RECORD_USER, "{\"id\":\"u1\",\"customer_id\":\"acme\"}");
    store(SD_RECORD_USER, "{\"id\":\"u2\",\"customer_id\":\"acme\"}");
    store(SD_RECORD_USER, "{\"id\":\"u3\",\"customer_id\":\"beta\"}");
    int64_t day = 24 * 3600;
    place(conversation("1", "open", NOW_S - day, "c1", "u1"), NULL);      /* overdue */
    place(conversation("2", "open", NOW_S - day + 1, "c1", "u1"), NULL);  /* open */
    place(conversation("3", "closed", NOW_S - 9 * day, "c2", "u2"), NULL); /* resolved */
    place(conversation("4", "snoozed", NOW_S - 2 * day, "c2", "u2"), NULL); /* overdue */
    place(conversation("5", "open", NOW_S - 3 * day, "c3", "u3"), NULL);  /* beta */
    struct sd_ticket_counts c;
    sd_customer_ticket_counts(&env, "acme", NOW_S, &c);
    CHECK_INT(c.open, 1);
    CHECK_INT(c.overdue, 2);
    CHECK_INT(c.resolved, 1);
    json_object *h = sd_health_json(&env, "acme", NOW_S);
    CHECK_STR(sb_json_str(h, "health"), "Fair");
    json_object_put(h);
    /* one second later ticket 2 is overdue too: 3 overdue reach Poor */
    h = sd_health_json(&env, "acme", NOW_S + 1);
    CHECK_STR(sb_json_str(h, "health"), "Poor");
    CHECK_STR(sb_json_str(h, "reason"), "3 overdue tickets reach the Poor threshold of 3");
    json_object_put(h);
    /* u2 moves to beta in the product: its tickets count for beta from now on */
    store(SD_RECORD_USER, "{\"id\":\"u2\",\"customer_id\":\"beta\"}");
    sd_customer_ticket_counts(&env, "acme", NOW_S, &c);
    CHECK_INT(c.overdue + c.open + c.resolved, 2);
    sd_customer_ticket_counts(&env, "beta", NOW_S, &c);
    CHECK_INT(c.overdue, 2);
    CHECK_INT(c.resolved, 1);
    /* a ticket re-read for another user leaves the first user's index */
    store(SD_RECORD_USER, "{\"id\":\"u4\",\"customer_id\":\"acme\"}");
    place(conversation("5", "open", NOW_S - 3 * day, "c3", "u4"), NULL);
    CHECK(!exists(SD_USER_TICKETS, "u3|5"));
    CHECK(exists(SD_USER_TICKETS, "u4|5"));
    h = sd_health_json(&env, "nobody", NOW_S);
    CHECK_STR(sb_json_str(h, "health"), "Good");
    json_object_put(h);
}

static void test_ticket_view_status_is_live(void)
{
    setup(false);
    store(SD_RECORD_USER, "{\"id\":\"u1\",\"customer_id\":\"acme\"}");
    place(conversation("9", "open", NOW_S - 3600, "c1", "u1"), NULL);
    json_object *ticket = doc(SD_TICKETS, "9");
    json_object *v = sd_ticket_view(&env, ticket, NOW_S);
    CHECK_STR(sb_json_str(v, "status"), "open");
    CHECK_STR(sb_json_str(v, "customer_id"), "acme");
    json_object_put(v);
    v = sd_ticket_view(&env, ticket, NOW_S + 23 * 3600);
    CHECK_STR(sb_json_str(v, "status"), "overdue");
    json_object_put(v);
    json_object_put(ticket);
}

/* A sync's page read before a webhook's job must not undo the job's newer state. */
static void test_an_older_state_never_overwrites_a_newer_ticket(void)
{
    setup(false);
    store(SD_RECORD_USER, "{\"id\":\"u1\",\"customer_id\":\"acme\"}");
    struct sd_conversation closed = conversation("7", "closed", 0, "c1", "u1");
    closed.updated_at = 10;
    CHECK_INT(place(closed, NULL), SD_PLACED);
    struct sd_conversation stale = conversation("7", "open", NOW_S - 30 * 3600, "c1", "u1");
    stale.updated_at = 9;
    CHECK_INT(place(stale, NULL), SD_PLACED);
    CHECK_STR(field(SD_TICKETS, "7", "state"), "closed");
    CHECK_STR(field(SD_USER_TICKETS, "u1|7", "state"), "closed");
    json_object *h = sd_health_json(&env, "acme", NOW_S);
    CHECK_INT(sb_json_int(sb_json_obj(h, "tickets"), "resolved", -1), 1);
    CHECK_INT(sb_json_int(sb_json_obj(h, "tickets"), "overdue", -1), 0);
    json_object_put(h);
    /* The same second or later: Intercom's state as read now is written. */
    stale.updated_at = 10;
    CHECK_INT(place(stale, NULL), SD_PLACED);
    CHECK_STR(field(SD_TICKETS, "7", "state"), "open");
    closed.updated_at = 11;
    CHECK_INT(place(closed, NULL), SD_PLACED);
    CHECK_STR(field(SD_USER_TICKETS, "u1|7", "state"), "closed");
}

int main(void)
{
    RUN(test_indexes_follow_the_user);
    RUN(test_matched_ticket_links_the_contact);
    RUN(test_skipped_then_matched);
    RUN(test_created_once_with_company_customer);
    RUN(test_companies_unmatched_without_create);
    RUN(test_health_follows_the_product_mapping);
    RUN(test_ticket_view_status_is_live);
    RUN(test_an_older_state_never_overwrites_a_newer_ticket);
    sbt_free(kit);
    UNIT_DONE();
}
