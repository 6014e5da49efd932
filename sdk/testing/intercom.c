/*
 * intercom.c - the Intercom services: requests, streamed requests, pagination
 * walks, cancel, the typed writes and result_from_error, built as the host
 * builds them (core/intercom_shapes.c, compiled in) and answered from the
 * test's canned responses with the kinds the host gives (core/errors.c); a
 * streamed answer is read by the host's own reader (core/json_stream.c).
 */
#include "calls.h"

#include "errors.h"
#include "intercom_shapes.h"
#include "json_stream.h"

#include <stdlib.h>
#include <string.h>

/* A wrong call returns 0 and never completes; the installation's state completes through the callback. */
static bool wrong_call(struct sbt_kit *kit, const char *call, const sb_intercom_request *req,
                       bool has_callbacks)
{
    const char *why = intercom_call_problem(req, has_callbacks);
    if (why)
        kit_log(kit, SB_LOG_WARN, "%s refused: %s", call, why);
    return why != NULL;
}

static void check_installation(struct sbt_kit *kit, struct kit_call *c)
{
    struct kit_installation *inst = kit_installation(kit, c->pub.installation);
    if (!inst || inst->state == SB_INSTALLATION_REVOKED)
        kit_call_force(c, 0, SB_ERR_REVOKED, "revoked",
                       inst ? "the installation was revoked" : "unknown installation");
    else if (inst->state == SB_INSTALLATION_NEEDS_REAUTH)
        kit_call_force(c, 0, SB_ERR_NEEDS_REAUTH, "needs_reauth",
                       "no usable token for this installation");
}

static struct kit_call *send_call(struct sbt_kit *kit, enum call_service service,
                                  sb_installation_id inst, const char *method, const char *path,
                                  json_object *body, unsigned flags, sb_intercom_cb cb, void *arg)
{
    struct kit_call *c = kit_call_new(kit, service, inst, method, path, body);
    c->pub.flags = flags;
    c->intercom_cb = cb;
    c->arg = arg;
    check_installation(kit, c);
    KIT_PUSH(kit, intercom_calls, c);
    kit_pending_push(kit, c, NULL);
    return c;
}

static sb_request_id h_intercom_request(sb_plugin *self, sb_installation_id inst,
                                        const sb_intercom_request *req, sb_intercom_cb cb,
                                        void *arg)
{
    struct sbt_kit *kit = kit_of(self, "intercom_request");
    if (!kit || wrong_call(kit, "intercom_request", req, cb != NULL))
        return 0;
    return send_call(kit, CALL_INTERCOM, inst, req->method, req->path, req->body, req->flags, cb,
                     arg)->pub.id;
}

static sb_request_id h_intercom_stream(sb_plugin *self, sb_installation_id inst,
                                       const sb_intercom_request *req, const char *array_path,
                                       sb_item_cb on_item, sb_intercom_cb done, void *arg)
{
    struct sbt_kit *kit = kit_of(self, "intercom_stream");
    if (!kit)
        return 0;
    const char *why = intercom_stream_problem(req, array_path, on_item && done);
    if (why) {
        kit_log(kit, SB_LOG_WARN, "intercom_stream refused: %s", why);
        return 0;
    }
    struct kit_call *c = send_call(kit, CALL_STREAM, inst, req->method, req->path, req->body,
                                   req->flags, done, arg);
    c->stream_path = xstrdup(array_path);
    c->item_cb = on_item;
    return c->pub.id;
}

/* ---- answers ---- */

struct answer {
    int status;
    json_object *body;
    sb_error_kind kind;
    uint32_t retry_after_s;
    char *code, *message;
};

static int hand_item(void *arg, json_object *item, size_t index)
{
    const struct kit_call *c = arg;
    if (c->stream_cancelled)
        return 1;
    return c->item_cb(c->arg, item, index) != SB_OK || c->stream_cancelled;
}

/*
 * A 2xx answer to intercom_stream, as the host reads it: the array's elements
 * go to the plugin one by one, the rest becomes the body; a body that is not
 * JSON fails as the host's does, a stop by the plugin as cancelled.
 */
