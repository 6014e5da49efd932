/* The usage mapping: what the product API accepts and refuses, and which rule an event falls under. */
#include "unit.h"

#include "sd_usage_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Validate @p json; returns the error ("" when it was accepted). */
static const char *refusal(const char *json)
{
    static char err[256];
    json_object *body = json_tokener_parse(json);
    err[0] = '\0';
    json_object *stored = sd_usage_map_from_input(body, err, sizeof err);
    CHECK(stored ? err[0] == '\0' : err[0] != '\0');
    json_object_put(stored);
    json_object_put(body);
    return err;
}

static void test_accepts_exact_and_prefix_entries(void)
{
    CHECK_STR(refusal("{\"mappings\":[]}"), "");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"login\",\"product\":\"App\",\"usage_type\":"
                      "\"Login\"},{\"event\":\"feature.*\",\"product\":\"App\",\"usage_type\":"
                      "\"Feature\"},{\"event\":\"*\",\"product\":\"App\",\"usage_type\":\"Other\"}]}"),
              "");
}

static void test_stored_form_keeps_only_the_three_fields(void)
{
    char err[256];
    json_object *body = json_tokener_parse(
        "{\"mappings\":[{\"usage_type\":\"Export\",\"event\":\"export\",\"product\":\"Reports\"}]}");
    json_object *stored = sd_usage_map_from_input(body, err, sizeof err);
    CHECK_STR(json_object_to_json_string_ext(stored, JSON_C_TO_STRING_PLAIN),
              "{\"mappings\":[{\"event\":\"export\",\"product\":\"Reports\",\"usage_type\":"
              "\"Export\"}]}");
    json_object_put(stored);
    json_object_put(body);
}

static void test_refuses_with_the_entry_and_field_named(void)
{
    CHECK_STR(refusal("[]"), "send {\"mappings\": [{\"event\", \"product\", \"usage_type\"}]}");
    CHECK_STR(refusal("{\"mapping\":[]}"),
              "send {\"mappings\": [{\"event\", \"product\", \"usage_type\"}]}");
    CHECK_STR(refusal("{\"mappings\":[],\"extra\":1}"),
              "unknown field 'extra' (send {\"mappings\": [...]})");
    CHECK_STR(refusal("{\"mappings\":[7]}"), "mappings[0] must be an object");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"a\",\"product\":\"P\",\"usage_type\":\"U\","
                      "\"prefix\":true}]}"),
              "mappings[0]: unknown field 'prefix' (allowed: event, product, usage_type)");
    CHECK_STR(refusal("{\"mappings\":[{\"product\":\"P\",\"usage_type\":\"U\"}]}"),
              "mappings[0].event is required (a string)");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"a\",\"product\":3,\"usage_type\":\"U\"}]}"),
              "mappings[0].product is required (a string)");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"\",\"product\":\"P\",\"usage_type\":\"U\"}]}"),
              "mappings[0].event must be 1-255 characters of text (not empty or blank, no "
              "control characters)");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"a\",\"product\":\"  \",\"usage_type\":\"U\"}]}"),
              "mappings[0].product must be 1-128 characters of text (not empty or blank, no "
              "control characters)");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"a\",\"product\":\"P\",\"usage_type\":\"U\\n\"}]}"),
              "mappings[0].usage_type must be 1-128 characters of text (not empty or blank, no "
              "control characters)");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"a*b\",\"product\":\"P\",\"usage_type\":\"U\"}]}"),
              "mappings[0].event: '*' may only end a prefix (\"feature.*\")");
    CHECK_STR(refusal("{\"mappings\":[{\"event\":\"a\",\"product\":\"P\",\"usage_type\":\"U\"},"
                      "{\"event\":\"b\",\"product\":\"P\",\"usage_type\":\"U\"},"
                      "{\"event\":\"a\",\"product\":\"Q\",\"usage_type\":\"V\"}]}"),
              "mappings[2].event 'a' is already mapped by mappings[0]");
}

static void test_length_limits(void)
{
    char event[300];
    memset(event, 'e', sizeof event);
    event[255] = '\0';
    char *json = NULL;
    json = malloc(1024);
    snprintf(json, 1024, "{\"mappings\":[{\"event\":\"%s\",\"product\":\"P\",\"usage_type\":\"U\"}]}",
             event);
    CHECK_STR(refusal(json), "");
    event[255] = 'e';
    event[256] = '\0';
    snprintf(json, 1024, "{\"mappings\":[{\"event\":\"%s\",\"product\":\"P\",\"usage_type\":\"U\"}]}",
             event);
    CHECK_CONTAINS(refusal(json), "mappings[0].event must be 1-255 characters");
    free(json);
}

