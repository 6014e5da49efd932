/*
 * sd_events.c - the events phase (events_as_usage): each user linked to an
 * Intercom contact gets that contact's events (GET /events?type=user&
 * intercom_user_id=...) as usage events.
 *
 * Intercom lists a user's events newest first and follows pages.next as a
 * full URL (the host's pagination handles both). Per user the plugin keeps
 * the newest event it imported ("usage_marks"), and stops a walk at the
 * first page that goes past it, so a later run reads only new events (those
 * in the mark's own second are checked against what was imported). Usage
 * documents are keyed by user, time and event name, and each page commits
 * with the checkpoint, so a crash re-reads at most a few pages and neither
 * duplicates nor miscounts them.
 *
 * The usage mapping (sd_usage_map.h), as stored when the phase starts, gives
 * each event its product and usage type; an event it does not match is not
 * imported but counted under its name ("usage_unmatched"), once: a marker
 * per event ("usage_ignored") commits with the count, so neither a resumed
 * page nor the mark's own second counts it again. Such events move the mark
 * like imported ones, so a later mapping applies to events read after it.
 */
#include "sd_phases.h"

#include "sd_usage_map.h"
#include "sd_util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USERS_PER_BATCH 8
#define VISIT_LIMIT 500 /* users looked at per batch, linked or not */

struct user_walk {
    char *user_id;
    char *contact_id;
    char *customer_id;
    int64_t mark;         /* time of the newest event imported before this run */
    int64_t newest;
    bool reached_mark;    /* stopped the walk on purpose */
    json_object *page;    /* the page being committed */
};

struct events {
    json_object *mapping_doc;    /* the stored mapping the rules borrow from */
    struct sd_usage_map map;
    struct user_walk users[USERS_PER_BATCH];
    size_t n;
    char *last_visited;
    size_t outstanding;
    bool failed;
    sb_status fail_status;
    char fail_message[256];
};

struct walk_arg {
    struct sd_run *run;
    size_t index;
};

static void batch_clear(struct events *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->users[i].user_id);
        free(e->users[i].contact_id);
        free(e->users[i].customer_id);
    }
    memset(e->users, 0, sizeof e->users);
    e->n = 0;
    free(e->last_visited);
    e->last_visited = NULL;
}

static void events_free(void *arg)
{
    struct events *e = arg;
    batch_clear(e);
    sd_usage_map_free(&e->map);
    json_object_put(e->mapping_doc);
    free(e);
}

static void next_batch(struct sd_run *run);

/* ---- a page of one user's events ---- */

struct page_tx_arg {
    struct sd_run *run;
    struct events *map;
    struct user_walk *u;
    json_object *items;
};

/* Count an event no mapping matched, unless it was counted before (its marker exists). */
static int count_unmatched(struct sd_run *run, const char *key, const char *name, int64_t at)
{
    json_object *seen = sd_get(run->sd, run->inst, SD_USAGE_IGNORED, key);
    json_object_put(seen);
    if (seen)
        return 0;
    json_object *tally = sd_get(run->sd, run->inst, SD_USAGE_UNMATCHED, name);
    json_object *doc = json_object_new_object();
    sb_json_add_int(doc, "count", sb_json_int(tally, "count", 0) + 1);
    int64_t last = sb_json_int(tally, "last_at", 0);
    sb_json_add_int(doc, "last_at", at > last ? at : last);
    json_object_put(tally);
    if (sd_put_owned(run->sd, run->inst, SD_USAGE_UNMATCHED, name, doc) != 0
        || sd_put_owned(run->sd, run->inst, SD_USAGE_IGNORED, key, json_object_new_object()) != 0)
        return -1;
    run->counts.usage_unmatched++;
    return 0;
}

