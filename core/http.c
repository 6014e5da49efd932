/*
 * http.c - a small HTTP/1.1 server on libevent bufferevents.
 *
 * Why not evhttp: it has one timeout for everything, no connection limit and
 * no way to tell a slow header from a slow body. Here each connection is a
 * little state machine: read the head (bounded size, header timeout), read
 * the body (Content-Length or chunked, bounded size, body timeout), hand the
 * request to the dispatcher and stop reading until the reply is written,
 * then keep the connection alive (idle timeout) or close it. Pipelined
 * requests wait in the input buffer and are served in order.
 */
#include "http.h"

#include "answers.h"
#include "crypto.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_HEADERS 100
/* What a lingering close reads and drops before it gives up on the client. */
#define LINGER_MAX_BYTES (256 * 1024)

enum phase { PHASE_HEAD, PHASE_BODY, PHASE_HANDLING, PHASE_WRITING };

struct header {
    const char *name;
    const char *value;
};

struct query_param {
    char *key;
    char *value;
};

struct http_conn;

struct http_request {
    struct http_conn *conn; /* NULL once the connection is gone */
    struct http_server *srv;
    char *head;             /* the request head, split in place */
    const char *method;
    const char *path;
    const char *query;
    int minor_version;
    struct header headers[MAX_HEADERS];
    int n_headers;
    char *body;
    size_t body_len;
    size_t body_cap;
    int64_t content_length; /* -1: chunked */
    size_t chunk_left;      /* chunked: bytes left in the current chunk */
    bool chunk_crlf;        /* chunked: the CRLF after a chunk's data is due */
    bool chunk_trailers;    /* chunked: reading trailers after the last chunk */
    size_t trailer_bytes;   /* chunked: size of the trailer section so far */
    size_t head_scanned;    /* bytes of the head already checked by scan_head */
    bool absolute_form;     /* the target named scheme and authority */
    const char *refusal;    /* why the request was refused, for the error message */
    bool keep_alive;
    char id[40];
    const char *label;
    void *userdata;
    struct query_param *params;
    int n_params;           /* -1 until parsed */
    struct buf reply_headers;
    int64_t started_us;
};

struct http_conn {
    struct http_server *srv;
    struct bufferevent *bev;
    struct event *timer;
    struct event *resume;   /* runs the after-write step when a reply went out at once */
    enum phase phase;
    struct http_request *req;
    bool close_after_write;
    bool lingering;         /* answered and half-closed: draining what the client still sends */
    size_t lingered;        /* bytes drained while lingering */
    bool peer_closed;       /* the client half-closed while we worked: answer, then close */
    bool got_bytes;         /* any byte of the current request seen */
    char peer[64];
    struct http_conn *prev, *next;
};

struct http_server {
    struct event_base *base;
    struct http_limits limits;
    http_dispatch_fn dispatch;
    http_observe_fn observe;
    void *arg;
    struct evconnlistener *listener;
    int port;
    size_t n_conns;
    struct http_conn *conns;
    uint64_t next_id;
    uint32_t id_prefix;
    bool stopping;
};

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void assign_request_id(struct http_request *req);
static void conn_free(struct http_conn *c);
static void conn_process(struct http_conn *c);

const char *http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---- requests ---- */

static struct http_request *request_new(struct http_conn *c)
{
    struct http_request *req = xcalloc(1, sizeof *req);
    req->conn = c;
    req->srv = c->srv;
    req->n_params = -1;
    req->label = "other";
    req->started_us = time_mono_us();
    buf_init(&req->reply_headers);
    return req;
}

