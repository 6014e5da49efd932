/*
 * ss_ingest.c - store the product's NDJSON log records. Lines are validated
 * first (ss_logline.h); the valid ones are then written in one transaction
 * together with the service index and the project's sequence counter, so a
 * batch is stored whole or not at all and costs one commit.
 */
#include "ss_plugin.h"

#include "ss_logline.h"
#include "ss_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-line errors reported in one answer; the counts stay exact beyond it. */
#define MAX_REPORTED_ERRORS 100

struct ingest {
    struct ss_plugin *ss;
    sb_installation_id inst;
    json_object *project;            /* borrowed */
    struct ss_log_record *records;
    size_t n, cap;
};

/* Per-service totals of this batch, merged into the service documents. */
static void tally(json_object *totals, const struct ss_log_record *r)
{
    json_object *t;
    if (!json_object_object_get_ex(totals, r->service, &t)) {
        t = json_object_new_object();
        sb_json_add_int(t, "records", 0);
        sb_json_add_int(t, "first_seen", r->time_ms);
        sb_json_add_int(t, "last_seen", r->time_ms);
        json_object *levels = json_object_new_object();
        for (int l = 0; l < SS_LEVEL_COUNT; l++)
            sb_json_add_int(levels, ss_level_name((enum ss_level)l), 0);
        json_object_object_add(t, "by_level", levels);
        json_object_object_add(totals, r->service, t);
    }
    sb_json_add_int(t, "records", sb_json_int(t, "records", 0) + 1);
    if (r->time_ms < sb_json_int(t, "first_seen", 0))
        sb_json_add_int(t, "first_seen", r->time_ms);
    if (r->time_ms > sb_json_int(t, "last_seen", 0))
        sb_json_add_int(t, "last_seen", r->time_ms);
    json_object *levels = sb_json_obj(t, "by_level");
    const char *level = ss_level_name(r->level);
    sb_json_add_int(levels, level, sb_json_int(levels, level, 0) + 1);
}

static json_object *merge_service(json_object *existing, const char *name, json_object *batch)
{
    json_object *svc = json_object_new_object();
    sb_json_add_str(svc, "name", name);
    json_object *aliases = sb_json_arr(existing, "aliases");
    json_object_object_add(svc, "aliases",
                           aliases ? json_object_get(aliases) : json_object_new_array());
    sb_json_add_int(svc, "records",
                    sb_json_int(existing, "records", 0) + sb_json_int(batch, "records", 0));
    json_object *levels = json_object_new_object(), *old = sb_json_obj(existing, "by_level"),
                *add = sb_json_obj(batch, "by_level");
    for (int l = 0; l < SS_LEVEL_COUNT; l++) {
        const char *level = ss_level_name((enum ss_level)l);
        sb_json_add_int(levels, level, sb_json_int(old, level, 0) + sb_json_int(add, level, 0));
    }
    json_object_object_add(svc, "by_level", levels);
    int64_t first = sb_json_int(existing, "first_seen", 0);
    int64_t last = sb_json_int(existing, "last_seen", 0);
    int64_t bfirst = sb_json_int(batch, "first_seen", 0);
    int64_t blast = sb_json_int(batch, "last_seen", 0);
    sb_json_add_int(svc, "first_seen", first && first < bfirst ? first : bfirst);
    sb_json_add_int(svc, "last_seen", last > blast ? last : blast);
    return svc;
}

static int store_batch(void *arg)
{
    struct ingest *in = arg;
    struct ss_plugin *ss = in->ss;
    int64_t seq = sb_json_int(in->project, "next_seq", 1);
    json_object *totals = json_object_new_object();
    int rc = 0;
    for (size_t i = 0; i < in->n && rc == 0; i++) {
        const struct ss_log_record *r = &in->records[i];
        char iso[SS_TIME_LEN], key[SS_SERVICE_MAX + SS_TIME_LEN + 24];
        ss_time_iso(r->time_ms, iso);
        snprintf(key, sizeof key, "%s|%s|%012lld", r->service, iso, (long long)seq++);
        json_object *doc = json_object_new_object();
        sb_json_add_int(doc, "time", r->time_ms);
        sb_json_add_str(doc, "level", ss_level_name(r->level));
        sb_json_add_str(doc, "message", r->message);
        rc = ss_put(ss, in->inst, SS_LOGS, key, doc);
        tally(totals, r);
    }
    json_object_object_foreach(totals, name, batch) {
        if (rc != 0)
            break;
        json_object *existing = ss_get(ss, in->inst, SS_SERVICES, name);
        rc = ss_put(ss, in->inst, SS_SERVICES, name, merge_service(existing, name, batch));
        json_object_put(existing);
    }
    json_object_put(totals);
    if (rc == 0) {
        json_object *project = json_object_get(in->project);
        sb_json_add_int(project, "next_seq", seq);
        rc = ss_put(ss, in->inst, SS_PROJECT, "project", project);
    }
    return rc;
}

static void add_error(json_object *report, size_t line, const char *why)
{
    json_object *errors = sb_json_arr(report, "errors");
    if (json_object_array_length(errors) >= MAX_REPORTED_ERRORS) {
        sb_json_add_bool(report, "errors_truncated", true);
        return;
    }
    json_object *e = json_object_new_object();
    sb_json_add_int(e, "line", (int64_t)line);
    sb_json_add_str(e, "error", why);
    json_object_array_add(errors, e);
}

json_object *ss_ingest(struct ss_plugin *ss, sb_installation_id inst, json_object *project,
                       const char *body, size_t len, bool *stored)
{
    struct ingest in = {.ss = ss, .inst = inst, .project = project};
    int64_t now = ss_now_ms(ss), days = sb_json_int(project, "retention_days", 0);
    int64_t oldest = days > 0 ? now - days * 86400 * 1000 : 0;
    json_object *report = json_object_new_object();
    json_object_object_add(report, "errors", json_object_new_array());
    sb_json_add_bool(report, "errors_truncated", false);
    int64_t rejected = 0;
    size_t line_no = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = body + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        line_no++;
        if (n && line[n - 1] == '\r')
            n--;
        size_t lead = 0;
        while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
            lead++;
        if (lead == n)
            continue; /* blank lines separate nothing and are not records */
        struct ss_log_record rec;
        char why[256];
        if (!ss_logline_parse(line, n, now, oldest, &rec, why, sizeof why)) {
            rejected++;
            add_error(report, line_no, why);
            continue;
        }
        if (in.n == in.cap) {
            in.cap = in.cap ? in.cap * 2 : 256;
            in.records = pk_xrealloc(in.records, in.cap * sizeof *in.records);
        }
        in.records[in.n++] = rec;
    }
    *stored = true;
    if (in.n && ss->host->transaction(ss->self, store_batch, &in) != 0)
        *stored = false;
    sb_json_add_int(report, "accepted", *stored ? (int64_t)in.n : 0);
    sb_json_add_int(report, "rejected", rejected);
    for (size_t i = 0; i < in.n; i++)
        ss_log_record_clear(&in.records[i]);
    free(in.records);
    return report;
}
