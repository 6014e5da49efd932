/*
 * webhooks.c - verify, read the few members intake needs, batch, commit,
 * acknowledge; then hand each delivery its event.
 *
 * Intake reads only id, topic, app_id, created_at and data.item (its id is
 * the delivery's ordering key) in one strict pass over the body that builds
 * nothing (json_input.h). Its rows are written on the commit thread; once
 * committed, a delivery's notification is kept (copied, keep_envelopes) for
 * its job, which builds the body whole, once, for on_event on the loop. A
 * notification is one events row, carrying its delivery's state
 * (store_events.h).
 *
 * Batches take turns: one collects the notifications that arrive while
 * another is being written and committed. Each keeps its strings in one
 * buffer of its own, reused from turn to turn, so a notification costs no
 * allocation of its own here.
 *
 * The chain (store_set_chain): while the commit thread holds the connection,
 * the collecting batch is offered to it at the end of each loop iteration
 * (ready); after its commit the thread writes and commits that batch in a
 * transaction of its own, with no hand-over in between, and passes it back
 * (written, counted on an eventfd) for the loop to answer. So under load
 * the thread commits batch after batch while the loop reads, verifies and
 * answers, and neither waits for the other. A turn, when one runs, takes the
 * ready batch (or the collecting one) as before.
 */
#include "webhooks.h"

#include "crypto.h"
#include "http.h"
#include "installations.h"
#include "jobs.h"
#include "json_input.h"
#include "log.h"
#include "memory_trim.h"
#include "plugins.h"
#include "server.h"
#include "store/store_events.h"
#include "turn.h"
#include "util.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BATCH_MAX 512
/*
 * With a commit thread, a batch this big is published at once, without
 * waiting for the end of the loop iteration: the thread writes it into the
 * open transaction while the loop reads the rest (the "stream" below).
 */
#define CHUNK_ROWS 16
/* A stream that took this many rows waits for no more: its commit then runs while the loop
   reads the next ones, which the chain's next stream takes. */
#define STREAM_ROWS 32
/* After a commit the commit thread waits this long for more to write before it gives the
   connection back (at once if the loop asks for it). */
#define CHAIN_WAIT_MS 2
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
};

struct batch {
    struct pending_event *items;
    size_t n, cap;
    struct buf text; /* the items' strings, each NUL-terminated */
    bool ok;         /* written and committed */
    int64_t commit;  /* its commit's number, once committed (store_durable) */
    bool first;      /* the first batch of its transaction (the rest follow it in the list) */
    struct batch *next; /* in a list: spare, published, taken, written */
};

/* A delivery's notification as committed: its body, topic and id, each NUL-terminated. */
struct cached_envelope {
    int64_t event_id; /* 0: empty */
    int64_t created_at;
    struct buf text;  /* body, then topic, then notification id (kept when emptied, for reuse) */
    size_t topic, notification_id;
};

struct intake {
    struct server *srv;
    struct batch *collecting; /* what arrives now (the loop's) */
    struct batch *spare;      /* batches to reuse (the loop's) */
    struct batch *turn_rows;  /* the current turn's, as its stream took them */
    bool turn_ok;
    bool threaded;            /* a commit thread takes the batches (store_set_chain) */
    /* Shared with the commit thread, under lock. */
    pthread_mutex_t lock;
    pthread_cond_t more;      /* published, no longer feeding, or the loop wants the store */
    struct batch *published;  /* not yet taken by a stream, in order */
    struct batch **published_tail;
    bool feeding;             /* the loop's iteration may publish more */
    struct batch *written;    /* the chain's, in order, for the loop to answer */
    struct batch **written_tail;
    int written_fd;           /* eventfd: the chain wrote batches */
    struct event *written_ev;
    struct event *feed_end_ev; /* the end of the loop iteration: feeding ends */
    struct intake_stats stats;
    /* Filled by the commit thread (a chain's deliveries, as soon as they are committed) and
       by the loop (a turn's); emptied by the jobs. */
    pthread_mutex_t cache_lock;
    struct cached_envelope cache[ENVELOPE_SLOTS];
};

static void store_now(struct intake *in);

static struct batch *batch_take(struct intake *in)
{
    struct batch *b = in->spare;
    if (b) {
        in->spare = b->next;
        b->next = NULL;
        return b;
    }
    b = xcalloc(1, sizeof *b);
    buf_init(&b->text);
    return b;
}

