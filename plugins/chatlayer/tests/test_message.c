/* test_message.c - the user message of a notification, and HTML bodies as text. */
#include "cl_message.h"
#include "unit.h"

static json_object *parse_json(const char *text)
{
    json_object *j = json_tokener_parse(text);
    if (!j) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(2);
    }
    return j;
}

static void test_created(void)
{
    /* conversation.user.created: no parts yet, the message is the source. */
    json_object *item = parse_json(
        "{\"type\":\"conversation\",\"id\":\"123\",\"team_assignee_id\":5017691,"
        "\"created_at\":\"2026-01-10T04:22:28.240+0000\","
        "\"source\":{\"type\":\"conversation\",\"id\":\"900\",\"body\":\"<p>Hello &amp; hi</p>\","
        "\"author\":{\"type\":\"user\",\"id\":\"c1\",\"name\":\"Ann\",\"email\":\"ann@x.io\"}},"
        "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":[],"
        "\"total_count\":0}}");
    struct cl_message m;
    char err[160];
    CHECK(cl_message_from_item(item, &m, err, sizeof err));
    CHECK_STR(m.conversation_id, "123");
    CHECK_STR(m.message_id, "900");
    CHECK_STR(m.team_id, "5017691"); /* a number in the payload */
    CHECK_STR(m.part_type, "source");
    CHECK_STR(m.author_name, "Ann");
    CHECK_STR(m.text, "Hello & hi");
    CHECK_INT(m.created_at, 1768018948); /* the conversation's, a webhook's ISO string */
    CHECK(cl_message_for_bot(&m));

    /* The job payload carries the same message. */
    json_object *payload = cl_message_to_json(&m);
    struct cl_message back;
    CHECK(cl_message_from_json(payload, &back));
    CHECK_STR(back.conversation_id, "123");
    CHECK_STR(back.author_email, "ann@x.io");
    CHECK_STR(back.text, "Hello & hi");
    CHECK_STR(back.team_id, "5017691");
    cl_message_clear(&back);
    json_object_put(payload);
    cl_message_clear(&m);
    json_object_put(item);
}

static void test_replied(void)
{
    /* conversation.user.replied: the newest part is the message; unassigned: no team. */
    json_object *item = parse_json(
        "{\"type\":\"conversation\",\"id\":\"7\",\"team_assignee_id\":null,"
        "\"source\":{\"id\":\"1\",\"body\":\"first\",\"author\":{\"type\":\"lead\",\"id\":\"c\"}},"
        "\"conversation_parts\":{\"conversation_parts\":["
        " {\"id\":\"2\",\"part_type\":\"comment\",\"body\":\"<p>Bot here</p>\","
        "  \"author\":{\"type\":\"admin\",\"id\":\"99\"}},"
        " {\"id\":\"3\",\"part_type\":\"comment\",\"body\":\"<p>line one</p><p>line <b>two</b></p>\","
        "  \"created_at\":1768018948,\"author\":{\"type\":\"lead\",\"id\":\"c\"}}]}}");
    struct cl_message m;
    char err[160];
    CHECK(cl_message_from_item(item, &m, err, sizeof err));
    CHECK_STR(m.message_id, "3");
    CHECK_INT(m.created_at, 1768018948);
    CHECK(m.team_id == NULL);
    CHECK_STR(m.text, "line one\nline two");
    CHECK(cl_message_for_bot(&m));
    cl_message_clear(&m);
    json_object_put(item);

    /* A teammate's note or the bot's own reply is not for the bot. */
    item = parse_json("{\"type\":\"conversation\",\"id\":\"7\",\"conversation_parts\":{"
                      "\"conversation_parts\":[{\"id\":\"4\",\"part_type\":\"note\",\"body\":\"x\","
                      "\"author\":{\"type\":\"admin\",\"id\":\"99\"}}]}}");
    CHECK(cl_message_from_item(item, &m, err, sizeof err));
    CHECK(!cl_message_from_contact(&m));
    CHECK(!cl_message_for_bot(&m));
    cl_message_clear(&m);
    json_object_put(item);

    /* Not a conversation, a hostile id, no author: refused with a reason. */
    const char *bad[] = {"{\"type\":\"contact\",\"id\":\"1\"}",
                         "{\"type\":\"conversation\",\"id\":\"../x\",\"source\":{}}",
                         "{\"type\":\"conversation\",\"id\":\"1\",\"source\":{\"id\":\"2\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        item = parse_json(bad[i]);
        CHECK(!cl_message_from_item(item, &m, err, sizeof err));
        CHECK(err[0] != '\0');
        cl_message_clear(&m);
        json_object_put(item);
    }
}

static void test_html_text(void)
{
    char *t = cl_html_text("  <p>a &lt;b&gt; &quot;c&quot; &#39;d&#39;<br>e&nbsp;f &unknown;</p> ");
    CHECK_STR(t, "a <b> \"c\" 'd'\ne f &unknown;");
    free(t);
    t = cl_html_text(NULL);
    CHECK_STR(t, "");
    free(t);
    t = cl_html_text("<p>cut <b");
    CHECK_STR(t, "cut");
    free(t);
    CHECK(cl_id_valid("215472391230154"));
    CHECK(!cl_id_valid(""));
    CHECK(!cl_id_valid("a/b"));
}

int main(void)
{
    RUN(test_created);
    RUN(test_replied);
    RUN(test_html_text);
    UNIT_DONE();
}
