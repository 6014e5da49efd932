/*
 * outbound.c - plugins' HTTP requests to hosts that are not Intercom's.
 *
 * Every request is checked in full before it may leave (outbound_hosts.h
 * for the URL and the allow-list, check_headers for the header lines); a
 * refused one completes like any other, from the deliver event. Accepted
 * requests wait in their plugin's queue for one of its slots, then run on
 * their own curl_loop, never following redirects. Completions are delivered
 * in batches inside one host scope, like Intercom's.
 */
#include "outbound.h"

#include "abi.h"
#include "config.h"
#include "curl_loop.h"
#include "hashmap.h"
#include "http.h"
#include "json_input.h"
#include "log.h"
#include "outbound_checks.h"
#include "plugins.h"
#include "server.h"
#include "turn.h"
#include "util.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_TIMEOUT_MS 30000u
#define MAX_TIMEOUT_MS 300000u
#define CONNECT_TIMEOUT_MS 10000u
#define MAX_RESPONSE_BODY (4u << 20)
#define MAX_RESPONSE_HEADERS (64u << 10)
#define MAX_IN_FLIGHT_PER_PLUGIN 16
#define MAX_WAITING_PER_PLUGIN 1024
#define MAX_RETRY_AFTER_S 86400
/* Idle connections kept for reuse, all plugins together. */
#define MAX_KEPT_CONNECTIONS 32L

enum request_state { WAITING, RUNNING, FINISHED };

struct client;

struct ob_request {
    struct outbound *ob;
    struct client *client;
    uint64_t id;
    enum request_state state;
    char *method;
    char *url;
    struct outbound_target target;
    struct curl_slist *headers;  /* the plugin's lines (secrets) and the host's */
    char *body;
    size_t body_len;
    uint32_t timeout_ms;
    int64_t started_ms;          /* monotonic */
    sb_outbound_cb cb;
    void *arg;
    CURL *easy;
    struct curl_transfer transfer; /* and the answer's body */
    struct buf headers_in;       /* "name\0value\0" pairs of the final response */
    struct ob_request *next;     /* in the client's queue, or in the ready list */
    /* The outcome, handed to cb from the deliver event. */
    int status;
    sb_error_kind kind;
    char *message;
    json_object *json;
    uint32_t retry_after_s;
    sb_outbound_response response; /* what cb sees; header() finds the request from it */
};

/* One plugin's share: its slots and its queue. */
struct client {
    struct sb_plugin *plugin;
    int running;
    size_t waiting;
    struct ob_request *head, *tail;
    struct client *next;
};

struct outbound {
    struct server *srv;
    struct curl_loop *loop;
    struct event *deliver_ev;
    struct hashmap *requests;     /* id -> request, while waiting or running */
    struct client *clients;
    struct ob_request *ready_head, *ready_tail;
    uint64_t next_id;
};

/* ---- request lifetime ---- */

static void cleanse_free(char *s, size_t len)
{
    if (s)
        OPENSSL_cleanse(s, len);
    free(s);
}

static void request_free(struct ob_request *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    /* Header values and bodies often carry the vendor's key: leave no copy in freed memory. */
    for (struct curl_slist *h = r->headers; h; h = h->next)
        OPENSSL_cleanse(h->data, strlen(h->data));
    curl_slist_free_all(r->headers);
    cleanse_free(r->body, r->body_len);
    cleanse_free(r->url, r->url ? strlen(r->url) : 0);
    buf_free(&r->transfer.body);
    buf_free(&r->headers_in);
    json_object_put(r->json);
    free(r->method);
    free(r->message);
    free(r);
}

/* The outcome is set; the callback runs from the deliver event, never in the caller's frame. */
static void finish(struct ob_request *r, int status, sb_error_kind kind, const char *message)
{
    struct outbound *ob = r->ob;
    r->state = FINISHED;
    r->status = status;
    r->kind = kind;
    free(r->message);
    r->message = message ? xstrdup(message) : NULL;
    hashmap_remove_u64(ob->requests, r->id);
    r->next = NULL;
    if (ob->ready_tail)
        ob->ready_tail->next = r;
    else
        ob->ready_head = r;
    ob->ready_tail = r;
    event_active(ob->deliver_ev, 0, 0);
}

