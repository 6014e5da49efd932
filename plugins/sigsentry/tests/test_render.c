/* test_render.c - the exact notes, panel and page sigsentry shows. */
#include "ss_render.h"
#include "unit.h"

/* 2026-01-15T12:00:00Z */
#define NOW 1768478400000LL

static json_object *triage_doc(int revision, bool analysis)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "conversation_id", json_object_new_string("215"));
    json_object_object_add(t, "revision", json_object_new_int(revision));
    json_object_object_add(t, "severity", json_object_new_string("critical"));
    json_object_object_add(t, "score_explanation",
                           json_object_new_string("\"down\" +7, \"everyone\" +5 "
                                                  "(score 12; critical from 12)"));
    json_object_object_add(t, "affected_service", json_object_new_string("checkout-api"));
    json_object_object_add(t, "service_explanation",
                           json_object_new_string("named in the conversation "
                                                  "(\"checkout\", 1 mention)"));
    json_object_object_add(t, "window_start", json_object_new_int64(NOW - 2 * 3600000LL));
    json_object_object_add(t, "window_end", json_object_new_int64(NOW + 5 * 60000LL));
    json_object_object_add(t, "triaged_at", json_object_new_int64(NOW + 5 * 60000LL));
    json_object *plan = json_object_new_object();
    json_object_object_add(plan, "analysis", json_object_new_boolean(analysis));
    json_object_object_add(t, "plan", plan);
    return t;
}

static json_object *analysis_doc(const char *id, long long errors)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"id\":\"%s\",\"conversation_id\":\"215\",\"service\":\"checkout-api\","
             "\"window_start\":%lld,\"window_end\":%lld,\"created_at\":%lld,"
             "\"url\":\"https://sb.example.com/api/sigsentry/analyses/%s\",\"truncated\":false,"
             "\"result\":{\"records\":40,\"by_level\":{\"debug\":0,\"info\":30,\"warn\":%lld,"
             "\"error\":%lld,\"critical\":0},\"errors\":%lld,\"distinct_signatures\":%d,"
             "\"ungrouped\":0,\"top\":%s}}",
             id, NOW - 7200000LL, NOW + 300000LL, NOW + 300000LL, id, 10 - errors, errors, errors,
             errors ? 1 : 0,
             errors ? "[{\"signature\":\"card <n> declined\",\"count\":4,"
                      "\"first_seen\":1768474800000,\"last_seen\":1768478100000,"
                      "\"level\":\"error\",\"service\":\"checkout-api\","
                      "\"sample\":\"card 4242 declined\"}]"
                    : "[]");
    return json_tokener_parse(text);
}

static void test_triage_note(void)
{
    json_object *t = triage_doc(1, true);
    char *html = ss_render_triage_note(t);
    CHECK_STR(html,
              "<p><b>SigSentry triage</b></p><ul>"
              "<li><b>Severity:</b> critical &mdash; &quot;down&quot; +7, &quot;everyone&quot; +5 "
              "(score 12; critical from 12)</li>"
              "<li><b>Affected service:</b> checkout-api &mdash; named in the conversation "
              "(&quot;checkout&quot;, 1 mention)</li>"
              "<li><b>Suggested log window:</b> 2026-01-15 10:00 UTC to 2026-01-15 12:05 UTC</li>"
              "</ul><p>The severity reaches the auto-analyze threshold: an analysis of this window "
              "follows.</p>");
    free(html);
    json_object_put(t);

    t = triage_doc(2, false);
    json_object_object_add(t, "affected_service", NULL);
    html = ss_render_triage_note(t);
    CHECK_CONTAINS(html, "<p><b>SigSentry triage (updated)</b></p>");
    CHECK_CONTAINS(html, "<b>Affected service:</b> not identified &mdash;");
    CHECK(strstr(html, "analysis of this window") == NULL);
    free(html);
    json_object_put(t);
}

static void test_analysis_note(void)
{
    json_object *a = analysis_doc("0123456789abcdef0123456789abcdef", 4);
    char *html = ss_render_analysis_note(a);
    CHECK_STR(html,
              "<p><b>SigSentry analysis</b> of checkout-api, 2026-01-15 10:00 UTC to 2026-01-15 "
              "12:05 UTC</p><p>40 log records read: 4 errors in 1 signature.</p>"
              "<ol><li><code>card &lt;n&gt; declined</code>: 4&times; (checkout-api), first "
              "2026-01-15 11:00 UTC, last 2026-01-15 11:55 UTC</li></ol>"
              "<p><a href=\"https://sb.example.com/api/sigsentry/analyses/"
              "0123456789abcdef0123456789abcdef\">Open the full analysis</a></p>");
    free(html);
    char *summary = ss_render_analysis_summary(a);
    CHECK_STR(summary, "4 errors in 1 signature");
    free(summary);
    json_object_put(a);

    a = analysis_doc("ffffffffffffffffffffffffffffffff", 0);
    json_object_object_add(a, "service", NULL);
    html = ss_render_analysis_note(a);
    CHECK_CONTAINS(html, "of all services,");
    CHECK_CONTAINS(html, "40 log records read: no errors in 40 log records.");
    CHECK(strstr(html, "<ol>") == NULL);
    free(html);
    json_object_put(a);
}

