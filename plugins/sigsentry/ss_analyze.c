/*
 * ss_analyze.c - analyses: read a window of logs, keep the result, post it.
 *
 * An analysis document (collection "analyses"):
 *   {"id", "conversation_id", "trigger", "requested_by", "service" (null: all),
 *    "services":[scanned], "window_start", "window_end", "created_at", "url",
 *    "truncated", "triage_revision", "result": ss_analysis_json(),
 *    "url_attribute": mapped attribute name or null,
 *    "steps": {"note", "url_attribute"}, "url_attribute_error"}
 * Computing and storing happen at once (the logs are local); posting is a
 * durable job (SS_JOB_POST_ANALYSIS) so the note survives restarts and is
 * posted once (ss_work.h).
 */
#include "ss_plugin.h"

#include "ss_analysis.h"
#include "ss_render.h"
#include "ss_util.h"
#include "ss_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct signatures one analysis tracks; errors past it are counted as ungrouped. */
#define MAX_SIGNATURES 10000

struct scan {
    struct ss_analysis *agg;
    const char *service;
    int64_t budget; /* records left to read */
    bool truncated;
};

static int scan_record(void *arg, const char *key, json_object *value)
{
    struct scan *s = arg;
    (void)key;
    if (s->budget <= 0) {
        s->truncated = true;
        return 1;
    }
    s->budget--;
    enum ss_level level = SS_LEVEL_INFO;
    ss_level_parse(sb_json_str(value, "level"), &level);
    ss_analysis_add(s->agg, s->service, sb_json_int(value, "time", 0), level,
                    sb_json_str(value, "message"));
    return 0;
}

/* Read one service's records of the window: one key range. */
static void scan_service(struct ss_plugin *ss, sb_installation_id inst, const char *service,
                         int64_t start, int64_t end, struct scan *s)
{
    char from_iso[SS_TIME_LEN], to_iso[SS_TIME_LEN];
    ss_time_iso(start, from_iso);
    ss_time_iso(end + 1, to_iso); /* the window's end is inclusive */
    char *from = pk_xasprintf("%s|%s", service, from_iso);
    char *to = pk_xasprintf("%s|%s", service, to_iso);
    s->service = service;
    /* One more than the budget, so a full window is told from one that hit the limit. */
    ss->host->doc_list(ss->self, inst, SS_LOGS, from, to, (size_t)s->budget + 1, 0, scan_record,
                       s);
    free(from);
    free(to);
}

static int newest_key(void *arg, const char *key, json_object *value)
{
    (void)value;
    const char *bar = strchr(key, '|');
    *(int64_t *)arg = bar ? strtoll(bar + 1, NULL, 10) : 0;
    return 1;
}

/*
 * The time part of a new analysis key: now, or one past the conversation's
 * newest key, so that two analyses within one millisecond still list in
 * the order they ran (the rest of the key is random).
 */
static int64_t key_time(struct ss_plugin *ss, sb_installation_id inst,
                        const char *conversation_id, int64_t now)
{
    char *from = pk_xasprintf("%s|", conversation_id), *to = pk_xasprintf("%s}", conversation_id);
    int64_t newest = 0;
    ss->host->doc_list(ss->self, inst, SS_ANALYSES, from, to, 1, SB_DOC_REVERSE, newest_key,
                       &newest);
    free(from);
    free(to);
    return newest >= now ? newest + 1 : now;
}

struct store_ctx {
    struct ss_plugin *ss;
    sb_installation_id inst;
    json_object *doc;
    const char *key;
    const char *id;
    const char *conversation_id;
};

static int store_analysis(void *arg)
{
    struct store_ctx *c = arg;
    struct ss_plugin *ss = c->ss;
    if (ss_put(ss, c->inst, SS_ANALYSES, c->key, json_object_get(c->doc)) != 0)
        return -1;
    json_object *index = json_object_new_object();
    sb_json_add_int(index, "installation", c->inst);
    sb_json_add_str(index, "key", c->key);
    if (ss_put(ss, 0, SS_ANALYSIS_IDS, c->id, index) != 0)
        return -1;
    json_object *payload = json_object_new_object();
    sb_json_add_str(payload, "key", c->key);
    char *order = pk_xasprintf("analysis:%s", c->conversation_id);
    sb_job_id job =
        ss->host->job_enqueue(ss->self, c->inst, SS_JOB_POST_ANALYSIS, order, payload, 0);
    free(order);
    json_object_put(payload);
    return job ? 0 : -1;
}

