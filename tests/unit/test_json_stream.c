/*
 * Unit tests: json_stream.c - an array's elements handed out as they arrive,
 * the rest kept as the skeleton. The reference is json_input.c's whole-body
 * parse: the skeleton with the elements put back must be what it returns,
 * however the body is cut into chunks, and both refuse the same bodies.
 */
#include "json_input.h"
#include "json_stream.h"
#include "unit.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>

#define CP "conversation_parts.conversation_parts"
#define NO_STOP SIZE_MAX

/* What one reading gave. */
struct outcome {
    json_object *items; /* handed out, in order */
    json_object *skeleton;
    enum json_stream_status status;
    char error[192];
    size_t stop_at;     /* the callback stops at this index */
    bool index_ok;      /* every index was the count so far */
};

static int collect(void *arg, json_object *item, size_t index)
{
    struct outcome *o = arg;
    if (index != json_object_array_length(o->items))
        o->index_ok = false;
    json_object_array_add(o->items, json_object_get(item));
    return index == o->stop_at;
}

/*
 * Read @p len bytes of @p text with the chunk boundaries at @p cuts (sorted
 * offsets; none: one chunk), with the given bounds.
 */
static void read_cut(struct outcome *o, const char *path, const char *text, size_t len,
                     const size_t *cuts, size_t n_cuts, size_t max_item, size_t max_skeleton,
                     size_t stop_at)
{
    *o = (struct outcome){.items = json_object_new_array(), .stop_at = stop_at, .index_ok = true};
    struct json_stream *js = json_stream_new(path, max_item, max_skeleton, collect, o);
    if (!js) {
        fprintf(stderr, "json_stream_new refused path %s\n", path);
        exit(2);
    }
    size_t from = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t to = i < n_cuts ? cuts[i] : len;
        json_stream_feed(js, text + from, to - from);
        from = to;
    }
    o->status = json_stream_finish(js, &o->skeleton);
    snprintf(o->error, sizeof o->error, "%s", json_stream_error(js));
    CHECK_INT(json_stream_items(js), json_object_array_length(o->items));
    json_stream_free(js);
}

static void read_whole(struct outcome *o, const char *path, const char *text)
{
    read_cut(o, path, text, strlen(text), NULL, 0, 1 << 20, 1 << 20, NO_STOP);
}

static void outcome_free(struct outcome *o)
{
    json_object_put(o->items);
    json_object_put(o->skeleton);
}

/* The array at @p path in @p doc (members separated by dots), or NULL. */
static json_object *array_at(json_object *doc, const char *path)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    json_object *at = doc;
    for (char *member = strtok(copy, "."); member && at; member = strtok(NULL, ".")) {
        json_object *next = NULL;
        at = json_object_is_type(at, json_type_object) && json_object_object_get_ex(at, member, &next)
                 ? next
                 : NULL;
    }
    return json_object_is_type(at, json_type_array) ? at : NULL;
}

/* The skeleton with its elements put back: what the whole body reads as. */
static bool same_as_whole(const struct outcome *o, const char *path, const char *text, size_t len)
{
    char why[128];
    json_object *whole = json_parse_whole(text, len, why, sizeof why);
    json_object *joined = NULL;
    json_object_deep_copy(o->skeleton, &joined, NULL);
    json_object *array = path ? array_at(joined, path) : NULL;
    size_t n = json_object_array_length(o->items);
    bool ok = whole && joined && (n == 0 || (array && json_object_array_length(array) == 0));
    for (size_t i = 0; ok && i < n; i++)
        json_object_array_add(array, json_object_get(json_object_array_get_idx(o->items, i)));
    ok = ok && json_object_equal(joined, whole);
    if (!ok)
        fprintf(stderr, "not the whole body's reading: %s\n  joined: %s\n  whole:  %s\n", text,
                json_object_to_json_string(joined), whole ? json_object_to_json_string(whole) : why);
    json_object_put(joined);
    json_object_put(whole);
    return ok;
}

static bool same_outcome(const struct outcome *a, const struct outcome *b)
{
    return a->status == b->status && strcmp(a->error, b->error) == 0
           && json_object_equal(a->items, b->items)
           && (a->skeleton == b->skeleton || json_object_equal(a->skeleton, b->skeleton));
}

