/* test_conversation.c - the customer's words of an Intercom conversation. */
#include "ss_conversation.h"
#include "unit.h"

static void test_facts(void)
{
    json_object *conv = json_tokener_parse(
        "{\"type\":\"conversation\",\"id\":\"215\",\"created_at\":1768478400,"
        "\"source\":{\"type\":\"conversation\",\"subject\":\"Checkout\","
        "\"body\":\"<p>Checkout is <b>down</b> &amp; nothing works</p><p>Please help</p>\","
        "\"author\":{\"type\":\"user\",\"id\":\"c1\",\"name\":\"Ada Lovelace\"}},"
        "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":["
        "{\"part_type\":\"comment\",\"body\":\"<p>We are looking</p>\","
        "\"author\":{\"type\":\"admin\"}},"
        "{\"part_type\":\"note\",\"body\":\"<p>internal: outage?</p>\","
        "\"author\":{\"type\":\"admin\"}},"
        "{\"part_type\":\"comment\",\"body\":\"<p>Still broken for everyone</p>\","
        "\"author\":{\"type\":\"lead\",\"name\":\"Someone\"}},"
        "{\"part_type\":\"comment\",\"body\":null,\"author\":{\"type\":\"user\"}}]}}");
    struct ss_conversation_facts f;
    CHECK(ss_conversation_facts(conv, &f));
    CHECK_STR(f.id, "215");
    CHECK_INT(f.created_ms, 1768478400000LL);
    CHECK_STR(f.customer_name, "Ada Lovelace");
    CHECK_STR(f.text,
              "Checkout\nCheckout is down & nothing works\nPlease help\nStill broken for everyone");
    ss_conversation_facts_clear(&f);
    json_object_put(conv);
}

static void test_admin_initiated_and_numbers(void)
{
    /* An admin opened it: only the customer's later parts count. Ids may be numbers. */
    json_object *conv = json_tokener_parse(
        "{\"id\":77,\"source\":{\"body\":\"<p>Hello from the team</p>\","
        "\"author\":{\"type\":\"admin\"}},"
        "\"conversation_parts\":{\"conversation_parts\":[{\"body\":\"it crashes\","
        "\"author\":{\"type\":\"contact\",\"name\":\"Bo\"}}]}}");
    struct ss_conversation_facts f;
    CHECK(ss_conversation_facts(conv, &f));
    CHECK_STR(f.id, "77");
    CHECK_INT(f.created_ms, 0);
    CHECK_STR(f.text, "it crashes");
    CHECK_STR(f.customer_name, "Bo");
    ss_conversation_facts_clear(&f);
    json_object_put(conv);

    /* Some webhooks write times as RFC 3339 strings. */
    conv = json_tokener_parse("{\"id\":\"9\",\"created_at\":\"2026-01-15T13:00:00.000+01:00\"}");
    CHECK(ss_conversation_facts(conv, &f));
    CHECK_INT(f.created_ms, 1768478400000LL);
    ss_conversation_facts_clear(&f);
    json_object_put(conv);

    conv = json_tokener_parse("{\"type\":\"conversation\"}");
    CHECK(!ss_conversation_facts(conv, &f));
    ss_conversation_facts_clear(&f);
    json_object_put(conv);
}

static void test_length_cap(void)
{
    size_t n = SS_CONVERSATION_TEXT_MAX * 2;
    char *body = malloc(n + 1);
    memset(body, 'w', n);
    body[n] = '\0';
    json_object *conv = json_object_new_object();
    json_object_object_add(conv, "id", json_object_new_string("1"));
    json_object *source = json_object_new_object();
    json_object_object_add(source, "body", json_object_new_string(body));
    json_object *author = json_object_new_object();
    json_object_object_add(author, "type", json_object_new_string("user"));
    json_object_object_add(source, "author", author);
    json_object_object_add(conv, "source", source);
    struct ss_conversation_facts f;
    CHECK(ss_conversation_facts(conv, &f));
    CHECK_INT(strlen(f.text), SS_CONVERSATION_TEXT_MAX);
    ss_conversation_facts_clear(&f);
    json_object_put(conv);
    free(body);
}

int main(void)
{
    RUN(test_facts);
    RUN(test_admin_initiated_and_numbers);
    RUN(test_length_cap);
    UNIT_DONE();
}
