/* replies.c - pending plugin answers with deadlines. */
#include "replies.h"

#include "answers.h"
#include "hashmap.h"
#include "http.h"
#include "log.h"
#include "plugins.h"
#include "server.h"
#include "turn.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct reply {
    struct replies *rs;
    sb_reply_token token;
    struct http_request *req;
    struct sb_plugin *plugin;
    enum reply_kind kind;
    struct event *deadline;
    /* An answer given inside a plugin scope waits here until the scope commits. */
    bool answered;
    int status;
    char *content_type;
    char *data;
    size_t len;
};

struct replies {
    struct server *srv;
    struct hashmap *open;
    uint64_t next_token;
    struct replies_held held; /* answered inside the current scope */
};

struct replies *replies_new(struct server *srv)
{
    struct replies *rs = xcalloc(1, sizeof *rs);
    rs->srv = srv;
    rs->open = hashmap_new();
    /* Start from a random point so tokens from different runs never collide in logs. */
    rs->next_token = (uint64_t)time_now_ms() << 16;
    return rs;
}

static void reply_close(struct reply *r)
{
    hashmap_remove_u64(r->rs->open, r->token);
    event_free(r->deadline);
    free(r->content_type);
    free(r->data);
    free(r);
}

/* Send now, or hold the bytes until the handler returns. */
static void deliver(struct reply *r, int status, const char *content_type, const void *data,
                    size_t len)
{
    struct replies *rs = r->rs;
    if (turn_in_scope(rs->srv->turn)) {
        r->answered = true;
        r->status = status;
        r->content_type = xstrdup(content_type);
        r->data = xmalloc(len + 1);
        memcpy(r->data, data, len);
        r->len = len;
        evtimer_del(r->deadline);
        struct replies_held *held = &rs->held;
        if (held->n == held->cap) {
            held->cap = held->cap ? held->cap * 2 : 16;
            held->tokens = xrealloc(held->tokens, held->cap * sizeof *held->tokens);
        }
        held->tokens[held->n++] = r->token;
        return;
    }
    http_reply(r->req, status, content_type, data, len);
    reply_close(r);
}

static void deliver_json(struct reply *r, int status, json_object *body)
{
    size_t len = 0;
    const char *text = body ? json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                            : "";
    deliver(r, status, "application/json", text, len);
    json_object_put(body);
}

/* @p code: the error's code for the API (NULL: the host's own for @p status). */
static void answer_for_plugin(struct reply *r, int status, const char *code, const char *message)
{
    if (r->kind == REPLY_CANVAS) {
        /* Intercom shows a 200 canvas; an HTTP error would only show a broken panel. */
        http_reply_json(r->req, 200, canvas_text(message, "error"));
    } else {
        http_reply_error(r->req, status,
                         code ? code : status == 504 ? "plugin_timeout" : "plugin_error", "%s",
                         message);
    }
    reply_close(r);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct reply *r = arg;
    (void)fd;
    (void)what;
    log_warn("replies", "plugin %s did not answer %s request %s in time", r->plugin->name,
             r->kind == REPLY_CANVAS ? "a canvas" : "an API", http_request_id(r->req));
    answer_for_plugin(r, 504, NULL,
                      r->kind == REPLY_CANVAS
                          ? "This panel took too long to load. Please try again in a moment."
                          : "the plugin did not answer in time");
}

sb_reply_token replies_open(struct replies *rs, struct http_request *req, struct sb_plugin *p,
                            enum reply_kind kind, int deadline_ms)
{
    struct reply *r = xcalloc(1, sizeof *r);
    r->rs = rs;
    r->token = ++rs->next_token;
    r->req = req;
    r->plugin = p;
    r->kind = kind;
    r->deadline = evtimer_new(rs->srv->base, deadline_cb, r);
    struct timeval tv = {deadline_ms / 1000, (deadline_ms % 1000) * 1000};
    evtimer_add(r->deadline, &tv);
    hashmap_put_u64(rs->open, r->token, r);
    return r->token;
}

static struct reply *find(struct replies *rs, struct sb_plugin *p, sb_reply_token token)
{
    struct reply *r = hashmap_get_u64(rs->open, token);
    if (!r || r->plugin != p || r->answered) {
        log_warn("replies", "plugin %s answered reply %llu, which is not open (answered already, "
                            "or its deadline passed)",
                 p->name, (unsigned long long)token);
        return NULL;
    }
    return r;
}