static void stream_answer(struct sbt_kit *kit, struct kit_call *c, const char *text,
                          struct answer *a)
{
    if (!text || !*text)
        return; /* no body: nothing to hand out, done() gets none (as intercom_request) */
    struct json_stream *js = json_stream_new(c->stream_path, INTERCOM_STREAM_MAX_BYTES,
                                             INTERCOM_STREAM_MAX_BYTES, hand_item, c);
    kit->streaming = c;
    enum json_stream_status st = json_stream_feed(js, text, strlen(text));
    kit->streaming = NULL;
    if (st == JSON_STREAM_OK)
        st = json_stream_finish(js, &a->body);
    json_stream_free(js);
    if (st == JSON_STREAM_OK)
        return;
    a->status = 0;
    if (st == JSON_STREAM_STOPPED) {
        bool stopped = !c->stream_cancelled;
        a->kind = SB_ERR_CANCELLED;
        a->code = xstrdup(stopped ? "stopped" : "cancelled");
        a->message = xstrdup(stopped ? "the item callback stopped the request" : "cancelled");
    } else {
        a->kind = SB_ERR_SERVER_ERROR;
        a->code = xstrdup("invalid_response");
        a->message = xstrdup("Intercom's answer was not valid JSON (cut off on the way?)");
    }
}

/* Decide a call's answer: forced, the responder, a canned one, or 404. */
static void answer_call(struct sbt_kit *kit, struct kit_call *c, struct answer *a)
{
    *a = (struct answer){0};
    if (c->forced) {
        a->status = c->forced_status;
        a->kind = c->forced_kind;
        a->code = c->forced_code ? xstrdup(c->forced_code) : NULL;
        a->message = c->forced_message ? xstrdup(c->forced_message) : NULL;
        return;
    }
    sbt_answer given = {0};
    struct canned canned;
    const char *body_text = NULL;
    bool have_canned = false;
    if (kit->intercom_responder && kit->intercom_responder(kit->intercom_responder_arg, &c->pub, &given)) {
        body_text = given.body;
    } else if (kit_canned_answer(&kit->intercom_canned, &kit->n_intercom_canned, c->method,
                                 c->path, &canned)) {
        have_canned = true;
        given.status = canned.status;
        body_text = canned.body;
    } else {
        kit_log(kit, SB_LOG_INFO, "sbt: no answer for %s %s; answering 404", c->method, c->path);
        given.status = 404;
        body_text = "{\"type\":\"error.list\",\"errors\":[{\"code\":\"not_found\","
                    "\"message\":\"no canned response\"}]}";
    }
    a->status = given.status;
    a->kind = errors_kind_for_status(given.status);
    if (c->service == CALL_STREAM && a->kind == SB_ERR_NONE) {
        stream_answer(kit, c, body_text, a);
        if (have_canned)
            kit_canned_free(&canned);
        return;
    }
    a->body = body_text && *body_text ? json_tokener_parse(body_text) : NULL;
    if (a->kind == SB_ERR_RATE_LIMITED || a->kind == SB_ERR_SERVER_ERROR)
        a->retry_after_s = given.retry_after_s;
    if (a->kind != SB_ERR_NONE) {
        const char *code, *message;
        intercom_error_fields(a->body, &code, &message);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "http_%d", given.status);
        a->code = xstrdup(code ? code : given.status ? fallback : "connection");
        a->message = message ? xstrdup(message) : NULL;
    }
    if (have_canned)
        kit_canned_free(&canned);
}

static void answer_free(struct answer *a)
{
    json_object_put(a->body);
    free(a->code);
    free(a->message);
}

/* As the host on a 401: the installation needs a new install, and the plugin hears it first. */
static void lost_token(struct sbt_kit *kit, sb_installation_id id)
{
    struct kit_installation *inst = kit_installation(kit, id);
    if (!inst || inst->state != SB_INSTALLATION_ACTIVE)
        return;
    inst->state = SB_INSTALLATION_NEEDS_REAUTH;
    if (kit->desc.on_installation) {
        sb_installation view;
        kit_installation_view(inst, &view);
        kit->desc.on_installation(kit->state, &view, SB_NEEDS_REAUTH, kit_fresh_result(kit));
    }
}

static sb_intercom_response response_of(const struct kit_call *c, const struct answer *a)
{
    return (sb_intercom_response){
        .request = c->pub.id,
        .installation = c->pub.installation,
        .status = a->status,
        .body = a->body,
        .error_code = a->code,
        .error_message = a->code ? (a->message ? a->message : a->code) : NULL,
        .attempts = 1,
        .kind = a->kind,
        .retry_after_s = a->retry_after_s,
    };
}

static void walk_page(struct sbt_kit *kit, struct kit_walk *w, const sb_intercom_response *res);

void kit_intercom_deliver(struct sbt_kit *kit, struct kit_call *c)
{
    if (c->delivered)
        return;
    c->delivered = true;
    struct answer a;
    answer_call(kit, c, &a);
    if (a.status == 401)
        lost_token(kit, c->pub.installation);
    sb_intercom_response res = response_of(c, &a);
    if (c->walk)
        walk_page(kit, c->walk, &res);
    else
        c->intercom_cb(c->arg, &res);
    answer_free(&a);
}

