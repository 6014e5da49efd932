/* ss_conversation.c - the customer's text and facts of an Intercom conversation. */
#include "ss_conversation.h"

#include "ss_util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    const char *text;
} entities[] = {
    {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"},
    {"&apos;", "'"}, {"&nbsp;", " "}, {"&#x27;", "'"},
};

/* Tags after which the text continues on a new line. */
static bool is_block_tag(const char *tag, size_t n)
{
    static const char *const blocks[] = {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3",
                                         "h4", "h5", "h6", "tr", "blockquote", "pre"};
    for (size_t i = 0; i < PK_ARRAY_LEN(blocks); i++)
        if (strlen(blocks[i]) == n && strncasecmp(blocks[i], tag, n) == 0)
            return true;
    return false;
}

char *ss_html_to_text(const char *html)
{
    struct pk_buf b = {0};
    const char *p = html ? html : "";
    while (*p) {
        if (*p == '<') {
            const char *end = strchr(p, '>');
            if (!end)
                break; /* an unterminated tag: drop the rest */
            const char *name = p + 1;
            if (*name == '/')
                name++;
            size_t n = 0;
            while (isalnum((unsigned char)name[n]))
                n++;
            if (is_block_tag(name, n) && b.len && b.data[b.len - 1] != '\n')
                pk_buf_puts(&b, "\n");
            p = end + 1;
            continue;
        }
        if (*p == '&') {
            bool decoded = false;
            for (size_t i = 0; i < PK_ARRAY_LEN(entities); i++) {
                size_t n = strlen(entities[i].name);
                if (strncmp(p, entities[i].name, n) == 0) {
                    pk_buf_puts(&b, entities[i].text);
                    p += n;
                    decoded = true;
                    break;
                }
            }
            if (decoded)
                continue;
        }
        pk_buf_put(&b, p, 1);
        p++;
    }
    while (b.len && isspace((unsigned char)b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    return pk_buf_steal(&b);
}

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
    char *text = ss_html_to_text(html);
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
