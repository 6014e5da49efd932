/* pk_html.c - the bundled plugins' one HTML-to-plain-text conversion (see plugin_kit.h). */
#include "plugin_kit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name; /* without '&' and ';' */
    const char *text;
} named_entities[] = {{"amp", "&"},  {"lt", "<"},  {"gt", ">"},
                      {"quot", "\""}, {"apos", "'"}, {"nbsp", " "}};

/* Longest reference read, "&#x10FFFF;" included. */
#define ENTITY_MAX 11

/* Tags after which the text continues on a new line. */
static bool is_block_tag(const char *tag, size_t n)
{
    static const char *const blocks[] = {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3",
                                         "h4", "h5", "h6", "tr", "blockquote", "pre", "hr",
                                         "table"};
    for (size_t i = 0; i < PK_ARRAY_LEN(blocks); i++)
        if (strlen(blocks[i]) == n && strncasecmp(blocks[i], tag, n) == 0)
            return true;
    return false;
}

/* Elements whose content is code or style, never text. */
static bool is_hidden_tag(const char *tag, size_t n)
{
    return (n == 6 && strncasecmp(tag, "script", 6) == 0)
           || (n == 5 && strncasecmp(tag, "style", 5) == 0);
}

/* The end of the tag starting at @p p ('<'): its '>', skipping quoted attribute values; NULL if none. */
static const char *tag_end(const char *p)
{
    char quote = 0;
    for (p++; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '>') {
            return p;
        }
    }
    return NULL;
}

/* After a script or style element's content: past its closing tag, or the end of the text. */
static const char *skip_hidden(const char *p, const char *tag, size_t n)
{
    for (; *p; p++) {
        if (p[0] == '<' && p[1] == '/' && strncasecmp(p + 2, tag, n) == 0) {
            const char *end = tag_end(p);
            return end ? end + 1 : p + strlen(p);
        }
    }
    return p;
}

/* Text output: runs of whitespace become one space, block ends one line break. */
struct text {
    struct pk_buf b;
    bool space;   /* whitespace seen since the last character written */
    bool newline; /* a line break is due before the next character */
};

static void put_char(struct text *t, const char *s, size_t n)
{
    if (t->b.len) {
        if (t->newline)
            pk_buf_puts(&t->b, "\n");
        else if (t->space)
            pk_buf_puts(&t->b, " ");
    }
    t->space = t->newline = false;
    pk_buf_put(&t->b, s, n);
}

static void put_text(struct text *t, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ')
            t->space = true;
        else
            put_char(t, s, 1);
    }
}

/* UTF-8 of a code point that is text: no NUL, no other controls, no surrogates. */
static bool put_code_point(struct text *t, unsigned long cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0) {
        t->space = true;
        return true;
    }
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return false;
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    put_char(t, u, n);
    return true;
}

/* Decode the entity at @p p ('&'); returns the bytes consumed, 0 when it is not one. */
static size_t put_entity(struct text *t, const char *p)
{
    /* Look no further than the longest reference: text full of '&' stays linear. */
    const char *semi = memchr(p, ';', strnlen(p, ENTITY_MAX));
    if (!semi)
        return 0;
    size_t len = (size_t)(semi - p - 1);
    if (p[1] == '#') {
        bool hex = p[2] == 'x' || p[2] == 'X';
        const char *digits = p + (hex ? 3 : 2);
        if (digits == semi)
            return 0;
        unsigned long cp = 0;
        for (const char *d = digits; d < semi; d++) {
            if (hex ? !isxdigit((unsigned char)*d) : !isdigit((unsigned char)*d))
                return 0;
            cp = cp * (hex ? 16 : 10)
                 + (unsigned long)(isdigit((unsigned char)*d) ? *d - '0'
                                                              : tolower((unsigned char)*d) - 'a' + 10);
        }
        if (!put_code_point(t, cp))
            put_char(t, "\xEF\xBF\xBD", 3); /* U+FFFD: what HTML makes of such a reference */
        return (size_t)(semi - p) + 1;
    }
    for (size_t i = 0; i < PK_ARRAY_LEN(named_entities); i++) {
        if (strlen(named_entities[i].name) == len && strncmp(p + 1, named_entities[i].name, len) == 0) {
            put_text(t, named_entities[i].text);
            return len + 2;
        }
    }
    return 0;
}

char *pk_html_to_text(const char *html)
{
    struct text t = {0};
    const char *p = html ? html : "";
    while (*p) {
        unsigned char c = (unsigned char)*p;
        if (c == '<' && (isalpha((unsigned char)p[1]) || p[1] == '/' || p[1] == '!' || p[1] == '?')) {
            if (strncmp(p, "<!--", 4) == 0) {
                const char *end = strstr(p + 4, "-->");
                p = end ? end + 3 : p + strlen(p);
                continue;
            }
            const char *end = tag_end(p);
            if (!end)
                break; /* an unterminated tag: drop the rest */
            const char *name = p + 1 + (p[1] == '/');
            size_t n = 0;
            while (isalnum((unsigned char)name[n]))
                n++;
            if (is_block_tag(name, n))
                t.newline = true;
            bool opening = p[1] != '/' && end[-1] != '/';
            p = end + 1;
            if (opening && is_hidden_tag(name, n))
                p = skip_hidden(p, name, n);
            continue;
        }
        if (c == '&') {
            size_t used = put_entity(&t, p);
            if (used) {
                p += used;
                continue;
            }
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            t.space = true;
        } else if (c < 0x20 || c == 0x7F) {
            /* other control characters are not text */
        } else {
            put_char(&t, p, 1);
        }
        p++;
    }
    return pk_buf_steal(&t.b);
}
