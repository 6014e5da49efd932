/* tb_import.c - the contact import: resumable cursor pages (see tb_import.h). */
#include "tb_import.h"

#include "tb_contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_PATH "/contacts?per_page=150"
#define STATE_OFF "off"
#define STATE_IMPORTING "importing"
#define STATE_LIVE "live"

struct tb_import {
    struct tb_plugin *tb;
    struct tb_import *next;
    sb_installation_id inst;
    sb_job_id job;
    int64_t generation;
    sb_request_id walk;
    int64_t done;     /* contacts read so far (checkpointed) */
    int64_t total;    /* Intercom's total_count of the latest page */
    bool cancelled;   /* sync_contacts was turned off: out of the list, the job ends */
    sb_status failed; /* a page could not be stored: RETRY from the checkpoint */
    /*
     * A page read but not stored yet: the walk fetches the next one meanwhile, so Intercom
     * (or the network) works while we store. Stored before the next page is looked at.
     */
    json_object *held;
    char *held_cursor;
    int64_t held_total;
    sb_timer_id timer;
};

/* ---- the sync document ---- */

static json_object *sync_doc(struct tb_plugin *tb, sb_installation_id inst)
{
    json_object *doc = tb_get(tb, inst, TB_SYNC, TB_SYNC_CONTACTS);
    return doc ? doc : pk_xchecked(json_object_new_object());
}

static const char *sync_state(json_object *doc)
{
    const char *state = sb_json_str(doc, "state");
    return state ? state : STATE_OFF;
}

bool tb_contacts_mirrored(struct tb_plugin *tb, sb_installation_id inst)
{
    json_object *doc = sync_doc(tb, inst);
    bool on = !pk_str_eq(sync_state(doc), STATE_OFF);
    json_object_put(doc);
    return on;
}

/* ---- imports in this process ---- */

static struct tb_import *find(struct tb_plugin *tb, sb_installation_id inst)
{
    for (struct tb_import *i = tb->imports; i; i = i->next)
        if (i->inst == inst)
            return i;
    return NULL;
}

static void detach(struct tb_import *imp)
{
    for (struct tb_import **pp = &imp->tb->imports; *pp; pp = &(*pp)->next)
        if (*pp == imp) {
            *pp = imp->next;
            break;
        }
    imp->next = NULL;
}

void tb_import_cancel(struct tb_plugin *tb, sb_installation_id inst)
{
    struct tb_import *imp = find(tb, inst);
    if (!imp)
        return;
    imp->cancelled = true;
    detach(imp); /* a new import of the installation must not find this one */
    tb->host->intercom_cancel(tb->self, imp->walk); /* the done callback ends the job */
}

static void drop_held(struct tb_import *imp)
{
    json_object_put(imp->held);
    free(imp->held_cursor);
    imp->held = NULL;
    imp->held_cursor = NULL;
}

static void import_free(struct tb_import *imp)
{
    if (imp->timer)
        imp->tb->host->timer_cancel(imp->tb->self, imp->timer);
    drop_held(imp);
    free(imp);
}

void tb_import_free_all(struct tb_plugin *tb)
{
    while (tb->imports) {
        struct tb_import *imp = tb->imports;
        tb->imports = imp->next;
        import_free(imp);
    }
}

/* ---- progress ---- */

static json_object *checkpoint_of(const struct tb_import *imp, const char *cursor)
{
    json_object *cp = pk_xchecked(json_object_new_object());
    sb_json_add_int(cp, "generation", imp->generation);
    sb_json_add_str(cp, "cursor", cursor);
    sb_json_add_bool(cp, "finished", cursor == NULL);
    sb_json_add_int(cp, "done", imp->done);
    sb_json_add_int(cp, "total", imp->total);
    return cp;
}

/* The sync document with @p imp's progress (and the state it reached). */
static int save_progress(struct tb_import *imp, const char *state)
{
    struct tb_plugin *tb = imp->tb;
    json_object *doc = sync_doc(tb, imp->inst);
    sb_json_add_str(doc, "state", state);
    sb_json_add_int(doc, "done", imp->done);
    sb_json_add_int(doc, "total", imp->total);
    json_object_object_add(doc, "error", NULL);
    if (pk_str_eq(state, STATE_LIVE))
        sb_json_add_int(doc, "finished_at", tb_now_ms(tb) / 1000);
    return tb_put_owned(tb, imp->inst, TB_SYNC, TB_SYNC_CONTACTS, doc);
}

/* ---- the walk ---- */

struct page_args {
    struct tb_import *imp;
    json_object *items;
    const char *next_cursor;
    int64_t total;
};

