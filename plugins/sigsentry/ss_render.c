/* ss_render.c - notes, panel and analysis page from sigsentry's documents. */
#include "ss_render.h"

#include "ss_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared pieces ---- */

static void human_time(json_object *doc, const char *key, char out[SS_TIME_LEN])
{
    ss_time_human(sb_json_int(doc, key, 0), out);
}

/* "2026-11-24 08:00 UTC to 2026-11-24 10:05 UTC" */
static char *window_text(json_object *doc)
{
    char from[SS_TIME_LEN], to[SS_TIME_LEN];
    human_time(doc, "window_start", from);
    human_time(doc, "window_end", to);
    return pk_xasprintf("%s to %s", from, to);
}

static const char *service_label(json_object *doc, const char *key)
{
    const char *s = sb_json_str(doc, key);
    return s ? s : "not identified";
}

char *ss_render_analysis_summary(json_object *analysis)
{
    json_object *result = sb_json_obj(analysis, "result");
    int64_t errors = sb_json_int(result, "errors", 0);
    int64_t records = sb_json_int(result, "records", 0);
    int64_t signatures = sb_json_int(result, "distinct_signatures", 0);
    if (!errors)
        return pk_xasprintf("no errors in %lld log record%s", (long long)records,
                            records == 1 ? "" : "s");
    return pk_xasprintf("%lld error%s in %lld signature%s", (long long)errors,
                        errors == 1 ? "" : "s", (long long)signatures, signatures == 1 ? "" : "s");
}

/* "checkout-api" or "all services" */
static char *analysis_scope(json_object *analysis)
{
    const char *service = sb_json_str(analysis, "service");
    return service ? pk_xstrdup(service) : pk_xstrdup("all services");
}

/* ---- notes ---- */

char *ss_render_triage_note(json_object *triage)
{
    struct pk_buf b = {0};
    int64_t revision = sb_json_int(triage, "revision", 1);
    pk_buf_puts(&b, revision > 1 ? "<p><b>SigSentry triage (updated)</b></p><ul>"
                                 : "<p><b>SigSentry triage</b></p><ul>");
    pk_buf_puts(&b, "<li><b>Severity:</b> ");
    pk_buf_html(&b, sb_json_str(triage, "severity") ? sb_json_str(triage, "severity") : "low");
    pk_buf_puts(&b, " &mdash; ");
    pk_buf_html(&b, sb_json_str(triage, "score_explanation"));
    pk_buf_puts(&b, "</li><li><b>Affected service:</b> ");
    pk_buf_html(&b, service_label(triage, "affected_service"));
    pk_buf_puts(&b, " &mdash; ");
    pk_buf_html(&b, sb_json_str(triage, "service_explanation"));
    char *window = window_text(triage);
    pk_buf_puts(&b, "</li><li><b>Suggested log window:</b> ");
    pk_buf_html(&b, window);
    pk_buf_puts(&b, "</li></ul>");
    free(window);
    json_object *plan = sb_json_obj(triage, "plan");
    if (sb_json_bool(plan, "analysis", false))
        pk_buf_puts(&b, "<p>The severity reaches the auto-analyze threshold: an analysis of "
                        "this window follows.</p>");
    return pk_buf_steal(&b);
}

