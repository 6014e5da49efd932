/* Conversation and contact facts: parsing Intercom's shapes, titles, links, round trips. */
#include "unit.h"

#include "plugin_kit.h"
#include "sd_conversation.h"

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(2);
    }
    return o;
}

static void test_listed_conversation(void)
{
    json_object *o = parse(
        "{\"type\":\"conversation\",\"id\":\"503\",\"created_at\":1700000000,"
        "\"updated_at\":1700000500,\"waiting_since\":1700000400,\"open\":true,\"state\":\"open\","
        "\"title\":null,\"source\":{\"subject\":\"\",\"body\":\"<p>My   invoice &amp; "
        "<b>order</b></p><p>is wrong</p>\"},\"contacts\":{\"type\":\"contact.list\",\"contacts\":"
        "[{\"type\":\"contact\",\"id\":\"c1\",\"external_id\":\"u-1\"},{\"id\":\"c2\"}]}}");
    struct sd_conversation c;
    char err[64];
    CHECK_INT(sd_conversation_parse(o, &c, err, sizeof err), 0);
    CHECK_STR(c.id, "503");
    CHECK_STR(c.state, "open");
    CHECK_STR(c.title, "My invoice & order is wrong");
    CHECK_INT(c.created_at, 1700000000);
    CHECK_INT(c.updated_at, 1700000500);
    CHECK_INT(c.waiting_since, 1700000400);
    CHECK_STR(c.contact_id, "c1");
    CHECK_STR(c.contact_external_id, "u-1");
    sd_conversation_free(&c);
    json_object_put(o);
}

static void test_sparse_conversation(void)
{
    /* Numeric id, only "open", null waiting_since, no contacts, title preferred. */
    json_object *o = parse("{\"id\":42,\"open\":false,\"created_at\":5,\"waiting_since\":null,"
                           "\"title\":\"Refund\",\"source\":{\"body\":\"ignored\"}}");
    struct sd_conversation c;
    char err[64];
    CHECK_INT(sd_conversation_parse(o, &c, err, sizeof err), 0);
    CHECK_STR(c.id, "42");
    CHECK_STR(c.state, "closed");
    CHECK_STR(c.title, "Refund");
    CHECK_INT(c.updated_at, 5);
    CHECK_INT(c.waiting_since, 0);
    CHECK(c.contact_id == NULL);
    CHECK(c.contact_external_id == NULL);
    sd_conversation_free(&c);
    json_object_put(o);

    /* Times as a webhook may write them: RFC 3339 strings. */
    o = parse("{\"id\":\"43\",\"created_at\":\"2023-11-14T22:13:20Z\","
              "\"updated_at\":\"2023-11-14T23:13:20.5+01:00\",\"waiting_since\":\"soon\"}");
    CHECK_INT(sd_conversation_parse(o, &c, err, sizeof err), 0);
    CHECK_INT(c.created_at, 1700000000);
    CHECK_INT(c.updated_at, 1700000000);
    CHECK_INT(c.waiting_since, 0);
    sd_conversation_free(&c);
    json_object_put(o);
}

static void test_conversation_without_id(void)
{
    json_object *o = parse("{\"state\":\"open\"}");
    struct sd_conversation c;
    char err[64] = "";
    CHECK_INT(sd_conversation_parse(o, &c, err, sizeof err), -1);
    CHECK_STR(err, "conversation without an id");
    CHECK(c.id == NULL);
    json_object_put(o);
}

static void test_facts_round_trip(void)
{
    struct sd_conversation c = {.id = "7", .state = "snoozed", .title = "a < b & c",
                                .created_at = 10, .updated_at = 20, .waiting_since = 15,
                                .contact_id = "c9", .contact_external_id = NULL};
    json_object *facts = sd_conversation_facts(&c);
    struct sd_conversation back;
    char err[64];
    CHECK_INT(sd_conversation_parse(facts, &back, err, sizeof err), 0);
    CHECK_STR(back.id, "7");
    CHECK_STR(back.state, "snoozed");
    CHECK_STR(back.title, "a < b & c"); /* titles are text, not HTML */
    CHECK_INT(back.created_at, 10);
    CHECK_INT(back.updated_at, 20);
    CHECK_INT(back.waiting_since, 15);
    CHECK_STR(back.contact_id, "c9");
    CHECK(back.contact_external_id == NULL);
    sd_conversation_free(&back);
    json_object_put(facts);
}

static void test_contact(void)
{
    json_object *o = parse(
        "{\"type\":\"contact\",\"id\":\"6762\",\"external_id\":null,\"email\":\"Ann@Example.com\","
        "\"name\":\"Ann\",\"companies\":{\"type\":\"list\",\"data\":[{\"type\":\"company\","
        "\"id\":\"co-1\",\"url\":\"/companies/co-1\"}],\"total_count\":1}}");
    struct sd_contact c;
    CHECK_INT(sd_contact_parse(o, &c), 0);
    CHECK_STR(c.id, "6762");
    CHECK(c.external_id == NULL);
    CHECK_STR(c.email, "Ann@Example.com");
    CHECK_STR(c.company_id, "co-1");
    json_object *facts = sd_contact_facts(&c);
    struct sd_contact back;
    CHECK_INT(sd_contact_parse(facts, &back), 0);
    CHECK_STR(back.email, "Ann@Example.com");
    CHECK_STR(back.name, "Ann");
    CHECK_STR(back.company_id, "co-1");
    sd_contact_free(&back);
    sd_contact_free(&c);
    json_object_put(facts);
    json_object_put(o);
    json_object *none = parse("{\"email\":\"x@y.z\"}");
    CHECK_INT(sd_contact_parse(none, &c), -1);
    json_object_put(none);
}

static void test_plain_text_cuts_on_characters(void)
{
    char *t = sd_plain_text("<p>\xc3\xa9t\xc3\xa9</p>", 4); /* "été": 5 bytes */
    CHECK_STR(t, "\xc3\xa9t");                                /* never half of "é" */
    free(t);
    t = sd_plain_text(NULL, 10);
    CHECK_STR(t, "");
    free(t);
    t = sd_plain_text("  a\n\tb  ", 10);
    CHECK_STR(t, "a b");
    free(t);
}

static void test_links_follow_the_region(void)
{
    char *us = pk_conversation_link("US", "ws1", "503");
    char *eu = pk_conversation_link("EU", "ws1", "503");
    char *au = pk_conversation_link("AU", "ws1", "503");
    CHECK_STR(us, "https://app.intercom.com/a/inbox/ws1/inbox/conversation/503");
    CHECK_STR(eu, "https://app.eu.intercom.com/a/inbox/ws1/inbox/conversation/503");
    CHECK_STR(au, "https://app.au.intercom.com/a/inbox/ws1/inbox/conversation/503");
    free(us);
    free(eu);
    free(au);
}

int main(void)
{
    RUN(test_listed_conversation);
    RUN(test_sparse_conversation);
    RUN(test_conversation_without_id);
    RUN(test_facts_round_trip);
    RUN(test_contact);
    RUN(test_plain_text_cuts_on_characters);
    RUN(test_links_follow_the_region);
    UNIT_DONE();
}
