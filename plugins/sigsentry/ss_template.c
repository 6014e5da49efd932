/* ss_template.c - the public reply: plugin_kit's {{placeholder}} templates, line by line. */
#include "ss_template.h"

#include "ss_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const char *const ss_reply_placeholders[] = {
    "severity", "affected_service", "window_start", "window_end",
    "conversation_id", "customer_name", NULL,
};

/* The caller's variables, as pk_template_render asks for them. */
struct var_table {
    const struct ss_template_var *vars;
    size_t n;
};

static bool lookup(void *ctx, const char *name, size_t len, const char **value)
{
    const struct var_table *table = ctx;
    for (size_t i = 0; i < table->n; i++)
        if (strlen(table->vars[i].name) == len && strncmp(table->vars[i].name, name, len) == 0) {
            *value = table->vars[i].value;
            return true;
        }
    return false;
}

/* One line (no newline inside) rendered into @p out. */
static void render_line(struct pk_buf *out, const char *line, size_t len,
                        const struct ss_template_var *vars, size_t n, bool html)
{
    char *copy = pk_xstrndup(line, len);
    struct var_table table = {vars, n};
    pk_template_render(out, copy, lookup, &table, html ? PK_ESCAPE_HTML : PK_ESCAPE_NONE);
    free(copy);
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

char *ss_template_render_html(const char *tmpl, const struct ss_template_var *vars, size_t n)
{
    struct pk_buf out = {0};
    const char *p = tmpl ? tmpl : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[len - 1] == '\r')
            len--;
        if (!blank(p, len)) {
            pk_buf_puts(&out, "<p>");
            render_line(&out, p, len, vars, n, true);
            pk_buf_puts(&out, "</p>");
        }
        p = nl ? nl + 1 : p + len;
    }
    return pk_buf_steal(&out);
}

char *ss_template_render_text(const char *tmpl, const struct ss_template_var *vars, size_t n)
{
    struct pk_buf out = {0};
    struct var_table table = {vars, n};
    pk_template_render(&out, tmpl, lookup, &table, PK_ESCAPE_NONE); /* names hold no line break */
    return pk_buf_steal(&out);
}

char *ss_template_unknown(const char *tmpl, const char *const *known)
{
    return pk_template_unknown(tmpl, known, false);
}
