/*
 * intercom.c - requests to Intercom and their retries.
 *
 * A plugin's request waits in its installation's governor (governor.h) until
 * the rate budget lets it go, then runs on the client's curl_loop with the
 * installation's token, unsealed for each attempt. Its answer is mapped to
 * an error kind; a GET, a HEAD or a request marked retry-safe is sent again
 * after a timeout, a dropped connection, a 5xx or a cut-off body (capped
 * exponential backoff), and any request after a 429, once the window has
 * reset; a 401 is reported through the unauthorized hook. A streamed
 * request's 2xx body (intercom_stream.h) is read at each delivery round as
 * it arrives, instead of being collected whole. Completions are
 * delivered in batches from one event, inside one host scope, so a callback
 * never runs in its caller's frame. Raw requests (OAuth, revocation) skip
 * the governor and the retries.
 */
#include "intercom_internal.h"

#include "crypto.h"
#include "curl_loop.h"
#include "errors.h"
#include "governor.h"
#include "hashmap.h"
#include "http.h"
#include "installations.h"
#include "intercom_shapes.h"
#include "intercom_stream.h"
#include "log.h"
#include "plugins.h"
#include "server.h"
#include "turn.h"
#include "util.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RATE_LIMIT_WAITS 10
#define CONNECT_TIMEOUT_MS 10000L

struct ic_governor;

struct ic_request {
    struct intercom *ic;
    uint64_t id;
    struct sb_plugin *plugin;   /* NULL: a raw request */
    int64_t installation;
    struct ic_governor *gov;
    char *method;
    char *url;                  /* raw requests */
    char *path;                 /* installation requests: path and query */
    char *body;
    char *content_type;
    char *token;                /* raw requests only; installation tokens are unsealed per send */
    unsigned flags;
    uint32_t attempts;
    uint32_t rate_limit_waits;
    sb_intercom_cb cb;          /* for a walk's page: its walk's page_done */
    void *arg;
    intercom_raw_cb raw_cb;
    bool walk_page;             /* fetches a page of a walk, which cancels it */
    struct ic_stream *stream;   /* intercom_stream: its 2xx answer, read as it arrives */
    bool stream_queued;         /* in ic->streaming */
    CURL *easy;
    struct curl_transfer transfer; /* and the answer's body */
    struct curl_slist *headers;
    json_object *parsed;        /* a 2xx body, parsed once on arrival */
    struct rate_headers rate;   /* of the last answer */
    struct event *retry_timer;
    struct governor_link queued; /* in its governor's queue */
    /* Completion waiting to be delivered (callbacks never run inside the caller). */
    int final_status;
    sb_error_kind final_kind;
    uint32_t final_retry_after_s;
    char *final_code;
    char *final_message;
};

/* An installation's governor and the timer that wakes its queue. */
struct ic_governor {
    struct governor rate;
    struct intercom *ic;
    struct event *timer;
};

static struct ic_request *request_of(struct governor_link *link)
{
    return (struct ic_request *)(void *)((char *)link - offsetof(struct ic_request, queued));
}

static void send_now(struct ic_request *r);
static void pump(struct ic_governor *g);
static void pump_all(struct intercom *ic);

static void transfer_done(void *owner, CURLcode result);

/* ---- request lifetime ---- */

static void request_free(struct ic_request *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    if (r->retry_timer)
        event_free(r->retry_timer);
    buf_free(&r->transfer.body);
    ic_stream_free(r->stream);
    json_object_put(r->parsed);
    free(r->method);
    free(r->url);
    free(r->path);
    free(r->body);
    free(r->content_type);
    installation_token_free(r->token);
    free(r->final_code);
    free(r->final_message);
    free(r);
}

/*
 * Finish a request: its callback runs from the deliver event, never in the
 * caller's frame. @p kind is what the plugin classifies by (error_code keeps
 * Intercom's own code).
 */
