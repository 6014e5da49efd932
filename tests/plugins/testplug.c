/*
 * testplug - the plugin the integration tests drive. It uses every host
 * service and records what happens to it in its own documents, which the
 * tests read back through its product API. Its behaviour per installation
 * is chosen by settings (event_mode, canvas_mode, ...).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <switchboard/helpers.h>
#include <switchboard/switchboard.h>

struct state {
    sb_plugin *self;
    const sb_host *host;
};

static const char *const event_modes[] = {"ok", "retry", "fail", "pending", "call",
                                          "checkpoint", NULL};
static const char *const canvas_modes[] = {"ok", "late", "slow_ok", "invalid", "fail", NULL};

static const sb_setting settings[] = {
    {.name = "event_mode", .type = SB_SETTING_ENUM, .default_value = "ok",
     .allowed = event_modes, .description = "what on_event does"},
    {.name = "canvas_mode", .type = SB_SETTING_ENUM, .default_value = "ok",
     .allowed = canvas_modes, .description = "how the canvas answers"},
    {.name = "tick_interval_s", .type = SB_SETTING_INT, .default_value = "3600", .min = 1,
     .max = 86400, .description = "interval of the tick schedule"},
    {.name = "label", .type = SB_SETTING_STRING, .default_value = "", .description = "free text"},
    {.name = "endpoint_key", .type = SB_SETTING_STRING, .flags = SB_SETTING_SENSITIVE,
     .description = "a sensitive value, never shown"},
    {.name = "tags", .type = SB_SETTING_STRING_LIST, .default_value = "a,b"},
    {.name = NULL},
};

static const char *const topics[] = {"conversation.user.created", "conversation.user.replied",
                                     NULL};

static const sb_schedule schedules[] = {
    {.name = "tick", .interval_s = 3600, .interval_setting = "tick_interval_s",
     .setting_unit_s = 1},
    {.name = NULL},
};

/* ---- helpers ---- */

static json_object *setting(struct state *s, sb_installation_id inst, const char *name)
{
    json_object *all = s->host->settings_get(s->self, inst), *v = NULL;
    if (all && json_object_object_get_ex(all, name, &v))
        json_object_get(v);
    json_object_put(all);
    return v;
}

static char *setting_string(struct state *s, sb_installation_id inst, const char *name)
{
    json_object *v = setting(s, inst, name);
    char *out = strdup(v ? json_object_get_string(v) : "");
    json_object_put(v);
    return out;
}

static void record(struct state *s, sb_installation_id inst, const char *collection,
                   const char *key, json_object *value)
{
    s->host->doc_put(s->self, inst, collection, key, value);
    json_object_put(value);
}

static json_object *obj(void)
{
    return json_object_new_object();
}

static const char *str_member(json_object *o, const char *key)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static int64_t int_member(json_object *o, const char *key, int64_t fallback)
{
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : fallback;
}

/* Answer with @p body and release it (respond borrows). */
static void answer(struct state *s, sb_reply_token reply, int status, json_object *body)
{
    s->host->respond(s->self, reply, status, body);
    json_object_put(body);
}

/* ---- lifecycle ---- */

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    (void)result;
    json_object *fail;
    if (json_object_object_get_ex(config, "fail_init", &fail) && json_object_get_boolean(fail))
        return sb_result_set(result, SB_FAIL, "asked to fail by options.fail_init");
    struct state *s = calloc(1, sizeof *s);
    if (!s)
        return sb_result_set(result, SB_FAIL, "out of memory");
    s->self = self;
    s->host = host;
    *state = s;
    host->log(self, SB_LOG_INFO, "testplug ready");
    return SB_OK;
}

static void shutdown_plugin(void *state)
{
    free(state);
}

/* options.rules, if given: a list of { name = "..."; } with non-empty names. */
static sb_status check_rules(json_object *rules, sb_result *result)
{
    if (!json_object_is_type(rules, json_type_array)) {
        snprintf(result->where, sizeof result->where, "rules");
        return sb_result_set(result, SB_FAIL, "must be a list of rules");
    }
    for (size_t i = 0; i < json_object_array_length(rules); i++) {
        json_object *name;
        if (!json_object_object_get_ex(json_object_array_get_idx(rules, i), "name", &name)
            || !json_object_is_type(name, json_type_string)
            || !*json_object_get_string(name)) {
            snprintf(result->where, sizeof result->where, "rules[%zu].name", i);
            return sb_result_set(result, SB_FAIL, "a rule needs a non-empty name");
        }
    }
    return SB_OK;
}

static sb_status check_config(json_object *config, sb_result *result)
{
    json_object *v;
    if (json_object_object_get_ex(config, "reject", &v) && json_object_get_boolean(v))
        return sb_result_set(result, SB_FAIL, "options.reject is set");
    if (json_object_object_get_ex(config, "rules", &v))
        return check_rules(v, result);
    return SB_OK;
}

