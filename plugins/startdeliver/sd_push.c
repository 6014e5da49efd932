/*
 * sd_push.c - the push phase (advanced_push): the product's values into
 * Intercom custom attributes, customers onto companies and users onto
 * contacts, writing only what changed since the last successful write.
 *
 * The phase lists the workspace's data attributes once (contact and
 * company), then walks customers and then users in batches of BATCH:
 *   1. users with values but no contact yet are looked up in Intercom
 *      (POST /contacts/search: external_id = user id, or the user's email),
 *      once per change of the user;
 *   2. each record's desired attributes are diffed against what was last
 *      written ("pushed" collection); nothing changed, nothing is sent;
 *   3. attributes the diffs need and Intercom lacks are created
 *      (POST /data_attributes with the record's model and data type);
 *      a value whose type contradicts an existing attribute is not sent;
 *   4. the changes are written (PUT /contacts/{id}, PUT /companies/{id}),
 *      and the batch commits the new "pushed" state with the checkpoint.
 * A record Intercom no longer knows (404) loses its link; other refusals
 * are counted in push_failed and retried by the next run, whose diff still
 * contains them.
 */
#include "sd_phases.h"

#include "sd_attrs.h"
#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 50
#define SEARCH_PER_PAGE 5

enum stage { STAGE_CUSTOMERS = 0, STAGE_USERS = 1 };
static const char *const stage_prefix[] = {"customers:", "users:"};

enum item_result { ITEM_PENDING = 0, ITEM_WRITTEN, ITEM_GONE, ITEM_REFUSED };

struct item {
    char *id;                 /* user or customer id */
    json_object *record;
    char *target;             /* Intercom contact or company id; NULL until known */
    bool search;              /* look the contact up first */
    bool found;               /* the search found it */
    json_object *pushed;      /* last written state, or NULL */
    json_object *changes;     /* what to write; NULL: nothing */
    enum item_result result;
};

struct create {
    char *name;
    enum sd_model_kind model;
    enum sd_attr_type type;
};

struct push {
    json_object *known[2];    /* per model: attribute name -> data_type */
    json_object *warned;      /* "model:name" already reported this run */
    enum stage stage;
    struct item *items;
    size_t n;
    struct create *creates;
    size_t n_creates;
    size_t outstanding;
    bool failed;              /* an answer that ends the run */
    sb_status fail_status;
    char fail_message[256];
};

struct call {
    struct sd_run *run;
    size_t index;
};

static enum sd_model_kind model_of(enum stage stage)
{
    return stage == STAGE_CUSTOMERS ? SD_MODEL_COMPANY : SD_MODEL_CONTACT;
}

static void items_free(struct push *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct item *it = &p->items[i];
        free(it->id);
        free(it->target);
        json_object_put(it->record);
        json_object_put(it->pushed);
        json_object_put(it->changes);
    }
    free(p->items);
    p->items = NULL;
    p->n = 0;
    for (size_t i = 0; i < p->n_creates; i++)
        free(p->creates[i].name);
    free(p->creates);
    p->creates = NULL;
    p->n_creates = 0;
}

static void push_free(void *arg)
{
    struct push *p = arg;
    items_free(p);
    json_object_put(p->known[0]);
    json_object_put(p->known[1]);
    json_object_put(p->warned);
    free(p);
}

/* Record an answer that ends the run once the batch's other calls are back. */
static void note_failure(struct sd_run *run, const sb_intercom_response *res, const char *what)
{
    struct push *p = run->phase_state;
    if (p->failed)
        return;
    p->failed = true;
    p->fail_status = sd_run_classify(run, res, what, p->fail_message, sizeof p->fail_message);
}

/* Report a problem with one attribute once per run, however many records hit it. */
static void warn_once(struct sd_run *run, struct push *p, enum sd_model_kind model,
                      const char *name, const char *message)
{
    char *key = pk_xasprintf("%s:%s", sd_model_name(model), name);
    if (!json_object_object_get_ex(p->warned, key, NULL)) {
        json_object_object_add(p->warned, key, json_object_new_boolean(1));
        sd_run_warn(run, "%s", message);
    }
    free(key);
}

static void next_batch(struct sd_run *run);
static void write_changes(struct sd_run *run);

/* ---- step 4: writes, then commit ---- */

static char *pushed_key(enum sd_model_kind model, const char *target)
{
    return pk_xasprintf("%s:%s", sd_model_name(model), target);
}

/*
 * The batch's records were read before its Intercom calls went out, and the product
 * may have written them since (the loop serves the product API meanwhile). So the
 * plugin's link fields are set on the record as it is stored now, never by writing
 * the batch's copy back, which would undo those writes.
 */

