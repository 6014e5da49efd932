/* outbound_checks.c - the checks before an outbound request leaves (see outbound_checks.h). */
#include "outbound_checks.h"

#include "errors.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

bool outbound_method_valid(const char *m)
{
    static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; m && i < ARRAY_LEN(methods); i++)
        if (strcmp(m, methods[i]) == 0)
            return true;
    return false;
}

/* RFC 9110 token characters, for header names. */
static bool token_char(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool header_named(const char *line, const char *name)
{
    size_t n = strlen(name);
    return strncasecmp(line, name, n) == 0 && line[n] == ':';
}

/* The plugin's header lines; NULL if fine, else why (naming the line by its number only). */
static const char *check_headers(const char *const *headers, char *why, size_t why_len,
                                 struct outbound_checked *out)
{
    static const char *const reserved[] = {"Host", "Content-Length", "Transfer-Encoding"};
    for (size_t i = 0; headers && headers[i]; i++) {
        const char *line = headers[i];
        size_t n = 1 + i;
        if (i >= OUTBOUND_MAX_HEADER_LINES) {
            snprintf(why, why_len, "more than %d header lines", OUTBOUND_MAX_HEADER_LINES);
            return why;
        }
        size_t name_len = 0;
        while (token_char((unsigned char)line[name_len]))
            name_len++;
        if (line[name_len] != ':' || name_len == 0) {
            snprintf(why, why_len, "header line %zu is not \"Name: value\"", n);
            return why;
        }
        size_t len = strlen(line);
        for (size_t j = name_len; j < len; j++) {
            unsigned char c = (unsigned char)line[j];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                snprintf(why, why_len, "header line %zu holds CR, LF or another control byte", n);
                return why;
            }
        }
        if (len > OUTBOUND_MAX_HEADER_LINE) {
            snprintf(why, why_len, "header line %zu is longer than %d bytes", n,
                     OUTBOUND_MAX_HEADER_LINE);
            return why;
        }
        for (size_t j = 0; j < ARRAY_LEN(reserved); j++) {
            if (header_named(line, reserved[j])) {
                snprintf(why, why_len, "header line %zu: the host sets %s itself", n,
                         reserved[j]);
                return why;
            }
        }
        out->has_content_type = out->has_content_type || header_named(line, "Content-Type");
        out->has_expect = out->has_expect || header_named(line, "Expect");
    }
    return NULL;
}

const char *outbound_request_problem(const sb_outbound_request *req,
                                     const struct outbound_host *hosts, size_t n_hosts,
                                     const char *plugin, struct outbound_checked *out, char *why,
                                     size_t why_len)
{
    *out = (struct outbound_checked){0};
    if (!outbound_method_valid(req->method))
        return "the method must be GET, POST, PUT, PATCH or DELETE";
    char url_why[160];
    if (!outbound_target_parse(req->url, &out->target, url_why, sizeof url_why)) {
        snprintf(why, why_len, "bad URL: %s", url_why);
        return why;
    }
    const struct outbound_target *t = &out->target;
    if (!outbound_hosts_allow(hosts, n_hosts, t)) {
        snprintf(why, why_len, "%s://%s%s%s:%d is not in plugins.%s.outbound_hosts",
                 t->https ? "https" : "http", t->ipv6 ? "[" : "", t->host, t->ipv6 ? "]" : "",
                 t->port, plugin);
        return why;
    }
    if (req->body_len > OUTBOUND_MAX_REQUEST_BODY)
        return "the body is larger than 4 MiB";
    return check_headers(req->headers, why, why_len, out);
}

sb_error_kind outbound_kind_for_status(int status)
{
    return status == 401 ? SB_ERR_FORBIDDEN : errors_kind_for_status(status);
}

bool outbound_is_json_type(const char *content_type)
{
    if (!content_type)
        return false;
    size_t len = strcspn(content_type, "; \t");
    return (len == 16 && strncasecmp(content_type, "application/json", 16) == 0)
           || (len > 5 && strncasecmp(content_type + len - 5, "+json", 5) == 0);
}
