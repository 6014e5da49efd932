/*
 * tb_api.c - product API routes. Every route needs ?workspace_id= (the
 * Intercom workspace; SB_ROUTE_NEEDS_INSTALLATION). The stored data - the
 * feedback inbox, tickets, contacts, the sync status - stays readable in
 * every installation state (SB_ROUTE_ANY_STATE); the tag list and the
 * settings ask Intercom (for the workspace's tags), so they need an active
 * installation. PUT /settings is how the product chooses: trigger tag ids
 * the workspace does not have are refused with 422 before anything is saved
 * (the host's settings_set then validates and saves like the admin API).
 * Lists page with ?limit= (1-200, default 50) and ?cursor=<"next" of the
 * previous page>. Errors are FAILs with a status and a code, answered by the
 * host in its one JSON format (or by answer_error once a handler is pending).
 */
#include "tb_api.h"

#include "tb_contacts.h"
#include "tb_feedback.h"
#include "tb_plugin.h"
#include "tb_settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200

/* ---- helpers ---- */

static sb_status reply(struct tb_plugin *tb, const sb_http_request *req, json_object *body)
{
    tb->host->respond(tb->self, req->reply, 200, body);
    json_object_put(body); /* respond borrows it */
    return SB_OK;
}

static const char *query(const sb_http_request *req, const char *name)
{
    return sb_json_str(req->query, name);
}

/* The key just past every key starting with @p prefix (its last byte, '|', plus one). */
static char *prefix_end(const char *prefix)
{
    char *end = pk_xstrdup(prefix);
    end[strlen(end) - 1]++;
    return end;
}

/* A page of documents, each mapped to the item the answer shows; one more tells a next page. */
struct page {
    struct tb_plugin *tb;
    sb_installation_id inst;
    json_object *data;
    size_t limit;
    const char *skip;  /* the cursor itself, when a forward scan starts at it */
    char *next;
    bool more;
    json_object *(*item)(struct page *p, const char *key, json_object *value); /* NULL: skip */
    const char *email; /* contacts by email: the address asked for */
};

static int page_visit(void *arg, const char *key, json_object *value)
{
    struct page *p = arg;
    if (p->skip && strcmp(key, p->skip) == 0)
        return 0;
    if (json_object_array_length(p->data) == p->limit) {
        p->more = true;
        return 1;
    }
    json_object *item = p->item(p, key, value);
    if (item)
        json_object_array_add(p->data, item);
    free(p->next);
    p->next = pk_xstrdup(key);
    return 0;
}

static sb_status page_reply(struct page *p, const sb_http_request *req, const char *name,
                            json_object *extra)
{
    json_object *body = extra ? extra : pk_xchecked(json_object_new_object());
    json_object_object_add(body, name, p->data);
    sb_json_add_str(body, "next", p->more ? p->next : NULL);
    free(p->next);
    return reply(p->tb, req, body);
}

static void answer_error(struct tb_plugin *tb, sb_reply_token reply, int status, const char *code,
                         const char *message)
{
    json_object *body = pk_xchecked(json_object_new_object());
    json_object *e = pk_xchecked(json_object_new_object());
    sb_json_add_str(e, "code", code);
    sb_json_add_str(e, "message", message);
    json_object_object_add(body, "error", e);
    tb->host->respond(tb->self, reply, status, body);
    json_object_put(body);
}

/* ---- feedback ---- */

static json_object *ticket_of_entry(struct page *p, const char *key, json_object *entry)
{
    (void)key;
    return tb_get(p->tb, p->inst, TB_FEEDBACK, sb_json_str(entry, "key"));
}

static sb_status list_feedback(void *state, const sb_http_request *req, sb_result *result)
{
    struct tb_plugin *tb = state;
    const char *product = sb_json_str(req->params, "product");
    const char *tag = query(req, "tag");
    const char *cursor = query(req, "cursor");
    size_t limit;
    if (!tb_product_valid(product))
        return pk_refuse(result, 400, "invalid_product",
                         "a product name is 1-64 of A-Z a-z 0-9 _ . -");
    if (tag && !tb_id_valid(tag))
        return pk_refuse(result, 400, "invalid_tag", "a tag id is 1-64 of A-Z a-z 0-9 _ -");
    if (!pk_query_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &limit, result))
        return SB_FAIL;
    char *prefix = tag ? pk_xasprintf("%s|%s|", product, tag) : pk_xasprintf("%s|", product);
    if (cursor && strncmp(cursor, prefix, strlen(prefix)) != 0) {
        free(prefix);
        return pk_refuse(result, 400, "invalid_cursor", "the cursor is not one this list gave");
    }
    char *end = prefix_end(prefix);
    struct page p = {.tb = tb, .inst = req->installation, .limit = limit,
                     .data = pk_xchecked(json_object_new_array()), .item = ticket_of_entry};
    /* Newest first: scan down from the cursor (exclusive) or from the end of the range. */
    int rc = tb->host->doc_list(tb->self, req->installation, tag ? TB_INBOX_TAGS : TB_INBOX,
                                prefix, cursor ? cursor : end, limit + 1, SB_DOC_REVERSE,
                                page_visit, &p);
    free(prefix);
    free(end);
    if (rc < 0) {
        json_object_put(p.data);
        free(p.next);
        return pk_refuse(result, 500, "store_error", "cannot read the feedback inbox");
    }
    json_object *extra = pk_xchecked(json_object_new_object());
    sb_json_add_str(extra, "product", product);
    return page_reply(&p, req, "feedback", extra);
}