static sb_status on_installation(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result)
{
    struct state *s = state;
    static const char *const names[] = {"installed", "uninstalled", "needs_reauth",
                                        "settings_changed"};
    char key[64];
    snprintf(key, sizeof key, "%lld-%s", (long long)s->host->now_ms(s->self), names[event]);
    json_object *v = obj();
    json_object_object_add(v, "event", json_object_new_string(names[event]));
    json_object_object_add(v, "workspace_id", json_object_new_string(inst->workspace_id));
    json_object_object_add(v, "admin_id",
                           inst->admin_id ? json_object_new_string(inst->admin_id) : NULL);
    json_object_object_add(v, "region", json_object_new_string(inst->region));
    record(s, inst->id, "installs", key, v);
    s->host->audit(s->self, inst->id, "testplug", names[event], inst->workspace_id);
    char *label = setting_string(s, inst->id, "label");
    sb_status st = SB_OK;
    if (event == SB_INSTALLED && strcmp(label, "fail_install") == 0)
        st = sb_result_set(result, SB_FAIL, "install hook refused");
    free(label);
    return st;
}

/* ---- events ---- */

struct pending_event {
    struct state *s;
    sb_job_id job;
    sb_installation_id inst;
    char notification[128];
};

static void complete_later(void *arg)
{
    struct pending_event *p = arg;
    sb_result r = {0};
    p->s->host->job_complete(p->s->self, p->job, SB_OK, &r);
    free(p);
}

static void call_done(void *arg, const sb_intercom_response *res)
{
    struct pending_event *p = arg;
    json_object *v = obj();
    json_object_object_add(v, "status", json_object_new_int(res->status));
    json_object_object_add(v, "error_code",
                           res->error_code ? json_object_new_string(res->error_code) : NULL);
    json_object_object_add(v, "attempts", json_object_new_int((int)res->attempts));
    record(p->s, p->inst, "calls", p->notification, v);
    sb_result r = {0};
    sb_status st = SB_OK;
    if (res->error_code) {
        snprintf(r.message, sizeof r.message, "Intercom: %s (%s)", res->error_code,
                 res->error_message ? res->error_message : "");
        st = res->status >= 400 && res->status < 500 && res->status != 429 ? SB_FAIL : SB_RETRY;
    }
    p->s->host->job_complete(p->s->self, p->job, st, &r);
    free(p);
}

static sb_status on_event(void *state, const sb_event *ev, sb_result *result)
{
    struct state *s = state;
    json_object *v = obj();
    json_object_object_add(v, "topic", json_object_new_string(ev->topic));
    json_object_object_add(v, "attempt", json_object_new_int((int)ev->attempt));
    json_object_object_add(v, "job", json_object_new_int64((int64_t)ev->job));
    const char *item_id = str_member(ev->item, "id");
    json_object_object_add(v, "item_id", item_id ? json_object_new_string(item_id) : NULL);
    json_object_object_add(v, "checkpoint",
                           ev->checkpoint ? json_object_get(ev->checkpoint) : NULL);
    /* One document per delivery, in time order (a replay starts again at attempt 1). */
    char key[192];
    snprintf(key, sizeof key, "%s#%013lld-%u", ev->notification_id,
             (long long)s->host->now_ms(s->self), ev->attempt);
    record(s, ev->installation, "events", key, v);

    char *mode = setting_string(s, ev->installation, "event_mode");
    sb_status st = SB_OK;
    if (strcmp(mode, "retry") == 0) {
        st = sb_result_set(result, SB_RETRY, "event_mode is retry");
    } else if (strcmp(mode, "fail") == 0) {
        st = sb_result_set(result, SB_FAIL, "event_mode is fail");
    } else if (strcmp(mode, "checkpoint") == 0 && !ev->checkpoint) {
        /* The first delivery leaves a mark and asks again; the next one finds it. */
        json_object *cp = obj();
        json_object_object_add(cp, "seen_at_attempt", json_object_new_int((int)ev->attempt));
        s->host->job_checkpoint(s->self, ev->job, cp);
        json_object_put(cp);
        st = sb_result_set(result, SB_RETRY, "checkpoint saved, come back");
    } else if (strcmp(mode, "pending") == 0 || strcmp(mode, "call") == 0) {
        struct pending_event *p = calloc(1, sizeof *p);
        p->s = s;
        p->job = ev->job;
        p->inst = ev->installation;
        snprintf(p->notification, sizeof p->notification, "%s", ev->notification_id);
        if (mode[0] == 'p') {
            s->host->timer_add(s->self, 50, complete_later, p);
        } else {
            char path[160];
            snprintf(path, sizeof path, "/conversations/%s", item_id ? item_id : "0");
            sb_intercom_request req = {.method = "GET", .path = path};
            s->host->intercom_request(s->self, ev->installation, &req, call_done, p);
        }
        st = SB_PENDING;
    }
    free(mode);
    return st;
}

/* ---- jobs ---- */

/*
 * A resumable job: each run does one step after the checkpoint's and saves
 * it. Before payload.until it asks to be retried; at until it ends as
 * payload.final says ("pending": never completes, for crash tests; "fail";
 * "gone"; else ok); past until (a replay) it is done.
 */
