/* webhooks.c - verify, parse, batch, commit, acknowledge; then hand each delivery its event. */
#include "webhooks.h"

#include "crypto.h"
#include "http.h"
#include "installations.h"
#include "jobs.h"
#include "json_input.h"
#include "log.h"
#include "plugins.h"
#include "server.h"
#include "store/store_events.h"
#include "turn.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_MAX 512
/*
 * Envelopes kept for their delivery jobs: a ring indexed by event id, so a
 * newer event evicts the one in its slot and memory stays bounded (at most
 * this many parsed bodies) whatever becomes of the jobs.
 */
#define ENVELOPE_SLOTS 256

struct pending_event {
    struct http_request *req;
    struct sb_plugin *plugin;
    char *notification_id;
    char *workspace_id;
    char *topic;
    char *job_key; /* the item's id: one conversation's events run in order */
    int64_t installation;
    int64_t created_at;
    const char *outcome; /* queued, ignored, unrouted, revoked */
    json_object *envelope; /* the parsed body, kept for the delivery job */
    int64_t event_id;      /* set once inserted with a job */
};

struct cached_envelope {
    int64_t event_id; /* 0: empty */
    struct intake_event e;
};

struct intake {
    struct server *srv;
    struct pending_event *batch;
    size_t n, cap;
    size_t written;  /* the first `written` of batch were inserted by the current turn */
    bool write_ok;
    bool *dup;       /* per written event: a duplicate notification id */
    struct intake_stats stats;
    struct cached_envelope cache[ENVELOPE_SLOTS];
};

static void store_now(struct intake *in);

struct intake *intake_new(struct server *srv)
{
    struct intake *in = xcalloc(1, sizeof *in);
    in->srv = srv;
    return in;
}

void intake_event_clear(struct intake_event *e)
{
    json_object_put(e->envelope);
    free(e->topic);
    free(e->notification_id);
    memset(e, 0, sizeof *e);
}

void intake_free(struct intake *in)
{
    if (!in)
        return;
    store_now(in);
    turn_leave(in->srv->turn, in);
    for (size_t i = 0; i < ENVELOPE_SLOTS; i++)
        intake_event_clear(&in->cache[i].e);
    free(in->batch);
    free(in->dup);
    free(in);
}

void intake_stats(const struct intake *in, struct intake_stats *out)
{
    *out = in->stats;
}

static void read_event(void *arg, const struct store_event *row)
{
    struct intake_event *e = arg;
    e->envelope = json_tokener_parse(row->body);
    e->topic = row->topic ? xstrdup(row->topic) : NULL;
    e->notification_id = row->notification_id ? xstrdup(row->notification_id) : NULL;
    e->created_at = row->created_at;
}

int intake_job_event(struct intake *in, int64_t event_id, struct intake_event *out)
{
    memset(out, 0, sizeof *out);
    if (!in)
        return -1;
    struct cached_envelope *slot =
        event_id > 0 ? &in->cache[(uint64_t)event_id % ENVELOPE_SLOTS] : NULL;
    if (slot && slot->event_id == event_id) {
        *out = slot->e;
        memset(slot, 0, sizeof *slot);
    } else {
        int found = store_event_read(in->srv->store, event_id, read_event, out);
        if (found <= 0)
            return found;
    }
    json_object *data = NULL;
    if (out->envelope && json_object_object_get_ex(out->envelope, "data", &data))
        json_object_object_get_ex(data, "item", &out->item);
    return 1;
}

/* After the commit: keep the envelope of a queued notification for its job. */
static void keep_envelope(struct intake *in, struct pending_event *e)
{
    struct cached_envelope *slot = &in->cache[(uint64_t)e->event_id % ENVELOPE_SLOTS];
    intake_event_clear(&slot->e);
    slot->event_id = e->event_id;
    slot->e = (struct intake_event){.envelope = e->envelope, .topic = e->topic,
                                       .notification_id = e->notification_id,
                                       .created_at = e->created_at};
    e->envelope = NULL;
    e->topic = e->notification_id = NULL;
}

static void pending_free(struct pending_event *e)
{
    free(e->notification_id);
    free(e->workspace_id);
    free(e->topic);
    free(e->job_key);
    json_object_put(e->envelope);
}

static void ack(struct http_request *req, const char *status)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(status));
    http_reply_json(req, 200, o);
}