static void batch_give_back(struct intake *in, struct batch *b)
{
    b->n = 0;
    b->text.len = 0;
    b->ok = false;
    b->commit = 0;
    b->first = false;
    b->next = in->spare;
    in->spare = b;
}

static void batch_free(struct batch *b)
{
    if (!b)
        return;
    free(b->items);
    buf_free(&b->text);
    free(b);
}

struct intake *intake_new(struct server *srv)
{
    struct intake *in = xcalloc(1, sizeof *in);
    in->srv = srv;
    in->collecting = batch_take(in);
    pthread_mutex_init(&in->lock, NULL);
    pthread_mutex_init(&in->cache_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&in->more, &attr);
    pthread_condattr_destroy(&attr);
    in->published_tail = &in->published;
    in->written_tail = &in->written;
    in->written_fd = -1;
    return in;
}

void intake_event_clear(struct intake_event *e)
{
    json_object_put(e->envelope);
    free(e->topic);
    free(e->notification_id);
    memset(e, 0, sizeof *e);
}

static void set_feeding(struct intake *in, bool feeding);
static void answer_written(struct intake *in);

/* Shutdown: answer every written batch, waiting for each to be durable. */
static void answer_every_written(struct intake *in)
{
    for (;;) {
        answer_written(in);
        pthread_mutex_lock(&in->lock);
        int64_t waiting = in->written ? in->written->commit : 0;
        pthread_mutex_unlock(&in->lock);
        if (!waiting)
            break;
        store_wait_durable(in->srv->store, waiting);
    }
}

void intake_free(struct intake *in)
{
    if (!in)
        return;
    if (in->threaded) {
        set_feeding(in, false);
        store_set_chain(in->srv->store, NULL, NULL, NULL, NULL); /* the chain has ended */
        answer_every_written(in);
    }
    store_now(in);
    answer_every_written(in); /* (the turns' batches) */
    turn_leave(in->srv->turn, in);
    if (in->written_ev)
        event_free(in->written_ev);
    if (in->feed_end_ev)
        event_free(in->feed_end_ev);
    if (in->written_fd >= 0)
        close(in->written_fd);
    pthread_mutex_destroy(&in->lock);
    pthread_cond_destroy(&in->more);
    intake_release_memory(in);
    pthread_mutex_destroy(&in->cache_lock);
    batch_free(in->collecting);
    free(in);
}

void intake_stats(const struct intake *in, struct intake_stats *out)
{
    *out = in->stats;
}

