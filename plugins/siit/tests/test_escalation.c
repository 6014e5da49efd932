/*
 * siit's escalations, teams and ticket webhooks on the SDK's testing kit, the
 * plugin's own sources linked in: the re-sync after the install, the
 * destination checks, the escalation job step by step with canned Intercom
 * answers (contact, ticket, assignment, link), the Idempotency-Key, a ticket
 * creation whose answer was lost, permanent failures, relink, and the ticket
 * state webhooks.
 */
#include "unit.h"

#include <switchboard/helpers.h>
#include <switchboard/testing.h>

const sb_plugin_descriptor *switchboard_plugin_entry(void);

static sbt_kit *kit;
static sb_installation_id inst;

#define TEAMS                                                                                  \
    "{\"type\":\"team.list\",\"teams\":["                                                      \
    "{\"type\":\"team\",\"id\":\"10\",\"name\":\"Support\",\"admin_ids\":[77]},"               \
    "{\"type\":\"team\",\"id\":\"20\",\"name\":\"Billing\",\"admin_ids\":[]},"                 \
    "{\"type\":\"team\",\"id\":\"30\",\"name\":\"Legal\",\"admin_ids\":[]}]}"
#define TYPES                                                                                  \
    "{\"type\":\"list\",\"data\":["                                                            \
    "{\"type\":\"ticket_type\",\"id\":\"5\",\"name\":\"Escalation\",\"category\":\"Back-office\"," \
    "\"archived\":false},"                                                                     \
    "{\"type\":\"ticket_type\",\"id\":\"6\",\"name\":\"Old\",\"category\":\"Customer\","       \
    "\"archived\":true}]}"
#define SPEC                                                                                   \
    "{\"team_id\":\"10\",\"ticket_type_id\":\"5\",\"subject\":\"Laptop broken\","              \
    "\"message\":\"Screen is black\",\"requester\":{\"email\":\"ada@example.com\","            \
    "\"name\":\"Ada\"},\"request_url\":\"https://acme.siit.io/requests/R-1\"}"

static void setup(void)
{
    char err[256];
    kit = sbt_new(switchboard_plugin_entry(), err, sizeof err);
    if (!kit || sbt_start(kit, "{}") != SB_OK) {
        fprintf(stderr, "siit did not start: %s\n", kit ? sbt_result(kit)->message : err);
        exit(2);
    }
    sbt_install_admin(kit, "77", "ops@example.com", "EU");
    /* Team 30: the admin's own team_ids say it is reachable although admin_ids do not. */
    sbt_intercom_on(kit, "GET", "/me", 200,
                    "{\"type\":\"admin\",\"id\":\"77\",\"team_ids\":[10,30]}");
    sbt_intercom_on(kit, "GET", "/teams", 200, TEAMS);
    sbt_intercom_on(kit, "GET", "/ticket_types", 200, TYPES);
    inst = sbt_install(kit, "ws1");
    sbt_run_due(kit);
    sbt_deliver_pending(kit);
    sbt_settings_set(kit, inst, "{\"selectable_teams\":[\"10\",\"20\"]}");
}

static const sbt_reply *api_with(const char *method, const char *path, const char *key,
                                 const char *body)
{
    char target[256], header[128];
    snprintf(target, sizeof target, "%s?workspace_id=ws1", path);
    snprintf(header, sizeof header, "Idempotency-Key: %s", key ? key : "");
    const char *const headers[] = {header, NULL};
    return sbt_api_headers(kit, method, target, key ? headers : NULL,
                           body ? "application/json" : NULL, body, body ? strlen(body) : 0);
}

static const sbt_reply *api(const char *method, const char *path, const char *body)
{
    return api_with(method, path, NULL, body);
}

static const char *error_code(const sbt_reply *r)
{
    return sb_json_str(sb_json_obj(r->json, "error"), "code");
}

