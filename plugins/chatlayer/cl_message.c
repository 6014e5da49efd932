/* cl_message.c - the user message of a notification, and HTML bodies as text. */
#include "cl_message.h"

#include "plugin_kit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TEXT_MAX 8000

static char *dup_or_null(const char *s)
{
    return s ? pk_xstrdup(s) : NULL;
}

bool cl_message_from_item(json_object *item, struct cl_message *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *conv = sb_json_str(item, "id");
    if (!pk_str_eq(sb_json_str(item, "type"), "conversation") || !cl_id_valid(conv)) {
        snprintf(err, errlen, "not a conversation with a usable id");
        return false;
    }
    /* The newest part is the message; a conversation without parts is its source. */
    json_object *parts = sb_json_arr(sb_json_obj(item, "conversation_parts"), "conversation_parts");
    size_t n = parts ? json_object_array_length(parts) : 0;
    json_object *part = n ? json_object_array_get_idx(parts, n - 1) : sb_json_obj(item, "source");
    json_object *author = sb_json_obj(part, "author");
    const char *id = sb_json_str(part, "id");
    if (!part || !id || !author) {
        snprintf(err, errlen, "conversation %s carries no message with an id and an author", conv);
        return false;
    }
    out->conversation_id = pk_xstrdup(conv);
    out->message_id = pk_xstrdup(id);
    out->team_id = dup_or_null(sb_json_str(item, "team_assignee_id"));
    out->part_type = pk_xstrdup(n ? (sb_json_str(part, "part_type") ? sb_json_str(part, "part_type")
                                                                      : "unknown")
                                  : "source");
    out->author_type = pk_xstrdup(sb_json_str(author, "type") ? sb_json_str(author, "type") : "");
    out->author_id = pk_xstrdup(sb_json_str(author, "id") ? sb_json_str(author, "id") : "");
    out->author_name = dup_or_null(sb_json_str(author, "name"));
    out->author_email = dup_or_null(sb_json_str(author, "email"));
    out->text = cl_html_text(sb_json_str(part, "body"));
    int64_t created = sb_json_time(part, "created_at");
    if (created < 0)
        created = sb_json_time(item, "created_at");
    out->created_at = created > 0 ? created : 0;
    return true;
}

json_object *cl_message_to_json(const struct cl_message *m)
{
    json_object *o = pk_xchecked(json_object_new_object());
    json_object *author = pk_xchecked(json_object_new_object());
    sb_json_add_str(author, "type", m->author_type);
    sb_json_add_str(author, "id", m->author_id);
    sb_json_add_str(author, "name", m->author_name);
    sb_json_add_str(author, "email", m->author_email);
    sb_json_add_str(o, "conversation_id", m->conversation_id);
    sb_json_add_str(o, "message_id", m->message_id);
    sb_json_add_str(o, "team_id", m->team_id);
    sb_json_add_str(o, "part_type", m->part_type);
    json_object_object_add(o, "author", author);
    sb_json_add_str(o, "text", m->text);
    sb_json_add_int(o, "created_at", m->created_at);
    return o;
}

bool cl_message_from_json(json_object *p, struct cl_message *out)
{
    memset(out, 0, sizeof *out);
    json_object *author = sb_json_obj(p, "author");
    const char *conv = sb_json_str(p, "conversation_id"), *id = sb_json_str(p, "message_id");
    if (!cl_id_valid(conv) || !id || !author)
        return false;
    out->conversation_id = pk_xstrdup(conv);
    out->message_id = pk_xstrdup(id);
    out->team_id = dup_or_null(sb_json_str(p, "team_id"));
    out->part_type = pk_xstrdup(sb_json_str(p, "part_type") ? sb_json_str(p, "part_type") : "");
    out->author_type = pk_xstrdup(sb_json_str(author, "type") ? sb_json_str(author, "type") : "");
    out->author_id = pk_xstrdup(sb_json_str(author, "id") ? sb_json_str(author, "id") : "");
    out->author_name = dup_or_null(sb_json_str(author, "name"));
    out->author_email = dup_or_null(sb_json_str(author, "email"));
    json_object *text = sb_json_get(p, "text");
    out->text = pk_xstrdup(json_object_is_type(text, json_type_string) ? json_object_get_string(text)
                                                                       : "");
    out->created_at = sb_json_int(p, "created_at", 0);
    return true;
}

void cl_message_clear(struct cl_message *m)
{
    free(m->conversation_id);
    free(m->message_id);
    free(m->team_id);
    free(m->part_type);
    free(m->author_type);
    free(m->author_id);
    free(m->author_name);
    free(m->author_email);
    free(m->text);
    memset(m, 0, sizeof *m);
}

bool cl_message_from_contact(const struct cl_message *m)
{
    return pk_str_eq(m->author_type, "user") || pk_str_eq(m->author_type, "lead")
           || pk_str_eq(m->author_type, "contact");
}

bool cl_message_for_bot(const struct cl_message *m)
{
    bool comment = pk_str_eq(m->part_type, "source") || pk_str_eq(m->part_type, "comment")
                   || pk_str_eq(m->part_type, "open");
    return comment && cl_message_from_contact(m) && m->text && *m->text;
}

bool cl_id_valid(const char *id)
{
    return pk_id_valid(id, 64, "_-");
}

/* The entity at @p p (after '&'): its bytes in @p out and its length, 0 if not one we know. */
static size_t entity(const char *p, char out[2], size_t *out_len)
{
    static const struct {
        const char *name;
        char c;
    } known[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'},
                 {"#39;", '\''}, {"#x27;", '\''}, {"apos;", '\''}, {"nbsp;", ' '}};
    for (size_t i = 0; i < PK_ARRAY_LEN(known); i++) {
        size_t n = strlen(known[i].name);
        if (strncmp(p, known[i].name, n) == 0) {
            out[0] = known[i].c;
            *out_len = 1;
            return n;
        }
    }
    return 0;
}

char *cl_html_text(const char *html)
{
    size_t cap = html ? strlen(html) : 0;
    char *out = pk_xcalloc(cap + 1, 1);
    size_t len = 0;
    for (const char *p = html ? html : ""; *p && len < TEXT_MAX;) {
        if (*p == '<') {
            const char *end = strchr(p, '>');
            if (!end)
                break;
            /* A new paragraph or a line break starts a new line. */
            bool breaks = strncasecmp(p, "<br", 3) == 0 || strncasecmp(p, "</p", 3) == 0
                          || strncasecmp(p, "</div", 5) == 0 || strncasecmp(p, "</li", 4) == 0;
            if (breaks && len && out[len - 1] != '\n')
                out[len++] = '\n';
            p = end + 1;
            continue;
        }
        if (*p == '&') {
            char c[2];
            size_t n = 0, skip = entity(p + 1, c, &n);
            if (skip) {
                out[len++] = c[0];
                p += 1 + skip;
                continue;
            }
        }
        out[len++] = *p++;
    }
    while (len && isspace((unsigned char)out[len - 1]))
        len--;
    out[len] = '\0';
    size_t lead = 0;
    while (isspace((unsigned char)out[lead]))
        lead++;
    memmove(out, out + lead, len - lead + 1);
    return out;
}