/* Drop the link to an Intercom record that no longer exists, if it still points there. */
static int unlink_record(struct sd_run *run, enum stage stage, struct item *it)
{
    const char *collection = stage == STAGE_CUSTOMERS ? SD_CUSTOMERS : SD_USERS;
    const char *link = stage == STAGE_CUSTOMERS ? "intercom_company_id" : "intercom_contact_id";
    json_object *now = sd_get(run->sd, run->inst, collection, it->id);
    if (!now || !pk_str_eq(sb_json_str(now, link), it->target)) {
        json_object_put(now);
        return 0;
    }
    json_object_object_del(now, link);
    return sd_put_owned(run->sd, run->inst, collection, it->id, now);
}

/*
 * Record the outcome of a user's contact search: the link if one was found, and that
 * the user was looked up as of the version the search was made for (a product write
 * since then is newer, so the next run looks it up again).
 */
static int record_lookup(struct sd_run *run, struct item *it)
{
    json_object *now = sd_get(run->sd, run->inst, SD_USERS, it->id);
    if (!now)
        return 0;
    if (it->found && !sb_json_str(now, "intercom_contact_id")) {
        sb_json_add_str(now, "intercom_contact_id", it->target);
        run->counts.contacts_linked++;
    }
    sb_json_add_int(now, "link_checked_at", sb_json_int(it->record, "updated_at", 0));
    return sd_put_owned(run->sd, run->inst, SD_USERS, it->id, now);
}

static int commit_tx(void *arg)
{
    struct sd_run *run = arg;
    struct push *p = run->phase_state;
    enum sd_model_kind model = model_of(p->stage);
    for (size_t i = 0; i < p->n; i++) {
        struct item *it = &p->items[i];
        /* Searched once per change of the user: remember when, and what was found. */
        if (it->search && record_lookup(run, it) != 0)
            return -1;
        if (it->result == ITEM_WRITTEN) {
            char *key = pushed_key(model, it->target);
            int rc = sd_put_owned(run->sd, run->inst, SD_PUSHED, key,
                                  sd_attrs_apply(it->pushed, it->changes, model));
            free(key);
            if (rc != 0)
                return -1;
            if (model == SD_MODEL_COMPANY)
                run->counts.companies_updated++;
            else
                run->counts.contacts_updated++;
        } else if (it->result == ITEM_GONE) {
            run->counts.push_failed++;
            if (unlink_record(run, p->stage, it) != 0)
                return -1;
        } else if (it->result == ITEM_REFUSED) {
            run->counts.push_failed++;
        }
    }
    char *after = sd_key_after(p->items[p->n - 1].id);
    char *cursor = pk_xasprintf("%s%s", stage_prefix[p->stage], after);
    free(after);
    sd_run_set_cursor(run, cursor);
    free(cursor);
    return sd_run_save(run);
}

static void commit_batch(struct sd_run *run)
{
    struct push *p = run->phase_state;
    if (p->failed) {
        items_free(p);
        sd_run_fail(run, p->fail_status, "%s", p->fail_message);
        return;
    }
    struct sd_counts before = run->counts;
    char *cursor = sd_strdup_or_null(run->cursor);
    int rc = sd_run_transaction(run, commit_tx, run);
    items_free(p);
    if (rc != 0) {
        run->counts = before;
        sd_run_set_cursor(run, cursor);
        free(cursor);
        sd_run_fail(run, SB_RETRY, "cannot record pushed attributes");
        return;
    }
    free(cursor);
    sd_run_later(run, next_batch);
}

static void written(void *arg, const sb_intercom_response *res)
{
    struct call c = *(struct call *)arg;
    free(arg);
    struct sd_run *run = c.run;
    if (sd_run_op_end(run, res))
        return;
    struct push *p = run->phase_state;
    struct item *it = &p->items[c.index];
    if (!res->error_code) {
        it->result = ITEM_WRITTEN;
    } else if (res->kind == SB_ERR_NOT_FOUND) {
        it->result = ITEM_GONE;
    } else if (sd_installation_lost(res) || sb_error_status(res->kind) == SB_RETRY) {
        /* Not about this record (the installation, Intercom, the network): the run stops. */
        note_failure(run, res, "writing attributes");
    } else {
        it->result = ITEM_REFUSED;
        run->sd->host->log(run->sd->self, SB_LOG_WARN,
                           "installation %lld: Intercom refused attributes of %s %s: %d %s",
                           (long long)run->inst, sd_model_name(model_of(p->stage)), it->target,
                           res->status, res->error_code);
    }
    if (--p->outstanding == 0)
        commit_batch(run);
}

