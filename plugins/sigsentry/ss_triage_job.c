/*
 * ss_triage_job.c - triage of a conversation when a customer writes
 * (conversation.user.created, conversation.user.replied).
 *
 * The webhook item only wakes us up: the conversation is read again with
 * GET /conversations/{id}, because a reply notification carries only the new
 * part and triage judges everything the customer wrote. The decision
 * (ss_triage.h) becomes a revision of the conversation's triage document:
 *
 *   {"conversation_id", "revision", "notification_id", "severity", "score",
 *    "matches":[{"phrase","weight"}], "score_explanation", "affected_service",
 *    "service_explanation", "window_start", "window_end",
 *    "conversation_created_at", "customer_name", "triaged_at",
 *    "last_checked_at", "posting_mode", "threshold", "reply_template",
 *    "plan": {"note","reply","attributes":{name:value},"analysis"},
 *    "steps": {"note","reply","attributes","analysis"}, "attributes_error",
 *    "analysis_id", "auto_analyzed_services":[..], "history":[..]}
 *
 * A new customer message makes a new revision only when the severity or the
 * service changes; otherwise nothing is posted again. The plan (which steps
 * run, which attributes get which values) is fixed when the revision is
 * made, so a settings change does not alter a revision half-way; the steps
 * then run once each through ss_work.h. A retry of the same notification
 * resumes the revision it made instead of triaging again.
 */
#include "ss_plugin.h"

#include "ss_conversation.h"
#include "ss_render.h"
#include "ss_template.h"
#include "ss_triage.h"
#include "ss_util.h"
#include "ss_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Revisions kept in a triage document's history. */
#define HISTORY_MAX 10

static const char *const topic_created = "conversation.user.created";
static const char *const topic_replied = "conversation.user.replied";

/* ---- the steps of a revision ---- */

static sb_status post_triage_note(struct ss_work *w, sb_result *result)
{
    return ss_work_reply(w, SB_REPLY_NOTE, ss_render_triage_note(w->doc), result);
}

static sb_status post_public_reply(struct ss_work *w, sb_result *result)
{
    const char *tmpl = sb_json_str(w->doc, "reply_template");
    char start[SS_TIME_LEN], end[SS_TIME_LEN];
    ss_time_human(sb_json_int(w->doc, "window_start", 0), start);
    ss_time_human(sb_json_int(w->doc, "window_end", 0), end);
    const char *service = sb_json_str(w->doc, "affected_service");
    const char *customer = sb_json_str(w->doc, "customer_name");
    const struct ss_template_var vars[] = {
        {"severity", sb_json_str(w->doc, "severity")},
        {"affected_service", service ? service : "not identified yet"},
        {"window_start", start},
        {"window_end", end},
        {"conversation_id", w->conversation_id},
        {"customer_name", customer ? customer : "there"},
    };
    char *html = ss_template_render_html(tmpl ? tmpl : "", vars, PK_ARRAY_LEN(vars));
    if (!*html) {
        /* An empty template sends nothing rather than an empty message. */
        free(html);
        ss_work_set_step(w, "reply", "skipped");
        return SB_OK;
    }
    return ss_work_reply(w, SB_REPLY_COMMENT, html, result);
}

static sb_status write_attributes(struct ss_work *w, sb_result *result)
{
    json_object *attributes = sb_json_obj(sb_json_obj(w->doc, "plan"), "attributes");
    return ss_work_set_attributes(w, attributes, result);
}

struct analysis_step {
    struct ss_work *w;
    json_object *analysis;
};

/* The analysis and the step that records it commit together: a retry never runs it twice. */
static int analyse_in_transaction(void *arg)
{
    struct analysis_step *a = arg;
    struct ss_work *w = a->w;
    const char *service = sb_json_str(w->doc, "affected_service");
    struct ss_analysis_request req = {
        .conversation_id = w->conversation_id,
        .service = service,
        .window_start = sb_json_int(w->doc, "window_start", 0),
        .window_end = sb_json_int(w->doc, "window_end", 0),
        .trigger = "auto",
        .triage_revision = sb_json_int(w->doc, "revision", 0),
    };
    a->analysis = ss_analysis_run(w->ss, w->inst, &req);
    if (!a->analysis)
        return -1;
    sb_json_add_str(w->doc, "analysis_id", sb_json_str(a->analysis, "id"));
    json_object *done = sb_json_arr(w->doc, "auto_analyzed_services");
    if (!done) {
        done = json_object_new_array();
        json_object_object_add(w->doc, "auto_analyzed_services", done);
    }
    json_object_array_add(done, json_object_new_string(service ? service : "*"));
    return ss_work_set_step(w, "analysis", "done");
}

