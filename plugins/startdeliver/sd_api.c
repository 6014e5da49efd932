/*
 * sd_api.c - product API routes. Every route needs ?workspace_id= (the
 * Intercom workspace), answers JSON, and lists page with ?limit= (1-1000,
 * default 100) and ?after=<the "next" value of the previous page>. Errors
 * are the handler's FAIL with a status and a code, answered by the host in
 * its one JSON format. Every route carries SB_ROUTE_NEEDS_INSTALLATION, so
 * the host refuses a missing or unknown workspace; only a sync needs the
 * installation active: the others add SB_ROUTE_ANY_STATE, so records,
 * tickets and the status stay readable and writable in every state, the
 * history outlives a revoke and pushes made while the workspace re-installs
 * are kept for the next sync.
 */
#include "sd_api.h"

#include "sd_model.h"
#include "sd_records.h"
#include "sd_run.h"
#include "sd_transcript.h"
#include "sd_usage_api.h"
#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000
#define MAX_BULK 1000

/* ---- request helpers ---- */

/* Route arguments: the kind of record a handler shared by the users and customers routes serves. */
static enum sd_record_kind user_records = SD_RECORD_USER, customer_records = SD_RECORD_CUSTOMER;

static enum sd_record_kind route_kind(const sb_http_request *req)
{
    return *(const enum sd_record_kind *)req->route_arg;
}

/* What a route needs about its installation, valid for the handler's duration. */
struct call {
    struct sd_plugin *sd;
    const sb_http_request *req;
    sb_installation inst;
    struct sd_settings settings;
    struct sd_env env;
};

static bool open_call(struct sd_plugin *sd, const sb_http_request *req, struct call *c,
                      sb_result *result)
{
    memset(c, 0, sizeof *c);
    c->sd = sd;
    c->req = req;
    /* Every route needs an installation (the route flags), so the host checked there is one. */
    if (sd->host->installation_get(sd->self, req->installation, &c->inst) != 0) {
        pk_refuse(result, 500, "store_error", "cannot read the installation");
        return false;
    }
    sd_settings_of(sd, req->installation, &c->settings);
    c->env = (struct sd_env){sd, req->installation, &c->settings, c->inst.workspace_id,
                             c->inst.region, NULL};
    return true;
}

static sb_status reply(struct call *c, int status, json_object *body)
{
    c->sd->host->respond(c->sd->self, c->req->reply, status, body);
    json_object_put(body); /* respond borrows it */
    return SB_OK;
}

static const char *query(const sb_http_request *req, const char *name)
{
    return sb_json_str(req->query, name);
}

static const char *param(const sb_http_request *req, const char *name)
{
    return sb_json_str(req->params, name);
}

/* ---- listing ---- */

/* Collects up to limit items, and looks one further to know whether a next page exists. */
struct page {
    json_object *data;
    size_t limit;
    char *next;
};

static void page_init(struct page *p, size_t limit)
{
    p->data = json_object_new_array();
    p->limit = limit;
    p->next = NULL;
}

/* Add an item; returns non-zero once the page is full (the caller stops scanning). */
static int page_add(struct page *p, const char *cursor, json_object *item)
{
    if (json_object_array_length(p->data) == p->limit) {
        json_object_put(item);
        return 1; /* one more exists: the page has a next */
    }
    json_object_array_add(p->data, item);
    free(p->next);
    p->next = pk_xstrdup(cursor);
    return 0;
}

static json_object *page_finish(struct page *p, bool more)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "data", p->data);
    sb_json_add_str(o, "next", more ? p->next : NULL);
    free(p->next);
    return o;
}

struct scan {
    struct call *c;
    struct page page;
    bool more;
    int status;          /* ticket status filter, or -1 */
    int64_t now_s;
};

static int list_plain(void *arg, const char *key, json_object *value)
{
    struct scan *s = arg;
    int full = page_add(&s->page, key, json_object_get(value));
    s->more = s->more || full;
    return full;
}