static sb_status get_feedback(void *state, const sb_http_request *req, sb_result *result)
{
    struct tb_plugin *tb = state;
    const char *id = sb_json_str(req->params, "id");
    const char *dash = id ? strchr(id, '-') : NULL;
    json_object *ticket = NULL;
    if (dash) {
        char *conv = pk_xstrndup(id, (size_t)(dash - id));
        if (tb_conversation_id_valid(conv) && tb_id_valid(dash + 1)) {
            char *key = pk_xasprintf("%s|%s", conv, dash + 1);
            ticket = tb_get(tb, req->installation, TB_FEEDBACK, key);
            free(key);
        }
        free(conv);
    }
    if (!ticket)
        return pk_refuse(result, 404, "unknown_feedback", "no feedback ticket '%s'",
                         id ? id : "");
    return reply(tb, req, ticket);
}

/* ---- contacts ---- */

static json_object *contact_of_doc(struct page *p, const char *key, json_object *doc)
{
    (void)p;
    (void)key;
    return json_object_get(doc);
}

/* An email index entry: its contact, if the address is the one asked for (any case). */
static json_object *contact_of_email(struct page *p, const char *key, json_object *entry)
{
    (void)entry;
    const char *id = strrchr(key, '|');
    json_object *contact = id ? tb_get(p->tb, p->inst, TB_CONTACTS, id + 1) : NULL;
    if (contact && strcasecmp(sb_json_str(contact, "email") ? sb_json_str(contact, "email") : "",
                              p->email) != 0) {
        json_object_put(contact); /* an address with '|' in it that only shares the prefix */
        return NULL;
    }
    return contact;
}

static sb_status list_contacts(void *state, const sb_http_request *req, sb_result *result)
{
    struct tb_plugin *tb = state;
    const char *email = query(req, "email");
    const char *cursor = query(req, "cursor");
    size_t limit;
    if (!pk_query_limit(req, DEFAULT_LIMIT, MAX_LIMIT, &limit, result))
        return SB_FAIL;
    if (email && strlen(email) > 320)
        return pk_refuse(result, 400, "invalid_email", "an email address is at most 320 bytes");
    struct page p = {.tb = tb, .inst = req->installation, .limit = limit,
                     .data = pk_xchecked(json_object_new_array()), .skip = cursor,
                     .email = email};
    int rc;
    if (email) {
        char *prefix = tb_email_prefix(email);
        char *end = prefix_end(prefix);
        if (cursor && strncmp(cursor, prefix, strlen(prefix)) != 0) {
            free(prefix);
            free(end);
            json_object_put(p.data);
            return pk_refuse(result, 400, "invalid_cursor", "the cursor is not one this list gave");
        }
        p.item = contact_of_email;
        rc = tb->host->doc_list(tb->self, req->installation, TB_CONTACT_EMAILS,
                                cursor ? cursor : prefix, end, limit + 2, 0, page_visit, &p);
        free(prefix);
        free(end);
    } else {
        p.item = contact_of_doc;
        rc = tb->host->doc_list(tb->self, req->installation, TB_CONTACTS, cursor, NULL, limit + 2,
                                0, page_visit, &p);
    }
    if (rc < 0) {
        json_object_put(p.data);
        free(p.next);
        return pk_refuse(result, 500, "store_error", "cannot read the contacts");
    }
    return page_reply(&p, req, "contacts", NULL);
}

/* ---- status ---- */

static int add_trigger(void *arg, const char *key, json_object *value)
{
    json_object *t = pk_xchecked(json_object_new_object());
    sb_json_add_str(t, "tag_id", key);
    sb_json_add_int(t, "since", sb_json_int(value, "since_ms", 0) / 1000);
    json_object_array_add(arg, t);
    return 0;
}

