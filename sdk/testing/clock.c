/* clock.c - time stands still until the test moves it; timers and posted callbacks run on demand. */
#include "kit.h"

#include <stdlib.h>
#include <string.h>

static int64_t h_now_ms(sb_plugin *self)
{
    struct sbt_kit *kit = kit_of(self, "now_ms");
    return kit ? kit->now_ms : 0;
}

static sb_timer_id h_timer_add(sb_plugin *self, uint32_t delay_ms, void (*cb)(void *), void *arg)
{
    struct sbt_kit *kit = kit_of(self, "timer_add");
    if (!kit || !cb)
        return 0;
    struct kit_timer t = {++kit->next_timer_id, kit->now_ms + delay_ms, cb, arg};
    KIT_PUSH(kit, timers, t);
    return t.id;
}

static void timer_remove(struct sbt_kit *kit, size_t i)
{
    memmove(&kit->timers[i], &kit->timers[i + 1], (kit->n_timers - i - 1) * sizeof *kit->timers);
    kit->n_timers--;
}

static void h_timer_cancel(sb_plugin *self, sb_timer_id id)
{
    struct sbt_kit *kit = kit_of(self, "timer_cancel");
    for (size_t i = 0; kit && i < kit->n_timers; i++)
        if (kit->timers[i].id == id) {
            timer_remove(kit, i);
            return;
        }
}

/* The earliest timer due at or before @p until (ties: the one set first), or -1. */
static long next_due(const struct sbt_kit *kit, int64_t until)
{
    long best = -1;
    for (size_t i = 0; i < kit->n_timers; i++) {
        const struct kit_timer *t = &kit->timers[i];
        if (t->due_ms <= until
            && (best < 0 || t->due_ms < kit->timers[best].due_ms
                || (t->due_ms == kit->timers[best].due_ms && t->id < kit->timers[best].id)))
            best = (long)i;
    }
    return best;
}

void sbt_clock_set(sbt_kit *kit, int64_t now_ms)
{
    kit->now_ms = now_ms;
}

size_t sbt_clock_advance(sbt_kit *kit, int64_t ms)
{
    int64_t until = kit->now_ms + (ms > 0 ? ms : 0);
    size_t fired = 0;
    long i;
    /* Timers a firing timer sets are due later than now, and fire in this walk if before until. */
    while ((i = next_due(kit, until)) >= 0) {
        struct kit_timer t = kit->timers[i];
        timer_remove(kit, (size_t)i);
        if (t.due_ms > kit->now_ms)
            kit->now_ms = t.due_ms;
        t.cb(t.arg);
        fired++;
    }
    kit->now_ms = until;
    return fired;
}

size_t sbt_timer_count(const sbt_kit *kit)
{
    return kit->n_timers;
}

/* The one service other threads may call, as on the host. */
static int h_loop_post(sb_plugin *self, void (*cb)(void *), void *arg)
{
    struct sbt_kit *kit = kit_of(self, "loop_post");
    if (!kit || !cb)
        return -1;
    struct posted *item = xcalloc(1, sizeof *item);
    item->cb = cb;
    item->arg = arg;
    pthread_mutex_lock(&kit->post_lock);
    if (kit->post_tail)
        kit->post_tail->next = item;
    else
        kit->post_head = item;
    kit->post_tail = item;
    pthread_mutex_unlock(&kit->post_lock);
    return 0;
}

size_t sbt_run_posted(sbt_kit *kit)
{
    size_t ran = 0;
    for (;;) {
        pthread_mutex_lock(&kit->post_lock);
        struct posted *item = kit->post_head;
        if (item) {
            kit->post_head = item->next;
            if (!kit->post_head)
                kit->post_tail = NULL;
        }
        pthread_mutex_unlock(&kit->post_lock);
        if (!item)
            return ran;
        item->cb(item->arg);
        free(item);
        ran++;
    }
}

void kit_install_clock(sb_host *host)
{
    host->now_ms = h_now_ms;
    host->timer_add = h_timer_add;
    host->timer_cancel = h_timer_cancel;
    host->loop_post = h_loop_post;
}

void kit_clock_free(struct sbt_kit *kit)
{
    free(kit->timers);
    kit->timers = NULL;
    kit->n_timers = kit->cap_timers = 0;
    pthread_mutex_lock(&kit->post_lock);
    for (struct posted *p = kit->post_head, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    kit->post_head = kit->post_tail = NULL;
    pthread_mutex_unlock(&kit->post_lock);
}