/* List one collection (optionally within "<prefix>|") from ?after=. */
static sb_status list_collection(struct call *c, const char *collection, const char *prefix,
                                 int (*visit)(void *, const char *, json_object *),
                                 struct scan *s, sb_result *result)
{
    size_t limit;
    if (!pk_query_limit(c->req, DEFAULT_LIMIT, MAX_LIMIT, &limit, result))
        return SB_FAIL;
    page_init(&s->page, limit);
    const char *after = query(c->req, "after");
    char *from = after ? sd_key_after(after) : prefix ? pk_xasprintf("%s|", prefix) : NULL;
    char *to = prefix ? pk_xasprintf("%s}", prefix) : NULL;
    c->sd->host->doc_list(c->sd->self, c->req->installation, collection, from, to, 0, 0, visit, s);
    free(from);
    free(to);
    return reply(c, 200, page_finish(&s->page, s->more));
}

/* ---- users and customers ---- */

static const char *kind_name(enum sd_record_kind kind)
{
    return kind == SD_RECORD_USER ? "user" : "customer";
}

static json_object *record_view(struct call *c, enum sd_record_kind kind, json_object *record,
                                int64_t now_s)
{
    if (kind != SD_RECORD_CUSTOMER)
        return json_object_get(record);
    /* A copy: the record is borrowed from the store scan. (json_object_deep_copy wants
       a NULL destination; it fails only when memory runs out.) */
    json_object *view = NULL;
    if (json_object_deep_copy(record, &view, NULL) != 0 || !view)
        return json_object_new_object();
    json_object_object_add(view, "support_health",
                           sd_health_json(&c->env, sb_json_str(record, "id"), now_s));
    return view;
}

struct store_tx {
    struct call *c;
    enum sd_record_kind kind;
    json_object **records;
    size_t n;
    size_t created;
};

static int store_tx(void *arg)
{
    struct store_tx *t = arg;
    t->created = 0;
    for (size_t i = 0; i < t->n; i++) {
        bool created = false;
        if (sd_record_store(&t->c->env, t->kind, t->records[i], "product", NULL, &created) != 0)
            return -1;
        t->created += created;
    }
    return 0;
}

static sb_status store_records(struct call *c, enum sd_record_kind kind, json_object **records,
                               size_t n, sb_result *result)
{
    struct store_tx t = {c, kind, records, n, 0};
    if (c->sd->host->transaction(c->sd->self, store_tx, &t) != 0)
        return pk_refuse(result, 500, "store_error", "cannot store the %ss", kind_name(kind));
    char detail[96];
    snprintf(detail, sizeof detail, "%zu stored, %zu new", n, t.created);
    c->sd->host->audit(c->sd->self, c->req->installation, kind == SD_RECORD_USER ? "users"
                                                                                  : "customers",
                       "pushed", detail);
    json_object *o = json_object_new_object();
    sb_json_add_int(o, "stored", (int64_t)n);
    sb_json_add_int(o, "created", (int64_t)t.created);
    return reply(c, 200, o);
}

static sb_status route_record_put(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    enum sd_record_kind kind = route_kind(req);
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    char err[200];
    json_object *record = sd_record_from_input(kind, req->body, param(req, "id"), err, sizeof err);
    if (!record)
        return pk_refuse(result, 422, "invalid_request", "%s", err);
    sb_status st = store_records(&c, kind, &record, 1, result);
    json_object_put(record);
    return st;
}

static sb_status route_records_post(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    enum sd_record_kind kind = route_kind(req);
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    const char *member = kind == SD_RECORD_USER ? "users" : "customers";
    json_object *list = sb_json_arr(req->body, member);
    if (!list)
        return pk_refuse(result, 422, "invalid_request", "send {\"%s\": [...]}", member);
    size_t n = json_object_array_length(list);
    if (n > MAX_BULK)
        return pk_refuse(result, 413, "too_many_records", "at most %d %s per request", MAX_BULK,
                         member);
    /* Validate everything first: a bad record stores nothing. */
    json_object **records = pk_xcalloc(n, sizeof *records);
    sb_status st = SB_OK;
    for (size_t i = 0; i < n && st == SB_OK; i++) {
        char err[200];
        records[i] = sd_record_from_input(kind, json_object_array_get_idx(list, i), NULL, err,
                                          sizeof err);
        if (!records[i])
            st = pk_refuse(result, 422, "invalid_request", "%s[%zu]: %s", member, i, err);
    }
    if (st == SB_OK)
        st = store_records(&c, kind, records, n, result);
    for (size_t i = 0; i < n; i++)
        json_object_put(records[i]);
    free(records);
    return st;
}