/*
 * Read @p text in one chunk, cut in two at every byte boundary, and one byte
 * at a time, with the given bounds: every reading is the same, and when it
 * succeeds it is the whole body's. Returns the count of elements handed out.
 */
static size_t check_every_cut_within(const char *path, const char *text, size_t max_item,
                                     size_t max_skeleton)
{
    size_t len = strlen(text);
    struct outcome one;
    read_cut(&one, path, text, len, NULL, 0, max_item, max_skeleton, NO_STOP);
    CHECK(one.index_ok);
    if (one.status == JSON_STREAM_OK)
        CHECK(same_as_whole(&one, path, text, len));
    bool all_same = true;
    for (size_t k = 0; k <= len; k++) {
        struct outcome two;
        read_cut(&two, path, text, len, &k, 1, max_item, max_skeleton, NO_STOP);
        if (!same_outcome(&one, &two)) {
            fprintf(stderr, "cut at %zu differs: %s\n  (%s / %s)\n", k, text, one.error, two.error);
            all_same = false;
        }
        outcome_free(&two);
    }
    CHECK(all_same);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t k = 0; k < len; k++)
        cuts[k] = k + 1;
    struct outcome bytes;
    read_cut(&bytes, path, text, len, cuts, len ? len - 1 : 0, max_item, max_skeleton, NO_STOP);
    CHECK(same_outcome(&one, &bytes));
    outcome_free(&bytes);
    free(cuts);
    size_t n = json_object_array_length(one.items);
    outcome_free(&one);
    return n;
}

static size_t check_every_cut(const char *path, const char *text)
{
    return check_every_cut_within(path, text, 1 << 20, 1 << 20);
}

/* ---- tests ---- */