static void complete(struct ic_request *r, int status, sb_error_kind kind, const char *code,
                     const char *message)
{
    struct intercom *ic = r->ic;
    r->final_status = status;
    r->final_kind = kind;
    if (kind == SB_ERR_RATE_LIMITED || kind == SB_ERR_SERVER_ERROR)
        r->final_retry_after_s = rate_headers_wait_s(&r->rate, status, time_now_ms());
    r->final_code = code ? xstrdup(code) : NULL;
    r->final_message = message ? xstrdup(message) : NULL;
    hashmap_remove_u64(ic->requests, r->id);
    if (ic->n_ready == ic->cap_ready) {
        ic->cap_ready = ic->cap_ready ? ic->cap_ready * 2 : 32;
        ic->ready = xrealloc(ic->ready, ic->cap_ready * sizeof *ic->ready);
    }
    ic->ready[ic->n_ready++] = r;
    event_active(ic->deliver_ev, 0, 0);
}

static bool stream_failed(struct ic_request *r, enum ic_stream_state state);

/* Deliver a completion; false when it is not over after all (a streamed answer sent again). */
static bool deliver_one(struct ic_request *r)
{
    const struct buf *answer = &r->transfer.body;
    if (r->raw_cb) {
        r->raw_cb(r->arg, r->final_status, answer->data ? answer->data : "", answer->len,
                  r->final_code ? r->final_message : NULL);
        return true;
    }
    json_object *body = r->parsed;
    r->parsed = NULL;
    if (r->stream && r->final_kind == SB_ERR_NONE) {
        /* The rest of the answer: its last elements go out, then done() gets what is left. */
        r->ic->delivering = r;
        enum ic_stream_state state = ic_stream_end(r->stream, &body);
        r->ic->delivering = NULL;
        if (state != IC_STREAM_READING) {
            hashmap_put_u64(r->ic->requests, r->id, r); /* not over: retried or completed anew */
            stream_failed(r, state);
            return false;
        }
    }
    if (!body && answer->len) {
        enum json_tokener_error jerr;
        body = json_tokener_parse_verbose(answer->data, &jerr);
    }
    sb_intercom_response res = {
        .request = r->id,
        .installation = r->installation,
        .status = r->final_status,
        .body = body,
        .error_code = r->final_code,
        .error_message = r->final_message,
        .attempts = r->attempts,
        .kind = r->final_kind,
        .retry_after_s = r->final_retry_after_s,
    };
    if (r->cb)
        r->cb(r->arg, &res);
    json_object_put(body);
    return true;
}

static void stop_transfer(struct intercom *ic, struct ic_request *r);
static void pump(struct ic_governor *g);

/*
 * Hand the plugins the elements of streamed answers that arrived since the
 * last delivery, inside its scope: a plugin's writes for them commit with
 * that round's.
 */
static void read_streams(struct intercom *ic)
{
    uint64_t *ids = ic->streaming;
    size_t n = ic->n_streaming;
    ic->streaming = NULL;
    ic->n_streaming = ic->cap_streaming = 0;
    for (size_t i = 0; i < n; i++) {
        struct ic_request *r = hashmap_get_u64(ic->requests, ids[i]);
        if (!r || !r->stream)
            continue; /* completed meanwhile: its delivery reads the rest */
        r->stream_queued = false;
        enum ic_stream_state state = ic_stream_read(r->stream);
        /* The plugin may have cancelled it from an element's callback. */
        if (state != IC_STREAM_READING && hashmap_get_u64(ic->requests, ids[i]) == r) {
            stop_transfer(ic, r);
            stream_failed(r, state);
            if (r->gov)
                pump(r->gov);
        }
    }
    free(ids);
}

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct intercom *ic = arg;
    (void)fd;
    (void)what;
    /* Callbacks may queue more completions; take the current batch first. */
    struct ic_request **batch = ic->ready;
    size_t n = ic->n_ready;
    ic->ready = NULL;
    ic->n_ready = ic->cap_ready = 0;
    /* The core's own requests (raw: the install flow, revocations) end outside the plugins'
       scope: what each writes commits on its own, so its outcome is known before it answers
       (an install page says "Installed" only once the installation and its hook are stored). */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (batch[i]->raw_cb && deliver_one(batch[i]))
            request_free(batch[i]);
        else
            batch[kept++] = batch[i];
    }
    turn_scope_enter(ic->srv->turn);
    read_streams(ic);
    for (size_t i = 0; i < kept; i++)
        if (deliver_one(batch[i]))
            request_free(batch[i]);
    turn_scope_leave(ic->srv->turn);
    free(batch);
}