static sb_status get_sync(void *state, const sb_http_request *req, sb_result *result)
{
    struct tb_plugin *tb = state;
    struct tb_settings s;
    tb_settings_of(tb, req->installation, &s);
    json_object *body = pk_xchecked(json_object_new_object());
    json_object *feedback = pk_xchecked(json_object_new_object());
    sb_json_add_bool(feedback, "enabled", s.sync_feedback);
    sb_json_add_str(feedback, "product", *s.product ? s.product : NULL);
    json_object *triggers = pk_xchecked(json_object_new_array());
    int rc = tb->host->doc_list(tb->self, req->installation, TB_TRIGGERS, NULL, NULL, 0, 0,
                                add_trigger, triggers);
    json_object_object_add(feedback, "triggers", triggers);
    json_object_object_add(body, "feedback", feedback);
    json_object *contacts = tb_get(tb, req->installation, TB_SYNC, TB_SYNC_CONTACTS);
    if (!contacts) {
        contacts = pk_xchecked(json_object_new_object());
        sb_json_add_str(contacts, "state", "off");
    }
    sb_json_add_bool(contacts, "enabled", s.sync_contacts);
    json_object_object_add(body, "contacts", contacts);
    tb_settings_free(&s);
    if (rc < 0) {
        json_object_put(body);
        return pk_refuse(result, 500, "store_error", "cannot read the sync status");
    }
    return reply(tb, req, body);
}

/* ---- tags (live from Intercom) ---- */

struct tags_call {
    struct tb_plugin *tb;
    sb_reply_token reply;
    sb_installation_id inst;
};

static void on_tags(void *arg, const sb_intercom_response *res)
{
    struct tags_call *c = arg;
    struct tb_plugin *tb = c->tb;
    if (res->kind != SB_ERR_NONE) {
        sb_result r = {0};
        tb->host->result_from_error(tb->self, res, "listing Intercom's tags", &r);
        answer_error(tb, c->reply, 502, r.code[0] ? r.code : "intercom_error", r.message);
        free(c);
        return;
    }
    struct tb_settings s;
    tb_settings_of(tb, c->inst, &s);
    json_object *data = sb_json_arr(res->body, "data");
    json_object *tags = pk_xchecked(json_object_new_array());
    for (size_t i = 0; data && i < json_object_array_length(data); i++) {
        json_object *tag = json_object_array_get_idx(data, i);
        json_object *t = pk_xchecked(json_object_new_object());
        sb_json_add_str(t, "id", sb_json_str(tag, "id"));
        sb_json_add_str(t, "name", sb_json_str(tag, "name"));
        sb_json_add_bool(t, "trigger", tb_settings_triggers(&s, sb_json_str(tag, "id")));
        json_object_array_add(tags, t);
    }
    /* Configured ids the workspace does not have: they can never match. */
    json_object *unknown = pk_xchecked(json_object_new_array());
    for (size_t i = 0; i < json_object_array_length(s.trigger_tags); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(s.trigger_tags, i));
        bool found = false;
        for (size_t j = 0; data && j < json_object_array_length(data) && !found; j++)
            found = pk_str_eq(sb_json_str(json_object_array_get_idx(data, j), "id"), id);
        if (!found)
            json_object_array_add(unknown, json_object_new_string(id ? id : ""));
    }
    json_object *body = pk_xchecked(json_object_new_object());
    json_object_object_add(body, "tags", tags);
    json_object_object_add(body, "unknown_trigger_tags", unknown);
    tb->host->respond(tb->self, c->reply, 200, body);
    json_object_put(body);
    tb_settings_free(&s);
    free(c);
}

static sb_status list_tags(void *state, const sb_http_request *req, sb_result *result)
{
    struct tb_plugin *tb = state;
    struct tags_call *c = pk_xcalloc(1, sizeof *c);
    *c = (struct tags_call){tb, req->reply, req->installation};
    sb_intercom_request ireq = {.method = "GET", .path = "/tags"};
    if (!tb->host->intercom_request(tb->self, req->installation, &ireq, on_tags, c)) {
        free(c);
        return pk_refuse(result, 500, "host_refused", "cannot ask Intercom for its tags");
    }
    return SB_PENDING;
}

/* ---- settings: checked against the workspace's tags, then saved through the host ---- */

struct settings_call {
    struct tb_plugin *tb;
    sb_reply_token reply;
    sb_installation_id inst;
    json_object *changes;
};

/* Save @p changes (already checked) and answer with the settings now in force. */
static void save_settings(struct tb_plugin *tb, sb_reply_token reply, sb_installation_id inst,
                          json_object *changes)
{
    sb_result result = {0};
    if (tb->host->settings_set(tb->self, inst, changes, &result) != 0) {
        answer_error(tb, reply, 422, result.code[0] ? result.code : "invalid_settings",
                     result.message);
        return;
    }
    json_object *body = pk_xchecked(json_object_new_object());
    json_object_object_add(body, "settings", tb->host->settings_get(tb->self, inst));
    tb->host->respond(tb->self, reply, 200, body);
    json_object_put(body);
}