static void write_changes(struct sd_run *run)
{
    struct push *p = run->phase_state;
    enum sd_model_kind model = model_of(p->stage);
    p->outstanding = 1; /* held until every write is sent, so none completes the batch early */
    for (size_t i = 0; i < p->n; i++) {
        struct item *it = &p->items[i];
        if (!it->changes || json_object_object_length(it->changes) == 0)
            continue;
        struct call *c = pk_xcalloc(1, sizeof *c);
        c->run = run;
        c->index = i;
        sb_object_type type = model == SD_MODEL_COMPANY ? SB_OBJECT_COMPANY : SB_OBJECT_CONTACT;
        if (!run->sd->host->set_attributes(run->sd->self, run->inst, type, it->target,
                                           it->changes, written, c)) {
            /* The host refused the call itself (and logged why): the target is not an id. */
            free(c);
            it->result = ITEM_REFUSED;
            continue;
        }
        p->outstanding++;
        sd_run_op_begin(run);
    }
    if (--p->outstanding == 0)
        commit_batch(run);
}

/* ---- step 3: the attributes the changes need ---- */

/* Drop @p name from every change of the batch (it cannot be written). */
static void drop_attribute(struct push *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].changes)
            json_object_object_del(p->items[i].changes, name);
}

static void attribute_created(void *arg, const sb_intercom_response *res)
{
    struct call c = *(struct call *)arg;
    free(arg);
    struct sd_run *run = c.run;
    if (sd_run_op_end(run, res))
        return;
    struct push *p = run->phase_state;
    struct create *cr = &p->creates[c.index];
    if (!res->error_code) {
        json_object_object_add(p->known[cr->model], cr->name,
                               json_object_new_string(sd_attr_type_name(cr->type)));
        run->counts.attributes_created++;
        run->sd->host->audit(run->sd->self, run->inst, "push", "attribute_created", cr->name);
    } else if (sd_installation_lost(res)) {
        note_failure(run, res, "creating a data attribute");
    } else {
        char message[200];
        snprintf(message, sizeof message, "the %s attribute %s could not be created (%d %s)",
                 sd_model_name(cr->model), cr->name, res->status, res->error_code);
        warn_once(run, p, cr->model, cr->name, message);
        drop_attribute(p, cr->name);
        run->counts.push_failed++;
    }
    if (--p->outstanding > 0)
        return;
    if (p->failed)
        commit_batch(run);
    else
        write_changes(run);
}

/* Check one attribute a change writes: known and compatible, to be created, or dropped. */
static void plan_attribute(struct sd_run *run, struct push *p, struct item *it,
                           enum sd_model_kind model, const char *name, json_object *planned)
{
    json_object *value = NULL;
    json_object_object_get_ex(it->changes, name, &value);
    if (!value)
        return; /* clearing: the attribute exists, it was written before */
    enum sd_attr_type wanted = sd_attr_type_for(model, name, value);
    json_object *existing;
    if (json_object_object_get_ex(p->known[model], name, &existing)) {
        const char *have = json_object_get_string(existing);
        if (!sd_attr_type_compatible(sd_attr_type_parse(have), wanted)) {
            char message[200];
            snprintf(message, sizeof message,
                     "the %s attribute %s is of type %s in Intercom; %s values are not written",
                     sd_model_name(model), name, have, sd_attr_type_name(wanted));
            warn_once(run, p, model, name, message);
            json_object_object_del(it->changes, name);
            run->counts.push_failed++;
        }
    } else if (!json_object_object_get_ex(planned, name, NULL)) {
        json_object_object_add(planned, name, json_object_new_boolean(1));
        p->creates = pk_xrealloc(p->creates, (p->n_creates + 1) * sizeof *p->creates);
        p->creates[p->n_creates++] = (struct create){pk_xstrdup(name), model, wanted};
    }
}

static void plan_attributes(struct sd_run *run)
{
    struct push *p = run->phase_state;
    enum sd_model_kind model = model_of(p->stage);
    json_object *planned = json_object_new_object();
    for (size_t i = 0; i < p->n; i++) {
        struct item *it = &p->items[i];
        if (!it->changes)
            continue;
        /* Names first: plan_attribute may delete from the object being walked. */
        json_object *names = json_object_new_array();
        json_object_object_foreach(it->changes, name, unused)
        {
            (void)unused;
            json_object_array_add(names, json_object_new_string(name));
        }
        for (size_t k = 0; k < json_object_array_length(names); k++)
            plan_attribute(run, p, it, model,
                           json_object_get_string(json_object_array_get_idx(names, k)), planned);
        json_object_put(names);
    }
    json_object_put(planned);
}