static sb_status run_steps(struct state *s, const sb_job *job, sb_result *result)
{
    int64_t step = int_member(job->checkpoint, "step", 0) + 1;
    int64_t until = int_member(job->payload, "until", 1);
    json_object *cp = obj();
    json_object_object_add(cp, "step", json_object_new_int64(step));
    int rc = s->host->job_checkpoint(s->self, job->id, cp);
    json_object_put(cp);
    if (rc != 0)
        return sb_result_fail(result, SB_FAIL, "checkpoint_refused", "job_checkpoint failed");
    if (step < until)
        return sb_result_set(result, SB_RETRY, "step %lld of %lld done", (long long)step,
                             (long long)until);
    const char *final = step == until ? str_member(job->payload, "final") : NULL;
    if (final && strcmp(final, "pending") == 0)
        return SB_PENDING;
    if (final && strcmp(final, "fail") == 0)
        return sb_result_fail(result, SB_FAIL, "step_failed", "the last step failed");
    if (final && strcmp(final, "gone") == 0) {
        result->http_status = 410;
        return sb_result_set(result, SB_FAIL, "what the steps were about is gone");
    }
    return SB_OK;
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    struct state *s = state;
    char key[80];
    snprintf(key, sizeof key, "%020llu#%013lld-%u", (unsigned long long)job->id,
             (long long)s->host->now_ms(s->self), job->attempt);
    json_object *v = obj();
    json_object_object_add(v, "type", json_object_new_string(job->type));
    json_object_object_add(v, "attempt", json_object_new_int((int)job->attempt));
    json_object_object_add(v, "at", json_object_new_int64(s->host->now_ms(s->self)));
    json_object_object_add(v, "payload", job->payload ? json_object_get(job->payload) : NULL);
    json_object_object_add(v, "checkpoint",
                           job->checkpoint ? json_object_get(job->checkpoint) : NULL);
    record(s, job->installation, strcmp(job->type, "tick") == 0 ? "ticks" : "work", key, v);
    if (strcmp(job->type, "steps") == 0)
        return run_steps(s, job, result);
    const char *outcome = str_member(job->payload, "outcome");
    if (outcome && strcmp(outcome, "retry") == 0)
        return sb_result_set(result, SB_RETRY, "payload asked to retry");
    if (outcome && strcmp(outcome, "fail") == 0)
        return sb_result_set(result, SB_FAIL, "payload asked to fail");
    if (outcome && strcmp(outcome, "gone") == 0) { /* what the job is about no longer exists */
        result->http_status = 404;
        return sb_result_set(result, SB_FAIL, "conversation 42 no longer exists");
    }
    return SB_OK;
}

/* ---- product API ---- */

struct list_ctx {
    json_object *arr;
};

static int add_doc(void *arg, const char *key, json_object *value)
{
    struct list_ctx *ctx = arg;
    json_object *o = obj();
    json_object_object_add(o, "key", json_object_new_string(key));
    json_object_object_add(o, "value", json_object_get(value));
    json_object_array_add(ctx->arr, o);
    return 0;
}

static sb_status route_docs(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    const char *collection = str_member(req->params, "collection");
    struct list_ctx ctx = {json_object_new_array()};
    const char *from = str_member(req->query, "from"), *to = str_member(req->query, "to");
    const char *limit = str_member(req->query, "limit");
    const char *reverse = str_member(req->query, "reverse");
    s->host->doc_list(s->self, req->installation, collection, from, to,
                      limit ? (size_t)atoi(limit) : 0,
                      reverse && strcmp(reverse, "1") == 0 ? SB_DOC_REVERSE : 0, add_doc, &ctx);
    json_object *o = obj();
    json_object_object_add(o, "documents", ctx.arr);
    s->host->respond(s->self, req->reply, 200, o);
    json_object_put(o); /* respond borrows the body */
    return SB_OK;
}

struct call_ctx {
    struct state *s;
    sb_reply_token reply;
    json_object *pages;
    int64_t stop_after; /* pages; 0: walk to the end */
};

static json_object *response_json(struct state *s, const sb_intercom_response *res)
{
    json_object *o = obj();
    json_object_object_add(o, "kind", json_object_new_string(sb_error_kind_name(res->kind)));
    json_object_object_add(o, "retry_after_s", json_object_new_int64(res->retry_after_s));
    if (res->kind != SB_ERR_NONE) {
        sb_result r = {0};
        sb_status st = s->host->result_from_error(s->self, res, "calling Intercom", &r);
        json_object *c = obj();
        json_object_object_add(c, "status", json_object_new_int((int)st));
        json_object_object_add(c, "message", json_object_new_string(r.message));
        json_object_object_add(c, "code", json_object_new_string(r.code));
        json_object_object_add(c, "http_status", json_object_new_int(r.http_status));
        json_object_object_add(c, "retry_after_s", json_object_new_int64(r.retry_after_s));
        json_object_object_add(o, "classified", c);
    }
    json_object_object_add(o, "status", json_object_new_int(res->status));
    json_object_object_add(o, "error_code",
                           res->error_code ? json_object_new_string(res->error_code) : NULL);
    json_object_object_add(o, "error_message",
                           res->error_message ? json_object_new_string(res->error_message) : NULL);
    json_object_object_add(o, "attempts", json_object_new_int((int)res->attempts));
    json_object_object_add(o, "body", res->body ? json_object_get(res->body) : NULL);
    return o;
}

