/*
 * sd_conversations.c - the conversations phase: stream conversations page by
 * page (150 at a time, never more in memory), read the contacts a page needs
 * to match by email, then commit the page's tickets together with the
 * checkpoint that names the next page.
 *
 * A contact is read (GET /contacts/{id}) only when the conversation's own
 * external id matches no user, and at most once per run: what was read is
 * kept in the "contacts" collection, stamped with the run.
 *
 * A conversation that changed since its messages were stored, and has parts
 * beyond its first message, is read (GET /conversations/{id}) before the
 * page commits, and its new messages are stored (sd_transcript.h).
 */
#include "sd_phases.h"

#include "sd_transcript.h"
#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#define PER_PAGE 150
#define LOG_EVERY_PAGES 20

struct page {
    struct sd_conversation *convs;
    size_t n;
    size_t invalid;              /* items without an id: counted as failed */
    char *next;                  /* cursor of the following page; NULL on the last */
    /* contacts this page needs, read now or earlier in this run */
    struct sd_contact *contacts;
    bool *missing;               /* Intercom no longer has the contact */
    bool *fetched;               /* read by this page (so it is cached with the page) */
    size_t n_contacts;
    char **transcripts;          /* conversations whose messages must be read */
    size_t n_transcripts;
    size_t outstanding;
    bool failed;
    sb_status fail_status;
    char fail_message[256];
};

struct phase {
    sb_request_id walk;
    struct page *page;
};

struct fetch {
    struct sd_run *run;
    size_t index;
};

static void page_free(struct page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        sd_conversation_free(&p->convs[i]);
    for (size_t i = 0; i < p->n_contacts; i++)
        sd_contact_free(&p->contacts[i]);
    free(p->convs);
    free(p->contacts);
    free(p->missing);
    free(p->fetched);
    for (size_t i = 0; i < p->n_transcripts; i++)
        free(p->transcripts[i]);
    free(p->transcripts);
    free(p->next);
    free(p);
}

static void phase_free(void *arg)
{
    struct phase *ph = arg;
    page_free(ph->page);
    free(ph);
}

/* ---- contacts of a page ---- */