static int store_page(void *arg)
{
    struct page_args *a = arg;
    struct tb_import *imp = a->imp;
    struct tb_plugin *tb = imp->tb;
    size_t n = json_object_array_length(a->items);
    enum tb_contact_source source =
        tb_contacts_any_gone(tb, imp->inst) ? TB_FROM_PAGE : TB_FROM_PAGE_NONE_GONE;
    for (size_t i = 0; i < n; i++)
        if (tb_contact_apply(tb, imp->inst, json_object_array_get_idx(a->items, i), source) < 0)
            return -1;
    imp->done += (int64_t)n;
    if (a->total >= 0)
        imp->total = a->total;
    json_object *cp = checkpoint_of(imp, a->next_cursor);
    int rc = tb->host->job_checkpoint(tb->self, imp->job, cp);
    json_object_put(cp);
    if (rc != 0 || save_progress(imp, a->next_cursor ? STATE_IMPORTING : STATE_LIVE) != 0)
        return -1;
    return 0;
}

/* Store a page with its checkpoint in one transaction; false (and failed set) if it failed. */
static bool store(struct tb_import *imp, json_object *items, const char *next_cursor,
                  int64_t total)
{
    int64_t before = imp->done, total_before = imp->total;
    struct page_args args = {imp, items, next_cursor, total};
    if (imp->tb->host->transaction(imp->tb->self, store_page, &args) != 0) {
        imp->done = before; /* undone with the page */
        imp->total = total_before;
        imp->failed = SB_RETRY;
        return false;
    }
    return true;
}

static bool store_held(struct tb_import *imp)
{
    if (imp->timer) {
        imp->tb->host->timer_cancel(imp->tb->self, imp->timer);
        imp->timer = 0;
    }
    if (!imp->held)
        return true;
    bool ok = store(imp, imp->held, imp->held_cursor, imp->held_total);
    drop_held(imp);
    return ok;
}

static void store_later(void *arg)
{
    struct tb_import *imp = arg;
    imp->timer = 0;
    if (!store_held(imp))
        imp->tb->host->intercom_cancel(imp->tb->self, imp->walk); /* on_done retries */
}

/* The walk goes on first, then the held page is stored while the next one is on its way. */
static void resume_then_store(void *arg)
{
    struct tb_import *imp = arg;
    imp->timer = 0;
    imp->tb->host->paginate_resume(imp->tb->self, imp->walk, 1);
    /* A timer added after the request's own, so the request leaves before we store. */
    imp->timer = imp->tb->host->timer_add(imp->tb->self, 0, store_later, imp);
    if (!imp->timer)
        store_later(imp);
}

static sb_status on_page(void *arg, const sb_intercom_response *page, json_object *items,
                         const char *next_cursor)
{
    struct tb_import *imp = arg;
    if (imp->cancelled || !store_held(imp))
        return SB_FAIL; /* stop */
    int64_t total = sb_json_int(page->body, "total_count", -1);
    if (!next_cursor) /* the last page: nothing to overlap with */
        return store(imp, items, NULL, total) ? SB_OK : SB_FAIL;
    imp->held = json_object_get(items);
    imp->held_cursor = pk_xstrdup(next_cursor);
    imp->held_total = total;
    imp->timer = imp->tb->host->timer_add(imp->tb->self, 0, resume_then_store, imp);
    if (!imp->timer) {
        bool ok = store_held(imp);
        return ok ? SB_OK : SB_FAIL;
    }
    return SB_PENDING;
}

static void complete(struct tb_import *imp, sb_status status, const sb_result *result)
{
    if (status != SB_OK) {
        /* The status route shows why the import is not moving. */
        json_object *doc = sync_doc(imp->tb, imp->inst);
        sb_json_add_str(doc, "error", result ? result->message : NULL);
        tb_put_owned(imp->tb, imp->inst, TB_SYNC, TB_SYNC_CONTACTS, doc);
    }
    if (imp->tb->host->job_complete(imp->tb->self, imp->job, status, result) != 0)
        imp->tb->host->log(imp->tb->self, SB_LOG_WARN,
                           "installation %lld: contact import job %llu was no longer running",
                           (long long)imp->inst, (unsigned long long)imp->job);
}

static void on_done(void *arg, const sb_intercom_response *res)
{
    struct tb_import *imp = arg;
    struct tb_plugin *tb = imp->tb;
    sb_result result = {0};
    if (imp->cancelled) {
        complete(imp, SB_OK, NULL); /* turned off: the job ends, nothing to resume */
        import_free(imp);
        return;
    }
    detach(imp);
    if (imp->failed == SB_OK && res->kind != SB_ERR_CANCELLED)
        store_held(imp); /* read well before the walk failed: keep it */
    if (imp->failed == SB_OK && res->kind == SB_ERR_CANCELLED) {
        /* The host stopped our work (shutdown): the job is queued again at the next start
           and resumes from its checkpoint. */
    } else if (imp->failed != SB_OK) {
        sb_result_fail(&result, SB_RETRY, "store_error", "cannot store a page of contacts");
        complete(imp, SB_RETRY, &result);
    } else if (res->kind != SB_ERR_NONE) {
        sb_status st = tb->host->result_from_error(tb->self, res, "reading contacts", &result);
        /* A failure that heals is retried from the checkpoint; one that does not ends the
           job dead (a replay from the admin API resumes from the checkpoint) or skipped
           (the installation is gone; a re-install starts the sync over). */
        complete(imp, st, &result);
    } else {
        tb->host->log(tb->self, SB_LOG_INFO, "installation %lld: contact import done (%lld)",
                      (long long)imp->inst, (long long)imp->done);
        tb->host->audit(tb->self, imp->inst, "contacts", "imported", NULL);
        complete(imp, SB_OK, NULL);
    }
    import_free(imp);
}

