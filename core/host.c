/*
 * host.c - the services table plugins receive (sb_host). Every entry checks
 * its plugin handle, then forwards to the module that owns the service, so
 * plugins depend only on switchboard.h and never on host symbols.
 */
#include "host.h"

#include "abi.h"
#include "audit.h"
#include "documents.h"
#include "errors.h"
#include "hashmap.h"
#include "installations.h"
#include "intercom.h"
#include "intercom_writes.h"
#include "jobs.h"
#include "lifecycle.h"
#include "log.h"
#include "outbound.h"
#include "plugins.h"
#include "product_events.h"
#include "replies.h"
#include "server.h"
#include "settings.h"
#include "store/store.h"
#include "turn.h"
#include "util.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A stray or stale pointer is a plugin bug: refuse loudly instead of corrupting the host. */
static struct sb_plugin *check(sb_plugin *self, const char *call)
{
    if (!self || self->magic != PLUGIN_MAGIC) {
        log_error("host", "%s called with an invalid plugin handle", call);
        return NULL;
    }
    return self;
}

#define CHECKED(self, call, fail)                                                              \
    struct sb_plugin *p = check(self, call);                                                   \
    if (!p)                                                                                    \
    return fail

/* An installation of this plugin, or NULL (0 means plugin-wide and is allowed). */
static bool own_installation(struct sb_plugin *p, sb_installation_id id, const char *call)
{
    if (id == 0)
        return true;
    struct installation *inst = installations_get(p->srv->installations, id);
    if (inst && strcmp(inst->plugin, p->name) == 0)
        return true;
    log_warn("host", "plugin %s: %s for installation %lld, which is not its own", p->name, call,
             (long long)id);
    return false;
}

/* ---- logging and time ---- */

static void h_log(sb_plugin *self, sb_log_level level, const char *fmt, ...)
{
    CHECKED(self, "log", );
    va_list ap;
    va_start(ap, fmt);
    char comp[48];
    snprintf(comp, sizeof comp, "plugin:%s", p->name);
    log_vmsg(level <= SB_LOG_ERROR ? (enum log_level)level : LOG_ERROR, comp, fmt, ap);
    va_end(ap);
}

static int64_t h_now_ms(sb_plugin *self)
{
    (void)self;
    return time_now_ms();
}

struct plugin_timer {
    struct sb_plugin *plugin;
    uint64_t id;
    struct event *ev;
    void (*cb)(void *);
    void *arg;
};

/* Timers are tracked per plugin so they can be cancelled before its shutdown. */
static struct hashmap *timers;
static uint64_t next_timer_id;

static void timer_fire(evutil_socket_t fd, short what, void *arg)
{
    struct plugin_timer *t = arg;
    (void)fd;
    (void)what;
    hashmap_remove_u64(timers, t->id);
    void (*cb)(void *) = t->cb;
    void *cb_arg = t->arg;
    struct server *srv = t->plugin->srv;
    event_free(t->ev);
    free(t);
    turn_scope_enter(srv->turn);
    cb(cb_arg);
    turn_scope_leave(srv->turn);
}

static sb_timer_id h_timer_add(sb_plugin *self, uint32_t delay_ms, void (*cb)(void *), void *arg)
{
    CHECKED(self, "timer_add", 0);
    if (!cb)
        return 0;
    if (!timers)
        timers = hashmap_new();
    struct plugin_timer *t = xcalloc(1, sizeof *t);
    t->plugin = p;
    t->id = ++next_timer_id;
    t->cb = cb;
    t->arg = arg;
    t->ev = evtimer_new(p->srv->base, timer_fire, t);
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    evtimer_add(t->ev, &tv);
    hashmap_put_u64(timers, t->id, t);
    return t->id;
}

static void h_timer_cancel(sb_plugin *self, sb_timer_id id)
{
    CHECKED(self, "timer_cancel", );
    struct plugin_timer *t = timers ? hashmap_get_u64(timers, id) : NULL;
    if (!t || t->plugin != p)
        return;
    hashmap_remove_u64(timers, id);
    event_free(t->ev);
    free(t);
}

struct collect_timers {
    struct sb_plugin *plugin;
    struct plugin_timer **list;
    size_t n, cap;
};

static void collect_timer(void *arg, void *value)
{
    struct collect_timers *c = arg;
    struct plugin_timer *t = value;
    if (c->plugin && t->plugin != c->plugin)
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->list = xrealloc(c->list, c->cap * sizeof *c->list);
    }
    c->list[c->n++] = t;
}

