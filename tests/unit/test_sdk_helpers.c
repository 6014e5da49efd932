/* Unit tests: <switchboard/helpers.h>, built against the SDK alone, as a plugin is. */
#include "unit.h"

#include <math.h>
#include <switchboard/helpers.h>

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(2);
    }
    return o;
}

/* escape(in) is a new string equal to expected. */
#define CHECK_ESCAPED(escape, in, expected)                                                    \
    do {                                                                                       \
        char *escaped_ = escape(in);                                                           \
        CHECK_STR(escaped_, expected);                                                         \
        free(escaped_);                                                                        \
    } while (0)

static const char *plain(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
                                                 | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void json_getters(void)
{
    json_object *o = parse("{\"num_id\":42,\"str_id\":\"abc\",\"empty\":\"\",\"nul\":null,"
                           "\"yes\":true,\"obj\":{\"k\":1},\"arr\":[1],\"dbl\":1.5}");
    CHECK_STR(sb_json_str(o, "num_id"), "42");
    CHECK_STR(sb_json_str(o, "str_id"), "abc");
    CHECK(sb_json_str(o, "empty") == NULL);
    CHECK(sb_json_str(o, "nul") == NULL);
    CHECK(sb_json_str(o, "absent") == NULL);
    CHECK(sb_json_str(o, "yes") == NULL);
    CHECK(sb_json_str(o, "obj") == NULL);
    CHECK(sb_json_str(o, "dbl") == NULL);

    CHECK(sb_json_obj(o, "obj") == json_object_object_get(o, "obj"));
    CHECK(sb_json_obj(o, "arr") == NULL);
    CHECK(sb_json_arr(o, "arr") == json_object_object_get(o, "arr"));
    CHECK(sb_json_arr(o, "obj") == NULL);
    CHECK(sb_json_get(o, "nul") == NULL);
    CHECK(sb_json_get(o, "yes") != NULL);

    CHECK(sb_json_bool(o, "yes", false));
    CHECK(!sb_json_bool(o, "absent", false));
    CHECK(sb_json_bool(o, "num_id", true)); /* not a boolean: the fallback */

    CHECK(sb_json_is_null(o, "nul"));
    CHECK(!sb_json_is_null(o, "absent"));
    CHECK(!sb_json_is_null(o, "empty"));

    /* Not an object, or no object at all: every getter says absent. */
    json_object *arr = json_object_object_get(o, "arr");
    CHECK(sb_json_str(arr, "0") == NULL);
    CHECK(sb_json_obj(NULL, "obj") == NULL);
    CHECK_INT(sb_json_int(NULL, "num_id", -1), -1);
    CHECK(!sb_json_is_null(NULL, "nul"));
    json_object_put(o);
}

static void json_int(void)
{
    json_object *o = parse("{\"i\":-7,\"big\":9007199254740993,\"whole\":1.7e9,\"frac\":1.5,"
                           "\"huge\":1e300,\"s\":\"42\",\"neg\":\"-12\",\"junk\":\"12abc\","
                           "\"blank\":\"\",\"over\":\"99999999999999999999\",\"b\":true}");
    CHECK_INT(sb_json_int(o, "i", 0), -7);
    CHECK_INT(sb_json_int(o, "big", 0), 9007199254740993LL);
    CHECK_INT(sb_json_int(o, "whole", 0), 1700000000);
    CHECK_INT(sb_json_int(o, "frac", -1), -1);
    CHECK_INT(sb_json_int(o, "huge", -1), -1);
    CHECK_INT(sb_json_int(o, "s", 0), 42);
    CHECK_INT(sb_json_int(o, "neg", 0), -12);
    CHECK_INT(sb_json_int(o, "junk", -1), -1);
    CHECK_INT(sb_json_int(o, "blank", -1), -1);
    CHECK_INT(sb_json_int(o, "over", -1), -1);
    CHECK_INT(sb_json_int(o, "b", -1), -1);
    CHECK_INT(sb_json_int(o, "absent", 5), 5);
    json_object_object_add(o, "nan", json_object_new_double(NAN));
    CHECK_INT(sb_json_int(o, "nan", -1), -1);
    json_object_put(o);
}

/* sb_time_parse_rfc3339(text) is true and gives @p expected milliseconds. */
#define CHECK_RFC3339(text, expected)                                                          \
    do {                                                                                       \
        int64_t ms_ = -12345;                                                                  \
        CHECK(sb_time_parse_rfc3339(text, &ms_));                                              \
        CHECK_INT(ms_, expected);                                                              \
    } while (0)

static void rfc3339_times(void)
{
    const int64_t at = 1768018948000LL; /* 2026-01-10T04:22:28Z */
    CHECK_RFC3339("2026-01-10T04:22:28Z", at);
    CHECK_RFC3339("2026-01-10t04:22:28z", at);
    CHECK_RFC3339("2026-01-10 04:22:28Z", at);
    CHECK_RFC3339("1970-01-01T00:00:00Z", 0);
    CHECK_RFC3339("1969-12-31T23:59:59Z", -1000);
    CHECK_RFC3339("9999-12-31T23:59:59Z", 253402300799000LL);
    /* Fractions: milliseconds kept, further digits dropped, short ones scaled. */
    CHECK_RFC3339("2026-01-10T04:22:28.240+00:00", at + 240);
    CHECK_RFC3339("2026-01-10T04:22:28.5Z", at + 500);
    CHECK_RFC3339("2026-01-10T04:22:28.123456789Z", at + 123);
    CHECK_RFC3339("2026-01-10T04:22:28.000Z", at);
    /* Offsets, with and without the colon (Intercom's fixtures show +0000). */
    CHECK_RFC3339("2026-01-10T05:22:28+01:00", at);
    CHECK_RFC3339("2026-01-10T06:22:28+0200", at);
    CHECK_RFC3339("2026-01-10T03:22:28-0100", at);
    CHECK_RFC3339("2026-01-09T23:52:28-04:30", at);
    CHECK_RFC3339("2026-01-10T04:22:28-00:00", at);
    CHECK_RFC3339("2026-01-11T03:22:28+23:00", at);
    /* Leap days, and a leap second read as the next minute's first. */
    CHECK_RFC3339("2024-02-29T12:00:00Z", 1709208000000LL);
    CHECK_RFC3339("2000-02-29T00:00:00Z", 951782400000LL);
    CHECK_RFC3339("2016-12-31T23:59:60Z", 1483228800000LL);
    CHECK_RFC3339("2026-12-31T23:59:59Z", 1798761599000LL);

    const char *bad[] = {
        "", "2026", "2026-01-10", "2026-01-10T04:22", "2026-01-10T04:22:28",
        "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
        "2026-02-30T00:00:00Z", "2026-00-10T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z", "2026-01-10T24:00:00Z",
        "2026-01-10T04:60:00Z", "2026-01-10T04:22:61Z", "2026-01-10T04:22:28.Z",
        "2026-01-10T04:22:28Zjunk", "2026-01-10T04:22:28+01:00 ", "2026-01-10T04:22:28+24:00",
        "2026-01-10T04:22:28+01:60", "2026-01-10T04:22:28+01", "2026-01-10T04:22:28+1:00",
        "2026-01-10T04:22:28+01:0", "2026-01-10T04:22:28 Z", "2026-01-10X04:22:28Z",
        "2026-1-10T04:22:28Z", "20260110T042228Z", "x026-01-10T04:22:28Z",
        "+2026-01-10T04:22:28Z", "2026-01-10T04:22:28,5Z", "2026-01-10T04:22:28UTC",
        " 2026-01-10T04:22:28Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 7;
        if (sb_time_parse_rfc3339(bad[i], &ms))
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK(ms == 7);
    }
    int64_t untouched = 7;
    CHECK(!sb_time_parse_rfc3339(NULL, &untouched) && untouched == 7);
}

static void json_times(void)
{
    json_object *o = parse(
        "{\"int\":1663597223,\"iso\":\"2022-09-19T14:20:23.999+00:00\",\"text\":\"1663597223\","
        "\"double\":1663597223.75,\"compact\":\"2022-09-19T16:20:23+0200\",\"zero\":0,"
        "\"neg\":-5,\"negtext\":\"-5\",\"early\":\"1969-12-31T23:59:59Z\",\"null\":null,"
        "\"word\":\"soon\",\"bad_day\":\"2022-09-31T00:00:00Z\",\"flag\":true,\"obj\":{},"
        "\"huge\":1e300,\"far\":253402300800}");
    CHECK_INT(sb_json_time(o, "int"), 1663597223);
    CHECK_INT(sb_json_time(o, "iso"), 1663597223);
    CHECK_INT(sb_json_time(o, "text"), 1663597223);
    CHECK_INT(sb_json_time(o, "double"), 1663597223);
    CHECK_INT(sb_json_time(o, "compact"), 1663597223);
    CHECK_INT(sb_json_time(o, "zero"), 0);
    const char *unreadable[] = {"neg",  "negtext", "early", "null", "word",  "bad_day",
                                "flag", "obj",     "huge",  "far",  "absent"};
    for (size_t i = 0; i < sizeof unreadable / sizeof unreadable[0]; i++)
        CHECK_INT(sb_json_time(o, unreadable[i]), -1);
    json_object_object_add(o, "nan", json_object_new_double(NAN));
    CHECK_INT(sb_json_time(o, "nan"), -1);
    CHECK_INT(sb_json_time(NULL, "int"), -1);
    json_object_put(o);
}

static void json_adders(void)
{
    json_object *o = json_object_new_object();
    CHECK_INT(sb_json_add_str(o, "s", "a \"quoted\" <b>"), 0);
    CHECK_INT(sb_json_add_str(o, "none", NULL), 0);
    CHECK_INT(sb_json_add_int(o, "n", INT64_MIN), 0);
    CHECK_INT(sb_json_add_bool(o, "t", true), 0);
    CHECK_INT(sb_json_add_int(o, "s2", 1), 0);
    CHECK_INT(sb_json_add_str(o, "s2", "replaced"), 0);
    CHECK_STR(plain(o), "{\"s\":\"a \\\"quoted\\\" <b>\",\"none\":null,\"n\":-9223372036854775808,"
                        "\"t\":true,\"s2\":\"replaced\"}");
    CHECK(sb_json_is_null(o, "none"));
    json_object_put(o);
}

static void html_escaping(void)
{
    CHECK_ESCAPED(sb_html_escape, "<script>alert(\"x\" + 'y')</script> & co",
                  "&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;)&lt;/script&gt; &amp; co");
    /* An attribute value cannot be closed early, whatever quotes it is in. */
    CHECK_ESCAPED(sb_html_escape, "\" onmouseover=\"x' a='",
                  "&quot; onmouseover=&quot;x&#39; a=&#39;");
    /* Already escaped text is escaped again: the helper never guesses. */
    CHECK_ESCAPED(sb_html_escape, "&amp;", "&amp;amp;");
    /* UTF-8 and control bytes are kept as they are. */
    CHECK_ESCAPED(sb_html_escape, "Zo\xc3\xab \xe2\x98\x83 \xf0\x9f\x90\x9b \x01\x1f\x7f\t\n",
                  "Zo\xc3\xab \xe2\x98\x83 \xf0\x9f\x90\x9b \x01\x1f\x7f\t\n");
    CHECK_ESCAPED(sb_html_escape, NULL, "");
    CHECK_ESCAPED(sb_html_escape, "", "");
}

static void escaping_into_a_buffer(void)
{
    char out[16];
    /* Like snprintf: the length needed, whatever fits. */
    CHECK_INT(sb_html_escape_into(NULL, 0, "a<b"), 6);
    CHECK_INT(sb_html_escape_into(out, sizeof out, "a<b"), 6);
    CHECK_STR(out, "a&lt;b");
    CHECK_INT(sb_html_escape_into(out, 7, "a<b"), 6); /* exactly enough, with the NUL */
    CHECK_STR(out, "a&lt;b");
    /* Too small: whole entities only, never "a&l". */
    CHECK_INT(sb_html_escape_into(out, 6, "a<b"), 6);
    CHECK_STR(out, "a&lt;");
    CHECK_INT(sb_html_escape_into(out, 4, "a<b"), 6);
    CHECK_STR(out, "a");
    memset(out, 'x', sizeof out);
    CHECK_INT(sb_html_escape_into(out, 1, "<"), 4);
    CHECK_STR(out, "");
    /* Nothing is written past cap. */
    memset(out, 'x', sizeof out);
    sb_url_escape_into(out, 5, "a b c");
    CHECK_STR(out, "a%20");
    CHECK(out[5] == 'x');
    CHECK_INT(sb_url_escape_into(out, 5, "a b c"), 9);
    CHECK_INT(sb_url_escape_into(out, 10, "a b c"), 9);
    CHECK_STR(out, "a%20b%20c");
}

static void url_escaping(void)
{
    CHECK_ESCAPED(sb_url_escape, "ABCxyz019-._~", "ABCxyz019-._~");
    /* Everything that could change a URL's structure is encoded. */
    CHECK_ESCAPED(sb_url_escape, "a b/c?d=e&f#g+h%i;j:k@l",
                  "a%20b%2Fc%3Fd%3De%26f%23g%2Bh%25i%3Bj%3Ak%40l");
    CHECK_ESCAPED(sb_url_escape, "../../admin", "..%2F..%2Fadmin");
    /* Non-ASCII: each UTF-8 byte, upper-case hex. */
    CHECK_ESCAPED(sb_url_escape, "caf\xc3\xa9 \xe2\x82\xac", "caf%C3%A9%20%E2%82%AC");
    /* Control bytes and bytes that are not UTF-8 at all. */
    CHECK_ESCAPED(sb_url_escape, "\x01\r\n\x7f\xff<\"'>", "%01%0D%0A%7F%FF%3C%22%27%3E");
    CHECK_ESCAPED(sb_url_escape, NULL, "");
}

static void canvas_builders(void)
{
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_text("*Triage*", "header"));
    json_object_array_add(components, sb_canvas_text("plain", NULL));
    json_object *rows = json_object_new_array();
    json_object_array_add(rows, sb_canvas_field_value("Severity", "high"));
    json_object_array_add(components, sb_canvas_data_table(rows));
    json_object_array_add(components, sb_canvas_divider());
    json_object_array_add(components, sb_canvas_spacer("m"));
    json_object *items = json_object_new_array();
    json_object_array_add(items, sb_canvas_list_item("a-1", "Title", "Sub", "Third",
                                                     "https://x.example/a?b=1"));
    json_object_array_add(items, sb_canvas_list_item("a-2", "Only a title", NULL, NULL, NULL));
    json_object_array_add(components, sb_canvas_list(items));
    json_object_array_add(components, sb_canvas_input("email", "Email", "you@example.com", NULL));
    json_object_array_add(components, sb_canvas_input("name", "Name", NULL, "Zo\xc3\xab"));
    json_object_array_add(components, sb_canvas_button("run", "Run analysis", "primary"));
    json_object_array_add(components, sb_canvas_button("later", "Later", NULL));
    json_object *canvas = sb_canvas(components);
    CHECK_STR(plain(canvas),
              "{\"canvas\":{\"content\":{\"components\":["
              "{\"type\":\"text\",\"text\":\"*Triage*\",\"style\":\"header\"},"
              "{\"type\":\"text\",\"text\":\"plain\"},"
              "{\"type\":\"data-table\",\"items\":[{\"type\":\"field-value\","
              "\"field\":\"Severity\",\"value\":\"high\"}]},"
              "{\"type\":\"divider\"},"
              "{\"type\":\"spacer\",\"size\":\"m\"},"
              "{\"type\":\"list\",\"items\":["
              "{\"type\":\"item\",\"id\":\"a-1\",\"title\":\"Title\",\"subtitle\":\"Sub\","
              "\"tertiary_text\":\"Third\",\"action\":{\"type\":\"url\","
              "\"url\":\"https://x.example/a?b=1\"}},"
              "{\"type\":\"item\",\"id\":\"a-2\",\"title\":\"Only a title\"}]},"
              "{\"type\":\"input\",\"id\":\"email\",\"label\":\"Email\","
              "\"placeholder\":\"you@example.com\"},"
              "{\"type\":\"input\",\"id\":\"name\",\"label\":\"Name\",\"value\":\"Zo\xc3\xab\"},"
              "{\"type\":\"button\",\"id\":\"run\",\"label\":\"Run analysis\","
              "\"style\":\"primary\",\"action\":{\"type\":\"submit\"}},"
              "{\"type\":\"button\",\"id\":\"later\",\"label\":\"Later\","
              "\"action\":{\"type\":\"submit\"}}]}}}");
    json_object_put(canvas);
}