static void intercom_done(void *arg, const sb_intercom_response *res)
{
    struct call_ctx *c = arg;
    json_object *o = response_json(c->s, res);
    c->s->host->respond(c->s->self, c->reply, 200, o);
    json_object_put(o);
    free(c);
}

static sb_status route_intercom(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!req->installation)
        return sb_result_set(result, SB_FAIL, "workspace_id is required");
    json_object *retry_safe, *body = NULL;
    json_object_object_get_ex(req->body, "body", &body);
    sb_intercom_request ireq = {
        .method = str_member(req->body, "method"),
        .path = str_member(req->body, "path"),
        .body = body,
        .flags = json_object_object_get_ex(req->body, "retry_safe", &retry_safe)
                         && json_object_get_boolean(retry_safe)
                     ? SB_INTERCOM_RETRY_SAFE
                     : 0,
    };
    struct call_ctx *c = calloc(1, sizeof *c);
    c->s = s;
    c->reply = req->reply;
    /* "installation" names another (unknown, foreign) installation to call for. */
    sb_installation_id inst = int_member(req->body, "installation", req->installation);
    if (!s->host->intercom_request(s->self, inst, &ireq, intercom_done, c)) {
        free(c); /* a wrong call: the callback never runs */
        result->http_status = 400;
        return sb_result_fail(result, SB_FAIL, "wrong_call", "intercom_request returned 0");
    }
    return SB_PENDING;
}

static sb_status page_cb(void *arg, const sb_intercom_response *page, json_object *items,
                         const char *next_cursor)
{
    struct call_ctx *c = arg;
    (void)page;
    json_object *o = obj();
    json_object_object_add(o, "items", json_object_new_int(items ? (int)json_object_array_length(items) : -1));
    json_object_object_add(o, "next", next_cursor ? json_object_new_string(next_cursor) : NULL);
    json_object *ids = json_object_new_array();
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        const char *id = str_member(json_object_array_get_idx(items, i), "id");
        if (id)
            json_object_array_add(ids, json_object_new_string(id));
    }
    json_object_object_add(o, "ids", ids);
    json_object_array_add(c->pages, o);
    return c->stop_after && (int64_t)json_object_array_length(c->pages) >= c->stop_after
               ? SB_FAIL
               : SB_OK;
}

static void walk_done(void *arg, const sb_intercom_response *res)
{
    struct call_ctx *c = arg;
    json_object *o = response_json(c->s, res);
    json_object_object_del(o, "body");
    json_object_object_add(o, "pages", c->pages);
    c->s->host->respond(c->s->self, c->reply, 200, o);
    json_object_put(o);
    free(c);
}

static sb_status route_paginate(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!req->installation)
        return sb_result_set(result, SB_FAIL, "workspace_id is required");
    json_object *body = NULL;
    json_object_object_get_ex(req->body, "body", &body);
    sb_intercom_request ireq = {
        .method = str_member(req->body, "method"),
        .path = str_member(req->body, "path"),
        .body = body,
    };
    struct call_ctx *c = calloc(1, sizeof *c);
    c->s = s;
    c->reply = req->reply;
    c->pages = json_object_new_array();
    c->stop_after = int_member(req->body, "stop_after", 0);
    if (!s->host->intercom_paginate(s->self, req->installation, &ireq,
                                    str_member(req->body, "starting_after"), page_cb, walk_done,
                                    c)) {
        json_object_put(c->pages);
        free(c); /* a wrong call: the callbacks never run */
        result->http_status = 400;
        return sb_result_fail(result, SB_FAIL, "wrong_call", "intercom_paginate returned 0");
    }
    return SB_PENDING;
}

/*
 * POST /stream {"method", "path", "array", "stop_at", "cancel_at", "store"}: intercom_stream,
 * answering with the response, the ids of the elements handed out ("items") and the rest of
 * the answer as "body". At index stop_at the item callback returns SB_FAIL; at cancel_at it
 * cancels the request itself; with "store" each element is also a document "streamed|<index>",
 * written in the item callback.
 */
struct stream_ctx {
    struct state *s;
    sb_reply_token reply;
    sb_installation_id inst;
    sb_request_id request;
    json_object *items;
    int64_t stop_at, cancel_at;
    bool store;
};

static sb_status stream_item(void *arg, json_object *item, size_t index)
{
    struct stream_ctx *c = arg;
    const char *id = str_member(item, "id");
    json_object_array_add(c->items, id ? json_object_new_string(id) : NULL);
    if (c->store) {
        char key[32];
        snprintf(key, sizeof key, "%zu", index);
        if (c->s->host->doc_put(c->s->self, c->inst, "streamed", key, item) != 0)
            return SB_FAIL;
    }
    if ((int64_t)index == c->cancel_at)
        c->s->host->intercom_cancel(c->s->self, c->request);
    return (int64_t)index == c->stop_at ? SB_FAIL : SB_OK;
}