static bool insert_event(struct intake *in, struct pending_event *e, bool *duplicate)
{
    struct store_event row = {
        .plugin = e->plugin->name,
        .notification_id = e->notification_id,
        .installation = e->installation,
        .workspace_id = e->workspace_id,
        .topic = e->topic,
        .created_at = e->created_at,
        .received_at = time_now_ms(),
        .outcome = e->outcome,
    };
    row.body = http_body(e->req, &row.body_len);
    int64_t event_id = store_event_insert(in->srv->store, &row, duplicate);
    if (event_id < 0)
        return false;
    if (*duplicate || strcmp(e->outcome, "queued") != 0)
        return true;
    int64_t job = jobs_insert(in->srv->jobs, e->plugin->name, e->installation, "webhook",
                              e->job_key, NULL, event_id, 0);
    e->event_id = job ? event_id : 0;
    return job != 0;
}

/* ---- the commit turn's participant (turn.h) ---- */

/* Inside the turn's transaction (a savepoint of it): one failed insert undoes the batch. */
static void intake_gather(void *arg)
{
    struct intake *in = arg;
    if (!in->n)
        return;
    struct store *st = in->srv->store;
    in->written = in->n;
    free(in->dup);
    in->dup = xcalloc(in->written, sizeof *in->dup);
    bool ok = store_begin(st) == 0;
    for (size_t i = 0; ok && i < in->written; i++)
        ok = insert_event(in, &in->batch[i], &in->dup[i]);
    if (ok)
        ok = store_commit(st) == 0;
    else if (store_in_transaction(st))
        store_rollback(st);
    in->write_ok = ok;
}

/* After the turn's commit: every notification of it gets its answer, 200 only if durable. */
static void intake_settle(void *arg, bool committed)
{
    struct intake *in = arg;
    if (!in->written)
        return;
    size_t n = in->written;
    bool ok = in->write_ok && committed;
    in->stats.commits++;
    if (!ok) {
        in->stats.commit_failures++;
        log_error("webhooks", "could not store %zu notifications; answering 503 so Intercom "
                              "retries", n);
    }
    for (size_t i = 0; i < n; i++) {
        struct pending_event *e = &in->batch[i];
        if (!ok) {
            http_reply_error(e->req, 503, "store_unavailable",
                             "the notification could not be stored; please retry");
        } else if (in->dup[i]) {
            in->stats.duplicates++;
            ack(e->req, "duplicate");
        } else {
            if (strcmp(e->outcome, "queued") == 0) {
                in->stats.accepted++;
                if (e->event_id)
                    keep_envelope(in, e);
            } else if (strcmp(e->outcome, "ignored") == 0) {
                in->stats.ignored++;
            } else {
                in->stats.unrouted++;
            }
            ack(e->req, e->outcome);
        }
        pending_free(e);
    }
    /* (Nothing arrives during a turn; keep anything that did for the next.) */
    memmove(in->batch, in->batch + n, (in->n - n) * sizeof *in->batch);
    in->n -= n;
    in->written = 0;
    if (in->n)
        turn_request(in->srv->turn);
    if (ok)
        jobs_kick(in->srv->jobs);
}

/* A full batch, or shutdown: run the turn now; if the store cannot, answer 503 now. */
static void store_now(struct intake *in)
{
    if (!in->n || turn_now(in->srv->turn))
        return;
    in->written = in->n;
    in->write_ok = false;
    intake_settle(in, false);
}

void intake_join_turn(struct intake *in)
{
    turn_join(in->srv->turn,
              &(struct turn_participant){"intake", intake_gather, intake_settle, in, NULL});
}