/* ---- governors ---- */

static void governor_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

static uint32_t random_u32(void)
{
    uint32_t r;
    if (crypto_random(&r, sizeof r) != 0)
        r = (uint32_t)rand();
    return r;
}

static struct ic_governor *governor_for(struct intercom *ic, int64_t installation)
{
    struct ic_governor *g = hashmap_get_u64(ic->governors, installation);
    if (!g) {
        g = xcalloc(1, sizeof *g);
        governor_init(&g->rate, random_u32);
        governor_set_share(&g->rate, ic->nodes_sharing);
        g->ic = ic;
        g->timer = evtimer_new(ic->srv->base, governor_timer_cb, g);
        hashmap_put_u64(ic->governors, installation, g);
    }
    return g;
}

static void governor_free(void *arg, void *value)
{
    (void)arg;
    struct ic_governor *g = value;
    event_free(g->timer);
    free(g);
}

static void governor_wait(struct ic_governor *g, int64_t delay_ms)
{
    if (delay_ms < 1)
        delay_ms = 1;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(g->timer, &tv);
    g->ic->stats.governor_waits++;
}

/* Send what the governor lets go, as far as the installation's and the client's slots allow. */
static void pump(struct ic_governor *g)
{
    struct intercom *ic = g->ic;
    int per_inst = ic->srv->cfg->max_in_flight_per_installation;
    int global = ic->srv->cfg->max_in_flight;
    while (g->rate.head && g->rate.in_flight < per_inst && ic->in_flight < global) {
        int64_t now = time_now_ms();
        int64_t delay = governor_delay(&g->rate, now);
        if (delay > 0) {
            governor_wait(g, delay);
            return;
        }
        send_now(request_of(governor_next(&g->rate, now)));
    }
}

static void pump_all_cb(void *arg, void *value)
{
    (void)arg;
    struct ic_governor *g = value;
    if (g->rate.head)
        pump(g);
}

static void pump_all(struct intercom *ic)
{
    hashmap_each(ic->governors, pump_all_cb, NULL);
}

static void enqueue(struct ic_request *r, bool front)
{
    governor_queue(&r->gov->rate, &r->queued, front);
    pump(r->gov);
}

/* ---- sending ---- */

/*
 * A streamed request's 2xx body goes to its reader, to be read at the next
 * delivery round, never in libcurl's callback; any other body is collected.
 */
static bool stream_body(void *owner, const char *data, size_t len)
{
    struct ic_request *r = owner;
    struct intercom *ic = r->ic;
    long status = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status < 200
        || status >= 300)
        return false;
    ic_stream_take(r->stream, data, len);
    if (r->stream_queued)
        return true;
    r->stream_queued = true;
    if (ic->n_streaming == ic->cap_streaming) {
        ic->cap_streaming = ic->cap_streaming ? ic->cap_streaming * 2 : 16;
        ic->streaming = xrealloc(ic->streaming, ic->cap_streaming * sizeof *ic->streaming);
    }
    ic->streaming[ic->n_streaming++] = r->id;
    event_active(ic->deliver_ev, 0, 0);
    return true;
}

/* An answer's header line: the rate-limit picture is all the client reads of them. */
static void header_line(void *owner, const char *line, size_t len)
{
    struct ic_request *r = owner;
    rate_headers_parse(&r->rate, line, len);
}