void host_cancel_timers(struct sb_plugin *p)
{
    if (!timers)
        return;
    struct collect_timers c = {.plugin = p};
    hashmap_each(timers, collect_timer, &c);
    for (size_t i = 0; i < c.n; i++) {
        hashmap_remove_u64(timers, c.list[i]->id);
        event_free(c.list[i]->ev);
        free(c.list[i]);
    }
    free(c.list);
    if (!p && timers) {
        hashmap_free(timers);
        timers = NULL;
    }
}

/* loop_post: the one thread-safe entry, a locked queue drained on the loop. */
struct posted {
    struct sb_plugin *plugin;
    void (*cb)(void *);
    void *arg;
    struct posted *next;
};

static pthread_mutex_t post_lock = PTHREAD_MUTEX_INITIALIZER;
static struct posted *post_head, *post_tail;
static struct event *post_ev;

static void post_drain(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    pthread_mutex_lock(&post_lock);
    struct posted *list = post_head;
    post_head = post_tail = NULL;
    pthread_mutex_unlock(&post_lock);
    while (list) {
        struct posted *next = list->next;
        if (list->plugin->running) {
            turn_scope_enter(list->plugin->srv->turn);
            list->cb(list->arg);
            turn_scope_leave(list->plugin->srv->turn);
        }
        free(list);
        list = next;
    }
}

void host_init_post(struct event_base *base)
{
    if (!post_ev)
        post_ev = event_new(base, -1, 0, post_drain, NULL);
}

void host_free_post(void)
{
    if (post_ev) {
        post_drain(-1, 0, NULL);
        event_free(post_ev);
        post_ev = NULL;
    }
}

static int h_loop_post(sb_plugin *self, void (*cb)(void *), void *arg)
{
    if (!self || self->magic != PLUGIN_MAGIC || !cb || !post_ev)
        return -1;
    struct posted *item = xcalloc(1, sizeof *item);
    item->plugin = self;
    item->cb = cb;
    item->arg = arg;
    pthread_mutex_lock(&post_lock);
    if (post_tail)
        post_tail->next = item;
    else
        post_head = item;
    post_tail = item;
    pthread_mutex_unlock(&post_lock);
    event_active(post_ev, 0, 0); /* libevent is built with thread support: see main.c */
    return 0;
}

static const char *h_public_url(sb_plugin *self)
{
    CHECKED(self, "public_url", "");
    return p->srv->cfg->public_url;
}

/* ---- installations and settings ---- */

static int h_installation_get(sb_plugin *self, sb_installation_id id, sb_installation *out)
{
    CHECKED(self, "installation_get", -1);
    struct installation *inst = installations_get(p->srv->installations, id);
    if (!out || !inst || strcmp(inst->plugin, p->name) != 0)
        return -1;
    sb_installation view;
    installation_to_sdk(inst, &view);
    /* out is the plugin's: as large as sb_installation was in its minor, maybe smaller. */
    abi_copy_out(out, &view, sizeof view, p->desc.abi_minor, ABI_INSTALLATION);
    return 0;
}

static sb_installation_id h_installation_find(sb_plugin *self, const char *workspace_id)
{
    CHECKED(self, "installation_find", 0);
    if (!workspace_id)
        return 0;
    struct installation *inst = installations_find(p->srv->installations, p->name, workspace_id);
    return inst ? inst->id : 0;
}

struct each_ctx {
    int (*cb)(void *, const sb_installation *);
    void *arg;
};

static int each_adapter(void *arg, struct installation *inst)
{
    struct each_ctx *ctx = arg;
    sb_installation view;
    installation_to_sdk(inst, &view);
    return ctx->cb(ctx->arg, &view);
}

static int h_installation_each(sb_plugin *self, int (*cb)(void *, const sb_installation *),
                               void *arg)
{
    CHECKED(self, "installation_each", -1);
    if (!cb)
        return -1;
    struct each_ctx ctx = {cb, arg};
    installations_each(p->srv->installations, p->name, each_adapter, &ctx);
    return 0;
}

static int h_installation_revoke(sb_plugin *self, sb_installation_id id, const char *reason)
{
    CHECKED(self, "installation_revoke", -1);
    if (!id || !own_installation(p, id, "installation_revoke"))
        return -1;
    struct installation *inst = installations_get(p->srv->installations, id);
    return lifecycle_revoke(p->srv, inst, reason ? reason : "revoked by the plugin", true);
}

