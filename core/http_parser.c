/*
 * http_parser.c - the HTTP/1.1 request parser (RFC 9112), fed from an
 * evbuffer. The head is checked byte by byte as it arrives (CRLF only, no
 * control bytes), then split in place; the body is framed by Content-Length
 * or chunked, each bounded. Every refusal has its status and its reason,
 * which the client reads in the JSON error.
 */
#include "http_parser.h"

#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* ---- the head ---- */

/* Every refusal names its reason; the client gets it in the JSON error. */
static int refuse(struct http_parser *parser, int status, const char *why)
{
    parser->refusal = why;
    return status;
}

static bool is_tchar(unsigned char ch)
{
    return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool is_hex(unsigned char ch)
{
    return isxdigit(ch) != 0;
}

/* RFC 3986 pchar and query characters, without '%' (checked with its two digits). */
static bool is_target_char(unsigned char ch)
{
    return isalnum(ch) || (ch && strchr("-._~!$&'()*+,;=:@/?", ch));
}

/* A case-insensitive comma-separated list member test (Connection: keep-alive, close). */
static bool list_has_token(const char *list, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == n && strncasecmp(start, token, n) == 0)
            return true;
    }
    return false;
}

/* uri-host [ ":" port ], or empty; reg-name and IPv6 literals only by their characters. */
static bool host_value_valid(const char *v)
{
    const char *p = v;
    if (*p == '[') {
        while (*++p && *p != ']')
            if (!is_hex((unsigned char)*p) && *p != ':' && *p != '.')
                return false;
        if (*p++ != ']')
            return false;
    } else {
        for (; *p && *p != ':'; p++)
            if (!isalnum((unsigned char)*p) && !strchr("-._~!$&'()*+,;=%", *p))
                return false;
    }
    if (*p == ':')
        for (p++; *p; p++)
            if (!isdigit((unsigned char)*p))
                return false;
    return *p == '\0';
}

/* Validate the request target in place and split path and query; returns a status or 0. */
static int parse_target(struct http_parser *parser, char *target)
{
    if (strcmp(target, "*") == 0) {
        if (strcmp(parser->method, "OPTIONS") != 0)
            return refuse(parser, 400, "the asterisk form is for OPTIONS only");
        parser->path = target;
        return 0;
    }
    /* The absolute form (RFC 9112 3.2.2) must be accepted; its authority replaces Host. */
    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        char *authority = strstr(target, "://") + 3;
        size_t len = strcspn(authority, "/?");
        char saved = authority[len];
        authority[len] = '\0';
        /* No userinfo (RFC 9110 4.2.4): "user@host" is refused like any bad host. */
        bool valid = len > 0 && host_value_valid(authority);
        authority[len] = saved;
        if (!valid)
            return refuse(parser, 400, "the absolute-form target has no valid host");
        parser->absolute_form = true;
        target = authority + len;
        if (*target != '/') { /* "http://host" or "http://host?q": the path is "/", written
                                 over the authority's last byte, which is no longer needed */
            target--;
            *target = '/';
        }
    }
    if (target[0] != '/')
        return refuse(parser, 400, "the request target must begin with '/'");
    for (const unsigned char *t = (const unsigned char *)target; *t; t++) {
        if (*t == '%') {
            if (!is_hex(t[1]) || !is_hex(t[2]))
                return refuse(parser, 400, "malformed percent-escape in the request target");
            t += 2;
        } else if (!is_target_char(*t)) {
            return refuse(parser, 400, "the request target has a character that must be escaped");
        }
    }
    char *q = strchr(target, '?');
    if (q) {
        *q = '\0';
        parser->query = q + 1;
    }
    parser->path = target;
    return 0;
}

