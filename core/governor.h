/*
 * governor.h - the rate governor of one installation's Intercom requests.
 *
 * Intercom answers with the installation's rate-limit picture
 * (X-RateLimit-Limit, -Remaining and -Reset, per 10-second window). The
 * governor keeps it and decides when the next request may leave: freely
 * while the window has room, spaced out as the remaining budget nears zero,
 * at the window's reset when it is spent, and after a 429 not before the
 * reset plus jitter. Requests wait in its queue, in order (a retry at the
 * front), linked through a member of their own: queueing allocates nothing.
 *
 * Bookkeeping only: the caller passes the time (wall clock, ms, as Intercom's
 * reset is) and the random source of the jitter, arms its own timer with
 * governor_delay() and sends what governor_next() hands out, so tests drive a
 * governor with a fake clock.
 */
#ifndef SB_CORE_GOVERNOR_H
#define SB_CORE_GOVERNOR_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Intercom splits its per-minute limit into windows of this length. */
#define GOVERNOR_WINDOW_MS 10000

/* What one answer said about the rate limit; -1: the header was absent. */
struct rate_headers {
    int64_t limit;          /* X-RateLimit-Limit, per minute */
    int64_t remaining;      /* X-RateLimit-Remaining */
    int64_t reset_s;        /* X-RateLimit-Reset, Unix seconds */
    int64_t retry_after_s;  /* Retry-After, seconds */
};

/* Forget an earlier answer's values (before another attempt). */
void rate_headers_clear(struct rate_headers *h);
/* Read one header line of an answer into @p h; false if it is none of the four. */
bool rate_headers_parse(struct rate_headers *h, const char *line, size_t len);
/*
 * Seconds Intercom asked to wait: Retry-After, or for a 429 the end of the
 * rate window; 0 if it did not say, at most a day.
 */
uint32_t rate_headers_wait_s(const struct rate_headers *h, int status, int64_t now_ms);

/* Embedded in a request that may wait in a governor's queue. */
struct governor_link {
    struct governor_link *next;
};

struct governor {
    int64_t limit;          /* X-RateLimit-Limit, -1 unknown */
    int64_t remaining;      /* what this node may still send in the window, -1 unknown */
    int64_t reset_ms;       /* end of the current window */
    int64_t paused_until_ms;
    int64_t next_send_ms;   /* pacing */
    int in_flight;          /* the caller's count of this installation's requests on the wire */
    int share;              /* the nodes spending this budget (cluster.h): this one takes 1/share */
    struct governor_link *head, *tail;
    uint32_t (*random)(void); /* the jitter's source */
};

/* A governor that knows nothing yet and has an empty queue. */
void governor_init(struct governor *g, uint32_t (*random)(void));

/* Queue a request at the back, or at the front (a retry goes before newer work). */
void governor_queue(struct governor *g, struct governor_link *link, bool front);
/* Take a request out of the queue; false if it was not in it. */
bool governor_unqueue(struct governor *g, struct governor_link *link);
size_t governor_queued(const struct governor *g);

/*
 * The budget is Intercom's per installation, and every node of a cluster
 * spends from it: with n nodes alive (n >= 1), this one plans with 1/n of
 * what Intercom says remains, so together they stay within it. 1 alone.
 */
void governor_set_share(struct governor *g, int nodes);

/* How long the request at the head must still wait, 0 to send it now. */
int64_t governor_delay(struct governor *g, int64_t now);
/*
 * The request at the head, out of the queue, its share of the budget spent;
 * for when governor_delay() said 0. NULL if the queue is empty.
 */
struct governor_link *governor_next(struct governor *g, int64_t now);
/*
 * An answer arrived (@p status 0: none): take its rate-limit picture; a 429
 * pauses the installation. Count the request out of in_flight first.
 */
void governor_observe(struct governor *g, const struct rate_headers *h, int status, int64_t now);

/* The picture and the requests on the wire, for the admin API. */
json_object *governor_json(const struct governor *g);

#endif