static const char conversation[] =
    "{\"type\":\"conversation\",\"id\":\"1911149811\",\"created_at\":1663597223,"
    "\"source\":{\"type\":\"conversation\",\"id\":\"403918320\",\"body\":\"<p>Checkout fails</p>\","
    "\"author\":{\"type\":\"user\",\"id\":\"5017690\",\"name\":\"Ann \\\"A\\\" B\\u00e9\"}},"
    "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":["
    "{\"type\":\"conversation_part\",\"id\":\"1\",\"part_type\":\"comment\","
    "\"body\":\"<p>On it {see [docs]}</p>\",\"created_at\":1663597300,\"attachments\":[]},"
    "{\"type\":\"conversation_part\",\"id\":\"2\",\"part_type\":\"assignment\",\"body\":null,"
    "\"created_at\":1663597301,\"assigned_to\":{\"type\":\"admin\",\"id\":\"7\"}},"
    "{\"type\":\"conversation_part\",\"id\":\"3\",\"part_type\":\"comment\","
    "\"body\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\ud83d\\ude00\",\"created_at\":1.6635973e9,"
    "\"attachments\":[{\"url\":\"https://x/y]\",\"size\":-12}]}"
    "],\"total_count\":3},\"statistics\":{\"count_conversation_parts\":3}}";

static void a_conversation_is_read_part_by_part(void)
{
    struct outcome o;
    read_whole(&o, CP, conversation);
    CHECK_INT(o.status, JSON_STREAM_OK);
    CHECK_INT(json_object_array_length(o.items), 3);
    CHECK_STR(json_object_get_string(json_object_object_get(json_object_array_get_idx(o.items, 2), "id")),
              "3");
    /* the skeleton keeps everything but the parts */
    json_object *parts = array_at(o.skeleton, CP);
    CHECK(parts && json_object_array_length(parts) == 0);
    json_object *list = json_object_object_get(o.skeleton, "conversation_parts");
    CHECK_INT(json_object_get_int(json_object_object_get(list, "total_count")), 3);
    CHECK_STR(json_object_get_string(json_object_object_get(o.skeleton, "id")), "1911149811");
    CHECK(same_as_whole(&o, CP, conversation, strlen(conversation)));
    outcome_free(&o);
    CHECK_INT(check_every_cut(CP, conversation), 3);
}

static void strings_escapes_and_nesting_survive_any_cut(void)
{
    static const char *const docs[] = {
        "{\"a\":[\"]}{[\\\"\",\"\\\\\",\"\\/\\b\\f\\n\\r\\t\",\"\\u0041\\uD83D\\uDE00\"]}",
        "{\"x\":\"]\\\"[{\",\"a\":[{\"b\":\"a]\\\"}\\\\\"},\"[1,2]\",[[],[{}],{\"c\":[1,[2]]}]]}",
        "{\"a\":[0,-0,1,-12,3.25,-0.5e10,1E-5,2e+3,123456789012345678901234567890,true,false,null]}",
        "{\"a\":[],\"b\":{},\"c\":[{},{},{}]}",
        "{\"a\":[{}],\"z\":1}",
        " \n\t{ \"a\" :\r\n [ 1 ,\t{ \"k\" : [ 2 , 3 ] } , \"s p\" ] , \"b\" : 2 } \n",
        "{\"a\":[\"caf\xc3\xa9\",\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\",\"\xed\x9f\xbf\"],\"\xc3\xa9\":\"\xf4\x8f\xbf\xbf\"}",
        NULL};
    size_t expected[] = {4, 3, 12, 0, 1, 3, 4};
    for (int i = 0; docs[i]; i++)
        CHECK_INT(check_every_cut("a", docs[i]), expected[i]);
}

static void the_path_absent_leaves_everything_in_the_skeleton(void)
{
    static const char *const docs[] = {
        "{\"type\":\"conversation\",\"id\":\"1\"}",
        "{\"conversation_parts\":{\"type\":\"conversation_part.list\",\"total_count\":0}}",
        "{\"conversation_parts\":[1,2,3]}",                       /* not an object on the way */
        "{\"conversation_parts\":{\"conversation_parts\":{\"a\":1}}}", /* not an array at the end */
        "{\"conversation_parts\":{\"conversation_parts\":\"[1,2]\"}}",
        "[{\"conversation_parts\":{\"conversation_parts\":[1]}}]", /* the root is no object */
        "\"conversation_parts\"",
        "42",
        "-1.5e3",
        NULL};
    for (int i = 0; docs[i]; i++)
        CHECK_INT(check_every_cut(CP, docs[i]), 0);
    /* no path at all: the whole document is skeleton */
    CHECK_INT(check_every_cut(NULL, conversation), 0);
    struct outcome o;
    read_whole(&o, NULL, conversation);
    CHECK_INT(json_object_array_length(array_at(o.skeleton, CP)), 3);
    outcome_free(&o);
}

static void the_member_at_another_depth_is_not_the_array(void)
{
    const char *doc =
        "{\"data\":{\"conversation_parts\":{\"conversation_parts\":[\"deep\"]}},"
        "\"conversation_parts\":{\"other\":[\"no\"],\"conversation_parts\":["
        "{\"conversation_parts\":{\"conversation_parts\":[\"inner\"]}},\"yes\"],"
        "\"x\":{\"conversation_parts\":[\"no\"]}},"
        "\"tail\":{\"conversation_parts\":{\"conversation_parts\":[\"late\"]}}}";
    CHECK_INT(check_every_cut(CP, doc), 2);
    struct outcome o;
    read_whole(&o, CP, doc);
    CHECK_STR(json_object_get_string(json_object_array_get_idx(o.items, 1)), "yes");
    /* the element that holds the same names is handed out whole */
    CHECK(array_at(json_object_array_get_idx(o.items, 0), CP) != NULL);
    CHECK(array_at(json_object_object_get(o.skeleton, "data"), CP) != NULL);
    outcome_free(&o);
    /* a name written with escapes is the same name, as json-c reads it */
    CHECK_INT(check_every_cut("ab.c", "{\"a\\u0062\":{\"\\u0063\":[1,2]}}"), 2);
    CHECK_INT(check_every_cut("ab", "{\"a\\\"b\":[1],\"ab \":[2]}"), 0);
}

static void a_member_on_the_path_twice_is_refused(void)
{
    static const char *const docs[] = {
        "{\"a\":[1],\"a\":[2]}",
        "{\"a\":5,\"a\":[1]}",
        "{\"a\":{\"b\":[1]},\"a\":{}}",
        "{\"a\":[1],\"a\\u0000x\":[2]}", /* json-c reads both names as "a" */
        NULL};
    for (int i = 0; docs[i]; i++) {
        struct outcome o;
        read_whole(&o, i == 2 ? "a.b" : "a", docs[i]);
        CHECK_INT(o.status, JSON_STREAM_DUPLICATE);
        CHECK_CONTAINS(o.error, "appears twice");
        CHECK(o.skeleton == NULL);
        outcome_free(&o);
        check_every_cut(i == 2 ? "a.b" : "a", docs[i]);
    }
    /* json-c's cut at \u0000 also holds for a name far longer than any member */
    char cut_name[1024] = "{\"a\":[1],\"a\\u0000";
    memset(cut_name + strlen(cut_name), 'x', 900);
    strcat(cut_name, "\":[2]}");
    struct outcome o;
    read_whole(&o, "a", cut_name);
    CHECK_INT(o.status, JSON_STREAM_DUPLICATE);
    outcome_free(&o);
    /* the same name elsewhere is no duplicate */
    CHECK_INT(check_every_cut("a", "{\"a\":[1],\"b\":{\"a\":2,\"a\":3}}"), 1);
    CHECK_INT(check_every_cut("a.b", "{\"a\":{\"b\":[1],\"c\":{\"b\":1,\"b\":2}}}"), 1);
}

static void invalid_json_is_refused_and_nothing_more_is_handed_out(void)
{
    static const char *const bad[] = {
        "", "   ", "null", " null ", "{\"a\":1}garbage", "{\"a\":1}{}", "{'a':1}", "{\"a\":'x'}",
        "[1,2,]", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[1 2]", "{\"a\":01}",
        "{\"a\":+1}", "{\"a\":.5}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":-}", "{\"a\":NaN}",
        "{\"a\":tRue}", "{\"a\":nul}", "{\"a\":\"x\ty\"}", "{\"a\":\"\\x41\"}",
        "{\"a\":\"\\u12G4\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xe0\x80\xaf\"}", "{\"a\":[1,}", "{\"a\":[1]]", "{\"a\":[1}", "{\"a\":{]}",
        "{/*c*/\"a\":1}", "{\"a\":[1,2,3]", "{\"a\":[1,2,3]} x", "[", "]", "{", "\"abc", "tru",
        "{\"a\":[\"x\",\"y\"],,}", NULL};
    for (int i = 0; bad[i]; i++) {
        struct outcome o;
        read_whole(&o, "a", bad[i]);
        char why[128];
        json_object *whole = json_parse_whole(bad[i], strlen(bad[i]), why, sizeof why);
        if (o.status != JSON_STREAM_INVALID || whole)
            fprintf(stderr, "not refused by both: %s (%s)\n", bad[i], o.error);
        CHECK_INT(o.status, JSON_STREAM_INVALID);
        CHECK(whole == NULL);
        CHECK(o.skeleton == NULL);
        CHECK_CONTAINS(o.error, " at byte ");
        json_object_put(whole);
        outcome_free(&o);
        check_every_cut("a", bad[i]);
    }
    /* elements before the fault went out; none after it, whatever follows */
    const char *doc = "{\"a\":[1,{\"b\":2},x,3,4]}";
    struct outcome o;
    read_whole(&o, "a", doc);
    CHECK_INT(o.status, JSON_STREAM_INVALID);
    CHECK_STR(o.error, "unexpected character at byte 16");
    CHECK_INT(json_object_array_length(o.items), 2);
    outcome_free(&o);
    CHECK_INT(check_every_cut("a", doc), 2);
    /* a body cut off anywhere is refused at the end */
    size_t len = strlen(conversation);
    for (size_t k = 0; k < len; k++) {
        read_cut(&o, CP, conversation, k, NULL, 0, 1 << 20, 1 << 20, NO_STOP);
        if (o.status != JSON_STREAM_INVALID)
            fprintf(stderr, "a body cut at %zu was taken\n", k);
        CHECK_INT(o.status, JSON_STREAM_INVALID);
        outcome_free(&o);
    }
}

static void nesting_is_bounded_as_json_input_bounds_it(void)
{
    char deep[2 * JSON_STREAM_MAX_DEPTH + 16];
    for (int depth = JSON_STREAM_MAX_DEPTH; depth <= JSON_STREAM_MAX_DEPTH + 1; depth++) {
        size_t n = 0;
        deep[n++] = '{';
        memcpy(deep + n, "\"a\":", 4);
        n += 4;
        for (int i = 1; i < depth; i++)
            deep[n++] = '[';
        for (int i = 1; i < depth; i++)
            deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = '\0';
        struct outcome o;
        read_whole(&o, "a", deep);
        CHECK_INT(o.status, depth <= JSON_STREAM_MAX_DEPTH ? JSON_STREAM_OK : JSON_STREAM_INVALID);
        if (depth > JSON_STREAM_MAX_DEPTH)
            CHECK_CONTAINS(o.error, "nested too deeply");
        else
            CHECK(same_as_whole(&o, "a", deep, n));
        outcome_free(&o);
    }
}

static void an_element_or_skeleton_over_its_bound_is_refused(void)
{
    const char *doc = "{\"pad\":\"0123456789\",\"a\":[\"12345678\",\"123456789\",\"1\"]}";
    size_t len = strlen(doc);
    struct outcome o;
    /* "12345678" with its quotes is 10 bytes: the bound; the next is 11 */
    read_cut(&o, "a", doc, len, NULL, 0, 10, 1 << 20, NO_STOP);
    CHECK_INT(o.status, JSON_STREAM_TOO_LARGE);
    CHECK_CONTAINS(o.error, "an element of a is over 10 bytes");
    CHECK_INT(json_object_array_length(o.items), 1);
    outcome_free(&o);
    read_cut(&o, "a", doc, len, NULL, 0, 11, 1 << 20, NO_STOP);
    CHECK_INT(o.status, JSON_STREAM_OK);
    outcome_free(&o);
    /* the skeleton {"pad":"0123456789","a":[]} is 27 bytes */
    read_cut(&o, "a", doc, len, NULL, 0, 64, 26, NO_STOP);
    CHECK_INT(o.status, JSON_STREAM_TOO_LARGE);
    CHECK_CONTAINS(o.error, "the document beside a is over 26 bytes");
    outcome_free(&o);
    read_cut(&o, "a", doc, len, NULL, 0, 64, 27, NO_STOP);
    CHECK_INT(o.status, JSON_STREAM_OK);
    outcome_free(&o);
    /* the bound is met at the same byte however the body is cut (runs of string bytes too) */
    CHECK_INT(check_every_cut_within("a", doc, 10, 1 << 20), 1);
    CHECK_INT(check_every_cut_within("a", doc, 64, 12), 0);
    read_cut(&o, "a", doc, len, NULL, 0, 64, 12, NO_STOP);
    CHECK_STR(o.error, "the document beside a is over 12 bytes at byte 12");
    outcome_free(&o);
    /* whitespace outside strings counts for nothing */
    const char *spaced = "{ \"a\" : [ 1 ,     2 ] }";
    read_cut(&o, "a", spaced, strlen(spaced), NULL, 0, 1, 8, NO_STOP);
    CHECK_INT(o.status, JSON_STREAM_OK);
    outcome_free(&o);
}

/* 5,000 parts of ~1 KB each through bounds of 2 KB an element and 1 KB of skeleton. */
static void a_long_array_needs_one_element_of_memory(void)
{
    struct buf doc;
    buf_init(&doc);
    buf_puts(&doc, "{\"type\":\"conversation\",\"conversation_parts\":{\"conversation_parts\":[");
    for (int i = 0; i < 5000; i++) {
        buf_printf(&doc, "%s{\"id\":\"%d\",\"body\":\"", i ? "," : "", i);
        for (int k = 0; k < 20; k++)
            buf_puts(&doc, "<p>A line of a long conversation.</p>\\n");
        buf_puts(&doc, "\"}");
    }
    buf_puts(&doc, "],\"total_count\":5000}}");
    size_t cuts[64];
    for (size_t i = 0; i < 64; i++)
        cuts[i] = (i + 1) * (doc.len / 65) + i % 7; /* chunks of ~80 KB, cut anywhere */
    struct outcome o;
    read_cut(&o, CP, doc.data, doc.len, cuts, 64, 2048, 1024, NO_STOP);
    CHECK_INT(o.status, JSON_STREAM_OK);
    CHECK_INT(json_object_array_length(o.items), 5000);
    CHECK_STR(json_object_get_string(json_object_object_get(json_object_array_get_idx(o.items, 4999), "id")),
              "4999");
    CHECK(same_as_whole(&o, CP, doc.data, doc.len));
    outcome_free(&o);
    buf_free(&doc);
}

static void a_callback_that_stops_ends_the_reading(void)
{
    const char *doc = "{\"a\":[1,2,3,4],\"b\":1}";
    size_t len = strlen(doc);
    for (size_t k = 0; k <= len; k++) {
        struct outcome o;
        read_cut(&o, "a", doc, len, &k, 1, 64, 64, 1);
        CHECK_INT(o.status, JSON_STREAM_STOPPED);
        CHECK_INT(json_object_array_length(o.items), 2);
        CHECK_CONTAINS(o.error, "stopped by its reader after element 1");
        CHECK(o.skeleton == NULL);
        outcome_free(&o);
    }
    /* and a stopped reader stays stopped */
    struct outcome o = {.items = json_object_new_array(), .stop_at = 0, .index_ok = true};
    struct json_stream *js = json_stream_new("a", 64, 64, collect, &o);
    CHECK_INT(json_stream_feed(js, "{\"a\":[1,", 8), JSON_STREAM_STOPPED);
    CHECK_INT(json_stream_feed(js, "2,3]}", 5), JSON_STREAM_STOPPED);
    CHECK_INT(json_stream_finish(js, &o.skeleton), JSON_STREAM_STOPPED);
    CHECK_INT(json_object_array_length(o.items), 1);
    json_stream_free(js);
    outcome_free(&o);
}

static void malformed_paths_are_refused(void)
{
    char long_member[JSON_STREAM_MAX_MEMBER + 2];
    memset(long_member, 'm', sizeof long_member - 1);
    long_member[sizeof long_member - 1] = '\0';
    char many[4 * JSON_STREAM_MAX_PATH_PARTS + 4] = "a";
    for (int i = 0; i < JSON_STREAM_MAX_PATH_PARTS; i++)
        strcat(many, ".a");
    const char *bad[] = {"", ".", "a..b", ".a", "a.", long_member, many};
    CHECK(!json_stream_path_valid(NULL));
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        CHECK(!json_stream_path_valid(bad[i]));
        CHECK(json_stream_new(bad[i], 1, 1, collect, NULL) == NULL);
    }
    long_member[JSON_STREAM_MAX_MEMBER] = '\0';
    many[strlen(many) - 2] = '\0';
    const char *good[] = {"a", "a.b", long_member, many};
    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        CHECK(json_stream_path_valid(good[i]));
        struct json_stream *js = json_stream_new(good[i], 1, 1, collect, NULL);
        CHECK(js != NULL);
        json_stream_free(js);
    }
}

int main(void)
{
    RUN(a_conversation_is_read_part_by_part);
    RUN(strings_escapes_and_nesting_survive_any_cut);
    RUN(the_path_absent_leaves_everything_in_the_skeleton);
    RUN(the_member_at_another_depth_is_not_the_array);
    RUN(a_member_on_the_path_twice_is_refused);
    RUN(invalid_json_is_refused_and_nothing_more_is_handed_out);
    RUN(nesting_is_bounded_as_json_input_bounds_it);
    RUN(an_element_or_skeleton_over_its_bound_is_refused);
    RUN(a_long_array_needs_one_element_of_memory);
    RUN(a_callback_that_stops_ends_the_reading);
    RUN(malformed_paths_are_refused);
    UNIT_DONE();
}
