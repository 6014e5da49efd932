/*
 * http.c - a small HTTP/1.1 server on libevent bufferevents.
 *
 * Why not evhttp: it has one timeout for everything, no connection limit and
 * no way to tell a slow header from a slow body. Here each connection is a
 * little state machine: read the head (bounded size, header timeout), read
 * the body (Content-Length or chunked, bounded size, body timeout), hand the
 * request to the dispatcher and stop reading until the reply is written,
 * then keep the connection alive (idle timeout) or close it. Pipelined
 * requests wait in the input buffer and are served in order. The bytes are
 * parsed by http_parser.c; this file owns connections, timers and replies.
 */
#include "http.h"

#include "answers.h"
#include "crypto.h"
#include "http_parser.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
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
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* What a lingering close reads and drops before it gives up on the client. */
#define LINGER_MAX_BYTES (256 * 1024)

enum phase { PHASE_HEAD, PHASE_BODY, PHASE_HANDLING, PHASE_WRITING };

struct query_param {
    char *key;
    char *value;
};

struct http_conn;

struct http_request {
    struct http_conn *conn; /* NULL once the connection is gone */
    struct http_server *srv;
    struct http_parser parsed; /* method, target, fields, body, keep-alive */
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
    struct http_request *spare; /* the last request, kept with its buffers for the next */
    bool close_after_write;
    bool lingering;         /* answered and half-closed: draining what the client still sends */
    size_t lingered;        /* bytes drained while lingering */
    bool peer_closed;       /* the client half-closed while we worked: answer, then close */
    bool got_bytes;         /* any byte of the current request seen */
    struct buf corked;      /* an answer given while the server was corked, not yet written */
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
    int corked;                     /* http_cork depth: answers wait for the last http_uncork */
    struct http_conn **corked_conns; /* those with an answer waiting (NULL: freed since) */
    size_t n_corked, cap_corked;
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

/*
 * A connection's requests come one after another: each reuses the one before
 * (its head, body and reply-header buffers), so a keep-alive client costs no
 * allocation per request once its first was served.
 */
static struct http_request *request_new(struct http_conn *c)
{
    struct http_request *req = c->spare;
    c->spare = NULL;
    if (req) {
        http_parser_reuse(&req->parsed);
        req->reply_headers.len = 0;
    } else {
        req = xcalloc(1, sizeof *req);
        http_parser_init(&req->parsed, c->srv->limits.max_header_bytes,
                         c->srv->limits.max_body_bytes);
        buf_init(&req->reply_headers);
    }
    req->conn = c;
    req->srv = c->srv;
    req->id[0] = '\0';
    req->userdata = NULL;
    req->n_params = -1;
    req->label = "other";
    req->started_us = time_mono_us();
    return req;
}

static void request_clear_params(struct http_request *req)
{
    for (int i = 0; i < req->n_params; i++) {
        free(req->params[i].key);
        free(req->params[i].value);
    }
    free(req->params);
    req->params = NULL;
    req->n_params = -1;
}

static void request_free(struct http_request *req)
{
    request_clear_params(req);
    http_parser_release(&req->parsed);
    buf_free(&req->reply_headers);
    free(req);
}

/* A served request: kept for its connection's next one, or freed. */
static void request_done(struct http_request *req)
{
    struct http_conn *c = req->conn;
    if (!c || c->spare) {
        request_free(req);
        return;
    }
    request_clear_params(req);
    c->spare = req;
}

const char *http_method(const struct http_request *req) { return req->parsed.method; }
const char *http_path(const struct http_request *req) { return req->parsed.path; }
const char *http_query(const struct http_request *req) { return req->parsed.query; }
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
    return req->parsed.method && strcmp(req->parsed.method, "HEAD") == 0;
}

const char *http_header(const struct http_request *req, const char *name)
{
    return http_parser_field(&req->parsed, name);
}

const char *http_body(const struct http_request *req, size_t *len)
{
    if (len)
        *len = req->parsed.body_len;
    return req->parsed.body ? req->parsed.body : "";
}