static void create_attributes(struct sd_run *run)
{
    struct push *p = run->phase_state;
    plan_attributes(run);
    if (p->n_creates == 0) {
        write_changes(run);
        return;
    }
    p->outstanding = p->n_creates;
    for (size_t i = 0; i < p->n_creates; i++) {
        const struct create *cr = &p->creates[i];
        json_object *body = json_object_new_object();
        sb_json_add_str(body, "name", cr->name);
        sb_json_add_str(body, "model", sd_model_name(cr->model));
        sb_json_add_str(body, "data_type", sd_attr_type_name(cr->type));
        char *description = pk_xasprintf("Startdeliver: %s", cr->name + 3 /* after "sd_" */);
        sb_json_add_str(body, "description", description);
        free(description);
        sb_intercom_request req = {.method = "POST", .path = "/data_attributes", .body = body};
        struct call *c = pk_xcalloc(1, sizeof *c);
        c->run = run;
        c->index = i;
        sd_run_op_begin(run);
        run->sd->host->intercom_request(run->sd->self, run->inst, &req, attribute_created, c);
        json_object_put(body);
    }
}

/* ---- step 2: diffs ---- */

static void diff_item(struct sd_run *run, enum sd_model_kind model, struct item *it)
{
    char *key = pushed_key(model, it->target);
    it->pushed = sd_get(run->sd, run->inst, SD_PUSHED, key);
    free(key);
    json_object *desired = sd_attrs_desired(it->record, model);
    it->changes = sd_attrs_diff(desired, it->pushed, model);
    json_object_put(desired);
}

static void diff_and_create(struct sd_run *run)
{
    struct push *p = run->phase_state;
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].target)
            diff_item(run, model_of(p->stage), &p->items[i]);
    create_attributes(run);
}

/* ---- step 1: find the contacts of users not linked yet ---- */

static void searched(void *arg, const sb_intercom_response *res)
{
    struct call c = *(struct call *)arg;
    free(arg);
    struct sd_run *run = c.run;
    if (sd_run_op_end(run, res))
        return;
    struct push *p = run->phase_state;
    struct item *it = &p->items[c.index];
    if (!res->error_code) {
        json_object *data = sb_json_arr(res->body, "data");
        const char *email = sb_json_str(it->record, "email");
        const char *by_external = NULL, *by_email = NULL;
        for (size_t i = 0; data && i < json_object_array_length(data); i++) {
            json_object *contact = json_object_array_get_idx(data, i);
            char *found_email = sd_email_normalize(sb_json_str(contact, "email"));
            if (!by_external && pk_str_eq(sb_json_str(contact, "external_id"), it->id))
                by_external = sb_json_str(contact, "id");
            else if (!by_email && email && pk_str_eq(found_email, email))
                by_email = sb_json_str(contact, "id");
            free(found_email);
        }
        const char *id = by_external ? by_external : by_email;
        if (id) {
            it->target = pk_xstrdup(id);
            it->found = true;
        }
    } else {
        note_failure(run, res, "searching a contact");
    }
    if (--p->outstanding > 0)
        return;
    if (p->failed)
        commit_batch(run);
    else
        diff_and_create(run);
}

static json_object *filter(const char *field, const char *value)
{
    json_object *f = json_object_new_object();
    sb_json_add_str(f, "field", field);
    sb_json_add_str(f, "operator", "=");
    sb_json_add_str(f, "value", value);
    return f;
}

static void search_contacts(struct sd_run *run)
{
    struct push *p = run->phase_state;
    p->outstanding = 1; /* see write_changes */
    for (size_t i = 0; i < p->n; i++) {
        struct item *it = &p->items[i];
        if (!it->search)
            continue;
        json_object *query;
        const char *email = sb_json_str(it->record, "email");
        if (email) {
            query = json_object_new_object();
            sb_json_add_str(query, "operator", "OR");
            json_object *either = json_object_new_array();
            json_object_array_add(either, filter("external_id", it->id));
            json_object_array_add(either, filter("email", email));
            json_object_object_add(query, "value", either);
        } else {
            query = filter("external_id", it->id);
        }
        json_object *body = json_object_new_object();
        json_object_object_add(body, "query", query);
        json_object *pagination = json_object_new_object();
        sb_json_add_int(pagination, "per_page", SEARCH_PER_PAGE);
        json_object_object_add(body, "pagination", pagination);
        sb_intercom_request req = {.method = "POST", .path = "/contacts/search", .body = body,
                                   .flags = SB_INTERCOM_RETRY_SAFE};
        struct call *c = pk_xcalloc(1, sizeof *c);
        c->run = run;
        c->index = i;
        p->outstanding++;
        sd_run_op_begin(run);
        run->sd->host->intercom_request(run->sd->self, run->inst, &req, searched, c);
        json_object_put(body);
    }
    if (--p->outstanding == 0)
        diff_and_create(run);
}

