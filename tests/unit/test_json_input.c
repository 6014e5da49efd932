/*
 * Unit tests: json_input.c - strict RFC 8259 JSON, the whole input, nothing
 * after it; the scanner webhook intake reads its few members with
 * (json_scan_fields), and the string decoder (json_string_decode).
 */
#include "json_input.h"
#include "unit.h"

#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

/* Bodies that are not strict JSON, with the reason each is refused for. */
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

static void everything_else_is_refused(void)
{
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

/* Every byte value at every place in a string, eight at a time or not: printable ASCII is
   taken; a control byte, a lone non-ASCII byte, a stray quote or backslash is refused. */
static void every_byte_is_checked_wherever_it_is(void)
{
    char text[24], why[128];
    int wrong = 0;
    for (int at = 1; at <= 20; at++) {
        for (int b = 1; b < 256; b++) {
            memset(text, 'a', sizeof text);
            text[0] = '"';
            text[22] = '"';
            text[at] = (char)b;
            bool plain = b >= 0x20 && b < 0x80 && b != '"' && b != '\\';
            if (accepted(text, 23, why, sizeof why) != plain)
                wrong++;
        }
    }
    CHECK_INT(wrong, 0);
}

/* json-c's own parser on text: the tree it makes (NULL for null or an error). */
static json_object *json_c_parse(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(65); /* our 64 levels, and the top */
    json_object *v = json_tokener_parse_ex(tok, text, (int)len);
    if (!v && json_tokener_get_error(tok) == json_tokener_continue)
        v = json_tokener_parse_ex(tok, "", 1); /* a top-level number ends with the input */
    json_tokener_free(tok);
    return v;
}

/* The tree json_parse_whole builds is json-c's: the same values and types, written back alike
   (key order, a repeated member's place, numbers' text), strings byte for byte. */
static void the_tree_is_json_c_s(void)
{
    static const char *const texts[] = {
        "{\"a\":1,\"b\":[true,false,null,\"x\"],\"c\":{}}", "[]", "[[],[[]],{}]",
        "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":null,\"a\":[1]}", "{\"k\\u0000z\":1,\"k\":2}",
        "0", "-0", "-12", "7", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "99999999999999999999",
        "-9223372036854775808", "-9223372036854775809", "-99999999999999999999",
        "1.0", "-0.0", "0.1", "1e5", "1E5", "2.50E-3", "1.5e400", "-1.5e+400", "1e-400",
        "123456789012345678901234567890.5",
        "[1.10000000000000000000000000000000000000000000000000000000000000000000001]",
        "\"\\u0000x\"", "\"\\ud800x\"", "\"\\udc00\"", "\"\\uD83D\\uDE00 \\u00e9 \\\" \\/ \\b\\f\\n\\r\\t\"",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", " { \"s p\" : [ 1 , 2 ] } ",
        "{\"type\":\"notification_event\",\"data\":{\"item\":{\"id\":\"1\",\"n\":3,\"f\":2.5}},"
        "\"created_at\":1700000000}",
        NULL};
    char why[128];
    for (int i = 0; texts[i]; i++) {
        size_t len = strlen(texts[i]);
        json_object *ours = json_parse_whole(texts[i], len, why, sizeof why);
        json_object *theirs = json_c_parse(texts[i], len);
        CHECK(ours != NULL && theirs != NULL);
        const int plain = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
        if (ours && theirs) {
            CHECK(json_object_equal(ours, theirs));
            CHECK(json_object_get_type(ours) == json_object_get_type(theirs));
            CHECK_STR(json_object_to_json_string_ext(ours, plain),
                      json_object_to_json_string_ext(theirs, plain));
            if (json_object_is_type(ours, json_type_string)) {
                CHECK_INT(json_object_get_string_len(ours), json_object_get_string_len(theirs));
                CHECK(memcmp(json_object_get_string(ours), json_object_get_string(theirs),
                             (size_t)json_object_get_string_len(ours)) == 0);
            }
            if (json_object_is_type(ours, json_type_int)) {
                CHECK(json_object_get_int64(ours) == json_object_get_int64(theirs));
                CHECK(json_object_get_uint64(ours) == json_object_get_uint64(theirs));
            }
        }
        if (!ours || !theirs)
            fprintf(stderr, "  not built alike: %s\n", texts[i]);
        json_object_put(ours);
        json_object_put(theirs);
    }
    /* A number and a string are values whole; a deep text builds as deep as the checks allow. */
    char deep[128];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    json_object *v = json_parse_whole(deep, sizeof deep, why, sizeof why);
    CHECK(v != NULL);
    json_object_put(v);
    /* Half a value builds nothing (and leaks nothing: the sanitizer build checks). */
    const char *cut = "{\"cut\":[1,{\"a\":\"b\"}", *wrong = "[\"a\",\"b\",tru]";
    CHECK(json_parse_whole(cut, strlen(cut), why, sizeof why) == NULL);
    CHECK_STR(why, "unexpected end of input at byte 19");
    CHECK(json_parse_whole(wrong, strlen(wrong), why, sizeof why) == NULL);
    CHECK_STR(why, "unexpected character at byte 9");
}

/* Numbers are read in the C locale, whatever locale the process has set (a plugin may). */
static void numbers_ignore_the_locale(void)
{
    static const char *const comma_locales[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", "fr_FR",
                                                "nl_NL.UTF-8", NULL};
    bool comma = false;
    for (int i = 0; comma_locales[i] && !comma; i++)
        comma = setlocale(LC_NUMERIC, comma_locales[i]) && strcmp(localeconv()->decimal_point, ",") == 0;
    if (!comma) {
        setlocale(LC_NUMERIC, "C");
        fprintf(stderr, "  skipped: no locale with a decimal comma on this machine\n");
        return;
    }
    char why[128];
    json_object *v = json_parse_whole("[2.5,1e3]", 9, why, sizeof why);
    CHECK(v != NULL);
    if (v) {
        CHECK(json_object_get_double(json_object_array_get_idx(v, 0)) == 2.5);
        CHECK(json_object_get_double(json_object_array_get_idx(v, 1)) == 1000.0);
    }
    json_object_put(v);
    setlocale(LC_NUMERIC, "C");
}

/* ---- json_scan_fields: intake's few members, without building the tree ---- */

enum { F_TOPIC, F_ID, F_APP_ID, F_CREATED_AT, F_ITEM, F_ITEM_ID, N_FIELDS };

/* Scan text (len bytes, or strlen) for the members webhook intake reads. */
static int scan_intake(const char *text, size_t len, struct json_field f[N_FIELDS], char *why,
                       size_t why_len)
{
    static const struct json_field intake[N_FIELDS] = {
        [F_TOPIC] = {{"topic"}, NULL, 0},
        [F_ID] = {{"id"}, NULL, 0},
        [F_APP_ID] = {{"app_id"}, NULL, 0},
        [F_CREATED_AT] = {{"created_at"}, NULL, 0},
        [F_ITEM] = {{"data", "item"}, NULL, 0},
        [F_ITEM_ID] = {{"data", "item", "id"}, NULL, 0},
    };
    memcpy(f, intake, sizeof intake);
    return json_scan_fields(text, len ? len : strlen(text), f, N_FIELDS, why, why_len);
}

/* Whether a field's raw value is exactly raw (NULL: the field is absent). */
static bool raw_is(const struct json_field *f, const char *raw, int line)
{
    bool same = raw ? f->value && f->len == strlen(raw) && memcmp(f->value, raw, f->len) == 0
                    : !f->value;
    if (!same)
        fprintf(stderr, "line %d: raw \"%.*s\", expected \"%s\"\n", line, f->value ? (int)f->len : 6,
                f->value ? f->value : "absent", raw ? raw : "absent");
    return same;
}
#define CHECK_RAW(field, raw) CHECK(raw_is(&(field), raw, __LINE__))

/* Both refuse text, for the same reason at the same byte. */
static void refused_alike(const char *text, size_t len)
{
    char scan_why[128] = "", whole_why[128] = "";
    struct json_field f[N_FIELDS];
    len = len ? len : strlen(text);
    json_object *v = json_parse_whole(text, len, whole_why, sizeof whole_why);
    CHECK(v == NULL);
    json_object_put(v);
    CHECK_INT(scan_intake(text, len, f, scan_why, sizeof scan_why), -1);
    if (strcmp(scan_why, whole_why) != 0)
        fprintf(stderr, "%.*s: scan \"%s\", whole \"%s\"\n", (int)len, text, scan_why, whole_why);
    CHECK_STR(scan_why, whole_why);
}

/* n containers, each the "data" member of the one around it or (arrays) its only element. */
static char *nested(char *out, int n, bool objects)
{
    char *p = out;
    for (int i = 0; i < n; i++)
        p += sprintf(p, objects ? "{\"data\":" : "[");
    p += sprintf(p, "1");
    for (int i = 0; i < n; i++)
        *p++ = objects ? '}' : ']';
    *p = '\0';
    return out;
}

static void scan_refuses_what_parse_whole_refuses(void)
{
    for (int i = 0; bad[i].text; i++)
        refused_alike(bad[i].text, 0);
    /* The same mistakes inside the members the scan watches (its own path through objects). */
    static const char *const watched_bad[] = {
        "{\"data\":{\"item\":{\"id\":01}}}",
        "{\"data\":{\"item\":{\"id\" 1}}}",
        "{\"data\":{\"item\":{\"id\":1 \"x\":2}}}",
        "{\"data\":{\"item\":{'id':1}}}",
        "{\"data\":{\"item\":{\"id\":1,}}}",
        "{\"data\":{\"item\":{,}}}",
        "{\"data\":{\"item\":{\"id\":\"\\u12\"}}}",
        "{\"data\":{\"item\":{\"id\":\"open",
        "{\"data\":{\"item\":{\"id\":1}",
        "{\"data\":{\"item\":{\"id\":",
        "{\"data\":{\"item\":{\"id\":1}}}}",
        "{\"data\":{\"item\":{\"id\":-}}}",
        "{\"data\":{\"item\":[1,]}}",
        "{\"data\":{\"it\\em\":{}}}",
        "{\"data\":{\"\\u0069tem\":{\"id\":tru}}}",
        "{\"data\" : {\"item\" : {\"id\" : 1 } } } x",
        "{\"topic\":\"a\x01\"}",
        "{\"topic\":}",
        "{\"topic\"",
        "{\"topic\":\"ping\"",
        "{\"top\x80ic\":1}",
        "{\"created_at\":1.e5}",
        "{\"created_at\":1E+}",
        "{\"id\":\"a\",}",
        "\f{}",              /* a form feed is not JSON space */
        "{\"topic\":\"a\"}\v", /* nor is a vertical tab */
        "{\"topic\":\"a\"}]",
        "]",
        "{\"data\":null,\"data\":{\"item\":{\"id\":[1 2]}}}",
        NULL};
    for (int i = 0; watched_bad[i]; i++)
        refused_alike(watched_bad[i], 0);
    static const char nul_after[] = "{\"topic\":\"a\"}\0{\"topic\":\"b\"}";
    refused_alike(nul_after, sizeof nul_after - 1);
    static const char nul_inside[] = "{\"data\":{\"item\":{\"id\":\"x\0y\"}}}";
    refused_alike(nul_inside, sizeof nul_inside - 1);
}

/* 64 levels of nesting are taken, 65 refused, through the watched objects and below them. */
static void scan_depth_is_bounded(void)
{
    char text[1024], why[128];
    struct json_field f[N_FIELDS];
    for (int objects = 0; objects <= 1; objects++) {
        CHECK_INT(scan_intake(nested(text, 64, objects), 0, f, why, sizeof why), 0);
        refused_alike(nested(text, 65, objects), 0);
        CHECK_INT(scan_intake(text, 0, f, why, sizeof why), -1);
        CHECK_CONTAINS(why, "nested too deeply");
    }
    /* item.id an array 61 deep: 64 containers in all; one more is too many. */
    static const char head[] = "{\"data\":{\"item\":{\"id\":";
    for (int depth = 61; depth <= 62; depth++) {
        char *p = text + sprintf(text, "%s", head);
        memset(p, '[', (size_t)depth);
        memset(p + depth, ']', (size_t)depth);
        sprintf(p + 2 * depth, "}}}");
        if (depth == 61) {
            CHECK_INT(scan_intake(text, 0, f, why, sizeof why), 0);
            CHECK(f[F_ITEM_ID].value == p && f[F_ITEM_ID].len == 2 * (size_t)depth);
        } else {
            refused_alike(text, 0);
        }
    }
    /* Three levels of "data" watched at once: the scan's own descent checks the depth too. */
    struct json_field deep[] = {{{"data", "data", "data"}, NULL, 0}};
    nested(text, 64, true);
    CHECK_INT(json_scan_fields(text, strlen(text), deep, 1, why, sizeof why), 0);
    CHECK(deep[0].value != NULL && deep[0].value[0] == '{');
    nested(text, 65, true);
    CHECK_INT(json_scan_fields(text, strlen(text), deep, 1, why, sizeof why), -1);
    CHECK_CONTAINS(why, "nested too deeply at byte 512");
}

/* An Intercom notification (the envelope of tests/integration/harness.py), a conversation in it. */
#define CONVERSATION                                                                           \
    "{\"type\":\"conversation\",\"source\":{\"type\":\"conversation\",\"id\":\"403918320\","     \
    "\"author\":{\"type\":\"user\",\"id\":\"5e3f\",\"name\":\"Ana\"},"                           \
    "\"body\":\"<p>Checkout fails with \\\"502\\\" \\u2014 caf\xc3\xa9</p>\"},"                  \
    "\"id\":\"215\",\"created_at\":1767225000,\"topic\":\"not this one\","                       \
    "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":["      \
    "{\"type\":\"conversation_part\",\"id\":\"2045\",\"body\":\"Still broken, order 4411\"}],"  \
    "\"total_count\":1},\"contacts\":{\"type\":\"contact.list\",\"contacts\":"                  \
    "[{\"type\":\"contact\",\"id\":\"6571\"}]}}"

static void intercom_notifications_are_read(void)
{
    static const char notification[] =
        "{\"type\":\"notification_event\",\"app_id\":\"ws_a86dr8yl\",\"data\":{\"type\":"
        "\"notification_event_data\",\"id\":\"not the item's\",\"item\":" CONVERSATION "},"
        "\"links\":{},\"id\":\"notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3\","
        "\"topic\":\"conversation.user.replied\",\"delivery_status\":\"pending\","
        "\"delivery_attempts\":1,\"delivered_at\":0,\"first_sent_at\":1767225601,"
        "\"created_at\":1767225600,\"self\":null}";
    struct json_field f[N_FIELDS];
    char why[128];
    CHECK_INT(scan_intake(notification, 0, f, why, sizeof why), 0);
    CHECK_RAW(f[F_TOPIC], "\"conversation.user.replied\"");
    CHECK_RAW(f[F_ID], "\"notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3\"");
    CHECK_RAW(f[F_APP_ID], "\"ws_a86dr8yl\"");
    CHECK_RAW(f[F_CREATED_AT], "1767225600");
    CHECK_RAW(f[F_ITEM], CONVERSATION);
    CHECK_RAW(f[F_ITEM_ID], "\"215\"");

    /* The same pretty-printed: spaces around names, colons, commas and values are left out. */
    static const char spaced[] =
        " \r\n{\n  \"type\" : \"notification_event\" ,\n  \"topic\"\t:\t\"ping\"\t,\r\n"
        "  \"id\" :  null ,\n  \"created_at\" :\n    1767225600\n  ,\n  \"data\" : {\n"
        "    \"item\" :  {\n      \"type\" : \"ping\" ,\n      \"id\" : 7 \n    }  \n  }\n}\n ";
    CHECK_INT(scan_intake(spaced, 0, f, why, sizeof why), 0);
    CHECK_RAW(f[F_TOPIC], "\"ping\"");
    CHECK_RAW(f[F_ID], "null");
    CHECK_RAW(f[F_APP_ID], NULL);
    CHECK_RAW(f[F_CREATED_AT], "1767225600");
    CHECK_RAW(f[F_ITEM], "{\n      \"type\" : \"ping\" ,\n      \"id\" : 7 \n    }");
    CHECK_RAW(f[F_ITEM_ID], "7");

    /* Nothing watched in it: every field absent, still checked whole. */
    CHECK_INT(scan_intake("{\"type\":\"notification_event\",\"data\":{}}", 0, f, why, sizeof why), 0);
    for (int i = 0; i < N_FIELDS; i++)
        CHECK(f[i].value == NULL);
}

/* A repeated member: the last counts, as json-c keeps the last. */
static void the_last_repeated_member_counts(void)
{
    struct json_field f[N_FIELDS];
    char why[128];
    CHECK_INT(scan_intake("{\"topic\":\"a\",\"id\":1,\"topic\":\"b\",\"id\":{\"x\":2}}", 0, f, why,
                          sizeof why), 0);
    CHECK_RAW(f[F_TOPIC], "\"b\"");
    CHECK_RAW(f[F_ID], "{\"x\":2}");
    CHECK_INT(scan_intake("{\"data\":{\"item\":{\"id\":1}},\"data\":{\"item\":{\"id\":2,\"id\":3}}}", 0, f,
                          why, sizeof why), 0);
    CHECK_RAW(f[F_ITEM], "{\"id\":2,\"id\":3}");
    CHECK_RAW(f[F_ITEM_ID], "3");
    /* A later data or item that is no object, or has no id, takes the earlier one's fields away. */
    static const char *const replaced[] = {
        "{\"data\":{\"item\":{\"id\":1}},\"data\":[]}",
        "{\"data\":{\"item\":{\"id\":1}},\"data\":null}",
        "{\"data\":{\"item\":{\"id\":1}},\"data\":\"{\\\"item\\\":{}}\"}",
        "{\"data\":{\"item\":{\"id\":1}},\"data\":{\"other\":{\"id\":1}}}",
        "{\"data\":{\"item\":{\"id\":1},\"item\":7}}",
        "{\"d\\u0061ta\":{\"item\":{\"id\":1}},\"data\":1}",
        NULL};
    for (int i = 0; replaced[i]; i++) {
        CHECK_INT(scan_intake(replaced[i], 0, f, why, sizeof why), 0);
        CHECK_RAW(f[F_ITEM_ID], NULL);
        CHECK(!f[F_ITEM].value || f[F_ITEM].value[0] != '{');
    }
    CHECK_RAW(f[F_ITEM], NULL);
    CHECK_INT(scan_intake("{\"data\":{\"item\":{\"id\":1},\"item\":{\"type\":\"x\"}}}", 0, f, why,
                          sizeof why), 0);
    CHECK_RAW(f[F_ITEM], "{\"type\":\"x\"}");
    CHECK_RAW(f[F_ITEM_ID], NULL);
    /* An id deeper in the item, or beside it, is not the item's. */
    CHECK_INT(scan_intake("{\"data\":{\"id\":1,\"item\":{\"x\":{\"id\":2},\"l\":[{\"id\":3}]}}}", 0, f,
                          why, sizeof why), 0);
    CHECK_RAW(f[F_ITEM_ID], NULL);
    CHECK_RAW(f[F_ID], NULL);
}

/* Member names are compared by what they decode to, as json-c does (up to a NUL, where it stops). */
static void escaped_member_names_are_decoded(void)
{
    struct json_field f[N_FIELDS];
    char why[128];
    CHECK_INT(scan_intake("{\"\\u0074opic\":\"t\",\"\\u0069\\u0064\":\"i\",\"app\\u005fid\":\"w\","
                          "\"d\\u0061ta\":{\"it\\u0065m\":{\"\\u0069d\":\"7\"}}}", 0, f, why, sizeof why),
              0);
    CHECK_RAW(f[F_TOPIC], "\"t\"");
    CHECK_RAW(f[F_ID], "\"i\"");
    CHECK_RAW(f[F_APP_ID], "\"w\"");
    CHECK_RAW(f[F_ITEM_ID], "\"7\"");
    /* Names that only look alike are other members. */
    CHECK_INT(scan_intake("{\"to\\/pic\":1,\"Topic\":2,\"topic \":3,\"\\u0074opicx\":4,\"i\\u0064\\u0000\":5,"
                          "\"app_id\\u0000\":6,\"\\u0000app_id\":7,\"\\u00e9\":8}", 0, f, why, sizeof why),
              0);
    CHECK_RAW(f[F_TOPIC], NULL);
    CHECK_RAW(f[F_ID], "5");     /* json-c cuts a name at its NUL: "id" */
    CHECK_RAW(f[F_APP_ID], "6"); /* and "app_id", but not the name that starts with one */
    /* A NUL-cut name repeats the member it is cut to; the last counts. */
    static const char cut[] = "{\"topic\":\"a\",\"topic\\u0000x\":\"b\"}";
    CHECK_INT(scan_intake(cut, 0, f, why, sizeof why), 0);
    CHECK_RAW(f[F_TOPIC], "\"b\"");
    json_object *v = json_parse_whole(cut, strlen(cut), why, sizeof why), *topic = NULL;
    CHECK(json_object_object_get_ex(v, "topic", &topic));
    CHECK_STR(json_object_get_string(topic), "b");
    json_object_put(v);
    /* Long escaped names: one that is too long to be a watched name, one cut short by its NUL. */
    char text[512];
    snprintf(text, sizeof text, "{\"\\u0074opic%0200d\":1,\"\\u0074opic\\u0000%0200d\":2}", 0, 0);
    CHECK_INT(scan_intake(text, 0, f, why, sizeof why), 0);
    CHECK_RAW(f[F_TOPIC], "2");
    snprintf(text, sizeof text, "{\"d\\u0061ta\\u0000%0100d\":{\"item\":{\"id\":\"x\"}}}", 0);
    CHECK_INT(scan_intake(text, 0, f, why, sizeof why), 0);
    CHECK_RAW(f[F_ITEM_ID], "\"x\"");
}

/* Every kind of value comes out as its raw text, without the space around it. */
static void values_of_every_type_are_raw(void)
{
    static const char *const values[] = {
        "\"s\"", "\"\"", "\"\\\"}\\\\\"", "\"caf\xc3\xa9 \\uD83D\\uDE00\"", "0", "-0", "12", "-12",
        "1.5", "-1.5e-3", "2E+10", "123456789012345678901234567890", "true", "false", "null", "{}",
        "[]", "{\"a\":[1,{\"b\":\"}\"}]}", "[\"]\",[[]],{}]", NULL};
    static const char *const spaces[] = {"", " ", "\t", "\n", "\r", " \r\n\t ", NULL};
    struct json_field f[N_FIELDS];
    char text[256], why[128];
    for (int i = 0; values[i]; i++) {
        for (int j = 0; spaces[j]; j++) {
            snprintf(text, sizeof text, "{\"created_at\":%s%s%s,\"topic\":%s%s%s}", spaces[j],
                     values[i], spaces[j], spaces[j], values[i], spaces[j]);
            CHECK_INT(scan_intake(text, 0, f, why, sizeof why), 0);
            CHECK_RAW(f[F_CREATED_AT], values[i]);
            CHECK_RAW(f[F_TOPIC], values[i]);
        }
    }
}

/* A top-level array or scalar is valid JSON, with none of the members. */
static void other_top_levels_have_no_fields(void)
{
    static const char *const tops[] = {"[]", "[{\"topic\":\"x\",\"data\":{\"item\":{\"id\":1}}}]",
                                       "\"topic\"", "1", "-2.5e3", "true", "false", " null ",
                                       "\"{\\\"topic\\\":1}\"", NULL};
    struct json_field f[N_FIELDS];
    char why[128];
    for (int i = 0; tops[i]; i++) {
        CHECK_INT(scan_intake(tops[i], 0, f, why, sizeof why), 0);
        for (int k = 0; k < N_FIELDS; k++)
            CHECK(f[k].value == NULL);
    }
}

/* Up to 32 fields; more is refused rather than half-watched. */
static void at_most_32_fields(void)
{
    struct json_field f[33];
    static const char *const names[] = {"a", "b", "c", "d"};
    char why[128];
    for (int i = 0; i < 33; i++)
        f[i] = (struct json_field){{names[i % 4]}, NULL, 0};
    CHECK_INT(json_scan_fields("{\"d\":1}", 7, f, 32, why, sizeof why), 0);
    CHECK_RAW(f[31], "1");
    CHECK_RAW(f[3], "1");
    CHECK_RAW(f[0], NULL);
    CHECK_INT(json_scan_fields("{\"d\":1}", 7, f, 33, why, sizeof why), -1);
    CHECK_STR(why, "too many fields to watch");
    CHECK(f[3].value == NULL);
    CHECK_INT(json_scan_fields("{\"d\":1}", 7, f, 0, why, sizeof why), 0);
    CHECK_INT(json_scan_fields("{\"d\":", 5, f, 0, why, sizeof why), -1);
}

/* ---- json_string_decode ---- */

/* Decode raw (a JSON string, quotes included) into a cap-byte buffer: its length; out holds the text. */
static size_t decode(const char *raw, char *out, size_t cap)
{
    memset(out, 'Z', cap);
    return json_string_decode(raw, strlen(raw), out, cap);
}

static void strings_are_decoded(void)
{
    static const struct {
        const char *raw, *text;
    } cases[] = {
        {"\"\"", ""},
        {"\"plain ascii\"", "plain ascii"},
        {"\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t"},
        {"\"\\u0041\\u00e9\\u00E9\\u20AC\"", "A\xc3\xa9\xc3\xa9\xe2\x82\xac"},
        {"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "caf\xc3\xa9 \xf0\x9f\x98\x80"}, /* raw UTF-8 as is */
        {"\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80"},                          /* a surrogate pair */
        {"\"\\ud83d\\ude00!\"", "\xf0\x9f\x98\x80!"},
        {"\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
        /* U+1DA15 and U+2D800, which json-c 0.16 decodes wrong (fuzz_json_scan.c: json_c_mangles) */
        {"\"\\uD836\\uDE15\\uD876\\uDC00\"", "\xf0\x9d\xa8\x95\xf0\xad\xa0\x80"},
        {"\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"},
        /* lone surrogates become U+FFFD, and what follows them is read as usual */
        {"\"\\uD83D\"", "\xef\xbf\xbd"},
        {"\"\\uD83Dx\"", "\xef\xbf\xbdx"},
        {"\"\\uDE00\\uD83D\"", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\"\\uD83D\\n\"", "\xef\xbf\xbd\n"},
        {"\"\\uD83D\\u0041\"", "\xef\xbf\xbd" "A"},
        {"\"\\uD83D\\uD83D\\uDE00\"", "\xef\xbf\xbd\xf0\x9f\x98\x80"},
        {"\"\\uDE00\\uDE00\"", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"\"\\\\uD83D\\uDE00\"", "\\uD83D\xef\xbf\xbd"}, /* an escaped backslash, then a lone low half */
        {NULL, NULL}};
    char out[64];
    for (int i = 0; cases[i].raw; i++) {
        size_t n = decode(cases[i].raw, out, sizeof out);
        CHECK_INT(n, strlen(cases[i].text));
        if (n < sizeof out)
            CHECK_STR(out, cases[i].text);
    }
    /* \u0000 is a NUL inside the text, counted in its length. */
    size_t n = decode("\"a\\u0000b\"", out, sizeof out);
    CHECK_INT(n, 3);
    CHECK(memcmp(out, "a\0b", 4) == 0);
}

/* The text and its NUL must fit in cap bytes; otherwise SIZE_MAX. */
static void too_small_a_buffer_is_refused(void)
{
    static const struct {
        const char *raw;
        size_t len; /* of the text; cap len + 1 is enough, len is not */
    } cases[] = {{"\"\"", 0},          {"\"abc\"", 3},         {"\"a\\nb\"", 3},
                 {"\"\\u00e9\"", 2},   {"\"\\u20ac\"", 3},     {"\"\\uD83D\\uDE00\"", 4},
                 {"\"\\uD83D\"", 3},   {"\"a\\u0000\"", 2},    {"\"x\xc3\xa9y\\t\"", 5},
                 {NULL, 0}};
    char out[16];
    for (int i = 0; cases[i].raw; i++) {
        CHECK_INT(decode(cases[i].raw, out, cases[i].len + 1), cases[i].len);
        CHECK(out[cases[i].len] == '\0');
        for (size_t cap = 0; cap <= cases[i].len; cap++)
            CHECK(decode(cases[i].raw, out, cap) == SIZE_MAX);
    }
    CHECK(json_string_decode("\"", 1, out, sizeof out) == SIZE_MAX); /* not a string */
}

int main(void)
{
    RUN(strict_json_is_accepted);
    RUN(everything_else_is_refused);
    RUN(nul_after_the_value_is_refused);
    RUN(depth_is_bounded);
    RUN(values_come_out_whole);
    RUN(every_byte_is_checked_wherever_it_is);
    RUN(the_tree_is_json_c_s);
    RUN(numbers_ignore_the_locale);
    RUN(scan_refuses_what_parse_whole_refuses);
    RUN(scan_depth_is_bounded);
    RUN(intercom_notifications_are_read);
    RUN(the_last_repeated_member_counts);
    RUN(escaped_member_names_are_decoded);
    RUN(values_of_every_type_are_raw);
    RUN(other_top_levels_have_no_fields);
    RUN(at_most_32_fields);
    RUN(strings_are_decoded);
    RUN(too_small_a_buffer_is_refused);
    UNIT_DONE();
}
