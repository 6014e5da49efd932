/*
 * product_events.c - product webhooks: enqueue into the job queue, sign and
 * POST each attempt on the loop (curl_loop), and the endpoint's 410 state.
 */
#include "product_events.h"

#include "crypto.h"
#include "curl_loop.h"
#include "installations.h"
#include "jobs.h"
#include "log.h"
#include "plugins.h"
#include "server.h"
#include "standard_webhooks.h"
#include "store/store.h"
#include "store/store_products.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_TYPE_LEN 128
#define IDLE_CONNECTIONS 8
#define CONNECT_TIMEOUT_MS 10000
/* A held delivery is looked at again this often; enabling the endpoint releases it at once. */
#define HOLD_RECHECK_MS (10 * 60 * 1000)
/* Retry-After is honoured up to this many seconds. */
#define RETRY_AFTER_MAX_S 3600

struct delivery {
    struct product_events *pe;
    struct sb_plugin *plugin;
    int64_t job_id;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char *where;          /* the URL without its query, for messages */
    long retry_after_s;   /* from the answer's Retry-After, 0 if none */
    char error[CURL_ERROR_SIZE];
    struct curl_transfer transfer;
    struct delivery *prev, *next;
};

struct product_events {
    struct server *srv;
    struct curl_loop *curl;
    struct delivery *in_flight; /* a list, so that free can abandon them */
};

struct product_events *product_events_new(struct server *srv)
{
    struct product_events *pe = xcalloc(1, sizeof *pe);
    pe->srv = srv;
    pe->curl = curl_loop_new(srv->base, IDLE_CONNECTIONS, NULL, NULL);
    return pe;
}

static void delivery_free(struct delivery *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        d->pe->in_flight = d->next;
    if (d->next)
        d->next->prev = d->prev;
    curl_easy_cleanup(d->easy);
    curl_slist_free_all(d->headers);
    free(d->body);
    free(d->where);
    free(d);
}

void product_events_free(struct product_events *pe)
{
    if (!pe)
        return;
    while (pe->in_flight) {
        curl_loop_remove(pe->curl, pe->in_flight->easy);
        delivery_free(pe->in_flight);
    }
    curl_loop_free(pe->curl);
    free(pe);
}

bool product_job_type(const char *type)
{
    return type && str_starts_with(type, PRODUCT_JOB_PREFIX);
}

/* ---- enqueue ---- */

/* Event types as the spec recommends them: dot-separated names of [A-Za-z0-9_-]. */
static bool valid_type(const char *type)
{
    size_t n = type ? strlen(type) : 0;
    if (n == 0 || n > MAX_TYPE_LEN || type[0] == '.' || type[n - 1] == '.')
        return false;
    for (const char *c = type; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return false;
    return true;
}

/* RFC 3339 in UTC with milliseconds: 2026-12-06T04:23:28.123Z. */
static void rfc3339_utc(int64_t ms, char out[32])
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* Unique, and free of '.', which the signature scheme uses as its separator. */
static void new_message_id(char out[4 + 32 + 1])
{
    unsigned char raw[16];
    if (crypto_random(raw, sizeof raw) != 0) {
        /* Unlikely; the id must still be unique, not secret. */
        uint64_t t = (uint64_t)time_mono_us(), r = (uint64_t)rand();
        memcpy(raw, &t, 8);
        memcpy(raw + 8, &r, 8);
    }
    memcpy(out, "msg_", 4);
    hex_encode(raw, sizeof raw, out + 4);
}

int product_event_enqueue(struct product_events *pe, struct sb_plugin *p, int64_t installation,
                          const char *type, json_object *payload)
{
    const struct product_config *cfg = p->cfg ? &p->cfg->product : NULL;
    if (!cfg || !cfg->webhook_url) {
        log_warn("product", "plugin %s sent a product event but plugins.%s.product.webhook_url "
                            "is not configured", p->name, p->name);
        return -1;
    }
    if (!valid_type(type)) {
        log_warn("product", "plugin %s: product event type must be 1 to %d characters of "
                            "[A-Za-z0-9_.-]", p->name, MAX_TYPE_LEN);
        return -1;
    }
    json_object *inst = NULL;
    if (installation) {
        const struct installation *in = installations_get(pe->srv->installations, installation);
        if (!in)
            return -1;
        inst = json_object_new_object();
        json_object_object_add(inst, "id", json_object_new_int64(in->id));
        json_object_object_add(inst, "workspace_id", json_object_new_string(in->workspace_id));
    }
    char when[32], id[4 + 32 + 1];
    rfc3339_utc(time_now_ms(), when);
    new_message_id(id);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "type", json_object_new_string(type));
    json_object_object_add(body, "timestamp", json_object_new_string(when));
    json_object_object_add(body, "installation", inst);
    json_object_object_add(body, "data", json_object_get(payload)); /* borrowed: our own ref */
    json_object *job = json_object_new_object();
    json_object_object_add(job, "webhook_id", json_object_new_string(id));
    json_object_object_add(job, "body", body);
    char *job_type = xasprintf(PRODUCT_JOB_PREFIX "%s", type);
    int64_t job_id = jobs_insert_host(pe->srv->jobs, p->name, installation, job_type, job,
                                      cfg->max_attempts);
    free(job_type);
    json_object_put(job);
    if (!job_id)
        return -1;
    log_debug("product", "plugin %s: event %s queued as job %lld (%s)", p->name, type,
              (long long)job_id, id);
    return 0;
}