static void stream_done(void *arg, const sb_intercom_response *res)
{
    struct stream_ctx *c = arg;
    json_object *o = response_json(c->s, res);
    json_object_object_add(o, "items", c->items);
    c->s->host->respond(c->s->self, c->reply, 200, o);
    json_object_put(o);
    free(c);
}

static sb_status route_stream(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!req->installation)
        return sb_result_set(result, SB_FAIL, "workspace_id is required");
    sb_intercom_request ireq = {.method = str_member(req->body, "method"),
                                .path = str_member(req->body, "path")};
    struct stream_ctx *c = calloc(1, sizeof *c);
    *c = (struct stream_ctx){.s = s, .reply = req->reply, .inst = req->installation,
                             .items = json_object_new_array(),
                             .stop_at = int_member(req->body, "stop_at", -1),
                             .cancel_at = int_member(req->body, "cancel_at", -1),
                             .store = sb_json_bool(req->body, "store", false)};
    c->request = s->host->intercom_stream(s->self, req->installation, &ireq,
                                          str_member(req->body, "array"), stream_item,
                                          stream_done, c);
    if (!c->request) {
        json_object_put(c->items);
        free(c); /* a wrong call: the callbacks never run */
        result->http_status = 400;
        return sb_result_fail(result, SB_FAIL, "wrong_call", "intercom_stream returned 0");
    }
    return SB_PENDING;
}

static sb_status route_jobs(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    json_object *payload = NULL, *delay = NULL;
    json_object_object_get_ex(req->body, "payload", &payload);
    json_object_object_get_ex(req->body, "delay_s", &delay);
    const char *type = str_member(req->body, "type");
    sb_job_id id = s->host->job_enqueue(s->self, req->installation, type ? type : "work",
                                        str_member(req->body, "key"), payload,
                                        delay ? (uint32_t)json_object_get_int(delay) : 0);
    if (!id)
        return sb_result_set(result, SB_FAIL, "job_enqueue failed");
    json_object *o = obj();
    json_object_object_add(o, "id", json_object_new_int64((int64_t)id));
    s->host->respond(s->self, req->reply, 201, o);
    json_object_put(o);
    return SB_OK;
}

static sb_status route_settings(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *settings = s->host->settings_get(s->self, req->installation);
    s->host->respond(s->self, req->reply, 200, settings);
    json_object_put(settings);
    return SB_OK;
}

static sb_status route_revoke(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!req->installation)
        return sb_result_set(result, SB_FAIL, "workspace_id is required");
    if (s->host->installation_revoke(s->self, req->installation, "revoked through testplug") != 0)
        return sb_result_set(result, SB_FAIL, "revoke failed");
    s->host->respond(s->self, req->reply, 200, NULL);
    return SB_OK;
}

static sb_status route_audit(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *o = obj();
    json_object_object_add(o, "audit", s->host->audit_list(s->self, req->installation, NULL, 0));
    s->host->respond(s->self, req->reply, 200, o);
    json_object_put(o);
    return SB_OK;
}

static sb_status route_ping(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    const char *text = "pong\n";
    s->host->respond_raw(s->self, req->reply, 200, "text/plain", text, strlen(text));
    return SB_OK;
}

static sb_status route_fail(void *state, const sb_http_request *req, sb_result *result)
{
    (void)state;
    (void)req;
    result->http_status = 409;
    return sb_result_set(result, SB_FAIL, "conflict requested");
}

static sb_status route_silent(void *state, const sb_http_request *req, sb_result *result)
{
    (void)state, (void)req, (void)result;
    return SB_PENDING; /* never answers: the host's deadline must */
}

/* Fails without answering, as the body says: status "fail" or "retry", code, http_status. */
static sb_status route_fail_code(void *state, const sb_http_request *req, sb_result *result)
{
    (void)state;
    const char *status = str_member(req->body, "status");
    result->http_status = (int)int_member(req->body, "http_status", 0);
    result->retry_after_s = (uint32_t)int_member(req->body, "retry_after_s", 0);
    return sb_result_fail(result, status && strcmp(status, "retry") == 0 ? SB_RETRY : SB_FAIL,
                          str_member(req->body, "code"), "%s",
                          str_member(req->body, "message") ? str_member(req->body, "message")
                                                           : "asked to fail");
}

/* One handler for several routes: which one is its sb_route.arg. */
static sb_status route_which(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *o = obj();
    json_object_object_add(o, "arg", req->route_arg ? json_object_new_string(req->route_arg)
                                                    : NULL);
    json_object_object_add(o, "installation", json_object_new_int64(req->installation));
    sb_installation view;
    if (req->installation && s->host->installation_get(s->self, req->installation, &view) == 0)
        json_object_object_add(o, "state",
                               json_object_new_string(sb_installation_state_name(view.state)));
    answer(state, req->reply, 200, o);
    return SB_OK;
}

static void typed_write_done(void *arg, const sb_intercom_response *res)
{
    struct call_ctx *c = arg;
    answer(c->s, c->reply, 200, response_json(c->s, res));
    free(c);
}

/* Typed writes: {"write": "attributes", "object": "contact"|..., "id", "attributes"} or
   {"write": "reply", "id", "reply": "note"|"comment", "body", "admin_id"}. */
