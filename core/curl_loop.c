/*
 * curl_loop.c - libcurl's socket and timer callbacks as libevent events.
 *
 * libcurl tells which sockets to watch (socket_cb) and when it next needs to
 * be woken (timer_cb); each readiness or timeout is handed back with
 * curl_multi_socket_action, after which finished transfers are collected and
 * their done callbacks run. Nothing blocks the loop and connections are
 * reused across transfers of the same curl_loop. A transfer's answer (its body
 * and header lines) arrives through the write and header callbacks below,
 * the one place every user's answers pass.
 */
#include "curl_loop.h"

#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct curl_loop {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    void (*after_done)(void *arg);
    void *after_done_arg;
    struct held_transfer {
        CURL *easy;
        unsigned long hold; /* the newest hold when it was added: sent when that one ends */
    } *held; /* added while transfers are held (curl_loop_hold), in order */
    size_t n_held, cap_held;
    struct curl_loop *next; /* every loop, for curl_loop_release */
};

/* Loop thread only, as everything here. */
static struct curl_loop *all_loops;
static unsigned long holds_begun, holds_ended; /* holding while they differ */

/* What one watched socket has: its event, replaced when libcurl changes the interest. */
struct sock_ctx {
    struct event *ev;
};

/* ---- libcurl's sockets and timer as libevent events ---- */

static void collect_done(struct curl_loop *cl)
{
    CURLMsg *msg;
    int left;
    bool any = false;
    while ((msg = curl_multi_info_read(cl->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct curl_transfer *t = NULL;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(cl->multi, easy);
        if (t && t->done)
            t->done(t->owner, result);
        any = true;
    }
    if (any && cl->after_done)
        cl->after_done(cl->after_done_arg);
}

static void sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct curl_loop *cl = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(cl->multi, fd, flags, &running);
    collect_done(cl);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct curl_loop *cl = userp;
    struct sock_ctx *ctx = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (ctx) {
            event_free(ctx->ev);
            free(ctx);
            curl_multi_assign(cl->multi, s, NULL);
        }
        return 0;
    }
    short kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0)
                         | (what & CURL_POLL_OUT ? EV_WRITE : 0));
    if (!ctx) {
        ctx = xcalloc(1, sizeof *ctx);
        curl_multi_assign(cl->multi, s, ctx);
    } else {
        event_free(ctx->ev);
    }
    ctx->ev = event_new(cl->base, s, kind, sock_event_cb, cl);
    event_add(ctx->ev, NULL);
    return 0;
}

static void timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct curl_loop *cl = arg;
    (void)fd;
    (void)what;
    int running;
    curl_multi_socket_action(cl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect_done(cl);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct curl_loop *cl = userp;
    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(cl->timer);
    } else {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        evtimer_add(cl->timer, &tv);
    }
    return 0;
}

/* ---- a transfer's answer ---- */

static size_t body_cb(char *data, size_t size, size_t n, void *arg)
{
    struct curl_transfer *t = arg;
    size_t len = size * n;
    if (t->body_part && t->body_part(t->owner, data, len))
        return len;
    if (t->max_body && t->body.len + len > t->max_body) {
        t->too_large = true;
        return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
    }
    buf_append(&t->body, data, len);
    return len;
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct curl_transfer *t = arg;
    size_t len = size * n;
    if (t->header)
        t->header(t->owner, data, len);
    return len;
}

CURL *curl_transfer_easy(struct curl_transfer *t, const char *url, const char *method,
                         const char *protocols, long timeout_ms, long connect_timeout_ms)
{
    buf_free(&t->body);
    t->too_large = false;
    t->error[0] = '\0';
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, CURL_LOOP_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    return e;
}

/* ---- the loop ---- */

struct curl_loop *curl_loop_new(struct event_base *base, long max_connects,
                                void (*after_done)(void *arg), void *arg)
{
    struct curl_loop *cl = xcalloc(1, sizeof *cl);
    cl->multi = curl_multi_init();
    if (!cl->multi) {
        free(cl);
        return NULL;
    }
    cl->base = base;
    cl->after_done = after_done;
    cl->after_done_arg = arg;
    cl->timer = evtimer_new(base, timer_event_cb, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
    curl_multi_setopt(cl->multi, CURLMOPT_MAXCONNECTS, max_connects);
    cl->next = all_loops;
    all_loops = cl;
    return cl;
}

void curl_loop_free(struct curl_loop *cl)
{
    if (!cl)
        return;
    for (struct curl_loop **link = &all_loops; *link; link = &(*link)->next)
        if (*link == cl) {
            *link = cl->next;
            break;
        }
    /* Closes the kept connections, which removes their socket events through socket_cb. */
    curl_multi_cleanup(cl->multi);
    event_free(cl->timer);
    free(cl->held);
    free(cl);
}

CURLMcode curl_loop_add(struct curl_loop *cl, CURL *easy, struct curl_transfer *transfer)
{
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer);
    if (holds_begun != holds_ended) {
        if (cl->n_held == cl->cap_held) {
            cl->cap_held = cl->cap_held ? cl->cap_held * 2 : 8;
            cl->held = xrealloc(cl->held, cl->cap_held * sizeof *cl->held);
        }
        cl->held[cl->n_held++] = (struct held_transfer){easy, holds_begun};
        return CURLM_OK;
    }
    return curl_multi_add_handle(cl->multi, easy);
}

void curl_loop_remove(struct curl_loop *cl, CURL *easy)
{
    for (size_t i = 0; i < cl->n_held; i++)
        if (cl->held[i].easy == easy) {
            memmove(cl->held + i, cl->held + i + 1, (cl->n_held - i - 1) * sizeof *cl->held);
            cl->n_held--;
            return;
        }
    curl_multi_remove_handle(cl->multi, easy);
}

/* ---- holding transfers back ---- */

void curl_loop_hold(void)
{
    holds_begun++;
}

void curl_loop_release(void)
{
    if (holds_ended == holds_begun)
        return;
    holds_ended++;
    for (struct curl_loop *cl = all_loops; cl; cl = cl->next) {
        /* Those added up to the hold that ended, in order: a prefix (holds only grow). Taken
           out first: a failed start's done may add again. */
        size_t n = 0;
        while (n < cl->n_held && cl->held[n].hold <= holds_ended)
            n++;
        if (!n)
            continue;
        CURL **ready = xmalloc(n * sizeof *ready);
        for (size_t i = 0; i < n; i++)
            ready[i] = cl->held[i].easy;
        memmove(cl->held, cl->held + n, (cl->n_held - n) * sizeof *cl->held);
        cl->n_held -= n;
        for (size_t i = 0; i < n; i++) {
            CURL *easy = ready[i];
            if (curl_multi_add_handle(cl->multi, easy) == CURLM_OK)
                continue;
            /* Its add already answered OK: it ends here, through done, as a failed start. */
            struct curl_transfer *t = NULL;
            curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
            snprintf(t->error, sizeof t->error, "the transfer could not be started");
            t->done(t->owner, CURLE_FAILED_INIT);
        }
        free(ready);
    }
}