static const char *timeline_kinds(const char *id)
{
    static char kinds[1024];
    char path[128];
    snprintf(path, sizeof path, "/requests/%s/timeline", id);
    json_object *entries = sb_json_arr(api("GET", path, NULL)->json, "entries");
    kinds[0] = '\0';
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        if (i)
            strcat(kinds, ",");
        strcat(kinds, sb_json_str(json_object_array_get_idx(entries, i), "kind"));
    }
    return kinds;
}

static size_t calls(const char *method, const char *path)
{
    size_t n = 0;
    for (size_t i = 0; i < sbt_intercom_count(kit); i++) {
        const sbt_call *c = sbt_intercom_call(kit, i);
        if (strcmp(c->method, method) == 0 && strcmp(c->path, path) == 0)
            n++;
    }
    return n;
}

static const sbt_call *last_call(const char *method, const char *path)
{
    for (size_t i = sbt_intercom_count(kit); i-- > 0;) {
        const sbt_call *c = sbt_intercom_call(kit, i);
        if (strcmp(c->method, method) == 0 && strcmp(c->path, path) == 0)
            return c;
    }
    return NULL;
}

static const sbt_product_event *last_event(const char *type)
{
    for (size_t i = sbt_product_event_count(kit); i-- > 0;)
        if (strcmp(sbt_product_event_at(kit, i)->type, type) == 0)
            return sbt_product_event_at(kit, i);
    return NULL;
}

/* Run the queued jobs and their Intercom calls until nothing is left to do. */
static void settle(void)
{
    while (sbt_run_due(kit) + sbt_deliver_pending(kit) > 0)
        ;
}

static json_object *escalation(const char *request_id, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/requests/%s/escalations/%s", request_id, id);
    return api("GET", path, NULL)->json;
}

static void ticket_answers(void)
{
    sbt_intercom_on(kit, "POST", "/contacts/search", 200,
                    "{\"type\":\"list\",\"data\":[{\"type\":\"contact\",\"id\":\"c1\"}]}");
    sbt_intercom_on(kit, "POST", "/tickets", 200, "{\"type\":\"ticket\",\"id\":\"t1\"}");
    sbt_intercom_on(kit, "PUT", "/tickets/t1", 200, "{\"type\":\"ticket\",\"id\":\"t1\"}");
}

static void teams_after_the_install(void)
{
    setup();
    const sbt_reply *r = api("GET", "/teams", NULL);
    CHECK_INT(r->status, 200);
    json_object *teams = sb_json_arr(r->json, "teams");
    CHECK_INT(json_object_array_length(teams), 3);
    json_object *support = json_object_array_get_idx(teams, 0);
    json_object *billing = json_object_array_get_idx(teams, 1);
    json_object *legal = json_object_array_get_idx(teams, 2);
    CHECK_STR(sb_json_str(support, "name"), "Support");
    CHECK(sb_json_bool(support, "selectable", false));
    CHECK(!sb_json_bool(billing, "reachable", true));
    CHECK(sb_json_bool(billing, "selected", false));
    CHECK(!sb_json_bool(billing, "selectable", true));
    CHECK(sb_json_str(billing, "problem") != NULL);
    CHECK(sb_json_bool(legal, "reachable", false));
    CHECK(!sb_json_bool(legal, "selected", true));
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "sync"), "state"), "ok");
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "sync"), "admin_id"), "77");
    r = api("GET", "/ticket_types", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "ticket_types")), 2);

    /* A failed re-sync keeps the last good lists and says why. */
    sbt_intercom_once(kit, "GET", "/teams", 403,
                      "{\"type\":\"error.list\",\"errors\":[{\"code\":\"forbidden\","
                      "\"message\":\"no scope\"}]}");
    CHECK_INT(api("POST", "/teams/sync", NULL)->status, 202);
    settle();
    r = api("GET", "/teams", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "teams")), 3);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "sync"), "state"), "failed");
    CHECK_CONTAINS(sb_json_str(sb_json_obj(r->json, "sync"), "error"), "GET /teams");
    sbt_free(kit);
}