/* The request line: method SP request-target SP HTTP-version. */
static int parse_request_line(struct http_parser *parser, char *line)
{
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || sp1 == line || sp2 == sp1 + 1)
        return refuse(parser, 400, "malformed request line");
    *sp1 = *sp2 = '\0';
    parser->method = line;
    for (const char *m = line; *m; m++)
        if (!is_tchar((unsigned char)*m))
            return refuse(parser, 400, "malformed method");
    const char *v = sp2 + 1;
    if (strncmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) || v[6] != '.'
        || !isdigit((unsigned char)v[7]) || v[8])
        return refuse(parser, 400, "malformed HTTP version");
    if (v[5] != '1')
        return refuse(parser, 505, "only HTTP/1.x is served here");
    /* A higher minor version is served as the highest one we speak (RFC 9110 2.5). */
    parser->minor_version = v[7] == '0' ? 0 : 1;
    return parse_target(parser, sp1 + 1);
}

/*
 * Split the head in place into request line and fields. The raw bytes were
 * already checked by scan_head (CRLF only, no control bytes but HTAB), so
 * C string functions see the whole head. Returns an HTTP status or 0.
 */
static int parse_head(struct http_parser *parser)
{
    char *line = parser->head, *end = strstr(line, "\r\n");
    if (!end)
        return refuse(parser, 400, "malformed request line");
    *end = '\0';
    int status = parse_request_line(parser, line);
    if (status)
        return status;
    int hosts = 0, transfer_encodings = 0;
    for (line = end + 2; *line; line = end + 2) {
        end = strstr(line, "\r\n");
        if (!end)
            return refuse(parser, 400, "malformed header block");
        *end = '\0';
        if (line == end)
            break;
        if (*line == ' ' || *line == '\t') /* obsolete line folding: refuse, as RFC 9112 allows */
            return refuse(parser, 400, "obsolete line folding in a header field");
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return refuse(parser, 400, "malformed header field");
        *colon = '\0';
        for (const char *n = line; *n; n++)
            if (!is_tchar((unsigned char)*n))
                return refuse(parser, 400, "malformed header field name");
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        char *vend = value + strlen(value);
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            *--vend = '\0';
        if (parser->n_fields == HTTP_MAX_FIELDS)
            return refuse(parser, 431, "too many header fields");
        if (str_eq_nocase(line, "Host")) {
            if (++hosts > 1)
                return refuse(parser, 400, "more than one Host header field");
            if (!host_value_valid(value))
                return refuse(parser, 400, "malformed Host header field");
        } else if (str_eq_nocase(line, "Transfer-Encoding") && ++transfer_encodings > 1) {
            return refuse(parser, 400, "more than one Transfer-Encoding header field");
        }
        parser->fields[parser->n_fields].name = line;
        parser->fields[parser->n_fields].value = value;
        parser->n_fields++;
    }
    if (parser->minor_version == 1 && hosts == 0)
        return refuse(parser, 400, "an HTTP/1.1 request needs a Host header field");
    return 0;
}

/* Decide keep-alive and body framing; returns an HTTP status or 0. */
static int prepare_body(struct http_parser *parser)
{
    const char *connection = http_parser_field(parser, "Connection");
    if (parser->minor_version == 1)
        parser->keep_alive = !(connection && list_has_token(connection, "close"));
    else
        parser->keep_alive = connection && list_has_token(connection, "keep-alive");

    const char *te = http_parser_field(parser, "Transfer-Encoding");
    const char *cl = http_parser_field(parser, "Content-Length");
    if (te) {
        if (parser->minor_version == 0)
            return refuse(parser, 400, "Transfer-Encoding in an HTTP/1.0 request");
        /* Both framings at once is the classic smuggling vector: refuse. */
        if (cl)
            return refuse(parser, 400, "both Transfer-Encoding and Content-Length");
        /* chunked is the only coding served; anything else or before it can't be framed. */
        if (!str_eq_nocase(te, "chunked"))
            return refuse(parser, 400, "the only Transfer-Encoding served is a single chunked");
        parser->content_length = -1;
        return 0;
    }
    parser->content_length = 0;
    if (cl) {
        if (!*cl)
            return refuse(parser, 400, "malformed Content-Length");
        for (const char *p = cl; *p; p++)
            if (!isdigit((unsigned char)*p))
                return refuse(parser, 400, "malformed Content-Length");
        if (!str_to_i64(cl, &parser->content_length)) /* overflow: certainly too large */
            return refuse(parser, 413, "the request body exceeds the server's limit");
        for (int i = 0; i < parser->n_fields; i++) /* duplicates must agree */
            if (str_eq_nocase(parser->fields[i].name, "Content-Length")
                && strcmp(parser->fields[i].value, cl) != 0)
                return refuse(parser, 400, "conflicting Content-Length fields");
    }
    if (parser->content_length > parser->max_body_bytes)
        return refuse(parser, 413, "the request body exceeds the server's limit");
    return 0;
}

