/*
 * siit's workflow runs on the SDK's testing kit, the plugin's own sources
 * linked in (so the test can also call what siit-core calls, such as
 * si_workflow_escalation_done): triggers start each workflow once per
 * request; actions run in order through "workflow" jobs; an approval waits
 * for approve or reject or its deadline (a delayed job); the timeline and
 * the product events tell each step; bad input gets clear 4xx answers.
 */
#include "unit.h"

#include "si_workflow.h"

#include <switchboard/helpers.h>
#include <switchboard/testing.h>

const sb_plugin_descriptor *switchboard_plugin_entry(void);

static const char options[] =
    "{\"workflows\":["
    "{\"name\":\"Specialist handoff\",\"trigger\":{\"tag\":\"customer-support\"},\"actions\":["
    " {\"type\":\"approval\",\"approver\":\"Support manager\",\"timeout\":\"1h\"},"
    " {\"type\":\"set_priority\",\"priority\":\"high\"},"
    " {\"type\":\"notify_requester\",\"message\":\"Hi {{requester.name}}, {{request.subject}} "
    "is with a specialist.\"}]},"
    "{\"name\":\"Customer issue escalation\",\"trigger\":{\"service\":\"Customer issue\"},"
    " \"actions\":[{\"type\":\"set_priority\",\"priority\":\"urgent\"},"
    " {\"type\":\"notify_requester\",\"message\":\"We are on it ({{workflow.name}}).\"}]},"
    "{\"name\":\"Straight to Intercom\",\"trigger\":{\"tag\":\"escalate-now\"},\"actions\":["
    " {\"type\":\"create_intercom_ticket\",\"team_id\":\"999\"},"
    " {\"type\":\"notify_requester\",\"message\":\"Escalated.\"}]}"
    "]}";

static sbt_kit *kit;
static sb_installation_id inst;

static void setup(void)
{
    char err[256];
    kit = sbt_new(switchboard_plugin_entry(), err, sizeof err);
    if (!kit || sbt_start(kit, options) != SB_OK) {
        fprintf(stderr, "siit did not start: %s\n", kit ? sbt_result(kit)->message : err);
        exit(2);
    }
    inst = sbt_install(kit, "ws1");
    if (!inst) {
        fprintf(stderr, "install refused\n");
        exit(2);
    }
}

static const char *error_code(const sbt_reply *r)
{
    return sb_json_str(sb_json_obj(r->json, "error"), "code");
}

static const sbt_reply *api(const char *method, const char *path, const char *body)
{
    char target[256];
    snprintf(target, sizeof target, "%s%sworkspace_id=ws1", path, strchr(path, '?') ? "&" : "?");
    return sbt_api(kit, method, target, body);
}

static const sbt_reply *report(const char *id, const char *service)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"service\":\"%s\",\"subject\":\"VPN is down\","
             "\"url\":\"https://acme.siit.io/requests/%s\","
             "\"requester\":{\"email\":\"ada@example.com\",\"name\":\"Ada\"}}",
             id, service, id);
    return api("POST", "/requests", body);
}

static const sbt_reply *tag(const char *id, const char *name)
{
    char path[128], body[128];
    snprintf(path, sizeof path, "/requests/%s/tags", id);
    snprintf(body, sizeof body, "{\"tag\":\"%s\"}", name);
    return api("POST", path, body);
}

/* The kinds of a request's timeline entries, comma-separated (static buffer). */
static const char *timeline_kinds(const char *id)
{
    static char kinds[1024];
    char path[128];
    snprintf(path, sizeof path, "/requests/%s/timeline", id);
    const sbt_reply *r = api("GET", path, NULL);
    kinds[0] = '\0';
    json_object *entries = sb_json_arr(r->json, "entries");
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        if (i)
            strcat(kinds, ",");
        strcat(kinds, sb_json_str(json_object_array_get_idx(entries, i), "kind"));
    }
    return kinds;
}