static void read_event(void *arg, const struct store_event *row)
{
    struct intake_event *e = arg;
    char why[128];
    e->envelope = json_parse_whole(row->body, row->body_len, why, sizeof why);
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
    struct buf text = {0};
    size_t body_len = 0;
    pthread_mutex_lock(&in->cache_lock);
    if (slot && slot->event_id == event_id) { /* taken out: built without the lock */
        text = slot->text;
        body_len = slot->topic - 1; /* (the topic follows the body and its NUL) */
        slot->text = (struct buf){0};
        slot->event_id = 0;
        out->topic = xstrdup(text.data + slot->topic);
        out->notification_id = xstrdup(text.data + slot->notification_id);
        out->created_at = slot->created_at;
    }
    pthread_mutex_unlock(&in->cache_lock);
    if (text.data) {
        char why[128];
        out->envelope = json_parse_whole(text.data, body_len, why, sizeof why);
    }
    if (text.data) { /* the buffer back to its slot for the next one, unless it has one */
        pthread_mutex_lock(&in->cache_lock);
        if (!slot->text.data) {
            text.len = 0;
            slot->text = text;
            text = (struct buf){0};
        }
        pthread_mutex_unlock(&in->cache_lock);
        buf_free(&text);
    }
    if (!out->envelope) {
        intake_event_clear(out);
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

/*
 * As soon as deliveries are committed (on the commit thread for a chain):
 * their notifications kept for their jobs, which build the body once (a newer
 * event evicts the one in its slot). Copied, not built, here: the commit
 * thread's time holds the connection the dispatch waits for.
 */
static void keep_envelopes(struct intake *in, const struct batch *b)
{
    for (; b; b = b->next)
        for (size_t i = 0; i < b->n; i++) {
            const struct pending_event *e = &b->items[i];
            if (!e->event_id)
                continue;
            size_t len;
            const char *body = http_body(e->req, &len);
            struct cached_envelope *slot = &in->cache[(uint64_t)e->event_id % ENVELOPE_SLOTS];
            pthread_mutex_lock(&in->cache_lock);
            slot->event_id = e->event_id;
            slot->created_at = e->created_at;
            slot->text.len = 0;
            buf_append(&slot->text, body, len);
            buf_putc(&slot->text, '\0');
            slot->topic = slot->text.len;
            buf_puts(&slot->text, e->topic == NO_TEXT ? "" : text_at(b, e->topic));
            buf_putc(&slot->text, '\0');
            slot->notification_id = slot->text.len;
            buf_puts(&slot->text,
                     e->notification_id == NO_TEXT ? "" : text_at(b, e->notification_id));
            buf_putc(&slot->text, '\0');
            pthread_mutex_unlock(&in->cache_lock);
        }
}

void intake_release_memory(struct intake *in)
{
    if (!in)
        return;
    while (in->spare) { /* (batches taken again are allocated again) */
        struct batch *b = in->spare;
        in->spare = b->next;
        batch_free(b);
    }
    for (size_t i = 0; i < ENVELOPE_SLOTS; i++) {
        pthread_mutex_lock(&in->cache_lock);
        buf_free(&in->cache[i].text);
        in->cache[i].event_id = 0;
        pthread_mutex_unlock(&in->cache_lock);
    }
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

/* ---- the stream: batches written as the loop publishes them ---- */

/* The loop: the collecting batch, if it has anything, goes to the streams. */
static void publish(struct intake *in)
{
    if (!in->collecting->n)
        return;
    struct batch *b = in->collecting;
    in->collecting = batch_take(in);
    pthread_mutex_lock(&in->lock);
    *in->published_tail = b;
    in->published_tail = &b->next;
    pthread_cond_signal(&in->more);
    pthread_mutex_unlock(&in->lock);
}

/* The loop: whether the iteration may still publish (a stream waits for it meanwhile). */
static void set_feeding(struct intake *in, bool feeding)
{
    pthread_mutex_lock(&in->lock);
    in->feeding = feeding;
    pthread_cond_signal(&in->more);
    pthread_mutex_unlock(&in->lock);
}

static bool anything_published(struct intake *in)
{
    pthread_mutex_lock(&in->lock);
    bool any = in->published != NULL;
    pthread_mutex_unlock(&in->lock);
    return any;
}

/*
 * On the commit thread, after a commit: whether the loop publishes anything
 * within CHAIN_WAIT_MS (the answers of the commits before are on their way,
 * and their clients' next requests with them), unless it wants the
 * connection back meanwhile.
 */
static bool await_published(struct intake *in)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += CHAIN_WAIT_MS * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&in->lock);
    while (!in->published && !store_wanted_back(in->srv->store))
        if (pthread_cond_timedwait(&in->more, &in->lock, &deadline) != 0)
            break;
    bool any = in->published != NULL;
    pthread_mutex_unlock(&in->lock);
    return any;
}

/* The store's wake (store_set_chain), from the loop: it wants the connection. */
static void stream_wake(void *arg)
{
    struct intake *in = arg;
    pthread_mutex_lock(&in->lock);
    pthread_cond_signal(&in->more);
    pthread_mutex_unlock(&in->lock);
}

/*
 * In an open transaction, on the commit thread (or on the loop, without
 * one): write the published batches as they come, until none is left and
 * the loop's iteration will publish no more (or the loop wants the
 * connection). Returns those it took, in order; *ok false once a write
 * failed (it stops there: the caller rolls the transaction back).
 */
static struct batch *stream(struct intake *in, bool *ok)
{
    struct batch *taken = NULL, **tail = &taken;
    size_t rows = 0;
    int64_t now = time_now_ms();
    *ok = true;
    pthread_mutex_lock(&in->lock);
    for (;;) {
        struct batch *b = in->published;
        if (b) {
            in->published = b->next;
            if (!in->published)
                in->published_tail = &in->published;
            b->next = NULL;
            *tail = b;
            tail = &b->next;
            rows += b->n;
            pthread_mutex_unlock(&in->lock);
            for (size_t i = 0; *ok && i < b->n; i++)
                *ok = insert_event(in, b, &b->items[i], now);
            pthread_mutex_lock(&in->lock);
            if (!*ok)
                break;
            continue;
        }
        if (!in->threaded || !in->feeding || rows >= STREAM_ROWS
            || store_wanted_back(in->srv->store))
            break;
        pthread_cond_wait(&in->more, &in->lock);
    }
    pthread_mutex_unlock(&in->lock);
    return taken;
}

/* The stream in a transaction of its own (a savepoint in the turn's): the batches it took,
   each marked with the outcome. */
static struct batch *stream_transaction(struct intake *in)
{
    struct store *st = in->srv->store;
    if (store_begin(st) != 0)
        return NULL; /* (what was published stays for the next one) */
    bool ok;
    struct batch *taken = stream(in, &ok);
    if (ok)
        ok = store_commit(st) == 0;
    else if (store_in_transaction(st))
        store_rollback(st);
    for (struct batch *b = taken; b; b = b->next)
        b->ok = ok;
    if (taken)
        taken->first = true;
    return taken;
}

/* A transaction of batches from b on has ended (ok: it is durable): counted once. */
static void count_commit(struct intake *in, const struct batch *b, bool ok)
{
    in->stats.commits++;
    if (ok)
        return;
    size_t n = b->n;
    for (const struct batch *more = b->next; more && !more->first; more = more->next)
        n += more->n;
    in->stats.commit_failures++;
    log_error("webhooks", "could not store %zu notifications; answering 503 so Intercom retries",
              n);
}

/* After their commit: every notification gets its answer, 200 only if durable. */
static void answer_batch(struct intake *in, struct batch *b, bool ok)
{
    if (b->first)
        count_commit(in, b, ok);
    bool deliveries = false;
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
                deliveries = true;
            } else if (strcmp(e->outcome, "ignored") == 0) {
                in->stats.ignored++;
            } else {
                in->stats.unrouted++;
            }
            ack(e->req, e->outcome);
        }
    }
    if (deliveries)
        jobs_kick(in->srv->jobs);
}

