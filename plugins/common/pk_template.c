/* pk_template.c - {{placeholder}} templates: the grammar, rendering and unknown names. */
#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

bool pk_template_next(const char *p, const char **start, const char **end, const char **name,
                      size_t *name_len)
{
    for (const char *open = strstr(p, "{{"); open; open = strstr(open + 1, "{{")) {
        const char *close = strstr(open + 2, "}}");
        if (!close)
            return false;
        const char *n = open + 2, *e = close;
        while (n < e && *n == ' ')
            n++;
        while (e > n && e[-1] == ' ')
            e--;
        size_t len = (size_t)(e - n);
        /* "{{{{x}}": the inner pair is the placeholder; a name stays on its line. */
        if (len == 0 || memchr(n, '{', len) || memchr(n, '\n', len) || memchr(n, '\r', len))
            continue;
        *start = open;
        *end = close + 2;
        *name = n;
        *name_len = len;
        return true;
    }
    return false;
}

/* @p n bytes of @p s, HTML-escaped or not. */
static void put_text(struct pk_buf *out, const char *s, size_t n, enum pk_escape escape)
{
    if (escape == PK_ESCAPE_NONE) {
        pk_buf_put(out, s, n);
        return;
    }
    char *piece = pk_xstrndup(s, n);
    pk_buf_html(out, piece);
    free(piece);
}

void pk_template_render(struct pk_buf *out, const char *tmpl, pk_template_lookup lookup,
                        void *ctx, enum pk_escape escape)
{
    const char *p = tmpl ? tmpl : "", *start, *end, *name;
    size_t len;
    pk_buf_put(out, "", 0); /* an empty result is "", not NULL */
    for (; pk_template_next(p, &start, &end, &name, &len); p = end) {
        put_text(out, p, (size_t)(start - p), escape);
        const char *value = NULL;
        if (lookup(ctx, name, len, &value))
            put_text(out, value ? value : "", value ? strlen(value) : 0, escape);
        else
            put_text(out, start, (size_t)(end - start), escape);
    }
    put_text(out, p, strlen(p), escape);
}

static bool among(const char *const *names, const char *name, size_t len)
{
    for (; names && *names; names++)
        if (strlen(*names) == len && memcmp(*names, name, len) == 0)
            return true;
    return false;
}

/* A placeholder named like [name, name + len) comes in @p tmpl before @p before. */
static bool named_before(const char *tmpl, const char *before, const char *name, size_t len)
{
    const char *start, *end, *other;
    size_t other_len;
    for (const char *p = tmpl; pk_template_next(p, &start, &end, &other, &other_len) && start < before;
         p = end)
        if (other_len == len && memcmp(other, name, len) == 0)
            return true;
    return false;
}

char *pk_template_unknown(const char *tmpl, const char *const *known, bool braces)
{
    struct pk_buf out = {0};
    const char *p = tmpl ? tmpl : "", *start, *end, *name;
    size_t len;
    for (; pk_template_next(p, &start, &end, &name, &len); p = end) {
        if (among(known, name, len) || named_before(tmpl, start, name, len))
            continue;
        pk_buf_printf(&out, braces ? "%s{{%.*s}}" : "%s%.*s", out.len ? ", " : "", (int)len, name);
    }
    return out.data;
}