static void escalation_runs_step_by_step(void)
{
    setup();
    ticket_answers();
    const sbt_reply *r = api_with("POST", "/requests/R-1/escalations", "k1", SPEC);
    CHECK_INT(r->status, 202);
    CHECK_STR(sb_json_str(r->json, "state"), "queued");
    char id[32];
    snprintf(id, sizeof id, "%s", sb_json_str(r->json, "id"));
    settle();
    json_object *esc = escalation("R-1", id);
    CHECK_STR(sb_json_str(esc, "state"), "created");
    CHECK_STR(sb_json_str(esc, "ticket_id"), "t1");
    CHECK_STR(sb_json_str(esc, "contact_id"), "c1");
    /* An EU workspace's inbox is on the EU host. */
    CHECK_STR(sb_json_str(esc, "ticket_url"),
              "https://app.eu.intercom.com/a/inbox/ws1/inbox/conversation/t1");
    CHECK_STR(timeline_kinds("R-1"),
              "escalation_queued,contact_found,ticket_created,ticket_assigned,link_sent");

    const sbt_call *create = last_call("POST", "/tickets");
    CHECK(create && !(create->flags & SB_INTERCOM_RETRY_SAFE)); /* a ticket must not repeat */
    json_object *attrs = sb_json_obj(create->body, "ticket_attributes");
    CHECK_STR(sb_json_str(attrs, "_default_title_"), "Laptop broken");
    CHECK_CONTAINS(sb_json_str(attrs, "_default_description_"), "Screen is black");
    CHECK_CONTAINS(sb_json_str(attrs, "_default_description_"),
                   "Siit request: https://acme.siit.io/requests/R-1");
    CHECK_CONTAINS(sb_json_str(attrs, "_default_description_"), "Priority: medium");
    CHECK_CONTAINS(sb_json_str(attrs, "_default_description_"), "[siit:R-1:esc_1]");
    CHECK_STR(sb_json_str(create->body, "ticket_type_id"), "5");
    CHECK_STR(sb_json_str(json_object_array_get_idx(sb_json_arr(create->body, "contacts"), 0), "id"),
              "c1");
    const sbt_call *assign = last_call("PUT", "/tickets/t1");
    CHECK_STR(sb_json_str(assign->body, "assignee_id"), "10");
    CHECK_INT(sb_json_int(assign->body, "admin_id", 0), 77);

    const sbt_product_event *ev = last_event("escalation.created");
    CHECK(ev != NULL);
    CHECK_STR(sb_json_str(ev->payload, "request_id"), "R-1");
    CHECK_STR(sb_json_str(ev->payload, "escalation_id"), id);
    CHECK_STR(sb_json_str(ev->payload, "ticket_id"), "t1");

    /* The same key again: the same escalation, nothing new sent. */
    r = api_with("POST", "/requests/R-1/escalations", "k1", SPEC);
    CHECK_INT(r->status, 202);
    CHECK_STR(sb_json_str(r->json, "id"), id);
    CHECK_STR(sb_json_str(r->json, "state"), "created");
    CHECK(sb_json_bool(r->json, "replayed", false));
    settle();
    CHECK_INT(calls("POST", "/tickets"), 1);
    r = api("GET", "/requests/R-1/escalations", NULL);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "escalations")), 1);
    sbt_free(kit);
}