static sb_status route_record_get(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    enum sd_record_kind kind = route_kind(req);
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    const char *id = param(req, "id");
    json_object *record = sd_get(sd, req->installation,
                                 kind == SD_RECORD_USER ? SD_USERS : SD_CUSTOMERS, id);
    if (!record)
        return pk_refuse(result, 404, kind == SD_RECORD_USER ? "unknown_user" : "unknown_customer",
                         "no %s '%.128s'", kind_name(kind), id);
    json_object *view = record_view(&c, kind, record, sd_now_s(sd));
    json_object_put(record);
    return reply(&c, 200, view);
}

struct record_scan {
    struct scan scan;
    enum sd_record_kind kind;
};

static int list_record(void *arg, const char *key, json_object *value)
{
    struct record_scan *rs = arg;
    struct scan *s = &rs->scan;
    int full = page_add(&s->page, key, record_view(s->c, rs->kind, value, s->now_s));
    s->more = s->more || full;
    return full;
}

static sb_status route_records_list(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    enum sd_record_kind kind = route_kind(req);
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    struct record_scan rs = {.scan = {.c = &c, .status = -1, .now_s = sd_now_s(sd)},
                             .kind = kind};
    return list_collection(&c, kind == SD_RECORD_USER ? SD_USERS : SD_CUSTOMERS, NULL, list_record,
                           &rs.scan, result);
}

static sb_status route_customer_health(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    const char *id = param(req, "id");
    json_object *customer = sd_get(sd, req->installation, SD_CUSTOMERS, id);
    json_object_put(customer);
    if (!customer)
        return pk_refuse(result, 404, "unknown_customer", "no such customer");
    json_object *health = sd_health_json(&c.env, id, sd_now_s(sd));
    sb_json_add_str(health, "customer_id", id);
    return reply(&c, 200, health);
}

/* ---- tickets ---- */

/* Add one ticket by conversation id if it passes the status filter. */
static int add_ticket(struct scan *s, const char *conversation_id, const char *cursor)
{
    json_object *ticket = sd_get(s->c->sd, s->c->req->installation, SD_TICKETS, conversation_id);
    if (!ticket)
        return 0;
    json_object *view = sd_ticket_view(&s->c->env, ticket, s->now_s);
    json_object_put(ticket);
    if (s->status >= 0
        && sd_ticket_status_parse(sb_json_str(view, "status")) != s->status) {
        json_object_put(view);
        return 0;
    }
    int full = page_add(&s->page, cursor, view);
    s->more = s->more || full;
    return full;
}

static int visit_ticket(void *arg, const char *key, json_object *value)
{
    (void)value;
    return add_ticket(arg, key, key);
}

/* user_tickets keys are "<user>|<conversation>"; the cursor is the whole key. */
static int visit_user_ticket(void *arg, const char *key, json_object *value)
{
    (void)value;
    const char *bar = strchr(key, '|');
    return bar ? add_ticket(arg, bar + 1, key) : 0;
}

struct customer_scan {
    struct scan *scan;
    const char *after;     /* "<user>|<conversation>" to resume after, or NULL */
    bool stop;
};

static int visit_customer_user(void *arg, const char *key, json_object *value)
{
    struct customer_scan *cs = arg;
    (void)value;
    const char *user = strchr(key, '|');
    if (!user)
        return 0;
    user++;
    char *prefix_from = pk_xasprintf("%s|", user);
    char *to = pk_xasprintf("%s}", user);
    char *from = cs->after && strncmp(cs->after, prefix_from, strlen(prefix_from)) == 0
                     ? sd_key_after(cs->after)
                     : pk_xstrdup(prefix_from);
    struct sd_plugin *sd = cs->scan->c->sd;
    int visited = sd->host->doc_list(sd->self, cs->scan->c->req->installation, SD_USER_TICKETS,
                                     from, to, 0, 0, visit_user_ticket, cs->scan);
    (void)visited;
    free(prefix_from);
    free(from);
    free(to);
    cs->stop = cs->scan->more;
    return cs->stop;
}