char *ss_render_analysis_note(json_object *analysis)
{
    struct pk_buf b = {0};
    char *scope = analysis_scope(analysis), *window = window_text(analysis);
    char *summary = ss_render_analysis_summary(analysis);
    json_object *result = sb_json_obj(analysis, "result");
    pk_buf_puts(&b, "<p><b>SigSentry analysis</b> of ");
    pk_buf_html(&b, scope);
    pk_buf_puts(&b, ", ");
    pk_buf_html(&b, window);
    pk_buf_printf(&b, "</p><p>%lld log records read: ",
                  (long long)sb_json_int(result, "records", 0));
    pk_buf_html(&b, summary);
    pk_buf_puts(&b, ".</p>");
    json_object *top = sb_json_arr(result, "top");
    size_t n = top ? json_object_array_length(top) : 0;
    if (n) {
        pk_buf_puts(&b, "<ol>");
        for (size_t i = 0; i < n; i++) {
            json_object *sig = json_object_array_get_idx(top, i);
            char first[SS_TIME_LEN], last[SS_TIME_LEN];
            human_time(sig, "first_seen", first);
            human_time(sig, "last_seen", last);
            pk_buf_puts(&b, "<li><code>");
            pk_buf_html(&b, sb_json_str(sig, "signature") ? sb_json_str(sig, "signature") : "");
            pk_buf_printf(&b, "</code>: %lld&times; (", (long long)sb_json_int(sig, "count", 0));
            pk_buf_html(&b, sb_json_str(sig, "service") ? sb_json_str(sig, "service") : "");
            pk_buf_printf(&b, "), first %s, last %s</li>", first, last);
        }
        pk_buf_puts(&b, "</ol>");
    }
    if (sb_json_bool(analysis, "truncated", false))
        pk_buf_puts(&b, "<p>The analysis stopped at its record limit; later records of the "
                        "window were not read.</p>");
    const char *url = sb_json_str(analysis, "url");
    if (url) {
        pk_buf_puts(&b, "<p><a href=\"");
        pk_buf_html(&b, url);
        pk_buf_puts(&b, "\">Open the full analysis</a></p>");
    }
    free(scope);
    free(window);
    free(summary);
    return pk_buf_steal(&b);
}

/* ---- Canvas Kit ---- */

static void add_field(json_object *items, const char *field, const char *value)
{
    json_object_array_add(items, sb_canvas_field_value(field, value));
}

json_object *ss_render_panel_text(const char *text)
{
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_text(text, "muted"));
    return sb_canvas(components);
}

static json_object *triage_table(json_object *triage)
{
    json_object *items = json_object_new_array();
    char *window = window_text(triage);
    char triaged[SS_TIME_LEN];
    human_time(triage, "triaged_at", triaged);
    const char *severity = sb_json_str(triage, "severity");
    const char *why = sb_json_str(triage, "score_explanation");
    add_field(items, "Severity", severity ? severity : "low");
    add_field(items, "Affected service", service_label(triage, "affected_service"));
    add_field(items, "Log window", window);
    add_field(items, "Why", why ? why : "");
    add_field(items, "Triaged", triaged);
    free(window);
    return sb_canvas_data_table(items);
}

static json_object *analysis_item(json_object *analysis)
{
    const char *analysis_id = sb_json_str(analysis, "id");
    char *id = pk_xasprintf("analysis-%s", analysis_id ? analysis_id : "");
    char *summary = ss_render_analysis_summary(analysis);
    char *scope = analysis_scope(analysis);
    char when[SS_TIME_LEN];
    human_time(analysis, "created_at", when);
    /* Capitalise the summary for a title. */
    if (summary[0] >= 'a' && summary[0] <= 'z')
        summary[0] = (char)(summary[0] - 'a' + 'A');
    json_object *item = sb_canvas_list_item(id, summary, when, scope, sb_json_str(analysis, "url"));
    free(id);
    free(summary);
    free(scope);
    return item;
}

json_object *ss_render_panel(json_object *triage, json_object *analyses, const char *notice,
                             bool offer_run)
{
    json_object *components = json_object_new_array();
    json_object_array_add(components, sb_canvas_text("SigSentry triage", "header"));
    if (triage)
        json_object_array_add(components, triage_table(triage));
    else
        json_object_array_add(components,
                              sb_canvas_text("SigSentry has not triaged this conversation yet. "
                                             "It triages conversations when a customer writes.",
                                             "muted"));
    if (notice)
        json_object_array_add(components, sb_canvas_text(notice, "paragraph"));
    json_object_array_add(components, sb_canvas_divider());
    json_object_array_add(components, sb_canvas_text("Recent analyses", "header"));
    size_t n = analyses ? json_object_array_length(analyses) : 0;
    if (n) {
        json_object *items = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(items, analysis_item(json_object_array_get_idx(analyses, i)));
        json_object_array_add(components, sb_canvas_list(items));
    } else {
        json_object_array_add(components, sb_canvas_text("No analyses yet.", "muted"));
    }
    if (offer_run)
        json_object_array_add(components,
                              sb_canvas_button(SS_PANEL_RUN_ANALYSIS, "Run analysis", "primary"));
    return sb_canvas(components);
}