static int page_tx(void *arg)
{
    struct page_tx_arg *a = arg;
    struct user_walk *u = a->u;
    for (size_t i = 0; i < json_object_array_length(a->items); i++) {
        json_object *event = json_object_array_get_idx(a->items, i);
        int64_t at = sb_json_int(event, "created_at", 0);
        const char *name = sb_json_str(event, "event_name");
        if (at < u->mark) {
            u->reached_mark = true;
            continue;
        }
        /* An event in the very second of the mark may be new (Intercom tells events apart
           by name and time): the usage key decides. */
        if (!name)
            continue;
        char *key = pk_xasprintf("%s|%012" PRId64 "|%s", u->user_id, at, name);
        const struct sd_usage_rule *rule = sd_usage_map_match(&a->map->map, name);
        if (!rule) {
            int rc = count_unmatched(a->run, key, name, at);
            free(key);
            if (rc != 0)
                return -1;
            if (at > u->newest)
                u->newest = at;
            continue;
        }
        json_object *existing = sd_get(a->run->sd, a->run->inst, SD_USAGE, key);
        if (!existing) {
            json_object *doc = json_object_new_object();
            sb_json_add_str(doc, "user_id", u->user_id);
            sb_json_add_str(doc, "customer_id", u->customer_id);
            sb_json_add_str(doc, "contact_id", u->contact_id);
            sb_json_add_str(doc, "event", name);
            sb_json_add_str(doc, "product", rule->product);
            sb_json_add_str(doc, "usage_type", rule->usage_type);
            sb_json_add_int(doc, "at", at);
            json_object *metadata = sb_json_obj(event, "metadata");
            json_object_object_add(doc, "metadata",
                                   metadata ? json_object_get(metadata) : json_object_new_object());
            if (sd_put_owned(a->run->sd, a->run->inst, SD_USAGE, key, doc) != 0) {
                free(key);
                return -1;
            }
            a->run->counts.usage_events++;
        }
        json_object_put(existing);
        free(key);
        if (at > u->newest)
            u->newest = at;
    }
    return sd_run_save(a->run);
}

static sb_status page_cb(void *arg, const sb_intercom_response *res, json_object *items,
                         const char *next_cursor)
{
    struct walk_arg *w = arg;
    struct sd_run *run = w->run;
    struct events *e = run->phase_state;
    struct user_walk *u = &e->users[w->index];
    (void)res;
    (void)next_cursor;
    if (!items)
        return SB_OK;
    struct sd_counts before = run->counts;
    int64_t newest = u->newest;
    struct page_tx_arg a = {run, e, u, items};
    if (sd_run_transaction(run, page_tx, &a) != 0) {
        run->counts = before;
        u->newest = newest;
        u->reached_mark = false;
        if (!e->failed) {
            e->failed = true;
            e->fail_status = SB_RETRY;
            snprintf(e->fail_message, sizeof e->fail_message, "cannot store usage events");
        }
        return SB_FAIL;
    }
    return u->reached_mark ? SB_FAIL /* older pages were imported before */ : SB_OK;
}

/* ---- committing a batch ---- */

static int batch_tx(void *arg)
{
    struct sd_run *run = arg;
    struct events *e = run->phase_state;
    for (size_t i = 0; i < e->n; i++) {
        struct user_walk *u = &e->users[i];
        if (u->newest <= u->mark)
            continue;
        json_object *mark = json_object_new_object();
        sb_json_add_int(mark, "latest", u->newest);
        if (sd_put_owned(run->sd, run->inst, SD_USAGE_MARKS, u->user_id, mark) != 0)
            return -1;
    }
    char *after = sd_key_after(e->last_visited);
    sd_run_set_cursor(run, after);
    free(after);
    return sd_run_save(run);
}

static void commit_batch(struct sd_run *run)
{
    struct events *e = run->phase_state;
    if (e->failed) {
        batch_clear(e);
        sd_run_fail(run, e->fail_status, "%s", e->fail_message);
        return;
    }
    char *cursor = sd_strdup_or_null(run->cursor);
    int rc = sd_run_transaction(run, batch_tx, run);
    batch_clear(e);
    if (rc != 0) {
        sd_run_set_cursor(run, cursor);
        free(cursor);
        sd_run_fail(run, SB_RETRY, "cannot record imported usage events");
        return;
    }
    free(cursor);
    sd_run_later(run, next_batch);
}

