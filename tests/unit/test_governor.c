/*
 * Unit tests: governor.c - the rate budget of one installation driven with a
 * fake clock and a fixed jitter (no network, no event loop): free sending,
 * pacing near the end of a window, the wait for a spent window, 429 pauses,
 * window roll-over, answers that overtake one another, the queue, and the
 * rate-limit headers.
 */
#include "governor.h"
#include "unit.h"

#include <stdint.h>

/* 2023-11-14T22:13:20Z, a round wall-clock time in ms; the windows below are relative to it. */
#define T0 1700000000000LL

static uint32_t fixed_jitter = 0;

static uint32_t fake_random(void)
{
    return fixed_jitter;
}

struct item {
    int id;
    struct governor_link link;
};

static int id_of(struct governor_link *link)
{
    return link ? ((struct item *)(void *)((char *)link - offsetof(struct item, link)))->id : -1;
}

/* An answer's headers: limit per minute, remaining, reset at @p reset_ms (ms, a whole second). */
static struct rate_headers answer(int64_t limit, int64_t remaining, int64_t reset_ms)
{
    struct rate_headers h;
    rate_headers_clear(&h);
    h.limit = limit;
    h.remaining = remaining;
    h.reset_s = reset_ms / 1000;
    return h;
}

/* Send every queued item the governor lets go at @p now; how many left. */
static int send_while_free(struct governor *g, int64_t now)
{
    int n = 0;
    while (g->head && governor_delay(g, now) == 0) {
        governor_next(g, now);
        n++;
    }
    return n;
}

static void unknown_picture_sends_freely_in_order(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    struct item a = {1, {0}}, b = {2, {0}}, c = {3, {0}};
    CHECK_INT(governor_delay(&g, T0), 0);
    governor_queue(&g, &a.link, false);
    governor_queue(&g, &b.link, false);
    governor_queue(&g, &c.link, true); /* a retry goes first */
    CHECK_INT(governor_queued(&g), 3);
    CHECK_INT(governor_delay(&g, T0), 0);
    CHECK_INT(id_of(governor_next(&g, T0)), 3);
    CHECK_INT(id_of(governor_next(&g, T0)), 1);
    CHECK_INT(id_of(governor_next(&g, T0)), 2);
    CHECK(governor_next(&g, T0) == NULL);
    CHECK_INT(governor_queued(&g), 0);
    CHECK_INT(g.remaining, -1); /* nothing known, nothing spent */
}

static void unqueue_takes_out_anywhere(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    struct item a = {1, {0}}, b = {2, {0}}, c = {3, {0}}, never = {4, {0}};
    governor_queue(&g, &a.link, false);
    governor_queue(&g, &b.link, false);
    governor_queue(&g, &c.link, false);
    CHECK(!governor_unqueue(&g, &never.link));
    CHECK(governor_unqueue(&g, &c.link)); /* the tail: the next one queued follows b */
    CHECK(!governor_unqueue(&g, &c.link));
    governor_queue(&g, &c.link, false);
    CHECK(governor_unqueue(&g, &b.link)); /* the middle */
    CHECK(governor_unqueue(&g, &a.link)); /* the head */
    CHECK_INT(id_of(governor_next(&g, T0)), 3);
    CHECK(g.head == NULL && g.tail == NULL);
    governor_queue(&g, &a.link, true); /* front of an empty queue sets the tail too */
    governor_queue(&g, &b.link, false);
    CHECK_INT(id_of(governor_next(&g, T0)), 1);
    CHECK_INT(id_of(governor_next(&g, T0)), 2);
}

static void budget_is_spent_then_paced_then_waited_for(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    fixed_jitter = 7;
    int64_t reset = T0 + 10000;
    /* 1,200 a minute: 200 a window, low water 20. */
    struct rate_headers h = answer(1200, 30, reset);
    governor_observe(&g, &h, 200, T0);
    CHECK_INT(g.limit, 1200);
    CHECK_INT(g.remaining, 30);
    CHECK_INT(g.reset_ms, reset);

    struct item items[40];
    for (int i = 0; i < 40; i++) {
        items[i].id = i;
        governor_queue(&g, &items[i].link, false);
    }
    /* Above the low water the requests leave at once. */
    CHECK_INT(send_while_free(&g, T0), 11);
    CHECK_INT(g.remaining, 19);
    /* The 20th from the end, sent at the low water, spread the rest: the 21 that were left
       over the window's 10 s. */
    int64_t at = T0 + 10000 / 21;
    CHECK_INT(g.next_send_ms, at);
    CHECK_INT(governor_delay(&g, T0), at - T0);
    CHECK_INT(governor_delay(&g, at - 1), 1);
    CHECK_INT(send_while_free(&g, at), 1);
    CHECK_INT(g.next_send_ms, at + (reset - at) / 20);
    CHECK_INT(g.remaining, 18);
    /* One at a time, each at its turn, to the end of the budget... */
    while (g.remaining > 0) {
        int64_t turn = g.next_send_ms;
        CHECK(turn < reset);
        CHECK_INT(send_while_free(&g, turn), 1);
    }
    CHECK_INT(governor_queued(&g), 40 - 30);
    /* ...and then the wait is for the reset, plus the jitter. */
    CHECK_INT(governor_delay(&g, T0 + 9800), 200 + 7);
}