/* ---- the endpoint's state ---- */

/* Disabled since (ms), or 0 if enabled; the reason into why (may be NULL). */
static int64_t disabled_since(struct store *st, const char *plugin, char **why)
{
    int64_t since;
    store_product_endpoint_disabled(st, plugin, &since, why);
    return since;
}

static void disable_endpoint(struct product_events *pe, struct sb_plugin *p, const char *why)
{
    if (store_product_endpoint_disable(pe->srv->store, p->name, time_now_ms(), why) == 1)
        log_warn("product", "plugin %s: product webhook disabled (%s); its events are held until "
                            "POST /admin/plugins/%s/product/enable", p->name, why, p->name);
}

int product_endpoint_enable(struct product_events *pe, const struct sb_plugin *p, char *err,
                            size_t errlen)
{
    struct store *st = pe->srv->store;
    int64_t now = time_now_ms();
    if (store_begin(st) != 0) {
        snprintf(err, errlen, "database error");
        return -1;
    }
    /* Held deliveries are released: due now. */
    if (store_product_endpoint_enable(st, p->name, now) == 0
        && store_product_deliveries_release(st, p->name, now) == 0 && store_commit(st) == 0) {
        log_info("product", "plugin %s: product webhook enabled", p->name);
        jobs_kick(pe->srv->jobs);
        return 0;
    }
    if (store_in_transaction(st))
        store_rollback(st);
    snprintf(err, errlen, "database error");
    return -1;
}

json_object *product_endpoint_json(struct product_events *pe, const struct sb_plugin *p)
{
    const struct product_config *cfg = p->cfg ? &p->cfg->product : NULL;
    json_object *o = json_object_new_object();
    bool configured = cfg && cfg->webhook_url;
    json_object_object_add(o, "configured", json_object_new_boolean(configured));
    if (!configured)
        return o;
    struct store *st = pe->srv->store;
    char *why = NULL;
    int64_t since = disabled_since(st, p->name, &why);
    json_object_object_add(o, "webhook_url", json_object_new_string(cfg->webhook_url));
    json_object_object_add(o, "enabled", json_object_new_boolean(since == 0));
    json_object_object_add(o, "disabled_at", since ? json_object_new_int64(since) : NULL);
    json_object_object_add(o, "disabled_reason", why ? json_object_new_string(why) : NULL);
    free(why);
    json_object_object_add(o, "max_attempts", json_object_new_int(cfg->max_attempts));
    json_object_object_add(o, "timeout_s", json_object_new_int(cfg->timeout_s));
    int64_t unsent, dead;
    store_product_deliveries_count(st, p->name, &unsent, &dead);
    json_object_object_add(o, "pending", json_object_new_int64(unsent));
    json_object_object_add(o, "dead", json_object_new_int64(dead));
    return o;
}

/* ---- delivering ---- */

static size_t discard_body(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

static size_t header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct delivery *d = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        /* Seconds only; an HTTP date falls back to the job backoff. */
        char value[24];
        size_t vlen = len - (sizeof name - 1);
        if (vlen >= sizeof value)
            vlen = sizeof value - 1;
        memcpy(value, data + sizeof name - 1, vlen);
        value[vlen] = '\0';
        char *start = value + strspn(value, " \t");
        start[strcspn(start, " \t\r\n")] = '\0';
        int64_t s;
        if (str_to_i64(start, &s) && s > 0)
            d->retry_after_s = s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (long)s;
    }
    return len;
}