static sb_status route_tickets(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    struct scan s = {.c = &c, .status = -1, .now_s = sd_now_s(sd)};
    const char *status = query(req, "status");
    if (status && (s.status = sd_ticket_status_parse(status)) < 0)
        return pk_refuse(result, 400, "invalid_request",
                         "status must be open, overdue or resolved");
    const char *user = query(req, "user_id"), *customer = query(req, "customer_id");
    if (user)
        return list_collection(&c, SD_USER_TICKETS, user, visit_user_ticket, &s, result);
    if (!customer)
        return list_collection(&c, SD_TICKETS, NULL, visit_ticket, &s, result);

    size_t limit;
    if (!pk_query_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &limit, result))
        return SB_FAIL;
    page_init(&s.page, limit);
    const char *after = query(req, "after");
    struct customer_scan cs = {&s, after, false};
    /* Resume at the user of the cursor: "<customer>|<user>" for that user onward. */
    char *from = NULL;
    if (after && strchr(after, '|')) {
        char *user_of_cursor = pk_xstrdup(after);
        *strchr(user_of_cursor, '|') = '\0';
        from = sd_pair_key(customer, user_of_cursor);
        free(user_of_cursor);
    } else {
        from = pk_xasprintf("%s|", customer);
    }
    char *to = pk_xasprintf("%s}", customer);
    sd->host->doc_list(sd->self, req->installation, SD_CUSTOMER_USERS, from, to, 0, 0,
                       visit_customer_user, &cs);
    free(from);
    free(to);
    return reply(&c, 200, page_finish(&s.page, s.more));
}

static sb_status route_ticket_get(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    json_object *ticket = sd_get(sd, req->installation, SD_TICKETS, param(req, "id"));
    if (!ticket)
        return pk_refuse(result, 404, "unknown_ticket", "no ticket for that conversation");
    json_object *view = sd_ticket_view(&c.env, ticket, sd_now_s(sd));
    json_object_put(ticket);
    return reply(&c, 200, view);
}

static sb_status route_skipped(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    struct scan s = {.c = &c, .status = -1};
    return list_collection(&c, SD_SKIPPED, NULL, list_plain, &s, result);
}

static sb_status route_usage(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    struct scan s = {.c = &c, .status = -1};
    return list_collection(&c, SD_USAGE, query(req, "user_id"), list_plain, &s, result);
}

/* ---- sync, status, revoke ---- */

static const char *state_name(sb_installation_state state)
{
    switch (state) {
    case SB_INSTALLATION_ACTIVE:
        return "authenticated";
    case SB_INSTALLATION_NEEDS_REAUTH:
        return "needs_reinstall";
    case SB_INSTALLATION_REVOKED:
    default:
        return "revoked";
    }
}

static json_object *progress_of(const struct sd_run *run)
{
    json_object *cp = sd_run_checkpoint(run);
    json_object_object_del(cp, "cursor"); /* Intercom's opaque cursor says nothing to people */
    return cp;
}

static sb_status route_sync(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    struct sd_run *run = sd_run_find(sd, req->installation);
    if (run) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "started", json_object_new_boolean(0));
        sb_json_add_str(o, "reason", "a sync is already running");
        json_object_object_add(o, "running", progress_of(run));
        return reply(&c, 409, o);
    }
    bool full = sb_json_bool(req->body, "full", false);
    json_object *payload = json_object_new_object();
    json_object_object_add(payload, "full", json_object_new_boolean(full));
    json_object_object_add(payload, "requested_by", json_object_new_string("api"));
    sb_job_id job = sd->host->job_enqueue(sd->self, req->installation, SD_SYNC_JOB,
                                          SD_SYNC_JOB_KEY, payload, 0);
    json_object_put(payload);
    if (!job)
        return pk_refuse(result, 500, "store_error", "cannot queue the sync");
    sd->host->audit(sd->self, req->installation, "sync", "requested", full ? "full" : NULL);
    json_object *mark = sd_get(sd, req->installation, SD_SYNC, "watermark");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "started", json_object_new_boolean(1));
    sb_json_add_int(o, "job_id", (int64_t)job);
    sb_json_add_str(o, "mode", full || !mark ? "full" : "incremental");
    json_object_put(mark);
    return reply(&c, 202, o);
}

