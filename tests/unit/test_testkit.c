/*
 * The testing kit against a small plugin that uses every service: what a
 * plugin's own unit tests rely on - descriptor checks, installations and
 * settings, webhooks and jobs (retries, checkpoints, same-key order,
 * skipped), product-API and canvas answers, Intercom and outbound calls
 * answered later and exactly once, streamed answers element by element,
 * pagination, cancel, transactions that
 * roll back jobs and product events too, timers, loop_post and the log.
 */
#include "unit.h"

#include <pthread.h>
#include <switchboard/helpers.h>
#include <switchboard/testing.h>

struct plug {
    sb_plugin *self;
    const sb_host *host;
    int installation_events[4];
    char seen[256];           /* ids the pagination walk saw */
    int done_calls;           /* completions of the walk or of plain requests */
    sb_error_kind last_kind;
    sb_timer_id timer;
    sb_reply_token later_reply;
    int posted;
};

static struct plug *P;

static sb_status on_installation(void *state, const sb_installation *inst,
                                 sb_installation_event event, sb_result *result)
{
    struct plug *p = state;
    (void)inst, (void)result;
    p->installation_events[event]++;
    return SB_OK;
}

/* ---- a webhook: checkpoint, retry, then a note whose failure ends the delivery ---- */

struct pending_job {
    struct plug *p;
    sb_job_id job;
};

static void note_done(void *arg, const sb_intercom_response *res)
{
    struct pending_job *pj = arg;
    sb_result result = {0};
    sb_status st = pj->p->host->result_from_error(pj->p->self, res, "note", &result);
    pj->p->last_kind = res->kind;
    pj->p->done_calls++;
    pj->p->host->job_complete(pj->p->self, pj->job, st, &result);
    free(pj);
}

static sb_status on_event(void *state, const sb_event *ev, sb_result *result)
{
    struct plug *p = state;
    if (!ev->checkpoint) {
        json_object *cp = json_object_new_object();
        json_object_object_add(cp, "step", json_object_new_int(1));
        p->host->job_checkpoint(p->self, ev->job, cp);
        json_object_put(cp);
        result->retry_after_s = 5;
        return sb_result_set(result, SB_RETRY, "first step done, come back");
    }
    struct pending_job *pj = calloc(1, sizeof *pj);
    pj->p = p;
    pj->job = ev->job;
    p->host->conversation_reply(p->self, ev->installation, sb_json_str(ev->item, "id"),
                                SB_REPLY_NOTE, "<p>hi</p>", NULL, note_done, pj);
    return SB_PENDING;
}

/* ---- jobs ---- */

static sb_status page(void *arg, const sb_intercom_response *res, json_object *items,
                      const char *next)
{
    struct plug *p = arg;
    (void)res, (void)next;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        strcat(p->seen, sb_json_str(json_object_array_get_idx(items, i), "id"));
        strcat(p->seen, ",");
    }
    return SB_OK;
}

static void walk_done(void *arg, const sb_intercom_response *res)
{
    struct plug *p = arg;
    p->done_calls++;
    p->last_kind = res->kind;
}

static void request_done(void *arg, const sb_intercom_response *res)
{
    walk_done(arg, res);
}

static sb_status on_job(void *state, const sb_job *job, sb_result *result)
{
    struct plug *p = state;
    if (strcmp(job->type, "sync") == 0) {
        sb_intercom_request req = {.method = "GET", .path = "/contacts?per_page=2"};
        p->host->intercom_paginate(p->self, job->installation, &req, NULL, page, walk_done, p);
        return SB_OK;
    }
    if (strcmp(job->type, "ordered") == 0) {
        json_object *order = p->host->doc_get(p->self, job->installation, "jobs", "order");
        char text[128];
        snprintf(text, sizeof text, "%s%s,", order ? json_object_get_string(order) : "",
                 sb_json_str(job->payload, "n"));
        json_object_put(order);
        order = json_object_new_string(text);
        p->host->doc_put(p->self, job->installation, "jobs", "order", order);
        json_object_put(order);
        return sb_json_bool(job->payload, "pend", false) ? SB_PENDING : SB_OK;
    }
    if (strcmp(job->type, "hourly") == 0) {
        json_object *ran = json_object_new_boolean(1);
        p->host->doc_put(p->self, job->installation, "jobs", "hourly", ran);
        json_object_put(ran);
        return SB_OK;
    }
    return sb_result_set(result, SB_FAIL, "unknown job %s", job->type);
}

/* ---- routes ---- */

static sb_status route_item(void *state, const sb_http_request *req, sb_result *result)
{
    struct plug *p = state;
    (void)result;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_get(sb_json_get(req->params, "id")));
    json_object_object_add(o, "arg", json_object_new_string(req->route_arg));
    json_object_object_add(o, "q", json_object_get(sb_json_get(req->query, "q")));
    json_object_object_add(o, "installation", json_object_new_int64(req->installation));
    json_object_object_add(o, "path", json_object_new_string(req->path));
    const char *key = req->header(req, "idempotency-key");
    if (key)
        json_object_object_add(o, "key", json_object_new_string(key));
    p->host->respond(p->self, req->reply, 200, o);
    json_object_put(o);
    return SB_OK;
}

struct create {
    struct plug *p;
    const sb_http_request *req;
};

static int create_all(void *arg)
{
    struct create *c = arg;
    const sb_host *h = c->p->host;
    json_object *doc = json_object_new_string("created");
    h->doc_put(c->p->self, c->req->installation, "items", "one", doc);
    json_object_put(doc);
    h->job_enqueue(c->p->self, c->req->installation, "ordered", NULL, c->req->body, 0);
    h->product_event(c->p->self, c->req->installation, "item.created", c->req->body);
    h->audit(c->p->self, c->req->installation, "one", "created", NULL);
    return (int)sb_json_int(c->req->body, "fail", 0);
}

