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

/* The index of the variable named by the @p n bytes at @p name, or -1. */
static int variable_index(const char *name, size_t n)
{
    for (size_t i = 0; i < PK_ARRAY_LEN(variable_names); i++)
        if (strlen(variable_names[i]) == n && memcmp(variable_names[i], name, n) == 0)
            return (int)i;
    return -1;
}

bool cl_template_check(const char *tmpl, char *err, size_t errlen)
{
    const char *start, *end, *name, *open = NULL;
    size_t len;
    for (const char *p = tmpl; pk_template_next(p, &start, &end, &name, &len); p = end) {
        if (variable_index(name, len) < 0) {
            snprintf(err, errlen,
                     "unknown variable {{%.*s}} (known: intercom.conversationId, contact.name, "
                     "contact.email)",
                     (int)(len > 64 ? 64 : len), name);
            return false;
        }
    }
    for (const char *p = strstr(tmpl, "{{"); p; p = strstr(p + 1, "{{"))
        open = p;
    if (open && !strstr(open + 2, "}}")) {
        snprintf(err, errlen, "'{{' without a closing '}}'");
        return false;
    }
    return true;
}

static bool lookup(void *ctx, const char *name, size_t len, const char **value)
{
    int index = variable_index(name, len);
    if (index < 0)
        return false;
    *value = variable_value(ctx, (size_t)index);
    return true;
}

char *cl_template_render(const char *tmpl, const struct cl_vars *vars)
{
    struct pk_buf out = {0};
    pk_template_render(&out, tmpl, lookup, (void *)vars, PK_ESCAPE_NONE);
    return pk_buf_steal(&out);
}

char *cl_text_html(const char *text)
{
    char *escaped = pk_xchecked(sb_html_escape(text));
    struct pk_buf out = {0};
    pk_buf_puts(&out, "<p>");
    for (const char *p = escaped; *p; p++) {
        if (*p == '\n')
            pk_buf_puts(&out, "<br>");
        else if (*p != '\r')
            pk_buf_put(&out, p, 1);
    }
    pk_buf_puts(&out, "</p>");
    free(escaped);
    return pk_buf_steal(&out);
}