static void a_new_window_is_assumed_when_the_old_one_ends(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    struct rate_headers h = answer(600, 0, T0 + 10000);
    governor_observe(&g, &h, 200, T0);
    CHECK(governor_delay(&g, T0) > 0);
    /* 25 s later, no answer in between: the window that runs now, with a sixth of the limit. */
    CHECK_INT(governor_delay(&g, T0 + 25000), 0);
    CHECK_INT(g.reset_ms, T0 + 30000);
    CHECK_INT(g.remaining, 100);
    CHECK_INT(g.next_send_ms, 0);
    /* Nothing known about the limit: nothing guessed. */
    struct governor unknown;
    governor_init(&unknown, fake_random);
    struct rate_headers reset_only;
    rate_headers_clear(&reset_only);
    reset_only.reset_s = (T0 + 10000) / 1000;
    governor_observe(&unknown, &reset_only, 200, T0);
    CHECK_INT(governor_delay(&unknown, T0 + 25000), 0);
    CHECK_INT(unknown.reset_ms, T0 + 10000);
    CHECK_INT(unknown.remaining, -1);
}

static void overtaking_answers_never_give_budget_back(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    int64_t reset = T0 + 10000;
    struct rate_headers newer = answer(600, 40, reset), older = answer(600, 55, reset);
    governor_observe(&g, &newer, 200, T0);
    CHECK_INT(g.remaining, 40);
    governor_observe(&g, &older, 200, T0 + 10);
    CHECK_INT(g.remaining, 40);
    /* Requests on the wire were sent after the count was taken. */
    g.in_flight = 5;
    struct rate_headers lower = answer(600, 30, reset);
    governor_observe(&g, &lower, 200, T0 + 20);
    CHECK_INT(g.remaining, 25);
    g.in_flight = 50;
    governor_observe(&g, &lower, 200, T0 + 20);
    CHECK_INT(g.remaining, 0);
    /* A new window takes its count whatever it is. */
    g.in_flight = 0;
    g.next_send_ms = T0 + 9000;
    struct rate_headers next = answer(600, 99, reset + 10000);
    governor_observe(&g, &next, 200, T0 + 10000);
    CHECK_INT(g.remaining, 99);
    CHECK_INT(g.reset_ms, reset + 10000);
    CHECK_INT(g.next_send_ms, 0);
}

static void a_429_pauses_until_the_reset_and_jitter(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    fixed_jitter = 1234; /* the pause adds it modulo 1000 */
    struct rate_headers h = answer(600, 3, T0 + 4000);
    governor_observe(&g, &h, 429, T0);
    CHECK_INT(g.remaining, 0);
    CHECK_INT(g.paused_until_ms, T0 + 4000 + 234);
    CHECK_INT(governor_delay(&g, T0 + 1000), 3234);
    CHECK_INT(governor_delay(&g, T0 + 4234), 0); /* the window has reset by then */
    /* A 429 that says nothing of the window: a second. */
    struct governor bare;
    governor_init(&bare, fake_random);
    fixed_jitter = 0;
    struct rate_headers none;
    rate_headers_clear(&none);
    governor_observe(&bare, &none, 429, T0);
    CHECK_INT(bare.paused_until_ms, T0 + 1000);
    CHECK_INT(governor_delay(&bare, T0), 1000);
    /* No answer at all (status 0) changes nothing. */
    struct governor quiet;
    governor_init(&quiet, fake_random);
    governor_observe(&quiet, &none, 0, T0);
    CHECK_INT(quiet.paused_until_ms, 0);
    CHECK_INT(quiet.remaining, -1);
}