static sb_status route_create(void *state, const sb_http_request *req, sb_result *result)
{
    struct plug *p = state;
    struct create c = {p, req};
    int rc = p->host->transaction(p->self, create_all, &c);
    if (rc != 0) {
        result->http_status = 409;
        return sb_result_fail(result, SB_FAIL, "create_refused", "refused (%d)", rc);
    }
    p->host->respond(p->self, req->reply, 201, NULL);
    return SB_OK;
}

static sb_status route_retry(void *state, const sb_http_request *req, sb_result *result)
{
    (void)state, (void)req;
    result->retry_after_s = 3;
    return sb_result_set(result, SB_RETRY, "busy");
}

static void answer_later(void *arg)
{
    struct plug *p = arg;
    p->host->respond_raw(p->self, p->later_reply, 200, "text/plain", "late", 4);
}

static sb_status route_later(void *state, const sb_http_request *req, sb_result *result)
{
    struct plug *p = state;
    (void)result;
    p->later_reply = req->reply;
    p->timer = p->host->timer_add(p->self, 1000, answer_later, p);
    return SB_PENDING;
}

struct ping {
    struct plug *p;
    sb_reply_token reply;
};

static void pinged(void *arg, const sb_outbound_response *res)
{
    struct ping *pg = arg;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_int(res->status));
    json_object_object_add(o, "kind", json_object_new_string(sb_error_kind_name(res->kind)));
    json_object_object_add(o, "retry_after_s", json_object_new_int((int)res->retry_after_s));
    json_object_object_add(o, "json", json_object_get(res->json));
    json_object_object_add(o, "header", json_object_new_string(res->header(res, "x-trace")
                                                                   ? res->header(res, "X-Trace")
                                                                   : "none"));
    pg->p->host->respond(pg->p->self, pg->reply, 200, o);
    json_object_put(o);
    free(pg);
}

static sb_status route_ping(void *state, const sb_http_request *req, sb_result *result)
{
    struct plug *p = state;
    (void)result;
    static const char *const headers[] = {"Authorization: Bearer s3cr3t", NULL};
    const char *url = sb_json_str(req->query, "url");
    sb_outbound_request out = {.method = "POST", .url = url, .headers = headers,
                               .body = "{\"ping\":1}", .body_len = 10};
    struct ping *pg = calloc(1, sizeof *pg);
    pg->p = p;
    pg->reply = req->reply;
    p->host->outbound_request(p->self, &out, pinged, pg);
    p->host->log(p->self, SB_LOG_INFO, "pinging the vendor");
    return SB_PENDING;
}

static const sb_route routes[] = {
    {"GET", "/items/{id}", route_item, SB_ROUTE_NEEDS_INSTALLATION, "item"},
    {"GET", "/items/{id}/any", route_item, SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE,
     "any"},
    {"POST", "/items", route_create, 0, NULL},
    {"GET", "/retry", route_retry, 0, NULL},
    {"GET", "/later", route_later, 0, NULL},
    {"GET", "/ping", route_ping, 0, NULL},
    {NULL, NULL, NULL, 0, NULL},
};

/* ---- canvas ---- */

static sb_status canvas(void *state, const sb_canvas_request *req, sb_result *result)
{
    struct plug *p = state;
    (void)result;
    if (req->component_id && strcmp(req->component_id, "bad") == 0) {
        json_object *wrong = json_object_new_object();
        p->host->respond(p->self, req->reply, 200, wrong);
        json_object_put(wrong);
        return SB_OK;
    }
    char line[128];
    snprintf(line, sizeof line, "conversation %s, admin %s", req->conversation_id,
             req->admin_id);
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_text(line, "paragraph"));
    json_object *answer = sb_canvas(components);
    p->host->respond(p->self, req->reply, 200, answer);
    json_object_put(answer);
    return SB_OK;
}

/* ---- the descriptor ---- */

static const char *const topics[] = {"conversation.user.created", NULL};
static const char *const modes[] = {"a", "b", NULL};
static const sb_setting settings[] = {
    {.name = "greeting", .type = SB_SETTING_STRING, .default_value = "hi"},
    {.name = "limit", .type = SB_SETTING_INT, .default_value = "5", .min = 1, .max = 10},
    {.name = "mode", .type = SB_SETTING_ENUM, .allowed = modes},
    {.name = NULL},
};
static const sb_schedule schedules[] = {{"hourly", 3600, NULL, 0}, {NULL, 0, NULL, 0}};

static sb_status init(sb_plugin *self, const sb_host *host, json_object *config, void **state,
                      sb_result *result)
{
    if (sb_json_bool(config, "refuse", false))
        return sb_result_set(result, SB_FAIL, "refused by the options");
    P = calloc(1, sizeof *P);
    P->self = self;
    P->host = host;
    *state = P;
    return SB_OK;
}

static void shutdown_plug(void *state)
{
    free(state);
    P = NULL;
}

/* A rule over two settings: mode "b" needs a limit of at least 3. */
static sb_status check_settings(void *state, sb_installation_id inst, json_object *settings,
                                sb_result *result)
{
    (void)state;
    (void)inst;
    if (sb_json_str(settings, "mode") && strcmp(sb_json_str(settings, "mode"), "b") == 0 &&
        sb_json_int(settings, "limit", 0) < 3) {
        snprintf(result->where, sizeof result->where, "limit");
        return sb_result_set(result, SB_FAIL, "mode b needs a limit of 3 or more");
    }
    return SB_OK;
}

static const sb_plugin_descriptor descriptor = {
    SB_DESCRIPTOR_HEADER,
    .name = "kitplug",
    .version = "1",
    .topics = topics,
    .routes = routes,
    .settings = settings,
    .schedules = schedules,
    .init = init,
    .shutdown = shutdown_plug,
    .on_installation = on_installation,
    .on_event = on_event,
    .on_job = on_job,
    .canvas = canvas,
    .check_settings = check_settings,
};