static void canvas_hostile_text(void)
{
    /* Text is data: quotes, markup and control bytes come back as they went in. */
    const char *hostile = "</script><b onclick=\"x\">'\\\x01\x1f";
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_text(hostile, "muted"));
    json_object *canvas = sb_canvas(components);
    json_object *again = parse(plain(canvas));
    json_object *first = json_object_array_get_idx(
        sb_json_arr(sb_json_obj(sb_json_obj(again, "canvas"), "content"), "components"), 0);
    CHECK_STR(sb_json_str(first, "text"), hostile);
    json_object_put(again);
    json_object_put(canvas);
}

static void canvas_failures_release(void)
{
    /* A failure upstream (NULL) makes the container NULL and releases what it was handed. */
    CHECK(sb_canvas(NULL) == NULL);
    CHECK(sb_canvas_list(NULL) == NULL);
    CHECK(sb_canvas_data_table(NULL) == NULL);
    /* Taking over: the array handed in is freed with the canvas (LeakSanitizer would say). */
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_divider());
    json_object *canvas = sb_canvas(components);
    CHECK(canvas != NULL);
    json_object_put(canvas);
}

int main(void)
{
    RUN(json_getters);
    RUN(json_int);
    RUN(rfc3339_times);
    RUN(json_times);
    RUN(json_adders);
    RUN(html_escaping);
    RUN(escaping_into_a_buffer);
    RUN(url_escaping);
    RUN(canvas_builders);
    RUN(canvas_hostile_text);
    RUN(canvas_failures_release);
    UNIT_DONE();
}