static sb_status run_analysis(struct ss_work *w, sb_result *result)
{
    struct analysis_step a = {w, NULL};
    int rc = w->ss->host->transaction(w->ss->self, analyse_in_transaction, &a);
    json_object_put(a.analysis);
    if (rc != 0)
        return sb_result_set(result, SB_RETRY, "could not store the analysis");
    return SB_OK;
}

static const struct ss_step triage_steps[] = {
    {"note", post_triage_note, false, "triage note"},
    {"reply", post_public_reply, false, "public reply"},
    {"attributes", write_attributes, true, "triage attributes"},
    {"analysis", run_analysis, false, "analysis"},
    {NULL, NULL, false, NULL},
};

/* ---- deciding ---- */

struct service_refs {
    json_object *docs; /* the service documents (owned) */
    struct ss_service_ref *refs;
    const char **aliases; /* one block for every service's aliases */
    size_t n;
};

static void service_refs_load(struct ss_plugin *ss, sb_installation_id inst,
                              struct service_refs *out)
{
    out->docs = ss_services_list(ss, inst);
    out->n = json_object_array_length(out->docs);
    out->refs = pk_xcalloc(out->n ? out->n : 1, sizeof *out->refs);
    size_t total = 0;
    for (size_t i = 0; i < out->n; i++) {
        json_object *aliases = sb_json_arr(json_object_array_get_idx(out->docs, i), "aliases");
        total += aliases ? json_object_array_length(aliases) : 0;
    }
    out->aliases = pk_xcalloc(total ? total : 1, sizeof *out->aliases);
    size_t used = 0;
    for (size_t i = 0; i < out->n; i++) {
        json_object *svc = json_object_array_get_idx(out->docs, i);
        json_object *aliases = sb_json_arr(svc, "aliases");
        size_t na = aliases ? json_object_array_length(aliases) : 0;
        out->refs[i].name = sb_json_str(svc, "name") ? sb_json_str(svc, "name") : "";
        out->refs[i].aliases = out->aliases + used;
        for (size_t a = 0; a < na; a++)
            out->aliases[used + a] = json_object_get_string(json_object_array_get_idx(aliases, a));
        out->refs[i].n_aliases = na;
        used += na;
    }
}

static void service_refs_free(struct service_refs *r)
{
    json_object_put(r->docs);
    free(r->refs);
    free(r->aliases);
}

static bool already_auto_analyzed(json_object *previous, const char *service)
{
    json_object *done = sb_json_arr(previous, "auto_analyzed_services");
    for (size_t i = 0; done && i < json_object_array_length(done); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(done, i)),
                   service ? service : "*")
            == 0)
            return true;
    return false;
}