static json_object *h_settings_get(sb_plugin *self, sb_installation_id id)
{
    CHECKED(self, "settings_get", NULL);
    if (!own_installation(p, id, "settings_get"))
        return NULL;
    return settings_effective(p->srv, p, id);
}

static int h_settings_set(sb_plugin *self, sb_installation_id id, json_object *changes,
                          sb_result *result)
{
    CHECKED(self, "settings_set", -1);
    if (!id || !own_installation(p, id, "settings_set"))
        return -1;
    struct buf err;
    buf_init(&err);
    int rc = -1;
    if (!json_object_is_type(changes, json_type_object))
        buf_puts(&err, "settings must be a JSON object");
    else
        rc = settings_update(p->srv, p, id, changes, &err); /* the admin API's own checks */
    if (rc != 0) {
        if (result)
            sb_result_fail(result, SB_FAIL, "invalid_settings", "%s",
                           err.data ? err.data : "invalid");
        buf_free(&err);
        return -1;
    }
    buf_free(&err);
    lifecycle_settings_changed(p->srv, installations_get(p->srv->installations, id));
    return 0;
}

/* ---- documents ---- */

static bool doc_ns(struct sb_plugin *p, sb_installation_id inst, const char *collection,
                   struct doc_ns *ns, const char *call)
{
    if (!own_installation(p, inst, call))
        return false;
    ns->plugin = p->name;
    ns->installation = inst;
    ns->collection = collection;
    return true;
}

static int h_doc_put(sb_plugin *self, sb_installation_id inst, const char *collection,
                     const char *key, json_object *value)
{
    CHECKED(self, "doc_put", -1);
    struct doc_ns ns;
    if (!doc_ns(p, inst, collection, &ns, "doc_put") || !key)
        return -1;
    return doc_put(p->srv->store, &ns, key, value);
}

static json_object *h_doc_get(sb_plugin *self, sb_installation_id inst, const char *collection,
                              const char *key)
{
    CHECKED(self, "doc_get", NULL);
    struct doc_ns ns;
    if (!doc_ns(p, inst, collection, &ns, "doc_get") || !key)
        return NULL;
    return doc_get(p->srv->store, &ns, key);
}

static int h_doc_delete(sb_plugin *self, sb_installation_id inst, const char *collection,
                        const char *key)
{
    CHECKED(self, "doc_delete", -1);
    struct doc_ns ns;
    if (!doc_ns(p, inst, collection, &ns, "doc_delete") || !key)
        return -1;
    return doc_delete(p->srv->store, &ns, key);
}

static int h_doc_list(sb_plugin *self, sb_installation_id inst, const char *collection,
                      const char *from, const char *to, size_t limit, unsigned flags,
                      sb_doc_cb cb, void *arg)
{
    CHECKED(self, "doc_list", -1);
    struct doc_ns ns;
    if (!doc_ns(p, inst, collection, &ns, "doc_list"))
        return -1;
    return doc_list(p->srv->store, &ns, from, to, limit, flags, cb, arg);
}

static int h_doc_delete_range(sb_plugin *self, sb_installation_id inst, const char *collection,
                              const char *from, const char *to)
{
    CHECKED(self, "doc_delete_range", -1);
    struct doc_ns ns;
    if (!doc_ns(p, inst, collection, &ns, "doc_delete_range"))
        return -1;
    return doc_delete_range(p->srv->store, &ns, from, to);
}

/* See sb_host.transaction: 0, fn's positive value, or -1 (fn < 0 or the store failed). */
static int h_transaction(sb_plugin *self, int (*fn)(void *), void *arg)
{
    CHECKED(self, "transaction", -1);
    if (!fn) {
        log_warn("host", "plugin %s: transaction called without a function", p->name);
        return -1;
    }
    if (store_begin(p->srv->store) != 0) {
        log_error("host", "plugin %s: transaction: the store could not open it", p->name);
        return -1;
    }
    int rc = fn(arg);
    if (rc != 0) {
        store_rollback(p->srv->store);
        return rc > 0 ? rc : -1;
    }
    if (store_commit(p->srv->store) != 0) {
        log_error("host", "plugin %s: transaction: the store could not keep its writes (undone)",
                  p->name);
        return -1;
    }
    return 0;
}

/* ---- jobs ---- */

