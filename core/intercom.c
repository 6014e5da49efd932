/*
 * intercom.c - outbound calls to Intercom.
 *
 * Each request goes through the governor of its installation, which keeps
 * the rate-limit picture Intercom sends back (X-RateLimit-Remaining and
 * -Reset, per 10-second window): it sends freely while the window has room,
 * spaces requests out as the remaining budget nears zero, waits for the
 * window to reset when it is spent, and after a 429 holds everything until
 * the reset time plus jitter. Transfers run on a curl_loop (libcurl's multi
 * interface on libevent), so nothing ever blocks the loop and connections
 * are reused. A streamed request's 2xx body (intercom_stream.h) is read at
 * each delivery round as it arrives, instead of being collected whole.
 */
#include "intercom.h"

#include "crypto.h"
#include "curl_loop.h"
#include "errors.h"
#include "hashmap.h"
#include "http.h"
#include "installations.h"
#include "intercom_shapes.h"
#include "intercom_stream.h"
#include "lifecycle.h"
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
#define JITTER_MS 1000
/* Intercom splits its per-minute limit into windows of this length. */
#define RATE_WINDOW_MS 10000

struct governor;
struct walk;

struct ic_request {
    struct intercom *ic;
    uint64_t id;
    struct sb_plugin *plugin;   /* NULL: a raw request */
    int64_t installation;
    struct governor *gov;
    char *method;
    char *url;                  /* raw requests */
    char *path;                 /* installation requests: path and query */
    char *body;
    char *content_type;
    char *token;                /* raw requests only; installation tokens are unsealed per send */
    unsigned flags;
    uint32_t attempts;
    uint32_t rate_limit_waits;
    sb_intercom_cb cb;
    void *arg;
    intercom_raw_cb raw_cb;
    struct walk *walk;          /* set when this request fetches a page of a walk */
    struct ic_stream *stream;   /* intercom_stream: its 2xx answer, read as it arrives */
    bool stream_queued;         /* in ic->streaming */
    CURL *easy;
    struct curl_transfer transfer;
    struct curl_slist *headers;
    struct buf response;
    json_object *parsed;        /* a 2xx body, parsed once on arrival */
    char error[CURL_ERROR_SIZE];
    int64_t rl_limit, rl_remaining, rl_reset; /* -1: header absent */
    int64_t retry_after;        /* Retry-After in seconds, -1: absent */
    struct event *retry_timer;
    struct ic_request *next;    /* governor queue */
    /* Completion waiting to be delivered (callbacks never run inside the caller). */
    int final_status;
    sb_error_kind final_kind;
    uint32_t final_retry_after_s;
    char *final_code;
    char *final_message;
};

struct governor {
    struct intercom *ic;
    int64_t installation;
    int64_t limit;          /* X-RateLimit-Limit, -1 unknown */
    int64_t remaining;      /* our estimate for the current window, -1 unknown */
    int64_t reset_ms;       /* end of the current window */
    int64_t paused_until_ms;
    int64_t next_send_ms;   /* pacing */
    int in_flight;
    struct ic_request *head, *tail;
    struct event *timer;
    struct governor *next_waiting; /* in ic->waiting while it has a queue */
    bool in_waiting_list;
};

struct walk {
    struct intercom *ic;
    uint64_t id;
    struct sb_plugin *plugin;
    int64_t installation;
    char *method;
    char *path;
    json_object *body;
    unsigned flags;
    char *cursor;
    sb_page_cb page_cb;
    sb_intercom_cb done;
    void *arg;
    uint64_t current;       /* request fetching the current page, 0 if none */
    bool waiting_resume;
};

struct intercom {
    struct server *srv;
    struct curl_loop *transport;
    struct event *deliver_ev;
    struct hashmap *requests;   /* id -> ic_request */
    struct hashmap *walks;      /* id -> walk */
    struct hashmap *governors;  /* installation -> governor */
    struct ic_request **ready;  /* completed, awaiting their callback */
    size_t n_ready, cap_ready;
    uint64_t *streaming;        /* streamed requests with bytes to read at the next delivery */
    size_t n_streaming, cap_streaming;
    struct ic_request *delivering; /* completed, its last elements going out: cancel stops them */
    uint64_t next_id;
    int in_flight;
    struct intercom_stats stats;
};

static void send_now(struct ic_request *r);
static void pump(struct governor *g);
static void pump_all(struct intercom *ic);
static void walk_fetch(struct walk *w);