static sb_status route_status(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    json_object *o = json_object_new_object();
    sb_json_add_str(o, "workspace_id", c.inst.workspace_id);
    sb_json_add_str(o, "workspace_name", c.inst.workspace_name);
    sb_json_add_str(o, "status", state_name(c.inst.state));
    json_object_object_add(o, "authenticated",
                           json_object_new_boolean(c.inst.state == SB_INSTALLATION_ACTIVE));
    sb_json_add_str(o, "revoke", c.inst.state == SB_INSTALLATION_REVOKED
                                     ? NULL
                                     : "POST /api/startdeliver/revoke");
    sb_json_add_str(o, "region", c.inst.region);
    json_object_object_add(o, "eu_data_hosting", json_object_new_boolean(c.settings.eu_data_hosting));
    sb_json_add_str(o, "region_warning", sd_region_mismatch(&c.settings, c.inst.region));
    json_object *last = sd_get(sd, req->installation, SD_SYNC, "last");
    json_object_object_add(o, "last_sync", last);
    struct sd_run *run = sd_run_find(sd, req->installation);
    json_object_object_add(o, "running", run ? progress_of(run) : NULL);
    json_object *cp = run ? NULL : sd_get(sd, req->installation, SD_SYNC, "checkpoint");
    if (cp)
        json_object_object_del(cp, "cursor");
    /* A run that stopped (crash, failure) and resumes with its job's next attempt. */
    json_object_object_add(o, "interrupted", cp);
    json_object_object_add(o, "usage", sd_usage_status(sd, req->installation));
    return reply(&c, 200, o);
}

static sb_status route_revoke(void *state, const sb_http_request *req, sb_result *result)
{
    struct sd_plugin *sd = state;
    struct call c;
    if (!open_call(sd, req, &c, result))
        return SB_FAIL;
    if (c.inst.state != SB_INSTALLATION_REVOKED
        && sd->host->installation_revoke(sd->self, req->installation,
                                         "revoked through the startdeliver API")
               != 0)
        return pk_refuse(result, 500, "revoke_failed", "the revocation failed");
    json_object *o = json_object_new_object();
    sb_json_add_str(o, "status", "revoked");
    return reply(&c, 200, o);
}

/* Everything but a sync serves the installation in any state (the host checks it exists). */
#define ANY_STATE (SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE)

const sb_route sd_routes[] = {
    {"POST", "/sync", route_sync, SB_ROUTE_NEEDS_INSTALLATION, NULL},
    {"GET", "/status", route_status, ANY_STATE, NULL},
    {"POST", "/revoke", route_revoke, ANY_STATE, NULL},
    {"POST", "/users", route_records_post, ANY_STATE, &user_records},
    {"GET", "/users", route_records_list, ANY_STATE, &user_records},
    {"PUT", "/users/{id}", route_record_put, ANY_STATE, &user_records},
    {"GET", "/users/{id}", route_record_get, ANY_STATE, &user_records},
    {"POST", "/customers", route_records_post, ANY_STATE, &customer_records},
    {"GET", "/customers", route_records_list, ANY_STATE, &customer_records},
    {"PUT", "/customers/{id}", route_record_put, ANY_STATE, &customer_records},
    {"GET", "/customers/{id}", route_record_get, ANY_STATE, &customer_records},
    {"GET", "/customers/{id}/health", route_customer_health, ANY_STATE, NULL},
    {"GET", "/tickets", route_tickets, ANY_STATE, NULL},
    {"GET", "/tickets/{id}", route_ticket_get, ANY_STATE, NULL},
    {"GET", "/tickets/{id}/messages", sd_route_ticket_messages, ANY_STATE, NULL},
    {"GET", "/skipped", route_skipped, ANY_STATE, NULL},
    {"GET", "/usage", route_usage, ANY_STATE, NULL},
    {"PUT", "/usage_mapping", sd_route_usage_mapping_put, ANY_STATE, NULL},
    {"GET", "/usage_mapping", sd_route_usage_mapping_get, ANY_STATE, NULL},
    {NULL, NULL, NULL, 0, NULL},
};