static sbt_kit *started(sb_installation_id *inst)
{
    char err[256];
    sbt_kit *kit = sbt_new(&descriptor, err, sizeof err);
    if (!kit) {
        fprintf(stderr, "sbt_new: %s\n", err);
        exit(1);
    }
    if (sbt_start(kit, "{}") != SB_OK)
        exit(1);
    if (inst)
        *inst = sbt_install(kit, "ws1");
    return kit;
}

/* ---- tests ---- */

static void refuses_what_the_host_refuses(void)
{
    char err[256];
    sb_plugin_descriptor d = descriptor;
    d.abi_major = 2;
    CHECK(sbt_new(&d, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "ABI 2.");
    d = descriptor;
    d.on_event = NULL;
    CHECK(sbt_new(&d, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "on_event is NULL");
    sb_route bad_flags[] = {{"GET", "/x", route_item, 0x80, NULL}, {NULL, NULL, NULL, 0, NULL}};
    d = descriptor;
    d.routes = bad_flags;
    CHECK(sbt_new(&d, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "unknown flags");
    sb_route any_state_alone[] = {{"GET", "/x", route_item, SB_ROUTE_ANY_STATE, NULL},
                                  {NULL, NULL, NULL, 0, NULL}};
    d = descriptor;
    d.routes = any_state_alone;
    CHECK(sbt_new(&d, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "route GET /x: SB_ROUTE_ANY_STATE without SB_ROUTE_NEEDS_INSTALLATION");
    sb_setting bad_default[] = {{.name = "n", .type = SB_SETTING_INT, .default_value = "many"},
                                {.name = NULL}};
    d = descriptor;
    d.settings = bad_default;
    CHECK(sbt_new(&d, err, sizeof err) == NULL);
    CHECK_CONTAINS(err, "invalid default");

    sbt_kit *kit = sbt_new(&descriptor, err, sizeof err);
    CHECK_INT(sbt_start(kit, "{\"refuse\":true}"), SB_FAIL);
    CHECK_STR(sbt_result(kit)->message, "refused by the options");
    sbt_free(kit); /* no shutdown after a failed init */
}

/* A check_config that names the bad element of its options, as sb_result.where says. */
static sb_status check_rule_names(json_object *config, sb_result *result)
{
    json_object *rules;
    if (!json_object_object_get_ex(config, "rules", &rules))
        return SB_OK;
    for (size_t i = 0; i < json_object_array_length(rules); i++)
        if (!sb_json_str(json_object_array_get_idx(rules, i), "name")) {
            snprintf(result->where, sizeof result->where, "rules[%zu].name", i);
            return sb_result_set(result, SB_FAIL, "a rule needs a name");
        }
    return SB_OK;
}

static void check_config_alone_shows_where(void)
{
    char err[256];
    sb_plugin_descriptor d = descriptor;
    d.check_config = check_rule_names;
    sbt_kit *kit = sbt_new(&d, err, sizeof err);
    CHECK_INT(sbt_check_config(kit, "{\"rules\":[{\"name\":\"a\"},{\"nom\":\"b\"}]}"), SB_FAIL);
    CHECK_STR(sbt_result(kit)->message, "a rule needs a name");
    CHECK_STR(sbt_result(kit)->where, "rules[1].name");
    /* Each call starts from a zeroed result, and init never ran. */
    CHECK_INT(sbt_check_config(kit, "{\"rules\":[]}"), SB_OK);
    CHECK_STR(sbt_result(kit)->where, "");
    CHECK(sbt_state(kit) == NULL);
    /* sbt_start checks the same way before init. */
    CHECK_INT(sbt_start(kit, "{\"rules\":[{}]}"), SB_FAIL);
    CHECK_STR(sbt_result(kit)->where, "rules[0].name");
    sbt_free(kit);
    /* A plugin without check_config accepts anything. */
    kit = sbt_new(&descriptor, err, sizeof err);
    CHECK_INT(sbt_check_config(kit, NULL), SB_OK);
    sbt_free(kit);
}

static void installations_and_settings(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    CHECK(inst > 0);
    CHECK_INT(P->installation_events[SB_INSTALLED], 1);
    json_object *s = P->host->settings_get(P->self, inst);
    CHECK_STR(json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN),
              "{\"greeting\":\"hi\",\"limit\":5,\"mode\":\"a\"}");
    json_object_put(s);
    CHECK_INT(sbt_settings_set(kit, inst, "{\"limit\":7,\"mode\":\"b\"}"), 0);
    CHECK_INT(P->installation_events[SB_SETTINGS_CHANGED], 1);
    s = P->host->settings_get(P->self, inst);
    CHECK_INT(sb_json_int(s, "limit", 0), 7);
    CHECK_STR(sb_json_str(s, "mode"), "b");
    json_object_put(s);
    CHECK_INT(sbt_settings_set(kit, inst, "{\"limit\":11}"), -1);
    CHECK_CONTAINS(sbt_result(kit)->message, "limit: must be between 1 and 10");
    CHECK_INT(sbt_settings_set(kit, inst, "{\"limit\":\"7\",\"nope\":1}"), -1);
    CHECK_CONTAINS(sbt_result(kit)->message, "must be an integer");
    CHECK_CONTAINS(sbt_result(kit)->message, "nope: unknown setting");
    CHECK_INT(P->installation_events[SB_SETTINGS_CHANGED], 1);
    /* The plugin saves settings itself (settings_set, since 1.1): the same checks, the same event. */
    json_object *changes = json_tokener_parse("{\"limit\":9}");
    sb_result why = {0};
    CHECK_INT(P->host->settings_set(P->self, inst, changes, &why), 0);
    json_object_put(changes);
    CHECK_INT(P->installation_events[SB_SETTINGS_CHANGED], 2);
    s = P->host->settings_get(P->self, inst);
    CHECK_INT(sb_json_int(s, "limit", 0), 9);
    json_object_put(s);
    changes = json_tokener_parse("{\"limit\":0}");
    CHECK_INT(P->host->settings_set(P->self, inst, changes, &why), -1);
    json_object_put(changes);
    CHECK_STR(why.code, "invalid_settings");
    CHECK_CONTAINS(why.message, "limit: must be between 1 and 10");
    CHECK_INT(P->host->settings_set(P->self, inst, NULL, NULL), -1);
    CHECK_INT(P->installation_events[SB_SETTINGS_CHANGED], 2);
    /* The plugin's check_settings sees what would be in effect (mode "b" is stored) and refuses. */
    CHECK_INT(sbt_settings_set(kit, inst, "{\"limit\":2}"), -1);
    CHECK_STR(sbt_result(kit)->code, "invalid_settings");
    CHECK_STR(sbt_result(kit)->message, "limit: mode b needs a limit of 3 or more");
    changes = json_tokener_parse("{\"limit\":1}");
    CHECK_INT(P->host->settings_set(P->self, inst, changes, &why), -1);
    json_object_put(changes);
    CHECK_CONTAINS(why.message, "mode b needs a limit of 3 or more");
    s = P->host->settings_get(P->self, inst);
    CHECK_INT(sb_json_int(s, "limit", 0), 9); /* nothing stored */
    json_object_put(s);
    CHECK_INT(sbt_settings_set(kit, inst, "{\"limit\":2,\"mode\":\"a\"}"), 0);
    CHECK_INT(P->installation_events[SB_SETTINGS_CHANGED], 3);
    /* Another installation keeps the defaults. */
    sb_installation_id other = sbt_install(kit, "ws2");
    s = P->host->settings_get(P->self, other);
    CHECK_INT(sb_json_int(s, "limit", 0), 5);
    json_object_put(s);
    CHECK(P->host->settings_get(P->self, 99) == NULL);
    CHECK_INT(P->host->installation_find(P->self, "ws2"), other);
    CHECK_INT(sbt_uninstall(kit, other), SB_OK);
    CHECK_INT(P->installation_events[SB_UNINSTALLED], 1);
    CHECK_INT(sbt_installation_state(kit, other), SB_INSTALLATION_REVOKED);
    sbt_free(kit);
}

static void webhook_checkpoint_retry_and_skip(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    sb_job_id id = sbt_webhook(kit, inst, "conversation.user.created", "{\"id\":\"c/1\"}");
    const sbt_job *job = sbt_job_get(kit, id);
    CHECK(job->webhook);
    CHECK_INT(job->state, SBT_JOB_QUEUED);
    CHECK_INT(job->status, SB_RETRY);
    CHECK_STR(json_object_to_json_string(job->checkpoint), "{ \"step\": 1 }");
    CHECK_INT(sbt_run_due(kit), 0); /* 5 s to wait */
    sbt_clock_advance(kit, 4999);
    CHECK_INT(sbt_run_next(kit), 0);
    sbt_clock_advance(kit, 1);
    CHECK_INT(sbt_run_next(kit), id);
    CHECK_INT(job->attempt, 2);
    CHECK_INT(job->state, SBT_JOB_PENDING);
    /* The note is recorded, with the id escaped and the installing admin, but not answered yet. */
    CHECK_INT(sbt_intercom_count(kit), 1);
    const sbt_call *call = sbt_intercom_call(kit, 0);
    CHECK_STR(call->service, "conversation_reply");
    CHECK_STR(call->method, "POST");
    CHECK_STR(call->path, "/conversations/c%2F1/reply");
    CHECK_STR(json_object_to_json_string_ext(call->body, JSON_C_TO_STRING_PLAIN
                                                             | JSON_C_TO_STRING_NOSLASHESCAPE),
              "{\"message_type\":\"note\",\"type\":\"admin\",\"admin_id\":\"admin-1\","
              "\"body\":\"<p>hi</p>\"}");
    CHECK_INT(P->done_calls, 0);
    CHECK_INT(sbt_pending_count(kit), 1);
    /* A deleted conversation: 404 ends the delivery skipped, and the checkpoint goes. */
    CHECK_INT(sbt_intercom_on(kit, "POST", "/conversations/*", 404,
                              "{\"type\":\"error.list\",\"errors\":[{\"code\":\"not_found\","
                              "\"message\":\"Resource Not Found\"}]}"),
              0);
    CHECK_INT(sbt_deliver_pending(kit), 1);
    CHECK_INT(sbt_deliver_pending(kit), 0); /* exactly once */
    CHECK_INT(P->done_calls, 1);
    CHECK_INT(P->last_kind, SB_ERR_NOT_FOUND);
    CHECK_INT(job->state, SBT_JOB_SKIPPED);
    CHECK(job->completed);
    CHECK_STR(job->result.code, "not_found");
    CHECK_CONTAINS(job->result.message, "note: not_found: Resource Not Found (HTTP 404)");
    CHECK(job->checkpoint == NULL);
    sbt_free(kit);
}

static void jobs_keep_key_order(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    const sb_host *h = sbt_host(kit);
    json_object *payloads[4];
    const char *texts[] = {"{\"n\":\"1\",\"pend\":true}", "{\"n\":\"2\"}", "{\"n\":\"3\"}",
                           "{\"n\":\"4\"}"};
    const char *keys[] = {"k", "k", "other", NULL};
    sb_job_id ids[4];
    for (int i = 0; i < 4; i++) {
        payloads[i] = json_tokener_parse(texts[i]);
        ids[i] = h->job_enqueue(sbt_plugin(kit), inst, "ordered", keys[i], payloads[i], i == 3 ? 60 : 0);
        json_object_put(payloads[i]);
    }
    CHECK_INT(sbt_jobs_in_state(kit, "ordered", SBT_JOB_QUEUED), 4);
    /* 1 waits for job_complete, so 2 (same key) waits too; 3 runs; 4 is not due. */
    CHECK_INT(sbt_run_due(kit), 2);
    json_object *order = h->doc_get(sbt_plugin(kit), inst, "jobs", "order");
    CHECK_STR(json_object_get_string(order), "1,3,");
    json_object_put(order);
    sb_result done = {0};
    CHECK_INT(h->job_complete(sbt_plugin(kit), ids[0], SB_OK, &done), 0);
    CHECK_INT(h->job_complete(sbt_plugin(kit), ids[0], SB_OK, &done), -1);
    sbt_clock_advance(kit, 60000);
    CHECK_INT(sbt_run_due(kit), 2);
    order = h->doc_get(sbt_plugin(kit), inst, "jobs", "order");
    CHECK_STR(json_object_get_string(order), "1,3,2,4,");
    json_object_put(order);
    CHECK_INT(sbt_jobs_in_state(kit, NULL, SBT_JOB_DONE), 4);
    /* A schedule by name; an unknown job type fails dead. */
    sb_job_id hourly = sbt_schedule_run(kit, inst, "hourly");
    CHECK_INT(sbt_job_get(kit, hourly)->state, SBT_JOB_DONE);
    CHECK_INT(sbt_schedule_run(kit, inst, "weekly"), 0);
    sb_job_id odd = sbt_job_run(kit, inst, "odd", NULL, NULL);
    CHECK_INT(sbt_job_get(kit, odd)->state, SBT_JOB_DEAD);
    CHECK_STR(sbt_job_get(kit, odd)->result.message, "unknown job odd");
    sbt_free(kit);
}

static void pagination_walks_canned_pages(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    CHECK_INT(sbt_intercom_once(kit, "GET", "/contacts*", 200,
                                "{\"data\":[{\"id\":\"c1\"},{\"id\":\"c2\"}],"
                                "\"pages\":{\"next\":{\"starting_after\":\"c2/x\"}}}"),
              0);
    CHECK_INT(sbt_intercom_once(kit, "GET", "/contacts*", 200, "{\"data\":[{\"id\":\"c3\"}]}"), 0);
    CHECK_INT(sbt_intercom_once(kit, "GET", "/contacts*", 200, "not json"), -1);
    sb_job_id id = sbt_job_run(kit, inst, "sync", NULL, NULL);
    CHECK_INT(sbt_job_get(kit, id)->state, SBT_JOB_DONE);
    CHECK_INT(sbt_intercom_count(kit), 1); /* one page asked for, none delivered yet */
    CHECK_INT(sbt_deliver_pending(kit), 2);
    CHECK_STR(P->seen, "c1,c2,c3,");
    CHECK_INT(P->done_calls, 1);
    CHECK_INT(P->last_kind, SB_ERR_NONE);
    CHECK_INT(sbt_intercom_count(kit), 2);
    CHECK_STR(sbt_intercom_call(kit, 0)->path, "/contacts?per_page=2");
    CHECK_STR(sbt_intercom_call(kit, 1)->path, "/contacts?per_page=2&starting_after=c2%2Fx");
    CHECK_STR(sbt_intercom_call(kit, 1)->service, "intercom_paginate");
    sbt_free(kit);
}

static void calls_complete_once_later(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    const sb_host *h = sbt_host(kit);
    sb_plugin *self = sbt_plugin(kit);
    sb_intercom_request req = {.method = "GET", .path = "/me"};
    /* A wrong call: 0, and no callback ever. */
    CHECK_INT(h->intercom_request(self, inst, &(sb_intercom_request){.method = "GET", .path = "me"},
                                  request_done, P),
              0);
    sb_request_id first = h->intercom_request(self, inst, &req, request_done, P);
    CHECK(first != 0);
    h->intercom_cancel(self, first);
    h->intercom_cancel(self, first);
    CHECK_INT(P->done_calls, 0);
    CHECK_INT(sbt_deliver_pending(kit), 1);
    CHECK_INT(P->done_calls, 1);
    CHECK_INT(P->last_kind, SB_ERR_CANCELLED);
    CHECK(sbt_intercom_call(kit, 0)->cancelled);
    /* An unknown installation completes through the callback, as revoked. */
    h->intercom_request(self, 42, &req, request_done, P);
    sbt_deliver_pending(kit);
    CHECK_INT(P->last_kind, SB_ERR_REVOKED);
    /* 401: the installation needs a new install, and the plugin hears it. */
    sbt_intercom_on(kit, NULL, "/me", 401, NULL);
    h->intercom_request(self, inst, &req, request_done, P);
    sbt_deliver_pending(kit);
    CHECK_INT(P->last_kind, SB_ERR_NEEDS_REAUTH);
    CHECK_INT(sbt_installation_state(kit, inst), SB_INSTALLATION_NEEDS_REAUTH);
    CHECK_INT(P->installation_events[SB_NEEDS_REAUTH], 1);
    /* set_attributes: the host's request shape, retry-safe. */
    sbt_install(kit, "ws1");
    json_object *attrs = json_tokener_parse("{\"tier\":\"gold\"}");
    CHECK(h->set_attributes(self, inst, SB_OBJECT_COMPANY, "co 1", attrs, request_done, P) != 0);
    json_object_put(attrs);
    const sbt_call *call = sbt_intercom_call(kit, sbt_intercom_count(kit) - 1);
    CHECK_STR(call->method, "PUT");
    CHECK_STR(call->path, "/companies/co%201");
    CHECK_STR(json_object_to_json_string_ext(call->body, JSON_C_TO_STRING_PLAIN),
              "{\"custom_attributes\":{\"tier\":\"gold\"}}");
    CHECK(call->flags & SB_INTERCOM_RETRY_SAFE);
    sbt_intercom_on(kit, "PUT", "/companies/*", 200, "{\"id\":\"co 1\"}");
    sbt_deliver_pending(kit);
    CHECK_INT(P->last_kind, SB_ERR_NONE);
    /* Pending completions run as cancelled before shutdown. */
    h->intercom_request(self, inst, &req, request_done, P);
    sbt_free(kit);
}

/* ---- intercom_stream: an answer's array handed out element by element ---- */

struct streamed {
    char items[128];    /* ids handed out, comma after each */
    size_t stop_at;     /* the item callback stops at this index */
    size_t cancel_at;   /* ...or cancels the request at this one */
    const sb_host *host;
    sb_plugin *self;
    sb_request_id request;
    int done_calls;
    sb_error_kind kind;
    char error_code[32];
    char rest[256];     /* what done() got as the body */
};

static sb_status stream_item(void *arg, json_object *item, size_t index)
{
    struct streamed *s = arg;
    strcat(s->items, sb_json_str(item, "id") ? sb_json_str(item, "id") : "?");
    strcat(s->items, ",");
    if (index == s->cancel_at)
        s->host->intercom_cancel(s->self, s->request);
    return index == s->stop_at ? SB_FAIL : SB_OK;
}

static void stream_done(void *arg, const sb_intercom_response *res)
{
    struct streamed *s = arg;
    s->done_calls++;
    s->kind = res->kind;
    snprintf(s->error_code, sizeof s->error_code, "%s", res->error_code ? res->error_code : "");
    snprintf(s->rest, sizeof s->rest, "%s",
             res->body ? json_object_to_json_string_ext(res->body, JSON_C_TO_STRING_PLAIN) : "");
}

static bool cut_off(void *arg, const sbt_call *call, sbt_answer *answer)
{
    (void)arg;
    if (strcmp(call->path, "/cut") != 0)
        return false;
    answer->status = 200;
    answer->body = "{\"parts\":{\"list\":[{\"id\":\"a\"},{\"id\":\"b";
    return true;
}

static void streamed_answers_item_by_item(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    const sb_host *h = sbt_host(kit);
    sb_plugin *self = sbt_plugin(kit);
    sb_intercom_request req = {.method = "GET", .path = "/conversations/7"};
    sbt_intercom_on(kit, "GET", "/conversations/7", 200,
                    "{\"id\":\"7\",\"parts\":{\"list\":[{\"id\":\"a\"},{\"id\":\"b\"},"
                    "{\"id\":\"c\"}],\"total\":3}}");
    struct streamed s = {.stop_at = SIZE_MAX, .cancel_at = SIZE_MAX};
    CHECK(h->intercom_stream(self, inst, &req, "parts.list", stream_item, stream_done, &s) != 0);
    CHECK_INT(s.done_calls, 0); /* later, as every completion */
    CHECK_INT(sbt_deliver_pending(kit), 1);
    CHECK_STR(s.items, "a,b,c,");
    CHECK_INT(s.done_calls, 1);
    CHECK_INT(s.kind, SB_ERR_NONE);
    CHECK_STR(s.rest, "{\"id\":\"7\",\"parts\":{\"list\":[],\"total\":3}}");
    CHECK_STR(sbt_intercom_call(kit, 0)->service, "intercom_stream");
    CHECK_STR(sbt_intercom_call(kit, 0)->path, "/conversations/7");
    /* The item callback stops the reading: nothing more, and done() says it was stopped. */
    s = (struct streamed){.stop_at = 1, .cancel_at = SIZE_MAX};
    h->intercom_stream(self, inst, &req, "parts.list", stream_item, stream_done, &s);
    sbt_deliver_pending(kit);
    CHECK_STR(s.items, "a,b,");
    CHECK_INT(s.done_calls, 1);
    CHECK_INT(s.kind, SB_ERR_CANCELLED);
    CHECK_STR(s.error_code, "stopped");
    CHECK_STR(s.rest, "");
    /* Cancelled from an element's callback: nothing more, and done() says cancelled. */
    s = (struct streamed){.stop_at = SIZE_MAX, .cancel_at = 0, .host = h, .self = self};
    s.request = h->intercom_stream(self, inst, &req, "parts.list", stream_item, stream_done, &s);
    sbt_deliver_pending(kit);
    CHECK_STR(s.items, "a,");
    CHECK_INT(s.kind, SB_ERR_CANCELLED);
    CHECK_STR(s.error_code, "cancelled");
    /* No such array: nothing handed out, the whole answer to done(). */
    s = (struct streamed){.stop_at = SIZE_MAX, .cancel_at = SIZE_MAX};
    h->intercom_stream(self, inst, &req, "parts.other", stream_item, stream_done, &s);
    sbt_deliver_pending(kit);
    CHECK_STR(s.items, "");
    CHECK_INT(s.kind, SB_ERR_NONE);
    CHECK(strstr(s.rest, "\"list\":[{\"id\":\"a\"}") != NULL);
    /* A body cut off: the elements before the cut went out, then the failure. */
    sbt_intercom_responder(kit, cut_off, NULL);
    s = (struct streamed){.stop_at = SIZE_MAX, .cancel_at = SIZE_MAX};
    h->intercom_stream(self, inst, &(sb_intercom_request){.method = "GET", .path = "/cut"},
                       "parts.list", stream_item, stream_done, &s);
    sbt_deliver_pending(kit);
    CHECK_STR(s.items, "a,");
    CHECK_INT(s.kind, SB_ERR_SERVER_ERROR);
    CHECK_STR(s.error_code, "invalid_response");
    /* An error answer is intercom_request's; a cancel too. */
    s = (struct streamed){.stop_at = SIZE_MAX, .cancel_at = SIZE_MAX};
    h->intercom_stream(self, inst, &(sb_intercom_request){.method = "GET", .path = "/gone"},
                       "parts.list", stream_item, stream_done, &s);
    sbt_deliver_pending(kit);
    CHECK_INT(s.kind, SB_ERR_NOT_FOUND);
    CHECK_STR(s.items, "");
    s = (struct streamed){.stop_at = SIZE_MAX, .cancel_at = SIZE_MAX};
    h->intercom_cancel(self, h->intercom_stream(self, inst, &req, "parts.list", stream_item,
                                                stream_done, &s));
    sbt_deliver_pending(kit);
    CHECK_INT(s.kind, SB_ERR_CANCELLED);
    CHECK_STR(s.error_code, "cancelled");
    CHECK_STR(s.items, "");
    /* Wrong calls: 0, and no callback ever. */
    s = (struct streamed){.stop_at = SIZE_MAX, .cancel_at = SIZE_MAX};
    const char *bad_paths[] = {NULL, "", "parts..list", ".parts", "parts."};
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++)
        CHECK_INT(h->intercom_stream(self, inst, &req, bad_paths[i], stream_item, stream_done, &s),
                  0);
    CHECK_INT(h->intercom_stream(self, inst, &req, "parts.list", NULL, stream_done, &s), 0);
    CHECK_INT(sbt_deliver_pending(kit), 0);
    CHECK_INT(s.done_calls, 0);
    sbt_free(kit);
}

static void product_api_answers(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    const sbt_reply *r = sbt_api(kit, "GET", "/items/a%20b?workspace_id=ws1&q=x+y", NULL);
    CHECK_INT(r->status, 200);
    CHECK_STR(json_object_to_json_string_ext(r->json, JSON_C_TO_STRING_PLAIN
                                                          | JSON_C_TO_STRING_NOSLASHESCAPE),
              "{\"id\":\"a b\",\"arg\":\"item\",\"q\":\"x y\",\"installation\":1,"
              "\"path\":\"/api/kitplug/items/a%20b\"}");
    /* Headers reach the handler by name, whatever their case. */
    const char *const headers[] = {"X-Other: 1", "Idempotency-Key:  k-42", NULL};
    r = sbt_api_headers(kit, "GET", "/items/1?workspace_id=ws1", headers, NULL, NULL, 0);
    CHECK_STR(sb_json_str(r->json, "key"), "k-42");
    CHECK_INT(sbt_api(kit, "GET", "/items/1", NULL)->status, 400);
    CHECK_STR(sb_json_str(sb_json_obj(sbt_api(kit, "GET", "/items/1", NULL)->json, "error"), "code"),
              "installation_required");
    /* An uninstalled workspace is one code on every route, flagged or not. */
    r = sbt_api(kit, "GET", "/items/1?workspace_id=nope", NULL);
    CHECK_INT(r->status, 404);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "unknown_installation");
    r = sbt_api(kit, "GET", "/retry?workspace_id=nope", NULL);
    CHECK_INT(r->status, 404);
    CHECK(!r->handler_ran);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "unknown_installation");
    sbt_needs_reauth(kit, inst);
    r = sbt_api(kit, "GET", "/items/1?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 409);
    CHECK(!r->handler_ran);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "installation_needs_reauth");
    /* Any state: the handler runs for the installation that must install again... */
    r = sbt_api(kit, "GET", "/items/1/any?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(r->json, "arg"), "any");
    CHECK_INT(sb_json_int(r->json, "installation", 0), (int64_t)inst);
    /* ...but the host still wants one. */
    r = sbt_api(kit, "GET", "/items/1/any", NULL);
    CHECK_INT(r->status, 400);
    CHECK(!r->handler_ran);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "installation_required");
    r = sbt_api(kit, "GET", "/items/1/any?workspace_id=nope", NULL);
    CHECK_INT(r->status, 404);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "unknown_installation");
    sbt_uninstall(kit, inst);
    r = sbt_api(kit, "GET", "/items/1?workspace_id=ws1", NULL);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "installation_revoked");
    CHECK_INT(sbt_api(kit, "GET", "/items/1/any?workspace_id=ws1", NULL)->status, 200);
    sbt_install(kit, "ws1");
    CHECK_INT(sbt_api(kit, "DELETE", "/items/1", NULL)->status, 405);
    CHECK_INT(sbt_api(kit, "GET", "/nothing", NULL)->status, 404);
    CHECK_INT(sbt_api(kit, "POST", "/items", "{\"n\":\"1\"")->status, 400);
    r = sbt_api(kit, "GET", "/retry", NULL);
    CHECK_INT(r->status, 503);
    CHECK_INT(r->handler_status, SB_RETRY);
    /* A route that answers later, from a timer that fires only when the clock moves. */
    r = sbt_api(kit, "GET", "/later", NULL);
    CHECK(!r->answered);
    CHECK_INT(sbt_timer_count(kit), 1);
    CHECK_INT(sbt_clock_advance(kit, 999), 0);
    CHECK(!r->answered);
    int64_t before = P->host->now_ms(P->self);
    CHECK_INT(sbt_clock_advance(kit, 1), 1);
    CHECK_INT(P->host->now_ms(P->self), before + 1);
    CHECK(r->answered);
    CHECK_STR(r->body, "late");
    CHECK_STR(r->content_type, "text/plain");
    CHECK_INT(P->host->respond(P->self, r->token, 200, NULL), -1); /* answered already */
    sbt_free(kit);
}