static void headers_are_read_by_name_without_case(void)
{
    struct rate_headers h;
    rate_headers_clear(&h);
    const char *lines[] = {"x-ratelimit-limit: 1000\r\n", "X-RateLimit-Remaining:42\r\n",
                           "X-RATELIMIT-RESET: 1700000010\r\n", "Retry-After: 3\r\n"};
    for (size_t i = 0; i < 4; i++)
        CHECK(rate_headers_parse(&h, lines[i], strlen(lines[i])));
    CHECK_INT(h.limit, 1000);
    CHECK_INT(h.remaining, 42);
    CHECK_INT(h.reset_s, 1700000010);
    CHECK_INT(h.retry_after_s, 3);
    const char *others[] = {"HTTP/1.1 429 Too Many Requests\r\n", "X-RateLimit-Limited: 5\r\n",
                            "X-RateLimit-Limit\r\n", "Content-Type: application/json\r\n", ""};
    for (size_t i = 0; i < 5; i++)
        CHECK(!rate_headers_parse(&h, others[i], strlen(others[i])));
    CHECK_INT(h.limit, 1000);
    /* An overlong value is cut, not overrun. */
    const char *long_value = "Retry-After: 12345678901234567890123456789012345678901234567890\r\n";
    CHECK(rate_headers_parse(&h, long_value, strlen(long_value)));
    CHECK(h.retry_after_s > 0);
    rate_headers_clear(&h);
    CHECK_INT(h.limit, -1);
    CHECK_INT(h.remaining, -1);
    CHECK_INT(h.reset_s, -1);
    CHECK_INT(h.retry_after_s, -1);
}

static void the_wait_asked_for(void)
{
    struct rate_headers h;
    rate_headers_clear(&h);
    CHECK_INT(rate_headers_wait_s(&h, 429, T0), 0);
    h.retry_after_s = 5;
    CHECK_INT(rate_headers_wait_s(&h, 503, T0), 5);
    h.reset_s = T0 / 1000 + 8;
    CHECK_INT(rate_headers_wait_s(&h, 503, T0), 5); /* the window counts for a 429 only */
    CHECK_INT(rate_headers_wait_s(&h, 429, T0), 8);
    CHECK_INT(rate_headers_wait_s(&h, 429, T0 + 6000), 5);
    h.retry_after_s = 10LL * 86400;
    CHECK_INT(rate_headers_wait_s(&h, 429, T0), 86400);
}

static void the_admin_view(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    struct rate_headers h = answer(600, 10, T0 + 10000);
    g.in_flight = 2;
    governor_observe(&g, &h, 200, T0);
    json_object *o = governor_json(&g);
    CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
              "{\"limit\":600,\"remaining_estimate\":8,\"window_reset_ms\":1700000010000,"
              "\"paused_until_ms\":0,\"in_flight\":2,\"nodes_sharing\":1}");
    json_object_put(o);
}

/* Two live nodes: each plans with half of what Intercom says remains, the guess of a new
   window's budget too. */
static void nodes_share_the_budget(void)
{
    struct governor g;
    governor_init(&g, fake_random);
    fixed_jitter = 7;
    governor_set_share(&g, 2);
    int64_t reset = T0 + 10000;
    /* 1,200 a minute, 200 a window; 30 left, 15 of them this node's; low water 200/2/10. */
    struct rate_headers h = answer(1200, 30, reset);
    governor_observe(&g, &h, 200, T0);
    CHECK_INT(g.remaining, 15);
    struct item items[20];
    for (int i = 0; i < 20; i++)
        governor_queue(&g, &items[i].link, false);
    /* Free down to the low water (10), then paced. */
    CHECK_INT(send_while_free(&g, T0), 6);
    CHECK_INT(g.remaining, 9);
    /* The other node spent too: its answer says 8 are left, 4 of them this node's. */
    h = answer(1200, 8, reset);
    governor_observe(&g, &h, 200, T0 + 1);
    CHECK_INT(g.remaining, 4);
    /* The next window is guessed at half of its 200. */
    CHECK(governor_delay(&g, reset + 1) == 0);
    CHECK_INT(g.remaining, 100);
    /* Alone again (the other node stopped): the whole budget, from the next window on. */
    governor_set_share(&g, 1);
    h = answer(1200, 150, reset + 20000);
    governor_observe(&g, &h, 200, reset + 10001);
    CHECK_INT(g.remaining, 150);
    while (governor_next(&g, reset + 10002))
        ;
}

int main(void)
{
    RUN(unknown_picture_sends_freely_in_order);
    RUN(unqueue_takes_out_anywhere);
    RUN(budget_is_spent_then_paced_then_waited_for);
    RUN(a_new_window_is_assumed_when_the_old_one_ends);
    RUN(overtaking_answers_never_give_budget_back);
    RUN(a_429_pauses_until_the_reset_and_jitter);
    RUN(headers_are_read_by_name_without_case);
    RUN(the_wait_asked_for);
    RUN(the_admin_view);
    RUN(nodes_share_the_budget);
    UNIT_DONE();
}