static void request_free(struct http_request *req)
{
    for (int i = 0; i < req->n_params; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    free(req->params);
    free(req->head);
    free(req->body);
    buf_free(&req->reply_headers);
    free(req);
}

const char *http_method(const struct http_request *req) { return req->method; }
const char *http_path(const struct http_request *req) { return req->path; }
const char *http_query(const struct http_request *req) { return req->query; }
const char *http_request_id(const struct http_request *req) { return req->id; }
void http_set_label(struct http_request *req, const char *label) { req->label = label; }
const char *http_label(const struct http_request *req) { return req->label; }
void http_set_userdata(struct http_request *req, void *data) { req->userdata = data; }
void *http_userdata(const struct http_request *req) { return req->userdata; }

const char *http_peer(const struct http_request *req)
{
    return req->conn ? req->conn->peer : "-";
}

bool http_is_head(const struct http_request *req)
{
    return req->method && strcmp(req->method, "HEAD") == 0;
}

const char *http_header(const struct http_request *req, const char *name)
{
    for (int i = 0; i < req->n_headers; i++)
        if (str_eq_nocase(req->headers[i].name, name))
            return req->headers[i].value;
    return NULL;
}

const char *http_body(const struct http_request *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

static void parse_query(struct http_request *req)
{
    if (req->n_params >= 0)
        return;
    req->n_params = 0;
    if (!req->query)
        return;
    char *copy = xstrdup(req->query);
    int cap = 0;
    for (char *save = NULL, *part = strtok_r(copy, "&", &save); part;
         part = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(part, '=');
        char *value = eq ? eq + 1 : (char *)"";
        if (eq)
            *eq = '\0';
        char *k = xstrdup(part), *v = xstrdup(value);
        if (!url_decode(k, true) || !url_decode(v, true) || !*k) {
            free(k);
            free(v);
            continue;
        }
        if (req->n_params == cap) {
            cap = cap ? cap * 2 : 8;
            req->params = xrealloc(req->params, (size_t)cap * sizeof *req->params);
        }
        req->params[req->n_params].key = k;
        req->params[req->n_params].value = v;
        req->n_params++;
    }
    free(copy);
}

const char *http_query_param(struct http_request *req, const char *name)
{
    parse_query(req);
    for (int i = 0; i < req->n_params; i++)
        if (strcmp(req->params[i].key, name) == 0)
            return req->params[i].value;
    return NULL;
}

void http_query_each(struct http_request *req, void (*fn)(void *, const char *, const char *),
                     void *arg)
{
    parse_query(req);
    for (int i = 0; i < req->n_params; i++)
        fn(arg, req->params[i].key, req->params[i].value);
}

/* ---- replies ---- */

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    /* Header injection guard: values come from our code, but never trust a newline. */
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return;
    buf_printf(&req->reply_headers, "%s: %s\r\n", name, value);
}

static void arm_timer(struct http_conn *c, int seconds)
{
    struct timeval tv = {seconds, 0};
    evtimer_add(c->timer, &tv);
}

void http_reply(struct http_request *req, int status, const char *content_type, const void *body,
                size_t len)
{
    struct http_server *srv = req->srv;
    struct http_conn *c = req->conn;
    double ms = (double)(time_mono_us() - req->started_us) / 1000.0;
    if (log_access_enabled())
        log_info("access", "%s \"%s %s\" %d %zu %.1fms id=%s", c ? c->peer : "-",
                 req->method ? req->method : "-", req->path ? req->path : "-", status, len, ms,
                 req->id);
    if (srv->observe)
        srv->observe(req, status, len, ms, srv->arg);
    if (!c) { /* the client left while we worked */
        request_free(req);
        return;
    }
    if (!req->keep_alive || srv->stopping || status == 408 || status == 413 || status == 431
        || status == 400)
        c->close_after_write = true;
    struct evbuffer *out = evbuffer_new();
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n", status,
                        http_status_text(status), req->id);
    if (content_type && (len || status != 204))
        evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    if (status != 304) /* a 304's length would have to be the unsent 200's: leave it out */
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", len);
    if (c->close_after_write)
        evbuffer_add_printf(out, "Connection: close\r\n");
    if (req->reply_headers.len)
        evbuffer_add(out, req->reply_headers.data, req->reply_headers.len);
    evbuffer_add(out, "\r\n", 2);
    if (len && !http_is_head(req))
        evbuffer_add(out, body, len);
    c->req = NULL;
    c->phase = PHASE_WRITING;
    request_free(req);
    evtimer_del(c->timer);
    /*
     * Most answers fit the socket buffer: write them now and skip a round of
     * write-event registration (two epoll_ctl calls per request). Whatever
     * does not fit goes through the bufferevent as usual.
     */
    struct evbuffer *pending = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(pending) == 0) {
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        while (evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
            ;
    }
    if (evbuffer_get_length(out) == 0)
        event_active(c->resume, 0, 0);
    else
        bufferevent_write_buffer(c->bev, out);
    evbuffer_free(out);
}

