/* cl_template.c - {{variables}} in reply templates, and plain text as a reply body. */
#include "cl_template.h"

#include "plugin_kit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const variable_names[] = {"intercom.conversationId", "contact.name",
                                             "contact.email"};

static const char *variable_value(const struct cl_vars *vars, size_t index)
{
    const char *v = index == 0 ? vars->conversation_id
                    : index == 1 ? vars->contact_name
                                 : vars->contact_email;
    return v ? v : "";
}

/* The index of the variable named by the n bytes at @p name (spaces around it allowed), or -1. */
static int variable_index(const char *name, size_t n)
{
    while (n && *name == ' ') {
        name++;
        n--;
    }
    while (n && name[n - 1] == ' ')
        n--;
    for (size_t i = 0; i < PK_ARRAY_LEN(variable_names); i++)
        if (strlen(variable_names[i]) == n && memcmp(variable_names[i], name, n) == 0)
            return (int)i;
    return -1;
}

bool cl_template_check(const char *tmpl, char *err, size_t errlen)
{
    for (const char *p = strstr(tmpl, "{{"); p; p = strstr(p, "{{")) {
        const char *end = strstr(p + 2, "}}");
        if (!end) {
            snprintf(err, errlen, "'{{' without a closing '}}'");
            return false;
        }
        if (variable_index(p + 2, (size_t)(end - p - 2)) < 0) {
            snprintf(err, errlen,
                     "unknown variable {{%.*s}} (known: intercom.conversationId, contact.name, "
                     "contact.email)",
                     (int)(end - p - 2 > 64 ? 64 : end - p - 2), p + 2);
            return false;
        }
        p = end + 2;
    }
    return true;
}

/* A growing string. */
struct buf {
    char *s;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = pk_xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

char *cl_template_render(const char *tmpl, const struct cl_vars *vars)
{
    struct buf out = {0};
    buf_add(&out, "", 0);
    const char *p = tmpl;
    for (const char *open = strstr(p, "{{"); open; open = strstr(p, "{{")) {
        const char *end = strstr(open + 2, "}}");
        if (!end)
            break;
        buf_add(&out, p, (size_t)(open - p));
        int index = variable_index(open + 2, (size_t)(end - open - 2));
        if (index >= 0) {
            const char *v = variable_value(vars, (size_t)index);
            buf_add(&out, v, strlen(v));
        } else {
            buf_add(&out, open, (size_t)(end + 2 - open));
        }
        p = end + 2;
    }
    buf_add(&out, p, strlen(p));
    return out.s;
}

char *cl_text_html(const char *text)
{
    char *escaped = pk_xchecked(sb_html_escape(text));
    struct buf out = {0};
    buf_add(&out, "<p>", 3);
    for (const char *p = escaped; *p; p++) {
        if (*p == '\n')
            buf_add(&out, "<br>", 4);
        else if (*p != '\r')
            buf_add(&out, p, 1);
    }
    buf_add(&out, "</p>", 4);
    free(escaped);
    return out.s;
}
