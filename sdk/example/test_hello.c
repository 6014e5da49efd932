/*
 * test_hello - the example plugin's unit test, with the SDK's testing kit:
 * hello.so is loaded as the host loads it, gets a webhook, and the test
 * checks the note it sends to Intercom, what it stores, and its answers.
 *
 *   cmake -S . -B build && cmake --build build && (cd build && ctest)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <switchboard/helpers.h>
#include <switchboard/testing.h>

static int failures;

#define EXPECT(cond)                                                                        \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);             \
            failures++;                                                                     \
        }                                                                                   \
    } while (0)

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static sbt_kit *start(sb_installation_id *inst)
{
    char err[256];
    sbt_kit *kit = sbt_open(HELLO_SO, err, sizeof err);
    if (!kit || sbt_start(kit, NULL) != SB_OK) {
        fprintf(stderr, "hello.so did not start: %s\n", kit ? sbt_result(kit)->message : err);
        exit(1);
    }
    sbt_install_admin(kit, "991", "ada@example.com", "EU");
    *inst = sbt_install(kit, "ws1");
    return kit;
}

static void greets_a_new_conversation(void)
{
    sb_installation_id inst;
    sbt_kit *kit = start(&inst);
    /* An integrator's greeting and a customer's name, both hostile. */
    EXPECT(sbt_settings_set(kit, inst, "{\"greeting\":\"Hi & welcome\"}") == 0);
    sb_job_id job = sbt_webhook(kit, inst, "conversation.user.created",
                                "{\"id\":\"c/7\",\"source\":{\"author\":{\"name\":\"<b>Bob</b>\"}}}");
    EXPECT(sbt_job_get(kit, job)->state == SBT_JOB_PENDING);
    EXPECT(sbt_intercom_count(kit) == 1);
    const sbt_call *note = sbt_intercom_call(kit, 0);
    EXPECT(same(note->method, "POST"));
    EXPECT(same(note->path, "/conversations/c%2F7/reply"));
    EXPECT(same(sb_json_str(note->body, "message_type"), "note"));
    EXPECT(same(sb_json_str(note->body, "admin_id"), "991"));
    EXPECT(same(sb_json_str(note->body, "body"), "<p>Hi &amp; welcome &lt;b&gt;Bob&lt;/b&gt;.</p>"));

    /* Nothing is counted until Intercom has answered. */
    const sbt_reply *stats = sbt_api(kit, "GET", "/stats?workspace_id=ws1", NULL);
    EXPECT(sb_json_int(stats->json, "conversations", -1) == 0);
    sbt_intercom_on(kit, "POST", "/conversations/*", 200, "{\"type\":\"conversation\"}");
    EXPECT(sbt_deliver_pending(kit) == 1);
    EXPECT(sbt_job_get(kit, job)->state == SBT_JOB_DONE);
    stats = sbt_api(kit, "GET", "/stats?workspace_id=ws1", NULL);
    EXPECT(stats->status == 200);
    EXPECT(sb_json_int(stats->json, "conversations", -1) == 1);

    /* A redelivery of the same conversation posts nothing. */
    job = sbt_webhook(kit, inst, "conversation.user.created", "{\"id\":\"c/7\"}");
    EXPECT(sbt_job_get(kit, job)->state == SBT_JOB_DONE);
    EXPECT(sbt_intercom_count(kit) == 1);

    const sbt_reply *panel = sbt_canvas(kit, "initialize", "{\"workspace_id\":\"ws1\"}");
    EXPECT(panel->status == 200);
    EXPECT(panel->body && strstr(panel->body, "1 conversations greeted so far."));
    sbt_free(kit);
}

static void deleted_conversation_is_skipped(void)
{
    sb_installation_id inst;
    sbt_kit *kit = start(&inst);
    sbt_intercom_on(kit, "POST", "/conversations/404/reply", 404,
                    "{\"type\":\"error.list\",\"errors\":[{\"code\":\"not_found\","
                    "\"message\":\"Resource Not Found\"}]}");
    sb_job_id job = sbt_webhook(kit, inst, "conversation.user.created", "{\"id\":\"404\"}");
    sbt_deliver_pending(kit);
    EXPECT(sbt_job_get(kit, job)->state == SBT_JOB_SKIPPED);
    EXPECT(sbt_doc_count(kit, inst, "noted") == 0);
    sbt_free(kit);
}

static void intercom_outage_is_retried(void)
{
    sb_installation_id inst;
    sbt_kit *kit = start(&inst);
    sbt_intercom_once(kit, "POST", "/conversations/9/reply", 503, NULL);
    sbt_intercom_on(kit, "POST", "/conversations/9/reply", 200, "{}");
    sb_job_id job = sbt_webhook(kit, inst, "conversation.user.created", "{\"id\":\"9\"}");
    sbt_deliver_pending(kit);
    EXPECT(sbt_job_get(kit, job)->state == SBT_JOB_QUEUED);
    sbt_clock_advance(kit, 60 * 1000);
    EXPECT(sbt_run_due(kit) == 1);
    sbt_deliver_pending(kit);
    EXPECT(sbt_job_get(kit, job)->state == SBT_JOB_DONE);
    EXPECT(sbt_job_get(kit, job)->attempt == 2);
    sbt_free(kit);
}

static void stats_needs_a_workspace(void)
{
    sb_installation_id inst;
    sbt_kit *kit = start(&inst);
    EXPECT(sbt_api(kit, "GET", "/stats", NULL)->status == 400);
    EXPECT(sbt_api(kit, "GET", "/stats?workspace_id=elsewhere", NULL)->status == 404);
    sbt_free(kit);
}

int main(void)
{
    greets_a_new_conversation();
    deleted_conversation_is_skipped();
    intercom_outage_is_retried();
    stats_needs_a_workspace();
    printf("test_hello: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