/* ---- the analysis page ---- */

char *ss_render_analysis_page(json_object *analysis)
{
    struct pk_buf b = {0};
    char *scope = analysis_scope(analysis), *window = window_text(analysis);
    char *summary = ss_render_analysis_summary(analysis);
    char created[SS_TIME_LEN];
    human_time(analysis, "created_at", created);
    json_object *result = sb_json_obj(analysis, "result");
    pk_buf_puts(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                    "<meta name=\"robots\" content=\"noindex\">"
                    "<title>SigSentry analysis</title>"
                    "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
                    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
                    "text-align:left;vertical-align:top}code{white-space:pre-wrap}</style>"
                    "</head><body>\n<h1>SigSentry analysis</h1>\n<p>Conversation ");
    pk_buf_html(&b, sb_json_str(analysis, "conversation_id"));
    pk_buf_puts(&b, " &middot; ");
    pk_buf_html(&b, scope);
    pk_buf_puts(&b, " &middot; ");
    pk_buf_html(&b, window);
    pk_buf_printf(&b, " &middot; run %s</p>\n<p>%lld log records read: ", created,
                  (long long)sb_json_int(result, "records", 0));
    pk_buf_html(&b, summary);
    pk_buf_puts(&b, ".</p>\n<table><tr><th>Level</th><th>Records</th></tr>");
    json_object *levels = sb_json_obj(result, "by_level");
    if (levels) {
        json_object_object_foreach(levels, level, count) {
            pk_buf_puts(&b, "<tr><td>");
            pk_buf_html(&b, level);
            pk_buf_printf(&b, "</td><td>%lld</td></tr>", (long long)json_object_get_int64(count));
        }
    }
    pk_buf_puts(&b, "</table>\n<h2>Top error signatures</h2>\n");
    json_object *top = sb_json_arr(result, "top");
    size_t n = top ? json_object_array_length(top) : 0;
    if (!n)
        pk_buf_puts(&b, "<p>No errors in this window.</p>\n");
    else
        pk_buf_puts(&b, "<table><tr><th>#</th><th>Signature</th><th>Count</th><th>Service</th>"
                        "<th>Level</th><th>First seen</th><th>Last seen</th><th>Example</th>"
                        "</tr>\n");
    for (size_t i = 0; i < n; i++) {
        json_object *sig = json_object_array_get_idx(top, i);
        char first[SS_TIME_LEN], last[SS_TIME_LEN];
        ss_time_iso(sb_json_int(sig, "first_seen", 0), first);
        ss_time_iso(sb_json_int(sig, "last_seen", 0), last);
        pk_buf_printf(&b, "<tr><td>%zu</td><td><code>", i + 1);
        pk_buf_html(&b, sb_json_str(sig, "signature") ? sb_json_str(sig, "signature") : "");
        pk_buf_printf(&b, "</code></td><td>%lld</td><td>", (long long)sb_json_int(sig, "count", 0));
        pk_buf_html(&b, sb_json_str(sig, "service") ? sb_json_str(sig, "service") : "");
        pk_buf_puts(&b, "</td><td>");
        pk_buf_html(&b, sb_json_str(sig, "level") ? sb_json_str(sig, "level") : "");
        pk_buf_printf(&b, "</td><td>%s</td><td>%s</td><td><code>", first, last);
        pk_buf_html(&b, sb_json_str(sig, "sample") ? sb_json_str(sig, "sample") : "");
        pk_buf_puts(&b, "</code></td></tr>\n");
    }
    if (n)
        pk_buf_puts(&b, "</table>\n");
    int64_t ungrouped = sb_json_int(result, "ungrouped", 0);
    if (ungrouped)
        pk_buf_printf(&b, "<p>%lld further errors had too many distinct signatures to group.</p>\n",
                      (long long)ungrouped);
    if (sb_json_bool(analysis, "truncated", false))
        pk_buf_puts(&b, "<p>The analysis stopped at its record limit; later records of the "
                        "window were not read.</p>\n");
    pk_buf_puts(&b, "</body></html>\n");
    free(scope);
    free(window);
    free(summary);
    return pk_buf_steal(&b);
}
