/* tb_ticket.c - tag applications in a notification, and the ticket built from a conversation. */
#include "tb_ticket.h"

#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

#define TEXT_MAX_BYTES 8000
#define PART_TAG_TOPIC "conversation_part.tag.created"

/* The tag's applied_at, else the same tag's in the conversation's tag list, else -1. */
static int64_t applied_at_of(json_object *item, json_object *tag)
{
    int64_t at = sb_json_time(tag, "applied_at");
    if (at >= 0)
        return at;
    json_object *tags = sb_json_arr(sb_json_obj(item, "tags"), "tags");
    const char *id = sb_json_str(tag, "id");
    for (size_t i = 0; id && tags && i < json_object_array_length(tags); i++) {
        json_object *t = json_object_array_get_idx(tags, i);
        if (pk_str_eq(sb_json_str(t, "id"), id))
            return sb_json_time(t, "applied_at");
    }
    return -1;
}

static void add_application(json_object *out, json_object *tag, int64_t at, const char *part_id)
{
    const char *id = sb_json_str(tag, "id");
    if (!id || at < 0)
        return;
    for (size_t i = 0; i < json_object_array_length(out); i++)
        if (pk_str_eq(sb_json_str(json_object_array_get_idx(out, i), "tag_id"), id))
            return; /* listed twice (tags_added and the part's tags): once is enough */
    json_object *a = pk_xchecked(json_object_new_object());
    sb_json_add_str(a, "tag_id", id);
    sb_json_add_str(a, "tag_name", sb_json_str(tag, "name"));
    sb_json_add_int(a, "applied_at", at);
    if (part_id)
        sb_json_add_str(a, "part_id", part_id);
    json_object_array_add(out, a);
}

static void add_tags(json_object *out, json_object *item, json_object *tags, bool notified_counts,
                     int64_t notified_at, const char *part_id)
{
    for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
        json_object *tag = json_object_array_get_idx(tags, i);
        int64_t at = applied_at_of(item, tag);
        if (at < 0 && notified_counts)
            at = notified_at;
        add_application(out, tag, at, part_id);
    }
}

json_object *tb_tag_applications(json_object *item, const char *topic, int64_t notified_at)
{
    json_object *out = pk_xchecked(json_object_new_array());
    json_object *parts = sb_json_arr(sb_json_obj(item, "conversation_parts"), "conversation_parts");
    json_object *part = parts && json_object_array_length(parts) > 0
                            ? json_object_array_get_idx(parts, 0)
                            : NULL;
    const char *part_id = sb_json_str(part, "id");
    bool part_tagging = pk_str_eq(topic, PART_TAG_TOPIC);
    json_object *added = sb_json_arr(sb_json_obj(item, "tags_added"), "tags");
    if (added) {
        add_tags(out, item, added, part_tagging, notified_at, part_tagging ? part_id : NULL);
    } else if (part_tagging) {
        add_tags(out, item, sb_json_arr(part, "tags"), true, notified_at, part_id);
    }
    if (!part_tagging) /* other topics: tags that say when they were applied */
        add_tags(out, item, sb_json_arr(sb_json_obj(item, "tags"), "tags"), false, 0, NULL);
    return out;
}

char *tb_ticket_id(const char *conversation_id, const char *tag_id)
{
    return pk_xasprintf("%s-%s", conversation_id, tag_id);
}

char *tb_text_clip(const char *text, size_t max)
{
    size_t n = text ? strlen(text) : 0;
    if (n <= max)
        return pk_xstrdup(text ? text : "");
    /* Back up over continuation bytes (10xxxxxx) so no character is cut in half. */
    while (n > 0 && max > 0 && ((unsigned char)text[max] & 0xC0) == 0x80)
        max--;
    return pk_xstrndup(text, max);
}

static void add_text(json_object *o, const char *key, const char *text)
{
    char *clipped = tb_text_clip(text, TEXT_MAX_BYTES);
    sb_json_add_str(o, key, clipped);
    free(clipped);
}

