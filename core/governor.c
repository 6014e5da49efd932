/*
 * governor.c - one installation's rate budget, its windows and its queue
 * (see governor.h).
 *
 * The budget estimate is spent as requests leave and corrected by each
 * answer's headers; the queue is a singly linked list through the requests.
 */
#include "governor.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* After a 429, up to this much is added to the wait so installations do not all return at once. */
#define PAUSE_JITTER_MS 1000
/* Added to the wait for a spent window's reset, for the same reason. */
#define RESET_JITTER_MS 250
#define MAX_WAIT_S 86400

/* ---- what an answer says ---- */

void rate_headers_clear(struct rate_headers *h)
{
    h->limit = h->remaining = h->reset_s = h->retry_after_s = -1;
}

static bool header_value(const char *line, size_t len, const char *name, int64_t *out)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    char value[32];
    size_t vlen = len - n - 1;
    if (vlen >= sizeof value)
        vlen = sizeof value - 1;
    memcpy(value, line + n + 1, vlen);
    value[vlen] = '\0';
    *out = strtoll(value, NULL, 10);
    return true;
}

bool rate_headers_parse(struct rate_headers *h, const char *line, size_t len)
{
    return header_value(line, len, "X-RateLimit-Limit", &h->limit)
           || header_value(line, len, "X-RateLimit-Remaining", &h->remaining)
           || header_value(line, len, "X-RateLimit-Reset", &h->reset_s)
           || header_value(line, len, "Retry-After", &h->retry_after_s);
}

uint32_t rate_headers_wait_s(const struct rate_headers *h, int status, int64_t now_ms)
{
    int64_t wait = h->retry_after_s > 0 ? h->retry_after_s : 0;
    if (status == 429 && h->reset_s > 0) {
        int64_t until_reset = h->reset_s - now_ms / 1000;
        if (until_reset > wait)
            wait = until_reset;
    }
    return wait > MAX_WAIT_S ? MAX_WAIT_S : (uint32_t)wait;
}

/* ---- the queue ---- */

void governor_init(struct governor *g, uint32_t (*random)(void))
{
    memset(g, 0, sizeof *g);
    g->limit = g->remaining = -1;
    g->random = random;
    g->share = 1;
}

void governor_set_share(struct governor *g, int nodes)
{
    g->share = nodes > 1 ? nodes : 1;
}

void governor_queue(struct governor *g, struct governor_link *link, bool front)
{
    if (front) {
        link->next = g->head;
        g->head = link;
        if (!g->tail)
            g->tail = link;
    } else {
        link->next = NULL;
        if (g->tail)
            g->tail->next = link;
        else
            g->head = link;
        g->tail = link;
    }
}

bool governor_unqueue(struct governor *g, struct governor_link *link)
{
    struct governor_link **pp = &g->head, *prev = NULL;
    while (*pp && *pp != link) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return false;
    *pp = link->next;
    if (g->tail == link)
        g->tail = prev;
    link->next = NULL;
    return true;
}

size_t governor_queued(const struct governor *g)
{
    size_t n = 0;
    for (const struct governor_link *l = g->head; l; l = l->next)
        n++;
    return n;
}

/* ---- the budget ---- */

/* Below this many requests left in the window, the rest are spread over what remains of it. */
static int64_t low_water(const struct governor *g)
{
    int64_t window = g->limit > 0 ? g->limit / 6 / g->share : 0;
    return window > 20 ? window / 10 : 2;
}

/*
 * A window ended and no answer has told about the next one yet (the first
 * answers of a window may all be resets, time-outs or faults without the
 * headers): assume Intercom's next 10-second window and its share of the
 * per-minute limit, rather than a window with no budget at all. The next
 * answer with headers corrects the guess.
 */
static void roll_window(struct governor *g, int64_t now)
{
    if (g->reset_ms <= 0 || now < g->reset_ms || g->limit <= 0)
        return;
    g->reset_ms += ((now - g->reset_ms) / GOVERNOR_WINDOW_MS + 1) * GOVERNOR_WINDOW_MS;
    g->remaining = g->limit * GOVERNOR_WINDOW_MS / 60000 / g->share;
    g->next_send_ms = 0;
}

int64_t governor_delay(struct governor *g, int64_t now)
{
    if (now < g->paused_until_ms)
        return g->paused_until_ms - now;
    roll_window(g, now);
    if (g->remaining < 0 || now >= g->reset_ms)
        return 0; /* unknown or a fresh window: the next response tells us */
    int64_t available = g->remaining;
    if (available <= 0)
        return g->reset_ms - now + (int64_t)(g->random() % RESET_JITTER_MS);
    if (available > low_water(g))
        return 0;
    /* Near the end of the budget: spread what is left over the rest of the window. */
    if (now < g->next_send_ms)
        return g->next_send_ms - now;
    return 0;
}

struct governor_link *governor_next(struct governor *g, int64_t now)
{
    struct governor_link *link = g->head;
    if (!link)
        return NULL;
    g->head = link->next;
    if (!g->head)
        g->tail = NULL;
    link->next = NULL;
    if (g->remaining > 0 && now < g->reset_ms) {
        if (g->remaining <= low_water(g))
            g->next_send_ms = now + (g->reset_ms - now) / (g->remaining + 1);
        g->remaining--;
    }
    return link;
}

void governor_observe(struct governor *g, const struct rate_headers *h, int status, int64_t now)
{
    if (h->limit >= 0)
        g->limit = h->limit;
    bool new_window = false;
    if (h->reset_s >= 0) {
        int64_t reset_ms = h->reset_s * 1000;
        new_window = reset_ms != g->reset_ms;
        if (new_window)
            g->next_send_ms = 0;
        g->reset_ms = reset_ms;
    }
    if (h->remaining >= 0) {
        /* This node's part of what remains (remaining is what this node may still send);
           its requests still in flight were sent after this count was taken. */
        int64_t estimate = h->remaining / g->share - g->in_flight;
        if (estimate < 0)
            estimate = 0;
        /* Answers overtake one another: within a window an older, higher count must not
           give back budget that later requests already spent. */
        if (new_window || g->remaining < 0 || estimate < g->remaining)
            g->remaining = estimate;
    }
    if (status == 429) {
        int64_t until = g->reset_ms > now ? g->reset_ms : now + 1000;
        g->paused_until_ms = until + (int64_t)(g->random() % PAUSE_JITTER_MS);
        g->remaining = 0;
    }
}

json_object *governor_json(const struct governor *g)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "limit", json_object_new_int64(g->limit));
    json_object_object_add(o, "remaining_estimate", json_object_new_int64(g->remaining));
    json_object_object_add(o, "window_reset_ms", json_object_new_int64(g->reset_ms));
    json_object_object_add(o, "paused_until_ms", json_object_new_int64(g->paused_until_ms));
    json_object_object_add(o, "in_flight", json_object_new_int(g->in_flight));
    json_object_object_add(o, "nodes_sharing", json_object_new_int(g->share));
    return o;
}