static void a_lost_answer_is_found_by_the_marker(void)
{
    setup();
    sbt_intercom_on(kit, "POST", "/contacts/search", 200, "{\"type\":\"list\",\"data\":[]}");
    sbt_intercom_on(kit, "POST", "/contacts", 200, "{\"type\":\"contact\",\"id\":\"c9\"}");
    /* Intercom made the ticket, but its answer never came (a 502 from a proxy, say). */
    sbt_intercom_once(kit, "POST", "/tickets", 502, "{}");
    sbt_intercom_on(kit, "POST", "/tickets/search", 200,
                    "{\"type\":\"ticket.list\",\"tickets\":["
                    "{\"type\":\"ticket\",\"id\":\"t0\",\"ticket_attributes\":"
                    "{\"_default_description_\":\"another [siit:R-2:esc_9]\"}},"
                    "{\"type\":\"ticket\",\"id\":\"t7\",\"ticket_attributes\":"
                    "{\"_default_description_\":\"...\\n\\n[siit:R-2:esc_1]\"}}],"
                    "\"pages\":{\"type\":\"pages\",\"next\":null}}");
    sbt_intercom_on(kit, "PUT", "/tickets/t7", 200, "{\"type\":\"ticket\",\"id\":\"t7\"}");
    const sbt_reply *r = api("POST", "/requests/R-2/escalations", SPEC);
    CHECK_INT(r->status, 202);
    settle();
    /* The first run ended RETRY; the kit's clock brings the retry. */
    sbt_clock_advance(kit, 60000);
    settle();
    json_object *esc = escalation("R-2", "esc_1");
    CHECK_STR(sb_json_str(esc, "state"), "created");
    CHECK_STR(sb_json_str(esc, "ticket_id"), "t7");
    CHECK_INT(calls("POST", "/tickets"), 1);
    CHECK_INT(calls("POST", "/tickets/search"), 1);
    const sbt_call *search = last_call("POST", "/tickets/search");
    json_object *filters = sb_json_arr(sb_json_obj(search->body, "query"), "value");
    CHECK_STR(sb_json_str(json_object_array_get_idx(filters, 0), "value"), "c9");
    CHECK_STR(timeline_kinds("R-2"),
              "escalation_queued,contact_created,ticket_created,ticket_assigned,link_sent");
    sbt_free(kit);
}

static void permanent_failures_end_the_escalation(void)
{
    setup();
    sbt_intercom_on(kit, "POST", "/contacts/search", 200,
                    "{\"type\":\"list\",\"data\":[{\"type\":\"contact\",\"id\":\"c1\"}]}");
    sbt_intercom_on(kit, "POST", "/tickets", 400,
                    "{\"type\":\"error.list\",\"errors\":[{\"code\":\"parameter_invalid\","
                    "\"message\":\"Ticket type is archived\"}]}");
    const sbt_reply *r = api("POST", "/requests/R-3/escalations", SPEC);
    CHECK_INT(r->status, 202);
    settle();
    json_object *esc = escalation("R-3", "esc_1");
    CHECK_STR(sb_json_str(esc, "state"), "failed");
    CHECK_CONTAINS(sb_json_str(esc, "reason"), "Ticket type is archived");
    CHECK_STR(sb_json_str(esc, "code"), "invalid_request");
    CHECK_STR(timeline_kinds("R-3"), "escalation_queued,contact_found,escalation_failed");
    const sbt_product_event *ev = last_event("escalation.failed");
    CHECK(ev != NULL);
    CHECK_CONTAINS(sb_json_str(ev->payload, "reason"), "archived");
    CHECK(last_event("escalation.created") == NULL);
    r = api("POST", "/requests/R-3/relink", NULL);
    CHECK_INT(r->status, 409);
    CHECK_STR(error_code(r), "no_ticket");
    sbt_free(kit);
}

static void transient_failures_keep_it_queued(void)
{
    setup();
    sbt_intercom_on(kit, "POST", "/contacts/search", 503,
                    "{\"type\":\"error.list\",\"errors\":[{\"code\":\"service_unavailable\","
                    "\"message\":\"try later\"}]}");
    const sbt_reply *r = api("POST", "/requests/R-7/escalations", SPEC);
    CHECK_INT(r->status, 202);
    settle();
    json_object *esc = escalation("R-7", "esc_1");
    CHECK_STR(sb_json_str(esc, "state"), "queued");
    CHECK_CONTAINS(sb_json_str(esc, "last_error"), "try later");
    CHECK_INT(sbt_jobs_in_state(kit, "escalate", SBT_JOB_QUEUED), 1);
    CHECK(last_event("escalation.failed") == NULL);
    CHECK_STR(timeline_kinds("R-7"), "escalation_queued");
    sbt_free(kit);
}

