/*
 * console.c - serves the embedded console files (see console.h) with the
 * security headers every console page needs, and ETag revalidation.
 */
#include "console.h"

#include "console_files.h"
#include "http.h"

#include <stdbool.h>
#include <string.h>

/* No inline script or style, nothing from elsewhere, never framed. */
#define CONSOLE_CSP                                                                                \
    "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "       \
    "base-uri 'none'; form-action 'self'"

static void add_security_headers(struct http_request *req)
{
    http_add_header(req, "Content-Security-Policy", CONSOLE_CSP);
    http_add_header(req, "X-Frame-Options", "DENY");
    http_add_header(req, "Referrer-Policy", "no-referrer");
    http_add_header(req, "X-Content-Type-Options", "nosniff");
}

static const struct console_file *find_file(const char *name)
{
    for (size_t i = 0; i < console_files_count; i++)
        if (strcmp(console_files[i].path, name) == 0)
            return &console_files[i];
    return NULL;
}

/* If-None-Match is a list of entity tags or "*"; it uses the weak comparison (RFC 9110 13.1.2). */
static bool etag_listed(const char *if_none_match, const char *etag)
{
    size_t etag_len = strlen(etag);
    const char *p = if_none_match;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!end)
            return false; /* malformed: no tag matches */
        end++;
        if ((size_t)(end - p) == etag_len && strncmp(p, etag, etag_len) == 0)
            return true;
        p = end;
    }
    return false;
}

void console_handle(struct http_request *req, const char *file)
{
    http_set_label(req, "console");
    add_security_headers(req);
    if (strcmp(http_method(req), "GET") != 0 && !http_is_head(req)) {
        http_add_header(req, "Allow", "GET, HEAD");
        http_reply_error(req, 405, "method_not_allowed", "use GET");
        return;
    }
    /* Names are looked up as they are, undecoded: only embedded files exist, so no path escapes. */
    const char *name = file ? (file[0] == '/' ? file + 1 : file) : "";
    if (!*name) /* `/`, `/console`, `/console/` */
        name = "index.html";
    const struct console_file *f = find_file(name);
    if (!f) {
        http_reply_error(req, 404, "not_found", "no console file '%s'", name);
        return;
    }
    http_add_header(req, "ETag", f->etag);
    http_add_header(req, "Cache-Control", "no-cache");
    const char *if_none_match = http_header(req, "If-None-Match");
    if (if_none_match && etag_listed(if_none_match, f->etag)) {
        http_reply(req, 304, NULL, NULL, 0);
        return;
    }
    http_reply(req, 200, f->content_type, f->data, f->size);
}