static void send_now(struct ic_request *r)
{
    struct intercom *ic = r->ic;
    const struct config *cfg = ic->srv->cfg;
    char *url = r->url ? xstrdup(r->url) : NULL;
    char *token = r->token ? xstrdup(r->token) : NULL;
    if (!url) {
        struct installation *inst = installations_get(ic->srv->installations, r->installation);
        if (!inst || inst->state != SB_INSTALLATION_ACTIVE) {
            bool revoked = !inst || inst->state == SB_INSTALLATION_REVOKED;
            complete(r, 0, revoked ? SB_ERR_REVOKED : SB_ERR_NEEDS_REAUTH,
                     revoked ? "revoked" : "needs_reauth", "the installation cannot call Intercom");
            return;
        }
        token = installation_token(ic->srv, inst);
        if (!token) {
            complete(r, 0, SB_ERR_NEEDS_REAUTH, "needs_reauth", "no usable token for this installation");
            return;
        }
        url = xasprintf("%s%s", cfg->api_url[inst->region], r->path);
    }
    rate_headers_clear(&r->rate);
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    CURL *e = r->easy = curl_transfer_easy(&r->transfer, url, r->method, "http,https",
                                           (long)cfg->request_timeout_s * 1000, CONNECT_TIMEOUT_MS);
    if (!e) {
        installation_token_free(token);
        free(url);
        complete(r, 0, SB_ERR_NETWORK, "connection", "cannot initialise libcurl");
        return;
    }
    r->headers = curl_slist_append(r->headers, "Accept: application/json");
    /* curl's default Expect: 100-continue would add a round trip to every large POST. */
    r->headers = curl_slist_append(r->headers, "Expect:");
    if (token) {
        char *auth = xasprintf("Authorization: Bearer %s", token);
        r->headers = curl_slist_append(r->headers, auth);
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    if (r->plugin || r->installation) {
        char *version = xasprintf("Intercom-Version: %s", cfg->intercom_version);
        r->headers = curl_slist_append(r->headers, version);
        free(version);
    }
    if (r->body) {
        char *ct = xasprintf("Content-Type: %s",
                             r->content_type ? r->content_type : "application/json");
        r->headers = curl_slist_append(r->headers, ct);
        free(ct);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    installation_token_free(token);
    free(url);
    r->attempts++;
    ic->in_flight++;
    if (r->gov)
        r->gov->rate.in_flight++;
    ic->stats.requests++;
    CURLMcode mc = curl_loop_add(ic->transport, e, &r->transfer);
    if (mc != CURLM_OK) {
        ic->in_flight--;
        if (r->gov)
            r->gov->rate.in_flight--;
        complete(r, 0, SB_ERR_NETWORK, "connection", curl_multi_strerror(mc));
    }
}

static void retry_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ic_request *r = arg;
    (void)fd;
    (void)what;
    enqueue(r, true);
}

static void schedule_retry(struct ic_request *r, int64_t delay_ms)
{
    r->ic->stats.retries++;
    if (r->stream)
        ic_stream_restart(r->stream); /* what the failed attempt sent is not handed out */
    if (!r->retry_timer)
        r->retry_timer = evtimer_new(r->ic->srv->base, retry_timer_cb, r);
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(r->retry_timer, &tv);
}

/* Capped exponential backoff with jitter: half the step, plus up to as much again. */
static int64_t retry_delay(const struct config *cfg, uint32_t attempts)
{
    int64_t cap = cfg->request_retry_cap_ms, delay = cfg->request_retry_base_ms;
    for (uint32_t i = 1; i < attempts && delay < cap; i++)
        delay *= 2;
    if (delay > cap)
        delay = cap;
    return delay / 2 + (int64_t)(random_u32() % (uint32_t)(delay / 2 + 1));
}

static bool may_retry(const struct ic_request *r)
{
    return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0
           || (r->flags & SB_INTERCOM_RETRY_SAFE);
}

/* Intercom's error.list: the first error's code and message. */
static void parse_error(const struct ic_request *r, char **code, char **message)
{
    const struct buf *answer = &r->transfer.body;
    json_object *body = answer->len ? json_tokener_parse(answer->data) : NULL;
    const char *c, *m;
    intercom_error_fields(body, &c, &m);
    *code = c ? xstrdup(c) : NULL;
    *message = m ? xstrdup(m) : NULL;
    json_object_put(body);
}

/* A streamed answer handed elements out: the host sends it no more (switchboard.h). */
static bool stream_handed_out(const struct ic_request *r)
{
    return r->stream && ic_stream_items(r->stream) > 0;
}

/*
 * A 2xx body that cannot be read (@p why: the reader's words, or NULL) is
 * sent again while attempts are left, unless elements of it went out.
 */
static void invalid_body(struct ic_request *r, int status, const char *why)
{
    struct intercom *ic = r->ic;
    ic->stats.transport_errors++;
    if (may_retry(r) && !stream_handed_out(r)
        && r->attempts < (uint32_t)ic->srv->cfg->request_max_attempts) {
        log_info("intercom", "%s %s: HTTP %d with a body that is not valid JSON"
                 " (attempt %u); retrying", r->method, r->path, status, r->attempts);
        schedule_retry(r, retry_delay(ic->srv->cfg, r->attempts));
        return;
    }
    char *message = xasprintf("Intercom's answer was not valid JSON (cut off on the way?)%s%s",
                              why ? ": " : "", why ? why : "");
    complete(r, 0, SB_ERR_SERVER_ERROR, "invalid_response", message);
    free(message);
}

/* A streamed answer that cannot be read on, or that the plugin stopped; true if retried. */
static bool stream_failed(struct ic_request *r, enum ic_stream_state state)
{
    if (state == IC_STREAM_STOPPED || state == IC_STREAM_CANCELLED) {
        bool stopped = state == IC_STREAM_STOPPED;
        complete(r, 0, SB_ERR_CANCELLED, stopped ? "stopped" : "cancelled",
                 stopped ? "the item callback stopped the request" : "cancelled");
        return false;
    }
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    invalid_body(r, (int)status, ic_stream_error(r->stream));
    return hashmap_get_u64(r->ic->requests, r->id) == r;
}

static void finished(struct ic_request *r, CURLcode result)
{
    struct intercom *ic = r->ic;
    struct ic_governor *g = r->gov;
    long status = 0;
    if (result == CURLE_OK)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    ic->in_flight--;
    if (g) {
        g->rate.in_flight--;
        governor_observe(&g->rate, &r->rate, (int)status, time_now_ms());
    }

    if (result != CURLE_OK) {
        ic->stats.transport_errors++;
        const char *code = result == CURLE_OPERATION_TIMEDOUT ? "timeout" : "connection";
        if (r->plugin && may_retry(r) && !stream_handed_out(r)
            && r->attempts < (uint32_t)ic->srv->cfg->request_max_attempts) {
            log_info("intercom", "%s %s: %s (attempt %u); retrying", r->method,
                     r->path ? r->path : "-", code, r->attempts);
            schedule_retry(r, retry_delay(ic->srv->cfg, r->attempts));
        } else {
            complete(r, 0, SB_ERR_NETWORK, code,
                     r->transfer.error[0] ? r->transfer.error : curl_easy_strerror(result));
        }
        return;
    }
    if (status >= 200 && status < 300) {
        ic->stats.responses_2xx++;
        /* A 2xx body that does not parse was cut off on the way: handed on as a NULL body
           it would read as an empty page, the end of a list, and a sync would stop early.
           A streamed one is read as it arrives, and its end at the delivery. */
        if (r->plugin && !r->stream && r->transfer.body.len
            && !(r->parsed = json_tokener_parse(r->transfer.body.data))) {
            invalid_body(r, (int)status, NULL);
            return;
        }
        complete(r, (int)status, SB_ERR_NONE, NULL, NULL);
        return;
    }
    if (status >= 500)
        ic->stats.responses_5xx++;
    else
        ic->stats.responses_4xx++;
    char *code, *message;
    parse_error(r, &code, &message);
    sb_error_kind kind = errors_kind_for_status((int)status);
    if (!r->plugin) { /* raw: the caller reads the body itself */
        complete(r, (int)status, kind, code ? code : "http_error", message);
    } else if (status == 429) {
        ic->stats.rate_limited++;
        /* A 429 means Intercom did nothing, so even writes are safe to send again. */
        if (++r->rate_limit_waits <= MAX_RATE_LIMIT_WAITS) {
            log_info("intercom", "installation %lld rate limited; waiting for the window reset",
                     (long long)r->installation);
            r->attempts--;
            enqueue(r, true);
        } else {
            complete(r, 429, kind, code ? code : "rate_limit_exceeded", message);
        }
    } else if (status == 401) {
        if (ic->on_unauthorized)
            ic->on_unauthorized(ic->on_unauthorized_arg, r->installation,
                                message ? message : "Intercom answered 401");
        complete(r, 401, kind, code ? code : "unauthorized", message);
    } else if (status >= 500 && may_retry(r)
               && r->attempts < (uint32_t)ic->srv->cfg->request_max_attempts) {
        log_info("intercom", "%s %s: HTTP %ld (attempt %u); retrying", r->method, r->path, status,
                 r->attempts);
        schedule_retry(r, retry_delay(ic->srv->cfg, r->attempts));
    } else {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "http_%ld", status);
        complete(r, (int)status, kind, code ? code : fallback,
                 message ? message : http_status_text((int)status));
    }
    free(code);
    free(message);
    if (g)
        pump(g);
}

