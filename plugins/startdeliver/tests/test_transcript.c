/*
 * Transcripts on the SDK's testing kit: messages in order with authors and
 * plain text, nothing repeated by a later store, notes filtered when read,
 * attachments as http(s) links only, pages that follow one another, and a
 * conversation read as a stream (a reading cut short, then a whole one).
 */
#include "unit.h"

#include "sd_records.h"
#include "sd_transcript.h"
#include "sd_util.h"

#include <switchboard/testing.h>

static sb_status kit_init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                          sb_result *result)
{
    (void)self, (void)host, (void)config, (void)result;
    *state = NULL;
    return SB_OK;
}

static void kit_shutdown(void *state)
{
    (void)state;
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "startdeliver",
    .version = "test",
    .init = kit_init,
    .shutdown = kit_shutdown,
};

static sbt_kit *kit;
static sb_installation_id inst;
static struct sd_plugin plugin;

static void setup(void)
{
    char err[256];
    sbt_free(kit);
    kit = sbt_new(&descriptor, err, sizeof err);
    if (!kit || sbt_start(kit, NULL) != SB_OK) {
        fprintf(stderr, "testing kit: %s\n", kit ? sbt_result(kit)->message : err);
        exit(2);
    }
    inst = sbt_install(kit, "ws1");
    plugin = (struct sd_plugin){.self = sbt_plugin(kit), .host = sbt_host(kit)};
}

#define SOURCE                                                                                  \
    "\"source\":{\"id\":\"900\",\"body\":\"<p>Hello <b>there</b></p><script>x()</script>\","   \
    "\"author\":{\"type\":\"user\",\"id\":\"c1\",\"name\":\"Ann\"},\"attachments\":["          \
    "{\"name\":\"log.txt\",\"url\":\"https://files.example/log.txt\",\"content_type\":\"text/plain\"},"  \
    "{\"name\":\"bad\",\"url\":\"javascript:alert(1)\"}]}"

static const char *part(char *buf, size_t len, const char *id, int at, const char *type,
                        const char *author_type, const char *body)
{
    snprintf(buf, len,
             "{\"type\":\"conversation_part\",\"id\":\"%s\",\"part_type\":\"%s\",\"created_at\":%d,"
             "\"body\":%s,\"author\":{\"type\":\"%s\",\"id\":\"a1\",\"name\":\"Bo\"},"
             "\"attachments\":[]}",
             id, type, at, body, author_type);
    return buf;
}

static json_object *conversation(int updated_at, const char *parts_json, int total)
{
    char *text = pk_xasprintf("{\"type\":\"conversation\",\"id\":\"42\",\"created_at\":100,"
                              "\"updated_at\":%d,%s,\"conversation_parts\":{\"type\":"
                              "\"conversation_part.list\",\"conversation_parts\":[%s],"
                              "\"total_count\":%d}}",
                              updated_at, SOURCE, parts_json, total);
    json_object *o = json_tokener_parse(text);
    free(text);
    if (!o) {
        fprintf(stderr, "bad test JSON\n");
        exit(2);
    }
    return o;
}

static json_object *page(const char *after, size_t limit, bool notes)
{
    return sd_transcript_page(&plugin, inst, "42", after, limit, notes);
}

static const char *body_at(json_object *p, size_t i)
{
    return sb_json_str(json_object_array_get_idx(sb_json_arr(p, "data"), i), "body");
}