static sb_status route_typed_write(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    const char *write = str_member(req->body, "write"), *id = str_member(req->body, "id");
    struct call_ctx *c = calloc(1, sizeof *c);
    c->s = s;
    c->reply = req->reply;
    sb_request_id sent = 0;
    if (write && strcmp(write, "attributes") == 0) {
        static const char *const objects[] = {"contact", "company", "conversation"};
        const char *object = str_member(req->body, "object");
        int type = 99; /* an unknown object type is a wrong call */
        for (int i = 0; object && i < 3; i++)
            if (strcmp(object, objects[i]) == 0)
                type = i;
        json_object *attributes = NULL;
        json_object_object_get_ex(req->body, "attributes", &attributes);
        sent = s->host->set_attributes(s->self, req->installation, (sb_object_type)type, id,
                                       attributes, typed_write_done, c);
    } else if (write && strcmp(write, "reply") == 0) {
        const char *kind = str_member(req->body, "reply");
        sent = s->host->conversation_reply(
            s->self, req->installation, id,
            kind && strcmp(kind, "note") == 0 ? SB_REPLY_NOTE : SB_REPLY_COMMENT,
            str_member(req->body, "body"), str_member(req->body, "admin_id"), typed_write_done, c);
    }
    if (!sent) {
        free(c);
        result->http_status = 400;
        return sb_result_fail(result, SB_FAIL, "wrong_call", "the typed write returned 0");
    }
    return SB_PENDING;
}

struct group {
    struct state *s;
    sb_installation_id inst;
    int returns;
};

static int write_group(void *arg)
{
    struct group *g = arg;
    json_object *v = obj();
    json_object_object_add(v, "returns", json_object_new_int(g->returns));
    record(g->s, g->inst, "groups", "last", v);
    return g->returns;
}

/* transaction(): {"returns": n} -> what transaction() returned and whether the write stayed. */
static sb_status route_transaction(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    s->host->doc_delete(s->self, req->installation, "groups", "last");
    struct group g = {s, req->installation, (int)int_member(req->body, "returns", 0)};
    int rc = s->host->transaction(s->self, write_group, &g);
    json_object *kept = s->host->doc_get(s->self, req->installation, "groups", "last");
    json_object *o = obj();
    json_object_object_add(o, "rc", json_object_new_int(rc));
    json_object_object_add(o, "kept", json_object_new_boolean(kept != NULL));
    json_object_put(kept);
    answer(s, req->reply, 200, o);
    return SB_OK;
}

/* job_checkpoint for a job this request does not run: {"job": id} -> what it returned. */
static sb_status route_checkpoint(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    (void)result;
    json_object *cp = obj();
    int rc = s->host->job_checkpoint(s->self, (sb_job_id)int_member(req->body, "job", 0), cp);
    json_object_put(cp);
    json_object *o = obj();
    json_object_object_add(o, "rc", json_object_new_int(rc));
    answer(s, req->reply, 200, o);
    return SB_OK;
}

struct product_batch {
    struct state *s;
    sb_installation_id inst;
    json_object *body;
    int sent;
    int undo;
};

/* {"type", "data", "count"}: count events, data gaining "seq": 0..count-1. */
static int send_product_events(void *arg)
{
    struct product_batch *b = arg;
    const char *type = str_member(b->body, "type");
    json_object *data = NULL;
    json_object_object_get_ex(b->body, "data", &data);
    int64_t count = int_member(b->body, "count", 1);
    for (int64_t i = 0; i < count; i++) {
        json_object *payload = NULL;
        if (!data)
            payload = obj();
        else if (json_object_deep_copy(data, &payload, NULL) != 0)
            return -1;
        if (json_object_is_type(payload, json_type_object))
            json_object_object_add(payload, "seq", json_object_new_int64(i));
        if (b->s->host->product_event(b->s->self, b->inst, type ? type : "test.event", payload)
            == 0)
            b->sent++;
        json_object_put(payload);
    }
    return b->undo ? 1 : 0;
}

/*
 * product_event(): {"type", "data", "count", "mode"} with mode "direct" (in
 * the route's own transaction), "transaction" (inside transaction()) or
 * "rollback" (inside a transaction() that fails) -> {"sent", "rc"}.
 */
static sb_status route_product_events(void *state, const sb_http_request *req,
                                      sb_result *result)
{
    struct state *s = state;
    (void)result;
    const char *mode = str_member(req->body, "mode");
    struct product_batch b = {.s = s, .inst = req->installation, .body = req->body};
    int rc = 0;
    if (!mode || strcmp(mode, "direct") == 0) {
        send_product_events(&b);
    } else {
        b.undo = strcmp(mode, "rollback") == 0;
        rc = s->host->transaction(s->self, send_product_events, &b);
    }
    json_object *o = obj();
    json_object_object_add(o, "sent", json_object_new_int(b.sent));
    json_object_object_add(o, "rc", json_object_new_int(rc));
    answer(s, req->reply, 200, o);
    return SB_OK;
}

/* ---- outbound HTTP ---- */