static bool start_walk(struct tb_import *imp, const char *cursor)
{
    sb_intercom_request req = {.method = "GET", .path = PAGE_PATH};
    imp->walk = imp->tb->host->intercom_paginate(imp->tb->self, imp->inst, &req, cursor, on_page,
                                                 on_done, imp);
    return imp->walk != 0;
}

sb_status tb_import_job(struct tb_plugin *tb, const sb_job *job, sb_result *result)
{
    int64_t generation = sb_json_int(job->payload, "generation", -1);
    json_object *doc = sync_doc(tb, job->installation);
    bool current = pk_str_eq(sync_state(doc), STATE_IMPORTING)
                   && sb_json_int(doc, "generation", -2) == generation;
    json_object_put(doc);
    if (!current)
        return SB_OK; /* turned off (or off and on again) since: another job has it */
    struct tb_import *running = find(tb, job->installation);
    if (running) {
        /* The host re-ran the job (pending_timeout_s) while the walk goes on: adopt it. */
        running->job = job->id;
        return SB_PENDING;
    }
    struct tb_import *imp = pk_xcalloc(1, sizeof *imp);
    imp->tb = tb;
    imp->inst = job->installation;
    imp->job = job->id;
    imp->generation = generation;
    json_object *cp = job->checkpoint;
    const char *cursor = NULL;
    if (cp && sb_json_int(cp, "generation", -1) == generation) {
        imp->done = sb_json_int(cp, "done", 0);
        imp->total = sb_json_int(cp, "total", 0);
        cursor = sb_json_str(cp, "cursor");
        if (sb_json_bool(cp, "finished", false)) {
            /* The last page committed before the job could end: nothing left to read. */
            import_free(imp);
            return SB_OK;
        }
        tb->host->log(tb->self, SB_LOG_INFO,
                      "installation %lld: contact import resumes after %lld contacts",
                      (long long)job->installation, (long long)imp->done);
    }
    if (!start_walk(imp, cursor)) {
        import_free(imp);
        return sb_result_fail(result, SB_RETRY, "host_refused", "cannot start reading contacts");
    }
    imp->next = tb->imports;
    tb->imports = imp;
    return SB_PENDING;
}

/* ---- settings ---- */

static int start_sync(struct tb_plugin *tb, sb_installation_id inst, json_object *doc)
{
    int64_t generation = sb_json_int(doc, "generation", 0) + 1;
    json_object *fresh = pk_xchecked(json_object_new_object());
    sb_json_add_str(fresh, "state", STATE_IMPORTING);
    sb_json_add_int(fresh, "generation", generation);
    sb_json_add_int(fresh, "started_at", tb_now_ms(tb) / 1000);
    sb_json_add_int(fresh, "done", 0);
    json_object_object_add(fresh, "total", NULL);
    if (tb_put_owned(tb, inst, TB_SYNC, TB_SYNC_CONTACTS, fresh) != 0)
        return -1;
    json_object *payload = pk_xchecked(json_object_new_object());
    sb_json_add_int(payload, "generation", generation);
    char *key = pk_xasprintf("contacts_import:%lld", (long long)inst);
    sb_job_id job = tb->host->job_enqueue(tb->self, inst, TB_IMPORT_JOB, key, payload, 0);
    free(key);
    json_object_put(payload);
    tb->host->audit(tb->self, inst, "contacts", "import_started", NULL);
    return job ? 0 : -1;
}

static int stop_sync(struct tb_plugin *tb, sb_installation_id inst, json_object *doc)
{
    tb_import_cancel(tb, inst);
    json_object *off = pk_xchecked(json_object_new_object());
    sb_json_add_str(off, "state", STATE_OFF);
    sb_json_add_int(off, "generation", sb_json_int(doc, "generation", 0));
    sb_json_add_int(off, "stopped_at", tb_now_ms(tb) / 1000);
    if (tb_contacts_drop(tb, inst) != 0
        || tb_put_owned(tb, inst, TB_SYNC, TB_SYNC_CONTACTS, off) != 0)
        return -1;
    tb->host->audit(tb->self, inst, "contacts", "sync_stopped", "the mirror was dropped");
    return 0;
}

int tb_contacts_follow_settings(struct tb_plugin *tb, sb_installation_id inst,
                                const struct tb_settings *settings, bool reinstalled)
{
    json_object *doc = sync_doc(tb, inst);
    bool on = !pk_str_eq(sync_state(doc), STATE_OFF);
    int rc = 0;
    if (on && (!settings->sync_contacts || reinstalled))
        rc = stop_sync(tb, inst, doc);
    if (rc == 0 && settings->sync_contacts && (!on || reinstalled)) {
        json_object_put(doc);
        doc = sync_doc(tb, inst); /* the generation stop_sync kept */
        rc = start_sync(tb, inst, doc);
    }
    json_object_put(doc);
    return rc;
}