static void transactions_undo_jobs_events_and_audit(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    const sbt_reply *r = sbt_api(kit, "POST", "/items?workspace_id=ws1", "{\"n\":\"9\",\"fail\":4}");
    CHECK_INT(r->status, 409);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "code"), "create_refused");
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "error"), "message"), "refused (4)");
    CHECK_INT(sbt_doc_count(kit, inst, "items"), 0);
    CHECK_INT(sbt_job_count(kit), 0);
    CHECK_INT(sbt_product_event_count(kit), 0);
    json_object *audit = P->host->audit_list(P->self, inst, NULL, 0);
    CHECK_INT(json_object_array_length(audit), 0);
    json_object_put(audit);

    r = sbt_api(kit, "POST", "/items?workspace_id=ws1", "{\"n\":\"9\"}");
    CHECK_INT(r->status, 201);
    CHECK_INT(sbt_doc_count(kit, inst, "items"), 1);
    CHECK_INT(sbt_jobs_in_state(kit, "ordered", SBT_JOB_QUEUED), 1);
    CHECK_INT(sbt_product_event_count(kit), 1);
    const sbt_product_event *e = sbt_product_event_at(kit, 0);
    CHECK_STR(e->type, "item.created");
    CHECK_INT(e->installation, inst);
    CHECK_STR(sb_json_str(e->payload, "n"), "9");
    sbt_product_webhook(kit, false);
    CHECK_INT(P->host->product_event(P->self, inst, "x", NULL), -1);
    sbt_free(kit);
}