/* The triage revision for this conversation as it is now. New reference. */
static json_object *new_revision(struct ss_plugin *ss, sb_installation_id inst,
                                 const sb_event *ev, const struct ss_conversation_facts *facts,
                                 json_object *previous)
{
    struct ss_settings settings;
    ss_settings_of(ss, inst, &settings);
    struct ss_rules rules;
    ss_rules_of(ss, &settings, &rules);
    struct service_refs services;
    service_refs_load(ss, inst, &services);
    struct ss_triage t;
    ss_triage_text(&rules, facts->text, services.refs, services.n, &t);
    int64_t now = ss_now_ms(ss);
    int64_t created = facts->created_ms ? facts->created_ms
                      : ev->created_at  ? ev->created_at * 1000
                                        : now;
    int64_t start, end;
    ss_triage_window(created, settings.buffer_hours, now, &start, &end);
    const char *service = t.service[0] ? t.service : NULL;

    json_object *doc = json_object_new_object();
    sb_json_add_str(doc, "conversation_id", facts->id);
    sb_json_add_int(doc, "revision", sb_json_int(previous, "revision", 0) + 1);
    sb_json_add_str(doc, "notification_id", ev->notification_id);
    sb_json_add_str(doc, "severity", ss_severity_name(t.severity));
    sb_json_add_int(doc, "score", t.score);
    json_object *matches = json_object_new_array();
    for (size_t i = 0; i < t.n_matches; i++) {
        json_object *m = json_object_new_object();
        sb_json_add_str(m, "phrase", t.matches[i].phrase);
        sb_json_add_int(m, "weight", t.matches[i].weight);
        json_object_array_add(matches, m);
    }
    json_object_object_add(doc, "matches", matches);
    char *why_score = ss_triage_explain_score(&rules, &t);
    char *why_service = ss_triage_explain_service(&t);
    sb_json_add_str(doc, "score_explanation", why_score);
    sb_json_add_str(doc, "affected_service", service);
    sb_json_add_str(doc, "service_explanation", why_service);
    free(why_score);
    free(why_service);
    sb_json_add_int(doc, "window_start", start);
    sb_json_add_int(doc, "window_end", end);
    sb_json_add_int(doc, "conversation_created_at", created);
    sb_json_add_str(doc, "customer_name", facts->customer_name);
    sb_json_add_int(doc, "triaged_at", now);
    sb_json_add_int(doc, "last_checked_at", now);
    sb_json_add_str(doc, "posting_mode", ss_posting_mode_name(settings.posting_mode));
    sb_json_add_str(doc, "threshold", ss_threshold_name(settings.threshold));
    sb_json_add_str(doc, "reply_template", settings.reply_template);

    /* The plan: what this revision does, fixed now. */
    bool note = settings.posting_mode != SS_POST_PUBLIC;
    bool reply = settings.posting_mode != SS_POST_INTERNAL;
    json_object *attributes = json_object_new_object();
    if (settings.attribute_severity)
        sb_json_add_str(attributes, settings.attribute_severity, ss_severity_name(t.severity));
    if (settings.attribute_affected_service && service)
        sb_json_add_str(attributes, settings.attribute_affected_service, service);
    bool write = json_object_object_length(attributes) > 0;
    bool analyse = ss_threshold_reached(settings.threshold, t.severity)
                   && !already_auto_analyzed(previous, service);
    json_object *plan = json_object_new_object();
    sb_json_add_bool(plan, "note", note);
    sb_json_add_bool(plan, "reply", reply);
    json_object_object_add(plan, "attributes", write ? attributes : NULL);
    if (!write)
        json_object_put(attributes);
    sb_json_add_bool(plan, "analysis", analyse);
    json_object_object_add(doc, "plan", plan);
    json_object *steps = json_object_new_object();
    sb_json_add_str(steps, "note", note ? "pending" : "skipped");
    sb_json_add_str(steps, "reply", reply ? "pending" : "skipped");
    sb_json_add_str(steps, "attributes", write ? "pending" : "skipped");
    sb_json_add_str(steps, "analysis", analyse ? "pending" : "skipped");
    json_object_object_add(doc, "steps", steps);

    /* Carry over what earlier revisions did. */
    json_object *auto_done = sb_json_arr(previous, "auto_analyzed_services");
    json_object_object_add(doc, "auto_analyzed_services",
                           auto_done ? json_object_get(auto_done) : json_object_new_array());
    if (sb_json_str(previous, "analysis_id"))
        sb_json_add_str(doc, "analysis_id", sb_json_str(previous, "analysis_id"));
    json_object *history = json_object_new_array();
    json_object *old = sb_json_arr(previous, "history");
    size_t n_old = old ? json_object_array_length(old) : 0;
    for (size_t i = n_old >= HISTORY_MAX ? n_old - HISTORY_MAX + 1 : 0; i < n_old; i++)
        json_object_array_add(history, json_object_get(json_object_array_get_idx(old, i)));
    if (previous) {
        json_object *h = json_object_new_object();
        sb_json_add_int(h, "revision", sb_json_int(previous, "revision", 0));
        sb_json_add_str(h, "severity", sb_json_str(previous, "severity"));
        sb_json_add_str(h, "affected_service", sb_json_str(previous, "affected_service"));
        sb_json_add_int(h, "triaged_at", sb_json_int(previous, "triaged_at", 0));
        json_object_array_add(history, h);
    }
    json_object_object_add(doc, "history", history);

    service_refs_free(&services);
    ss_rules_free(&rules);
    ss_settings_clear(&settings);
    return doc;
}

static bool same_outcome(json_object *a, json_object *b)
{
    return pk_str_eq(sb_json_str(a, "severity"), sb_json_str(b, "severity"))
           && pk_str_eq(sb_json_str(a, "affected_service"), sb_json_str(b, "affected_service"));
}

/* ---- the event ---- */

struct fetch {
    struct ss_plugin *ss;
    sb_job_id job;
    sb_installation_id inst;
    sb_event event;         /* copied scalars; strings below are owned */
    char *notification_id;
    char *conversation_id;
};