/* ---- pagination ---- */

static void walk_finish(struct sbt_kit *kit, struct kit_walk *w, const sb_intercom_response *last,
                        const char *code, const char *message)
{
    (void)kit;
    w->finished = true;
    w->current = NULL;
    sb_intercom_response out = last ? *last : (sb_intercom_response){.request = w->id,
                                                                     .installation = w->inst};
    out.request = w->id;
    if (code) {
        out.error_code = code;
        out.error_message = message;
        out.kind = SB_ERR_CANCELLED;
    }
    w->done(w->arg, &out);
}

static void walk_fetch(struct sbt_kit *kit, struct kit_walk *w)
{
    char *path;
    json_object *body;
    intercom_page_request(w->method, w->path, w->body, w->cursor, &path, &body);
    struct kit_call *c = send_call(kit, CALL_PAGINATE, w->inst, w->method, path, body,
                                   w->flags | SB_INTERCOM_RETRY_SAFE, NULL, NULL);
    c->walk = w;
    w->current = c;
    json_object_put(body);
    free(path);
}

static void walk_page(struct sbt_kit *kit, struct kit_walk *w, const sb_intercom_response *res)
{
    w->current = NULL;
    if (res->error_code) {
        w->finished = true;
        w->done(w->arg, res);
        return;
    }
    free(w->cursor);
    const char *next = intercom_page_next(res->body);
    w->cursor = next ? xstrdup(next) : NULL;
    sb_status st = w->page_cb(w->arg, res, intercom_page_items(res->body), w->cursor);
    if (st == SB_PENDING)
        w->waiting_resume = true;
    else if (st != SB_OK)
        walk_finish(kit, w, res, "stopped", "the page callback stopped the walk");
    else if (!w->cursor)
        walk_finish(kit, w, res, NULL, NULL);
    else
        walk_fetch(kit, w);
}

void kit_walk_end_deliver(struct sbt_kit *kit, struct kit_walk *w)
{
    if (!w->finished)
        walk_finish(kit, w, NULL, w->end_code, w->end_code);
}

static struct kit_walk *walk_find(struct sbt_kit *kit, sb_request_id id)
{
    for (size_t i = 0; i < kit->n_walks; i++)
        if (kit->walks[i]->id == id)
            return kit->walks[i];
    return NULL;
}

static sb_request_id h_intercom_paginate(sb_plugin *self, sb_installation_id inst,
                                         const sb_intercom_request *req, const char *starting_after,
                                         sb_page_cb page_cb, sb_intercom_cb done, void *arg)
{
    struct sbt_kit *kit = kit_of(self, "intercom_paginate");
    if (!kit || wrong_call(kit, "intercom_paginate", req, page_cb && done))
        return 0;
    struct kit_walk *w = xcalloc(1, sizeof *w);
    w->id = ++kit->next_request_id;
    w->inst = inst;
    w->method = xstrdup(req->method);
    w->path = xstrdup(req->path);
    if (req->body) /* borrowed: keep a copy, not the plugin's object */
        json_object_deep_copy(req->body, &w->body, NULL);
    w->flags = req->flags;
    w->cursor = starting_after && *starting_after ? xstrdup(starting_after) : NULL;
    w->page_cb = page_cb;
    w->done = done;
    w->arg = arg;
    KIT_PUSH(kit, walks, w);
    walk_fetch(kit, w);
    return w->id;
}

static int h_paginate_resume(sb_plugin *self, sb_request_id id, int go_on)
{
    struct sbt_kit *kit = kit_of(self, "paginate_resume");
    struct kit_walk *w = kit ? walk_find(kit, id) : NULL;
    if (!w || !w->waiting_resume || w->finished)
        return -1;
    w->waiting_resume = false;
    if (go_on && w->cursor) {
        walk_fetch(kit, w);
    } else {
        w->end_code = go_on ? NULL : xstrdup("stopped");
        kit_pending_push(kit, NULL, w);
    }
    return 0;
}