static void canvas_answers(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    const sbt_reply *r = sbt_canvas(kit, "initialize",
                                    "{\"workspace_id\":\"ws1\",\"conversation\":{\"id\":77},"
                                    "\"admin\":{\"id\":\"a9\"}}");
    CHECK_INT(r->status, 200);
    CHECK_CONTAINS(r->body, "conversation 77, admin a9");
    r = sbt_canvas(kit, "submit", "{\"workspace_id\":\"ws1\",\"component_id\":\"bad\"}");
    CHECK_CONTAINS(r->body, "invalid canvas");
    r = sbt_canvas(kit, "initialize", "{\"workspace_id\":\"elsewhere\"}");
    CHECK_CONTAINS(r->body, "has not connected the app");
    CHECK(!r->handler_ran);
    sbt_free(kit);
}

static void outbound_allow_list(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    /* Nothing allowed yet: refused, never sent. */
    const sbt_reply *r = sbt_api(kit, "GET", "/ping?url=https://api.vendor.test/ping", NULL);
    CHECK(!r->answered);
    CHECK_INT(sbt_deliver_pending(kit), 1);
    CHECK_STR(sb_json_str(r->json, "kind"), "not_allowed");
    CHECK_INT(sbt_outbound_count(kit), 0);
    sbt_outbound_allow(kit, "api.vendor.test");
    r = sbt_api(kit, "GET", "/ping?url=https://api.vendor.test:8443/ping", NULL); /* other port */
    sbt_deliver_pending(kit);
    CHECK_STR(sb_json_str(r->json, "kind"), "not_allowed");
    sbt_outbound_once(kit, "POST", "https://api.vendor.test/ping", 200, "application/json",
                      "{\"pong\":true}");
    r = sbt_api(kit, "GET", "/ping?url=https://api.vendor.test/ping", NULL);
    CHECK_INT(sbt_outbound_count(kit), 1);
    const sbt_call *call = sbt_outbound_call(kit, 0);
    CHECK_STR(call->raw_body, "{\"ping\":1}");
    CHECK_STR(call->headers[0], "Authorization: Bearer s3cr3t");
    sbt_deliver_pending(kit);
    CHECK_STR(sb_json_str(r->json, "kind"), "none");
    CHECK(sb_json_bool(sb_json_obj(r->json, "json"), "pong", false));
    /* The secret header never reaches the log. */
    CHECK_INT(sbt_log_find(kit, SB_LOG_INFO, "pinging the vendor"), 3);
    CHECK_INT(sbt_log_find(kit, SB_LOG_DEBUG, "s3cr3t"), 0);
    sbt_free(kit);
}

