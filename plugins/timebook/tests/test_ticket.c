/*
 * Tag applications read out of real notification shapes, and the ticket
 * built from a conversation as GET /conversations/{id}?display_as=plaintext
 * returns it.
 */
#include "unit.h"

#include "plugin_kit.h"
#include "tb_ticket.h"

#include <json-c/json.h>

/* conversation_part.tag.created as Intercom sends it: the conversation, the tagged part,
   tags_added naming what was applied (here without applied_at, as in older payloads). */
static const char *part_tag_item =
    "{\"type\":\"conversation\",\"id\":\"21330067382\",\"created_at\":1553378082,"
    "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":["
    "{\"type\":\"conversation_part\",\"id\":\"331786931\",\"part_type\":\"comment\","
    "\"body\":\"<p>Hey!</p>\",\"created_at\":1553378082}],\"total_count\":1},"
    "\"tags\":{\"type\":\"tag.list\",\"tags\":[{\"type\":\"tag\",\"id\":\"7\",\"name\":\"old\","
    "\"applied_at\":1500000000},{\"type\":\"tag\",\"id\":\"2525085\",\"name\":\"developer\"}]},"
    "\"tags_added\":{\"type\":\"tag.list\",\"tags\":[{\"type\":\"tag\",\"id\":\"2525085\","
    "\"name\":\"developer\"}]}}";

static void part_tagging_names_the_added_tag_at_the_notification_time(void)
{
    json_object *item = json_tokener_parse(part_tag_item);
    json_object *apps = tb_tag_applications(item, "conversation_part.tag.created", 1553378744);
    CHECK_INT(json_object_array_length(apps), 1); /* the older tag is not news */
    json_object *a = json_object_array_get_idx(apps, 0);
    CHECK_STR(sb_json_str(a, "tag_id"), "2525085");
    CHECK_STR(sb_json_str(a, "tag_name"), "developer");
    CHECK_INT(sb_json_int(a, "applied_at", 0), 1553378744);
    CHECK_STR(sb_json_str(a, "part_id"), "331786931");
    json_object_put(apps);
    json_object_put(item);
}

static void applied_at_wins_over_the_notification_time(void)
{
    json_object *item = json_tokener_parse(
        "{\"type\":\"conversation\",\"id\":\"5\",\"tags\":{\"type\":\"tag.list\",\"tags\":["
        "{\"type\":\"tag\",\"id\":\"9\",\"name\":\"Feedback\",\"applied_at\":1700000000}]},"
        "\"tags_added\":{\"type\":\"tag.list\",\"tags\":[{\"type\":\"tag\",\"id\":\"9\"}]}}");
    json_object *apps = tb_tag_applications(item, "conversation_part.tag.created", 1800000000);
    CHECK_INT(json_object_array_length(apps), 1);
    CHECK_INT(sb_json_int(json_object_array_get_idx(apps, 0), "applied_at", 0), 1700000000);
    json_object_put(apps);
    json_object_put(item);
}

static void other_topics_count_only_tags_that_say_when(void)
{
    json_object *item = json_tokener_parse(part_tag_item);
    json_object *apps = tb_tag_applications(item, "conversation.admin.replied", 1553378744);
    CHECK_INT(json_object_array_length(apps), 1);
    CHECK_STR(sb_json_str(json_object_array_get_idx(apps, 0), "tag_id"), "7");
    CHECK_INT(sb_json_int(json_object_array_get_idx(apps, 0), "applied_at", 0), 1500000000);
    json_object_put(apps);
    json_object_put(item);
}

static void no_tags_no_applications(void)
{
    const char *items[] = {"{\"type\":\"conversation\",\"id\":\"1\"}", "{}", "[]",
                           "{\"tags_added\":{\"tags\":[{\"name\":\"no id\"}]}}",
                           "{\"tags_added\":{\"tags\":\"junk\"}}"};
    for (size_t i = 0; i < PK_ARRAY_LEN(items); i++) {
        json_object *item = json_tokener_parse(items[i]);
        json_object *apps = tb_tag_applications(item, "conversation_part.tag.created", 10);
        CHECK_INT(json_object_array_length(apps), 0);
        json_object_put(apps);
        json_object_put(item);
    }
}

static const char *conversation =
    "{\"type\":\"conversation\",\"id\":\"123\",\"created_at\":1700000000,"
    "\"source\":{\"type\":\"conversation\",\"id\":\"900\",\"subject\":\"\","
    "\"body\":\"The export button does nothing\",\"author\":{\"type\":\"user\",\"id\":\"c1\","
    "\"name\":\"Ann Lee\",\"email\":\"ann@example.com\"}},"
    "\"contacts\":{\"type\":\"contact.list\",\"contacts\":[{\"type\":\"contact\",\"id\":\"c1\"}]},"
    "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":["
    "{\"type\":\"conversation_part\",\"id\":\"901\",\"part_type\":\"comment\","
    "\"body\":\"Also CSV would help\",\"created_at\":1700000100,"
    "\"author\":{\"type\":\"user\",\"id\":\"c1\",\"name\":\"Ann Lee\"}}]}}";

static void ticket_carries_messages_contact_link_and_times(void)
{
    json_object *conv = json_tokener_parse(conversation);
    struct tb_ticket_facts facts = {.product = "roadmap", .tag_id = "9", .tag_name = "Feedback",
                                    .applied_at = 1700000200, .part_id = "901",
                                    .link = "https://app.intercom.com/x", .created_ms = 1700000300123};
    json_object *t = tb_ticket_build(conv, &facts);
    CHECK_STR(sb_json_str(t, "id"), "123-9");
    CHECK_STR(sb_json_str(t, "product"), "roadmap");
    CHECK_STR(sb_json_str(sb_json_obj(t, "tag"), "name"), "Feedback");
    CHECK_INT(sb_json_int(t, "tagged_at", 0), 1700000200);
    CHECK_INT(sb_json_int(t, "created_at", 0), 1700000300);
    CHECK_STR(sb_json_str(sb_json_obj(t, "first_message"), "text"), "The export button does nothing");
    CHECK_STR(sb_json_str(sb_json_obj(t, "tagged_part"), "text"), "Also CSV would help");
    CHECK_STR(sb_json_str(sb_json_obj(t, "tagged_part"), "kind"), "part");
    CHECK_STR(sb_json_str(sb_json_obj(t, "contact"), "email"), "ann@example.com");
    CHECK_STR(sb_json_str(sb_json_obj(t, "contact"), "name"), "Ann Lee");
    CHECK_STR(sb_json_str(t, "link"), "https://app.intercom.com/x");
    json_object_put(t);
    /* An unknown part (or none): the tagged part is the first message. */
    facts.part_id = "nope";
    t = tb_ticket_build(conv, &facts);
    CHECK_STR(sb_json_str(sb_json_obj(t, "tagged_part"), "kind"), "first_message");
    CHECK_STR(sb_json_str(sb_json_obj(t, "tagged_part"), "id"), "900");
    json_object_put(t);
    json_object_put(conv);
}

static void clipping_never_cuts_a_character(void)
{
    char *s = tb_text_clip("ab\xc3\xa9z", 3); /* é is 2 bytes at offsets 2-3 */
    CHECK_STR(s, "ab");
    free(s);
    s = tb_text_clip("abc", 3);
    CHECK_STR(s, "abc");
    free(s);
    s = tb_text_clip(NULL, 3);
    CHECK_STR(s, "");
    free(s);
}

static void links_follow_the_region(void)
{
    char *us = pk_conversation_link("US", "ws1", "5");
    char *eu = pk_conversation_link("EU", "ws1", "5");
    CHECK_STR(us, "https://app.intercom.com/a/inbox/ws1/inbox/conversation/5");
    CHECK_STR(eu, "https://app.eu.intercom.com/a/inbox/ws1/inbox/conversation/5");
    free(us);
    free(eu);
}

int main(void)
{
    RUN(part_tagging_names_the_added_tag_at_the_notification_time);
    RUN(applied_at_wins_over_the_notification_time);
    RUN(other_topics_count_only_tags_that_say_when);
    RUN(no_tags_no_applications);
    RUN(ticket_carries_messages_contact_link_and_times);
    RUN(clipping_never_cuts_a_character);
    RUN(links_follow_the_region);
    UNIT_DONE();
}