/*
 * Check the head's raw bytes as they arrive, before any C string function
 * sees them: lines end in CRLF only (a bare LF or CR is refused, RFC 9112
 * 2.2), and no control byte but HTAB appears (a NUL would hide what follows
 * it). Returns the head's length once its empty line arrived, 0 for more
 * input, or a negative HTTP status.
 */
static long scan_head(struct http_parser *parser, struct evbuffer *in)
{
    size_t limit = parser->max_head_bytes;
    size_t avail = evbuffer_get_length(in);
    size_t n = avail < limit + 1 ? avail : limit + 1;
    const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
    size_t i = parser->head_scanned;
    for (; i < n; i++) {
        unsigned char ch = p[i];
        if (ch == '\r') {
            if (i + 1 == n)
                break; /* its LF may still come */
            if (p[i + 1] != '\n')
                return -refuse(parser, 400, "bare CR in the request head");
            if (i >= 2 && p[i - 2] == '\r' && p[i - 1] == '\n')
                return (long)(i + 2);
            i++;
        } else if (ch == '\n') {
            return -refuse(parser, 400, "bare LF in the request head");
        } else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return -refuse(parser, 400, "control byte in the request head");
        }
    }
    parser->head_scanned = i;
    if (avail > limit)
        return -refuse(parser, 431, "the request head exceeds the server's limit");
    return 0;
}

/* Empty lines before a request line are skipped (RFC 9112 2.2); false: wait for more. */
static bool skip_leading_empty_lines(struct evbuffer *in)
{
    for (;;) {
        unsigned char two[2];
        ev_ssize_t got = evbuffer_copyout(in, two, 2);
        if (got < 1)
            return false;
        if (two[0] != '\r')
            return true;
        if (got < 2)
            return false;
        if (two[1] != '\n')
            return true; /* scan_head refuses the bare CR */
        evbuffer_drain(in, 2);
    }
}

/* ---- the body ---- */

static void body_append(struct http_parser *parser, struct evbuffer *in, size_t n)
{
    if (parser->body_len + n + 1 > parser->body_cap) {
        size_t cap = parser->body_cap ? parser->body_cap : 1024;
        /* A declared length is read whole: one allocation, not a series of doublings. */
        if (parser->content_length > 0 && (size_t)parser->content_length + 1 > cap)
            cap = (size_t)parser->content_length + 1;
        while (cap < parser->body_len + n + 1)
            cap *= 2;
        parser->body = xrealloc(parser->body, cap);
        parser->body_cap = cap;
    }
    evbuffer_remove(in, parser->body + parser->body_len, n);
    parser->body_len += n;
    parser->body[parser->body_len] = '\0';
}

/* Longest chunk-size line (with extensions) and trailer section we read. */
#define MAX_CHUNK_LINE 1024

/*
 * chunk-size [ chunk-ext ]: plain hex digits (no sign, space or 0x), then
 * nothing or BWS ";" and extension text. The size is checked against what is
 * left of the limit digit by digit, so no value can overflow. Returns 0 with
 * *size set, or an HTTP status.
 */