/* The batches of one transaction (or none: committed false), answered. */
static void answer_all(struct intake *in, struct batch *b, bool committed)
{
    if (b)
        b->first = true;
    for (struct batch *more = b ? b->next : NULL; more; more = more->next)
        more->first = false;
    while (b) {
        struct batch *next = b->next;
        answer_batch(in, b, b->ok && committed);
        batch_give_back(in, b);
        b = next;
    }
}

/* ---- the chain (store_set_chain) ---- */

/* The loop has written batches to answer (from the commit or the sync thread). */
static void written_notice(void *arg)
{
    struct intake *in = arg;
    uint64_t one = 1;
    if (write(in->written_fd, &one, sizeof one) != (ssize_t)sizeof one)
        log_error("webhooks", "cannot signal written notifications: %s", strerror(errno));
}

/* Committed batches (a chain's, a turn's), to be answered once durable (answer_written). */
static void append_written(struct intake *in, struct batch *b)
{
    pthread_mutex_lock(&in->lock);
    *in->written_tail = b;
    while (b->next)
        b = b->next;
    in->written_tail = &b->next;
    pthread_mutex_unlock(&in->lock);
}

/* On the commit thread, after a commit: what was published meanwhile, streamed into a
   transaction of its own, passed back to the loop. */
static bool intake_chain(void *arg)
{
    struct intake *in = arg;
    if (!await_published(in))
        return false;
    struct batch *taken = stream_transaction(in);
    if (!taken)
        return false;
    int64_t commit = taken->ok ? store_commit_number(in->srv->store) : 0;
    for (struct batch *b = taken; b; b = b->next)
        b->commit = commit;
    if (taken->ok) /* committed: a dispatch round may take them before they are answered */
        keep_envelopes(in, taken);
    append_written(in, taken);
    written_notice(in);
    return true;
}

