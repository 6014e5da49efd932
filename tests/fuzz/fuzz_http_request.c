/*
 * fuzz_http_request - the HTTP/1.1 request parser, driven through the real
 * connection code (http_server_adopt on a socketpair) with small limits.
 *
 * Input: byte 0 picks where the bytes are split into two writes (0: one
 * write); the rest is what the client sends before half-closing. The
 * dispatch answers in several ways chosen by the path (echo, query
 * parameters as JSON, redirect, any status, error body, deferred reply) and
 * reads headers, query and body through the accessors. No body handed to it
 * may exceed the limit; whatever comes back must be well-formed HTTP/1.1
 * responses; nothing may leak across inputs.
 */
#include "exchange.h"
#include "http.h"
#include "logcheck.h"
#include "util.h"

#include <event2/event.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY 2048 /* small, so inputs can cross it, whatever the framing */

static struct event_base *base;
static struct http_server *server;
static int deferred; /* replies scheduled but not yet sent */

static void add_param(void *arg, const char *key, const char *value)
{
    json_object_object_add(arg, key, json_object_new_string(value));
}

static void deferred_reply(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct http_request *req = arg;
    size_t len;
    const char *body = http_body(req, &len);
    http_reply(req, 200, "text/plain", body, len); /* into the void if the client left */
    deferred--;
}

static void dispatch(struct http_request *req, void *arg)
{
    (void)arg;
    const char *host = http_header(req, "Host");
    (void)http_header(req, "content-type");
    (void)http_peer(req);
    size_t len;
    const char *body = http_body(req, &len);
    /* A method, a path from '/' (or OPTIONS *), a NUL-terminated body within the limit, an id:
       as promised. */
    bool head = strcmp(http_method(req), "HEAD") == 0;
    bool asterisk = strcmp(http_path(req), "*") == 0 && strcmp(http_method(req), "OPTIONS") == 0;
    if (!*http_method(req) || (http_path(req)[0] != '/' && !asterisk) || body[len] != '\0'
        || !*http_request_id(req) || http_is_head(req) != head || len > MAX_BODY)
        abort();
    const char *path = http_path(req);
    if (str_starts_with(path, "/query")) {
        json_object *o = json_object_new_object();
        http_query_each(req, add_param, o);
        http_reply_json(req, 200, o);
    } else if (str_starts_with(path, "/redirect")) {
        const char *to = http_query_param(req, "to");
        http_redirect(req, to ? to : "/");
    } else if (str_starts_with(path, "/status")) {
        const char *code = http_query_param(req, "code");
        int status = code ? atoi(code) : 200;
        if (status < 200 || status > 599)
            status = 500;
        http_add_header(req, "X-Host", host ? host : "-");
        http_reply(req, status, "text/plain", body, len);
    } else if (str_starts_with(path, "/error")) {
        http_reply_error(req, 422, "fuzz_error", "path %s, query %s", path,
                         http_query(req) ? http_query(req) : "-");
    } else if (str_starts_with(path, "/defer")) {
        const struct timeval now = {0, 0};
        deferred++;
        event_base_once(base, -1, EV_TIMEOUT, deferred_reply, req, &now);
    } else {
        http_reply(req, 200, "text/plain", body, len);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    fuzz_log_init(*argc, *argv);
    base = event_base_new();
    struct http_limits limits = {
        .max_body_bytes = MAX_BODY,
        .max_connections = 4,
        .header_timeout_s = 1,
        .body_timeout_s = 1,
        .keepalive_timeout_s = 1,
        .max_header_bytes = 2048,
    };
    server = http_server_new(base, &limits, dispatch, NULL, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t len = size - 1;
    size_t split = (size_t)data[0] * len / 256;
    struct buf response;
    buf_init(&response);
    fuzz_exchange(base, server, data + 1, len, split, &response);
    while (deferred > 0)
        event_base_loop(base, EVLOOP_ONCE);
    fuzz_check_responses(&response);
    buf_free(&response);
    fuzz_log_check();
    return 0;
}