/* ---- batches ---- */

struct collect_ctx {
    struct sd_run *run;
    struct push *p;
};

static int collect(void *arg, const char *key, json_object *record)
{
    struct collect_ctx *ctx = arg;
    struct push *p = ctx->p;
    struct item *it = &p->items[p->n++];
    it->id = pk_xstrdup(key);
    it->record = json_object_get(record);
    const char *link = sb_json_str(record, p->stage == STAGE_CUSTOMERS ? "intercom_company_id"
                                                                  : "intercom_contact_id");
    if (link) {
        it->target = pk_xstrdup(link);
    } else if (p->stage == STAGE_USERS) {
        json_object *desired = sd_attrs_desired(record, SD_MODEL_CONTACT);
        bool has_values = json_object_object_length(desired) > 0;
        json_object_put(desired);
        it->search = has_values
                     && sb_json_int(record, "link_checked_at", 0)
                            < sb_json_int(record, "updated_at", 0);
    }
    return 0;
}

static void next_batch(struct sd_run *run)
{
    struct push *p = run->phase_state;
    const char *prefix = stage_prefix[p->stage];
    const char *from = run->cursor && strncmp(run->cursor, prefix, strlen(prefix)) == 0
                           ? run->cursor + strlen(prefix)
                           : NULL;
    p->items = pk_xcalloc(BATCH, sizeof *p->items);
    struct collect_ctx ctx = {run, p};
    run->sd->host->doc_list(run->sd->self, run->inst,
                            p->stage == STAGE_CUSTOMERS ? SD_CUSTOMERS : SD_USERS,
                            from && *from ? from : NULL, NULL, BATCH, 0, collect, &ctx);
    if (p->n == 0) {
        items_free(p);
        if (p->stage == STAGE_CUSTOMERS) {
            p->stage = STAGE_USERS;
            sd_run_set_cursor(run, stage_prefix[STAGE_USERS]);
            sd_run_later(run, next_batch);
        } else {
            sd_run_phase_done(run);
        }
        return;
    }
    search_contacts(run);
}

/* ---- start: what attributes exist ---- */

static void attributes_listed(void *arg, const sb_intercom_response *res)
{
    struct call c = *(struct call *)arg;
    free(arg);
    struct sd_run *run = c.run;
    if (sd_run_op_end(run, res))
        return;
    struct push *p = run->phase_state;
    if (!res->error_code) {
        json_object *data = sb_json_arr(res->body, "data");
        for (size_t i = 0; data && i < json_object_array_length(data); i++) {
            json_object *attr = json_object_array_get_idx(data, i);
            const char *name = sb_json_str(attr, "name"), *type = sb_json_str(attr, "data_type");
            if (name && type)
                json_object_object_add(p->known[c.index], name, json_object_new_string(type));
        }
    } else {
        note_failure(run, res, "listing data attributes");
    }
    if (--p->outstanding > 0)
        return;
    if (p->failed) {
        sd_run_fail(run, p->fail_status, "%s", p->fail_message);
        return;
    }
    next_batch(run);
}

void sd_push_start(struct sd_run *run)
{
    struct push *p = pk_xcalloc(1, sizeof *p);
    p->known[SD_MODEL_CONTACT] = json_object_new_object();
    p->known[SD_MODEL_COMPANY] = json_object_new_object();
    p->warned = json_object_new_object();
    p->stage = run->cursor && strncmp(run->cursor, stage_prefix[STAGE_USERS],
                                      strlen(stage_prefix[STAGE_USERS])) == 0
                   ? STAGE_USERS
                   : STAGE_CUSTOMERS;
    run->phase_state = p;
    run->phase_state_free = push_free;
    p->outstanding = 2;
    for (int model = 0; model < 2; model++) {
        char *path = pk_xasprintf("/data_attributes?model=%s",
                                  sd_model_name((enum sd_model_kind)model));
        sb_intercom_request req = {.method = "GET", .path = path};
        struct call *c = pk_xcalloc(1, sizeof *c);
        c->run = run;
        c->index = (size_t)model;
        sd_run_op_begin(run);
        run->sd->host->intercom_request(run->sd->self, run->inst, &req, attributes_listed, c);
        free(path);
    }
}
