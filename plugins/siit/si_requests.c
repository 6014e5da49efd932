/*
 * si_requests.c - what Siit reports through the product API: its requests
 * (POST /requests) and their tags (POST /requests/{id}/tags), each starting
 * the workflows they trigger; the approval decisions
 * (POST /requests/{id}/approve, /reject) and the runs of a request
 * (GET /requests/{id}/workflows). A report and the runs it starts are one
 * group of writes: both are kept or neither.
 */
#include "si_workflow.h"

#include "plugin_kit.h"
#include "si_settings.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SERVICE_MAX 200
#define SUBJECT_MAX 1000
#define URL_MAX 2048
#define NAME_MAX 200
#define EMAIL_MAX 254
#define TAG_MAX 200
#define TAGS_MAX 100
#define COMMENT_MAX 2000

/*
 * The JSON body as an object into *body; an empty body is NULL (no members)
 * when @p optional. False after filling a 400.
 */
static bool body_object(const sb_http_request *req, bool optional, json_object **body,
                        sb_result *result)
{
    *body = NULL;
    if (req->raw_body_len == 0 && optional)
        return true;
    if (!json_object_is_type(req->body, json_type_object)) {
        pk_refuse(result, 400, "invalid_json", "the body must be a JSON object");
        return false;
    }
    *body = req->body;
    return true;
}

/* A 400 invalid_request; returns false for `return invalid(...)`. */
static bool invalid(sb_result *result, const char *message)
{
    pk_refuse(result, 400, "invalid_request", "%s", message);
    return false;
}

/*
 * Member @p name of @p body: absent or null is fine (*out NULL); otherwise a
 * string of 1..@p max bytes. False after filling a 400.
 */
static bool optional_text(json_object *body, const char *name, size_t max, const char **out,
                          sb_result *result)
{
    *out = NULL;
    json_object *v = sb_json_get(body, name);
    if (!v)
        return true;
    size_t len = json_object_is_type(v, json_type_string) ? strlen(json_object_get_string(v)) : 0;
    if (len == 0 || len > max) {
        pk_refuse(result, 400, "invalid_request", "%s must be a string of 1 to %zu bytes", name,
                  max);
        return false;
    }
    *out = json_object_get_string(v);
    return true;
}