/* Run @p i of a request (GET /requests/{id}/workflows); borrowed from the kit's reply. */
static json_object *run_of(const char *id, size_t i)
{
    char path[128];
    snprintf(path, sizeof path, "/requests/%s/workflows", id);
    const sbt_reply *r = api("GET", path, NULL);
    CHECK_INT(r->status, 200);
    return json_object_array_get_idx(sb_json_arr(r->json, "runs"), i);
}

static size_t run_count(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/requests/%s/workflows", id);
    return json_object_array_length(sb_json_arr(api("GET", path, NULL)->json, "runs"));
}

/* Product event types so far, comma-separated, from @p from on. */
static const char *event_types(size_t from)
{
    static char types[1024];
    types[0] = '\0';
    for (size_t i = from; i < sbt_product_event_count(kit); i++) {
        if (i > from)
            strcat(types, ",");
        strcat(types, sbt_product_event_at(kit, i)->type);
    }
    return types;
}

static const sbt_product_event *last_event(const char *type)
{
    for (size_t i = sbt_product_event_count(kit); i-- > 0;)
        if (strcmp(sbt_product_event_at(kit, i)->type, type) == 0)
            return sbt_product_event_at(kit, i);
    return NULL;
}

static void approved_runs_to_the_end(void)
{
    setup();
    const sbt_reply *r = report("R-1", "IT");
    CHECK_INT(r->status, 201);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "workflows_started")), 0);
    r = tag("R-1", "Customer-Support"); /* tags compare without regard to case */
    CHECK_INT(r->status, 200);
    CHECK_STR(json_object_get_string(
                  json_object_array_get_idx(sb_json_arr(r->json, "workflows_started"), 0)),
              "R-1|001");
    sbt_run_due(kit);
    json_object *run = run_of("R-1", 0);
    CHECK_STR(sb_json_str(run, "state"), "waiting_approval");
    CHECK_STR(sb_json_str(sb_json_obj(run, "approval"), "approver"), "Support manager");
    CHECK_STR(event_types(0), "workflow.started,approval.requested");
    CHECK_STR(timeline_kinds("R-1"), "workflow_started,approval_requested");

    r = api("POST", "/requests/R-1/approve", "{\"by\":\"Grace\",\"comment\":\"go\"}");
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "run"), "state"), "running");
    sbt_run_due(kit);
    run = run_of("R-1", 0);
    CHECK_STR(sb_json_str(run, "state"), "completed");
    CHECK_STR(sb_json_str(sb_json_obj(run, "approval"), "decision"), "approved");
    CHECK_STR(sb_json_str(sb_json_obj(run, "approval"), "decided_by"), "Grace");
    CHECK_STR(timeline_kinds("R-1"), "workflow_started,approval_requested,approved,priority_set,"
                                     "requester_notified,workflow_finished");
    CHECK_STR(event_types(0), "workflow.started,approval.requested,request.priority_set,"
                              "requester.notified,workflow.finished");
    const sbt_product_event *ev = last_event("requester.notified");
    CHECK_STR(sb_json_str(ev->payload, "message"), "Hi Ada, VPN is down is with a specialist.");
    CHECK_STR(sb_json_str(sb_json_obj(ev->payload, "requester"), "email"), "ada@example.com");
    CHECK_STR(sb_json_str(ev->payload, "run_id"), "R-1|001");
    CHECK_STR(sb_json_str(last_event("workflow.finished")->payload, "outcome"), "completed");
    CHECK_STR(sb_json_str(last_event("request.priority_set")->payload, "priority"), "high");

    /* The same tag again, and a new one, start nothing more; nothing waits for a decision. */
    CHECK_INT(json_object_array_length(
                  sb_json_arr(tag("R-1", "customer-support")->json, "workflows_started")),
              0);
    CHECK_INT(run_count("R-1"), 1);
    r = api("POST", "/requests/R-1/approve", NULL);
    CHECK_INT(r->status, 409);
    CHECK_STR(error_code(r), "no_pending_approval");
    sbt_free(kit);
}