static void transfer_done(void *owner, CURLcode result)
{
    finished(owner, result);
}

/* Transfers ended: their slots may let queued requests go. */
static void transport_idle(void *arg)
{
    pump_all(arg);
}

/* ---- public API ---- */

struct intercom *intercom_new(struct server *srv, char *err, size_t errlen)
{
    struct intercom *ic = xcalloc(1, sizeof *ic);
    ic->srv = srv;
    ic->transport = curl_loop_new(srv->base, (long)srv->cfg->max_in_flight, transport_idle, ic);
    if (!ic->transport) {
        snprintf(err, errlen, "cannot initialise libcurl");
        free(ic);
        return NULL;
    }
    ic->deliver_ev = event_new(srv->base, -1, 0, deliver_cb, ic);
    ic->requests = hashmap_new();
    ic->walks = hashmap_new();
    ic->governors = hashmap_new();
    ic->nodes_sharing = 1;
    return ic;
}

void intercom_on_unauthorized(struct intercom *ic, intercom_unauthorized_cb cb, void *arg)
{
    ic->on_unauthorized = cb;
    ic->on_unauthorized_arg = arg;
}

static struct ic_request *request_new(struct intercom *ic, const char *method)
{
    struct ic_request *r = xcalloc(1, sizeof *r);
    r->ic = ic;
    r->id = ++ic->next_id;
    r->method = xstrdup(method);
    r->transfer = (struct curl_transfer){.done = transfer_done, .owner = r, .header = header_line};
    rate_headers_clear(&r->rate);
    hashmap_put_u64(ic->requests, r->id, r);
    return r;
}