static void parse_query(struct http_request *req)
{
    if (req->n_params >= 0)
        return;
    req->n_params = 0;
    if (!req->parsed.query)
        return;
    char *copy = xstrdup(req->parsed.query);
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
                 req->parsed.method ? req->parsed.method : "-",
                 req->parsed.path ? req->parsed.path : "-", status, len, ms,
                 req->id);
    if (srv->observe)
        srv->observe(req, status, len, ms, srv->arg);
    if (!c) { /* the client left while we worked */
        request_free(req);
        return;
    }
    if (!req->parsed.keep_alive || srv->stopping || status == 408 || status == 413 || status == 431
        || status == 400)
        c->close_after_write = true;
    /* The head is written into a buffer on the stack, and head and body leave in one writev. */
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n", status,
                     http_status_text(status), req->id);
    if (content_type && (len || status != 204))
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n", content_type);
    if (status != 304) /* a 304's length would have to be the unsent 200's: leave it out */
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", len);
    if (c->close_after_write)
        n += snprintf(head + n, sizeof head - (size_t)n, "Connection: close\r\n");
    struct evbuffer *out = NULL;
    if ((size_t)n + req->reply_headers.len + 2 >= sizeof head) {
        /* (Long extra headers: the general path.) */
        out = evbuffer_new();
        evbuffer_add(out, head, (size_t)n);
        evbuffer_add(out, req->reply_headers.data, req->reply_headers.len);
        evbuffer_add(out, "\r\n", 2);
        if (len && !http_is_head(req))
            evbuffer_add(out, body, len);
    } else {
        if (req->reply_headers.len) /* (data is NULL while nothing was added) */
            memcpy(head + n, req->reply_headers.data, req->reply_headers.len);
        n += (int)req->reply_headers.len;
        memcpy(head + n, "\r\n", 2);
        n += 2;
    }
    if (http_is_head(req))
        len = 0;
    c->req = NULL;
    c->phase = PHASE_WRITING;
    evtimer_del(c->timer);
    /*
     * Most answers fit the socket buffer: write them now and skip a round of
     * write-event registration (two epoll_ctl calls per request). Whatever
     * does not fit goes through the bufferevent as usual.
     */
    struct evbuffer *pending = bufferevent_get_output(c->bev);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (out) {
        if (evbuffer_get_length(pending) == 0)
            while (evbuffer_get_length(out) > 0 && evbuffer_write(out, fd) > 0)
                ;
        if (evbuffer_get_length(out) == 0)
            event_active(c->resume, 0, 0);
        else
            bufferevent_write_buffer(c->bev, out);
        evbuffer_free(out);
    } else if (srv->corked && evbuffer_get_length(pending) == 0) {
        /* Corked: the answer waits, copied, for http_uncork's writev. */
        if (!c->corked.len) {
            if (srv->n_corked == srv->cap_corked) {
                srv->cap_corked = srv->cap_corked ? srv->cap_corked * 2 : 64;
                srv->corked_conns = xrealloc(srv->corked_conns,
                                             srv->cap_corked * sizeof *srv->corked_conns);
            }
            srv->corked_conns[srv->n_corked++] = c;
        }
        buf_append(&c->corked, head, (size_t)n);
        if (len)
            buf_append(&c->corked, body, len);
    } else {
        size_t sent = 0, total = (size_t)n + len;
        if (evbuffer_get_length(pending) == 0) {
            struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, len}};
            ssize_t w = writev(fd, iov, len ? 2 : 1);
            sent = w > 0 ? (size_t)w : 0;
        }
        if (sent == total) {
            event_active(c->resume, 0, 0);
        } else {
            if (sent < (size_t)n)
                bufferevent_write(c->bev, head + sent, (size_t)n - sent);
            size_t body_sent = sent > (size_t)n ? sent - (size_t)n : 0;
            if (len > body_sent)
                bufferevent_write(c->bev, (const char *)body + body_sent, len - body_sent);
        }
    }
    request_done(req);
}

void http_cork(struct http_server *srv)
{
    srv->corked++;
}

void http_uncork(struct http_server *srv)
{
    if (srv->corked > 0)
        srv->corked--;
    if (srv->corked > 0)
        return;
    for (size_t i = 0; i < srv->n_corked; i++) {
        struct http_conn *c = srv->corked_conns[i];
        if (!c)
            continue; /* freed meanwhile */
        ssize_t w = write(bufferevent_getfd(c->bev), c->corked.data, c->corked.len);
        size_t sent = w > 0 ? (size_t)w : 0;
        if (sent == c->corked.len)
            event_active(c->resume, 0, 0);
        else
            bufferevent_write(c->bev, c->corked.data + sent, c->corked.len - sent);
        c->corked.len = 0;
    }
    srv->n_corked = 0;
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

/* ---- connections ---- */

static void reply_and_close(struct http_conn *c, int status)
{
    struct http_request *req = c->req;
    if (!req->parsed.method) /* the request line never parsed */
        req->parsed.method = "-";
    if (!req->id[0])
        assign_request_id(req);
    req->parsed.keep_alive = false;
    const char *why = req->parsed.refusal ? req->parsed.refusal : http_status_text(status);
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
    enum http_parse rc = http_parser_read(&req->parsed, in);
    if (rc == HTTP_PARSE_MORE)
        return;
    if (rc == HTTP_PARSE_REFUSED) {
        reply_and_close(c, req->parsed.status);
        return;
    }
    assign_request_id(req);
    const char *expect = http_header(req, "Expect");
    if (expect && str_eq_nocase(expect, "100-continue") && req->parsed.content_length != 0)
        evbuffer_add_printf(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n");
    c->phase = PHASE_BODY;
    arm_timer(c, c->srv->limits.body_timeout_s);
}

static void read_body(struct http_conn *c)
{
    enum http_parse rc = http_parser_read(&c->req->parsed, bufferevent_get_input(c->bev));
    if (rc == HTTP_PARSE_REFUSED)
        reply_and_close(c, c->req->parsed.status);
    else if (rc == HTTP_PARSE_DONE)
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
    if (c->spare)
        request_free(c->spare);
    if (c->corked.len)
        for (size_t i = 0; i < srv->n_corked; i++)
            if (srv->corked_conns[i] == c)
                srv->corked_conns[i] = NULL;
    buf_free(&c->corked);
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
    free(srv->corked_conns);
    free(srv);
}