static void test_in_order_with_authors_and_text(void)
{
    setup();
    char a[400], b[400], c[400], parts[2048];
    snprintf(parts, sizeof parts, "%s,%s,%s",
             part(a, sizeof a, "901", 110, "comment", "admin", "\"<p>Hi Ann &amp; team</p>\""),
             part(b, sizeof b, "902", 120, "assignment", "bot", "null"), /* nothing to read */
             part(c, sizeof c, "903", 130, "note", "admin", "\"<p>internal</p>\""));
    json_object *conv = conversation(130, parts, 3);
    CHECK_INT(sd_transcript_store(&plugin, inst, conv), 3);
    json_object *p = page(NULL, 10, false);
    json_object *data = sb_json_arr(p, "data");
    CHECK_INT(json_object_array_length(data), 2); /* the note is left out */
    json_object *first = json_object_array_get_idx(data, 0);
    CHECK_STR(sb_json_str(first, "part_type"), "source");
    CHECK_STR(body_at(p, 0), "Hello there");
    CHECK_STR(sb_json_str(sb_json_obj(first, "author"), "type"), "user");
    CHECK_STR(sb_json_str(sb_json_obj(first, "author"), "name"), "Ann");
    CHECK_INT(sb_json_int(first, "created_at", 0), 100);
    json_object *atts = sb_json_arr(first, "attachments");
    CHECK_INT(json_object_array_length(atts), 1); /* the javascript: link is dropped */
    CHECK_STR(sb_json_str(json_object_array_get_idx(atts, 0), "url"),
              "https://files.example/log.txt");
    CHECK_STR(body_at(p, 1), "Hi Ann & team");
    CHECK_STR(sb_json_str(sb_json_obj(json_object_array_get_idx(data, 1), "author"), "type"),
              "admin");
    CHECK(sb_json_is_null(p, "next"));
    CHECK_INT(sb_json_int(p, "omitted", -1), 0);
    json_object_put(p);
    p = page(NULL, 10, true);
    CHECK_INT(json_object_array_length(sb_json_arr(p, "data")), 3);
    CHECK_STR(body_at(p, 2), "internal");
    json_object_put(p);
    /* The same conversation again, then with one part more: only the new one is added. */
    CHECK_INT(sd_transcript_store(&plugin, inst, conv), 0);
    json_object_put(conv);
    char d[400];
    snprintf(parts, sizeof parts, "%s,%s,%s,%s", a, b, c,
             part(d, sizeof d, "904", 130, "comment", "user", "\"<p>thanks</p>\""));
    conv = conversation(140, parts, 4);
    CHECK_INT(sd_transcript_store(&plugin, inst, conv), 1);
    json_object_put(conv);
    p = page(NULL, 10, true);
    CHECK_INT(json_object_array_length(sb_json_arr(p, "data")), 4);
    CHECK_STR(body_at(p, 3), "thanks");
    json_object_put(p);
}

static void test_pages_follow(void)
{
    setup();
    struct pk_buf parts = {0};
    for (int i = 0; i < 25; i++) {
        char id[16], body[32], one[400];
        snprintf(id, sizeof id, "%d", 1000 + i);
        snprintf(body, sizeof body, "\"m%d\"", i);
        pk_buf_printf(&parts, "%s%s", i ? "," : "",
                      part(one, sizeof one, id, 200 + i, "comment", "user", body));
    }
    json_object *conv = conversation(300, parts.data, 600); /* Intercom listed the newest 25 */
    pk_buf_free(&parts);
    CHECK_INT(sd_transcript_store(&plugin, inst, conv), 26);
    json_object_put(conv);
    char *after = NULL;
    int seen = 0;
    for (int round = 0; round < 10; round++) {
        json_object *p = page(after, 10, false);
        json_object *data = sb_json_arr(p, "data");
        for (size_t i = 0; i < json_object_array_length(data); i++, seen++)
            CHECK_INT(sb_json_int(json_object_array_get_idx(data, i), "ordinal", -1), seen);
        CHECK_INT(sb_json_int(p, "omitted", -1), 575);
        free(after);
        after = sd_strdup_or_null(sb_json_str(p, "next"));
        json_object_put(p);
        if (!after)
            break;
    }
    CHECK_INT(seen, 26);
    free(after);
}

static void test_listed_conversations(void)
{
    setup();
    /* No parts: the first message is stored from the list item itself. */
    json_object *listed = json_tokener_parse(
        "{\"id\":\"42\",\"created_at\":100,\"updated_at\":100,\"statistics\":"
        "{\"count_conversation_parts\":0}," SOURCE "}");
    CHECK_INT(sd_transcript_from_listed(&plugin, inst, listed), 0);
    json_object *p = page(NULL, 10, false);
    CHECK_INT(json_object_array_length(sb_json_arr(p, "data")), 1);
    json_object_put(p);
    /* Unchanged since: nothing to read. Changed, with parts (or no statistics): read it. */
    CHECK_INT(sd_transcript_from_listed(&plugin, inst, listed), 0);
    json_object_object_add(listed, "updated_at", json_object_new_int(150));
    json_object_object_add(listed, "statistics", NULL);
    CHECK_INT(sd_transcript_from_listed(&plugin, inst, listed), 1);
    json_object_put(listed);
    json_object *bad = json_tokener_parse("{\"id\":\"4|2\"}");
    CHECK_INT(sd_transcript_store(&plugin, inst, bad), -1); /* '|' would break the key ranges */
    json_object_put(bad);
}