static sb_job_id h_job_enqueue(sb_plugin *self, sb_installation_id inst, const char *type,
                               const char *key, json_object *payload, uint32_t delay_s)
{
    CHECKED(self, "job_enqueue", 0);
    if (!p->desc.on_job) {
        log_warn("host", "plugin %s enqueued a job but has no on_job handler", p->name);
        return 0;
    }
    if (!type || !*type || !own_installation(p, inst, "job_enqueue"))
        return 0;
    if (product_job_type(type)) {
        log_warn("host", "plugin %s: job types starting with '" PRODUCT_JOB_PREFIX "' are the "
                         "host's (use product_event)", p->name);
        return 0;
    }
    int64_t id = jobs_insert(p->srv->jobs, p->name, inst, type, key, payload,
                             (int64_t)delay_s * 1000);
    /* The dispatcher runs on a later turn of the loop, after the enclosing commit. */
    if (id)
        jobs_kick(p->srv->jobs);
    return (sb_job_id)id;
}

static int h_job_complete(sb_plugin *self, sb_job_id job, sb_status status,
                          const sb_result *result)
{
    CHECKED(self, "job_complete", -1);
    sb_result copy; /* members the plugin's minor lacks read as zero */
    abi_copy_in(&copy, sizeof copy, result, p->desc.abi_minor, ABI_RESULT);
    return jobs_complete(p->srv->jobs, p, job, status, &copy);
}

static int h_job_checkpoint(sb_plugin *self, sb_job_id job, json_object *checkpoint)
{
    CHECKED(self, "job_checkpoint", -1);
    return jobs_checkpoint(p->srv->jobs, p, job, checkpoint);
}

/* ---- audit ---- */

static int h_audit(sb_plugin *self, sb_installation_id inst, const char *subject,
                   const char *action, const char *detail)
{
    CHECKED(self, "audit", -1);
    if (!own_installation(p, inst, "audit"))
        return -1;
    return audit_append(p->srv->store, p->name, inst, subject, action, detail);
}

static json_object *h_audit_list(sb_plugin *self, sb_installation_id inst, const char *subject,
                                 size_t limit)
{
    CHECKED(self, "audit_list", NULL);
    if (!own_installation(p, inst, "audit_list"))
        return NULL;
    return audit_list(p->srv->store, p->name, inst, subject, 0, limit);
}

/* ---- Intercom ---- */

static sb_request_id h_intercom_request(sb_plugin *self, sb_installation_id inst,
                                        const sb_intercom_request *req, sb_intercom_cb cb,
                                        void *arg)
{
    CHECKED(self, "intercom_request", 0);
    sb_intercom_request copy;
    abi_copy_in(&copy, sizeof copy, req, p->desc.abi_minor, ABI_INTERCOM_REQUEST);
    return intercom_request(p->srv->intercom, p, inst, req ? &copy : NULL, cb, arg);
}

static sb_request_id h_intercom_stream(sb_plugin *self, sb_installation_id inst,
                                       const sb_intercom_request *req, const char *array_path,
                                       sb_item_cb on_item, sb_intercom_cb done, void *arg)
{
    CHECKED(self, "intercom_stream", 0);
    sb_intercom_request copy;
    abi_copy_in(&copy, sizeof copy, req, p->desc.abi_minor, ABI_INTERCOM_REQUEST);
    return intercom_stream(p->srv->intercom, p, inst, req ? &copy : NULL, array_path, on_item,
                           done, arg);
}

static sb_request_id h_intercom_paginate(sb_plugin *self, sb_installation_id inst,
                                         const sb_intercom_request *req,
                                         const char *starting_after, sb_page_cb page_cb,
                                         sb_intercom_cb done, void *arg)
{
    CHECKED(self, "intercom_paginate", 0);
    sb_intercom_request copy;
    abi_copy_in(&copy, sizeof copy, req, p->desc.abi_minor, ABI_INTERCOM_REQUEST);
    return intercom_paginate(p->srv->intercom, p, inst, req ? &copy : NULL, starting_after,
                             page_cb, done, arg);
}

static int h_paginate_resume(sb_plugin *self, sb_request_id walk, int go_on)
{
    CHECKED(self, "paginate_resume", -1);
    return intercom_paginate_resume(p->srv->intercom, p, walk, go_on);
}

static void h_intercom_cancel(sb_plugin *self, sb_request_id id)
{
    CHECKED(self, "intercom_cancel", );
    intercom_cancel(p->srv->intercom, p, id);
}