static json_object *author_of(json_object *author)
{
    json_object *a = pk_xchecked(json_object_new_object());
    sb_json_add_str(a, "type", sb_json_str(author, "type"));
    sb_json_add_str(a, "id", sb_json_str(author, "id"));
    sb_json_add_str(a, "name", sb_json_str(author, "name"));
    return a;
}

/* The tagged part: the named part, else the first message (the source). */
static json_object *tagged_part(json_object *conversation, const char *part_id)
{
    json_object *source = sb_json_obj(conversation, "source");
    json_object *parts =
        sb_json_arr(sb_json_obj(conversation, "conversation_parts"), "conversation_parts");
    json_object *found = NULL;
    for (size_t i = 0; part_id && parts && i < json_object_array_length(parts); i++) {
        json_object *p = json_object_array_get_idx(parts, i);
        if (pk_str_eq(sb_json_str(p, "id"), part_id))
            found = p;
    }
    json_object *o = pk_xchecked(json_object_new_object());
    json_object *from = found ? found : source;
    sb_json_add_str(o, "id", sb_json_str(from, "id"));
    sb_json_add_str(o, "kind", found ? "part" : "first_message");
    add_text(o, "text", sb_json_str(from, "body"));
    sb_json_add_int(o, "created_at",
                    sb_json_time(found ? found : conversation, "created_at"));
    json_object_object_add(o, "author", author_of(sb_json_obj(from, "author")));
    return o;
}

/* The customer: the first message's author when a contact wrote it, else the first contact. */
static json_object *contact_of(json_object *conversation)
{
    json_object *author = sb_json_obj(sb_json_obj(conversation, "source"), "author");
    const char *type = sb_json_str(author, "type");
    bool customer =
        pk_str_eq(type, "user") || pk_str_eq(type, "lead") || pk_str_eq(type, "contact");
    json_object *contacts = sb_json_arr(sb_json_obj(conversation, "contacts"), "contacts");
    json_object *first = contacts && json_object_array_length(contacts) > 0
                             ? json_object_array_get_idx(contacts, 0)
                             : NULL;
    json_object *o = pk_xchecked(json_object_new_object());
    sb_json_add_str(o, "id", customer ? sb_json_str(author, "id") : sb_json_str(first, "id"));
    sb_json_add_str(o, "name", customer ? sb_json_str(author, "name") : NULL);
    sb_json_add_str(o, "email", customer ? sb_json_str(author, "email") : NULL);
    return o;
}

json_object *tb_ticket_build(json_object *conversation, const struct tb_ticket_facts *f)
{
    const char *conv_id = sb_json_str(conversation, "id");
    char *id = tb_ticket_id(conv_id ? conv_id : "", f->tag_id);
    json_object *t = pk_xchecked(json_object_new_object());
    sb_json_add_str(t, "id", id);
    free(id);
    sb_json_add_str(t, "product", f->product);
    sb_json_add_str(t, "conversation_id", conv_id);
    json_object *tag = pk_xchecked(json_object_new_object());
    sb_json_add_str(tag, "id", f->tag_id);
    sb_json_add_str(tag, "name", f->tag_name);
    json_object_object_add(t, "tag", tag);
    sb_json_add_int(t, "tagged_at", f->applied_at);
    sb_json_add_int(t, "created_at", f->created_ms / 1000);
    json_object *source = sb_json_obj(conversation, "source");
    json_object *first = pk_xchecked(json_object_new_object());
    sb_json_add_str(first, "subject", sb_json_str(source, "subject"));
    add_text(first, "text", sb_json_str(source, "body"));
    sb_json_add_int(first, "created_at", sb_json_time(conversation, "created_at"));
    json_object_object_add(t, "first_message", first);
    json_object_object_add(t, "tagged_part", tagged_part(conversation, f->part_id));
    json_object_object_add(t, "contact", contact_of(conversation));
    sb_json_add_str(t, "link", f->link);
    return t;
}