void http_reply_json(struct http_request *req, int status, json_object *body)
{
    size_t len = 0;
    const char *text = "";
    if (body)
        text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    http_reply(req, status, "application/json", text, len);
    json_object_put(body);
}

void http_reply_error(struct http_request *req, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    json_object *body = answer_error_body(status, code, msg, req->id);
    free(msg);
    http_reply_json(req, status, body);
}

void http_redirect(struct http_request *req, const char *location)
{
    http_add_header(req, "Location", location);
    http_reply(req, 302, "text/plain; charset=utf-8", "", 0);
}

/* ---- parsing (RFC 9112) ---- */

/* Every refusal names its reason; the client gets it in the JSON error. */
static int refuse(struct http_request *req, int status, const char *why)
{
    req->refusal = why;
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
static int parse_target(struct http_request *req, char *target)
{
    if (strcmp(target, "*") == 0) {
        if (strcmp(req->method, "OPTIONS") != 0)
            return refuse(req, 400, "the asterisk form is for OPTIONS only");
        req->path = target;
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
            return refuse(req, 400, "the absolute-form target has no valid host");
        req->absolute_form = true;
        target = authority + len;
        if (*target != '/') { /* "http://host" or "http://host?q": the path is "/", written
                                 over the authority's last byte, which is no longer needed */
            target--;
            *target = '/';
        }
    }
    if (target[0] != '/')
        return refuse(req, 400, "the request target must begin with '/'");
    for (const unsigned char *t = (const unsigned char *)target; *t; t++) {
        if (*t == '%') {
            if (!is_hex(t[1]) || !is_hex(t[2]))
                return refuse(req, 400, "malformed percent-escape in the request target");
            t += 2;
        } else if (!is_target_char(*t)) {
            return refuse(req, 400, "the request target has a character that must be escaped");
        }
    }
    char *q = strchr(target, '?');
    if (q) {
        *q = '\0';
        req->query = q + 1;
    }
    req->path = target;
    return 0;
}

/* The request line: method SP request-target SP HTTP-version. */
static int parse_request_line(struct http_request *req, char *line)
{
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || sp1 == line || sp2 == sp1 + 1)
        return refuse(req, 400, "malformed request line");
    *sp1 = *sp2 = '\0';
    req->method = line;
    for (const char *m = line; *m; m++)
        if (!is_tchar((unsigned char)*m))
            return refuse(req, 400, "malformed method");
    const char *v = sp2 + 1;
    if (strncmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) || v[6] != '.'
        || !isdigit((unsigned char)v[7]) || v[8])
        return refuse(req, 400, "malformed HTTP version");
    if (v[5] != '1')
        return refuse(req, 505, "only HTTP/1.x is served here");
    /* A higher minor version is served as the highest one we speak (RFC 9110 2.5). */
    req->minor_version = v[7] == '0' ? 0 : 1;
    return parse_target(req, sp1 + 1);
}

/*
 * Split the head in place into request line and fields. The raw bytes were
 * already checked by scan_head (CRLF only, no control bytes but HTAB), so
 * C string functions see the whole head. Returns an HTTP status or 0.
 */