static void refusals(void)
{
    setup();
    struct {
        const char *body;
        int status;
        const char *code;
    } cases[] = {
        {"{\"team_id\":\"30\",\"ticket_type_id\":\"5\",\"subject\":\"s\","
         "\"requester\":{\"email\":\"a@b.c\"},\"request_url\":\"https://x.io/1\"}",
         422, "team_not_selectable"},
        {"{\"team_id\":\"20\",\"ticket_type_id\":\"5\",\"subject\":\"s\","
         "\"requester\":{\"email\":\"a@b.c\"},\"request_url\":\"https://x.io/1\"}",
         422, "team_unreachable"},
        {"{\"team_id\":\"10\",\"ticket_type_id\":\"6\",\"subject\":\"s\","
         "\"requester\":{\"email\":\"a@b.c\"},\"request_url\":\"https://x.io/1\"}",
         422, "archived_ticket_type"},
        {"{\"team_id\":\"10\",\"subject\":\"s\","
         "\"requester\":{\"email\":\"a@b.c\"},\"request_url\":\"https://x.io/1\"}",
         422, "ticket_type_required"},
        {"{\"team_id\":\"10\",\"ticket_type_id\":\"5\",\"subject\":\"s\","
         "\"requester\":{\"email\":\"a@b.c\"}}",
         422, "request_url_unknown"},
        {"{\"team_id\":10,\"ticket_type_id\":5,\"subject\":\"s\",\"priority\":\"soon\","
         "\"requester\":{\"email\":\"a@b.c\"},\"request_url\":\"https://x.io/1\"}",
         400, "invalid_priority"},
        {"\"text\"", 400, "invalid_request"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sbt_reply *r = api("POST", "/requests/R-4/escalations", cases[i].body);
        CHECK_INT(r->status, cases[i].status);
        CHECK_STR(error_code(r), cases[i].code);
    }
    const sbt_reply *r = api_with("POST", "/requests/R-4/escalations", "bad\x7fkey", SPEC);
    CHECK_STR(error_code(r), "invalid_idempotency_key");
    CHECK_STR(timeline_kinds("R-4"), "");
    CHECK_INT(sbt_job_count(kit), 1); /* only the install's re-sync */
    /* A request reported by Siit lends its URL, subject and requester. */
    sbt_settings_set(kit, inst, "{\"request_url_template\":\"https://acme.siit.io/r/{request_id}\","
                                "\"default_ticket_type\":\"5\",\"default_priority\":\"low\"}");
    r = api("POST", "/requests/R-4/escalations",
            "{\"team_id\":\"10\",\"subject\":\"s\",\"requester\":{\"email\":\"a@b.c\"}}");
    CHECK_INT(r->status, 202);
    json_object *esc = escalation("R-4", sb_json_str(r->json, "id"));
    CHECK_STR(sb_json_str(esc, "request_url"), "https://acme.siit.io/r/R-4");
    CHECK_STR(sb_json_str(esc, "priority"), "low");
    CHECK_STR(sb_json_str(esc, "ticket_type_id"), "5");
    sbt_free(kit);
}

static void links_and_relink(void)
{
    setup();
    ticket_answers();
    sbt_product_webhook(kit, false);
    api("POST", "/requests/R-5/escalations", SPEC);
    settle();
    CHECK_STR(sb_json_str(escalation("R-5", "esc_1"), "state"), "created");
    CHECK_STR(timeline_kinds("R-5"),
              "escalation_queued,contact_found,ticket_created,ticket_assigned,link_failed");
    const sbt_reply *r = api("POST", "/requests/R-5/relink", NULL);
    CHECK_INT(r->status, 503);
    CHECK_STR(error_code(r), "product_webhook_missing");
    sbt_product_webhook(kit, true);
    r = api("POST", "/requests/R-5/relink", "{\"escalation_id\":\"esc_1\"}");
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(r->json, "ticket_id"), "t1");
    const sbt_product_event *ev = last_event("escalation.created");
    CHECK(ev && sb_json_bool(ev->payload, "relinked", false));
    CHECK_STR(timeline_kinds("R-5"), "escalation_queued,contact_found,ticket_created,"
                                     "ticket_assigned,link_failed,link_failed,link_sent");
    r = api("POST", "/requests/R-5/relink", "{\"escalation_id\":\"esc_2\"}");
    CHECK_STR(error_code(r), "unknown_escalation");
    r = api("POST", "/requests/R-5/relink", "[1]");
    CHECK_STR(error_code(r), "invalid_request");
    sbt_free(kit);
}