/* On the loop: answer what the chain wrote, in order, as far as it is durable. */
static void answer_written(struct intake *in)
{
    uint64_t count;
    if (in->written_fd >= 0 && read(in->written_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        log_error("webhooks", "cannot read the written notice: %s", strerror(errno));
    pthread_mutex_lock(&in->lock);
    struct batch *b = in->written;
    in->written = NULL;
    in->written_tail = &in->written;
    pthread_mutex_unlock(&in->lock);
    if (b)
        memory_trim_busy(in->srv->memory_trim);
    while (b) {
        int durable = store_durable(in->srv->store, b->commit);
        if (durable == 0)
            break; /* (the sync thread's notice comes back for these) */
        struct batch *next = b->next;
        answer_batch(in, b, b->ok && durable == 1);
        batch_give_back(in, b);
        b = next;
    }
    if (!b)
        return;
    /* Not durable yet: back in front of what was written meanwhile. */
    struct batch *last = b;
    while (last->next)
        last = last->next;
    pthread_mutex_lock(&in->lock);
    last->next = in->written;
    if (!in->written)
        in->written_tail = &last->next;
    in->written = b;
    pthread_mutex_unlock(&in->lock);
}

static void written_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    answer_written(arg);
}

/* The end of the loop iteration: the rest of what it read goes to the stream or chain that
   holds the connection (else the turn it requested takes it), and it publishes no more. */
static void feed_end_cb(evutil_socket_t fd, short what, void *arg)
{
    struct intake *in = arg;
    (void)fd;
    (void)what;
    if (store_busy(in->srv->store))
        publish(in);
    set_feeding(in, false);
}

/* ---- the commit turn's participant (turn.h) ---- */

/* The turn's gather: what was collected is published; its stream takes it. */
static void intake_gather(void *arg)
{
    struct intake *in = arg;
    publish(in);
    in->turn_rows = NULL;
    in->turn_ok = false;
}

/* The turn's background, on the commit thread before its COMMIT: the stream, in a savepoint
   of the turn's transaction, while the loop reads (and publishes) the next requests. */
static void intake_write(void *arg)
{
    struct intake *in = arg;
    if (!anything_published(in))
        return;
    in->turn_rows = stream_transaction(in);
}

/* After the turn's commit: its batches are answered once it is durable, after the chain's
   written before it (answer_written). */
static void intake_settle(void *arg, bool committed)
{
    struct intake *in = arg;
    struct batch *b = in->turn_rows;
    in->turn_rows = NULL;
    int64_t number = store_done_number(in->srv->store);
    if (committed && b && b->ok)
        keep_envelopes(in, b);
    if (!committed || !b || !number) {
        answer_all(in, b, committed);
    } else {
        for (struct batch *x = b; x; x = x->next)
            x->commit = number;
        append_written(in, b);
        answer_written(in);
    }
    if (in->collecting->n || anything_published(in))
        turn_request_quiet(in->srv->turn);
}

/* A full batch, or shutdown: run turns now, until nothing waits; if the store cannot, answer
   503 now. */
static void store_now(struct intake *in)
{
    while (in->collecting->n || anything_published(in))
        if (!turn_now(in->srv->turn))
            break;
    publish(in);
    pthread_mutex_lock(&in->lock);
    struct batch *b = in->published;
    in->published = NULL;
    in->published_tail = &in->published;
    pthread_mutex_unlock(&in->lock);
    answer_all(in, b, false);
}

void intake_join_turn(struct intake *in)
{
    struct server *srv = in->srv;
    turn_join(srv->turn, &(struct turn_participant){"intake", intake_gather, intake_settle, in,
                                                    intake_write, NULL});
    if (store_commit_fd(srv->store) < 0)
        return; /* no commit thread: each batch is written in its turn, on the loop */
    in->written_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (in->written_fd < 0) {
        log_warn("webhooks", "no chained commits (%s): each batch waits for a turn",
                 strerror(errno));
        return;
    }
    in->written_ev = event_new(srv->base, in->written_fd, EV_READ | EV_PERSIST, written_cb, in);
    event_add(in->written_ev, NULL);
    in->feed_end_ev = event_new(srv->base, -1, 0, feed_end_cb, in);
    event_priority_set(in->feed_end_ev, 2); /* after network I/O, as the turn */
    store_set_chain(srv->store, intake_chain, stream_wake, written_notice, in);
    in->threaded = true;
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
    if (in->threaded && b->n >= CHUNK_ROWS) {
        /* Worth writing already: the stream (or a turn, started now) takes it while the loop
           reads the rest of the iteration's requests. */
        publish(in);
        set_feeding(in, true);
        event_active(in->feed_end_ev, 0, 0);
        turn_start(srv->turn);
        return;
    }
    if (b->n >= BATCH_MAX) {
        store_now(in);
        return;
    }
    turn_request_quiet(srv->turn);
    if (in->threaded && store_busy(srv->store))
        event_active(in->feed_end_ev, 0, 0);
}
