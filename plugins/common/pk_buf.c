/* pk_buf.c - a growing NUL-terminated string for the bundled plugins. */
#include "plugin_kit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for @p extra more bytes and the NUL. */
static void reserve(struct pk_buf *b, size_t extra)
{
    if (b->data && b->len + extra < b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap <= b->len + extra)
        cap *= 2;
    b->data = pk_xrealloc(b->data, cap);
    b->cap = cap;
}

void pk_buf_put(struct pk_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void pk_buf_puts(struct pk_buf *b, const char *s)
{
    pk_buf_put(b, s, strlen(s));
}

void pk_buf_printf(struct pk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pk_buf_html(struct pk_buf *b, const char *s)
{
    size_t n = sb_html_escape_into(NULL, 0, s);
    reserve(b, n);
    sb_html_escape_into(b->data + b->len, n + 1, s);
    b->len += n;
}

char *pk_buf_steal(struct pk_buf *b)
{
    char *out = b->data ? b->data : pk_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return out;
}

void pk_buf_free(struct pk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