/* Copy the members of a reported request over @p doc (what was not sent stays). */
static bool merge_report(json_object *body, json_object *doc, sb_result *result)
{
    const char *service, *subject, *url, *priority, *email, *name;
    if (!optional_text(body, "service", SERVICE_MAX, &service, result)
        || !optional_text(body, "subject", SUBJECT_MAX, &subject, result)
        || !optional_text(body, "url", URL_MAX, &url, result)
        || !optional_text(body, "priority", 16, &priority, result))
        return false;
    if (url && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return invalid(result, "url must be an http(s) URL");
    if (priority && !si_priority_valid(priority))
        return invalid(result, "priority must be \"low\", \"medium\", \"high\" or \"urgent\"");
    json_object *requester = sb_json_get(body, "requester");
    if (requester && !json_object_is_type(requester, json_type_object))
        return invalid(result, "requester must be an object {\"email\", \"name\"}");
    if (!optional_text(requester, "email", EMAIL_MAX, &email, result)
        || !optional_text(requester, "name", NAME_MAX, &name, result))
        return false;
    if (email && !strchr(email, '@'))
        return invalid(result, "requester.email must be an email address");
    const char *const members[][2] = {
        {"service", service}, {"subject", subject}, {"url", url}, {"priority", priority}};
    for (size_t i = 0; i < PK_ARRAY_LEN(members); i++)
        if (members[i][1])
            sb_json_add_str(doc, members[i][0], members[i][1]);
    if (requester) {
        json_object *who = pk_xchecked(json_object_new_object());
        sb_json_add_str(who, "email", email);
        sb_json_add_str(who, "name", name);
        json_object_object_add(doc, "requester", who);
    }
    return true;
}

/* ---- a report and the runs it starts, as one group of writes ---- */

struct report {
    si_state *st;
    sb_installation_id inst;
    json_object *request;      /* the document to store */
    enum si_trigger_kind kind; /* what it may trigger */
    const char *value;         /* NULL: nothing */
    json_object *started;      /* run ids */
};

static int store_report(void *arg)
{
    struct report *r = arg;
    if (si_put(r->st, r->inst, SI_REQUESTS, sb_json_str(r->request, "id"),
               json_object_get(r->request))
        != 0)
        return -1;
    return si_workflows_trigger(r->st, r->inst, r->request, r->kind, r->value, r->started);
}

static sb_status answer_report(si_state *st, const sb_http_request *req, struct report *r,
                               int status, sb_result *result)
{
    r->started = pk_xchecked(json_object_new_array());
    if (st->host->transaction(st->self, store_report, r) != 0) {
        json_object_put(r->started);
        return pk_refuse(result, 500, "store_error", "cannot store the request");
    }
    json_object *body = pk_xchecked(json_object_new_object());
    json_object_object_add(body, "request", json_object_get(r->request));
    json_object_object_add(body, "workflows_started", r->started);
    return si_reply(st, req, status, body);
}

sb_status si_route_request_reported(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    json_object *body;
    if (!body_object(req, false, &body, result))
        return SB_FAIL;
    const char *id = sb_json_str(body, "id");
    if (!si_request_id_checked(id, result))
        return SB_FAIL;
    json_object *doc = si_get(st, req->installation, SI_REQUESTS, id);
    bool created = !doc;
    int64_t now = si_now_s(st);
    if (created) {
        doc = pk_xchecked(json_object_new_object());
        sb_json_add_str(doc, "id", id);
        json_object_object_add(doc, "tags", pk_xchecked(json_object_new_array()));
        sb_json_add_int(doc, "reported_at", now);
    }
    if (!merge_report(body, doc, result)) {
        json_object_put(doc);
        return SB_FAIL;
    }
    sb_json_add_int(doc, "updated_at", now);
    struct report r = {.st = st, .inst = req->installation, .request = doc,
                       .kind = SI_TRIGGER_SERVICE, .value = sb_json_str(doc, "service")};
    sb_status status = answer_report(st, req, &r, created ? 201 : 200, result);
    json_object_put(doc);
    return status;
}

sb_status si_route_request_tagged(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *id = sb_json_str(req->params, "id");
    json_object *body;
    const char *tag;
    if (!si_request_id_checked(id, result) || !body_object(req, false, &body, result)
        || !optional_text(body, "tag", TAG_MAX, &tag, result))
        return SB_FAIL;
    if (!tag)
        return pk_refuse(result, 400, "invalid_request", "tag is missing: {\"tag\": \"...\"}");
    json_object *doc = si_get(st, req->installation, SI_REQUESTS, id);
    if (!doc)
        return pk_refuse(result, 404, "unknown_request",
                         "request %s was never reported: POST /requests first", id);
    json_object *tags = sb_json_arr(doc, "tags");
    if (!tags) {
        tags = pk_xchecked(json_object_new_array());
        json_object_object_add(doc, "tags", tags);
    }
    bool present = false;
    for (size_t i = 0; i < json_object_array_length(tags); i++)
        present |= strcasecmp(json_object_get_string(json_object_array_get_idx(tags, i)), tag) == 0;
    if (!present && json_object_array_length(tags) >= TAGS_MAX) {
        json_object_put(doc);
        return pk_refuse(result, 422, "too_many_tags", "a request keeps at most %d tags",
                         TAGS_MAX);
    }
    if (!present)
        json_object_array_add(tags, json_object_new_string(tag));
    sb_json_add_int(doc, "updated_at", si_now_s(st));
    struct report r = {.st = st, .inst = req->installation, .request = doc,
                       .kind = SI_TRIGGER_TAG, .value = tag};
    sb_status status = answer_report(st, req, &r, 200, result);
    json_object_put(doc);
    return status;
}

/* ---- approvals ---- */

struct decision {
    si_state *st;
    sb_installation_id inst;
    const char *request_id, *run_id, *by, *comment;
    bool approve;
    json_object *run;
    sb_result *result;
};

static int decide(void *arg)
{
    struct decision *d = arg;
    return si_workflow_decide(d->st, d->inst, d->request_id, d->run_id, d->approve, d->by,
                              d->comment, &d->run, d->result)
                   == SB_OK
               ? 0
               : 1;
}

static sb_status route_decide(si_state *st, const sb_http_request *req, bool approve,
                              sb_result *result)
{
    struct decision d = {.st = st, .inst = req->installation, .approve = approve,
                         .result = result};
    d.request_id = sb_json_str(req->params, "id");
    json_object *body;
    if (!si_request_id_checked(d.request_id, result) || !body_object(req, true, &body, result)
        || !optional_text(body, "run_id", SI_RUN_ID_SIZE - 1, &d.run_id, result)
        || !optional_text(body, "by", NAME_MAX, &d.by, result)
        || !optional_text(body, "comment", COMMENT_MAX, &d.comment, result))
        return SB_FAIL;
    json_object *request = si_get(st, req->installation, SI_REQUESTS, d.request_id);
    if (!request)
        return pk_refuse(result, 404, "unknown_request", "request %s was never reported",
                         d.request_id);
    json_object_put(request);
    int rc = st->host->transaction(st->self, decide, &d);
    if (rc != 0) {
        if (rc < 0 && !result->message[0])
            pk_refuse(result, 500, "store_error", "cannot record the decision");
        return SB_FAIL;
    }
    json_object *answer = pk_xchecked(json_object_new_object());
    json_object_object_add(answer, "run", d.run);
    return si_reply(st, req, 200, answer);
}

sb_status si_route_request_approve(void *state, const sb_http_request *req, sb_result *result)
{
    return route_decide(state, req, true, result);
}

sb_status si_route_request_reject(void *state, const sb_http_request *req, sb_result *result)
{
    return route_decide(state, req, false, result);
}

sb_status si_route_request_workflows(void *state, const sb_http_request *req, sb_result *result)
{
    si_state *st = state;
    const char *id = sb_json_str(req->params, "id");
    if (!si_request_id_checked(id, result))
        return SB_FAIL;
    json_object *request = si_get(st, req->installation, SI_REQUESTS, id);
    if (!request)
        return pk_refuse(result, 404, "unknown_request", "request %s was never reported", id);
    json_object_put(request);
    json_object *runs = si_workflow_runs(st, req->installation, id);
    if (!runs)
        return pk_refuse(result, 500, "store_error", "cannot read the workflow runs");
    json_object *body = pk_xchecked(json_object_new_object());
    sb_json_add_str(body, "request_id", id);
    json_object_object_add(body, "runs", runs);
    return si_reply(st, req, 200, body);
}