/* ---- streamed: GET /conversations/{id} part by part (sd_transcript_refresh) ---- */

struct refreshed {
    int calls, added;
    sb_error_kind kind;
};

static void on_refreshed(void *arg, const sb_intercom_response *res, int added)
{
    struct refreshed *r = arg;
    r->calls++;
    r->added = added;
    r->kind = res->kind;
}

static char *conversation_text(int updated_at, const char *parts_json, int total)
{
    json_object *conv = conversation(updated_at, parts_json, total);
    char *text = pk_xstrdup(json_object_to_json_string_ext(conv, JSON_C_TO_STRING_PLAIN));
    json_object_put(conv);
    return text;
}

static struct refreshed refresh(void)
{
    struct refreshed r = {0};
    CHECK(sd_transcript_refresh(&plugin, inst, "42", on_refreshed, &r) != 0);
    sbt_deliver_pending(kit);
    CHECK_INT(r.calls, 1);
    return r;
}

/* The body cut after its second part, as a dropped connection would leave it. */
static char *cut_body;
static bool cut_answer(void *arg, const sbt_call *call, sbt_answer *answer)
{
    (void)arg, (void)call;
    answer->status = 200;
    answer->body = cut_body;
    return true;
}

static void test_streamed_reading(void)
{
    setup();
    char a[400], b[400], c[400], parts[2048];
    snprintf(parts, sizeof parts, "%s,%s,%s",
             part(a, sizeof a, "901", 110, "comment", "admin", "\"<p>one</p>\""),
             part(b, sizeof b, "902", 120, "comment", "user", "\"<p>two</p>\""),
             part(c, sizeof c, "903", 130, "comment", "admin", "\"<p>three</p>\""));
    char *text = conversation_text(130, parts, 3);
    /* Cut off after two parts: they went out and were stored, then the reading failed. */
    cut_body = pk_xstrdup(text);
    cut_body[strstr(cut_body, "\"903\"") - cut_body] = '\0';
    sbt_intercom_responder(kit, cut_answer, NULL);
    struct refreshed r = refresh();
    CHECK_INT(r.added, -1);
    CHECK_INT(r.kind, SB_ERR_SERVER_ERROR);
    sbt_intercom_responder(kit, NULL, NULL);
    free(cut_body);
    /* The whole answer: the same ordinals again, the first message as 0, nothing twice. */
    sbt_intercom_once(kit, "GET", "/conversations/42", 200, text);
    r = refresh();
    CHECK_INT(r.added, 4);
    CHECK_INT(r.kind, SB_ERR_NONE);
    CHECK_STR(sbt_intercom_call(kit, 1)->service, "intercom_stream");
    json_object *p = page(NULL, 10, false);
    json_object *data = sb_json_arr(p, "data");
    CHECK_INT(json_object_array_length(data), 4);
    const char *bodies[] = {"Hello there", "one", "two", "three"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_INT(sb_json_int(json_object_array_get_idx(data, i), "ordinal", -1), (int)i);
        CHECK_STR(body_at(p, i), bodies[i]);
    }
    json_object_put(p);
    free(text);
    /* Read again with one part more: only that one is added. */
    char d[400];
    snprintf(parts, sizeof parts, "%s,%s,%s,%s", a, b, c,
             part(d, sizeof d, "904", 140, "comment", "user", "\"<p>four</p>\""));
    text = conversation_text(140, parts, 4);
    sbt_intercom_once(kit, "GET", "/conversations/42", 200, text);
    free(text);
    r = refresh();
    CHECK_INT(r.added, 1);
    p = page("3", 10, false);
    CHECK_INT(json_object_array_length(sb_json_arr(p, "data")), 1);
    CHECK_STR(body_at(p, 0), "four");
    CHECK_INT(sb_json_int(p, "omitted", -1), 0);
    json_object_put(p);
    /* Gone at Intercom: reported, nothing stored. */
    sbt_intercom_once(kit, "GET", "/conversations/42", 404, NULL);
    r = refresh();
    CHECK_INT(r.added, -1);
    CHECK_INT(r.kind, SB_ERR_NOT_FOUND);
}

int main(void)
{
    RUN(test_in_order_with_authors_and_text);
    RUN(test_pages_follow);
    RUN(test_listed_conversations);
    RUN(test_streamed_reading);
    sbt_free(kit);
    UNIT_DONE();
}