static bool busy_vendor(void *arg, const sbt_call *call, sbt_answer *answer)
{
    static const char *const headers[] = {"Retry-After: 7", "X-Trace: t1", NULL};
    (void)arg, (void)call;
    answer->status = 429;
    answer->headers = headers;
    return true;
}

static void outbound_responder(void)
{
    sb_installation_id inst;
    sbt_kit *kit = started(&inst);
    sbt_outbound_allow(kit, "http://127.0.0.1:*");
    sbt_outbound_responder(kit, busy_vendor, NULL);
    const sbt_reply *r = sbt_api(kit, "GET", "/ping?url=http://127.0.0.1:9/x", NULL);
    sbt_deliver_pending(kit);
    CHECK_STR(sb_json_str(r->json, "kind"), "rate_limited");
    CHECK_INT(sb_json_int(r->json, "retry_after_s", 0), 7);
    CHECK_STR(sb_json_str(r->json, "header"), "t1");
    sbt_free(kit);
}

static void post_from_thread(void *arg)
{
    struct plug *p = arg;
    p->posted++;
}

static void *helper_thread(void *arg)
{
    P->host->loop_post(P->self, post_from_thread, arg);
    return NULL;
}

static void loop_post_runs_on_demand(void)
{
    sbt_kit *kit = started(NULL);
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, helper_thread, P), 0);
    pthread_join(t, NULL);
    CHECK_INT(P->posted, 0);
    CHECK_INT(sbt_run_posted(kit), 1);
    CHECK_INT(P->posted, 1);
    CHECK_INT(sbt_run_posted(kit), 0);
    sbt_free(kit);
}

int main(void)
{
    RUN(refuses_what_the_host_refuses);
    RUN(check_config_alone_shows_where);
    RUN(installations_and_settings);
    RUN(webhook_checkpoint_retry_and_skip);
    RUN(jobs_keep_key_order);
    RUN(pagination_walks_canned_pages);
    RUN(calls_complete_once_later);
    RUN(streamed_answers_item_by_item);
    RUN(product_api_answers);
    RUN(transactions_undo_jobs_events_and_audit);
    RUN(canvas_answers);
    RUN(outbound_allow_list);
    RUN(outbound_responder);
    RUN(loop_post_runs_on_demand);
    UNIT_DONE();
}