static json_object *component(json_object *panel, size_t i)
{
    json_object *canvas = json_object_object_get(panel, "canvas");
    json_object *content = json_object_object_get(canvas, "content");
    return json_object_array_get_idx(json_object_object_get(content, "components"), i);
}

static size_t components(json_object *panel)
{
    json_object *canvas = json_object_object_get(panel, "canvas");
    json_object *content = json_object_object_get(canvas, "content");
    return json_object_array_length(json_object_object_get(content, "components"));
}

static const char *member(json_object *o, const char *key)
{
    return json_object_get_string(json_object_object_get(o, key));
}

static void test_panel(void)
{
    json_object *t = triage_doc(1, true);
    json_object *analyses = json_object_new_array();
    json_object_array_add(analyses, analysis_doc("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 4));
    json_object_array_add(analyses, analysis_doc("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0));
    json_object *panel = ss_render_panel(t, analyses, "Analysis complete: 4 errors in 1 signature.",
                                         true);
    CHECK_INT(components(panel), 7);
    CHECK_STR(member(component(panel, 0), "text"), "SigSentry triage");
    json_object *table = component(panel, 1);
    CHECK_STR(member(table, "type"), "data-table");
    json_object *items = json_object_object_get(table, "items");
    CHECK_INT(json_object_array_length(items), 5);
    CHECK_STR(member(json_object_array_get_idx(items, 0), "field"), "Severity");
    CHECK_STR(member(json_object_array_get_idx(items, 0), "value"), "critical");
    CHECK_STR(member(json_object_array_get_idx(items, 1), "value"), "checkout-api");
    CHECK_STR(member(json_object_array_get_idx(items, 2), "value"),
              "2026-01-15 10:00 UTC to 2026-01-15 12:05 UTC");
    CHECK_STR(member(component(panel, 2), "text"), "Analysis complete: 4 errors in 1 signature.");
    CHECK_STR(member(component(panel, 3), "type"), "divider");
    CHECK_STR(member(component(panel, 4), "text"), "Recent analyses");
    json_object *list = json_object_object_get(component(panel, 5), "items");
    CHECK_INT(json_object_array_length(list), 2);
    json_object *first = json_object_array_get_idx(list, 0);
    CHECK_STR(member(first, "id"), "analysis-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    CHECK_STR(member(first, "title"), "4 errors in 1 signature");
    CHECK_STR(member(first, "subtitle"), "2026-01-15 12:05 UTC");
    CHECK_STR(member(first, "tertiary_text"), "checkout-api");
    CHECK_STR(member(json_object_object_get(first, "action"), "url"),
              "https://sb.example.com/api/sigsentry/analyses/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    CHECK_STR(member(json_object_array_get_idx(list, 1), "title"), "No errors in 40 log records");
    json_object *button = component(panel, 6);
    CHECK_STR(member(button, "id"), SS_PANEL_RUN_ANALYSIS);
    CHECK_STR(member(button, "label"), "Run analysis");
    CHECK_STR(member(json_object_object_get(button, "action"), "type"), "submit");
    json_object_put(panel);
    json_object_put(t);
    json_object_put(analyses);

    panel = ss_render_panel(NULL, NULL, NULL, false);
    CHECK_INT(components(panel), 5); /* header, text, divider, header, text: no button */
    CHECK_CONTAINS(member(component(panel, 1), "text"), "has not triaged this conversation yet");
    CHECK_STR(member(component(panel, 4), "text"), "No analyses yet.");
    json_object_put(panel);

    panel = ss_render_panel_text("disconnected");
    CHECK_STR(member(component(panel, 0), "style"), "muted");
    json_object_put(panel);
}

static void test_page(void)
{
    json_object *a = analysis_doc("0123456789abcdef0123456789abcdef", 4);
    char *html = ss_render_analysis_page(a);
    CHECK_CONTAINS(html, "<h1>SigSentry analysis</h1>");
    CHECK_CONTAINS(html, "Conversation 215 &middot; checkout-api &middot; 2026-01-15 10:00 UTC to "
                         "2026-01-15 12:05 UTC");
    CHECK_CONTAINS(html, "<tr><td>error</td><td>4</td></tr>");
    CHECK_CONTAINS(html, "<tr><td>1</td><td><code>card &lt;n&gt; declined</code></td><td>4</td>"
                         "<td>checkout-api</td><td>error</td><td>2026-01-15T11:00:00.000Z</td>"
                         "<td>2026-01-15T11:55:00.000Z</td><td><code>card 4242 declined</code>"
                         "</td></tr>");
    free(html);
    json_object_put(a);
}

int main(void)
{
    RUN(test_triage_note);
    RUN(test_analysis_note);
    RUN(test_panel);
    RUN(test_page);
    UNIT_DONE();
}
