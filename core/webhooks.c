/*
 * webhooks.c - verify, read the few members intake needs, batch, commit,
 * acknowledge; then hand each delivery its event.
 *
 * Intake reads only id, topic, app_id, created_at and data.item (its id is
 * the delivery's ordering key) in one strict pass over the body that builds
 * nothing (json_input.h). In the commit turn its rows are written on the
 * commit thread (the participant's background) while the loop parses the
 * bodies to deliver whole, once, for on_event (its meanwhile). A
 * notification is one events row, carrying its delivery's state
 * (store_events.h).
 *
 * Two batches take turns: one collects the notifications that arrive while
 * the other is being written and committed. Each keeps its strings in one
 * buffer of its own, reused from turn to turn, so a notification costs no
 * allocation of its own here.
 */
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
#define NO_TEXT SIZE_MAX

struct pending_event {
    struct http_request *req;
    struct sb_plugin *plugin;
    /* Offsets into the batch's text (NO_TEXT: none). */
    size_t notification_id, workspace_id, topic, key;
    int64_t installation;
    int64_t created_at;
    const char *outcome;   /* queued, ignored, unrouted, revoked */
    bool duplicate;        /* its notification id was stored before */
    int64_t event_id;      /* a delivery, once inserted */
    json_object *envelope; /* a delivery's body, parsed after the write */
};

struct batch {
    struct pending_event *items;
    size_t n, cap;
    struct buf text; /* the items' strings, each NUL-terminated */
};

struct cached_envelope {
    int64_t event_id; /* 0: empty */
    struct intake_event e;
};

struct intake {
    struct server *srv;
    struct batch batches[2];
    struct batch *collecting; /* what arrives now */
    struct batch *writing;    /* the current turn's */
    bool write_ok;
    struct intake_stats stats;
    struct cached_envelope cache[ENVELOPE_SLOTS];
};

static void store_now(struct intake *in);