static void rejected_ends_the_run(void)
{
    setup();
    report("R-2", "IT");
    tag("R-2", "customer-support");
    sbt_run_due(kit);
    size_t events = sbt_product_event_count(kit);
    const sbt_reply *r = api("POST", "/requests/R-2/reject", "{\"by\":\"Grace\"}");
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(sb_json_obj(r->json, "run"), "state"), "rejected");
    sbt_run_due(kit);
    CHECK_STR(timeline_kinds("R-2"),
              "workflow_started,approval_requested,rejected,workflow_finished");
    CHECK_STR(event_types(events), "workflow.finished");
    CHECK_STR(sb_json_str(last_event("workflow.finished")->payload, "outcome"), "rejected");
    CHECK_STR(sb_json_str(last_event("workflow.finished")->payload, "reason"), "rejected by Grace");
    /* The deadline passing later changes nothing. */
    sbt_clock_advance(kit, 2 * 3600 * 1000);
    sbt_run_due(kit);
    CHECK_STR(sb_json_str(run_of("R-2", 0), "state"), "rejected");
    CHECK_STR(timeline_kinds("R-2"),
              "workflow_started,approval_requested,rejected,workflow_finished");
    CHECK_INT(api("POST", "/requests/R-2/approve", NULL)->status, 409);
    sbt_free(kit);
}

static void timeout_rejects(void)
{
    setup();
    report("R-3", "IT");
    tag("R-3", "customer-support");
    sbt_run_due(kit);
    /* Not yet: a minute before the deadline. */
    sbt_clock_advance(kit, 59 * 60 * 1000);
    sbt_run_due(kit);
    CHECK_STR(sb_json_str(run_of("R-3", 0), "state"), "waiting_approval");
    /* The approval's deadline job holds no key: the request's other work goes on meanwhile. */
    report("R-3", "Customer issue");
    sbt_run_due(kit);
    CHECK_STR(sb_json_str(run_of("R-3", 1), "state"), "completed");
    sbt_clock_advance(kit, 61 * 1000);
    sbt_run_due(kit);
    json_object *run = run_of("R-3", 0);
    CHECK_STR(sb_json_str(run, "state"), "rejected");
    CHECK_STR(sb_json_str(sb_json_obj(run, "approval"), "decision"), "timed_out");
    CHECK_STR(sb_json_str(run, "reason"), "no decision from Support manager within 1h");
    CHECK_CONTAINS(timeline_kinds("R-3"), "approval_requested,workflow_started");
    CHECK_CONTAINS(timeline_kinds("R-3"), ",approval_timed_out,workflow_finished");
    const sbt_reply *r = api("POST", "/requests/R-3/approve", NULL);
    CHECK_INT(r->status, 409);
    sbt_free(kit);
}

static void service_trigger_once(void)
{
    setup();
    const sbt_reply *r = report("R-4", "customer issue");
    CHECK_INT(r->status, 201);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "workflows_started")), 1);
    /* Siit reporting the same request again starts nothing. */
    r = report("R-4", "Customer issue");
    CHECK_INT(r->status, 200);
    CHECK_INT(json_object_array_length(sb_json_arr(r->json, "workflows_started")), 0);
    sbt_run_due(kit);
    CHECK_INT(run_count("R-4"), 1);
    CHECK_STR(sb_json_str(run_of("R-4", 0), "state"), "completed");
    CHECK_STR(timeline_kinds("R-4"),
              "workflow_started,priority_set,requester_notified,workflow_finished");
    CHECK_STR(sb_json_str(last_event("requester.notified")->payload, "message"),
              "We are on it (Customer issue escalation).");
    /* The request says what Siit was told. */
    r = api("GET", "/requests/R-4/workflows", NULL);
    CHECK_INT(r->status, 200);
    sbt_free(kit);
}

