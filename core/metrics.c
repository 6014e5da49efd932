/* metrics.c - in-memory counters, rendered on demand. */
#include "metrics.h"

#include "http.h"
#include "installations.h"
#include "intercom.h"
#include "jobs.h"
#include "jobs_admin.h"
#include "plugins.h"
#include "replies.h"
#include "server.h"
#include "store/store.h"
#include "turn.h"
#include "util.h"
#include "webhooks.h"

#include <stdlib.h>
#include <string.h>

static const char *const labels[] = {"webhooks", "canvas",  "oauth",   "api",  "admin",
                                     "health",   "metrics", "console", "other"};
#define N_LABELS (sizeof labels / sizeof labels[0])
static const double buckets_ms[] = {1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
#define N_BUCKETS (sizeof buckets_ms / sizeof buckets_ms[0])

struct route_stats {
    uint64_t by_class[6]; /* 1xx..5xx */
    uint64_t buckets[N_BUCKETS];
    uint64_t count;
    double sum_ms;
};

struct metrics {
    struct route_stats routes[N_LABELS];
};

struct metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(struct metrics));
}

void metrics_free(struct metrics *m)
{
    free(m);
}

void metrics_observe(const struct http_request *req, int status, size_t bytes, double ms,
                     void *arg)
{
    struct server *srv = arg;
    (void)bytes;
    if (!srv->metrics)
        return;
    size_t i = 0;
    const char *label = http_label(req);
    while (i < N_LABELS - 1 && strcmp(labels[i], label) != 0)
        i++;
    struct route_stats *rs = &srv->metrics->routes[i];
    int cls = status / 100;
    rs->by_class[cls >= 1 && cls <= 5 ? cls : 0]++;
    rs->count++;
    rs->sum_ms += ms;
    for (size_t b = 0; b < N_BUCKETS; b++)
        if (ms <= buckets_ms[b])
            rs->buckets[b]++;
}

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One series of a histogram: at_most[k] (cumulative) observations within bounds[k] / unit
   seconds, then +Inf, _sum and _count. labels: "" or the series' own, e.g. route="api". */
static void histogram_series(struct buf *b, const char *name, const char *labels,
                             const double *bounds, double unit, const uint64_t *at_most,
                             size_t n, uint64_t count, double sum_seconds)
{
    const char *sep = *labels ? "," : "";
    for (size_t k = 0; k < n; k++)
        buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds[k] / unit,
                   (unsigned long long)at_most[k]);
    buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
               (unsigned long long)count);
    if (*labels) {
        buf_printf(b, "%s_sum{%s} %.6f\n", name, labels, sum_seconds);
        buf_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)count);
    } else {
        buf_printf(b, "%s_sum %.6f\n", name, sum_seconds);
        buf_printf(b, "%s_count %llu\n", name, (unsigned long long)count);
    }
}

static int count_installation(void *arg, struct installation *inst)
{
    int64_t *by_state = arg;
    by_state[inst->state]++;
    return 0;
}