static void test_at_most_the_limit_of_entries(void)
{
    for (int n = SD_USAGE_MAP_MAX; n <= SD_USAGE_MAP_MAX + 1; n++) {
        json_object *list = json_object_new_array();
        for (int i = 0; i < n; i++) {
            char name[32];
            snprintf(name, sizeof name, "event-%d", i);
            json_object *e = json_object_new_object();
            json_object_object_add(e, "event", json_object_new_string(name));
            json_object_object_add(e, "product", json_object_new_string("P"));
            json_object_object_add(e, "usage_type", json_object_new_string("U"));
            json_object_array_add(list, e);
        }
        json_object *body = json_object_new_object();
        json_object_object_add(body, "mappings", list);
        char err[256] = "";
        json_object *stored = sd_usage_map_from_input(body, err, sizeof err);
        if (n == SD_USAGE_MAP_MAX)
            CHECK(stored != NULL);
        else
            CHECK_STR(err, "at most 500 mappings (got 501)");
        json_object_put(stored);
        json_object_put(body);
    }
}

static const char *product_of(const struct sd_usage_map *map, const char *event)
{
    const struct sd_usage_rule *r = sd_usage_map_match(map, event);
    return r ? r->usage_type : "(none)";
}

static void test_exact_beats_prefix_and_longer_prefix_beats_shorter(void)
{
    json_object *stored = json_tokener_parse(
        "{\"mappings\":["
        "{\"event\":\"feature.*\",\"product\":\"App\",\"usage_type\":\"Feature\"},"
        "{\"event\":\"feature.export\",\"product\":\"Reports\",\"usage_type\":\"Export\"},"
        "{\"event\":\"feature.admin.*\",\"product\":\"Admin\",\"usage_type\":\"Admin\"},"
        "{\"event\":\"login\",\"product\":\"App\",\"usage_type\":\"Login\"},"
        "{\"event\":\"bad*name\",\"product\":\"App\",\"usage_type\":\"Never\"}]}");
    struct sd_usage_map map;
    sd_usage_map_load(stored, &map);
    CHECK_INT(map.n, 4); /* the hand-written bad entry is left out */
    CHECK_STR(product_of(&map, "feature.export"), "Export");
    CHECK_STR(product_of(&map, "feature.exports"), "Feature");
    CHECK_STR(product_of(&map, "feature.admin.invite"), "Admin");
    CHECK_STR(product_of(&map, "feature."), "Feature");
    CHECK_STR(product_of(&map, "feature"), "(none)");
    CHECK_STR(product_of(&map, "login"), "Login");
    CHECK_STR(product_of(&map, "Login"), "(none)"); /* names are compared exactly */
    CHECK_STR(product_of(&map, "logins"), "(none)");
    CHECK_STR(product_of(&map, "bad*name"), "(none)");
    CHECK_STR(product_of(&map, NULL), "(none)");
    CHECK_STR(sd_usage_map_match(&map, "feature.export")->product, "Reports");
    sd_usage_map_free(&map);
    json_object_put(stored);
}

static void test_catch_all_and_no_mapping(void)
{
    json_object *stored = json_tokener_parse(
        "{\"mappings\":[{\"event\":\"*\",\"product\":\"App\",\"usage_type\":\"Any\"}]}");
    struct sd_usage_map map;
    sd_usage_map_load(stored, &map);
    CHECK_STR(product_of(&map, "anything"), "Any");
    sd_usage_map_free(&map);
    json_object_put(stored);
    sd_usage_map_load(NULL, &map);
    CHECK_INT(map.n, 0);
    CHECK_STR(product_of(&map, "login"), "(none)");
    sd_usage_map_free(&map);
}

int main(void)
{
    RUN(test_accepts_exact_and_prefix_entries);
    RUN(test_stored_form_keeps_only_the_three_fields);
    RUN(test_refuses_with_the_entry_and_field_named);
    RUN(test_length_limits);
    RUN(test_at_most_the_limit_of_entries);
    RUN(test_exact_beats_prefix_and_longer_prefix_beats_shorter);
    RUN(test_catch_all_and_no_mapping);
    UNIT_DONE();
}
