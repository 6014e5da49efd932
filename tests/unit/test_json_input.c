/* Unit tests: json_input.c - strict RFC 8259 JSON, the whole input, nothing after it. */
#include "json_input.h"
#include "unit.h"

#include <stdbool.h>

/* Parse text (strlen, or len when given) and say whether it was accepted. */
static bool accepted(const char *text, size_t len, char *why, size_t why_len)
{
    json_object *v = json_parse_whole(text, len ? len : strlen(text), why, why_len);
    json_object_put(v);
    return v != NULL;
}

static void strict_json_is_accepted(void)
{
    static const char *const good[] = {
        "{}", " {\"a\": 1} \r\n", "[]", "[1, -2, 3.5, -0.0, 1e5, 1E-5, 2.5e+10]", "\"s\"", "0",
        "-12", "true", "false", "{\"a\":{\"b\":[{\"c\":null}]}}",
        "{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}",
        "{\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}", "{\"a\":1,\"a\":2}", NULL};
    char why[128];
    for (int i = 0; good[i]; i++) {
        bool ok = accepted(good[i], 0, why, sizeof why);
        if (!ok)
            fprintf(stderr, "refused %s: %s\n", good[i], why);
        CHECK(ok);
    }
}

static void everything_else_is_refused(void)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "unexpected end of input"},
        {"   ", "unexpected end of input"},
        {"{\"a\":1}garbage", "unexpected data after the JSON value at byte 7"},
        {"{\"a\":1}{}", "unexpected data after the JSON value"},
        {"{\"a\":1} /* c */", "unexpected data after the JSON value at byte 8"},
        {"{/* c */\"a\":1}", "an object member name must be a string"},
        {"{'a':1}", "an object member name must be a string"},
        {"{\"a\":'x'}", "unexpected character"},
        {"[1,2,]", "unexpected character"},
        {"{\"a\":1,}", "an object member name must be a string"},
        {"{\"a\" 1}", "':' expected after a member name"},
        {"{\"a\":1 \"b\":2}", "',' or '}' expected"},
        {"[1 2]", "',' or ']' expected"},
        {"{\"a\":01}", "a number has a leading zero"},
        {"{\"a\":+1}", "unexpected character"},
        {"{\"a\":.5}", "unexpected character"},
        {"{\"a\":1.}", "malformed number"},
        {"{\"a\":1e}", "malformed number"},
        {"{\"a\":NaN}", "unexpected character"},
        {"{\"a\":Infinity}", "unexpected character"},
        {"{\"a\":tRue}", "unexpected character"},
        {"{\"a\":nul}", "unexpected character"},
        {"{\"a\":\"x\ty\"}", "a control byte in a string must be escaped"},
        {"{\"a\":\"\\x41\"}", "unknown escape in a string"},
        {"{\"a\":\"\\u12G4\"}", "malformed \\u escape"},
        {"{\"a\":\"\xff\"}", "a string is not valid UTF-8"},
        {"{\"a\":\"\xc0\xaf\"}", "a string is not valid UTF-8"},       /* overlong '/' */
        {"{\"a\":\"\xed\xa0\x80\"}", "a string is not valid UTF-8"},   /* a raw surrogate */
        {"{\"a\":\"open", "unterminated string"},
        {"{\"a\":[1,", "unexpected end of input"},
        {"\xef\xbb\xbf{}", "unexpected character"}, /* a byte order mark */
        {NULL, NULL}};
    char why[128];
    for (int i = 0; bad[i].text; i++) {
        bool ok = accepted(bad[i].text, 0, why, sizeof why);
        if (ok)
            fprintf(stderr, "accepted %s\n", bad[i].text);
        CHECK(!ok);
        if (!ok && !strstr(why, bad[i].why))
            fprintf(stderr, "%s: got \"%s\", expected \"%s\"\n", bad[i].text, why, bad[i].why);
        CHECK(ok || strstr(why, bad[i].why) != NULL);
    }
}

/* A NUL after the value is data after it: json-c alone would stop there and say yes. */
static void nul_after_the_value_is_refused(void)
{
    char why[128];
    static const char text[] = "{\"a\":1}\0{\"b\":2}";
    CHECK(!accepted(text, sizeof text - 1, why, sizeof why));
    CHECK(strstr(why, "after the JSON value at byte 7") != NULL);
    static const char inside[] = "{\"a\":\"x\0y\"}";
    CHECK(!accepted(inside, sizeof inside - 1, why, sizeof why));
}

static void depth_is_bounded(void)
{
    char deep[256], why[128];
    for (int depth = 60; depth <= 70; depth += 10) {
        memset(deep, '[', (size_t)depth);
        memset(deep + depth, ']', (size_t)depth);
        deep[2 * depth] = '\0';
        bool ok = accepted(deep, 0, why, sizeof why);
        CHECK(ok == (depth <= 64));
        if (!ok)
            CHECK(strstr(why, "nested too deeply") != NULL);
    }
}

static void values_come_out_whole(void)
{
    char why[128];
    json_object *v = json_parse_whole("{\"n\": 12, \"s\": \"\\u00e9\", \"l\": [true]}", 37, why,
                                      sizeof why);
    CHECK(v != NULL);
    if (!v)
        return;
    CHECK_INT(json_object_get_int(json_object_object_get(v, "n")), 12);
    CHECK_STR(json_object_get_string(json_object_object_get(v, "s")), "\xc3\xa9");
    CHECK_INT(json_object_array_length(json_object_object_get(v, "l")), 1);
    json_object_put(v);
    CHECK(json_parse_whole(" null ", 6, why, sizeof why) == NULL);
    CHECK_STR(why, "the value is null");
    v = json_parse_whole("123", 3, why, sizeof why);
    CHECK(v != NULL && json_object_get_int(v) == 123);
    json_object_put(v);
}

int main(void)
{
    RUN(strict_json_is_accepted);
    RUN(everything_else_is_refused);
    RUN(nul_after_the_value_is_refused);
    RUN(depth_is_bounded);
    RUN(values_come_out_whole);
    UNIT_DONE();
}