static void walk_done(void *arg, const sb_intercom_response *res)
{
    struct walk_arg w = *(struct walk_arg *)arg;
    free(arg);
    struct sd_run *run = w.run;
    if (sd_run_op_end(run, res))
        return;
    struct events *e = run->phase_state;
    struct user_walk *u = &e->users[w.index];
    bool stopped_here = res->error_code && strcmp(res->error_code, "stopped") == 0;
    if (res->error_code && !(stopped_here && u->reached_mark) && !e->failed) {
        if (res->kind == SB_ERR_NOT_FOUND) {
            /* Intercom knows no such user any more: nothing to import, and nothing to retry. */
            run->sd->host->log(run->sd->self, SB_LOG_INFO,
                               "installation %lld: contact %s of user %s no longer exists in "
                               "Intercom (404); no usage events imported for it",
                               (long long)run->inst, u->contact_id, u->user_id);
        } else if (!stopped_here) {
            e->failed = true;
            e->fail_status = sd_run_classify(run, res, "listing events", e->fail_message,
                                             sizeof e->fail_message);
        }
    }
    if (--e->outstanding == 0)
        commit_batch(run);
}

/* ---- batches of users ---- */

struct collect_ctx {
    struct sd_run *run;
    struct events *e;
    size_t visited;
};

static int collect(void *arg, const char *key, json_object *user)
{
    struct collect_ctx *c = arg;
    struct events *e = c->e;
    free(e->last_visited);
    e->last_visited = pk_xstrdup(key);
    c->visited++;
    const char *contact = sb_json_str(user, "intercom_contact_id");
    if (contact) {
        struct user_walk *u = &e->users[e->n++];
        u->user_id = pk_xstrdup(key);
        u->contact_id = pk_xstrdup(contact);
        u->customer_id = sd_strdup_or_null(sb_json_str(user, "customer_id"));
        json_object *mark = sd_get(c->run->sd, c->run->inst, SD_USAGE_MARKS, key);
        u->mark = sb_json_int(mark, "latest", 0);
        u->newest = u->mark;
        json_object_put(mark);
    }
    return e->n == USERS_PER_BATCH || c->visited >= VISIT_LIMIT;
}

static void next_batch(struct sd_run *run)
{
    struct events *e = run->phase_state;
    struct collect_ctx c = {run, e, 0};
    run->sd->host->doc_list(run->sd->self, run->inst, SD_USERS, run->cursor, NULL, 0, 0, collect,
                            &c);
    if (c.visited == 0) {
        sd_run_phase_done(run);
        return;
    }
    e->outstanding = 1; /* held until every walk is started */
    for (size_t i = 0; i < e->n; i++) {
        char *contact = pk_xchecked(sb_url_escape(e->users[i].contact_id));
        char *path = pk_xasprintf("/events?type=user&intercom_user_id=%s", contact);
        free(contact);
        sb_intercom_request req = {.method = "GET", .path = path};
        struct walk_arg *w = pk_xcalloc(1, sizeof *w);
        w->run = run;
        w->index = i;
        e->outstanding++;
        sd_run_op_begin(run);
        run->sd->host->intercom_paginate(run->sd->self, run->inst, &req, NULL, page_cb, walk_done,
                                         w);
        free(path);
    }
    if (--e->outstanding == 0)
        commit_batch(run);
}

void sd_events_start(struct sd_run *run)
{
    struct events *e = pk_xcalloc(1, sizeof *e);
    /* A mapping changed while the phase runs applies from the next sync on. */
    e->mapping_doc = sd_get(run->sd, run->inst, SD_USAGE_MAPPING, SD_USAGE_MAPPING_KEY);
    sd_usage_map_load(e->mapping_doc, &e->map);
    run->phase_state = e;
    run->phase_state_free = events_free;
    next_batch(run);
}