static int parse_head(struct http_request *req)
{
    char *line = req->head, *end = strstr(line, "\r\n");
    if (!end)
        return refuse(req, 400, "malformed request line");
    *end = '\0';
    int status = parse_request_line(req, line);
    if (status)
        return status;
    int hosts = 0, transfer_encodings = 0;
    for (line = end + 2; *line; line = end + 2) {
        end = strstr(line, "\r\n");
        if (!end)
            return refuse(req, 400, "malformed header block");
        *end = '\0';
        if (line == end)
            break;
        if (*line == ' ' || *line == '\t') /* obsolete line folding: refuse, as RFC 9112 allows */
            return refuse(req, 400, "obsolete line folding in a header field");
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return refuse(req, 400, "malformed header field");
        *colon = '\0';
        for (const char *n = line; *n; n++)
            if (!is_tchar((unsigned char)*n))
                return refuse(req, 400, "malformed header field name");
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        char *vend = value + strlen(value);
        while (vend > value && (vend[-1] == ' ' || vend[-1] == '\t'))
            *--vend = '\0';
        if (req->n_headers == MAX_HEADERS)
            return refuse(req, 431, "too many header fields");
        if (str_eq_nocase(line, "Host")) {
            if (++hosts > 1)
                return refuse(req, 400, "more than one Host header field");
            if (!host_value_valid(value))
                return refuse(req, 400, "malformed Host header field");
        } else if (str_eq_nocase(line, "Transfer-Encoding") && ++transfer_encodings > 1) {
            return refuse(req, 400, "more than one Transfer-Encoding header field");
        }
        req->headers[req->n_headers].name = line;
        req->headers[req->n_headers].value = value;
        req->n_headers++;
    }
    if (req->minor_version == 1 && hosts == 0)
        return refuse(req, 400, "an HTTP/1.1 request needs a Host header field");
    return 0;
}

/* Decide keep-alive and body framing; returns an HTTP status or 0. */
static int prepare_body(struct http_request *req, int64_t max_body)
{
    const char *connection = http_header(req, "Connection");
    if (req->minor_version == 1)
        req->keep_alive = !(connection && list_has_token(connection, "close"));
    else
        req->keep_alive = connection && list_has_token(connection, "keep-alive");

    const char *te = http_header(req, "Transfer-Encoding");
    const char *cl = http_header(req, "Content-Length");
    if (te) {
        if (req->minor_version == 0)
            return refuse(req, 400, "Transfer-Encoding in an HTTP/1.0 request");
        /* Both framings at once is the classic smuggling vector: refuse. */
        if (cl)
            return refuse(req, 400, "both Transfer-Encoding and Content-Length");
        /* chunked is the only coding served; anything else or before it can't be framed. */
        if (!str_eq_nocase(te, "chunked"))
            return refuse(req, 400, "the only Transfer-Encoding served is a single chunked");
        req->content_length = -1;
        return 0;
    }
    req->content_length = 0;
    if (cl) {
        if (!*cl)
            return refuse(req, 400, "malformed Content-Length");
        for (const char *p = cl; *p; p++)
            if (!isdigit((unsigned char)*p))
                return refuse(req, 400, "malformed Content-Length");
        if (!str_to_i64(cl, &req->content_length)) /* overflow: certainly too large */
            return refuse(req, 413, "the request body exceeds the server's limit");
        for (int i = 0; i < req->n_headers; i++) /* duplicates must agree */
            if (str_eq_nocase(req->headers[i].name, "Content-Length")
                && strcmp(req->headers[i].value, cl) != 0)
                return refuse(req, 400, "conflicting Content-Length fields");
    }
    if (req->content_length > max_body)
        return refuse(req, 413, "the request body exceeds the server's limit");
    return 0;
}

