/* Unit tests: settings.c - schema checks, validation messages, redaction. */
#include "settings.h"
#include "unit.h"

static const char *const modes[] = {"internal", "public", "both", NULL};
static const sb_setting schema[] = {
    {.name = "posting_mode", .type = SB_SETTING_ENUM, .default_value = "internal", .allowed = modes},
    {.name = "buffer_hours", .type = SB_SETTING_INT, .default_value = "2", .min = 1, .max = 168},
    {.name = "enabled", .type = SB_SETTING_BOOL, .default_value = "true"},
    {.name = "template", .type = SB_SETTING_STRING},
    {.name = "token", .type = SB_SETTING_STRING, .flags = SB_SETTING_SENSITIVE},
    {.name = "tags", .type = SB_SETTING_STRING_LIST, .default_value = "bug, feature"},
    {.name = NULL},
};

static char errors[1024];

static void collect(void *arg, const char *key, const char *message)
{
    (void)arg;
    strcat(errors, key);
    strcat(errors, ": ");
    strcat(errors, message);
    strcat(errors, "\n");
}

static void defaults(void)
{
    struct buf err;
    buf_init(&err);
    CHECK(settings_schema_valid(schema, &err));
    buf_free(&err);
    json_object *d = settings_schema_defaults(schema);
    CHECK_STR(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
              "{\"posting_mode\":\"internal\",\"buffer_hours\":2,\"enabled\":true,\"template\":\"\","
              "\"token\":\"\",\"tags\":[\"bug\",\"feature\"]}");
    json_object_put(d);
}

static void validation(void)
{
    json_object *base = settings_schema_defaults(schema);
    json_object *in = json_tokener_parse("{\"posting_mode\":\"both\",\"buffer_hours\":4}");
    json_object *out = NULL;
    errors[0] = '\0';
    CHECK_INT(settings_validate(schema, in, base, &out, collect, NULL), 0);
    json_object *v;
    CHECK(json_object_object_get_ex(out, "posting_mode", &v));
    CHECK_STR(json_object_get_string(v), "both");
    CHECK(json_object_object_get_ex(out, "enabled", &v) && json_object_get_boolean(v));
    json_object_put(in);
    json_object_put(out);

    in = json_tokener_parse("{\"posting_mode\":\"loud\",\"buffer_hours\":0,\"enabled\":\"yes\","
                            "\"tags\":[1],\"colour\":\"red\"}");
    CHECK_INT(settings_validate(schema, in, base, &out, collect, NULL), 5);
    CHECK(out == NULL);
    CHECK_CONTAINS(errors, "posting_mode: must be one of: internal, public, both");
    CHECK_CONTAINS(errors, "buffer_hours: must be between 1 and 168");
    CHECK_CONTAINS(errors, "enabled: must be true or false");
    CHECK_CONTAINS(errors, "tags: must be a list of strings");
    CHECK_CONTAINS(errors, "colour: unknown setting");
    json_object_put(in);
    json_object_put(base);
}

static void bad_schemas(void)
{
    static const sb_setting no_values[] = {{.name = "m", .type = SB_SETTING_ENUM}, {.name = NULL}};
    static const sb_setting bad_default[] = {
        {.name = "n", .type = SB_SETTING_INT, .default_value = "two"}, {.name = NULL}};
    static const sb_setting twice[] = {{.name = "x", .type = SB_SETTING_BOOL},
                                       {.name = "x", .type = SB_SETTING_BOOL},
                                       {.name = NULL}};
    struct buf err;
    buf_init(&err);
    CHECK(!settings_schema_valid(no_values, &err));
    CHECK_CONTAINS(err.data, "lists no allowed values");
    buf_free(&err);
    CHECK(!settings_schema_valid(bad_default, &err));
    CHECK_CONTAINS(err.data, "invalid default");
    buf_free(&err);
    CHECK(!settings_schema_valid(twice, &err));
    CHECK_CONTAINS(err.data, "declared twice");
    buf_free(&err);
}

static void redaction(void)
{
    json_object *values = json_tokener_parse("{\"token\":\"hunter2\",\"template\":\"hi\"}");
    json_object *shown = settings_redacted(schema, values);
    const char *text = json_object_to_json_string(shown);
    CHECK(strstr(text, "hunter2") == NULL);
    CHECK_CONTAINS(text, "********");
    CHECK_CONTAINS(text, "\"hi\"");
    json_object *described = settings_schema_json(schema);
    CHECK_CONTAINS(json_object_to_json_string(described), "\"sensitive\": true");
    json_object_put(described);
    json_object_put(shown);
    json_object_put(values);
}

int main(void)
{
    RUN(defaults);
    RUN(validation);
    RUN(bad_schemas);
    RUN(redaction);
    UNIT_DONE();
}
