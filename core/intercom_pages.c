/*
 * intercom_pages.c - pagination walks (intercom_paginate): a list read page
 * by page, each page a retry-safe request of the Intercom client, its items
 * handed to the plugin's page callback, which may pause the walk
 * (SB_PENDING, then intercom_paginate_resume) or stop it. The walk follows
 * Intercom's cursor (intercom_shapes.h builds each page's request) and ends
 * with the done callback: after the last page, an error, or a cancel.
 */
#include "intercom_internal.h"

#include "hashmap.h"
#include "intercom_shapes.h"
#include "plugins.h"
#include "util.h"

#include <stdlib.h>

struct walk {
    struct intercom *ic;
    uint64_t id;
    struct sb_plugin *plugin;
    int64_t installation;
    char *method;
    char *path;
    json_object *body;
    unsigned flags;
    char *cursor;
    sb_page_cb page_cb;
    sb_intercom_cb done;
    void *arg;
    uint64_t current;       /* request fetching the current page, 0 if none */
    bool waiting_resume;
};

static void walk_fetch(struct walk *w);

static void walk_free(struct walk *w)
{
    hashmap_remove_u64(w->ic->walks, w->id);
    free(w->method);
    free(w->path);
    json_object_put(w->body);
    free(w->cursor);
    free(w);
}

/* End a walk: with the last page's response, or stopped (@p code set: a CANCELLED walk). */
static void walk_finish(struct walk *w, const sb_intercom_response *res, const char *code,
                        const char *message)
{
    sb_intercom_response out = {.request = w->id, .installation = w->installation};
    if (res)
        out = *res;
    out.request = w->id;
    if (code) {
        out.error_code = code;
        out.error_message = message;
        out.kind = SB_ERR_CANCELLED;
        out.retry_after_s = 0;
    }
    sb_intercom_cb done = w->done;
    void *arg = w->arg;
    walk_free(w);
    if (done)
        done(arg, &out);
}

/* A page's answer, from the client's deliver event. */
static void walk_page_done(void *arg, const sb_intercom_response *res)
{
    struct walk *w = arg;
    w->current = 0;
    if (res->error_code) {
        walk_finish(w, res, NULL, NULL);
        return;
    }
    json_object *items = intercom_page_items(res->body);
    const char *next = intercom_page_next(res->body);
    free(w->cursor);
    w->cursor = next ? xstrdup(next) : NULL;
    w->plugin->callbacks++;
    sb_status st = w->page_cb(w->arg, res, items, w->cursor);
    if (st == SB_PENDING) {
        w->waiting_resume = true;
        return;
    }
    if (st != SB_OK) {
        walk_finish(w, res, "stopped", "the page callback stopped the walk");
        return;
    }
    if (!w->cursor) {
        walk_finish(w, res, NULL, NULL);
        return;
    }
    walk_fetch(w);
}

static void walk_fetch(struct walk *w)
{
    char *path;
    json_object *body;
    intercom_page_request(w->method, w->path, w->body, w->cursor, &path, &body);
    w->current = intercom_send_page(w->ic, w->plugin, w->installation, w->method, path, body,
                                    w->flags | SB_INTERCOM_RETRY_SAFE, walk_page_done, w);
    json_object_put(body);
    free(path);
}

/* ---- public API ---- */

sb_request_id intercom_paginate(struct intercom *ic, struct sb_plugin *p, int64_t installation,
                                const sb_intercom_request *req, const char *starting_after,
                                sb_page_cb page_cb, sb_intercom_cb done, void *arg)
{
    if (intercom_wrong_call(p, "intercom_paginate", req, page_cb && done))
        return 0;
    struct walk *w = xcalloc(1, sizeof *w);
    w->ic = ic;
    w->id = ++ic->next_id;
    w->plugin = p;
    w->installation = installation;
    w->method = xstrdup(req->method);
    w->path = xstrdup(req->path);
    /* The plugin's body is borrowed: keep a copy it cannot change under the walk. */
    if (req->body && json_object_deep_copy(req->body, &w->body, NULL) != 0)
        w->body = NULL;
    w->flags = req->flags;
    w->cursor = starting_after && *starting_after ? xstrdup(starting_after) : NULL;
    w->page_cb = page_cb;
    w->done = done;
    w->arg = arg;
    hashmap_put_u64(ic->walks, w->id, w);
    sb_error_kind kind;
    const char *code;
    const char *problem = intercom_installation_problem(ic, p, installation, &kind, &code);
    if (problem) /* reported through a request, so the callback still runs later, not in this frame */
        w->current = intercom_fail_page(ic, p, installation, w->method, w->path, kind, code,
                                        problem, walk_page_done, w);
    else
        walk_fetch(w);
    return w->id;
}

int intercom_paginate_resume(struct intercom *ic, struct sb_plugin *p, sb_request_id id, int go_on)
{
    struct walk *w = hashmap_get_u64(ic->walks, id);
    if (!w || w->plugin != p || !w->waiting_resume)
        return -1;
    w->waiting_resume = false;
    if (!go_on)
        walk_finish(w, NULL, "stopped", "stopped by the plugin");
    else if (!w->cursor)
        walk_finish(w, NULL, NULL, NULL);
    else
        walk_fetch(w);
    return 0;
}

/* ---- for the client's cancels ---- */

bool intercom_walk_cancel(struct intercom *ic, struct sb_plugin *p, uint64_t id)
{
    struct walk *w = hashmap_get_u64(ic->walks, id);
    if (!w || w->plugin != p)
        return false;
    if (w->current)
        intercom_drop_page(ic, w->current); /* the walk ends here, not through its page */
    walk_finish(w, NULL, "cancelled", "cancelled");
    return true;
}

static void collect_walk(void *arg, void *value)
{
    struct id_list *ids = arg;
    struct walk *w = value;
    if (!ids->plugin || w->plugin == ids->plugin)
        id_list_add(ids, w->id);
}

void intercom_walk_ids(struct intercom *ic, struct id_list *ids)
{
    hashmap_each(ic->walks, collect_walk, ids);
}