static void body_append(struct http_request *req, struct evbuffer *in, size_t n)
{
    if (req->body_len + n + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 1024;
        while (cap < req->body_len + n + 1)
            cap *= 2;
        req->body = xrealloc(req->body, cap);
        req->body_cap = cap;
    }
    evbuffer_remove(in, req->body + req->body_len, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
}

/* Longest chunk-size line (with extensions) and trailer section we read. */
#define MAX_CHUNK_LINE 1024

/*
 * chunk-size [ chunk-ext ]: plain hex digits (no sign, space or 0x), then
 * nothing or BWS ";" and extension text. The size is checked against what is
 * left of the limit digit by digit, so no value can overflow. Returns 0 with
 * *size set, or an HTTP status.
 */
static int parse_chunk_size(struct http_request *req, const char *line, size_t len,
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
        return refuse(req, 400, "malformed chunk size");
    size_t j = i;
    while (j < len && (line[j] == ' ' || line[j] == '\t'))
        j++;
    if (j < len && line[j] != ';')
        return refuse(req, 400, "malformed chunk size");
    if (j == len && j != i)
        return refuse(req, 400, "malformed chunk size");
    for (; j < len; j++)
        if (((unsigned char)line[j] < 0x20 && line[j] != '\t') || line[j] == 0x7f)
            return refuse(req, 400, "control byte in a chunk extension");
    if (over)
        return refuse(req, 413, "the request body exceeds the server's limit");
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
static int read_chunked(struct http_request *req, struct evbuffer *in, int64_t max_body)
{
    for (;;) {
        if (req->chunk_left > 0) {
            size_t avail = evbuffer_get_length(in);
            if (!avail)
                return 0;
            size_t n = avail < req->chunk_left ? avail : req->chunk_left;
            body_append(req, in, n);
            req->chunk_left -= n;
            if (req->chunk_left > 0)
                return 0;
            req->chunk_crlf = true;
        }
        if (req->chunk_crlf) { /* exactly CRLF after the chunk data */
            if (evbuffer_get_length(in) < 2)
                return 0;
            char crlf[2];
            evbuffer_remove(in, crlf, 2);
            if (crlf[0] != '\r' || crlf[1] != '\n')
                return -refuse(req, 400, "chunk data not followed by CRLF");
            req->chunk_crlf = false;
        }
        size_t line_len;
        char *line = evbuffer_readln(in, &line_len, EVBUFFER_EOL_CRLF_STRICT);
        if (!line) {
            if (evbuffer_get_length(in) > MAX_CHUNK_LINE)
                return -refuse(req, 400, req->chunk_trailers ? "trailer field too long"
                                                             : "chunk size line too long");
            return 0;
        }
        if (line_len > MAX_CHUNK_LINE || memchr(line, '\n', line_len)
            || memchr(line, '\r', line_len)) {
            free(line);
            return -refuse(req, 400, "malformed chunked framing");
        }
        if (req->chunk_trailers) {
            bool done = line_len == 0;
            bool valid = done || trailer_line_valid(line, line_len);
            req->trailer_bytes += line_len + 2;
            free(line);
            if (done)
                return 1;
            if (!valid)
                return -refuse(req, 400, "malformed trailer field");
            if (req->trailer_bytes > req->srv->limits.max_header_bytes)
                return -refuse(req, 431, "trailer section too large");
            continue;
        }
        uint64_t size = 0;
        int status = parse_chunk_size(req, line, line_len,
                                      (uint64_t)max_body - (uint64_t)req->body_len, &size);
        free(line);
        if (status)
            return -status;
        if (size == 0)
            req->chunk_trailers = true;
        else
            req->chunk_left = (size_t)size;
    }
}

/* ---- connections ---- */

static void reply_and_close(struct http_conn *c, int status)
{
    struct http_request *req = c->req;
    if (!req->method) /* the request line never parsed */
        req->method = "-";
    if (!req->id[0])
        assign_request_id(req);
    req->keep_alive = false;
    const char *why = req->refusal ? req->refusal : http_status_text(status);
    http_reply_error(req, status, status == 408   ? "timeout"
                                  : status == 413 ? "payload_too_large"
                                  : status == 431 ? "headers_too_large"
                                  : status == 505 ? "version_not_supported"
                                                  : "bad_request",
                     "%s", why);
}

static void assign_request_id(struct http_request *req)
{
    const char *given = http_header(req, "X-Request-Id");
    if (given && str_is_token(given, 36)) {
        snprintf(req->id, sizeof req->id, "%s", given);
        return;
    }
    struct http_server *srv = req->srv;
    snprintf(req->id, sizeof req->id, "%08x%08llx", srv->id_prefix,
             (unsigned long long)++srv->next_id);
}

static void start_handling(struct http_conn *c)
{
    struct http_request *req = c->req;
    c->phase = PHASE_HANDLING;
    evtimer_del(c->timer);
    /* Reading stays on (bounded by the watermark) so a vanished client is noticed. */
    c->srv->dispatch(req, c->srv->arg);
}

/*
 * Check the head's raw bytes as they arrive, before any C string function
 * sees them: lines end in CRLF only (a bare LF or CR is refused, RFC 9112
 * 2.2), and no control byte but HTAB appears (a NUL would hide what follows
 * it). Returns the head's length once its empty line arrived, 0 for more
 * input, or a negative HTTP status.
 */
static long scan_head(struct http_request *req, struct evbuffer *in, size_t limit)
{
    size_t avail = evbuffer_get_length(in);
    size_t n = avail < limit + 1 ? avail : limit + 1;
    const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
    size_t i = req->head_scanned;
    for (; i < n; i++) {
        unsigned char ch = p[i];
        if (ch == '\r') {
            if (i + 1 == n)
                break; /* its LF may still come */
            if (p[i + 1] != '\n')
                return -refuse(req, 400, "bare CR in the request head");
            if (i >= 2 && p[i - 2] == '\r' && p[i - 1] == '\n')
                return (long)(i + 2);
            i++;
        } else if (ch == '\n') {
            return -refuse(req, 400, "bare LF in the request head");
        } else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return -refuse(req, 400, "control byte in the request head");
        }
    }
    req->head_scanned = i;
    if (avail > limit)
        return -refuse(req, 431, "the request head exceeds the server's limit");
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

static void read_head(struct http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t avail = evbuffer_get_length(in);
    if (!avail)
        return;
    if (!c->got_bytes) {
        c->got_bytes = true;
        c->req = request_new(c);
        arm_timer(c, c->srv->limits.header_timeout_s);
    }
    struct http_request *req = c->req;
    if (req->head_scanned == 0 && !skip_leading_empty_lines(in))
        return;
    long head_len = scan_head(req, in, c->srv->limits.max_header_bytes);
    if (head_len <= 0) {
        if (head_len < 0)
            reply_and_close(c, (int)-head_len);
        return;
    }
    req->head = xmalloc((size_t)head_len + 1);
    evbuffer_remove(in, req->head, (size_t)head_len);
    req->head[head_len] = '\0';
    int status = parse_head(req);
    if (!status)
        assign_request_id(req);
    if (!status)
        status = prepare_body(req, c->srv->limits.max_body_bytes);
    if (status) {
        reply_and_close(c, status);
        return;
    }
    const char *expect = http_header(req, "Expect");
    if (expect && str_eq_nocase(expect, "100-continue") && req->content_length != 0)
        evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
    c->phase = PHASE_BODY;
    arm_timer(c, c->srv->limits.body_timeout_s);
}

static void read_body(struct http_conn *c)
{
    struct http_request *req = c->req;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    if (req->content_length < 0) {
        int rc = read_chunked(req, in, c->srv->limits.max_body_bytes);
        if (rc < 0)
            reply_and_close(c, -rc);
        else if (rc == 1)
            start_handling(c);
        return;
    }
    size_t want = (size_t)req->content_length - req->body_len;
    size_t avail = evbuffer_get_length(in);
    if (want)
        body_append(req, in, avail < want ? avail : want);
    if (req->body_len == (size_t)req->content_length)
        start_handling(c);
}

static void conn_process(struct http_conn *c)
{
    if (c->phase == PHASE_HEAD)
        read_head(c);
    if (c->phase == PHASE_BODY)
        read_body(c);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct http_conn *c = arg;
    if (c->lingering) {
        struct evbuffer *in = bufferevent_get_input(bev);
        c->lingered += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        /* Draining is for the answer's sake, not the client's: a sender that keeps on is cut off. */
        if (c->lingered > LINGER_MAX_BYTES)
            conn_free(c);
        return;
    }
    conn_process(c);
}

/*
 * Closing a socket with unread input makes the kernel send RST, which can
 * destroy the answer before the client reads it (a 413 sent before the body
 * arrived, say). So: half-close, read and discard for a short while, then
 * close - nginx's "lingering close".
 */
static void start_lingering(struct http_conn *c)
{
    c->lingering = true;
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    bufferevent_disable(c->bev, EV_WRITE);
    bufferevent_enable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    arm_timer(c, 2);
}

/* The answer is fully handed to the kernel: close, or wait for the next request. */
static void conn_written(struct http_conn *c)
{
    if (c->phase != PHASE_WRITING || c->lingering
        || evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return;
    if (c->peer_closed) {
        conn_free(c);
        return;
    }
    if (c->close_after_write) {
        start_lingering(c);
        return;
    }
    /* Ready for the next request, possibly already buffered (pipelining). */
    c->phase = PHASE_HEAD;
    c->got_bytes = false;
    arm_timer(c, c->srv->limits.keepalive_timeout_s);
    conn_process(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    conn_written(arg);
}

static void conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_written(arg);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)bev;
    /* A half-close while we work still gets its answer (clients like `nc -q` do this). */
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !c->lingering
        && (c->phase == PHASE_HANDLING || c->phase == PHASE_WRITING)) {
        c->peer_closed = true;
        bufferevent_disable(c->bev, EV_READ);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        conn_free(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    (void)fd;
    (void)what;
    if (c->lingering)
        conn_free(c);
    else if ((c->phase == PHASE_HEAD && c->got_bytes) || c->phase == PHASE_BODY)
        reply_and_close(c, 408);
    else if (c->phase == PHASE_HEAD)
        conn_free(c); /* idle keep-alive connection: just close */
}

static void conn_free(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    if (c->req) {
        if (c->phase == PHASE_HANDLING)
            c->req->conn = NULL; /* the handler still owns it and will reply into the void */
        else
            request_free(c->req);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    event_free(c->timer);
    event_free(c->resume);
    bufferevent_free(c->bev);
    free(c);
}

/*
 * Past max_connections there is no connection object to answer through, so
 * the 503 is written straight to the socket: one best-effort send, framed
 * like every other error (Content-Length computed, request id included).
 */
static void refuse_busy(struct http_server *srv, evutil_socket_t fd)
{
    char id[40], body[256], head[512];
    snprintf(id, sizeof id, "%08x%08llx", srv->id_prefix, (unsigned long long)++srv->next_id);
    int body_len = snprintf(body, sizeof body,
                            "{\"error\":{\"status\":503,\"code\":\"busy\",\"message\":"
                            "\"too many open connections\",\"request_id\":\"%s\"}}",
                            id);
    int head_len = snprintf(head, sizeof head,
                            "HTTP/1.1 503 Service Unavailable\r\nX-Request-Id: %s\r\n"
                            "Content-Type: application/json\r\nContent-Length: %d\r\n"
                            "Retry-After: 1\r\nConnection: close\r\n\r\n",
                            id, body_len);
    struct iovec iov[2] = {{head, (size_t)head_len}, {body, (size_t)body_len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t rc = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)rc;
    /* Unread input makes close() send RST, which can destroy the answer: drain what came. */
    shutdown(fd, SHUT_WR);
    char sink[4096];
    for (int i = 0; i < 16 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
    evutil_closesocket(fd);
}

/* Take a connected socket into the server as a new connection; false if it was refused. */
static bool conn_adopt(struct http_server *srv, evutil_socket_t fd, const struct sockaddr *addr)
{
    if (srv->stopping) {
        evutil_closesocket(fd);
        return false;
    }
    if ((int)srv->n_conns >= srv->limits.max_connections) {
        log_warn("http", "connection limit (%d) reached: refusing a connection",
                 srv->limits.max_connections);
        refuse_busy(srv, fd);
        return false;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct http_conn *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(srv->base, conn_timer_cb, c);
    c->resume = event_new(srv->base, -1, 0, conn_resume_cb, c);
    if (!c->bev || !c->timer || !c->resume) {
        log_error("http", "cannot set up a connection");
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->timer)
            event_free(c->timer);
        if (c->resume)
            event_free(c->resume);
        free(c);
        return false;
    }
    if (addr && addr->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "%s:%d", ip, ntohs(in->sin_port));
    } else if (addr && addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(c->peer, sizeof c->peer, "[%s]:%d", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(c->peer, sizeof c->peer, "local");
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    struct timeval write_tv = {srv->limits.body_timeout_s, 0};
    bufferevent_set_timeouts(c->bev, NULL, &write_tv);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* Bound what a client can pile up (pipelined bytes) while a request is handled. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, srv->limits.max_header_bytes + 65536);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->phase = PHASE_HEAD;
    arm_timer(c, srv->limits.header_timeout_s);
    return true;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                      int socklen, void *arg)
{
    (void)l;
    (void)socklen;
    conn_adopt(arg, fd, addr);
}

bool http_server_adopt(struct http_server *srv, int fd)
{
    evutil_make_socket_nonblocking(fd);
    return conn_adopt(srv, fd, NULL);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: log and keep serving the connections we have. */
    log_error("http", "accept failed: %s", strerror(errno));
}

struct http_server *http_server_new(struct event_base *base, const struct http_limits *limits,
                                    http_dispatch_fn dispatch, http_observe_fn observe, void *arg)
{
    struct http_server *srv = xcalloc(1, sizeof *srv);
    srv->base = base;
    srv->limits = *limits;
    if (!srv->limits.max_header_bytes)
        srv->limits.max_header_bytes = 16 * 1024;
    srv->dispatch = dispatch;
    srv->observe = observe;
    srv->arg = arg;
    if (crypto_random(&srv->id_prefix, sizeof srv->id_prefix) != 0)
        srv->id_prefix = (uint32_t)getpid();
    return srv;
}

int http_server_listen(struct http_server *srv, const char *host, int port, char *err,
                       size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        len = sizeof *in;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        len = sizeof *in6;
    } else {
        snprintf(err, errlen, "listen address '%s' is not an IP address", host);
        return -1;
    }
    srv->listener = evconnlistener_new_bind(
        srv->base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        1024, (struct sockaddr *)&ss, (int)len);
    if (!srv->listener) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(srv->listener, accept_error_cb);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    getsockname(evconnlistener_get_fd(srv->listener), (struct sockaddr *)&bound, &blen);
    srv->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                 : ((struct sockaddr_in6 *)&bound)->sin6_port);
    return 0;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

size_t http_server_connections(const struct http_server *srv)
{
    return srv->n_conns;
}

void http_server_stop(struct http_server *srv)
{
    srv->stopping = true;
    if (srv->listener) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
    struct http_conn *c = srv->conns;
    while (c) {
        struct http_conn *next = c->next;
        if (c->phase == PHASE_HEAD && !c->got_bytes)
            conn_free(c);
        c = next;
    }
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    http_server_stop(srv);
    while (srv->conns)
        conn_free(srv->conns);
    free(srv);
}