static const char *response_header(const sb_outbound_response *response, const char *name)
{
    if (!response || !name)
        return NULL;
    const struct ob_request *r = (const struct ob_request *)(const void *)
        ((const char *)response - offsetof(struct ob_request, response));
    const char *p = r->headers_in.data, *end = p + r->headers_in.len;
    while (p && p < end) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

static void deliver_one(struct ob_request *r)
{
    r->response = (sb_outbound_response){
        .request = r->id,
        .status = r->status,
        .kind = r->kind,
        .error_message = r->kind != SB_ERR_NONE ? r->message : NULL,
        .body = r->transfer.body.data ? r->transfer.body.data : "",
        .body_len = r->transfer.body.len,
        .json = r->json,
        .header = response_header,
        .retry_after_s = r->retry_after_s,
    };
    r->response.content_type = response_header(&r->response, "Content-Type");
    if (r->client->plugin->running)
        r->cb(r->arg, &r->response);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct outbound *ob = arg;
    (void)fd;
    (void)what;
    /* Callbacks may finish more requests; take the current batch first. */
    struct ob_request *batch = ob->ready_head;
    ob->ready_head = ob->ready_tail = NULL;
    if (!batch)
        return;
    turn_scope_enter(ob->srv->turn);
    while (batch) {
        struct ob_request *next = batch->next;
        deliver_one(batch);
        request_free(batch);
        batch = next;
    }
    turn_scope_leave(ob->srv->turn);
}

/* ---- what the log may show: method, host, port, path without the query ---- */

static void log_outcome(const struct ob_request *r, const char *what)
{
    const struct outbound_target *t = &r->target;
    const char *path = r->url + t->path_at;
    int path_len = (int)strcspn(path, "?");
    bool default_port = t->port == (t->https ? 443 : 80);
    char port[8] = "";
    if (!default_port)
        snprintf(port, sizeof port, ":%d", t->port);
    log_msg(r->kind == SB_ERR_NONE ? LOG_DEBUG : LOG_INFO, "outbound",
            "plugin %s: %s %s://%s%s%s%s%.*s -> %s in %lld ms", r->client->plugin->name, r->method,
            t->https ? "https" : "http", t->ipv6 ? "[" : "", t->host, t->ipv6 ? "]" : "", port,
            path_len, path, what, (long long)(time_mono_ms() - r->started_ms));
}

/* ---- the checks before anything leaves (outbound_checks.h) ---- */

static const char *request_problem(struct ob_request *r, const sb_outbound_request *req,
                                   struct outbound_checked *checked, char *why, size_t why_len)
{
    struct sb_plugin *p = r->client->plugin;
    const struct plugin_config *pc = p->cfg;
    const char *problem =
        outbound_request_problem(req, pc ? pc->outbound_hosts : NULL,
                                 pc ? pc->n_outbound_hosts : 0, p->name, checked, why, why_len);
    r->target = checked->target;
    return problem;
}

/* ---- receiving ---- */

/* Keeps the header fields of the last response only (after a 100 Continue, say). */
static void header_line(void *owner, const char *data, size_t len)
{
    struct ob_request *r = owner;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        buf_free(&r->headers_in);
        buf_init(&r->headers_in);
        return;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon || colon == data || r->headers_in.len + len + 2 > MAX_RESPONSE_HEADERS)
        return;
    const char *value = colon + 1, *end = data + len;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    buf_append(&r->headers_in, data, (size_t)(colon - data));
    buf_putc(&r->headers_in, '\0');
    buf_append(&r->headers_in, value, (size_t)(end - value));
    buf_putc(&r->headers_in, '\0');
}

/* Retry-After: delta-seconds or an HTTP date; 0 if absent or unreadable. */
static uint32_t retry_after(const struct ob_request *r)
{
    const char *v = response_header(&r->response, "Retry-After");
    if (!v || !*v)
        return 0;
    int64_t seconds;
    if (!str_to_i64(v, &seconds)) {
        time_t at = curl_getdate(v, NULL);
        if (at == -1)
            return 0;
        seconds = (int64_t)at - (int64_t)time(NULL);
    }
    if (seconds < 0)
        return 0;
    return seconds > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : (uint32_t)seconds;
}

static void answered(struct ob_request *r, long status)
{
    char message[OUTBOUND_HOST_MAX + 256];
    sb_error_kind kind = outbound_kind_for_status((int)status);
    const char *host = r->target.host;
    const char *ct = response_header(&r->response, "Content-Type");
    const struct buf *body = &r->transfer.body;
    if (body->len && outbound_is_json_type(ct)) {
        char why[128];
        r->json = json_parse_whole(body->data, body->len, why, sizeof why);
        if (!r->json && kind == SB_ERR_NONE && strcmp(why, "the value is null") != 0) {
            snprintf(message, sizeof message, "%s answered HTTP %ld with JSON that does not parse: %s",
                     host, status, why);
            finish(r, (int)status, SB_ERR_SERVER_ERROR, message);
            return;
        }
    }
    if (status == 429 || status == 503)
        r->retry_after_s = retry_after(r);
    if (kind == SB_ERR_NONE) {
        finish(r, (int)status, kind, NULL);
        return;
    }
    snprintf(message, sizeof message, "%s answered HTTP %ld %s%s", host, status,
             http_status_text((int)status),
             status >= 300 && status < 400 ? " (redirects are not followed)" : "");
    finish(r, (int)status, kind, message);
}