static int parse_chunk_size(struct http_parser *parser, const char *line, size_t len,
                            uint64_t room, uint64_t *size)
{
    size_t i = 0;
    uint64_t value = 0;
    bool over = false;
    for (; i < len && is_hex((unsigned char)line[i]); i++) {
        unsigned digit = (unsigned)(isdigit((unsigned char)line[i])
                                        ? line[i] - '0'
                                        : tolower((unsigned char)line[i]) - 'a' + 10);
        if (!over && (digit > room || value > (room - digit) / 16))
            over = true; /* keep reading: a malformed line is 400 before it is 413 */
        else if (!over)
            value = value * 16 + digit;
    }
    if (i == 0)
        return refuse(parser, 400, "malformed chunk size");
    size_t j = i;
    while (j < len && (line[j] == ' ' || line[j] == '\t'))
        j++;
    if (j < len && line[j] != ';')
        return refuse(parser, 400, "malformed chunk size");
    if (j == len && j != i)
        return refuse(parser, 400, "malformed chunk size");
    for (; j < len; j++)
        if (((unsigned char)line[j] < 0x20 && line[j] != '\t') || line[j] == 0x7f)
            return refuse(parser, 400, "control byte in a chunk extension");
    if (over)
        return refuse(parser, 413, "the request body exceeds the server's limit");
    *size = value;
    return 0;
}

