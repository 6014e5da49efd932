/* ss_template.c - {{placeholder}} substitution for the public reply. */
#include "ss_template.h"

#include "ss_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

const char *const ss_reply_placeholders[] = {
    "severity", "affected_service", "window_start", "window_end",
    "conversation_id", "customer_name", NULL,
};

/*
 * At *p, a placeholder "{{ name }}": its name (start, length) and total
 * length, or 0 if this is not one. Names are [a-z0-9_]+.
 */
static size_t placeholder_at(const char *p, const char **name, size_t *name_len)
{
    if (p[0] != '{' || p[1] != '{')
        return 0;
    const char *q = p + 2;
    while (*q == ' ')
        q++;
    const char *start = q;
    while (islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_')
        q++;
    size_t n = (size_t)(q - start);
    while (*q == ' ')
        q++;
    if (n == 0 || q[0] != '}' || q[1] != '}')
        return 0;
    *name = start;
    *name_len = n;
    return (size_t)(q + 2 - p);
}

static const struct ss_template_var *lookup(const struct ss_template_var *vars, size_t n,
                                            const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0)
            return &vars[i];
    return NULL;
}

/* One line (no newline inside) rendered into @p out. */
static void render_line(struct ss_buf *out, const char *line, size_t len,
                        const struct ss_template_var *vars, size_t n, bool html)
{
    char *copy = pk_xstrndup(line, len);
    for (const char *p = copy; *p;) {
        const char *name;
        size_t name_len, total = placeholder_at(p, &name, &name_len);
        const struct ss_template_var *var = total ? lookup(vars, n, name, name_len) : NULL;
        if (var) {
            const char *v = var->value ? var->value : "";
            if (html)
                ss_buf_html(out, v);
            else
                ss_buf_puts(out, v);
            p += total;
            continue;
        }
        /* Literal text up to the next "{{" (an unknown placeholder stays as written). */
        const char *next = strstr(p + 1, "{{");
        size_t chunk = next ? (size_t)(next - p) : strlen(p);
        char *piece = pk_xstrndup(p, chunk);
        if (html)
            ss_buf_html(out, piece);
        else
            ss_buf_puts(out, piece);
        free(piece);
        p += chunk;
    }
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
    struct ss_buf out = {0};
    const char *p = tmpl ? tmpl : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len && p[len - 1] == '\r')
            len--;
        if (!blank(p, len)) {
            ss_buf_puts(&out, "<p>");
            render_line(&out, p, len, vars, n, true);
            ss_buf_puts(&out, "</p>");
        }
        p = nl ? nl + 1 : p + len;
    }
    return ss_buf_steal(&out);
}

char *ss_template_render_text(const char *tmpl, const struct ss_template_var *vars, size_t n)
{
    struct ss_buf out = {0};
    const char *p = tmpl ? tmpl : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        render_line(&out, p, len, vars, n, false);
        if (nl)
            ss_buf_puts(&out, "\n");
        p = nl ? nl + 1 : p + len;
    }
    return ss_buf_steal(&out);
}

static bool known_name(const char *const *known, const char *name, size_t len)
{
    for (; known && *known; known++)
        if (strlen(*known) == len && strncmp(*known, name, len) == 0)
            return true;
    return false;
}

char *ss_template_unknown(const char *tmpl, const char *const *known)
{
    struct ss_buf out = {0};
    for (const char *p = tmpl ? tmpl : ""; *p;) {
        const char *name;
        size_t name_len, total = placeholder_at(p, &name, &name_len);
        if (!total) {
            p++;
            continue;
        }
        if (!known_name(known, name, name_len)) {
            char *n = pk_xstrndup(name, name_len);
            /* Each name once: look for ", name," in ", list,". */
            char *probe = pk_xasprintf(", %s,", n);
            char *hay = pk_xasprintf(", %s,", out.data ? out.data : "");
            if (!strstr(hay, probe))
                ss_buf_printf(&out, "%s%s", out.len ? ", " : "", n);
            free(probe);
            free(hay);
            free(n);
        }
        p += total;
    }
    return out.len ? ss_buf_steal(&out) : NULL;
}