static void refused_ticket_fails_the_run(void)
{
    setup();
    report("R-5", "IT");
    tag("R-5", "escalate-now");
    sbt_run_due(kit);
    /* Team 999 is not selectable in this workspace: the escalation is refused. */
    json_object *run = run_of("R-5", 0);
    CHECK_STR(sb_json_str(run, "state"), "failed");
    CHECK_STR(timeline_kinds("R-5"), "workflow_started,escalation_failed,workflow_finished");
    CHECK(last_event("requester.notified") == NULL);
    CHECK_CONTAINS(sb_json_str(run, "reason"), "999");
    sbt_free(kit);
}

/* A run waiting for its escalation, written as si_workflow.c writes it. */
static void put_waiting_run(const char *escalation_id)
{
    json_object *run = json_tokener_parse(
        "{\"id\":\"R-6|001\",\"request_id\":\"R-6\",\"workflow\":\"Straight to Intercom\","
        "\"trigger\":{\"tag\":\"escalate-now\"},\"step\":0,\"state\":\"waiting_escalation\","
        "\"actions\":[{\"type\":\"create_intercom_ticket\",\"team_id\":\"999\"},"
        "{\"type\":\"notify_requester\",\"message\":\"Escalated.\"}],\"history\":[]}");
    sb_json_add_str(run, "escalation_id", escalation_id);
    sbt_host(kit)->doc_put(sbt_plugin(kit), inst, SI_RUNS, "R-6|001", run);
    json_object_put(run);
}

static void escalation_done_resumes(void)
{
    setup();
    report("R-6", "IT");
    put_waiting_run("esc_7");
    si_state *st = sbt_state(kit);
    /* Another escalation's end is not this run's. */
    si_workflow_escalation_done(st, inst, "R-6|001", "esc_8", true, NULL);
    CHECK_STR(sb_json_str(run_of("R-6", 0), "state"), "waiting_escalation");
    si_workflow_escalation_done(st, inst, "R-6|001", "esc_7", true, NULL);
    CHECK_STR(sb_json_str(run_of("R-6", 0), "state"), "running");
    sbt_run_due(kit);
    CHECK_STR(sb_json_str(run_of("R-6", 0), "state"), "completed");
    CHECK_STR(timeline_kinds("R-6"), "requester_notified,workflow_finished");
    /* A failed escalation fails the run with its reason. */
    put_waiting_run("esc_9");
    si_workflow_escalation_done(st, inst, "R-6|001", "esc_9", false, "team 999 is gone");
    json_object *run = run_of("R-6", 0);
    CHECK_STR(sb_json_str(run, "state"), "failed");
    CHECK_STR(sb_json_str(run, "reason"), "the Intercom ticket was not created: team 999 is gone");
    sbt_free(kit);
}