static void transfer_done(void *owner, CURLcode result);

/* ---- request lifetime ---- */

static void request_free(struct ic_request *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    if (r->retry_timer)
        event_free(r->retry_timer);
    buf_free(&r->response);
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

static void deliver_cb(evutil_socket_t fd, short what, void *arg);

/*
 * Seconds Intercom asked to wait: Retry-After, or for a 429 the end of the
 * rate window (X-RateLimit-Reset, Unix seconds); 0 if it did not say.
 */
static uint32_t asked_wait_s(const struct ic_request *r, int status)
{
    int64_t wait = r->retry_after > 0 ? r->retry_after : 0;
    if (status == 429 && r->rl_reset > 0) {
        int64_t until_reset = r->rl_reset - time_now_ms() / 1000;
        if (until_reset > wait)
            wait = until_reset;
    }
    return wait > 86400 ? 86400 : (uint32_t)wait;
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
        r->final_retry_after_s = asked_wait_s(r, status);
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

static void walk_page_done(struct walk *w, const sb_intercom_response *res);
static bool stream_failed(struct ic_request *r, enum ic_stream_state state);

/* Deliver a completion; false when it is not over after all (a streamed answer sent again). */
static bool deliver_one(struct ic_request *r)
{
    if (r->raw_cb) {
        r->raw_cb(r->arg, r->final_status, r->response.data ? r->response.data : "",
                  r->response.len, r->final_code ? r->final_message : NULL);
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
    if (!body && r->response.len) {
        enum json_tokener_error jerr;
        body = json_tokener_parse_verbose(r->response.data, &jerr);
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
    if (r->walk)
        walk_page_done(r->walk, &res);
    else if (r->cb)
        r->cb(r->arg, &res);
    json_object_put(body);
    return true;
}

static void stop_transfer(struct intercom *ic, struct ic_request *r);

/*
 * Hand the plugins the elements of streamed answers that arrived since the
 * last delivery, inside its turn scope: a plugin's writes for them commit
 * with that round's.
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
    turn_scope_enter(ic->srv->turn);
    read_streams(ic);
    for (size_t i = 0; i < n; i++)
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

static struct governor *governor_for(struct intercom *ic, int64_t installation)
{
    struct governor *g = hashmap_get_u64(ic->governors, installation);
    if (!g) {
        g = xcalloc(1, sizeof *g);
        g->ic = ic;
        g->installation = installation;
        g->limit = g->remaining = -1;
        g->timer = evtimer_new(ic->srv->base, governor_timer_cb, g);
        hashmap_put_u64(ic->governors, installation, g);
    }
    return g;
}

static void governor_free(void *arg, void *value)
{
    (void)arg;
    struct governor *g = value;
    event_free(g->timer);
    free(g);
}

static uint32_t random_u32(void)
{
    uint32_t r;
    if (crypto_random(&r, sizeof r) != 0)
        r = (uint32_t)rand();
    return r;
}

static void governor_wait(struct governor *g, int64_t delay_ms)
{
    if (delay_ms < 1)
        delay_ms = 1;
    struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000) * 1000};
    evtimer_add(g->timer, &tv);
    g->ic->stats.governor_waits++;
}

/*
 * How long the next request of this installation must wait, 0 to send now.
 * The budget estimate is spent as requests leave and corrected by each
 * response's headers.
 */
/*
 * A window ended and no answer has told about the next one yet (the first
 * answers of a window may all be resets, time-outs or faults without the
 * headers): assume Intercom's next 10-second window and its share of the
 * per-minute limit, rather than a window with no budget at all. The next
 * answer with headers corrects the guess.
 */
static void governor_roll_window(struct governor *g, int64_t now)
{
    if (g->reset_ms <= 0 || now < g->reset_ms || g->limit <= 0)
        return;
    g->reset_ms += ((now - g->reset_ms) / RATE_WINDOW_MS + 1) * RATE_WINDOW_MS;
    g->remaining = g->limit * RATE_WINDOW_MS / 60000;
    g->next_send_ms = 0;
}

static int64_t governor_delay(struct governor *g, int64_t now)
{
    if (now < g->paused_until_ms)
        return g->paused_until_ms - now;
    governor_roll_window(g, now);
    if (g->remaining < 0 || now >= g->reset_ms)
        return 0; /* unknown or a fresh window: the next response tells us */
    int64_t available = g->remaining;
    if (available <= 0)
        return g->reset_ms - now + (int64_t)(random_u32() % 250);
    int64_t window = g->limit > 0 ? g->limit / 6 : 0;
    int64_t low_water = window > 20 ? window / 10 : 2;
    if (available > low_water)
        return 0;
    /* Near the end of the budget: spread what is left over the rest of the window. */
    if (now < g->next_send_ms)
        return g->next_send_ms - now;
    return 0;
}

static void pump(struct governor *g)
{
    struct intercom *ic = g->ic;
    int per_inst = ic->srv->cfg->max_in_flight_per_installation;
    int global = ic->srv->cfg->max_in_flight;
    while (g->head && g->in_flight < per_inst && ic->in_flight < global) {
        int64_t now = time_now_ms();
        int64_t delay = governor_delay(g, now);
        if (delay > 0) {
            governor_wait(g, delay);
            return;
        }
        struct ic_request *r = g->head;
        g->head = r->next;
        if (!g->head)
            g->tail = NULL;
        r->next = NULL;
        if (g->remaining > 0 && now < g->reset_ms) {
            int64_t window = g->limit > 0 ? g->limit / 6 : 0;
            int64_t low_water = window > 20 ? window / 10 : 2;
            if (g->remaining <= low_water)
                g->next_send_ms = now + (g->reset_ms - now) / (g->remaining + 1);
            g->remaining--;
        }
        send_now(r);
    }
}

static void pump_all_cb(void *arg, void *value)
{
    (void)arg;
    struct governor *g = value;
    if (g->head)
        pump(g);
}

static void pump_all(struct intercom *ic)
{
    hashmap_each(ic->governors, pump_all_cb, NULL);
}

static void enqueue(struct ic_request *r, bool front)
{
    struct governor *g = r->gov;
    if (front) {
        r->next = g->head;
        g->head = r;
        if (!g->tail)
            g->tail = r;
    } else {
        r->next = NULL;
        if (g->tail)
            g->tail->next = r;
        else
            g->head = r;
        g->tail = r;
    }
    pump(g);
}

static void dequeue(struct ic_request *r)
{
    struct governor *g = r->gov;
    struct ic_request **pp = &g->head, *prev = NULL;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = r->next;
    if (g->tail == r)
        g->tail = prev;
    r->next = NULL;
}

static void governor_observe(struct governor *g, const struct ic_request *r, int status)
{
    if (r->rl_limit >= 0)
        g->limit = r->rl_limit;
    bool new_window = false;
    if (r->rl_reset >= 0) {
        int64_t reset_ms = r->rl_reset * 1000;
        new_window = reset_ms != g->reset_ms;
        if (new_window)
            g->next_send_ms = 0;
        g->reset_ms = reset_ms;
    }
    if (r->rl_remaining >= 0) {
        /* Requests still in flight were sent after this count was taken. */
        int64_t estimate = r->rl_remaining - g->in_flight;
        if (estimate < 0)
            estimate = 0;
        /* Answers overtake one another: within a window an older, higher count must not
           give back budget that later requests already spent. */
        if (new_window || g->remaining < 0 || estimate < g->remaining)
            g->remaining = estimate;
    }
    if (status == 429) {
        int64_t now = time_now_ms();
        int64_t until = g->reset_ms > now ? g->reset_ms : now + 1000;
        g->paused_until_ms = until + (int64_t)(random_u32() % JITTER_MS);
        g->remaining = 0;
    }
}

/* ---- sending ---- */

/* A streamed request's 2xx body waits for the next delivery, never read in libcurl's callback. */
static void stream_take(struct ic_request *r, const char *data, size_t len)
{
    struct intercom *ic = r->ic;
    ic_stream_take(r->stream, data, len);
    if (r->stream_queued)
        return;
    r->stream_queued = true;
    if (ic->n_streaming == ic->cap_streaming) {
        ic->cap_streaming = ic->cap_streaming ? ic->cap_streaming * 2 : 16;
        ic->streaming = xrealloc(ic->streaming, ic->cap_streaming * sizeof *ic->streaming);
    }
    ic->streaming[ic->n_streaming++] = r->id;
    event_active(ic->deliver_ev, 0, 0);
}

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
    struct ic_request *r = arg;
    long status = 0;
    if (r->stream && curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK
        && status >= 200 && status < 300) {
        stream_take(r, data, size * n);
        return size * n;
    }
    buf_append(&r->response, data, size * n);
    return size * n;
}

static bool header_value(const char *line, size_t len, const char *name, int64_t *out)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    char value[32];
    size_t vlen = len - n - 1;
    if (vlen >= sizeof value)
        vlen = sizeof value - 1;
    memcpy(value, line + n + 1, vlen);
    value[vlen] = '\0';
    *out = strtoll(value, NULL, 10);
    return true;
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct ic_request *r = arg;
    size_t len = size * n;
    if (!header_value(data, len, "X-RateLimit-Limit", &r->rl_limit)
        && !header_value(data, len, "X-RateLimit-Remaining", &r->rl_remaining)
        && !header_value(data, len, "X-RateLimit-Reset", &r->rl_reset))
        header_value(data, len, "Retry-After", &r->retry_after);
    return len;
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
    buf_free(&r->response);
    r->rl_limit = r->rl_remaining = r->rl_reset = r->retry_after = -1;
    r->error[0] = '\0';
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    r->headers = NULL;
    r->easy = curl_easy_init();
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->request_timeout_s * 1000);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(e, CURLOPT_USERAGENT, CURL_LOOP_USER_AGENT);
    if (strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
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
        r->gov->in_flight++;
    ic->stats.requests++;
    r->transfer = (struct curl_transfer){transfer_done, r};
    CURLMcode mc = curl_loop_add(ic->transport, e, &r->transfer);
    if (mc != CURLM_OK) {
        ic->in_flight--;
        if (r->gov)
            r->gov->in_flight--;
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
    json_object *body = r->response.len ? json_tokener_parse(r->response.data) : NULL;
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
    struct governor *g = r->gov;
    long status = 0;
    if (result == CURLE_OK)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    ic->in_flight--;
    if (g) {
        g->in_flight--;
        governor_observe(g, r, (int)status);
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
            complete(r, 0, SB_ERR_NETWORK, code, r->error[0] ? r->error : curl_easy_strerror(result));
        }
        return;
    }
    if (status >= 200 && status < 300) {
        ic->stats.responses_2xx++;
        /* A 2xx body that does not parse was cut off on the way: handed on as a NULL body
           it would read as an empty page, the end of a list, and a sync would stop early.
           A streamed one is read as it arrives, and its end at the delivery. */
        if (r->plugin && !r->stream && r->response.len
            && !(r->parsed = json_tokener_parse(r->response.data))) {
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
        struct installation *inst = installations_get(ic->srv->installations, r->installation);
        if (inst && inst->state == SB_INSTALLATION_ACTIVE)
            lifecycle_needs_reauth(ic->srv, inst, message ? message : "Intercom answered 401");
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
    return ic;
}

static struct ic_request *request_new(struct intercom *ic, const char *method)
{
    struct ic_request *r = xcalloc(1, sizeof *r);
    r->ic = ic;
    r->id = ++ic->next_id;
    r->method = xstrdup(method);
    r->rl_limit = r->rl_remaining = r->rl_reset = r->retry_after = -1;
    buf_init(&r->response);
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

/*
 * A call the plugin got wrong is refused with 0 and a log line, and its
 * callback never runs (switchboard.h); true if @p req is one.
 */
static bool wrong_call(const struct sb_plugin *p, const char *service,
                       const sb_intercom_request *req, bool has_callbacks)
{
    const char *why = intercom_call_problem(req, has_callbacks);
    if (why)
        log_warn("intercom", "plugin %s: %s refused: %s", p->name, service, why);
    return why != NULL;
}

/*
 * Why the installation cannot call Intercom now, or NULL. Not the plugin's
 * mistake: it completes through the callback, later, with *kind.
 */
static const char *installation_problem(struct intercom *ic, const struct sb_plugin *p,
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
    const char *problem = installation_problem(ic, p, installation, &kind, &code);
    struct ic_request *r = plugin_request(ic, p, installation, req->method, req->path, req->body,
                                          req->flags);
    r->cb = cb;
    r->arg = arg;
    r->stream = stream;
    if (problem)
        complete(r, 0, kind, code, problem);
    else
        enqueue(r, false);
    return r->id;
}

sb_request_id intercom_request(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                               const sb_intercom_request *req, sb_intercom_cb cb, void *arg)
{
    if (wrong_call(p, "intercom_request", req, cb != NULL))
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

/* ---- pagination ---- */

static void walk_free(struct walk *w)
{
    hashmap_remove_u64(w->ic->walks, w->id);
    free(w->method);
    free(w->path);
    json_object_put(w->body);
    free(w->cursor);
    free(w);
}

/* End a walk: with the last page's response, or stopped (@p code set: a CANCELLED walk). */
static void walk_finish(struct walk *w, const sb_intercom_response *res, const char *code,
                        const char *message)
{
    sb_intercom_response out = {.request = w->id, .installation = w->installation};
    if (res)
        out = *res;
    out.request = w->id;
    if (code) {
        out.error_code = code;
        out.error_message = message;
        out.kind = SB_ERR_CANCELLED;
        out.retry_after_s = 0;
    }
    sb_intercom_cb done = w->done;
    void *arg = w->arg;
    walk_free(w);
    if (done)
        done(arg, &out);
}

static void walk_page_done(struct walk *w, const sb_intercom_response *res)
{
    w->current = 0;
    if (res->error_code) {
        walk_finish(w, res, NULL, NULL);
        return;
    }
    json_object *items = intercom_page_items(res->body);
    const char *next = intercom_page_next(res->body);
    free(w->cursor);
    w->cursor = next ? xstrdup(next) : NULL;
    w->plugin->callbacks++;
    sb_status st = w->page_cb(w->arg, res, items, w->cursor);
    if (st == SB_PENDING) {
        w->waiting_resume = true;
        return;
    }
    if (st != SB_OK) {
        walk_finish(w, res, "stopped", "the page callback stopped the walk");
        return;
    }
    if (!w->cursor) {
        walk_finish(w, res, NULL, NULL);
        return;
    }
    walk_fetch(w);
}

static void walk_fetch(struct walk *w)
{
    struct intercom *ic = w->ic;
    char *path;
    json_object *body;
    intercom_page_request(w->method, w->path, w->body, w->cursor, &path, &body);
    struct ic_request *r = plugin_request(ic, w->plugin, w->installation, w->method, path, body,
                                          w->flags | SB_INTERCOM_RETRY_SAFE);
    json_object_put(body);
    free(path);
    r->walk = w;
    w->current = r->id;
    enqueue(r, false);
}

sb_request_id intercom_paginate(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                                const sb_intercom_request *req, const char *starting_after,
                                sb_page_cb page_cb, sb_intercom_cb done, void *arg)
{
    if (wrong_call(p, "intercom_paginate", req, page_cb && done))
        return 0;
    struct walk *w = xcalloc(1, sizeof *w);
    w->ic = ic;
    w->id = ++ic->next_id;
    w->plugin = p;
    w->installation = installation;
    w->method = xstrdup(req->method);
    w->path = xstrdup(req->path);
    /* The plugin's body is borrowed: keep a copy it cannot change under the walk. */
    if (req->body && json_object_deep_copy(req->body, &w->body, NULL) != 0)
        w->body = NULL;
    w->flags = req->flags;
    w->cursor = starting_after && *starting_after ? xstrdup(starting_after) : NULL;
    w->page_cb = page_cb;
    w->done = done;
    w->arg = arg;
    hashmap_put_u64(ic->walks, w->id, w);
    sb_error_kind kind;
    const char *code;
    const char *problem = installation_problem(ic, p, installation, &kind, &code);
    if (problem) {
        /* Report through a request so the callback still runs later, not in this frame. */
        struct ic_request *r = plugin_request(ic, p, installation, w->method, w->path, NULL, 0);
        r->walk = w;
        w->current = r->id;
        complete(r, 0, kind, code, problem);
    } else {
        walk_fetch(w);
    }
    return w->id;
}

int intercom_paginate_resume(struct intercom *ic, struct sb_plugin *p, sb_request_id id, int go_on)
{
    struct walk *w = hashmap_get_u64(ic->walks, id);
    if (!w || w->plugin != p || !w->waiting_resume)
        return -1;
    w->waiting_resume = false;
    if (!go_on)
        walk_finish(w, NULL, "stopped", "stopped by the plugin");
    else if (!w->cursor)
        walk_finish(w, NULL, NULL, NULL);
    else
        walk_fetch(w);
    return 0;
}

/* Take a running transfer off the wire: its transfer_done never runs. */
static void stop_transfer(struct intercom *ic, struct ic_request *r)
{
    curl_loop_remove(ic->transport, r->easy);
    ic->in_flight--;
    if (r->gov)
        r->gov->in_flight--;
}

static void cancel_request(struct intercom *ic, struct ic_request *r)
{
    bool queued = false;
    for (struct ic_request *q = r->gov ? r->gov->head : NULL; q; q = q->next)
        if (q == r)
            queued = true;
    if (queued)
        dequeue(r);
    else if (r->retry_timer && evtimer_pending(r->retry_timer, NULL))
        evtimer_del(r->retry_timer);
    else if (r->easy)
        stop_transfer(ic, r);
    if (r->stream)
        ic_stream_stop(r->stream);
    complete(r, 0, SB_ERR_CANCELLED, "cancelled", "cancelled");
}

void intercom_cancel(struct intercom *ic, struct sb_plugin *p, sb_request_id id)
{
    struct walk *w = hashmap_get_u64(ic->walks, id);
    if (w && w->plugin == p) {
        if (w->current) {
            struct ic_request *r = hashmap_get_u64(ic->requests, w->current);
            if (r) {
                r->walk = NULL; /* the walk ends here, not through its page */
                cancel_request(ic, r);
            }
        }
        walk_finish(w, NULL, "cancelled", "cancelled");
        return;
    }
    struct ic_request *r = hashmap_get_u64(ic->requests, id);
    if (r && r->plugin == p)
        cancel_request(ic, r);
    else if (ic->delivering && ic->delivering->id == id && ic->delivering->plugin == p)
        ic_stream_stop(ic->delivering->stream); /* from one of its elements' callbacks */
}

struct collect {
    struct sb_plugin *plugin;
    uint64_t *ids;
    size_t n, cap;
};

static void collect_walk(void *arg, void *value)
{
    struct collect *c = arg;
    struct walk *w = value;
    if (c->plugin && w->plugin != c->plugin)
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->ids = xrealloc(c->ids, c->cap * sizeof *c->ids);
    }
    c->ids[c->n++] = w->id;
}

static void collect_request(void *arg, void *value)
{
    struct collect *c = arg;
    struct ic_request *r = value;
    if ((c->plugin && r->plugin != c->plugin) || r->walk)
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->ids = xrealloc(c->ids, c->cap * sizeof *c->ids);
    }
    c->ids[c->n++] = r->id;
}

void intercom_cancel_plugin(struct intercom *ic, struct sb_plugin *p)
{
    struct collect c = {.plugin = p};
    hashmap_each(ic->walks, collect_walk, &c);
    hashmap_each(ic->requests, collect_request, &c);
    for (size_t i = 0; i < c.n; i++)
        intercom_cancel(ic, p, c.ids[i]);
    free(c.ids);
    /* Deliver the cancellations now: the plugin is about to shut down. */
    deliver_cb(-1, 0, ic);
}

void intercom_free(struct intercom *ic)
{
    if (!ic)
        return;
    struct collect c = {0};
    hashmap_each(ic->requests, collect_request, &c);
    for (size_t i = 0; i < c.n; i++) {
        struct ic_request *r = hashmap_get_u64(ic->requests, c.ids[i]);
        if (r)
            cancel_request(ic, r);
    }
    free(c.ids);
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
    for (struct ic_request *r = ((struct governor *)value)->head; r; r = r->next)
        qc->n++;
}

void intercom_stats(const struct intercom *ic, struct intercom_stats *out)
{
    *out = ic->stats;
    out->in_flight = ic->in_flight;
    struct queued_count qc = {0};
    hashmap_each(ic->governors, count_queued, &qc);
    out->queued = qc.n;
}

json_object *intercom_governor_json(struct intercom *ic, int64_t installation)
{
    struct governor *g = hashmap_get_u64(ic->governors, installation);
    json_object *o = json_object_new_object();
    if (!g)
        return o;
    json_object_object_add(o, "limit", json_object_new_int64(g->limit));
    json_object_object_add(o, "remaining_estimate", json_object_new_int64(g->remaining));
    json_object_object_add(o, "window_reset_ms", json_object_new_int64(g->reset_ms));
    json_object_object_add(o, "paused_until_ms", json_object_new_int64(g->paused_until_ms));
    json_object_object_add(o, "in_flight", json_object_new_int(g->in_flight));
    return o;
}