static ptrdiff_t contact_index(const struct page *p, const char *contact_id)
{
    for (size_t i = 0; i < p->n_contacts; i++)
        if (strcmp(p->contacts[i].id, contact_id) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static bool user_exists(struct sd_run *run, const char *id)
{
    if (!id || !sd_id_valid(id))
        return false;
    json_object *user = sd_get(run->sd, run->inst, SD_USERS, id);
    json_object_put(user);
    return user != NULL;
}

/*
 * Note which contacts the page must read: those whose conversation carries no
 * external id of a known user and that this run has not read yet. Contacts
 * this run read on an earlier page come from the cache.
 */
static void plan_contacts(struct sd_run *run, struct page *p)
{
    p->contacts = pk_xcalloc(p->n, sizeof *p->contacts);
    p->missing = pk_xcalloc(p->n, sizeof *p->missing);
    p->fetched = pk_xcalloc(p->n, sizeof *p->fetched);
    for (size_t i = 0; i < p->n; i++) {
        const struct sd_conversation *c = &p->convs[i];
        if (!c->contact_id || contact_index(p, c->contact_id) >= 0
            || user_exists(run, c->contact_external_id))
            continue;
        struct sd_contact *slot = &p->contacts[p->n_contacts];
        json_object *cached = sd_get(run->sd, run->inst, SD_CONTACTS, c->contact_id);
        if (cached && pk_str_eq(sb_json_str(cached, "run"), run->id)
            && sd_contact_parse(cached, slot) == 0) {
            p->missing[p->n_contacts] = sb_json_bool(cached, "missing", false);
        } else {
            slot->id = pk_xstrdup(c->contact_id);
            p->fetched[p->n_contacts] = true;
            p->outstanding++;
        }
        json_object_put(cached);
        p->n_contacts++;
    }
}

/* ---- committing a page ---- */

struct backup {
    struct sd_counts counts;
    char *cursor;
    int64_t pages, conversations, total;
};

static int cache_contacts(struct sd_run *run, const struct page *p)
{
    for (size_t i = 0; i < p->n_contacts; i++) {
        if (!p->fetched[i])
            continue;
        json_object *doc = sd_contact_facts(&p->contacts[i]);
        sb_json_add_str(doc, "run", run->id);
        json_object_object_add(doc, "missing", json_object_new_boolean(p->missing[i]));
        if (sd_put_owned(run->sd, run->inst, SD_CONTACTS, p->contacts[i].id, doc) != 0)
            return -1;
        run->counts.contacts_read++;
    }
    return 0;
}

static void place_one(struct sd_run *run, const struct page *p, const struct sd_conversation *c)
{
    char why[256] = "";
    const struct sd_contact *contact = NULL;
    ptrdiff_t k = c->contact_id ? contact_index(p, c->contact_id) : -1;
    enum sd_placement placed;
    if (k >= 0 && p->missing[k]) {
        snprintf(why, sizeof why, "contact %s of conversation %s no longer exists in Intercom",
                 c->contact_id, c->id);
        placed = SD_PLACE_FAILED;
    } else {
        contact = k >= 0 ? &p->contacts[k] : NULL;
        placed = sd_place_ticket(&run->env, c, contact, why, sizeof why);
    }
    switch (placed) {
    case SD_PLACED:
        run->counts.synced++;
        break;
    case SD_PLACED_NEW_USER:
        run->counts.synced++;
        run->counts.created++;
        break;
    case SD_NOT_PLACED:
        run->counts.skipped++;
        break;
    case SD_PLACE_FAILED:
        run->counts.failed++;
        run->sd->host->log(run->sd->self, SB_LOG_WARN, "installation %lld: %s",
                           (long long)run->inst, why);
        break;
    }
}

static int page_tx(void *arg)
{
    struct sd_run *run = arg;
    struct page *p = ((struct phase *)run->phase_state)->page;
    if (cache_contacts(run, p) != 0)
        return -1;
    for (size_t i = 0; i < p->n; i++)
        place_one(run, p, &p->convs[i]);
    run->counts.failed += (int64_t)p->invalid;
    sd_run_set_cursor(run, p->next);
    run->pages++;
    run->conversations += (int64_t)p->n;
    return sd_run_save(run);
}

/* Commit the page with the checkpoint; on failure the run's memory is as before. */
static bool commit_page(struct sd_run *run)
{
    struct backup b = {run->counts, sd_strdup_or_null(run->cursor), run->pages,
                       run->conversations, run->total};
    bool ok = sd_run_transaction(run, page_tx, run) == 0;
    if (!ok) {
        run->counts = b.counts;
        sd_run_set_cursor(run, b.cursor);
        run->pages = b.pages;
        run->conversations = b.conversations;
        run->total = b.total;
    }
    free(b.cursor);
    if (ok && run->pages % LOG_EVERY_PAGES == 0)
        run->sd->host->log(run->sd->self, SB_LOG_INFO,
                           "installation %lld: %lld of %lld conversations read",
                           (long long)run->inst, (long long)run->conversations,
                           (long long)run->total);
    return ok;
}

/* The page is done (committed or failed): let the walk go on or stop it. */
static void release_page(struct sd_run *run, struct phase *ph, bool go_on)
{
    page_free(ph->page);
    ph->page = NULL;
    /* May end the walk at once (last page, or stopping), which may end the run. */
    run->sd->host->paginate_resume(run->sd->self, ph->walk, go_on);
}

static void read_done(struct sd_run *run, struct phase *ph);

static void contact_read(void *arg, const sb_intercom_response *res)
{
    struct fetch f = *(struct fetch *)arg;
    free(arg);
    struct sd_run *run = f.run;
    if (sd_run_op_end(run, res))
        return;
    struct phase *ph = run->phase_state;
    struct page *p = ph->page;
    struct sd_contact *slot = &p->contacts[f.index];
    if (!res->error_code && res->body) {
        struct sd_contact read;
        if (sd_contact_parse(res->body, &read) == 0) {
            sd_contact_free(slot);
            *slot = read;
        } else {
            p->missing[f.index] = true;
        }
    } else if (res->kind == SB_ERR_NOT_FOUND) {
        p->missing[f.index] = true;
    } else if (!p->failed) {
        p->failed = true;
        p->fail_status = sd_run_classify(run, res, "reading a contact", p->fail_message,
                                         sizeof p->fail_message);
    }
    read_done(run, ph);
}

static void transcript_read(void *arg, const sb_intercom_response *res, int added)
{
    struct sd_run *run = arg;
    if (sd_run_op_end(run, res))
        return;
    struct phase *ph = run->phase_state;
    struct page *p = ph->page;
    /* A conversation deleted since it was listed has no messages to read. */
    if (added < 0 && res->kind != SB_ERR_NOT_FOUND && !p->failed) {
        p->failed = true;
        if (res->error_code) {
            p->fail_status = sd_run_classify(run, res, "reading a conversation", p->fail_message,
                                             sizeof p->fail_message);
        } else {
            p->fail_status = SB_RETRY;
            snprintf(p->fail_message, sizeof p->fail_message, "cannot store a ticket's messages");
        }
    }
    read_done(run, ph);
}

/* One read of the page finished: after the last one, commit the page (or stop the walk). */
static void read_done(struct sd_run *run, struct phase *ph)
{
    struct page *p = ph->page;
    if (--p->outstanding > 0)
        return;
    bool go_on = !p->failed && commit_page(run);
    if (!go_on && !p->failed) {
        p->failed = true;
        p->fail_status = SB_RETRY;
        snprintf(p->fail_message, sizeof p->fail_message, "cannot store a page of tickets");
    }
    if (p->failed)
        sd_run_stop_with(run, p->fail_status, p->fail_message); /* the walk's end reports it */
    release_page(run, ph, go_on);
}

/* Send the page's reads: contacts to match, conversations whose messages changed. */
static void start_reads(struct sd_run *run, struct page *p)
{
    for (size_t i = 0; i < p->n_contacts; i++) {
        if (!p->fetched[i])
            continue;
        char *path = pk_xasprintf("/contacts/%s", p->contacts[i].id);
        sb_intercom_request req = {.method = "GET", .path = path};
        struct fetch *f = pk_xcalloc(1, sizeof *f);
        f->run = run;
        f->index = i;
        sd_run_op_begin(run);
        run->sd->host->intercom_request(run->sd->self, run->inst, &req, contact_read, f);
        free(path);
    }
    for (size_t i = 0; i < p->n_transcripts; i++) {
        sd_run_op_begin(run); /* ids were checked when planned, so the call is right */
        sd_transcript_refresh(run->sd, run->inst, p->transcripts[i], transcript_read, run);
    }
}

/*
 * Store the messages the list items carry (a first message alone) and note
 * the conversations whose messages must be read. -1 when the store failed.
 */
static int plan_transcripts(struct sd_run *run, struct page *p, json_object *items)
{
    size_t n = items ? json_object_array_length(items) : 0;
    p->transcripts = pk_xcalloc(n ? n : 1, sizeof *p->transcripts);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(items, i);
        int need = sd_transcript_from_listed(run->sd, run->inst, item);
        if (need < 0)
            return -1;
        if (need > 0) {
            p->transcripts[p->n_transcripts++] = pk_xstrdup(sb_json_str(item, "id"));
            p->outstanding++;
        }
    }
    return 0;
}

/* ---- the walk ---- */

static sb_status page_cb(void *arg, const sb_intercom_response *res, json_object *items,
                         const char *next_cursor)
{
    struct sd_run *run = arg;
    struct phase *ph = run->phase_state;
    struct page *p = pk_xcalloc(1, sizeof *p);
    size_t n = items ? json_object_array_length(items) : 0;
    p->convs = pk_xcalloc(n, sizeof *p->convs);
    for (size_t i = 0; i < n; i++) {
        char err[128];
        if (sd_conversation_parse(json_object_array_get_idx(items, i), &p->convs[p->n], err,
                                  sizeof err)
            == 0)
            p->n++;
        else
            p->invalid++; /* no id: nothing to key a ticket by */
    }
    p->next = sd_strdup_or_null(next_cursor);
    if (!run->total)
        run->total = sb_json_int(res->body, "total_count", 0);
    ph->page = p;
    plan_contacts(run, p);
    if (plan_transcripts(run, p, items) != 0) {
        page_free(p);
        ph->page = NULL;
        sd_run_stop_with(run, SB_RETRY, "cannot store a ticket's messages");
        return SB_FAIL;
    }
    if (p->outstanding == 0) {
        bool ok = commit_page(run);
        page_free(p);
        ph->page = NULL;
        if (!ok)
            sd_run_stop_with(run, SB_RETRY, "cannot store a page of tickets");
        return ok ? SB_OK : SB_FAIL;
    }
    start_reads(run, p);
    return SB_PENDING;
}

static void walk_done(void *arg, const sb_intercom_response *res)
{
    struct sd_run *run = arg;
    if (sd_run_op_end(run, res))
        return;
    struct phase *ph = run->phase_state;
    ph->walk = 0;
    if (!res->error_code) {
        sd_run_phase_done(run);
        return;
    }
    if (run->stop_status != SB_OK) {
        sd_run_fail(run, run->stop_status, "%s", run->stop_reason);
        return;
    }
    sd_run_fail_response(run, res, run->full ? "listing conversations" : "searching conversations");
}

void sd_conversations_start(struct sd_run *run)
{
    struct phase *ph = pk_xcalloc(1, sizeof *ph);
    run->phase_state = ph;
    run->phase_state_free = phase_free;
    sb_intercom_request req;
    json_object *body = NULL;
    char path[64];
    if (run->full) {
        snprintf(path, sizeof path, "/conversations?per_page=%d", PER_PAGE);
        req = (sb_intercom_request){.method = "GET", .path = path};
    } else {
        body = json_object_new_object();
        json_object *query = json_object_new_object();
        sb_json_add_str(query, "field", "updated_at");
        sb_json_add_str(query, "operator", ">");
        sb_json_add_int(query, "value", run->since_s);
        json_object_object_add(body, "query", query);
        json_object *pagination = json_object_new_object();
        sb_json_add_int(pagination, "per_page", PER_PAGE);
        json_object_object_add(body, "pagination", pagination);
        req = (sb_intercom_request){.method = "POST", .path = "/conversations/search",
                                    .body = body};
    }
    sd_run_op_begin(run);
    ph->walk = run->sd->host->intercom_paginate(run->sd->self, run->inst, &req, run->cursor,
                                                page_cb, walk_done, run);
    json_object_put(body);
}