static sb_status h_result_from_error(sb_plugin *self, const sb_intercom_response *response,
                                     const char *what, sb_result *result)
{
    CHECKED(self, "result_from_error", SB_FAIL);
    return errors_result_from_response(response, what, result);
}

static sb_request_id h_set_attributes(sb_plugin *self, sb_installation_id inst,
                                      sb_object_type type, const char *id,
                                      json_object *attributes, sb_intercom_cb cb, void *arg)
{
    CHECKED(self, "set_attributes", 0);
    return intercom_set_attributes(p->srv, p, inst, type, id, attributes, cb, arg);
}

static sb_request_id h_conversation_reply(sb_plugin *self, sb_installation_id inst,
                                          const char *conversation_id, sb_reply_type type,
                                          const char *body_html, const char *admin_id,
                                          sb_intercom_cb cb, void *arg)
{
    CHECKED(self, "conversation_reply", 0);
    return intercom_conversation_reply(p->srv, p, inst, conversation_id, type, body_html,
                                       admin_id, cb, arg);
}

/* ---- product events ---- */

static int h_product_event(sb_plugin *self, sb_installation_id inst, const char *type,
                           json_object *payload)
{
    CHECKED(self, "product_event", -1);
    if (!own_installation(p, inst, "product_event")
        || product_event_enqueue(p->srv->products, p, inst, type, payload) != 0)
        return -1;
    /* Sent on a later turn of the loop, after the enclosing commit. */
    jobs_kick(p->srv->jobs);
    return 0;
}

/* ---- outbound HTTP ---- */

static sb_request_id h_outbound_request(sb_plugin *self, const sb_outbound_request *req,
                                        sb_outbound_cb cb, void *arg)
{
    CHECKED(self, "outbound_request", 0);
    return outbound_request(p->srv->outbound, p, req, cb, arg);
}

static void h_outbound_cancel(sb_plugin *self, sb_request_id id)
{
    CHECKED(self, "outbound_cancel", );
    outbound_cancel(p->srv->outbound, p, id);
}

/* ---- answering HTTP ---- */

static int h_respond(sb_plugin *self, sb_reply_token reply, int status, json_object *body)
{
    /* With an invalid handle the plugin's minor, and so who owns body, is unknown: keep it. */
    CHECKED(self, "respond", -1);
    /* ABI 1.0 handed the reference over; from 1.1 on the plugin keeps its own. */
    if (p->desc.abi_minor >= 1)
        json_object_get(body);
    return replies_json(p->srv->replies, p, reply, status, body);
}

static int h_respond_raw(sb_plugin *self, sb_reply_token reply, int status,
                         const char *content_type, const void *data, size_t len)
{
    CHECKED(self, "respond_raw", -1);
    return replies_raw(p->srv->replies, p, reply, status, content_type, data, len);
}

const sb_host host_services = {
    .struct_size = sizeof(sb_host),
    .abi_major = SB_ABI_MAJOR,
    .abi_minor = SB_ABI_MINOR,
    .log = h_log,
    .now_ms = h_now_ms,
    .timer_add = h_timer_add,
    .timer_cancel = h_timer_cancel,
    .loop_post = h_loop_post,
    .public_url = h_public_url,
    .installation_get = h_installation_get,
    .installation_find = h_installation_find,
    .installation_each = h_installation_each,
    .installation_revoke = h_installation_revoke,
    .settings_get = h_settings_get,
    .doc_put = h_doc_put,
    .doc_get = h_doc_get,
    .doc_delete = h_doc_delete,
    .doc_list = h_doc_list,
    .doc_delete_range = h_doc_delete_range,
    .transaction = h_transaction,
    .job_enqueue = h_job_enqueue,
    .job_complete = h_job_complete,
    .audit = h_audit,
    .audit_list = h_audit_list,
    .intercom_request = h_intercom_request,
    .intercom_paginate = h_intercom_paginate,
    .paginate_resume = h_paginate_resume,
    .intercom_cancel = h_intercom_cancel,
    .respond = h_respond,
    .respond_raw = h_respond_raw,
    .result_from_error = h_result_from_error,
    .job_checkpoint = h_job_checkpoint,
    .set_attributes = h_set_attributes,
    .conversation_reply = h_conversation_reply,
    .outbound_request = h_outbound_request,
    .outbound_cancel = h_outbound_cancel,
    .settings_set = h_settings_set,
    .product_event = h_product_event,
    .intercom_stream = h_intercom_stream,
};
