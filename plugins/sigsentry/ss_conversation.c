/* ss_conversation.c - the customer's text and facts of an Intercom conversation. */
#include "ss_conversation.h"

#include "ss_util.h"

#include <stdlib.h>
#include <string.h>

static bool customer_author(json_object *author)
{
    const char *type = sb_json_str(author, "type");
    return type && (strcmp(type, "user") == 0 || strcmp(type, "lead") == 0
                    || strcmp(type, "contact") == 0);
}

static void append_text(struct pk_buf *b, const char *html)
{
    if (!html || b->len >= SS_CONVERSATION_TEXT_MAX)
        return;
    char *text = pk_html_to_text(html);
    if (*text) {
        if (b->len)
            pk_buf_puts(b, "\n");
        pk_buf_puts(b, text);
    }
    free(text);
}

bool ss_conversation_facts(json_object *conversation, struct ss_conversation_facts *out)
{
    memset(out, 0, sizeof *out);
    const char *id = sb_json_str(conversation, "id");
    if (!id)
        return false;
    out->id = pk_xstrdup(id);
    int64_t created = sb_json_time(conversation, "created_at");
    out->created_ms = created > 0 ? created * 1000 : 0;
    struct pk_buf text = {0};
    json_object *source = sb_json_obj(conversation, "source");
    json_object *author = sb_json_obj(source, "author");
    if (customer_author(author)) {
        append_text(&text, sb_json_str(source, "subject"));
        append_text(&text, sb_json_str(source, "body"));
        if (sb_json_str(author, "name"))
            out->customer_name = pk_xstrdup(sb_json_str(author, "name"));
    }
    json_object *parts =
        sb_json_arr(sb_json_obj(conversation, "conversation_parts"), "conversation_parts");
    size_t n = parts ? json_object_array_length(parts) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *part = json_object_array_get_idx(parts, i);
        json_object *part_author = sb_json_obj(part, "author");
        if (!customer_author(part_author))
            continue;
        append_text(&text, sb_json_str(part, "body"));
        if (!out->customer_name && sb_json_str(part_author, "name"))
            out->customer_name = pk_xstrdup(sb_json_str(part_author, "name"));
    }
    if (text.len > SS_CONVERSATION_TEXT_MAX) {
        size_t len = SS_CONVERSATION_TEXT_MAX;
        while (len > 0 && ((unsigned char)text.data[len] & 0xC0) == 0x80)
            len--; /* keep whole UTF-8 characters */
        text.data[len] = '\0';
        text.len = len;
    }
    out->text = pk_buf_steal(&text);
    return true;
}

void ss_conversation_facts_clear(struct ss_conversation_facts *f)
{
    free(f->id);
    free(f->text);
    free(f->customer_name);
    memset(f, 0, sizeof *f);
}