struct intake *intake_new(struct server *srv)
{
    struct intake *in = xcalloc(1, sizeof *in);
    in->srv = srv;
    for (int i = 0; i < 2; i++)
        buf_init(&in->batches[i].text);
    in->collecting = &in->batches[0];
    in->writing = &in->batches[1];
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
    for (int i = 0; i < 2; i++) {
        free(in->batches[i].items);
        buf_free(&in->batches[i].text);
    }
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

static const char *text_at(const struct batch *b, size_t offset)
{
    return offset == NO_TEXT ? NULL : b->text.data + offset;
}

/* After the commit: keep a delivery's parsed envelope for its job. */
static void keep_envelope(struct intake *in, const struct batch *b, struct pending_event *e)
{
    struct cached_envelope *slot = &in->cache[(uint64_t)e->event_id % ENVELOPE_SLOTS];
    intake_event_clear(&slot->e);
    slot->event_id = e->event_id;
    slot->e = (struct intake_event){.envelope = e->envelope,
                                    .topic = xstrdup(text_at(b, e->topic)),
                                    .notification_id = xstrdup(text_at(b, e->notification_id)),
                                    .created_at = e->created_at};
    e->envelope = NULL;
}

/* The answer to a stored notification: its outcome, as JSON. */
static void ack(struct http_request *req, const char *status)
{
    char body[64];
    int len = snprintf(body, sizeof body, "{\"status\":\"%s\"}", status);
    http_reply(req, 200, "application/json", body, (size_t)len);
}

static bool insert_event(struct intake *in, const struct batch *b, struct pending_event *e,
                         int64_t now)
{
    size_t body_len;
    const char *body = http_body(e->req, &body_len);
    bool deliver = strcmp(e->outcome, "queued") == 0;
    struct store_event row = {
        .plugin = e->plugin->name,
        .notification_id = text_at(b, e->notification_id),
        .installation = e->installation,
        .workspace_id = text_at(b, e->workspace_id),
        .topic = text_at(b, e->topic),
        .created_at = e->created_at,
        .received_at = now,
        .outcome = e->outcome,
        .body = body,
        .body_len = body_len,
        .key = deliver ? text_at(b, e->key) : NULL,
        .max_attempts = deliver ? in->srv->cfg->job_max_attempts : 0,
    };
    int64_t event_id = store_event_insert(in->srv->store, &row, &e->duplicate);
    if (event_id < 0)
        return false;
    e->event_id = deliver && !e->duplicate ? event_id : 0;
    return true;
}

/* ---- the commit turn's participant (turn.h) ---- */

/* The turn's gather: the collected notifications become the batch it writes. */
static void intake_gather(void *arg)
{
    struct intake *in = arg;
    if (!in->writing->n && in->collecting->n) {
        struct batch *b = in->writing;
        in->writing = in->collecting;
        in->collecting = b;
    }
    in->write_ok = false;
}

/*
 * The turn's background, on the commit thread before its COMMIT, while the
 * loop reads the next requests: the batch's rows, in a savepoint of the
 * turn's transaction (one failed insert undoes the batch). Of the batch it
 * writes only each notification's duplicate and event_id.
 */
static void intake_write(void *arg)
{
    struct intake *in = arg;
    struct batch *b = in->writing;
    if (!b->n)
        return;
    struct store *st = in->srv->store;
    int64_t now = time_now_ms();
    bool ok = store_begin(st) == 0;
    for (size_t i = 0; ok && i < b->n; i++)
        ok = insert_event(in, b, &b->items[i], now);
    if (ok)
        ok = store_commit(st) == 0;
    else if (store_in_transaction(st))
        store_rollback(st);
    in->write_ok = ok;
}

/*
 * Meanwhile, on the loop: the full parse of the bodies to deliver, once, for
 * on_event (of the batch it writes only each envelope). A duplicate's parse
 * is dropped in settle.
 */
static void intake_parse(void *arg)
{
    struct intake *in = arg;
    struct batch *b = in->writing;
    for (size_t i = 0; i < b->n; i++) {
        struct pending_event *e = &b->items[i];
        if (strcmp(e->outcome, "queued") != 0)
            continue;
        size_t len;
        const char *body = http_body(e->req, &len);
        char why[128]; /* (intake checked the grammar: this only builds the objects) */
        e->envelope = json_parse_whole(body, len, why, sizeof why);
    }
}

/* After the turn's commit: every notification of it gets its answer, 200 only if durable. */
static void intake_settle(void *arg, bool committed)
{
    struct intake *in = arg;
    struct batch *b = in->writing;
    if (!b->n)
        return;
    bool ok = in->write_ok && committed;
    in->stats.commits++;
    if (!ok) {
        in->stats.commit_failures++;
        log_error("webhooks", "could not store %zu notifications; answering 503 so Intercom "
                              "retries", b->n);
    }
    for (size_t i = 0; i < b->n; i++) {
        struct pending_event *e = &b->items[i];
        if (!ok) {
            http_reply_error(e->req, 503, "store_unavailable",
                             "the notification could not be stored; please retry");
        } else if (e->duplicate) {
            in->stats.duplicates++;
            ack(e->req, "duplicate");
        } else {
            if (strcmp(e->outcome, "queued") == 0) {
                in->stats.accepted++;
                if (e->event_id && e->envelope)
                    keep_envelope(in, b, e);
            } else if (strcmp(e->outcome, "ignored") == 0) {
                in->stats.ignored++;
            } else {
                in->stats.unrouted++;
            }
            ack(e->req, e->outcome);
        }
        json_object_put(e->envelope);
    }
    b->n = 0;
    b->text.len = 0;
    in->write_ok = false;
    if (in->collecting->n)
        turn_request(in->srv->turn);
    if (ok)
        jobs_kick(in->srv->jobs);
}

/* A full batch, or shutdown: run the turn now; if the store cannot, answer 503 now. */
static void store_now(struct intake *in)
{
    if (!in->collecting->n || turn_now(in->srv->turn))
        return;
    struct batch *b = in->writing;
    in->writing = in->collecting;
    in->collecting = b;
    in->write_ok = false;
    intake_settle(in, false);
}

void intake_join_turn(struct intake *in)
{
    turn_join(in->srv->turn,
              &(struct turn_participant){"intake", intake_gather, intake_settle, in,
                                         intake_write, intake_parse});
}

static void malformed(struct intake *in, struct http_request *req, const char *plugin,
                      const char *why)
{
    in->stats.malformed++;
    log_warn("webhooks", "plugin %s: malformed notification (request %s): %s", plugin,
             http_request_id(req), why);
    http_reply_error(req, 400, "malformed_notification", "%s", why);
}

/* The members intake reads; data.item.id is the delivery's ordering key. */
enum { F_TOPIC, F_ID, F_APP_ID, F_CREATED_AT, F_ITEM, F_ITEM_ID, N_FIELDS };

static bool is_string(const struct json_field *f)
{
    return f->value && f->value[0] == '"';
}

/* A string member's text, decoded into the batch's text: its offset (NO_TEXT if not a string). */
static size_t keep_string(struct batch *b, const struct json_field *f, const char *prefix)
{
    if (!is_string(f))
        return NO_TEXT;
    size_t at = b->text.len, skip = strlen(prefix);
    buf_reserve(&b->text, skip + f->len + 1); /* decoding never lengthens a string */
    memcpy(b->text.data + at, prefix, skip);
    size_t n = json_string_decode(f->value, f->len, b->text.data + at + skip, f->len + 1);
    b->text.len = at + skip + n + 1;
    return at;
}

/* A member's raw JSON text (a number, say), with prefix: its offset. */
static size_t keep_raw(struct batch *b, const struct json_field *f, const char *prefix)
{
    size_t at = b->text.len;
    buf_puts(&b->text, prefix);
    buf_append(&b->text, f->value, f->len);
    b->text.len++; /* keep the NUL buf_append wrote */
    return at;
}

/* created_at as json-c reads it: an integer, anything else 0. */
static int64_t integer_member(const struct json_field *f)
{
    if (!f->value || (f->value[0] != '-' && (f->value[0] < '0' || f->value[0] > '9')))
        return 0;
    if (memchr(f->value, '.', f->len) || memchr(f->value, 'e', f->len) || memchr(f->value, 'E', f->len))
        return 0;
    /* (The scan checked the grammar: a sign and digits. Too many digits clamp, as in json-c.) */
    char digits[32];
    if (f->len >= sizeof digits)
        return f->value[0] == '-' ? INT64_MIN : INT64_MAX;
    memcpy(digits, f->value, f->len);
    digits[f->len] = '\0';
    return strtoll(digits, NULL, 10); /* clamps at the ends of int64 too */
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
    struct json_field f[N_FIELDS] = {
        [F_TOPIC] = {{"topic"}, NULL, 0},
        [F_ID] = {{"id"}, NULL, 0},
        [F_APP_ID] = {{"app_id"}, NULL, 0},
        [F_CREATED_AT] = {{"created_at"}, NULL, 0},
        [F_ITEM] = {{"data", "item"}, NULL, 0},
        [F_ITEM_ID] = {{"data", "item", "id"}, NULL, 0},
    };
    char parse_error[128];
    if (json_scan_fields(body, len, f, N_FIELDS, parse_error, sizeof parse_error) != 0) {
        char *why = xasprintf("body is not a JSON object (%s)", parse_error);
        malformed(in, req, p->name, why);
        free(why);
        return;
    }
    size_t at = 0;
    while (at < len && (body[at] == ' ' || body[at] == '\t' || body[at] == '\n' || body[at] == '\r'))
        at++;
    if (at == len || body[at] != '{') {
        malformed(in, req, p->name, "body is not a JSON object (wrong type)");
        return;
    }
    /* Strings are read into the collecting batch's text, given back if the notification is refused. */
    struct batch *b = in->collecting;
    size_t mark = b->text.len;
    size_t topic = keep_string(b, &f[F_TOPIC], ""), id = keep_string(b, &f[F_ID], "");
    size_t app_id = keep_string(b, &f[F_APP_ID], "");
    bool ping = topic != NO_TEXT && strcmp(text_at(b, topic), "ping") == 0;
    const char *why = topic == NO_TEXT                                      ? "\"topic\" is missing"
                      : ping                                                ? NULL
                      : id == NO_TEXT || !*text_at(b, id)                   ? "\"id\" is missing"
                      : app_id == NO_TEXT || !*text_at(b, app_id)           ? "\"app_id\" is missing"
                      : !f[F_ITEM].value || f[F_ITEM].value[0] != '{'        ? "\"data.item\" is missing"
                                                                            : NULL;
    if (why || ping) {
        b->text.len = mark;
        if (why) {
            malformed(in, req, p->name, why);
            return;
        }
        in->stats.pings++;
        log_info("webhooks", "plugin %s: ping from Intercom", p->name);
        ack(req, "pong");
        return;
    }
    struct installation *inst = installations_find(srv->installations, p->name, text_at(b, app_id));
    const char *outcome = !inst                                     ? "unrouted"
                          : inst->state == SB_INSTALLATION_REVOKED ? "revoked"
                          : plugin_wants_topic(p, text_at(b, topic)) ? "queued"
                                                                   : "ignored";
    if (!inst)
        log_warn("webhooks", "plugin %s: notification %s for workspace %s, which has not "
                             "installed it; recorded, not delivered",
                 p->name, text_at(b, id), text_at(b, app_id));
    const struct json_field *item_id = &f[F_ITEM_ID];
    size_t key = !item_id->value || (item_id->len == 4 && memcmp(item_id->value, "null", 4) == 0)
                     ? NO_TEXT
                 : is_string(item_id) ? keep_string(b, item_id, "item:")
                                      : keep_raw(b, item_id, "item:");
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = xrealloc(b->items, b->cap * sizeof *b->items);
    }
    b->items[b->n++] = (struct pending_event){
        .req = req,
        .plugin = p,
        .notification_id = id,
        .workspace_id = app_id,
        .topic = topic,
        .key = key,
        .installation = inst ? inst->id : 0,
        .created_at = integer_member(&f[F_CREATED_AT]),
        .outcome = outcome,
    };
    if (b->n >= BATCH_MAX)
        store_now(in);
    else
        turn_request(srv->turn);
}