/* A trailer field line: same rules as a header field; trailers are read and dropped. */
static bool trailer_line_valid(const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i == len || line[i] != ':')
        return false;
    for (i++; i < len; i++)
        if (((unsigned char)line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
            return false;
    return true;
}

/* Read chunked framing; returns 1 when complete, 0 for more input, or a negative HTTP status. */
static int read_chunked(struct http_parser *parser, struct evbuffer *in)
{
    for (;;) {
        if (parser->chunk_left > 0) {
            size_t avail = evbuffer_get_length(in);
            if (!avail)
                return 0;
            size_t n = avail < parser->chunk_left ? avail : parser->chunk_left;
            body_append(parser, in, n);
            parser->chunk_left -= n;
            if (parser->chunk_left > 0)
                return 0;
            parser->chunk_crlf = true;
        }
        if (parser->chunk_crlf) { /* exactly CRLF after the chunk data */
            if (evbuffer_get_length(in) < 2)
                return 0;
            char crlf[2];
            evbuffer_remove(in, crlf, 2);
            if (crlf[0] != '\r' || crlf[1] != '\n')
                return -refuse(parser, 400, "chunk data not followed by CRLF");
            parser->chunk_crlf = false;
        }
        size_t line_len;
        char *line = evbuffer_readln(in, &line_len, EVBUFFER_EOL_CRLF_STRICT);
        if (!line) { /* the longest line may wait with its CR for the LF */
            if (evbuffer_get_length(in) > MAX_CHUNK_LINE + 1)
                return -refuse(parser, 400, parser->chunk_trailers ? "trailer field too long"
                                                                   : "chunk size line too long");
            return 0;
        }
        if (line_len > MAX_CHUNK_LINE || memchr(line, '\n', line_len)
            || memchr(line, '\r', line_len)) {
            free(line);
            return -refuse(parser, 400, "malformed chunked framing");
        }
        if (parser->chunk_trailers) {
            bool done = line_len == 0;
            bool valid = done || trailer_line_valid(line, line_len);
            parser->trailer_bytes += line_len + 2;
            free(line);
            if (done)
                return 1;
            if (!valid)
                return -refuse(parser, 400, "malformed trailer field");
            if (parser->trailer_bytes > parser->max_head_bytes)
                return -refuse(parser, 431, "trailer section too large");
            continue;
        }
        uint64_t size = 0;
        int status = parse_chunk_size(parser, line, line_len,
                                      (uint64_t)parser->max_body_bytes - (uint64_t)parser->body_len, &size);
        free(line);
        if (status)
            return -status;
        if (size == 0)
            parser->chunk_trailers = true;
        else
            parser->chunk_left = (size_t)size;
    }
}

/* ---- reading ---- */

void http_parser_init(struct http_parser *parser, size_t max_head_bytes, int64_t max_body_bytes)
{
    memset(parser, 0, sizeof *parser);
    parser->max_head_bytes = max_head_bytes;
    parser->max_body_bytes = max_body_bytes;
    parser->stage = HTTP_STAGE_HEAD;
}

void http_parser_release(struct http_parser *parser)
{
    free(parser->head);
    free(parser->body);
    parser->head = parser->body = NULL;
    parser->head_cap = parser->body_cap = 0;
}

void http_parser_reuse(struct http_parser *parser)
{
    char *head = parser->head, *body = parser->body;
    size_t head_cap = parser->head_cap, body_cap = parser->body_cap;
    size_t max_head = parser->max_head_bytes;
    int64_t max_body = parser->max_body_bytes;
    /* Field by field: the fields array is large and n_fields says how much of it counts. */
    memset(parser, 0, offsetof(struct http_parser, fields));
    parser->n_fields = 0;
    memset(&parser->body, 0, sizeof *parser - offsetof(struct http_parser, body));
    parser->max_head_bytes = max_head;
    parser->max_body_bytes = max_body;
    parser->head = head;
    parser->head_cap = head_cap;
    parser->body = body;
    parser->body_cap = body_cap;
    if (body)
        body[0] = '\0';
    parser->stage = HTTP_STAGE_HEAD;
}

const char *http_parser_field(const struct http_parser *parser, const char *name)
{
    for (int i = 0; i < parser->n_fields; i++)
        if (str_eq_nocase(parser->fields[i].name, name))
            return parser->fields[i].value;
    return NULL;
}

static enum http_parse refused(struct http_parser *parser, int status)
{
    parser->status = status;
    parser->stage = HTTP_STAGE_REFUSED;
    return HTTP_PARSE_REFUSED;
}

static enum http_parse read_head(struct http_parser *parser, struct evbuffer *in)
{
    if (parser->head_scanned == 0 && !skip_leading_empty_lines(in))
        return HTTP_PARSE_MORE;
    long head_len = scan_head(parser, in);
    if (head_len == 0)
        return HTTP_PARSE_MORE;
    if (head_len < 0)
        return refused(parser, (int)-head_len);
    if ((size_t)head_len + 1 > parser->head_cap) {
        free(parser->head);
        parser->head_cap = (size_t)head_len + 1 > 1024 ? (size_t)head_len + 1 : 1024;
        parser->head = xmalloc(parser->head_cap);
    }
    evbuffer_remove(in, parser->head, (size_t)head_len);
    parser->head[head_len] = '\0';
    int status = parse_head(parser);
    if (!status)
        status = prepare_body(parser);
    if (status)
        return refused(parser, status);
    parser->stage = HTTP_STAGE_BODY;
    return HTTP_PARSE_HEAD;
}

static enum http_parse read_body(struct http_parser *parser, struct evbuffer *in)
{
    if (parser->content_length < 0) {
        int rc = read_chunked(parser, in);
        if (rc < 0)
            return refused(parser, -rc);
        if (rc == 0)
            return HTTP_PARSE_MORE;
    } else {
        size_t want = (size_t)parser->content_length - parser->body_len;
        size_t avail = evbuffer_get_length(in);
        if (want)
            body_append(parser, in, avail < want ? avail : want);
        if (parser->body_len < (size_t)parser->content_length)
            return HTTP_PARSE_MORE;
    }
    parser->stage = HTTP_STAGE_DONE;
    return HTTP_PARSE_DONE;
}

enum http_parse http_parser_read(struct http_parser *parser, struct evbuffer *in)
{
    switch (parser->stage) {
    case HTTP_STAGE_HEAD: return read_head(parser, in);
    case HTTP_STAGE_BODY: return read_body(parser, in);
    case HTTP_STAGE_DONE: return HTTP_PARSE_DONE;
    case HTTP_STAGE_REFUSED: break;
    }
    return HTTP_PARSE_REFUSED;
}
