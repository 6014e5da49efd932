/*
 * sigsentry's host-calling code on the SDK's testing kit, with the built
 * sigsentry.so loaded as the host loads it: log ingestion through the
 * product API, a webhook that reads the conversation and posts the triage
 * note (the calls as Intercom would receive them), a conversation that
 * no longer exists ending the delivery skipped, and the product API's
 * refusals: the plugin's and the host's in one vocabulary.
 */
#include "unit.h"

#include <switchboard/helpers.h>
#include <switchboard/testing.h>

static sbt_kit *kit;
static sb_installation_id inst;

static void setup(void)
{
    char err[256];
    kit = sbt_open(SIGSENTRY_SO, err, sizeof err);
    if (!kit || sbt_start(kit, "{}") != SB_OK) {
        fprintf(stderr, "sigsentry did not start: %s\n", kit ? sbt_result(kit)->message : err);
        exit(2);
    }
    inst = sbt_install(kit, "ws1");
    /* Triage only: an analysis would read logs and post a second note. */
    if (sbt_settings_set(kit, inst, "{\"auto_analyze_threshold\":\"disabled\"}") != 0) {
        fprintf(stderr, "settings: %s\n", sbt_result(kit)->message);
        exit(2);
    }
}

static const char *error_code(const sbt_reply *r)
{
    return sb_json_str(sb_json_obj(r->json, "error"), "code");
}

static void ingest_through_the_product_api(void)
{
    setup();
    const sbt_reply *r = sbt_api(kit, "POST", "/projects?workspace_id=ws1",
                                 "{\"id\":\"shop\",\"name\":\"Shop\",\"retention_days\":14}");
    CHECK_INT(r->status, 201);
    CHECK_INT(sbt_api(kit, "POST", "/projects?workspace_id=ws1", "{\"name\":\"Again\"}")->status,
              409);
    long long now_s = sbt_host(kit)->now_ms(sbt_plugin(kit)) / 1000;
    char lines[512];
    snprintf(lines, sizeof lines,
             "{\"time\":%lld,\"service\":\"Checkout-API\",\"level\":\"err\",\"message\":\"card declined\"}\n"
             "\n"
             "{\"time\":%lld,\"service\":\"search\",\"level\":\"info\",\"message\":\"reindex done\"}\n"
             "{\"time\":%lld,\"service\":\"search\",\"level\":\"loud\",\"message\":\"?\"}\n",
             now_s - 60, now_s - 30, now_s - 10);
    r = sbt_api_raw(kit, "POST", "/projects/shop/logs?workspace_id=ws1", "application/x-ndjson",
                    lines, strlen(lines));
    CHECK_INT(r->status, 200);
    CHECK_INT(sb_json_int(r->json, "accepted", -1), 2);
    CHECK_INT(sb_json_int(r->json, "rejected", -1), 1);
    json_object *first_error = json_object_array_get_idx(sb_json_arr(r->json, "errors"), 0);
    CHECK_INT(sb_json_int(first_error, "line", 0), 4);
    /* Records are documents, one ordered key range per service (upper case folded). */
    r = sbt_api(kit, "GET", "/projects/shop/services?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    CHECK_CONTAINS(r->body, "\"checkout-api\"");
    CHECK_CONTAINS(r->body, "\"search\"");
    /* A batch with no valid line stores nothing and answers 422. */
    r = sbt_api_raw(kit, "POST", "/projects/shop/logs?workspace_id=ws1", "application/x-ndjson",
                    "{\"time\":1}\n", 11);
    CHECK_INT(r->status, 422);
    /* Another workspace is not this binding. */
    CHECK_INT(sbt_api(kit, "GET", "/projects/shop?workspace_id=ws2", NULL)->status, 404);
    sbt_free(kit);
}