static void settings_call_free(struct settings_call *c)
{
    json_object_put(c->changes);
    free(c);
}

static void on_tags_for_settings(void *arg, const sb_intercom_response *res)
{
    struct settings_call *c = arg;
    struct tb_plugin *tb = c->tb;
    if (res->kind != SB_ERR_NONE) {
        sb_result r = {0};
        tb->host->result_from_error(tb->self, res, "listing Intercom's tags", &r);
        answer_error(tb, c->reply, 502, r.code[0] ? r.code : "intercom_error", r.message);
        settings_call_free(c);
        return;
    }
    json_object *known = sb_json_arr(res->body, "data");
    json_object *wanted = sb_json_arr(c->changes, "trigger_tags");
    for (size_t i = 0; i < json_object_array_length(wanted); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(wanted, i));
        bool found = false;
        for (size_t j = 0; known && j < json_object_array_length(known) && !found; j++)
            found = pk_str_eq(sb_json_str(json_object_array_get_idx(known, j), "id"), id);
        if (!found) {
            char message[200];
            snprintf(message, sizeof message, "the workspace has no tag '%.64s' (GET /tags lists "
                     "them)", id);
            answer_error(tb, c->reply, 422, "unknown_tag", message);
            settings_call_free(c);
            return;
        }
    }
    save_settings(tb, c->reply, c->inst, c->changes);
    settings_call_free(c);
}

static const char *const settings_keys[] = {"sync_feedback", "sync_contacts", "trigger_tags",
                                            "product"};

static sb_status put_settings(void *state, const sb_http_request *req, sb_result *result)
{
    struct tb_plugin *tb = state;
    json_object *changes = req->body;
    if (!json_object_is_type(changes, json_type_object))
        return pk_refuse(result, 400, "invalid_request", "the body must be a JSON object");
    json_object_object_foreach(changes, key, value)
    {
        bool known = false;
        for (size_t i = 0; i < PK_ARRAY_LEN(settings_keys); i++)
            known |= strcmp(key, settings_keys[i]) == 0;
        if (!known)
            return pk_refuse(result, 422, "unknown_setting", "no setting '%.64s'", key);
        (void)value;
    }
    /* "" clears it (feedback then waits for a product); null and other types: the host says. */
    json_object *product = sb_json_get(changes, "product");
    if (json_object_is_type(product, json_type_string) && json_object_get_string_len(product) > 0
        && !tb_product_valid(json_object_get_string(product)))
        return pk_refuse(result, 422, "invalid_product",
                         "a product name is 1-64 of A-Z a-z 0-9 _ . -");
    json_object *tags = sb_json_get(changes, "trigger_tags");
    if (tags && !json_object_is_type(tags, json_type_array))
        return pk_refuse(result, 422, "invalid_settings", "trigger_tags must be a list of tag ids");
    for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
        json_object *tag = json_object_array_get_idx(tags, i);
        if (!json_object_is_type(tag, json_type_string)
            || !tb_id_valid(json_object_get_string(tag)))
            return pk_refuse(result, 422, "unknown_tag", "trigger_tags[%zu] is not a tag id", i);
    }
    if (!tags || json_object_array_length(tags) == 0) {
        save_settings(tb, req->reply, req->installation, changes);
        return SB_OK;
    }
    struct settings_call *c = pk_xcalloc(1, sizeof *c);
    *c = (struct settings_call){tb, req->reply, req->installation, json_object_get(changes)};
    sb_intercom_request ireq = {.method = "GET", .path = "/tags"};
    if (!tb->host->intercom_request(tb->self, req->installation, &ireq, on_tags_for_settings, c)) {
        settings_call_free(c);
        return pk_refuse(result, 500, "host_refused", "cannot ask Intercom for its tags");
    }
    return SB_PENDING;
}

#define READ (SB_ROUTE_NEEDS_INSTALLATION | SB_ROUTE_ANY_STATE)

const sb_route tb_routes[] = {
    {.method = "GET", .pattern = "/products/{product}/feedback", .handler = list_feedback,
     .flags = READ},
    {.method = "GET", .pattern = "/feedback/{id}", .handler = get_feedback, .flags = READ},
    {.method = "GET", .pattern = "/contacts", .handler = list_contacts, .flags = READ},
    {.method = "GET", .pattern = "/sync", .handler = get_sync, .flags = READ},
    {.method = "GET", .pattern = "/tags", .handler = list_tags,
     .flags = SB_ROUTE_NEEDS_INSTALLATION},
    {.method = "PUT", .pattern = "/settings", .handler = put_settings,
     .flags = SB_ROUTE_NEEDS_INSTALLATION},
    {.method = NULL},
};