static sb_status resume(struct ss_plugin *ss, sb_job_id job, sb_installation_id inst,
                        const char *conversation_id, json_object *doc, sb_result *result)
{
    struct ss_work *w = ss_work_new(ss, job, inst, SS_TRIAGE, conversation_id, conversation_id,
                                    doc, triage_steps);
    return ss_work_start(w, result);
}

static sb_status decide(struct fetch *f, json_object *conversation, sb_result *result)
{
    struct ss_plugin *ss = f->ss;
    struct ss_conversation_facts facts;
    if (!ss_conversation_facts(conversation, &facts))
        return sb_result_set(result, SB_FAIL, "Intercom returned a conversation without an id");
    json_object *previous = ss_get(ss, f->inst, SS_TRIAGE, f->conversation_id);
    json_object *next = new_revision(ss, f->inst, &f->event, &facts, previous);
    ss_conversation_facts_clear(&facts);
    json_object *doc;
    if (previous && same_outcome(previous, next)) {
        /* Nothing new to say: remember this notification, finish any pending step. */
        json_object_put(next);
        doc = previous;
        sb_json_add_str(doc, "notification_id", f->notification_id);
        sb_json_add_int(doc, "last_checked_at", ss_now_ms(ss));
    } else {
        json_object_put(previous);
        doc = next;
        const char *service = sb_json_str(doc, "affected_service");
        char *detail = pk_xasprintf("revision %lld: %s, %s",
                                    (long long)sb_json_int(doc, "revision", 1),
                                    sb_json_str(doc, "severity"),
                                    service ? service : "service not identified");
        ss->host->audit(ss->self, f->inst, f->conversation_id, "triaged", detail);
        free(detail);
    }
    if (ss_put(ss, f->inst, SS_TRIAGE, f->conversation_id, json_object_get(doc)) != 0) {
        json_object_put(doc);
        return sb_result_set(result, SB_RETRY, "could not save the triage");
    }
    return resume(ss, f->job, f->inst, f->conversation_id, doc, result);
}

static void fetched(void *arg, const sb_intercom_response *res)
{
    struct fetch *f = arg;
    sb_result result = {0};
    sb_status st;
    if (ss_conversation_gone(res))
        st = ss_skip_gone_conversation(f->ss, f->inst, f->conversation_id, &result);
    else if (res->error_code)
        st = ss_call_failure(f->ss, res, "reading the conversation", &result);
    else
        st = decide(f, res->body, &result);
    if (st != SB_PENDING)
        f->ss->host->job_complete(f->ss->self, f->job, st, &result);
    free(f->notification_id);
    free(f->conversation_id);
    free(f);
}

sb_status ss_on_event(void *state, const sb_event *ev, sb_result *result)
{
    struct ss_plugin *ss = state;
    if (strcmp(ev->topic, topic_created) != 0 && strcmp(ev->topic, topic_replied) != 0)
        return SB_OK;
    if (!ss_binding_active(ss, ev->installation)) {
        ss->host->log(ss->self, SB_LOG_INFO,
                      "notification %s: binding %lld is disconnected; ignored",
                      ev->notification_id, (long long)ev->installation);
        return SB_OK;
    }
    const char *conversation_id = sb_json_str(ev->item, "id");
    if (!ss_conversation_id_valid(conversation_id))
        return sb_result_set(result, SB_FAIL, "notification %s has no usable conversation id",
                             ev->notification_id);
    json_object *doc = ss_get(ss, ev->installation, SS_TRIAGE, conversation_id);
    if (doc && pk_str_eq(sb_json_str(doc, "notification_id"), ev->notification_id))
        return resume(ss, ev->job, ev->installation, conversation_id, doc, result);
    json_object_put(doc);

    struct fetch *f = pk_xcalloc(1, sizeof *f);
    f->ss = ss;
    f->job = ev->job;
    f->inst = ev->installation;
    f->event = *ev;
    f->notification_id = pk_xstrdup(ev->notification_id);
    f->conversation_id = pk_xstrdup(conversation_id);
    /* The borrowed members die with this callback; keep only owned copies. */
    f->event.notification_id = f->notification_id;
    f->event.topic = NULL;
    f->event.item = NULL;
    f->event.envelope = NULL;
    char path[128];
    snprintf(path, sizeof path, "/conversations/%s", conversation_id);
    sb_intercom_request req = {.method = "GET", .path = path};
    ss->host->intercom_request(ss->self, ev->installation, &req, fetched, f);
    return SB_PENDING;
}