struct outbound_call {
    struct state *s;
    sb_reply_token reply;
    json_object *want_headers; /* names whose values go into the answer */
    sb_request_id id;
};

static void outbound_done(void *arg, const sb_outbound_response *res)
{
    struct outbound_call *c = arg;
    json_object *o = obj();
    json_object_object_add(o, "same_id", json_object_new_boolean(res->request == c->id));
    json_object_object_add(o, "status", json_object_new_int(res->status));
    json_object_object_add(o, "kind", json_object_new_string(sb_error_kind_name(res->kind)));
    json_object_object_add(o, "error_message", res->error_message
                                                   ? json_object_new_string(res->error_message)
                                                   : NULL);
    json_object_object_add(o, "body", json_object_new_string_len(res->body, (int)res->body_len));
    json_object_object_add(o, "json", res->json ? json_object_get(res->json) : NULL);
    json_object_object_add(o, "content_type",
                           res->content_type ? json_object_new_string(res->content_type) : NULL);
    json_object_object_add(o, "retry_after_s", json_object_new_int64(res->retry_after_s));
    json_object *headers = obj();
    for (size_t i = 0; c->want_headers && i < json_object_array_length(c->want_headers); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(c->want_headers, i));
        const char *value = res->header(res, name);
        json_object_object_add(headers, name, value ? json_object_new_string(value) : NULL);
    }
    json_object_object_add(o, "headers", headers);
    c->s->host->respond(c->s->self, c->reply, 200, o);
    json_object_put(o);
    json_object_put(c->want_headers);
    free(c);
}

struct outbound_cancel_later {
    struct state *s;
    sb_request_id id;
};

static void outbound_cancel_now(void *arg)
{
    struct outbound_cancel_later *l = arg;
    l->s->host->outbound_cancel(l->s->self, l->id);
    free(l);
}

/*
 * POST /outbound {"method", "url", "headers": [...], "body": "...", "timeout_ms",
 * "cancel_after_ms", "want_headers": [...]}: answers with what came back.
 */
static sb_status route_outbound(void *state, const sb_http_request *req, sb_result *result)
{
    struct state *s = state;
    if (!SB_HOST_HAS(s->host, outbound_request))
        return sb_result_set(result, SB_FAIL, "the host has no outbound_request");
    json_object *headers = NULL, *want = NULL, *cancel_after = NULL, *timeout = NULL;
    json_object_object_get_ex(req->body, "headers", &headers);
    json_object_object_get_ex(req->body, "want_headers", &want);
    json_object_object_get_ex(req->body, "cancel_after_ms", &cancel_after);
    json_object_object_get_ex(req->body, "timeout_ms", &timeout);
    size_t n = headers ? json_object_array_length(headers) : 0;
    const char **lines = calloc(n + 1, sizeof *lines);
    for (size_t i = 0; i < n; i++)
        lines[i] = json_object_get_string(json_object_array_get_idx(headers, i));
    const char *body = str_member(req->body, "body");
    /* "body_size": N sends N bytes of 'x' (larger than the product API takes). */
    int64_t body_size = int_member(req->body, "body_size", -1);
    char *filler = NULL;
    if (body_size >= 0) {
        filler = malloc((size_t)body_size + 1);
        memset(filler, 'x', (size_t)body_size);
        filler[body_size] = '\0';
        body = filler;
    }
    sb_outbound_request oreq = {
        .method = str_member(req->body, "method"),
        .url = str_member(req->body, "url"),
        .headers = lines,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = timeout ? (uint32_t)json_object_get_int64(timeout) : 0,
    };
    struct outbound_call *c = calloc(1, sizeof *c);
    c->s = s;
    c->reply = req->reply;
    c->want_headers = want ? json_object_get(want) : NULL;
    c->id = s->host->outbound_request(s->self, &oreq, outbound_done, c);
    free(lines);
    free(filler);
    if (!c->id) {
        json_object_put(c->want_headers);
        free(c);
        return sb_result_set(result, SB_FAIL, "outbound_request refused the call");
    }
    if (cancel_after) {
        int64_t ms = json_object_get_int64(cancel_after);
        if (ms == 0) {
            s->host->outbound_cancel(s->self, c->id);
        } else {
            struct outbound_cancel_later *l = calloc(1, sizeof *l);
            l->s = s;
            l->id = c->id;
            s->host->timer_add(s->self, (uint32_t)ms, outbound_cancel_now, l);
        }
    }
    return SB_PENDING;
}