void intercom_raw(struct intercom *ic, const char *method, const char *url, const char *token,
                  const char *content_type, const char *body, intercom_raw_cb cb, void *arg)
{
    struct ic_request *r = request_new(ic, method);
    r->url = xstrdup(url);
    r->token = token ? xstrdup(token) : NULL;
    r->content_type = content_type ? xstrdup(content_type) : NULL;
    r->body = body ? xstrdup(body) : NULL;
    r->raw_cb = cb;
    r->arg = arg;
    send_now(r);
}

static struct ic_request *plugin_request(struct intercom *ic, struct sb_plugin *p,
                                         int64_t installation, const char *method,
                                         const char *path, json_object *body, unsigned flags)
{
    struct ic_request *r = request_new(ic, intercom_method_valid(method) ? method : "GET");
    r->plugin = p;
    r->installation = installation;
    r->flags = flags;
    r->path = xstrdup(path ? path : "");
    if (body)
        r->body = xstrdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    r->gov = governor_for(ic, installation);
    return r;
}

bool intercom_wrong_call(const struct sb_plugin *p, const char *service,
                         const sb_intercom_request *req, bool has_callbacks)
{
    const char *why = intercom_call_problem(req, has_callbacks);
    if (why)
        log_warn("intercom", "plugin %s: %s refused: %s", p->name, service, why);
    return why != NULL;
}