static void ticket_webhooks(void)
{
    setup();
    ticket_answers();
    api("POST", "/requests/R-6/escalations", SPEC);
    settle();
    size_t before = sbt_product_event_count(kit);
    sbt_webhook(kit, inst, "ticket.state.updated",
                "{\"type\":\"ticket\",\"id\":\"t1\",\"open\":true,\"ticket_state\":"
                "{\"type\":\"ticket_state\",\"category\":\"in_progress\","
                "\"internal_label\":\"In progress\"}}");
    /* The same state again (another topic for one change) adds nothing. */
    sbt_webhook(kit, inst, "ticket.state.updated",
                "{\"type\":\"ticket\",\"id\":\"t1\",\"ticket_state\":"
                "{\"category\":\"in_progress\"}}");
    /* A ticket of someone else, and a payload without a ticket, are ignored. */
    sbt_webhook(kit, inst, "ticket.state.updated",
                "{\"type\":\"ticket\",\"id\":\"t2\",\"ticket_state\":{\"category\":\"resolved\"}}");
    sbt_webhook(kit, inst, "ticket.closed", "{\"type\":\"ping\"}");
    sbt_webhook(kit, inst, "ticket.closed",
                "{\"ticket\":{\"type\":\"ticket\",\"id\":\"t1\",\"ticket_state\":"
                "{\"category\":\"resolved\",\"internal_label\":\"Resolved\"}}}");
    settle();
    CHECK_INT(sbt_product_event_count(kit) - before, 2);
    const sbt_product_event *first = sbt_product_event_at(kit, before);
    CHECK_STR(first->type, "ticket.state_changed");
    CHECK_STR(sb_json_str(first->payload, "state"), "in_progress");
    CHECK(!sb_json_bool(first->payload, "closed", true));
    CHECK_STR(sb_json_str(first->payload, "request_id"), "R-6");
    const sbt_product_event *closed = sbt_product_event_at(kit, before + 1);
    CHECK_STR(sb_json_str(closed->payload, "state"), "resolved");
    CHECK(sb_json_bool(closed->payload, "closed", false));
    CHECK_STR(timeline_kinds("R-6"), "escalation_queued,contact_found,ticket_created,"
                                     "ticket_assigned,link_sent,ticket_state_changed,"
                                     "ticket_state_changed");
    CHECK_INT(sbt_jobs_in_state(kit, NULL, SBT_JOB_DEAD), 0);
    sbt_free(kit);
}

int main(void)
{
    RUN(teams_after_the_install);
    RUN(escalation_runs_step_by_step);
    RUN(a_lost_answer_is_found_by_the_marker);
    RUN(permanent_failures_end_the_escalation);
    RUN(transient_failures_keep_it_queued);
    RUN(refusals);
    RUN(links_and_relink);
    RUN(ticket_webhooks);
    UNIT_DONE();
}