int replies_json(struct replies *rs, struct sb_plugin *p, sb_reply_token token, int status,
                 json_object *body)
{
    struct reply *r = find(rs, p, token);
    if (!r) {
        json_object_put(body);
        return -1;
    }
    if (r->kind == REPLY_CANVAS) {
        size_t size;
        const char *problem = canvas_problem(body, &size);
        if (problem) {
            log_warn("canvas", "plugin %s returned an invalid canvas (%zu bytes): %s", p->name,
                     size, problem);
            json_object_put(body);
            body = canvas_text("This panel could not be shown (invalid canvas).", "error");
        }
        status = 200;
    }
    if (status < 100 || status > 599)
        status = 500;
    deliver_json(r, status, body);
    return 0;
}

int replies_raw(struct replies *rs, struct sb_plugin *p, sb_reply_token token, int status,
                const char *content_type, const void *data, size_t len)
{
    struct reply *r = find(rs, p, token);
    if (!r)
        return -1;
    if (r->kind == REPLY_CANVAS) {
        /* Canvas answers must be JSON the host can check: parse and go the JSON way. */
        json_object *body = data ? json_tokener_parse(data) : NULL;
        return replies_json(rs, p, token, status, body);
    }
    if (status < 100 || status > 599)
        status = 500;
    deliver(r, status, content_type ? content_type : "application/octet-stream", data ? data : "",
            data ? len : 0);
    return 0;
}

void replies_after_handler(struct replies *rs, sb_reply_token token, sb_status status,
                           const sb_result *result)
{
    struct reply *r = hashmap_get_u64(rs->open, token);
    struct plugin_answer answer;
    /* Answered (maybe held until its scope commits), or later: PENDING, or by the deadline. */
    if (!r || r->answered
        || !answer_after_handler(r->kind == REPLY_CANVAS, status, result, &answer))
        return;
    if (status == SB_OK)
        log_warn("replies", "plugin %s returned OK without answering", r->plugin->name);
    else if (r->kind == REPLY_CANVAS)
        log_warn("canvas", "plugin %s canvas handler failed: %s", r->plugin->name,
                 result->message[0] ? result->message : "(no message)");
    if (answer.retry_after_s) {
        char secs[16];
        snprintf(secs, sizeof secs, "%u", answer.retry_after_s);
        http_add_header(r->req, "Retry-After", secs);
    }
    answer_for_plugin(r, answer.status, answer.code, answer.message);
    answer_free(&answer);
}

void replies_release(struct replies *rs, bool committed)
{
    replies_release_held(rs, &rs->held, committed);
}

void replies_hold_for_commit(struct replies *rs, struct replies_held *held)
{
    struct replies_held empty = *held;
    *held = rs->held;
    rs->held = empty;
}

void replies_release_held(struct replies *rs, struct replies_held *held, bool committed)
{
    size_t n = held->n;
    held->n = 0;
    for (size_t i = 0; i < n; i++) {
        struct reply *r = hashmap_get_u64(rs->open, held->tokens[i]);
        if (!r)
            continue;
        if (committed)
            http_reply(r->req, r->status, r->content_type, r->data, r->len);
        else if (r->kind == REPLY_CANVAS)
            http_reply_json(r->req, 200, canvas_text("This panel could not be saved. Please try "
                                                     "again.", "error"));
        else
            http_reply_error(r->req, 503, "store_error", "the plugin's changes could not be saved");
        reply_close(r);
    }
}

size_t replies_open_count(const struct replies *rs)
{
    return hashmap_count(rs->open);
}

static void collect(void *arg, void *value)
{
    struct reply ***cursor = arg;
    *(*cursor)++ = value;
}

void replies_free(struct replies *rs)
{
    if (!rs)
        return;
    size_t n = hashmap_count(rs->open);
    struct reply **all = xcalloc(n ? n : 1, sizeof *all), **cursor = all;
    hashmap_each(rs->open, collect, &cursor);
    for (size_t i = 0; i < n; i++)
        answer_for_plugin(all[i], 503, NULL, "the server is shutting down");
    free(all);
    hashmap_free(rs->open);
    free(rs->held.tokens);
    free(rs);
}