void metrics_handle(struct server *srv, struct http_request *req)
{
    http_set_label(req, "metrics");
    struct buf b;
    buf_init(&b);
    struct metrics *m = srv->metrics;

    family(&b, "switchboard_http_requests_total", "counter", "HTTP requests answered, by route and status class.");
    for (size_t i = 0; i < N_LABELS; i++)
        for (int c = 1; c <= 5; c++)
            if (m->routes[i].by_class[c])
                buf_printf(&b, "switchboard_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                           labels[i], c, (unsigned long long)m->routes[i].by_class[c]);
    family(&b, "switchboard_http_request_duration_seconds", "histogram",
           "Time from request start to reply, by route.");
    for (size_t i = 0; i < N_LABELS; i++) {
        const struct route_stats *rs = &m->routes[i];
        if (!rs->count)
            continue;
        char route[64];
        snprintf(route, sizeof route, "route=\"%s\"", labels[i]);
        histogram_series(&b, "switchboard_http_request_duration_seconds", route, buckets_ms, 1000.0,
                         rs->buckets, N_BUCKETS, rs->count, rs->sum_ms / 1000.0);
    }
    family(&b, "switchboard_http_connections", "gauge", "Open client connections.");
    buf_printf(&b, "switchboard_http_connections %zu\n", http_server_connections(srv->http));

    struct intake_stats in;
    intake_stats(srv->intake, &in);
    family(&b, "switchboard_webhooks_total", "counter", "Webhook notifications by outcome.");
    const struct {
        const char *name;
        uint64_t value;
    } webhook_rows[] = {{"accepted", in.accepted},       {"duplicate", in.duplicates},
                        {"ignored", in.ignored},         {"unrouted", in.unrouted},
                        {"ping", in.pings},              {"bad_signature", in.bad_signature},
                        {"malformed", in.malformed}};
    for (size_t i = 0; i < ARRAY_LEN(webhook_rows); i++)
        buf_printf(&b, "switchboard_webhooks_total{outcome=\"%s\"} %llu\n", webhook_rows[i].name,
                   (unsigned long long)webhook_rows[i].value);
    family(&b, "switchboard_webhook_commits_total", "counter", "Group commits of received webhooks.");
    buf_printf(&b, "switchboard_webhook_commits_total %llu\n", (unsigned long long)in.commits);
    family(&b, "switchboard_webhook_commit_failures_total", "counter", "Group commits that failed.");
    buf_printf(&b, "switchboard_webhook_commit_failures_total %llu\n",
               (unsigned long long)in.commit_failures);

    /* Saturation of the store's one connection: the loop's gathers and the commit thread take
       it in turn, so their shares of the wall clock bound what it can take. */
    struct store_sharing sharing;
    store_sharing(srv->store, &sharing);
    family(&b, "switchboard_store_connection_held_seconds_total", "counter",
           "Time the store's connection was held, by holder.");
    buf_printf(&b, "switchboard_store_connection_held_seconds_total{holder=\"turn_gathers\"} %.6f\n",
               (double)turn_gathers_us(srv->turn) / 1e6);
    buf_printf(&b, "switchboard_store_connection_held_seconds_total{holder=\"commit_thread\"} %.6f\n",
               (double)sharing.commit_thread_held_us / 1e6);
    family(&b, "switchboard_store_connection_wait_seconds_total", "counter",
           "Time the event loop stood blocked waiting for the store's connection.");
    buf_printf(&b, "switchboard_store_connection_wait_seconds_total %.6f\n",
               (double)sharing.loop_waited_us / 1e6);

    /* Every acknowledgement of a durable write waits for one of these. */
    struct store_syncs syncs;
    store_syncs(srv->store, &syncs);
    family(&b, "switchboard_store_log_sync_duration_seconds", "histogram",
           "Time each sync (fdatasync) of the database log took; none on PostgreSQL.");
    histogram_series(&b, "switchboard_store_log_sync_duration_seconds", "",
                     store_sync_bucket_seconds, 1.0, syncs.at_most, STORE_SYNC_BUCKETS, syncs.count,
                     syncs.seconds);

    /* What the log costs besides: its pages copied back into the database file. */
    struct store_log_stats log;
    store_log_stats(srv->store, &log);
    family(&b, "switchboard_store_checkpoints_total", "counter",
           "Checkpoints of the database log (SQLite's WAL), by who ran them: the checkpoint "
           "thread, or the writer when the log outgrew its bound.");
    buf_printf(&b, "switchboard_store_checkpoints_total{by=\"checkpoint_thread\"} %llu\n",
               (unsigned long long)log.checkpoints);
    buf_printf(&b, "switchboard_store_checkpoints_total{by=\"writer\"} %llu\n",
               (unsigned long long)log.writer_checkpoints);
    family(&b, "switchboard_store_checkpoint_seconds_total", "counter",
           "Time spent in those checkpoints.");
    buf_printf(&b, "switchboard_store_checkpoint_seconds_total %.6f\n", log.checkpoint_seconds);
    family(&b, "switchboard_store_log_frames", "gauge",
           "Pages in the database log after the last commit.");
    buf_printf(&b, "switchboard_store_log_frames %lld\n", (long long)log.frames);

    int64_t counts[JOB_STATES];
    jobs_counts(srv->store, counts);
    family(&b, "switchboard_jobs", "gauge", "Jobs by state (finished states are not counted).");
    static const int shown[] = {0, 1, 2, 5};
    for (size_t i = 0; i < ARRAY_LEN(shown); i++)
        buf_printf(&b, "switchboard_jobs{state=\"%s\"} %lld\n", job_state_names[shown[i]],
                   (long long)counts[shown[i]]);
    family(&b, "switchboard_jobs_in_flight", "gauge", "Jobs handed to plugins and not finished.");
    buf_printf(&b, "switchboard_jobs_in_flight %d\n", jobs_in_flight(srv->jobs));

    struct intercom_stats ic;
    intercom_stats(srv->intercom, &ic);
    family(&b, "switchboard_intercom_requests_total", "counter", "Requests sent to Intercom, by result.");
    buf_printf(&b, "switchboard_intercom_requests_total{result=\"2xx\"} %llu\n",
               (unsigned long long)ic.responses_2xx);
    buf_printf(&b, "switchboard_intercom_requests_total{result=\"4xx\"} %llu\n",
               (unsigned long long)ic.responses_4xx);
    buf_printf(&b, "switchboard_intercom_requests_total{result=\"5xx\"} %llu\n",
               (unsigned long long)ic.responses_5xx);
    buf_printf(&b, "switchboard_intercom_requests_total{result=\"transport_error\"} %llu\n",
               (unsigned long long)ic.transport_errors);
    family(&b, "switchboard_intercom_rate_limited_total", "counter", "429 answers from Intercom.");
    buf_printf(&b, "switchboard_intercom_rate_limited_total %llu\n", (unsigned long long)ic.rate_limited);
    family(&b, "switchboard_intercom_retries_total", "counter", "Requests retried after an error.");
    buf_printf(&b, "switchboard_intercom_retries_total %llu\n", (unsigned long long)ic.retries);
    family(&b, "switchboard_intercom_governor_waits_total", "counter",
           "Times the rate governor held a request back.");
    buf_printf(&b, "switchboard_intercom_governor_waits_total %llu\n",
               (unsigned long long)ic.governor_waits);
    family(&b, "switchboard_intercom_in_flight", "gauge", "Requests on the wire.");
    buf_printf(&b, "switchboard_intercom_in_flight %d\n", ic.in_flight);
    family(&b, "switchboard_intercom_queued", "gauge", "Requests waiting for their governor.");
    buf_printf(&b, "switchboard_intercom_queued %d\n", ic.queued);

    int64_t by_state[3] = {0};
    installations_each(srv->installations, NULL, count_installation, by_state);
    family(&b, "switchboard_installations", "gauge", "Installations by state.");
    for (int s = 0; s < 3; s++)
        buf_printf(&b, "switchboard_installations{state=\"%s\"} %lld\n",
                   installation_state_name((sb_installation_state)s), (long long)by_state[s]);
    family(&b, "switchboard_plugins", "gauge", "Plugins by load result.");
    buf_printf(&b, "switchboard_plugins{state=\"running\"} %zu\n", srv->plugins->n);
    buf_printf(&b, "switchboard_plugins{state=\"refused\"} %zu\n", srv->plugins->n_refused);
    family(&b, "switchboard_replies_open", "gauge", "Product-API and canvas answers owed by plugins.");
    buf_printf(&b, "switchboard_replies_open %zu\n", replies_open_count(srv->replies));
    family(&b, "switchboard_uptime_seconds", "gauge", "Seconds since start.");
    buf_printf(&b, "switchboard_uptime_seconds %.3f\n",
               (double)(time_now_ms() - srv->started_ms) / 1000.0);
    family(&b, "switchboard_build_info", "gauge", "Version information.");
    buf_printf(&b, "switchboard_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n", SB_SDK_VERSION,
               SB_ABI_MAJOR, SB_ABI_MINOR);
    http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    buf_free(&b);
}