const char *intercom_installation_problem(struct intercom *ic, const struct sb_plugin *p,
                                          int64_t installation, sb_error_kind *kind,
                                          const char **code)
{
    struct installation *inst = installations_get(ic->srv->installations, installation);
    *kind = SB_ERR_REVOKED;
    *code = "revoked";
    if (!inst || strcmp(inst->plugin, p->name) != 0)
        return "no such installation for this plugin";
    if (inst->state == SB_INSTALLATION_REVOKED)
        return "the installation was revoked";
    if (inst->state == SB_INSTALLATION_NEEDS_REAUTH) {
        *kind = SB_ERR_NEEDS_REAUTH;
        *code = "needs_reauth";
        return "the workspace must install the app again";
    }
    return NULL;
}

/* Queue a plugin's request, or complete it at once with its installation's problem. */
static sb_request_id request_start(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                                   const sb_intercom_request *req, sb_intercom_cb cb, void *arg,
                                   struct ic_stream *stream)
{
    sb_error_kind kind;
    const char *code;
    const char *problem = intercom_installation_problem(ic, p, installation, &kind, &code);
    struct ic_request *r = plugin_request(ic, p, installation, req->method, req->path, req->body,
                                          req->flags);
    r->cb = cb;
    r->arg = arg;
    if (stream) {
        r->stream = stream;
        r->transfer.body_part = stream_body;
    }
    if (problem)
        complete(r, 0, kind, code, problem);
    else
        enqueue(r, false);
    return r->id;
}

sb_request_id intercom_request(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                               const sb_intercom_request *req, sb_intercom_cb cb, void *arg)
{
    if (intercom_wrong_call(p, "intercom_request", req, cb != NULL))
        return 0;
    return request_start(ic, p, installation, req, cb, arg, NULL);
}

sb_request_id intercom_stream(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                              const sb_intercom_request *req, const char *array_path,
                              sb_item_cb on_item, sb_intercom_cb done, void *arg)
{
    const char *why = intercom_stream_problem(req, array_path, on_item && done);
    if (why) {
        log_warn("intercom", "plugin %s: intercom_stream refused: %s", p->name, why);
        return 0;
    }
    return request_start(ic, p, installation, req, done, arg,
                         ic_stream_new(p, array_path, on_item, arg));
}

/* ---- for the walks (intercom_pages.c) ---- */

static struct ic_request *page_request(struct intercom *ic, struct sb_plugin *p,
                                       int64_t installation, const char *method,
                                       const char *path, json_object *body, unsigned flags,
                                       sb_intercom_cb page_done, void *walk)
{
    struct ic_request *r = plugin_request(ic, p, installation, method, path, body, flags);
    r->walk_page = true;
    r->cb = page_done;
    r->arg = walk;
    return r;
}

uint64_t intercom_send_page(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                            const char *method, const char *path, json_object *body,
                            unsigned flags, sb_intercom_cb page_done, void *walk)
{
    struct ic_request *r = page_request(ic, p, installation, method, path, body, flags,
                                        page_done, walk);
    enqueue(r, false);
    return r->id;
}

uint64_t intercom_fail_page(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                            const char *method, const char *path, sb_error_kind kind,
                            const char *code, const char *problem, sb_intercom_cb page_done,
                            void *walk)
{
    struct ic_request *r = page_request(ic, p, installation, method, path, NULL, 0, page_done,
                                        walk);
    complete(r, 0, kind, code, problem);
    return r->id;
}

/* ---- cancelling ---- */

/* Take a running transfer off the wire: its transfer_done never runs. */
static void stop_transfer(struct intercom *ic, struct ic_request *r)
{
    curl_loop_remove(ic->transport, r->easy);
    ic->in_flight--;
    if (r->gov)
        r->gov->rate.in_flight--;
}