static const sb_route routes[] = {
    {"GET", "/docs/{collection}", route_docs, 0, NULL},
    {"POST", "/intercom", route_intercom, 0, NULL},
    {"POST", "/paginate", route_paginate, 0, NULL},
    {"POST", "/stream", route_stream, 0, NULL},
    {"POST", "/jobs", route_jobs, 0, NULL},
    {"GET", "/settings", route_settings, 0, NULL},
    {"POST", "/revoke", route_revoke, 0, NULL},
    {"GET", "/audit", route_audit, 0, NULL},
    {"GET", "/public/ping", route_ping, SB_ROUTE_PUBLIC, NULL},
    {"POST", "/fail", route_fail, 0, NULL},
    {"POST", "/silent", route_silent, 0, NULL},
    {"POST", "/outbound", route_outbound, 0, NULL},
    {"POST", "/fail_code", route_fail_code, 0, NULL},
    {"GET", "/which/one", route_which, 0, "one"},
    {"GET", "/which/two", route_which, 0, "two"},
    {"GET", "/which/installed", route_which, SB_ROUTE_NEEDS_INSTALLATION, "installed"},
    {"GET", "/which/public", route_which, SB_ROUTE_PUBLIC | SB_ROUTE_NEEDS_INSTALLATION,
     "public"},
    {"GET", "/which/any", route_which, SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE, "any"},
    {"POST", "/typed_write", route_typed_write, SB_ROUTE_NEEDS_INSTALLATION, NULL},
    {"POST", "/transaction", route_transaction, 0, NULL},
    {"POST", "/checkpoint", route_checkpoint, 0, NULL},
    {"POST", "/product_events", route_product_events, 0, NULL},
    {NULL, NULL, NULL, 0, NULL},
};

/* ---- canvas ---- */

static json_object *panel(const char *text, const char *conversation_id)
{
    char line[256];
    snprintf(line, sizeof line, "%s (conversation %s)", text,
             conversation_id ? conversation_id : "none");
    json_object *components = json_object_new_array();
    json_object *t = obj();
    json_object_object_add(t, "type", json_object_new_string("text"));
    json_object_object_add(t, "text", json_object_new_string(line));
    json_object_array_add(components, t);
    json_object *b = obj();
    json_object_object_add(b, "type", json_object_new_string("button"));
    json_object_object_add(b, "id", json_object_new_string("go"));
    json_object_object_add(b, "label", json_object_new_string("Go"));
    json_object *action = obj();
    json_object_object_add(action, "type", json_object_new_string("submit"));
    json_object_object_add(b, "action", action);
    json_object_array_add(components, b);
    json_object *content = obj();
    json_object_object_add(content, "components", components);
    json_object *canvas = obj();
    json_object_object_add(canvas, "content", content);
    json_object *root = obj();
    json_object_object_add(root, "canvas", canvas);
    return root;
}

struct late_canvas {
    struct state *s;
    sb_reply_token reply;
    char conversation[64];
};

static void canvas_later(void *arg)
{
    struct late_canvas *l = arg;
    json_object *o = panel("slow hello", l->conversation);
    l->s->host->respond(l->s->self, l->reply, 200, o);
    json_object_put(o);
    free(l);
}

static sb_status canvas(void *state, const sb_canvas_request *req, sb_result *result)
{
    struct state *s = state;
    char *mode = setting_string(s, req->installation, "canvas_mode");
    sb_status st = SB_OK;
    json_object *answer = NULL; /* respond borrows it; released below */
    if (strcmp(req->flow, "submit") == 0) {
        char text[128];
        snprintf(text, sizeof text, "clicked %s", req->component_id ? req->component_id : "?");
        answer = panel(text, req->conversation_id);
    } else if (strcmp(mode, "late") == 0) {
        st = SB_PENDING;
    } else if (strcmp(mode, "slow_ok") == 0) {
        struct late_canvas *l = calloc(1, sizeof *l);
        l->s = s;
        l->reply = req->reply;
        snprintf(l->conversation, sizeof l->conversation, "%s",
                 req->conversation_id ? req->conversation_id : "none");
        s->host->timer_add(s->self, 200, canvas_later, l);
        st = SB_PENDING;
    } else if (strcmp(mode, "invalid") == 0) {
        answer = obj();
        json_object_object_add(answer, "nonsense", json_object_new_boolean(1));
    } else if (strcmp(mode, "fail") == 0) {
        st = sb_result_set(result, SB_FAIL, "canvas_mode is fail");
    } else {
        answer = panel("hello", req->conversation_id);
    }
    if (answer) {
        s->host->respond(s->self, req->reply, 200, answer);
        json_object_put(answer);
    }
    free(mode);
    return st;
}

/* A rule over two settings, which the schema cannot say: the label is not one of the tags. */
static sb_status check_settings(void *state, sb_installation_id inst, json_object *settings,
                                sb_result *result)
{
    (void)state;
    (void)inst;
    const char *label = sb_json_str(settings, "label");
    json_object *tags = sb_json_arr(settings, "tags");
    for (size_t i = 0; label && *label && i < json_object_array_length(tags); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(tags, i)), label) == 0) {
            snprintf(result->where, sizeof result->where, "label");
            return sb_result_set(result, SB_FAIL, "'%s' is one of the tags", label);
        }
    return SB_OK;
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "testplug",
    .version = "1.0.0",
    .description = "Integration-test plugin that exercises every host service",
    .topics = topics,
    .routes = routes,
    .settings = settings,
    .schedules = schedules,
    .init = init,
    .shutdown = shutdown_plugin,
    .check_config = check_config,
    .on_installation = on_installation,
    .on_event = on_event,
    .on_job = on_job,
    .canvas = canvas,
    .check_settings = check_settings,
};

SB_PLUGIN_ENTRY(descriptor)