static void h_intercom_cancel(sb_plugin *self, sb_request_id id)
{
    struct sbt_kit *kit = kit_of(self, "intercom_cancel");
    if (!kit)
        return;
    struct kit_walk *w = walk_find(kit, id);
    if (w && !w->finished) {
        if (w->current) {
            /* The page in flight completes the walk, as cancelled. */
            w->current->pub.cancelled = true;
            kit_call_force(w->current, 0, SB_ERR_CANCELLED, "cancelled", "cancelled");
        } else if (!w->end_code) {
            w->waiting_resume = false;
            w->end_code = xstrdup("cancelled");
            kit_pending_push(kit, NULL, w);
        }
        return;
    }
    struct kit_call *c = kit_call_find(kit, id);
    if (c && c->service != CALL_OUTBOUND && !c->delivered) {
        c->pub.cancelled = true;
        kit_call_force(c, 0, SB_ERR_CANCELLED, "cancelled", "cancelled");
    } else if (c && c == kit->streaming) { /* from one of its elements' callbacks, as the host */
        c->pub.cancelled = true;
        c->stream_cancelled = true;
    }
}

/* ---- typed writes (the host's request shapes, core/intercom_shapes.c) ---- */

/* Record a built request as sent, or log why it was refused and return 0. */
static sb_request_id send_shape(struct sbt_kit *kit, enum call_service service,
                                sb_installation_id inst, const char *call, const char *refusal,
                                struct intercom_shape *shape, sb_intercom_cb cb, void *arg)
{
    if (!refusal && !cb)
        refusal = "a callback is required";
    if (refusal) {
        kit_log(kit, SB_LOG_WARN, "%s refused: %s", call, refusal);
        intercom_shape_free(shape);
        return 0;
    }
    sb_request_id id = send_call(kit, service, inst, shape->method, shape->path, shape->body,
                                 shape->flags, cb, arg)->pub.id;
    intercom_shape_free(shape);
    return id;
}

static sb_request_id h_set_attributes(sb_plugin *self, sb_installation_id inst,
                                      sb_object_type type, const char *id,
                                      json_object *attributes, sb_intercom_cb cb, void *arg)
{
    struct sbt_kit *kit = kit_of(self, "set_attributes");
    if (!kit)
        return 0;
    struct intercom_shape shape = {0};
    const char *refusal = intercom_shape_set_attributes(type, id, attributes, &shape);
    return send_shape(kit, CALL_SET_ATTRIBUTES, inst, "set_attributes", refusal, &shape, cb, arg);
}

static sb_request_id h_conversation_reply(sb_plugin *self, sb_installation_id inst,
                                          const char *conversation_id, sb_reply_type type,
                                          const char *body_html, const char *admin_id,
                                          sb_intercom_cb cb, void *arg)
{
    struct sbt_kit *kit = kit_of(self, "conversation_reply");
    if (!kit)
        return 0;
    struct kit_installation *installation = kit_installation(kit, inst);
    const char *admin = admin_id ? admin_id : installation ? installation->admin_id : NULL;
    struct intercom_shape shape = {0};
    const char *refusal = intercom_shape_conversation_reply(conversation_id, type, body_html,
                                                            admin, &shape);
    return send_shape(kit, CALL_REPLY, inst, "conversation_reply", refusal, &shape, cb, arg);
}

static sb_status h_result_from_error(sb_plugin *self, const sb_intercom_response *response,
                                     const char *what, sb_result *result)
{
    (void)self;
    return errors_result_from_response(response, what, result);
}

void kit_install_intercom(sb_host *host)
{
    host->intercom_request = h_intercom_request;
    host->intercom_stream = h_intercom_stream;
    host->intercom_paginate = h_intercom_paginate;
    host->paginate_resume = h_paginate_resume;
    host->intercom_cancel = h_intercom_cancel;
    host->set_attributes = h_set_attributes;
    host->conversation_reply = h_conversation_reply;
    host->result_from_error = h_result_from_error;
}

void kit_walks_free(struct sbt_kit *kit)
{
    for (size_t i = 0; i < kit->n_walks; i++) {
        struct kit_walk *w = kit->walks[i];
        free(w->method);
        free(w->path);
        free(w->cursor);
        free(w->end_code);
        json_object_put(w->body);
        free(w);
    }
    free(kit->walks);
}

int sbt_intercom_on(sbt_kit *kit, const char *method, const char *path, int status,
                    const char *body_json)
{
    return kit_canned_add(kit, true, method, path, false, status, NULL, body_json);
}

int sbt_intercom_once(sbt_kit *kit, const char *method, const char *path, int status,
                      const char *body_json)
{
    return kit_canned_add(kit, true, method, path, true, status, NULL, body_json);
}

void sbt_intercom_responder(sbt_kit *kit, sbt_responder fn, void *arg)
{
    kit->intercom_responder = fn;
    kit->intercom_responder_arg = arg;
}