static const char *string_member(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void malformed(struct intake *in, struct http_request *req, const char *plugin,
                      const char *why)
{
    in->stats.malformed++;
    log_warn("webhooks", "plugin %s: malformed notification (request %s): %s", plugin,
             http_request_id(req), why);
    http_reply_error(req, 400, "malformed_notification", "%s", why);
}

void webhooks_handle(struct server *srv, struct http_request *req, const char *plugin_name)
{
    struct intake *in = srv->intake;
    struct sb_plugin *p = plugins_find(srv->plugins, plugin_name);
    http_set_label(req, "webhooks");
    if (!p || !p->running) {
        http_reply_error(req, 404, "unknown_plugin", "no plugin named '%s' is running",
                         plugin_name);
        return;
    }
    if (http_is_head(req)) { /* Intercom validates the URL with HEAD */
        http_reply(req, 200, "application/json", "", 0);
        return;
    }
    if (strcmp(http_method(req), "POST") != 0) {
        http_add_header(req, "Allow", "HEAD, POST");
        http_reply_error(req, 405, "method_not_allowed", "webhooks take HEAD and POST");
        return;
    }
    if (!plugin_configured(p)) {
        http_reply_error(req, 503, "not_configured",
                         "plugin '%s' has no client_id/client_secret in the configuration, so "
                         "its webhooks cannot be verified",
                         p->name);
        return;
    }
    in->stats.received++;
    size_t len;
    const char *body = http_body(req, &len);
    const char *signature = http_header(req, "X-Hub-Signature");
    if (!signature_valid(signature, p->cfg->client_secret, body, len, true)) {
        in->stats.bad_signature++;
        log_warn("webhooks", "plugin %s: %s X-Hub-Signature from %s (request %s)", p->name,
                 signature ? "wrong" : "missing", http_peer(req), http_request_id(req));
        http_reply_error(req, 401, "bad_signature",
                         signature ? "X-Hub-Signature does not match the body"
                                   : "X-Hub-Signature is missing");
        return;
    }
    char parse_error[128];
    json_object *root = json_parse_whole(body, len, parse_error, sizeof parse_error);
    if (!root || !json_object_is_type(root, json_type_object)) {
        char *why = xasprintf("body is not a JSON object (%s)",
                              root ? "wrong type" : parse_error);
        malformed(in, req, p->name, why);
        free(why);
        json_object_put(root);
        return;
    }
    const char *topic = string_member(root, "topic");
    const char *id = string_member(root, "id");
    const char *app_id = string_member(root, "app_id");
    json_object *data = NULL, *item = NULL, *created = NULL;
    json_object_object_get_ex(root, "data", &data);
    if (data)
        json_object_object_get_ex(data, "item", &item);
    json_object_object_get_ex(root, "created_at", &created);
    const char *why = !topic                         ? "\"topic\" is missing"
                      : strcmp(topic, "ping") == 0   ? NULL
                      : !id || !*id                  ? "\"id\" is missing"
                      : !app_id || !*app_id          ? "\"app_id\" is missing"
                      : !item || !json_object_is_type(item, json_type_object)
                          ? "\"data.item\" is missing"
                          : NULL;
    if (why) {
        malformed(in, req, p->name, why);
        json_object_put(root);
        return;
    }
    if (strcmp(topic, "ping") == 0) {
        in->stats.pings++;
        log_info("webhooks", "plugin %s: ping from Intercom", p->name);
        json_object_put(root);
        ack(req, "pong");
        return;
    }
    struct installation *inst = installations_find(srv->installations, p->name, app_id);
    const char *outcome = !inst                                     ? "unrouted"
                          : inst->state == SB_INSTALLATION_REVOKED ? "revoked"
                          : plugin_wants_topic(p, topic)           ? "queued"
                                                                   : "ignored";
    if (!inst)
        log_warn("webhooks", "plugin %s: notification %s for workspace %s, which has not "
                             "installed it; recorded, not delivered",
                 p->name, id, app_id);
    if (in->n == in->cap) {
        in->cap = in->cap ? in->cap * 2 : 64;
        in->batch = xrealloc(in->batch, in->cap * sizeof *in->batch);
    }
    struct pending_event *e = &in->batch[in->n++];
    e->req = req;
    e->plugin = p;
    e->notification_id = xstrdup(id);
    e->workspace_id = xstrdup(app_id);
    e->topic = xstrdup(topic);
    e->installation = inst ? inst->id : 0;
    e->created_at = created && json_object_is_type(created, json_type_int)
                        ? json_object_get_int64(created)
                        : 0;
    e->outcome = outcome;
    e->event_id = 0;
    e->envelope = strcmp(outcome, "queued") == 0 ? json_object_get(root) : NULL;
    json_object *item_id;
    e->job_key = json_object_object_get_ex(item, "id", &item_id)
                         && !json_object_is_type(item_id, json_type_null)
                     ? xasprintf("item:%s", json_object_get_string(item_id))
                     : NULL;
    json_object_put(root);
    if (in->n >= BATCH_MAX)
        store_now(in);
    else
        turn_request(srv->turn);
}