static void delivered(void *owner, CURLcode code)
{
    struct delivery *d = owner;
    struct product_events *pe = d->pe;
    long status = 0;
    if (code == CURLE_OK)
        curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
    sb_result result = {0};
    sb_status st;
    if (code != CURLE_OK) {
        st = sb_result_set(&result, SB_RETRY, "%s: %s", d->where,
                           d->error[0] ? d->error : curl_easy_strerror(code));
    } else if (status >= 200 && status < 300) {
        st = SB_OK;
        log_debug("product", "job %lld delivered to %s (HTTP %ld)", (long long)d->job_id,
                  d->where, status);
    } else if (status == 410) {
        char *why = xasprintf("%s answered 410 Gone", d->where);
        disable_endpoint(pe, d->plugin, why);
        jobs_hold(pe->srv->jobs, d->plugin, d->job_id, why, HOLD_RECHECK_MS);
        free(why);
        delivery_free(d);
        return;
    } else {
        st = sb_result_set(&result, SB_RETRY, "%s answered HTTP %ld", d->where, status);
        if ((status == 429 || status == 503) && d->retry_after_s)
            result.retry_after_s = (uint32_t)d->retry_after_s;
    }
    jobs_complete(pe->srv->jobs, d->plugin, (uint64_t)d->job_id, st, &result);
    delivery_free(d);
}

static char *header_line(const char *name, const char *value)
{
    return xasprintf("%s: %s", name, value);
}

static void add_header(struct delivery *d, char *line)
{
    d->headers = curl_slist_append(d->headers, line);
    free(line);
}

sb_status product_deliver(struct product_events *pe, struct sb_plugin *p, int64_t job_id,
                          const char *payload, sb_result *result)
{
    const struct product_config *cfg = p->cfg ? &p->cfg->product : NULL;
    if (!cfg || !cfg->webhook_url)
        /* Configured when it was enqueued: the integrator may add it back. */
        return sb_result_set(result, SB_RETRY, "plugins.%s.product.webhook_url is not configured",
                             p->name);
    char *why = NULL;
    if (disabled_since(pe->srv->store, p->name, &why)) {
        jobs_hold(pe->srv->jobs, p, job_id, why ? why : "the product webhook is disabled",
                  HOLD_RECHECK_MS);
        free(why);
        return SB_PENDING;
    }
    json_object *job = payload ? json_tokener_parse(payload) : NULL, *id = NULL, *body = NULL;
    if (!json_object_object_get_ex(job, "webhook_id", &id)
        || !json_object_object_get_ex(job, "body", &body)) {
        json_object_put(job);
        return sb_result_set(result, SB_FAIL, "not a product delivery (no webhook_id or body)");
    }
    struct delivery *d = xcalloc(1, sizeof *d);
    d->pe = pe;
    d->plugin = p;
    d->job_id = job_id;
    d->body = xstrdup(json_object_to_json_string_ext(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    d->where = xstrndup(cfg->webhook_url, strcspn(cfg->webhook_url, "?"));
    /* The attempt's time, not the event's: the receiver checks it against replays. */
    int64_t timestamp = time_now_ms() / 1000;
    char *signature = sw_sign(cfg->webhook_key, cfg->webhook_key_len, json_object_get_string(id),
                              timestamp, d->body, strlen(d->body));
    add_header(d, header_line("webhook-id", json_object_get_string(id)));
    add_header(d, xasprintf("webhook-timestamp: %lld", (long long)timestamp));
    add_header(d, header_line("webhook-signature", signature));
    free(signature);
    json_object_put(job);
    d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
    d->headers = curl_slist_append(d->headers, "Expect:");

    CURL *e = d->easy = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, cfg->webhook_url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(d->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, CURL_LOOP_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_s * 1000);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(cfg->timeout_s * 1000 < CONNECT_TIMEOUT_MS ? cfg->timeout_s * 1000
                                                                       : CONNECT_TIMEOUT_MS));
    /* A redirect is a failure (the spec: update the URL instead); never followed. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, d);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->error);
    d->transfer.done = delivered;
    d->transfer.owner = d;
    d->next = pe->in_flight;
    if (d->next)
        d->next->prev = d;
    pe->in_flight = d;
    CURLMcode mc = curl_loop_add(pe->curl, e, &d->transfer);
    if (mc != CURLM_OK) {
        sb_result_set(result, SB_RETRY, "cannot start the delivery: %s", curl_multi_strerror(mc));
        delivery_free(d);
        return SB_RETRY;
    }
    return SB_PENDING;
}
