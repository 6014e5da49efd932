/* plugin_kit.c - aborting allocation, string equality, refusals and ?limit= for bundled plugins. */
#include "plugin_kit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
    fputs("switchboard plugin: out of memory\n", stderr);
    abort();
}

void *pk_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

void *pk_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        out_of_memory();
    return q;
}

char *pk_xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        out_of_memory();
    return d;
}

char *pk_xstrndup(const char *s, size_t n)
{
    char *d = strndup(s, n);
    if (!d)
        out_of_memory();
    return d;
}

void *pk_xchecked(void *p)
{
    if (!p)
        out_of_memory();
    return p;
}

char *pk_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory();
    return out;
}

bool pk_str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool pk_id_valid(const char *id, size_t max, const char *extra)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > max)
        return false;
    for (const char *p = id; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || strchr(extra, c)))
            return false;
    }
    return true;
}

char *pk_conversation_link(const char *region, const char *workspace_id,
                           const char *conversation_id)
{
    const char *host = "app.intercom.com";
    if (pk_str_eq(region, "EU"))
        host = "app.eu.intercom.com";
    else if (pk_str_eq(region, "AU"))
        host = "app.au.intercom.com";
    return pk_xasprintf("https://%s/a/inbox/%s/inbox/conversation/%s", host,
                        workspace_id ? workspace_id : "", conversation_id);
}

sb_status pk_refuse(sb_result *result, int http_status, const char *code, const char *fmt, ...)
{
    char message[sizeof result->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    result->http_status = http_status;
    return sb_result_fail(result, SB_FAIL, code, "%s", message);
}

bool pk_query_limit(const sb_http_request *req, size_t fallback, size_t max, size_t *limit,
                    sb_result *result)
{
    const char *text = sb_json_str(req->query, "limit");
    *limit = fallback;
    if (!text)
        return true;
    size_t n = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9' && n <= max; p++) /* stops before n can overflow */
        n = n * 10 + (size_t)(*p - '0');
    if (*p || n < 1 || n > max) {
        pk_refuse(result, 400, "invalid_limit", "limit must be a whole number from 1 to %zu", max);
        return false;
    }
    *limit = n;
    return true;
}
