/*
 * http.h - the HTTP/1.1 listener: connections, limits, timeouts, request
 * ids, access log, and (possibly deferred) replies. Requests are parsed by
 * http_parser.h.
 *
 * Ownership: the server creates each request and hands it to the dispatch
 * function. Exactly one http_reply* call later finishes and frees it, even
 * if the client has gone away meanwhile (the reply is then dropped).
 */
#ifndef SB_CORE_HTTP_H
#define SB_CORE_HTTP_H

#include <event2/event.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_server;
struct http_request;

struct http_limits {
    int64_t max_body_bytes;
    int max_connections;
    int header_timeout_s;
    int body_timeout_s;
    int keepalive_timeout_s;
    size_t max_header_bytes;
};

typedef void (*http_dispatch_fn)(struct http_request *req, void *arg);
/* Called once per finished request, after its reply is queued (for metrics). */
typedef void (*http_observe_fn)(const struct http_request *req, int status, size_t body_bytes,
                                double duration_ms, void *arg);

struct http_server *http_server_new(struct event_base *base, const struct http_limits *limits,
                                    http_dispatch_fn dispatch, http_observe_fn observe, void *arg);
/* Bind and listen; port 0 picks a free port (see http_server_port). */
int http_server_listen(struct http_server *srv, const char *host, int port, char *err,
                       size_t errlen);
int http_server_port(const struct http_server *srv);
size_t http_server_connections(const struct http_server *srv);
/*
 * Serve an already-connected socket as if it had been accepted (the server
 * owns fd from here on, even when it refuses it). For tests and fuzzing.
 */
bool http_server_adopt(struct http_server *srv, int fd);
/* Stop accepting and close idle connections; busy ones finish their reply. */
void http_server_stop(struct http_server *srv);
void http_server_free(struct http_server *srv);

/* Request accessors. Strings live as long as the request. */
const char *http_method(const struct http_request *req);
const char *http_path(const struct http_request *req);  /* raw path, without the query */
const char *http_query(const struct http_request *req); /* raw query, or NULL */
const char *http_header(const struct http_request *req, const char *name);
const char *http_body(const struct http_request *req, size_t *len); /* NUL-terminated */
const char *http_request_id(const struct http_request *req);
const char *http_peer(const struct http_request *req);
bool http_is_head(const struct http_request *req);
/* A query parameter, decoded; NULL if absent. */
const char *http_query_param(struct http_request *req, const char *name);
/* Call fn for each decoded query parameter. */
void http_query_each(struct http_request *req, void (*fn)(void *arg, const char *k, const char *v),
                     void *arg);
/* Label used by the observer (e.g. "webhooks"); defaults to "other". */
void http_set_label(struct http_request *req, const char *label);
const char *http_label(const struct http_request *req);
/* Opaque slot for the request's handler. */
void http_set_userdata(struct http_request *req, void *data);
void *http_userdata(const struct http_request *req);

/* Replies: each finishes and frees the request. */
void http_add_header(struct http_request *req, const char *name, const char *value);
void http_reply(struct http_request *req, int status, const char *content_type, const void *body,
                size_t len);
/* Takes ownership of body (NULL: empty body). */
/*
 * Cork the server: answers given from now on are copied aside (not written)
 * until the matching http_uncork (corks nest) writes each with one syscall.
 * The commit turn corks the answers of a finished commit while it hands over
 * the next one, so the commit thread is not kept waiting on the sockets, and
 * a callback scope corks the answers given in it until its commit.
 */
void http_cork(struct http_server *srv);
void http_uncork(struct http_server *srv);
void http_reply_json(struct http_request *req, int status, json_object *body);
/* {"error":{"status":..,"code":..,"message":..,"request_id":..}} */
void http_reply_error(struct http_request *req, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void http_redirect(struct http_request *req, const char *location);

const char *http_status_text(int status);

#endif