/* A conversation as GET /conversations/{id} returns it. */
static const char conversation_215[] =
    "{\"type\":\"conversation\",\"id\":\"215\",\"created_at\":1799990000,"
    "\"source\":{\"type\":\"conversation\",\"id\":\"s1\",\"subject\":\"\","
    "\"body\":\"<p>Checkout is down for everyone!</p>\","
    "\"author\":{\"type\":\"user\",\"id\":\"u1\",\"name\":\"Ada <Lovelace>\"}},"
    "\"conversation_parts\":{\"type\":\"conversation_part.list\",\"conversation_parts\":[],"
    "\"total_count\":0}}";

static void webhook_posts_the_triage_note(void)
{
    setup();
    sbt_intercom_on(kit, "GET", "/conversations/215", 200, conversation_215);
    sbt_intercom_on(kit, "POST", "/conversations/215/reply", 200,
                    "{\"type\":\"conversation\",\"id\":\"215\"}");
    sb_job_id job = sbt_webhook(kit, inst, "conversation.user.created",
                                "{\"type\":\"conversation\",\"id\":\"215\"}");
    CHECK(job != 0);
    CHECK_INT(sbt_job_get(kit, job)->state, SBT_JOB_PENDING);
    /* The conversation is read first; nothing is posted before it arrives. */
    CHECK_INT(sbt_intercom_count(kit), 1);
    CHECK_STR(sbt_intercom_call(kit, 0)->method, "GET");
    CHECK_STR(sbt_intercom_call(kit, 0)->path, "/conversations/215");
    CHECK(sbt_deliver_pending(kit) >= 2);
    CHECK_INT(sbt_intercom_count(kit), 2);
    const sbt_call *note = sbt_intercom_call(kit, 1);
    CHECK_STR(note->service, "conversation_reply");
    CHECK_STR(note->path, "/conversations/215/reply");
    CHECK_STR(sb_json_str(note->body, "message_type"), "note");
    CHECK_STR(sb_json_str(note->body, "admin_id"), "admin-1");
    const char *html = sb_json_str(note->body, "body");
    CHECK_CONTAINS(html, "critical");
    CHECK(html && !strstr(html, "<Lovelace>")); /* interpolated text is escaped */
    const sbt_job *j = sbt_job_get(kit, job);
    CHECK_INT(j->state, SBT_JOB_DONE);
    CHECK(j->completed);
    /* The triage is kept, and the product API reads it. */
    const sbt_reply *r = sbt_api(kit, "GET", "/conversations/215/triage?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(r->json, "severity"), "critical");
    /* The same notification again posts nothing new. */
    sbt_webhook(kit, inst, "conversation.user.created", "{\"type\":\"conversation\",\"id\":\"215\"}");
    sbt_deliver_pending(kit);
    size_t notes = 0;
    for (size_t i = 0; i < sbt_intercom_count(kit); i++)
        notes += strcmp(sbt_intercom_call(kit, i)->service, "conversation_reply") == 0;
    CHECK_INT(notes, 1);
    sbt_free(kit);
}

static void deleted_conversation_ends_skipped(void)
{
    setup();
    sbt_intercom_on(kit, "GET", "/conversations/999", 404,
                    "{\"type\":\"error.list\",\"errors\":[{\"code\":\"not_found\","
                    "\"message\":\"Resource Not Found\"}]}");
    sb_job_id job = sbt_webhook(kit, inst, "conversation.user.replied",
                                "{\"type\":\"conversation\",\"id\":\"999\"}");
    CHECK_INT(sbt_deliver_pending(kit), 1);
    const sbt_job *j = sbt_job_get(kit, job);
    CHECK_INT(j->state, SBT_JOB_SKIPPED);
    CHECK(j->result.http_status == 404 || j->result.http_status == 410);
    CHECK_INT(sbt_intercom_count(kit), 1); /* no note about a conversation that is gone */
    CHECK_STR(error_code(sbt_api(kit, "GET", "/conversations/999/triage?workspace_id=ws1", NULL)),
              "not_triaged");
    sbt_free(kit);
}

static void server_errors_are_retried(void)
{
    setup();
    sbt_intercom_once(kit, "GET", "/conversations/215", 503,
                      "{\"type\":\"error.list\",\"errors\":[{\"code\":\"service_unavailable\","
                      "\"message\":\"try later\"}]}");
    sbt_intercom_on(kit, "GET", "/conversations/215", 200, conversation_215);
    sbt_intercom_on(kit, "POST", "/conversations/215/reply", 200, "{\"id\":\"215\"}");
    sb_job_id job = sbt_webhook(kit, inst, "conversation.user.created", "{\"id\":\"215\"}");
    sbt_deliver_pending(kit);
    const sbt_job *j = sbt_job_get(kit, job);
    CHECK_INT(j->state, SBT_JOB_QUEUED);
    CHECK_INT(j->status, SB_RETRY);
    sbt_clock_advance(kit, 3600 * 1000);
    CHECK_INT(sbt_run_due(kit), 1);
    sbt_deliver_pending(kit);
    CHECK_INT(j->attempt, 2);
    CHECK_INT(j->state, SBT_JOB_DONE);
    sbt_free(kit);
}

/* The code of a refusal, checked together with its status and who answered it. */
static void check_refusal(const sbt_reply *r, int status, const char *code, bool by_plugin)
{
    CHECK_INT(r->status, status);
    CHECK_STR(error_code(r), code);
    CHECK(r->handler_ran == by_plugin);
    if (by_plugin)
        CHECK_INT(r->handler_status, SB_FAIL);
}

static void refusals_speak_the_hosts_vocabulary(void)
{
    setup();
    /* Every route but the page carries SB_ROUTE_NEEDS_INSTALLATION: the host refuses. */
    check_refusal(sbt_api(kit, "GET", "/binding", NULL), 400, "installation_required", false);
    check_refusal(sbt_api(kit, "GET", "/binding?workspace_id=nope", NULL), 404,
                  "unknown_installation", false);
    check_refusal(sbt_api(kit, "POST", "/conversations/12/analyses", "{}"), 400,
                  "installation_required", false);
    check_refusal(sbt_api(kit, "PUT", "/projects/nope?workspace_id=ws1", "{\"name\":\"x\"}"), 404,
                  "unknown_project", true);
    check_refusal(sbt_api(kit, "POST", "/projects?workspace_id=ws1", "[]"), 400,
                  "invalid_request", true);
    /* Waiting for a re-install, the product still sets up and feeds the binding... */
    CHECK_INT(sbt_needs_reauth(kit, inst), SB_OK);
    CHECK_INT(sbt_api(kit, "POST", "/projects?workspace_id=ws1", "{\"name\":\"Shop\"}")->status,
              201);
    const sbt_reply *r = sbt_api(kit, "GET", "/binding?workspace_id=ws1", NULL);
    CHECK_INT(r->status, 200);
    CHECK_STR(sb_json_str(r->json, "installation_state"), "needs_reauth");
    /* ...but nothing is posted to Intercom until then, nor after an uninstall. */
    check_refusal(sbt_api(kit, "POST", "/conversations/12/analyses?workspace_id=ws1", "{}"), 409,
                  "installation_needs_reauth", false);
    CHECK_INT(sbt_uninstall(kit, inst), SB_OK);
    check_refusal(sbt_api(kit, "POST", "/conversations/12/analyses?workspace_id=ws1", "{}"), 409,
                  "installation_revoked", false);
    CHECK_INT(sbt_intercom_count(kit), 0);
    sbt_free(kit);
}

int main(void)
{
    RUN(ingest_through_the_product_api);
    RUN(webhook_posts_the_triage_note);
    RUN(deleted_conversation_ends_skipped);
    RUN(server_errors_are_retried);
    RUN(refusals_speak_the_hosts_vocabulary);
    UNIT_DONE();
}
