/*
 * si_workflow_text.c - the subject and message texts of workflow actions:
 * plain text with {{placeholders}} (spaces inside the braces allowed) filled
 * from the request Siit reported. The configuration check refuses unknown
 * placeholders; rendering keeps one it does not know as written. Pure code.
 */
#include "si_workflow.h"

#include "plugin_kit.h"

#include <stdlib.h>
#include <string.h>

const char *const si_workflow_placeholders[] = {
    "request.id",     "request.subject", "request.service", "request.url", "request.priority",
    "requester.name", "requester.email", "workflow.name",   NULL};

/* Text grown by appending. */
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

/*
 * The next placeholder at or after @p p: its whole "{{ name }}" span
 * [*start, *end) and the name inside, trimmed [*name, *name + *name_len).
 * False when there is none.
 */
static bool next_placeholder(const char *p, const char **start, const char **end,
                             const char **name, size_t *name_len)
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
        if (memchr(n, '{', (size_t)(e - n)))
            continue; /* "{{{{x}}": the inner pair is the placeholder */
        *start = open;
        *end = close + 2;
        *name = n;
        *name_len = (size_t)(e - n);
        return true;
    }
    return false;
}

static bool known(const char *name, size_t len)
{
    for (size_t i = 0; si_workflow_placeholders[i]; i++)
        if (strlen(si_workflow_placeholders[i]) == len
            && memcmp(si_workflow_placeholders[i], name, len) == 0)
            return true;
    return false;
}

char *si_workflow_text_unknown(const char *tmpl)
{
    struct buf out = {0};
    const char *start, *end, *name;
    size_t len;
    for (const char *p = tmpl; next_placeholder(p, &start, &end, &name, &len); p = end) {
        if (known(name, len))
            continue;
        char *quoted = pk_xasprintf("{{%.*s}}", (int)len, name);
        if (!out.s || !strstr(out.s, quoted)) {
            if (out.len)
                buf_add(&out, ", ", 2);
            buf_add(&out, quoted, strlen(quoted));
        }
        free(quoted);
    }
    return out.s;
}

/* The value of placeholder @p name for @p request, NULL when it has none. */
static const char *value_of(const char *name, size_t len, json_object *request,
                            const char *workflow)
{
    static const struct {
        const char *placeholder, *member;
        bool requester;
    } members[] = {
        {"request.id", "id", false},          {"request.subject", "subject", false},
        {"request.service", "service", false}, {"request.url", "url", false},
        {"request.priority", "priority", false}, {"requester.name", "name", true},
        {"requester.email", "email", true},
    };
    if (len == strlen("workflow.name") && memcmp(name, "workflow.name", len) == 0)
        return workflow;
    for (size_t i = 0; i < PK_ARRAY_LEN(members); i++) {
        if (strlen(members[i].placeholder) != len || memcmp(members[i].placeholder, name, len) != 0)
            continue;
        json_object *from = members[i].requester ? sb_json_obj(request, "requester") : request;
        return sb_json_str(from, members[i].member);
    }
    return NULL;
}

char *si_workflow_text_render(const char *tmpl, json_object *request, const char *workflow)
{
    struct buf out = {0};
    buf_add(&out, "", 0);
    const char *p = tmpl ? tmpl : "", *start, *end, *name;
    size_t len;
    for (; next_placeholder(p, &start, &end, &name, &len); p = end) {
        buf_add(&out, p, (size_t)(start - p));
        if (known(name, len)) {
            const char *v = value_of(name, len, request, workflow);
            buf_add(&out, v ? v : "", v ? strlen(v) : 0);
        } else {
            buf_add(&out, start, (size_t)(end - start));
        }
    }
    buf_add(&out, p, strlen(p));
    return out.s;
}