json_object *ss_analysis_run(struct ss_plugin *ss, sb_installation_id inst,
                             const struct ss_analysis_request *req)
{
    char id[33];
    if (!ss_random_hex(id, 16)) {
        ss->host->log(ss->self, SB_LOG_ERROR, "no randomness for an analysis id");
        return NULL;
    }
    json_object *services = json_object_new_array();
    if (req->service) {
        json_object_array_add(services, json_object_new_string(req->service));
    } else {
        json_object *known = ss_services_list(ss, inst);
        for (size_t i = 0; i < json_object_array_length(known); i++) {
            const char *name = sb_json_str(json_object_array_get_idx(known, i), "name");
            if (name)
                json_object_array_add(services, json_object_new_string(name));
        }
        json_object_put(known);
    }
    struct ss_analysis agg;
    ss_analysis_init(&agg, MAX_SIGNATURES);
    struct scan scan = {.agg = &agg, .budget = ss->options.analysis_max_records};
    for (size_t i = 0; i < json_object_array_length(services) && !scan.truncated; i++)
        scan_service(ss, inst, json_object_get_string(json_object_array_get_idx(services, i)),
                     req->window_start, req->window_end, &scan);
    ss_analysis_sort(&agg);

    struct ss_settings settings;
    ss_settings_of(ss, inst, &settings);
    int64_t now = ss_now_ms(ss);
    json_object *doc = json_object_new_object();
    sb_json_add_str(doc, "id", id);
    sb_json_add_str(doc, "conversation_id", req->conversation_id);
    sb_json_add_str(doc, "trigger", req->trigger);
    sb_json_add_str(doc, "requested_by", req->requested_by);
    sb_json_add_str(doc, "service", req->service);
    json_object_object_add(doc, "services", services);
    sb_json_add_int(doc, "window_start", req->window_start);
    sb_json_add_int(doc, "window_end", req->window_end);
    sb_json_add_int(doc, "created_at", now);
    char *url = pk_xasprintf("%s/api/sigsentry/analyses/%s", ss->host->public_url(ss->self), id);
    sb_json_add_str(doc, "url", url);
    sb_json_add_bool(doc, "truncated", scan.truncated);
    json_object_object_add(doc, "triage_revision",
                           req->triage_revision ? json_object_new_int64(req->triage_revision)
                                                : NULL);
    json_object_object_add(doc, "result",
                           ss_analysis_json(&agg, (size_t)ss->options.top_signatures));
    sb_json_add_str(doc, "url_attribute", settings.attribute_analysis_url);
    json_object *steps = json_object_new_object();
    sb_json_add_str(steps, "note", "pending");
    sb_json_add_str(steps, "url_attribute",
                    settings.attribute_analysis_url ? "pending" : "skipped");
    json_object_object_add(doc, "steps", steps);
    ss_settings_clear(&settings);
    ss_analysis_free(&agg);
    free(url);

    char key[SS_CONVERSATION_ID_MAX + 64];
    snprintf(key, sizeof key, "%s|%015lld|%s", req->conversation_id,
             (long long)key_time(ss, inst, req->conversation_id, now), id);
    struct store_ctx c = {ss, inst, doc, key, id, req->conversation_id};
    if (ss->host->transaction(ss->self, store_analysis, &c) != 0) {
        ss->host->log(ss->self, SB_LOG_ERROR, "conversation %s: could not store an analysis",
                      req->conversation_id);
        json_object_put(doc);
        return NULL;
    }
    char *detail = ss_render_analysis_summary(doc);
    ss->host->audit(ss->self, inst, req->conversation_id, "analysed", detail);
    free(detail);
    return doc;
}

json_object *ss_analysis_by_id(struct ss_plugin *ss, const char *id, sb_installation_id *inst)
{
    json_object *index = ss_get(ss, 0, SS_ANALYSIS_IDS, id);
    const char *key = sb_json_str(index, "key");
    *inst = sb_json_int(index, "installation", 0);
    json_object *doc = key && *inst ? ss_get(ss, *inst, SS_ANALYSES, key) : NULL;
    json_object_put(index);
    return doc;
}

/* ---- posting: the note, then the URL attribute ---- */

static sb_status post_note(struct ss_work *w, sb_result *result)
{
    return ss_work_reply(w, SB_REPLY_NOTE, ss_render_analysis_note(w->doc), result);
}

static sb_status write_url(struct ss_work *w, sb_result *result)
{
    json_object *attributes = json_object_new_object();
    sb_json_add_str(attributes, sb_json_str(w->doc, "url_attribute"), sb_json_str(w->doc, "url"));
    sb_status st = ss_work_set_attributes(w, attributes, result);
    json_object_put(attributes);
    return st;
}

static const struct ss_step analysis_steps[] = {
    {"note", post_note, false, "analysis note"},
    {"url_attribute", write_url, true, "analysis URL attribute"},
    {NULL, NULL, false, NULL},
};

sb_status ss_post_analysis_job(struct ss_plugin *ss, const sb_job *job, sb_result *result)
{
    const char *key = sb_json_str(job->payload, "key");
    json_object *doc = key ? ss_get(ss, job->installation, SS_ANALYSES, key) : NULL;
    if (!doc)
        return SB_OK; /* pruned or never stored: nothing to post */
    if (!ss_binding_active(ss, job->installation)) {
        json_object_put(doc);
        return SB_OK;
    }
    const char *conversation = sb_json_str(doc, "conversation_id");
    if (!conversation) {
        json_object_put(doc);
        return sb_result_set(result, SB_FAIL, "analysis %s has no conversation", key);
    }
    char *conversation_id = pk_xstrdup(conversation);
    struct ss_work *w = ss_work_new(ss, job->id, job->installation, SS_ANALYSES, key,
                                    conversation_id, doc, analysis_steps);
    free(conversation_id);
    return ss_work_start(w, result);
}

json_object *ss_analysis_request_for(struct ss_plugin *ss, sb_installation_id inst,
                                     const char *conversation_id, int64_t created_ms_hint,
                                     struct ss_analysis_request *out)
{
    json_object *triage = ss_get(ss, inst, SS_TRIAGE, conversation_id);
    int64_t now = ss_now_ms(ss);
    memset(out, 0, sizeof *out);
    out->conversation_id = conversation_id;
    out->window_end = now;
    if (triage) {
        out->service = sb_json_str(triage, "affected_service");
        out->window_start = sb_json_int(triage, "window_start", now);
        out->triage_revision = sb_json_int(triage, "revision", 0);
    } else {
        struct ss_settings settings;
        ss_settings_of(ss, inst, &settings);
        int64_t created = created_ms_hint ? created_ms_hint : now;
        ss_triage_window(created, settings.buffer_hours, now, &out->window_start,
                         &out->window_end);
        ss_settings_clear(&settings);
    }
    return triage;
}