static void cancel_request(struct intercom *ic, struct ic_request *r)
{
    if (r->gov && governor_unqueue(&r->gov->rate, &r->queued)) {
        /* it had not left */
    } else if (r->retry_timer && evtimer_pending(r->retry_timer, NULL)) {
        evtimer_del(r->retry_timer);
    } else if (r->easy) {
        stop_transfer(ic, r);
    }
    if (r->stream)
        ic_stream_stop(r->stream);
    complete(r, 0, SB_ERR_CANCELLED, "cancelled", "cancelled");
}

void intercom_drop_page(struct intercom *ic, uint64_t request)
{
    struct ic_request *r = hashmap_get_u64(ic->requests, request);
    if (r) {
        r->cb = NULL;
        cancel_request(ic, r);
    }
}

void intercom_cancel(struct intercom *ic, struct sb_plugin *p, sb_request_id id)
{
    if (intercom_walk_cancel(ic, p, id))
        return;
    struct ic_request *r = hashmap_get_u64(ic->requests, id);
    if (r && r->plugin == p)
        cancel_request(ic, r);
    else if (ic->delivering && ic->delivering->id == id && ic->delivering->plugin == p)
        ic_stream_stop(ic->delivering->stream); /* from one of its elements' callbacks */
}

void id_list_add(struct id_list *list, uint64_t id)
{
    if (list->n == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 16;
        list->ids = xrealloc(list->ids, list->cap * sizeof *list->ids);
    }
    list->ids[list->n++] = id;
}

/* A walk's page is left to its walk. */
static void collect_request(void *arg, void *value)
{
    struct id_list *ids = arg;
    struct ic_request *r = value;
    if ((!ids->plugin || r->plugin == ids->plugin) && !r->walk_page)
        id_list_add(ids, r->id);
}

void intercom_cancel_plugin(struct intercom *ic, struct sb_plugin *p)
{
    struct id_list ids = {.plugin = p};
    intercom_walk_ids(ic, &ids);
    hashmap_each(ic->requests, collect_request, &ids);
    for (size_t i = 0; i < ids.n; i++)
        intercom_cancel(ic, p, ids.ids[i]);
    free(ids.ids);
    /* Deliver the cancellations now: the plugin is about to shut down. */
    deliver_cb(-1, 0, ic);
}

void intercom_free(struct intercom *ic)
{
    if (!ic)
        return;
    struct id_list ids = {0};
    hashmap_each(ic->requests, collect_request, &ids);
    for (size_t i = 0; i < ids.n; i++) {
        struct ic_request *r = hashmap_get_u64(ic->requests, ids.ids[i]);
        if (r)
            cancel_request(ic, r);
    }
    free(ids.ids);
    deliver_cb(-1, 0, ic);
    hashmap_each(ic->governors, governor_free, NULL);
    hashmap_free(ic->governors);
    hashmap_free(ic->requests);
    hashmap_free(ic->walks);
    free(ic->streaming);
    event_free(ic->deliver_ev);
    curl_loop_free(ic->transport);
    free(ic);
}

struct queued_count {
    int n;
};

static void count_queued(void *arg, void *value)
{
    struct queued_count *qc = arg;
    qc->n += (int)governor_queued(&((struct ic_governor *)value)->rate);
}

void intercom_stats(const struct intercom *ic, struct intercom_stats *out)
{
    *out = ic->stats;
    out->in_flight = ic->in_flight;
    struct queued_count qc = {0};
    hashmap_each(ic->governors, count_queued, &qc);
    out->queued = qc.n;
}

static void set_share_cb(void *arg, void *value)
{
    governor_set_share(&((struct ic_governor *)value)->rate, *(int *)arg);
}

int intercom_nodes_sharing(const struct intercom *ic)
{
    return ic->nodes_sharing;
}

void intercom_set_nodes_sharing(struct intercom *ic, int nodes)
{
    if (nodes == ic->nodes_sharing)
        return;
    ic->nodes_sharing = nodes;
    hashmap_each(ic->governors, set_share_cb, &nodes);
}

json_object *intercom_governor_json(struct intercom *ic, int64_t installation)
{
    struct ic_governor *g = hashmap_get_u64(ic->governors, installation);
    return g ? governor_json(&g->rate) : json_object_new_object();
}