static void transfer_done(void *owner, CURLcode result)
{
    struct ob_request *r = owner;
    r->client->running--;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    char message[CURL_ERROR_SIZE + OUTBOUND_HOST_MAX + 64];
    if (r->transfer.too_large || result == CURLE_FILESIZE_EXCEEDED) {
        buf_free(&r->transfer.body);
        snprintf(message, sizeof message, "the response from %s is larger than 4 MiB",
                 r->target.host);
        finish(r, (int)status, SB_ERR_SERVER_ERROR, message);
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        snprintf(message, sizeof message, "%s: no answer within %u ms", r->target.host,
                 r->timeout_ms);
        finish(r, 0, SB_ERR_NETWORK, message);
    } else if (result != CURLE_OK) {
        snprintf(message, sizeof message, "%s: %s", r->target.host,
                 r->transfer.error[0] ? r->transfer.error : curl_easy_strerror(result));
        finish(r, 0, SB_ERR_NETWORK, message);
    } else {
        answered(r, status);
    }
    char what[64];
    snprintf(what, sizeof what, "%d %s", r->status, sb_error_kind_name(r->kind));
    log_outcome(r, what);
}

/* ---- sending ---- */

static void send_now(struct ob_request *r)
{
    int64_t elapsed = time_mono_ms() - r->started_ms;
    if (elapsed >= (int64_t)r->timeout_ms) {
        char message[OUTBOUND_HOST_MAX + 64];
        snprintf(message, sizeof message, "%s: no free slot within %u ms", r->target.host,
                 r->timeout_ms);
        finish(r, 0, SB_ERR_NETWORK, message);
        return;
    }
    long remaining = (long)((int64_t)r->timeout_ms - elapsed);
    const char *scheme = r->target.https ? "https" : "http";
    CURL *e = r->easy = curl_transfer_easy(
        &r->transfer, r->url, r->method, scheme, remaining,
        remaining < (long)CONNECT_TIMEOUT_MS ? remaining : (long)CONNECT_TIMEOUT_MS);
    if (!e) {
        finish(r, 0, SB_ERR_NETWORK, "cannot initialise libcurl");
        return;
    }
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, scheme);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)MAX_RESPONSE_BODY);
    if (r->body || strcmp(r->method, "GET") != 0) {
        /* A POST, PUT or PATCH without a body still says Content-Length: 0. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    CURLMcode mc = curl_loop_add(r->ob->loop, e, &r->transfer);
    if (mc != CURLM_OK) {
        finish(r, 0, SB_ERR_NETWORK, curl_multi_strerror(mc));
        return;
    }
    r->state = RUNNING;
    r->client->running++;
}

static void pump(struct client *c)
{
    while (c->head && c->running < MAX_IN_FLIGHT_PER_PLUGIN) {
        struct ob_request *r = c->head;
        c->head = r->next;
        if (!c->head)
            c->tail = NULL;
        r->next = NULL;
        c->waiting--;
        send_now(r);
    }
}

static void pump_all(void *arg)
{
    struct outbound *ob = arg;
    for (struct client *c = ob->clients; c; c = c->next)
        pump(c);
}

static struct client *client_for(struct outbound *ob, struct sb_plugin *p)
{
    for (struct client *c = ob->clients; c; c = c->next)
        if (c->plugin == p)
            return c;
    struct client *c = xcalloc(1, sizeof *c);
    c->plugin = p;
    c->next = ob->clients;
    ob->clients = c;
    return c;
}

/* ---- public API ---- */

struct outbound *outbound_new(struct server *srv, char *err, size_t errlen)
{
    struct outbound *ob = xcalloc(1, sizeof *ob);
    ob->srv = srv;
    ob->loop = curl_loop_new(srv->base, MAX_KEPT_CONNECTIONS, pump_all, ob);
    if (!ob->loop) {
        snprintf(err, errlen, "cannot initialise libcurl for outbound HTTP");
        free(ob);
        return NULL;
    }
    ob->deliver_ev = event_new(srv->base, -1, 0, deliver_cb, ob);
    ob->requests = hashmap_new();
    return ob;
}

sb_request_id outbound_request(struct outbound *ob, struct sb_plugin *p,
                               const sb_outbound_request *plugin_req, sb_outbound_cb cb,
                               void *arg)
{
    /* The plugin allocates it: read only as far as its minor knows. */
    sb_outbound_request req;
    abi_copy_in(&req, sizeof req, plugin_req, p->desc.abi_minor, ABI_OUTBOUND_REQUEST);
    if (!plugin_req || !cb || !req.method || !req.url || (req.body_len && !req.body)) {
        log_warn("outbound", "plugin %s: outbound_request without a request, method, URL, body "
                             "or callback", p->name);
        return 0;
    }
    struct ob_request *r = xcalloc(1, sizeof *r);
    r->ob = ob;
    r->client = client_for(ob, p);
    r->id = ++ob->next_id;
    r->method = xstrdup(req.method);
    r->url = xstrdup(req.url);
    r->cb = cb;
    r->arg = arg;
    r->started_ms = time_mono_ms();
    r->timeout_ms = !req.timeout_ms ? DEFAULT_TIMEOUT_MS
                    : req.timeout_ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : req.timeout_ms;
    r->transfer = (struct curl_transfer){.done = transfer_done, .owner = r, .header = header_line,
                                         .max_body = MAX_RESPONSE_BODY};
    buf_init(&r->headers_in);
    hashmap_put_u64(ob->requests, r->id, r);

    char why[OUTBOUND_HOST_MAX + 256];
    struct outbound_checked checked;
    const char *problem = request_problem(r, &req, &checked, why, sizeof why);
    if (problem) {
        log_warn("outbound", "plugin %s: outbound %s refused: %s", p->name,
                 outbound_method_valid(r->method) ? r->method : "request", problem);
        finish(r, 0, SB_ERR_NOT_ALLOWED, problem);
        return r->id;
    }
    if (r->client->waiting >= MAX_WAITING_PER_PLUGIN) {
        snprintf(why, sizeof why, "more than %d outbound requests are waiting",
                 MAX_WAITING_PER_PLUGIN);
        finish(r, 0, SB_ERR_RATE_LIMITED, why);
        return r->id;
    }
    if (req.body_len) {
        r->body = xmalloc(req.body_len);
        memcpy(r->body, req.body, req.body_len);
        r->body_len = req.body_len;
    }
    /* curl's defaults: a form Content-Type on every body, and a 100-continue round trip. */
    if (!checked.has_content_type)
        r->headers = curl_slist_append(r->headers, "Content-Type:");
    if (!checked.has_expect)
        r->headers = curl_slist_append(r->headers, "Expect:");
    for (size_t i = 0; req.headers && req.headers[i]; i++)
        r->headers = curl_slist_append(r->headers, req.headers[i]);

    struct client *c = r->client;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    c->waiting++;
    pump(c);
    return r->id;
}

/* Stop a request that has not finished; its callback will say CANCELLED. */
static void cancel_one(struct outbound *ob, struct ob_request *r)
{
    struct client *c = r->client;
    if (r->state == WAITING) {
        struct ob_request **link = &c->head, *prev = NULL;
        while (*link && *link != r) {
            prev = *link;
            link = &(*link)->next;
        }
        if (*link) {
            *link = r->next;
            if (c->tail == r)
                c->tail = prev;
            c->waiting--;
        }
    } else if (r->state == RUNNING) {
        curl_loop_remove(ob->loop, r->easy);
        c->running--;
    }
    finish(r, 0, SB_ERR_CANCELLED, "cancelled");
    log_outcome(r, "cancelled");
}

void outbound_cancel(struct outbound *ob, struct sb_plugin *p, sb_request_id id)
{
    struct ob_request *r = hashmap_get_u64(ob->requests, id);
    if (!r || r->client->plugin != p)
        return;
    cancel_one(ob, r);
    pump(r->client);
}

struct collect {
    struct sb_plugin *plugin; /* NULL: every plugin's */
    struct ob_request **list;
    size_t n, cap;
};

static void collect_request(void *arg, void *value)
{
    struct collect *c = arg;
    struct ob_request *r = value;
    if (c->plugin && r->client->plugin != c->plugin)
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->list = xrealloc(c->list, c->cap * sizeof *c->list);
    }
    c->list[c->n++] = r;
}

/* Cancel without starting what waits (it is cancelled too), then deliver at once. */
static void cancel_all(struct outbound *ob, struct sb_plugin *p)
{
    struct collect c = {.plugin = p};
    hashmap_each(ob->requests, collect_request, &c);
    for (size_t i = 0; i < c.n; i++)
        cancel_one(ob, c.list[i]);
    free(c.list);
    deliver_cb(-1, 0, ob);
}

void outbound_cancel_plugin(struct outbound *ob, struct sb_plugin *p)
{
    cancel_all(ob, p);
    /* Nothing of the plugin is left: forget its share, which names it. */
    for (struct client **link = &ob->clients; *link; link = &(*link)->next) {
        if ((*link)->plugin == p) {
            struct client *gone = *link;
            *link = gone->next;
            free(gone);
            break;
        }
    }
}

void outbound_free(struct outbound *ob)
{
    if (!ob)
        return;
    cancel_all(ob, NULL);
    while (ob->clients) {
        struct client *next = ob->clients->next;
        free(ob->clients);
        ob->clients = next;
    }
    hashmap_free(ob->requests);
    curl_loop_free(ob->loop);
    event_free(ob->deliver_ev);
    free(ob);
}