static void bad_input(void)
{
    setup();
    const sbt_reply *r = api("POST", "/requests", "{\"id\":\"R 1\"}");
    CHECK_INT(r->status, 400);
    CHECK_STR(error_code(r), "invalid_request_id");
    r = sbt_api_raw(kit, "POST", "/requests?workspace_id=ws1", "application/json", "{\"id\":", 6);
    CHECK_INT(r->status, 400);
    r = api("POST", "/requests", "[1]");
    CHECK_INT(r->status, 400);
    CHECK_STR(error_code(r), "invalid_json");
    r = api("POST", "/requests", "{\"id\":\"R-7\",\"service\":42}");
    CHECK_INT(r->status, 400);
    CHECK_STR(error_code(r), "invalid_request");
    CHECK_CONTAINS(r->body, "service must be a string");
    r = api("POST", "/requests", "{\"id\":\"R-7\",\"url\":\"javascript:alert(1)\"}");
    CHECK_INT(r->status, 400);
    r = api("POST", "/requests", "{\"id\":\"R-7\",\"priority\":\"asap\"}");
    CHECK_INT(r->status, 400);
    r = api("POST", "/requests", "{\"id\":\"R-7\",\"requester\":{\"email\":\"nobody\"}}");
    CHECK_INT(r->status, 400);
    CHECK_INT(api("GET", "/requests/R-7/workflows", NULL)->status, 404); /* nothing was stored */
    r = tag("R-404", "customer-support");
    CHECK_INT(r->status, 404);
    CHECK_STR(error_code(r), "unknown_request");
    report("R-7", "IT");
    r = api("POST", "/requests/R-7/tags", "{}");
    CHECK_INT(r->status, 400);
    r = api("POST", "/requests/R-7/tags", "{\"tag\":\"\"}");
    CHECK_INT(r->status, 400);
    r = api("POST", "/requests/R-7/approve", "not json");
    CHECK_INT(r->status, 400);
    r = api("POST", "/requests/R-7/approve", "{\"by\":7}");
    CHECK_INT(r->status, 400);
    r = api("POST", "/requests/R-404/approve", NULL);
    CHECK_INT(r->status, 404);
    tag("R-7", "customer-support");
    sbt_run_due(kit);
    r = api("POST", "/requests/R-7/approve", "{\"run_id\":\"R-7|009\"}");
    CHECK_INT(r->status, 404);
    CHECK_STR(error_code(r), "unknown_run");
    r = api("POST", "/requests/R-7/approve", "{\"run_id\":\"R-7|001\"}");
    CHECK_INT(r->status, 200);
    /* A request keeps at most 100 tags; one it has already is no new tag. */
    for (int i = 1; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        CHECK_INT(tag("R-7", name)->status, 200);
    }
    r = tag("R-7", "one-too-many");
    CHECK_INT(r->status, 422);
    CHECK_STR(error_code(r), "too_many_tags");
    CHECK_INT(tag("R-7", "T5")->status, 200);
    /* Without an installation the host refuses before the plugin runs. */
    CHECK_INT(sbt_api(kit, "POST", "/requests", "{\"id\":\"R-8\"}")->status, 400);
    sbt_free(kit);
}

static void several_pending_need_a_run_id(void)
{
    char err[256];
    kit = sbt_new(switchboard_plugin_entry(), err, sizeof err);
    sbt_start(kit,
              "{\"workflows\":["
              "{\"name\":\"A\",\"trigger\":{\"tag\":\"x\"},\"actions\":[{\"type\":\"approval\","
              "\"approver\":\"m\"}]},"
              "{\"name\":\"B\",\"trigger\":{\"tag\":\"x\"},\"actions\":[{\"type\":\"approval\","
              "\"approver\":\"n\"}]}]}");
    sbt_install(kit, "ws1");
    report("R-9", "IT");
    CHECK_INT(json_object_array_length(sb_json_arr(tag("R-9", "x")->json, "workflows_started")),
              2);
    sbt_run_due(kit);
    const sbt_reply *r = api("POST", "/requests/R-9/approve", NULL);
    CHECK_INT(r->status, 409);
    CHECK_STR(error_code(r), "several_pending_approvals");
    CHECK_INT(api("POST", "/requests/R-9/reject", "{\"run_id\":\"R-9|002\"}")->status, 200);
    CHECK_INT(api("POST", "/requests/R-9/approve", NULL)->status, 200);
    CHECK_STR(sb_json_str(run_of("R-9", 0), "state"), "completed");
    CHECK_STR(sb_json_str(run_of("R-9", 1), "state"), "rejected");
    sbt_free(kit);
}

int main(void)
{
    RUN(approved_runs_to_the_end);
    RUN(rejected_ends_the_run);
    RUN(timeout_rejects);
    RUN(service_trigger_once);
    RUN(refused_ticket_fails_the_run);
    RUN(escalation_done_resumes);
    RUN(bad_input);
    RUN(several_pending_need_a_run_id);
    UNIT_DONE();
}
